/**
 * The cost rule, through the planner: for each finding, a compliant state and a non-compliant one with its
 * finding and actions (cdk-nag style). Moved from reconcile-plan.test.ts; the rule-level cases are at the end.
 */
import { planAccount } from '../../../lambdas/reconcile/plan';
import { costRule } from '../../../lambdas/reconcile/rules';
import { known } from '../../../lambdas/reconcile/types';
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

describe('the cost rule on its own', () => {
  test('compliant: one trail of management events bills nothing extra; non-compliant: a second copy', () => {
    expect(ruleOutput(costRule, healthy(), context())).toEqual({ findings: [], actions: [] });
    const twice = with_((s) => (s.trails = known([trail(), trail({ arn: CUSTOMER_TRAIL, name: 'acme-audit' })])));
    expect(ruleOutput(costRule, twice, context()).findings.map((f) => [f.code, f.severity])).toEqual([
      ['COST_DUPLICATE_TRAILS', 'medium'],
    ]);
  });
});
