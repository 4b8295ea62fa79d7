/**
 * The simulation's state, as growable typed arrays (millions of files: objects per file would cost more memory
 * and GC time than the whole run): the files (one SQS message each), the batches a mapping has received, and
 * the log of delivered files.
 */

export const MESSAGE_IN_QUEUE = 0;
export const MESSAGE_IN_FLIGHT = 1;
export const MESSAGE_DELIVERED = 2;
export const MESSAGE_DEAD_LETTERED = 3;

export const BATCH_FREE = 0;
/** Received, the batching window still open. */
export const BATCH_GATHERING = 1;
/** Throttled: Lambda holds it and retries the invocation. */
export const BATCH_HELD = 2;
export const BATCH_RUNNING = 3;
/** Failed: its messages are hidden until a return event makes them visible. */
export const BATCH_RETURNING = 4;

type Typed = Float64Array | Float32Array | Int32Array | Uint32Array | Uint8Array;

function grown<T extends Typed>(old: T, size: number): T {
  const next = new (old.constructor as new (n: number) => T)(size);
  next.set(old);
  return next;
}

/** One file each: its account, when CloudTrail announced it, its gzip size, its ApproximateReceiveCount, its state. */
export class FileStore {
  account: Int32Array;
  born: Float64Array;
  bytes: Uint32Array;
  receives: Uint8Array;
  state: Uint8Array;
  count = 0;

  constructor(private capacity: number) {
    this.account = new Int32Array(capacity);
    this.born = new Float64Array(capacity);
    this.bytes = new Uint32Array(capacity);
    this.receives = new Uint8Array(capacity);
    this.state = new Uint8Array(capacity);
  }

  add(account: number, born: number, bytes: number): number {
    if (this.count === this.capacity) {
      this.capacity *= 2;
      this.account = grown(this.account, this.capacity);
      this.born = grown(this.born, this.capacity);
      this.bytes = grown(this.bytes, this.capacity);
      this.receives = grown(this.receives, this.capacity);
      this.state = grown(this.state, this.capacity);
    }
    const id = this.count++;
    this.account[id] = account;
    this.born[id] = born;
    this.bytes[id] = bytes;
    return id;
  }
}

/** Batches of up to `batchCap` messages, reused through a free list; `gen` tells a stale event from a live one. */
export class BatchStore {
  queue: Int32Array;
  state: Uint8Array;
  gen: Int32Array;
  length: Int32Array;
  receivedAt: Float64Array;
  /** Index in the held pool while BATCH_HELD. */
  poolIndex: Int32Array;
  /** The execution environment running it, and the invocation's duration. */
  env: Int32Array;
  seconds: Float64Array;
  /** Per message slot: 1 when the invocation forwarded the file. */
  ok: Uint8Array;
  messages: Int32Array;
  private slots = 1024;
  private free: number[] = [];

  constructor(readonly batchCap: number) {
    this.queue = new Int32Array(this.slots);
    this.state = new Uint8Array(this.slots);
    this.gen = new Int32Array(this.slots);
    this.length = new Int32Array(this.slots);
    this.receivedAt = new Float64Array(this.slots);
    this.poolIndex = new Int32Array(this.slots);
    this.env = new Int32Array(this.slots);
    this.seconds = new Float64Array(this.slots);
    this.messages = new Int32Array(this.slots * batchCap);
    this.ok = new Uint8Array(this.slots * batchCap);
    for (let b = this.slots - 1; b >= 0; b--) this.free.push(b);
  }

  alloc(queue: number, now: number): number {
    if (this.free.length === 0) this.grow();
    const b = this.free.pop()!;
    this.queue[b] = queue;
    this.length[b] = 0;
    this.receivedAt[b] = now;
    return b;
  }

  release(b: number): void {
    this.state[b] = BATCH_FREE;
    this.gen[b]!++;
    this.free.push(b);
  }

  append(b: number, id: number): void {
    this.messages[b * this.batchCap + this.length[b]!++] = id;
  }

  message(b: number, i: number): number {
    return this.messages[b * this.batchCap + i]!;
  }

  /** The batch's per-file outcomes, a view into `ok` (valid until the store grows). */
  outcomes(b: number): Uint8Array {
    return this.ok.subarray(b * this.batchCap, (b + 1) * this.batchCap);
  }

  private grow(): void {
    const old = this.slots;
    this.slots *= 2;
    this.queue = grown(this.queue, this.slots);
    this.state = grown(this.state, this.slots);
    this.gen = grown(this.gen, this.slots);
    this.length = grown(this.length, this.slots);
    this.receivedAt = grown(this.receivedAt, this.slots);
    this.poolIndex = grown(this.poolIndex, this.slots);
    this.env = grown(this.env, this.slots);
    this.seconds = grown(this.seconds, this.slots);
    this.messages = grown(this.messages, this.slots * this.batchCap);
    this.ok = grown(this.ok, this.slots * this.batchCap);
    for (let b = this.slots - 1; b >= old; b--) this.free.push(b);
  }
}

/** Delivered files, in delivery order: delay, phase x 3 + tenant class, and when the file was born. */
export class DeliveryLog {
  delays: Float32Array;
  categories: Uint8Array;
  bornAt: Float32Array;
  count = 0;

  constructor(private capacity: number) {
    this.delays = new Float32Array(capacity);
    this.categories = new Uint8Array(capacity);
    this.bornAt = new Float32Array(capacity);
  }

  add(delay: number, category: number, born: number): void {
    if (this.count === this.capacity) {
      this.capacity *= 2;
      this.delays = grown(this.delays, this.capacity);
      this.categories = grown(this.categories, this.capacity);
      this.bornAt = grown(this.bornAt, this.capacity);
    }
    this.delays[this.count] = delay;
    this.categories[this.count] = category;
    this.bornAt[this.count] = born;
    this.count++;
  }
}
