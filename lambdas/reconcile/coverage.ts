/**
 * What a trail, or a set of trails, logs of the account's management events: which regions, read and/or write
 * events, which event sources, and the global service events. Pure; the one place these questions are answered
 * (the cost rule's duplicates, the partial-coverage finding, the trail preference).
 *
 * The model follows the CloudTrail User Guide and API Reference:
 * - "Logging management events" and the EventSelector API reference: a trail logs an event when it matches ANY
 *   of its selectors; a basic selector with IncludeManagementEvents logs the ReadWriteType (ReadOnly, WriteOnly,
 *   All; default All) of every event source except ExcludeManagementEventSources (kms.amazonaws.com,
 *   rdsdata.amazonaws.com). No selector at all is CloudTrail's default: every management event.
 * - "Logging events with advanced event selectors" and the AdvancedFieldSelector API reference: the field
 *   selectors of one advanced selector are ANDed, the selectors ORed; for management events
 *   (`eventCategory` Equals `Management`) `readOnly` Equals `true` logs only read events, `false` only write
 *   events, no `readOnly` field logs both; `eventSource` NotEquals (kms / rdsdata) leaves sources out, Equals
 *   keeps only those. Any other operator or field on a management selector is kept as `unmodelled` text.
 * - "Using the update-trail command" (global service events): since 22 November 2021 the events of CloudFront,
 *   IAM, STS and console sign-in are recorded in US East (N. Virginia) only, so a trail gets them only if it is
 *   multi-region (CreateTrail/UpdateTrail reject a multi-region trail without them: InvalidParameterCombination-
 *   Exception "Multi-Region trail must include global service events") or a
 *   single-region trail homed in us-east-1 with IncludeGlobalServiceEvents on (the default).
 *
 * A set of event sources is either "every source except these" or "only these": closed under union,
 * intersection and difference, so every answer here is exact, never sampled.
 */
import type { EventSelectorSummary, ObservedTrail } from './types';

export type SourceSet =
  /** Every event source except `sources`. */
  | { all: true; sources: readonly string[] }
  /** Only `sources` (none when empty). */
  | { all: false; sources: readonly string[] };

/** The management events a selector set picks, as read events and write events by event source. */
export interface ManagementSelection {
  read: SourceSet;
  write: SourceSet;
}

/** The event sources of the global services (the update-trail page of the CloudTrail User Guide). */
export const GLOBAL_SERVICE_SOURCES: readonly string[] = [
  'cloudfront.amazonaws.com',
  'iam.amazonaws.com',
  'signin.amazonaws.com',
  'sts.amazonaws.com',
];

const sorted = (values: Iterable<string>): string[] => [...new Set(values)].sort();

export const EVERY_SOURCE: SourceSet = { all: true, sources: [] };
export const NO_SOURCE: SourceSet = { all: false, sources: [] };
export const ALL_MANAGEMENT: ManagementSelection = { read: EVERY_SOURCE, write: EVERY_SOURCE };
export const NO_MANAGEMENT: ManagementSelection = { read: NO_SOURCE, write: NO_SOURCE };

export function allExcept(sources: Iterable<string>): SourceSet {
  return { all: true, sources: sorted(sources) };
}

export function only(sources: Iterable<string>): SourceSet {
  return { all: false, sources: sorted(sources) };
}

export function isEmptySet(set: SourceSet): boolean {
  return !set.all && set.sources.length === 0;
}

export function isEverySource(set: SourceSet): boolean {
  return set.all && set.sources.length === 0;
}

export function unionSets(a: SourceSet, b: SourceSet): SourceSet {
  if (a.all && b.all) return allExcept(a.sources.filter((s) => b.sources.includes(s)));
  if (!a.all && !b.all) return only([...a.sources, ...b.sources]);
  const [co, fin] = a.all ? [a, b] : [b, a];
  return allExcept(co.sources.filter((s) => !fin.sources.includes(s)));
}

export function intersectSets(a: SourceSet, b: SourceSet): SourceSet {
  if (a.all && b.all) return allExcept([...a.sources, ...b.sources]);
  if (!a.all && !b.all) return only(a.sources.filter((s) => b.sources.includes(s)));
  const [co, fin] = a.all ? [a, b] : [b, a];
  return only(fin.sources.filter((s) => !co.sources.includes(s)));
}

export function complementSet(a: SourceSet): SourceSet {
  return a.all ? only(a.sources) : allExcept(a.sources);
}

export function subtractSets(a: SourceSet, b: SourceSet): SourceSet {
  return intersectSets(a, complementSet(b));
}

export function hasSource(set: SourceSet, source: string): boolean {
  return set.all ? !set.sources.includes(source) : set.sources.includes(source);
}

const both = (f: (x: SourceSet, y: SourceSet) => SourceSet) => (a: ManagementSelection, b: ManagementSelection) => ({
  read: f(a.read, b.read),
  write: f(a.write, b.write),
});
export const unionSelections = both(unionSets);
export const intersectSelections = both(intersectSets);
export const subtractSelections = both(subtractSets);

export function isEmptySelection(s: ManagementSelection): boolean {
  return isEmptySet(s.read) && isEmptySet(s.write);
}

export function isAllManagement(s: ManagementSelection): boolean {
  return isEverySource(s.read) && isEverySource(s.write);
}

// ---- event selectors -> selection ------------------------------------------------------------------------

export interface BasicSelector {
  ReadWriteType?: string;
  IncludeManagementEvents?: boolean;
  ExcludeManagementEventSources?: string[];
}

export interface FieldSelector {
  Field?: string;
  Equals?: string[];
  NotEquals?: string[];
  StartsWith?: string[];
  NotStartsWith?: string[];
  EndsWith?: string[];
  NotEndsWith?: string[];
}

export interface AdvancedSelector {
  Name?: string;
  FieldSelectors?: FieldSelector[];
}

export interface SelectionReading {
  selection: ManagementSelection;
  /** Filters on management events this model does not evaluate (an operator or field it does not know). */
  unmodelled: string[];
}

/** Basic selectors: the union of every selector with IncludeManagementEvents (default true). */
export function basicSelection(selectors: readonly BasicSelector[]): SelectionReading {
  if (selectors.length === 0) return { selection: ALL_MANAGEMENT, unmodelled: [] };
  let selection = NO_MANAGEMENT;
  for (const selector of selectors) {
    if (selector.IncludeManagementEvents === false) continue;
    const sources = allExcept(selector.ExcludeManagementEventSources ?? []);
    const type = selector.ReadWriteType ?? 'All';
    selection = unionSelections(selection, {
      read: type === 'WriteOnly' ? NO_SOURCE : sources,
      write: type === 'ReadOnly' ? NO_SOURCE : sources,
    });
  }
  return { selection, unmodelled: [] };
}

const OPERATORS = ['StartsWith', 'NotStartsWith', 'EndsWith', 'NotEndsWith'] as const;

/** Is this advanced selector about management events (eventCategory Equals Management)? */
export function selectsManagementCategory(selector: AdvancedSelector): boolean {
  return (selector.FieldSelectors ?? []).some(
    (field) => field.Field === 'eventCategory' && (field.Equals ?? []).includes('Management'),
  );
}

/** Advanced selectors: per selector the AND of its field selectors, then the union over selectors. */
export function advancedSelection(selectors: readonly AdvancedSelector[]): SelectionReading {
  let selection = NO_MANAGEMENT;
  const unmodelled: string[] = [];
  for (const selector of selectors) {
    if (!selectsManagementCategory(selector)) continue;
    let read = true;
    let write = true;
    let sources = EVERY_SOURCE;
    for (const field of selector.FieldSelectors ?? []) {
      const values = (operator: keyof FieldSelector) => (field[operator] as string[] | undefined) ?? [];
      if (field.Field === 'eventCategory') continue;
      if (field.Field === 'readOnly') {
        if (field.Equals !== undefined) {
          read &&= values('Equals').includes('true');
          write &&= values('Equals').includes('false');
        }
        if (field.NotEquals !== undefined) {
          read &&= !values('NotEquals').includes('true');
          write &&= !values('NotEquals').includes('false');
        }
      } else if (field.Field === 'eventSource') {
        if (field.Equals !== undefined) sources = intersectSets(sources, only(values('Equals')));
        if (field.NotEquals !== undefined) sources = intersectSets(sources, allExcept(values('NotEquals')));
      }
      for (const operator of OPERATORS) {
        if (field[operator] !== undefined) unmodelled.push(`${field.Field} ${operator} ${values(operator).join(', ')}`);
      }
      if (field.Field !== 'readOnly' && field.Field !== 'eventSource') {
        for (const operator of ['Equals', 'NotEquals'] as const) {
          if (field[operator] !== undefined)
            unmodelled.push(`${field.Field} ${operator} ${values(operator).join(', ')}`);
        }
      }
    }
    selection = unionSelections(selection, { read: read ? sources : NO_SOURCE, write: write ? sources : NO_SOURCE });
  }
  return { selection, unmodelled: sorted(unmodelled) };
}

// ---- trails -> coverage -----------------------------------------------------------------------------------

/** Stands for every region not named by any trail (only a multi-region trail logs there). */
export const OTHER_REGIONS = '*';

export interface TrailCoverage {
  arn: string;
  /** `all` for a multi-region trail (organization trails included), else its home region. */
  regions: 'all' | readonly string[];
  /** Receives the global service events (recorded in the partition's global region only). */
  globalServiceEvents: boolean;
  /** The region global service events are recorded in, for this trail's partition. */
  globalRegion: string;
  management: ManagementSelection;
  unmodelled: readonly string[];
}

/** The region global service events are recorded in: us-east-1 (aws), cn-north-1, us-gov-west-1. */
export function globalRegionOf(arn: string): string {
  const partition = arn.split(':')[1];
  if (partition === 'aws-cn') return 'cn-north-1';
  if (partition === 'aws-us-gov') return 'us-gov-west-1';
  return 'us-east-1';
}

/** The management events selected, from the summary (absent `management`: all of them, or none). */
export function selectionOf(summary: EventSelectorSummary): ManagementSelection {
  if (summary.management !== undefined) return summary.management;
  return summary.managementEvents ? ALL_MANAGEMENT : NO_MANAGEMENT;
}

/** What the trail would log while logging; undefined when its selectors could not be read. */
export function trailCoverage(trail: ObservedTrail): TrailCoverage | undefined {
  if (!trail.selectors.known) return undefined;
  const globalRegion = globalRegionOf(trail.arn);
  return {
    arn: trail.arn,
    regions: trail.isMultiRegion ? 'all' : [trail.homeRegion],
    // IncludeGlobalServiceEvents defaults to true (CreateTrail); a multi-region trail always has it.
    globalServiceEvents:
      trail.isMultiRegion || (trail.includeGlobalServiceEvents !== false && trail.homeRegion === globalRegion),
    globalRegion,
    management: selectionOf(trail.selectors.value),
    unmodelled: trail.selectors.value.unmodelled ?? [],
  };
}

/** What the trail logs in one region (`OTHER_REGIONS`: any region no trail is homed in). */
export function selectionIn(coverage: TrailCoverage, region: string): ManagementSelection {
  if (!covers(coverage, region)) return NO_MANAGEMENT;
  if (region === coverage.globalRegion && !coverage.globalServiceEvents) {
    const global = only(GLOBAL_SERVICE_SOURCES);
    return subtractSelections(coverage.management, { read: global, write: global });
  }
  return coverage.management;
}

export function covers(coverage: TrailCoverage, region: string): boolean {
  return coverage.regions === 'all' || coverage.regions.includes(region);
}

/** Every region worth evaluating for these trails: their home regions, the global region, and the rest. */
export function regionsOf(coverages: readonly TrailCoverage[], extra: readonly string[] = []): string[] {
  const named = new Set<string>(extra);
  for (const coverage of coverages) {
    named.add(coverage.globalRegion);
    if (coverage.regions !== 'all') for (const region of coverage.regions) named.add(region);
  }
  return [...[...named].sort(), OTHER_REGIONS];
}

/** Regions (of `regions`) where both trails log some of the same management events. */
export function overlapRegions(a: TrailCoverage, b: TrailCoverage, regions: readonly string[]): string[] {
  return regions.filter(
    (region) => !isEmptySelection(intersectSelections(selectionIn(a, region), selectionIn(b, region))),
  );
}

// ---- what a trail does not log ---------------------------------------------------------------------------

export interface CoverageGap {
  kind: 'events' | 'global-service-events' | 'regions' | 'unevaluated';
  /** What is not logged by the trail, in words. */
  description: string;
  /** Other trails (logging) that log some of it: a copy the collector added would be billed. */
  loggedBy: string[];
}

function describeSet(kind: 'read' | 'write' | 'read and write', set: SourceSet): string {
  if (isEverySource(set)) return `${kind} events`;
  if (set.all) return `${kind} events of every event source except ${set.sources.join(', ')}`;
  return `${kind} events from ${set.sources.join(', ')}`;
}

function sameSet(a: SourceSet, b: SourceSet): boolean {
  return a.all === b.all && a.sources.join() === b.sources.join();
}

/** The missing part of a selection, in words ("write events", "read and write events from kms.amazonaws.com"). */
export function describeSelection(missing: ManagementSelection): string[] {
  if (isEmptySelection(missing)) return [];
  if (sameSet(missing.read, missing.write)) return [describeSet('read and write', missing.read)];
  return [
    ...(isEmptySet(missing.read) ? [] : [describeSet('read', missing.read)]),
    ...(isEmptySet(missing.write) ? [] : [describeSet('write', missing.write)]),
  ];
}

/**
 * What `trail` does not log of the account's management events, and which of `others` log some of each part.
 * Empty when it logs every management event in every region, global service events included.
 */
export function coverageGaps(trail: TrailCoverage, others: readonly TrailCoverage[]): CoverageGap[] {
  const regions = regionsOf([trail, ...others]);
  const gaps: CoverageGap[] = [];
  const loggedBy = (missingIn: (region: string) => ManagementSelection): string[] =>
    others
      .filter((other) =>
        regions.some((region) => !isEmptySelection(intersectSelections(missingIn(region), selectionIn(other, region)))),
      )
      .map((other) => other.arn);

  // Read / write events and event sources, where the trail logs at all.
  const missing = subtractSelections(ALL_MANAGEMENT, trail.management);
  for (const description of describeSelection(missing)) {
    gaps.push({
      kind: 'events',
      description,
      loggedBy: loggedBy((region) => (covers(trail, region) ? missing : NO_MANAGEMENT)),
    });
  }
  // Global service events the trail's selectors would pick but it does not receive.
  const global = only(GLOBAL_SERVICE_SOURCES);
  const wanted = intersectSelections(trail.management, { read: global, write: global });
  const globalMissing = subtractSelections(wanted, selectionIn(trail, trail.globalRegion));
  if (!isEmptySelection(globalMissing)) {
    gaps.push({
      kind: 'global-service-events',
      description:
        `global service events (${GLOBAL_SERVICE_SOURCES.join(', ')}), recorded in ${trail.globalRegion} only` +
        (trail.regions === 'all'
          ? ''
          : ': the trail is single-region, and not there or without IncludeGlobalServiceEvents'),
      loggedBy: loggedBy((region) => (region === trail.globalRegion ? globalMissing : NO_MANAGEMENT)),
    });
  }
  // Regions.
  if (trail.regions !== 'all') {
    const homes = trail.regions;
    gaps.push({
      kind: 'regions',
      description: `management events in every region other than ${homes.join(', ')} (the trail is single-region)`,
      loggedBy: loggedBy((region) => (homes.includes(region) ? NO_MANAGEMENT : ALL_MANAGEMENT)),
    });
  }
  if (trail.unmodelled.length > 0) {
    gaps.push({
      kind: 'unevaluated',
      description: `management events left out by ${trail.unmodelled.join('; ')} (a filter the collector does not evaluate)`,
      loggedBy: [],
    });
  }
  return gaps;
}
