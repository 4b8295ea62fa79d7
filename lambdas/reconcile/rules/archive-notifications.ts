/**
 * The log archive's collection path (issue 12, "Collecting from the central bucket"): for an account registered
 * as log archive (logArchiveFor holds `o-<id>` and/or logArchiveBucket is set), every member's log file written
 * into the archive bucket is announced on the archive's own `outcomesqueue` by an S3 event notification, and the
 * queue feeds the ingest function through the collector's event source mapping. Ingest reads with the archive's
 * role and binds the keys to the organization's members (lambdas/ingest/source/tenant.ts).
 *
 * No trail is ever created, started or changed in the archive account: the organization trail logs its
 * management events too. The rule replaces the trail chain for the account and stops it.
 *
 * Why S3 event notifications rather than the organization trail's topic: the topic lives in the management account
 * (Control Tower: `aws-controltower-AllConfigNotifications` in the Audit account, which also carries every AWS
 * Config notification), and subscribing the archive's queue to it takes a topic policy there allowing the archive
 * to `sns:Subscribe`, which the collector's read-only management role cannot write, and Control Tower asks that its
 * resources are not changed. S3 notifications need nothing outside the archive account and announce exactly the
 * `.json.gz` files under `<prefix>/AWSLogs/`. When the bucket already sends its events to EventBridge, an
 * EventBridge rule is the better path (no second copy of the events in S3's configuration): it is asked for as a
 * finding with the command (not built yet). docs/customer-setup.md, "Organization trails and a log archive account".
 */
import { queueArn as buildQueueArn } from '../../shared/arn';
import {
  ARCHIVE_CONFIGURATION_ID,
  ARCHIVE_SUFFIX,
  archivePrefix,
  archiveQueueStatements,
  hasWanted,
  overlapping,
  type WantedConfiguration,
} from '../archive-path';
import { CHAIN_NAMES } from '../names';
import { NOT_OBSERVED, type FindingCode } from '../types';
import { eventSourceMappingRule } from './esm';
import { draft, finding, hasStatements, incomplete, keys, none, type Rule, type RuleOutput } from './kit';
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
  codes: [...new Set<FindingCode>([...OWN_CODES, ...queueRule.codes, ...eventSourceMappingRule.codes])],
  description:
    "a log archive's bucket announces every member's log file to the archive's queue (S3 event notification, merged)",
  check(input) {
    const { ctx, observed } = input;
    const archive = ctx.logArchive;
    if (archive === undefined) return none();
    const out = none();
    const stop = (): RuleOutput => ({ ...out, stop: 'chain' });
    const bucket = archive.bucketName;
    if (ctx.hub !== undefined) {
      // Hub queues accept only SNS envelopes whose TopicArn binds the tenant (docs/reliability.md, fact 3): the
      // path would be bucket -> the archive's topic -> its hub shard, which is not built.
      out.findings.push(
        finding(
          'ARCHIVE_PATH_BLOCKED',
          'high',
          bucket,
          `the log archive's notification path is not built for the hub topology (hub queues accept only SNS ` +
            `messages): collect ${ctx.accountId} in the customer-queue topology`,
        ),
      );
      return stop();
    }
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
    const queueArnExpected = buildQueueArn(ctx.region, ctx.accountId, CHAIN_NAMES.queue);

    const wanted: WantedConfiguration = { queueArn, prefix: archivePrefix(seen.trail), suffix: ARCHIVE_SUFFIX };
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
      out.findings.push(
        finding(
          'ARCHIVE_EVENTBRIDGE_RULE_NEEDED',
          'medium',
          bucket,
          `${bucket} sends its events to Amazon EventBridge, so the collector leaves its notification configuration ` +
            'alone and asks for an EventBridge rule instead (not created by the collector yet). In the archive ' +
            `account, Region ${seen.region}: aws events put-rule --name cloudtrail-collector-archive --event-pattern ` +
            `'{"source":["aws.s3"],"detail-type":["Object Created"],"detail":{"bucket":{"name":["${bucket}"]},` +
            `"object":{"key":[{"prefix":"${wanted.prefix}"}]}}}' && aws events put-targets --rule ` +
            `cloudtrail-collector-archive --targets Id=outcomesqueue,Arn=${queueArnExpected} (the queue policy must ` +
            'allow events.amazonaws.com to send, with aws:SourceArn = the rule)',
        ),
      );
      return stop();
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
        out.findings.push(
          finding(
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
          ),
        );
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
