/** The reconcile function's settings, read once at start-up; a bad value fails naming its variable. */
import {
  getIntFromEnv,
  getOptionalStringFromEnv,
  getUrlFromEnv,
  loadCommonConfig,
  type CommonConfig,
} from '../shared/config';
import { ConfigError } from '../shared/errors';
import { ledgerTableName } from '../shared/ledger';
import { loadHubQueueArns, loadIngestTopology, type IngestTopology } from '../shared/topology';
import { DEFAULT_COST_ASSUMPTIONS } from './costs';
import { LAG_AFTER_MINUTES_DEFAULT } from './rules/freshness';
import type { BackfillSettings } from './reconcile';
import type { CostAssumptions } from './types';

type Env = Record<string, string | undefined>;

export interface ReconcileConfig extends CommonConfig {
  /** When set, every account's queue gets an enabled event source mapping to this function. */
  ingestFunctionArn?: string;
  /** The ingest function's role: the queue policy lets it receive (cross-account event source mappings). */
  ingestRoleArn?: string;
  /** Accounts reconciled at once. */
  concurrency: number;
  costs: CostAssumptions;
  /** COLLECTION_STALE after this many minutes without a record from an account (unset: not checked). */
  staleAfterMinutes?: number;
  /** LAG_AFTER_MINUTES: COLLECTION_LAGGING when a Region's collection is this far behind CloudTrail (default 30). */
  lagAfterMinutes: number;
  /** LEDGER_TABLE, else `<ACCOUNTS_TABLE>-ledger`: the ledger whose newest files freshness compares with CloudTrail. */
  ledgerTable: string;
  /** 6 x the ingest function's timeout (so a message is not redelivered while a slow batch still runs). */
  queueVisibilityTimeoutSeconds: number;
  /** INGEST_TOPOLOGY (unset: `customer-queue`). */
  ingestTopology: IngestTopology;
  /** HUB_QUEUE_ARNS, index = shard (required in `hub`; in `customer-queue`, recognises hub subscriptions to retire). */
  hubQueueArns: string[];
  /** RECONCILE_ROLE_ARN: the principal customer topic policies let call sns:Subscribe (required in `hub`). */
  reconcileRoleArn?: string;
  /** ESM_MAXIMUM_CONCURRENCY: MaximumConcurrency of every customer-queue mapping (Lambda allows 2-1000). */
  esmMaximumConcurrency: number;
  /** INGEST_RESERVED_CONCURRENCY: when set, a new mapping is created only while the mappings' sum fits in it. */
  ingestReservedConcurrency?: number;
  /** BACKFILL_*: gap backfill (rules/backfill.ts); absent when BACKFILL_MAX_FILES_PER_RUN is 0 (off). */
  backfill?: BackfillSettings;
  /** RECONCILE_PERIOD_SECONDS and RECONCILE_HEALTHY_EVERY: how often the sweep sends an account a job (sweep.ts). */
  cadence: Cadence;
  /** RECONCILE_JOB_QUEUE_URL: where the sweep (and the tamper triggers) send reconcile jobs. */
  jobQueueUrl?: string;
}

/**
 * The sweep's cadence (sweep.ts): it runs every `periodSeconds` (the schedule's period); an account that is not
 * healthy is due every period, a healthy one every `healthyEvery` periods.
 */
export interface Cadence {
  periodSeconds: number;
  healthyEvery: number;
}

/** 15 minutes (the default schedule) and every 4th sweep (hourly) for healthy accounts. */
export const CADENCE_DEFAULTS: Cadence = { periodSeconds: 900, healthyEvery: 4 };

/** BACKFILL_MAX_DAYS, BACKFILL_MAX_FILES_PER_RUN, BACKFILL_MARGIN_MINUTES: defaults and ranges. */
export const BACKFILL_DEFAULTS = { maxDays: 7, maxFilesPerRun: 2_000, marginMinutes: 60 } as const;

/** Gap backfill's settings: BACKFILL_MAX_FILES_PER_RUN=0 turns it off; BACKFILL_QUEUE_URL is the hub's queue. */
export function loadBackfillSettings(env: Env = process.env): BackfillSettings | undefined {
  const maxFilesPerRun = getIntFromEnv(
    'BACKFILL_MAX_FILES_PER_RUN',
    BACKFILL_DEFAULTS.maxFilesPerRun,
    { min: 0, max: 1_000_000 },
    env,
  );
  const queueUrl = getUrlFromEnv('BACKFILL_QUEUE_URL', ['https:', 'http:'], env)?.toString();
  if (maxFilesPerRun === 0) return undefined;
  return {
    // CloudTrail's Event history keeps 90 days; the ledger keeps LEDGER_TTL_DAYS (90 by default).
    maxDays: getIntFromEnv('BACKFILL_MAX_DAYS', BACKFILL_DEFAULTS.maxDays, { min: 1, max: 90 }, env),
    maxFilesPerRun,
    marginMinutes: getIntFromEnv(
      'BACKFILL_MARGIN_MINUTES',
      BACKFILL_DEFAULTS.marginMinutes,
      { min: 0, max: 1_440 },
      env,
    ),
    ...(queueUrl !== undefined ? { queueUrl } : {}),
  };
}

/**
 * Lambda's range for ScalingConfig.MaximumConcurrency (Lambda API Reference, "ScalingConfig": minimum 2,
 * maximum 1000); 2 by default, the least that still lets a mapping work while another batch retries.
 */
export const ESM_MAXIMUM_CONCURRENCY_RANGE = { min: 2, max: 1000, default: 2 } as const;

const LAMBDA_ARN = /^arn:aws[\w-]*:lambda:[a-z0-9-]+:\d{12}:function:[\w-]+(:[\w$-]+)?$/;
const ROLE_ARN = /^arn:aws[\w-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/;

export function loadReconcileConfig(env: Env = process.env): ReconcileConfig {
  const ingestFunctionArn = getOptionalStringFromEnv('INGEST_FUNCTION_ARN', env);
  if (ingestFunctionArn !== undefined && !LAMBDA_ARN.test(ingestFunctionArn)) {
    throw new ConfigError(`INGEST_FUNCTION_ARN must be a Lambda function ARN, got "${ingestFunctionArn}"`);
  }
  const ingestRoleArn = getOptionalStringFromEnv('INGEST_ROLE_ARN', env);
  if (ingestRoleArn !== undefined && !ROLE_ARN.test(ingestRoleArn)) {
    throw new ConfigError(`INGEST_ROLE_ARN must be an IAM role ARN, got "${ingestRoleArn}"`);
  }
  const managementEvents = getIntFromEnv('RECONCILE_MONTHLY_MANAGEMENT_EVENTS', -1, { min: 0, max: 1e12 }, env);
  const dataEvents = getIntFromEnv('RECONCILE_MONTHLY_DATA_EVENTS', -1, { min: 0, max: 1e13 }, env);
  const configured = managementEvents >= 0 || dataEvents >= 0;
  const staleAfterMinutes = getIntFromEnv('STALE_AFTER_MINUTES', 0, { min: 0, max: 525_600 }, env);
  const ingestTopology = loadIngestTopology(env);
  const reconcileRoleArn = getOptionalStringFromEnv('RECONCILE_ROLE_ARN', env);
  if (reconcileRoleArn !== undefined && !ROLE_ARN.test(reconcileRoleArn)) {
    throw new ConfigError(`RECONCILE_ROLE_ARN must be an IAM role ARN, got "${reconcileRoleArn}"`);
  }
  if (ingestTopology === 'hub' && reconcileRoleArn === undefined) {
    throw new ConfigError(
      'RECONCILE_ROLE_ARN is required when INGEST_TOPOLOGY is "hub": customer topic policies let this role subscribe the hub queues',
    );
  }
  const { min, max, default: perMapping } = ESM_MAXIMUM_CONCURRENCY_RANGE;
  // Reserved concurrency 0 would throttle every invocation: an error, not "unset".
  const reserved =
    getOptionalStringFromEnv('INGEST_RESERVED_CONCURRENCY', env) === undefined
      ? undefined
      : getIntFromEnv('INGEST_RESERVED_CONCURRENCY', 0, { min: 1, max: 1_000_000 }, env);
  const common = loadCommonConfig(env);
  const backfill = loadBackfillSettings(env);
  const jobQueueUrl = getUrlFromEnv('RECONCILE_JOB_QUEUE_URL', ['https:', 'http:'], env)?.toString();
  return {
    ...common,
    ...(ingestFunctionArn !== undefined ? { ingestFunctionArn } : {}),
    ...(ingestRoleArn !== undefined ? { ingestRoleArn } : {}),
    concurrency: getIntFromEnv('RECONCILE_CONCURRENCY', 10, { min: 1, max: 500 }, env),
    costs: {
      ...DEFAULT_COST_ASSUMPTIONS,
      ...(managementEvents >= 0 ? { monthlyManagementEvents: managementEvents } : {}),
      ...(dataEvents >= 0 ? { monthlyDataEvents: dataEvents } : {}),
      ...(configured ? { source: 'operator estimate from RECONCILE_MONTHLY_* settings' } : {}),
    },
    ...(staleAfterMinutes > 0 ? { staleAfterMinutes } : {}),
    lagAfterMinutes: getIntFromEnv('LAG_AFTER_MINUTES', LAG_AFTER_MINUTES_DEFAULT, { min: 1, max: 525_600 }, env),
    ledgerTable: ledgerTableName(common.accountsTable, getOptionalStringFromEnv('LEDGER_TABLE', env)),
    queueVisibilityTimeoutSeconds: 6 * getIntFromEnv('INGEST_TIMEOUT_SECONDS', 60, { min: 1, max: 900 }, env),
    ingestTopology,
    hubQueueArns: loadHubQueueArns(env, ingestTopology),
    ...(reconcileRoleArn !== undefined ? { reconcileRoleArn } : {}),
    esmMaximumConcurrency: getIntFromEnv('ESM_MAXIMUM_CONCURRENCY', perMapping, { min, max }, env),
    ...(reserved !== undefined ? { ingestReservedConcurrency: reserved } : {}),
    ...(backfill !== undefined ? { backfill } : {}),
    cadence: {
      periodSeconds: getIntFromEnv(
        'RECONCILE_PERIOD_SECONDS',
        CADENCE_DEFAULTS.periodSeconds,
        { min: 60, max: 86_400 },
        env,
      ),
      healthyEvery: getIntFromEnv('RECONCILE_HEALTHY_EVERY', CADENCE_DEFAULTS.healthyEvery, { min: 1, max: 96 }, env),
    },
    ...(jobQueueUrl !== undefined ? { jobQueueUrl } : {}),
  };
}
