/**
 * The ingest function as the simulation sees it: how long an invocation takes and which of its files it
 * forwards. Executions are environments, one per unit of reserved concurrency (Lambda reuses them); in the hub
 * topology each has its own downstream circuit breaker, the production class (lambdas/ingest/source/circuit-breaker.ts,
 * DEFAULT_BREAKER_SETTINGS) driven by the virtual clock. An invocation is replayed file by file on its
 * environment's own timeline, which is consistent because an environment runs one invocation at a time.
 */
import { CircuitBreaker, DEFAULT_BREAKER_SETTINGS } from '../../lambdas/ingest/source/circuit-breaker';
import { fileSeconds, type ProcessingModel } from './model';

export class IngestEnvironments {
  private readonly free: number[] = [];
  private readonly breakers: (CircuitBreaker | undefined)[] = [];
  private clock = 0;
  /** Files failed at once by an open breaker: no S3 read, no downstream call. */
  failFastFiles = 0;

  constructor(
    count: number,
    private readonly processing: ProcessingModel,
    withBreaker: boolean,
    private readonly downstreamUp: (at: number) => boolean,
  ) {
    for (let env = count - 1; env >= 0; env--) {
      this.free.push(env);
      this.breakers[env] = withBreaker
        ? new CircuitBreaker(DEFAULT_BREAKER_SETTINGS, () => this.clock * 1000)
        : undefined;
    }
  }

  get idle(): number {
    return this.free.length;
  }

  acquire(): number {
    const env = this.free.pop();
    if (env === undefined) throw new Error('IngestEnvironments: no free execution (reserved concurrency exceeded)');
    return env;
  }

  release(env: number): void {
    this.free.push(env);
  }

  /**
   * Runs a batch on `env` from `start`; writes 1 (forwarded) or 0 (failed) per file into `ok`; returns the
   * invocation's duration. Forwarding is CPU bound (files one after another); a failing file waits out the sink's
   * retries (`failedFileSeconds`), MESSAGE_CONCURRENCY files at a time (the breaker sees each failure when its
   * group's retries end: a simplification of files that overlap).
   */
  run(env: number, gzipSizes: readonly number[], start: number, ok: Uint8Array): number {
    const p = this.processing;
    const breaker = this.breakers[env];
    let t = start + p.perInvocationMs / 1000;
    let failing = 0;
    gzipSizes.forEach((size, i) => {
      this.clock = t;
      const permit = breaker === undefined ? undefined : breaker.tryAcquire();
      if (breaker !== undefined && permit === undefined) {
        // Open: failed at once and hidden for its backoff (one ChangeMessageVisibility).
        this.failFastFiles++;
        t += p.failFastMs / 1000;
        ok[i] = 0;
        return;
      }
      if (this.downstreamUp(t)) {
        t += fileSeconds(size, p);
        this.clock = t;
        breaker?.recordSuccess();
        ok[i] = 1;
      } else {
        // Failing files overlap, MESSAGE_CONCURRENCY at a time: each group of that many costs one retry sequence.
        if (failing++ % p.messageConcurrency === 0) t += p.failedFileSeconds;
        this.clock = t;
        breaker?.recordFailure();
        ok[i] = 0;
      }
      permit?.release();
    });
    return t - start;
  }
}
