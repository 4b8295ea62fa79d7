import { CollectorError } from '../../shared/errors';
import type { Sink } from '../sinks/sink';

/**
 * A circuit breaker in front of the downstream (docs/reliability.md, "The circuit breaker"), one per container:
 * - closed: everything goes through. A streak of retryable downstream failures (at least `failureThreshold` in a
 *   row, spanning at least `failureWindowMs`, with no success in between) opens it. The span keeps a burst that
 *   the sink's own retries ride out (a few seconds of 500s) from ever opening it;
 * - open for `openMs`: no message is read from S3 (each is failed at once and hidden for its backoff by the
 *   settlement, so it burns neither Lambda time nor, beyond one, receives), and no batch is sent;
 * - half-open when that time is up: one message at a time may probe, and the others of the invocation wait for
 *   its outcome (acquire). A success closes the breaker and lets them through; a retryable failure opens it again
 *   for twice as long, up to `maxOpenMs`, and refuses them. A probe that never reached the downstream (its
 *   objects were digests, or its read failed) frees the slot for the next message.
 * The clock is injected: tests and the outage simulation drive it.
 */
export type BreakerState = 'closed' | 'open' | 'half-open';

export interface BreakerSettings {
  failureThreshold: number;
  failureWindowMs: number;
  openMs: number;
  maxOpenMs: number;
}

export const DEFAULT_BREAKER_SETTINGS: BreakerSettings = {
  failureThreshold: 5,
  failureWindowMs: 30_000,
  openMs: 30_000,
  maxOpenMs: 300_000,
};

export interface BreakerTransition {
  from: BreakerState;
  to: BreakerState;
  /** How long it stays open, for a transition to `open`. */
  openForMs?: number;
}

/** Permission for one message to go to the downstream; `release()` when the message is done, whatever happened. */
export interface BreakerPermit {
  readonly probe: boolean;
  release(): void;
}

/** A message was not attempted because the downstream circuit is open: transient, retried after its backoff. */
export class DownstreamUnavailableError extends CollectorError {}

export class CircuitBreaker {
  private mode: 'closed' | 'open' = 'closed';
  private streak = 0;
  private streakStartedAt = 0;
  private openUntil = 0;
  private openForMs: number;
  private probing = false;
  /** Messages waiting for the probe's outcome (acquire). */
  private waiters: (() => void)[] = [];

  constructor(
    private readonly settings: BreakerSettings = DEFAULT_BREAKER_SETTINGS,
    private readonly now: () => number = Date.now,
    private readonly onTransition: (transition: BreakerTransition) => void = () => undefined,
  ) {
    if (!(settings.failureThreshold >= 1) || !(settings.openMs > 0) || settings.maxOpenMs < settings.openMs) {
      throw new CollectorError(
        `circuit breaker: failureThreshold must be >= 1 and 0 < openMs <= maxOpenMs, got ${JSON.stringify(settings)}`,
      );
    }
    this.openForMs = settings.openMs;
  }

  get state(): BreakerState {
    if (this.mode === 'closed') return 'closed';
    return this.now() >= this.openUntil ? 'half-open' : 'open';
  }

  /** Epoch ms at which an open breaker lets a probe through. */
  get reopensAt(): number | undefined {
    return this.mode === 'open' ? this.openUntil : undefined;
  }

  /**
   * A permit for one message, waiting for the outcome of a probe already out instead of refusing at once: when the
   * probe succeeds every waiter goes through (the downstream is back, so none of them is deferred a whole backoff
   * for nothing); when it fails they are refused; when it never reached the downstream one waiter probes next.
   * Undefined while open. The wait is the probe's, which its own deadline bounds.
   */
  async acquire(): Promise<BreakerPermit | undefined> {
    for (;;) {
      const permit = this.tryAcquire();
      if (permit !== undefined || this.state !== 'half-open' || !this.probing) return permit;
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  /** A permit for one message, or undefined while open (or half-open with a probe already out). */
  tryAcquire(): BreakerPermit | undefined {
    const state = this.state;
    if (state === 'closed') return { probe: false, release: () => undefined };
    if (state === 'open' || this.probing) return undefined;
    this.probing = true;
    this.onTransition({ from: 'open', to: 'half-open' });
    let released = false;
    return {
      probe: true,
      release: () => {
        if (released) return;
        released = true;
        // Still half-open: the probe never reached the downstream, so the next message probes instead.
        if (this.mode === 'open' && this.probing) {
          this.probing = false;
          this.wake();
        }
      },
    };
  }

  recordSuccess(): void {
    this.streak = 0;
    if (this.mode === 'closed') return;
    const from = this.state;
    this.mode = 'closed';
    this.probing = false;
    this.openForMs = this.settings.openMs;
    this.onTransition({ from, to: 'closed' });
    this.wake();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const resolve of waiters) resolve();
  }

  recordFailure(): void {
    const now = this.now();
    if (this.mode === 'open') {
      // A straggler sent before the breaker opened says nothing new; a failed probe doubles the wait.
      if (now < this.openUntil) return;
      this.open(Math.min(this.settings.maxOpenMs, this.openForMs * 2), 'half-open');
      return;
    }
    if (this.streak === 0) this.streakStartedAt = now;
    this.streak += 1;
    if (this.streak >= this.settings.failureThreshold && now - this.streakStartedAt >= this.settings.failureWindowMs) {
      this.open(this.settings.openMs, 'closed');
    }
  }

  private open(forMs: number, from: BreakerState): void {
    this.mode = 'open';
    this.openForMs = forMs;
    this.openUntil = this.now() + forMs;
    this.probing = false;
    this.streak = 0;
    this.onTransition({ from, to: 'open', openForMs: forMs });
    this.wake();
  }
}

/**
 * The sink as the breaker sees it: every batch the downstream accepts is a success, every failure `isOutage` calls
 * retryable (the downstream down, not this batch refused) is a failure. While the breaker is open no batch is sent
 * at all: a message read before it opened stops at its next batch instead of retrying into its deadline.
 */
export function guardSink(sink: Sink, breaker: CircuitBreaker, isOutage: (error: unknown) => boolean): Sink {
  return {
    recordOverheadBytes: sink.recordOverheadBytes,
    close: () => sink.close(),
    async send(batch, ctx) {
      if (breaker.state === 'open') {
        throw new DownstreamUnavailableError(
          `downstream circuit open until ${new Date(breaker.reopensAt ?? 0).toISOString()}: batch ${ctx.idempotencyKey} not sent`,
        );
      }
      try {
        const result = await sink.send(batch, ctx);
        breaker.recordSuccess();
        return result;
      } catch (error) {
        if (isOutage(error)) breaker.recordFailure();
        throw error;
      }
    },
  };
}
