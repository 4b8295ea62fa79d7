import {
  getIntFromEnv,
  getOptionalStringFromEnv,
  getUrlFromEnv,
  loadCommonConfig,
  type CommonConfig,
} from '../shared/config';
import { isAccountId, tryParseArn } from '../shared/arn';
import { ConfigError } from '../shared/errors';
import { LEDGER_TTL_DAYS_DEFAULT, ledgerTableName } from '../shared/ledger';
import { HUB_BATCH_SIZE, loadHubQueueArns, loadIngestTopology, type IngestTopology } from '../shared/topology';
import { DEFAULT_BREAKER_SETTINGS, type BreakerSettings } from './source/circuit-breaker';
import { loadRecordFilter, type RecordFilter } from './records/filters';
import { loadSinkSettings, type SinkSettings } from './sinks/config';

const MiB = 1024 * 1024;

export interface IngestConfig extends CommonConfig, SinkSettings {
  /** The token itself (local runs) or where to fetch it (Lambda); never both. */
  downstreamToken?: string;
  downstreamTokenSecretArn?: string;
  downstreamTimeoutMs: number;
  maxDecompressedBytes: number;
  maxRecordBytes: number;
  maxBatchBytes: number;
  maxBatchRecords: number;
  maxInFlightBatches: number;
  messageConcurrency: number;
  /** Of those, at most this many objects larger than SMALL_OBJECT_MAX_BYTES at once (pipeline.ts). */
  largeObjectConcurrency: number;
  /** Bytes that objects read whole may reserve at once while they are forwarded (WHOLE_READ_BUDGET_MB, pipeline.ts). */
  wholeReadBudgetBytes: number;
  /** Stop starting downstream attempts this long before the Lambda's deadline, to report failures in time. */
  deadlineMarginMs: number;
  filter: RecordFilter;
  /** INGEST_TOPOLOGY; ingest serves both at once either way (a migration runs both paths), by eventSourceARN. */
  topology: IngestTopology;
  /** HUB_QUEUE_ARNS: messages from these are bound to the tenant of their SNS envelope's TopicArn. */
  hubQueueArns: string[];
  /** The downstream circuit breaker (source/circuit-breaker.ts, docs/reliability.md). */
  breaker: BreakerSettings;
  /** LEDGER_TABLE, else `<ACCOUNTS_TABLE>-ledger` (lambdas/shared/ledger.ts): where collected files are recorded. */
  ledgerTable: string;
  /** LEDGER_TTL_DAYS: how long a ledger item is kept. */
  ledgerTtlDays: number;
  /** BACKFILL_QUEUE_ARN: the collector's backfill queue, whose messages name their account (docs/completeness.md). */
  backfillQueueArn?: string;
  /**
   * RECONCILE_JOB_QUEUE_URL: where tamper triggers send reconcile jobs (source/tamper-triggers.ts). Absent: ingest
   * does not look for chain-changing calls.
   */
  reconcileJobQueueUrl?: string;
  /** TAMPER_TRIGGER_DELAY_SECONDS: each trigger's job waits this long (SQS DelaySeconds), the debounce window. */
  tamperTriggerDelaySeconds: number;
}

/** Messages of one batch processed at once unless MESSAGE_CONCURRENCY says: the hub mapping's batch. */
export const DEFAULT_MESSAGE_CONCURRENCY = HUB_BATCH_SIZE;

/** Reads the ingest settings once, failing fast with the name of any bad variable. */
export function loadIngestConfig(env: Record<string, string | undefined> = process.env): IngestConfig {
  // SINK_TYPE, DOWNSTREAM_URL (its scheme per type) and each sink's own variables (docs/sinks.md).
  const sink = loadSinkSettings(env);
  const downstreamToken = getOptionalStringFromEnv('DOWNSTREAM_TOKEN', env);
  // Checked here, not only in the sink, so that a bad value fails at start as a configuration error naming the
  // variable; the value itself is never shown: it is a secret.
  // Basic auth's `user:password` is sent base64-encoded: any character may be in it.
  const basicAuth = sink.elasticsearch?.auth === 'basic';
  if (downstreamToken !== undefined && !basicAuth && !/^[\x21-\x7e]+$/.test(downstreamToken)) {
    throw new ConfigError(
      'DOWNSTREAM_TOKEN contains characters not allowed in an HTTP header (spaces, control or non-ASCII characters); the value is not shown',
    );
  }
  const downstreamTokenSecretArn = getOptionalStringFromEnv('DOWNSTREAM_TOKEN_SECRET_ARN', env);
  if (downstreamToken && downstreamTokenSecretArn) {
    throw new ConfigError('set DOWNSTREAM_TOKEN or DOWNSTREAM_TOKEN_SECRET_ARN, not both');
  }
  if (downstreamTokenSecretArn && !downstreamTokenSecretArn.startsWith('arn:')) {
    throw new ConfigError(
      `DOWNSTREAM_TOKEN_SECRET_ARN must be a Secrets Manager ARN, got "${downstreamTokenSecretArn}"`,
    );
  }
  const maxRecordBytes = getIntFromEnv('MAX_RECORD_BYTES', 2 * MiB, { min: 1024, max: 64 * MiB }, env);
  const maxBatchBytes = getIntFromEnv('MAX_BATCH_BYTES', 4 * MiB, { min: 1024, max: 64 * MiB }, env);
  if (maxBatchBytes < maxRecordBytes) {
    throw new ConfigError(`MAX_BATCH_BYTES (${maxBatchBytes}) must be at least MAX_RECORD_BYTES (${maxRecordBytes})`);
  }
  const topology = loadIngestTopology(env);
  const common = loadCommonConfig(env);
  const hubQueueArns = loadHubQueueArns(env, topology);
  const messageConcurrency = getIntFromEnv(
    'MESSAGE_CONCURRENCY',
    DEFAULT_MESSAGE_CONCURRENCY,
    { min: 1, max: 64 },
    env,
  );
  return {
    ...common,
    ...sink,
    ...(downstreamToken ? { downstreamToken } : {}),
    ...(downstreamTokenSecretArn ? { downstreamTokenSecretArn } : {}),
    downstreamTimeoutMs: getIntFromEnv('DOWNSTREAM_TIMEOUT_MS', 30_000, { min: 100, max: 900_000 }, env),
    // CloudTrail files are rarely over a few hundred MB uncompressed; 4 GiB leaves room and still stops bombs.
    maxDecompressedBytes: getIntFromEnv('MAX_DECOMPRESSED_BYTES', 4096 * MiB, { min: 1024, max: 64 * 1024 * MiB }, env),
    maxRecordBytes,
    maxBatchBytes,
    maxBatchRecords: getIntFromEnv('MAX_BATCH_RECORDS', 5000, { min: 1, max: 1_000_000 }, env),
    maxInFlightBatches: getIntFromEnv('MAX_IN_FLIGHT_BATCHES', 4, { min: 1, max: 64 }, env),
    // 40 = the hub mapping's batch (lib/hub-queues.construct.ts): one wave per invocation; small files are bound
    // by S3's and the downstream's latency, not CPU (bench/README.md). Large objects take turns (4 at once).
    messageConcurrency,
    largeObjectConcurrency: Math.min(
      messageConcurrency,
      getIntFromEnv('LARGE_OBJECT_CONCURRENCY', 4, { min: 1, max: 64 }, env),
    ),
    wholeReadBudgetBytes: wholeReadBudgetMb(env) * MiB,
    deadlineMarginMs: getIntFromEnv('DEADLINE_MARGIN_MS', 5_000, { min: 0, max: 600_000 }, env),
    filter: loadRecordFilter(env),
    topology,
    hubQueueArns,
    breaker: loadBreakerSettings(env),
    ...loadLedgerSettings(env, common.accountsTable, hubQueueArns),
    ...loadTamperTriggerSettings(env),
  };
}

/**
 * WHOLE_READ_BUDGET_MB; by default a quarter of the function's memory (AWS_LAMBDA_FUNCTION_MEMORY_SIZE, which Lambda
 * sets: Lambda Developer Guide, "Defined runtime environment variables"), 256 MiB where it is not set: with the
 * streamed large objects (4 x their batches) it leaves most of a 1,024 MB function to the runtime and the SDK.
 */
function wholeReadBudgetMb(env: Record<string, string | undefined>): number {
  const memoryMb = getIntFromEnv('AWS_LAMBDA_FUNCTION_MEMORY_SIZE', 1024, { min: 128, max: 10240 }, env);
  return getIntFromEnv('WHOLE_READ_BUDGET_MB', Math.max(32, Math.floor(memoryMb / 4)), { min: 16, max: 8192 }, env);
}

/** RECONCILE_JOB_QUEUE_URL and TAMPER_TRIGGER_DELAY_SECONDS (docs/operations.md, "Triggers"). */
function loadTamperTriggerSettings(
  env: Record<string, string | undefined>,
): Pick<IngestConfig, 'reconcileJobQueueUrl' | 'tamperTriggerDelaySeconds'> {
  const url = getUrlFromEnv('RECONCILE_JOB_QUEUE_URL', ['https:', 'http:'], env);
  return {
    ...(url !== undefined ? { reconcileJobQueueUrl: url.toString() } : {}),
    // SQS DelaySeconds allows 0-900 (SendMessage, Amazon SQS API Reference).
    tamperTriggerDelaySeconds: getIntFromEnv('TAMPER_TRIGGER_DELAY_SECONDS', 60, { min: 0, max: 900 }, env),
  };
}

/** LEDGER_TABLE, LEDGER_TTL_DAYS and BACKFILL_QUEUE_ARN (docs/completeness.md). */
function loadLedgerSettings(
  env: Record<string, string | undefined>,
  accountsTable: string,
  hubQueueArns: readonly string[],
): Pick<IngestConfig, 'ledgerTable' | 'ledgerTtlDays' | 'backfillQueueArn'> {
  const backfillQueueArn = getOptionalStringFromEnv('BACKFILL_QUEUE_ARN', env);
  if (backfillQueueArn !== undefined) {
    const arn = tryParseArn(backfillQueueArn);
    if (arn?.service !== 'sqs' || !isAccountId(arn.accountId) || arn.region === '' || arn.resource === '') {
      throw new ConfigError(`BACKFILL_QUEUE_ARN must be an SQS queue ARN, got "${backfillQueueArn}"`);
    }
    // A hub queue's messages are bound by their envelope; the backfill queue's by their body: never both.
    if (hubQueueArns.includes(backfillQueueArn)) {
      throw new ConfigError(`BACKFILL_QUEUE_ARN ${backfillQueueArn} is also listed in HUB_QUEUE_ARNS`);
    }
  }
  return {
    ledgerTable: ledgerTableName(accountsTable, getOptionalStringFromEnv('LEDGER_TABLE', env)),
    ledgerTtlDays: getIntFromEnv('LEDGER_TTL_DAYS', LEDGER_TTL_DAYS_DEFAULT, { min: 1, max: 3650 }, env),
    ...(backfillQueueArn !== undefined ? { backfillQueueArn } : {}),
  };
}

/** DOWNSTREAM_BREAKER_*: how many failures over how long open the breaker, and for how long (doubling up to a cap). */
function loadBreakerSettings(env: Record<string, string | undefined>): BreakerSettings {
  const d = DEFAULT_BREAKER_SETTINGS;
  const openSeconds = getIntFromEnv('DOWNSTREAM_BREAKER_OPEN_SECONDS', d.openMs / 1000, { min: 1, max: 3600 }, env);
  const maxOpenSeconds = getIntFromEnv(
    'DOWNSTREAM_BREAKER_MAX_OPEN_SECONDS',
    Math.max(openSeconds, d.maxOpenMs / 1000),
    { min: 1, max: 3600 },
    env,
  );
  if (maxOpenSeconds < openSeconds) {
    throw new ConfigError(
      `DOWNSTREAM_BREAKER_MAX_OPEN_SECONDS (${maxOpenSeconds}) must be at least DOWNSTREAM_BREAKER_OPEN_SECONDS (${openSeconds})`,
    );
  }
  return {
    failureThreshold: getIntFromEnv('DOWNSTREAM_BREAKER_FAILURES', d.failureThreshold, { min: 1, max: 10_000 }, env),
    failureWindowMs:
      1000 * getIntFromEnv('DOWNSTREAM_BREAKER_WINDOW_SECONDS', d.failureWindowMs / 1000, { min: 0, max: 3600 }, env),
    openMs: openSeconds * 1000,
    maxOpenMs: maxOpenSeconds * 1000,
  };
}
