/**
 * What the soak's time scale scales, and nothing else. At `timeScale` 1 everything is production's: the hub retry
 * schedule of lambdas/shared/topology.ts (30 s doubling to 1 h) and the circuit breaker's defaults (5 failures over
 * 30 s open it for 30 s, doubling to 5 min). At N > 1 the long outage lasts outageMinutes / N, each hub retry
 * visibility is divided by N (rounded, at least 1 s: SQS takes whole seconds) and so are the breaker's window and
 * open times. Not scaled: the failure threshold, the receive counts (HUB_MAX_RECEIVE_COUNT), the batch deadline,
 * the downstream timeout, the queues' VisibilityTimeout, the sink's own retries, and how fast anything is processed.
 */
import { DEFAULT_BREAKER_SETTINGS, type BreakerSettings } from '../../lambdas/ingest/source/circuit-breaker';
import { retryVisibilitySeconds } from '../../lambdas/shared/topology';

export interface SoakSchedule {
  timeScale: number;
  /** Seconds a hub message is hidden after its n-th failed receive (what ingest's settler applies). */
  retrySeconds(receiveCount: number): number;
  breaker: BreakerSettings;
  /** The long outage in real milliseconds. */
  outageMs: number;
}

export function soakSchedule(timeScale: number, outageMinutes: number): SoakSchedule {
  const scaleMs = (ms: number) => Math.max(1, Math.round(ms / timeScale));
  return {
    timeScale,
    retrySeconds:
      timeScale === 1
        ? retryVisibilitySeconds
        : (receiveCount) => Math.max(1, Math.round(retryVisibilitySeconds(receiveCount) / timeScale)),
    breaker: {
      failureThreshold: DEFAULT_BREAKER_SETTINGS.failureThreshold,
      failureWindowMs: scaleMs(DEFAULT_BREAKER_SETTINGS.failureWindowMs),
      openMs: scaleMs(DEFAULT_BREAKER_SETTINGS.openMs),
      maxOpenMs: scaleMs(DEFAULT_BREAKER_SETTINGS.maxOpenMs),
    },
    outageMs: Math.round((outageMinutes * 60_000) / timeScale),
  };
}

/** The first receives' visibilities and the retry window before receive `maxReceiveCount`, for the report. */
export function describeSchedule(
  schedule: SoakSchedule,
  maxReceiveCount: number,
): { firstRetrySeconds: number[]; retryWindowSeconds: number } {
  let window = 0;
  for (let receive = 1; receive < maxReceiveCount; receive += 1) window += schedule.retrySeconds(receive);
  return {
    firstRetrySeconds: Array.from({ length: 9 }, (_, index) => schedule.retrySeconds(index + 1)),
    retryWindowSeconds: window,
  };
}
