import { Aws, Duration } from 'aws-cdk-lib';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { EventSourceMapping, type IFunction } from 'aws-cdk-lib/aws-lambda';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { NagSuppressions } from 'cdk-nag';
import { Construct } from 'constructs';
import { OPT_IN_REGIONS, SNS_AMBIGUOUS_OPT_IN_REGIONS, SNS_PRINCIPAL } from '../lambdas/reconcile/policies';
import {
  HUB_BATCH_SIZE,
  HUB_MAX_RECEIVE_COUNT,
  hubDeadLetterQueueName,
  hubQueueName,
} from '../lambdas/shared/topology';

/**
 * How each hub mapping batches. CloudTrail files are mostly a few KB, so per-invocation cost dominates: a window of
 * a few seconds lets a quiet shard hand ingest up to 40 notifications per invocation instead of one, for at most
 * 5 s of extra delay against CloudTrail's ~5-minute delivery cadence. The batch is 40 (Lambda allows up to 10 without
 * a window and up to 10,000 with one: Lambda Developer Guide, "Lambda parameters for Amazon SQS event source
 * mappings"), which ingest runs at once (MESSAGE_CONCURRENCY 40): a small file waits ~40 ms on S3 and the
 * downstream and spends ~2 ms of CPU, so in-flight files, not CPU, bound an execution; 40 measured best of 20, 32,
 * 40 and 64 (bench/README.md). Memory: objects read whole share WHOLE_READ_BUDGET_MB, objects over 256 KiB take
 * turns 4 at once (LARGE_OBJECT_CONCURRENCY). Every message of a batch shares one function timeout: 40 worst-case
 * 1 GiB files (~18 s each, 4 at once) take ~180 s of the 300; the ones not finished by the deadline fail and come
 * back after their backoff (docs/stacks.md, sizing).
 */
export const HUB_BATCHING = { batchSize: HUB_BATCH_SIZE, windowSeconds: 5 } as const;

/** SQS keeps a message at most 14 days (SQS Developer Guide, "Amazon SQS message quotas"). */
export const HUB_RETENTION = Duration.days(14);

/**
 * The service principals SNS delivers as: `sns.amazonaws.com` from a Region enabled by default (and within one
 * Region), `sns.<region>.amazonaws.com` from an opt-in Region to a queue in another Region (SNS Developer Guide,
 * "Sending Amazon SNS messages to an Amazon SQS queue or AWS Lambda function in a different Region"; the opt-in
 * list is lambdas/reconcile/policies.ts, which the customer-queue policies use too).
 */
export function hubSnsPrincipals(): string[] {
  const regions = [...new Set([...OPT_IN_REGIONS, ...SNS_AMBIGUOUS_OPT_IN_REGIONS])].sort();
  return [SNS_PRINCIPAL, ...regions.map((region) => `sns.${region}.amazonaws.com`)];
}

export interface HubShard {
  shard: number;
  queue: Queue;
  deadLetterQueue: Queue;
}

export interface HubQueuesProps {
  shards: number;
  /** The ingest function's timeout: each queue's visibility timeout is 6 x this. */
  ingestTimeout: Duration;
}

/**
 * The hub topology's queues (docs/stacks.md, "Ingest topologies"): K queues in the collector account, each with its
 * own dead-letter queue, SSE-SQS, TLS only, 14 days' retention, and a policy that lets SNS topics of any account
 * deliver. Customer topics are subscribed to the queue of their account's shard by reconcile; ingest binds every
 * message to the registered owner of its envelope's TopicArn and treats the rest as poison.
 */
export class HubQueues extends Construct {
  readonly shards: HubShard[] = [];

  constructor(scope: Construct, id: string, props: HubQueuesProps) {
    super(scope, id);
    // Lambda Developer Guide, "Creating and configuring an Amazon SQS event source mapping": a visibility timeout
    // of at least six times the function timeout, so that Lambda can retry a throttled batch in time.
    const visibilityTimeout = Duration.seconds(6 * props.ingestTimeout.toSeconds());
    const principals = hubSnsPrincipals().map((name) => new ServicePrincipal(name));
    for (let shard = 0; shard < props.shards; shard += 1) {
      const shardScope = new Construct(this, `Shard${String(shard).padStart(2, '0')}`);
      // Where a shard's messages go after HUB_MAX_RECEIVE_COUNT receives (~33 hours of RETRY_BACKOFF), and where
      // ingest moves a poison message at once. Expiry counts from the original enqueue time, so its retention is
      // the SQS maximum too; `dlq redrive` moves messages back to the shard's queue.
      const deadLetterQueue = new Queue(shardScope, 'DeadLetterQueue', {
        queueName: hubDeadLetterQueueName(shard),
        encryption: QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
        retentionPeriod: HUB_RETENTION,
      });
      NagSuppressions.addResourceSuppressions(deadLetterQueue, [
        {
          id: 'Serverless-SQSRedrivePolicy',
          reason:
            'This queue is itself the dead-letter queue of its hub queue; nothing consumes it automatically. Operators read it and move its messages back with `cloudtrail-collector dlq redrive`; a DLQ of its own would only move the evidence elsewhere.',
        },
      ]);
      const queue = new Queue(shardScope, 'Queue', {
        queueName: hubQueueName(shard),
        encryption: QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
        retentionPeriod: HUB_RETENTION,
        visibilityTimeout,
        deadLetterQueue: { queue: deadLetterQueue, maxReceiveCount: HUB_MAX_RECEIVE_COUNT },
      });
      // SNS delivery from any topic. Listing the registered topics (or their accounts) cannot scale: an SQS policy
      // holds at most 8,192 bytes (SQS Developer Guide, "Amazon SQS policy quotas"), about 100 topic ARNs, not
      // 10,000. Safety comes from ingest instead: every message is bound to the registered owner of its SNS
      // envelope's TopicArn (set by SNS, not by the sender), and anything else is poison. A stranger's topic can
      // only put a SubscriptionConfirmation here, which the collector never confirms for an unregistered topic.
      queue.addToResourcePolicy(
        new PolicyStatement({
          sid: 'SnsTopicsSend',
          principals,
          actions: ['sqs:SendMessage'],
          resources: [queue.queueArn],
          conditions: { ArnLike: { 'aws:SourceArn': `arn:${Aws.PARTITION}:sns:*:*:*` } },
        }),
      );
      this.shards.push({ shard, queue, deadLetterQueue });
    }
  }

  /** The queue ARNs in shard order (HUB_QUEUE_ARNS). */
  get queueArns(): string[] {
    return this.shards.map(({ queue }) => queue.queueArn);
  }

  /**
   * One event source mapping per hub queue on the ingest function, with ReportBatchItemFailures (a failed message is
   * retried alone) and MaximumConcurrency (the K mappings together stay within the function's reserved
   * concurrency, checked in lib/config.ts).
   */
  connect(ingest: IFunction, maximumConcurrency: number): EventSourceMapping[] {
    return this.shards.map(({ shard, queue }) => {
      const mapping = new EventSourceMapping(this, `Shard${String(shard).padStart(2, '0')}Mapping`, {
        target: ingest,
        eventSourceArn: queue.queueArn,
        batchSize: HUB_BATCHING.batchSize,
        maxBatchingWindow: Duration.seconds(HUB_BATCHING.windowSeconds),
        reportBatchItemFailures: true,
        maxConcurrency: maximumConcurrency,
      });
      NagSuppressions.addResourceSuppressions(mapping, [
        {
          id: 'Serverless-LambdaEventSourceMappingDestination',
          reason:
            "Lambda offers on-failure destinations for stream and Kafka event source mappings, not for SQS: a failed message stays in the hub queue (ReportBatchItemFailures) and the queue's redrive policy moves it to the shard's DLQ, which an alarm watches.",
        },
      ]);
      return mapping;
    });
  }
}
