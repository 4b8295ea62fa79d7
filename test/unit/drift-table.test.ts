import type { ObservedArchive, ObservedNotificationConfiguration } from '../../lambdas/reconcile/archive-types';
import { RECONCILE_SETTINGS } from '../../testkit/reconcile-fixtures';
/**
 * The drift table (lambdas/reconcile/drift-table.ts) against the code and the docs:
 * - one entry per finding code, no more, in FINDING_CODES order;
 * - docs/drift-remediation.md holds exactly renderDriftTable() between its markers;
 * - the entries agree with the planner: for a state that raises each finding (built from the planner fixtures,
 *   as in reconcile-plan.test.ts), every action's code is listed under its reason, every finding's severity is
 *   listed, the union over all states equals each entry's lists, and `outcome` holds (repairs / reports / both);
 *   combinations of those states (fast-check) never emit a (reason, action) or (finding, severity) pair the
 *   table lacks;
 * - docs/costs.md quotes the prices and the worked example the cost code computes.
 */
import fc from 'fast-check';
import { readFileSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import {
  DEFAULT_COST_ASSUMPTIONS,
  PRICES,
  bucketStorageCost,
  cloudWatchLogsCost,
  dataEventsCost,
  duplicateTrailsCost,
  insightsCost,
} from '../../lambdas/reconcile/costs';
import { DRIFT_TABLE, driftEntry, renderDriftTable } from '../../lambdas/reconcile/drift-table';
import { BACKFILL_AFTER_REPAIR, BACKFILL_WHEN_LAGGING } from '../../lambdas/reconcile/rules/backfill';
import { ACTION_ORDER, planAccount } from '../../lambdas/reconcile/plan';
import { reconcileAll } from '../../lambdas/reconcile/reconcile';
import {
  FINDING_CODES,
  SEED_FINDING_CODES,
  known,
  unknown,
  type AccountReport,
  type ActionCode,
  type FindingCode,
  type ObservedState,
  type PlanContext,
  type Severity,
} from '../../lambdas/reconcile/types';
import { silentLogger } from '../../lambdas/shared/logger';
import { FakeCloud, MemoryRegistry, seedHealthyAccount } from '../../testkit/fake-cloud';
import {
  ACCT,
  BUCKET,
  FUNCTION_ARN,
  GENERATED,
  QUEUE_ARN,
  REGION,
  TOPIC_ARN,
  TRAIL_ARN,
  context,
  healthy,
  hubContext,
  hubHealthy,
  hubSubscription,
  hubTopicPolicy,
  queuePolicy,
  topic,
  topicPolicy,
  trail,
} from '../../testkit/reconcile-fixtures';
import { digestObservation, windowLogFile, type DigestObservationOptions } from '../../testkit/digest-observation';

const ROOT = path.resolve(__dirname, '../..');
const SEVERITY_ORDER: readonly Severity[] = ['info', 'low', 'medium', 'high'];
const CUSTOMER_TRAIL = `arn:aws:cloudtrail:${REGION}:${ACCT}:trail/acme-audit`;
const ACME_TOPIC = `arn:aws:sns:${REGION}:${ACCT}:acme-topic`;

/** One situation that raises `code`: a change to the healthy chain and its recorded context. */
interface Situation {
  name: string;
  code: FindingCode;
  change(state: ObservedState, ctx: PlanContext): void;
}

const queueWith = (policy: string | undefined) =>
  known({ name: 'outcomesqueue', url: 'u', arn: QUEUE_ARN, ...(policy !== undefined ? { policy } : {}) });

const denyStatement = (action: string, resource: string) => ({
  Sid: 'AcmeDeny',
  Effect: 'Deny',
  Principal: '*',
  Action: action,
  Resource: resource,
});

/** The hub topology, the account recorded as hub and healthy (no queue of the collector's in the account). */
function toHub(s: ObservedState, c: PlanContext): void {
  Object.assign(s, hubHealthy());
  Object.assign(c, hubContext());
}

const ORGANIZATION_TRAIL = trail({
  arn: 'arn:aws:cloudtrail:us-east-1:999900001111:trail/org-trail',
  name: 'org-trail',
  ownerAccountId: '999900001111',
  isOrganization: true,
  bucketName: 'acme-org-logs',
  topicArn: undefined,
  status: unknown('GetTrailStatus failed: TrailNotFoundException'),
  selectors: unknown('GetEventSelectors failed: TrailNotFoundException'),
});

const SITUATIONS: readonly Situation[] = [
  {
    name: 'an empty account, nothing recorded',
    code: 'TRAIL_MISSING',
    change: (s, c) => {
      s.trails = known([]);
      s.buckets = { [BUCKET]: known({ state: 'absent' }) };
      s.topics = { [TOPIC_ARN]: known(null) };
      s.queues = { outcomesqueue: known(null), 'outcomesqueue-dlq': known(null) };
      c.recorded = {};
    },
  },
  {
    name: 'the recorded trail deleted while a customer trail logs management events',
    code: 'TRAIL_MISSING',
    change: (s) => {
      s.trails = known([trail({ arn: CUSTOMER_TRAIL, name: 'acme-audit' })]);
      s.topics[TOPIC_ARN] = known(topic(TOPIC_ARN, { policy: topicPolicy(TOPIC_ARN, CUSTOMER_TRAIL) }));
    },
  },
  {
    name: 'only an organization trail of another account logs management events',
    code: 'TRAIL_MISSING',
    change: (s) => {
      s.trails = known([
        trail({
          arn: 'arn:aws:cloudtrail:us-east-1:999900001111:trail/org',
          name: 'org',
          ownerAccountId: '999900001111',
          isOrganization: true,
          bucketName: 'org-logs',
        }),
      ]);
    },
  },
  {
    name: 'the trail delivers to another bucket of the account',
    code: 'BUCKET_CHANGED',
    change: (s) => {
      s.trails = known([trail({ bucketName: 'acme-new' })]);
      s.buckets['acme-new'] = known({ state: 'owned', policy: known('{}') });
    },
  },
  {
    name: 'the bucket policy differs from last run',
    code: 'BUCKET_POLICY_CHANGED',
    change: (s) => {
      s.buckets[BUCKET] = known({ state: 'owned', policy: known('{"Statement":[]}') });
    },
  },
  {
    name: 'outcomes-<id> deleted',
    code: 'BUCKET_MISSING',
    change: (s) => {
      s.buckets[BUCKET] = known({ state: 'absent' });
    },
  },
  {
    name: "a customer's trail bucket deleted",
    code: 'BUCKET_MISSING',
    change: (s, c) => {
      s.trails = known([trail({ bucketName: 'acme-logs' })]);
      s.buckets = { 'acme-logs': known({ state: 'absent' }), [BUCKET]: known({ state: 'absent' }) };
      c.recorded.bucketName = 'acme-logs';
    },
  },
  {
    name: "the trail's outcomes-<id> now belongs to another account",
    code: 'BUCKET_NAME_TAKEN',
    change: (s) => {
      s.buckets = { [BUCKET]: known({ state: 'foreign' }), [GENERATED]: known({ state: 'absent' }) };
    },
  },
  {
    name: 'the trail notifies a customer topic the queue is not subscribed to',
    code: 'TOPIC_CHANGED',
    change: (s) => {
      s.trails = known([trail({ topicArn: ACME_TOPIC })]);
      s.topics[ACME_TOPIC] = known(topic(ACME_TOPIC, { subscriptions: known([]) }));
    },
  },
  {
    name: 'the trail notifies a customer topic the queue is already subscribed to, and left the old topic',
    code: 'TOPIC_CHANGED',
    change: (s) => {
      s.trails = known([trail({ topicArn: ACME_TOPIC })]);
      s.topics[ACME_TOPIC] = known(topic(ACME_TOPIC));
      s.topics[TOPIC_ARN] = known(topic(TOPIC_ARN, { subscriptions: known([]) }));
      s.queues.outcomesqueue = queueWith(queuePolicy(ACME_TOPIC));
    },
  },
  {
    name: 'the topic policy lets CloudTrail do nothing',
    code: 'TOPIC_POLICY_INVALID',
    change: (s) => {
      s.topics[TOPIC_ARN] = known(topic(TOPIC_ARN, { policy: '{"Statement":[]}' }));
    },
  },
  {
    name: 'outcomestopic deleted',
    code: 'TOPIC_MISSING',
    change: (s) => {
      s.topics[TOPIC_ARN] = known(null);
    },
  },
  {
    name: "a customer's trail topic deleted, no outcomestopic",
    code: 'TOPIC_MISSING',
    change: (s, c) => {
      s.trails = known([trail({ topicArn: ACME_TOPIC })]);
      s.topics = { [ACME_TOPIC]: known(null), [TOPIC_ARN]: known(null) };
      c.recorded.topicArn = ACME_TOPIC;
    },
  },
  {
    name: 'the subscription removed',
    code: 'SUBSCRIPTION_MISSING',
    change: (s) => {
      s.topics[TOPIC_ARN] = known(topic(TOPIC_ARN, { subscriptions: known([]) }));
    },
  },
  {
    name: 'the queue policy lets the topic send nothing',
    code: 'QUEUE_POLICY_INVALID',
    change: (s) => {
      s.queues.outcomesqueue = queueWith(undefined);
    },
  },
  {
    name: 'the queue deleted, its DLQ still there',
    code: 'QUEUE_MISSING',
    change: (s) => {
      s.queues = {
        outcomesqueue: known(null),
        'outcomesqueue-dlq': known({ name: 'outcomesqueue-dlq', url: 'u', arn: '' }),
      };
    },
  },
  {
    name: 'queue and DLQ deleted, subscription and mapping gone with them',
    code: 'QUEUE_MISSING',
    change: (s, c) => {
      s.queues = { outcomesqueue: known(null), 'outcomesqueue-dlq': known(null) };
      s.topics[TOPIC_ARN] = known(topic(TOPIC_ARN, { subscriptions: known([]) }));
      s.eventSourceMappings = known([]);
      c.ingestFunctionArn = FUNCTION_ARN;
    },
  },
  {
    name: 'the trail stopped, starting it is free',
    code: 'TRAIL_NOT_LOGGING',
    change: (s) => {
      s.trails = known([trail({ status: known({ isLogging: false }) })]);
    },
  },
  {
    name: 'the trail stopped, it records data events',
    code: 'TRAIL_NOT_LOGGING',
    change: (s) => {
      s.trails = known([
        trail({ status: known({ isLogging: false }), selectors: known({ managementEvents: true, dataEvents: true }) }),
      ]);
    },
  },
  {
    name: 'the trail stopped while another trail logs',
    code: 'TRAIL_NOT_LOGGING',
    change: (s) => {
      s.trails = known([
        trail({ status: known({ isLogging: false }) }),
        trail({ arn: CUSTOMER_TRAIL, name: 'acme-audit' }),
      ]);
    },
  },
  {
    name: 'the trail has no topic, none exists',
    code: 'TRAIL_NO_TOPIC',
    change: (s) => {
      s.trails = known([trail({ topicArn: undefined })]);
      s.topics = { [TOPIC_ARN]: known(null) };
    },
  },
  {
    name: 'the subscription pending confirmation',
    code: 'SUBSCRIPTION_PENDING',
    change: (s) => {
      const pending = { arn: 'PendingConfirmation', protocol: 'sqs', endpoint: QUEUE_ARN, pending: true };
      s.topics[TOPIC_ARN] = known(topic(TOPIC_ARN, { subscriptions: known([pending]) }));
    },
  },
  {
    name: 'the subscription has a filter policy',
    code: 'SUBSCRIPTION_FILTERED',
    change: (s) => {
      const filtered = {
        arn: `${TOPIC_ARN}:s`,
        protocol: 'sqs',
        endpoint: QUEUE_ARN,
        pending: false,
        filterPolicy: known('{"eventSource":["s3"]}'),
      };
      s.topics[TOPIC_ARN] = known(topic(TOPIC_ARN, { subscriptions: known([filtered]) }));
    },
  },
  {
    name: 'the confirmed subscription has no SNS dead-letter queue',
    code: 'SUBSCRIPTION_NO_DEAD_LETTER',
    change: (s) => {
      const withoutRedrive = {
        arn: `${TOPIC_ARN}:s`,
        protocol: 'sqs',
        endpoint: QUEUE_ARN,
        pending: false,
        filterPolicy: known(null),
      };
      s.topics[TOPIC_ARN] = known(topic(TOPIC_ARN, { subscriptions: known([withoutRedrive]) }));
      s.queues['outcomesqueue-dlq'] = known({
        name: 'outcomesqueue-dlq',
        url: `https://sqs/${ACCT}/outcomesqueue-dlq`,
        arn: `arn:aws:sqs:${REGION}:${ACCT}:outcomesqueue-dlq`,
      });
    },
  },
  {
    name: "a delivery error into the collector's bucket without its statements",
    code: 'TRAIL_DELIVERY_ERROR',
    change: (s, c) => {
      s.trails = known([trail({ status: known({ isLogging: true, latestDeliveryError: 'AccessDenied' }) })]);
      s.buckets[BUCKET] = known({ state: 'owned', policy: known(null) });
      delete c.recorded.bucketPolicySha256;
    },
  },
  {
    name: "a delivery error into a customer's bucket",
    code: 'TRAIL_DELIVERY_ERROR',
    change: (s, c) => {
      s.trails = known([
        trail({ bucketName: 'acme-logs', status: known({ isLogging: true, latestDeliveryError: 'AccessDenied' }) }),
      ]);
      s.buckets = { 'acme-logs': known({ state: 'owned', policy: known(null) }) };
      c.recorded.bucketName = 'acme-logs';
      delete c.recorded.bucketPolicySha256;
    },
  },
  {
    name: 'a notification error',
    code: 'TRAIL_NOTIFICATION_ERROR',
    change: (s) => {
      s.trails = known([trail({ status: known({ isLogging: true, latestNotificationError: 'AuthorizationError' }) })]);
    },
  },
  {
    name: 'no event source mapping',
    code: 'ESM_MISSING',
    change: (s, c) => {
      s.eventSourceMappings = known([]);
      c.ingestFunctionArn = FUNCTION_ARN;
    },
  },
  {
    name: 'a disabled event source mapping',
    code: 'ESM_DISABLED',
    change: (s, c) => {
      s.eventSourceMappings = known([{ uuid: 'e-1', functionArn: FUNCTION_ARN, state: 'Disabled' }]);
      c.ingestFunctionArn = FUNCTION_ARN;
    },
  },
  {
    name: 'a customer Deny on the topic',
    code: 'POLICY_DENY_CONFLICT',
    change: (s) => {
      const policy = JSON.parse(topicPolicy()) as { Statement: object[] };
      policy.Statement.push(denyStatement('SNS:Publish', TOPIC_ARN));
      s.topics[TOPIC_ARN] = known(topic(TOPIC_ARN, { policy: JSON.stringify(policy) }));
    },
  },
  {
    name: 'a customer Deny on the queue',
    code: 'POLICY_DENY_CONFLICT',
    change: (s) => {
      const policy = JSON.parse(queuePolicy()) as { Statement: object[] };
      policy.Statement.push(denyStatement('sqs:SendMessage', QUEUE_ARN));
      s.queues.outcomesqueue = queueWith(JSON.stringify(policy));
    },
  },
  {
    name: 'the topic deleted after three re-creations today',
    code: 'REPAIR_LOOP',
    change: (s, c) => {
      s.topics[TOPIC_ARN] = known(null);
      c.recorded.recreations = {
        [`topic:${TOPIC_ARN}`]: ['2026-11-01T01:00:00Z', '2026-11-01T05:00:00Z', '2026-11-01T11:00:00Z'],
      };
    },
  },
  {
    name: 'two trails log management events',
    code: 'COST_DUPLICATE_TRAILS',
    change: (s) => {
      s.trails = known([trail(), trail({ arn: CUSTOMER_TRAIL, name: 'acme-audit' })]);
    },
  },
  {
    name: 'the trail records data events',
    code: 'COST_DATA_EVENTS',
    change: (s) => {
      s.trails = known([trail({ selectors: known({ managementEvents: true, dataEvents: true }) })]);
    },
  },
  {
    name: 'the trail has Insights',
    code: 'COST_INSIGHTS',
    change: (s) => {
      s.trails = known([trail({ hasInsightSelectors: true })]);
    },
  },
  {
    name: 'the trail sends to CloudWatch Logs',
    code: 'COST_CLOUDWATCH_LOGS',
    change: (s) => {
      s.trails = known([trail({ cloudWatchLogsLogGroupArn: 'arn:aws:logs:us-east-1:111122223333:log-group:ct' })]);
    },
  },
  {
    name: 'the trail list cannot be read',
    code: 'OBSERVE_INCOMPLETE',
    change: (s) => {
      s.trails = unknown('DescribeTrails failed: AccessDeniedException');
    },
  },
  {
    name: 'the topic cannot be read',
    code: 'OBSERVE_INCOMPLETE',
    change: (s) => {
      s.topics[TOPIC_ARN] = unknown('GetTopicAttributes failed: Throttling');
    },
  },
  {
    name: "the trail delivers into another account's bucket, no log archive registered",
    code: 'TRAIL_NOT_COLLECTABLE',
    change: (s, c) => {
      s.trails = known([trail({ bucketName: 'acme-central-logs' })]);
      s.buckets = { 'acme-central-logs': known({ state: 'foreign' }) };
      c.recorded.bucketName = 'acme-central-logs';
    },
  },
  {
    name: "the trail delivers into a registered log archive's bucket",
    code: 'COLLECTED_BY_LOG_ARCHIVE',
    change: (s, c) => {
      s.trails = known([trail({ bucketName: 'central-logs', topicArn: undefined })]);
      s.queues = { outcomesqueue: known(null), 'outcomesqueue-dlq': known(null) };
      c.recorded = {};
      c.logArchives = [{ accountId: '444455556666', bucketNames: ['central-logs'] }];
    },
  },
  {
    name: "a log archive's bucket does not announce the members' log files to the archive's queue",
    code: 'ARCHIVE_NOTIFICATIONS_MISSING',
    change: (s, c) => archiveSituation(s, c, { queues: [], topics: [], lambdas: [], eventBridge: false }),
  },
  {
    name: "hub: a new log archive (no outcomestopic): the bucket's events go to its topic, subscribed to the hub",
    code: 'ARCHIVE_NOTIFICATIONS_MISSING',
    change: (s, c) => {
      toHub(s, c);
      archiveSituation(s, c, { queues: [], topics: [], lambdas: [], eventBridge: false });
      s.topics = { [TOPIC_ARN]: known(null) };
    },
  },
  {
    name: "a customer configuration of the archive bucket overlaps the collector's filter",
    code: 'ARCHIVE_NOTIFICATIONS_OVERLAP',
    change: (s, c) =>
      archiveSituation(s, c, {
        queues: [{ id: 'mine', arn: 'arn:aws:sqs:us-east-1:111122223333:mine', events: ['s3:ObjectCreated:*'] }],
        topics: [],
        lambdas: [],
        eventBridge: false,
      }),
  },
  {
    name: 'no known trail delivers into the archive bucket (its prefix is unknown)',
    code: 'ARCHIVE_PATH_BLOCKED',
    change: (s, c) => {
      archiveSituation(s, c, { queues: [], topics: [], lambdas: [], eventBridge: false });
      s.archive = known({
        bucketName: 'central-logs',
        region: REGION,
        notification: { queues: [], topics: [], lambdas: [], eventBridge: false },
      });
    },
  },
  {
    name: 'the archive bucket sends its events to EventBridge',
    code: 'ARCHIVE_EVENTBRIDGE_RULE_NEEDED',
    change: (s, c) => {
      archiveSituation(s, c, { queues: [], topics: [], lambdas: [], eventBridge: true });
      (s.archive as { known: true; value: ObservedArchive }).value.eventRule = known(null);
    },
  },
  {
    name: 'hub: the archive bucket sends its events to EventBridge, no outcomestopic yet: the rule publishes to it',
    code: 'ARCHIVE_EVENTBRIDGE_RULE_NEEDED',
    change: (s, c) => {
      toHub(s, c);
      archiveSituation(s, c, { queues: [], topics: [], lambdas: [], eventBridge: true });
      (s.archive as { known: true; value: ObservedArchive }).value.eventRule = known(null);
      s.topics = { [TOPIC_ARN]: known(null) };
    },
  },
  {
    name: 'the trail topic in Hong Kong, the collector in the UAE (opt-in -> opt-in)',
    code: 'DELIVERY_REGION_UNSUPPORTED',
    change: (s, c) => {
      const hkTopic = `arn:aws:sns:ap-east-1:${ACCT}:outcomestopic`;
      const hkTrail = `arn:aws:cloudtrail:ap-east-1:${ACCT}:trail/outcomes-trail`;
      s.region = 'me-central-1';
      c.region = 'me-central-1';
      s.trails = known([trail({ arn: hkTrail, homeRegion: 'ap-east-1', topicArn: hkTopic })]);
      s.topics = { [hkTopic]: known(topic(hkTopic, { policy: topicPolicy(hkTopic, hkTrail) })) };
      c.recorded = { ...c.recorded, trailArn: hkTrail, topicArn: hkTopic };
    },
  },
  {
    name: 'the collected trail logs read-only management events',
    code: 'TRAIL_PARTIAL_COVERAGE',
    change: (s) => {
      const readOnly = { read: { all: true, sources: [] }, write: { all: false, sources: [] } } as const;
      s.trails = known([
        trail({ selectors: known({ managementEvents: true, dataEvents: false, management: readOnly }) }),
      ]);
    },
  },
  {
    name: 'the collected trail is an organization trail of this (management) account',
    code: 'ORGANIZATION_TRAIL_OWNED',
    change: (s) => {
      s.trails = known([trail({ isOrganization: true })]);
    },
  },
  {
    name: "the organization trail of this account lost its topic: re-pointing it is not the collector's call",
    code: 'ORGANIZATION_TRAIL_OWNED',
    change: (s) => {
      s.trails = known([trail({ isOrganization: true })]);
      s.topics[TOPIC_ARN] = known(null);
    },
  },
  {
    name: 'messages wait in the dead-letter queue',
    code: 'DLQ_NOT_EMPTY',
    change: (s) => {
      s.queues['outcomesqueue-dlq'] = known({ name: 'outcomesqueue-dlq', url: 'u', arn: '', messages: 3 });
    },
  },
  {
    name: 'ingest recorded that S3 could not decrypt a log file with the trail KMS key',
    code: 'TRAIL_KMS_UNREADABLE',
    change: (s, c) => {
      const keyArn = `arn:aws:kms:${REGION}:${ACCT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
      s.trails = known([trail({ kmsKeyId: keyArn })]);
      c.lastReadError = {
        kind: 'kms',
        at: new Date(c.now.getTime() - 60_000).toISOString(),
        bucket: BUCKET,
        objectKey: `AWSLogs/${ACCT}/CloudTrail/${REGION}/2026/11/01/x.json.gz`,
        code: 'AccessDenied',
        roleArn: `arn:aws:iam::${ACCT}:role/CloudTrailCollectorRole`,
        message: `not authorized to perform: kms:Decrypt on resource: ${keyArn}`,
      };
    },
  },
  // ---- the hub topology (rules/hub.ts, rules/migration.ts) and the mapping concurrency (rules/esm.ts) --------
  {
    name: 'hub: the hub queue is not subscribed and the topic policy does not let the collector subscribe it',
    code: 'SUBSCRIPTION_MISSING',
    change: (s, c) => {
      toHub(s, c);
      s.topics[TOPIC_ARN] = known(topic(TOPIC_ARN, { subscriptions: known([]) }));
    },
  },
  {
    name: 'hub: the hub subscription is pending (the topic owner made it), the policy lacks the hub statement',
    code: 'SUBSCRIPTION_PENDING',
    change: (s, c) => {
      toHub(s, c);
      const pending = hubSubscription({ arn: 'PendingConfirmation', pending: true, owner: ACCT });
      s.topics[TOPIC_ARN] = known(topic(TOPIC_ARN, { subscriptions: known([pending]) }));
    },
  },
  {
    name: 'hub: the trail notifies a customer topic, not subscribed to the hub queue',
    code: 'TOPIC_CHANGED',
    change: (s, c) => {
      toHub(s, c);
      s.trails = known([trail({ topicArn: ACME_TOPIC })]);
      s.topics[ACME_TOPIC] = known(topic(ACME_TOPIC, { policy: topicPolicy(ACME_TOPIC), subscriptions: known([]) }));
    },
  },
  {
    name: 'hub: the hub subscription delivers raw messages',
    code: 'SUBSCRIPTION_RAW',
    change: (s, c) => {
      toHub(s, c);
      s.topics[TOPIC_ARN] = known(
        topic(TOPIC_ARN, {
          policy: hubTopicPolicy(),
          subscriptions: known([hubSubscription({ rawMessageDelivery: true })]),
        }),
      );
    },
  },
  {
    name: 'hub: the customer unsubscribed the hub queue ("Deleted" for 72 hours)',
    code: 'SUBSCRIPTION_DELETED',
    change: (s, c) => {
      toHub(s, c);
      const deleted = hubSubscription({ arn: 'Deleted', deleted: true });
      s.topics[TOPIC_ARN] = known(topic(TOPIC_ARN, { policy: hubTopicPolicy(), subscriptions: known([deleted]) }));
    },
  },
  {
    name: 'hub: a customer-queue account, first run (subscribe the hub queue, unsubscribe outcomesqueue)',
    code: 'TOPOLOGY_MIGRATING',
    change: (_s, c) => {
      Object.assign(c, hubContext({ recorded: { ...c.recorded } }));
    },
  },
  {
    name: 'hub: the old queue is drained (its mapping is deleted)',
    code: 'TOPOLOGY_MIGRATING',
    change: (s, c) => {
      toHub(s, c);
      Object.assign(c, { ingestFunctionArn: FUNCTION_ARN });
      c.recorded = { ...c.recorded, queueArn: QUEUE_ARN, eventSourceMappingUuid: 'esm-1' };
      s.queues = {
        outcomesqueue: known({ name: 'outcomesqueue', url: 'u', arn: QUEUE_ARN, messages: 0, messagesInFlight: 0 }),
      };
      s.eventSourceMappings = known([
        { uuid: 'esm-1', functionArn: FUNCTION_ARN, state: 'Enabled', maximumConcurrency: 2 },
      ]);
    },
  },
  {
    name: 'hub: the old queue still holds messages (its mapping stays)',
    code: 'TOPOLOGY_MIGRATING',
    change: (s, c) => {
      toHub(s, c);
      Object.assign(c, { ingestFunctionArn: FUNCTION_ARN });
      c.recorded = { ...c.recorded, queueArn: QUEUE_ARN, eventSourceMappingUuid: 'esm-1' };
      s.queues = {
        outcomesqueue: known({ name: 'outcomesqueue', url: 'u', arn: QUEUE_ARN, messages: 7, messagesInFlight: 0 }),
      };
      s.eventSourceMappings = known([
        { uuid: 'esm-1', functionArn: FUNCTION_ARN, state: 'Enabled', maximumConcurrency: 2 },
      ]);
    },
  },
  {
    name: 'a mapping without MaximumConcurrency',
    code: 'ESM_CONCURRENCY_MISMATCH',
    change: (s, c) => {
      s.eventSourceMappings = known([{ uuid: 'e-1', functionArn: FUNCTION_ARN, state: 'Enabled' }]);
      c.ingestFunctionArn = FUNCTION_ARN;
    },
  },
  {
    name: "a missing mapping that would exceed the ingest function's reserved concurrency",
    code: 'INGEST_CAPACITY_EXCEEDED',
    change: (s, c) => {
      s.eventSourceMappings = known([]);
      c.ingestFunctionArn = FUNCTION_ARN;
      c.ingestCapacity = { reservedConcurrency: 20, otherMappings: 10 };
    },
  },
  {
    name: "us-east-1's newest collected file is 2 hours older than CloudTrail's latest delivery there",
    code: 'COLLECTION_LAGGING',
    change: (s) => {
      s.trails = known([
        trail({
          status: known({ isLogging: true, region: REGION, latestDeliveryTime: '2026-11-01T11:55:00.000Z' }),
        }),
      ]);
      s.collected = known({
        [REGION]: {
          region: REGION,
          bucket: BUCKET,
          key: `AWSLogs/${ACCT}/CloudTrail/${REGION}/2026/11/01/${ACCT}_CloudTrail_${REGION}_20261101T0955Z_a.json.gz`,
          deliveredAt: '2026-11-01T09:55:00.000Z',
          collectedAt: '2026-11-01T09:56:00.000Z',
        },
      });
    },
  },
  {
    name: 'outcomes-trail has log file validation off',
    code: 'LOG_FILE_VALIDATION_DISABLED',
    change: (s) => {
      s.trails = known([trail({ logFileValidationEnabled: false })]);
    },
  },
  {
    name: "the customer's collected trail has log file validation off",
    code: 'LOG_FILE_VALIDATION_DISABLED',
    change: (s, c) => {
      s.trails = known([trail({ arn: CUSTOMER_TRAIL, name: 'acme-audit', logFileValidationEnabled: false })]);
      s.topics[TOPIC_ARN] = known(topic(TOPIC_ARN, { policy: topicPolicy(TOPIC_ARN, CUSTOMER_TRAIL) }));
      c.recorded = { ...c.recorded, trailArn: CUSTOMER_TRAIL };
    },
  },
  // Digest verification (observe-digests.ts) as observed: testkit/digest-observation.ts.
  {
    name: 'a signed digest lists a log file the ledger lacks',
    code: 'LOG_FILES_NOT_COLLECTED',
    change: (s) => {
      s.digests = known(digests({ notCollected: [digestFile('a')] }));
    },
  },
  {
    name: 'a signed digest lists a log file deleted before it was collected',
    code: 'LOG_FILES_NOT_COLLECTED',
    change: (s) => {
      s.digests = known(digests({ missingFromBucket: [digestFile('b')] }));
    },
  },
  {
    name: 'a collected log file has another hash than its digest lists',
    code: 'LOG_FILE_HASH_MISMATCH',
    change: (s) => {
      s.digests = known(digests({ hashMismatch: [digestFile('c')] }));
    },
  },
  {
    name: "a digest's signature does not verify",
    code: 'DIGEST_SIGNATURE_INVALID',
    change: (s) => {
      s.digests = known(
        digests({ signatureInvalid: [{ ...digestFile('d'), reason: 'the signature does not verify' }] }),
      );
    },
  },
  {
    name: 'a digest does not name the one before it',
    code: 'DIGEST_CHAIN_BROKEN',
    change: (s) => {
      s.digests = known(digests({ chainBreaks: [{ ...digestFile('e'), reason: 'a digest is missing' }] }));
    },
  },
  {
    name: 'no digest for a Region in the window',
    code: 'DIGEST_MISSING',
    change: (s) => {
      s.digests = known(digests({ spans: [] }));
    },
  },
  {
    name: 'an organization trail covers the member; the ledger holds its files from the organization bucket',
    code: 'COLLECTOR_TRAIL_REDUNDANT',
    change: (s, c) => {
      s.trails = known([trail(), ORGANIZATION_TRAIL]);
      const file = { region: REGION, bucket: 'acme-org-logs', key: 'AWSLogs/o-abc/x.json.gz' };
      s.collected = known({
        [REGION]: { ...file, deliveredAt: '2026-11-01T11:30:00Z', collectedAt: '2026-11-01T11:31:00Z' },
      });
      c.organizationTrailSeenAt = '2026-11-01T11:00:00Z';
    },
  },
  {
    name: 'an organization trail covers the member, no ledger',
    code: 'COLLECTOR_TRAIL_REDUNDANT',
    change: (s) => {
      s.trails = known([trail(), ORGANIZATION_TRAIL]);
    },
  },
  {
    name: 'an organization trail covers the member, outcomes-trail already stopped',
    code: 'COLLECTOR_TRAIL_REDUNDANT',
    change: (s) => {
      s.trails = known([trail({ status: known({ isLogging: false }) }), ORGANIZATION_TRAIL]);
    },
  },
];

/** A registered log archive (rules/archive-notifications.ts) whose bucket has this notification configuration. */
function archiveSituation(s: ObservedState, c: PlanContext, notification: ObservedNotificationConfiguration): void {
  const orgTrail = { trailArn: 'arn:aws:cloudtrail:us-east-1:999900001111:trail/org', source: 'organization' as const };
  c.logArchive = { bucketName: 'central-logs', organizationIds: ['o-a1b2c3d4e5'], trail: orgTrail };
  s.trails = known([]);
  s.archive = known({ bucketName: 'central-logs', region: REGION, notification, trail: orgTrail });
}

function digests(options: Partial<DigestObservationOptions>) {
  return digestObservation({ trailArn: TRAIL_ARN, bucket: BUCKET, accountId: ACCT, ...options });
}

function digestFile(unique: string) {
  return windowLogFile({ bucket: BUCKET, accountId: ACCT, region: REGION, at: '2026-11-01T09:20:00Z' }, unique);
}

interface Outcome {
  situation: string;
  code: FindingCode;
  report: Pick<AccountReport, 'findings' | 'actions'>;
}

function plan(
  changes: readonly Situation[],
  then?: (state: ObservedState, ctx: PlanContext) => void,
): Pick<AccountReport, 'findings' | 'actions'> {
  const state = healthy();
  const ctx = context();
  for (const situation of changes) situation.change(state, ctx);
  then?.(state, ctx);
  const planned = planAccount(state, ctx);
  return {
    findings: planned.findings,
    actions: planned.actions.map((a) => ({ ...a, status: 'planned' as const })),
  };
}

/**
 * Findings of the run rather than the planner, over the in-memory cloud: ROLE_UNASSUMABLE (the role cannot be
 * assumed) and COLLECTION_STALE (a healthy chain from which nothing arrived for longer than the limit).
 */
async function runFindings(): Promise<Outcome[]> {
  const cloud = new FakeCloud();
  cloud.unassumable.add(ACCT);
  const quiet = '444455556666';
  const chain = seedHealthyAccount(cloud, quiet);
  const report = await reconcileAll(
    new MemoryRegistry([
      { accountId: ACCT },
      { accountId: quiet, ...chain, bucketName: chain.bucket, registeredAt: '2026-10-01T00:00:00.000Z' },
    ]),
    {
      clients: cloud.clients(),
      config: {
        ...RECONCILE_SETTINGS,
        staleAfterMinutes: 360,
      },
      logger: silentLogger,
      now: () => new Date('2026-11-01T12:00:00.000Z'),
    },
    { mode: 'apply' },
  );
  const byId = (id: string) => report.accounts.find((a) => a.accountId === id)!;
  return [
    { situation: 'the role cannot be assumed', code: 'ROLE_UNASSUMABLE', report: byId(ACCT) },
    { situation: 'nothing arrived for a month', code: 'COLLECTION_STALE', report: byId(quiet) },
  ];
}

/** Gap backfill configured (rules/backfill.ts): the ledger read (nothing collected yet), the settings. */
function withBackfill(state: ObservedState, ctx: PlanContext): void {
  state.collected ??= known({});
  ctx.backfill = {
    maxDays: 7,
    maxFilesPerRun: 2_000,
    marginMinutes: 60,
    queueUrl: 'https://sqs.us-east-1.amazonaws.com/123456789012/cloudtrail-collector-backfill',
  };
}

/** The situations after which a backfill may follow, again with backfill configured; and a stale account. */
function backfillOutcomes(): Outcome[] {
  const triggers: readonly FindingCode[] = [...BACKFILL_AFTER_REPAIR, ...BACKFILL_WHEN_LAGGING];
  const stale: Situation = {
    name: 'nothing arrived for a day',
    code: 'COLLECTION_STALE',
    change: (_s, c) => {
      c.registeredAt = '2026-10-01T00:00:00.000Z';
      c.lastRecordAt = '2026-10-31T12:00:00.000Z';
      c.staleAfterMinutes = 360;
    },
  };
  return [...SITUATIONS.filter((situation) => triggers.includes(situation.code)), stale].map((situation) => ({
    situation: `${situation.name} (backfill configured)`,
    code: situation.code,
    report: plan([situation], withBackfill),
  }));
}

let outcomes: Outcome[];

beforeAll(async () => {
  outcomes = [
    ...SITUATIONS.map((situation) => ({ situation: situation.name, code: situation.code, report: plan([situation]) })),
    ...(await runFindings()),
    ...backfillOutcomes(),
  ];
});

/** Every (reason, action) and (finding, severity) pair of a report that the table does not list. */
function disagreements(report: Pick<AccountReport, 'findings' | 'actions'>): string[] {
  const problems: string[] = [];
  for (const action of report.actions) {
    if (!driftEntry(action.reason).actions.includes(action.code))
      problems.push(`${action.code} with reason ${action.reason} is not listed under ${action.reason}`);
  }
  for (const finding of report.findings) {
    if (!driftEntry(finding.code).severities.includes(finding.severity))
      problems.push(`${finding.code} reported ${finding.severity}, not listed`);
  }
  return problems;
}

describe('the drift table as data', () => {
  test('one entry per finding code, none extra, in the order of FINDING_CODES (seed rows first)', () => {
    expect(DRIFT_TABLE.map((entry) => entry.code)).toEqual([...FINDING_CODES]);
    expect(DRIFT_TABLE.slice(0, SEED_FINDING_CODES.length).map((entry) => entry.code)).toEqual([...SEED_FINDING_CODES]);
  });

  test('severities lowest first, actions in execution order, no duplicates, outcome consistent with actions', () => {
    for (const entry of DRIFT_TABLE) {
      const bySeverity = [...entry.severities].sort((a, b) => SEVERITY_ORDER.indexOf(a) - SEVERITY_ORDER.indexOf(b));
      expect(entry.severities).toEqual(bySeverity);
      expect(new Set(entry.severities).size).toBe(entry.severities.length);
      const byOrder = [...entry.actions].sort((a, b) => ACTION_ORDER.indexOf(a) - ACTION_ORDER.indexOf(b));
      expect(entry.actions).toEqual(byOrder);
      expect(new Set(entry.actions).size).toBe(entry.actions.length);
      expect(entry.actions.length === 0).toBe(entry.outcome === 'reports');
    }
  });

  test('every action code is the repair of some finding', () => {
    const listed = new Set(DRIFT_TABLE.flatMap((entry) => entry.actions));
    expect([...ACTION_ORDER].filter((code) => !listed.has(code))).toEqual([]);
  });
});

describe('docs/drift-remediation.md', () => {
  test('holds exactly renderDriftTable() between its markers', () => {
    const doc = readFileSync(path.join(ROOT, 'docs/drift-remediation.md'), 'utf8');
    // Prettier (npm run lint) keeps one blank line between the markers and the table.
    const match = /<!-- drift-table:start[^>]*-->\n\n([\s\S]*?)\n\n<!-- drift-table:end -->/.exec(doc);
    expect(match).not.toBeNull();
    expect(match![1]).toBe(renderDriftTable());
  });

  test('the rendering has a header, a separator and one row per entry, each with five cells', () => {
    const lines = renderDriftTable().split('\n');
    expect(lines).toHaveLength(DRIFT_TABLE.length + 2);
    for (const line of lines) expect(line.split(' | ')).toHaveLength(5);
    expect(lines[2]).toContain('`TRAIL_MISSING`');
  });
});

describe('the table agrees with the planner', () => {
  test('every finding code has a situation that raises it', () => {
    const covered = new Set(outcomes.map((outcome) => outcome.code));
    expect(FINDING_CODES.filter((code) => !covered.has(code))).toEqual([]);
    for (const outcome of outcomes) {
      expect({ [outcome.situation]: outcome.report.findings.map((f) => f.code) }).toEqual({
        [outcome.situation]: expect.arrayContaining([outcome.code]),
      });
    }
  });

  test('every action is listed under its reason, every severity under its finding', () => {
    for (const outcome of outcomes)
      expect({ [outcome.situation]: disagreements(outcome.report) }).toEqual({
        [outcome.situation]: [],
      });
  });

  test("each entry's actions and severities are exactly those the situations produce", () => {
    for (const entry of DRIFT_TABLE) {
      const actions = new Set<ActionCode>();
      const severities = new Set<Severity>();
      for (const { report } of outcomes) {
        report.actions.filter((a) => a.reason === entry.code).forEach((a) => actions.add(a.code));
        report.findings.filter((f) => f.code === entry.code).forEach((f) => severities.add(f.severity));
      }
      expect({ [entry.code]: [...entry.actions] }).toEqual({
        [entry.code]: ACTION_ORDER.filter((code) => actions.has(code)),
      });
      expect({ [entry.code]: [...entry.severities] }).toEqual({
        [entry.code]: SEVERITY_ORDER.filter((severity) => severities.has(severity)),
      });
    }
  });

  test('`repairs` entries always act, `reports` entries never, `repairs-when-safe` entries both', () => {
    for (const entry of DRIFT_TABLE) {
      const own = outcomes.filter((outcome) => outcome.code === entry.code);
      const acted = own.map((outcome) => outcome.report.actions.some((action) => action.reason === entry.code));
      const holds =
        entry.outcome === 'repairs'
          ? acted.every(Boolean)
          : entry.outcome === 'reports'
            ? acted.every((a) => !a)
            : acted.some(Boolean) && acted.some((a) => !a);
      expect({ code: entry.code, outcome: entry.outcome, acted, holds }).toMatchObject({ holds: true });
    }
  });

  test('combined situations never produce a pair the table lacks', () => {
    fc.assert(
      fc.property(fc.subarray([...SITUATIONS], { minLength: 2, maxLength: 5 }), fc.boolean(), (changes, ingest) => {
        const withIngest: Situation = {
          name: 'ingest configured',
          code: 'ESM_MISSING',
          change: (_s, c) => {
            if (ingest) c.ingestFunctionArn = FUNCTION_ARN;
          },
        };
        expect(disagreements(plan([withIngest, ...changes]))).toEqual([]);
      }),
      { numRuns: 500 },
    );
  });

  test('every literal (finding, severity) in the reconcile code is listed', () => {
    const dir = path.join(ROOT, 'lambdas/reconcile');
    const pairs: [FindingCode, Severity][] = [];
    const files = readdirSync(dir, { recursive: true, encoding: 'utf8' });
    for (const file of files.filter((name) => name.endsWith('.ts') && name !== 'drift-table.ts')) {
      const text = readFileSync(path.join(dir, file), 'utf8');
      for (const match of text.matchAll(/finding\(\s*'([A-Z_]+)',\s*'(info|low|medium|high)'/g))
        pairs.push([match[1] as FindingCode, match[2] as Severity]);
    }
    expect(pairs.length).toBeGreaterThan(20);
    for (const [code, severity] of pairs)
      expect({ code, severity, listed: driftEntry(code).severities }).toEqual({
        code,
        severity,
        listed: expect.arrayContaining([severity]),
      });
  });
});

describe('docs/operations.md', () => {
  test('troubleshooting has a row for every finding code', () => {
    const doc = readFileSync(path.join(ROOT, 'docs/operations.md'), 'utf8');
    const section = doc.slice(doc.indexOf('## Troubleshooting by finding code'));
    const rows = new Set([...section.matchAll(/^\| `([A-Z_]+)` +\|/gm)].map((match) => match[1]));
    expect(FINDING_CODES.filter((code) => !rows.has(code))).toEqual([]);
  });
});

describe('docs/costs.md quotes the cost code', () => {
  const doc = readFileSync(path.join(ROOT, 'docs/costs.md'), 'utf8');
  const usd = (amount: number) =>
    `$${amount.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
  const fifty = { ...DEFAULT_COST_ASSUMPTIONS, monthlyManagementEvents: 50_000_000 };

  test('the worked example: 50 million management events, a second trail costs $1,000.00 a month', () => {
    const second = duplicateTrailsCost(1, fifty);
    expect(second.monthlyUsd).toBe(1000);
    expect((50_000_000 / 100_000) * PRICES.additionalManagementCopyPer100k).toBe(1000);
    expect(doc).toContain(`${usd(second.monthlyUsd)} a month`);
    expect(doc).toContain('50,000,000 / 100,000 x $2.00 = $1,000.00');
  });

  test('the price constants as the code holds them', () => {
    expect(doc).toContain(`$${PRICES.additionalManagementCopyPer100k.toFixed(2)} per 100,000`);
    expect(doc).toContain(`$${PRICES.dataEventsPer100k.toFixed(2)} per 100,000`);
    expect(doc).toContain(`$${PRICES.insightsPer100kAnalyzed.toFixed(2)} per 100,000`);
    expect(doc).toContain(`$${PRICES.cloudWatchLogsIngestionPerGb.toFixed(2)} per GB`);
    expect(doc).toContain(`$${PRICES.s3StandardPerGbMonth} per GB-month`);
    expect(doc).toContain(`PRICES.networkActivityEventsPer100k = ${PRICES.networkActivityEventsPer100k}`);
    expect(doc).toContain(`$${PRICES.sqsRequestsPerMillion.toFixed(2)} per million`);
    expect(doc).toContain(`${PRICES.sqsFreeRequestsPerMonth / 1_000_000} million requests a month`);
  });

  test('the estimates of the example account, as the code computes them', () => {
    for (const amount of [
      duplicateTrailsCost(1, DEFAULT_COST_ASSUMPTIONS).monthlyUsd,
      dataEventsCost(DEFAULT_COST_ASSUMPTIONS).monthlyUsd,
      insightsCost(fifty).monthlyUsd,
      cloudWatchLogsCost(fifty).monthlyUsd,
      bucketStorageCost(fifty).monthlyUsd,
    ]) {
      expect({ amount, quoted: doc.includes(usd(amount)) }).toEqual({ amount, quoted: true });
    }
  });
});
