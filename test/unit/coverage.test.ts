/**
 * coverage.ts: which management events a trail logs. Example cases per AWS page, then properties over generated
 * selectors and trails, checked against an oracle that evaluates the raw selectors on single events, the way the
 * CloudTrail User Guide describes it ("Logging management events": an event is logged when it matches any
 * selector; "Logging events with advanced event selectors" / AdvancedFieldSelector: fields of one selector are
 * ANDed; "Using the update-trail command": global service events are recorded in us-east-1 only).
 */
import fc from 'fast-check';
import type { AdvancedEventSelector, EventSelector } from '@aws-sdk/client-cloudtrail';
import {
  ALL_MANAGEMENT,
  EVERY_SOURCE,
  NO_SOURCE,
  allExcept,
  complementSet,
  coverageGaps,
  hasSource,
  intersectSets,
  only,
  overlapRegions,
  regionsOf,
  selectionIn,
  subtractSets,
  trailCoverage,
  unionSets,
  type SourceSet,
  type TrailCoverage,
} from '../../lambdas/reconcile/coverage';
import { summarizeSelectors } from '../../lambdas/reconcile/observe';
import { known, type ObservedTrail } from '../../lambdas/reconcile/types';
import { trail } from '../../testkit/reconcile-fixtures';

const ACCT = '111122223333';
const SELECTOR_SOURCES = ['kms.amazonaws.com', 'rdsdata.amazonaws.com', 'ec2.amazonaws.com', 'iam.amazonaws.com'];
/**
 * `sqs` and `sts` are never named by a generated selector: they stand for every source no selector mentions, a
 * regional one and a global service one.
 */
const EVENT_SOURCES = [...SELECTOR_SOURCES, 'sqs.amazonaws.com', 'sts.amazonaws.com'];
const GLOBAL = new Set(['iam.amazonaws.com', 'sts.amazonaws.com', 'cloudfront.amazonaws.com', 'signin.amazonaws.com']);
const HOMES = ['us-east-1', 'eu-west-1'];
/** ap-south-1 is homed by no generated trail: "every other region". */
const EVENT_REGIONS = [...HOMES, 'ap-south-1'];

interface RawTrail {
  arn: string;
  homeRegion: string;
  multiRegion: boolean;
  includeGlobal: boolean;
  basic?: EventSelector[];
  advanced?: AdvancedEventSelector[];
}

interface EventPoint {
  region: string;
  readOnly: boolean;
  source: string;
}

/** The oracle: does this trail log this one event? Straight from the User Guide's wording, no set algebra. */
function logs(raw: RawTrail, e: EventPoint): boolean {
  if (!raw.multiRegion && raw.homeRegion !== e.region) return false;
  if (GLOBAL.has(e.source) && e.region === 'us-east-1' && !raw.multiRegion && !raw.includeGlobal) return false;
  if (raw.advanced !== undefined && raw.advanced.length > 0) {
    return raw.advanced.some((selector) => {
      const fields = selector.FieldSelectors ?? [];
      const management = fields.some((f) => f.Field === 'eventCategory' && (f.Equals ?? []).includes('Management'));
      return (
        management &&
        fields.every((f) => {
          const value = f.Field === 'readOnly' ? String(e.readOnly) : f.Field === 'eventSource' ? e.source : undefined;
          if (value === undefined) return true;
          if (f.Equals !== undefined && !f.Equals.includes(value)) return false;
          if (f.NotEquals !== undefined && f.NotEquals.includes(value)) return false;
          return true;
        })
      );
    });
  }
  const basic = raw.basic ?? [];
  if (basic.length === 0) return true;
  return basic.some(
    (s) =>
      s.IncludeManagementEvents !== false &&
      (s.ReadWriteType === undefined || s.ReadWriteType === 'All' || (s.ReadWriteType === 'ReadOnly') === e.readOnly) &&
      !(s.ExcludeManagementEventSources ?? []).includes(e.source),
  );
}

function observed(raw: RawTrail): ObservedTrail {
  return trail({
    arn: raw.arn,
    homeRegion: raw.homeRegion,
    isMultiRegion: raw.multiRegion,
    includeGlobalServiceEvents: raw.includeGlobal,
    selectors: known(
      summarizeSelectors({
        ...(raw.basic ? { EventSelectors: raw.basic } : {}),
        ...(raw.advanced ? { AdvancedEventSelectors: raw.advanced } : {}),
      }),
    ),
  });
}

function coverage(raw: RawTrail): TrailCoverage {
  return trailCoverage(observed(raw))!;
}

const regionKey = (region: string) => (HOMES.includes(region) ? region : '*');
const logsPoint = (c: TrailCoverage, e: EventPoint) => {
  const selection = selectionIn(c, regionKey(e.region));
  return hasSource(e.readOnly ? selection.read : selection.write, e.source);
};

const points: EventPoint[] = EVENT_REGIONS.flatMap((region) =>
  [true, false].flatMap((readOnly) => EVENT_SOURCES.map((source) => ({ region, readOnly, source }))),
);

const sources = fc.uniqueArray(fc.constantFrom(...SELECTOR_SOURCES), { maxLength: 3 });
const basicArb: fc.Arbitrary<EventSelector> = fc.record(
  {
    ReadWriteType: fc.constantFrom('All', 'ReadOnly', 'WriteOnly'),
    IncludeManagementEvents: fc.boolean(),
    ExcludeManagementEventSources: sources,
  },
  { requiredKeys: [] },
);
const fieldArb = fc.oneof(
  fc.record({ Field: fc.constant('readOnly'), Equals: fc.subarray(['true', 'false'], { minLength: 1 }) }),
  fc.record({ Field: fc.constant('readOnly'), NotEquals: fc.subarray(['true', 'false'], { minLength: 1 }) }),
  fc.record({ Field: fc.constant('eventSource'), NotEquals: sources }),
  fc.record({ Field: fc.constant('eventSource'), Equals: sources }),
);
const advancedArb: fc.Arbitrary<AdvancedEventSelector> = fc
  .tuple(fc.constantFrom('Management', 'Data'), fc.array(fieldArb, { maxLength: 3 }))
  .map(([category, fields]) => ({
    FieldSelectors: [
      { Field: 'eventCategory', Equals: [category] },
      ...fields,
      ...(category === 'Data' ? [{ Field: 'resources.type', Equals: ['AWS::S3::Object'] }] : []),
    ],
  }));
const rawTrailArb = (name: string): fc.Arbitrary<RawTrail> =>
  fc
    .record({
      homeRegion: fc.constantFrom(...HOMES),
      multiRegion: fc.boolean(),
      includeGlobal: fc.boolean(),
      kind: fc.constantFrom('basic', 'advanced', 'default'),
      basic: fc.array(basicArb, { minLength: 1, maxLength: 3 }),
      advanced: fc.array(advancedArb, { minLength: 1, maxLength: 3 }),
    })
    .map(({ kind, basic, advanced, homeRegion, ...rest }) => ({
      arn: `arn:aws:cloudtrail:${homeRegion}:${ACCT}:trail/${name}`,
      homeRegion,
      ...rest,
      ...(kind === 'basic' ? { basic } : kind === 'advanced' ? { advanced } : {}),
    }));

describe('sets of event sources', () => {
  const setArb: fc.Arbitrary<SourceSet> = fc
    .tuple(fc.boolean(), sources)
    .map(([all, list]) => (all ? allExcept(list) : only(list)));
  test('union, intersection, difference and complement agree with membership for every source', () => {
    fc.assert(
      fc.property(setArb, setArb, (a, b) => {
        for (const source of EVENT_SOURCES) {
          expect(hasSource(unionSets(a, b), source)).toBe(hasSource(a, source) || hasSource(b, source));
          expect(hasSource(intersectSets(a, b), source)).toBe(hasSource(a, source) && hasSource(b, source));
          expect(hasSource(subtractSets(a, b), source)).toBe(hasSource(a, source) && !hasSource(b, source));
          expect(hasSource(complementSet(a), source)).toBe(!hasSource(a, source));
        }
      }),
      { numRuns: 500 },
    );
  });

  test('the two ends', () => {
    expect(hasSource(EVERY_SOURCE, 'anything.amazonaws.com')).toBe(true);
    expect(hasSource(NO_SOURCE, 'anything.amazonaws.com')).toBe(false);
  });
});

describe('Logging management events: basic selectors', () => {
  test.each([
    ['no selector (the default): every management event', {}, ALL_MANAGEMENT],
    [
      'ReadWriteType ReadOnly',
      { EventSelectors: [{ ReadWriteType: 'ReadOnly' as const }] },
      { read: EVERY_SOURCE, write: NO_SOURCE },
    ],
    [
      'ReadWriteType WriteOnly',
      { EventSelectors: [{ ReadWriteType: 'WriteOnly' as const }] },
      { read: NO_SOURCE, write: EVERY_SOURCE },
    ],
    [
      'ExcludeManagementEventSources kms.amazonaws.com',
      { EventSelectors: [{ ReadWriteType: 'All' as const, ExcludeManagementEventSources: ['kms.amazonaws.com'] }] },
      { read: allExcept(['kms.amazonaws.com']), write: allExcept(['kms.amazonaws.com']) },
    ],
    [
      'a ReadOnly and a WriteOnly selector: both (an event matching any selector is logged)',
      { EventSelectors: [{ ReadWriteType: 'ReadOnly' as const }, { ReadWriteType: 'WriteOnly' as const }] },
      ALL_MANAGEMENT,
    ],
  ])('%s', (_name, response, expected) => {
    const summary = summarizeSelectors(response);
    expect(trailCoverage(trail({ selectors: known(summary) }))!.management).toEqual(expected);
  });
});

describe('Logging events with advanced event selectors (AdvancedFieldSelector)', () => {
  const mgmt = { Field: 'eventCategory', Equals: ['Management'] };
  test.each([
    [
      'readOnly Equals true: read events only',
      [mgmt, { Field: 'readOnly', Equals: ['true'] }],
      { read: EVERY_SOURCE, write: NO_SOURCE },
    ],
    [
      'readOnly Equals false: write events only',
      [mgmt, { Field: 'readOnly', Equals: ['false'] }],
      { read: NO_SOURCE, write: EVERY_SOURCE },
    ],
    [
      'eventSource NotEquals kms.amazonaws.com',
      [mgmt, { Field: 'eventSource', NotEquals: ['kms.amazonaws.com'] }],
      { read: allExcept(['kms.amazonaws.com']), write: allExcept(['kms.amazonaws.com']) },
    ],
  ])('%s', (_name, fields, expected) => {
    const summary = summarizeSelectors({ AdvancedEventSelectors: [{ FieldSelectors: fields }] });
    expect(summary.managementEvents).toBe(true);
    expect(summary.management).toEqual(expected);
  });

  test('a filter the model does not evaluate is named, and the selector counted as logging (cost side)', () => {
    const summary = summarizeSelectors({
      AdvancedEventSelectors: [{ FieldSelectors: [mgmt, { Field: 'eventSource', StartsWith: ['ec2'] }] }],
    });
    expect(summary.unmodelled).toEqual(['eventSource StartsWith ec2']);
    const gaps = coverageGaps(trailCoverage(trail({ selectors: known(summary) }))!, []);
    expect(gaps.map((g) => g.kind)).toEqual(['unevaluated']);
  });
});

describe('what a trail does not log', () => {
  test('compliant: a multi-region trail of every management event has no gap', () => {
    expect(coverageGaps(trailCoverage(trail())!, [])).toEqual([]);
  });

  test('a ReadOnly trail misses write events, logged by no other trail', () => {
    const readOnly = trail({
      selectors: known(summarizeSelectors({ EventSelectors: [{ ReadWriteType: 'ReadOnly' }] })),
    });
    expect(coverageGaps(trailCoverage(readOnly)!, [])).toEqual([
      { kind: 'events', description: 'write events', loggedBy: [] },
    ]);
  });

  test('a single-region trail outside us-east-1 misses the other regions and the global service events', () => {
    const single = trail({
      isMultiRegion: false,
      homeRegion: 'eu-west-1',
      arn: `arn:aws:cloudtrail:eu-west-1:${ACCT}:trail/eu`,
    });
    const other = trailCoverage(trail({ arn: `arn:aws:cloudtrail:us-east-1:${ACCT}:trail/all` }))!;
    const gaps = coverageGaps(trailCoverage(single)!, [other]);
    expect(gaps.map((g) => [g.kind, g.loggedBy])).toEqual([
      ['global-service-events', [other.arn]],
      ['regions', [other.arn]],
    ]);
  });

  test('a single-region trail in us-east-1 with IncludeGlobalServiceEvents off misses the global service events', () => {
    const single = trail({ isMultiRegion: false, includeGlobalServiceEvents: false });
    expect(coverageGaps(trailCoverage(single)!, []).map((g) => g.kind)).toEqual(['global-service-events', 'regions']);
    const withGlobal = trail({ isMultiRegion: false });
    expect(coverageGaps(trailCoverage(withGlobal)!, []).map((g) => g.kind)).toEqual(['regions']);
  });
});

describe('properties against the event-by-event oracle', () => {
  test('a trail logs exactly the events the oracle says it logs', () => {
    fc.assert(
      fc.property(rawTrailArb('a'), (raw) => {
        const c = coverage(raw);
        for (const e of points) expect({ e, logged: logsPoint(c, e) }).toEqual({ e, logged: logs(raw, e) });
      }),
      { numRuns: 3000 },
    );
  });

  test('two trails overlap exactly when one event is logged by both', () => {
    fc.assert(
      fc.property(rawTrailArb('a'), rawTrailArb('b'), (a, b) => {
        const [ca, cb] = [coverage(a), coverage(b)];
        const overlap = overlapRegions(ca, cb, regionsOf([ca, cb])).length > 0;
        expect(overlap).toBe(points.some((e) => logs(a, e) && logs(b, e)));
      }),
      { numRuns: 3000 },
    );
  });

  test('a trail has no gap exactly when it logs every event; a gap is logged by another trail exactly when the oracle says so', () => {
    fc.assert(
      fc.property(rawTrailArb('a'), rawTrailArb('b'), (a, b) => {
        const [ca, cb] = [coverage(a), coverage(b)];
        const gaps = coverageGaps(ca, [cb]);
        expect(gaps.length === 0).toBe(points.every((e) => logs(a, e)));
        const missedByA = points.filter((e) => !logs(a, e));
        const bLogsSomeOfIt = missedByA.some((e) => logs(b, e));
        expect(gaps.some((g) => g.loggedBy.includes(cb.arn))).toBe(bLogsSomeOfIt);
      }),
      { numRuns: 3000 },
    );
  });
});
