/**
 * The hub topology in the emulator: the collector's hub queues (lambdas/shared/topology.ts) and the messages SNS
 * puts in them.
 *
 * moto does not deliver SNS to an SQS queue of another account (its topic delivers into the queue of the topic's
 * own account), so a customer topic cannot reach a hub queue there. `snsNotificationBody` writes what SNS would put
 * in the queue instead, byte for byte: the JSON document of the Amazon SNS Developer Guide ("Fanout to Amazon SQS
 * queues" and "HTTP/HTTPS notification JSON format": Type, MessageId, TopicArn, Subject if published with one,
 * Message, Timestamp, SignatureVersion, Signature, SigningCertURL, UnsubscribeURL, in that order), laid out as
 * SNS lays it out (two-space indent, ` : ` between name and value). The signature is not a real one: ingest does
 * not verify it (docs/reliability.md says why).
 */
import { createHash } from 'node:crypto';
import {
  ListSubscriptionsByTopicCommand,
  UnsubscribeCommand,
  type ListSubscriptionsByTopicCommandOutput,
  type SNSClient,
} from '@aws-sdk/client-sns';
import { CreateQueueCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { topicArn as buildTopicArn } from '../lambdas/shared/arn';
import type { AccountRecord } from '../lambdas/shared/registry';
import { HUB_MAX_RECEIVE_COUNT, hubDeadLetterQueueName, hubQueueName, shardOf } from '../lambdas/shared/topology';
import { BACKFILL_QUEUE_NAMES } from '../lib/names';
import { DEMO_NAMES, queueArn } from './demo-chain';
import { REGION } from './test-emulator';

export interface HubQueue {
  shard: number;
  url: string;
  arn: string;
  dlqUrl: string;
  dlqArn: string;
}

/** Creates `shards` hub queues with their DLQs in the account of `sqs` (the collector's), as the stack does. */
export async function createHubQueues(
  sqs: SQSClient,
  shards: number,
  options: { visibilityTimeoutSeconds?: number; maxReceiveCount?: number } = {},
): Promise<HubQueue[]> {
  const queues: HubQueue[] = [];
  for (let shard = 0; shard < shards; shard += 1) {
    const dlq = await sqs.send(
      new CreateQueueCommand({
        QueueName: hubDeadLetterQueueName(shard),
        Attributes: { SqsManagedSseEnabled: 'true', MessageRetentionPeriod: String(14 * 24 * 3600) },
      }),
    );
    const dlqArn = await queueArn(sqs, dlq.QueueUrl!);
    const queue = await sqs.send(
      new CreateQueueCommand({
        QueueName: hubQueueName(shard),
        Attributes: {
          SqsManagedSseEnabled: 'true',
          MessageRetentionPeriod: String(14 * 24 * 3600),
          VisibilityTimeout: String(options.visibilityTimeoutSeconds ?? 1800),
          RedrivePolicy: JSON.stringify({
            deadLetterTargetArn: dlqArn,
            maxReceiveCount: options.maxReceiveCount ?? HUB_MAX_RECEIVE_COUNT,
          }),
        },
      }),
    );
    queues.push({
      shard,
      url: queue.QueueUrl!,
      arn: await queueArn(sqs, queue.QueueUrl!),
      dlqUrl: dlq.QueueUrl!,
      dlqArn,
    });
  }
  // The stack creates the backfill queue with the hub queues (createBackfillQueue returns it again, with its URL).
  await createBackfillQueue(sqs, options);
  return queues;
}

/**
 * The collector's backfill queue and its DLQ (lib/backfill-queue.construct.ts), in the account of `sqs`, as the stack
 * creates them in the hub topology; creating them again returns the same queues.
 */
export async function createBackfillQueue(
  sqs: SQSClient,
  options: { visibilityTimeoutSeconds?: number; maxReceiveCount?: number } = {},
): Promise<Omit<HubQueue, 'shard'>> {
  const dlq = await sqs.send(
    new CreateQueueCommand({
      QueueName: BACKFILL_QUEUE_NAMES.deadLetterQueue,
      Attributes: { SqsManagedSseEnabled: 'true', MessageRetentionPeriod: String(14 * 24 * 3600) },
    }),
  );
  const dlqArn = await queueArn(sqs, dlq.QueueUrl!);
  const queue = await sqs.send(
    new CreateQueueCommand({
      QueueName: BACKFILL_QUEUE_NAMES.queue,
      Attributes: {
        SqsManagedSseEnabled: 'true',
        MessageRetentionPeriod: String(14 * 24 * 3600),
        VisibilityTimeout: String(options.visibilityTimeoutSeconds ?? 1800),
        RedrivePolicy: JSON.stringify({
          deadLetterTargetArn: dlqArn,
          maxReceiveCount: options.maxReceiveCount ?? HUB_MAX_RECEIVE_COUNT,
        }),
      },
    }),
  );
  return { url: queue.QueueUrl!, arn: await queueArn(sqs, queue.QueueUrl!), dlqUrl: dlq.QueueUrl!, dlqArn };
}

/** What ingest (BACKFILL_QUEUE_ARN) and reconcile (BACKFILL_QUEUE_URL) are told of the backfill queue. */
export function backfillEnv(queue: Pick<HubQueue, 'url' | 'arn'>): Record<string, string> {
  return { BACKFILL_QUEUE_ARN: queue.arn, BACKFILL_QUEUE_URL: queue.url };
}

/** The settings that make ingest treat these queues as hub queues. */
export function hubEnv(queues: readonly HubQueue[]): Record<string, string> {
  return { INGEST_TOPOLOGY: 'hub', HUB_QUEUE_ARNS: queues.map((queue) => queue.arn).join(',') };
}

/** The topic the demo chain creates in an account. */
export function demoTopicArn(accountId: string, region = REGION): string {
  return buildTopicArn(region, accountId, DEMO_NAMES.topic);
}

/** A registry record of an account subscribed to the hub: its topic recorded, its shard of `shards`. */
export function hubAccount(
  accountId: string,
  shards: number,
  extra: Partial<AccountRecord> = {},
): Partial<AccountRecord> {
  return {
    accountId,
    topicArn: demoTopicArn(accountId),
    ingestTopology: 'hub',
    ingestShard: shardOf(accountId, shards),
    ...extra,
  };
}

/** A UUID-shaped id derived from a seed: the same test gives the same bytes. */
function stableUuid(seed: string): string {
  const hex = createHash('sha256').update(seed).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** Lays the fields out as SNS does: one per line, two spaces in, ` : ` between name and JSON value. */
function snsLayout(fields: [string, string][]): string {
  return `{\n${fields.map(([name, value]) => `  ${JSON.stringify(name)} : ${JSON.stringify(value)}`).join(',\n')}\n}`;
}

function signingParts(topicArn: string, seed: string): { region: string; signature: string; certUrl: string } {
  const region = topicArn.split(':')[3] ?? REGION;
  const signature = createHash('sha512').update(`signature ${seed}`).digest('base64');
  const cert = createHash('md5').update(`cert ${region}`).digest('hex');
  return { region, signature, certUrl: `https://sns.${region}.amazonaws.com/SimpleNotificationService-${cert}.pem` };
}

export interface SnsNotificationFields {
  topicArn: string;
  /** What the publisher passed as Message (CloudTrail: its JSON notification). */
  message: string;
  subject?: string;
  messageId?: string;
  timestamp?: string;
  /** The subscription's id, the last part of its ARN. */
  subscriptionId?: string;
}

/** The body SNS puts in a subscribed queue for a notification (raw message delivery off). */
export function snsNotificationBody(fields: SnsNotificationFields): string {
  const seed = `${fields.topicArn} ${fields.message} ${fields.messageId ?? ''}`;
  const { region, signature, certUrl } = signingParts(fields.topicArn, seed);
  const subscription = `${fields.topicArn}:${fields.subscriptionId ?? stableUuid(`sub ${fields.topicArn}`)}`;
  return snsLayout([
    ['Type', 'Notification'],
    ['MessageId', fields.messageId ?? stableUuid(seed)],
    ['TopicArn', fields.topicArn],
    ...(fields.subject !== undefined ? ([['Subject', fields.subject]] as [string, string][]) : []),
    ['Message', fields.message],
    ['Timestamp', fields.timestamp ?? '2026-11-01T00:05:12.345Z'],
    ['SignatureVersion', '1'],
    ['Signature', signature],
    ['SigningCertURL', certUrl],
    ['UnsubscribeURL', `https://sns.${region}.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=${subscription}`],
  ]);
}

/**
 * The body SNS puts in a queue when a topic owner subscribes it (SubscriptionConfirmation) or deletes a
 * subscription to it (UnsubscribeConfirmation): Amazon SNS Developer Guide, "HTTP/HTTPS subscription confirmation
 * JSON format" and "HTTP/HTTPS unsubscribe confirmation JSON format".
 */
export function snsConfirmationBody(
  type: 'SubscriptionConfirmation' | 'UnsubscribeConfirmation',
  fields: { topicArn: string; subscriptionId?: string; timestamp?: string },
): string {
  const seed = `${type} ${fields.topicArn}`;
  const { region, signature, certUrl } = signingParts(fields.topicArn, seed);
  const token = createHash('sha512').update(`token ${seed}`).digest('hex');
  const subscription = `${fields.topicArn}:${fields.subscriptionId ?? stableUuid(`sub ${fields.topicArn}`)}`;
  const message =
    type === 'SubscriptionConfirmation'
      ? `You have chosen to subscribe to the topic ${fields.topicArn}.\nTo confirm the subscription, visit the SubscribeURL included in this message.`
      : `You have chosen to deactivate subscription ${subscription}.\nTo cancel this operation and restore the subscription, visit the SubscribeURL included in this message.`;
  return snsLayout([
    ['Type', type],
    ['MessageId', stableUuid(seed)],
    ['Token', token],
    ['TopicArn', fields.topicArn],
    ['Message', message],
    [
      'SubscribeURL',
      `https://sns.${region}.amazonaws.com/?Action=ConfirmSubscription&TopicArn=${fields.topicArn}&Token=${token}`,
    ],
    ['Timestamp', fields.timestamp ?? '2026-11-01T00:05:12.345Z'],
    ['SignatureVersion', '1'],
    ['Signature', signature],
    ['SigningCertURL', certUrl],
  ]);
}

/** Puts a body in a queue as SNS does (no message attributes without raw delivery); returns the SQS MessageId. */
export async function deliverAsSns(sqs: SQSClient, queueUrl: string, body: string): Promise<string> {
  const sent = await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body }));
  return sent.MessageId!;
}

/**
 * A topic owner's SNS client as SNS behaves and moto does not: ListSubscriptionsByTopic shows every subscription of
 * the topic, also those the collector made from its own account (moto keeps those in the collector's backend and
 * lists them to the collector only: test/integration/reconcile-hub.int.test.ts pins it), and Unsubscribe removes
 * any of them (SNS lets a topic owner delete any subscription of its topic). For the sandbox's and tests' customer
 * admin; the reconcile's own view is reconcile-env.ts's withTopicOwnerListing.
 */
export function topicOwnerView(own: SNSClient, collector: Pick<SNSClient, 'send'>): SNSClient {
  const collectorOwned = new Set<string>();
  const send = async (command: Parameters<SNSClient['send']>[0]): Promise<unknown> => {
    if (command instanceof UnsubscribeCommand && collectorOwned.has(command.input.SubscriptionArn ?? '')) {
      return collector.send(command);
    }
    const answer = await own.send(command);
    if (!(command instanceof ListSubscriptionsByTopicCommand)) return answer;
    const listed = answer as ListSubscriptionsByTopicCommandOutput;
    const theirs = (await collector.send(command)).Subscriptions ?? [];
    const seen = new Set((listed.Subscriptions ?? []).map((subscription) => subscription.SubscriptionArn));
    const extra = theirs.filter((subscription) => !seen.has(subscription.SubscriptionArn));
    for (const subscription of extra) collectorOwned.add(subscription.SubscriptionArn ?? '');
    return { ...listed, Subscriptions: [...(listed.Subscriptions ?? []), ...extra] };
  };
  return new Proxy(own, {
    get: (target, property, receiver): unknown =>
      property === 'send' ? send : (Reflect.get(target, property, receiver) as unknown),
  });
}
