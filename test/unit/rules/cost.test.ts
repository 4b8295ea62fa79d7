/**
 * The cost rule, through the planner: for each finding, a compliant state and a non-compliant one with its
 * finding and actions (cdk-nag style). Moved from reconcile-plan.test.ts; the rule-level cases are at the end.
 */
import { planAccount } from '../../../lambdas/reconcile/plan';
import { costRule } from '../../../lambdas/reconcile/rules';
import {
  EVERY_SOURCE,
  NO_SOURCE,
  allExcept,
  only,
  type ManagementSelection,
} from '../../../lambdas/reconcile/coverage';
import { known, type ObservedTrail } from '../../../lambdas/reconcile/types';
import { context, healthy, trail } from '../../../testkit/reconcile-fixtures';
import { CUSTOMER_TRAIL, ruleOutput, with_ } from './helpers';

describe('cost findings', () => {
  test('COST_DUPLICATE_TRAILS: two trails log management events; the extra copy is estimated', () => {
    const plan = planAccount(
      with_((s) => (s.trails = known([trail(), trail({ arn: CUSTOMER_TRAIL, name: 'acme-audit' })]))),
      context(),
    );
    expect(plan.findings).toEqual([
      expect.objectContaining({
        code: 'COST_DUPLICATE_TRAILS',
        severity: 'medium',
        message: expect.stringContaining('$20.00/month'),
      }),
    ]);
    expect(plan.actions).toEqual([]);
  });

  test('compliant: a stopped second trail bills nothing', () => {
    const stopped = trail({ arn: CUSTOMER_TRAIL, name: 'acme-audit', status: known({ isLogging: false }) });
    expect(
      planAccount(
        with_((s) => (s.trails = known([trail(), stopped]))),
        context(),
      ).findings,
    ).toEqual([]);
  });

  test.each([
    ['COST_DATA_EVENTS', { selectors: known({ managementEvents: true, dataEvents: true }) }, '$10.00/month'],
    ['COST_INSIGHTS', { hasInsightSelectors: true }, '$3.50/month'],
    [
      'COST_CLOUDWATCH_LOGS',
      { cloudWatchLogsLogGroupArn: 'arn:aws:logs:us-east-1:111122223333:log-group:ct' },
      '$0.70/month',
    ],
  ])('%s is reported (info) with its estimate', (code, overrides, amount) => {
    const plan = planAccount(
      with_((s) => (s.trails = known([trail(overrides)]))),
      context(),
    );
    expect(plan.findings).toEqual([
      expect.objectContaining({ code, severity: 'info', message: expect.stringContaining(amount) }),
    ]);
  });
});

describe('network activity events (billed like data events: CloudTrail pricing)', () => {
  test('non-compliant: a logging trail that records them gets COST_DATA_EVENTS with their estimate', () => {
    const selectors = known({ managementEvents: true, dataEvents: false, networkActivityEvents: true as const });
    const plan = planAccount(
      with_((s) => (s.trails = known([trail({ selectors })]))),
      context(),
    );
    expect(plan.findings).toEqual([
      expect.objectContaining({
        code: 'COST_DATA_EVENTS',
        severity: 'info',
        message: expect.stringContaining('network activity events'),
      }),
    ]);
  });

  test('compliant: a stopped trail that records them bills nothing, and is not started', () => {
    const selectors = known({ managementEvents: true, dataEvents: false, networkActivityEvents: true as const });
    const stopped = trail({ selectors, status: known({ isLogging: false }) });
    const plan = planAccount(
      with_((s) => (s.trails = known([stopped]))),
      context(),
    );
    expect(plan.findings.map((f) => f.code)).not.toContain('COST_DATA_EVENTS');
    expect(plan.actions.map((a) => a.code)).not.toContain('START_LOGGING');
  });
});

describe('the cost rule on its own', () => {
  test('compliant: one trail of management events bills nothing extra; non-compliant: a second copy', () => {
    expect(ruleOutput(costRule, healthy(), context())).toEqual({ findings: [], actions: [] });
    const twice = with_((s) => (s.trails = known([trail(), trail({ arn: CUSTOMER_TRAIL, name: 'acme-audit' })])));
    expect(ruleOutput(costRule, twice, context()).findings.map((f) => [f.code, f.severity])).toEqual([
      ['COST_DUPLICATE_TRAILS', 'medium'],
    ]);
  });
});

describe('COST_DUPLICATE_TRAILS only for an overlapping part (coverage.ts; CloudTrail pricing: first copy free)', () => {
  const readOnly = { read: EVERY_SOURCE, write: NO_SOURCE };
  const writeOnly = { read: NO_SOURCE, write: EVERY_SOURCE };
  const selecting = (management: ManagementSelection) =>
    known({ managementEvents: true, dataEvents: false, management });
  const acme = (overrides: Partial<ObservedTrail>) => trail({ arn: CUSTOMER_TRAIL, name: 'acme-audit', ...overrides });

  test('compliant: a ReadOnly trail beside a WriteOnly trail is no duplicate', () => {
    const state = with_(
      (s) => (s.trails = known([trail({ selectors: selecting(writeOnly) }), acme({ selectors: selecting(readOnly) })])),
    );
    expect(ruleOutput(costRule, state, context()).findings).toEqual([]);
  });

  test('compliant: a trail without KMS events beside one with only KMS events is no duplicate', () => {
    const kms = only(['kms.amazonaws.com']);
    const noKms = allExcept(['kms.amazonaws.com']);
    const state = with_(
      (s) =>
        (s.trails = known([
          trail({ selectors: selecting({ read: noKms, write: noKms }) }),
          acme({ selectors: selecting({ read: kms, write: kms }) }),
        ])),
    );
    expect(ruleOutput(costRule, state, context()).findings).toEqual([]);
  });

  test('compliant: a single-region trail in another region copies nothing in the collector region', () => {
    const elsewhere = acme({
      isMultiRegion: false,
      homeRegion: 'eu-west-1',
      arn: 'arn:aws:cloudtrail:eu-west-1:111122223333:trail/eu',
    });
    expect(
      ruleOutput(
        costRule,
        with_((s) => (s.trails = known([trail(), elsewhere]))),
        context(),
      ).findings,
    ).toEqual([]);
  });

  test('non-compliant: a ReadOnly trail beside a full trail copies the read events, and says so', () => {
    const state = with_((s) => (s.trails = known([trail(), acme({ selectors: selecting(readOnly) })])));
    expect(ruleOutput(costRule, state, context()).findings).toEqual([
      expect.objectContaining({
        code: 'COST_DUPLICATE_TRAILS',
        severity: 'medium',
        message: expect.stringMatching(/\(read events\).*\$20\.00\/month.*an upper bound/),
      }),
    ]);
  });
});

describe('Insights priced per observed type (CloudTrail API Reference, InsightSelector; "Costs for Insights events")', () => {
  const withInsights = (insightSelectors: ObservedTrail['insightSelectors']) =>
    planAccount(
      with_((s) => (s.trails = known([trail({ hasInsightSelectors: true, insightSelectors })]))),
      context(),
    ).findings;

  test('non-compliant: the API call rate type alone analyzes the write events only: $0.35, not $3.50', () => {
    expect(withInsights(known([{ type: 'ApiCallRateInsight', categories: ['Management'] }]))).toEqual([
      expect.objectContaining({
        code: 'COST_INSIGHTS',
        severity: 'info',
        message: expect.stringMatching(/\$0\.35\/month for ApiCallRateInsight — .*100,000 events analyzed/),
      }),
    ]);
  });

  test('non-compliant: both types on management events analyze the write events twice: $3.85', () => {
    const both = known([
      { type: 'ApiCallRateInsight' as const, categories: ['Management' as const] },
      { type: 'ApiErrorRateInsight' as const, categories: ['Management' as const] },
    ]);
    expect(withInsights(both)).toEqual([
      expect.objectContaining({ code: 'COST_INSIGHTS', message: expect.stringContaining('$3.85/month') }),
    ]);
  });

  test('non-compliant: a type on data events analyzes every data event the trail logs (10,000,000: $35.00)', () => {
    expect(withInsights(known([{ type: 'ApiCallRateInsight', categories: ['Data'] }]))).toEqual([
      expect.objectContaining({
        code: 'COST_INSIGHTS',
        message: expect.stringMatching(/\$35\.00\/month: ApiCallRateInsight on data events, 10,000,000 events/),
      }),
    ]);
  });

  test('types not readable: the error rate amount with the both-types note, as before', () => {
    expect(withInsights({ known: false, error: 'GetInsightSelectors: AccessDenied' })).toEqual([
      expect.objectContaining({ code: 'COST_INSIGHTS', message: expect.stringContaining('$3.50/month') }),
    ]);
  });

  test('compliant: GetInsightSelectors says none after all (InsightNotEnabledException): no finding', () => {
    expect(withInsights(known([]))).toEqual([]);
  });
});
