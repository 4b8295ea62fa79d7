/**
 * The log archive's notification path (rules/archive-notifications.ts, archive-path.ts), through the planner: a
 * compliant archive, a missing configuration (the merge is planned, never a trail), an overlapping customer
 * configuration (reported, nothing written), EventBridge on (reported with the command), an unknown trail prefix,
 * and the merge itself keeping every other configuration.
 */
import { mergeNotification, archiveQueueStatements } from '../../../lambdas/reconcile/archive-path';
import type { ObservedNotificationConfiguration } from '../../../lambdas/reconcile/archive-types';
import { planAccount } from '../../../lambdas/reconcile/plan';
import { known, type ObservedState, type PlanContext } from '../../../lambdas/reconcile/types';
import { ACCT, QUEUE_ARN, REGION, context } from '../../../testkit/reconcile-fixtures';

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

test('EventBridge on: an EventBridge rule is asked for with the command; the configuration is left alone', () => {
  const plan = planAccount(archiveState({ ...NOTHING, eventBridge: true }), ctx());
  expect(plan.findings.map((f) => f.code)).toEqual(['ARCHIVE_EVENTBRIDGE_RULE_NEEDED']);
  expect(plan.findings[0]!.message).toContain('aws events put-rule');
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
  const merged = mergeNotification(existing, { queueArn: QUEUE_ARN, prefix: 'AWSLogs/', suffix: '.json.gz' });
  expect(merged.TopicConfigurations).toEqual(existing.TopicConfigurations);
  expect(merged.EventBridgeConfiguration).toEqual({});
  expect(merged.QueueConfigurations!.map((q) => [q.Id, q.QueueArn])).toEqual([
    ['q', 'arn:aws:sqs:us-east-1:1:q'],
    ['cloudtrail-collector-archive', QUEUE_ARN],
  ]);
});
