/**
 * COLLECTION_LAGGING: per Region of the collected trail, how far the newest log file the collector collected
 * (the ledger's newest file, by the delivery time in its name) is behind the newest file CloudTrail says it
 * delivered there (GetTrailStatus' LatestDeliveryTime). docs/completeness.md ("Freshness") explains the choices:
 *
 * - GetTrailStatus "returns trail status from a single Region" (CloudTrail API Reference, GetTrailStatus), so
 *   each Region's LatestDeliveryTime is that Region's: observe reads it where it reads the trail, and for a
 *   multi-region trail also in every other Region the ledger has files from (`regionalStatus`). A Region from
 *   which nothing was ever collected and that observe did not ask is not judged (COLLECTION_STALE still is).
 * - The lag is measured in CloudTrail's time: LatestDeliveryTime minus the newest collected file's delivery
 *   time, so a quiet Region (no delivery since the newest collected file) has no lag however old that file is.
 *   A Region with no collected file is measured from the account's last record (`lastRecordAt`), else its
 *   registration.
 * - CloudTrail publishes log files about every 5 minutes and delivers within about 5 minutes of an API call
 *   (CloudTrail User Guide, "Getting and viewing your CloudTrail log files"): LAG_AFTER_MINUTES (default 30)
 *   leaves room for several deliveries and the ingest path before a Region is called lagging.
 *
 * The early signal; COLLECTION_STALE (no record for STALE_AFTER_MINUTES, 6 hours) stays as the late one that
 * needs neither the ledger nor a readable trail status.
 */
import type { ProbeTargets } from '../targets';
import type { ObservedState, ObservedTrail, PlanContext, TrailStatus } from '../types';
import { finding, none, type Rule } from './kit';

/** LAG_AFTER_MINUTES' default: six of CloudTrail's ~5-minute delivery intervals. */
export const LAG_AFTER_MINUTES_DEFAULT = 30;

/** One Region's freshness: how far collection is behind CloudTrail there. */
export interface RegionLag {
  region: string;
  /** Whole minutes from what was collected to CloudTrail's latest delivery (0: up to date). */
  minutes: number;
  /** GetTrailStatus' LatestDeliveryTime in the Region. */
  latestDeliveryTime: string;
  /** GetTrailStatus' LatestNotificationTime in the Region, when given. */
  latestNotificationTime?: string;
  /** The delivery time of the newest file collected from the Region; absent: none was. */
  newestCollected?: string;
  /** What the lag is measured from: `newestCollected`, else the account's last record, else its registration. */
  since: string;
}

/** The trail whose files are collected for the account: its own, or one a registered log archive collects. */
export function collectedTrail(probes: ProbeTargets): ObservedTrail | undefined {
  const selection = probes.selection;
  if (selection.kind === 'existing') return selection.trail;
  if (selection.kind === 'external' && probes.archive !== undefined) return selection.trail;
  return undefined;
}

/**
 * Every Region of the collected trail with a known delivery time, and its lag; undefined when freshness cannot be
 * judged (no ledger, the ledger unreadable, no collected trail, or CloudTrail gave no delivery time anywhere).
 */
export function collectionLags(
  observed: ObservedState,
  ctx: PlanContext,
  probes: ProbeTargets,
): RegionLag[] | undefined {
  const collected = observed.collected;
  const trail = collectedTrail(probes);
  if (collected?.known !== true || trail === undefined) return undefined;
  const statuses = new Map<string, TrailStatus>();
  if (trail.status.known) statuses.set(trail.status.value.region ?? trail.homeRegion, trail.status.value);
  for (const [region, status] of Object.entries(trail.regionalStatus ?? {})) {
    if (status.known && !statuses.has(region)) statuses.set(region, status.value);
  }
  const lags: RegionLag[] = [];
  for (const [region, status] of statuses) {
    const delivered = status.latestDeliveryTime;
    if (delivered === undefined) continue;
    const newest = collected.value[region]?.deliveredAt;
    const since = newest ?? ctx.lastRecordAt ?? ctx.registeredAt;
    if (since === undefined) continue;
    const minutes = Math.max(0, Math.floor((Date.parse(delivered) - Date.parse(since)) / 60_000));
    if (Number.isNaN(minutes)) continue;
    lags.push({
      region,
      minutes,
      latestDeliveryTime: delivered,
      ...(status.latestNotificationTime !== undefined ? { latestNotificationTime: status.latestNotificationTime } : {}),
      ...(newest !== undefined ? { newestCollected: newest } : {}),
      since,
    });
  }
  if (lags.length === 0) return undefined;
  return lags.sort((a, b) => b.minutes - a.minutes || a.region.localeCompare(b.region));
}

/** The account's lag for the fleet metrics: the largest over its Regions; undefined when it cannot be judged. */
export function collectionLagMinutes(
  observed: ObservedState,
  ctx: PlanContext,
  probes: ProbeTargets,
): number | undefined {
  const lags = collectionLags(observed, ctx, probes);
  return lags === undefined ? undefined : Math.max(...lags.map((lag) => lag.minutes));
}

function describe(lag: RegionLag, limit: number): string {
  const collected =
    lag.newestCollected !== undefined
      ? `the newest file collected from it was delivered at ${lag.newestCollected}`
      : `no file was collected from it since ${lag.since}`;
  // CloudTrail published a notification after what was collected: the loss is between the topic and ingest.
  const notified =
    lag.latestNotificationTime === undefined
      ? 'CloudTrail reports no notification'
      : Date.parse(lag.latestNotificationTime) - Date.parse(lag.since) > limit * 60_000
        ? `CloudTrail last notified at ${lag.latestNotificationTime} (the notifications did not lead to collection: ` +
          'look at the subscription, the queue, its dead-letter queue and the ingest function)'
        : `CloudTrail last notified at ${lag.latestNotificationTime} (it has not announced the newer files: look at ` +
          "the trail's topic)";
  return (
    `${lag.region} is ${lag.minutes} minutes behind (CloudTrail last delivered a log file at ` +
    `${lag.latestDeliveryTime}; ${collected}; ${notified})`
  );
}

export const freshnessRule: Rule = {
  name: 'freshness',
  part: 'account',
  phase: 'account',
  codes: ['COLLECTION_LAGGING'],
  description:
    "a Region's newest collected log file is more than LAG_AFTER_MINUTES behind CloudTrail's latest delivery",
  check({ observed, ctx, probes }) {
    const limit = ctx.lagAfterMinutes ?? LAG_AFTER_MINUTES_DEFAULT;
    const lagging = (collectionLags(observed, ctx, probes) ?? []).filter((lag) => lag.minutes > limit);
    const trail = collectedTrail(probes);
    if (lagging.length === 0 || trail === undefined) return none();
    return {
      findings: [
        finding(
          'COLLECTION_LAGGING',
          'medium',
          trail.arn,
          `collection lags CloudTrail by more than ${limit} minutes in ${lagging.map((lag) => lag.region).join(', ')}: ` +
            lagging.map((lag) => describe(lag, limit)).join('; '),
        ),
      ],
      actions: [],
    };
  },
};
