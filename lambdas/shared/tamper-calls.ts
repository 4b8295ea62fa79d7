import { arnParts, parseQueueUrl, tryParseArn } from './arn';
import type { ChainFields } from './registry';

/**
 * The API calls that change the collected chain (docs/operations.md, "Triggers"): one list for ingest, which
 * recognises them in the records it forwards (lambdas/ingest/source/tamper-triggers.ts), for the ingest function's
 * EventBridge path, and for the customer template's EventBridge rule (lib/customer-account.stack.ts), whose pattern
 * is built from it so that it matches exactly these calls.
 *
 * Each call is recognised only on the resource the registry records for the account (ChainFields), by the request
 * parameter CloudTrail logs for it (the API's own parameter name, lower camel case: "CloudTrail record contents",
 * CloudTrail User Guide). Left out, on purpose:
 * - sns:Subscribe, sqs:AddPermission, sns:AddPermission: they add to the chain, they break nothing of it;
 * - KMS (PutKeyPolicy, DisableKey, ScheduleKeyDeletion): the registry records no key, and a key that stops ingest
 *   from reading shows at once as a read error (TRAIL_KMS_UNREADABLE), which reconcile reports but cannot repair;
 * - s3:PutBucketLifecycle, PutBucketAcl and the like: they do not stop delivery or notification (the bucket policy
 *   and the notification configuration do).
 */
export type TamperResource = 'trail' | 'bucket' | 'topic' | 'subscription' | 'queue';

export interface TamperCall {
  /** CloudTrail's `eventSource`. */
  eventSource: string;
  /** CloudTrail's `eventName`. */
  eventName: string;
  /** The chain resource the call acts on, and the request parameter that names it. */
  resource: TamperResource;
  parameter: string;
}

const call = (eventSource: string, resource: TamperResource, parameter: string, names: readonly string[]) =>
  names.map((eventName): TamperCall => ({ eventSource, eventName, resource, parameter }));

export const TAMPER_CALLS: readonly TamperCall[] = [
  // StopLogging, DeleteTrail and UpdateTrail take `Name` (a name or an ARN); the selector calls take `TrailName`.
  ...call('cloudtrail.amazonaws.com', 'trail', 'name', ['StopLogging', 'DeleteTrail', 'UpdateTrail']),
  ...call('cloudtrail.amazonaws.com', 'trail', 'trailName', ['PutEventSelectors', 'PutInsightSelectors']),
  // The API is PutBucketNotificationConfiguration (PutBucketNotification is its deprecated predecessor); which name
  // CloudTrail records for it was not confirmed in the S3 User Guide here, so both are listed.
  ...call('s3.amazonaws.com', 'bucket', 'bucketName', [
    'PutBucketPolicy',
    'DeleteBucketPolicy',
    'DeleteBucket',
    'PutBucketNotification',
    'PutBucketNotificationConfiguration',
  ]),
  ...call('sns.amazonaws.com', 'topic', 'topicArn', ['SetTopicAttributes', 'DeleteTopic', 'RemovePermission']),
  // A subscription's ARN is `<topic ARN>:<id>`: any subscription of the registered topic (the registry does not
  // record the subscription's id), the queue's one among them.
  ...call('sns.amazonaws.com', 'subscription', 'subscriptionArn', ['Unsubscribe', 'SetSubscriptionAttributes']),
  ...call('sqs.amazonaws.com', 'queue', 'queueUrl', ['SetQueueAttributes', 'DeleteQueue', 'RemovePermission']),
];

/**
 * EventBridge's `source` of CloudTrail events from each event source: `aws.` and the service's prefix
 * ("AWS service events delivered via AWS CloudTrail", EventBridge User Guide: `aws.cloudtrail` for
 * `cloudtrail.amazonaws.com`).
 */
export function eventBridgeSourceOf(eventSource: string): string {
  return `aws.${eventSource.slice(0, eventSource.indexOf('.'))}`;
}

/** What a recognised call says: which call, on which registered resource. */
export interface TamperMatch {
  eventSource: string;
  eventName: string;
  resourceArn: string;
  /** CloudTrail's `eventTime` (ISO), when the record has one. */
  eventTime?: string;
}

/** The fields of a CloudTrail record (or of an EventBridge event's `detail`) the recogniser reads. */
export interface CallRecord {
  eventSource?: unknown;
  eventName?: unknown;
  errorCode?: unknown;
  awsRegion?: unknown;
  eventTime?: unknown;
  recipientAccountId?: unknown;
  requestParameters?: unknown;
}

/**
 * Whether a CloudTrail record is one of TAMPER_CALLS, made successfully (no `errorCode`: "CloudTrail record
 * contents", a failed call carries one) in `accountId` (its `recipientAccountId`, when present), on the resource
 * `chain` records for that account. Undefined otherwise: another account's record, another resource of the same
 * kind, a failed call, or any other call.
 */
export function matchTamperCall(record: CallRecord, accountId: string, chain: ChainFields): TamperMatch | undefined {
  if (typeof record.eventSource !== 'string' || typeof record.eventName !== 'string') return undefined;
  if (record.errorCode !== undefined && record.errorCode !== null) return undefined;
  if (record.recipientAccountId !== undefined && record.recipientAccountId !== accountId) return undefined;
  const params = record.requestParameters;
  if (typeof params !== 'object' || params === null) return undefined;
  const region = typeof record.awsRegion === 'string' ? record.awsRegion : '';
  for (const known of TAMPER_CALLS) {
    if (known.eventSource !== record.eventSource || known.eventName !== record.eventName) continue;
    const value = (params as Record<string, unknown>)[known.parameter];
    if (typeof value !== 'string') return undefined;
    const resourceArn = registeredResource(known.resource, value, region, accountId, chain);
    if (resourceArn === undefined) return undefined;
    return {
      eventSource: known.eventSource,
      eventName: known.eventName,
      resourceArn,
      ...(typeof record.eventTime === 'string' ? { eventTime: record.eventTime } : {}),
    };
  }
  return undefined;
}

/** The registered resource's ARN when `value` (the request parameter) names it; undefined otherwise. */
function registeredResource(
  kind: TamperResource,
  value: string,
  region: string,
  accountId: string,
  chain: ChainFields,
): string | undefined {
  switch (kind) {
    case 'trail': {
      const trail = chain.trailArn;
      if (trail === undefined) return undefined;
      if (value.startsWith('arn:')) return value === trail ? trail : undefined;
      // A bare name names the trail of the Region the call was made in (a trail's calls go to its home Region).
      const { region: home, name } = arnParts(trail);
      return value === name && region === home ? trail : undefined;
    }
    case 'bucket': {
      const bucket = chain.bucketName;
      if (bucket === undefined || value !== bucket) return undefined;
      return `arn:${tryParseArn(chain.trailArn ?? chain.topicArn ?? '')?.partition ?? 'aws'}:s3:::${bucket}`;
    }
    case 'topic':
      return chain.topicArn !== undefined && value === chain.topicArn ? chain.topicArn : undefined;
    case 'subscription':
      return chain.topicArn !== undefined && value.startsWith(`${chain.topicArn}:`) ? value : undefined;
    case 'queue': {
      const queue = chain.queueArn;
      if (queue === undefined) return undefined;
      const { region: queueRegion, accountId: owner, name } = arnParts(queue);
      // Only the account's own queue: in the hub topology the registry's queue is the collector's.
      if (owner !== accountId || region !== queueRegion) return undefined;
      try {
        const url = parseQueueUrl(value);
        return url.accountId === owner && url.queueName === name ? queue : undefined;
      } catch {
        return undefined;
      }
    }
  }
}

/** The collector's event bus that customers' rules forward TAMPER_CALLS to (lib/collector.stack.ts). */
export const TAMPER_EVENT_BUS_NAME = 'cloudtrail-collector-tamper-calls';
/** The rule the customer template creates on each account's default bus; the bus policy admits only it. */
export const TAMPER_RULE_NAME = 'cloudtrail-collector-tamper-calls';
/** EventBridge's detail-type of CloudTrail-recorded API calls ("AWS service events delivered via AWS CloudTrail"). */
export const API_CALL_DETAIL_TYPE = 'AWS API Call via CloudTrail';

/**
 * The EventBridge event pattern matching exactly TAMPER_CALLS, when they succeeded: one `$or` branch per service
 * (its `source` and `eventSource`, and only its own event names, so `RemovePermission` of SNS and SQS match but
 * Lambda's does not), and `errorCode` absent ("exists": false matches a field that is not in the event; "Content
 * filtering in Amazon EventBridge event patterns", EventBridge User Guide). The customer's rule and the
 * collector bus's rule both use it.
 */
export function tamperEventPattern(): Record<string, unknown> {
  const bySource = new Map<string, string[]>();
  for (const { eventSource, eventName } of TAMPER_CALLS) {
    const names = bySource.get(eventSource) ?? [];
    if (!names.includes(eventName)) names.push(eventName);
    bySource.set(eventSource, names);
  }
  return {
    'detail-type': [API_CALL_DETAIL_TYPE],
    $or: [...bySource].map(([eventSource, eventName]) => ({
      source: [eventBridgeSourceOf(eventSource)],
      detail: { eventSource: [eventSource], eventName, errorCode: [{ exists: false }] },
    })),
  };
}

/** The EventBridge sources of TAMPER_CALLS (the bus policy's `events:source` condition). */
export function tamperEventSources(): string[] {
  return [...new Set(TAMPER_CALLS.map((c) => eventBridgeSourceOf(c.eventSource)))];
}
