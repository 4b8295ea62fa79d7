/**
 * The drift table's seed rows (drift-table.ts holds the rest and the rendering): the ten rows of the seed's
 * design, each broken and repaired by `npm start`, in the order of SEED_FINDING_CODES. Data only.
 */
import type { DriftEntry } from './drift-table';

export const SEED_DRIFT_ENTRIES: readonly DriftEntry[] = [
  {
    code: 'TRAIL_MISSING',
    severities: ['medium', 'high'],
    ifThisHappens: 'the trail used for collection is deleted, or no trail is recorded yet (a newly registered account)',
    theCollectorDoes:
      'reuses a trail of the account that already logs management events (`REUSE_TRAIL`: no AWS call, nothing ' +
      'billed); only when no trail at all logs them (organization and shadow trails included) creates ' +
      '`outcomes-trail` (multi-region, management events only, log file validation on) with its bucket and topic, ' +
      "then starts it. When only another account's trail logs them, creates nothing (`TRAIL_NOT_COLLECTABLE`)",
    outcome: 'repairs-when-safe',
    actions: [
      'CREATE_BUCKET',
      'PUT_BUCKET_POLICY',
      'CREATE_TOPIC',
      'PUT_TOPIC_POLICY',
      'SUBSCRIBE',
      'REUSE_TRAIL',
      'CREATE_TRAIL',
      'START_LOGGING',
    ],
  },
  {
    code: 'BUCKET_CHANGED',
    severities: ['info'],
    ifThisHappens: "the trail's S3 bucket is reassigned to another bucket of the account",
    theCollectorDoes:
      'follows it: records the new bucket; ingest reads each log file from the bucket its notification names ' +
      "(keys under this account's `AWSLogs/`, bucket owned by this account). Nothing is changed",
    outcome: 'reports',
    actions: [],
  },
  {
    code: 'BUCKET_POLICY_CHANGED',
    severities: ['info'],
    ifThisHappens: "the trail bucket's policy is changed (it differs from the one seen on the last run)",
    theCollectorDoes:
      'reports it only: an existing bucket policy is never validated or rewritten; the default CloudTrail bucket ' +
      'policy is written only to a bucket the collector created. If the change breaks delivery, CloudTrail says ' +
      'so and `TRAIL_DELIVERY_ERROR` follows',
    outcome: 'reports',
    actions: [],
  },
  {
    code: 'BUCKET_MISSING',
    severities: ['high'],
    ifThisHappens: "the trail's bucket is deleted",
    theCollectorDoes:
      'creates `outcomes-<account id>` (or the generated name recorded earlier) with public access blocked and ' +
      "CloudTrail's bucket policy, and points the trail at it when the trail named another bucket",
    outcome: 'repairs',
    actions: ['CREATE_BUCKET', 'PUT_BUCKET_POLICY', 'UPDATE_TRAIL'],
  },
  {
    code: 'TOPIC_CHANGED',
    severities: ['info', 'medium'],
    ifThisHappens: 'the trail now notifies another SNS topic',
    theCollectorDoes:
      'follows the new topic: subscribes `outcomesqueue` (hub topology: the hub queue, after writing the statement ' +
      'that lets the collector subscribe it) to it if it is not subscribed yet; the queue policy is then repaired ' +
      'for the new topic (`QUEUE_POLICY_INVALID`) and the new topic policy checked (`TOPIC_POLICY_INVALID`). Then, ' +
      'in the same run and after that subscription, it unsubscribes its own path (`outcomesqueue`, a hub queue) ' +
      "from the old topic, by the subscription's owner (`info`): CloudTrail no longer publishes there. The old " +
      "topic stays the account's for the hub queues' retry window (messages already delivered from it are " +
      'collected) and is forgotten after it',
    outcome: 'repairs-when-safe',
    actions: ['PUT_TOPIC_POLICY', 'SUBSCRIBE', 'UNSUBSCRIBE', 'BACKFILL'],
  },
  {
    code: 'TOPIC_POLICY_INVALID',
    severities: ['high'],
    ifThisHappens: 'the topic policy is changed and no longer lets CloudTrail publish for this trail',
    theCollectorDoes:
      "merges CloudTrail's documented publish statement (Sid prefix `CloudTrailCollector`; hub topology: and the " +
      'one letting the collector subscribe its hub queue) into the policy and keeps every statement of the ' +
      "customer's; a customer Deny is not removed (`POLICY_DENY_CONFLICT`)",
    outcome: 'repairs',
    actions: ['PUT_TOPIC_POLICY', 'BACKFILL'],
  },
  {
    code: 'TOPIC_MISSING',
    severities: ['high'],
    ifThisHappens: "the trail's topic is deleted",
    theCollectorDoes:
      "re-creates `outcomestopic` in the trail's home region (or uses it if it exists), writes its policy, " +
      're-subscribes the queue, and points the trail at it when the trail named another topic',
    outcome: 'repairs',
    actions: ['CREATE_TOPIC', 'PUT_TOPIC_POLICY', 'SUBSCRIBE', 'UPDATE_TRAIL', 'BACKFILL'],
  },
  {
    code: 'SUBSCRIPTION_MISSING',
    severities: ['high'],
    ifThisHappens: "the queue's SQS subscription to the topic is removed (hub topology: the hub queue's)",
    theCollectorDoes:
      'detects it with `ListSubscriptionsByTopic` and subscribes `outcomesqueue` again; in the hub topology the ' +
      "collector subscribes the hub queue of the account's shard itself (the queue owner: no confirmation), after " +
      'recording the topic in the registry and, when the topic policy does not allow it, adding the statement ' +
      'that lets its reconcile role subscribe that queue only (`sns:Protocol` sqs, `sns:Endpoint`)',
    outcome: 'repairs',
    actions: ['PUT_TOPIC_POLICY', 'SUBSCRIBE', 'BACKFILL'],
  },
  {
    code: 'QUEUE_POLICY_INVALID',
    severities: ['high'],
    ifThisHappens:
      'the queue policy is changed and no longer lets the topic send (or, when configured, the ingest role receive)',
    theCollectorDoes:
      "merges the collector's statements (SNS `SendMessage` from this topic only, the ingest role's receive, " +
      "delete and visibility change, TLS only) and keeps the customer's; a customer Deny is not removed " +
      '(`POLICY_DENY_CONFLICT`)',
    outcome: 'repairs',
    actions: ['PUT_QUEUE_POLICY', 'BACKFILL'],
  },
  {
    code: 'QUEUE_MISSING',
    severities: ['high'],
    ifThisHappens: 'the queue is deleted (or does not exist yet)',
    theCollectorDoes:
      're-creates `outcomesqueue-dlq` if it is gone and `outcomesqueue` (SSE-SQS, redrive to the DLQ after 40 ' +
      'receives: the retry schedule of ingest), its policy and its subscription; a lost event source mapping is ' +
      're-created under `ESM_MISSING`. Not in the hub topology, which keeps no queue in the account',
    outcome: 'repairs',
    actions: ['CREATE_QUEUE', 'PUT_QUEUE_POLICY', 'SUBSCRIBE', 'BACKFILL'],
  },
];
