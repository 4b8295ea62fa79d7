/** Observed states and plan contexts for planner tests: a healthy chain, changed one part at a time. */
import type { ReconcileSettings } from '../lambdas/reconcile/reconcile';
import { DEFAULT_COST_ASSUMPTIONS } from '../lambdas/reconcile/costs';
import {
  defaultBucketPolicy,
  defaultQueueStatements,
  defaultTopicStatements,
  mergeCollectorStatements,
} from '../lambdas/reconcile/policies';
import { sha256 } from '../lambdas/reconcile/rules';
import {
  known,
  type ObservedState,
  type ObservedTopic,
  type ObservedTrail,
  type PlanContext,
} from '../lambdas/reconcile/types';

export const ACCT = '111122223333';
export const REGION = 'us-east-1';
export const TRAIL_ARN = `arn:aws:cloudtrail:${REGION}:${ACCT}:trail/outcomes-trail`;
export const BUCKET = `outcomes-${ACCT}`;
export const TOPIC_ARN = `arn:aws:sns:${REGION}:${ACCT}:outcomestopic`;
export const QUEUE_ARN = `arn:aws:sqs:${REGION}:${ACCT}:outcomesqueue`;
export const DLQ_ARN = `arn:aws:sqs:${REGION}:${ACCT}:outcomesqueue-dlq`;
export const FUNCTION_ARN = 'arn:aws:lambda:us-east-1:123456789012:function:collector-ingest';
export const GENERATED = `outcomes-${ACCT}-fresh0001`;

export const bucketPolicy = (bucket = BUCKET, trailArn = TRAIL_ARN) =>
  JSON.stringify(defaultBucketPolicy({ bucketName: bucket, accountId: ACCT, trailArn }));
export const topicPolicy = (topicArn = TOPIC_ARN, trailArn = TRAIL_ARN) =>
  JSON.stringify(mergeCollectorStatements(undefined, defaultTopicStatements({ topicArn, trailArn, accountId: ACCT })));
export const queuePolicy = (topicArn = TOPIC_ARN) =>
  JSON.stringify(mergeCollectorStatements(undefined, defaultQueueStatements({ queueArn: QUEUE_ARN, topicArn })));

export function trail(overrides: Partial<ObservedTrail> = {}): ObservedTrail {
  return {
    arn: TRAIL_ARN,
    name: 'outcomes-trail',
    homeRegion: REGION,
    ownerAccountId: ACCT,
    isMultiRegion: true,
    isOrganization: false,
    bucketName: BUCKET,
    topicArn: TOPIC_ARN,
    hasInsightSelectors: false,
    status: known({ isLogging: true }),
    selectors: known({ managementEvents: true, dataEvents: false }),
    ...overrides,
  };
}

export function topic(arn = TOPIC_ARN, overrides: Partial<ObservedTopic> = {}): ObservedTopic {
  return {
    arn,
    policy: topicPolicy(arn),
    subscriptions: known([
      { arn: `${arn}:sub-1`, protocol: 'sqs', endpoint: QUEUE_ARN, pending: false, filterPolicy: known(null) },
    ]),
    ...overrides,
  };
}

/** The healthy chain as observe would report it. */
export function healthy(options: { esm?: boolean } = {}): ObservedState {
  return {
    accountId: ACCT,
    region: REGION,
    trails: known([trail()]),
    buckets: { [BUCKET]: known({ state: 'owned', policy: known(bucketPolicy()) }) },
    topics: { [TOPIC_ARN]: known(topic()) },
    queues: {
      outcomesqueue: known({
        name: 'outcomesqueue',
        url: `https://sqs/${ACCT}/outcomesqueue`,
        arn: QUEUE_ARN,
        policy: queuePolicy(),
      }),
    },
    ...(options.esm
      ? { eventSourceMappings: known([{ uuid: 'esm-1', functionArn: FUNCTION_ARN, state: 'Enabled' }]) }
      : {}),
  };
}

/** The context of an account whose healthy chain was recorded by the last run. */
export function context(overrides: Partial<PlanContext> = {}): PlanContext {
  return {
    accountId: ACCT,
    region: REGION,
    now: new Date('2026-11-01T12:00:00.000Z'),
    recorded: {
      trailArn: TRAIL_ARN,
      bucketName: BUCKET,
      topicArn: TOPIC_ARN,
      queueArn: QUEUE_ARN,
      bucketPolicySha256: sha256(bucketPolicy()),
    },
    freshBucketName: GENERATED,
    logArchives: [],
    costs: DEFAULT_COST_ASSUMPTIONS,
    queueVisibilityTimeoutSeconds: 360,
    ...overrides,
  };
}

/** The reconcile settings of every test and benchmark run: the Lambda's defaults, in the fixtures' region. */
export const RECONCILE_SETTINGS: ReconcileSettings = {
  region: REGION,
  customerRoleName: 'CloudTrailCollectorRole',
  costs: DEFAULT_COST_ASSUMPTIONS,
  queueVisibilityTimeoutSeconds: 360,
};
