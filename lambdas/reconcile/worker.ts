/**
 * The reconcile worker (docs/operations.md, "Sweep and jobs"): one account per job, under the account's lease
 * (lease.ts). For each job: take the lease (which also reads the account's registry item), run reconcileAccount,
 * record the next due time while giving the lease back, and publish that account's metrics at once, so an
 * invocation that runs out of time has already published every account it finished.
 *
 * A job whose account is leased by another worker is handed back for later (its visibility is set to the lease's
 * remaining time): the running reconcile may have observed the account before the change the job was sent for.
 * A scheduled job whose account was reconciled after the job was sent (a trigger, a duplicate sweep) is dropped:
 * the work is done. A job that fails (an error outside the account's own problems, or no time left) is reported
 * as a batch item failure: SQS redelivers it after the visibility timeout and, after maxReceiveCount receives,
 * moves it to the job DLQ, which has an alarm.
 */
import { mapSettled } from '../shared/concurrency';
import { errorMessage, PermanentInputError } from '../shared/errors';
import { parseReconcileJob, type ReconcileJob } from '../shared/reconcile-job';
import type { AccountRecord, AccountsRegistry } from '../shared/registry';
import { MappingBudget } from './capacity';
import type { Cadence } from './config';
import type { ReconcileLease } from './lease';
import { failedAccountReport, reconcileAccount, registeredOrganizations, type ReconcileDeps } from './reconcile';
import { emitRunMetrics } from './run-request';
import { intervalSeconds, jobContext, jobContextSource } from './sweep';
import type { AccountReport } from './types';

/** A metric as the worker publishes it; the handler writes it with Powertools Metrics (EMF). */
export interface WorkerMetric {
  name: string;
  value: number;
  unit: 'Count' | 'Seconds';
}

/** Publishes at once (one EMF line), so what was published survives a timeout that follows. */
export type PublishMetrics = (metrics: readonly WorkerMetric[]) => void;

export interface WorkerDeps extends Omit<ReconcileDeps, 'registry' | 'config'> {
  config: ReconcileDeps['config'] & { cadence: Cadence };
  /** `update` records each run; `list` only for a job without context (a trigger's), to find its log archives. */
  registry: Pick<AccountsRegistry, 'list' | 'update'>;
  lease: ReconcileLease;
  publish: PublishMetrics;
}

export type JobOutcome =
  | { kind: 'reconciled'; report: AccountReport }
  /** Another worker holds the lease: retry after `retryInSeconds`. */
  | { kind: 'lease-held'; owner: string; retryInSeconds: number }
  | { kind: 'not-registered' }
  /** A scheduled job for an account reconciled since it was sent. */
  | { kind: 'already-reconciled'; lastRunAt: string };

export interface JobRunOptions {
  /** This invocation's id (the Lambda request id): the lease's owner. */
  owner: string;
  /** When this invocation must be done: the lease expires then. */
  deadline: Date;
}

/** Never less than this before a leased job is offered again: a lease about to expire is not polled for. */
const MIN_RETRY_SECONDS = 5;

/** One job: lease, reconcile, record, publish, release. Throws for failures the job should be retried for. */
export async function runJob(job: ReconcileJob, deps: WorkerDeps, options: JobRunOptions): Promise<JobOutcome> {
  const clock = deps.now ?? (() => new Date());
  const started = clock();
  const lease = await deps.lease.acquire(job.accountId, options.owner, started, options.deadline);
  if (lease.kind === 'not-registered') {
    deps.logger.warn('reconcile job for an account that is not registered: dropped', { accountId: job.accountId });
    return lease;
  }
  if (lease.kind === 'held') {
    const left = Math.ceil((Date.parse(lease.expiresAt) - started.getTime()) / 1000);
    const retryInSeconds = Math.max(MIN_RETRY_SECONDS, Number.isFinite(left) ? left : MIN_RETRY_SECONDS);
    deps.logger.info('reconcile job deferred: the account is leased', {
      accountId: job.accountId,
      owner: lease.owner,
      retryInSeconds,
    });
    return { kind: 'lease-held', owner: lease.owner, retryInSeconds };
  }
  const record = lease.record;
  let released = false;
  const release = async (fields?: Pick<AccountRecord, 'reconcileDueAt'>) => {
    released = true;
    if (!(await deps.lease.release(job.accountId, options.owner, fields))) {
      deps.logger.warn('reconcile lease lost before release (expired, taken by another worker)', {
        accountId: job.accountId,
      });
    }
  };
  try {
    const ranSinceRequest = record.lastRunAt !== undefined && record.lastRunAt >= job.requestedAt;
    if (job.reason === 'schedule' && ranSinceRequest) {
      await release();
      return { kind: 'already-reconciled', lastRunAt: record.lastRunAt! };
    }
    const report = await reconcileOne(job, record, deps, ranSinceRequest);
    // From the sweep's time for a scheduled job, so due times stay on the sweeps' grid.
    const from = job.reason === 'schedule' ? Date.parse(job.requestedAt) : started.getTime();
    const due = new Date(from + intervalSeconds(report.status, deps.config.cadence) * 1000);
    await release({ reconcileDueAt: due.toISOString() });
    deps.publish(accountMetrics(job, report, clock()));
    return { kind: 'reconciled', report };
  } catch (error) {
    if (!released) await release().catch(() => undefined);
    // The same account report reconcileAll gives a failed account: the alarms on account health see it.
    deps.publish([
      ...accountMetrics(job, failedAccountReport(job.accountId, error), clock()),
      { name: 'ReconcileJobsFailed', value: 1, unit: 'Count' },
    ]);
    throw error;
  }
}

async function reconcileOne(
  job: ReconcileJob,
  record: AccountRecord,
  deps: WorkerDeps,
  ranSinceRequest: boolean,
): Promise<AccountReport> {
  const context = job.context ?? jobContext(job.accountId, jobContextSource(await deps.registry.list()));
  const budget = MappingBudget.of(context.recordedMappings, deps.config);
  // The sweep's snapshot is only as new as the sweep: a run since then may have created or changed a mapping.
  const mappings = job.mappings !== undefined && !ranSinceRequest ? job.mappings : undefined;
  const organizations = isLogArchive(record) ? await registeredOrganizations(deps) : [];
  return reconcileAccount(record, deps, job.mode, {
    logArchives: context.logArchives,
    organizations,
    ...(budget !== undefined ? { budget } : {}),
    ...(mappings !== undefined ? { mappings } : {}),
  });
}

/** Only a log archive's context reads the registered organizations (reconcile.ts logArchiveContext). */
function isLogArchive(record: AccountRecord): boolean {
  return record.logArchiveBucket !== undefined || (record.logArchiveFor ?? []).some((m) => m.startsWith('o-'));
}

/** The account's health metrics (the same names the whole-fleet run emitted), and how long its job waited. */
function accountMetrics(job: ReconcileJob, report: AccountReport, now: Date): WorkerMetric[] {
  const metrics: WorkerMetric[] = [];
  emitRunMetrics({ mode: job.mode, runAt: now.toISOString(), accounts: [report] }, (name, value) =>
    metrics.push({ name, value, unit: 'Count' }),
  );
  metrics.push({
    name: job.reason === 'trigger' ? 'TriggeredJobAgeSeconds' : 'ReconcileJobAgeSeconds',
    value: Math.max(0, (now.getTime() - Date.parse(job.requestedAt)) / 1000),
    unit: 'Seconds',
  });
  return metrics;
}

/** A message of the SQS event: what the worker needs of it. */
export interface JobMessage {
  messageId: string;
  receiptHandle: string;
  body: string;
}

export interface BatchOptions {
  owner: string;
  /** Milliseconds this invocation has left (Lambda's context.getRemainingTimeInMillis). */
  remainingMs: () => number;
  /** Jobs of the batch run at once (RECONCILE_CONCURRENCY). */
  concurrency: number;
  /** A job is started only with this much time left, and abandoned this long before the end. */
  marginMs: number;
  /** Makes the message visible again in `seconds` (ChangeMessageVisibility): a leased account's job. */
  retryLater(message: JobMessage, seconds: number): Promise<void>;
}

/**
 * A batch of the job queue's mapping (ReportBatchItemFailures): returns the messages to redeliver. A job that
 * could not finish before the invocation's end is one of them, and every job that finished has already
 * published its metrics.
 */
export async function runJobBatch(
  messages: readonly JobMessage[],
  deps: WorkerDeps,
  options: BatchOptions,
): Promise<{ batchItemFailures: { itemIdentifier: string }[] }> {
  const clock = deps.now ?? (() => new Date());
  const settled = await mapSettled(messages, options.concurrency, async (message) => {
    let job: ReconcileJob;
    try {
      job = parseReconcileJob(message.body);
    } catch (error) {
      // Retried, then kept in the job DLQ as evidence (its alarm fires): a sender wrote a wrong job.
      deps.logger.error('reconcile job rejected', { messageId: message.messageId, error: errorMessage(error) });
      throw error;
    }
    const left = options.remainingMs() - options.marginMs;
    if (left <= options.marginMs) {
      throw new JobTimeoutError(`no time left to start the job for account ${job.accountId}`);
    }
    const deadline = new Date(clock().getTime() + options.remainingMs());
    // One owner per job, not per invocation: two jobs of one batch for the same account must not share the lease.
    const owner = `${options.owner}/${message.messageId}`;
    const outcome = await withinTime(runJob(job, deps, { owner, deadline }), left, job.accountId);
    if (outcome.kind === 'lease-held') {
      await options.retryLater(message, outcome.retryInSeconds);
      throw new LeaseHeldError(`account ${job.accountId} is leased by ${outcome.owner}`);
    }
    return outcome;
  });
  const failures: { itemIdentifier: string }[] = [];
  let timedOut = 0;
  settled.forEach((result, index) => {
    if (result.status === 'fulfilled') return;
    const message = messages[index]!;
    failures.push({ itemIdentifier: message.messageId });
    if (result.reason instanceof JobTimeoutError) timedOut += 1;
    if (!(result.reason instanceof LeaseHeldError) && !(result.reason instanceof PermanentInputError)) {
      deps.logger.error('reconcile job failed', { messageId: message.messageId, error: errorMessage(result.reason) });
    }
  });
  if (timedOut > 0) deps.publish([{ name: 'ReconcileJobsTimedOut', value: timedOut, unit: 'Count' }]);
  return { batchItemFailures: failures };
}

export class JobTimeoutError extends Error {}
class LeaseHeldError extends Error {}

/** The job's result, or a JobTimeoutError once `ms` pass (the job itself keeps its lease until the deadline). */
async function withinTime<T>(work: Promise<T>, ms: number, accountId: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new JobTimeoutError(`the job for account ${accountId} did not finish before the invocation's end`)),
      ms,
    );
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
