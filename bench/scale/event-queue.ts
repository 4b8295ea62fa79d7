/**
 * The simulation's clock: a binary min-heap of events on typed arrays (time, then insertion order, so that two
 * events at the same instant run in the order they were scheduled and a run is deterministic). No real time
 * passes: `pop` moves the virtual clock to the next event.
 */
export class EventQueue {
  private times = new Float64Array(1 << 16);
  private order = new Float64Array(1 << 16);
  private kinds = new Uint8Array(1 << 16);
  private firstArgs = new Int32Array(1 << 16);
  private secondArgs = new Int32Array(1 << 16);
  private count = 0;
  private scheduled = 0;
  /** The popped event: its time (the clock), kind and arguments. */
  now = 0;
  kind = 0;
  arg = 0;
  arg2 = 0;

  get size(): number {
    return this.count;
  }

  push(time: number, kind: number, arg = 0, arg2 = 0): void {
    if (!(time >= this.now)) {
      throw new RangeError(`EventQueue: event kind ${kind} scheduled at ${time}, before the clock (${this.now})`);
    }
    if (this.count === this.times.length) this.grow();
    let index = this.count++;
    const order = this.scheduled++;
    // Sift up: move parents down until the new event's place is found.
    while (index > 0) {
      const parent = (index - 1) >> 1;
      const parentTime = this.times[parent]!;
      if (parentTime < time || (parentTime === time && this.order[parent]! < order)) break;
      this.move(parent, index);
      index = parent;
    }
    this.times[index] = time;
    this.order[index] = order;
    this.kinds[index] = kind;
    this.firstArgs[index] = arg;
    this.secondArgs[index] = arg2;
  }

  /** Takes the earliest event into now/kind/arg/arg2; false when none is left. */
  pop(): boolean {
    if (this.count === 0) return false;
    this.now = this.times[0]!;
    this.kind = this.kinds[0]!;
    this.arg = this.firstArgs[0]!;
    this.arg2 = this.secondArgs[0]!;
    const last = --this.count;
    if (last === 0) return true;
    const time = this.times[last]!;
    const order = this.order[last]!;
    let index = 0;
    // Sift down the last event from the root.
    for (;;) {
      let child = 2 * index + 1;
      if (child >= last) break;
      const right = child + 1;
      if (right < last && this.before(right, child)) child = right;
      const childTime = this.times[child]!;
      if (time < childTime || (time === childTime && order < this.order[child]!)) break;
      this.move(child, index);
      index = child;
    }
    this.times[index] = time;
    this.order[index] = order;
    this.kinds[index] = this.kinds[last]!;
    this.firstArgs[index] = this.firstArgs[last]!;
    this.secondArgs[index] = this.secondArgs[last]!;
    return true;
  }

  private before(a: number, b: number): boolean {
    const ta = this.times[a]!;
    const tb = this.times[b]!;
    return ta < tb || (ta === tb && this.order[a]! < this.order[b]!);
  }

  private move(from: number, to: number): void {
    this.times[to] = this.times[from]!;
    this.order[to] = this.order[from]!;
    this.kinds[to] = this.kinds[from]!;
    this.firstArgs[to] = this.firstArgs[from]!;
    this.secondArgs[to] = this.secondArgs[from]!;
  }

  private grow(): void {
    const size = this.times.length * 2;
    const grown = <T extends Float64Array | Uint8Array | Int32Array>(old: T, make: (n: number) => T): T => {
      const next = make(size);
      next.set(old);
      return next;
    };
    this.times = grown(this.times, (n) => new Float64Array(n));
    this.order = grown(this.order, (n) => new Float64Array(n));
    this.kinds = grown(this.kinds, (n) => new Uint8Array(n));
    this.firstArgs = grown(this.firstArgs, (n) => new Int32Array(n));
    this.secondArgs = grown(this.secondArgs, (n) => new Int32Array(n));
  }
}

/**
 * Self-check of the clock, run before every simulation (the bench cannot be imported by tests,
 * test/unit/layout.test.ts): random events come out in time order, ties in insertion order, and the clock
 * refuses an event in its past.
 */
export function checkEventQueue(random: () => number): void {
  const queue = new EventQueue();
  const expected: { time: number; id: number }[] = [];
  for (let id = 0; id < 200_000; id++) {
    const time = Math.floor(random() * 1000) / 10; // many ties
    queue.push(time, 1, id);
    expected.push({ time, id });
  }
  expected.sort((a, b) => a.time - b.time || a.id - b.id);
  for (const want of expected) {
    if (!queue.pop() || queue.now !== want.time || queue.arg !== want.id) {
      throw new Error(
        `EventQueue self-check: expected event ${want.id} at ${want.time}, got ${queue.arg} at ${queue.now}`,
      );
    }
  }
  if (queue.pop()) throw new Error('EventQueue self-check: an event was left over');
  let refused = false;
  try {
    queue.push(queue.now - 1, 1);
  } catch {
    refused = true;
  }
  if (!refused) throw new Error('EventQueue self-check: an event in the past was accepted');
}

/** Growable FIFO of message ids (an SQS queue's visible messages, oldest first). */
export class IdRing {
  private buffer = new Int32Array(16);
  private head = 0;
  length = 0;

  push(id: number): void {
    if (this.length === this.buffer.length) {
      const next = new Int32Array(this.buffer.length * 2);
      for (let i = 0; i < this.length; i++) next[i] = this.buffer[(this.head + i) & (this.buffer.length - 1)]!;
      this.buffer = next;
      this.head = 0;
    }
    this.buffer[(this.head + this.length) & (this.buffer.length - 1)] = id;
    this.length++;
  }

  shift(): number {
    if (this.length === 0) throw new RangeError('IdRing: shift on an empty ring');
    const id = this.buffer[this.head]!;
    this.head = (this.head + 1) & (this.buffer.length - 1);
    this.length--;
    return id;
  }
}

/** mulberry32: a small deterministic generator, so that a seed gives the same run every time. */
export function seededUniform(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
