/**
 * The log archive's notification path (rules/archive-notifications.ts, archive-path.ts), through the planner: a
 * compliant archive, a missing configuration (the merge is planned, never a trail), an overlapping customer
 * configuration (reported, nothing written), EventBridge on (reported with the command), an unknown trail prefix,
 * and the merge itself keeping every other configuration. The hub topology: the bucket notifies the archive's
 * outcomestopic (created when missing), whose policy lets S3 publish and the collector subscribe its hub queue.
 */
import {
  archiveEventPattern,
  archiveQueueStatements,
  archiveTopicStatements,
  mergeNotification,
  wantedQueueConfiguration,
} from '../../../lambdas/reconcile/archive-path';
import type {
  ObservedArchive,
  ObservedEventRule,
  ObservedNotificationConfiguration,
} from '../../../lambdas/reconcile/archive-types';
import { planAccount } from '../../../lambdas/reconcile/plan';
import { logArchivesFor } from '../../../lambdas/reconcile/reconcile';
import { known, type ObservedState, type PlanContext } from '../../../lambdas/reconcile/types';
import {
  ACCT,
  HUB_QUEUE_ARN,
  HUB_SHARD,
  QUEUE_ARN,
  RECONCILE_ROLE_ARN,
  REGION,
  TOPIC_ARN,
  context,
  hubContext,
  hubSubscription,
  topic,
} from '../../../testkit/reconcile-fixtures';
import { accountRecord } from '../../../testkit/registry';

const BUCKET = 'acme-org-trail-logs';
const TRAIL = 'arn:aws:cloudtrail:us-east-1:999900001111:trail/org-trail';
const NOTHING: ObservedNotificationConfiguration = { queues: [], topics: [], lambdas: [], eventBridge: false };
const OURS = {
  id: 'cloudtrail-collector-archive',
  arn: QUEUE_ARN,
  events: ['s3:ObjectCreated:*'],
  prefix: 'central/AWSLogs/',
  suffix: '.json.gz',
};

const ctx = (overrides: Partial<PlanContext> = {}): PlanContext =>
  context({
    logArchive: {
      bucketName: BUCKET,
      organizationIds: ['o-a1b2c3d4e5'],
      trail: { trailArn: TRAIL, s3KeyPrefix: 'central', homeRegion: REGION, source: 'organization' },
    },
    ...overrides,
  });

function archiveState(
  notification: ObservedNotificationConfiguration,
  options: { policy?: boolean } = {},
): ObservedState {
  const policy =
    options.policy === false
      ? undefined
      : JSON.stringify({
          Version: '2012-10-17',
          Statement: archiveQueueStatements({ queueArn: QUEUE_ARN, bucketName: BUCKET, bucketOwner: ACCT }),
        });
  return {
    accountId: ACCT,
    region: REGION,
    trails: known([]),
    buckets: {},
    topics: {},
    queues: {
      outcomesqueue: known({ name: 'outcomesqueue', url: 'u', arn: QUEUE_ARN, ...(policy ? { policy } : {}) }),
      'outcomesqueue-dlq': known({ name: 'outcomesqueue-dlq', url: 'd', arn: `${QUEUE_ARN}-dlq` }),
    },
    archive: known({
      bucketName: BUCKET,
      region: REGION,
      notification,
      trail: { trailArn: TRAIL, s3KeyPrefix: 'central', homeRegion: REGION, source: 'organization' },
    }),
  };
}

const codes = (state: ObservedState, c = ctx()) => planAccount(state, c).findings.map((f) => f.code);

test('compliant: the collector configuration and the S3 statement are in place: nothing to do, no trail', () => {
  const plan = planAccount(archiveState({ ...NOTHING, queues: [OURS] }), ctx());
  expect(plan.actions).toEqual([]);
  expect(plan.findings.map((f) => f.code)).not.toContain('TRAIL_MISSING');
});

test('missing: PUT_BUCKET_NOTIFICATION for <prefix>/AWSLogs/ and .json.gz; never a trail', () => {
  const other = {
    id: 'exports',
    arn: 'arn:aws:sqs:us-east-1:111122223333:exports',
    events: ['s3:ObjectCreated:*'],
    prefix: 'exports/',
  };
  const plan = planAccount(archiveState({ ...NOTHING, queues: [other] }), ctx());
  expect(plan.findings.map((f) => f.code)).toEqual(['ARCHIVE_NOTIFICATIONS_MISSING']);
  expect(plan.actions.map((a) => [a.code, a.params])).toEqual([
    [
      'PUT_BUCKET_NOTIFICATION',
      {
        bucketName: BUCKET,
        region: REGION,
        queueName: 'outcomesqueue',
        queueArn: QUEUE_ARN,
        prefix: 'central/AWSLogs/',
        suffix: '.json.gz',
        configurationId: 'cloudtrail-collector-archive',
      },
    ],
  ]);
});

test('the configuration is there but the queue policy lacks the S3 statement: written again', () => {
  const plan = planAccount(archiveState({ ...NOTHING, queues: [OURS] }, { policy: false }), ctx());
  expect(plan.findings.map((f) => f.code)).toEqual(['QUEUE_POLICY_INVALID']);
  expect(plan.actions.map((a) => a.code)).toEqual(['PUT_BUCKET_NOTIFICATION']);
});

test('an overlapping customer configuration: reported, nothing written (S3 would reject the document)', () => {
  const lambda = {
    id: 'all-gz',
    arn: 'arn:aws:lambda:us-east-1:111122223333:function:f',
    events: ['s3:ObjectCreated:Put'],
    suffix: '.gz',
  };
  const plan = planAccount(archiveState({ ...NOTHING, lambdas: [lambda] }), ctx());
  expect(plan.findings.map((f) => f.code)).toEqual(['ARCHIVE_NOTIFICATIONS_OVERLAP']);
  expect(plan.findings[0]!.message).toContain('all-gz');
  expect(plan.actions).toEqual([]);
  // Another event type, or a disjoint prefix, does not overlap.
  const removed = { ...lambda, events: ['s3:ObjectRemoved:*'] };
  expect(codes(archiveState({ ...NOTHING, lambdas: [removed] }))).toEqual(['ARCHIVE_NOTIFICATIONS_MISSING']);
  const elsewhere = { ...lambda, prefix: 'exports/' };
  expect(codes(archiveState({ ...NOTHING, lambdas: [elsewhere] }))).toEqual(['ARCHIVE_NOTIFICATIONS_MISSING']);
});

// ---- the EventBridge path: the bucket already sends its events to EventBridge ------------------------------------

const RULE_ARN = `arn:aws:events:${REGION}:${ACCT}:rule/cloudtrail-collector-archive`;
const ourRule = (targetArn: string, overrides: Partial<ObservedEventRule> = {}): ObservedEventRule => ({
  arn: RULE_ARN,
  state: 'ENABLED',
  eventPattern: JSON.stringify(archiveEventPattern(BUCKET, 'central/AWSLogs/')),
  targets: [{ id: 'cloudtrail-collector', arn: targetArn }],
  ...overrides,
});
const eventsQueuePolicy = JSON.stringify({
  Version: '2012-10-17',
  Statement: archiveQueueStatements({
    queueArn: QUEUE_ARN,
    bucketName: BUCKET,
    bucketOwner: ACCT,
    eventRuleArn: RULE_ARN,
  }),
});
function eventBridgeState(rule: ObservedEventRule | null | 'unreadable', policy: string | null = eventsQueuePolicy) {
  const state = archiveState({ ...NOTHING, eventBridge: true }, { policy: false });
  state.queues.outcomesqueue = known({
    name: 'outcomesqueue',
    url: 'u',
    arn: QUEUE_ARN,
    ...(policy ? { policy } : {}),
  });
  const archive = state.archive as { known: true; value: ObservedArchive };
  archive.value.eventRule = rule === 'unreadable' ? { known: false, error: 'AccessDeniedException' } : known(rule);
  return state;
}

test('EventBridge on, compliant: the rule, its target and the events statement in place; the configuration untouched', () => {
  const plan = planAccount(eventBridgeState(ourRule(QUEUE_ARN)), ctx());
  expect(plan.findings.filter((f) => f.severity !== 'info').map((f) => f.code)).toEqual([]);
  expect(plan.actions).toEqual([]);
});

test('EventBridge on, no rule: PUT_ARCHIVE_EVENT_RULE to outcomesqueue; no PUT_BUCKET_NOTIFICATION, never a trail', () => {
  const plan = planAccount(eventBridgeState(null, null), ctx());
  expect(plan.findings.map((f) => f.code)).toEqual(['ARCHIVE_EVENTBRIDGE_RULE_NEEDED']);
  expect(plan.findings[0]!.message).toContain(RULE_ARN);
  expect(plan.actions.map((a) => a.code)).toEqual(['PUT_ARCHIVE_EVENT_RULE']);
  expect(plan.actions[0]!.params).toEqual({
    bucketName: BUCKET,
    region: REGION,
    prefix: 'central/AWSLogs/',
    ruleName: 'cloudtrail-collector-archive',
    queueName: 'outcomesqueue',
    queueArn: QUEUE_ARN,
  });
});

test('EventBridge on: a disabled rule, another pattern, another target or a role on it is not ours: written again', () => {
  const other = { ...archiveEventPattern(BUCKET, 'AWSLogs/') };
  for (const rule of [
    ourRule(QUEUE_ARN, { state: 'DISABLED' }),
    ourRule(QUEUE_ARN, { eventPattern: JSON.stringify(other) }),
    ourRule('arn:aws:sqs:us-east-1:111122223333:elsewhere'),
    ourRule(QUEUE_ARN, { targets: [{ id: 'cloudtrail-collector', arn: QUEUE_ARN, roleArn: 'arn:aws:iam::1:role/r' }] }),
  ]) {
    expect(planAccount(eventBridgeState(rule), ctx()).actions.map((a) => a.code)).toEqual(['PUT_ARCHIVE_EVENT_RULE']);
  }
  // Key order inside the pattern is not a difference.
  const reordered = JSON.stringify({
    detail: { object: { key: [{ prefix: 'central/AWSLogs/' }] }, bucket: { name: [BUCKET] } },
    'detail-type': ['Object Created'],
    source: ['aws.s3'],
  });
  expect(planAccount(eventBridgeState(ourRule(QUEUE_ARN, { eventPattern: reordered })), ctx()).actions).toEqual([]);
});

test('EventBridge on: the rule is ours but the queue policy lacks the events statement: QUEUE_POLICY_INVALID, rewritten', () => {
  const plan = planAccount(eventBridgeState(ourRule(QUEUE_ARN), null), ctx());
  expect(plan.findings.map((f) => f.code)).toEqual(['QUEUE_POLICY_INVALID']);
  expect(plan.actions.map((a) => a.code)).toEqual(['PUT_ARCHIVE_EVENT_RULE']);
});

test('EventBridge on: the rule could not be read: OBSERVE_INCOMPLETE and nothing written', () => {
  const plan = planAccount(eventBridgeState('unreadable'), ctx());
  expect(plan.findings.map((f) => f.code)).toEqual(['OBSERVE_INCOMPLETE']);
  expect(plan.findings[0]!.message).toContain('AccessDeniedException');
  expect(plan.actions).toEqual([]);
});

test('EventBridge on, but the collector configuration is already in the document: the S3 path stays', () => {
  const plan = planAccount(archiveState({ ...NOTHING, eventBridge: true, queues: [OURS] }), ctx());
  expect(plan.actions).toEqual([]);
});

test('blocked: no known trail (prefix unknown); an unknown configuration changes nothing', () => {
  const state = archiveState(NOTHING);
  state.archive = known({ bucketName: BUCKET, region: REGION, notification: NOTHING });
  expect(codes(state)).toEqual(['ARCHIVE_PATH_BLOCKED']);
  const unknownState = archiveState(NOTHING);
  unknownState.archive = { known: false, error: 'AccessDenied' };
  expect(codes(unknownState)).toEqual(['OBSERVE_INCOMPLETE']);
  expect(planAccount(unknownState, ctx()).actions).toEqual([]);
});

test('the merge keeps every other configuration and EventBridge, and replaces only its own by Id', () => {
  const existing = {
    TopicConfigurations: [{ Id: 't', TopicArn: 'arn:aws:sns:us-east-1:1:t', Events: ['s3:ObjectRemoved:*' as const] }],
    QueueConfigurations: [
      { Id: 'q', QueueArn: 'arn:aws:sqs:us-east-1:1:q', Events: ['s3:ObjectCreated:*' as const] },
      {
        Id: 'cloudtrail-collector-archive',
        QueueArn: 'arn:aws:sqs:us-east-1:1:old',
        Events: ['s3:ObjectCreated:*' as const],
      },
    ],
    EventBridgeConfiguration: {},
  };
  const merged = mergeNotification(existing, { kind: 'queue', arn: QUEUE_ARN, prefix: 'AWSLogs/', suffix: '.json.gz' });
  expect(merged.TopicConfigurations).toEqual(existing.TopicConfigurations);
  expect(merged.EventBridgeConfiguration).toEqual({});
  expect(merged.QueueConfigurations!.map((q) => [q.Id, q.QueueArn])).toEqual([
    ['q', 'arn:aws:sqs:us-east-1:1:q'],
    ['cloudtrail-collector-archive', QUEUE_ARN],
  ]);
});

// ---- the hub topology: bucket -> the archive's outcomestopic -> its hub shard queue -----------------------------

const S3_TOPIC_STATEMENTS = archiveTopicStatements({
  topicArn: TOPIC_ARN,
  bucketName: BUCKET,
  bucketOwner: ACCT,
  hubSubscriber: { principalArn: RECONCILE_ROLE_ARN, endpoint: HUB_QUEUE_ARN },
});
const OURS_TOPIC = { ...OURS, arn: TOPIC_ARN };
const hubArchiveCtx = () => hubContext({ logArchive: ctx().logArchive! });

function hubArchiveState(
  notification: ObservedNotificationConfiguration,
  options: { topic?: 'missing' | 'no-s3-statement'; subscribed?: boolean } = {},
): ObservedState {
  const state = archiveState(notification);
  state.queues = {};
  const statements =
    options.topic === 'no-s3-statement'
      ? S3_TOPIC_STATEMENTS.filter((s) => s.Sid !== 'CloudTrailCollectorArchiveS3Publish')
      : S3_TOPIC_STATEMENTS;
  state.topics = {
    [TOPIC_ARN]: known(
      options.topic === 'missing'
        ? null
        : topic(TOPIC_ARN, {
            policy: JSON.stringify({ Version: '2012-10-17', Statement: statements }),
            subscriptions: known(options.subscribed === false ? [] : [hubSubscription()]),
          }),
    ),
  };
  return state;
}

test('hub, compliant: topic configuration, S3 publish statement and hub subscription in place: nothing to do', () => {
  const plan = planAccount(hubArchiveState({ ...NOTHING, topics: [OURS_TOPIC] }), hubArchiveCtx());
  expect(plan.findings.filter((f) => f.severity !== 'info').map((f) => f.code)).toEqual([]);
  expect(plan.actions).toEqual([]);
});

test('hub, new archive: outcomestopic created, its policy and the topic configuration written, then subscribed', () => {
  const plan = planAccount(hubArchiveState(NOTHING, { topic: 'missing' }), hubArchiveCtx());
  expect(plan.findings.map((f) => f.code)).toEqual(['ARCHIVE_NOTIFICATIONS_MISSING']);
  expect(plan.actions.map((a) => a.code)).toEqual(['CREATE_TOPIC', 'PUT_BUCKET_NOTIFICATION', 'SUBSCRIBE']);
  const [create, notify, subscribe] = plan.actions;
  expect(create!.params).toEqual({ topicName: 'outcomestopic', region: REGION });
  expect(notify!.params).toEqual({
    bucketName: BUCKET,
    region: REGION,
    topicArn: TOPIC_ARN,
    hubSubscriber: { principalArn: RECONCILE_ROLE_ARN, endpoint: HUB_QUEUE_ARN },
    prefix: 'central/AWSLogs/',
    suffix: '.json.gz',
    configurationId: 'cloudtrail-collector-archive',
  });
  expect(notify!.dependsOn).toContain(create!.id);
  expect(subscribe!.params).toEqual({ topicArn: TOPIC_ARN, queueArn: HUB_QUEUE_ARN, hubShard: HUB_SHARD });
  expect(subscribe!.dependsOn).toEqual(expect.arrayContaining([create!.id, notify!.id]));
  // Never a trail, a queue or a mapping in the archive account.
  expect(plan.actions.map((a) => a.code)).not.toEqual(
    expect.arrayContaining([expect.stringMatching(/TRAIL|QUEUE|ESM/)]),
  );
});

test('hub: the S3 statement is gone from the topic policy: written again once (it carries the hub statement)', () => {
  const plan = planAccount(
    hubArchiveState({ ...NOTHING, topics: [OURS_TOPIC] }, { topic: 'no-s3-statement' }),
    hubArchiveCtx(),
  );
  expect(plan.findings.map((f) => f.code)).toEqual(['TOPIC_POLICY_INVALID']);
  expect(plan.actions.map((a) => a.code)).toEqual(['PUT_BUCKET_NOTIFICATION']);
});

test('hub: the subscription is missing: subscribed again; a queue configuration of ours becomes the topic one', () => {
  const unsubscribed = planAccount(
    hubArchiveState({ ...NOTHING, topics: [OURS_TOPIC] }, { subscribed: false }),
    hubArchiveCtx(),
  );
  expect(unsubscribed.findings.map((f) => f.code)).toEqual(['SUBSCRIPTION_MISSING']);
  expect(unsubscribed.actions.map((a) => a.code)).toEqual(['SUBSCRIBE']);
  // Moving from the customer-queue topology: the collector's queue configuration is not the wanted one.
  const moving = planAccount(hubArchiveState({ ...NOTHING, queues: [OURS] }), hubArchiveCtx());
  expect(moving.findings.map((f) => f.code)).toEqual(['ARCHIVE_NOTIFICATIONS_MISSING']);
  expect(moving.actions.map((a) => a.code)).toEqual(['PUT_BUCKET_NOTIFICATION']);
  const merged = mergeNotification(
    { QueueConfigurations: [wantedQueueConfiguration({ kind: 'queue', arn: QUEUE_ARN, prefix: 'p/', suffix: '.gz' })] },
    { kind: 'topic', arn: TOPIC_ARN, prefix: 'central/AWSLogs/', suffix: '.json.gz' },
  );
  expect(merged.QueueConfigurations).toEqual([]);
  expect(merged.TopicConfigurations!.map((t) => [t.Id, t.TopicArn, t.Filter?.Key?.FilterRules])).toEqual([
    [
      'cloudtrail-collector-archive',
      TOPIC_ARN,
      [
        { Name: 'prefix', Value: 'central/AWSLogs/' },
        { Name: 'suffix', Value: '.json.gz' },
      ],
    ],
  ]);
});

test('hub: S3 may publish only from the archive bucket of the archive account; an overlap is still refused', () => {
  expect(S3_TOPIC_STATEMENTS[0]).toEqual({
    Sid: 'CloudTrailCollectorArchiveS3Publish',
    Effect: 'Allow',
    Principal: { Service: 's3.amazonaws.com' },
    Action: 'SNS:Publish',
    Resource: TOPIC_ARN,
    Condition: {
      ArnLike: { 'aws:SourceArn': `arn:aws:s3:::${BUCKET}` },
      StringEquals: { 'aws:SourceAccount': ACCT },
    },
  });
  expect(S3_TOPIC_STATEMENTS.map((s) => s.Sid)).toContain('CloudTrailCollectorHubSubscribe');
  const customer = { id: 'mine', arn: 'arn:aws:sns:us-east-1:111122223333:other', events: ['s3:ObjectCreated:*'] };
  const plan = planAccount(hubArchiveState({ ...NOTHING, topics: [customer] }), hubArchiveCtx());
  expect(plan.findings.map((f) => f.code)).toEqual(['ARCHIVE_NOTIFICATIONS_OVERLAP']);
  expect(plan.actions).toEqual([]);
});

test("a member's trail into the central bucket is the archive's: logArchivesFor names its logArchiveBucket", () => {
  // `organizations add|sync` record logArchiveBucket (not bucketName) on the archive.
  const archive = accountRecord({
    accountId: '555566667777',
    logArchiveFor: ['o-a1b2c3d4e5'],
    logArchiveBucket: BUCKET,
  });
  expect(logArchivesFor(ACCT, [accountRecord({ accountId: ACCT }), archive])).toEqual([
    { accountId: '555566667777', bucketNames: [BUCKET] },
  ]);
  expect(logArchivesFor('555566667777', [archive])).toEqual([]);
});

test('hub, EventBridge on: the rule publishes to outcomestopic (created), whose policy lets EventBridge publish', () => {
  const state = hubArchiveState({ ...NOTHING, eventBridge: true }, { topic: 'missing' });
  (state.archive as { known: true; value: ObservedArchive }).value.eventRule = known(null);
  const plan = planAccount(state, hubArchiveCtx());
  expect(plan.findings.map((f) => f.code)).toEqual(['ARCHIVE_EVENTBRIDGE_RULE_NEEDED']);
  expect(plan.actions.map((a) => a.code)).toEqual(['CREATE_TOPIC', 'PUT_ARCHIVE_EVENT_RULE', 'SUBSCRIBE']);
  const [create, rule, subscribe] = plan.actions;
  expect(rule!.params).toEqual({
    bucketName: BUCKET,
    region: REGION,
    prefix: 'central/AWSLogs/',
    ruleName: 'cloudtrail-collector-archive',
    topicArn: TOPIC_ARN,
    hubSubscriber: { principalArn: RECONCILE_ROLE_ARN, endpoint: HUB_QUEUE_ARN },
  });
  expect(rule!.dependsOn).toContain(create!.id);
  expect(subscribe!.dependsOn).toEqual(expect.arrayContaining([create!.id, rule!.id]));
});

test('hub, EventBridge on, compliant: rule to outcomestopic, events statement, hub subscription: nothing to do', () => {
  const state = hubArchiveState({ ...NOTHING, eventBridge: true });
  const statements = archiveTopicStatements({
    topicArn: TOPIC_ARN,
    bucketName: BUCKET,
    bucketOwner: ACCT,
    hubSubscriber: { principalArn: RECONCILE_ROLE_ARN, endpoint: HUB_QUEUE_ARN },
    eventRuleArn: RULE_ARN,
  });
  state.topics[TOPIC_ARN] = known(
    topic(TOPIC_ARN, {
      policy: JSON.stringify({ Version: '2012-10-17', Statement: statements }),
      subscriptions: known([hubSubscription()]),
    }),
  );
  (state.archive as { known: true; value: ObservedArchive }).value.eventRule = known(ourRule(TOPIC_ARN));
  const plan = planAccount(state, hubArchiveCtx());
  expect(plan.findings.filter((f) => f.severity !== 'info').map((f) => f.code)).toEqual([]);
  expect(plan.actions).toEqual([]);
});
