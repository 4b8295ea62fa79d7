import { createHash } from 'node:crypto';
import { tryParseArn } from './arn';
import { getListFromEnv, getOptionalStringFromEnv } from './config';
import { ConfigError } from './errors';

/**
 * How announced log files reach the ingest function (docs/stacks.md, "Ingest topologies"):
 * - `hub`: K queues in the collector account, each with one event source mapping; every customer topic is
 *   subscribed cross-account to the queue of its account's shard. No queue, no mapping and no polling cost in the
 *   customer account. The tenant of a message is the registered owner of the SNS envelope's `TopicArn`.
 * - `customer-queue`: the seed's layout, a queue in each customer account with its own mapping. The tenant of a
 *   message is the account that owns the queue.
 *
 * One place for what the stack, ingest, reconcile, the CLI and the sandbox must agree on: the names, the shard
 * of an account, and the retry schedule that the hub queues' `maxReceiveCount` is sized for.
 */
export const INGEST_TOPOLOGIES = ['hub', 'customer-queue'] as const;
export type IngestTopology = (typeof INGEST_TOPOLOGIES)[number];

export function isIngestTopology(value: unknown): value is IngestTopology {
  return typeof value === 'string' && (INGEST_TOPOLOGIES as readonly string[]).includes(value);
}

type Env = Record<string, string | undefined>;

/**
 * INGEST_TOPOLOGY. Unset means `customer-queue`, so every command that works with ACCOUNTS_TABLE alone keeps
 * working; the stack always sets it (its own default is `hub`, lib/config.ts).
 */
export function loadIngestTopology(env: Env = process.env): IngestTopology {
  const raw = getOptionalStringFromEnv('INGEST_TOPOLOGY', env);
  if (raw === undefined) return 'customer-queue';
  if (!isIngestTopology(raw)) {
    throw new ConfigError(`INGEST_TOPOLOGY must be one of ${INGEST_TOPOLOGIES.join(', ')}, got "${raw}"`);
  }
  return raw;
}

/**
 * The most hub queues a stack may have: each shard is 7 resources (a queue, a DLQ, their two policies, a mapping and
 * two alarms), and a CloudFormation stack holds at most 500 resources (CloudFormation User Guide, "AWS
 * CloudFormation quotas"); at 48 the whole collector stack stays near 400, with room for what it grows.
 */
export const MAX_HUB_SHARDS = 48;

/** `cloudtrail-collector-ingest-03`: the hub queue of shard 3. */
export function hubQueueName(shard: number): string {
  return `cloudtrail-collector-ingest-${String(shard).padStart(2, '0')}`;
}

/** `cloudtrail-collector-ingest-03-dlq`: where shard 3's poison messages and exhausted retries go. */
export function hubDeadLetterQueueName(shard: number): string {
  return `${hubQueueName(shard)}-dlq`;
}

/** The dead-letter queue of a hub queue: same account and region, the name plus `-dlq`. */
export function hubDeadLetterQueueArn(hubQueueArn: string): string {
  return `${hubQueueArn}-dlq`;
}

/**
 * The shard of an account: the first four bytes of SHA-256(account id) modulo the shard count. Stable across
 * processes and releases; stored in the registry (`ingestShard`) when the account is subscribed, so changing the
 * shard count later moves no account until the reconcile migrates it.
 */
export function shardOf(accountId: string, shardCount: number): number {
  if (!Number.isInteger(shardCount) || shardCount < 1 || shardCount > MAX_HUB_SHARDS) {
    throw new RangeError(`shard count must be 1-${MAX_HUB_SHARDS}, got ${shardCount}`);
  }
  return createHash('sha256').update(accountId).digest().readUInt32BE(0) % shardCount;
}

/**
 * HUB_QUEUE_ARNS: the hub queues in shard order (index = shard), comma-separated. Each must be an SQS queue ARN
 * named `hubQueueName(index)`, all in one account and region. Required (non-empty) when the topology is `hub`.
 */
export function loadHubQueueArns(env: Env = process.env, topology: IngestTopology = loadIngestTopology(env)): string[] {
  const arns = getListFromEnv('HUB_QUEUE_ARNS', env);
  if (topology === 'hub' && arns.length === 0) {
    throw new ConfigError('HUB_QUEUE_ARNS is required when INGEST_TOPOLOGY is "hub" (the stack output HubQueueArns)');
  }
  if (arns.length > MAX_HUB_SHARDS) {
    throw new ConfigError(`HUB_QUEUE_ARNS lists ${arns.length} queues; at most ${MAX_HUB_SHARDS} are supported`);
  }
  let home: string | undefined;
  arns.forEach((arn, index) => {
    const parsed = tryParseArn(arn);
    if (parsed?.service !== 'sqs' || parsed.resource !== hubQueueName(index)) {
      throw new ConfigError(
        `HUB_QUEUE_ARNS entry ${index} must be the ARN of the SQS queue ${hubQueueName(index)}, got "${arn}"`,
      );
    }
    const where = `${parsed.accountId}/${parsed.region}`;
    home ??= where;
    if (where !== home) {
      throw new ConfigError(`HUB_QUEUE_ARNS entry ${index} is in ${where}; every hub queue must be in ${home}`);
    }
  });
  return arns;
}

/**
 * The retry schedule of a message whose delivery failed for a reason that may pass (docs/reliability.md): its
 * visibility timeout is set, with ChangeMessageVisibility, to `base x 2^(receives - 1)` seconds, capped. SQS
 * allows at most 12 hours (ChangeMessageVisibility, SQS API reference); the cap is far below it so that a
 * recovered downstream is used within the hour.
 */
export const RETRY_BACKOFF = { baseSeconds: 30, capSeconds: 3600 } as const;

/**
 * Messages per invocation of a hub mapping (lib/hub-queues.construct.ts HUB_BATCHING), and so how many ingest runs at
 * once by default (MESSAGE_CONCURRENCY): one wave per invocation (bench/README.md, "40 messages at once").
 */
export const HUB_BATCH_SIZE = 40;

/**
 * Receives before SQS moves a message to its dead-letter queue (the hub queues' redrive policy). With
 * RETRY_BACKOFF, 40 receives are ~33 hours of retrying (`retryWindowSeconds`), more than the 24-hour outage the
 * collector promises to ride out (docs/reliability.md); retention (14 days, the SQS maximum) is far longer still.
 */
export const HUB_MAX_RECEIVE_COUNT = 40;

/**
 * The hub topology's backfill queue mapping (lib/backfill-queue.construct.ts): MaximumConcurrency 2, the least Lambda
 * allows (Lambda API Reference, "ScalingConfig"), so that a large backfill takes little of the ingest function's
 * reserved concurrency from live traffic; lib/config.ts and the reconcile's mapping budget (capacity.ts) count it.
 */
export const BACKFILL_MAXIMUM_CONCURRENCY = 2;

/** How long a message is hidden after its `receiveCount`-th failed receive. */
export function retryVisibilitySeconds(receiveCount: number): number {
  const exponent = Math.max(0, Math.min(receiveCount - 1, 30));
  return Math.min(RETRY_BACKOFF.capSeconds, RETRY_BACKOFF.baseSeconds * 2 ** exponent);
}

/** The time a transiently failing message is retried before its last receive: the outage it survives. */
export function retryWindowSeconds(maxReceiveCount: number = HUB_MAX_RECEIVE_COUNT): number {
  let total = 0;
  for (let receive = 1; receive < maxReceiveCount; receive += 1) total += retryVisibilitySeconds(receive);
  return total;
}
