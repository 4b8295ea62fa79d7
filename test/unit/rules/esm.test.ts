/**
 * The event source mapping rule, through the planner: for each finding, a compliant state and a non-compliant one with its
 * finding and actions (cdk-nag style). Moved from reconcile-plan.test.ts; the rule-level cases are at the end.
 */
import { planAccount } from '../../../lambdas/reconcile/plan';
import { eventSourceMappingRule } from '../../../lambdas/reconcile/rules';
import { known, type PlanContext } from '../../../lambdas/reconcile/types';
import { FUNCTION_ARN, QUEUE_ARN, context, healthy } from '../../../testkit/reconcile-fixtures';
import { findingCodes, ruleOutput, with_ } from './helpers';

const ctx = (overrides: Partial<PlanContext> = {}): PlanContext =>
  context({ ingestFunctionArn: FUNCTION_ARN, ...overrides });

describe('ESM_MISSING / ESM_DISABLED', () => {
  test('compliant: an enabled mapping to the function with MaximumConcurrency 2 (a qualified ARN counts)', () => {
    const state = healthy({ esm: true });
    state.eventSourceMappings = known([
      { uuid: 'e', functionArn: `${FUNCTION_ARN}:live`, state: 'Enabled', maximumConcurrency: 2 },
    ]);
    expect(planAccount(state, ctx()).actions).toEqual([]);
  });

  test('no mapping: CREATE_ESM with MaximumConcurrency = ESM_MAXIMUM_CONCURRENCY (2 unless configured)', () => {
    const state = with_((s) => (s.eventSourceMappings = known([])));
    const plan = planAccount(state, ctx());
    expect(findingCodes(plan)).toEqual(['ESM_MISSING']);
    expect(plan.actions.map((a) => [a.code, a.params])).toEqual([
      ['CREATE_ESM', { queueArn: QUEUE_ARN, functionArn: FUNCTION_ARN, maximumConcurrency: 2 }],
    ]);
    expect(planAccount(state, ctx({ esmMaximumConcurrency: 7 })).actions[0]!.params).toMatchObject({
      maximumConcurrency: 7,
    });
  });

  test('a disabled mapping: ENABLE_ESM, which also sets MaximumConcurrency when it differs (one update call)', () => {
    const disabled = (maximumConcurrency?: number) =>
      with_(
        (s) =>
          (s.eventSourceMappings = known([
            {
              uuid: 'e-1',
              functionArn: FUNCTION_ARN,
              state: 'Disabled',
              ...(maximumConcurrency !== undefined ? { maximumConcurrency } : {}),
            },
          ])),
      );
    const unset = planAccount(disabled(), ctx());
    expect(findingCodes(unset)).toEqual(['ESM_DISABLED']);
    expect(unset.findings[0]!.message).toContain('enabled again with MaximumConcurrency 2 (it has none)');
    expect(unset.actions.map((a) => [a.code, a.params])).toEqual([
      ['ENABLE_ESM', { uuid: 'e-1', maximumConcurrency: 2 }],
    ]);
    const right = planAccount(disabled(2), ctx());
    expect(right.actions.map((a) => [a.code, a.params])).toEqual([['ENABLE_ESM', { uuid: 'e-1' }]]);
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

describe('ESM_CONCURRENCY_MISMATCH', () => {
  test('compliant: the mapping has ESM_MAXIMUM_CONCURRENCY', () => {
    const state = with_(
      (s) =>
        (s.eventSourceMappings = known([
          { uuid: 'e-1', functionArn: FUNCTION_ARN, state: 'Enabled', maximumConcurrency: 5 },
        ])),
    );
    expect(planAccount(state, ctx({ esmMaximumConcurrency: 5 })).findings).toEqual([]);
  });

  test.each([
    ['no MaximumConcurrency (the seed mappings: up to 1,250 concurrent invokes)', undefined, 'has none'],
    ['another MaximumConcurrency', 50, 'has MaximumConcurrency 50'],
  ])('non-compliant: %s -> UPDATE_ESM', (_name, current, said) => {
    const state = with_(
      (s) =>
        (s.eventSourceMappings = known([
          {
            uuid: 'e-1',
            functionArn: FUNCTION_ARN,
            state: 'Enabled',
            ...(current !== undefined ? { maximumConcurrency: current } : {}),
          },
        ])),
    );
    const plan = planAccount(state, ctx());
    expect(plan.findings.map((f) => [f.code, f.severity])).toEqual([['ESM_CONCURRENCY_MISMATCH', 'high']]);
    expect(plan.findings[0]!.message).toContain(said);
    expect(plan.actions.map((a) => [a.code, a.reason, a.params])).toEqual([
      ['UPDATE_ESM', 'ESM_CONCURRENCY_MISMATCH', { uuid: 'e-1', maximumConcurrency: 2 }],
    ]);
  });
});

describe('INGEST_CAPACITY_EXCEEDED', () => {
  const missing = () => with_((s) => (s.eventSourceMappings = known([])));

  test('compliant: the new mapping fits exactly (9 others + 1, x 2 = 20 = reserved)', () => {
    const plan = planAccount(missing(), ctx({ ingestCapacity: { reservedConcurrency: 20, otherMappings: 9 } }));
    expect(findingCodes(plan)).toEqual(['ESM_MISSING']);
    expect(plan.actions.map((a) => a.code)).toEqual(['CREATE_ESM']);
  });

  test('non-compliant: one more mapping would exceed the reserved concurrency: reported with the figures, not created', () => {
    const plan = planAccount(missing(), ctx({ ingestCapacity: { reservedConcurrency: 20, otherMappings: 10 } }));
    expect(plan.findings.map((f) => [f.code, f.severity, f.resource])).toEqual([
      ['INGEST_CAPACITY_EXCEEDED', 'high', QUEUE_ARN],
    ]);
    expect(plan.findings[0]!.message).toContain('11 mapping(s) x MaximumConcurrency 2 = 22 concurrent batches');
    expect(plan.findings[0]!.message).toContain('reserved concurrency 20');
    expect(plan.actions).toEqual([]);
  });

  test('an existing mapping is never held to the budget (only a creation is)', () => {
    const plan = planAccount(
      healthy({ esm: true }),
      ctx({ ingestCapacity: { reservedConcurrency: 2, otherMappings: 500 } }),
    );
    expect(plan.findings).toEqual([]);
  });
});

describe('the hub topology', () => {
  test('no mapping is created or repaired for the account: the hub queues have the stack’s mappings', () => {
    const hub = {
      queueArn: 'arn:aws:sqs:us-east-1:123456789012:cloudtrail-collector-ingest-00',
      shard: 0,
      subscriberArn: 'arn:aws:iam::123456789012:role/reconcile',
    };
    const state = with_((s) => (s.eventSourceMappings = known([])));
    const output = ruleOutput(eventSourceMappingRule, state, ctx({ ingestTopology: 'hub', hub }));
    expect(output).toEqual({ findings: [], actions: [], decided: { esm: {} } });
  });
});

describe('the event source mapping rule on its own', () => {
  test('compliant: an enabled mapping to the function; non-compliant: a disabled one is enabled', () => {
    expect(ruleOutput(eventSourceMappingRule, healthy({ esm: true }), ctx())).toEqual({
      findings: [],
      actions: [],
      decided: { esm: { uuid: 'esm-1', ready: true } },
    });
    const disabled = with_(
      (s) =>
        (s.eventSourceMappings = known([
          { uuid: 'esm-1', functionArn: FUNCTION_ARN, state: 'Disabled', maximumConcurrency: 2 },
        ])),
    );
    const output = ruleOutput(eventSourceMappingRule, disabled, ctx());
    expect(output.findings.map((f) => f.code)).toEqual(['ESM_DISABLED']);
    expect(output.actions.map((a) => a.code)).toEqual(['ENABLE_ESM']);
  });
});
