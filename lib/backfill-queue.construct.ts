import { Duration } from 'aws-cdk-lib';
import { Effect, PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { EventSourceMapping, type IFunction } from 'aws-cdk-lib/aws-lambda';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import { NagSuppressions } from 'cdk-nag';
import { Construct } from 'constructs';
import { BACKFILL_MAXIMUM_CONCURRENCY, HUB_MAX_RECEIVE_COUNT } from '../lambdas/shared/topology';
import { hubSnsPrincipals } from './hub-queues.construct';
import { accountOnlyQueue } from './account-only-queue';
import { BACKFILL_QUEUE_NAMES } from './names';

/**
 * Messages per batch of the backfill mapping: each names up to 10 log files (MAX_BACKFILL_KEYS), so a batch of 2 is
 * up to 20 files, half a hub mapping's batch of 40 notifications (hub-queues.construct.ts, HUB_BATCHING): backfill
 * runs beside live ingest in the same function, and its smaller invocations leave live files the larger share.
 */
export const BACKFILL_BATCH_SIZE = 2;

export interface BackfillQueueProps {
  /** The ingest function's timeout: the queue's visibility timeout is 6 x this. */
  ingestTimeout: Duration;
}

/**
 * The hub topology's backfill queue (docs/completeness.md, "Gap backfill"; docs/stacks.md): hub queues accept only
 * SNS envelopes, whose TopicArn binds the tenant, so the log files of a gap go to this collector-owned queue instead,
 * in a body that names the account (`{"cloudtrailCollectorBackfill":1,"accountId",...}`). Ingest accepts that body
 * only from this queue (BACKFILL_QUEUE_ARN), so the policy lets no one else send: principals of this account only
 * (reconcile, with its role's sqs:SendMessage), no SNS topic, TLS only. Not subscribed to any topic. It also keeps
 * a large backfill from delaying live traffic: its mapping runs at MaximumConcurrency 2.
 */
export class BackfillQueue extends Construct {
  readonly queue: Queue;
  readonly deadLetterQueue: Queue;

  constructor(scope: Construct, id: string, props: BackfillQueueProps) {
    super(scope, id);
    ({ queue: this.queue, deadLetterQueue: this.deadLetterQueue } = accountOnlyQueue(this, {
      names: BACKFILL_QUEUE_NAMES,
      retention: Duration.days(14),
      visibilityTimeout: Duration.seconds(6 * props.ingestTimeout.toSeconds()),
      // The receives before the DLQ are the hub queues'.
      maxReceiveCount: HUB_MAX_RECEIVE_COUNT,
      deadLetterReason:
        'This queue is itself the dead-letter queue of the backfill queue; nothing consumes it automatically. A file left there is listed again by the next backfill (the ledger does not hold it), and `verify` reports it.',
    }));
    // Only principals of this account (accountOnlyQueue): a message here names its tenant in its body, which ingest
    // trusts for this queue alone. aws:PrincipalAccount is absent for a service principal, so that denies SNS as
    // well; this statement says so explicitly (SNS delivers as these principals: hubSnsPrincipals).
    for (const queue of [this.queue, this.deadLetterQueue]) {
      queue.addToResourcePolicy(
        new PolicyStatement({
          sid: 'NoSnsTopic',
          effect: Effect.DENY,
          principals: hubSnsPrincipals().map((name) => new ServicePrincipal(name)),
          actions: ['sqs:SendMessage'],
          resources: [queue.queueArn],
        }),
      );
    }
  }

  /** The mapping to the ingest function: small batches, MaximumConcurrency BACKFILL_MAXIMUM_CONCURRENCY. */
  connect(ingest: IFunction): EventSourceMapping {
    const mapping = new EventSourceMapping(this, 'Mapping', {
      target: ingest,
      eventSourceArn: this.queue.queueArn,
      batchSize: BACKFILL_BATCH_SIZE,
      reportBatchItemFailures: true,
      maxConcurrency: BACKFILL_MAXIMUM_CONCURRENCY,
    });
    NagSuppressions.addResourceSuppressions(mapping, [
      {
        id: 'Serverless-LambdaEventSourceMappingDestination',
        reason:
          'Lambda offers on-failure destinations for stream and Kafka event source mappings, not for SQS: a failed message stays in the backfill queue (ReportBatchItemFailures) and its redrive policy moves it to the backfill DLQ.',
      },
    ]);
    return mapping;
  }
}
