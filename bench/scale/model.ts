/**
 * What `npm run bench:scale` simulates: the AWS behaviours it follows (each with the page it follows), the two
 * ingest topologies as configured, the workload, and the processing-time model. Every figure that is a choice
 * rather than an AWS rule says so; bench/README.md ("Ingest at 10,000 accounts") explains them.
 */
import { HUB_MAX_RECEIVE_COUNT, RETRY_BACKOFF, retryWindowSeconds, shardOf } from '../../lambdas/shared/topology';
import { DEFAULT_CONFIG } from '../../lib/config';
import { HUB_BATCHING } from '../../lib/hub-queues.construct';
import { seededUniform } from './event-queue';

/** Lambda's SQS event source mapping, as AWS documents it. */
export const LAMBDA_SQS = {
  /**
   * "When messages are available, Lambda starts processing five batches at a time with five concurrent
   * invocations of your function. If messages are still available, Lambda increases the number of processes that
   * are reading batches by up to 300 more instances per minute. [...] When traffic is low, Lambda scales back the
   * processing to five concurrent batches, and can optimize to as few as 2 concurrent batches [...] this
   * optimization is not available when you enable the maximum concurrency setting." Lambda Developer Guide,
   * "Configuring scaling behavior for SQS event source mappings",
   * https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html
   */
  initialBatches: 5,
  scaleUpPerMinute: 300,
  idleOptimizedBatches: 2,
  /**
   * The most concurrent batches of one mapping: 1,250 in the current page (the older copy of the same page, and
   * the knowledge-center article "lambda-sqs-scaling", say 1,000; the larger figure is the more damaging one for
   * the customer-queue topology, whose mappings set no MaximumConcurrency).
   */
  maxBatchesPerMapping: 1250,
  /** MaximumConcurrency: 2-1000 (Lambda API Reference, ScalingConfig, https://docs.aws.amazon.com/lambda/latest/dg/API_ScalingConfig.html). */
  minimumMaximumConcurrency: 2,
  /**
   * ReceiveMessage returns at most 10 messages; a long poll waits at most 20 seconds (SQS Developer Guide,
   * "Amazon SQS standard queue quotas", https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-queues.html;
   * lambdas/reconcile/costs.ts LONG_POLL_SECONDS). Batch sizes above 10 need MaximumBatchingWindowInSeconds >= 1
   * (Lambda API Reference, CreateEventSourceMapping BatchSize and MaximumBatchingWindowInSeconds).
   */
  messagesPerReceive: 10,
  longPollSeconds: 20,
} as const;

/** Days of a billing month, as lambdas/reconcile/costs.ts counts them. */
export const SECONDS_PER_MONTH = 30 * 24 * 3600;

export interface MappingConfig {
  batchSize: number;
  /** MaximumBatchingWindowInSeconds (0 = Lambda's default for SQS). */
  batchingWindowSeconds: number;
  /** ScalingConfig.MaximumConcurrency; undefined = not set (the mapping may scale to 1,250 batches). */
  maximumConcurrency: number | undefined;
}

export interface TopologyConfig {
  name: string;
  /** hub: the collector's K shard queues; customer-queue: a queue (and mapping) per account. */
  kind: 'hub' | 'customer-queue';
  queueCount: number;
  /** Queue of each account. */
  queueOfAccount: Int32Array;
  mapping: MappingConfig;
  /** The ingest function's reserved concurrency: the most executions at once, for every mapping together. */
  reservedConcurrency: number;
  /** The queue's VisibilityTimeout: how long a received message stays hidden if nothing changes it. */
  visibilityTimeoutSeconds: number;
  /** The redrive policy's maxReceiveCount. */
  maxReceiveCount: number;
  /** hub: a failed message's visibility is set to retryVisibilitySeconds(receives) (ChangeMessageVisibility). */
  perMessageBackoff: boolean;
  /** The production circuit breaker per execution (hub); false = every file tries the downstream (the seed). */
  circuitBreaker: boolean;
  /** True when the queues belong to the customers, who then pay for every request to them. */
  customerOwnedQueues: boolean;
}

/** How long the ingest function takes for a batch. */
export interface ProcessingModel {
  /**
   * Fixed cost of one file: today's measured ~16 ms per small message (bench/README.md, "End to end": CPU of the
   * ingest process per message; zlib set-up, the SDK, GC and HTTP are ~11 ms of it). Counted whole, as wall time
   * on one execution; `--per-file-ms` plugs in the figure after optimisation.
   */
  perFileMs: number;
  /** Per invocation: the registry GetItem once per batch, the handler's set-up. A choice, not a measurement. */
  perInvocationMs: number;
  /** MB/s of uncompressed input per execution: ~55 MB/s at 1,024 MB (~0.58 vCPU; lib/collector.stack.ts). */
  uncompressedMBps: number;
  /** Files of a batch in flight at once (MESSAGE_CONCURRENCY default 4): only the failure path is I/O bound. */
  messageConcurrency: number;
  /**
   * A file whose downstream is down: the sink's 8 attempts with full-jitter backoff of 200 ms x 2^(n-1), capped
   * at 10 s (lambdas/ingest/sinks/http-delivery.ts defaults), wait 11.3 s on average between them.
   */
  failedFileSeconds: number;
  /** A file failed fast by an open circuit breaker (no downstream call; ChangeMessageVisibility only). */
  failFastMs: number;
}

export interface Workload {
  accounts: number;
  /** Active regions of each account (a log file every ~5 minutes per active region). */
  regions: Uint8Array;
  /** Account ids (12 digits), for shardOf. */
  accountIds: string[];
  hotAccount: number;
  /** Files in the hot tenant's queue at t = 0. */
  hotBacklog: number;
  /** The downstream fails every delivery during [start, end). */
  outage: { startSeconds: number; endSeconds: number };
  /** No new log files after this; the run then continues until every queue is empty. */
  arrivalsEndSeconds: number;
  /** A stretch with no scenario in it, measured for the per-month request figures. */
  quietWindow: { startSeconds: number; endSeconds: number };
  seed: number;
}

/**
 * CloudTrail "publishes log files multiple times an hour, about every 5 minutes" and "typically delivers logs
 * within an average of about 5 minutes of an API call" (CloudTrail User Guide, "Getting and viewing your
 * CloudTrail log files", https://docs.aws.amazon.com/awscloudtrail/latest/userguide/get-and-view-cloudtrail-log-files.html;
 * the first sentence quoted from the same guide by tracebit.com, "How fast is CloudTrail today?"). Modelled as
 * a Poisson process with a mean of 300 s per active region.
 */
export const FILE_INTERVAL_SECONDS = 300;

/**
 * Active regions per account: a choice, stated in bench/README.md. 40% of accounts active in 1 region, 30% in
 * 2-4, 20% in 5-10, 10% in all 17 default regions (security tooling such as GuardDuty or Config in every region
 * makes every region active). Mean 4.5 regions: 38,880 files a month per account.
 */
export const REGION_MIX: readonly { share: number; min: number; max: number }[] = [
  { share: 0.4, min: 1, max: 1 },
  { share: 0.3, min: 2, max: 4 },
  { share: 0.2, min: 5, max: 10 },
  { share: 0.1, min: 17, max: 17 },
];

/** Accounts are assigned to the mix by quantile, so that even 10 accounts follow it; the count within a band is drawn. */
export function assignRegions(accounts: number, random: () => number): Uint8Array {
  const regions = new Uint8Array(accounts);
  for (let i = 0; i < accounts; i++) {
    let quantile = (i + 0.5) / accounts;
    let band = REGION_MIX[REGION_MIX.length - 1]!;
    for (const candidate of REGION_MIX) {
      if (quantile < candidate.share) {
        band = candidate;
        break;
      }
      quantile -= candidate.share;
    }
    regions[i] = band.min + Math.floor(random() * (band.max - band.min + 1));
  }
  return regions;
}

/**
 * Log file sizes (gzip, as stored in S3): a choice. 97% log-uniform over 1-50 KB (median ~7 KB: most CloudTrail
 * files are a few KB), 3% a Pareto tail (alpha 1.5) from 50 KB, capped at 50 MB.
 */
export function drawFileBytes(random: () => number): number {
  if (random() < 0.97) return Math.round(1024 * Math.exp(random() * Math.log(50)));
  const tail = 50 * 1024 * Math.pow(1 - random(), -1 / 1.5);
  return Math.round(Math.min(tail, 50 * 1024 * 1024));
}

/** gzip'd CloudTrail JSON is about a tenth of its size (lambdas/reconcile/costs.ts GZIP_RATIO). */
export const GZIP_RATIO = 10;
/** Mean record size of the bench's CloudTrail records (bench/README.md: median 1.5 KB, mean 2.6 KB). */
export const MEAN_RECORD_BYTES = 2600;

export function recordsOfFile(gzipBytes: number): number {
  return Math.max(1, Math.round((gzipBytes * GZIP_RATIO) / MEAN_RECORD_BYTES));
}

/** Wall time of one successfully forwarded file on one execution, in seconds. */
export function fileSeconds(gzipBytes: number, processing: ProcessingModel): number {
  return processing.perFileMs / 1000 + (gzipBytes * GZIP_RATIO) / (processing.uncompressedMBps * 1e6);
}

/**
 * The seed's retry within one invocation (http-delivery.ts defaults: 8 attempts, base 200 ms, cap 10 s, full
 * jitter): the mean total wait between attempts, the time a file holds its execution while the downstream is down.
 */
export function meanSinkRetrySeconds(maxAttempts = 8, baseMs = 200, capMs = 10_000): number {
  let total = 0;
  for (let attempt = 1; attempt < maxAttempts; attempt++) total += 0.5 * Math.min(capMs, baseMs * 2 ** (attempt - 1));
  return total / 1000;
}

export const DEFAULT_PROCESSING: ProcessingModel = {
  perFileMs: 16,
  perInvocationMs: 10,
  uncompressedMBps: 55,
  messageConcurrency: 4,
  failedFileSeconds: meanSinkRetrySeconds(),
  failFastMs: 1,
};

export interface ScaleOptions {
  accounts: number;
  hotBacklog: number;
  outageHours: number;
  hubShards: number;
  hubMaximumConcurrency: number;
  hubReservedConcurrency: number;
  hubBatchSize: number;
  hubBatchingWindowSeconds: number;
  customerReservedConcurrency: number;
  /** undefined: as the seed creates them (no MaximumConcurrency); a number: every mapping gets it. */
  customerMaximumConcurrency: number | undefined;
  processing: ProcessingModel;
  seed: number;
}

/**
 * Hub defaults: the stack's (lib/config.ts DEFAULT_CONFIG: 8 queues, MaximumConcurrency 4 each, reserved
 * concurrency 40, K x MaximumConcurrency <= reserved checked at synth; lib/hub-queues.construct.ts HUB_BATCHING:
 * batches of 40 gathered for up to 5 s), maxReceiveCount HUB_MAX_RECEIVE_COUNT and the RETRY_BACKOFF schedule of
 * lambdas/shared/topology.ts. Customer-queue defaults: the seed's layout (reconcile's mappings: batch size 10, no
 * MaximumConcurrency, maxReceiveCount 5, visibility 6 x the 300 s function timeout; the seed's reserved
 * concurrency of 20).
 */
export const DEFAULT_OPTIONS: ScaleOptions = {
  accounts: 10_000,
  hotBacklog: 100_000,
  outageHours: 6,
  hubShards: DEFAULT_CONFIG.ingest.hubShards,
  hubMaximumConcurrency: DEFAULT_CONFIG.ingest.maximumConcurrency,
  hubReservedConcurrency: DEFAULT_CONFIG.ingest.reservedConcurrency,
  hubBatchSize: HUB_BATCHING.batchSize,
  hubBatchingWindowSeconds: HUB_BATCHING.windowSeconds,
  customerReservedConcurrency: 20,
  customerMaximumConcurrency: undefined,
  processing: DEFAULT_PROCESSING,
  seed: 13,
};

const HOUR = 3600;
const FUNCTION_TIMEOUT_SECONDS = DEFAULT_CONFIG.ingest.timeoutSeconds;

export function buildWorkload(options: ScaleOptions, scenario: 'full' | 'steady', steadyHours = 2): Workload {
  const random = seededUniform(options.seed);
  const regions = assignRegions(options.accounts, random);
  const accountIds = Array.from({ length: options.accounts }, (_, i) => String(100_000_000_000 + i * 7919));
  if (scenario === 'steady') {
    // Costs at 10 and 1,000 accounts: steady traffic only, measured after a 10-minute warm-up.
    const end = steadyHours * HOUR;
    return {
      accounts: options.accounts,
      regions,
      accountIds,
      hotAccount: 0,
      hotBacklog: 0,
      outage: { startSeconds: Infinity, endSeconds: Infinity },
      arrivalsEndSeconds: end,
      quietWindow: { startSeconds: 600, endSeconds: end },
      seed: options.seed,
    };
  }
  // t = 0: the hot tenant's backlog; 2-3 h: quiet (measured); 3 h: the outage; 3 h of traffic after it; then drain.
  const outageStart = 3 * HOUR;
  const outageEnd = outageStart + options.outageHours * HOUR;
  return {
    accounts: options.accounts,
    regions,
    accountIds,
    hotAccount: 0,
    hotBacklog: options.hotBacklog,
    outage: { startSeconds: outageStart, endSeconds: outageEnd },
    arrivalsEndSeconds: outageEnd + 3 * HOUR,
    quietWindow: { startSeconds: 2 * HOUR, endSeconds: outageStart },
    seed: options.seed,
  };
}

/** Options that describe no valid deployment; the runner prints the message alone. */
export class ScaleConfigError extends Error {}

export function hubTopology(options: ScaleOptions, workload: Workload): TopologyConfig {
  if (options.hubShards * options.hubMaximumConcurrency > options.hubReservedConcurrency) {
    // The rule the stack checks at synth (issue 13): otherwise Lambda throttles the mappings' batches.
    throw new ScaleConfigError(
      `hub: ${options.hubShards} shards x MaximumConcurrency ${options.hubMaximumConcurrency} exceeds the reserved ` +
        `concurrency ${options.hubReservedConcurrency} (--hub-shards, --hub-max-concurrency, --hub-reserved)`,
    );
  }
  const queueOfAccount = new Int32Array(workload.accounts);
  workload.accountIds.forEach((id, i) => (queueOfAccount[i] = shardOf(id, options.hubShards)));
  return {
    name: 'hub',
    kind: 'hub',
    queueCount: options.hubShards,
    queueOfAccount,
    mapping: {
      batchSize: options.hubBatchSize,
      batchingWindowSeconds: options.hubBatchingWindowSeconds,
      maximumConcurrency: options.hubMaximumConcurrency,
    },
    reservedConcurrency: options.hubReservedConcurrency,
    visibilityTimeoutSeconds: 6 * FUNCTION_TIMEOUT_SECONDS,
    maxReceiveCount: HUB_MAX_RECEIVE_COUNT,
    perMessageBackoff: true,
    circuitBreaker: true,
    customerOwnedQueues: false,
  };
}

export function customerQueueTopology(options: ScaleOptions, workload: Workload): TopologyConfig {
  const maximumConcurrency = options.customerMaximumConcurrency;
  return {
    name:
      maximumConcurrency === undefined ? 'customer-queue' : `customer-queue (MaximumConcurrency ${maximumConcurrency})`,
    kind: 'customer-queue',
    queueCount: workload.accounts,
    queueOfAccount: Int32Array.from({ length: workload.accounts }, (_, i) => i),
    mapping: { batchSize: 10, batchingWindowSeconds: 0, maximumConcurrency },
    reservedConcurrency: options.customerReservedConcurrency,
    // reconcile's INGEST_TIMEOUT_SECONDS x 6 (lambdas/reconcile/config.ts), the function's 300 s timeout.
    visibilityTimeoutSeconds: 6 * FUNCTION_TIMEOUT_SECONDS,
    maxReceiveCount: 5,
    perMessageBackoff: false,
    circuitBreaker: false,
    customerOwnedQueues: true,
  };
}

/** The hub's retry schedule as the simulation uses it, for the report. */
export function hubRetrySchedule(): {
  baseSeconds: number;
  capSeconds: number;
  maxReceiveCount: number;
  retryWindowHours: number;
} {
  return {
    baseSeconds: RETRY_BACKOFF.baseSeconds,
    capSeconds: RETRY_BACKOFF.capSeconds,
    maxReceiveCount: HUB_MAX_RECEIVE_COUNT,
    retryWindowHours: retryWindowSeconds(HUB_MAX_RECEIVE_COUNT) / HOUR,
  };
}
