/**
 * observe, part by part: the read-only calls for a bucket, a topic and its subscriptions, the queues and the
 * event source mappings, and the one pagination helper every listing call uses. Every call that fails makes
 * its part `{ known: false }`; "absent" is only concluded from an explicit not-found answer.
 */
import { ListEventSourceMappingsCommand, type ListEventSourceMappingsCommandInput } from '@aws-sdk/client-lambda';
import {
  GetBucketPolicyCommand,
  HeadBucketCommand,
  ListBucketsCommand,
  type ListBucketsCommandInput,
  type S3Client,
} from '@aws-sdk/client-s3';
import {
  GetSubscriptionAttributesCommand,
  GetTopicAttributesCommand,
  ListSubscriptionsByTopicCommand,
  type ListSubscriptionsByTopicCommandInput,
  type SNSClient,
} from '@aws-sdk/client-sns';
import { GetQueueAttributesCommand, GetQueueUrlCommand } from '@aws-sdk/client-sqs';
import { arnParts, queueArn as buildQueueArn } from '../shared/arn';
import { awsErrorName, errorMessage } from '../shared/errors';
import type { CollectorClients, CustomerClients } from './clients';
import { CHAIN_NAMES } from './names';
import {
  known,
  unknown,
  type BucketProbe,
  type Observation,
  type ObservedEventSourceMapping,
  type ObservedQueue,
  type ObservedState,
  type ObservedSubscription,
  type ObservedTopic,
  type PlanContext,
} from './types';

const NOT_FOUND = {
  bucket: ['NotFound', 'NoSuchBucket'],
  bucketPolicy: ['NoSuchBucketPolicy'],
  topic: ['NotFound', 'NotFoundException'],
  queue: ['QueueDoesNotExist', 'AWS.SimpleQueueService.NonExistentQueue'],
};

/**
 * Every page of a listing call, each sent with the previous page's token. The SDK's own `paginateXxx` helpers
 * insist on a real client instance, which the fakes behind the clients seam (clients.ts) are not.
 */
export async function* pages<Input extends object, Output extends object>(
  send: (input: Input) => Promise<Output>,
  input: NoInfer<Input>,
  inputToken: keyof NoInfer<Input> & string,
  outputToken: keyof NoInfer<Output> & string,
): AsyncGenerator<Output> {
  let token: unknown;
  do {
    const page = await send({ ...input, [inputToken]: token });
    yield page;
    token = page[outputToken];
  } while (token);
}

// ---- bucket -----------------------------------------------------------------------------------------------

/** HeadBucket (and GetBucketPolicy) with ExpectedBucketOwner: a bucket of another account is never read. */
export async function probeBucket(
  s3: Pick<S3Client, 'send'>,
  bucket: string,
  accountId: string,
  withPolicy: boolean,
): Promise<Observation<BucketProbe>> {
  try {
    await s3.send(new HeadBucketCommand({ Bucket: bucket, ExpectedBucketOwner: accountId }));
  } catch (error) {
    const status = httpStatus(error);
    if (status === 404 || NOT_FOUND.bucket.includes(awsErrorName(error) ?? '')) return known({ state: 'absent' });
    if (status === 403 || ['Forbidden', 'AccessDenied'].includes(awsErrorName(error) ?? '')) {
      return known({ state: (await ownsBucket(s3, bucket)) === false ? 'foreign' : 'forbidden' });
    }
    return unknown(describeError('HeadBucket', error));
  }
  if (!withPolicy) return known({ state: 'owned' });
  try {
    const policy = await s3.send(new GetBucketPolicyCommand({ Bucket: bucket, ExpectedBucketOwner: accountId }));
    return known({ state: 'owned', policy: known(policy.Policy ?? null) });
  } catch (error) {
    if (NOT_FOUND.bucketPolicy.includes(awsErrorName(error) ?? ''))
      return known({ state: 'owned', policy: known(null) });
    return known({ state: 'owned', policy: unknown(describeError('GetBucketPolicy', error)) });
  }
}

/**
 * After a 403, tells "another account owns this name" from "ours, but it denies the role": the account's own
 * ListBuckets holds exactly the buckets it owns. undefined when ListBuckets itself fails (needs
 * s3:ListAllMyBuckets): then ownership stays undetermined.
 */
async function ownsBucket(s3: Pick<S3Client, 'send'>, bucket: string): Promise<boolean | undefined> {
  try {
    const listing = pages(
      (input: ListBucketsCommandInput) => s3.send(new ListBucketsCommand(input)),
      { Prefix: bucket },
      'ContinuationToken',
      'ContinuationToken',
    );
    for await (const page of listing) if ((page.Buckets ?? []).some((b) => b.Name === bucket)) return true;
    return false;
  } catch {
    return undefined;
  }
}

// ---- topic and subscriptions ------------------------------------------------------------------------------

/**
 * The hub subscription's attributes are read by its owner, the collector: SNS answers another account's
 * GetSubscriptionAttributes, the topic owner's included, with AuthorizationError "Not authorized to access this
 * subscription" (seen by ansible-collections/community.aws#1418 for a cross-account subscription).
 */
export interface HubSubscriptionReader {
  endpoint: string;
  /** The collector's client in the topic's Region. */
  sns(region: string): Pick<SNSClient, 'send'>;
}

/** The hub topology's reader of the account's hub subscription, when the collector's clients are at hand. */
export function hubSubscriptionReader(
  ctx: PlanContext,
  collector: CollectorClients | undefined,
): HubSubscriptionReader | undefined {
  if (ctx.hub === undefined || collector === undefined) return undefined;
  return { endpoint: ctx.hub.queueArn, sns: (region) => collector.sns(region) };
}

export async function observeTopic(
  clients: CustomerClients,
  arn: string,
  queueArn: string,
  hub?: HubSubscriptionReader,
): Promise<Observation<ObservedTopic | null>> {
  const sns = clients.sns(arnParts(arn).region);
  let policy: string | undefined;
  try {
    const attributes = await sns.send(new GetTopicAttributesCommand({ TopicArn: arn }));
    policy = attributes.Attributes?.Policy;
  } catch (error) {
    if (NOT_FOUND.topic.includes(awsErrorName(error) ?? '') || httpStatus(error) === 404) return known(null);
    return unknown(describeError('GetTopicAttributes', error));
  }
  return known({
    arn,
    ...(policy !== undefined ? { policy } : {}),
    subscriptions: await subscriptions(
      sns,
      arn,
      queueArn,
      hub && { endpoint: hub.endpoint, client: hub.sns(arnParts(arn).region) },
    ),
  });
}

async function subscriptions(
  sns: ReturnType<CustomerClients['sns']>,
  topicArn: string,
  queueArn: string,
  hub?: { endpoint: string; client: Pick<SNSClient, 'send'> },
): Promise<Observation<ObservedSubscription[]>> {
  const found: ObservedSubscription[] = [];
  try {
    const listing = pages(
      (input: ListSubscriptionsByTopicCommandInput) => sns.send(new ListSubscriptionsByTopicCommand(input)),
      { TopicArn: topicArn },
      'NextToken',
      'NextToken',
    );
    for await (const page of listing) {
      for (const s of page.Subscriptions ?? []) {
        const arn = s.SubscriptionArn ?? '';
        found.push({
          arn,
          protocol: s.Protocol ?? '',
          endpoint: s.Endpoint ?? '',
          pending: arn === 'PendingConfirmation' || arn === '',
          ...(arn === 'Deleted' ? { deleted: true as const } : {}),
          ...(s.Owner ? { owner: s.Owner } : {}),
        });
      }
    }
  } catch (error) {
    return unknown(describeError('ListSubscriptionsByTopic', error));
  }
  // Only the chain's own confirmed subscriptions are read further: a filter policy can drop notifications, a
  // raw hub subscription makes them poison. The queue's by the customer role, the hub queue's by the collector.
  const live = (endpoint: string) =>
    found.find((s) => s.protocol === 'sqs' && s.endpoint === endpoint && !s.pending && s.deleted !== true);
  const reads: [ObservedSubscription | undefined, Pick<SNSClient, 'send'>][] = [[live(queueArn), sns]];
  if (hub !== undefined) reads.push([live(hub.endpoint), hub.client]);
  await Promise.all(
    reads.map(async ([subscription, reader]) => {
      if (subscription !== undefined) await readSubscriptionAttributes(reader, subscription);
    }),
  );
  return known(found);
}

async function readSubscriptionAttributes(sns: Pick<SNSClient, 'send'>, subscription: ObservedSubscription) {
  try {
    const response = await sns.send(new GetSubscriptionAttributesCommand({ SubscriptionArn: subscription.arn }));
    const attributes = response.Attributes ?? {};
    subscription.filterPolicy = known(attributes.FilterPolicy ?? null);
    if (attributes.RedrivePolicy) subscription.redrivePolicy = attributes.RedrivePolicy;
    if (attributes.PendingConfirmation === 'true') subscription.pending = true;
    if (attributes.RawMessageDelivery !== undefined)
      subscription.rawMessageDelivery = attributes.RawMessageDelivery === 'true';
  } catch (error) {
    subscription.filterPolicy = unknown(describeError('GetSubscriptionAttributes', error));
  }
}

// ---- queues -----------------------------------------------------------------------------------------------

/**
 * The queues, and the collector's mappings of outcomesqueue (when an ingest function is configured). In the hub
 * topology the account has no queue of the collector's: they are read only while a customer-queue path may be
 * left to retire (nothing recorded as hub yet, or the old queue still recorded), and the mappings (Lambda's
 * control plane: 15 requests a second per account) only when that queue exists.
 */
export async function observeQueuesAndMappings(
  clients: CustomerClients,
  ctx: PlanContext,
  state: ObservedState,
  collector?: CollectorClients,
  snapshot?: readonly ObservedEventSourceMapping[],
): Promise<void> {
  const queueArn = buildQueueArn(ctx.region, ctx.accountId, CHAIN_NAMES.queue);
  const mappings = async () => {
    if (ctx.ingestFunctionArn === undefined) return;
    // The sweep's listing holds only the ingest function's mappings: the only ones the rules look at
    // (rules/kit.ts collectorMappings).
    if (snapshot !== undefined) state.eventSourceMappings = known([...snapshot]);
    else if (collector !== undefined) state.eventSourceMappings = await listEventSourceMappings(collector, queueArn);
  };
  if (ctx.hub === undefined) {
    await Promise.all([observeQueues(clients, ctx, state), mappings()]);
    return;
  }
  if (ctx.recorded.ingestTopology === 'hub' && ctx.recorded.queueArn === undefined) return;
  await observeQueues(clients, ctx, state);
  const queue = state.queues[CHAIN_NAMES.queue];
  if (queue?.known === true && queue.value !== null) await mappings();
}

export async function observeQueues(clients: CustomerClients, ctx: PlanContext, state: ObservedState): Promise<void> {
  const sqs = clients.sqs(ctx.region);
  state.queues[CHAIN_NAMES.queue] = await observeQueue(sqs, CHAIN_NAMES.queue, true);
  const main = state.queues[CHAIN_NAMES.queue];
  if (main?.known && main.value === null) {
    // The queue must be re-created, and needs the DLQ's ARN.
    state.queues[CHAIN_NAMES.dlq] = await observeQueue(sqs, CHAIN_NAMES.dlq, false);
  } else if (main?.known && main.value) {
    // Its depth feeds DLQ_NOT_EMPTY and the dead-letter alarm, its policy whether SNS may park a failed
    // notification there; the URL is the queue's with the DLQ's name, so this costs one call, not two.
    state.queues[CHAIN_NAMES.dlq] = await observeDeadLetterQueue(sqs, main.value.url);
  }
}

async function observeDeadLetterQueue(
  sqs: ReturnType<CustomerClients['sqs']>,
  queueUrl: string,
): Promise<Observation<ObservedQueue | null>> {
  const url = `${queueUrl.slice(0, queueUrl.lastIndexOf('/') + 1)}${CHAIN_NAMES.dlq}`;
  try {
    const response = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: url,
        AttributeNames: ['QueueArn', 'ApproximateNumberOfMessages', 'Policy'],
      }),
    );
    const attributes = response.Attributes ?? {};
    return known({
      name: CHAIN_NAMES.dlq,
      url,
      arn: attributes.QueueArn ?? '',
      ...(attributes.Policy ? { policy: attributes.Policy } : {}),
      messages: Number(attributes.ApproximateNumberOfMessages ?? '0'),
    });
  } catch (error) {
    if (NOT_FOUND.queue.includes(awsErrorName(error) ?? '')) return known(null);
    return unknown(describeError('GetQueueAttributes', error));
  }
}

async function observeQueue(
  sqs: ReturnType<CustomerClients['sqs']>,
  name: string,
  withAttributes: boolean,
): Promise<Observation<ObservedQueue | null>> {
  let url: string;
  try {
    const response = await sqs.send(new GetQueueUrlCommand({ QueueName: name }));
    url = response.QueueUrl ?? '';
  } catch (error) {
    if (NOT_FOUND.queue.includes(awsErrorName(error) ?? '')) return known(null);
    return unknown(describeError('GetQueueUrl', error));
  }
  if (!withAttributes) return known({ name, url, arn: '' });
  try {
    // The depth decides when a retired queue is drained (rules/migration.ts); it costs no extra call.
    const response = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: url,
        AttributeNames: [
          'QueueArn',
          'Policy',
          'RedrivePolicy',
          'ApproximateNumberOfMessages',
          'ApproximateNumberOfMessagesNotVisible',
        ],
      }),
    );
    const attributes = response.Attributes ?? {};
    if (!attributes.QueueArn) return unknown('GetQueueAttributes returned no QueueArn');
    const count = (value: string | undefined) =>
      value !== undefined && /^\d+$/.test(value) ? Number(value) : undefined;
    const messages = count(attributes.ApproximateNumberOfMessages);
    const messagesInFlight = count(attributes.ApproximateNumberOfMessagesNotVisible);
    return known({
      name,
      url,
      arn: attributes.QueueArn,
      ...(attributes.Policy ? { policy: attributes.Policy } : {}),
      ...(attributes.RedrivePolicy ? { redrivePolicy: attributes.RedrivePolicy } : {}),
      ...(messages !== undefined ? { messages } : {}),
      ...(messagesInFlight !== undefined ? { messagesInFlight } : {}),
    });
  } catch (error) {
    if (NOT_FOUND.queue.includes(awsErrorName(error) ?? '')) return known(null);
    return unknown(describeError('GetQueueAttributes', error));
  }
}

// ---- event source mappings (collector account) ------------------------------------------------------------

export async function listEventSourceMappings(
  collector: CollectorClients,
  queueArn: string,
): Promise<Observation<ObservedEventSourceMapping[]>> {
  const mappings: ObservedEventSourceMapping[] = [];
  try {
    // Filtered by queue only: FunctionName filters compare names and ARNs inconsistently across versions.
    const listing = pages(
      (input: ListEventSourceMappingsCommandInput) => collector.lambda.send(new ListEventSourceMappingsCommand(input)),
      { EventSourceArn: queueArn },
      'Marker',
      'NextMarker',
    );
    for await (const page of listing) {
      for (const m of page.EventSourceMappings ?? []) {
        if (m.UUID && m.FunctionArn) {
          const maximumConcurrency = m.ScalingConfig?.MaximumConcurrency;
          mappings.push({
            uuid: m.UUID,
            functionArn: m.FunctionArn,
            state: m.State ?? 'Unknown',
            ...(maximumConcurrency !== undefined ? { maximumConcurrency } : {}),
          });
        }
      }
    }
  } catch (error) {
    return unknown(describeError('ListEventSourceMappings', error));
  }
  return known(mappings);
}

// ---- errors -----------------------------------------------------------------------------------------------

function httpStatus(error: unknown): number | undefined {
  const metadata = (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata;
  return metadata?.httpStatusCode;
}

export function describeError(call: string, error: unknown): string {
  const name = awsErrorName(error);
  return `${call} failed: ${name && name !== 'Error' ? `${name}: ` : ''}${errorMessage(error)}`;
}
