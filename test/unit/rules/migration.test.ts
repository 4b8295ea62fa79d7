/**
 * Moving an account between topologies (rules/migration.ts), through the planner, run after run: the new path is
 * subscribed first, the old subscription is retired in the same run (after it), the old mapping only once a later
 * run sees its queue drained; then the registry records the topology and forgets the old path.
 */
import { planAccount } from '../../../lambdas/reconcile/plan';
import { customerQueueRetirementRule, hubRetirementRule } from '../../../lambdas/reconcile/rules';
import { known, unknown, type ObservedState, type PlanContext } from '../../../lambdas/reconcile/types';
import {
  ACCT,
  DLQ_ARN,
  FUNCTION_ARN,
  HUB_QUEUE_ARN,
  HUB_QUEUE_ARNS,
  HUB_SHARD,
  QUEUE_ARN,
  TOPIC_ARN,
  context,
  healthy,
  hubContext,
  hubHealthy,
  hubSubscription,
  hubTopicPolicy,
  topic,
} from '../../../testkit/reconcile-fixtures';
import { findingCodes, ruleOutput } from './helpers';

const customerSubscription = { arn: `${TOPIC_ARN}:sub-1`, protocol: 'sqs', endpoint: QUEUE_ARN, pending: false };
const mapping = { uuid: 'esm-1', functionArn: FUNCTION_ARN, state: 'Enabled', maximumConcurrency: 2 };

/** A customer-queue account as the registry had it before the hub topology. */
const customerQueueRecord = () => ({ ...context().recorded, eventSourceMappingUuid: 'esm-1' });

function queue(messages: number, messagesInFlight: number) {
  return known({ name: 'outcomesqueue', url: 'u', arn: QUEUE_ARN, messages, messagesInFlight });
}

describe('customer-queue -> hub', () => {
  const ctx = (overrides: Partial<PlanContext> = {}) =>
    hubContext({ ingestFunctionArn: FUNCTION_ARN, recorded: customerQueueRecord(), ...overrides });

  test('run 1: the hub queue is subscribed first, then outcomesqueue is unsubscribed in the same run; the mapping stays', () => {
    const state = healthy({ esm: true });
    const plan = planAccount(state, ctx());
    expect(findingCodes(plan)).toEqual(['TOPOLOGY_MIGRATING', 'TOPOLOGY_MIGRATING']);
    expect(plan.actions.map((a) => [a.code, a.reason])).toEqual([
      ['PUT_TOPIC_POLICY', 'TOPOLOGY_MIGRATING'],
      ['SUBSCRIBE', 'TOPOLOGY_MIGRATING'],
      ['UNSUBSCRIBE', 'TOPOLOGY_MIGRATING'],
    ]);
    const [, subscribe, unsubscribe] = plan.actions;
    expect(subscribe!.params).toEqual({ topicArn: TOPIC_ARN, queueArn: HUB_QUEUE_ARN, hubShard: HUB_SHARD });
    // The customer role subscribed outcomesqueue: it unsubscribes it (its owner), only once the hub subscription applied.
    expect(unsubscribe!.params).toEqual({
      topicArn: TOPIC_ARN,
      subscriptionArn: customerSubscription.arn,
      by: 'customer',
    });
    expect(unsubscribe!.dependsOn).toEqual([subscribe!.id]);
    expect(plan.findings[1]!.message).toContain('delivered twice, with the same idempotency keys');
    expect(plan.topology).toEqual({
      ingestTopology: 'hub',
      ingestShard: HUB_SHARD,
      remove: [],
      after: [subscribe!.id, unsubscribe!.id],
    });
  });

  test('run 2: unsubscribed, but outcomesqueue still holds messages: the mapping delivers them; nothing is deleted', () => {
    const state = hubHealthy();
    state.queues = { outcomesqueue: queue(3, 1) };
    state.eventSourceMappings = known([mapping]);
    const plan = planAccount(
      state,
      ctx({ recorded: { ...customerQueueRecord(), ingestTopology: 'hub', ingestShard: HUB_SHARD } }),
    );
    expect(findingCodes(plan)).toEqual(['TOPOLOGY_MIGRATING']);
    expect(plan.findings[0]!.message).toContain('3 waiting, 1 in flight');
    expect(plan.actions).toEqual([]);
    expect(plan.topology).toBeUndefined();
  });

  test('run 3: drained: DELETE_ESM, the queue and DLQ named as left to the customer, the old path forgotten', () => {
    const state = hubHealthy();
    state.queues = {
      outcomesqueue: queue(0, 0),
      'outcomesqueue-dlq': known({ name: 'outcomesqueue-dlq', url: 'u', arn: DLQ_ARN, messages: 2 }),
    };
    state.eventSourceMappings = known([mapping]);
    const plan = planAccount(
      state,
      ctx({ recorded: { ...customerQueueRecord(), ingestTopology: 'hub', ingestShard: HUB_SHARD } }),
    );
    expect(plan.actions.map((a) => [a.code, a.reason, a.params])).toEqual([
      ['DELETE_ESM', 'TOPOLOGY_MIGRATING', { uuid: 'esm-1', queueArn: QUEUE_ARN }],
    ]);
    const notice = plan.findings.find((f) => f.code === 'TOPOLOGY_MIGRATING')!;
    expect(notice.message).toContain('outcomesqueue and outcomesqueue-dlq stay in the account');
    expect(notice.message).toContain('leaves them to you');
    expect(notice.message).toContain('outcomesqueue-dlq holds 2 message(s)');
    expect(plan.topology).toEqual({
      ingestTopology: 'hub',
      ingestShard: HUB_SHARD,
      remove: ['queueArn', 'eventSourceMappingUuid'],
      after: [plan.actions[0]!.id],
    });
  });

  test('run 4: nothing of the old path is recorded: nothing is observed or said about it', () => {
    expect(planAccount(hubHealthy(), hubContext({ ingestFunctionArn: FUNCTION_ARN })).findings).toEqual([]);
  });

  test('the old queue is gone already: the recorded mapping is deleted (nothing to drain)', () => {
    const state = hubHealthy();
    state.queues = { outcomesqueue: known(null) };
    const plan = planAccount(
      state,
      ctx({ recorded: { ...customerQueueRecord(), ingestTopology: 'hub', ingestShard: HUB_SHARD } }),
    );
    expect(plan.actions.map((a) => [a.code, a.params])).toEqual([
      ['DELETE_ESM', { uuid: 'esm-1', queueArn: QUEUE_ARN }],
    ]);
  });

  test('the depth or the mappings cannot be read: OBSERVE_INCOMPLETE, nothing is deleted', () => {
    const recorded = { ...customerQueueRecord(), ingestTopology: 'hub' as const, ingestShard: HUB_SHARD };
    const noDepth = hubHealthy();
    noDepth.queues = { outcomesqueue: unknown('GetQueueAttributes failed: Throttling') };
    noDepth.eventSourceMappings = known([mapping]);
    const noList = hubHealthy();
    noList.queues = { outcomesqueue: queue(0, 0) };
    noList.eventSourceMappings = unknown('ListEventSourceMappings failed: TooManyRequestsException');
    for (const state of [noDepth, noList]) {
      const plan = planAccount(state, ctx({ recorded }));
      expect(findingCodes(plan)).toContain('OBSERVE_INCOMPLETE');
      expect(plan.actions).toEqual([]);
      expect(plan.topology).toBeUndefined();
    }
  });

  test('the hub queue cannot be subscribed (a customer Deny): the customer-queue path is left as it is', () => {
    const state = healthy({ esm: true });
    const policy = JSON.parse(hubTopicPolicy()) as { Statement: object[] };
    policy.Statement.push({
      Sid: 'AcmeNoSubscribe',
      Effect: 'Deny',
      Principal: '*',
      Action: 'sns:Subscribe',
      Resource: TOPIC_ARN,
    });
    state.topics[TOPIC_ARN] = known(topic(TOPIC_ARN, { policy: JSON.stringify(policy) }));
    const plan = planAccount(state, ctx());
    expect(findingCodes(plan)).toEqual(['POLICY_DENY_CONFLICT']);
    expect(plan.actions).toEqual([]);
  });

  test("a changed shard: the new shard's queue is subscribed, the old shard's unsubscribed by its owner, the collector", () => {
    const other = HUB_QUEUE_ARNS[1 - HUB_SHARD]!;
    const state = hubHealthy();
    const old = hubSubscription({ arn: `${TOPIC_ARN}:hub-old`, endpoint: other });
    state.topics[TOPIC_ARN] = known(topic(TOPIC_ARN, { policy: hubTopicPolicy(), subscriptions: known([old]) }));
    const plan = planAccount(state, hubContext());
    expect(plan.actions.map((a) => [a.code, a.params])).toEqual([
      ['SUBSCRIBE', { topicArn: TOPIC_ARN, queueArn: HUB_QUEUE_ARN, hubShard: HUB_SHARD }],
      ['UNSUBSCRIBE', { topicArn: TOPIC_ARN, subscriptionArn: old.arn, by: 'collector' }],
    ]);
  });
});

describe('hub -> customer-queue', () => {
  const recordedHub = () => ({ ...context().recorded, ingestTopology: 'hub' as const, ingestShard: HUB_SHARD });
  /** A hub account seen by a customer-queue collector: the hub subscription, maybe the queue. */
  function hubAccountState(withQueue: boolean): ObservedState {
    const state = healthy({ esm: withQueue });
    const subscriptions = withQueue ? [customerSubscription, hubSubscription()] : [hubSubscription()];
    state.topics[TOPIC_ARN] = known(topic(TOPIC_ARN, { subscriptions: known(subscriptions) }));
    if (!withQueue) {
      state.queues = { outcomesqueue: known(null), 'outcomesqueue-dlq': known(null) };
      state.eventSourceMappings = known([]);
    }
    return state;
  }
  const ctx = (overrides: Partial<PlanContext> = {}) =>
    context({ ingestFunctionArn: FUNCTION_ARN, hubQueueArns: HUB_QUEUE_ARNS, recorded: recordedHub(), ...overrides });

  test('the customer queue, its subscription and mapping first; then the hub subscription is unsubscribed by the collector', () => {
    const plan = planAccount(hubAccountState(false), ctx());
    const codes = plan.actions.map((a) => a.code);
    expect(codes).toEqual([
      'CREATE_QUEUE',
      'CREATE_QUEUE',
      'PUT_QUEUE_POLICY',
      'SUBSCRIBE',
      'CREATE_ESM',
      'UNSUBSCRIBE',
    ]);
    const unsubscribe = plan.actions.at(-1)!;
    expect(unsubscribe.params).toEqual({ topicArn: TOPIC_ARN, subscriptionArn: `${TOPIC_ARN}:hub-1`, by: 'collector' });
    const subscribe = plan.actions.find((a) => a.code === 'SUBSCRIBE')!;
    const createEsm = plan.actions.find((a) => a.code === 'CREATE_ESM')!;
    expect(unsubscribe.dependsOn).toEqual([subscribe.id, createEsm.id]);
    expect(plan.topology).toEqual({
      ingestTopology: 'customer-queue',
      remove: ['ingestShard'],
      after: [subscribe.id, unsubscribe.id],
    });
  });

  test('the customer queue path works already: only the hub subscription is retired', () => {
    const plan = planAccount(hubAccountState(true), ctx());
    expect(plan.actions.map((a) => [a.code, a.reason])).toEqual([['UNSUBSCRIBE', 'TOPOLOGY_MIGRATING']]);
    expect(plan.findings[0]!.message).toContain('delivered twice, with the same idempotency keys');
  });

  test('no mapping can be created (INGEST_CAPACITY_EXCEEDED): the hub subscription keeps carrying the notifications', () => {
    const plan = planAccount(
      hubAccountState(false),
      ctx({ ingestCapacity: { reservedConcurrency: 4, otherMappings: 2 } }),
    );
    expect(findingCodes(plan)).toEqual(expect.arrayContaining(['INGEST_CAPACITY_EXCEEDED', 'TOPOLOGY_MIGRATING']));
    expect(plan.actions.filter((a) => a.code === 'UNSUBSCRIBE' || a.code === 'CREATE_ESM')).toEqual([]);
    expect(plan.topology).toBeUndefined();
  });

  test('a queue of the customer named like a hub queue is never taken for one (another account than the collector)', () => {
    const lookalike = `arn:aws:sqs:us-east-1:${ACCT}:cloudtrail-collector-ingest-00`;
    const state = healthy({ esm: true });
    state.topics[TOPIC_ARN] = known(
      topic(TOPIC_ARN, { subscriptions: known([customerSubscription, hubSubscription({ endpoint: lookalike })]) }),
    );
    const plan = planAccount(state, context({ ingestFunctionArn: FUNCTION_ARN }));
    expect(plan.actions).toEqual([]);
  });
});

describe('the retirement rules on their own', () => {
  test('compliant: nothing to retire', () => {
    expect(ruleOutput(customerQueueRetirementRule, hubHealthy(), hubContext())).toEqual({ findings: [], actions: [] });
    expect(ruleOutput(hubRetirementRule, healthy(), context())).toEqual({ findings: [], actions: [] });
  });

  test('non-compliant: the other topology’s subscription is unsubscribed', () => {
    const migrating = ruleOutput(customerQueueRetirementRule, healthy(), hubContext({ recorded: context().recorded }));
    expect(migrating.actions.map((a) => a.code)).toEqual(['UNSUBSCRIBE']);
    const state = healthy();
    state.topics[TOPIC_ARN] = known(
      topic(TOPIC_ARN, { subscriptions: known([customerSubscription, hubSubscription()]) }),
    );
    const back = ruleOutput(hubRetirementRule, state, context({ hubQueueArns: HUB_QUEUE_ARNS }));
    expect(back.actions.map((a) => a.code)).toEqual(['UNSUBSCRIBE']);
  });
});
