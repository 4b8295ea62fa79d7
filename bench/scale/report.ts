/**
 * From a simulation's raw figures to what bench/out/scale.json reports: delay percentiles by tenant and phase,
 * the per-month request figures, and what each topology costs the customer and the operator.
 */
import { PRICES } from '../../lambdas/reconcile/costs';
import { LAMBDA_SQS, SECONDS_PER_MONTH } from './model';
import {
  PHASE_BEFORE_OUTAGE,
  PHASE_DURING_OUTAGE,
  TENANT_CO_SHARD,
  TENANT_HOT,
  TENANT_OTHER,
  type Counters,
  type SimulationResult,
} from './results';

/**
 * Prices beyond costs.ts's (SQS: PRICES.sqsRequestsPerMillion, PRICES.sqsFreeRequestsPerMonth). us-east-1 list
 * prices; docs/costs.md ("Ingest topologies: what each costs") names the page of each.
 */
export const SCALE_PRICES = {
  /** Lambda requests, per million; 1 million free a month (AWS Lambda pricing). */
  lambdaRequestsPerMillion: 0.2,
  lambdaFreeRequestsPerMonth: 1_000_000,
  /** Lambda duration, Arm, first tier, per GB-second; 400,000 GB-s free a month (AWS Lambda pricing). */
  lambdaArmPerGbSecond: 0.0000133334,
  lambdaFreeGbSecondsPerMonth: 400_000,
  /** SNS standard topic publishes, per million beyond 1 million free; deliveries to SQS carry no SNS charge. */
  snsPublishesPerMillion: 0.5,
  snsFreePublishesPerMonth: 1_000_000,
} as const;

/** The ingest function's memory (lib/config.ts ingest.memoryMb 1,024): GB-seconds = seconds x 1. */
const FUNCTION_GB = 1024 / 1024;

function percentile(values: Float32Array, p: number): number | null {
  if (values.length === 0) return null;
  const sorted = Float32Array.from(values).sort();
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return Math.round(sorted[rank]! * 10) / 10;
}

function select(
  result: SimulationResult,
  keep: (phase: number, tenant: number, born: number) => boolean,
): Float32Array {
  const chosen = new Float32Array(result.delays.length);
  let n = 0;
  for (let i = 0; i < result.delays.length; i++) {
    const category = result.categories[i]!;
    if (keep(Math.floor(category / 3), category % 3, result.bornAt[i]!)) chosen[n++] = result.delays[i]!;
  }
  return chosen.subarray(0, n);
}

function maximum(values: Float32Array): number | null {
  let most: number | null = null;
  for (const value of values) most = Math.max(most ?? 0, value);
  return most === null ? null : Math.round(most * 10) / 10;
}

export interface TopologySummary {
  accounts: number;
  filesDelivered: number;
  filesDeadLettered: number;
  recordsLost: number;
  p50DelaySeconds: number | null;
  p99DelaySeconds: number | null;
  hotTenantP99DelaySeconds: number | null;
  otherTenantsP99DelaySeconds: number | null;
  customerPollingRequestsPerMonth: number;
  /** Extras: the fairness split, the outage, requests, Lambda usage and the simulation itself. */
  coShardTenantsP99DelaySeconds: number | null;
  otherShardTenantsP99DelaySeconds: number | null;
  /** The longest any other tenant's file born during the hot-backlog phase waited (co-shard, other shards in the hub). */
  otherTenantsMaxDelaySeconds: number | null;
  coShardTenantsMaxDelaySeconds: number | null;
  otherShardTenantsMaxDelaySeconds: number | null;
  /** The hot-backlog phase: files born from t = 0 until the hot tenant's backlog is drained. */
  hotBacklogDrainedAfterSeconds: number;
  fairnessBoundSeconds: number | null;
  filesPerSecondPerExecution: number;
  outageFilesP99DelaySeconds: number | null;
  outageFilesMaxDelaySeconds: number | null;
  outageBacklogClearedAfterSeconds: number | null;
  filesCreated: number;
  filesUndelivered: number;
  recordsCreated: number;
  customerPollingRequestsPerMonthWithTwoPollers: number;
  customerReceiveRequestsPerMonth: number;
  operatorQueueRequestsPerMonth: number;
  lambdaInvocationsPerMonth: number;
  lambdaGbSecondsPerMonth: number;
  throttledBatches: number;
  throttledBatchesReturnedToQueue: number;
  breakerFailFastFiles: number;
  peakConcurrentExecutions: number;
  maxReceiveCountSeen: number;
  maxBatchesOfOneMapping: number;
  peakUnsettledFiles: number;
  simulatedHours: number;
  events: number;
  wallSeconds: number;
}

/** Counters of a window, as a 30-day month. */
export function perMonth(window: Counters, seconds: number): Counters {
  const factor = SECONDS_PER_MONTH / seconds;
  const scaled = { ...window };
  for (const key of Object.keys(scaled) as (keyof Counters)[]) scaled[key] = window[key] * factor;
  return scaled;
}

/** Every request to the queues: SNS's SendMessage, receives (with messages, and empty long polls), deletes, visibility changes. */
export function queueRequests(month: Counters): number {
  return (
    month.sendRequests +
    month.receiveRequests +
    month.idlePollerSeconds / LAMBDA_SQS.longPollSeconds +
    month.deleteRequests +
    month.changeVisibilityRequests
  );
}

export function summarise(result: SimulationResult, wallSeconds: number): TopologySummary {
  const { workload, topology } = result;
  const window = workload.quietWindow.endSeconds - workload.quietWindow.startSeconds;
  const month = perMonth(result.quietWindow, window);
  const customerOwned = topology.customerOwnedQueues;
  const emptyPolls = month.idlePollerSeconds / LAMBDA_SQS.longPollSeconds;
  // While the hot tenant's backlog lasts: the files it can delay.
  const drained = result.hotBacklogDrainedAt;
  const duringBacklog = (tenant: (t: number) => boolean) =>
    percentile(
      select(result, (phase, t, born) => phase === PHASE_BEFORE_OUTAGE && born <= drained && tenant(t)),
      99,
    );
  const duringBacklogMax = (tenant: (t: number) => boolean) =>
    maximum(select(result, (phase, t, born) => phase === PHASE_BEFORE_OUTAGE && born <= drained && tenant(t)));
  const hub = topology.kind === 'hub';
  // Files per second per execution, from the time the executions spent on files that were delivered.
  const filesPerSecondPerExecution =
    result.successfulExecutionSeconds > 0 ? result.successfulFiles / result.successfulExecutionSeconds : 0;
  const maximumConcurrency = topology.mapping.maximumConcurrency;
  const outageFiles = select(result, (phase) => phase === PHASE_DURING_OUTAGE);
  return {
    accounts: workload.accounts,
    filesDelivered: result.filesDelivered,
    filesDeadLettered: result.filesDeadLettered,
    recordsLost: result.recordsLost,
    p50DelaySeconds: percentile(result.delays, 50),
    p99DelaySeconds: percentile(result.delays, 99),
    hotTenantP99DelaySeconds: duringBacklog((t) => t === TENANT_HOT),
    otherTenantsP99DelaySeconds: duringBacklog((t) => t !== TENANT_HOT),
    customerPollingRequestsPerMonth: customerOwned ? Math.round(emptyPolls) : 0,
    coShardTenantsP99DelaySeconds: hub ? duringBacklog((t) => t === TENANT_CO_SHARD) : null,
    otherShardTenantsP99DelaySeconds: hub ? duringBacklog((t) => t === TENANT_OTHER) : null,
    otherTenantsMaxDelaySeconds: duringBacklogMax((t) => t !== TENANT_HOT),
    coShardTenantsMaxDelaySeconds: hub ? duringBacklogMax((t) => t === TENANT_CO_SHARD) : null,
    otherShardTenantsMaxDelaySeconds: hub ? duringBacklogMax((t) => t === TENANT_OTHER) : null,
    hotBacklogDrainedAfterSeconds: Math.round(drained),
    // The bound of bench/README.md: the backlog over what its shard's executions forward per second.
    fairnessBoundSeconds:
      hub && maximumConcurrency !== undefined && filesPerSecondPerExecution > 0
        ? Math.round(workload.hotBacklog / (maximumConcurrency * filesPerSecondPerExecution))
        : null,
    filesPerSecondPerExecution: Math.round(filesPerSecondPerExecution * 10) / 10,
    outageFilesP99DelaySeconds: percentile(outageFiles, 99),
    outageFilesMaxDelaySeconds: maximum(outageFiles),
    outageBacklogClearedAfterSeconds:
      result.outageBacklogClearedAfterSeconds === undefined
        ? null
        : Math.round(result.outageBacklogClearedAfterSeconds),
    filesCreated: result.filesCreated,
    filesUndelivered: result.filesUndelivered,
    recordsCreated: result.recordsCreated,
    // Without MaximumConcurrency an idle mapping "can optimize to as few as 2 concurrent batches".
    customerPollingRequestsPerMonthWithTwoPollers:
      customerOwned && maximumConcurrency === undefined
        ? Math.round((emptyPolls * LAMBDA_SQS.idleOptimizedBatches) / LAMBDA_SQS.initialBatches)
        : customerOwned
          ? Math.round(emptyPolls)
          : 0,
    customerReceiveRequestsPerMonth: customerOwned ? Math.round(month.receiveRequests) : 0,
    operatorQueueRequestsPerMonth: customerOwned ? 0 : Math.round(queueRequests(month)),
    lambdaInvocationsPerMonth: Math.round(month.invocations),
    lambdaGbSecondsPerMonth: Math.round(month.executionSeconds * FUNCTION_GB),
    throttledBatches: result.throttledBatches,
    throttledBatchesReturnedToQueue: result.throttleExpiries,
    breakerFailFastFiles: result.breakerFailFastFiles,
    peakConcurrentExecutions: result.peakConcurrentExecutions,
    maxReceiveCountSeen: result.maxReceiveCountSeen,
    maxBatchesOfOneMapping: result.maxBatchesOfOneMapping,
    peakUnsettledFiles: result.peakUnsettledFiles,
    simulatedHours: Math.round((result.simulatedSeconds / 3600) * 10) / 10,
    events: result.events,
    wallSeconds: Math.round(wallSeconds * 10) / 10,
  };
}

export interface MonthlyCost {
  accounts: number;
  topology: string;
  filesPerMonth: number;
  /** Per customer account, at list price (within an account's own free tier it is $0; an organization shares one). */
  customerSqsRequestsPerAccount: number;
  customerSqsUsdPerAccount: number;
  customerSnsPublishesPerAccount: number;
  /** The collector account, all accounts together: list price, and after the collector account's own free tiers. */
  operatorSqsRequests: number;
  operatorLambdaInvocations: number;
  operatorLambdaGbSeconds: number;
  operatorUsdList: number;
  operatorUsdAfterFreeTier: number;
}

const usd = (amount: number) => Math.round(amount * 100) / 100;

/** What one month of steady traffic costs, from a steady-state simulation's measured window. */
export function monthlyCost(result: SimulationResult): MonthlyCost {
  const { workload, topology } = result;
  const window = workload.quietWindow.endSeconds - workload.quietWindow.startSeconds;
  const month = perMonth(result.quietWindow, window);
  const requests = queueRequests(month);
  const customerRequests = topology.customerOwnedQueues ? requests / workload.accounts : 0;
  const operatorRequests = topology.customerOwnedQueues ? 0 : requests;
  const perMillion = (n: number, price: number) => (n / 1_000_000) * price;
  const lambdaList =
    perMillion(month.invocations, SCALE_PRICES.lambdaRequestsPerMillion) +
    month.executionSeconds * FUNCTION_GB * SCALE_PRICES.lambdaArmPerGbSecond;
  const lambdaAfter =
    perMillion(
      Math.max(0, month.invocations - SCALE_PRICES.lambdaFreeRequestsPerMonth),
      SCALE_PRICES.lambdaRequestsPerMillion,
    ) +
    Math.max(0, month.executionSeconds * FUNCTION_GB - SCALE_PRICES.lambdaFreeGbSecondsPerMonth) *
      SCALE_PRICES.lambdaArmPerGbSecond;
  const sqsList = perMillion(operatorRequests, PRICES.sqsRequestsPerMillion);
  const sqsAfter = perMillion(
    Math.max(0, operatorRequests - PRICES.sqsFreeRequestsPerMonth),
    PRICES.sqsRequestsPerMillion,
  );
  return {
    accounts: workload.accounts,
    topology: topology.name,
    filesPerMonth: Math.round(month.sendRequests),
    customerSqsRequestsPerAccount: Math.round(customerRequests),
    customerSqsUsdPerAccount: usd(perMillion(customerRequests, PRICES.sqsRequestsPerMillion)),
    // CloudTrail publishes one notification per file to the customer's topic, in both topologies.
    customerSnsPublishesPerAccount: Math.round(month.sendRequests / workload.accounts),
    operatorSqsRequests: Math.round(operatorRequests),
    operatorLambdaInvocations: Math.round(month.invocations),
    operatorLambdaGbSeconds: Math.round(month.executionSeconds * FUNCTION_GB),
    operatorUsdList: usd(sqsList + lambdaList),
    operatorUsdAfterFreeTier: usd(sqsAfter + lambdaAfter),
  };
}
