import {
  DeleteCommand,
  GetCommand,
  PutCommand,
  ScanCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import { randomBytes } from 'node:crypto';
import { CollectorError, PermanentInputError } from './errors';
import { isAccountId } from './arn';
import type { IngestTopology } from './topology';

export type AccountMode = 'apply' | 'report';
export type AccountStatus = 'new' | 'healthy' | 'repaired' | 'degraded' | 'error';

/**
 * The chain the collector found or built for an account, as the registry keeps it and ingest binds
 * notifications to it; declared once here and reused by reconcile (what was recorded, what a plan targets):
 * - trailArn, bucketName, topicArn, queueArn: the trail and where it delivers and announces;
 * - generatedBucketName: a bucket name generated when the default one was taken, stored so a repair never
 *   invents a second one;
 * - bucketPolicySha256: SHA-256 of the trail bucket's policy as last observed (a different one next run is
 *   BUCKET_POLICY_CHANGED);
 * - eventSourceMappingUuid: the collector-account event source mapping from the account's queue to ingest.
 */
export const CHAIN_FIELDS = [
  'trailArn',
  'bucketName',
  'topicArn',
  'queueArn',
  'generatedBucketName',
  'bucketPolicySha256',
  'eventSourceMappingUuid',
] as const;

export type ChainField = (typeof CHAIN_FIELDS)[number];
export type ChainFields = { [Field in ChainField]?: string };

/** One registered customer account. The reconcile run fills the status fields and the chain it found (ChainFields). */
export interface AccountRecord extends ChainFields {
  accountId: string;
  externalId: string;
  mode: AccountMode;
  /** Accounts (12 digits) or organizations (`o-...`) whose logs this account's bucket holds (log archive). */
  logArchiveFor: string[];
  /** Overrides the default customer role name for this account. */
  roleName?: string;
  registeredAt: string;
  status: AccountStatus;
  lastRunAt?: string;
  lastRunMode?: 'plan' | 'apply';
  findings?: unknown[];
  actions?: unknown[];
  /** When records from this account last reached the downstream (written by ingest, read for COLLECTION_STALE). */
  lastRecordAt?: string;
  /**
   * Until when (ISO) the last tamper-triggered reconcile job covers the account's chain-changing calls, written by
   * ingest's debounce with a conditional write (COVERED_UNTIL_ATTRIBUTE, lambdas/ingest/source/tamper-triggers.ts).
   */
  tamperTriggerCoveredUntil?: string;
  /** The last log file ingest could not read for a reason only the customer can fix (read for TRAIL_KMS_UNREADABLE). */
  lastReadError?: ReadError;
  /** Re-creations per resource (ISO timestamps), for the REPAIR_LOOP guard. */
  recreations?: Record<string, string[]>;
  /**
   * How this account's notifications reach ingest (lambdas/shared/topology.ts), written by reconcile when it
   * builds the path; absent on records written before topologies existed, which means `customer-queue`.
   */
  ingestTopology?: IngestTopology;
  /** The hub shard (`shardOf(accountId, K)`) whose queue the account's topic is subscribed to, in `hub` topology. */
  ingestShard?: number;
  /**
   * The topic recorded before the last change of `topicArn` (TOPIC_CHANGED, TOPIC_MISSING), and when it changed
   * (ISO). A hub message from it is still this account's while it may be waiting in a hub queue (the queues' retry
   * window, lambdas/ingest/source/tenant.ts): notifications SNS delivered before the change are not poison.
   * Removed once the window has passed and the topic carries no subscription of the collector's
   * (lambdas/reconcile/rules/previous-topic.ts).
   */
  previousTopicArn?: string;
  topicChangedAt?: string;
  /**
   * The organization (`o-...`) this account was registered through or linked to by `organizations add|sync`
   * (lambdas/shared/organization-registry.ts). A log archive forwards its keys under the organization trail's
   * `AWSLogs/<organizationId>/<accountId>/` only while `organizationMembership` is `active`.
   */
  organizationId?: string;
  /** `active` while ListAccounts lists it ACTIVE; `left` once it left the organization or stopped being ACTIVE. */
  organizationMembership?: 'active' | 'left';
  /** When `organizations sync` found it gone (ISO), and why: `not listed`, or its account State (`SUSPENDED`, ...). */
  organizationLeftAt?: string;
  organizationLeftReason?: string;
  /** `organization`: written by `organizations add|sync`, so it takes the organization's ExternalId and mode. */
  registeredBy?: 'organization';
  /** Log archive only: the bucket holding the archived accounts' log files (`--log-archive-bucket`, or the organization trail's). */
  logArchiveBucket?: string;
  /** A gap backfill not finished yet (lambdas/reconcile/backfill.ts): the next run resumes it; removed when done. */
  backfill?: BackfillCursor;
  /** The last gap backfill that finished: a later one starts no earlier than its `until` (minus the margin). */
  lastBackfill?: BackfillDone;
  /**
   * Digest verification (lambdas/reconcile/observe-digests.ts): the log files CloudTrail delivered up to this time
   * (ISO) were checked against their signed digests; the next run starts here.
   */
  digestsVerifiedUntil?: string;
  /**
   * When reconcile first saw an organization trail of another account logging this (member) account's management
   * events (ISO); removed once none is seen. The collector retires its own outcomes-trail only after the ledger
   * holds a file of this account from the organization's bucket delivered later than this
   * (lambdas/reconcile/rules/organization.ts, collectorTrailRetirementRule).
   */
  organizationTrailSeenAt?: string;
  /**
   * When the scheduled sweep next sends this account a job (ISO; lambdas/reconcile/sweep.ts): written by the
   * reconcile worker after each run, one period ahead for an account left unhealthy, RECONCILE_HEALTHY_EVERY
   * periods ahead for a healthy one. Absent: due from lastRunAt and status.
   */
  reconcileDueAt?: string;
  /** The reconcile lease (lambdas/reconcile/lease.ts): which worker invocation reconciles the account, until when. */
  reconcileLeaseOwner?: string;
  reconcileLeaseExpiresAt?: string;
}

/** Where a gap backfill stands between runs (written by reconcile on the account's item). */
export interface BackfillCursor {
  /** The finding code the backfill follows (the repaired finding's, or COLLECTION_STALE / COLLECTION_LAGGING). */
  reason: string;
  /** The window (ISO): log files CloudTrail delivered in it are compared with the ledger. */
  since: string;
  until: string;
  /** The regions listed, in order (a multi-region trail's are found under the trail's prefix on the first run). */
  regions: string[];
  /** The next region and day folder to list, and the last key handled there (ListObjectsV2 StartAfter). */
  region: string;
  day: string;
  startAfter?: string;
  /** Files enqueued so far, over every run of this backfill. */
  enqueued: number;
  startedAt: string;
}

export interface BackfillDone {
  since: string;
  until: string;
  enqueued: number;
  finishedAt: string;
}

/**
 * Items of the registry table that are not accounts (an organization, `organization-registry.ts`) carry this
 * attribute; account items never do. `list()` skips them, so reconcile, `status` and `accounts list` see accounts
 * only, and their keys (`organization:o-...`) can never be 12-digit account ids.
 */
export const ITEM_TYPE_ATTRIBUTE = 'itemType';

/** What STS accepts as an ExternalId: 2-1224 characters of this set. */
export const EXTERNAL_ID_PATTERN = /^[\w+=,.@:/-]{2,1224}$/;

/**
 * A log file ingest could not read because S3 could not decrypt it with its KMS key (SSE-KMS). Written by ingest
 * at most every few minutes per account while it lasts; the message itself still fails (it is redelivered, then
 * kept in the DLQ), so nothing is lost.
 */
export interface ReadError {
  kind: 'kms';
  /** ISO time of the failed read. */
  at: string;
  bucket: string;
  objectKey: string;
  /** S3's error code: `AccessDenied` (a policy denies kms:Decrypt), `KMS.DisabledException`, ... */
  code: string;
  /** The key named by S3's message, when it names one. */
  keyArn?: string;
  /** The role ingest read as: the principal the key policy must allow. */
  roleArn: string;
  /** S3's message, as it was (at most 1,000 characters). */
  message: string;
}

export class AccountNotRegisteredError extends CollectorError {
  constructor(readonly accountId: string) {
    super(`account ${accountId} is not registered in the accounts registry`);
  }
}

/** An AWS Organizations organization id (Organizations API Reference, Organization: `^o-[a-z0-9]{10,32}$`). */
export const ORGANIZATION_ID_PATTERN = /^o-[a-z0-9]{10,32}$/;

/** Validates what an operator types for `accounts add`; throws naming the bad field. */
export function validateRegistration(input: {
  accountId: string;
  externalId?: string;
  mode?: string;
  logArchiveFor?: string[];
}): { accountId: string; externalId: string; mode: AccountMode; logArchiveFor: string[] } {
  if (!isAccountId(input.accountId)) {
    throw new PermanentInputError(`--account-id must be 12 digits, got "${input.accountId}"`);
  }
  const mode = input.mode ?? 'apply';
  if (mode !== 'apply' && mode !== 'report') {
    throw new PermanentInputError(`--mode must be "apply" or "report", got "${mode}"`);
  }
  const externalId = input.externalId ?? generateExternalId();
  if (!EXTERNAL_ID_PATTERN.test(externalId)) {
    throw new PermanentInputError('--external-id must be 2-1224 characters of letters, digits and +=,.@:/-_');
  }
  const logArchiveFor = [...new Set(input.logArchiveFor ?? [])];
  for (const member of logArchiveFor) {
    if (!isAccountId(member) && !ORGANIZATION_ID_PATTERN.test(member)) {
      throw new PermanentInputError(
        `--log-archive-for takes 12-digit account ids or organization ids (o-...), got "${member}"`,
      );
    }
  }
  return { accountId: input.accountId, externalId, mode, logArchiveFor };
}

/** 32 random bytes, URL-safe: unguessable, so a confused deputy cannot borrow the role. */
export function generateExternalId(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * Writes an item whose key (`accountId`) is not in the table yet; an existing one is refused with
 * `alreadyRegistered` as a PermanentInputError (the accounts and the organizations share the table and its key).
 */
export async function putNewItem(
  db: DynamoDBDocumentClient,
  tableName: string,
  item: object,
  alreadyRegistered: string,
): Promise<void> {
  try {
    await db.send(
      new PutCommand({ TableName: tableName, Item: item, ConditionExpression: 'attribute_not_exists(accountId)' }),
    );
  } catch (error) {
    if ((error as { name?: string }).name === 'ConditionalCheckFailedException') {
      throw new PermanentInputError(alreadyRegistered, { cause: error });
    }
    throw error;
  }
}

/** The accounts registry: one DynamoDB item per registered account, keyed by `accountId`. */
export class AccountsRegistry {
  constructor(
    /** Shared with the organization items of the same table (organization-registry.ts). */
    readonly db: DynamoDBDocumentClient,
    readonly tableName: string,
  ) {}

  async get(accountId: string): Promise<AccountRecord | undefined> {
    const result = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: { accountId }, ConsistentRead: true }),
    );
    // Never another item type under an account's name (organization keys are not account ids anyway).
    if (result.Item === undefined || result.Item[ITEM_TYPE_ATTRIBUTE] !== undefined) return undefined;
    return result.Item as AccountRecord;
  }

  async require(accountId: string): Promise<AccountRecord> {
    const record = await this.get(accountId);
    if (!record) throw new AccountNotRegisteredError(accountId);
    return record;
  }

  /** Registers an account; refuses to overwrite an existing registration (remove it first). */
  async add(record: AccountRecord): Promise<void> {
    await putNewItem(this.db, this.tableName, record, `account ${record.accountId} is already registered`);
  }

  async list(): Promise<AccountRecord[]> {
    const items: AccountRecord[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.db.send(
        new ScanCommand({ TableName: this.tableName, ExclusiveStartKey: startKey, ConsistentRead: true }),
      );
      // Account items only: an organization item (ITEM_TYPE_ATTRIBUTE) is not an account to reconcile or list.
      items.push(...((page.Items ?? []).filter((item) => item[ITEM_TYPE_ATTRIBUTE] === undefined) as AccountRecord[]));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return items.sort((a, b) => a.accountId.localeCompare(b.accountId));
  }

  /** Returns whether an item was removed. */
  async remove(accountId: string): Promise<boolean> {
    const result = await this.db.send(
      new DeleteCommand({ TableName: this.tableName, Key: { accountId }, ReturnValues: 'ALL_OLD' }),
    );
    return result.Attributes !== undefined;
  }

  /**
   * Moves `lastRecordAt` forward (never back: concurrent ingest runs may finish out of order). Returns false
   * when the stored value was already as recent.
   */
  async recordDelivery(accountId: string, at: string): Promise<boolean> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { accountId },
          UpdateExpression: 'SET lastRecordAt = :at',
          ConditionExpression:
            'attribute_exists(accountId) AND (attribute_not_exists(lastRecordAt) OR lastRecordAt < :at)',
          ExpressionAttributeValues: { ':at': at },
        }),
      );
      return true;
    } catch (error) {
      if ((error as { name?: string }).name === 'ConditionalCheckFailedException') return false;
      throw error;
    }
  }

  /**
   * Records the last read error of an account (TRAIL_KMS_UNREADABLE), never replacing a later one (concurrent
   * ingest runs may finish out of order). Returns false when the stored one was already as recent.
   */
  async recordReadError(accountId: string, error: ReadError): Promise<boolean> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { accountId },
          UpdateExpression: 'SET lastReadError = :error',
          ConditionExpression:
            'attribute_exists(accountId) AND (attribute_not_exists(lastReadError) OR lastReadError.#at < :at)',
          ExpressionAttributeNames: { '#at': 'at' },
          ExpressionAttributeValues: { ':error': error, ':at': error.at },
        }),
      );
      return true;
    } catch (caught) {
      if ((caught as { name?: string }).name === 'ConditionalCheckFailedException') return false;
      throw caught;
    }
  }

  /**
   * Writes the fields a reconcile run owns, leaving the registration itself untouched; `remove` deletes fields of
   * a path the account no longer uses (a retired queue, mapping or hub shard).
   */
  async update(
    accountId: string,
    fields: Partial<Omit<AccountRecord, 'accountId'>>,
    remove: readonly Exclude<keyof AccountRecord, 'accountId'>[] = [],
  ): Promise<void> {
    const entries = Object.entries(fields).filter(([, value]) => value !== undefined);
    const removed = remove.filter((name) => fields[name] === undefined);
    if (entries.length === 0 && removed.length === 0) return;
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = {};
    const sets = entries.map(([name, value], index) => {
      names[`#f${index}`] = name;
      values[`:v${index}`] = value;
      return `#f${index} = :v${index}`;
    });
    const removes = removed.map((name, index) => {
      names[`#r${index}`] = name;
      return `#r${index}`;
    });
    const expression = [
      ...(sets.length > 0 ? [`SET ${sets.join(', ')}`] : []),
      ...(removes.length > 0 ? [`REMOVE ${removes.join(', ')}`] : []),
    ].join(' ');
    await this.db.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { accountId },
        UpdateExpression: expression,
        ConditionExpression: 'attribute_exists(accountId)',
        ExpressionAttributeNames: names,
        ...(sets.length > 0 ? { ExpressionAttributeValues: values } : {}),
      }),
    );
  }
}
