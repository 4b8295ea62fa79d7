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
} from '@aws-sdk/client-sns';
import { GetQueueAttributesCommand, GetQueueUrlCommand } from '@aws-sdk/client-sqs';
import { arnParts } from '../shared/arn';
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

export async function observeTopic(
  clients: CustomerClients,
  arn: string,
  queueArn: string,
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
    subscriptions: await subscriptions(sns, arn, queueArn),
  });
}

async function subscriptions(
  sns: ReturnType<CustomerClients['sns']>,
  topicArn: string,
  queueArn: string,
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
        });
      }
    }
  } catch (error) {
    return unknown(describeError('ListSubscriptionsByTopic', error));
  }
  // Only the queue's own confirmed subscription is read further: its filter policy can drop notifications.
  const mine = found.find((s) => s.protocol === 'sqs' && s.endpoint === queueArn && !s.pending);
  if (mine !== undefined) {
    try {
      const attributes = await sns.send(new GetSubscriptionAttributesCommand({ SubscriptionArn: mine.arn }));
      mine.filterPolicy = known(attributes.Attributes?.FilterPolicy ?? null);
      if (attributes.Attributes?.RedrivePolicy) mine.redrivePolicy = attributes.Attributes.RedrivePolicy;
      if (attributes.Attributes?.PendingConfirmation === 'true') mine.pending = true;
    } catch (error) {
      mine.filterPolicy = unknown(describeError('GetSubscriptionAttributes', error));
    }
  }
  return known(found);
}

// ---- queues -----------------------------------------------------------------------------------------------

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
    const response = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn', 'Policy', 'RedrivePolicy'] }),
    );
    const attributes = response.Attributes ?? {};
    if (!attributes.QueueArn) return unknown('GetQueueAttributes returned no QueueArn');
    return known({
      name,
      url,
      arn: attributes.QueueArn,
      ...(attributes.Policy ? { policy: attributes.Policy } : {}),
      ...(attributes.RedrivePolicy ? { redrivePolicy: attributes.RedrivePolicy } : {}),
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
        if (m.UUID && m.FunctionArn)
          mappings.push({ uuid: m.UUID, functionArn: m.FunctionArn, state: m.State ?? 'Unknown' });
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
