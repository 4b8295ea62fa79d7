/**
 * The retry policy both syslog clients share, the same as the HTTP delivery's (http-delivery.ts): up to
 * `maxAttempts`, full-jitter exponential backoff `random() * min(maxDelayMs, baseDelayMs * 2^(attempt - 1))`.
 */
export interface RetryOptions {
  /** Default 8. */
  maxAttempts?: number;
  /** Default 200. */
  baseDelayMs?: number;
  /** Default 10,000. */
  maxDelayMs?: number;
  random?: () => number;
}

export class RetryPolicy {
  readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly random: () => number;

  constructor(options: RetryOptions) {
    this.maxAttempts = options.maxAttempts ?? 8;
    this.baseDelayMs = options.baseDelayMs ?? 200;
    this.maxDelayMs = options.maxDelayMs ?? 10_000;
    this.random = options.random ?? Math.random;
  }

  /** The wait after the `attempt`-th failure (1-based). */
  delayMs(attempt: number): number {
    return Math.floor(this.random() * Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (attempt - 1)));
  }
}
