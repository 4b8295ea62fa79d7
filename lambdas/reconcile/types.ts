/**
 * The reconcile domain's data: what observe saw (and which targets it probed), what plan decided, and the
 * report (findings, actions, statuses; described in docs/architecture.md).
 *
 * Every observed part is an `Observation`: either a known value or `{ known: false, error }`. "Absent" is a
 * known value (`null` or `state: 'absent'`), never the absence of an answer: an API error such as AccessDenied
 * makes the part unknown, and the planner creates nothing on unknown state.
 */

import type { NewestFile } from '../shared/ledger';
import type { AccountMode, BackfillCursor, BackfillDone, ChainField, ChainFields, ReadError } from '../shared/registry';
import type { IngestTopology } from '../shared/topology';
import type { HubSubscriber, HubTarget, IngestCapacity, TopologyRecord } from './path-types';

export type { HubSubscriber, HubTarget, IngestCapacity, TopologyRecord } from './path-types';
import type { ManagementSelection } from './coverage';
import type { ProbeTargets } from './targets';
import type { DigestObservation } from './observe-digests';
import type { Action, CostImpact, Finding, FindingCode, RunMode } from './report-types';

export * from './report-types';

export type Observation<T> = { known: true; value: T } | { known: false; error: string };

export function known<T>(value: T): Observation<T> {
  return { known: true, value };
}

export function unknown<T = never>(error: string): Observation<T> {
  return { known: false, error };
}

/** What a part looks like when observe never looked at it (it was not needed, or an earlier call failed). */
export const NOT_OBSERVED: Observation<never> = { known: false, error: 'not observed' };

// ---- observed state ---------------------------------------------------------------------------------------

export interface TrailStatus {
  isLogging: boolean;
  /** CloudTrail's LatestDeliveryError: the last failure writing a log file to S3 (empty when none). */
  latestDeliveryError?: string;
  /** CloudTrail's LatestNotificationError: the last failure publishing to SNS (empty when none). */
  latestNotificationError?: string;
  /** CloudTrail's LatestDeliveryTime (ISO): when it last delivered a log file to S3, in `region`. */
  latestDeliveryTime?: string;
  /** CloudTrail's LatestNotificationTime (ISO): when it last published a log file's notification, in `region`. */
  latestNotificationTime?: string;
  /** The Region the status was read in: GetTrailStatus answers for a single Region (freshness.ts). */
  region?: string;
}

/** What a trail's event selectors record (coverage.ts reads it; the cost guard needs the first two facts). */
export interface EventSelectorSummary {
  /** Some selector picks management events (the cost guard: such a trail is a copy). */
  managementEvents: boolean;
  dataEvents: boolean;
  /**
   * An advanced selector picks `eventCategory` NetworkActivity (VPC endpoint events, billed like data events:
   * CloudTrail User Guide, "Logging network activity events"). Absent when none does.
   */
  networkActivityEvents?: true;
  /**
   * Exactly which management events: read and write events by event source. Absent when the selectors pick
   * every management event (CloudTrail's default), or none (`managementEvents` false).
   */
  management?: ManagementSelection;
  /** Filters on management events that coverage.ts does not evaluate, as text (`eventSource StartsWith x`). */
  unmodelled?: string[];
}

/** The two Insights types (CloudTrail API Reference, InsightSelector). */
export type InsightType = 'ApiCallRateInsight' | 'ApiErrorRateInsight';

/**
 * One Insights selector of a trail: its type and the event categories it analyzes (InsightSelector's
 * EventCategories; not given means management events only).
 */
export interface InsightSelection {
  type: InsightType;
  categories: readonly ('Management' | 'Data')[];
}

export interface ObservedTrail {
  arn: string;
  name: string;
  homeRegion: string;
  /** The account in the trail's ARN: another account for an organization trail seen from a member. */
  ownerAccountId: string;
  isMultiRegion: boolean;
  isOrganization: boolean;
  /** DescribeTrails' IncludeGlobalServiceEvents; absent: true (CreateTrail's default). */
  includeGlobalServiceEvents?: boolean;
  bucketName?: string;
  /** The trail's S3KeyPrefix: CloudTrail writes under `<prefix>/AWSLogs/...`, so its bucket policy must name it. */
  s3KeyPrefix?: string;
  topicArn?: string;
  hasInsightSelectors: boolean;
  /**
   * GetInsightSelectors, read only when `hasInsightSelectors`: which Insights types are on, and on which event
   * categories (COST_INSIGHTS prices them per type). Absent when the trail has no Insights.
   */
  insightSelectors?: Observation<InsightSelection[]>;
  cloudWatchLogsLogGroupArn?: string;
  /** DescribeTrails' KmsKeyId: the key ARN CloudTrail encrypts the log files with (SSE-KMS); absent: none. */
  kmsKeyId?: string;
  /** DescribeTrails' LogFileValidationEnabled (hourly signed digests); absent: not reported. */
  logFileValidationEnabled?: boolean;
  status: Observation<TrailStatus>;
  /**
   * GetTrailStatus of the collected multi-region trail read in the other Regions the ledger has files from (each
   * Region answers for its own deliveries), by Region. Absent: not read (no ledger, or not the collected trail).
   */
  regionalStatus?: Record<string, Observation<TrailStatus>>;
  selectors: Observation<EventSelectorSummary>;
}

export type BucketProbe =
  /** HeadBucket 404: no bucket of that name exists anywhere. */
  | { state: 'absent' }
  /** HeadBucket 200 with ExpectedBucketOwner = the account. `policy` only for the trail's own bucket. */
  | { state: 'owned'; policy?: Observation<string | null> }
  /**
   * HeadBucket 403 with ExpectedBucketOwner = the account, and the account's own ListBuckets does not hold the
   * name: another account owns it.
   */
  | { state: 'foreign' }
  /**
   * HeadBucket 403 and ownership undetermined (ListBuckets failed) or the account owns it but it denies the role.
   * The planner never treats it as "ours" nor as "free".
   */
  | { state: 'forbidden' };

export interface ObservedSubscription {
  /** `PendingConfirmation` while unconfirmed (that is what ListSubscriptionsByTopic returns). */
  arn: string;
  protocol: string;
  endpoint: string;
  pending: boolean;
  /**
   * ListSubscriptionsByTopic shows `Deleted` instead of an ARN: another account than the subscription's owner
   * unsubscribed it, and SNS keeps it so for 72 hours, during which the owner cannot subscribe the endpoint
   * again (AWS Knowledge Center, "How do I recreate a 'Deleted' Amazon SNS topic subscription for an Amazon SQS
   * queue in another AWS account?"). Set only when true.
   */
  deleted?: true;
  /** The account that owns the subscription (the one that called Subscribe), when SNS said. */
  owner?: string;
  /** Only read for the queue's own subscription and the hub subscription. */
  filterPolicy?: Observation<string | null>;
  /** The subscription's RedrivePolicy (its SNS dead-letter queue); only read for the queue's own subscription. */
  redrivePolicy?: string;
  /** RawMessageDelivery (read for the hub subscription, by its owner): true delivers the bare message. */
  rawMessageDelivery?: boolean;
}

export interface ObservedTopic {
  arn: string;
  policy?: string;
  subscriptions: Observation<ObservedSubscription[]>;
}

export interface ObservedQueue {
  name: string;
  url: string;
  arn: string;
  policy?: string;
  redrivePolicy?: string;
  /** Messages waiting (ApproximateNumberOfMessages): read for the queue and its dead-letter queue. */
  messages?: number;
  /** Messages received and not yet deleted (ApproximateNumberOfMessagesNotVisible): read for the queue. */
  messagesInFlight?: number;
}

export interface ObservedEventSourceMapping {
  uuid: string;
  functionArn: string;
  /** Creating, Enabling, Enabled, Disabling, Disabled, Updating, Deleting. */
  state: string;
  /** ScalingConfig.MaximumConcurrency; absent when the mapping has none (it may scale to 1,250). */
  maximumConcurrency?: number;
}

export interface ObservedState {
  /** A registered log archive's bucket, as observe-archive.ts read it; absent for other accounts. */
  archive?: Observation<ObservedArchive>;
  accountId: string;
  /** The collector's region: home region of a trail the collector creates, region of the queue. */
  region: string;
  trails: Observation<ObservedTrail[]>;
  /** Keyed by bucket name; a name observe did not probe is simply missing (= unknown). */
  buckets: Record<string, Observation<BucketProbe>>;
  /** Keyed by topic ARN; `null` = the topic does not exist. */
  topics: Record<string, Observation<ObservedTopic | null>>;
  /** Keyed by queue name (in `region`); `null` = the queue does not exist. */
  queues: Record<string, Observation<ObservedQueue | null>>;
  /** Mappings from the account's queue (any function); undefined when no ingest function is configured. */
  eventSourceMappings?: Observation<ObservedEventSourceMapping[]>;
  /**
   * The ledger's newest collected file per Region of the account (LedgerTable.newest), keyed by Region; absent
   * when reconcile has no ledger (then no COLLECTION_LAGGING).
   */
  collected?: Observation<Record<string, NewestFile>>;
  /**
   * This run's digest verification (observe-digests.ts, rules/digest.ts); absent when it did not run (no ledger,
   * log file validation off, nothing new to verify).
   */
  digests?: Observation<DigestObservation>;
  /** Set when the customer role could not be assumed: then nothing else was observed. */
  roleError?: { roleArn: string; message: string };
  /**
   * What observe chose to probe (and the trail selection behind it), from `probeTargets` on the final state;
   * the planner decides from this same value. A state built by hand (tests) leaves it out and the planner
   * computes it with the same function.
   */
  probes?: ProbeTargets;
}

// ---- plan context -----------------------------------------------------------------------------------------

/** What the registry remembers of the chain from the last run. */
export type RecordedChain = ChainFields & {
  /** Re-creation timestamps (ISO) per resource key, for the REPAIR_LOOP guard. */
  recreations?: Record<string, string[]>;
  /** The path the registry says the account's notifications take (absent: `customer-queue`). */
  ingestTopology?: IngestTopology;
  /** The hub shard recorded when the account's topic was subscribed to a hub queue. */
  ingestShard?: number;
  /** The topic recorded before the last change of `topicArn`, and when it changed (ISO): AccountRecord's. */
  previousTopicArn?: string;
  topicChangedAt?: string;
};

/** A registered account that is the log archive for this one, and the buckets it collects from. */
export interface LogArchiveRef {
  accountId: string;
  bucketNames: string[];
}

export interface CostAssumptions {
  /** Management events per month in the collector region (default: a configurable estimate). */
  monthlyManagementEvents: number;
  /** Data events per month for a trail that records data events. */
  monthlyDataEvents: number;
  /** Average size of one CloudTrail record as delivered to CloudWatch Logs (uncompressed JSON). */
  averageEventBytes: number;
  /** Where the numbers came from, repeated in every cost note. */
  source: string;
}

export interface PlanContext {
  accountId: string;
  region: string;
  now: Date;
  recorded: RecordedChain;
  /**
   * A fresh `outcomes-<account>-<suffix>` name, used only if the default name is taken and no generated name is
   * recorded yet. Chosen by the caller (random), so the planner stays pure.
   */
  freshBucketName: string;
  ingestFunctionArn?: string;
  ingestRoleArn?: string;
  logArchives: LogArchiveRef[];
  costs: CostAssumptions;
  /** VisibilityTimeout of a queue the collector creates (>= 6 x the ingest function's timeout). */
  queueVisibilityTimeoutSeconds: number;
  /** plan (default): nothing is executed; apply: the actions the account's mode allows are. */
  runMode?: RunMode;
  /** report (default): only REUSE_TRAIL, which changes nothing in the account, is executed. */
  accountMode?: AccountMode;
  /** For COLLECTION_STALE: when the account was registered and when its last record reached the downstream. */
  registeredAt?: string;
  lastRecordAt?: string;
  /** COLLECTION_STALE after this many minutes without a record; undefined: never. */
  staleAfterMinutes?: number;
  /** COLLECTION_LAGGING when a Region's collection is this many minutes behind CloudTrail (default 30). */
  lagAfterMinutes?: number;
  /** For TRAIL_KMS_UNREADABLE: the last log file ingest could not decrypt (the registry's lastReadError). */
  lastReadError?: ReadError;
  /** INGEST_TOPOLOGY: how notifications reach ingest (absent: `customer-queue`, the seed's layout). */
  ingestTopology?: IngestTopology;
  /** Set exactly when the topology is `hub`. */
  hub?: HubTarget;
  /** HUB_QUEUE_ARNS (index = shard): how a hub subscription is recognised, in either topology. */
  hubQueueArns?: readonly string[];
  /** ESM_MAXIMUM_CONCURRENCY: the MaximumConcurrency of every mapping the collector owns (default 2). */
  esmMaximumConcurrency?: number;
  /** Set when INGEST_RESERVED_CONCURRENCY is: a new mapping must fit in it. */
  ingestCapacity?: IngestCapacity;
  /** Set when gap backfill is configured (a ledger and its settings): rules/backfill.ts plans BACKFILL from it. */
  backfill?: BackfillContext;
  /**
   * The registry's organizationTrailSeenAt: when an organization trail of another account was first seen logging
   * this account's management events (absent: not before this run). RETIRE_TRAIL waits for a file delivered later.
   */
  organizationTrailSeenAt?: string;
  /** Set when the account is a registered log archive with a known bucket (rules/archive-notifications.ts). */
  logArchive?: LogArchiveContext;
}

/**
 * What the backfill rule needs beyond the observed state (whose `collected` gives the ledger's newest file per
 * region): the settings and the registry's backfill records.
 */
export interface BackfillContext {
  /** BACKFILL_MAX_DAYS: the window never starts earlier than this many days before now. */
  maxDays: number;
  /** BACKFILL_MAX_FILES_PER_RUN: files enqueued per run at most; the rest waits for the next run (the cursor). */
  maxFilesPerRun: number;
  /** BACKFILL_MARGIN_MINUTES: the window starts this long before the newest collected file. */
  marginMinutes: number;
  /** BACKFILL_QUEUE_URL: the collector's backfill queue (hub topology: hub queues accept only SNS). */
  queueUrl?: string;
  /** The registry's backfill in progress, and the last one finished. */
  cursor?: BackfillCursor;
  last?: BackfillDone;
  /** The organization the account belongs to (registry): an organization trail writes under `AWSLogs/<org id>/`. */
  organizationId?: string;
}

/** Where a backfill resumes: the region and day folder, and the last key handled there. */
export interface BackfillPosition {
  region: string;
  day: string;
  startAfter?: string;
}

/** BACKFILL's inputs: what to list, where to send what the ledger lacks, where to resume. */
export interface BackfillParams {
  /** The window (ISO): files whose delivery time (from their name) falls in it are compared with the ledger. */
  since: string;
  until: string;
  /** Per region, a later start than `since` (the newest file the ledger holds for it, minus the margin). */
  regionSince?: Record<string, string>;
  bucketName: string;
  /** The bucket's region (the trail's home region): where ListObjectsV2 is sent. */
  bucketRegion: string;
  /**
   * `<S3KeyPrefix>/AWSLogs/[<org id>/]<account>/CloudTrail/`; for an organization trail whose organization id is
   * not known, `<S3KeyPrefix>/AWSLogs/` with `findOrganization` (the `o-...` folder is found by listing).
   */
  logPrefix: string;
  findOrganization?: true;
  /** The regions to list; absent: the region folders found under logPrefix (a multi-region trail). */
  regions?: string[];
  delivery:
    | { to: 'customer-queue'; queueName: string; region: string; queueUrl?: string }
    | { to: 'backfill-queue'; queueUrl: string };
  maxFiles: number;
  /** Continue a backfill of earlier runs (the registry's cursor): its regions and position. */
  resume?: BackfillPosition & { regions: string[]; enqueued: number; startedAt: string };
}

export type {
  ArchiveNotificationParams,
  LogArchiveContext,
  ObservedArchive,
  ObservedNotificationConfiguration,
} from './archive-types';
import type {
  ArchiveEventRuleParams,
  ArchiveNotificationParams,
  LogArchiveContext,
  ObservedArchive,
} from './archive-types';

// ---- planned actions: what apply needs beyond the report -------------------------------------------------

/** The operation and its exact inputs. Every input is decided by the planner; apply only executes. */
export type ActionSpec =
  | { code: 'CREATE_BUCKET'; params: { bucketName: string; region: string } }
  | {
      code: 'PUT_BUCKET_POLICY';
      /** keyPrefix: the trail's S3KeyPrefix, when it has one (CloudTrail writes under `<prefix>/AWSLogs/`). */
      params: { bucketName: string; region: string; trailArn: string; keyPrefix?: string };
    }
  | { code: 'CREATE_TOPIC'; params: { topicName: string; region: string } }
  /** hubSubscriber (hub topology): the statement letting the collector subscribe its hub queue is written too. */
  | { code: 'PUT_TOPIC_POLICY'; params: { topicArn: string; trailArn: string; hubSubscriber?: HubSubscriber } }
  | { code: 'CREATE_QUEUE'; params: { queueName: string; region: string; deadLetterQueueArn?: string } }
  /** deadLetter: the queue is the subscription's SNS dead-letter queue (SNS may send; the ingest role is not named). */
  | {
      code: 'PUT_QUEUE_POLICY';
      params: { queueName: string; queueArn: string; topicArn: string; deadLetter?: boolean };
    }
  /**
   * deadLetterQueueArn: the subscription's RedrivePolicy target (same account and Region as the subscription).
   * hubShard: a hub subscription, made by the collector (the queue owner) with its own credentials, after the
   * registry binds the topic to the account (topicArn, ingestTopology, ingestShard).
   */
  | {
      code: 'SUBSCRIBE';
      params: { topicArn: string; queueArn: string; deadLetterQueueArn?: string; hubShard?: number };
    }
  /**
   * Sets one attribute of a subscription, as its owner: the collector for a hub subscription (RawMessageDelivery),
   * the customer role for the outcomesqueue subscription it made (RedrivePolicy). `by` absent: the collector.
   */
  | {
      code: 'SET_SUBSCRIPTION_ATTRIBUTES';
      params: {
        topicArn: string;
        subscriptionArn: string;
        attributeName: 'RawMessageDelivery' | 'RedrivePolicy';
        attributeValue: string;
        by?: 'customer' | 'collector';
      };
    }
  /** by: who unsubscribes, the subscription's owner (an Unsubscribe by another account leaves it `Deleted`). */
  | { code: 'UNSUBSCRIBE'; params: { topicArn: string; subscriptionArn: string; by: 'customer' | 'collector' } }
  /** No AWS call: the trail becomes the recorded collection trail. */
  | { code: 'REUSE_TRAIL'; params: { trailArn: string } }
  | {
      code: 'CREATE_TRAIL';
      params: { trailName: string; region: string; bucketName: string; topicName: string };
    }
  /** Exactly one setting per action; every other trail setting (event selectors above all) stays as it is. */
  | {
      code: 'UPDATE_TRAIL';
      params: { trailName: string; region: string } & (
        { bucketName: string } | { topicName: string } | { enableLogFileValidation: true }
      );
    }
  | { code: 'START_LOGGING'; params: { trailName: string; region: string } }
  /**
   * StopLogging, then DeleteTrail, by name in the trail's home region: only outcomes-trail, created and recorded by
   * the collector, once an organization trail delivers the account's files (rules/organization.ts).
   */
  | { code: 'RETIRE_TRAIL'; params: { trailName: string; region: string } }
  | { code: 'CREATE_ESM'; params: { queueArn: string; functionArn: string; maximumConcurrency: number } }
  /** maximumConcurrency: set in the same call when the mapping's differs (one update at a time per mapping). */
  | { code: 'ENABLE_ESM'; params: { uuid: string; maximumConcurrency?: number } }
  | { code: 'UPDATE_ESM'; params: { uuid: string; maximumConcurrency: number } }
  | { code: 'DELETE_ESM'; params: { uuid: string; queueArn: string } }
  /** No change in the account: lists the trail's log files of a window and enqueues those the ledger lacks. */
  | { code: 'BACKFILL'; params: BackfillParams }
  /**
   * The log archive's path (rules/archive-notifications.ts, apply-archive.ts): the queue policy lets S3 send from
   * the bucket, then one queue configuration is merged into the bucket's notification configuration.
   */
  | { code: 'PUT_BUCKET_NOTIFICATION'; params: ArchiveNotificationParams }
  /**
   * The log archive's EventBridge path (the bucket sends its events to EventBridge): the queue or topic policy lets
   * EventBridge send from the rule, then the rule and its one target are written and read back.
   */
  | { code: 'PUT_ARCHIVE_EVENT_RULE'; params: ArchiveEventRuleParams };

/**
 * The chain parts an action changes: the registry records a part only when all its actions applied. `backfill`
 * owns no chain field: BACKFILL changes nothing in the account, so it never holds back the recording of a part.
 */
export type ChainPart = 'trail' | 'bucket' | 'topic' | 'queue' | 'esm' | 'backfill';

/** The part owning each chain field: a field is recorded only when every action on its part applied. */
export const CHAIN_FIELD_PART: Readonly<Record<ChainField, ChainPart>> = {
  trailArn: 'trail',
  bucketName: 'bucket',
  topicArn: 'topic',
  queueArn: 'queue',
  generatedBucketName: 'bucket',
  bucketPolicySha256: 'bucket',
  eventSourceMappingUuid: 'esm',
};

export type PlannedAction = ActionSpec & {
  /** Unique within a plan. */
  id: string;
  resource: string;
  reason: FindingCode;
  costImpact: CostImpact;
  part: ChainPart;
  /** Ids of earlier actions that must have been applied first; a failure skips everything depending on it. */
  dependsOn: string[];
  /** Set when this creation re-creates a resource the collector had recorded: counted for REPAIR_LOOP. */
  recreationKey?: string;
};

/**
 * The chain as it will stand once every planned action is applied: what the registry records (generatedBucketName
 * only when the plan uses a generated name; bucketPolicySha256 as observed, or `pending` after a change).
 */
export type ChainTarget = ChainFields;

export interface Plan {
  findings: Finding[];
  actions: PlannedAction[];
  target: ChainTarget;
  /** Ids of the actions this run executes (from the run mode and the account's mode); the others stay planned. */
  execute: string[];
  /** Nothing could be observed (the role, or every part): the account's status is `error`. */
  unobserved: boolean;
  /** Whether the run records the chain (apply runs that could observe): parts whose actions all applied. */
  recordsChain: boolean;
  /** Depth of outcomesqueue-dlq when it was read. */
  deadLetterMessages?: number;
  /** The largest collection lag over the collected trail's Regions, minutes (rules/freshness.ts), when judged. */
  collectionLagMinutes?: number;
  /** The topology the registry records for the account once the listed actions applied (apply runs only). */
  topology?: TopologyRecord;
  /** The registry forgets previousTopicArn and topicChangedAt (rules/previous-topic.ts). */
  forgetPreviousTopic?: true;
}

/** What apply did with each planned action, by action id. */
export type ActionResults = ReadonlyMap<string, Action>;
