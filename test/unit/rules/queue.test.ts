/**
 * The queue and subscription rules, through the planner: for each finding, a compliant state and a non-compliant one with its
 * finding and actions (cdk-nag style). Moved from reconcile-plan.test.ts; the rule-level cases are at the end.
 */
import { planAccount } from '../../../lambdas/reconcile/plan';
import { defaultQueueStatements, mergeCollectorStatements } from '../../../lambdas/reconcile/policies';
import { queueRule, subscriptionRule } from '../../../lambdas/reconcile/rules';
import { subscriptionDeadLetterQueue } from '../../../lambdas/reconcile/rules/queue';
import { known, unknown } from '../../../lambdas/reconcile/types';
import {
  ACCT,
  DLQ_ARN,
  FUNCTION_ARN,
  QUEUE_ARN,
  REGION,
  TOPIC_ARN,
  context,
  healthy,
  queuePolicy,
  topic,
  topicPolicy,
  trail,
  withDeadLetterQueue,
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
  const withDlq = (messages: number) => withDeadLetterQueue(healthy(), messages);

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
    expect(ruleOutput(subscriptionRule, healthy(), context())).toEqual({
      findings: [],
      actions: [],
      decided: { subscription: { confirmed: true } },
    });
    const unsubscribed = with_((s) => (s.topics[TOPIC_ARN] = known(topic(TOPIC_ARN, { subscriptions: known([]) }))));
    const output = ruleOutput(subscriptionRule, unsubscribed, context());
    expect(output.findings.map((f) => f.code)).toEqual(['SUBSCRIPTION_MISSING']);
    expect(output.actions.map((a) => a.code)).toEqual(['SUBSCRIBE']);
  });
});

/**
 * SNS Developer Guide, "Sending Amazon SNS messages to an Amazon SQS queue or AWS Lambda function in a different
 * Region": from an opt-in Region the queue policy must name sns.<opt-in-region>.amazonaws.com, and an opt-in Region
 * cannot deliver to another opt-in Region at all.
 */
describe('opt-in Regions: the SNS principal, and DELIVERY_REGION_UNSUPPORTED', () => {
  const HK = 'ap-east-1';
  const hkTrail = `arn:aws:cloudtrail:${HK}:${ACCT}:trail/outcomes-trail`;
  const hkTopic = `arn:aws:sns:${HK}:${ACCT}:outcomestopic`;
  /** The trail homed in Hong Kong (an opt-in Region), the collector (and its queue) in `queueRegion`. */
  function homedInHongKong(queueRegion: string, policy?: string) {
    const queueArn = `arn:aws:sqs:${queueRegion}:${ACCT}:outcomesqueue`;
    const state = with_((s) => {
      s.region = queueRegion;
      s.trails = known([trail({ arn: hkTrail, homeRegion: HK, topicArn: hkTopic })]);
      s.topics = {
        [hkTopic]: known(
          topic(hkTopic, {
            policy: topicPolicy(hkTopic, hkTrail),
            subscriptions: known([{ arn: `${hkTopic}:s`, protocol: 'sqs', endpoint: queueArn, pending: false }]),
          }),
        ),
      };
      s.queues = {
        outcomesqueue: known({
          name: 'outcomesqueue',
          url: 'u',
          arn: queueArn,
          policy:
            policy ??
            JSON.stringify(
              mergeCollectorStatements(undefined, defaultQueueStatements({ queueArn, topicArn: hkTopic })),
            ),
        }),
      };
    });
    const ctx = context({
      region: queueRegion,
      recorded: { ...context().recorded, trailArn: hkTrail, topicArn: hkTopic, queueArn },
    });
    return { state, ctx, queueArn };
  }

  test('compliant: the queue policy names sns.ap-east-1.amazonaws.com for a Hong Kong topic', () => {
    const { state, ctx } = homedInHongKong(REGION);
    expect(planAccount(state, ctx).findings).toEqual([]);
  });

  test('non-compliant: sns.amazonaws.com alone does not let a Hong Kong topic send to us-east-1', () => {
    const { queueArn } = homedInHongKong(REGION);
    const global = JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        {
          Sid: 'AcmeSns',
          Effect: 'Allow',
          Principal: { Service: 'sns.amazonaws.com' },
          Action: 'sqs:SendMessage',
          Resource: queueArn,
          Condition: { ArnEquals: { 'aws:SourceArn': hkTopic } },
        },
      ],
    });
    const { state, ctx } = homedInHongKong(REGION, global);
    const plan = planAccount(state, ctx);
    expect(findingCodes(plan)).toEqual(['QUEUE_POLICY_INVALID']);
    expect(plan.findings[0]!.message).toContain('by sns.ap-east-1.amazonaws.com');
    expect(summary(plan)).toEqual([['PUT_QUEUE_POLICY', queueArn, 'QUEUE_POLICY_INVALID']]);
  });

  test('non-compliant: opt-in -> another opt-in Region (Hong Kong -> UAE) is reported, never subscribed', () => {
    const { state, ctx, queueArn } = homedInHongKong('me-central-1');
    state.topics[hkTopic] = known(topic(hkTopic, { policy: topicPolicy(hkTopic, hkTrail), subscriptions: known([]) }));
    const plan = planAccount(state, ctx);
    expect(plan.findings).toEqual([
      expect.objectContaining({
        code: 'DELIVERY_REGION_UNSUPPORTED',
        severity: 'high',
        resource: hkTopic,
        message: expect.stringContaining('from the opt-in Region ap-east-1 to another opt-in Region (me-central-1)'),
      }),
    ]);
    expect(plan.actions).toEqual([]);
    expect(ruleOutput(subscriptionRule, state, ctx)).toEqual({
      findings: [],
      actions: [],
      decided: { subscription: { confirmed: false } },
    });
    expect(queueArn).toContain('me-central-1');
  });

  test('compliant: a Region enabled by default delivers to an opt-in Region (us-east-1 -> UAE)', () => {
    const queueArn = `arn:aws:sqs:me-central-1:${ACCT}:outcomesqueue`;
    const state = with_((s) => {
      s.region = 'me-central-1';
      s.queues = {
        outcomesqueue: known({
          name: 'outcomesqueue',
          url: 'u',
          arn: queueArn,
          policy: JSON.stringify(
            mergeCollectorStatements(undefined, defaultQueueStatements({ queueArn, topicArn: TOPIC_ARN })),
          ),
        }),
      };
      s.topics[TOPIC_ARN] = known(
        topic(TOPIC_ARN, { subscriptions: known([{ arn: 's', protocol: 'sqs', endpoint: queueArn, pending: false }]) }),
      );
    });
    const plan = planAccount(state, context({ region: 'me-central-1', recorded: { ...context().recorded, queueArn } }));
    expect(findingCodes(plan)).not.toContain('DELIVERY_REGION_UNSUPPORTED');
    expect(plan.actions).toEqual([]);
  });
});

/**
 * SNS Developer Guide, "Amazon SNS dead-letter queues (DLQs)": the subscription's DLQ is an SQS queue in the same
 * account and Region as the subscription, and its policy must let the topic send.
 */
describe("the subscription's SNS dead-letter queue", () => {
  const dlqPolicy = () =>
    JSON.stringify(
      mergeCollectorStatements(undefined, defaultQueueStatements({ queueArn: DLQ_ARN, topicArn: TOPIC_ARN })),
    );
  const withDlq = (policy?: string) =>
    known({ name: 'outcomesqueue-dlq', url: 'u', arn: DLQ_ARN, messages: 0, ...(policy ? { policy } : {}) });

  test('a new subscription in the queue Region gets outcomesqueue-dlq as its dead-letter queue', () => {
    const state = with_((s) => {
      s.topics[TOPIC_ARN] = known(topic(TOPIC_ARN, { subscriptions: known([]) }));
      s.queues['outcomesqueue-dlq'] = withDlq();
    });
    const plan = planAccount(state, context());
    expect(plan.actions.map((a) => [a.code, a.params])).toEqual([
      ['SUBSCRIBE', { topicArn: TOPIC_ARN, queueArn: QUEUE_ARN, deadLetterQueueArn: DLQ_ARN }],
    ]);
  });

  test('the DLQ is created in this plan: the subscription depends on it', () => {
    const state = with_((s) => {
      s.queues = { outcomesqueue: known(null), 'outcomesqueue-dlq': known(null) };
      s.topics[TOPIC_ARN] = known(topic(TOPIC_ARN, { subscriptions: known([]) }));
    });
    const plan = planAccount(state, context());
    const subscribe = plan.actions.find((a) => a.code === 'SUBSCRIBE')!;
    expect(subscribe.params).toMatchObject({ deadLetterQueueArn: DLQ_ARN });
    expect(subscribe.dependsOn).toContain(`CREATE_QUEUE:${DLQ_ARN}`);
  });

  test('no DLQ for a topic in another Region (SNS requires the same Region) nor for a pending subscription', () => {
    const pending = { arn: 'PendingConfirmation', protocol: 'sqs', endpoint: QUEUE_ARN, pending: true };
    const state = with_((s) => {
      s.topics[TOPIC_ARN] = known(topic(TOPIC_ARN, { subscriptions: known([pending]) }));
      s.queues['outcomesqueue-dlq'] = withDlq();
    });
    expect(planAccount(state, context()).actions[0]!.params).toEqual({ topicArn: TOPIC_ARN, queueArn: QUEUE_ARN });
    expect(subscriptionDeadLetterQueue('arn:aws:sns:eu-west-1:111122223333:outcomestopic', context())).toBeUndefined();
    expect(subscriptionDeadLetterQueue(TOPIC_ARN, context())).toBe(DLQ_ARN);
  });

  const redriven = (dlq: ReturnType<typeof withDlq>) =>
    with_((s) => {
      s.topics[TOPIC_ARN] = known(
        topic(TOPIC_ARN, {
          subscriptions: known([
            {
              arn: `${TOPIC_ARN}:sub-1`,
              protocol: 'sqs',
              endpoint: QUEUE_ARN,
              pending: false,
              filterPolicy: known(null),
              redrivePolicy: JSON.stringify({ deadLetterTargetArn: DLQ_ARN }),
            },
          ]),
        }),
      );
      s.queues['outcomesqueue-dlq'] = dlq;
    });

  test('compliant: the redrive target lets the topic send', () => {
    expect(planAccount(redriven(withDlq(dlqPolicy())), context()).findings).toEqual([]);
  });

  test('non-compliant: the redrive target does not let the topic send -> QUEUE_POLICY_INVALID, repaired', () => {
    const plan = planAccount(redriven(withDlq()), context());
    expect(findingCodes(plan)).toEqual(['QUEUE_POLICY_INVALID']);
    expect(plan.findings[0]!.resource).toBe(DLQ_ARN);
    expect(plan.actions.map((a) => [a.code, a.params])).toEqual([
      [
        'PUT_QUEUE_POLICY',
        { queueName: 'outcomesqueue-dlq', queueArn: DLQ_ARN, topicArn: TOPIC_ARN, deadLetter: true },
      ],
    ]);
  });
});

describe('SUBSCRIPTION_NO_DEAD_LETTER (SNS Developer Guide, "Amazon SNS dead-letter queues (DLQs)")', () => {
  const dlq = known({ name: 'outcomesqueue-dlq', url: `https://sqs/${ACCT}/outcomesqueue-dlq`, arn: DLQ_ARN });
  const subscription = (redrivePolicy?: string) => ({
    arn: `${TOPIC_ARN}:s`,
    protocol: 'sqs',
    endpoint: QUEUE_ARN,
    pending: false,
    filterPolicy: known(null),
    ...(redrivePolicy !== undefined ? { redrivePolicy } : {}),
  });

  test('non-compliant: a confirmed subscription without a RedrivePolicy gets outcomesqueue-dlq, set by its owner', () => {
    const plan = planAccount(
      with_((s) => {
        s.topics[TOPIC_ARN] = known(topic(TOPIC_ARN, { subscriptions: known([subscription()]) }));
        s.queues['outcomesqueue-dlq'] = dlq;
      }),
      context(),
    );
    expect(findingCodes(plan)).toEqual(['SUBSCRIPTION_NO_DEAD_LETTER']);
    expect(plan.actions).toEqual([
      expect.objectContaining({
        code: 'SET_SUBSCRIPTION_ATTRIBUTES',
        params: {
          topicArn: TOPIC_ARN,
          subscriptionArn: `${TOPIC_ARN}:s`,
          attributeName: 'RedrivePolicy',
          attributeValue: JSON.stringify({ deadLetterTargetArn: DLQ_ARN }),
          by: 'customer',
        },
      }),
    ]);
  });

  test('compliant: the subscription already names the DLQ', () => {
    const redrive = JSON.stringify({ deadLetterTargetArn: DLQ_ARN });
    const plan = planAccount(
      with_((s) => {
        s.topics[TOPIC_ARN] = known(topic(TOPIC_ARN, { subscriptions: known([subscription(redrive)]) }));
        s.queues['outcomesqueue-dlq'] = dlq;
      }),
      context(),
    );
    expect(findingCodes(plan)).not.toContain('SUBSCRIPTION_NO_DEAD_LETTER');
    expect(plan.actions.filter((a) => a.code === 'SET_SUBSCRIPTION_ATTRIBUTES')).toEqual([]);
  });

  test("compliant: a topic in another Region can have no DLQ (it must be in the subscription's Region): nothing", () => {
    const elsewhere = 'arn:aws:sns:eu-west-1:' + ACCT + ':outcomestopic';
    expect(subscriptionDeadLetterQueue(elsewhere, context())).toBeUndefined();
  });
});
