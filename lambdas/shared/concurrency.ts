/**
 * Runs `work` over every item with at most `limit` running at once, in input order of start. Never rejects:
 * each result is settled, so one item's failure cannot abandon the others.
 */
export async function mapSettled<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T, index: number) => Promise<R>,
): Promise<PromiseSettledResult<R>[]> {
  const results: PromiseSettledResult<R>[] = new Array<PromiseSettledResult<R>>(items.length);
  let next = 0;
  async function worker(): Promise<void> {
    while (next < items.length) {
      const index = next++;
      try {
        results[index] = { status: 'fulfilled', value: await work(items[index] as T, index) };
      } catch (reason) {
        results[index] = { status: 'rejected', reason };
      }
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, () => worker()));
  return results;
}

/**
 * A counting semaphore: at most `limit` holders at once, the others wait in arrival order. `acquire` resolves to the
 * release function (idempotent). A ByteBudget of `limit` whose every holder weighs 1.
 */
export class Gate {
  private readonly slots: ByteBudget;

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`a gate needs a limit of at least 1, got ${limit}`);
    this.slots = new ByteBudget(limit);
  }

  get holders(): number {
    return this.slots.reserved;
  }

  acquire(): Promise<() => void> {
    return this.slots.acquire(1);
  }
}

/**
 * A semaphore weighted in bytes: holders together reserve at most `capacity`, the others wait in arrival order (a
 * small request does not overtake a large one, so a large one cannot starve). A request larger than the whole
 * capacity is granted once nothing else is held, so that nothing waits forever. `acquire` resolves to the release
 * function (idempotent); given a signal, a request still waiting when it aborts is dropped and rejects with the
 * signal's reason.
 */
export class ByteBudget {
  private used = 0;
  private readonly waiting: { bytes: number; grant: () => void }[] = [];

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`a byte budget needs a capacity of at least 1, got ${capacity}`);
    }
  }

  /** Bytes reserved now. */
  get reserved(): number {
    return this.used;
  }

  async acquire(bytes: number, signal?: AbortSignal): Promise<() => void> {
    if (!Number.isInteger(bytes) || bytes < 0) throw new RangeError(`cannot reserve ${bytes} bytes`);
    signal?.throwIfAborted();
    if (this.waiting.length > 0 || !this.fits(bytes)) {
      await new Promise<void>((resolve, reject) => {
        const waiter = {
          bytes,
          grant: () => {
            signal?.removeEventListener('abort', drop);
            resolve();
          },
        };
        const drop = (): void => {
          const at = this.waiting.indexOf(waiter);
          if (at === -1) return;
          this.waiting.splice(at, 1);
          // The dropped request may have been what held the others back.
          this.grantWaiting();
          const reason: unknown = signal?.reason;
          reject(
            reason instanceof Error ? reason : new Error('the byte budget request was aborted', { cause: reason }),
          );
        };
        signal?.addEventListener('abort', drop, { once: true });
        this.waiting.push(waiter);
      });
    } else {
      this.used += bytes;
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.used -= bytes;
      this.grantWaiting();
    };
  }

  private grantWaiting(): void {
    for (let next = this.waiting[0]; next !== undefined && this.fits(next.bytes); next = this.waiting[0]) {
      this.waiting.shift();
      this.used += next.bytes;
      next.grant();
    }
  }

  private fits(bytes: number): boolean {
    return this.used === 0 || this.used + bytes <= this.capacity;
  }
}
