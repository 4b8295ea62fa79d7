/**
 * The downstream circuit breaker (lambdas/ingest/source/circuit-breaker.ts) on a virtual clock: when it opens,
 * what it lets through while open and half-open, how its open time grows, and the sink it guards.
 */
import { DownstreamError } from '../../lambdas/ingest/sinks/http-delivery';
import type { RecordBatch, Sink } from '../../lambdas/ingest/sinks/sink';
import {
  CircuitBreaker,
  DownstreamUnavailableError,
  guardSink,
  type BreakerTransition,
} from '../../lambdas/ingest/source/circuit-breaker';
import { isDownstreamOutage } from '../../lambdas/ingest/runtime';
import { VirtualClock } from '../../testkit/virtual-sqs';

const SETTINGS = { failureThreshold: 3, failureWindowMs: 10_000, openMs: 30_000, maxOpenMs: 120_000 };

function breaker(clock = new VirtualClock()) {
  const transitions: BreakerTransition[] = [];
  const cb = new CircuitBreaker(SETTINGS, clock.now, (transition) => transitions.push(transition));
  return { cb, clock, transitions };
}

/** `failures` retryable failures, `everyMs` apart. */
function fail(cb: CircuitBreaker, clock: VirtualClock, failures: number, everyMs: number): void {
  for (let i = 0; i < failures; i += 1) {
    if (i > 0) clock.advance(everyMs);
    cb.recordFailure();
  }
}

describe('opening', () => {
  test('a streak of failures spanning the window opens it; a success in between resets the streak', () => {
    const { cb, clock, transitions } = breaker();
    fail(cb, clock, 2, 6_000);
    cb.recordSuccess();
    fail(cb, clock, 2, 6_000);
    expect(cb.state).toBe('closed');
    clock.advance(6_000);
    cb.recordFailure();
    expect(cb.state).toBe('open');
    expect(transitions).toEqual([{ from: 'closed', to: 'open', openForMs: 30_000 }]);
  });

  test('a burst shorter than the window never opens it, however many failures', () => {
    const { cb, clock } = breaker();
    fail(cb, clock, 50, 100);
    expect(cb.state).toBe('closed');
    clock.advance(10_000);
    cb.recordFailure();
    expect(cb.state).toBe('open');
  });

  test('bad settings are refused, naming them', () => {
    expect(() => new CircuitBreaker({ ...SETTINGS, maxOpenMs: 1_000 })).toThrow(/openMs <= maxOpenMs/);
    expect(() => new CircuitBreaker({ ...SETTINGS, failureThreshold: 0 })).toThrow(/failureThreshold/);
  });
});

describe('open, half-open, closed', () => {
  function opened() {
    const b = breaker();
    fail(b.cb, b.clock, 3, 5_000);
    expect(b.cb.state).toBe('open');
    return b;
  }

  test('while open nothing is admitted; when the time is up exactly one probe is, until it ends', () => {
    const { cb, clock } = opened();
    expect(cb.tryAcquire()).toBeUndefined();
    clock.advance(29_999);
    expect(cb.tryAcquire()).toBeUndefined();
    clock.advance(1);
    expect(cb.state).toBe('half-open');
    const probe = cb.tryAcquire();
    expect(probe?.probe).toBe(true);
    expect(cb.tryAcquire()).toBeUndefined();
    // The probe read only digests: it never reached the downstream. The next message probes instead.
    probe!.release();
    probe!.release();
    const next = cb.tryAcquire();
    expect(next?.probe).toBe(true);
    expect(cb.tryAcquire()).toBeUndefined();
  });

  test('a failed probe doubles the open time up to the cap; a success closes and resets it', () => {
    const { cb, clock, transitions } = opened();
    const openFor: number[] = [];
    for (let round = 0; round < 4; round += 1) {
      clock.set(cb.reopensAt!);
      cb.tryAcquire();
      cb.recordFailure();
      openFor.push(cb.reopensAt! - clock.now());
    }
    expect(openFor).toEqual([60_000, 120_000, 120_000, 120_000]);
    clock.set(cb.reopensAt!);
    cb.tryAcquire()!.release();
    cb.tryAcquire();
    cb.recordSuccess();
    expect(cb.state).toBe('closed');
    expect(cb.tryAcquire()?.probe).toBe(false);
    expect(transitions.at(-1)).toEqual({ from: 'half-open', to: 'closed' });
    // Opened again, it starts from the base time.
    fail(cb, clock, 3, 5_000);
    expect(cb.reopensAt! - clock.now()).toBe(30_000);
  });

  test('a straggler failing while open (sent before it opened) changes nothing', () => {
    const { cb, clock } = opened();
    const reopensAt = cb.reopensAt;
    clock.advance(1_000);
    cb.recordFailure();
    expect(cb.reopensAt).toBe(reopensAt);
  });
});

describe('guardSink', () => {
  const batch = { object: { bucket: 'b', key: 'k', kind: 'log' }, index: 0, records: [] } as unknown as RecordBatch;
  const ctx = { idempotencyKey: 'key-1', deadline: Date.now() + 60_000 };

  function downstream(answer: () => Promise<{ requests: number; bytesSent: number }>) {
    let sends = 0;
    const sink: Sink = {
      recordOverheadBytes: 1,
      close: () => undefined,
      send: () => {
        sends += 1;
        return answer();
      },
    };
    return { sink, sends: () => sends };
  }

  test('retryable failures count; a refused batch (permanent) and other errors do not; open sends nothing', async () => {
    const { cb, clock } = breaker();
    const retryable = new DownstreamError('HTTP 503', { status: 503, permanent: false, attempts: 8 });
    const refused = new DownstreamError('HTTP 400', { status: 400, permanent: true, attempts: 1 });
    let next: Error = refused;
    const inner = downstream(() => Promise.reject(next));
    const guarded = guardSink(inner.sink, cb, isDownstreamOutage);
    for (let i = 0; i < 5; i += 1) {
      clock.advance(5_000);
      await expect(guarded.send(batch, ctx)).rejects.toBe(refused);
    }
    expect(cb.state).toBe('closed');
    next = retryable;
    for (let i = 0; i < 3; i += 1) {
      clock.advance(5_000);
      await expect(guarded.send(batch, ctx)).rejects.toBe(retryable);
    }
    expect(cb.state).toBe('open');
    const before = inner.sends();
    await expect(guarded.send(batch, ctx)).rejects.toBeInstanceOf(DownstreamUnavailableError);
    expect(inner.sends()).toBe(before);
  });

  test('an accepted batch closes a half-open breaker', async () => {
    const { cb, clock } = breaker();
    fail(cb, clock, 3, 5_000);
    clock.set(cb.reopensAt!);
    const inner = downstream(() => Promise.resolve({ requests: 1, bytesSent: 10 }));
    const guarded = guardSink(inner.sink, cb, isDownstreamOutage);
    const probe = cb.tryAcquire();
    await guarded.send(batch, ctx);
    probe!.release();
    expect(cb.state).toBe('closed');
    expect(guarded.recordOverheadBytes).toBe(1);
  });
});

describe('acquire: the other messages of a half-open breaker wait for the probe', () => {
  function halfOpen() {
    const b = breaker();
    fail(b.cb, b.clock, 3, 5_000);
    b.clock.set(b.cb.reopensAt!);
    expect(b.cb.state).toBe('half-open');
    return b;
  }
  const settled = async <T>(promise: Promise<T>) => {
    let done = false;
    void promise.then(() => (done = true));
    await new Promise((resolve) => setImmediate(resolve));
    return done;
  };

  test('a probe that succeeds lets every waiter through: none is deferred a backoff for nothing', async () => {
    const { cb } = halfOpen();
    const probe = await cb.acquire();
    expect(probe?.probe).toBe(true);
    const waiting = [cb.acquire(), cb.acquire()];
    expect(await settled(waiting[0]!)).toBe(false);
    cb.recordSuccess();
    probe!.release();
    const permits = await Promise.all(waiting);
    expect(permits.map((permit) => permit?.probe)).toEqual([false, false]);
  });

  test('a probe that fails refuses every waiter; the breaker is open for twice as long', async () => {
    const { cb, clock } = halfOpen();
    const probe = await cb.acquire();
    const waiting = [cb.acquire(), cb.acquire()];
    cb.recordFailure();
    probe!.release();
    expect(await Promise.all(waiting)).toEqual([undefined, undefined]);
    expect(cb.reopensAt! - clock.now()).toBe(60_000);
  });

  test('a probe that never reached the downstream hands the probe to one waiter, the rest keep waiting', async () => {
    const { cb } = halfOpen();
    const probe = await cb.acquire();
    const first = cb.acquire();
    const second = cb.acquire();
    probe!.release();
    expect((await first)?.probe).toBe(true);
    expect(await settled(second)).toBe(false);
    cb.recordSuccess();
    expect((await second)?.probe).toBe(false);
  });

  test('while open nothing waits: refused at once', async () => {
    const b = breaker();
    fail(b.cb, b.clock, 3, 5_000);
    expect(await b.cb.acquire()).toBeUndefined();
  });
});
