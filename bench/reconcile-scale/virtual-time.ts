/**
 * Simulated time for the reconcile-scale benchmark: a discrete-event loop over @sinonjs/fake-timers. Date,
 * setTimeout and setInterval are virtual for the whole process, so every wait (the fake cloud's latency, the rate
 * limiters' waits, the SDK's retry backoff and its adaptive limiter, which read Date.now and sleep on setTimeout)
 * is on the same clock. The loop lets all pending work run (two turns of the real event loop: promise chains and
 * anything they queue with setImmediate, which stays real), then jumps to the next timer and fires it. Simulated
 * time therefore costs no wall time, and the order of events is the order of their virtual times.
 */
import FakeTimers from '@sinonjs/fake-timers';

const realImmediate = () => new Promise<void>((resolve) => setImmediate(resolve));

export async function runInVirtualTime<T>(
  startMs: number,
  work: () => Promise<T>,
): Promise<{ result: T; virtualMs: number; timersFired: number }> {
  const clock = FakeTimers.install({
    now: startMs,
    toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'],
  });
  // Node runs a delay below 1 ms (or NaN) after 1 ms and truncates fractions (Node.js docs, timers, setTimeout);
  // fake-timers would run 0.99 ms at once, and the SDK's adaptive limiter, which sleeps fractions of a ms until
  // its bucket refills, would then spin without time passing.
  const fakeSetTimeout = globalThis.setTimeout;
  const nodeDelay = (delay: unknown) => {
    const ms = Math.trunc(Number(delay));
    return Number.isFinite(ms) && ms >= 1 && ms <= 2_147_483_647 ? ms : 1;
  };
  globalThis.setTimeout = ((handler: () => void, delay?: number) =>
    fakeSetTimeout(handler, nodeDelay(delay))) as typeof setTimeout;
  let state: { done: false } | { done: true; ok: true; value: T } | { done: true; ok: false; error: unknown } = {
    done: false,
  };
  work().then(
    (value) => (state = { done: true, ok: true, value }),
    (error: unknown) => (state = { done: true, ok: false, error }),
  );
  let timersFired = 0;
  let idleTurns = 0;
  try {
    for (;;) {
      await realImmediate();
      await realImmediate();
      if (state.done) break;
      if (clock.countTimers() > 0) {
        clock.next();
        timersFired += 1;
        idleTurns = 0;
      } else if (++idleTurns > 10_000) {
        throw new Error('virtual time: no timer is pending and the work has not finished (it waits on nothing)');
      }
    }
  } finally {
    globalThis.setTimeout = fakeSetTimeout;
    clock.uninstall();
  }
  const final = state as { done: true; ok: true; value: T } | { done: true; ok: false; error: unknown };
  if (!final.ok) throw final.error;
  return { result: final.value, virtualMs: clock.now - startMs, timersFired };
}
