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
}

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

const ORG_ID = /^o-[a-z0-9]{10,32}$/;

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
  // STS accepts 2-1224 characters from this set.
  if (!/^[\w+=,.@:/-]{2,1224}$/.test(externalId)) {
    throw new PermanentInputError('--external-id must be 2-1224 characters of letters, digits and +=,.@:/-_');
  }
  const logArchiveFor = [...new Set(input.logArchiveFor ?? [])];
  for (const member of logArchiveFor) {
    if (!isAccountId(member) && !ORG_ID.test(member)) {
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

/** The accounts registry: one DynamoDB item per registered account, keyed by `accountId`. */
export class AccountsRegistry {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    readonly tableName: string,
  ) {}

  async get(accountId: string): Promise<AccountRecord | undefined> {
    const result = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: { accountId }, ConsistentRead: true }),
    );
    return result.Item as AccountRecord | undefined;
  }

  async require(accountId: string): Promise<AccountRecord> {
    const record = await this.get(accountId);
    if (!record) throw new AccountNotRegisteredError(accountId);
    return record;
  }

  /** Registers an account; refuses to overwrite an existing registration (remove it first). */
  async add(record: AccountRecord): Promise<void> {
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.tableName,
          Item: record,
          ConditionExpression: 'attribute_not_exists(accountId)',
        }),
      );
    } catch (error) {
      if ((error as { name?: string }).name === 'ConditionalCheckFailedException') {
        throw new PermanentInputError(`account ${record.accountId} is already registered`, { cause: error });
      }
      throw error;
    }
  }

  async list(): Promise<AccountRecord[]> {
    const items: AccountRecord[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.db.send(
        new ScanCommand({ TableName: this.tableName, ExclusiveStartKey: startKey, ConsistentRead: true }),
      );
      items.push(...((page.Items ?? []) as AccountRecord[]));
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

  /** Writes the fields a reconcile run owns, leaving the registration itself untouched. */
  async update(accountId: string, fields: Partial<Omit<AccountRecord, 'accountId'>>): Promise<void> {
    const entries = Object.entries(fields).filter(([, value]) => value !== undefined);
    if (entries.length === 0) return;
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = {};
    const sets = entries.map(([name, value], index) => {
      names[`#f${index}`] = name;
      values[`:v${index}`] = value;
      return `#f${index} = :v${index}`;
    });
    await this.db.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { accountId },
        UpdateExpression: `SET ${sets.join(', ')}`,
        ConditionExpression: 'attribute_exists(accountId)',
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      }),
    );
  }
}
