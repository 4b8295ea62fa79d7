/**
 * The reconcile run: for each registered account, with bounded concurrency, assume role -> observe -> plan ->
 * apply -> record. Thin orchestration: every decision (role unassumable, which actions run in report mode,
 * staleness, the account status) is made by plan.ts (pure), every AWS call is in observe.ts / apply.ts.
 */
import { randomBytes } from 'node:crypto';
import { mapSettled } from '../shared/concurrency';
import { RoleAssumptionError, type RoleTarget } from '../shared/credentials';
import { ConfigError, errorMessage } from '../shared/errors';
import { shardOf, type IngestTopology } from '../shared/topology';
import type { LoggerLike } from '../shared/logger';
import {
  AccountNotRegisteredError,
  CHAIN_FIELDS,
  type AccountRecord,
  type AccountsRegistry,
  type ChainFields,
} from '../shared/registry';
import { applyPlan, createActionExecutor, type ActionExecutor } from './apply';
import type { BackfillLedger, BackfillProgress } from './backfill';
import { MappingBudget } from './capacity';
import type { CustomerClients, ReconcileClients } from './clients';
import { roleArn, partitionOf } from '../shared/arn';
import { defaultBucketName, generatedBucketName } from './names';
import { observeAccount, roleUnassumable, type LedgerReader } from './observe';
import { observeDigests } from './observe-digests';
import type { OrganizationRecord, OrganizationsRegistry } from '../shared/organization-registry';
import type { LogArchiveContext } from './archive-types';
import { coveringOrganizationTrail } from './trail-selection';
import { PART_FIELDS, REPAIR_LOOP_WINDOW_MS, accountReport, planAccount } from './plan';
import { finding } from './rules';
import type {
  AccountReport,
  ActionResults,
  BackfillContext,
  ChainPart,
  CostAssumptions,
  HubTarget,
  LogArchiveRef,
  ObservedEventSourceMapping,
  ObservedState,
  Plan,
  PlanContext,
  PlannedAction,
  ReconcileReport,
  RunMode,
} from './types';

export interface ReconcileSettings {
  region: string;
  customerRoleName: string;
  ingestFunctionArn?: string;
  ingestRoleArn?: string;
  costs: CostAssumptions;
  queueVisibilityTimeoutSeconds: number;
  staleAfterMinutes?: number;
  /** COLLECTION_LAGGING after this many minutes behind CloudTrail in a Region (unset: 30). */
  lagAfterMinutes?: number;
  /** Unset: `customer-queue` (config.ts reads INGEST_TOPOLOGY, HUB_QUEUE_ARNS, RECONCILE_ROLE_ARN, ...). */
  ingestTopology?: IngestTopology;
  hubQueueArns?: readonly string[];
  reconcileRoleArn?: string;
  esmMaximumConcurrency?: number;
  ingestReservedConcurrency?: number;
  /** Gap backfill (config.ts: BACKFILL_*); planned only when the ledger given can list a day's files too. */
  backfill?: BackfillSettings;
}

/** BACKFILL_MAX_DAYS, BACKFILL_MAX_FILES_PER_RUN, BACKFILL_MARGIN_MINUTES, BACKFILL_QUEUE_URL (config.ts). */
export interface BackfillSettings {
  maxDays: number;
  maxFilesPerRun: number;
  marginMinutes: number;
  /** The collector's backfill queue (hub topology); unset: hub accounts are not backfilled. */
  queueUrl?: string;
}

export interface ReconcileDeps {
  clients: ReconcileClients;
  config: ReconcileSettings;
  logger: LoggerLike;
  /** Where the run is recorded; omitted: nothing is written (dry use in tests and tools). */
  registry?: Pick<AccountsRegistry, 'update'>;
  now?: () => Date;
  /** Suffix for a generated bucket name (default: 8 random hex characters). */
  randomSuffix?: () => string;
  /** Replaces the AWS executor (tests and benchmarks). */
  executorFor?: (accountId: string) => ActionExecutor;
  /**
   * The ledger's newest files per Region (freshness, COLLECTION_LAGGING); omitted: freshness is not judged. With
   * `collectedOn` (a LedgerTable has it) and `config.backfill`, gaps are backfilled (rules/backfill.ts).
   */
  ledger?: LedgerReader & Partial<BackfillLedger>;
  /**
   * The registered organizations (organization-registry.ts): a log archive's path reads its organization trail's
   * prefix from them when the archive's own DescribeTrails does not show the trail. Omitted: not read.
   */
  organizations?: Pick<OrganizationsRegistry, 'list'>;
}

export interface AccountRunOptions {
  /** Registered accounts that are log archives for this one. */
  logArchives?: LogArchiveRef[];
  /** The registered organizations (reconcileAll reads them once per run), for a log archive's trail. */
  organizations?: readonly OrganizationRecord[];
  /** The run's mapping budget (reconcileAll shares one over every account); default: this account's alone. */
  budget?: MappingBudget;
  /**
   * The ingest function's mappings from this account's queue, as the sweep listed them (sweep.ts); absent:
   * observe lists them itself.
   */
  mappings?: readonly ObservedEventSourceMapping[];
}

/** assume role -> observe -> plan -> apply -> record for one account. Never throws for an account's own problems. */
export async function reconcileAccount(
  record: AccountRecord,
  deps: ReconcileDeps,
  mode: RunMode,
  options: AccountRunOptions = {},
): Promise<AccountReport> {
  const now = (deps.now ?? (() => new Date()))();
  const budget = options.budget ?? MappingBudget.of([record], deps.config);
  const ctx = planContext(record, deps, now, mode, options.logArchives ?? [], budget);
  const backfill = backfillContext(record, deps);
  if (backfill !== undefined) ctx.backfill = backfill;
  const logArchive = logArchiveContext(record, options.organizations ?? []);
  if (logArchive !== undefined) ctx.logArchive = logArchive;
  const target: RoleTarget = {
    accountId: record.accountId,
    roleArn: roleArn(
      partitionOf(deps.config.region),
      record.accountId,
      record.roleName ?? deps.config.customerRoleName,
    ),
    externalId: record.externalId,
  };

  let customer: CustomerClients | undefined;
  let observed: ObservedState;
  try {
    customer = await deps.clients.customer(target);
    observed = await observeAccount(
      customer,
      ctx,
      deps.clients.collector,
      deps.ledger,
      options.mappings !== undefined ? { mappings: options.mappings } : {},
    );
    // Never throws: a failure makes `digests` unknown (OBSERVE_INCOMPLETE) and keeps the cursor.
    const digests = await observeDigests({ record, state: observed, clients: customer, ledger: deps.ledger, now });
    if (digests !== undefined) observed.digests = digests;
  } catch (error) {
    if (customer !== undefined) throw error;
    const message =
      error instanceof RoleAssumptionError ? error.message : `cannot assume ${target.roleArn}: ${errorMessage(error)}`;
    observed = roleUnassumable(ctx, target.roleArn, message);
  }
  const plan = planAccount(observed, ctx);
  const execute = new Set(plan.execute);
  const created: Created = {};
  const results =
    customer === undefined || execute.size === 0
      ? await applyPlan(plan.actions, nothingRuns, () => false)
      : await applyPlan(plan.actions, executorFor(customer, record, deps, ctx, budget, created), (action) =>
          execute.has(action.id),
        );
  const report = accountReport(record.accountId, plan, results);
  const verifiedUntil = digestCursor(observed);
  const organizationTrailSeenAt = organizationTrailSeen(record, observed, now);
  await record_(deps, record, report, mode, now, plan, results, {
    ...created,
    ...(verifiedUntil !== undefined ? { digestsVerifiedUntil: verifiedUntil } : {}),
    ...(organizationTrailSeenAt !== undefined ? { organizationTrailSeenAt } : {}),
  });
  return report;
}

const nothingRuns: ActionExecutor = {
  execute: () => Promise.reject(new Error('no action runs in this run')),
};

/** What apply created that the plan could not know: the UUID of a new mapping, where a backfill stands. */
interface Created {
  eventSourceMappingUuid?: string;
  backfill?: BackfillProgress;
  /** Not from apply: where digest verification stands (observe-digests.ts), recorded with the run. */
  digestsVerifiedUntil?: string;
  /** Not from apply: an organization trail first seen now (ISO), or `null` when none is seen any more. */
  organizationTrailSeenAt?: string | null;
}

/**
 * When the registry's organizationTrailSeenAt changes: set to now the first time an organization trail of another
 * account is seen logging the account's management events, removed (`null`) once none is (then a later one is
 * timed afresh); undefined when it stays as it is (or the trails could not be read).
 */
function organizationTrailSeen(record: AccountRecord, observed: ObservedState, now: Date): string | null | undefined {
  if (!observed.trails.known) return undefined;
  const seen = coveringOrganizationTrail(observed.trails.value, record.accountId) !== undefined;
  if (seen && record.organizationTrailSeenAt === undefined) return now.toISOString();
  if (!seen && record.organizationTrailSeenAt !== undefined) return null;
  return undefined;
}

/** Where digest verification stands after this run (observe-digests.ts), when it verified a window. */
function digestCursor(observed: ObservedState): string | undefined {
  return observed.digests?.known ? observed.digests.value.verifiedUntil : undefined;
}

/** The ledger a backfill compares with, when backfill is configured (settings, and a ledger that lists days). */
function backfillLedger(deps: ReconcileDeps): BackfillLedger | undefined {
  const ledger = deps.ledger;
  if (deps.config.backfill === undefined || ledger?.collectedOn === undefined) return undefined;
  return { collectedOn: ledger.collectedOn.bind(ledger) };
}

/** The backfill rule's context: the settings and the registry's backfill records; undefined when not configured. */
function backfillContext(record: AccountRecord, deps: ReconcileDeps): BackfillContext | undefined {
  const settings = deps.config.backfill;
  if (settings === undefined || backfillLedger(deps) === undefined) return undefined;
  return {
    maxDays: settings.maxDays,
    maxFilesPerRun: settings.maxFilesPerRun,
    marginMinutes: settings.marginMinutes,
    ...(settings.queueUrl !== undefined ? { queueUrl: settings.queueUrl } : {}),
    ...(record.backfill !== undefined ? { cursor: record.backfill } : {}),
    ...(record.lastBackfill !== undefined ? { last: record.lastBackfill } : {}),
    ...(record.organizationId !== undefined ? { organizationId: record.organizationId } : {}),
  };
}

function executorFor(
  customer: CustomerClients,
  record: AccountRecord,
  deps: ReconcileDeps,
  ctx: PlanContext,
  budget: MappingBudget | undefined,
  created: Created,
): ActionExecutor {
  const inner =
    deps.executorFor?.(record.accountId) ??
    createActionExecutor(customer, deps.clients.collector, {
      accountId: record.accountId,
      queueVisibilityTimeoutSeconds: deps.config.queueVisibilityTimeoutSeconds,
      ...(deps.config.ingestRoleArn !== undefined ? { ingestRoleArn: deps.config.ingestRoleArn } : {}),
      onMappingCreated: (uuid) => {
        created.eventSourceMappingUuid = uuid;
      },
      ...backfillExecution(deps, created),
    });
  return guardMappingBudget(
    guardHubBinding(guardGeneratedName(inner, record, deps), record, deps, ctx),
    record,
    budget,
  );
}

/** BACKFILL's dependencies for the executor: where it compares, sends (hub: the backfill queue) and reports. */
function backfillExecution(deps: ReconcileDeps, created: Created) {
  const ledger = backfillLedger(deps);
  if (ledger === undefined) return {};
  const collector = deps.clients.collector;
  return {
    backfill: {
      ledger,
      ...(collector.sqs !== undefined ? { collectorSqs: collector.sqs(deps.config.region) } : {}),
      now: () => (deps.now ?? (() => new Date()))(),
      onProgress: (progress: BackfillProgress) => {
        created.backfill = progress;
      },
    },
  };
}

export interface ReconcileAllOptions {
  mode: RunMode;
  /** Only this account (it must be registered). */
  accountId?: string;
  concurrency?: number;
  /** Called before the first account (done 0) and after each one: the CLI's progress line (bin/commands/progress.ts). */
  onProgress?: (progress: { done: number; total: number; failed: number }) => void;
}

/** Every registered account (or one), at most `concurrency` at once; one account's failure never stops the others. */
export async function reconcileAll(
  registry: Pick<AccountsRegistry, 'list' | 'update'>,
  deps: Omit<ReconcileDeps, 'registry'>,
  options: ReconcileAllOptions,
): Promise<ReconcileReport> {
  const runAt = (deps.now ?? (() => new Date()))().toISOString();
  const records = await registry.list();
  const organizations = await registeredOrganizations(deps);
  const selected = options.accountId === undefined ? records : records.filter((r) => r.accountId === options.accountId);
  if (options.accountId !== undefined && selected.length === 0) throw new AccountNotRegisteredError(options.accountId);

  // Every registered account's mapping counts, also those of accounts this run does not reconcile.
  const budget = MappingBudget.of(records, deps.config);
  const progress = { done: 0, total: selected.length, failed: 0 };
  options.onProgress?.({ ...progress });
  const settled = await mapSettled(selected, options.concurrency ?? 10, async (record) => {
    let failed = true;
    try {
      const report = await reconcileAccount(record, { ...deps, registry }, options.mode, {
        logArchives: logArchivesFor(record.accountId, records),
        organizations,
        ...(budget !== undefined ? { budget } : {}),
      });
      failed = report.status === 'error';
      return report;
    } finally {
      progress.done += 1;
      if (failed) progress.failed += 1;
      options.onProgress?.({ ...progress });
    }
  });
  const accounts = settled.map((result, index): AccountReport => {
    if (result.status === 'fulfilled') return result.value;
    const accountId = selected[index]!.accountId;
    deps.logger.error('reconcile failed for account', { accountId, error: errorMessage(result.reason) });
    return failedAccountReport(accountId, result.reason);
  });
  const counts: Record<string, number> = {};
  for (const account of accounts) counts[account.status] = (counts[account.status] ?? 0) + 1;
  deps.logger.info('reconcile run finished', { mode: options.mode, runAt, accounts: accounts.length, ...counts });
  return { mode: options.mode, runAt, accounts };
}

/** The report of an account whose run failed outside its own problems (the run threw): status error. */
export function failedAccountReport(accountId: string, error: unknown): AccountReport {
  return {
    accountId,
    status: 'error',
    findings: [finding('OBSERVE_INCOMPLETE', 'high', accountId, `the reconcile run failed: ${errorMessage(error)}`)],
    actions: [],
  };
}

/**
 * Registered accounts that hold this account's logs: those listing it (or an organization: membership cannot
 * be checked without Organizations access, and a trail only counts as collected by the archive when it
 * delivers into that archive's recorded bucket).
 */
export function logArchivesFor(accountId: string, records: AccountRecord[]): LogArchiveRef[] {
  return records
    .filter(
      (r) => r.accountId !== accountId && (r.logArchiveFor ?? []).some((m) => m === accountId || m.startsWith('o-')),
    )
    .map((r) => ({
      accountId: r.accountId,
      // logArchiveBucket: the central bucket `organizations add|sync` and `accounts add --log-archive-bucket` record.
      bucketNames: [...new Set([r.logArchiveBucket, r.bucketName, r.generatedBucketName])].filter(
        (name): name is string => name !== undefined,
      ),
    }));
}

function planContext(
  record: AccountRecord,
  deps: ReconcileDeps,
  now: Date,
  runMode: RunMode,
  logArchives: LogArchiveRef[],
  budget: MappingBudget | undefined,
): PlanContext {
  const suffix = (deps.randomSuffix ?? (() => randomBytes(4).toString('hex')))();
  const recorded = {
    ...pick(record, CHAIN_FIELDS),
    ...(record.recreations !== undefined ? { recreations: record.recreations } : {}),
    ...(record.ingestTopology !== undefined ? { ingestTopology: record.ingestTopology } : {}),
    ...(record.ingestShard !== undefined ? { ingestShard: record.ingestShard } : {}),
    ...(record.previousTopicArn !== undefined ? { previousTopicArn: record.previousTopicArn } : {}),
    ...(record.topicChangedAt !== undefined ? { topicChangedAt: record.topicChangedAt } : {}),
  };
  const config = deps.config;
  const hub = config.ingestTopology === 'hub' ? hubTarget(record, config) : undefined;
  return {
    accountId: record.accountId,
    region: deps.config.region,
    now,
    recorded,
    freshBucketName: generatedBucketName(record.accountId, suffix),
    ...(deps.config.ingestFunctionArn !== undefined ? { ingestFunctionArn: deps.config.ingestFunctionArn } : {}),
    ...(deps.config.ingestRoleArn !== undefined ? { ingestRoleArn: deps.config.ingestRoleArn } : {}),
    logArchives,
    costs: deps.config.costs,
    queueVisibilityTimeoutSeconds: deps.config.queueVisibilityTimeoutSeconds,
    runMode,
    accountMode: record.mode,
    registeredAt: record.registeredAt,
    ...(record.lastRecordAt !== undefined ? { lastRecordAt: record.lastRecordAt } : {}),
    ...(record.lastReadError !== undefined ? { lastReadError: record.lastReadError } : {}),
    ...(deps.config.staleAfterMinutes !== undefined ? { staleAfterMinutes: deps.config.staleAfterMinutes } : {}),
    ...(deps.config.lagAfterMinutes !== undefined ? { lagAfterMinutes: deps.config.lagAfterMinutes } : {}),
    ...(config.ingestTopology !== undefined ? { ingestTopology: config.ingestTopology } : {}),
    ...(hub !== undefined ? { hub } : {}),
    ...(config.hubQueueArns !== undefined && config.hubQueueArns.length > 0
      ? { hubQueueArns: config.hubQueueArns }
      : {}),
    ...(config.esmMaximumConcurrency !== undefined ? { esmMaximumConcurrency: config.esmMaximumConcurrency } : {}),
    ...(budget !== undefined ? { ingestCapacity: budget.capacityFor(record) } : {}),
    ...(record.organizationTrailSeenAt !== undefined
      ? { organizationTrailSeenAt: record.organizationTrailSeenAt }
      : {}),
  };
}

/**
 * The account's hub queue: its recorded shard (stored when it was subscribed, so a changed shard count moves no
 * account), or `shardOf(account, K)` when none is recorded or the recorded one no longer exists.
 */
export function hubTarget(
  record: Pick<AccountRecord, 'accountId' | 'ingestShard'>,
  config: Pick<ReconcileSettings, 'hubQueueArns' | 'reconcileRoleArn'>,
): HubTarget {
  const queues = config.hubQueueArns ?? [];
  if (queues.length === 0 || config.reconcileRoleArn === undefined) {
    throw new ConfigError('the hub topology needs HUB_QUEUE_ARNS and RECONCILE_ROLE_ARN');
  }
  const recorded = record.ingestShard;
  const shard =
    recorded !== undefined && Number.isInteger(recorded) && recorded >= 0 && recorded < queues.length
      ? recorded
      : shardOf(record.accountId, queues.length);
  return { queueArn: queues[shard]!, shard, subscriberArn: config.reconcileRoleArn };
}

function pick<T extends object, K extends keyof T>(source: T, names: readonly K[]): Partial<Pick<T, K>> {
  const out: Partial<Pick<T, K>> = {};
  for (const name of names) if (source[name] !== undefined) out[name] = source[name];
  return out;
}

/**
 * A generated bucket name is written to the registry BEFORE the bucket is created: if the run dies right after
 * CreateBucket, the next run reuses that name instead of inventing a second bucket.
 */
function guardGeneratedName(inner: ActionExecutor, record: AccountRecord, deps: ReconcileDeps): ActionExecutor {
  return {
    async execute(action) {
      if (
        action.code === 'CREATE_BUCKET' &&
        action.params.bucketName !== defaultBucketName(record.accountId) &&
        action.params.bucketName !== record.generatedBucketName
      ) {
        if (deps.registry === undefined) throw new Error('a generated bucket name needs the registry to be kept');
        await deps.registry.update(record.accountId, { generatedBucketName: action.params.bucketName });
      }
      await inner.execute(action);
    },
  };
}

/**
 * Ingest binds a hub message to its account by the envelope's TopicArn (its account's registry item must name that
 * topic): the registry records the topic, the hub topology and the shard BEFORE the hub subscription is made, or
 * the first notifications would be rejected as poison.
 */
function guardHubBinding(
  inner: ActionExecutor,
  record: AccountRecord,
  deps: ReconcileDeps,
  ctx: PlanContext,
): ActionExecutor {
  return {
    async execute(action) {
      if (action.code === 'SUBSCRIBE' && action.params.hubShard !== undefined) {
        if (deps.registry === undefined) throw new Error('a hub subscription needs the registry to bind its topic');
        if (ctx.hub === undefined) throw new Error('a hub subscription planned outside the hub topology');
        await deps.registry.update(record.accountId, {
          topicArn: action.params.topicArn,
          ingestTopology: 'hub',
          ingestShard: action.params.hubShard,
        });
      }
      await inner.execute(action);
    },
  };
}

/** A new mapping takes a slot of the run's budget first (capacity.ts); a deleted one frees its slot. */
function guardMappingBudget(
  inner: ActionExecutor,
  record: AccountRecord,
  budget: MappingBudget | undefined,
): ActionExecutor {
  if (budget === undefined) return inner;
  return {
    async execute(action) {
      if (action.code === 'CREATE_ESM') budget.claim(record);
      await inner.execute(action);
      if (action.code === 'DELETE_ESM' && action.params.uuid === record.eventSourceMappingUuid) budget.release(record);
    },
  };
}

/**
 * Records status, findings, actions and timestamps, logs the structured report, and (apply runs) the chain as
 * it now stands: a part of the chain is recorded only when every action on it applied, so a repair that did
 * not finish is found again next run. Recording failures are logged, never thrown: the report stands.
 */
async function record_(
  deps: ReconcileDeps,
  record: AccountRecord,
  report: AccountReport,
  mode: RunMode,
  now: Date,
  plan: Plan,
  results: ActionResults,
  created: Created = {},
): Promise<void> {
  const fields: Partial<AccountRecord> = {
    status: report.status,
    lastRunAt: now.toISOString(),
    lastRunMode: mode,
    findings: report.findings,
    actions: report.actions,
  };
  if (plan.recordsChain) {
    const applied = (action: PlannedAction): boolean => results.get(action.id)?.status === 'applied';
    for (const [part, names] of Object.entries(PART_FIELDS) as [ChainPart, readonly (keyof ChainFields)[]][]) {
      if (!plan.actions.filter((a) => a.part === part).every(applied)) continue;
      for (const name of names) {
        const value = plan.target[name];
        if (value !== undefined) fields[name] = value;
      }
    }
    // A mapping created now is recorded at once: the next run's mapping budget counts it (capacity.ts).
    if (created.eventSourceMappingUuid !== undefined && plan.actions.filter((a) => a.part === 'esm').every(applied)) {
      fields.eventSourceMappingUuid = created.eventSourceMappingUuid;
    }
    const recreations = countRecreations(record.recreations ?? {}, plan.actions, applied, now);
    if (recreations !== undefined) fields.recreations = recreations;
  }
  // The topic it replaces stays the account's for the hub messages already delivered from it (tenant.ts).
  if (fields.topicArn !== undefined && record.topicArn !== undefined && fields.topicArn !== record.topicArn) {
    fields.previousTopicArn = record.topicArn;
    fields.topicChangedAt = now.toISOString();
  }
  const topology = plan.recordsChain ? plan.topology : undefined;
  const remove: Exclude<keyof AccountRecord, 'accountId'>[] = [];
  // Retired and past its retry window (rules/previous-topic.ts), unless this run recorded a newer change.
  if (plan.recordsChain && plan.forgetPreviousTopic === true && fields.previousTopicArn === undefined) {
    remove.push('previousTopicArn', 'topicChangedAt');
  }
  const seenAt = created.organizationTrailSeenAt;
  if (typeof seenAt === 'string') fields.organizationTrailSeenAt = seenAt;
  if (seenAt === null) remove.push('organizationTrailSeenAt');
  // A retired outcomes-trail is no longer the account's trail: the next run does not report it deleted.
  const retired = plan.actions.some(
    (action) =>
      action.code === 'RETIRE_TRAIL' &&
      action.resource === record.trailArn &&
      results.get(action.id)?.status === 'applied',
  );
  if (retired) {
    delete fields.trailArn;
    remove.push('trailArn');
  }
  // Where a backfill stands, also after a failure part-way (the next run resumes after the last batch sent).
  if (created.backfill?.state === 'running') fields.backfill = created.backfill.cursor;
  if (created.digestsVerifiedUntil !== undefined) fields.digestsVerifiedUntil = created.digestsVerifiedUntil;
  if (created.backfill?.state === 'done') {
    fields.lastBackfill = created.backfill.done;
    remove.push('backfill');
  }
  if (topology !== undefined && topology.after.every((id) => results.get(id)?.status === 'applied')) {
    fields.ingestTopology = topology.ingestTopology;
    if (topology.ingestShard !== undefined) fields.ingestShard = topology.ingestShard;
    for (const name of topology.remove) {
      remove.push(name);
      delete fields[name];
    }
  }
  deps.logger.info('reconcile account', { mode, ...report });
  if (deps.registry === undefined) return;
  try {
    await deps.registry.update(record.accountId, fields, remove);
  } catch (error) {
    deps.logger.error('could not record the reconcile run', {
      accountId: record.accountId,
      error: errorMessage(error),
    });
  }
}

/** Appends `now` for each applied re-creation and drops entries older than the REPAIR_LOOP window. */
function countRecreations(
  previous: Record<string, string[]>,
  plan: PlannedAction[],
  applied: (action: PlannedAction) => boolean,
  now: Date,
): Record<string, string[]> | undefined {
  const since = now.getTime() - REPAIR_LOOP_WINDOW_MS;
  const next: Record<string, string[]> = {};
  for (const [key, times] of Object.entries(previous)) {
    const recent = times.filter((time) => Date.parse(time) > since);
    if (recent.length > 0) next[key] = recent;
  }
  for (const action of plan) {
    if (action.recreationKey === undefined || !applied(action)) continue;
    next[action.recreationKey] = [...(next[action.recreationKey] ?? []), now.toISOString()];
  }
  return JSON.stringify(next) === JSON.stringify(previous) ? undefined : next;
}

/** The registered organizations, once per run; a failure only leaves the log archives without them (logged). */
export async function registeredOrganizations(deps: Omit<ReconcileDeps, 'registry'>): Promise<OrganizationRecord[]> {
  if (deps.organizations === undefined) return [];
  try {
    return await deps.organizations.list();
  } catch (error) {
    deps.logger.warn('cannot read the registered organizations', { error: errorMessage(error) });
    return [];
  }
}

/**
 * A log archive's context (rules/archive-notifications.ts): its bucket (logArchiveBucket, else the bucket of an
 * organization it archives for) and the trail of a registered organization delivering into that bucket.
 * Undefined for an account that is no log archive, or one whose bucket is not known.
 */
export function logArchiveContext(
  record: Pick<AccountRecord, 'accountId' | 'logArchiveFor' | 'logArchiveBucket'>,
  organizations: readonly OrganizationRecord[],
): LogArchiveContext | undefined {
  const organizationIds = (record.logArchiveFor ?? []).filter((member) => member.startsWith('o-'));
  if (record.logArchiveBucket === undefined && organizationIds.length === 0) return undefined;
  const mine = organizations.filter(
    (organization) =>
      organizationIds.includes(organization.organizationId) || organization.logArchiveAccountId === record.accountId,
  );
  const bucketName = record.logArchiveBucket ?? mine[0]?.trail.bucketName;
  if (bucketName === undefined) return undefined;
  const trail = mine.find((organization) => organization.trail.bucketName === bucketName)?.trail;
  return {
    bucketName,
    organizationIds,
    ...(trail !== undefined
      ? {
          trail: {
            trailArn: trail.trailArn,
            homeRegion: trail.homeRegion,
            ...(trail.s3KeyPrefix !== undefined ? { s3KeyPrefix: trail.s3KeyPrefix } : {}),
            ...(trail.snsTopicArn !== undefined ? { snsTopicArn: trail.snsTopicArn } : {}),
            source: 'organization' as const,
          },
        }
      : {}),
  };
}
