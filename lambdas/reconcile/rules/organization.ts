/**
 * The rules for trails whose logs are collected elsewhere or for a whole organization: an organization trail this
 * account owns (collected as it is, never re-pointed) and an own trail delivering into a registered log archive's
 * bucket (collected there). Both stop the chain in this account when they apply.
 */
import { duplicateTrailsCost } from '../costs';
import { CHAIN_NAMES, isCollectorBucketName } from '../names';
import { coveringOrganizationTrail, isOwnedBy, isOwnedOrganizationTrail } from '../trail-selection';
import type { ObservedState, ObservedTrail, PlanContext } from '../types';
import { draft, finding, none, type Rule } from './kit';

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
  check({ observed, ctx, decided, probes }) {
    const trail = decided.trail?.target.observed;
    if (trail === undefined || !isOwnedOrganizationTrail(trail, ctx.accountId)) return none();
    // It delivers into a registered log archive's bucket: the archive collects it (logArchiveRule says so).
    if (probes.archive !== undefined && probes.archive.accountId !== ctx.accountId) return none();
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

/** outcomes-trail of this account, when the registry records it as the account's collection trail. */
function recordedCollectorTrail(trails: ObservedTrail[], ctx: PlanContext): ObservedTrail | undefined {
  const recorded = ctx.recorded.trailArn;
  if (recorded === undefined) return undefined;
  return trails.find(
    (trail) =>
      trail.arn === recorded &&
      trail.name === CHAIN_NAMES.trail &&
      isOwnedBy(trail, ctx.accountId) &&
      !trail.isOrganization,
  );
}

/**
 * Why outcomes-trail is not retired (yet), or undefined when it may be: the organization trail must log every
 * management event wherever outcomes-trail does, and the ledger must hold a file of this account from the
 * organization's bucket, delivered after the organization trail was first seen (so the organization path is
 * known to deliver, and the switch loses no file).
 */
function notYetRetired(ours: ObservedTrail, org: ObservedTrail, observed: ObservedState, ctx: PlanContext) {
  if (ours.isMultiRegion && !org.isMultiRegion) {
    return `it is not retired: the organization trail logs ${org.homeRegion} only, outcomes-trail every Region`;
  }
  if (org.selectors.known && (org.selectors.value.management !== undefined || org.selectors.value.unmodelled)) {
    return 'it is not retired: the organization trail logs only part of the management events';
  }
  const collected = observed.collected;
  if (collected === undefined) {
    return (
      'it is never retired automatically without a ledger (LEDGER_TABLE / the ledger table): nothing shows that the ' +
      "organization path delivers this account's files. Once its records reach the downstream, delete it yourself: " +
      `aws cloudtrail delete-trail --name ${ours.name} --region ${ours.homeRegion}`
    );
  }
  if (!collected.known) return `it is not retired: the ledger could not be read (${collected.error})`;
  const archive = org.bucketName !== undefined ? [org.bucketName] : ctx.logArchives.flatMap((a) => a.bucketNames);
  const own = [ours.bucketName, ctx.recorded.bucketName, ctx.recorded.generatedBucketName];
  const since = ctx.organizationTrailSeenAt;
  const delivered = Object.values(collected.value).some(
    (file) =>
      archive.includes(file.bucket) &&
      !own.includes(file.bucket) &&
      since !== undefined &&
      Date.parse(file.deliveredAt) > Date.parse(since),
  );
  if (delivered) return undefined;
  return (
    `it is retired once the ledger holds a file of this account from ${archive.join(' or ') || 'the organization bucket'} ` +
    `delivered after ${since ?? ctx.now.toISOString()} (when the organization trail was first seen): until then ` +
    'outcomes-trail keeps collecting, so no log file is missed across the switch'
  );
}

/**
 * COLLECTOR_TRAIL_REDUNDANT -> RETIRE_TRAIL: an organization trail of another account (the management account's)
 * logs this member's management events, and the trail the collector created and recorded (outcomes-trail) logs
 * them too: the organization trail is the free first copy, outcomes-trail the paid second one. In apply mode it
 * is retired (StopLogging, then DeleteTrail, by name) once the ledger shows the organization path delivering the
 * account's files; without a ledger, never automatically. Only that trail: never a trail the customer created,
 * never the organization trail. The chain around it (topic, queue, mapping) is left as it is.
 */
export const collectorTrailRetirementRule: Rule = {
  name: 'collector-trail-retirement',
  part: 'account',
  phase: 'account',
  codes: ['COLLECTOR_TRAIL_REDUNDANT'],
  description: "an organization trail logs the member's management events: outcomes-trail is a paid copy, retired",
  check({ observed, trails, ctx }) {
    const ours = recordedCollectorTrail(trails, ctx);
    const org = ours && coveringOrganizationTrail(trails, ctx.accountId);
    if (ours === undefined || org === undefined) return none();
    const stopped = ours.status.known && !ours.status.value.isLogging;
    const cost = duplicateTrailsCost(1, ctx.costs);
    const waiting = notYetRetired(ours, org, observed, ctx);
    const message =
      `${ours.arn}, created by the collector, ${stopped ? 'is stopped beside' : 'bills a second copy of management events beside'} ` +
      `organization trail ${org.arn} (owned by ${org.ownerAccountId}), which logs this account's management events ` +
      `into ${org.bucketName ?? 'its bucket'}${stopped ? '' : `: ${cost.note}`}; ${waiting ?? "the organization path delivers this account's files (the ledger shows them), so it is retired (StopLogging, then DeleteTrail)"}`;
    const findings = [finding('COLLECTOR_TRAIL_REDUNDANT', stopped ? 'low' : 'medium', ours.arn, message)];
    if (waiting !== undefined) return { findings, actions: [] };
    return {
      findings,
      actions: [
        draft(
          'RETIRE_TRAIL',
          { trailName: ours.name, region: ours.homeRegion },
          { resource: ours.arn, reason: 'COLLECTOR_TRAIL_REDUNDANT', part: 'trail' },
        ),
      ],
    };
  },
};
