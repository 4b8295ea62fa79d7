/**
 * The planner, rule by rule: for each row of DESIGN section 5 (seed and beyond), a compliant state that plans
 * nothing and a non-compliant one with its finding and actions (cdk-nag style).
 */
import { planAccount } from '../../lambdas/reconcile/plan';
import { known, unknown, type ObservedState, type Plan, type PlanContext } from '../../lambdas/reconcile/types';
import {
  ACCT,
  BUCKET,
  DLQ_ARN,
  FUNCTION_ARN,
  GENERATED,
  QUEUE_ARN,
  REGION,
  TOPIC_ARN,
  TRAIL_ARN,
  bucketPolicy,
  context,
  healthy,
  queuePolicy,
  topic,
  topicPolicy,
  trail,
} from '../../testkit/reconcile-fixtures';

const codes = (plan: Plan) => plan.actions.map((a) => a.code);
const findingCodes = (plan: Plan) => plan.findings.map((f) => f.code);
const summary = (plan: Plan) => plan.actions.map((a) => [a.code, a.resource, a.reason]);

function with_(change: (state: ObservedState) => void, base = healthy()): ObservedState {
  change(base);
  return base;
}

const CUSTOMER_TRAIL = `arn:aws:cloudtrail:${REGION}:${ACCT}:trail/acme-audit`;

describe('compliant: the healthy chain', () => {
  test('plans no finding and no action, and targets the chain as it is', () => {
    const plan = planAccount(healthy(), context());
    expect(plan.findings).toEqual([]);
    expect(plan.actions).toEqual([]);
    expect(plan.target).toMatchObject({
      trailArn: TRAIL_ARN,
      bucketName: BUCKET,
      topicArn: TOPIC_ARN,
      queueArn: QUEUE_ARN,
    });
  });
});

describe('TRAIL_MISSING', () => {
  test('no trail at all: outcomes-trail is created into the chain, then started', () => {
    const plan = planAccount(
      with_((s) => (s.trails = known([]))),
      context(),
    );
    expect(plan.findings).toEqual([
      expect.objectContaining({ code: 'TRAIL_MISSING', severity: 'high', resource: TRAIL_ARN }),
    ]);
    expect(summary(plan)).toEqual([
      ['CREATE_TRAIL', TRAIL_ARN, 'TRAIL_MISSING'],
      ['START_LOGGING', TRAIL_ARN, 'TRAIL_MISSING'],
    ]);
    const create = plan.actions[0]!;
    expect(create.params).toEqual({
      trailName: 'outcomes-trail',
      region: REGION,
      bucketName: BUCKET,
      topicName: 'outcomestopic',
    });
    expect(create.costImpact).toEqual({
      monthlyUsd: 0,
      note: expect.stringContaining('first copy of management events is free'),
    });
    expect(plan.actions[1]!.dependsOn).toEqual([create.id]);
  });

  test('another trail logs management events: it is reused (REUSE_TRAIL), never a second one created', () => {
    const customer = trail({ arn: CUSTOMER_TRAIL, name: 'acme-audit', bucketName: 'acme-logs', topicArn: undefined });
    const state = with_((s) => {
      s.trails = known([customer]);
      s.buckets['acme-logs'] = known({ state: 'owned', policy: known(null) });
      s.topics[TOPIC_ARN] = known(topic(TOPIC_ARN, { policy: topicPolicy(TOPIC_ARN, CUSTOMER_TRAIL) }));
    });
    const plan = planAccount(state, context());
    expect(codes(plan)).toEqual(['REUSE_TRAIL', 'UPDATE_TRAIL']);
    expect(plan.actions[1]!.params).toEqual({ trailName: 'acme-audit', region: REGION, topicName: 'outcomestopic' });
    // The customer's trail delivers to its own bucket: followed (info).
    expect(findingCodes(plan)).toEqual(['TRAIL_MISSING', 'BUCKET_CHANGED', 'TRAIL_NO_TOPIC']);
  });

  test('an organization trail of another account logs management events: nothing is created', () => {
    const org = trail({
      arn: 'arn:aws:cloudtrail:us-east-1:999900001111:trail/org',
      name: 'org',
      ownerAccountId: '999900001111',
      isOrganization: true,
      bucketName: 'org-logs',
    });
    const plan = planAccount(
      with_((s) => (s.trails = known([org]))),
      context(),
    );
    expect(plan.actions).toEqual([]);
    expect(findingCodes(plan)).toEqual(['TRAIL_MISSING', 'TRAIL_NOT_COLLECTABLE']);
  });

  test('a new account (nothing recorded) with no trail: medium, same repair', () => {
    const plan = planAccount(
      with_((s) => (s.trails = known([]))),
      context({ recorded: {} }),
    );
    expect(plan.findings[0]).toMatchObject({ code: 'TRAIL_MISSING', severity: 'medium' });
    expect(codes(plan)).toContain('CREATE_TRAIL');
  });
});

describe('BUCKET_CHANGED', () => {
  test('the trail delivers to another bucket of the account: followed (info), nothing to repair', () => {
    const state = with_((s) => {
      s.trails = known([trail({ bucketName: 'acme-new' })]);
      s.buckets['acme-new'] = known({ state: 'owned', policy: known('{}') });
    });
    const plan = planAccount(state, context());
    expect(plan.findings).toEqual([
      expect.objectContaining({ code: 'BUCKET_CHANGED', severity: 'info', resource: 'acme-new' }),
    ]);
    expect(plan.actions).toEqual([]);
    expect(plan.target.bucketName).toBe('acme-new');
  });
});

describe('BUCKET_POLICY_CHANGED', () => {
  test('a different policy than last run: info only, never validated or rewritten', () => {
    const state = with_((s) => (s.buckets[BUCKET] = known({ state: 'owned', policy: known('{"Statement":[]}') })));
    const plan = planAccount(state, context());
    expect(plan.findings).toEqual([expect.objectContaining({ code: 'BUCKET_POLICY_CHANGED', severity: 'info' })]);
    expect(plan.actions).toEqual([]);
  });

  test("compliant: after the collector's own change ('pending') there is nothing to compare", () => {
    const state = with_((s) => (s.buckets[BUCKET] = known({ state: 'owned', policy: known('{"Statement":[]}') })));
    const ctx = context();
    ctx.recorded.bucketPolicySha256 = 'pending';
    expect(planAccount(state, ctx).findings).toEqual([]);
  });
});

describe('BUCKET_MISSING', () => {
  test('outcomes-<id> deleted: re-created with the default policy; the trail already names it', () => {
    const plan = planAccount(
      with_((s) => (s.buckets[BUCKET] = known({ state: 'absent' }))),
      context(),
    );
    expect(findingCodes(plan)).toEqual(['BUCKET_MISSING']);
    expect(summary(plan)).toEqual([
      ['CREATE_BUCKET', BUCKET, 'BUCKET_MISSING'],
      ['PUT_BUCKET_POLICY', BUCKET, 'BUCKET_MISSING'],
    ]);
    expect(plan.actions[0]!.recreationKey).toBe(`bucket:${BUCKET}`);
  });

  test("a customer's bucket deleted: outcomes-<id> is created and the trail pointed at it (bucket before trail)", () => {
    const state = with_((s) => {
      s.trails = known([trail({ bucketName: 'acme-logs' })]);
      s.buckets = { 'acme-logs': known({ state: 'absent' }), [BUCKET]: known({ state: 'absent' }) };
    });
    const plan = planAccount(state, context({ recorded: { ...context().recorded, bucketName: 'acme-logs' } }));
    expect(codes(plan)).toEqual(['CREATE_BUCKET', 'PUT_BUCKET_POLICY', 'UPDATE_TRAIL']);
    const [create, policy, update] = plan.actions;
    expect(update!.params).toEqual({ trailName: 'outcomes-trail', region: REGION, bucketName: BUCKET });
    expect(update!.dependsOn).toEqual([create!.id, policy!.id]);
  });

  test('the replacement name is unknown (probe failed): nothing is created', () => {
    const state = with_((s) => {
      s.trails = known([trail({ bucketName: 'acme-logs' })]);
      s.buckets = { 'acme-logs': known({ state: 'absent' }), [BUCKET]: unknown('HeadBucket failed: SlowDown') };
    });
    const plan = planAccount(state, context());
    expect(plan.actions).toEqual([]);
    expect(findingCodes(plan)).toEqual(['BUCKET_MISSING', 'OBSERVE_INCOMPLETE']);
  });
});

describe('BUCKET_NAME_TAKEN', () => {
  test("the trail's outcomes-<id> now belongs to another account: a generated name, the trail moved to it", () => {
    const state = with_((s) => {
      s.buckets = { [BUCKET]: known({ state: 'foreign' }), [GENERATED]: known({ state: 'absent' }) };
    });
    const plan = planAccount(state, context());
    expect(plan.findings).toEqual([
      expect.objectContaining({ code: 'BUCKET_NAME_TAKEN', severity: 'high', resource: BUCKET }),
    ]);
    expect(summary(plan)).toEqual([
      ['CREATE_BUCKET', GENERATED, 'BUCKET_NAME_TAKEN'],
      ['PUT_BUCKET_POLICY', GENERATED, 'BUCKET_NAME_TAKEN'],
      ['UPDATE_TRAIL', TRAIL_ARN, 'BUCKET_NAME_TAKEN'],
    ]);
    expect(plan.target.generatedBucketName).toBe(GENERATED);
  });

  test('a recorded generated name is reused, the default never tried again', () => {
    const reserved = `outcomes-${ACCT}-old00001`;
    const state = with_((s) => {
      s.trails = known([trail({ bucketName: reserved })]);
      s.buckets = { [reserved]: known({ state: 'absent' }) };
    });
    const plan = planAccount(
      state,
      context({ recorded: { ...context().recorded, bucketName: reserved, generatedBucketName: reserved } }),
    );
    expect(summary(plan)).toEqual([
      ['CREATE_BUCKET', reserved, 'BUCKET_MISSING'],
      ['PUT_BUCKET_POLICY', reserved, 'BUCKET_MISSING'],
    ]);
  });

  test("compliant: a customer's bucket in another account is never 'taken', only reported", () => {
    const state = with_((s) => {
      s.trails = known([trail({ bucketName: 'acme-central-logs' })]);
      s.buckets = { 'acme-central-logs': known({ state: 'foreign' }) };
    });
    const plan = planAccount(state, context({ recorded: { ...context().recorded, bucketName: 'acme-central-logs' } }));
    expect(plan.actions).toEqual([]);
    expect(findingCodes(plan)).toEqual(['TRAIL_NOT_COLLECTABLE']);
  });

  test('an undetermined 403 on the trail bucket changes nothing', () => {
    const plan = planAccount(
      with_((s) => (s.buckets[BUCKET] = known({ state: 'forbidden' }))),
      context(),
    );
    expect(plan.actions).toEqual([]);
    expect(findingCodes(plan)).toEqual(['OBSERVE_INCOMPLETE']);
  });
});

describe('TOPIC_CHANGED', () => {
  test('the trail notifies another topic: the queue follows it (subscription and queue policy)', () => {
    const acme = `arn:aws:sns:${REGION}:${ACCT}:acme-topic`;
    const state = with_((s) => {
      s.trails = known([trail({ topicArn: acme })]);
      s.topics[acme] = known(topic(acme, { subscriptions: known([]) }));
    });
    const plan = planAccount(state, context());
    expect(findingCodes(plan)).toEqual(['TOPIC_CHANGED', 'QUEUE_POLICY_INVALID']);
    expect(summary(plan)).toEqual([
      ['PUT_QUEUE_POLICY', QUEUE_ARN, 'QUEUE_POLICY_INVALID'],
      ['SUBSCRIBE', acme, 'TOPIC_CHANGED'],
    ]);
    expect(plan.actions[1]!.dependsOn).toEqual([plan.actions[0]!.id]);
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

describe('TRAIL_NOT_LOGGING', () => {
  test('the collection trail is stopped and starting it is free: START_LOGGING', () => {
    const plan = planAccount(
      with_((s) => (s.trails = known([trail({ status: known({ isLogging: false }) })]))),
      context(),
    );
    expect(findingCodes(plan)).toEqual(['TRAIL_NOT_LOGGING']);
    expect(summary(plan)).toEqual([['START_LOGGING', TRAIL_ARN, 'TRAIL_NOT_LOGGING']]);
    expect(plan.actions[0]!.params).toEqual({ trailName: 'outcomes-trail', region: REGION });
  });

  test.each([
    ['it records data events', { selectors: known({ managementEvents: true, dataEvents: true }) }],
    ['it has Insights', { hasInsightSelectors: true }],
    ['its selectors cannot be read', { selectors: unknown('GetEventSelectors failed') }],
  ])('not started when %s (that would be billed)', (_name, overrides) => {
    const plan = planAccount(
      with_((s) => (s.trails = known([trail({ status: known({ isLogging: false }), ...overrides })]))),
      context(),
    );
    expect(findingCodes(plan)).toContain('TRAIL_NOT_LOGGING');
    expect(codes(plan)).not.toContain('START_LOGGING');
  });

  test('stopped while another trail logs: that one is reused instead (no second copy)', () => {
    const other = trail({ arn: CUSTOMER_TRAIL, name: 'acme-audit' });
    const plan = planAccount(
      with_((s) => (s.trails = known([trail({ status: known({ isLogging: false }) }), other]))),
      context(),
    );
    expect(summary(plan)).toEqual([
      // outcomestopic's policy names the old trail: CloudTrail could not publish for the reused one.
      ['PUT_TOPIC_POLICY', TOPIC_ARN, 'TOPIC_POLICY_INVALID'],
      ['REUSE_TRAIL', CUSTOMER_TRAIL, 'TRAIL_NOT_LOGGING'],
    ]);
  });

  test("stopped while another trail's logging is unknown: reported, not started", () => {
    const other = trail({ arn: CUSTOMER_TRAIL, name: 'acme-audit', status: unknown('AccessDenied') });
    const plan = planAccount(
      with_((s) => (s.trails = known([trail({ status: known({ isLogging: false }) }), other]))),
      context(),
    );
    expect(codes(plan)).toEqual([]);
    expect(findingCodes(plan)).toEqual(['TRAIL_NOT_LOGGING']);
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

describe('TRAIL_DELIVERY_ERROR / TRAIL_NOTIFICATION_ERROR', () => {
  const erroring = { status: known({ isLogging: true, latestDeliveryError: 'AccessDenied' }) };

  test('into a collector bucket without the collector statements: PUT_BUCKET_POLICY (merged)', () => {
    const state = with_((s) => {
      s.trails = known([trail(erroring)]);
      s.buckets[BUCKET] = known({ state: 'owned', policy: known(null) });
    });
    const plan = planAccount(state, context({ recorded: { ...context().recorded, bucketPolicySha256: undefined } }));
    expect(findingCodes(plan)).toEqual(['TRAIL_DELIVERY_ERROR']);
    expect(summary(plan)).toEqual([['PUT_BUCKET_POLICY', BUCKET, 'TRAIL_DELIVERY_ERROR']]);
  });

  test('compliant repair-wise: the collector statements are already there, nothing more to do', () => {
    const plan = planAccount(
      with_((s) => (s.trails = known([trail(erroring)]))),
      context(),
    );
    expect(findingCodes(plan)).toEqual(['TRAIL_DELIVERY_ERROR']);
    expect(plan.actions).toEqual([]);
  });

  test("into a customer's bucket: reported, the customer's policy is not touched", () => {
    const state = with_((s) => {
      s.trails = known([trail({ ...erroring, bucketName: 'acme-logs' })]);
      s.buckets = { 'acme-logs': known({ state: 'owned', policy: known(null) }) };
    });
    const plan = planAccount(
      state,
      context({ recorded: { ...context().recorded, bucketName: 'acme-logs', bucketPolicySha256: undefined } }),
    );
    expect(findingCodes(plan)).toEqual(['TRAIL_DELIVERY_ERROR']);
    expect(plan.actions).toEqual([]);
  });

  test('a notification error is reported', () => {
    const state = with_(
      (s) =>
        (s.trails = known([
          trail({ status: known({ isLogging: true, latestNotificationError: 'AuthorizationError' }) }),
        ])),
    );
    expect(planAccount(state, context()).findings).toEqual([
      expect.objectContaining({
        code: 'TRAIL_NOTIFICATION_ERROR',
        message: expect.stringContaining('AuthorizationError'),
      }),
    ]);
  });
});

describe('ESM_MISSING / ESM_DISABLED', () => {
  const ctx = (): PlanContext => context({ ingestFunctionArn: FUNCTION_ARN });

  test('compliant: an enabled mapping to the function (a qualified ARN counts)', () => {
    const state = healthy({ esm: true });
    state.eventSourceMappings = known([{ uuid: 'e', functionArn: `${FUNCTION_ARN}:live`, state: 'Enabled' }]);
    expect(planAccount(state, ctx()).actions).toEqual([]);
  });

  test('no mapping: CREATE_ESM', () => {
    const plan = planAccount(
      with_((s) => (s.eventSourceMappings = known([]))),
      ctx(),
    );
    expect(findingCodes(plan)).toEqual(['ESM_MISSING']);
    expect(plan.actions.map((a) => [a.code, a.params])).toEqual([
      ['CREATE_ESM', { queueArn: QUEUE_ARN, functionArn: FUNCTION_ARN }],
    ]);
  });

  test('a disabled mapping: ENABLE_ESM', () => {
    const plan = planAccount(
      with_((s) => (s.eventSourceMappings = known([{ uuid: 'e-1', functionArn: FUNCTION_ARN, state: 'Disabled' }]))),
      ctx(),
    );
    expect(findingCodes(plan)).toEqual(['ESM_DISABLED']);
    expect(plan.actions.map((a) => [a.code, a.params])).toEqual([['ENABLE_ESM', { uuid: 'e-1' }]]);
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

describe('REPAIR_LOOP', () => {
  const recreated = (times: string[]) =>
    context({ recorded: { ...context().recorded, recreations: { [`topic:${TOPIC_ARN}`]: times } } });
  const topicGone = () => with_((s) => (s.topics[TOPIC_ARN] = known(null)));

  test('three re-creations within 24 hours: not re-created, nothing built on it', () => {
    const plan = planAccount(
      topicGone(),
      recreated(['2026-11-01T01:00:00Z', '2026-11-01T05:00:00Z', '2026-11-01T11:00:00Z']),
    );
    expect(plan.actions).toEqual([]);
    expect(findingCodes(plan)).toEqual(['TOPIC_MISSING', 'REPAIR_LOOP']);
    expect(plan.target.topicArn).toBeUndefined();
  });

  test.each([
    ['two re-creations', ['2026-11-01T05:00:00Z', '2026-11-01T11:00:00Z']],
    ['three, one older than 24 hours', ['2026-10-31T11:00:00Z', '2026-11-01T05:00:00Z', '2026-11-01T11:00:00Z']],
  ])('compliant: %s', (_name, times) => {
    expect(codes(planAccount(topicGone(), recreated(times)))).toEqual([
      'CREATE_TOPIC',
      'PUT_TOPIC_POLICY',
      'SUBSCRIBE',
    ]);
  });
});

describe('cost findings', () => {
  test('COST_DUPLICATE_TRAILS: two trails log management events; the extra copy is estimated', () => {
    const plan = planAccount(
      with_((s) => (s.trails = known([trail(), trail({ arn: CUSTOMER_TRAIL, name: 'acme-audit' })]))),
      context(),
    );
    expect(plan.findings).toEqual([
      expect.objectContaining({
        code: 'COST_DUPLICATE_TRAILS',
        severity: 'medium',
        message: expect.stringContaining('$20.00/month'),
      }),
    ]);
    expect(plan.actions).toEqual([]);
  });

  test('compliant: a stopped second trail bills nothing', () => {
    const stopped = trail({ arn: CUSTOMER_TRAIL, name: 'acme-audit', status: known({ isLogging: false }) });
    expect(
      planAccount(
        with_((s) => (s.trails = known([trail(), stopped]))),
        context(),
      ).findings,
    ).toEqual([]);
  });

  test.each([
    ['COST_DATA_EVENTS', { selectors: known({ managementEvents: true, dataEvents: true }) }, '$10.00/month'],
    ['COST_INSIGHTS', { hasInsightSelectors: true }, '$3.50/month'],
    [
      'COST_CLOUDWATCH_LOGS',
      { cloudWatchLogsLogGroupArn: 'arn:aws:logs:us-east-1:111122223333:log-group:ct' },
      '$0.70/month',
    ],
  ])('%s is reported (info) with its estimate', (code, overrides, amount) => {
    const plan = planAccount(
      with_((s) => (s.trails = known([trail(overrides)]))),
      context(),
    );
    expect(plan.findings).toEqual([
      expect.objectContaining({ code, severity: 'info', message: expect.stringContaining(amount) }),
    ]);
  });
});

describe('unknown state (OBSERVE_INCOMPLETE)', () => {
  test('the trail list cannot be read (AccessDenied is not "no trail"): no action at all', () => {
    const state = with_((s) => {
      s.trails = unknown('DescribeTrails failed: AccessDeniedException');
      s.queues = { outcomesqueue: known(null), 'outcomesqueue-dlq': known(null) };
    });
    const plan = planAccount(state, context());
    expect(plan.actions).toEqual([]);
    expect(plan.findings).toEqual([expect.objectContaining({ code: 'OBSERVE_INCOMPLETE', severity: 'high' })]);
  });

  test("a trail's logging is unknown and none is known to log: no trail is created", () => {
    const plan = planAccount(
      with_((s) => (s.trails = known([trail({ arn: CUSTOMER_TRAIL, status: unknown('denied') })]))),
      context(),
    );
    expect(codes(plan)).not.toContain('CREATE_TRAIL');
    expect(findingCodes(plan)).toContain('OBSERVE_INCOMPLETE');
  });

  test('the topic cannot be read: nothing on the topic, its subscription or the trail', () => {
    const plan = planAccount(
      with_((s) => (s.topics[TOPIC_ARN] = unknown('GetTopicAttributes failed: Throttling'))),
      context(),
    );
    expect(plan.actions).toEqual([]);
    expect(findingCodes(plan)).toEqual(['OBSERVE_INCOMPLETE']);
  });
});

describe('log archive', () => {
  test("an own trail delivering into a registered archive's bucket: collected there, no chain in this account", () => {
    const state = with_((s) => {
      s.trails = known([trail({ bucketName: 'central-logs', topicArn: undefined })]);
      s.queues = { outcomesqueue: known(null), 'outcomesqueue-dlq': known(null) };
    });
    const plan = planAccount(
      state,
      context({ recorded: {}, logArchives: [{ accountId: '444455556666', bucketNames: ['central-logs'] }] }),
    );
    expect(findingCodes(plan)).toEqual(['TRAIL_MISSING', 'COLLECTED_BY_LOG_ARCHIVE']);
    expect(codes(plan)).toEqual(['REUSE_TRAIL']);
  });
});

describe('every plan', () => {
  test('orders dependencies first and gives every action a cost impact', () => {
    const state = with_((s) => {
      s.trails = known([]);
      s.buckets = { [BUCKET]: known({ state: 'absent' }) };
      s.topics = { [TOPIC_ARN]: known(null) };
      s.queues = { outcomesqueue: known(null), 'outcomesqueue-dlq': known(null) };
      s.eventSourceMappings = known([]);
    });
    const plan = planAccount(state, context({ recorded: {}, ingestFunctionArn: FUNCTION_ARN }));
    expect(codes(plan)).toEqual([
      'CREATE_BUCKET',
      'PUT_BUCKET_POLICY',
      'CREATE_TOPIC',
      'PUT_TOPIC_POLICY',
      'CREATE_QUEUE',
      'CREATE_QUEUE',
      'PUT_QUEUE_POLICY',
      'SUBSCRIBE',
      'CREATE_TRAIL',
      'START_LOGGING',
      'CREATE_ESM',
    ]);
    plan.actions.forEach((action, index) => {
      for (const dependency of action.dependsOn) {
        expect(plan.actions.findIndex((a) => a.id === dependency)).toBeLessThan(index);
      }
      expect(action.costImpact.note.length).toBeGreaterThan(10);
      expect(action.costImpact.monthlyUsd).toBeGreaterThanOrEqual(0);
    });
    const createTrail = plan.actions.find((a) => a.code === 'CREATE_TRAIL')!;
    expect(createTrail.dependsOn).toEqual([
      `CREATE_BUCKET:${BUCKET}`,
      `PUT_BUCKET_POLICY:${BUCKET}`,
      `CREATE_TOPIC:${TOPIC_ARN}`,
      `PUT_TOPIC_POLICY:${TOPIC_ARN}`,
    ]);
    expect(plan.findings.map((f) => f.code)).toEqual(['TRAIL_MISSING', 'QUEUE_MISSING', 'ESM_MISSING']);
    expect(bucketPolicy()).toContain('CloudTrailCollectorCloudTrailWrite');
  });
});
