/**
 * The hub subscription rule (hub topology), through the planner and on its own: for each finding, a compliant state
 * and a non-compliant one with its finding and actions (cdk-nag style).
 */
import { planAccount } from '../../../lambdas/reconcile/plan';
import { hubSubscriptionRule } from '../../../lambdas/reconcile/rules';
import { known, type ObservedState } from '../../../lambdas/reconcile/types';
import {
  ACCT,
  BUCKET,
  COLLECTOR_ACCOUNT,
  HUB_QUEUE_ARN,
  HUB_QUEUE_ARNS,
  HUB_SHARD,
  RECONCILE_ROLE_ARN,
  TOPIC_ARN,
  TRAIL_ARN,
  hubContext,
  hubHealthy,
  hubSubscription,
  hubTopicPolicy,
  topic,
  topicPolicy,
  trail,
} from '../../../testkit/reconcile-fixtures';
import { findingCodes, ruleOutput, summary } from './helpers';

/** The hub-healthy state with the topic's subscriptions (and policy) replaced. */
function withSubscriptions(
  subscriptions: ReturnType<typeof hubSubscription>[],
  policy = hubTopicPolicy(),
): ObservedState {
  const state = hubHealthy();
  state.topics[TOPIC_ARN] = known(topic(TOPIC_ARN, { policy, subscriptions: known(subscriptions) }));
  return state;
}

describe('the hub path of a healthy account', () => {
  test('compliant: subscribed to its shard queue by the collector, envelope delivery, no filter: nothing to do', () => {
    const plan = planAccount(hubHealthy(), hubContext());
    expect(plan.findings).toEqual([]);
    expect(plan.actions).toEqual([]);
    expect(plan.topology).toBeUndefined(); // recorded already
  });

  test('no queue, no DLQ and no event source mapping are created in or for the account', () => {
    const state = hubHealthy();
    state.queues = { outcomesqueue: known(null), 'outcomesqueue-dlq': known(null) };
    state.eventSourceMappings = known([]);
    const plan = planAccount(
      state,
      hubContext({ ingestFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:i' }),
    );
    expect(plan.actions).toEqual([]);
  });
});

describe('SUBSCRIPTION_MISSING (hub)', () => {
  test('the topic policy lets the collector subscribe: SUBSCRIBE by the collector, to the shard queue', () => {
    const plan = planAccount(withSubscriptions([]), hubContext());
    expect(findingCodes(plan)).toEqual(['SUBSCRIPTION_MISSING']);
    expect(plan.actions.map((a) => [a.code, a.reason, a.params])).toEqual([
      ['SUBSCRIBE', 'SUBSCRIPTION_MISSING', { topicArn: TOPIC_ARN, queueArn: HUB_QUEUE_ARN, hubShard: HUB_SHARD }],
    ]);
    // $0 to the customer: no queue, no mapping, no polling in the account.
    expect(plan.actions[0]!.costImpact).toEqual({ monthlyUsd: 0, note: expect.stringContaining('$0 to the customer') });
  });

  test('the topic policy lacks the statement: PUT_TOPIC_POLICY (with it) first, then SUBSCRIBE depends on it', () => {
    const plan = planAccount(withSubscriptions([], topicPolicy()), hubContext());
    expect(summary(plan)).toEqual([
      ['PUT_TOPIC_POLICY', TOPIC_ARN, 'SUBSCRIPTION_MISSING'],
      ['SUBSCRIBE', TOPIC_ARN, 'SUBSCRIPTION_MISSING'],
    ]);
    expect(plan.actions[0]!.params).toEqual({
      topicArn: TOPIC_ARN,
      trailArn: TRAIL_ARN,
      hubSubscriber: { principalArn: RECONCILE_ROLE_ARN, endpoint: HUB_QUEUE_ARN },
    });
    expect(plan.actions[1]!.dependsOn).toEqual([plan.actions[0]!.id]);
  });

  test("on a customer's own topic the finding carries the statement to add (the role may write outcomestopic's only)", () => {
    const acme = `arn:aws:sns:us-east-1:${ACCT}:acme-topic`;
    const state = hubHealthy();
    state.trails = known([trail({ topicArn: acme })]);
    state.topics = { [acme]: known(topic(acme, { policy: topicPolicy(acme), subscriptions: known([]) })) };
    const plan = planAccount(state, hubContext({ recorded: { ...hubContext().recorded, topicArn: acme } }));
    expect(plan.actions.map((a) => a.code)).toEqual(['PUT_TOPIC_POLICY', 'SUBSCRIBE']);
    const message = plan.findings.find((f) => f.code === 'SUBSCRIPTION_MISSING')!.message;
    expect(message).toContain('if PUT_TOPIC_POLICY fails, add this statement');
    expect(message).toContain('"Sid":"CloudTrailCollectorHubSubscribe"');
    expect(message).toContain(`"sns:Endpoint":"${HUB_QUEUE_ARN}"`);
    const own = planAccount(withSubscriptions([], topicPolicy()), hubContext());
    expect(own.findings[0]!.message).not.toContain('add this statement');
  });

  test("the statement names another shard's queue (sns:Endpoint): it does not allow this one, so it is rewritten", () => {
    const other = HUB_QUEUE_ARNS[1 - HUB_SHARD]!;
    const plan = planAccount(withSubscriptions([], hubTopicPolicy(TOPIC_ARN, TRAIL_ARN, other)), hubContext());
    expect(plan.actions.map((a) => a.code)).toEqual(['PUT_TOPIC_POLICY', 'SUBSCRIBE']);
  });

  test('every topic policy write in the hub topology carries the hub statement (a merge replaces them all)', () => {
    const state = hubHealthy();
    state.topics[TOPIC_ARN] = known(topic(TOPIC_ARN, { policy: undefined, subscriptions: known([hubSubscription()]) }));
    const plan = planAccount(state, hubContext());
    expect(findingCodes(plan)).toEqual(['TOPIC_POLICY_INVALID']);
    expect(plan.actions.map((a) => [a.code, a.params])).toEqual([
      [
        'PUT_TOPIC_POLICY',
        {
          topicArn: TOPIC_ARN,
          trailArn: TRAIL_ARN,
          hubSubscriber: { principalArn: RECONCILE_ROLE_ARN, endpoint: HUB_QUEUE_ARN },
        },
      ],
    ]);
  });

  test('POLICY_DENY_CONFLICT: a customer Deny on sns:Subscribe is reported, nothing subscribed', () => {
    const policy = JSON.parse(topicPolicy()) as { Statement: object[] };
    policy.Statement.push({
      Sid: 'AcmeNoSubscribe',
      Effect: 'Deny',
      Principal: '*',
      Action: 'sns:Subscribe',
      Resource: TOPIC_ARN,
    });
    const plan = planAccount(withSubscriptions([], JSON.stringify(policy)), hubContext());
    expect(findingCodes(plan)).toEqual(['POLICY_DENY_CONFLICT']);
    expect(plan.actions).toEqual([]);
  });

  test('a new account: the topic is created with the hub statement and subscribed; no queue', () => {
    const state = hubHealthy();
    state.trails = known([]);
    state.buckets = { [BUCKET]: known({ state: 'absent' }) };
    state.topics = { [TOPIC_ARN]: known(null) };
    const plan = planAccount(state, hubContext({ recorded: {} }));
    expect(plan.actions.map((a) => a.code)).toEqual([
      'CREATE_BUCKET',
      'PUT_BUCKET_POLICY',
      'CREATE_TOPIC',
      'PUT_TOPIC_POLICY',
      'SUBSCRIBE',
      'CREATE_TRAIL',
      'START_LOGGING',
    ]);
    expect(plan.actions.find((a) => a.code === 'PUT_TOPIC_POLICY')!.params).toMatchObject({
      hubSubscriber: { endpoint: HUB_QUEUE_ARN },
    });
    expect(plan.topology).toEqual({
      ingestTopology: 'hub',
      ingestShard: HUB_SHARD,
      remove: [],
      after: [plan.actions.find((a) => a.code === 'SUBSCRIBE')!.id],
    });
  });
});

describe('SUBSCRIPTION_PENDING (hub)', () => {
  test('non-compliant: pending (the topic owner subscribed the hub queue): the collector subscribes, which needs no confirmation', () => {
    const plan = planAccount(
      withSubscriptions([hubSubscription({ arn: 'PendingConfirmation', pending: true, owner: ACCT })]),
      hubContext(),
    );
    expect(findingCodes(plan)).toEqual(['SUBSCRIPTION_PENDING']);
    expect(plan.actions.map((a) => [a.code, a.reason])).toEqual([['SUBSCRIBE', 'SUBSCRIPTION_PENDING']]);
  });
});

describe('SUBSCRIPTION_RAW', () => {
  test('compliant: RawMessageDelivery false', () => {
    expect(
      planAccount(withSubscriptions([hubSubscription({ rawMessageDelivery: false })]), hubContext()).findings,
    ).toEqual([]);
  });

  test('non-compliant: raw delivery (ingest rejects a raw body on a hub queue as poison) -> SET_SUBSCRIPTION_ATTRIBUTES', () => {
    const plan = planAccount(withSubscriptions([hubSubscription({ rawMessageDelivery: true })]), hubContext());
    expect(plan.findings.map((f) => [f.code, f.severity])).toEqual([['SUBSCRIPTION_RAW', 'high']]);
    expect(plan.actions.map((a) => [a.code, a.reason, a.params])).toEqual([
      [
        'SET_SUBSCRIPTION_ATTRIBUTES',
        'SUBSCRIPTION_RAW',
        {
          topicArn: TOPIC_ARN,
          subscriptionArn: `${TOPIC_ARN}:hub-1`,
          attributeName: 'RawMessageDelivery',
          attributeValue: 'false',
        },
      ],
    ]);
  });
});

describe('SUBSCRIPTION_FILTERED (hub)', () => {
  test('non-compliant: a filter policy is reported, not removed', () => {
    const plan = planAccount(
      withSubscriptions([hubSubscription({ filterPolicy: known('{"eventName":["x"]}') })]),
      hubContext(),
    );
    expect(findingCodes(plan)).toEqual(['SUBSCRIPTION_FILTERED']);
    expect(plan.actions).toEqual([]);
  });

  test('the attributes could not be read (by the collector, the owner): OBSERVE_INCOMPLETE, nothing changed', () => {
    const plan = planAccount(
      withSubscriptions([hubSubscription({ filterPolicy: { known: false, error: 'AuthorizationError' } })]),
      hubContext(),
    );
    expect(findingCodes(plan)).toEqual(['OBSERVE_INCOMPLETE']);
    expect(plan.actions).toEqual([]);
  });
});

describe('SUBSCRIPTION_DELETED', () => {
  test('compliant: a live subscription', () => {
    expect(findingCodes(planAccount(hubHealthy(), hubContext()))).toEqual([]);
  });

  test('non-compliant: "Deleted" (unsubscribed by the customer): reported with the 72 hours, no Subscribe loop', () => {
    const plan = planAccount(withSubscriptions([hubSubscription({ arn: 'Deleted', deleted: true })]), hubContext());
    expect(plan.findings.map((f) => [f.code, f.severity])).toEqual([['SUBSCRIPTION_DELETED', 'high']]);
    expect(plan.findings[0]!.message).toContain('72 hours');
    expect(plan.actions).toEqual([]);
  });
});

describe('TRAIL_NOT_COLLECTABLE / DELIVERY_REGION_UNSUPPORTED (hub)', () => {
  test("a topic of another account is never subscribed: ingest binds a message to its topic's account", () => {
    const foreign = 'arn:aws:sns:us-east-1:999900001111:central';
    const state = hubHealthy();
    state.trails = known([trail({ topicArn: foreign })]);
    state.topics = { [foreign]: known(topic(foreign, { subscriptions: known([]) })) };
    const output = ruleOutput(
      hubSubscriptionRule,
      state,
      hubContext({ recorded: { ...hubContext().recorded, topicArn: foreign } }),
    );
    expect(output.findings.map((f) => [f.code, f.resource])).toEqual([['TRAIL_NOT_COLLECTABLE', foreign]]);
    expect(output.actions).toEqual([]);
  });

  test('opt-in -> another opt-in Region (Hong Kong topic, UAE hub queue): reported, never subscribed', () => {
    const hkTopic = `arn:aws:sns:ap-east-1:${ACCT}:outcomestopic`;
    const hkTrail = `arn:aws:cloudtrail:ap-east-1:${ACCT}:trail/outcomes-trail`;
    const uaeQueue = `arn:aws:sqs:me-central-1:${COLLECTOR_ACCOUNT}:cloudtrail-collector-ingest-00`;
    const state = hubHealthy();
    state.trails = known([trail({ arn: hkTrail, homeRegion: 'ap-east-1', topicArn: hkTopic })]);
    state.topics = { [hkTopic]: known(topic(hkTopic, { subscriptions: known([]) })) };
    const ctx = hubContext({
      hub: { queueArn: uaeQueue, shard: 0, subscriberArn: RECONCILE_ROLE_ARN },
      hubQueueArns: [uaeQueue],
      recorded: { ...hubContext().recorded, trailArn: hkTrail, topicArn: hkTopic },
    });
    const plan = planAccount(state, ctx);
    expect(findingCodes(plan)).toContain('DELIVERY_REGION_UNSUPPORTED');
    expect(plan.actions.filter((a) => a.code === 'SUBSCRIBE')).toEqual([]);
  });
});

describe('the hub subscription rule on its own', () => {
  test('compliant: confirmed; non-compliant: missing is subscribed', () => {
    expect(ruleOutput(hubSubscriptionRule, hubHealthy(), hubContext())).toEqual({
      findings: [],
      actions: [],
      decided: { hubSubscription: { confirmed: true } },
    });
    const output = ruleOutput(hubSubscriptionRule, withSubscriptions([]), hubContext());
    expect(output.findings.map((f) => f.code)).toEqual(['SUBSCRIPTION_MISSING']);
    expect(output.actions.map((a) => a.code)).toEqual(['SUBSCRIBE']);
    expect(output.decided?.hubSubscription?.subscribe).toBe(output.actions[0]);
  });

  test('not the hub topology: the rule says nothing', () => {
    const { hub: _hub, ...customerQueue } = hubContext();
    expect(
      ruleOutput(hubSubscriptionRule, withSubscriptions([]), { ...customerQueue, ingestTopology: 'customer-queue' }),
    ).toEqual({
      findings: [],
      actions: [],
    });
  });
});
