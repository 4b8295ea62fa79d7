/**
 * PUT_BUCKET_NOTIFICATION, as the log archive's role: (1) the archive queue's policy (hub topology: the archive
 * topic's, with the collector's hub subscribe statement) gets the statement letting S3 send from the bucket (merged: the customer's statements and the collector's other statements are kept); (2) the
 * bucket's notification configuration is read, the collector's one queue configuration merged in, and the whole
 * document written (PutBucketNotificationConfiguration replaces it: S3 API Reference); (3) it is read again and
 * checked: every configuration that was there before is still there, and the collector's is in place. S3 checks the
 * destination with a test message when the document is written, so the policy goes first.
 */
import {
  GetBucketNotificationConfigurationCommand,
  PutBucketNotificationConfigurationCommand,
  type GetBucketNotificationConfigurationCommandOutput,
  type NotificationConfiguration,
} from '@aws-sdk/client-s3';
import { PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import { GetTopicAttributesCommand, SetTopicAttributesCommand } from '@aws-sdk/client-sns';
import { GetQueueAttributesCommand, GetQueueUrlCommand, SetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { arnParts, tryParseArn } from '../shared/arn';
import { CollectorError } from '../shared/errors';
import {
  ARCHIVE_EVENT_TARGET_ID,
  archiveEventPattern,
  archiveEventRuleArn,
  archiveQueueStatements,
  archiveTopicStatements,
  eventRuleInPlace,
  hasWanted,
  mergeNotification,
  type WantedConfiguration,
} from './archive-path';
import type { ArchiveEventRuleParams, ArchiveNotificationParams } from './archive-types';
import type { CustomerClients } from './clients';
import { readEventRule, summarizeNotification } from './observe-archive';
import { isCollectorStatement, mergeCollectorStatements, type PolicyDocument, type PolicyStatement } from './policies';

function documentOf(response: GetBucketNotificationConfigurationCommandOutput): NotificationConfiguration {
  return {
    ...(response.TopicConfigurations !== undefined ? { TopicConfigurations: response.TopicConfigurations } : {}),
    ...(response.QueueConfigurations !== undefined ? { QueueConfigurations: response.QueueConfigurations } : {}),
    ...(response.LambdaFunctionConfigurations !== undefined
      ? { LambdaFunctionConfigurations: response.LambdaFunctionConfigurations }
      : {}),
    ...(response.EventBridgeConfiguration !== undefined
      ? { EventBridgeConfiguration: response.EventBridgeConfiguration }
      : {}),
  };
}

/** The queue policy with the archive statements (same Sid replaced; every other statement kept). */
export async function mergeArchiveQueuePolicy(
  customer: CustomerClients,
  params: { queueName: string; queueArn: string; bucketName: string; eventRuleArn?: string },
  bucketOwner: string,
  ingestRoleArn?: string,
): Promise<void> {
  const sqs = customer.sqs(arnParts(params.queueArn).region);
  const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: params.queueName }));
  const current = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['Policy'] }));
  const existing = current.Attributes?.Policy ? (JSON.parse(current.Attributes.Policy) as PolicyDocument) : undefined;
  const ours = archiveQueueStatements({
    queueArn: params.queueArn,
    bucketName: params.bucketName,
    bucketOwner,
    ...(ingestRoleArn !== undefined ? { ingestRoleArn } : {}),
    ...(params.eventRuleArn !== undefined ? { eventRuleArn: params.eventRuleArn } : {}),
  });
  const sids = new Set(ours.map((statement) => statement.Sid));
  const statements = existing?.Statement ?? [];
  const keptCollector = (Array.isArray(statements) ? statements : [statements]).filter(
    (statement: PolicyStatement) => isCollectorStatement(statement) && !sids.has(statement.Sid),
  );
  await sqs.send(
    new SetQueueAttributesCommand({
      QueueUrl,
      Attributes: { Policy: JSON.stringify(mergeCollectorStatements(existing, [...keptCollector, ...ours])) },
    }),
  );
}

/**
 * Hub topology: the archive topic's policy with S3's publish statement and the collector's hub subscribe
 * statement (same Sids replaced; the customer's statements and the collector's other statements kept).
 */
export async function mergeArchiveTopicPolicy(
  customer: CustomerClients,
  topicArn: string,
  params: {
    bucketName: string;
    hubSubscriber: NonNullable<ArchiveNotificationParams['hubSubscriber']>;
    eventRuleArn?: string;
  },
  bucketOwner: string,
): Promise<void> {
  const sns = customer.sns(arnParts(topicArn).region);
  const current = await sns.send(new GetTopicAttributesCommand({ TopicArn: topicArn }));
  const existing = current.Attributes?.Policy ? (JSON.parse(current.Attributes.Policy) as PolicyDocument) : undefined;
  const ours = archiveTopicStatements({
    topicArn,
    bucketName: params.bucketName,
    bucketOwner,
    hubSubscriber: params.hubSubscriber,
    ...(params.eventRuleArn !== undefined ? { eventRuleArn: params.eventRuleArn } : {}),
  });
  const sids = new Set(ours.map((statement) => statement.Sid));
  const statements = existing?.Statement ?? [];
  const keptCollector = (Array.isArray(statements) ? statements : [statements]).filter(
    (statement: PolicyStatement) => isCollectorStatement(statement) && !sids.has(statement.Sid),
  );
  await sns.send(
    new SetTopicAttributesCommand({
      TopicArn: topicArn,
      AttributeName: 'Policy',
      AttributeValue: JSON.stringify(mergeCollectorStatements(existing, [...keptCollector, ...ours])),
    }),
  );
}

export async function putArchiveNotification(
  customer: CustomerClients,
  params: ArchiveNotificationParams,
  bucketOwner: string,
  ingestRoleArn?: string,
): Promise<void> {
  let wanted: WantedConfiguration;
  if (params.topicArn !== undefined) {
    await mergeArchiveTopicPolicy(customer, params.topicArn, params, bucketOwner);
    wanted = { kind: 'topic', arn: params.topicArn, prefix: params.prefix, suffix: params.suffix };
  } else {
    await mergeArchiveQueuePolicy(customer, params, bucketOwner, ingestRoleArn);
    wanted = { kind: 'queue', arn: params.queueArn, prefix: params.prefix, suffix: params.suffix };
  }
  const s3 = customer.s3(params.region);
  const read = () =>
    s3.send(
      new GetBucketNotificationConfigurationCommand({ Bucket: params.bucketName, ExpectedBucketOwner: bucketOwner }),
    );
  const before = documentOf(await read());
  await s3.send(
    new PutBucketNotificationConfigurationCommand({
      Bucket: params.bucketName,
      ExpectedBucketOwner: bucketOwner,
      NotificationConfiguration: mergeNotification(before, wanted),
    }),
  );
  // Re-check: ours is there, and nothing of what was there before went missing (a concurrent writer, a bad merge).
  const after = await read();
  const lost = lostConfigurations(before, documentOf(after), params);
  if (!hasWanted(summarizeNotification(after), wanted) || lost.length > 0) {
    throw new CollectorError(
      `the notification configuration of ${params.bucketName} read back after the write ` +
        (lost.length > 0
          ? `lacks configurations it had before (${lost.join(', ')}): another writer may have replaced it; restore them`
          : `does not hold the collector's ${wanted.kind} configuration for ${wanted.arn}`),
    );
  }
}

/** Configurations (by Id and target) in `before` that `after` lacks; the collector's own is replaced, not lost. */
function lostConfigurations(
  before: NotificationConfiguration,
  after: NotificationConfiguration,
  params: ArchiveNotificationParams,
): string[] {
  const key = (kind: string, id: string | undefined, arn: string | undefined) =>
    `${kind} ${id ?? '?'} -> ${arn ?? '?'}`;
  const keys = (doc: NotificationConfiguration) =>
    new Set([
      ...(doc.QueueConfigurations ?? [])
        .filter((c) => c.Id !== params.configurationId)
        .map((c) => key('queue', c.Id, c.QueueArn)),
      ...(doc.TopicConfigurations ?? [])
        .filter((c) => c.Id !== params.configurationId)
        .map((c) => key('topic', c.Id, c.TopicArn)),
      ...(doc.LambdaFunctionConfigurations ?? []).map((c) => key('lambda', c.Id, c.LambdaFunctionArn)),
      ...(doc.EventBridgeConfiguration !== undefined ? ['EventBridgeConfiguration'] : []),
    ]);
  const now = keys(after);
  return [...keys(before)].filter((k) => !now.has(k));
}

/**
 * PUT_ARCHIVE_EVENT_RULE, as the log archive's role, when the bucket sends its events to EventBridge: (1) the
 * target's policy lets `events.amazonaws.com` send with `aws:SourceArn` = the rule (merged as above); (2) PutRule
 * on the default bus of the bucket's Region (S3 sends there: S3 User Guide, "Amazon S3 event notifications with
 * EventBridge"), ENABLED, with the collector's pattern; (3) PutTargets, the one target without a RoleArn (EventBridge
 * User Guide, "Using resource-based policies for Amazon EventBridge"); (4) read back and checked. The bucket's
 * notification configuration is not touched.
 */
export async function putArchiveEventRule(
  customer: CustomerClients,
  params: ArchiveEventRuleParams,
  bucketOwner: string,
  ingestRoleArn?: string,
): Promise<void> {
  const targetArn = params.topicArn ?? params.queueArn;
  const partition = tryParseArn(targetArn)?.partition || 'aws';
  const ruleArn = archiveEventRuleArn(partition, params.region, bucketOwner);
  if (params.topicArn !== undefined) {
    await mergeArchiveTopicPolicy(customer, params.topicArn, { ...params, eventRuleArn: ruleArn }, bucketOwner);
  } else {
    await mergeArchiveQueuePolicy(customer, { ...params, eventRuleArn: ruleArn }, bucketOwner, ingestRoleArn);
  }
  const events = customer.events?.(params.region);
  if (events === undefined) throw new CollectorError('no EventBridge client for the archive account');
  const pattern = archiveEventPattern(params.bucketName, params.prefix);
  await events.send(
    new PutRuleCommand({
      Name: params.ruleName,
      EventPattern: JSON.stringify(pattern),
      State: 'ENABLED',
      Description: `cloudtrail-collector: CloudTrail log files written to ${params.bucketName} under ${params.prefix}`,
    }),
  );
  const put = await events.send(
    new PutTargetsCommand({ Rule: params.ruleName, Targets: [{ Id: ARCHIVE_EVENT_TARGET_ID, Arn: targetArn }] }),
  );
  if ((put.FailedEntryCount ?? 0) > 0) {
    const why = (put.FailedEntries ?? []).map((entry) => `${entry.ErrorCode}: ${entry.ErrorMessage}`).join('; ');
    throw new CollectorError(`PutTargets on ${ruleArn} failed for ${targetArn}: ${why}`);
  }
  const observed = await readEventRule(events, params.ruleName);
  if (!eventRuleInPlace(observed, { pattern, targetArn })) {
    throw new CollectorError(
      `the EventBridge rule ${ruleArn} read back after the write is not the collector's (` +
        (observed === null
          ? 'it does not exist)'
          : `state ${observed.state}, targets ${observed.targets.map((target) => target.arn).join(', ') || 'none'})`),
    );
  }
}
