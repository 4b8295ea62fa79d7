/**
 * Propagation of resource policies (IAM and resource policies are eventually consistent): the fake cloud's
 * "propagation errors for N seconds after a policy write" scenario. CreateTrail right after PutBucketPolicy fails
 * with InsufficientS3BucketPolicyException, UpdateTrail right after a topic policy with
 * InsufficientSnsTopicPolicyException (CloudTrail API Reference), CreateEventSourceMapping right after the queue
 * policy with InvalidParameterValueException (Lambda checks the role's access to the queue at creation). apply
 * retries exactly those, with bounded backoff on an injected clock, and fails cleanly past the bound.
 */
import { applyPlan, createActionExecutor, PROPAGATION_DEFAULTS } from '../../lambdas/reconcile/apply';
import { observeAccount } from '../../lambdas/reconcile/observe';
import { planAccount, reportActions } from '../../lambdas/reconcile/plan';
import type { Action, PlanContext } from '../../lambdas/reconcile/types';
import { FakeCloud, seedHealthyAccount } from '../../testkit/fake-cloud';
import { ACCT, FUNCTION_ARN, HUB_QUEUE_ARN, context, hubContext } from '../../testkit/reconcile-fixtures';

const INGEST_ROLE = 'arn:aws:iam::123456789012:role/collector-ingest';

function world(delayMs: number) {
  let clock = 0;
  const slept: number[] = [];
  const cloud = new FakeCloud({ propagation: { delayMs, now: () => clock } });
  const sleep = (ms: number) => {
    slept.push(ms);
    clock += ms;
    return Promise.resolve();
  };
  async function run(ctx: PlanContext): Promise<Action[]> {
    const clients = cloud.clients();
    const customer = await clients.customer({
      accountId: ACCT,
      roleArn: `arn:aws:iam::${ACCT}:role/CloudTrailCollectorRole`,
      externalId: 'x',
    });
    const plan = planAccount(await observeAccount(customer, ctx, clients.collector), ctx);
    const executor = createActionExecutor(customer, clients.collector, {
      accountId: ACCT,
      queueVisibilityTimeoutSeconds: 360,
      ingestRoleArn: INGEST_ROLE,
      propagation: { sleep },
    });
    return reportActions(plan.actions, await applyPlan(plan.actions, executor, () => true));
  }
  return { cloud, slept, run };
}

const empty = () => context({ recorded: {} });
const statuses = (actions: Action[]) => actions.map((a) => [a.code, a.status]);

describe('propagation errors for N seconds after a policy write', () => {
  test('hub: Subscribe right after the topic policy lets the collector subscribe: AuthorizationError, retried', async () => {
    const { cloud, slept, run } = world(3_000);
    seedHealthyAccount(cloud, ACCT);
    const account = cloud.account(ACCT);
    account.queues.clear();
    account.subscriptions.length = 0;
    const actions = await run(hubContext());
    expect(statuses(actions)).toEqual([
      ['PUT_TOPIC_POLICY', 'applied'],
      ['SUBSCRIBE', 'applied'],
    ]);
    expect(slept).toEqual([1_000, 2_000]);
    expect(cloud.callsOf('collector').filter((c) => c === 'Subscribe')).toHaveLength(3);
    expect(account.subscriptions).toMatchObject([{ endpoint: HUB_QUEUE_ARN, owner: 'collector' }]);
  });

  test('5 s: CreateTrail fails until the bucket policy is in force, then succeeds within the run', async () => {
    const { cloud, slept, run } = world(5_000);
    const actions = await run(empty());
    expect(actions.every((a) => a.status === 'applied')).toBe(true);
    expect(statuses(actions).map(([code]) => code)).toContain('CREATE_TRAIL');
    // 1 s, 2 s, 4 s: 7 s of (virtual) waiting covers the 5 s; the 4th CreateTrail succeeds.
    expect(cloud.callsOf(ACCT).filter((c) => c === 'CreateTrail')).toHaveLength(4);
    expect(slept).toEqual([1_000, 2_000, 4_000]);
    expect(cloud.account(ACCT).trails.map((t) => [t.name, t.logging])).toEqual([['outcomes-trail', true]]);
  });

  test('UpdateTrail right after a topic policy write: InsufficientSnsTopicPolicyException, retried', async () => {
    const { cloud, slept, run } = world(3_000);
    seedHealthyAccount(cloud, ACCT);
    const account = cloud.account(ACCT);
    account.trails[0]!.topicName = undefined; // TRAIL_NO_TOPIC: PUT_TOPIC_POLICY, then UPDATE_TRAIL to outcomestopic
    account.topics.set(`arn:aws:sns:us-east-1:${ACCT}:outcomestopic`, undefined);
    const actions = await run(context());
    expect(statuses(actions)).toEqual([
      ['PUT_TOPIC_POLICY', 'applied'],
      ['UPDATE_TRAIL', 'applied'],
    ]);
    expect(slept).toEqual([1_000, 2_000]);
    expect(account.trails[0]!.topicName).toBe('outcomestopic');
  });

  test('CreateEventSourceMapping right after the queue policy names the ingest role: retried', async () => {
    const { cloud, slept, run } = world(1_500);
    seedHealthyAccount(cloud, ACCT); // its queue policy does not name the ingest role: PUT_QUEUE_POLICY first
    const actions = await run(context({ ingestFunctionArn: FUNCTION_ARN, ingestRoleArn: INGEST_ROLE }));
    expect(statuses(actions)).toEqual([
      ['PUT_QUEUE_POLICY', 'applied'],
      ['CREATE_ESM', 'applied'],
    ]);
    expect(slept).toEqual([1_000, 2_000]);
    expect(cloud.esms).toHaveLength(1);
  });

  test('beyond the bound: the action fails with a clear error, what depends on it is skipped, the wait is bounded', async () => {
    const { cloud, slept, run } = world(10 * 60_000);
    const actions = await run(empty());
    const create = actions.find((a) => a.code === 'CREATE_TRAIL')!;
    expect(create.status).toBe('failed');
    expect(create.error).toMatch(
      /^CREATE_TRAIL failed: InsufficientS3BucketPolicyException: Incorrect S3 bucket policy is detected for bucket: outcomes-111122223333 \(still failing after 7 attempt\(s\) and 30 s of waiting for a policy written in this run to take effect; the next run tries again\)$/,
    );
    expect(actions.find((a) => a.code === 'START_LOGGING')).toMatchObject({ status: 'skipped' });
    expect(slept).toEqual([1_000, 2_000, 4_000, 8_000, 8_000, 7_000]);
    expect(slept.reduce((a, b) => a + b, 0)).toBe(PROPAGATION_DEFAULTS.maxWaitMs);
    expect(cloud.account(ACCT).trails).toEqual([]);
  });

  test('any other error is not retried', async () => {
    const { cloud, slept, run } = world(0);
    cloud.fail('*', 'CreateTrail', { name: 'InvalidParameterCombinationException', message: 'no' });
    const actions = await run(empty());
    expect(actions.find((a) => a.code === 'CREATE_TRAIL')).toMatchObject({
      status: 'failed',
      error: 'CREATE_TRAIL failed: InvalidParameterCombinationException: no',
    });
    expect(cloud.callsOf(ACCT).filter((c) => c === 'CreateTrail')).toHaveLength(1);
    expect(slept).toEqual([]);
  });

  test('the new subscription names outcomesqueue-dlq, whose policy lets the topic send (SNS dead-letter queues)', async () => {
    const { cloud, run } = world(0);
    await run(empty());
    const account = cloud.account(ACCT);
    const [subscription] = account.subscriptions;
    expect(JSON.parse(subscription!.redrivePolicy!)).toEqual({
      deadLetterTargetArn: `arn:aws:sqs:us-east-1:${ACCT}:outcomesqueue-dlq`,
    });
    const dlqPolicy = JSON.parse(account.queues.get('outcomesqueue-dlq')!.Policy!) as { Statement: object[] };
    expect(dlqPolicy.Statement).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          Sid: 'CloudTrailCollectorTopicSend',
          Principal: { Service: 'sns.amazonaws.com' },
          Condition: { ArnEquals: { 'aws:SourceArn': `arn:aws:sns:us-east-1:${ACCT}:outcomestopic` } },
        }),
      ]),
    );
    // Nothing but SNS is named on the dead-letter queue (the ingest role only reads outcomesqueue).
    expect(JSON.stringify(dlqPolicy)).not.toContain(INGEST_ROLE);
  });
});
