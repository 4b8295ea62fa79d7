/**
 * The pure parts of the log archive's notification path: the queue configuration the collector owns on the
 * archive bucket, the queue policy statements that let S3 send to the archive's queue, S3's overlap rule, and
 * the merge of one queue configuration into a bucket's whole notification configuration.
 *
 * - PutBucketNotificationConfiguration "replaces the existing notification configuration with the configuration
 *   you include in the request body" (S3 API Reference, PutBucketNotificationConfiguration): so the document is
 *   read, merged (every other Queue, Topic and Lambda configuration and EventBridgeConfiguration kept as read), and
 *   written whole. S3 first sends a test message to the destination and refuses the document when it cannot.
 * - S3 may publish to the queue only when the queue policy allows the `s3.amazonaws.com` principal
 *   `SQS:SendMessage`, conditioned on `aws:SourceArn` = the bucket and `aws:SourceAccount` = the bucket owner
 *   (S3 User Guide, "Granting permissions to publish event notification messages to a destination").
 * - Two configurations whose event types overlap may not have overlapping prefix and suffix filters (S3 User
 *   Guide, "Configuring event notifications using object key name filtering": S3 rejects such a document). An
 *   overlap is detected here and reported; the collector never writes a document S3 would reject.
 */
import type { NotificationConfiguration, QueueConfiguration, TopicConfiguration } from '@aws-sdk/client-s3';
import { bucketArn as buildBucketArn, tryParseArn } from '../shared/arn';
import type {
  ArchiveTrail,
  NotificationTarget,
  ObservedEventRule,
  ObservedNotificationConfiguration,
} from './archive-types';
import {
  COLLECTOR_SID_PREFIX,
  denyInsecureTransport,
  hubSubscribeStatement,
  INGEST_QUEUE_ACTIONS,
  type PolicyStatement,
} from './policies';
import { ARCHIVE_EVENT_RULE_NAME } from './names';
import type { HubSubscriber } from './path-types';

/** The Id of the collector's queue configuration on an archive bucket. */
export const ARCHIVE_CONFIGURATION_ID = 'cloudtrail-collector-archive';
/** CloudTrail log files (and digests) end in `.json.gz`; digests are told apart by ingest from their key. */
export const ARCHIVE_SUFFIX = '.json.gz';
export const ARCHIVE_EVENTS = ['s3:ObjectCreated:*'];
export const ARCHIVE_S3_SEND_SID = `${COLLECTOR_SID_PREFIX}ArchiveS3Send`;
export const ARCHIVE_INGEST_SID = `${COLLECTOR_SID_PREFIX}IngestReceive`;
export const ARCHIVE_S3_PUBLISH_SID = `${COLLECTOR_SID_PREFIX}ArchiveS3Publish`;

export { ARCHIVE_EVENT_RULE_NAME };
/** The Id of the rule's one target. */
export const ARCHIVE_EVENT_TARGET_ID = 'cloudtrail-collector';
export const ARCHIVE_EVENTS_SEND_SID = `${COLLECTOR_SID_PREFIX}ArchiveEventsSend`;

/** The rule's ARN: a rule on the default bus is `arn:<partition>:events:<region>:<account>:rule/<name>`. */
export function archiveEventRuleArn(partition: string, region: string, account: string): string {
  return `arn:${partition}:events:${region}:${account}:rule/${ARCHIVE_EVENT_RULE_NAME}`;
}

/**
 * The rule's event pattern: S3's Object Created events of the bucket (S3 User Guide, "Amazon S3 event notifications
 * with EventBridge": source `aws.s3`, detail-type `Object Created`, `detail.bucket.name`, `detail.object.key`),
 * with a key prefix (EventBridge User Guide, "Prefix matching"). No suffix: the matchers of one field are
 * alternatives, and a digest or another AWS service's file under the prefix is recognised and acknowledged by
 * ingest unread.
 */
export function archiveEventPattern(bucketName: string, prefix: string): Record<string, unknown> {
  return {
    source: ['aws.s3'],
    'detail-type': ['Object Created'],
    detail: { bucket: { name: [bucketName] }, object: { key: [{ prefix }] } },
  };
}

/** Key order aside, the same JSON value. */
function sameJson(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => sameJson(x, b[i]));
  }
  if (typeof a === 'object' && a !== null && typeof b === 'object' && b !== null) {
    const ka = Object.keys(a).sort();
    const kb = Object.keys(b).sort();
    return (
      sameJson(ka, kb) &&
      ka.every((k) => sameJson((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]))
    );
  }
  return a === b;
}

/**
 * The rule is the collector's as written: enabled, with exactly the wanted pattern, and its one target the wanted
 * queue or topic without a role (EventBridge uses the target's resource policy: "Using resource-based policies for
 * Amazon EventBridge" asks not to set RoleArn for SQS and SNS targets).
 */
export function eventRuleInPlace(
  rule: ObservedEventRule | null,
  wanted: { pattern: Record<string, unknown>; targetArn: string },
): boolean {
  if (rule === null || rule.state !== 'ENABLED' || rule.eventPattern === undefined) return false;
  let pattern: unknown;
  try {
    pattern = JSON.parse(rule.eventPattern);
  } catch {
    return false;
  }
  return (
    sameJson(pattern, wanted.pattern) &&
    rule.targets.some(
      (target) =>
        target.id === ARCHIVE_EVENT_TARGET_ID && target.arn === wanted.targetArn && target.roleArn === undefined,
    )
  );
}

/** What lets the rule deliver to the archive's queue (`sqs:SendMessage`) or topic (`SNS:Publish`). */
export function archiveEventsStatement(targetArn: string, ruleArn: string, action: string): PolicyStatement {
  return {
    Sid: ARCHIVE_EVENTS_SEND_SID,
    Effect: 'Allow',
    Principal: { Service: 'events.amazonaws.com' },
    Action: action,
    Resource: targetArn,
    Condition: { ArnEquals: { 'aws:SourceArn': ruleArn } },
  };
}

/** `<trail prefix>/AWSLogs/`, or `AWSLogs/` for a trail without a prefix (CloudTrail joins them with one `/`). */
export function archivePrefix(trail: Pick<ArchiveTrail, 's3KeyPrefix'>): string {
  return `${trail.s3KeyPrefix ? `${trail.s3KeyPrefix}/` : ''}AWSLogs/`;
}

/** S3's send statement (S3 User Guide, "Granting permissions to publish event notification messages to a destination"). */
export function archiveQueueStatements(input: {
  queueArn: string;
  bucketName: string;
  bucketOwner: string;
  ingestRoleArn?: string;
  /** The EventBridge path: the rule sends (archiveEventsStatement) instead of S3. */
  eventRuleArn?: string;
}): PolicyStatement[] {
  const partition = tryParseArn(input.queueArn)?.partition || 'aws';
  const statements: PolicyStatement[] =
    input.eventRuleArn !== undefined
      ? [archiveEventsStatement(input.queueArn, input.eventRuleArn, 'sqs:SendMessage')]
      : [
          {
            Sid: ARCHIVE_S3_SEND_SID,
            Effect: 'Allow',
            Principal: { Service: 's3.amazonaws.com' },
            Action: 'sqs:SendMessage',
            Resource: input.queueArn,
            Condition: {
              ArnEquals: { 'aws:SourceArn': buildBucketArn(partition, input.bucketName) },
              StringEquals: { 'aws:SourceAccount': input.bucketOwner },
            },
          },
        ];
  if (input.ingestRoleArn !== undefined) {
    statements.push({
      Sid: ARCHIVE_INGEST_SID,
      Effect: 'Allow',
      Principal: { AWS: input.ingestRoleArn },
      Action: [...INGEST_QUEUE_ACTIONS],
      Resource: input.queueArn,
    });
  }
  return statements;
}

/** `s3:ObjectCreated:*` covers `s3:ObjectCreated:Put`; `s3:*`-style wildcards cover what starts like them. */
function eventCovers(pattern: string, event: string): boolean {
  return pattern.endsWith('*') ? event.startsWith(pattern.slice(0, -1)) : pattern === event;
}

export function eventsOverlap(a: readonly string[], b: readonly string[]): boolean {
  return a.some((x) => b.some((y) => eventCovers(x, y) || eventCovers(y, x)));
}

/** Two prefixes overlap when one starts with the other (no prefix: every key); suffixes likewise from the end. */
function prefixesOverlap(a = '', b = ''): boolean {
  return a.startsWith(b) || b.startsWith(a);
}
function suffixesOverlap(a = '', b = ''): boolean {
  return a.endsWith(b) || b.endsWith(a);
}

/** The collector's configuration: to the archive's queue (customer-queue topology) or topic (hub topology). */
export interface WantedConfiguration {
  kind: 'queue' | 'topic';
  arn: string;
  prefix: string;
  suffix: string;
}

/** Every configuration (not the collector's own) that S3 would find overlapping the wanted one. */
export function overlapping(
  notification: ObservedNotificationConfiguration,
  wanted: WantedConfiguration,
): (NotificationTarget & { kind: 'queue' | 'topic' | 'lambda' })[] {
  const all = [
    ...notification.queues.map((t) => ({ ...t, kind: 'queue' as const })),
    ...notification.topics.map((t) => ({ ...t, kind: 'topic' as const })),
    ...notification.lambdas.map((t) => ({ ...t, kind: 'lambda' as const })),
  ];
  return all.filter(
    (target) =>
      target.id !== ARCHIVE_CONFIGURATION_ID &&
      eventsOverlap(target.events, ARCHIVE_EVENTS) &&
      prefixesOverlap(target.prefix, wanted.prefix) &&
      suffixesOverlap(target.suffix, wanted.suffix),
  );
}

/** The collector's configuration is in place: its Id, the queue or topic, every created object, the filter. */
export function hasWanted(notification: ObservedNotificationConfiguration, wanted: WantedConfiguration): boolean {
  return (wanted.kind === 'queue' ? notification.queues : notification.topics).some(
    (queue) =>
      queue.id === ARCHIVE_CONFIGURATION_ID &&
      queue.arn === wanted.arn &&
      queue.events.some((event) => eventCovers(event, 's3:ObjectCreated:Put')) &&
      queue.events.some((event) => eventCovers(event, 's3:ObjectCreated:CompleteMultipartUpload')) &&
      queue.prefix === wanted.prefix &&
      queue.suffix === wanted.suffix,
  );
}

/** The collector's queue (or topic) configuration. */
export function wantedQueueConfiguration(wanted: WantedConfiguration): QueueConfiguration {
  return {
    Id: ARCHIVE_CONFIGURATION_ID,
    QueueArn: wanted.arn,
    Events: [...ARCHIVE_EVENTS] as QueueConfiguration['Events'],
    Filter: {
      Key: {
        FilterRules: [
          { Name: 'prefix', Value: wanted.prefix },
          { Name: 'suffix', Value: wanted.suffix },
        ],
      },
    },
  };
}

export function wantedTopicConfiguration(wanted: WantedConfiguration): TopicConfiguration {
  const { QueueArn, ...rest } = wantedQueueConfiguration(wanted);
  return { ...rest, TopicArn: QueueArn };
}

/**
 * The whole document to write: the existing one with the collector's configuration replaced (by Id, in either
 * list: a move between topologies turns the queue configuration into a topic configuration) or added. Lambda
 * configurations, every other queue and topic configuration and EventBridgeConfiguration are kept exactly as read.
 */
export function mergeNotification(
  existing: NotificationConfiguration,
  wanted: WantedConfiguration,
): NotificationConfiguration {
  const queues = (existing.QueueConfigurations ?? []).filter((queue) => queue.Id !== ARCHIVE_CONFIGURATION_ID);
  const topics = (existing.TopicConfigurations ?? []).filter((topic) => topic.Id !== ARCHIVE_CONFIGURATION_ID);
  if (wanted.kind === 'queue') queues.push(wantedQueueConfiguration(wanted));
  else topics.push(wantedTopicConfiguration(wanted));
  return {
    ...(topics.length > 0 || existing.TopicConfigurations !== undefined ? { TopicConfigurations: topics } : {}),
    ...(queues.length > 0 || existing.QueueConfigurations !== undefined ? { QueueConfigurations: queues } : {}),
    ...(existing.LambdaFunctionConfigurations !== undefined
      ? { LambdaFunctionConfigurations: existing.LambdaFunctionConfigurations }
      : {}),
    ...(existing.EventBridgeConfiguration !== undefined
      ? { EventBridgeConfiguration: existing.EventBridgeConfiguration }
      : {}),
  };
}

/**
 * Hub topology: the archive topic's collector statements. S3 may publish only from the archive bucket of the
 * archive account (S3 User Guide, "Granting permissions to publish event notification messages to a destination":
 * `s3.amazonaws.com`, `SNS:Publish`, `aws:SourceArn` = the bucket, `aws:SourceAccount` = the bucket owner), the
 * collector may subscribe its hub queue (hubSubscribeStatement), and publishing is TLS only (as on every topic of
 * the collector's). Every write carries all of them: a merge replaces all of the collector's statements.
 */
export function archiveTopicStatements(input: {
  topicArn: string;
  bucketName: string;
  bucketOwner: string;
  hubSubscriber: HubSubscriber;
  /** The EventBridge path: the rule publishes (archiveEventsStatement) instead of S3. */
  eventRuleArn?: string;
}): PolicyStatement[] {
  const partition = tryParseArn(input.topicArn)?.partition || 'aws';
  if (input.eventRuleArn !== undefined) {
    return [
      archiveEventsStatement(input.topicArn, input.eventRuleArn, 'SNS:Publish'),
      hubSubscribeStatement(input.topicArn, input.hubSubscriber),
      denyInsecureTransport('SNS:Publish', input.topicArn),
    ];
  }
  return [
    {
      Sid: ARCHIVE_S3_PUBLISH_SID,
      Effect: 'Allow',
      Principal: { Service: 's3.amazonaws.com' },
      Action: 'SNS:Publish',
      Resource: input.topicArn,
      Condition: {
        ArnLike: { 'aws:SourceArn': buildBucketArn(partition, input.bucketName) },
        StringEquals: { 'aws:SourceAccount': input.bucketOwner },
      },
    },
    hubSubscribeStatement(input.topicArn, input.hubSubscriber),
    denyInsecureTransport('SNS:Publish', input.topicArn),
  ];
}
