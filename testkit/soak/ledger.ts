/**
 * The soak's check of the ledger (lambdas/shared/ledger.ts, docs/completeness.md): what ingest wrote to the ledger
 * table while it ran, compared with the files the workload generated, and what those writes cost.
 * - `LedgerWriteMeter` counts, on the DynamoDB clients ingest builds, every item put (BatchWriteItem's put
 *   requests that DynamoDB processed; PutItem) and UpdateItem sent to the ledger table (once per call, whatever the
 *   SDK retried) with the size of each item put, as DynamoDB bills them (per item, batched or not).
 * - `readLedger` reads the table back (one Scan: the emulator; production reads a partition per region and day).
 * - `ledgerFigures` says which collected files lack their item, which items have another hash or record count than
 *   the file as generated, and the write request units and dollars per million files.
 * Pricing: on-demand, one write request unit per 1 KB of item written, $0.625 per million write request units
 * (us-east-1, https://aws.amazon.com/dynamodb/pricing/on-demand/). A conditional write whose condition is false
 * still consumes write capacity, at least one unit ("Condition expressions", DynamoDB Developer Guide,
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.ConditionExpressions.html): the
 * newest-file updates that found a newer file are counted too.
 */
import { ScanCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { IngestClients } from '../../lambdas/ingest/runtime';
import { awsClients } from '../../lambdas/shared/aws-clients';
import { awsErrorName } from '../../lambdas/shared/errors';
import { fileRef } from '../../lambdas/shared/ledger';
import { deliveryTimeOf } from '../../lambdas/shared/object-key';
import { itemSize, writeUnits } from '../dynamodb-item-size';
import type { GeneratedFile } from './plan';

/** On-demand write request units, us-east-1 (https://aws.amazon.com/dynamodb/pricing/on-demand/). */
export const USD_PER_MILLION_WRITE_UNITS = 0.625;

/** The ledger writes ingest sent, as DynamoDB bills them. */
export interface LedgerWriteCounts {
  /** Items put (one per file collected, a redelivered file again), by BatchWriteItem or PutItem. */
  puts: number;
  /** Their write request units: ceil(item size / 1 KB) each. */
  putUnits: number;
  /** The sizes of the items put, by DynamoDB's rules. */
  putBytesMax: number;
  /** UpdateItem calls on newest-file items, those whose condition failed (a newer file there) included. */
  updates: number;
  updatesNotNewer: number;
  /** Calls that failed otherwise (throttled, the emulator unreachable...): not billed. */
  failed: number;
}

/** The part of an SDK v3 client's middleware stack used here (as bench/e2e-child.ts). */
type BuildArgs = { request?: { headers?: Record<string, string>; body?: unknown } };
type MarshalledItem = Record<string, { S?: string; N?: string }>;
type Handler = (args: BuildArgs) => Promise<unknown>;
interface WithMiddleware {
  middlewareStack: {
    add(middleware: (next: Handler) => Handler, options: { step: 'build'; name: string; override: boolean }): void;
  };
}

/**
 * Counts the ledger writes of every DynamoDB client made by `clients`. At the build step the request is the
 * serialized one (marshalled item, `X-Amz-Target`), and the retry middleware (finalizeRequest) runs below it, so
 * each call is counted once.
 */
export class LedgerWriteMeter {
  readonly counts: LedgerWriteCounts = {
    puts: 0,
    putUnits: 0,
    putBytesMax: 0,
    updates: 0,
    updatesNotNewer: 0,
    failed: 0,
  };

  constructor(readonly tableName: string) {}

  /** `base` with its DynamoDB document clients metered. */
  clients(base: IngestClients = awsClients): IngestClients {
    return {
      ...base,
      dynamoDocument: (options) => {
        const client = base.dynamoDocument(options);
        (client as unknown as WithMiddleware).middlewareStack.add((next) => (args) => this.meter(next, args), {
          step: 'build',
          name: 'soakLedgerWriteMeter',
          override: true,
        });
        return client;
      },
    };
  }

  private async meter(next: Handler, args: BuildArgs): Promise<unknown> {
    const headers = args.request?.headers ?? {};
    const target = Object.entries(headers).find(([name]) => name.toLowerCase() === 'x-amz-target')?.[1] ?? '';
    const operation = target.split('.')[1];
    if (operation !== 'PutItem' && operation !== 'UpdateItem' && operation !== 'BatchWriteItem') return next(args);
    const body = args.request?.body;
    // A string, or bytes (the JSON protocol's codec serializes to a Uint8Array).
    const text =
      typeof body === 'string'
        ? body
        : body instanceof Uint8Array
          ? Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8')
          : '{}';
    const input = JSON.parse(text) as {
      TableName?: string;
      Item?: MarshalledItem;
      RequestItems?: Record<string, { PutRequest?: { Item: MarshalledItem } }[]>;
    };
    if (operation === 'BatchWriteItem') return this.meterBatch(next, args, input.RequestItems?.[this.tableName]);
    if (input.TableName !== this.tableName) return next(args);
    const size = operation === 'PutItem' && input.Item ? itemSize(plainItem(input.Item)) : 0;
    try {
      const result = await next(args);
      this.billed(operation, size);
      return result;
    } catch (error) {
      if (operation === 'UpdateItem' && awsErrorName(error) === 'ConditionalCheckFailedException') {
        this.counts.updatesNotNewer += 1;
        this.billed(operation, size);
      } else this.counts.failed += 1;
      throw error;
    }
  }

  /** A BatchWriteItem of ledger items: each put request DynamoDB processed (not among UnprocessedItems) is billed. */
  private async meterBatch(
    next: Handler,
    args: BuildArgs,
    requests: { PutRequest?: { Item: MarshalledItem } }[] | undefined,
  ): Promise<unknown> {
    if (requests === undefined) return next(args);
    // The request is marshalled; the output is unmarshalled by then (lib-dynamodb's step runs at deserialize).
    const text = (value: unknown) => (typeof value === 'string' ? value : ((value as { S?: string })?.S ?? ''));
    const keyOf = (item: Record<string, unknown>) => `${text(item.pk)}\u0000${text(item.sk)}`;
    let result: unknown;
    try {
      result = await next(args);
    } catch (error) {
      this.counts.failed += 1;
      throw error;
    }
    const output = (
      result as { output?: { UnprocessedItems?: Record<string, { PutRequest?: { Item: Record<string, unknown> } }[]> } }
    ).output;
    const unprocessed = new Set(
      (output?.UnprocessedItems?.[this.tableName] ?? []).flatMap(({ PutRequest }) =>
        PutRequest ? [keyOf(PutRequest.Item)] : [],
      ),
    );
    for (const { PutRequest } of requests) {
      if (PutRequest && !unprocessed.has(keyOf(PutRequest.Item))) {
        this.billed('PutItem', itemSize(plainItem(PutRequest.Item)));
      }
    }
    return result;
  }

  private billed(operation: 'PutItem' | 'UpdateItem', size: number): void {
    if (operation === 'UpdateItem') {
      this.counts.updates += 1;
      return;
    }
    this.counts.puts += 1;
    this.counts.putUnits += writeUnits(size);
    this.counts.putBytesMax = Math.max(this.counts.putBytesMax, size);
  }
}

/** A marshalled item of strings and numbers (what ledger items hold) as plain values, for itemSize. */
function plainItem(item: MarshalledItem): Record<string, unknown> {
  const plain: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(item)) {
    if (value.S !== undefined) plain[name] = value.S;
    else if (value.N !== undefined) plain[name] = Number(value.N);
    else throw new Error(`ledger item attribute ${name}: expected a string or a number, got ${JSON.stringify(value)}`);
  }
  return plain;
}

/** Every item of the ledger table. */
export async function readLedger(db: DynamoDBDocumentClient, tableName: string): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await db.send(new ScanCommand({ TableName: tableName, ExclusiveStartKey: startKey }));
    items.push(...(page.Items ?? []));
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return items;
}

export interface LedgerFigures {
  table: string;
  /** File items (`file#...` partitions) and newest-file items (`newest#...`) in the table at the end. */
  fileItems: number;
  newestItems: number;
  /** Distinct readable log files the workload delivered (not deleted before read, not poison, log keys). */
  filesDelivered: number;
  /** Of them, those whose every record reached the downstream. */
  filesCollected: number;
  /** Collected files without a ledger item: 0 unless a ledger write failed (`writeFailed`). */
  collectedNotInLedger: number;
  /** Items whose sha256 is not the SHA-256 of the file's uncompressed bytes as generated. */
  hashMismatch: number;
  /** Items whose record count or uncompressed size is not the file's. */
  recordsMismatch: number;
  bytesMismatch: number;
  /** File items for no generated file. */
  unexpectedItems: number;
  /** `bucket/key` of a few of each, for diagnosis. */
  samples: { notInLedger: string[]; hashMismatch: string[]; recordsMismatch: string[]; unexpected: string[] };
  /**
   * Per account and region: the newest file recorded, whether it is the newest collected, and how far behind it is
   * by the delivery times in their names. Ingest moves it at most every DELIVERY_MARK_INTERVAL_MS per process
   * (ledger-writes.ts), and the soak's file names run 1 minute apart for each message, far faster than real time:
   * a lag here is the mark interval, not a lost write.
   */
  newest: { accountId: string; region: string; key: string; newestCollected: boolean; behindMinutes: number }[];
  /** `LedgerWriteFailed` from ingest's counts. */
  writeFailed: number;
  /** Stored item sizes by DynamoDB's rules (testkit/dynamodb-item-size.ts). */
  itemBytes: { fileMean: number; fileMax: number; newestMax: number };
  writes: LedgerWriteCounts & {
    /** Write request units: the puts' plus one per newest-file update (ceil(size / 1 KB) of the larger item). */
    units: number;
    unitsPerFile: number;
    usdPerMillionFiles: number;
  };
}

export function ledgerFigures(input: {
  table: string;
  items: readonly Record<string, unknown>[];
  files: readonly GeneratedFile[];
  /** eventIDs the downstream accepted. */
  received: { has(eventId: string): boolean };
  writes: LedgerWriteCounts;
  writeFailed: number;
}): LedgerFigures {
  const fileItems = new Map<string, Record<string, unknown>>();
  const newestItems: Record<string, unknown>[] = [];
  for (const item of input.items) {
    const pk = String(item.pk);
    if (pk.startsWith('file#')) fileItems.set(String(item.sk), item);
    else if (pk.startsWith('newest#')) newestItems.push(item);
  }
  const samples: LedgerFigures['samples'] = { notInLedger: [], hashMismatch: [], recordsMismatch: [], unexpected: [] };
  const sample = (list: string[], ref: string) => {
    if (list.length < 5) list.push(ref);
  };
  let collected = 0;
  let notInLedger = 0;
  let hashMismatch = 0;
  let recordsMismatch = 0;
  let bytesMismatch = 0;
  const generated = new Set<string>();
  /** The newest collected file's key per account (one region in the soak), by the name's delivery time. */
  const newestCollected = new Map<string, string>();
  for (const file of input.files) {
    const ref = fileRef(file.bucket, file.key);
    generated.add(ref);
    const item = fileItems.get(ref);
    if (item) {
      if (item.sha256 !== file.sha256) {
        hashMismatch++;
        sample(samples.hashMismatch, ref);
      }
      if (item.records !== file.records) {
        recordsMismatch++;
        sample(samples.recordsMismatch, `${ref} (${String(item.records)} recorded, ${file.records} generated)`);
      }
      if (item.bytes !== file.bytes) bytesMismatch++;
    }
    if (!file.eventIds.every((id) => input.received.has(id))) continue;
    collected++;
    // Keys of one account and region sort by their delivery time (the name's YYYYMMDDTHHmmZ).
    const known = newestCollected.get(file.accountId);
    if (known === undefined || fileName(file.key) > fileName(known)) newestCollected.set(file.accountId, file.key);
    if (!item) {
      notInLedger++;
      sample(samples.notInLedger, ref);
    }
  }
  let unexpected = 0;
  for (const ref of fileItems.keys()) {
    if (generated.has(ref)) continue;
    unexpected++;
    sample(samples.unexpected, ref);
  }
  const fileSizes = [...fileItems.values()].map(itemSize);
  const newestSizes = newestItems.map(itemSize);
  const newestMax = Math.max(0, ...newestSizes);
  const units = input.writes.putUnits + (input.writes.updates + input.writes.updatesNotNewer) * writeUnits(newestMax);
  const unitsPerFile = fileItems.size === 0 ? 0 : units / fileItems.size;
  return {
    table: input.table,
    fileItems: fileItems.size,
    newestItems: newestItems.length,
    filesDelivered: input.files.length,
    filesCollected: collected,
    collectedNotInLedger: notInLedger,
    hashMismatch,
    recordsMismatch,
    bytesMismatch,
    unexpectedItems: unexpected,
    samples,
    newest: newestItems.map((item) => {
      const accountId = String(item.accountId);
      const newestKey = newestCollected.get(accountId);
      const at = (key: string | undefined) => (key === undefined ? undefined : deliveryTimeOf(key)?.getTime());
      const recordedAt = at(String(item.key));
      const collectedAt = at(newestKey);
      return {
        accountId,
        region: String(item.region),
        key: String(item.key),
        newestCollected: newestKey === item.key,
        behindMinutes:
          recordedAt === undefined || collectedAt === undefined ? 0 : Math.max(0, (collectedAt - recordedAt) / 60_000),
      };
    }),
    writeFailed: input.writeFailed,
    itemBytes: {
      fileMean: fileSizes.length === 0 ? 0 : Math.round(fileSizes.reduce((a, b) => a + b, 0) / fileSizes.length),
      fileMax: Math.max(0, ...fileSizes),
      newestMax,
    },
    writes: {
      ...input.writes,
      units,
      unitsPerFile: Math.round(unitsPerFile * 1000) / 1000,
      usdPerMillionFiles: Math.round(unitsPerFile * USD_PER_MILLION_WRITE_UNITS * 1000) / 1000,
    },
  };
}

/** The file name of a CloudTrail key (`<account>_CloudTrail_<region>_<YYYYMMDDTHHmmZ>_<unique>.json.gz`). */
function fileName(key: string): string {
  return key.slice(key.lastIndexOf('/') + 1);
}

/** What is wrong with the ledger, for the soak's verdict (report.ts). */
export function ledgerProblems(figures: LedgerFigures): string[] {
  const problems: string[] = [];
  if (figures.collectedNotInLedger > 0 && figures.writeFailed === 0) {
    problems.push(
      `${figures.collectedNotInLedger} collected files have no ledger item while no ledger write failed ` +
        `(${figures.samples.notInLedger.join(', ')})`,
    );
  }
  if (figures.hashMismatch > 0) {
    problems.push(
      `${figures.hashMismatch} ledger items have another SHA-256 than their file (${figures.samples.hashMismatch.join(', ')})`,
    );
  }
  if (figures.recordsMismatch > 0) {
    problems.push(
      `${figures.recordsMismatch} ledger items have another record count than their file (${figures.samples.recordsMismatch.join(', ')})`,
    );
  }
  if (figures.bytesMismatch > 0) {
    problems.push(`${figures.bytesMismatch} ledger items have another uncompressed size than their file`);
  }
  if (figures.unexpectedItems > 0) {
    problems.push(
      `${figures.unexpectedItems} ledger items for files nobody generated (${figures.samples.unexpected.join(', ')})`,
    );
  }
  return problems;
}
