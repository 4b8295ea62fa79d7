/**
 * Digest verification in reconcile (docs/completeness.md, "Digest verification", "In reconcile"): each run checks,
 * for the collected trail, the CloudTrail digests delivered since the account's cursor (`digestsVerifiedUntil` on
 * its registry item; first run: the last 24 hours) with `verifyCompleteness` (lambdas/shared/completeness.ts), the
 * same check as `cloudtrail-collector verify`. rules/digest.ts turns the result into findings.
 *
 * - The window ends 90 minutes before now: a digest covers the hour before its end and is delivered after it.
 * - Bounded: at most MAX_DIGESTS_PER_RUN digests per account and run (a window of
 *   `floor(48 / Regions) - 1` hours, at least one); what is left waits for the next run (`behind`).
 * - Only when the trail has LogFileValidationEnabled, delivers into a bucket the account owns, and reconcile has a
 *   ledger that lists a day's files (`collectedOn`). Otherwise nothing is read and nothing is said.
 * - A failure (S3, the ledger) makes the observation unknown (OBSERVE_INCOMPLETE) and leaves the cursor where it
 *   was; it never fails the run.
 *
 * Calls per run and account: one ListObjectsV2 of the digest Region folders (multi-Region trail), one
 * ListObjectsV2 per Region and UTC day of the window, one GetObject per digest, one ListPublicKeys per Region, one
 * ledger Query per Region and day, and a HeadObject per listed file the ledger lacks (as the customer role).
 */
import type { CloudTrailClient } from '@aws-sdk/client-cloudtrail';
import type { S3Client } from '@aws-sdk/client-s3';
import {
  digestRegions,
  publicKeyRange,
  verifyCompleteness,
  type CompletenessReport,
  type TrailLocation,
} from '../shared/completeness';
import { PublicKeyCache } from '../shared/digest';
import { errorMessage } from '../shared/errors';
import type { LedgerTable } from '../shared/ledger';
import { deliveryTimeOf } from '../shared/object-key';
import type { AccountRecord } from '../shared/registry';
import { known, unknown, type Observation, type ObservedState, type ObservedTrail } from './types';

/** The first run of an account verifies this many hours back. */
export const FIRST_WINDOW_HOURS = 24;
/** The window ends this long before now: the digest of an hour is delivered after the hour ends. */
export const SETTLE_MINUTES = 90;
/** Digests read per account and run, at most (about: a Region's digests of the window plus the one after it). */
export const MAX_DIGESTS_PER_RUN = 48;
/** A cursor older than this (an account not reconciled for a week) restarts here: the rest is left unverified. */
export const MAX_BACKLOG_HOURS = 7 * 24;
/**
 * A log file a digest lists but the ledger lacks holds the cursor (the next run verifies it again, after the
 * BACKFILL it triggers) for this long after its delivery; after that the cursor passes it.
 */
export const RECHECK_HOURS = 24;

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;

/** One run's verification: the window, what verifyCompleteness reported, and where the next run starts. */
export interface DigestObservation {
  trailArn: string;
  /** The window (ISO): log files delivered in it were checked against their digests. */
  since: string;
  until: string;
  regions: string[];
  /** No cursor was recorded: a Region without any digest in the window is not judged (validation may be new). */
  firstRun: boolean;
  /** The bound stopped the window before now minus SETTLE_MINUTES: the next run continues. */
  behind: boolean;
  report: CompletenessReport;
  /** The cursor to record (`digestsVerifiedUntil`). */
  verifiedUntil: string;
}

export interface DigestStepInput {
  record: Pick<AccountRecord, 'accountId' | 'digestsVerifiedUntil' | 'logArchiveFor' | 'organizationId'>;
  state: Pick<ObservedState, 'buckets' | 'probes'>;
  clients: {
    cloudTrail(region: string): Pick<CloudTrailClient, 'send'>;
    s3(region: string): Pick<S3Client, 'send'>;
  };
  /** Reconcile's ledger; without `collectedOn` the step is skipped. */
  ledger?: Partial<Pick<LedgerTable, 'collectedOn'>>;
  now: Date;
}

/** The collected trail, when its digests can be verified from this account: validation on, its own bucket. */
export function verifiableTrail(
  state: DigestStepInput['state'],
  record: DigestStepInput['record'],
): { trail: ObservedTrail; location: TrailLocation } | undefined {
  const selection = state.probes?.selection;
  if (selection === undefined || (selection.kind !== 'existing' && selection.kind !== 'external')) return undefined;
  const trail = selection.trail;
  if (trail.logFileValidationEnabled !== true || trail.bucketName === undefined) return undefined;
  // A bucket of another account (a log archive's) is read with ExpectedBucketOwner = the account: it would fail.
  const bucket = state.buckets[trail.bucketName];
  if (!(bucket?.known && bucket.value.state === 'owned')) return undefined;
  // An organization trail writes under AWSLogs/<o-id>/<account>/: without the recorded organization, no folder.
  if (trail.isOrganization && record.organizationId === undefined) return undefined;
  return {
    trail,
    location: {
      bucket: trail.bucketName,
      trailName: trail.name,
      homeRegion: trail.homeRegion,
      ...(trail.s3KeyPrefix ? { prefix: trail.s3KeyPrefix } : {}),
      ...(trail.isOrganization && record.organizationId ? { orgId: record.organizationId } : {}),
    },
  };
}

/**
 * The window of this run: from the cursor (first run: FIRST_WINDOW_HOURS ago; never more than MAX_BACKLOG_HOURS
 * ago) to now minus SETTLE_MINUTES, at most `hours` long. Undefined when nothing new has settled yet.
 */
export function digestWindow(
  cursor: string | undefined,
  now: Date,
  regionCount: number,
): { since: Date; until: Date; behind: boolean; firstRun: boolean } | undefined {
  const settled = now.getTime() - SETTLE_MINUTES * MINUTE_MS;
  const recorded = cursor === undefined ? Number.NaN : Date.parse(cursor);
  const firstRun = Number.isNaN(recorded);
  const start = Math.max(
    firstRun ? now.getTime() - FIRST_WINDOW_HOURS * HOUR_MS : recorded,
    now.getTime() - MAX_BACKLOG_HOURS * HOUR_MS,
  );
  if (start >= settled) return undefined;
  const end = Math.min(settled, start + windowHours(regionCount) * HOUR_MS);
  return { since: new Date(start), until: new Date(end), behind: end < settled, firstRun };
}

/** Hours per run so that a window's digests (one per Region and hour, plus the one after) stay within the bound. */
export function windowHours(regionCount: number): number {
  return Math.max(1, Math.floor(MAX_DIGESTS_PER_RUN / Math.max(1, regionCount)) - 1);
}

/**
 * Where the next run starts: the window's end, or before the oldest listed file the ledger lacks that was
 * delivered less than RECHECK_HOURS ago (verified again once the backfill collected it).
 */
export function nextCursor(report: CompletenessReport, since: Date, until: Date, now: Date): string {
  let cursor = until.getTime();
  for (const file of report.logFiles.notCollected) {
    const delivered = deliveryTimeOf(file.key);
    if (delivered === undefined || now.getTime() - delivered.getTime() > RECHECK_HOURS * HOUR_MS) continue;
    cursor = Math.min(cursor, delivered.getTime() - MINUTE_MS);
  }
  return new Date(Math.max(cursor, since.getTime())).toISOString();
}

/**
 * Verifies the digests of this run's window. Undefined when the step does not apply (see the file comment);
 * unknown when a call failed.
 */
export async function observeDigests(input: DigestStepInput): Promise<Observation<DigestObservation> | undefined> {
  const collectedOn = input.ledger?.collectedOn;
  if (collectedOn === undefined) return undefined;
  const verifiable = verifiableTrail(input.state, input.record);
  if (verifiable === undefined) return undefined;
  const { trail, location } = verifiable;
  const { accountId } = input.record;
  const ledger = { collectedOn: collectedOn.bind(input.ledger) };
  try {
    const s3 = input.clients.s3(trail.homeRegion);
    const regions = trail.isMultiRegion ? await digestRegions(s3, accountId, location) : [trail.homeRegion];
    const window = digestWindow(input.record.digestsVerifiedUntil, input.now, regions.length);
    if (window === undefined || regions.length === 0) return undefined;
    const { since, until } = window;
    const report = await verifyCompleteness({
      accountId,
      since,
      until,
      trail: location,
      regions,
      allowedLogAccounts: new Set([accountId, ...(input.record.logArchiveFor ?? [])]),
      s3,
      publicKeys: new PublicKeyCache((region) => input.clients.cloudTrail(region), publicKeyRange(since, until)),
      ledger,
      // The window is sized for MAX_DIGESTS_PER_RUN; this only refuses a bucket holding far more than CloudTrail
      // delivers (one digest per Region and hour, a backfill digest now and then).
      maxDigests: Math.max(MAX_DIGESTS_PER_RUN, (windowHours(regions.length) + 3) * regions.length),
    });
    return known({
      trailArn: trail.arn,
      since: since.toISOString(),
      until: until.toISOString(),
      regions,
      firstRun: window.firstRun,
      behind: window.behind,
      report,
      verifiedUntil: nextCursor(report, since, until, input.now),
    });
  } catch (error) {
    return unknown(`verifying the digests of ${trail.arn}: ${errorMessage(error)}`);
  }
}
