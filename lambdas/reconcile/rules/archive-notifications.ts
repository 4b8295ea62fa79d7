/**
 * The log archive's collection path (issue 12, "Collecting from the central bucket"): for an account registered
 * as log archive (logArchiveFor holds `o-<id>` and/or logArchiveBucket is set), every member's log file written
 * into the archive bucket is announced by an S3 event notification. Customer-queue topology: on the archive's own
 * `outcomesqueue`, which feeds the ingest function through the collector's event source mapping. Hub topology
 * (hubArchivePath below): on the archive's `outcomestopic` in the bucket's Region, subscribed to the archive's hub
 * shard queue; ingest binds the envelope to the archive by its TopicArn. Either way ingest reads with the archive's
 * role and binds the keys to the organization's members (lambdas/ingest/source/tenant.ts).
 *
 * No trail is ever created, started or changed in the archive account: the organization trail logs its
 * management events too. The rule replaces the trail chain for the account and stops it.
 *
 * Why S3 event notifications rather than the organization trail's topic: the topic lives in the management account
 * (Control Tower: `aws-controltower-AllConfigNotifications` in the Audit account, which also carries every AWS
 * Config notification), and subscribing the archive's queue to it takes a topic policy there allowing the archive
 * to `sns:Subscribe`, which the collector's read-only management role cannot write, and Control Tower asks that its
 * resources are not changed (its guide allows subscribing, but the topic carries every Config notification of the
 * organization: "extremely noisy, by design"). S3 notifications need nothing outside the archive account and announce exactly the
 * `.json.gz` files under `<prefix>/AWSLogs/`. When the bucket already sends its events to EventBridge (and the
 * collector's configuration is not there), an EventBridge rule on the archive's default bus is the path instead
 * (PUT_ARCHIVE_EVENT_RULE: the bucket's notification configuration is left exactly as it is; S3's events reach the
 * default bus of the bucket's Region at no charge). docs/customer-setup.md, "Organization trails and a log archive
 * account".
 */
import { topicArn as buildTopicArn, tryParseArn } from '../../shared/arn';
import {
  ARCHIVE_CONFIGURATION_ID,
  ARCHIVE_EVENT_RULE_NAME,
  ARCHIVE_SUFFIX,
  archiveEventPattern,
  archiveEventRuleArn,
  archivePrefix,
  archiveQueueStatements,
  archiveTopicStatements,
  eventRuleInPlace,
  hasWanted,
  overlapping,
  type WantedConfiguration,
} from '../archive-path';
import { CHAIN_NAMES } from '../names';
import type { ArchiveTrail, ObservedArchive } from '../archive-types';
import { NOT_OBSERVED, type FindingCode } from '../types';
import { eventSourceMappingRule } from './esm';
import { planHubSubscription, hubSubscriptionRule } from './hub';
import {
  draft,
  finding,
  hasStatements,
  hubSubscriber,
  incomplete,
  keys,
  none,
  type ActionDraft,
  type Rule,
  type RuleInput,
  type RuleOutput,
  type TopicDecision,
} from './kit';
import { queueRule } from './queue';

const OWN_CODES: readonly FindingCode[] = [
  'ARCHIVE_NOTIFICATIONS_MISSING',
  'ARCHIVE_NOTIFICATIONS_OVERLAP',
  'ARCHIVE_PATH_BLOCKED',
  'ARCHIVE_EVENTBRIDGE_RULE_NEEDED',
];

export const archiveNotificationsRule: Rule = {
  name: 'archive-notifications',
  // It decides the account's trail part (none: the organization trail is collected from the archive bucket).
  part: 'trail',
  phase: 'chain',
  codes: [
    ...new Set<FindingCode>([
      ...OWN_CODES,
      ...queueRule.codes,
      ...eventSourceMappingRule.codes,
      'TOPIC_MISSING',
      'TOPIC_POLICY_INVALID',
      ...hubSubscriptionRule.codes,
    ]),
  ],
  description:
    "a log archive's bucket announces every member's log file to the archive's queue (S3 event notification, merged)",
  check(input) {
    const { ctx, observed } = input;
    const archive = ctx.logArchive;
    if (archive === undefined) return none();
    const out = none();
    const stop = (): RuleOutput => ({ ...out, stop: 'chain' });
    const bucket = archive.bucketName;
    const probe = observed.archive ?? NOT_OBSERVED;
    if (!probe.known) {
      out.findings.push(incomplete(bucket, "the archive bucket's notification configuration", probe.error));
      return stop();
    }
    const seen = probe.value;
    if (seen.trail === undefined) {
      out.findings.push(
        finding(
          'ARCHIVE_PATH_BLOCKED',
          'high',
          bucket,
          `no trail delivering into ${bucket} is known (neither this account's DescribeTrails nor a registered ` +
            'organization names one), so the key prefix of the notification filter is unknown; nothing is changed. ' +
            'Run organizations sync, or check --log-archive-bucket',
        ),
      );
      return stop();
    }
    // Hub topology: bucket -> the archive's topic -> its hub shard queue (hub queues accept only SNS envelopes).
    if (ctx.hub !== undefined) return hubArchivePath(input, seen.trail, seen);
    if (seen.region !== ctx.region) {
      out.findings.push(
        finding(
          'ARCHIVE_PATH_BLOCKED',
          'high',
          bucket,
          `${bucket} is in ${seen.region} and the archive's queue in ${ctx.region}: S3 sends event notifications ` +
            'only to a queue in the bucket\'s Region (S3 User Guide, "Supported event destinations"). Run the ' +
            `collector in ${seen.region}`,
        ),
      );
      return stop();
    }

    // The queue and its dead-letter queue, as for any account; no topic is judged against its policy.
    const queued = queueRule.check({ ...input, decided: {} });
    out.findings.push(...queued.findings);
    out.actions.push(...queued.actions);
    const queueArn = queued.decided?.queue?.queueArn;
    if (queueArn === undefined) return stop();

    const wanted: WantedConfiguration = {
      kind: 'queue',
      arn: queueArn,
      prefix: archivePrefix(seen.trail),
      suffix: ARCHIVE_SUFFIX,
    };
    const statements = archiveQueueStatements({
      queueArn,
      bucketName: bucket,
      bucketOwner: ctx.accountId,
      ...(ctx.ingestRoleArn !== undefined ? { ingestRoleArn: ctx.ingestRoleArn } : {}),
    });
    const queue = observed.queues[CHAIN_NAMES.queue];
    const policy = queue?.known && queue.value !== null ? (queue.value.policy ?? null) : null;
    const policyInPlace = hasStatements(policy, statements);
    const configured = hasWanted(seen.notification, wanted);

    if (seen.notification.eventBridge && !configured) {
      const queueMissing = queue?.known === true && queue.value === null;
      const viaRule = eventBridgeQueuePath(input, seen, { queueArn, prefix: wanted.prefix, policy, queueMissing });
      if (viaRule === undefined) {
        out.findings.push(incomplete(bucket, "the archive's EventBridge rule", eventRuleError(seen)));
        return stop();
      }
      out.findings.push(...viaRule.findings);
      out.actions.push(...viaRule.actions);
      const decidedQueue = queued.decided?.queue ?? { queueArn, created: false };
      const mapped = eventSourceMappingRule.check({ ...input, decided: { queue: decidedQueue } });
      out.findings.push(...mapped.findings);
      out.actions.push(...mapped.actions);
      return { ...out, decided: { queue: decidedQueue, ...mapped.decided }, stop: 'chain' };
    }

    const notify = (reason: FindingCode) =>
      draft(
        'PUT_BUCKET_NOTIFICATION',
        {
          bucketName: bucket,
          region: seen.region,
          queueName: CHAIN_NAMES.queue,
          queueArn,
          prefix: wanted.prefix,
          suffix: wanted.suffix,
          configurationId: ARCHIVE_CONFIGURATION_ID,
        },
        {
          resource: bucket,
          reason,
          part: 'queue',
          needs: [keys.queue(queueArn)],
          provides: [keys.queuePolicy(queueArn)],
        },
      );
    if (!configured) {
      const conflicts = overlapping(seen.notification, wanted);
      if (conflicts.length > 0) {
        out.findings.push(overlapFinding(bucket, conflicts, wanted));
        return stop();
      }
      out.findings.push(
        finding(
          'ARCHIVE_NOTIFICATIONS_MISSING',
          'high',
          bucket,
          `${bucket} does not announce the log files under ${wanted.prefix} to ${queueArn}; the collector merges one ` +
            'queue configuration into its notification configuration (every other configuration is kept)' +
            (seen.trail.snsTopicArn !== undefined
              ? `. The trail's topic ${seen.trail.snsTopicArn} is not used: subscribing to it needs its owner's ` +
                'topic policy to allow this account, which the collector cannot write'
              : ''),
        ),
      );
      out.actions.push(notify('ARCHIVE_NOTIFICATIONS_MISSING'));
    } else if (!policyInPlace && queue?.known && queue.value === null) {
      // The queue is re-created (QUEUE_MISSING above): its policy is written again by the same action.
      out.actions.push(notify('QUEUE_MISSING'));
    } else if (!policyInPlace && queue?.known) {
      out.findings.push(
        finding(
          'QUEUE_POLICY_INVALID',
          'high',
          queueArn,
          `the queue policy does not let S3 send from ${bucket} (aws:SourceArn, aws:SourceAccount)` +
            (ctx.ingestRoleArn !== undefined ? ' or the ingest role receive' : ''),
        ),
      );
      out.actions.push(notify('QUEUE_POLICY_INVALID'));
    }

    const decidedQueue = queued.decided?.queue ?? { queueArn, created: false };
    const mapped = eventSourceMappingRule.check({ ...input, decided: { queue: decidedQueue } });
    out.findings.push(...mapped.findings);
    out.actions.push(...mapped.actions);
    return { ...out, decided: { queue: decidedQueue, ...mapped.decided }, stop: 'chain' };
  },
};

/**
 * The EventBridge path, customer-queue topology: the collector's rule on the archive's default bus sends the
 * bucket's Object Created events under the prefix to `outcomesqueue`, whose policy lets `events.amazonaws.com`
 * send with `aws:SourceArn` = the rule ("Using resource-based policies for Amazon EventBridge", Amazon SQS
 * permissions). Undefined when the rule could not be read.
 */
function eventBridgeQueuePath(
  input: RuleInput,
  seen: ObservedArchive,
  target: { queueArn: string; prefix: string; policy: string | null; queueMissing: boolean },
): RuleOutput | undefined {
  const { ctx } = input;
  const ruleArn = archiveEventRuleArn(partitionOf(target.queueArn), seen.region, ctx.accountId);
  const statements = archiveQueueStatements({
    queueArn: target.queueArn,
    bucketName: seen.bucketName,
    bucketOwner: ctx.accountId,
    eventRuleArn: ruleArn,
    ...(ctx.ingestRoleArn !== undefined ? { ingestRoleArn: ctx.ingestRoleArn } : {}),
  });
  const params = {
    bucketName: seen.bucketName,
    region: seen.region,
    prefix: target.prefix,
    ruleName: ARCHIVE_EVENT_RULE_NAME,
    queueName: CHAIN_NAMES.queue,
    queueArn: target.queueArn,
  };
  const reason = eventRuleReason(seen, ruleArn, target.queueArn, hasStatements(target.policy, statements), 'queue');
  if (reason === 'unknown') return undefined;
  if (reason === undefined) return none();
  // A queue this plan re-creates (QUEUE_MISSING, reported by the queue rule) gets its statement from this action.
  const findings = reason.code === 'QUEUE_POLICY_INVALID' && target.queueMissing ? [] : [reason];
  return {
    findings,
    actions: [
      draft('PUT_ARCHIVE_EVENT_RULE', params, {
        resource: ruleArn,
        reason: findings.length === 0 ? 'QUEUE_MISSING' : reason.code,
        part: 'queue',
        needs: [keys.queue(target.queueArn)],
        provides: [keys.queuePolicy(target.queueArn)],
      }),
    ],
  };
}

/**
 * What is wrong with the rule or the target's policy: ARCHIVE_EVENTBRIDGE_RULE_NEEDED when the rule is missing or
 * not as written, QUEUE_POLICY_INVALID / TOPIC_POLICY_INVALID when only the policy lacks the events statement;
 * undefined when both are in place, 'unknown' when the rule could not be read.
 */
const partitionOf = (arn: string) => tryParseArn(arn)?.partition || 'aws';

function eventRuleError(seen: ObservedArchive): string {
  const probe = seen.eventRule;
  return probe !== undefined && !probe.known ? probe.error : 'the rule was not read';
}

function eventRuleReason(
  seen: ObservedArchive,
  ruleArn: string,
  targetArn: string,
  policyInPlace: boolean,
  kind: 'queue' | 'topic',
): ReturnType<typeof finding> | 'unknown' | undefined {
  const probe = seen.eventRule;
  if (probe === undefined || !probe.known) return 'unknown';
  const prefix = archivePrefix(seen.trail ?? {});
  const pattern = archiveEventPattern(seen.bucketName, prefix);
  if (!eventRuleInPlace(probe.value, { pattern, targetArn })) {
    const what =
      probe.value === null
        ? 'there is no such rule'
        : `the rule is ${probe.value.state}, or its pattern or target is not the collector's`;
    return finding(
      'ARCHIVE_EVENTBRIDGE_RULE_NEEDED',
      'high',
      seen.bucketName,
      `${seen.bucketName} sends its events to Amazon EventBridge, so the collector leaves its notification ` +
        `configuration alone and collects through its rule ${ruleArn} on the default bus (Object Created under ` +
        `${prefix}, to ${targetArn}): ${what}. The collector writes ` +
        `the rule, its one target and the ${kind} policy statement letting EventBridge send (aws:SourceArn = the rule)`,
    );
  }
  if (policyInPlace) return undefined;
  return finding(
    kind === 'queue' ? 'QUEUE_POLICY_INVALID' : 'TOPIC_POLICY_INVALID',
    'high',
    targetArn,
    `the ${kind} policy does not let EventBridge send from ${ruleArn} (events.amazonaws.com, aws:SourceArn)`,
  );
}

function overlapFinding(bucket: string, conflicts: ReturnType<typeof overlapping>, wanted: WantedConfiguration) {
  return finding(
    'ARCHIVE_NOTIFICATIONS_OVERLAP',
    'high',
    bucket,
    `${bucket} already has ${conflicts
      .map(
        (c) =>
          `a ${c.kind} configuration ${c.id ?? '(no id)'} -> ${c.arn} (${c.events.join(',')}, prefix ` +
          `"${c.prefix ?? ''}", suffix "${c.suffix ?? ''}")`,
      )
      .join('; ')} overlapping the collector's (s3:ObjectCreated:*, prefix "${wanted.prefix}", suffix ` +
      `"${wanted.suffix}"): S3 rejects overlapping filters for the same event type, so nothing is changed. ` +
      'Narrow that configuration, or send its events through one SNS topic both can subscribe to',
  );
}

/**
 * The hub topology's path: the bucket sends a topic configuration's events to the archive's `outcomestopic` in the
 * bucket's Region (S3 sends to a topic only in the bucket's Region: S3 User Guide, "Supported event destinations"),
 * created when missing (CREATE_TOPIC); PUT_BUCKET_NOTIFICATION writes the topic policy (S3's publish statement,
 * aws:SourceArn = the bucket, aws:SourceAccount = the archive, and the collector's hub subscribe statement) before
 * the bucket's configuration; the collector subscribes the topic to the archive's hub shard queue (planHubSubscription,
 * as for a trail's topic), after the registry binds the topic to the archive (reconcile.ts guardHubBinding). Ingest
 * then reads an S3 event notification inside an SNS envelope, bound to the archive by its TopicArn, and binds each
 * key to the organization's members (lambdas/ingest/source/tenant.ts).
 */
function hubArchivePath(input: RuleInput, trail: ArchiveTrail, seen: ObservedArchive): RuleOutput {
  const { ctx, observed } = input;
  const out = none();
  const stop = (): RuleOutput => ({ ...out, stop: 'chain' });
  const bucket = seen.bucketName;
  const subscriber = hubSubscriber(ctx)!;
  const topicArn = buildTopicArn(seen.region, ctx.accountId, CHAIN_NAMES.topic);
  const wanted: WantedConfiguration = {
    kind: 'topic',
    arn: topicArn,
    prefix: archivePrefix(trail),
    suffix: ARCHIVE_SUFFIX,
  };
  const probe = observed.topics[topicArn] ?? NOT_OBSERVED;
  if (!probe.known) {
    out.findings.push(incomplete(topicArn, "the archive's topic", probe.error));
    return stop();
  }
  const configured = hasWanted(seen.notification, wanted);
  // The bucket sends its events to EventBridge: the collector's rule publishes them to the topic instead.
  const viaRule = seen.notification.eventBridge && !configured;
  const ruleArn = archiveEventRuleArn(partitionOf(topicArn), seen.region, ctx.accountId);
  const created = probe.value === null;
  const statements = archiveTopicStatements({
    topicArn,
    bucketName: bucket,
    bucketOwner: ctx.accountId,
    hubSubscriber: subscriber,
    ...(viaRule ? { eventRuleArn: ruleArn } : {}),
  });
  const policyInPlace = probe.value !== null && hasStatements(probe.value.policy ?? null, statements);
  let notified: ActionDraft | undefined;
  const options = (reason: FindingCode) => ({
    resource: viaRule ? ruleArn : bucket,
    reason,
    part: 'topic' as const,
    needs: [keys.topic(topicArn)],
    provides: [keys.topicPolicy(topicArn)],
  });
  const notify = (reason: FindingCode): ActionDraft => {
    notified ??= viaRule
      ? draft(
          'PUT_ARCHIVE_EVENT_RULE',
          {
            bucketName: bucket,
            region: seen.region,
            prefix: wanted.prefix,
            ruleName: ARCHIVE_EVENT_RULE_NAME,
            topicArn,
            hubSubscriber: subscriber,
          },
          options(reason),
        )
      : draft(
          'PUT_BUCKET_NOTIFICATION',
          {
            bucketName: bucket,
            region: seen.region,
            topicArn,
            hubSubscriber: subscriber,
            prefix: wanted.prefix,
            suffix: wanted.suffix,
            configurationId: ARCHIVE_CONFIGURATION_ID,
          },
          options(reason),
        );
    return notified;
  };
  let reason: FindingCode | undefined;
  if (viaRule) {
    const wrong = eventRuleReason(seen, ruleArn, topicArn, policyInPlace, 'topic');
    if (wrong === 'unknown') {
      out.findings.push(incomplete(bucket, "the archive's EventBridge rule", eventRuleError(seen)));
      return stop();
    }
    if (created) {
      reason = wrong?.code === 'ARCHIVE_EVENTBRIDGE_RULE_NEEDED' ? wrong.code : 'TOPIC_MISSING';
      out.findings.push(
        reason === 'TOPIC_MISSING' ? finding(reason, 'high', topicArn, "the archive's topic no longer exists") : wrong!,
      );
    } else if (wrong !== undefined) {
      reason = wrong.code;
      out.findings.push(wrong);
    }
  } else if (!configured) {
    const conflicts = overlapping(seen.notification, wanted);
    if (conflicts.length > 0) {
      out.findings.push(overlapFinding(bucket, conflicts, wanted));
      return stop();
    }
    reason = 'ARCHIVE_NOTIFICATIONS_MISSING';
    out.findings.push(
      finding(
        reason,
        'high',
        bucket,
        `${bucket} does not announce the log files under ${wanted.prefix} to ${topicArn} (subscribed to the hub ` +
          "queue of the archive's shard); the collector merges one topic configuration into its notification " +
          'configuration (every other configuration is kept)' +
          (created ? ', creating the topic first' : ''),
      ),
    );
  } else if (created) {
    reason = 'TOPIC_MISSING';
    out.findings.push(finding(reason, 'high', topicArn, "the archive's topic no longer exists (deleted)"));
  } else if (!policyInPlace) {
    reason = 'TOPIC_POLICY_INVALID';
    out.findings.push(
      finding(
        reason,
        'high',
        topicArn,
        `the topic policy does not let S3 publish from ${bucket} (aws:SourceArn, aws:SourceAccount) or the ` +
          'collector subscribe its hub queue',
      ),
    );
  }
  if (created) {
    out.actions.push(
      draft(
        'CREATE_TOPIC',
        { topicName: CHAIN_NAMES.topic, region: seen.region },
        {
          resource: topicArn,
          reason: reason ?? 'TOPIC_MISSING',
          part: 'topic',
          provides: [keys.topic(topicArn)],
          recreates: ctx.recorded.topicArn === topicArn,
        },
      ),
    );
  }
  if (reason !== undefined) out.actions.push(notify(reason));
  const topic: TopicDecision & { topicArn: string } = {
    created,
    topicArn,
    ...(created && reason !== undefined ? { topicReason: reason } : {}),
  };
  const subscribed = planHubSubscription(input, topic, notify);
  out.findings.push(...subscribed.findings);
  out.actions.push(...subscribed.actions.filter((action) => !out.actions.includes(action)));
  return { ...out, decided: { topic, ...subscribed.decided }, stop: 'chain' };
}
