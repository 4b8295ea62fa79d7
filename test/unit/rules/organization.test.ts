/**
 * The cost guard across an organization (issue 12), through the planner: a member sees the management account's
 * organization trail in DescribeTrails (a shadow trail, often with unreadable status and selectors); no trail is
 * created beside it; a member's own trail beside it is COST_DUPLICATE_TRAILS with the monthly figure; and the
 * outcomes-trail the collector created and recorded is COLLECTOR_TRAIL_REDUNDANT, retired (RETIRE_TRAIL) in apply
 * mode only once the ledger shows the organization path delivering the account's files.
 */
import { actionCostImpact, duplicateTrailsCost } from '../../../lambdas/reconcile/costs';
import { planAccount } from '../../../lambdas/reconcile/plan';
import { collectorTrailRetirementRule } from '../../../lambdas/reconcile/rules';
import { known, unknown, type ObservedState, type ObservedTrail } from '../../../lambdas/reconcile/types';
import type { NewestFile } from '../../../lambdas/shared/ledger';
import { BUCKET, REGION, TRAIL_ARN, context, healthy, trail } from '../../../testkit/reconcile-fixtures';
import { CUSTOMER_TRAIL, codes, findingCodes, ruleOutput, with_ } from './helpers';

const MANAGEMENT = '999900001111';
const ORG_BUCKET = 'acme-org-trail-555566667777';
const ORG_TRAIL = `arn:aws:cloudtrail:${REGION}:${MANAGEMENT}:trail/org-trail`;
const SEEN_AT = '2026-11-01T10:00:00.000Z';
const MONTHLY = duplicateTrailsCost(1, context().costs);

/** The organization trail as a member sees it: TrailNotFoundException for its status and selectors. */
const orgTrail = (overrides: Partial<ObservedTrail> = {}): ObservedTrail =>
  trail({
    arn: ORG_TRAIL,
    name: 'org-trail',
    ownerAccountId: MANAGEMENT,
    isOrganization: true,
    bucketName: ORG_BUCKET,
    topicArn: undefined,
    status: unknown('GetTrailStatus: TrailNotFoundException'),
    selectors: unknown('GetEventSelectors: TrailNotFoundException'),
    ...overrides,
  });

const newest = (bucket: string, deliveredAt: string): Record<string, NewestFile> => ({
  [REGION]: {
    region: REGION,
    bucket,
    key: `AWSLogs/o-abc/111122223333/CloudTrail/${REGION}/2026/11/01/f.json.gz`,
    deliveredAt,
    collectedAt: deliveredAt,
  },
});

/** outcomes-trail (recorded) beside the organization trail, with the ledger's newest file. */
const member = (collected?: ObservedState['collected'], org = orgTrail()) =>
  with_((s) => {
    s.trails = known([trail(), org]);
    if (collected !== undefined) s.collected = collected;
  });

const apply = { runMode: 'apply' as const, accountMode: 'apply' as const, organizationTrailSeenAt: SEEN_AT };

describe('no member trail while the organization trail logs the member', () => {
  test.each([
    ['presumed (status unreadable)', orgTrail()],
    [
      'known to log',
      orgTrail({ status: known({ isLogging: true }), selectors: known({ managementEvents: true, dataEvents: false }) }),
    ],
  ])('nothing recorded, only the organization trail %s: no CREATE_TRAIL', (_name, org) => {
    const plan = planAccount(
      with_((s) => (s.trails = known([org]))),
      context({ recorded: {}, runMode: 'apply', accountMode: 'apply' }),
    );
    expect(codes(plan)).toEqual([]);
    expect(findingCodes(plan)).toEqual(['TRAIL_NOT_COLLECTABLE']);
  });

  test('after retirement (outcomes-trail gone, registry no longer records it): no CREATE_TRAIL, no TRAIL_MISSING', () => {
    const plan = planAccount(
      with_((s) => (s.trails = known([orgTrail()]))),
      context({
        recorded: {},
        runMode: 'apply',
        accountMode: 'apply',
        logArchives: [{ accountId: '555566667777', bucketNames: [ORG_BUCKET] }],
      }),
    );
    expect(codes(plan)).toEqual([]);
    expect(findingCodes(plan)).toEqual(['COLLECTED_BY_LOG_ARCHIVE']);
  });

  test('compliant: the organization trail is stopped (known): the member gets its own trail, the first copy', () => {
    const org = orgTrail({ status: known({ isLogging: false }) });
    const plan = planAccount(
      with_((s) => (s.trails = known([org]))),
      context({ recorded: {} }),
    );
    expect(codes(plan)).toContain('CREATE_TRAIL');
  });
});

describe("COST_DUPLICATE_TRAILS: a member's own trail beside the organization trail", () => {
  test('non-compliant: the customer trail and the presumed organization trail, with the monthly figure', () => {
    const own = trail({ arn: CUSTOMER_TRAIL, name: 'acme-audit' });
    const plan = planAccount(
      with_((s) => (s.trails = known([own, orgTrail()]))),
      context({ recorded: { trailArn: CUSTOMER_TRAIL } }),
    );
    const cost = plan.findings.find((f) => f.code === 'COST_DUPLICATE_TRAILS');
    expect(cost).toMatchObject({ severity: 'medium', resource: `${CUSTOMER_TRAIL}, ${ORG_TRAIL}` });
    expect(cost!.message).toContain(MONTHLY.note);
    expect(cost!.message).toContain(`${ORG_TRAIL} is an organization trail whose logging this member cannot read`);
    // Not the collector's trail: nothing to retire, nothing deleted.
    expect(findingCodes(plan)).not.toContain('COLLECTOR_TRAIL_REDUNDANT');
    expect(codes(plan)).not.toContain('RETIRE_TRAIL');
  });

  test('compliant: the organization trail is the only trail logging (no own copy)', () => {
    const stopped = trail({ arn: CUSTOMER_TRAIL, name: 'acme-audit', status: known({ isLogging: false }) });
    const plan = planAccount(
      with_((s) => (s.trails = known([stopped, orgTrail()]))),
      context({ recorded: {} }),
    );
    expect(findingCodes(plan)).not.toContain('COST_DUPLICATE_TRAILS');
  });
});

describe('COLLECTOR_TRAIL_REDUNDANT -> RETIRE_TRAIL', () => {
  test('compliant: outcomes-trail with no organization trail: nothing', () => {
    expect(ruleOutput(collectorTrailRetirementRule, healthy(), context(apply))).toEqual({ findings: [], actions: [] });
  });

  test('the ledger shows the organization bucket after the trail was first seen: retired, by name, a saving', () => {
    const plan = planAccount(member(known(newest(ORG_BUCKET, '2026-11-01T11:05:00Z'))), context(apply));
    const redundant = plan.findings.find((f) => f.code === 'COLLECTOR_TRAIL_REDUNDANT');
    expect(redundant).toMatchObject({ severity: 'medium', resource: TRAIL_ARN });
    expect(redundant!.message).toContain(MONTHLY.note);
    expect(findingCodes(plan)).toContain('COST_DUPLICATE_TRAILS');
    const retire = plan.actions.filter((a) => a.code === 'RETIRE_TRAIL');
    expect(retire).toEqual([
      expect.objectContaining({
        resource: TRAIL_ARN,
        reason: 'COLLECTOR_TRAIL_REDUNDANT',
        params: { trailName: 'outcomes-trail', region: REGION },
        costImpact: actionCostImpact('RETIRE_TRAIL', context().costs),
      }),
    ]);
    expect(retire[0]!.costImpact.note).toContain(`saves $${MONTHLY.monthlyUsd.toFixed(2)}/month`);
    expect(plan.execute).toContain(retire[0]!.id);
  });

  test.each([
    ['no ledger', undefined, 'never retired automatically without a ledger'],
    ['the ledger unreadable', unknown('ResourceNotFoundException'), 'the ledger could not be read'],
    ['only files of its own bucket', known(newest(BUCKET, '2026-11-01T11:05:00Z')), 'retired once the ledger holds'],
    [
      'an organization file delivered before the trail was first seen',
      known(newest(ORG_BUCKET, '2026-11-01T09:55:00Z')),
      'retired once the ledger holds',
    ],
  ])('%s: reported, never retired', (_name, collected, why) => {
    const plan = planAccount(member(collected), context(apply));
    expect(plan.findings.find((f) => f.code === 'COLLECTOR_TRAIL_REDUNDANT')?.message).toContain(why);
    expect(codes(plan)).not.toContain('RETIRE_TRAIL');
  });

  test('first seen in this run (nothing recorded yet): it waits, even with an organization file in the ledger', () => {
    const plan = planAccount(
      member(known(newest(ORG_BUCKET, '2026-11-01T11:05:00Z'))),
      context({ runMode: 'apply', accountMode: 'apply' }),
    );
    expect(codes(plan)).not.toContain('RETIRE_TRAIL');
  });

  test('a single-region organization trail beside the multi-region outcomes-trail: not retired', () => {
    const plan = planAccount(
      member(known(newest(ORG_BUCKET, '2026-11-01T11:05:00Z')), orgTrail({ isMultiRegion: false })),
      context(apply),
    );
    expect(plan.findings.find((f) => f.code === 'COLLECTOR_TRAIL_REDUNDANT')?.message).toContain('logs us-east-1 only');
    expect(codes(plan)).not.toContain('RETIRE_TRAIL');
  });

  test('report-mode account: planned, not executed', () => {
    const plan = planAccount(
      member(known(newest(ORG_BUCKET, '2026-11-01T11:05:00Z'))),
      context({ ...apply, accountMode: 'report' }),
    );
    const retire = plan.actions.find((a) => a.code === 'RETIRE_TRAIL')!;
    expect(plan.execute).not.toContain(retire.id);
  });

  test.each([
    [
      'a customer trail named otherwise, recorded',
      { recorded: { trailArn: CUSTOMER_TRAIL } },
      trail({ arn: CUSTOMER_TRAIL, name: 'acme-audit' }),
    ],
    ['outcomes-trail not recorded as the collection trail', { recorded: {} }, trail()],
  ])('%s: never retired', (_name, overrides, own) => {
    const state = with_((s) => {
      s.trails = known([own, orgTrail()]);
      s.collected = known(newest(ORG_BUCKET, '2026-11-01T11:05:00Z'));
    });
    const plan = planAccount(state, context({ ...apply, ...overrides }));
    expect(codes(plan)).not.toContain('RETIRE_TRAIL');
    expect(findingCodes(plan)).not.toContain('COLLECTOR_TRAIL_REDUNDANT');
  });
});
