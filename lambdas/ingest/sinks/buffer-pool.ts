import type { Allocate, Release } from './sink';

/** Smallest buffer the pool makes: small bodies share a few of these instead of one allocation each. */
const MIN_CAPACITY = 64 * 1024;
/** Buffers kept for reuse; more in use at once are allocated and dropped as before. */
const DEFAULT_MAX_POOLED = 8;

/**
 * The request bodies of the HTTP delivery, reused (bench/README.md, "pooled batch buffers"). Each batch is
 * encoded into a body that lives only until it is compressed; allocating a fresh one each time costs more than
 * the copy into it: memory the garbage collector gave back to the kernel page-faults again on every 4 KiB page
 * touched (~13 us each on Firecracker, where Lambda runs), and every large allocation counts toward V8's
 * external-memory limit, which starts collections. Buffers come in powers of two from 64 KiB, so that bodies of
 * many sizes share a few; a body is a view of one, returned with `release` (which takes only views it gave out).
 * At most `maxPooled` buffers are kept: memory stays bounded by the batches in flight, as without the pool.
 */
export class BodyBufferPool {
  private readonly free: Buffer[] = [];
  /** Each body handed out, to the buffer it is a view of. */
  private readonly backing = new WeakMap<Buffer, Buffer>();

  constructor(private readonly maxPooled: number = DEFAULT_MAX_POOLED) {}

  readonly allocate: Allocate = (size) => {
    let best = -1;
    for (let i = 0; i < this.free.length; i++) {
      const capacity = this.free[i]!.length;
      if (capacity >= size && (best < 0 || capacity < this.free[best]!.length)) best = i;
    }
    const whole = best >= 0 ? this.free.splice(best, 1)[0]! : Buffer.allocUnsafeSlow(capacityFor(size));
    const body = whole.subarray(0, size);
    this.backing.set(body, whole);
    return body;
  };

  readonly release: Release = (body) => {
    const whole = this.backing.get(body);
    if (whole === undefined) return;
    this.backing.delete(body);
    if (this.free.length < this.maxPooled) {
      this.free.push(whole);
      return;
    }
    // Full: keep the larger buffers, which are the costly ones to make again.
    let smallest = 0;
    for (let i = 1; i < this.free.length; i++) if (this.free[i]!.length < this.free[smallest]!.length) smallest = i;
    if (this.free[smallest]!.length < whole.length) this.free[smallest] = whole;
  };

  /** Bytes held for reuse (not in use). */
  get pooledBytes(): number {
    return this.free.reduce((sum, buffer) => sum + buffer.length, 0);
  }
}

function capacityFor(size: number): number {
  let capacity = MIN_CAPACITY;
  while (capacity < size) capacity *= 2;
  return capacity;
}
