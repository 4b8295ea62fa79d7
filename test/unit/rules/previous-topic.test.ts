/**
 * A topic the trail no longer notifies (rules/previous-topic.ts): the collector's subscriptions on it are
 * unsubscribed after the new topic's path is subscribed, by their owner; the registry forgets the topic once its
 * retry window has passed and nothing of the collector's is left on it.
 */
import { planAccount } from '../../../lambdas/reconcile/plan';
import { previousTopicRetirementRule } from '../../../lambdas/reconcile/rules';
import { previousTopics } from '../../../lambdas/reconcile/targets';
import { known, unknown, type ObservedState } from '../../../lambdas/reconcile/types';
import { retryWindowSeconds } from '../../../lambdas/shared/topology';
import {
  ACCT,
  HUB_QUEUE_ARN,
  QUEUE_ARN,
  REGION,
  TOPIC_ARN,
  context,
  healthy,
  hubContext,
  hubHealthy,
  hubSubscription,
  hubTopicPolicy,
  topic,
  topicPolicy,
  trail,
} from '../../../testkit/reconcile-fixtures';
import { ruleOutput, summary, with_ } from './helpers';

const ACME = `arn:aws:sns:${REGION}:${ACCT}:acme-topic`;
const oldSubscription = { arn: `${TOPIC_ARN}:sub-1`, protocol: 'sqs', endpoint: QUEUE_ARN, pending: false };

/** The customer pointed the trail at acme-topic; outcomestopic (recorded) still exists with `subscriptions`. */
function movedToAcme(base: ObservedState, acme: ReturnType<typeof topic>, subscriptions = [oldSubscription]) {
  return with_((s) => {
    s.trails = known([trail({ topicArn: ACME })]);
    s.topics[ACME] = known(acme);
    s.topics[TOPIC_ARN] = known(topic(TOPIC_ARN, { subscriptions: known(subscriptions) }));
  }, base);
}

describe('customer-queue topology', () => {
  test('non-compliant: outcomesqueue is unsubscribed from the old topic after it is subscribed to the new one', () => {
    const state = movedToAcme(healthy(), topic(ACME, { policy: topicPolicy(ACME), subscriptions: known([]) }));
    const plan = planAccount(state, context());
    const [subscribe, unsubscribe] = plan.actions.filter((a) => a.code.endsWith('SUBSCRIBE'));
    expect(subscribe!.params).toMatchObject({ topicArn: ACME, queueArn: QUEUE_ARN });
    // The customer role subscribed outcomesqueue: it unsubscribes it, its owner.
    expect(unsubscribe!.params).toEqual({ topicArn: TOPIC_ARN, subscriptionArn: oldSubscription.arn, by: 'customer' });
    expect(unsubscribe!.dependsOn).toContain(subscribe!.id);
    expect(plan.findings.at(-1)).toMatchObject({ code: 'TOPIC_CHANGED', severity: 'info', resource: TOPIC_ARN });
  });

  test('compliant: the old topic carries nothing of the collector’s, or is gone: no action', () => {
    const acme = topic(ACME, { policy: topicPolicy(ACME) });
    const ctx = context({ recorded: { ...context().recorded, topicArn: ACME, previousTopicArn: TOPIC_ARN } });
    const foreign = {
      arn: `${TOPIC_ARN}:sub-9`,
      protocol: 'sqs',
      endpoint: `arn:aws:sqs:${REGION}:${ACCT}:acme-q`,
      pending: false,
    };
    const untouched = ruleOutput(previousTopicRetirementRule, movedToAcme(healthy(), acme, [foreign]), ctx);
    expect(untouched.actions).toEqual([]);
    const gone = movedToAcme(healthy(), acme);
    gone.topics[TOPIC_ARN] = known(null);
    expect(ruleOutput(previousTopicRetirementRule, gone, ctx).actions).toEqual([]);
  });
});

describe('hub topology', () => {
  const acme = () =>
    topic(ACME, { policy: hubTopicPolicy(ACME), subscriptions: known([hubSubscription({ arn: `${ACME}:hub-1` })]) });

  test('non-compliant: the hub subscription on the old topic is unsubscribed by the collector, its owner', () => {
    const ctx = hubContext();
    const state = movedToAcme(hubHealthy(), topic(ACME, { policy: hubTopicPolicy(ACME), subscriptions: known([]) }), [
      hubSubscription(),
    ]);
    const plan = planAccount(state, ctx);
    expect(summary(plan).filter(([code]) => code!.endsWith('SUBSCRIBE'))).toEqual([
      ['SUBSCRIBE', ACME, 'TOPIC_CHANGED'],
      ['UNSUBSCRIBE', hubSubscription().arn, 'TOPIC_CHANGED'],
    ]);
    const [subscribe, unsubscribe] = plan.actions.filter((a) => a.code.endsWith('SUBSCRIBE'));
    expect(subscribe!.params).toMatchObject({ topicArn: ACME, queueArn: HUB_QUEUE_ARN });
    expect(unsubscribe!.params).toEqual({
      topicArn: TOPIC_ARN,
      subscriptionArn: hubSubscription().arn,
      by: 'collector',
    });
    expect(unsubscribe!.dependsOn).toContain(subscribe!.id);
    expect(plan.forgetPreviousTopic).toBeUndefined();
  });

  test('the new path is not ready (its subscription cannot be made yet): the old subscription stays', () => {
    const state = movedToAcme(hubHealthy(), acme(), [hubSubscription()]);
    state.topics[ACME] = known(topic(ACME, { subscriptions: unknown('AccessDenied') }));
    const out = ruleOutput(previousTopicRetirementRule, state, hubContext());
    expect(out.actions).toEqual([]);
  });

  test('the old topic cannot be read: OBSERVE_INCOMPLETE, nothing unsubscribed, nothing forgotten', () => {
    const state = movedToAcme(hubHealthy(), acme());
    state.topics[TOPIC_ARN] = unknown('Throttling');
    const ctx = hubContext({
      recorded: {
        ...hubContext().recorded,
        topicArn: ACME,
        previousTopicArn: TOPIC_ARN,
        topicChangedAt: '2026-01-01T00:00:00Z',
      },
    });
    const out = ruleOutput(previousTopicRetirementRule, state, ctx);
    expect(out.findings.map((f) => f.code)).toEqual(['OBSERVE_INCOMPLETE']);
    expect(out.actions).toEqual([]);
    expect(out.decided).toEqual({ previousTopic: { forget: false } });
  });

  test('retired, and the retry window has passed: the registry forgets the previous topic; not before', () => {
    const state = movedToAcme(hubHealthy(), acme(), []);
    const changedAt = (secondsAgo: number) => new Date(hubContext().now.getTime() - secondsAgo * 1000).toISOString();
    const ctx = (secondsAgo: number) =>
      hubContext({
        recorded: {
          ...hubContext().recorded,
          topicArn: ACME,
          previousTopicArn: TOPIC_ARN,
          topicChangedAt: changedAt(secondsAgo),
        },
      });
    const window = retryWindowSeconds();
    expect(planAccount(state, ctx(window + 60)).forgetPreviousTopic).toBe(true);
    expect(planAccount(state, ctx(window - 60)).forgetPreviousTopic).toBeUndefined();
  });
});

test('only the account’s own topics are probed as previous topics, and never the current one', () => {
  const other = 'arn:aws:sns:us-east-1:999988887777:elsewhere';
  const ctx = context({ recorded: { ...context().recorded, topicArn: ACME, previousTopicArn: other } });
  expect(previousTopics(ctx, [TOPIC_ARN])).toEqual([ACME]);
  expect(previousTopics(ctx, [ACME])).toEqual([]);
});
