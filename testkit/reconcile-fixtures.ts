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
  type HubTarget,
  type ObservedState,
  type ObservedSubscription,
  type ObservedTopic,
  type ObservedTrail,
  type PlanContext,
} from '../lambdas/reconcile/types';
import { hubQueueName, shardOf } from '../lambdas/shared/topology';

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

/**
 * Adds outcomesqueue-dlq holding `messages`, as the collector builds it: a policy that lets the topic send, and the
 * queue's subscription naming it as its SNS dead-letter queue.
 */
export function withDeadLetterQueue(state: ObservedState, messages: number): ObservedState {
  state.queues['outcomesqueue-dlq'] = known({
    name: 'outcomesqueue-dlq',
    url: `https://sqs/${ACCT}/outcomesqueue-dlq`,
    arn: DLQ_ARN,
    messages,
    policy: JSON.stringify(
      mergeCollectorStatements(undefined, defaultQueueStatements({ queueArn: DLQ_ARN, topicArn: TOPIC_ARN })),
    ),
  });
  const topicState = state.topics[TOPIC_ARN];
  if (topicState?.known && topicState.value !== null && topicState.value.subscriptions.known) {
    for (const subscription of topicState.value.subscriptions.value) {
      if (subscription.endpoint === QUEUE_ARN)
        subscription.redrivePolicy = JSON.stringify({ deadLetterTargetArn: DLQ_ARN });
    }
  }
  return state;
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
      ? {
          eventSourceMappings: known([
            { uuid: 'esm-1', functionArn: FUNCTION_ARN, state: 'Enabled', maximumConcurrency: 2 },
          ]),
        }
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

// ---- the hub topology ---------------------------------------------------------------------------------------

/** The collector's account (the hub queues' owner) and the reconcile role customer topic policies let subscribe. */
export const COLLECTOR_ACCOUNT = '123456789012';
export const RECONCILE_ROLE_ARN = `arn:aws:iam::${COLLECTOR_ACCOUNT}:role/cloudtrail-collector-reconcile`;
/** Two hub queues (index = shard); ACCT is in shard 0 of 2, 444455556666 in shard 1. */
export const HUB_QUEUE_ARNS = [0, 1].map(
  (shard) => `arn:aws:sqs:${REGION}:${COLLECTOR_ACCOUNT}:${hubQueueName(shard)}`,
);
export const HUB_SHARD = shardOf(ACCT, HUB_QUEUE_ARNS.length);
export const HUB_QUEUE_ARN = HUB_QUEUE_ARNS[HUB_SHARD]!;
export const HUB: HubTarget = { queueArn: HUB_QUEUE_ARN, shard: HUB_SHARD, subscriberArn: RECONCILE_ROLE_ARN };

/** The topic policy of a hub account: CloudTrail may publish, the collector may subscribe its hub queue. */
export const hubTopicPolicy = (topicArn = TOPIC_ARN, trailArn = TRAIL_ARN, endpoint = HUB_QUEUE_ARN) =>
  JSON.stringify(
    mergeCollectorStatements(
      undefined,
      defaultTopicStatements({
        topicArn,
        trailArn,
        accountId: ACCT,
        hubSubscriber: { principalArn: RECONCILE_ROLE_ARN, endpoint },
      }),
    ),
  );

/** The hub subscription as observe reports it: owned by the collector, envelope delivery, no filter. */
export function hubSubscription(overrides: Partial<ObservedSubscription> = {}): ObservedSubscription {
  return {
    arn: `${TOPIC_ARN}:hub-1`,
    protocol: 'sqs',
    endpoint: HUB_QUEUE_ARN,
    pending: false,
    owner: COLLECTOR_ACCOUNT,
    filterPolicy: known(null),
    rawMessageDelivery: false,
    ...overrides,
  };
}

/** A healthy hub account as observe reports it once it is recorded as hub: no queue of the collector's. */
export function hubHealthy(): ObservedState {
  return {
    ...healthy(),
    topics: {
      [TOPIC_ARN]: known(topic(TOPIC_ARN, { policy: hubTopicPolicy(), subscriptions: known([hubSubscription()]) })),
    },
    queues: {},
  };
}

/** The context of a hub account recorded by the last run (topology hub, its shard, no queue). */
export function hubContext(overrides: Partial<PlanContext> = {}): PlanContext {
  const { queueArn: _queueArn, ...recorded } = context().recorded;
  return context({
    ingestTopology: 'hub',
    hub: HUB,
    hubQueueArns: HUB_QUEUE_ARNS,
    recorded: { ...recorded, ingestTopology: 'hub', ingestShard: HUB_SHARD },
    ...overrides,
  });
}

/** The reconcile settings of every test and benchmark run: the Lambda's defaults, in the fixtures' region. */
export const RECONCILE_SETTINGS: ReconcileSettings = {
  region: REGION,
  customerRoleName: 'CloudTrailCollectorRole',
  costs: DEFAULT_COST_ASSUMPTIONS,
  queueVisibilityTimeoutSeconds: 360,
};
