/**
 * observe, for a registered log archive: the archive bucket's notification configuration
 * (GetBucketNotificationConfiguration, with ExpectedBucketOwner = the archive) and the trail that delivers into it.
 * One call. The trail comes from the archive's own DescribeTrails when AWS shows it there (member accounts see the
 * organization trail: CloudTrail User Guide, "Creating a trail for an organization"), else from the registered
 * organization's item (`organizations add|sync` read it in the management account).
 *
 * GetBucketNotificationConfiguration answers `EventBridgeConfiguration` when the bucket sends its events to
 * EventBridge (S3 API Reference, NotificationConfiguration; S3 User Guide, "Enabling Amazon EventBridge").
 */
import { DescribeRuleCommand, ListTargetsByRuleCommand, type EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { GetBucketNotificationConfigurationCommand } from '@aws-sdk/client-s3';
import type { FilterRule, GetBucketNotificationConfigurationCommandOutput } from '@aws-sdk/client-s3';
import { ARCHIVE_EVENT_RULE_NAME } from './archive-path';
import type {
  ArchiveTrail,
  NotificationTarget,
  ObservedArchive,
  ObservedEventRule,
  ObservedNotificationConfiguration,
} from './archive-types';
import type { CustomerClients } from './clients';
import { queueArn as buildQueueArn, topicArn as buildTopicArn } from '../shared/arn';
import { awsErrorName } from '../shared/errors';
import { CHAIN_NAMES } from './names';
import { describeError, observeTopic, type HubSubscriptionReader } from './observe-resources';
import { known, unknown, type ObservedState, type PlanContext } from './types';

/** The trail delivering into the archive bucket: DescribeTrails (an organization trail first), else the registry. */
export function archiveTrail(state: Pick<ObservedState, 'trails'>, ctx: PlanContext): ArchiveTrail | undefined {
  const archive = ctx.logArchive;
  if (archive === undefined) return undefined;
  const seen = state.trails.known
    ? [...state.trails.value]
        .filter((trail) => trail.bucketName === archive.bucketName)
        .sort((a, b) => Number(b.isOrganization) - Number(a.isOrganization))[0]
    : undefined;
  if (seen !== undefined) {
    return {
      trailArn: seen.arn,
      homeRegion: seen.homeRegion,
      ...(seen.s3KeyPrefix !== undefined ? { s3KeyPrefix: seen.s3KeyPrefix } : {}),
      ...(seen.topicArn !== undefined ? { snsTopicArn: seen.topicArn } : {}),
      source: 'describe-trails',
    };
  }
  return archive.trail;
}

function filterValue(rules: FilterRule[] | undefined, name: 'prefix' | 'suffix'): string | undefined {
  // S3 answers the rule names as written ("prefix"/"Prefix"): compared without case.
  return rules?.find((rule) => rule.Name?.toLowerCase() === name)?.Value;
}

function targets(
  configurations: readonly { Id?: string; Events?: string[]; Filter?: { Key?: { FilterRules?: FilterRule[] } } }[],
  arnOf: (configuration: never) => string | undefined,
): NotificationTarget[] {
  return configurations.map((configuration) => {
    const rules = configuration.Filter?.Key?.FilterRules;
    const prefix = filterValue(rules, 'prefix');
    const suffix = filterValue(rules, 'suffix');
    return {
      ...(configuration.Id !== undefined ? { id: configuration.Id } : {}),
      arn: arnOf(configuration as never) ?? '',
      events: [...(configuration.Events ?? [])],
      ...(prefix !== undefined ? { prefix } : {}),
      ...(suffix !== undefined ? { suffix } : {}),
    };
  });
}

/** The configuration as the rule judges it. */
export function summarizeNotification(
  response: Omit<GetBucketNotificationConfigurationCommandOutput, '$metadata'>,
): ObservedNotificationConfiguration {
  return {
    queues: targets(response.QueueConfigurations ?? [], (c: { QueueArn?: string }) => c.QueueArn),
    topics: targets(response.TopicConfigurations ?? [], (c: { TopicArn?: string }) => c.TopicArn),
    lambdas: targets(
      response.LambdaFunctionConfigurations ?? [],
      (c: { LambdaFunctionArn?: string }) => c.LambdaFunctionArn,
    ),
    eventBridge: response.EventBridgeConfiguration !== undefined,
  };
}

/**
 * Reads the archive bucket's notification configuration into `state.archive` (unknown on any error); in the hub
 * topology also the archive's topic in the bucket's Region (policy, and the hub queue's subscription read with the
 * collector's role), unless the trail chain read it already.
 */
export async function observeArchive(
  clients: CustomerClients,
  ctx: PlanContext,
  state: ObservedState,
  hub?: HubSubscriptionReader,
): Promise<void> {
  const archive = ctx.logArchive;
  if (archive === undefined) return;
  const trail = archiveTrail(state, ctx);
  const region = trail?.homeRegion ?? ctx.region;
  if (ctx.hub !== undefined) {
    const topicArn = buildTopicArn(region, ctx.accountId, CHAIN_NAMES.topic);
    const queueArn = buildQueueArn(ctx.region, ctx.accountId, CHAIN_NAMES.queue);
    state.topics[topicArn] ??= await observeTopic(clients, topicArn, queueArn, hub);
  }
  try {
    const response = await clients.s3(region).send(
      new GetBucketNotificationConfigurationCommand({
        Bucket: archive.bucketName,
        ExpectedBucketOwner: ctx.accountId,
      }),
    );
    const notification = summarizeNotification(response);
    state.archive = known({
      bucketName: archive.bucketName,
      region,
      notification,
      ...(trail !== undefined ? { trail } : {}),
      ...(notification.eventBridge ? { eventRule: await observeEventRule(clients, region) } : {}),
    });
  } catch (error) {
    state.archive = unknown(describeError('GetBucketNotificationConfiguration', error));
  }
}

/**
 * The collector's rule on the archive's default event bus (DescribeRule, then ListTargetsByRule): null when
 * EventBridge answers ResourceNotFoundException (EventBridge API Reference, DescribeRule).
 */
export async function observeEventRule(
  clients: CustomerClients,
  region: string,
): Promise<NonNullable<ObservedArchive['eventRule']>> {
  const events = clients.events?.(region);
  if (events === undefined) return { known: false, error: 'no EventBridge client for the archive account' };
  try {
    return { known: true, value: await readEventRule(events, ARCHIVE_EVENT_RULE_NAME) };
  } catch (error) {
    return { known: false, error: describeError('DescribeRule', error) };
  }
}

/** A rule of the default bus and its targets; null when there is no such rule (ResourceNotFoundException). */
export async function readEventRule(
  events: Pick<EventBridgeClient, 'send'>,
  name: string,
): Promise<ObservedEventRule | null> {
  try {
    const rule = await events.send(new DescribeRuleCommand({ Name: name }));
    const targets = await events.send(new ListTargetsByRuleCommand({ Rule: name }));
    return {
      arn: rule.Arn ?? '',
      state: rule.State ?? 'UNKNOWN',
      ...(rule.EventPattern !== undefined ? { eventPattern: rule.EventPattern } : {}),
      targets: (targets.Targets ?? []).map((target) => ({
        id: target.Id ?? '',
        arn: target.Arn ?? '',
        ...(target.RoleArn !== undefined ? { roleArn: target.RoleArn } : {}),
      })),
    };
  } catch (error) {
    if (awsErrorName(error) === 'ResourceNotFoundException') return null;
    throw error;
  }
}
