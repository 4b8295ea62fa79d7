/**
 * The scheduled sweep (docs/operations.md, "Sweep and jobs"): it reads the registry once, selects the accounts
 * that are due, and sends one reconcile job per account to the job queue (SendMessageBatch, 10 a call); the
 * reconcile worker (worker.ts) reconciles each under a lease. It reconciles nothing itself, so its run time grows
 * with the registry scan and the sends only, not with the accounts' AWS calls.
 *
 * Cadence (`Cadence`, config.ts): an account that is not healthy (degraded, error, repaired, never reconciled) is
 * due every period, a healthy one every RECONCILE_HEALTHY_EVERY periods; a triggered one does not wait for the
 * sweep at all (its job is sent by the trigger). The worker records the next due time (`reconcileDueAt`) after
 * each run. Due accounts are sent oldest last run first, so an account that keeps failing to be reconciled moves
 * to the front instead of being starved by a fixed order.
 *
 * In the customer-queue topology the sweep lists the ingest function's event source mappings once (paginated)
 * and gives each job its account's, so no worker calls Lambda's control plane (15 requests a second per account,
 * shared by every caller) to observe them; in the hub topology it lists none (accounts have no mapping of their
 * own: a worker lists one only for an account still migrating off its customer queue).
 */
import { ListEventSourceMappingsCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import { queueArn as buildQueueArn } from '../shared/arn';
import { errorMessage } from '../shared/errors';
import type { LoggerLike } from '../shared/logger';
import type { ReconcileJob, ReconcileJobQueue } from '../shared/reconcile-job';
import type { AccountRecord, AccountsRegistry, AccountStatus } from '../shared/registry';
import type { IngestTopology } from '../shared/topology';
import type { Cadence } from './config';
import { CHAIN_NAMES } from './names';
import { pages } from './observe-resources';
import { logArchivesFor } from './reconcile';
import type { RunMode } from './types';

/**
 * A due time this close ahead still counts as due: EventBridge starts a rate schedule's runs within about a
 * minute of their time, and a worker records the next due time from the sweep's run time, so a due time lands
 * on a sweep's time give or take that. A tenth of a period (90 s of 15 minutes).
 */
export const DUE_TOLERANCE_FRACTION = 0.1;

/** Seconds until an account that ended a run with `status` is due again. */
export function intervalSeconds(status: AccountStatus | undefined, cadence: Cadence): number {
  return status === 'healthy' ? cadence.periodSeconds * cadence.healthyEvery : cadence.periodSeconds;
}

/** When the account is next due (ms): the recorded due time, else its last run plus its interval; 0 if never run. */
export function dueAtMs(record: Pick<AccountRecord, 'reconcileDueAt' | 'lastRunAt' | 'status'>, cadence: Cadence) {
  if (record.reconcileDueAt !== undefined) return Date.parse(record.reconcileDueAt);
  if (record.lastRunAt === undefined) return 0;
  return Date.parse(record.lastRunAt) + intervalSeconds(record.status, cadence) * 1000;
}

export function isDue(
  record: Pick<AccountRecord, 'reconcileDueAt' | 'lastRunAt' | 'status'>,
  now: Date,
  cadence: Cadence,
): boolean {
  if (record.lastRunAt === undefined) return true;
  const tolerance = cadence.periodSeconds * 1000 * DUE_TOLERANCE_FRACTION;
  return dueAtMs(record, cadence) <= now.getTime() + tolerance;
}

/** Oldest last run first; never reconciled first of all, by registration time. */
function byLastRun(a: AccountRecord, b: AccountRecord): number {
  const key = (r: AccountRecord) => (r.lastRunAt === undefined ? `0${r.registeredAt}` : `1${r.lastRunAt}`);
  return key(a).localeCompare(key(b)) || a.accountId.localeCompare(b.accountId);
}

/** The accounts due at `now`, in the order their jobs are sent (oldest last run first). */
export function selectDue(records: readonly AccountRecord[], now: Date, cadence: Cadence): AccountRecord[] {
  return records.filter((record) => isDue(record, now, cadence)).sort(byLastRun);
}

/**
 * The coverage figure (the AccountsNotReconciledInTime metric and its alarm): accounts whose last run (or, never
 * run, their registration) is older than two of their intervals. Zero when every account is reconciled on time.
 */
export function accountsNotReconciledInTime(records: readonly AccountRecord[], now: Date, cadence: Cadence): number {
  return records.filter((record) => {
    const since = Date.parse(record.lastRunAt ?? record.registeredAt);
    return now.getTime() - since > 2 * intervalSeconds(record.status, cadence) * 1000;
  }).length;
}

/** What a job carries of the other registry items, computed once per sweep (or by a worker for a trigger's job). */
export interface JobContextSource {
  records: readonly AccountRecord[];
  recordedMappings: number;
}

export function jobContextSource(records: readonly AccountRecord[]): JobContextSource {
  return {
    records,
    recordedMappings: records.filter((record) => record.eventSourceMappingUuid !== undefined).length,
  };
}

export function jobContext(accountId: string, source: JobContextSource): NonNullable<ReconcileJob['context']> {
  return {
    logArchives: logArchivesFor(accountId, [...source.records]),
    recordedMappings: source.recordedMappings,
  };
}

export type JobMapping = NonNullable<ReconcileJob['mappings']>[number];

/** The ingest function's mappings, keyed by their queue's ARN, and the ListEventSourceMappings calls it took. */
export async function listIngestMappings(
  lambda: Pick<LambdaClient, 'send'>,
  ingestFunctionArn: string,
): Promise<{ byQueue: Map<string, JobMapping[]>; calls: number }> {
  const byQueue = new Map<string, JobMapping[]>();
  let calls = 0;
  const listing = pages(
    (input: { FunctionName: string; Marker?: string }) => {
      calls += 1;
      return lambda.send(new ListEventSourceMappingsCommand(input));
    },
    { FunctionName: ingestFunctionArn },
    'Marker',
    'NextMarker',
  );
  for await (const page of listing) {
    for (const m of page.EventSourceMappings ?? []) {
      if (!m.UUID || !m.FunctionArn || !m.EventSourceArn) continue;
      const maximumConcurrency = m.ScalingConfig?.MaximumConcurrency;
      const mapping: JobMapping = {
        uuid: m.UUID,
        eventSourceArn: m.EventSourceArn,
        functionArn: m.FunctionArn,
        state: m.State ?? 'Unknown',
        ...(maximumConcurrency !== undefined ? { maximumConcurrency } : {}),
        ...(m.BatchSize !== undefined ? { batchSize: m.BatchSize } : {}),
      };
      byQueue.set(m.EventSourceArn, [...(byQueue.get(m.EventSourceArn) ?? []), mapping]);
    }
  }
  return { byQueue, calls };
}

export interface SweepSettings {
  region: string;
  cadence: Cadence;
  ingestFunctionArn?: string;
  ingestTopology?: IngestTopology;
}

export interface SweepDeps {
  registry: Pick<AccountsRegistry, 'list'>;
  queue: Pick<ReconcileJobQueue, 'sendBatch'>;
  /** The collector account's Lambda client (ReconcileClients.collector.lambda). */
  lambda: Pick<LambdaClient, 'send'>;
  config: SweepSettings;
  logger: LoggerLike;
  now?: () => Date;
}

export interface SweepOptions {
  mode: RunMode;
  /** 'schedule': the due accounts; 'manual' (a direct invocation without an account): every account. */
  reason: 'schedule' | 'manual';
}

export interface SweepResult {
  runAt: string;
  mode: RunMode;
  accounts: number;
  due: number;
  sent: number;
  notSent: number;
  notReconciledInTime: number;
  /** ListEventSourceMappings calls (0 in the hub topology). */
  lambdaControlPlaneCalls: number;
  /** False when the listing failed: the jobs went without mappings, and each worker lists its account's. */
  mappingsListed: boolean;
}

/** One sweep: select, attach each account's mappings and context, send. Throws only when the registry cannot be read. */
export async function sweep(deps: SweepDeps, options: SweepOptions): Promise<SweepResult> {
  const now = (deps.now ?? (() => new Date()))();
  const runAt = now.toISOString();
  const { cadence, region } = deps.config;
  const records = await deps.registry.list();
  const due = options.reason === 'manual' ? [...records].sort(byLastRun) : selectDue(records, now, cadence);

  let byQueue: Map<string, JobMapping[]> | undefined;
  let lambdaControlPlaneCalls = 0;
  let mappingsListed = false;
  const functionArn = deps.config.ingestFunctionArn;
  if (deps.config.ingestTopology !== 'hub' && functionArn !== undefined && due.length > 0) {
    try {
      const listed = await listIngestMappings(deps.lambda, functionArn);
      byQueue = listed.byQueue;
      lambdaControlPlaneCalls = listed.calls;
      mappingsListed = true;
    } catch (error) {
      // Not fatal: each worker lists its own account's mappings instead (rate-limited there).
      deps.logger.warn('sweep: cannot list the ingest function event source mappings', { error: errorMessage(error) });
      lambdaControlPlaneCalls = 1;
    }
  }

  const source = jobContextSource(records);
  // The mapping budget (capacity.ts) of a job counts, besides the recorded mappings, one for each account without
  // one that is sent before it: reconcileAll shares one budget over a run, and jobs run apart, so the slots are
  // handed out here in send order. An account that then creates none leaves its slot unused until the next sweep.
  let ahead = 0;
  const customerQueue = deps.config.ingestTopology !== 'hub';
  const jobs = due.map((record): ReconcileJob => {
    const context = jobContext(record.accountId, source);
    if (customerQueue && record.eventSourceMappingUuid === undefined) {
      context.recordedMappings += ahead;
      ahead += 1;
    }
    return {
      kind: 'reconcile-account',
      accountId: record.accountId,
      mode: options.mode,
      reason: options.reason,
      requestedAt: runAt,
      ...(byQueue !== undefined
        ? { mappings: byQueue.get(buildQueueArn(region, record.accountId, CHAIN_NAMES.queue)) ?? [] }
        : {}),
      context,
    };
  });
  const unsent = await deps.queue.sendBatch(jobs);
  for (const { job, reason } of unsent) {
    deps.logger.error('sweep: reconcile job not sent', { accountId: job.accountId, reason });
  }
  const result: SweepResult = {
    runAt,
    mode: options.mode,
    accounts: records.length,
    due: due.length,
    sent: jobs.length - unsent.length,
    notSent: unsent.length,
    notReconciledInTime: accountsNotReconciledInTime(records, now, cadence),
    lambdaControlPlaneCalls,
    mappingsListed,
  };
  deps.logger.info('reconcile sweep', { ...result });
  return result;
}

/** The sweep's metrics (no per-account dimension). */
export function sweepMetrics(result: SweepResult, add: (name: string, value: number) => void): void {
  add('AccountsRegistered', result.accounts);
  add('AccountsDue', result.due);
  add('ReconcileJobsSent', result.sent);
  add('ReconcileJobsNotSent', result.notSent);
  add('AccountsNotReconciledInTime', result.notReconciledInTime);
  add('LambdaControlPlaneCalls', result.lambdaControlPlaneCalls);
}
