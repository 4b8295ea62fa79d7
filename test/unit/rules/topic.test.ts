/**
 * The topic rule, through the planner: for each finding, a compliant state and a non-compliant one with its
 * finding and actions (cdk-nag style). Moved from reconcile-plan.test.ts; the rule-level cases are at the end.
 */
import { planAccount } from '../../../lambdas/reconcile/plan';
import { topicRule } from '../../../lambdas/reconcile/rules';
import { known } from '../../../lambdas/reconcile/types';
import {
  ACCT,
  QUEUE_ARN,
  REGION,
  TOPIC_ARN,
  TRAIL_ARN,
  context,
  healthy,
  topic,
  topicPolicy,
  trail,
} from '../../../testkit/reconcile-fixtures';
import { codes, findingCodes, ruleOutput, summary, with_ } from './helpers';

describe('TOPIC_CHANGED', () => {
  test('the trail notifies another topic: the queue follows it (subscription and queue policy)', () => {
    const acme = `arn:aws:sns:${REGION}:${ACCT}:acme-topic`;
    const state = with_((s) => {
      s.trails = known([trail({ topicArn: acme })]);
      s.topics[acme] = known(topic(acme, { subscriptions: known([]) }));
    });
    const plan = planAccount(state, context());
    expect(findingCodes(plan)).toEqual(['TOPIC_CHANGED', 'QUEUE_POLICY_INVALID', 'TOPIC_CHANGED']);
    // The old topic's subscription of outcomesqueue goes after the new one is made (rules/previous-topic.ts).
    expect(summary(plan)).toEqual([
      ['PUT_QUEUE_POLICY', QUEUE_ARN, 'QUEUE_POLICY_INVALID'],
      ['SUBSCRIBE', acme, 'TOPIC_CHANGED'],
      ['UNSUBSCRIBE', `${TOPIC_ARN}:sub-1`, 'TOPIC_CHANGED'],
    ]);
    expect(plan.actions[1]!.dependsOn).toEqual([plan.actions[0]!.id]);
    expect(plan.actions[2]!.dependsOn).toEqual([plan.actions[1]!.id]);
    expect(plan.target.topicArn).toBe(acme);
  });
});

describe('TOPIC_POLICY_INVALID', () => {
  test('CloudTrail may not publish: the collector statements are merged in', () => {
    const plan = planAccount(
      with_((s) => (s.topics[TOPIC_ARN] = known(topic(TOPIC_ARN, { policy: '{"Statement":[]}' })))),
      context(),
    );
    expect(plan.findings).toEqual([expect.objectContaining({ code: 'TOPIC_POLICY_INVALID', severity: 'high' })]);
    expect(summary(plan)).toEqual([['PUT_TOPIC_POLICY', TOPIC_ARN, 'TOPIC_POLICY_INVALID']]);
  });

  test('POLICY_DENY_CONFLICT: a customer Deny blocks CloudTrail: reported, not removed', () => {
    const deny = {
      Version: '2012-10-17',
      Statement: [
        ...JSON.parse(topicPolicy()).Statement,
        {
          Sid: 'AcmeNoServices',
          Effect: 'Deny',
          Principal: { Service: 'cloudtrail.amazonaws.com' },
          Action: 'SNS:Publish',
          Resource: TOPIC_ARN,
        },
      ],
    };
    const plan = planAccount(
      with_((s) => (s.topics[TOPIC_ARN] = known(topic(TOPIC_ARN, { policy: JSON.stringify(deny) })))),
      context(),
    );
    expect(findingCodes(plan)).toEqual(['POLICY_DENY_CONFLICT']);
    expect(plan.actions).toEqual([]);
  });
});

describe('TOPIC_MISSING', () => {
  test('outcomestopic deleted: re-created with its policy and the queue re-subscribed', () => {
    const plan = planAccount(
      with_((s) => (s.topics[TOPIC_ARN] = known(null))),
      context(),
    );
    expect(findingCodes(plan)).toEqual(['TOPIC_MISSING']);
    expect(summary(plan)).toEqual([
      ['CREATE_TOPIC', TOPIC_ARN, 'TOPIC_MISSING'],
      ['PUT_TOPIC_POLICY', TOPIC_ARN, 'TOPIC_MISSING'],
      ['SUBSCRIBE', TOPIC_ARN, 'TOPIC_MISSING'],
    ]);
    expect(plan.actions[0]!.recreationKey).toBe(`topic:${TOPIC_ARN}`);
  });

  test("a customer's topic deleted: outcomestopic is created and the trail pointed at it", () => {
    const acme = `arn:aws:sns:${REGION}:${ACCT}:acme-topic`;
    const state = with_((s) => {
      s.trails = known([trail({ topicArn: acme })]);
      s.topics = { [acme]: known(null), [TOPIC_ARN]: known(null) };
    });
    const plan = planAccount(state, context({ recorded: { ...context().recorded, topicArn: acme } }));
    expect(codes(plan)).toEqual(['CREATE_TOPIC', 'PUT_TOPIC_POLICY', 'SUBSCRIBE', 'UPDATE_TRAIL']);
    expect(plan.actions[3]!.params).toMatchObject({ topicName: 'outcomestopic' });
  });
});

describe('TRAIL_NO_TOPIC', () => {
  test('no topic on the trail, outcomestopic exists: the trail is pointed at it', () => {
    const plan = planAccount(
      with_((s) => (s.trails = known([trail({ topicArn: undefined })]))),
      context(),
    );
    expect(findingCodes(plan)).toEqual(['TRAIL_NO_TOPIC']);
    expect(summary(plan)).toEqual([['UPDATE_TRAIL', TRAIL_ARN, 'TRAIL_NO_TOPIC']]);
  });

  test('no topic anywhere: created, policy, subscription, then the trail', () => {
    const state = with_((s) => {
      s.trails = known([trail({ topicArn: undefined })]);
      s.topics = { [TOPIC_ARN]: known(null) };
    });
    expect(codes(planAccount(state, context()))).toEqual([
      'CREATE_TOPIC',
      'PUT_TOPIC_POLICY',
      'SUBSCRIBE',
      'UPDATE_TRAIL',
    ]);
  });

  test('a shadow trail homed in another region gets its topic in that region', () => {
    const shadow = trail({
      arn: 'arn:aws:cloudtrail:eu-west-1:111122223333:trail/acme',
      name: 'acme',
      homeRegion: 'eu-west-1',
      topicArn: undefined,
    });
    const euTopic = 'arn:aws:sns:eu-west-1:111122223333:outcomestopic';
    const state = with_((s) => {
      s.trails = known([shadow]);
      s.topics = { [euTopic]: known(null) };
    });
    const plan = planAccount(state, context());
    expect(plan.actions.map((a) => [a.code, a.params])).toEqual(
      expect.arrayContaining([
        ['CREATE_TOPIC', { topicName: 'outcomestopic', region: 'eu-west-1' }],
        ['UPDATE_TRAIL', { trailName: 'acme', region: 'eu-west-1', topicName: 'outcomestopic' }],
      ]),
    );
  });
});

describe('the topic rule on its own', () => {
  test('compliant: the recorded topic with a working policy; non-compliant: a deleted topic is re-created', () => {
    expect(ruleOutput(topicRule, healthy(), context())).toMatchObject({
      findings: [],
      actions: [],
      decided: { topic: { topicArn: TOPIC_ARN, created: false } },
    });
    const gone = with_((s) => (s.topics[TOPIC_ARN] = known(null)));
    const output = ruleOutput(topicRule, gone, context());
    expect(output.findings.map((f) => f.code)).toEqual(['TOPIC_MISSING']);
    expect(output.actions.map((a) => a.code)).toEqual(['CREATE_TOPIC', 'PUT_TOPIC_POLICY']);
    expect(output.decided?.topic).toEqual({ topicArn: TOPIC_ARN, created: true, topicReason: 'TOPIC_MISSING' });
  });
});
