/**
 * In-memory stand-ins for what the ingest core talks to, for tests that run hours of virtual time or need every
 * call counted: S3 objects, a downstream that can be switched off, an accounts registry. The emulator tests use
 * moto and the local receiver instead; these are for the unit and simulation tests.
 */
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Readable } from 'node:stream';
import type { AccountRecord, AccountsRegistry } from '../lambdas/shared/registry';
import { DownstreamError } from '../lambdas/ingest/sinks/http-delivery';
import type { RecordBatch, Sink } from '../lambdas/ingest/sinks/sink';
import { KEEP_ALL } from '../lambdas/ingest/records/filters';
import type { IngestDeps } from '../lambdas/ingest/source/sqs-batch';
import type { LoggerLike } from '../lambdas/shared/logger';
import { generateRecords, logFileBody, logFileKey } from './cloudtrail-generator';
import { accountRecord } from './registry';

/** Log objects by bucket and key; every GetObject is recorded with who asked (the tenant's role) and when. */
export class MemoryS3 {
  private readonly objects = new Map<string, Buffer>();
  readonly reads: { bucket: string; key: string; expectedOwner?: string; roleArn?: string; at: number }[] = [];

  constructor(private readonly now: () => number = Date.now) {}

  /** Writes a CloudTrail log file of `records` records; returns its key and eventIDs. */
  putLogFile(params: {
    bucket: string;
    accountId: string;
    region: string;
    seed: number;
    records: number;
    time: Date;
    /** The trail's prefix and, for an organization trail, its organization id (`<prefix>/AWSLogs/o-.../<account>/`). */
    prefix?: string;
    orgId?: string;
  }): {
    key: string;
    eventIds: string[];
  } {
    const records = generateRecords(params.records, {
      accountId: params.accountId,
      region: params.region,
      seed: params.seed,
      start: params.time,
    });
    const key = logFileKey({ ...params, unique: `seed${String(params.seed).padStart(12, '0')}` });
    this.objects.set(`${params.bucket}/${key}`, logFileBody(records));
    return { key, eventIds: records.map((record) => record.eventID as string) };
  }

  /** An S3 client as one tenant's role sees the store. */
  clientFor(roleArn: string): S3Client {
    return {
      send: (command: unknown) =>
        new Promise((resolve, reject) => {
          if (!(command instanceof GetObjectCommand)) throw new Error('MemoryS3 answers GetObject only');
          const { Bucket = '', Key = '', ExpectedBucketOwner } = command.input;
          this.reads.push({
            bucket: Bucket,
            key: Key,
            ...(ExpectedBucketOwner ? { expectedOwner: ExpectedBucketOwner } : {}),
            roleArn,
            at: this.now(),
          });
          const body = this.objects.get(`${Bucket}/${Key}`);
          if (!body) {
            reject(Object.assign(new Error('The specified key does not exist.'), { name: 'NoSuchKey' }));
            return;
          }
          resolve({ Body: Readable.from([body]), ETag: `"etag-${Key.length}"` });
        }),
    } as unknown as S3Client;
  }
}

/**
 * A downstream that accepts batches (dropping a batch whose idempotency key it already accepted, as the intake
 * does) or, while `down`, fails every send the way HttpSink does once its retries are spent: DownstreamError,
 * not permanent.
 */
export class SwitchableSink implements Sink {
  readonly recordOverheadBytes = 1;
  down = false;
  sends = 0;
  failedSends = 0;
  readonly acceptedKeys = new Set<string>();
  /** eventID -> times accepted (after the key de-duplication). */
  readonly eventIds = new Map<string, number>();

  send(batch: RecordBatch, ctx: { idempotencyKey: string }): Promise<{ requests: number; bytesSent: number }> {
    this.sends += 1;
    if (this.down) {
      this.failedSends += 1;
      return Promise.reject(
        new DownstreamError(`downstream did not accept batch ${ctx.idempotencyKey} after 8 attempts: HTTP 503`, {
          status: 503,
          permanent: false,
          attempts: 8,
        }),
      );
    }
    if (!this.acceptedKeys.has(ctx.idempotencyKey)) {
      this.acceptedKeys.add(ctx.idempotencyKey);
      for (const record of batch.records) {
        const id = (JSON.parse(record.toString('utf8')) as { eventID?: string }).eventID ?? '';
        this.eventIds.set(id, (this.eventIds.get(id) ?? 0) + 1);
      }
    }
    return Promise.resolve({ requests: 1, bytesSent: 0 });
  }

  close(): void {}

  get duplicates(): number {
    let extra = 0;
    for (const times of this.eventIds.values()) extra += times - 1;
    return extra;
  }
}

/** The registry as ingest uses it (get, recordDelivery), in memory; counts lookups per account. */
export class MemoryAccounts implements Pick<AccountsRegistry, 'get' | 'recordDelivery'> {
  readonly records = new Map<string, AccountRecord>();
  readonly lookups = new Map<string, number>();

  constructor(records: (Partial<AccountRecord> & { accountId: string })[]) {
    for (const record of records) this.records.set(record.accountId, accountRecord(record, '2026-01-01T00:00:00.000Z'));
  }

  get(accountId: string): Promise<AccountRecord | undefined> {
    this.lookups.set(accountId, (this.lookups.get(accountId) ?? 0) + 1);
    const record = this.records.get(accountId);
    return Promise.resolve(record ? structuredClone(record) : undefined);
  }

  recordDelivery(): Promise<boolean> {
    return Promise.resolve(true);
  }
}

/** One line a recordingLogger kept: its level, message and fields (the extra arguments merged). */
export interface LoggedLine {
  level: string;
  message: string;
  fields: Record<string, unknown>;
}

/** A logger that keeps every line it is given, for tests that assert what was logged. */
export function recordingLogger(): { logger: LoggerLike; lines: LoggedLine[] } {
  const lines: LoggedLine[] = [];
  const logger = Object.fromEntries(
    (['debug', 'info', 'warn', 'error'] as const).map((level) => [
      level,
      (message: string, ...fields: Record<string, unknown>[]) =>
        lines.push({ level, message, fields: Object.assign({}, ...fields) as Record<string, unknown> }),
    ]),
  ) as unknown as LoggerLike;
  return { logger, lines };
}

/**
 * The forward options of the in-memory ingest tests: batches of 50 records, so a file of more makes several. A new
 * object each call: a test may change its copy (a filter, say).
 */
export function smallForward(): IngestDeps['forward'] {
  return {
    maxDecompressedBytes: 1 << 26,
    maxRecordBytes: 1 << 20,
    batchLimits: { maxBatchBytes: 1 << 22, maxBatchRecords: 50 },
    maxInFlightBatches: 2,
    filter: KEEP_ALL,
  };
}
