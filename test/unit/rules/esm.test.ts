/**
 * The event source mapping rule, through the planner: for each finding, a compliant state and a non-compliant one with its
 * finding and actions (cdk-nag style). Moved from reconcile-plan.test.ts; the rule-level cases are at the end.
 */
import { planAccount } from '../../../lambdas/reconcile/plan';
import { eventSourceMappingRule } from '../../../lambdas/reconcile/rules';
import { known, type PlanContext } from '../../../lambdas/reconcile/types';
import { FUNCTION_ARN, QUEUE_ARN, context, healthy } from '../../../testkit/reconcile-fixtures';
import { findingCodes, ruleOutput, with_ } from './helpers';

describe('ESM_MISSING / ESM_DISABLED', () => {
  const ctx = (): PlanContext => context({ ingestFunctionArn: FUNCTION_ARN });

  test('compliant: an enabled mapping to the function (a qualified ARN counts)', () => {
    const state = healthy({ esm: true });
    state.eventSourceMappings = known([{ uuid: 'e', functionArn: `${FUNCTION_ARN}:live`, state: 'Enabled' }]);
    expect(planAccount(state, ctx()).actions).toEqual([]);
  });

  test('no mapping: CREATE_ESM', () => {
    const plan = planAccount(
      with_((s) => (s.eventSourceMappings = known([]))),
      ctx(),
    );
    expect(findingCodes(plan)).toEqual(['ESM_MISSING']);
    expect(plan.actions.map((a) => [a.code, a.params])).toEqual([
      ['CREATE_ESM', { queueArn: QUEUE_ARN, functionArn: FUNCTION_ARN }],
    ]);
  });

  test('a disabled mapping: ENABLE_ESM', () => {
    const plan = planAccount(
      with_((s) => (s.eventSourceMappings = known([{ uuid: 'e-1', functionArn: FUNCTION_ARN, state: 'Disabled' }]))),
      ctx(),
    );
    expect(findingCodes(plan)).toEqual(['ESM_DISABLED']);
    expect(plan.actions.map((a) => [a.code, a.params])).toEqual([['ENABLE_ESM', { uuid: 'e-1' }]]);
  });

  test('not configured: mappings are not looked at', () => {
    expect(
      planAccount(
        with_((s) => (s.eventSourceMappings = known([]))),
        context(),
      ).actions,
    ).toEqual([]);
  });
});

describe('the event source mapping rule on its own', () => {
  test('compliant: an enabled mapping to the function; non-compliant: a disabled one is enabled', () => {
    const ctx = context({ ingestFunctionArn: FUNCTION_ARN });
    expect(ruleOutput(eventSourceMappingRule, healthy({ esm: true }), ctx)).toEqual({
      findings: [],
      actions: [],
      decided: { esm: { uuid: 'esm-1' } },
    });
    const disabled = with_(
      (s) => (s.eventSourceMappings = known([{ uuid: 'esm-1', functionArn: FUNCTION_ARN, state: 'Disabled' }])),
    );
    const output = ruleOutput(eventSourceMappingRule, disabled, ctx);
    expect(output.findings.map((f) => f.code)).toEqual(['ESM_DISABLED']);
    expect(output.actions.map((a) => a.code)).toEqual(['ENABLE_ESM']);
  });
});
