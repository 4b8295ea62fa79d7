/**
 * What to probe, and what was selected: the one place where the trail selection, the bucket-creation
 * candidates and the log archive collecting the trail are decided. Pure.
 *
 * observe asks `probeTargets` with what it knows so far, reads every target it has not read yet, and asks
 * again until nothing new is asked for: so the staged probes (the fallback bucket name only when the first is
 * unusable, the default topic only when the trail's topic is gone) come from here too. observe records the
 * final answer in `ObservedState.probes` and the planner decides from that same value.
 */
import { tryParseArn, topicArn as buildTopicArn } from '../shared/arn';
import { CHAIN_NAMES } from './names';
import {
  archiveCollecting,
  bucketCreationCandidates,
  selectCollectionTrail,
  type TrailSelection,
} from './trail-selection';
import type { BucketProbe, LogArchiveRef, Observation, ObservedState, ObservedTrail, PlanContext } from './types';

export interface BucketTarget {
  name: string;
  /** Where to ask: the bucket's region is unknown until asked; the trail's home region is the usual one. */
  region: string;
}

export interface ProbeTargets {
  selection: TrailSelection;
  /** The registered log archive whose bucket the selected trail delivers into (then no chain is probed). */
  archive?: LogArchiveRef;
  /** The bucket names tried, in order, when a bucket must be created. */
  bucketCandidates: { first: string; fallback?: string };
  /** Every bucket to read, given what is known so far (those already read included). */
  buckets: BucketTarget[];
  /** Every topic ARN to read, given what is known so far (those already read included). */
  topics: string[];
}

/** The parts observe has read so far: a name or ARN that is missing has not been read. */
export type Probed = Pick<ObservedState, 'buckets' | 'topics'>;

const unusable = (probe: Observation<BucketProbe> | undefined): boolean =>
  probe?.known === true && (probe.value.state === 'forbidden' || probe.value.state === 'foreign');

/** The targets given the trail list and what was probed so far; nothing is probed while the trails are unknown. */
export function probeTargets(trails: Observation<ObservedTrail[]>, probed: Probed, ctx: PlanContext): ProbeTargets {
  const selection: TrailSelection = trails.known
    ? selectCollectionTrail(trails.value, {
        accountId: ctx.accountId,
        region: ctx.region,
        ...(ctx.recorded.trailArn !== undefined ? { recordedTrailArn: ctx.recorded.trailArn } : {}),
      })
    : { kind: 'undecided', reason: trails.error };
  const archive =
    selection.kind === 'existing' || selection.kind === 'external'
      ? archiveCollecting(selection.trail, ctx.logArchives)
      : undefined;
  const bucketCandidates = bucketCreationCandidates(
    ctx.accountId,
    ctx.recorded.generatedBucketName,
    ctx.freshBucketName,
  );
  const targets: ProbeTargets = {
    selection,
    ...(archive !== undefined ? { archive } : {}),
    bucketCandidates,
    buckets: [],
    topics: [],
  };
  const candidates = (): void => {
    targets.buckets.push({ name: bucketCandidates.first, region: ctx.region });
    if (bucketCandidates.fallback !== undefined && unusable(probed.buckets[bucketCandidates.first])) {
      targets.buckets.push({ name: bucketCandidates.fallback, region: ctx.region });
    }
  };

  if (selection.kind === 'create') {
    candidates();
    targets.topics.push(buildTopicArn(ctx.region, ctx.accountId, CHAIN_NAMES.topic));
    targets.topics.push(...previousTopics(ctx, targets.topics));
    return targets;
  }
  if (selection.kind !== 'existing' || archive !== undefined) return targets;
  const trail = selection.trail;
  if (trail.bucketName === undefined) {
    candidates();
  } else {
    targets.buckets.push({ name: trail.bucketName, region: trail.homeRegion });
    const current = probed.buckets[trail.bucketName];
    // Gone, or its name taken over by another account: a bucket must be created (or a reserved one reused).
    if (current?.known && (current.value.state === 'absent' || current.value.state === 'foreign')) candidates();
  }
  // CloudTrail only publishes to a topic in the trail's home region.
  const defaultTopic = buildTopicArn(trail.homeRegion, ctx.accountId, CHAIN_NAMES.topic);
  if (trail.topicArn === undefined) {
    targets.topics.push(defaultTopic);
  } else {
    targets.topics.push(trail.topicArn);
    const current = probed.topics[trail.topicArn];
    if (current?.known && current.value === null && trail.topicArn !== defaultTopic) targets.topics.push(defaultTopic);
  }
  targets.topics.push(...previousTopics(ctx, targets.topics));
  return targets;
}

/**
 * The topics the chain used before (the recorded topic, while this run moves away from it, and the one recorded
 * before the last change) that the chain does not use now: rules/previous-topic.ts retires the collector's
 * subscriptions on them. Only topics of the account itself: nothing of another account is read with its role.
 */
export function previousTopics(ctx: Pick<PlanContext, 'accountId' | 'recorded'>, current: readonly string[]): string[] {
  const candidates = [ctx.recorded.topicArn, ctx.recorded.previousTopicArn];
  return [...new Set(candidates)].filter((arn): arn is string => {
    if (arn === undefined || current.includes(arn)) return false;
    const parsed = tryParseArn(arn);
    return parsed?.service === 'sns' && parsed.accountId === ctx.accountId;
  });
}
