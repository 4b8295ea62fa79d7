import { setTimeout as sleepMs } from 'node:timers/promises';
import {
  CreateTableCommand,
  DescribeTableCommand,
  UpdateTimeToLiveCommand,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import {
  BatchWriteCommand,
  GetCommand,
  QueryCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import { awsErrorName } from './errors';

/**
 * The ledger of collected log files (docs/completeness.md): one item per log or Insight file ingest forwarded,
 * with the SHA-256 of its uncompressed bytes (what a CloudTrail digest lists), and per account and region the
 * newest file collected. It lives in its own table beside the registry, named `<registry table>-ledger` unless
 * LEDGER_TABLE says otherwise, so that listing accounts never reads a ledger item and no command needs a new
 * variable: the stack creates the table with that name, and against the emulator `ensureLedgerTable` creates it.
 *
 * Keys (both strings):
 * - a file: `pk` = `file#<account>#<region>#<YYYY-MM-DD>` (the day folder of its key), `sk` = `<bucket>/<key>`:
 *   one Query lists what was collected of a region's day, which is what a backfill and a digest compare with;
 * - the newest file of an account's region: `pk` = `newest#<account>`, `sk` = `<region>`: one Query gives every
 *   region's (freshness, and where a backfill starts).
 * Every item expires `ttlDays` after it was written (DynamoDB TTL on `expiresAt`, epoch seconds).
 */

/** Default LEDGER_TTL_DAYS: CloudTrail's own Event history keeps 90 days; longer costs storage (docs/costs.md). */
export const LEDGER_TTL_DAYS_DEFAULT = 90;

/** The ledger table's name: LEDGER_TABLE when set, else the registry table's name + `-ledger`. */
export function ledgerTableName(accountsTable: string, explicit?: string): string {
  return explicit ?? `${accountsTable}-ledger`;
}

/** One collected file, as ingest records it. */
export interface LedgerEntry {
  accountId: string;
  region: string;
  /** The key's YYYY-MM-DD folder (classifyObjectKey's `day`). */
  day: string;
  bucket: string;
  key: string;
  versionId?: string;
  etag?: string;
  kind: 'log' | 'insight';
  records: number;
  /** Uncompressed bytes, and their SHA-256 in lower-case hex (a digest's `hashValue`). */
  bytes: number;
  sha256: string;
  collectedAt: string;
}

/** The newest file collected from one account's region, by the delivery time in its name. */
export interface NewestFile {
  region: string;
  key: string;
  bucket: string;
  /** From the file name (deliveryTimeOf). */
  deliveredAt: string;
  collectedAt: string;
}

/** Items per BatchWriteItem request at most (BatchWriteItem, DynamoDB API Reference). */
export const LEDGER_BATCH_MAX = 25;
/** Unprocessed items of a BatchWriteItem are sent again this many times, after 50, 100 and 200 ms. */
const UNPROCESSED_RETRIES = 3;
const UNPROCESSED_BACKOFF_MS = 50;

const FILE = 'file';
const NEWEST = 'newest';

export function filePartition(accountId: string, region: string, day: string): string {
  return `${FILE}#${accountId}#${region}#${day}`;
}

/** `<bucket>/<key>`: a file's sort key, and how the ledger names a file in maps. */
export function fileRef(bucket: string, key: string): string {
  return `${bucket}/${key}`;
}

export class LedgerTable {
  constructor(
    readonly db: DynamoDBDocumentClient,
    readonly tableName: string,
    readonly ttlDays: number = LEDGER_TTL_DAYS_DEFAULT,
  ) {}

  private expiresAt(at: string): number {
    return Math.floor(Date.parse(at) / 1000) + this.ttlDays * 86_400;
  }

  private itemOf(entry: LedgerEntry): Record<string, unknown> {
    return {
      pk: filePartition(entry.accountId, entry.region, entry.day),
      sk: fileRef(entry.bucket, entry.key),
      ...entry,
      expiresAt: this.expiresAt(entry.collectedAt),
    };
  }

  /** Records one collected file (the CLI and tests; ingest writes a batch's files with `recordBatch`). */
  async record(entry: LedgerEntry): Promise<void> {
    if ((await this.recordBatch([entry])).length > 0) {
      throw new Error(`ledger item of ${fileRef(entry.bucket, entry.key)} left unprocessed by DynamoDB`);
    }
  }

  /**
   * Records up to LEDGER_BATCH_MAX collected files of distinct keys in one BatchWriteItem (a later collection of the
   * same key replaces its item: its hash is the newest bytes'). Items DynamoDB leaves unprocessed (throttling of a
   * partition) are sent again after a backoff, up to `UNPROCESSED_RETRIES` times; the entries still unwritten then
   * are returned. A failed request throws (the SDK has retried throttling of the whole request by then). Keys must be
   * distinct: DynamoDB refuses a request that names one item twice (ValidationException, BatchWriteItem, DynamoDB API
   * Reference).
   */
  async recordBatch(entries: readonly LedgerEntry[]): Promise<LedgerEntry[]> {
    if (entries.length > LEDGER_BATCH_MAX) {
      throw new RangeError(`at most ${LEDGER_BATCH_MAX} files per BatchWriteItem, got ${entries.length}`);
    }
    const keyOf = (item: Record<string, unknown>) => `${String(item.pk)}\u0000${String(item.sk)}`;
    const byKey = new Map<string, LedgerEntry>();
    let requests = entries.map((entry) => {
      const item = this.itemOf(entry);
      byKey.set(keyOf(item), entry);
      return { PutRequest: { Item: item } };
    });
    for (let retry = 0; ; retry++) {
      const result = await this.db.send(new BatchWriteCommand({ RequestItems: { [this.tableName]: requests } }));
      requests = (result.UnprocessedItems?.[this.tableName] ?? []).flatMap(({ PutRequest }) =>
        PutRequest?.Item ? [{ PutRequest: { Item: PutRequest.Item } }] : [],
      );
      if (requests.length === 0 || retry === UNPROCESSED_RETRIES) break;
      await sleepMs(UNPROCESSED_BACKOFF_MS * 2 ** retry);
    }
    return requests.flatMap(({ PutRequest }) => byKey.get(keyOf(PutRequest.Item)) ?? []);
  }

  /** Moves a region's newest file forward (never back: ingest runs finish out of order). False when not newer. */
  async noteNewest(accountId: string, newest: NewestFile): Promise<boolean> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: `${NEWEST}#${accountId}`, sk: newest.region },
          UpdateExpression:
            'SET accountId = :account, #region = :region, #key = :key, #bucket = :bucket, deliveredAt = :delivered, ' +
            'collectedAt = :collected, expiresAt = :expires',
          ConditionExpression: 'attribute_not_exists(deliveredAt) OR deliveredAt < :delivered',
          // REGION, KEY and BUCKET are reserved words ("Reserved words in DynamoDB", DynamoDB Developer Guide).
          ExpressionAttributeNames: { '#region': 'region', '#key': 'key', '#bucket': 'bucket' },
          ExpressionAttributeValues: {
            ':account': accountId,
            ':region': newest.region,
            ':key': newest.key,
            ':bucket': newest.bucket,
            ':delivered': newest.deliveredAt,
            ':collected': newest.collectedAt,
            ':expires': this.expiresAt(newest.collectedAt),
          },
        }),
      );
      return true;
    } catch (error) {
      if (awsErrorName(error) === 'ConditionalCheckFailedException') return false;
      throw error;
    }
  }

  /** One file, or undefined when it was never collected (or its item expired). */
  async get(
    accountId: string,
    region: string,
    day: string,
    bucket: string,
    key: string,
  ): Promise<LedgerEntry | undefined> {
    const result = await this.db.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { pk: filePartition(accountId, region, day), sk: fileRef(bucket, key) },
      }),
    );
    return result.Item === undefined ? undefined : entryOf(result.Item);
  }

  /** Every file collected of one account's region and day, by fileRef. */
  async collectedOn(accountId: string, region: string, day: string): Promise<Map<string, LedgerEntry>> {
    const files = new Map<string, LedgerEntry>();
    for (const item of await this.query(filePartition(accountId, region, day))) {
      const entry = entryOf(item);
      files.set(fileRef(entry.bucket, entry.key), entry);
    }
    return files;
  }

  /** The newest file collected per region of an account. */
  async newest(accountId: string): Promise<Map<string, NewestFile>> {
    const regions = new Map<string, NewestFile>();
    for (const item of await this.query(`${NEWEST}#${accountId}`)) {
      regions.set(String(item.region), {
        region: String(item.region),
        key: String(item.key),
        bucket: String(item.bucket),
        deliveredAt: String(item.deliveredAt),
        collectedAt: String(item.collectedAt),
      });
    }
    return regions;
  }

  private async query(pk: string): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.db.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': pk },
          ExclusiveStartKey: startKey,
        }),
      );
      items.push(...(page.Items ?? []));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return items;
  }
}

function entryOf(item: Record<string, unknown>): LedgerEntry {
  const { pk: _pk, sk: _sk, expiresAt: _expires, ...entry } = item;
  return entry as unknown as LedgerEntry;
}

/**
 * Creates the ledger table when it does not exist (the CLI and the sandbox against the emulator; the stack creates
 * it in AWS): on-demand, the two string keys, TTL on `expiresAt`. Returns whether it was created.
 */
export async function ensureLedgerTable(db: DynamoDBDocumentClient, tableName: string): Promise<boolean> {
  // The document client sends the low-level commands unchanged (it marshals only lib-dynamodb's).
  const client = db;
  try {
    await client.send(new DescribeTableCommand({ TableName: tableName }));
    return false;
  } catch (error) {
    if (awsErrorName(error) !== 'ResourceNotFoundException') throw error;
  }
  try {
    await client.send(
      new CreateTableCommand({
        TableName: tableName,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'S' },
        ],
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
      }),
    );
  } catch (error) {
    // Another process created it first.
    if (awsErrorName(error) !== 'ResourceInUseException') throw error;
    return false;
  }
  await waitUntilTableExists({ client: client, maxWaitTime: 60 }, { TableName: tableName });
  await client.send(
    new UpdateTimeToLiveCommand({
      TableName: tableName,
      TimeToLiveSpecification: { Enabled: true, AttributeName: 'expiresAt' },
    }),
  );
  return true;
}

/**
 * A backfill message for the collector's backfill queue (hub topology; docs/completeness.md, "The ledger"):
 * CloudTrail's notification plus the account it is for, which ingest accepts only from BACKFILL_QUEUE_ARN
 * (lambdas/ingest/source/notifications.ts, parseBackfillMessage). The customer-queue topology needs none of this:
 * a plain CloudTrail notification sent to the account's own queue is bound to the queue's owner.
 */
export const BACKFILL_MARKER = 'cloudtrailCollectorBackfill';
/** The value of BACKFILL_MARKER: the format's version. */
export const BACKFILL_FORMAT_VERSION = 1;
/** At most this many keys per backfill message. */
export const MAX_BACKFILL_KEYS = 10;

/** The body of one backfill message (throws for more than MAX_BACKFILL_KEYS keys or none). */
export function backfillMessageBody(accountId: string, bucket: string, keys: readonly string[]): string {
  if (keys.length === 0 || keys.length > MAX_BACKFILL_KEYS) {
    throw new RangeError(`a backfill message names 1 to ${MAX_BACKFILL_KEYS} keys, got ${keys.length}`);
  }
  return JSON.stringify({ [BACKFILL_MARKER]: BACKFILL_FORMAT_VERSION, accountId, s3Bucket: bucket, s3ObjectKey: keys });
}
