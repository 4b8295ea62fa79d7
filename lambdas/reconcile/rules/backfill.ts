/**
 * BACKFILL: after a repair of the notification path, or while collection lags, the log files CloudTrail delivered
 * in the gap are listed from the trail's bucket and those the ledger lacks are enqueued again
 * (lambdas/reconcile/backfill.ts applies it; docs/completeness.md, "Gap backfill").
 *
 * An account rule: it runs after the chain rules and the REPAIR_LOOP guard, and reads the plan so far. A repair
 * restores the path for new files only; the files of the gap are in the bucket, announced to nobody. The window
 * starts at the newest file the ledger holds per region (else the account's last record, else its registration),
 * minus a margin, no earlier than BACKFILL_MAX_DAYS ago (and no earlier than the end of the last finished
 * backfill), and ends now. The BACKFILL depends on every action of the plan: it is applied only once the path it
 * sends into is repaired, and planned, never applied, in report mode like every action.
 */
import { CHAIN_NAMES } from '../names';
import { backfillCost } from '../costs';
import {
  FINDING_CODES,
  type BackfillContext,
  type BackfillParams,
  type FindingCode,
  type ObservedState,
  type ObservedTrail,
  type PlanContext,
} from '../types';
import { notCollectedSince } from './digest';
import { draft, incomplete, none, type Rule } from './kit';

/**
 * The findings whose repair can leave a gap of uncollected files: the notification path (topic, subscription,
 * queue, mapping, the trail's topic and its publishing errors, a topology migration). ESM_CONCURRENCY_MISMATCH is
 * left out: a mapping with another MaximumConcurrency still delivers every message.
 */
export const BACKFILL_AFTER_REPAIR: readonly FindingCode[] = FINDING_CODES.filter(
  (code) =>
    (/^(TOPIC|SUBSCRIPTION|QUEUE|ESM)_/.test(code) && code !== 'ESM_CONCURRENCY_MISMATCH') ||
    code === 'TRAIL_NO_TOPIC' ||
    code === 'TRAIL_NOTIFICATION_ERROR' ||
    code === 'TOPOLOGY_MIGRATING',
);

/**
 * Collection lags: a backfill runs (incrementally, from the last one's end) while these are reported.
 * LOG_FILES_NOT_COLLECTED (rules/digest.ts): signed digests list files the ledger lacks; the window then reaches
 * back to the oldest of them (notCollectedSince).
 */
export const BACKFILL_WHEN_LAGGING: readonly FindingCode[] = FINDING_CODES.filter(
  (code) =>
    code === 'COLLECTION_STALE' || (code as string) === 'COLLECTION_LAGGING' || code === 'LOG_FILES_NOT_COLLECTED',
);

/**
 * While collection only lags (nothing repaired), a backfill runs at most this often: each one lists the day folders
 * since the last one's end in every region (about 17 to 34 LIST requests), which every 15-minute run would repeat
 * for a quiet account for as long as it stays stale (docs/costs.md, "Gap backfill").
 */
export const LAG_BACKFILL_INTERVAL_MINUTES = 60;

const MINUTE_MS = 60_000;
const DAY_MS = 24 * 60 * MINUTE_MS;

/** The UTC day folders (YYYY-MM-DD) from `since`'s to `until`'s, both included. */
export function dayFolders(since: string, until: string): string[] {
  const days: string[] = [];
  const end = Date.parse(until);
  for (let at = Date.parse(since.slice(0, 10)); at <= end; at += DAY_MS) {
    days.push(new Date(at).toISOString().slice(0, 10));
  }
  return days;
}

/** `<S3KeyPrefix>/AWSLogs/`: where CloudTrail writes under the trail's prefix (none: at the bucket's root). */
export function awsLogsRoot(s3KeyPrefix?: string): string {
  return `${s3KeyPrefix ? `${s3KeyPrefix}/` : ''}AWSLogs/`;
}

function isFindingCode(code: string): code is FindingCode {
  return (FINDING_CODES as readonly string[]).includes(code);
}

/** The queue a missing file's notification goes to, or undefined when there is none to send to. */
function deliveryOf(
  observed: ObservedState,
  ctx: PlanContext,
  settings: BackfillContext,
): BackfillParams['delivery'] | undefined {
  if (ctx.ingestTopology === 'hub') {
    return settings.queueUrl === undefined ? undefined : { to: 'backfill-queue', queueUrl: settings.queueUrl };
  }
  const queue = observed.queues[CHAIN_NAMES.queue];
  return {
    to: 'customer-queue',
    queueName: CHAIN_NAMES.queue,
    region: ctx.region,
    ...(queue?.known && queue.value !== null ? { queueUrl: queue.value.url } : {}),
  };
}

/** Where the account's log files are, under the trail's prefix (and organization, for an organization trail). */
function logLocation(trail: ObservedTrail, ctx: PlanContext): Pick<BackfillParams, 'logPrefix' | 'findOrganization'> {
  const root = awsLogsRoot(trail.s3KeyPrefix);
  if (!trail.isOrganization) return { logPrefix: `${root}${ctx.accountId}/CloudTrail/` };
  const organizationId = ctx.backfill?.organizationId;
  return organizationId === undefined
    ? { logPrefix: root, findOrganization: true }
    : { logPrefix: `${root}${organizationId}/${ctx.accountId}/CloudTrail/` };
}

export const backfillRule: Rule = {
  name: 'backfill',
  part: 'account',
  phase: 'account',
  codes: ['OBSERVE_INCOMPLETE'],
  description:
    'after a repair of the notification path, or while collection lags, enqueues the log files of the gap that the ledger lacks',
  check({ observed, ctx, decided, planned }) {
    const settings = ctx.backfill;
    if (settings === undefined || planned === undefined) return none();
    const repaired = planned.findings.find(
      (f) => BACKFILL_AFTER_REPAIR.includes(f.code) && planned.actions.some((action) => action.reason === f.code),
    );
    const lagging = planned.findings.find((f) => BACKFILL_WHEN_LAGGING.includes(f.code));
    const trigger = repaired ?? lagging;
    const cursor = settings.cursor;
    if (trigger === undefined && cursor === undefined) return none();
    const last = settings.last;
    if (
      repaired === undefined &&
      cursor === undefined &&
      last !== undefined &&
      ctx.now.getTime() - Date.parse(last.finishedAt) < LAG_BACKFILL_INTERVAL_MINUTES * MINUTE_MS
    ) {
      return none();
    }

    // A trail this plan creates has delivered nothing yet; a trail another account's bucket collects is the log
    // archive's to backfill (decided.bucket is then undefined).
    const trail = decided.trail;
    const observedTrail = trail?.target.observed;
    if (trail === undefined || trail.creating || observedTrail === undefined) return none();
    const bucketName = observedTrail.bucketName;
    if (bucketName === undefined || decided.bucket?.bucketName !== bucketName) return none();
    const bucket = observed.buckets[bucketName];
    if (!(bucket?.known && bucket.value.state === 'owned')) return none();
    if (ctx.ingestTopology !== 'hub' && decided.queue?.queueArn === undefined) return none();
    const delivery = deliveryOf(observed, ctx, settings);
    if (delivery === undefined) return none();
    // The ledger's newest file per region (observe reads it when reconcile has a ledger).
    const collected = observed.collected ?? { known: true as const, value: {} };
    if (!collected.known) {
      return {
        findings: [incomplete(ctx.accountId, 'the ledger of collected log files', collected.error)],
        actions: [],
      };
    }
    const newest = Object.fromEntries(
      Object.entries(collected.value).map(([region, file]) => [region, file.deliveredAt]),
    );

    const now = ctx.now.getTime();
    const floor = now - settings.maxDays * DAY_MS;
    const lastUntil = settings.last === undefined ? -Infinity : Date.parse(settings.last.until);
    const start = (at: number): string =>
      new Date(
        Math.min(now, Math.max(floor, Math.max(at, lastUntil) - settings.marginMinutes * MINUTE_MS)),
      ).toISOString();
    const fallback = ctx.lastRecordAt ?? ctx.registeredAt;
    let since = start(fallback === undefined ? floor : Date.parse(fallback));
    let regionSince: Record<string, string> | undefined = Object.fromEntries(
      Object.entries(newest).map(([region, at]) => [region, start(Date.parse(at))]),
    );
    let until = ctx.now.toISOString();
    let resume: BackfillParams['resume'];
    let reason: FindingCode;
    if (trigger !== undefined) {
      reason = trigger.code;
      if (cursor !== undefined && Date.parse(cursor.since) < Date.parse(since)) {
        // A new gap while one is still being backfilled: one window over both, listed again from its start.
        since = cursor.since;
        regionSince = undefined;
      }
      // Files a signed digest lists that the ledger lacks may be older than the newest collected file: list from
      // the oldest of them (minus the margin, no earlier than BACKFILL_MAX_DAYS ago), in every region.
      const missed = notCollectedSince(observed);
      if (missed !== undefined) {
        const from = new Date(Math.max(floor, Date.parse(missed) - settings.marginMinutes * MINUTE_MS)).toISOString();
        if (Date.parse(from) < Date.parse(since)) since = from;
        regionSince = undefined;
      }
    } else {
      // Only a backfill of earlier runs to finish: its window, regions and position.
      const resumed = cursor!;
      reason = isFindingCode(resumed.reason) ? resumed.reason : 'COLLECTION_STALE';
      since = resumed.since;
      until = resumed.until;
      regionSince = undefined;
      resume = {
        regions: resumed.regions,
        region: resumed.region,
        day: resumed.day,
        ...(resumed.startAfter !== undefined ? { startAfter: resumed.startAfter } : {}),
        enqueued: resumed.enqueued,
        startedAt: resumed.startedAt,
      };
    }

    const location = logLocation(observedTrail, ctx);
    const regions = observedTrail.isMultiRegion ? undefined : [observedTrail.homeRegion];
    const params: BackfillParams = {
      since,
      until,
      ...(regionSince !== undefined && Object.keys(regionSince).length > 0 ? { regionSince } : {}),
      bucketName,
      bucketRegion: observedTrail.homeRegion,
      ...location,
      ...(regions !== undefined ? { regions } : {}),
      delivery,
      maxFiles: settings.maxFilesPerRun,
      ...(resume !== undefined ? { resume } : {}),
    };
    const knownRegions =
      resume?.regions.length ?? regions?.length ?? new Set([...Object.keys(newest), observedTrail.homeRegion]).size;
    const days = dayFolders(since, until).length;
    const finding = regions === undefined && resume === undefined;
    const costImpact = backfillCost({
      listRequests: knownRegions * days + (finding ? 1 : 0) + (location.findOrganization ? 1 : 0),
      regions: knownRegions,
      days,
      regionsFound: finding,
      maxFiles: settings.maxFilesPerRun,
      delivery: delivery.to,
    });
    return {
      findings: [],
      actions: [
        {
          ...draft('BACKFILL', params, {
            resource: `s3://${bucketName}/${location.logPrefix}`,
            reason,
            part: 'backfill',
            needs: planned.actions.map((action) => action.id),
          }),
          costImpact,
        },
      ],
    };
  },
};
