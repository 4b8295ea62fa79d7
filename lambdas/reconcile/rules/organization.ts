/**
 * The rules for trails whose logs are collected elsewhere or for a whole organization: an organization trail this
 * account owns (collected as it is, never re-pointed) and an own trail delivering into a registered log archive's
 * bucket (collected there). Both stop the chain in this account when they apply.
 */
import { isCollectorBucketName } from '../names';
import { isOwnedOrganizationTrail } from '../trail-selection';
import type { ObservedState, ObservedTrail, PlanContext } from '../types';
import { finding, none, type Rule } from './kit';

/**
 * What stops the chain from being kept around an organization trail without re-pointing it: the bucket or
 * topic rule would otherwise point the trail elsewhere (UPDATE_TRAIL), which changes delivery for every account
 * of the organization. Undefined when nothing needs re-pointing (unknown parts re-point nothing either).
 */
function repointNeeded(trail: ObservedTrail, observed: ObservedState, ctx: PlanContext): string | undefined {
  const bucketName = trail.bucketName;
  if (bucketName === undefined) return 'it has no S3 bucket';
  const bucket = observed.buckets[bucketName];
  if (bucket?.known && bucket.value.state === 'absent') return `its bucket ${bucketName} no longer exists`;
  if (bucket?.known && bucket.value.state === 'foreign' && isCollectorBucketName(ctx.accountId, bucketName)) {
    return `its bucket name ${bucketName} now belongs to another account`;
  }
  if (trail.topicArn === undefined) return 'it has no SNS topic';
  const topic = observed.topics[trail.topicArn];
  if (topic?.known && topic.value === null) return `its topic ${trail.topicArn} no longer exists`;
  return undefined;
}

/**
 * ORGANIZATION_TRAIL_OWNED: the collected trail is an organization trail of this account (the organization's
 * management account). It delivers every member account's log files (under AWSLogs/o-<org id>/<account>/) and
 * announces them all on its topic, so it is collected as it is and never re-pointed, started or given the
 * collector's bucket policy (which lacks the AWSLogs/o-<org id>/* prefix): each of those changes the whole
 * organization's logging. When the chain could only be repaired by re-pointing it, the chain stops here.
 */
export const organizationTrailRule: Rule = {
  name: 'organization-trail',
  part: 'trail',
  phase: 'chain',
  codes: ['ORGANIZATION_TRAIL_OWNED'],
  description: 'the collected trail is an organization trail this account owns: reported, never re-pointed',
  check({ observed, ctx, decided }) {
    const trail = decided.trail?.target.observed;
    if (trail === undefined || !isOwnedOrganizationTrail(trail, ctx.accountId)) return none();
    const what =
      `${trail.arn} is an organization trail owned by this account (the organization's management account): it ` +
      `delivers the log files of every member account into ${trail.bucketName ?? 'its bucket'} under ` +
      'AWSLogs/o-<organization id>/<account>/ and announces them all on its topic. The collector never re-points, ' +
      "starts or rewrites the bucket policy of an organization trail (that changes every account's logging; " +
      'the bucket policy must allow AWSLogs/o-<organization id>/*). Register this account as log archive for its ' +
      `organization (accounts add --account-id ${ctx.accountId} --log-archive-for o-<organization id>) so that ` +
      "member accounts' files are collected, not rejected as another account's";
    const blocked = repointNeeded(trail, observed, ctx);
    if (blocked === undefined) {
      return { findings: [finding('ORGANIZATION_TRAIL_OWNED', 'medium', trail.arn, what)], actions: [] };
    }
    return {
      findings: [
        finding(
          'ORGANIZATION_TRAIL_OWNED',
          'high',
          trail.arn,
          `${blocked}, and repairing that would re-point the organization trail; nothing is changed. ${what}. ` +
            'Restore the bucket or topic, or point the trail at new ones yourself',
        ),
      ],
      actions: [],
      stop: 'chain',
    };
  },
};

/** COLLECTED_BY_LOG_ARCHIVE for an own trail that delivers into a registered log archive's bucket: no chain here. */
export const logArchiveRule: Rule = {
  name: 'log-archive',
  part: 'trail',
  phase: 'chain',
  codes: ['COLLECTED_BY_LOG_ARCHIVE'],
  description: "the account's own trail delivers into a registered log archive's bucket, which collects it",
  check({ ctx, probes, decided }) {
    const trail = decided.trail?.target.observed;
    const archive = probes.archive;
    if (trail === undefined || !archive || archive.accountId === ctx.accountId) return none();
    return {
      findings: [
        finding(
          'COLLECTED_BY_LOG_ARCHIVE',
          'info',
          trail.arn,
          `the trail delivers into ${trail.bucketName}, which log archive ${archive.accountId} collects; no chain is ` +
            'kept in this account',
        ),
      ],
      actions: [],
      stop: 'chain',
    };
  },
};
