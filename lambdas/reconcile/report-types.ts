/**
 * The reconcile report: findings and actions with their codes, cost impacts and statuses, per account and per
 * run (docs/operations.md describes the JSON). Part of the domain's data (types.ts re-exports it).
 */

export const SEED_FINDING_CODES = [
  'TRAIL_MISSING',
  'BUCKET_CHANGED',
  'BUCKET_POLICY_CHANGED',
  'BUCKET_MISSING',
  'TOPIC_CHANGED',
  'TOPIC_POLICY_INVALID',
  'TOPIC_MISSING',
  'SUBSCRIPTION_MISSING',
  'QUEUE_POLICY_INVALID',
  'QUEUE_MISSING',
] as const;

export const FINDING_CODES = [
  ...SEED_FINDING_CODES,
  'TRAIL_NOT_LOGGING',
  'TRAIL_NO_TOPIC',
  'SUBSCRIPTION_PENDING',
  'SUBSCRIPTION_FILTERED',
  'TRAIL_DELIVERY_ERROR',
  'TRAIL_NOTIFICATION_ERROR',
  'BUCKET_NAME_TAKEN',
  'ESM_MISSING',
  'ESM_DISABLED',
  'ROLE_UNASSUMABLE',
  'POLICY_DENY_CONFLICT',
  'REPAIR_LOOP',
  'COST_DUPLICATE_TRAILS',
  'COST_DATA_EVENTS',
  'COST_INSIGHTS',
  'COST_CLOUDWATCH_LOGS',
  // Added beyond the design's list (decisions in the reconcile docs):
  /** A read-only call failed: that part of the chain is unknown and nothing is repaired on it. */
  'OBSERVE_INCOMPLETE',
  /** Management events are logged only by a trail this account cannot change, and nothing collects from it. */
  'TRAIL_NOT_COLLECTABLE',
  /** The account's trail delivers into the bucket of a registered log archive, which collects it. */
  'COLLECTED_BY_LOG_ARCHIVE',
  /** outcomesqueue-dlq holds messages: log files that were not delivered and wait for a redrive. */
  'DLQ_NOT_EMPTY',
  /** No record from this account reached the downstream for longer than STALE_AFTER_MINUTES. */
  'COLLECTION_STALE',
  /** Ingest cannot read the account's log files: S3 cannot decrypt them with their KMS key for the collector's role. */
  'TRAIL_KMS_UNREADABLE',
  /** The collected trail does not log every management event of the account (read/write, sources, regions). */
  'TRAIL_PARTIAL_COVERAGE',
  /** The collected trail is an organization trail this (management) account owns: it is never re-pointed. */
  'ORGANIZATION_TRAIL_OWNED',
  /** SNS cannot deliver from the trail topic's Region to the queue's Region (opt-in -> another opt-in Region). */
  'DELIVERY_REGION_UNSUPPORTED',
  /** The hub subscription delivers raw messages: ingest needs the SNS envelope (its TopicArn binds the tenant). */
  'SUBSCRIPTION_RAW',
  'SUBSCRIPTION_NO_DEAD_LETTER',
  /** The hub subscription was unsubscribed by another account: SNS keeps it `Deleted` for 72 hours. */
  'SUBSCRIPTION_DELETED',
  /** The account's notifications are being moved between topologies (hub <-> customer-queue). */
  'TOPOLOGY_MIGRATING',
  /** A collector mapping has no MaximumConcurrency, or another one than ESM_MAXIMUM_CONCURRENCY. */
  'ESM_CONCURRENCY_MISMATCH',
  /** One more mapping would exceed the ingest function's reserved concurrency: it is not created. */
  'INGEST_CAPACITY_EXCEEDED',
  /** A Region's newest collected log file is more than LAG_AFTER_MINUTES behind CloudTrail's latest delivery. */
  'COLLECTION_LAGGING',
  /** The collected trail writes no signed digests (LogFileValidationEnabled false). */
  'LOG_FILE_VALIDATION_DISABLED',
  /** A signed digest lists log files the ledger does not hold (never collected; a backfill enqueues them). */
  'LOG_FILES_NOT_COLLECTED',
  /** A collected log file's SHA-256 is not the one its signed digest lists. */
  'LOG_FILE_HASH_MISMATCH',
  /** A digest's signature does not verify (or it is malformed, or names another account's objects). */
  'DIGEST_SIGNATURE_INVALID',
  /** A digest does not name the one before it with its hash and signature (missing, replaced, restarted chain). */
  'DIGEST_CHAIN_BROKEN',
  /** An hour with no digest while the trail logs with log file validation on. */
  'DIGEST_MISSING',
  /**
   * An organization trail of another account logs this member's management events, so the outcomes-trail the
   * collector created and recorded is a paid second copy (retired by RETIRE_TRAIL once the organization path
   * delivers the account's files).
   */
  'COLLECTOR_TRAIL_REDUNDANT',
  /** A log archive's bucket has no S3 event notification of the members' log files to the archive's queue. */
  'ARCHIVE_NOTIFICATIONS_MISSING',
  /** A configuration of the archive bucket overlaps the collector's prefix/suffix for ObjectCreated: S3 would reject it. */
  'ARCHIVE_NOTIFICATIONS_OVERLAP',
  /** The log archive's path cannot be set up as things stand (trail prefix unknown, bucket in another Region, hub). */
  'ARCHIVE_PATH_BLOCKED',
  /** The archive bucket sends its events to EventBridge: an EventBridge rule to the archive's queue is asked for. */
  'ARCHIVE_EVENTBRIDGE_RULE_NEEDED',
] as const;

export type FindingCode = (typeof FINDING_CODES)[number];
export type Severity = 'info' | 'low' | 'medium' | 'high';

export interface Finding {
  code: FindingCode;
  severity: Severity;
  /** ARN or name. */
  resource: string;
  /** What is wrong, in words. */
  message: string;
}

export const ACTION_CODES = [
  'CREATE_TRAIL',
  'REUSE_TRAIL',
  'UPDATE_TRAIL',
  'START_LOGGING',
  'CREATE_BUCKET',
  'PUT_BUCKET_POLICY',
  'CREATE_TOPIC',
  'PUT_TOPIC_POLICY',
  'SUBSCRIBE',
  'CREATE_QUEUE',
  'PUT_QUEUE_POLICY',
  'CREATE_ESM',
  'ENABLE_ESM',
  'SET_SUBSCRIPTION_ATTRIBUTES',
  'UNSUBSCRIBE',
  'UPDATE_ESM',
  'DELETE_ESM',
  /** Enqueues the log files of a gap that the ledger lacks (lambdas/reconcile/backfill.ts). */
  'BACKFILL',
  /** StopLogging then DeleteTrail, by name, of the outcomes-trail the collector created (COLLECTOR_TRAIL_REDUNDANT). */
  'RETIRE_TRAIL',
  /** Merges one queue configuration into the log archive bucket's notification configuration (apply-archive.ts). */
  'PUT_BUCKET_NOTIFICATION',
  /** The log archive's EventBridge rule and target, when its bucket sends its events to EventBridge (apply-archive.ts). */
  'PUT_ARCHIVE_EVENT_RULE',
] as const;

export type ActionCode = (typeof ACTION_CODES)[number];
export type ActionStatus = 'planned' | 'applied' | 'failed' | 'skipped';

export interface CostImpact {
  monthlyUsd: number;
  note: string;
}

/** An action as reported. */
export interface Action {
  code: ActionCode;
  resource: string;
  reason: FindingCode;
  costImpact: CostImpact;
  status: ActionStatus;
  /** When failed or skipped. */
  error?: string;
}

export type AccountHealth = 'healthy' | 'repaired' | 'degraded' | 'error';

export interface AccountReport {
  accountId: string;
  status: AccountHealth;
  findings: Finding[];
  actions: Action[];
  /** Depth of outcomesqueue-dlq when it could be read (feeds the DLQ alarm). */
  deadLetterMessages?: number;
  /** The largest collection lag over the trail's Regions, minutes, when it could be judged (the lag metrics). */
  collectionLagMinutes?: number;
}

export type RunMode = 'plan' | 'apply';

export interface ReconcileReport {
  mode: RunMode;
  runAt: string;
  accounts: AccountReport[];
}
