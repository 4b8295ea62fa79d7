import { isAccountId } from '../shared/arn';
import { PermanentInputError } from '../shared/errors';
import type { ReconcileReport, RunMode } from './types';

/** What starts a run: the EventBridge schedule (apply), or a direct invocation choosing mode and account. */
export interface ReconcileRequest {
  mode: RunMode;
  accountId?: string;
}

/**
 * Reads the run request from an event: an EventBridge event (its `detail` may carry `mode` and `accountId`;
 * the schedule sends none, so it repairs) or a plain `{"mode","accountId"}` payload. Anything else is refused.
 */
export function requestFromEvent(event: unknown): ReconcileRequest {
  if (typeof event !== 'object' || event === null || Array.isArray(event)) {
    throw new PermanentInputError('reconcile event must be a JSON object');
  }
  const source = 'detail-type' in event ? ((event as { detail?: unknown }).detail ?? {}) : event;
  const { mode = 'apply', accountId } = source as { mode?: unknown; accountId?: unknown };
  if (mode !== 'plan' && mode !== 'apply')
    throw new PermanentInputError(`reconcile event: mode must be "plan" or "apply", got ${JSON.stringify(mode)}`);
  if (accountId !== undefined && !isAccountId(accountId)) {
    throw new PermanentInputError(`reconcile event: accountId must be 12 digits, got ${JSON.stringify(accountId)}`);
  }
  return { mode, ...(accountId !== undefined ? { accountId } : {}) };
}

/**
 * An EventBridge schedule's event (`"detail-type": "Scheduled Event"`, source `aws.events`: Amazon EventBridge
 * User Guide, "Creating a rule that runs on a schedule"): the sweep sends only the accounts that are due. Any
 * other run request without an account sends every account a job.
 */
export function isScheduledEvent(event: unknown): boolean {
  return (
    typeof event === 'object' &&
    event !== null &&
    (event as Record<string, unknown>)['detail-type'] === 'Scheduled Event' &&
    (event as Record<string, unknown>).source === 'aws.events'
  );
}

/**
 * The nearest-rank percentile (p in 0..100) of some values; undefined for none. p99 of fewer than 100 values is
 * their maximum.
 */
export function percentile(values: readonly number[], p: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length))) - 1];
}

/** Per-status account counts and unrepaired findings, for the alarms on reconcile health. */
export function emitRunMetrics(report: ReconcileReport, add: (name: string, value: number) => void): void {
  const statuses = { healthy: 0, repaired: 0, degraded: 0, error: 0 };
  let failedActions = 0;
  let deadLetterMessages = 0;
  let stale = 0;
  let lagging = 0;
  const lags: number[] = [];
  for (const account of report.accounts) {
    statuses[account.status] += 1;
    failedActions += account.actions.filter((action) => action.status === 'failed').length;
    deadLetterMessages += account.deadLetterMessages ?? 0;
    if (account.findings.some((finding) => finding.code === 'COLLECTION_STALE')) stale += 1;
    if (account.findings.some((finding) => finding.code === 'COLLECTION_LAGGING')) lagging += 1;
    if (account.collectionLagMinutes !== undefined) lags.push(account.collectionLagMinutes);
  }
  add('AccountsHealthy', statuses.healthy);
  add('AccountsRepaired', statuses.repaired);
  add('AccountsDegraded', statuses.degraded);
  add('AccountsError', statuses.error);
  add('AccountsNotHealthy', statuses.degraded + statuses.error);
  add('ActionsFailed', failedActions);
  // Summed over accounts, no per-account dimension: custom metrics are billed per dimension value.
  add('DeadLetterMessages', deadLetterMessages);
  add('AccountsStale', stale);
  // Freshness for the fleet, not per account (rules/freshness.ts): the accounts lagging, and the largest and
  // 99th-percentile lag in minutes over the accounts whose lag could be judged (none: no lag metric at all).
  add('AccountsLagging', lagging);
  const max = percentile(lags, 100);
  const p99 = percentile(lags, 99);
  if (max !== undefined) add('CollectionLagMaxMinutes', max);
  if (p99 !== undefined) add('CollectionLagP99Minutes', p99);
}
