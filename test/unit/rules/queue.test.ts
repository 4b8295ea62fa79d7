/**
 * The queue and subscription rules, through the planner: for each finding, a compliant state and a non-compliant one with its
 * finding and actions (cdk-nag style). Moved from reconcile-plan.test.ts; the rule-level cases are at the end.
 */
import { planAccount } from '../../../lambdas/reconcile/plan';
import { queueRule, subscriptionRule } from '../../../lambdas/reconcile/rules';
import { known, unknown } from '../../../lambdas/reconcile/types';
import {
  DLQ_ARN,
  FUNCTION_ARN,
  QUEUE_ARN,
  REGION,
  TOPIC_ARN,
  context,
  healthy,
  queuePolicy,
  topic,
} from '../../../testkit/reconcile-fixtures';
import { codes, findingCodes, ruleOutput, summary, with_ } from './helpers';

describe('QUEUE_POLICY_INVALID', () => {
  const queueWith = (policy: string | undefined) =>
    known({ name: 'outcomesqueue', url: 'u', arn: QUEUE_ARN, ...(policy !== undefined ? { policy } : {}) });

  test('the topic may not send: the collector statements are merged in', () => {
    const plan = planAccount(
      with_((s) => (s.queues.outcomesqueue = queueWith(undefined))),
      context(),
    );
    expect(findingCodes(plan)).toEqual(['QUEUE_POLICY_INVALID']);
    expect(summary(plan)).toEqual([['PUT_QUEUE_POLICY', QUEUE_ARN, 'QUEUE_POLICY_INVALID']]);
  });

  test('the ingest role must be allowed when configured (cross-account event source mapping)', () => {
    const ctx = context({ ingestRoleArn: 'arn:aws:iam::123456789012:role/ingest' });
    expect(findingCodes(planAccount(healthy(), ctx))).toEqual(['QUEUE_POLICY_INVALID']);
  });

  test('POLICY_DENY_CONFLICT: a customer Deny on SendMessage is reported, not removed', () => {
    const policy = JSON.parse(queuePolicy()) as { Statement: object[] };
    policy.Statement.push({
      Sid: 'AcmeDenySns',
      Effect: 'Deny',
      Principal: '*',
      Action: 'sqs:SendMessage',
      Resource: QUEUE_ARN,
    });
    const plan = planAccount(
      with_((s) => (s.queues.outcomesqueue = queueWith(JSON.stringify(policy)))),
      context(),
    );
    expect(findingCodes(plan)).toEqual(['POLICY_DENY_CONFLICT']);
    expect(plan.actions).toEqual([]);
  });
});

describe('QUEUE_MISSING', () => {
  test('queue deleted, DLQ still there: the queue is re-created with its redrive and policy', () => {
    const state = with_((s) => {
      s.queues = {
        outcomesqueue: known(null),
        'outcomesqueue-dlq': known({ name: 'outcomesqueue-dlq', url: 'u', arn: '' }),
      };
    });
    const plan = planAccount(state, context());
    expect(findingCodes(plan)).toEqual(['QUEUE_MISSING']);
    expect(summary(plan)).toEqual([
      ['CREATE_QUEUE', QUEUE_ARN, 'QUEUE_MISSING'],
      ['PUT_QUEUE_POLICY', QUEUE_ARN, 'QUEUE_MISSING'],
    ]);
    expect(plan.actions[0]!.params).toEqual({
      queueName: 'outcomesqueue',
      region: REGION,
      deadLetterQueueArn: DLQ_ARN,
    });
  });

  test('both gone: the DLQ first; subscription and event source mapping follow the queue', () => {
    const state = with_((s) => {
      s.queues = { outcomesqueue: known(null), 'outcomesqueue-dlq': known(null) };
      s.topics[TOPIC_ARN] = known(topic(TOPIC_ARN, { subscriptions: known([]) }));
      s.eventSourceMappings = known([]);
    });
    const plan = planAccount(state, context({ ingestFunctionArn: FUNCTION_ARN }));
    expect(summary(plan)).toEqual([
      ['CREATE_QUEUE', DLQ_ARN, 'QUEUE_MISSING'],
      ['CREATE_QUEUE', QUEUE_ARN, 'QUEUE_MISSING'],
      ['PUT_QUEUE_POLICY', QUEUE_ARN, 'QUEUE_MISSING'],
      ['SUBSCRIBE', TOPIC_ARN, 'QUEUE_MISSING'],
      ['CREATE_ESM', QUEUE_ARN, 'ESM_MISSING'],
    ]);
    const ids = plan.actions.map((a) => a.id);
    expect(plan.actions[4]!.dependsOn).toEqual([ids[1], ids[2]]);
  });

  test('the DLQ cannot be read: no queue is created', () => {
    const state = with_(
      (s) => (s.queues = { outcomesqueue: known(null), 'outcomesqueue-dlq': unknown('AccessDenied') }),
    );
    const plan = planAccount(state, context());
    expect(plan.actions).toEqual([]);
    expect(findingCodes(plan)).toEqual(['QUEUE_MISSING', 'OBSERVE_INCOMPLETE']);
  });
});

describe('SUBSCRIPTION_MISSING / SUBSCRIPTION_PENDING / SUBSCRIPTION_FILTERED', () => {
  test('no subscription of the queue: SUBSCRIBE', () => {
    const plan = planAccount(
      with_((s) => (s.topics[TOPIC_ARN] = known(topic(TOPIC_ARN, { subscriptions: known([]) })))),
      context(),
    );
    expect(findingCodes(plan)).toEqual(['SUBSCRIPTION_MISSING']);
    expect(summary(plan)).toEqual([['SUBSCRIBE', TOPIC_ARN, 'SUBSCRIPTION_MISSING']]);
  });

  test('a subscription of another endpoint does not count', () => {
    const other = { arn: 'x', protocol: 'sqs', endpoint: 'arn:aws:sqs:us-east-1:111122223333:other', pending: false };
    const plan = planAccount(
      with_((s) => (s.topics[TOPIC_ARN] = known(topic(TOPIC_ARN, { subscriptions: known([other]) })))),
      context(),
    );
    expect(findingCodes(plan)).toEqual(['SUBSCRIPTION_MISSING']);
  });

  test('pending confirmation: SUBSCRIPTION_PENDING and SUBSCRIBE again', () => {
    const pending = { arn: 'PendingConfirmation', protocol: 'sqs', endpoint: QUEUE_ARN, pending: true };
    const plan = planAccount(
      with_((s) => (s.topics[TOPIC_ARN] = known(topic(TOPIC_ARN, { subscriptions: known([pending]) })))),
      context(),
    );
    expect(findingCodes(plan)).toEqual(['SUBSCRIPTION_PENDING']);
    expect(codes(plan)).toEqual(['SUBSCRIBE']);
  });

  test.each([
    ['an attribute filter', '{"eventSource":["s3"]}', ['SUBSCRIPTION_FILTERED']],
    ['no filter (compliant)', null, []],
    ['an empty filter (compliant)', '{}', []],
  ])('%s', (_name, filterPolicy, expected) => {
    const sub = {
      arn: `${TOPIC_ARN}:s`,
      protocol: 'sqs',
      endpoint: QUEUE_ARN,
      pending: false,
      filterPolicy: known(filterPolicy),
    };
    const plan = planAccount(
      with_((s) => (s.topics[TOPIC_ARN] = known(topic(TOPIC_ARN, { subscriptions: known([sub]) })))),
      context(),
    );
    expect(findingCodes(plan)).toEqual(expected);
    expect(plan.actions).toEqual([]);
  });
});

/** The signal behind the dead-letter alarm (moved from reconcile-signals.test.ts). */
describe('DLQ_NOT_EMPTY', () => {
  const withDlq = (messages: number) => {
    const observed = healthy();
    observed.queues['outcomesqueue-dlq'] = known({ name: 'outcomesqueue-dlq', url: 'u', arn: 'a', messages });
    return observed;
  };

  test('compliant: an empty dead-letter queue is not a finding', () => {
    expect(planAccount(withDlq(0), context()).findings).toEqual([]);
  });

  test('non-compliant: messages waiting are reported with their count, and nothing is purged', () => {
    const plan = planAccount(withDlq(3), context());
    expect(plan.findings).toEqual([
      expect.objectContaining({
        code: 'DLQ_NOT_EMPTY',
        severity: 'medium',
        message: expect.stringMatching(/^3 message\(s\) in outcomesqueue-dlq/),
      }),
    ]);
    expect(plan.actions).toEqual([]);
  });
});

describe('the queue and subscription rules on their own', () => {
  test('queue: compliant for the healthy queue; non-compliant re-creates a deleted one (DLQ first)', () => {
    expect(ruleOutput(queueRule, healthy(), context())).toMatchObject({
      findings: [],
      actions: [],
      decided: { queue: { queueArn: QUEUE_ARN, created: false } },
    });
    const gone = with_((s) => (s.queues = { outcomesqueue: known(null), 'outcomesqueue-dlq': known(null) }));
    const output = ruleOutput(queueRule, gone, context());
    expect(output.findings.map((f) => f.code)).toEqual(['QUEUE_MISSING']);
    expect(output.actions.map((a) => [a.code, a.resource])).toEqual([
      ['CREATE_QUEUE', DLQ_ARN],
      ['CREATE_QUEUE', QUEUE_ARN],
      ['PUT_QUEUE_POLICY', QUEUE_ARN],
    ]);
  });

  test('subscription: compliant when subscribed; non-compliant subscribes the queue again', () => {
    expect(ruleOutput(subscriptionRule, healthy(), context())).toEqual({ findings: [], actions: [] });
    const unsubscribed = with_((s) => (s.topics[TOPIC_ARN] = known(topic(TOPIC_ARN, { subscriptions: known([]) }))));
    const output = ruleOutput(subscriptionRule, unsubscribed, context());
    expect(output.findings.map((f) => f.code)).toEqual(['SUBSCRIPTION_MISSING']);
    expect(output.actions.map((a) => a.code)).toEqual(['SUBSCRIBE']);
  });
});
