/**
 * observe: read-only calls through the account's assumed role (and, for event source mappings, the collector's
 * own Lambda client). Every call that fails makes its part `{ known: false }`; "absent" is only ever concluded
 * from an explicit not-found answer (HeadBucket 404, NotFound, QueueDoesNotExist), never from an error.
 *
 * Calls for a healthy account (own trail, default chain, ingest function configured): 10, in 4 sequential
 * steps (branches run in parallel):
 *   DescribeTrails -> GetTrailStatus (one per trail)
 *     -> HeadBucket -> GetBucketPolicy
 *     -> GetTopicAttributes -> ListSubscriptionsByTopic -> GetSubscriptionAttributes (the queue's subscription)
 *   GetQueueUrl -> GetQueueAttributes                                  (in parallel with the trail branch)
 *   ListEventSourceMappings (collector account)                        (in parallel with the trail branch)
 * GetEventSelectors is called only for trails with custom selectors (the default selector is "all management
 * events, no data events"); buckets and topics other than the trail's are probed only when one must be created.
 * Plus one AssumeRole per account per credential lifetime (cached).
 */
import {
  DescribeTrailsCommand,
  ListTrailsCommand,
  GetEventSelectorsCommand,
  GetTrailStatusCommand,
  type GetEventSelectorsCommandOutput,
  type Trail,
} from '@aws-sdk/client-cloudtrail';
import { ListEventSourceMappingsCommand } from '@aws-sdk/client-lambda';
import { GetBucketPolicyCommand, HeadBucketCommand, ListBucketsCommand, type S3Client } from '@aws-sdk/client-s3';
import {
  GetSubscriptionAttributesCommand,
  GetTopicAttributesCommand,
  ListSubscriptionsByTopicCommand,
} from '@aws-sdk/client-sns';
import { GetQueueAttributesCommand, GetQueueUrlCommand } from '@aws-sdk/client-sqs';
import { awsErrorName, errorMessage } from '../shared/errors';
import type { CollectorClients, CustomerClients } from './clients';
import { arnParts, queueArn as buildQueueArn, topicArn as buildTopicArn } from '../shared/arn';
import { CHAIN_NAMES } from './names';
import { archiveCollecting, bucketCreationCandidates, selectCollectionTrail } from './trail-selection';
import {
  known,
  unknown,
  type BucketProbe,
  type EventSelectorSummary,
  type Observation,
  type ObservedEventSourceMapping,
  type ObservedQueue,
  type ObservedState,
  type ObservedSubscription,
  type ObservedTopic,
  type ObservedTrail,
  type PlanContext,
  type TrailStatus,
} from './types';

const NOT_FOUND = {
  bucket: ['NotFound', 'NoSuchBucket'],
  bucketPolicy: ['NoSuchBucketPolicy'],
  topic: ['NotFound', 'NotFoundException'],
  queue: ['QueueDoesNotExist', 'AWS.SimpleQueueService.NonExistentQueue'],
};

/** Everything observe reads for one account. `collector` is only needed when an ingest function is configured. */
export async function observeAccount(
  clients: CustomerClients,
  ctx: PlanContext,
  collector?: CollectorClients,
): Promise<ObservedState> {
  const state: ObservedState = {
    accountId: ctx.accountId,
    region: ctx.region,
    trails: unknown('not observed'),
    buckets: {},
    topics: {},
    queues: {},
  };
  const queueArn = buildQueueArn(ctx.region, ctx.accountId, CHAIN_NAMES.queue);
  await Promise.all([
    observeTrailChain(clients, ctx, state, queueArn),
    observeQueues(clients, ctx, state),
    ctx.ingestFunctionArn !== undefined && collector !== undefined
      ? listEventSourceMappings(collector, queueArn).then((esms) => {
          state.eventSourceMappings = esms;
        })
      : undefined,
  ]);
  return state;
}

// ---- trails, and the bucket and topic of the trail the planner will use ----------------------------------

async function observeTrailChain(clients: CustomerClients, ctx: PlanContext, state: ObservedState, queueArn: string) {
  state.trails = await observeTrails(clients, ctx.region);
  if (!state.trails.known) return;
  const selection = selectCollectionTrail(state.trails.value, {
    accountId: ctx.accountId,
    region: ctx.region,
    ...(ctx.recorded.trailArn !== undefined ? { recordedTrailArn: ctx.recorded.trailArn } : {}),
  });
  const probeTopic = async (arn: string): Promise<Observation<ObservedTopic | null>> => {
    const topic = await observeTopic(clients, arn, queueArn);
    state.topics[arn] = topic;
    return topic;
  };
  const probe = async (name: string, region: string, withPolicy: boolean): Promise<Observation<BucketProbe>> => {
    const existing = state.buckets[name];
    if (existing !== undefined) return existing;
    const result = await probeBucket(clients.s3(region), name, ctx.accountId, withPolicy);
    state.buckets[name] = result;
    return result;
  };
  // The same candidates, in the same order, as the planner's bucketCreation.
  const probeCandidates = async (): Promise<void> => {
    const candidates = bucketCreationCandidates(ctx.accountId, ctx.recorded.generatedBucketName, ctx.freshBucketName);
    const first = await probe(candidates.first, ctx.region, true);
    const unusable = first.known && (first.value.state === 'forbidden' || first.value.state === 'foreign');
    if (unusable && candidates.fallback !== undefined) {
      await probe(candidates.fallback, ctx.region, true);
    }
  };

  if (selection.kind === 'create') {
    await Promise.all([probeCandidates(), probeTopic(buildTopicArn(ctx.region, ctx.accountId, CHAIN_NAMES.topic))]);
    return;
  }
  if (selection.kind !== 'existing' || archiveCollecting(selection.trail, ctx.logArchives)) return;
  const trail = selection.trail;
  const defaultTopic = buildTopicArn(trail.homeRegion, ctx.accountId, CHAIN_NAMES.topic);
  await Promise.all([
    (async () => {
      if (trail.bucketName === undefined) return probeCandidates();
      // The bucket's region is unknown until asked; the trail's home region is the usual one.
      const current = await probe(trail.bucketName, trail.homeRegion, true);
      // Gone, or its name taken over by another account: a bucket must be created (or a reserved one reused).
      if (current.known && (current.value.state === 'absent' || current.value.state === 'foreign'))
        await probeCandidates();
    })(),
    (async () => {
      if (trail.topicArn === undefined) return void (await probeTopic(defaultTopic));
      const current = await probeTopic(trail.topicArn);
      if (current.known && current.value === null && trail.topicArn !== defaultTopic) await probeTopic(defaultTopic);
    })(),
  ]);
}

/** Trails of the account that DescribeTrails in `region` did not show, described in their home regions. */
async function trailsHomedElsewhere(
  clients: CustomerClients,
  region: string,
  seen: Set<string | undefined>,
): Promise<Observation<Trail[]>> {
  const missing = new Map<string, string[]>();
  try {
    let nextToken: string | undefined;
    do {
      const page = await clients.cloudTrail(region).send(new ListTrailsCommand({ NextToken: nextToken }));
      for (const info of page.Trails ?? []) {
        if (!info.TrailARN || seen.has(info.TrailARN) || !info.HomeRegion) continue;
        missing.set(info.HomeRegion, [...(missing.get(info.HomeRegion) ?? []), info.TrailARN]);
      }
      nextToken = page.NextToken;
    } while (nextToken);
  } catch (error) {
    return unknown(describeError('ListTrails', error));
  }
  const found: Trail[] = [];
  for (const [homeRegion, arns] of missing) {
    try {
      const response = await clients
        .cloudTrail(homeRegion)
        .send(new DescribeTrailsCommand({ trailNameList: arns, includeShadowTrails: false }));
      found.push(...(response.trailList ?? []));
    } catch (error) {
      return unknown(describeError('DescribeTrails', error));
    }
  }
  return known(found);
}

async function observeTrails(clients: CustomerClients, region: string): Promise<Observation<ObservedTrail[]>> {
  let trailList: Trail[];
  try {
    // includeShadowTrails: multi-region trails homed elsewhere and organization trails count for the cost guard.
    const response = await clients.cloudTrail(region).send(new DescribeTrailsCommand({ includeShadowTrails: true }));
    trailList = response.trailList ?? [];
  } catch (error) {
    return unknown(describeError('DescribeTrails', error));
  }
  // A single-region trail homed in another region is not a shadow trail here, yet it logs management events in
  // its region: a multi-region outcomes-trail would bill a second copy there. ListTrails sees every region.
  const elsewhere = await trailsHomedElsewhere(clients, region, new Set(trailList.map((trail) => trail.TrailARN)));
  if (!elsewhere.known) return elsewhere;
  trailList = [...trailList, ...elsewhere.value];
  const visibleHere = new Set(trailList.filter((trail) => !elsewhere.value.includes(trail)).map((t) => t.TrailARN));
  const trails = await Promise.all(
    trailList
      .filter((trail): trail is Trail & { TrailARN: string } => typeof trail.TrailARN === 'string')
      .map(async (trail): Promise<ObservedTrail> => {
        const arn = trail.TrailARN;
        const parts = arnParts(arn);
        const homeRegion = trail.HomeRegion ?? parts.region;
        const [status, selectors] = await Promise.all([
          trailStatus(clients, visibleHere.has(arn) ? region : homeRegion, arn),
          trail.HasCustomEventSelectors === false
            ? Promise.resolve(known<EventSelectorSummary>({ managementEvents: true, dataEvents: false }))
            : eventSelectors(clients, homeRegion, arn),
        ]);
        return {
          arn,
          name: trail.Name ?? parts.name,
          homeRegion,
          ownerAccountId: parts.accountId,
          isMultiRegion: trail.IsMultiRegionTrail === true,
          isOrganization: trail.IsOrganizationTrail === true,
          ...(trail.S3BucketName ? { bucketName: trail.S3BucketName } : {}),
          ...(trail.SnsTopicARN ? { topicArn: trail.SnsTopicARN } : {}),
          hasInsightSelectors: trail.HasInsightSelectors === true,
          ...(trail.CloudWatchLogsLogGroupArn ? { cloudWatchLogsLogGroupArn: trail.CloudWatchLogsLogGroupArn } : {}),
          status,
          selectors,
        };
      }),
  );
  return known(trails);
}

async function trailStatus(clients: CustomerClients, region: string, arn: string): Promise<Observation<TrailStatus>> {
  try {
    // By ARN: CloudTrail answers for shadow trails from any region they replicate to.
    const status = await clients.cloudTrail(region).send(new GetTrailStatusCommand({ Name: arn }));
    return known({
      isLogging: status.IsLogging === true,
      ...(status.LatestDeliveryError ? { latestDeliveryError: status.LatestDeliveryError } : {}),
      ...(status.LatestNotificationError ? { latestNotificationError: status.LatestNotificationError } : {}),
    });
  } catch (error) {
    return unknown(describeError('GetTrailStatus', error));
  }
}

async function eventSelectors(
  clients: CustomerClients,
  homeRegion: string,
  arn: string,
): Promise<Observation<EventSelectorSummary>> {
  try {
    // In the trail's home region: not every region answers for a shadow trail's selectors.
    return known(
      summarizeSelectors(await clients.cloudTrail(homeRegion).send(new GetEventSelectorsCommand({ TrailName: arn }))),
    );
  } catch (error) {
    return unknown(describeError('GetEventSelectors', error));
  }
}

/** Basic or advanced selectors reduced to "logs management events" and "logs data events". */
export function summarizeSelectors(
  response: Pick<GetEventSelectorsCommandOutput, 'EventSelectors' | 'AdvancedEventSelectors'>,
): EventSelectorSummary {
  const advanced = response.AdvancedEventSelectors ?? [];
  if (advanced.length > 0) {
    const categories = advanced.flatMap((selector) =>
      (selector.FieldSelectors ?? [])
        .filter((field) => field.Field === 'eventCategory')
        .flatMap((field) => field.Equals ?? []),
    );
    return { managementEvents: categories.includes('Management'), dataEvents: categories.includes('Data') };
  }
  const basic = response.EventSelectors ?? [];
  // No selectors at all is CloudTrail's default: all management events, no data events.
  if (basic.length === 0) return { managementEvents: true, dataEvents: false };
  return {
    managementEvents: basic.some((selector) => selector.IncludeManagementEvents !== false),
    dataEvents: basic.some((selector) => (selector.DataResources ?? []).length > 0),
  };
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
    let token: string | undefined;
    do {
      const page = await s3.send(new ListBucketsCommand({ Prefix: bucket, ContinuationToken: token }));
      if ((page.Buckets ?? []).some((b) => b.Name === bucket)) return true;
      token = page.ContinuationToken;
    } while (token);
    return false;
  } catch {
    return undefined;
  }
}

// ---- topic and subscriptions ------------------------------------------------------------------------------

async function observeTopic(
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
    let nextToken: string | undefined;
    do {
      const page = await sns.send(new ListSubscriptionsByTopicCommand({ TopicArn: topicArn, NextToken: nextToken }));
      for (const s of page.Subscriptions ?? []) {
        const arn = s.SubscriptionArn ?? '';
        found.push({
          arn,
          protocol: s.Protocol ?? '',
          endpoint: s.Endpoint ?? '',
          pending: arn === 'PendingConfirmation' || arn === '',
        });
      }
      nextToken = page.NextToken;
    } while (nextToken);
  } catch (error) {
    return unknown(describeError('ListSubscriptionsByTopic', error));
  }
  // Only the queue's own confirmed subscription is read further: its filter policy can drop notifications.
  const mine = found.find((s) => s.protocol === 'sqs' && s.endpoint === queueArn && !s.pending);
  if (mine !== undefined) {
    try {
      const attributes = await sns.send(new GetSubscriptionAttributesCommand({ SubscriptionArn: mine.arn }));
      mine.filterPolicy = known(attributes.Attributes?.FilterPolicy ?? null);
      if (attributes.Attributes?.PendingConfirmation === 'true') mine.pending = true;
    } catch (error) {
      mine.filterPolicy = unknown(describeError('GetSubscriptionAttributes', error));
    }
  }
  return known(found);
}

// ---- queues -----------------------------------------------------------------------------------------------

async function observeQueues(clients: CustomerClients, ctx: PlanContext, state: ObservedState): Promise<void> {
  const sqs = clients.sqs(ctx.region);
  state.queues[CHAIN_NAMES.queue] = await observeQueue(sqs, CHAIN_NAMES.queue, true);
  const main = state.queues[CHAIN_NAMES.queue];
  if (main?.known && main.value === null) {
    // The queue must be re-created, and needs the DLQ's ARN.
    state.queues[CHAIN_NAMES.dlq] = await observeQueue(sqs, CHAIN_NAMES.dlq, false);
  } else if (main?.known && main.value) {
    // Its depth feeds DLQ_NOT_EMPTY and the dead-letter alarm; the URL is the queue's with the DLQ's name,
    // so this costs one call, not two.
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
      new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn', 'ApproximateNumberOfMessages'] }),
    );
    const attributes = response.Attributes ?? {};
    return known({
      name: CHAIN_NAMES.dlq,
      url,
      arn: attributes.QueueArn ?? '',
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

async function listEventSourceMappings(
  collector: CollectorClients,
  queueArn: string,
): Promise<Observation<ObservedEventSourceMapping[]>> {
  const mappings: ObservedEventSourceMapping[] = [];
  try {
    let marker: string | undefined;
    do {
      // Filtered by queue only: FunctionName filters compare names and ARNs inconsistently across versions.
      const page = await collector.lambda.send(
        new ListEventSourceMappingsCommand({ EventSourceArn: queueArn, Marker: marker }),
      );
      for (const m of page.EventSourceMappings ?? []) {
        if (m.UUID && m.FunctionArn)
          mappings.push({ uuid: m.UUID, functionArn: m.FunctionArn, state: m.State ?? 'Unknown' });
      }
      marker = page.NextMarker;
    } while (marker);
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
