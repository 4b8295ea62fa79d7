/**
 * The reconcile run: for each registered account, with bounded concurrency, observe -> plan -> apply -> record.
 * Thin orchestration: every decision is in plan.ts (pure), every AWS call in observe.ts / apply.ts.
 */
import { randomBytes } from 'node:crypto';
import { mapSettled } from '../shared/concurrency';
import { RoleAssumptionError, type RoleTarget } from '../shared/credentials';
import { errorMessage } from '../shared/errors';
import type { LoggerLike } from '../shared/logger';
import { AccountNotRegisteredError, type AccountRecord, type AccountsRegistry } from '../shared/registry';
import { applyPlan, createActionExecutor, type ActionExecutor } from './apply';
import type { ReconcileClients } from './clients';
import { roleArn, partitionOf } from '../shared/arn';
import { CHAIN_NAMES, defaultBucketName, generatedBucketName } from './names';
import { observeAccount } from './observe';
import { PART_FIELDS, REPAIR_LOOP_WINDOW_MS, planAccount } from './plan';
import { finding, stalenessRule } from './rules';
import type {
  AccountHealth,
  AccountReport,
  Action,
  ChainPart,
  ChainTarget,
  CostAssumptions,
  Finding,
  LogArchiveRef,
  ObservedState,
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
}

export interface AccountRunOptions {
  /** Registered accounts that are log archives for this one. */
  logArchives?: LogArchiveRef[];
}

/** observe -> plan -> apply -> record for one account. Never throws for an account's own problems. */
export async function reconcileAccount(
  record: AccountRecord,
  deps: ReconcileDeps,
  mode: RunMode,
  options: AccountRunOptions = {},
): Promise<AccountReport> {
  const now = (deps.now ?? (() => new Date()))();
  const ctx = planContext(record, deps, now, options.logArchives ?? []);
  const target: RoleTarget = {
    accountId: record.accountId,
    roleArn: roleArn(
      partitionOf(deps.config.region),
      record.accountId,
      record.roleName ?? deps.config.customerRoleName,
    ),
    externalId: record.externalId,
  };

  let customer;
  try {
    customer = await deps.clients.customer(target);
  } catch (error) {
    const report: AccountReport = {
      accountId: record.accountId,
      status: 'error',
      findings: [
        finding(
          'ROLE_UNASSUMABLE',
          'high',
          target.roleArn,
          `${error instanceof RoleAssumptionError ? error.message : `cannot assume ${target.roleArn}: ${errorMessage(error)}`}; ` +
            'check that the customer role stack is deployed with this ExternalId',
        ),
      ],
      actions: [],
    };
    await record_(deps, record, report, mode, now, undefined);
    return report;
  }

  const observed = await observeAccount(customer, ctx, deps.clients.collector);
  const plan = planAccount(observed, ctx);
  const execute = (action: PlannedAction): boolean =>
    // REUSE_TRAIL changes nothing in the account (it only records the trail), so report-mode accounts get it too.
    mode === 'apply' && (record.mode === 'apply' || action.code === 'REUSE_TRAIL');
  const executor = guardGeneratedName(
    deps.executorFor?.(record.accountId) ??
      createActionExecutor(customer, deps.clients.collector, {
        accountId: record.accountId,
        queueVisibilityTimeoutSeconds: deps.config.queueVisibilityTimeoutSeconds,
        ...(deps.config.ingestRoleArn !== undefined ? { ingestRoleArn: deps.config.ingestRoleArn } : {}),
      }),
    record,
    deps,
  );
  const actions = await applyPlan(plan.actions, executor, execute);
  const stale = stalenessRule(record, now, deps.config.staleAfterMinutes);
  const findings = stale ? [...plan.findings, stale] : plan.findings;
  const deadLetters = observed.queues[CHAIN_NAMES.dlq];
  const report: AccountReport = {
    accountId: record.accountId,
    status: accountStatus(findings, actions, observedWhollyFailed(observed)),
    findings,
    actions,
    ...(deadLetters?.known && deadLetters.value?.messages !== undefined
      ? { deadLetterMessages: deadLetters.value.messages }
      : {}),
  };
  await record_(
    deps,
    record,
    report,
    mode,
    now,
    mode === 'apply' ? { plan: plan.actions, target: plan.target } : undefined,
  );
  return report;
}

/**
 * healthy: no finding of severity low or above and no action; repaired: actions, all applied, and every such
 * finding answered by an applied action; error: the role could not be assumed or nothing could be observed;
 * degraded: anything else (findings left unrepaired, or actions only planned).
 */
export function accountStatus(findings: Finding[], actions: Action[], observeFailedWholly = false): AccountHealth {
  if (observeFailedWholly || findings.some((f) => f.code === 'ROLE_UNASSUMABLE')) return 'error';
  const significant = findings.filter((f) => f.severity !== 'info');
  if (actions.length === 0 && significant.length === 0) return 'healthy';
  const unrepaired = significant.filter((f) => !actions.some((a) => a.reason === f.code && a.status === 'applied'));
  if (actions.length > 0 && actions.every((a) => a.status === 'applied') && unrepaired.length === 0) return 'repaired';
  return 'degraded';
}

function observedWhollyFailed(observed: ObservedState): boolean {
  const parts = [
    observed.trails,
    ...Object.values(observed.queues),
    ...(observed.eventSourceMappings ? [observed.eventSourceMappings] : []),
  ];
  return parts.every((part) => !part.known);
}

export interface ReconcileAllOptions {
  mode: RunMode;
  /** Only this account (it must be registered). */
  accountId?: string;
  concurrency?: number;
}

/** Every registered account (or one), at most `concurrency` at once; one account's failure never stops the others. */
export async function reconcileAll(
  registry: Pick<AccountsRegistry, 'list' | 'update'>,
  deps: Omit<ReconcileDeps, 'registry'>,
  options: ReconcileAllOptions,
): Promise<ReconcileReport> {
  const runAt = (deps.now ?? (() => new Date()))().toISOString();
  const records = await registry.list();
  const selected = options.accountId === undefined ? records : records.filter((r) => r.accountId === options.accountId);
  if (options.accountId !== undefined && selected.length === 0) throw new AccountNotRegisteredError(options.accountId);

  const settled = await mapSettled(selected, options.concurrency ?? 10, (record) =>
    reconcileAccount(record, { ...deps, registry }, options.mode, {
      logArchives: logArchivesFor(record.accountId, records),
    }),
  );
  const accounts = settled.map((result, index): AccountReport => {
    if (result.status === 'fulfilled') return result.value;
    const accountId = selected[index]!.accountId;
    deps.logger.error('reconcile failed for account', { accountId, error: errorMessage(result.reason) });
    return {
      accountId,
      status: 'error',
      findings: [
        finding('OBSERVE_INCOMPLETE', 'high', accountId, `the reconcile run failed: ${errorMessage(result.reason)}`),
      ],
      actions: [],
    };
  });
  const counts: Record<string, number> = {};
  for (const account of accounts) counts[account.status] = (counts[account.status] ?? 0) + 1;
  deps.logger.info('reconcile run finished', { mode: options.mode, runAt, accounts: accounts.length, ...counts });
  return { mode: options.mode, runAt, accounts };
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
      bucketNames: [r.bucketName, r.generatedBucketName].filter((name): name is string => name !== undefined),
    }));
}

function planContext(record: AccountRecord, deps: ReconcileDeps, now: Date, logArchives: LogArchiveRef[]): PlanContext {
  const suffix = (deps.randomSuffix ?? (() => randomBytes(4).toString('hex')))();
  const recorded = {
    ...pick(record, [
      'trailArn',
      'bucketName',
      'topicArn',
      'queueArn',
      'generatedBucketName',
      'bucketPolicySha256',
      'eventSourceMappingUuid',
    ]),
    ...(record.recreations !== undefined ? { recreations: record.recreations } : {}),
  };
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
  };
}

function pick<T extends object, K extends keyof T>(source: T, names: K[]): Partial<Pick<T, K>> {
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
  applied: { plan: PlannedAction[]; target: ChainTarget } | undefined,
): Promise<void> {
  const fields: Partial<AccountRecord> = {
    status: report.status,
    lastRunAt: now.toISOString(),
    lastRunMode: mode,
    findings: report.findings,
    actions: report.actions,
  };
  if (applied !== undefined) {
    const statusById = new Map(applied.plan.map((action, index) => [action.id, report.actions[index]?.status]));
    for (const [part, names] of Object.entries(PART_FIELDS) as [ChainPart, (keyof ChainTarget)[]][]) {
      const done = applied.plan.filter((a) => a.part === part).every((a) => statusById.get(a.id) === 'applied');
      if (!done) continue;
      for (const name of names) {
        const value = applied.target[name];
        if (value !== undefined) fields[name] = value;
      }
    }
    const recreations = countRecreations(record.recreations ?? {}, applied.plan, statusById, now);
    if (recreations !== undefined) fields.recreations = recreations;
  }
  deps.logger.info('reconcile account', { mode, ...report });
  if (deps.registry === undefined) return;
  try {
    await deps.registry.update(record.accountId, fields);
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
  statusById: Map<string, string | undefined>,
  now: Date,
): Record<string, string[]> | undefined {
  const since = now.getTime() - REPAIR_LOOP_WINDOW_MS;
  const next: Record<string, string[]> = {};
  for (const [key, times] of Object.entries(previous)) {
    const recent = times.filter((time) => Date.parse(time) > since);
    if (recent.length > 0) next[key] = recent;
  }
  for (const action of plan) {
    if (action.recreationKey === undefined || statusById.get(action.id) !== 'applied') continue;
    next[action.recreationKey] = [...(next[action.recreationKey] ?? []), now.toISOString()];
  }
  return JSON.stringify(next) === JSON.stringify(previous) ? undefined : next;
}
