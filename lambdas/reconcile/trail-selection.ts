/**
 * Which trail the collector collects from. Called once per run by `probeTargets` (targets.ts), whose answer
 * observe records and the planner decides from. Pure.
 *
 * The cost guard lives here: `create` is only ever chosen when every trail the account can see (its own,
 * shadow copies of multi-region trails homed elsewhere, and organization trails) is KNOWN not to log
 * management events. One trail whose logging cannot be read makes the answer `undecided`, never `create`.
 *
 * An organization trail owned by another account (the management account) is recognised from DescribeTrails
 * alone (IsOrganizationTrail, the account in its ARN): seen from a member account, GetTrailStatus may answer
 * without IsLogging and GetEventSelectors / GetTrailStatus may fail with TrailNotFoundException or
 * CloudTrailARNInvalidException (CloudTrail User Guide, "Creating a trail for an organization": member accounts
 * can see the organization trail but cannot change it). Such a trail, unreadable, is presumed to log: it leads
 * to `external` (the log-archive path), never to `create` and never to `undecided` for good.
 */
import { coverageGaps, trailCoverage } from './coverage';
import { CHAIN_NAMES, defaultBucketName, isCollectorBucketName } from './names';
import type { LogArchiveRef, ObservedTrail } from './types';

export type TriState = 'yes' | 'no' | 'unknown';

/** Does this trail log management events right now? */
export function logsManagementEvents(trail: ObservedTrail): TriState {
  if (trail.status.known && !trail.status.value.isLogging) return 'no';
  if (trail.selectors.known && !trail.selectors.value.managementEvents) return 'no';
  if (trail.status.known && trail.selectors.known) return 'yes';
  return 'unknown';
}

/** Would this trail log management events if it were logging? */
export function selectsManagementEvents(trail: ObservedTrail): TriState {
  if (!trail.selectors.known) return 'unknown';
  return trail.selectors.value.managementEvents ? 'yes' : 'no';
}

/** Starting this trail would bill data, network activity or Insights events (or we cannot tell): it must not. */
export function startingWouldAddCost(trail: ObservedTrail): boolean {
  if (trail.hasInsightSelectors || !trail.selectors.known) return true;
  return trail.selectors.value.dataEvents || trail.selectors.value.networkActivityEvents === true;
}

export function isOwnedBy(trail: ObservedTrail, accountId: string): boolean {
  return trail.ownerAccountId === accountId;
}

/**
 * An organization trail another account owns, whose logging this account cannot read: presumed to log. Only an
 * organization trail of another account appears in a member's DescribeTrails, so the owner alone decides.
 */
export function presumedLogging(trail: ObservedTrail, accountId: string): boolean {
  return !isOwnedBy(trail, accountId) && logsManagementEvents(trail) === 'unknown';
}

/**
 * The organization trail of another account (the management account's) that logs this member account's management
 * events, known or presumed (`presumedLogging`), if any; the first by ARN when there are several. Seen from a member,
 * DescribeTrails returns it as a shadow trail (CloudTrail API Reference, DescribeTrails, IncludeShadowTrails: "in
 * the case of an organization trail, the replication of an organization trail in member accounts. If you do not
 * include shadow trails, organization trails in a member account ... will not be returned";
 * https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_DescribeTrails.html): observe asks with
 * includeShadowTrails true, so an organization trail covering the member is in `trails`.
 */
export function coveringOrganizationTrail(trails: ObservedTrail[], accountId: string): ObservedTrail | undefined {
  return trails
    .filter(
      (trail) =>
        trail.isOrganization &&
        !isOwnedBy(trail, accountId) &&
        (logsManagementEvents(trail) === 'yes' || presumedLogging(trail, accountId)),
    )
    .sort((a, b) => a.arn.localeCompare(b.arn))[0];
}

/** An organization trail this account owns (it is the organization's management account). */
export function isOwnedOrganizationTrail(trail: ObservedTrail, accountId: string): boolean {
  return trail.isOrganization && isOwnedBy(trail, accountId);
}

export type TrailSelection =
  /** An existing trail of this account: collected from, repaired in place (in its home region). */
  | { kind: 'existing'; trail: ObservedTrail; recorded: boolean }
  /**
   * Only a trail another account owns (organization trail) logs management events: it cannot be changed.
   * `presumed`: its logging could not be read from this account (see `presumedLogging`).
   */
  | { kind: 'external'; trail: ObservedTrail; presumed?: true }
  /** No trail logs management events for the account: `outcomes-trail` is created. */
  | { kind: 'create' }
  /** Some trail's logging could not be read and none is known to log: nothing is decided. */
  | { kind: 'undecided'; reason: string };

export interface SelectionContext {
  accountId: string;
  region: string;
  recordedTrailArn?: string;
}

/**
 * The reuse rule: the recorded trail if it still exists (unless it stopped while another trail logs, which
 * would make starting it a paid second copy); else the best trail that logs management events; else
 * `outcomes-trail` if it exists (ours, stopped); else create.
 */
export function selectCollectionTrail(trails: ObservedTrail[], ctx: SelectionContext): TrailSelection {
  const logging = trails.filter((trail) => logsManagementEvents(trail) === 'yes');
  const recorded = trails.find((trail) => trail.arn === ctx.recordedTrailArn);
  if (recorded && isOwnedBy(recorded, ctx.accountId)) {
    const recordedLogs = logsManagementEvents(recorded);
    const othersLog = logging.some((trail) => trail.arn !== recorded.arn);
    if (recordedLogs !== 'no' || !othersLog) return { kind: 'existing', trail: recorded, recorded: true };
  }
  const best = [...logging].sort((a, b) => preference(a, ctx) - preference(b, ctx) || a.arn.localeCompare(b.arn))[0];
  if (best) {
    return isOwnedBy(best, ctx.accountId)
      ? { kind: 'existing', trail: best, recorded: best.arn === ctx.recordedTrailArn }
      : { kind: 'external', trail: best };
  }
  const unreadable = trails.filter((trail) => logsManagementEvents(trail) === 'unknown');
  // An own trail that may log decides nothing yet; an organization trail of another account is presumed to log.
  const external = unreadable.filter((trail) => presumedLogging(trail, ctx.accountId));
  if (unreadable.length > 0 && external.length === unreadable.length) {
    const first = [...external].sort(
      (a, b) => preference(a, ctx) - preference(b, ctx) || a.arn.localeCompare(b.arn),
    )[0]!;
    return { kind: 'external', trail: first, presumed: true };
  }
  if (unreadable.length > 0) {
    return {
      kind: 'undecided',
      reason: `cannot tell whether ${unreadable.map((trail) => trail.arn).join(', ')} log management events`,
    };
  }
  const ours = trails.find(
    (trail) => trail.name === CHAIN_NAMES.trail && trail.homeRegion === ctx.region && isOwnedBy(trail, ctx.accountId),
  );
  if (ours) return { kind: 'existing', trail: ours, recorded: ours.arn === ctx.recordedTrailArn };
  return { kind: 'create' };
}

/**
 * Lower is better: own trail, logs every management event (read and write, every source, global service
 * events), multi-region, not an organization trail, homed in the collector region, the collector's own name.
 */
function preference(trail: ObservedTrail, ctx: SelectionContext): number {
  let score = 0;
  if (!isOwnedBy(trail, ctx.accountId)) score += 64;
  const coverage = trailCoverage(trail);
  if (coverage === undefined || coverageGaps(coverage, []).some((gap) => gap.kind !== 'regions')) score += 32;
  if (!trail.isMultiRegion) score += 16;
  if (trail.isOrganization) score += 8;
  if (trail.homeRegion !== ctx.region) score += 2;
  if (trail.name !== CHAIN_NAMES.trail) score += 1;
  return score;
}

/** The registered log archive whose bucket this trail delivers into, if any. */
export function archiveCollecting(trail: ObservedTrail, archives: LogArchiveRef[]): LogArchiveRef | undefined {
  const bucket = trail.bucketName;
  if (bucket === undefined) return undefined;
  return archives.find((archive) => archive.bucketNames.includes(bucket));
}

/** Bucket names observe must probe before a bucket can be created for this account, in order. */
export function bucketCreationCandidates(
  accountId: string,
  generated: string | undefined,
  fresh: string,
): {
  first: string;
  fallback?: string;
} {
  // A generated name, once recorded, is the account's bucket name for good: never try the default again.
  if (generated !== undefined && isCollectorBucketName(accountId, generated)) return { first: generated };
  return { first: defaultBucketName(accountId), fallback: fresh };
}
