import { Aws, Duration } from 'aws-cdk-lib';
import { AnyPrincipal, Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { NagSuppressions } from 'cdk-nag';
import type { Construct } from 'constructs';

export interface AccountOnlyQueueProps {
  names: { queue: string; deadLetterQueue: string };
  /** How long a message is kept in the queue (its DLQ keeps 14 days, the SQS maximum). */
  retention: Duration;
  /** 6 x the consumer's timeout (Lambda Developer Guide, "Creating and configuring an Amazon SQS event source mapping"). */
  visibilityTimeout: Duration;
  maxReceiveCount: number;
  /** Why the DLQ needs no DLQ of its own (the Serverless-SQSRedrivePolicy suppression, next to the queue). */
  deadLetterReason: string;
}

/**
 * A collector-owned queue whose messages name what they act on (a backfill's account, a reconcile job's), and its
 * DLQ: SSE with SQS-managed keys, TLS only (enforceSSL), and only principals of this account may use either
 * (`aws:PrincipalAccount`, absent for service principals, so no AWS service can send either). The constructs are
 * created in `scope` as `DeadLetterQueue` and `Queue`.
 */
export function accountOnlyQueue(
  scope: Construct,
  props: AccountOnlyQueueProps,
): { queue: Queue; deadLetterQueue: Queue } {
  const deadLetterQueue = new Queue(scope, 'DeadLetterQueue', {
    queueName: props.names.deadLetterQueue,
    encryption: QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    retentionPeriod: Duration.days(14),
  });
  NagSuppressions.addResourceSuppressions(deadLetterQueue, [
    { id: 'Serverless-SQSRedrivePolicy', reason: props.deadLetterReason },
  ]);
  const queue = new Queue(scope, 'Queue', {
    queueName: props.names.queue,
    encryption: QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    retentionPeriod: props.retention,
    visibilityTimeout: props.visibilityTimeout,
    deadLetterQueue: { queue: deadLetterQueue, maxReceiveCount: props.maxReceiveCount },
  });
  for (const each of [queue, deadLetterQueue]) {
    each.addToResourcePolicy(
      new PolicyStatement({
        sid: 'OnlyThisAccount',
        effect: Effect.DENY,
        principals: [new AnyPrincipal()],
        actions: ['sqs:*'],
        resources: [each.queueArn],
        conditions: { StringNotEquals: { 'aws:PrincipalAccount': Aws.ACCOUNT_ID } },
      }),
    );
  }
  return { queue, deadLetterQueue };
}
