/**
 * The drift table, "if this happens, the collector does this", as data: one entry per finding code, in the order
 * of FINDING_CODES (the seed rows, each broken and repaired by `npm start`, first). docs/drift-remediation.md
 * holds `renderDriftTable()` between markers, and test/unit/drift-table.test.ts checks three things: every
 * finding code has exactly one entry; the doc's table equals the rendering; and the entries agree with the
 * planner (the action codes the planner emits for each reason are exactly those listed here, and an entry that
 * says it repairs does). Which rule of the pack (rules/index.ts) emits a code: `driftSources`.
 *
 * Data only: nothing here decides anything. The rules live in rules/ and plan.ts composes them.
 */
import { GUARD_CODES, rulesEmitting } from './rules';
import { SEED_DRIFT_ENTRIES } from './drift-table-seed';
import type { ActionCode, FindingCode, Severity } from './types';

/**
 * What the collector does about a finding:
 * - `repairs`: whenever the state it depends on is known (and no REPAIR_LOOP stops it), the plan holds at least
 *   one action for this reason;
 * - `repairs-when-safe`: some situations are repaired, others only reported (the text says which);
 * - `reports`: never an action for this reason.
 */
export type DriftOutcome = 'repairs' | 'repairs-when-safe' | 'reports';

export interface DriftEntry {
  code: FindingCode;
  /** Every severity the finding can be reported with, lowest first. */
  severities: readonly Severity[];
  ifThisHappens: string;
  theCollectorDoes: string;
  outcome: DriftOutcome;
  /** The action codes the planner may emit with this finding as their reason, in execution order. */
  actions: readonly ActionCode[];
}

export const DRIFT_TABLE: readonly DriftEntry[] = [
  // ---- the seed rows (drift-table-seed.ts), each broken and repaired by `npm start` -------------------------
  ...SEED_DRIFT_ENTRIES,
  // ---- beyond the seed ----------------------------------------------------------------------------------------
  {
    code: 'TRAIL_NOT_LOGGING',
    severities: ['high'],
    ifThisHappens: 'the collection trail is stopped',
    theCollectorDoes:
      'starts it, but only when that is free: no other trail logs management events and the trail records no ' +
      'data events or Insights, and it is not an organization trail. When another trail logs them, reuses that ' +
      'one instead; otherwise only reports',
    outcome: 'repairs-when-safe',
    actions: ['REUSE_TRAIL', 'START_LOGGING'],
  },
  {
    code: 'TRAIL_NO_TOPIC',
    severities: ['high'],
    ifThisHappens: 'the trail has no SNS topic, so delivered log files are not announced',
    theCollectorDoes:
      "uses `outcomestopic` in the trail's home region (created if absent, with its policy), subscribes the " +
      'queue, and points the trail at it',
    outcome: 'repairs',
    actions: ['CREATE_TOPIC', 'PUT_TOPIC_POLICY', 'SUBSCRIBE', 'UPDATE_TRAIL', 'BACKFILL'],
  },
  {
    code: 'SUBSCRIPTION_PENDING',
    severities: ['medium'],
    ifThisHappens: "the queue's (hub topology: the hub queue's) subscription is pending confirmation",
    theCollectorDoes:
      'subscribes again: an SQS subscription in the same account is confirmed at once, and so is one the queue ' +
      'owner makes (the collector, for its hub queue, after the topic policy statement that allows it)',
    outcome: 'repairs',
    actions: ['PUT_TOPIC_POLICY', 'SUBSCRIBE', 'BACKFILL'],
  },
  {
    code: 'SUBSCRIPTION_FILTERED',
    severities: ['medium'],
    ifThisHappens: "the queue's (or the hub queue's) subscription has a filter policy",
    theCollectorDoes:
      'reports it: CloudTrail notifications carry no message attributes, so a filter can drop them; only the ' +
      'customer knows why it is there',
    outcome: 'reports',
    actions: [],
  },
  {
    code: 'TRAIL_DELIVERY_ERROR',
    severities: ['high'],
    ifThisHappens: 'CloudTrail reports an error writing log files to the bucket (`LatestDeliveryError`)',
    theCollectorDoes:
      "writes CloudTrail's bucket policy again when the bucket is the collector's own and lacks its statements; " +
      "otherwise reports it (a customer's bucket policy is never changed)",
    outcome: 'repairs-when-safe',
    actions: ['PUT_BUCKET_POLICY'],
  },
  {
    code: 'TRAIL_NOTIFICATION_ERROR',
    severities: ['high'],
    ifThisHappens: 'CloudTrail reports an error publishing to the topic (`LatestNotificationError`)',
    theCollectorDoes:
      'reports it; when the topic policy is the cause, `TOPIC_POLICY_INVALID` repairs it (or `POLICY_DENY_CONFLICT` ' +
      'reports it)',
    outcome: 'reports',
    actions: [],
  },
  {
    code: 'BUCKET_NAME_TAKEN',
    severities: ['high'],
    ifThisHappens: 'the name `outcomes-<account id>` belongs to another account (deleted, then claimed by someone)',
    theCollectorDoes:
      'uses `outcomes-<account id>-<random suffix>`, records that name in the registry before creating the ' +
      'bucket and keeps it for good, and moves the trail to it when the trail wrote into the taken name',
    outcome: 'repairs',
    actions: ['CREATE_BUCKET', 'PUT_BUCKET_POLICY', 'UPDATE_TRAIL'],
  },
  {
    code: 'ESM_MISSING',
    severities: ['high'],
    ifThisHappens:
      "there is no event source mapping from the account's queue to the ingest function (collector account)",
    theCollectorDoes:
      'creates it in the collector account (batch size 10, `ReportBatchItemFailures`, `MaximumConcurrency` = ' +
      '`ESM_MAXIMUM_CONCURRENCY`); only when an ingest function is configured (`INGEST_FUNCTION_ARN`), and not when ' +
      'it would break the reserved concurrency (`INGEST_CAPACITY_EXCEEDED`). The hub topology has no mapping per account',
    outcome: 'repairs',
    actions: ['CREATE_ESM', 'BACKFILL'],
  },
  {
    code: 'ESM_DISABLED',
    severities: ['high'],
    ifThisHappens: 'the event source mapping is disabled',
    theCollectorDoes: 'enables it again, setting `MaximumConcurrency` in the same call when it differs',
    outcome: 'repairs',
    actions: ['ENABLE_ESM', 'BACKFILL'],
  },
  {
    code: 'ROLE_UNASSUMABLE',
    severities: ['high'],
    ifThisHappens:
      '`CloudTrailCollectorRole` cannot be assumed (stack not deployed or deleted, wrong ExternalId, trust changed)',
    theCollectorDoes: 'reports it; the account is in `error` and nothing else is observed',
    outcome: 'reports',
    actions: [],
  },
  {
    code: 'POLICY_DENY_CONFLICT',
    severities: ['high'],
    ifThisHappens:
      'a customer statement in the topic or queue policy explicitly denies the delivery chain (hub topology: or ' +
      'the collector subscribing its hub queue)',
    theCollectorDoes: 'reports it and leaves the Deny in place: the customer removes or narrows it',
    outcome: 'reports',
    actions: [],
  },
  {
    code: 'REPAIR_LOOP',
    severities: ['high'],
    ifThisHappens: 'a resource was re-created 3 times within 24 hours',
    theCollectorDoes:
      'does not re-create it again, nor anything that depends on it (someone keeps deleting it, or detection is ' +
      "wrong): investigate, then clear the resource's entry under `recreations` in the registry",
    outcome: 'reports',
    actions: [],
  },
  {
    code: 'COST_DUPLICATE_TRAILS',
    severities: ['medium'],
    ifThisHappens:
      'two or more trails log some of the same management events in the collector region (a read-only trail ' +
      'beside a write-only one is no duplicate)',
    theCollectorDoes:
      'reports the estimated monthly charge of the extra copies ($2.00 per 100,000 events each), also beside an ' +
      "organization trail a member cannot read (presumed to log: the member's own trail is the paid copy); never " +
      'deletes a trail it did not create and never adds one (outcomes-trail: `COLLECTOR_TRAIL_REDUNDANT`)',
    outcome: 'reports',
    actions: [],
  },
  {
    code: 'COST_DATA_EVENTS',
    severities: ['info'],
    ifThisHappens: 'a logging trail records data events',
    theCollectorDoes:
      'reports the estimate ($0.10 per 100,000 data events); never enables data events (the customer role ' +
      'denies `PutEventSelectors`)',
    outcome: 'reports',
    actions: [],
  },
  {
    code: 'COST_INSIGHTS',
    severities: ['info'],
    ifThisHappens: 'a logging trail has CloudTrail Insights on',
    theCollectorDoes:
      'reports the estimate ($0.35 per 100,000 events analyzed, per Insights type); never enables Insights (the ' +
      'customer role denies `PutInsightSelectors`)',
    outcome: 'reports',
    actions: [],
  },
  {
    code: 'COST_CLOUDWATCH_LOGS',
    severities: ['info'],
    ifThisHappens: 'a logging trail also sends its events to CloudWatch Logs',
    theCollectorDoes:
      'reports the estimated ingestion charge (about $0.50 per GB); never configures it (the customer role has ' +
      'no `iam:PassRole`)',
    outcome: 'reports',
    actions: [],
  },
  {
    code: 'OBSERVE_INCOMPLETE',
    severities: ['medium', 'high'],
    ifThisHappens: 'a read-only call failed (access denied, throttling, a timeout): that part of the chain is unknown',
    theCollectorDoes:
      'changes nothing that depends on it ("access denied" is never read as "absent"); high when the trail list ' +
      'itself could not be read or the whole run failed for the account',
    outcome: 'reports',
    actions: [],
  },
  {
    code: 'TRAIL_NOT_COLLECTABLE',
    severities: ['high'],
    ifThisHappens:
      "management events are logged only by a trail this account cannot change (an organization trail), or the trail delivers into another account's bucket that is not a registered log archive",
    theCollectorDoes:
      "creates nothing (a trail of its own would be a paid second copy), also when the organization trail's " +
      'status or selectors cannot be read from the member account (it is presumed to log); register the account ' +
      'that owns the bucket with `--log-archive-for`. Hub topology: a trail that notifies a topic of another ' +
      'account is not subscribed either (ingest binds a notification to the account owning its topic)',
    outcome: 'reports',
    actions: [],
  },
  {
    code: 'COLLECTED_BY_LOG_ARCHIVE',
    severities: ['info'],
    ifThisHappens: "the account's trail delivers into the bucket of a registered log archive account",
    theCollectorDoes: "keeps no chain in this account: the log archive's chain collects its log files",
    outcome: 'reports',
    actions: [],
  },
  {
    code: 'DLQ_NOT_EMPTY',
    severities: ['medium'],
    ifThisHappens:
      '`outcomesqueue-dlq` holds messages: log files whose records did not all reach the downstream after the ' +
      "queue's `maxReceiveCount` receives (40 for a queue created now, 5 for one created earlier)",
    theCollectorDoes:
      'reports the depth (summed over accounts into the `DeadLetterMessages` metric and alarm); never purges or ' +
      'redrives: fix the cause, then redrive',
    outcome: 'reports',
    actions: [],
  },
  {
    code: 'COLLECTION_STALE',
    severities: ['medium'],
    ifThisHappens:
      'no record from the account reached the downstream for longer than `STALE_AFTER_MINUTES` (counted from ' +
      'registration when none ever did)',
    theCollectorDoes:
      'reports it (`AccountsStale` metric and alarm): the chain can look healthy while nothing arrives, so look at ' +
      'the ingest logs and the DLQ. With the ledger, also backfills: the log files in the bucket since the newest ' +
      'collected one that the ledger lacks are enqueued again (`BACKFILL`, from the end of the last backfill on)',
    outcome: 'repairs-when-safe',
    actions: ['BACKFILL'],
  },
  {
    code: 'TRAIL_KMS_UNREADABLE',
    severities: ['high'],
    ifThisHappens:
      "ingest cannot read the account's SSE-KMS log files: S3 answers `AccessDenied` naming `kms:Decrypt`, or a " +
      '`KMS.*` error, for the collector role (recorded by ingest on the account, at most every 5 minutes)',
    theCollectorDoes:
      "reports the key (the trail's `KmsKeyId`) and the exact key policy statement to add (`kms:Decrypt` for " +
      "`CloudTrailCollectorRole`, through S3, for CloudTrail's encryption context), or that the key is disabled or " +
      'pending deletion; never changes a key. The files wait in the DLQ: redrive once fixed',
    outcome: 'reports',
    actions: [],
  },
  {
    code: 'TRAIL_PARTIAL_COVERAGE',
    severities: ['medium'],
    ifThisHappens:
      'the collected trail does not log every management event of the account: read-only or write-only ' +
      'selectors, excluded event sources (KMS, RDS Data API), a single-region trail (other regions, global ' +
      'service events)',
    theCollectorDoes:
      'collects what the trail logs and names each missing part, the trails that log it, and the cost of ' +
      'adding it (a first copy is free); adds no trail: CreateTrail takes no event selectors, so a new trail ' +
      'would bill a second copy of what is logged, and the collector never changes event selectors',
    outcome: 'reports',
    actions: [],
  },
  {
    code: 'ORGANIZATION_TRAIL_OWNED',
    severities: ['medium', 'high'],
    ifThisHappens:
      'the collected trail is an organization trail of this account (the management account): it delivers every ' +
      "member account's log files",
    theCollectorDoes:
      'collects it as it is; never re-points (`UPDATE_TRAIL`), starts, or rewrites the bucket policy of an ' +
      'organization trail. High, and nothing is repaired, when its bucket or topic is gone. Register the account ' +
      'as log archive for its organization (`--log-archive-for o-...`)',
    outcome: 'reports',
    actions: [],
  },
  {
    code: 'DELIVERY_REGION_UNSUPPORTED',
    severities: ['high'],
    ifThisHappens:
      "the trail's topic is in an opt-in Region and the collector (its queue) in another opt-in Region: SNS does " +
      'not deliver from one opt-in Region to another (SNS Developer Guide, cross-Region delivery)',
    theCollectorDoes:
      'reports it and writes no queue policy for that topic nor subscribes the queue (hub topology: the hub ' +
      'queue, checked against its Region), since nothing could arrive. Run the collector in a Region enabled by ' +
      'default (from an opt-in Region it then allows `sns.<opt-in-region>.amazonaws.com`), or home the trail in ' +
      'the collector Region',
    outcome: 'reports',
    actions: [],
  },
  {
    code: 'SUBSCRIPTION_RAW',
    severities: ['high'],
    ifThisHappens: 'the hub subscription delivers raw messages (`RawMessageDelivery` true)',
    theCollectorDoes:
      "sets `RawMessageDelivery` back to false as the subscription's owner: ingest binds a hub message to its " +
      "account by the SNS envelope's `TopicArn` and rejects a raw body as poison",
    outcome: 'repairs',
    actions: ['SET_SUBSCRIPTION_ATTRIBUTES', 'BACKFILL'],
  },
  {
    code: 'SUBSCRIPTION_NO_DEAD_LETTER',
    severities: ['low'],
    ifThisHappens:
      "the queue's confirmed subscription has no SNS dead-letter queue (made before the collector set one, or by " +
      'someone else)',
    theCollectorDoes:
      "sets its `RedrivePolicy` to `outcomesqueue-dlq` as the subscription's owner (the customer role), when SNS " +
      "allows it: the topic in the account and in the queue's Region. Elsewhere nothing can be set (the DLQ must be " +
      "in the subscription's account and Region)",
    outcome: 'repairs',
    actions: ['SET_SUBSCRIPTION_ATTRIBUTES', 'BACKFILL'],
  },
  {
    code: 'SUBSCRIPTION_DELETED',
    severities: ['high'],
    ifThisHappens:
      'the hub subscription shows as `Deleted`: someone in the customer account unsubscribed it (an Unsubscribe by ' +
      'another account than its owner, the collector)',
    theCollectorDoes:
      'reports it and waits: SNS keeps such a subscription `Deleted` for 72 hours and refuses to subscribe the ' +
      'queue again meanwhile; once SNS clears it, `SUBSCRIPTION_MISSING` subscribes again. Nothing arrives until then',
    outcome: 'reports',
    actions: [],
  },
  {
    code: 'TOPOLOGY_MIGRATING',
    severities: ['info'],
    ifThisHappens:
      "the account's notifications take the other topology's path than `INGEST_TOPOLOGY` (hub <-> customer-queue), " +
      'or a changed shard count moved it to another hub queue',
    theCollectorDoes:
      'subscribes the new path first, then unsubscribes the old subscription in the same run (as its owner); files ' +
      'announced in between are delivered twice, with the same idempotency keys. To the hub: deletes the mapping ' +
      'of `outcomesqueue` once a later run sees the queue drained, and leaves `outcomesqueue` and its DLQ to the ' +
      'customer; records the topology in the registry',
    outcome: 'repairs-when-safe',
    actions: ['PUT_TOPIC_POLICY', 'SUBSCRIBE', 'UNSUBSCRIBE', 'DELETE_ESM', 'BACKFILL'],
  },
  {
    code: 'ESM_CONCURRENCY_MISMATCH',
    severities: ['high'],
    ifThisHappens:
      "the collector's event source mapping has no `MaximumConcurrency`, or another one than `ESM_MAXIMUM_CONCURRENCY`",
    theCollectorDoes:
      "sets it (`UpdateEventSourceMapping`): without it one queue can take the ingest function's whole reserved " +
      "concurrency, and Lambda throttles the other mappings' batches into their DLQs",
    outcome: 'repairs',
    actions: ['UPDATE_ESM'],
  },
  {
    code: 'INGEST_CAPACITY_EXCEEDED',
    severities: ['high'],
    ifThisHappens:
      'a mapping is missing, and one more would make the mappings x `MaximumConcurrency` exceed the ingest ' +
      "function's reserved concurrency (`INGEST_RESERVED_CONCURRENCY`)",
    theCollectorDoes:
      'reports the figures (mappings, per-mapping maximum, reserved) and creates no mapping: Lambda would throttle ' +
      'batches until their messages reach the DLQs. The queue keeps its messages; raise the reserved concurrency, ' +
      'lower `ESM_MAXIMUM_CONCURRENCY`, or move accounts to the hub topology',
    outcome: 'reports',
    actions: [],
  },
  {
    code: 'COLLECTION_LAGGING',
    severities: ['medium'],
    ifThisHappens:
      "in some Region of the collected trail, CloudTrail's latest delivery (`GetTrailStatus` `LatestDeliveryTime`, " +
      'read per Region) is more than `LAG_AFTER_MINUTES` (30) after the newest file the ledger collected from there',
    theCollectorDoes:
      'reports the Regions and minutes behind, and whether CloudTrail still notified (then the loss is between the ' +
      'topic and ingest) or not (the topic); counted in `AccountsLagging` with the fleet lag metrics and alarm. ' +
      'Needs the ledger; `COLLECTION_STALE` remains the late signal. With backfill configured, the files of the ' +
      'gap that the ledger lacks are enqueued again (`BACKFILL`)',
    outcome: 'repairs-when-safe',
    actions: ['BACKFILL'],
  },
  {
    code: 'LOG_FILE_VALIDATION_DISABLED',
    severities: ['info', 'medium'],
    ifThisHappens:
      'the collected trail has log file validation off (`LogFileValidationEnabled` false): no signed hourly digest ' +
      'proves that every log file was collected unchanged',
    theCollectorDoes:
      'turns it on (`UPDATE_TRAIL` with `EnableLogFileValidation` only) on `outcomes-trail`, the trail it created; ' +
      "on any other trail reports (info: the account still collects everything) the one `aws cloudtrail update-trail` command for the trail's owner. Free from " +
      'CloudTrail; S3 bills the digests (one PUT and ~2 KB per Region per hour, ~$0.06/month for 17 Regions)',
    outcome: 'repairs-when-safe',
    actions: ['UPDATE_TRAIL'],
  },
  {
    code: 'LOG_FILES_NOT_COLLECTED',
    severities: ['medium', 'high'],
    ifThisHappens:
      "CloudTrail's signed digests of the run's window list log files that the ledger does not hold (reconcile " +
      'verifies the digests delivered since the last verified one, up to 90 minutes ago)',
    theCollectorDoes:
      'reports their count and a few keys; files still in the bucket (medium) are enqueued again by a `BACKFILL` ' +
      'from the oldest of them, when backfill is configured, and verified again next run; files gone from the ' +
      'bucket (high) cannot be collected',
    outcome: 'repairs-when-safe',
    actions: ['BACKFILL'],
  },
  {
    code: 'LOG_FILE_HASH_MISMATCH',
    severities: ['high'],
    ifThisHappens:
      'a collected log file has another SHA-256 (of its uncompressed bytes, in the ledger) than its signed digest lists',
    theCollectorDoes:
      'reports the files: what was forwarded is not what CloudTrail delivered (changed or replaced in the bucket)',
    outcome: 'reports',
    actions: [],
  },
  {
    code: 'DIGEST_SIGNATURE_INVALID',
    severities: ['high'],
    ifThisHappens:
      "a digest's RSA signature does not verify with CloudTrail's public key (`ListPublicKeys`), or the digest is " +
      "malformed, moved, or names another account's bucket or files",
    theCollectorDoes:
      'reports each digest with the reason; the files it lists are not checked. A Region whose public keys cannot ' +
      'be listed is `OBSERVE_INCOMPLETE` instead',
    outcome: 'reports',
    actions: [],
  },
  {
    code: 'DIGEST_CHAIN_BROKEN',
    severities: ['medium'],
    ifThisHappens:
      'a digest does not name the digest before it with its hash and signature (one is missing or replaced), or ' +
      'starts a new chain (logging or log file validation was off in between)',
    theCollectorDoes: 'reports each break with the reason',
    outcome: 'reports',
    actions: [],
  },
  {
    code: 'DIGEST_MISSING',
    severities: ['medium'],
    ifThisHappens:
      'an hour of the window in some Region has no digest while the trail logs with log file validation on ' +
      '(CloudTrail delivers one every hour)',
    theCollectorDoes:
      'reports the Regions and times; a gap followed by a new chain is not reported here (the trail was off: ' +
      '`DIGEST_CHAIN_BROKEN`)',
    outcome: 'reports',
    actions: [],
  },
  {
    code: 'COLLECTOR_TRAIL_REDUNDANT',
    severities: ['low', 'medium'],
    ifThisHappens:
      "an organization trail of the management account logs a member's management events, and the member still " +
      'has the `outcomes-trail` the collector created and recorded (a paid second copy)',
    theCollectorDoes:
      'reports it with the monthly cost of the copy (low when it is already stopped); in apply mode retires it ' +
      '(StopLogging, then DeleteTrail, by name) once the ledger holds a file of the account from the organization ' +
      'bucket delivered after the organization trail was first seen, so no file is missed across the switch; ' +
      'without a ledger, never automatically. Never any other trail',
    outcome: 'repairs-when-safe',
    actions: ['RETIRE_TRAIL'],
  },
  {
    code: 'ARCHIVE_NOTIFICATIONS_MISSING',
    severities: ['high'],
    ifThisHappens:
      "a registered log archive's bucket does not announce the members' log files (`<trail prefix>/AWSLogs/`, " +
      "`.json.gz`, `s3:ObjectCreated:*`) to the archive's `outcomesqueue` (customer-queue topology) or its " +
      '`outcomestopic` (hub topology)',
    theCollectorDoes:
      'customer-queue: creates the queue if needed (`QUEUE_MISSING`) and lets S3 send to it from the bucket (queue ' +
      'policy: `aws:SourceArn` = the bucket, `aws:SourceAccount` = the archive); hub: creates `outcomestopic` in the ' +
      "bucket's Region if needed and lets S3 publish to it from the bucket (topic policy, same conditions, with the " +
      "collector's hub subscribe statement). Then reads the bucket's notification configuration, merges in one " +
      'queue or topic configuration (`cloudtrail-collector-archive`; every other configuration and EventBridge kept ' +
      "as read), writes it and reads it back; in the hub topology subscribes the topic to the archive's hub shard " +
      'queue. No trail is created in the archive account',
    outcome: 'repairs',
    actions: ['CREATE_TOPIC', 'PUT_BUCKET_NOTIFICATION', 'SUBSCRIBE'],
  },
  {
    code: 'ARCHIVE_NOTIFICATIONS_OVERLAP',
    severities: ['high'],
    ifThisHappens:
      "another configuration of the archive bucket overlaps the collector's (same event type, overlapping prefix and " +
      'suffix): S3 rejects such a document',
    theCollectorDoes:
      'changes nothing and names the overlapping configuration: narrow it, or fan both out through one SNS topic',
    outcome: 'reports',
    actions: [],
  },
  {
    code: 'ARCHIVE_PATH_BLOCKED',
    severities: ['high'],
    ifThisHappens:
      "the log archive's path cannot be set up: no known trail delivers into the bucket (its prefix is unknown), or " +
      "(customer-queue topology) the bucket is in another Region than the archive's queue",
    theCollectorDoes: 'changes nothing and says which; `organizations sync` refreshes the trail',
    outcome: 'reports',
    actions: [],
  },
  {
    code: 'ARCHIVE_EVENTBRIDGE_RULE_NEEDED',
    severities: ['high'],
    ifThisHappens:
      "the archive bucket sends its events to Amazon EventBridge and the collector's rule " +
      "(`cloudtrail-collector-archive` on the default bus of the bucket's Region) is missing, disabled, or not as the " +
      'collector wrote it',
    theCollectorDoes:
      "leaves the bucket's notification configuration alone; lets EventBridge send to the archive's `outcomesqueue` " +
      '(hub: publish to `outcomestopic`, created if needed) with `aws:SourceArn` = the rule, writes the rule (the ' +
      "bucket's Object Created events under `<trail prefix>/AWSLogs/`, ENABLED) and its one target, and reads them " +
      'back; in the hub topology subscribes the topic to the hub shard queue',
    outcome: 'repairs',
    actions: ['CREATE_TOPIC', 'PUT_ARCHIVE_EVENT_RULE', 'SUBSCRIBE'],
  },
];

/** The entry of one finding code (every code has exactly one; the unit test checks it). */
export function driftEntry(code: FindingCode): DriftEntry {
  const entry = DRIFT_TABLE.find((candidate) => candidate.code === code);
  if (entry === undefined) throw new Error(`no drift table entry for ${code}`);
  return entry;
}

/**
 * Where a finding comes from: the names of the pack's rules that can emit it, or `repair-loop guard` for the
 * plan's guard (every code has at least one source; the unit test checks it).
 */
export function driftSources(code: FindingCode): string[] {
  return [
    ...rulesEmitting(code).map((rule) => rule.name),
    ...(GUARD_CODES.includes(code) ? ['repair-loop guard'] : []),
  ];
}

export const DRIFT_TABLE_HEADERS = ['if this happens', 'finding', 'severity', 'the collector does', 'actions'];

function cells(entry: DriftEntry): string[] {
  return [
    entry.ifThisHappens,
    `\`${entry.code}\``,
    entry.severities.join(', '),
    entry.theCollectorDoes,
    entry.actions.length === 0 ? 'none' : entry.actions.map((action) => `\`${action}\``).join(', '),
  ];
}

/**
 * The table as Markdown, column-aligned exactly as Prettier writes it (the docs are Prettier-checked), so the
 * block in docs/drift-remediation.md can be compared with this string as it is.
 */
export function renderDriftTable(entries: readonly DriftEntry[] = DRIFT_TABLE): string {
  const rows = entries.map(cells);
  const widths = DRIFT_TABLE_HEADERS.map((header, column) =>
    Math.max(3, header.length, ...rows.map((row) => row[column]!.length)),
  );
  const line = (values: string[]) => `| ${values.map((value, column) => value.padEnd(widths[column]!)).join(' | ')} |`;
  return [
    line(DRIFT_TABLE_HEADERS),
    line(widths.map((width) => '-'.repeat(width))),
    ...rows.map((row) => line(row)),
  ].join('\n');
}
