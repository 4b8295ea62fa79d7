/** The gates before the chain rules: the role was assumed, the trails were read. */
import { observeAccount, roleUnassumable } from '../../../lambdas/reconcile/observe';
import { planAccount } from '../../../lambdas/reconcile/plan';
import { roleRule, trailListRule } from '../../../lambdas/reconcile/rules';
import { known, unknown } from '../../../lambdas/reconcile/types';
import { ACCT, context, healthy } from '../../../testkit/reconcile-fixtures';
import { ruleOutput } from './helpers';

const ROLE = `arn:aws:iam::${ACCT}:role/CloudTrailCollectorRole`;

describe('role rule', () => {
  test('compliant: the role was assumed, nothing to say', () => {
    expect(ruleOutput(roleRule, healthy(), context())).toEqual({ findings: [], actions: [] });
  });

  test('non-compliant: ROLE_UNASSUMABLE, and nothing else is planned, executed or recorded', () => {
    const state = roleUnassumable(context(), ROLE, `cannot assume ${ROLE}: AccessDenied`);
    const output = ruleOutput(roleRule, state, context());
    expect(output.stop).toBe('plan');
    expect(output.findings).toEqual([
      {
        code: 'ROLE_UNASSUMABLE',
        severity: 'high',
        resource: ROLE,
        message: `cannot assume ${ROLE}: AccessDenied; check that the customer role stack is deployed with this ExternalId`,
      },
    ]);
    const plan = planAccount(state, context({ runMode: 'apply', accountMode: 'apply', staleAfterMinutes: 1 }));
    expect(plan).toMatchObject({ actions: [], execute: [], unobserved: true, recordsChain: false, target: {} });
    expect(plan.findings.map((f) => f.code)).toEqual(['ROLE_UNASSUMABLE']);
  });
});

describe('trail-list rule', () => {
  test('compliant: the trails were read', () => {
    expect(ruleOutput(trailListRule, healthy(), context()).findings).toEqual([]);
  });

  test('non-compliant: the trail list is unknown, so no chain rule runs', () => {
    const state = healthy();
    state.trails = unknown('DescribeTrails failed: AccessDeniedException');
    const output = ruleOutput(trailListRule, state, context());
    expect(output.stop).toBe('chain');
    expect(output.findings).toEqual([
      expect.objectContaining({ code: 'OBSERVE_INCOMPLETE', severity: 'high', resource: ACCT }),
    ]);
  });
});

describe('observe records the probe targets the planner decides from', () => {
  test('a state from observe carries them; a hand-built one gets the same from probeTargets', async () => {
    const send = (command: { constructor: { name: string } }) => {
      switch (command.constructor.name) {
        case 'DescribeTrailsCommand':
        case 'ListTrailsCommand':
          return Promise.resolve({});
        case 'HeadBucketCommand':
        case 'GetTopicAttributesCommand':
        case 'GetQueueUrlCommand':
          return Promise.reject(
            Object.assign(new Error('gone'), { name: 'NotFound', $metadata: { httpStatusCode: 404 } }),
          );
        default:
          return Promise.resolve({});
      }
    };
    const client = () => ({ send }) as never;
    const ctx = context({ recorded: {} });
    const observed = await observeAccount({ cloudTrail: client, s3: client, sns: client, sqs: client }, ctx);
    expect(observed.probes).toMatchObject({ selection: { kind: 'create' }, topics: [expect.any(String)] });
    expect(observed.trails).toEqual(known([]));
    const { probes: _probes, ...handBuilt } = observed;
    expect(planAccount(handBuilt, ctx)).toEqual(planAccount(observed, ctx));
  });
});
