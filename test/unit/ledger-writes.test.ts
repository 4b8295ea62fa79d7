/**
 * Ingest's ledger writes (lambdas/ingest/source/ledger-writes.ts, sqs-batch.ts): one entry per log or Insight file
 * once all its batches were acknowledged, under the account, region and day of its key, with the SHA-256 of its
 * uncompressed bytes; the newest file per account and region, moved forward at most every few minutes per process;
 * best effort (a failed write never fails a delivered message), a missing table warned about once. In-memory S3,
 * registry and downstream; the ledger is a fake, or the real LedgerTable over a mocked DynamoDB client.
 */
import { BatchWriteCommand, UpdateCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { SQSRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { gunzipSync, gzipSync } from 'node:zlib';
import { loadIngestConfig } from '../../lambdas/ingest/config';
import { KEEP_ALL } from '../../lambdas/ingest/records/filters';
import { CountTally } from '../../lambdas/ingest/runtime';
import { LedgerWrites, type LedgerStore } from '../../lambdas/ingest/source/ledger-writes';
import { DELIVERY_MARK_INTERVAL_MS } from '../../lambdas/ingest/source/registry-marks';
import { processSqsBatch, type IngestDeps } from '../../lambdas/ingest/source/sqs-batch';
import { LEDGER_TTL_DAYS_DEFAULT, LedgerTable, type LedgerEntry, type NewestFile } from '../../lambdas/shared/ledger';
import { cloudTrailNotification } from '../../testkit/demo-chain';
import { MemoryAccounts, MemoryS3, SwitchableSink, recordingLogger, smallForward } from '../../testkit/ingest-fakes';
import { VirtualClock } from '../../testkit/virtual-sqs';

const REGION = 'us-east-1';
const A = '111122223333';
const MEMBER = '444455556666';
const QUEUE = `arn:aws:sqs:${REGION}:${A}:outcomesqueue`;
const BUCKET = `outcomes-${A}`;
const DAY = '2026-11-01';

/** Records what ingest writes; `fail` makes every call reject with an AWS-style error of that name. */
class FakeLedger implements LedgerStore {
  readonly tableName = 'accounts-test-ledger';
  readonly entries: LedgerEntry[] = [];
  readonly newest: { accountId: string; newest: NewestFile }[] = [];
  calls = 0;
  fail: string | undefined;

  /** One call per BatchWriteItem; `unprocessed` of them are left over, as DynamoDB returns them. */
  unprocessed = 0;
  readonly batches: number[] = [];

  recordBatch(entries: readonly LedgerEntry[]): Promise<LedgerEntry[]> {
    this.calls += 1;
    if (this.fail) return Promise.reject(Object.assign(new Error(`${this.fail} (fake)`), { name: this.fail }));
    this.batches.push(entries.length);
    const left = entries.slice(entries.length - Math.min(this.unprocessed, entries.length));
    this.entries.push(...entries.slice(0, entries.length - left.length));
    return Promise.resolve(left);
  }

  noteNewest(accountId: string, newest: NewestFile): Promise<boolean> {
    this.calls += 1;
    if (this.fail) return Promise.reject(Object.assign(new Error(`${this.fail} (fake)`), { name: this.fail }));
    this.newest.push({ accountId, newest });
    return Promise.resolve(true);
  }
}

function world(table: LedgerStore = new FakeLedger()) {
  const clock = new VirtualClock();
  clock.set(Date.UTC(2026, 10, 1, 1, 0));
  const s3 = new MemoryS3(clock.now);
  // Objects the generator does not write (0 bytes, no Records), answered before the memory S3.
  const extra = new Map<string, Buffer>();
  const sink = new SwitchableSink();
  const accounts = new MemoryAccounts([{ accountId: A, logArchiveFor: [MEMBER] }]);
  const tally = new CountTally();
  const { logger, lines } = recordingLogger();
  const ledger = new LedgerWrites(table, clock.now);
  const deps: IngestDeps = {
    registry: accounts,
    credentials: { providerFor: () => () => Promise.reject(new Error('no credentials needed')) },
    s3ForTenant: (tenant) => {
      const memory = s3.clientFor(tenant.roleArn);
      return {
        send: (command: GetObjectCommand) => {
          const body = extra.get(`${command.input.Bucket}/${command.input.Key}`);
          if (body === undefined) return memory.send(command);
          return Promise.resolve({ Body: Readable.from([body]), ContentLength: body.length, VersionId: 'v-extra' });
        },
      } as unknown as S3Client;
    },
    logger,
    counts: tally,
    customerRoleName: 'CloudTrailCollectorRole',
    forward: smallForward(),
    messageConcurrency: 4,
    sink,
    ledger,
  };
  let seed = 0;
  /** A gzip log file delivered at 00:<minute> of DAY (by its name), of `logAccount`'s path. */
  const logFile = (minute: number, records = 20, logAccount = A) =>
    s3.putLogFile({
      bucket: BUCKET,
      accountId: logAccount,
      region: REGION,
      seed: ++seed,
      records,
      time: new Date(Date.UTC(2026, 10, 1, 0, minute)),
    });
  let messageId = 0;
  const message = (keys: string[]): SQSRecord =>
    ({
      messageId: `m${++messageId}`,
      receiptHandle: `r${messageId}`,
      body: cloudTrailNotification(BUCKET, keys),
      attributes: { ApproximateReceiveCount: '1' },
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: QUEUE,
      awsRegion: REGION,
    }) as unknown as SQSRecord;
  const run = (...messages: SQSRecord[]) => processSqsBatch(messages, deps, Date.now() + 60_000);
  return { clock, s3, extra, sink, tally, lines, deps, ledger, logFile, message, run };
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

const warnings = (lines: { level: string; message: string }[]) => lines.filter((line) => line.level === 'warn');

describe('a delivered file is recorded', () => {
  test('after every batch was acknowledged: account, region and day of its key, sha256 and size of the JSON', async () => {
    const table = new FakeLedger();
    const w = world(table);
    const own = w.logFile(5, 120); // 3 batches of at most 50
    const member = w.logFile(7, 4, MEMBER); // a member account's file in the log archive's bucket
    const result = await w.run(w.message([own.key, member.key]));
    expect(result.batchItemFailures).toEqual([]);

    const stored = (key: string) => w.s3.clientFor('any').send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    const body = async (key: string) => {
      const chunks: Buffer[] = [];
      for await (const chunk of ((await stored(key)) as { Body: AsyncIterable<Buffer> }).Body) chunks.push(chunk);
      return gunzipSync(Buffer.concat(chunks));
    };
    const ownJson = await body(own.key);
    expect(table.entries).toEqual([
      {
        accountId: A,
        region: REGION,
        day: DAY,
        bucket: BUCKET,
        key: own.key,
        etag: `"etag-${own.key.length}"`,
        kind: 'log',
        records: 120,
        bytes: ownJson.length,
        sha256: sha256(ownJson),
        collectedAt: new Date(w.clock.now()).toISOString(),
      },
      expect.objectContaining({
        accountId: MEMBER,
        key: member.key,
        records: 4,
        sha256: sha256(await body(member.key)),
      }),
    ]);
    // The newest file of each account's region, by the delivery time in its name.
    expect(table.newest).toEqual([
      {
        accountId: A,
        newest: {
          region: REGION,
          key: own.key,
          bucket: BUCKET,
          deliveredAt: '2026-11-01T00:05:00.000Z',
          collectedAt: new Date(w.clock.now()).toISOString(),
        },
      },
      {
        accountId: MEMBER,
        newest: expect.objectContaining({ key: member.key, deliveredAt: '2026-11-01T00:07:00.000Z' }),
      },
    ]);
    expect(w.tally.get('LedgerWriteFailed')).toBe(0);
  });

  test('a 0-byte file and a file without Records are recorded with 0 records; a missing file and a digest are not', async () => {
    const table = new FakeLedger();
    const w = world(table);
    const prefix = `AWSLogs/${A}/CloudTrail/${REGION}/2026/11/01/${A}_CloudTrail_${REGION}`;
    const empty = `${prefix}_20261101T0010Z_empty.json.gz`;
    const noRecords = `${prefix}_20261101T0011Z_norecords.json.gz`;
    const notRecords = Buffer.from('{"note":"not a log file"}');
    w.extra.set(`${BUCKET}/${empty}`, Buffer.alloc(0));
    w.extra.set(`${BUCKET}/${noRecords}`, gzipSync(notRecords));
    const missing = `${prefix}_20261101T0012Z_missing.json.gz`;
    const digest = `AWSLogs/${A}/CloudTrail-Digest/${REGION}/2026/11/01/${A}_CloudTrail-Digest_${REGION}_t_${REGION}_20261101T001300Z.json.gz`;
    const result = await w.run(w.message([empty, noRecords, missing, digest]));

    expect(result.outcomes.get('m1')).toMatchObject({ status: 'forwarded', objects: 3, records: 0 });
    expect(table.entries).toEqual([
      expect.objectContaining({
        key: empty,
        records: 0,
        bytes: 0,
        sha256: sha256(Buffer.alloc(0)),
        versionId: 'v-extra',
      }),
      expect.objectContaining({ key: noRecords, records: 0, bytes: notRecords.length, sha256: sha256(notRecords) }),
    ]);
    expect(table.newest.map((n) => n.newest.key)).toEqual([noRecords]);
  });

  test('a file whose batches were not all accepted is not recorded (the message is retried)', async () => {
    const table = new FakeLedger();
    const w = world(table);
    w.sink.down = true;
    const file = w.logFile(5);
    const result = await w.run(w.message([file.key]));
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: 'm1' }]);
    expect(table.entries).toEqual([]);
    expect(table.newest).toEqual([]);
  });

  test('filtered records: the file is recorded with the records it holds', async () => {
    const table = new FakeLedger();
    const w = world(table);
    const file = w.logFile(5, 10);
    w.deps.forward.filter = { ...KEEP_ALL, dropReadOnly: true };
    await w.run(w.message([file.key]));
    const forwarded = w.sink.eventIds.size;
    expect(forwarded).toBeLessThan(10);
    expect(table.entries).toEqual([expect.objectContaining({ key: file.key, records: 10 })]);
  });
});

describe('written per SQS batch', () => {
  test('one BatchWriteItem per 25 files, all at once, before the batch answers; a key collected twice is written once', async () => {
    const table = new FakeLedger();
    const w = world(table);
    const files = Array.from({ length: 27 }, (_, i) => w.logFile(i + 1, 2));
    const twice = w.message([files[0]!.key]);
    const result = await w.run(...files.map((file) => w.message([file.key])), twice);
    expect(result.batchItemFailures).toEqual([]);
    expect(table.batches).toEqual([25, 2]);
    expect(table.entries.map((entry) => entry.key).sort()).toEqual(files.map((file) => file.key).sort());
  });

  test('a file of a message that failed later is recorded: its records were delivered', async () => {
    const table = new FakeLedger();
    const w = world(table);
    const good = w.logFile(5);
    const broken = `AWSLogs/${A}/CloudTrail/${REGION}/2026/11/01/${A}_CloudTrail_${REGION}_20261101T0010Z_broken.json.gz`;
    w.extra.set(`${BUCKET}/${broken}`, gzipSync('{"Records":[{"eventID":'));
    const result = await w.run(w.message([good.key, broken]));
    expect(result.outcomes.get('m1')).toMatchObject({ status: 'failed', poison: true });
    expect(table.entries.map((entry) => entry.key)).toEqual([good.key]);
  });

  test('items left unprocessed after the retries: counted per file, logged once, the others recorded', async () => {
    const table = new FakeLedger();
    table.unprocessed = 1;
    const w = world(table);
    const result = await w.run(w.message([w.logFile(1).key]), w.message([w.logFile(2).key]));
    expect(result.batchItemFailures).toEqual([]);
    expect(table.entries).toHaveLength(1);
    expect(w.tally.get('LedgerWriteFailed')).toBe(1);
    expect(warnings(w.lines).map((line) => line.message)).toEqual([
      expect.stringContaining('ledger write failed (UnprocessedItems)'),
    ]);
  });
});

describe('the newest file per account and region', () => {
  test('written at most every DELIVERY_MARK_INTERVAL_MS per process, never moved back, the newest kept for the next write', async () => {
    const table = new FakeLedger();
    const w = world(table);
    await w.run(w.message([w.logFile(5).key]));
    expect(table.newest.map((n) => n.newest.deliveredAt)).toEqual(['2026-11-01T00:05:00.000Z']);

    // Within the interval: recorded, but the newest is not written again.
    w.clock.advance(60_000);
    const ten = w.logFile(10);
    await w.run(w.message([ten.key]));
    await w.run(w.message([w.logFile(8).key])); // older than one already seen
    expect(table.newest).toHaveLength(1);
    expect(table.entries).toHaveLength(3);

    // Once due, the newest seen meanwhile is written, not the last one processed.
    w.clock.advance(DELIVERY_MARK_INTERVAL_MS);
    await w.run(w.message([w.logFile(9).key]));
    expect(table.newest.map((n) => n.newest.key)).toEqual([expect.any(String), ten.key]);

    // An older file than the one written never moves it back, even when due.
    w.clock.advance(DELIVERY_MARK_INTERVAL_MS);
    await w.run(w.message([w.logFile(1).key]));
    expect(table.newest).toHaveLength(2);
  });
});

describe('best effort', () => {
  test('a missing table: warned about once, counted once, nothing more is tried; every message is delivered', async () => {
    const table = new FakeLedger();
    table.fail = 'ResourceNotFoundException';
    const w = world(table);
    const first = await w.run(w.message([w.logFile(1).key, w.logFile(2).key]), w.message([w.logFile(3).key]));
    w.clock.advance(DELIVERY_MARK_INTERVAL_MS);
    const second = await w.run(w.message([w.logFile(4).key]));

    expect([...first.outcomes.values(), ...second.outcomes.values()].every((o) => o.status === 'forwarded')).toBe(true);
    expect(w.sink.eventIds.size).toBe(80);
    // One BatchWriteItem for the first batch's 3 files; nothing is tried after it.
    expect(table.calls).toBe(1);
    expect(w.tally.get('LedgerWriteFailed')).toBe(3);
    const warned = warnings(w.lines);
    expect(warned).toHaveLength(1);
    expect(warned[0]!.message).toContain('ledger table accounts-test-ledger does not exist');
    expect(w.ledger.enabled).toBe(false);
  });

  test('throttled writes: every failure counted, logged once per reason, messages delivered', async () => {
    const table = new FakeLedger();
    table.fail = 'ProvisionedThroughputExceededException';
    const w = world(table);
    const result = await w.run(w.message([w.logFile(1).key]), w.message([w.logFile(2).key, w.logFile(3).key]));
    expect(result.batchItemFailures).toEqual([]);
    expect(w.sink.eventIds.size).toBe(60);
    expect(w.tally.get('LedgerWriteFailed')).toBe(3);
    expect(warnings(w.lines).map((line) => line.message)).toEqual([
      expect.stringContaining('ledger write failed (ProvisionedThroughputExceededException)'),
    ]);
    expect(w.ledger.enabled).toBe(true);

    // The table recovers: the next files are recorded.
    table.fail = undefined;
    await w.run(w.message([w.logFile(4).key]));
    expect(table.entries).toHaveLength(1);
    expect(table.newest).toHaveLength(1);
  });

  test('without a ledger (deps built by hand, as before): nothing changes', async () => {
    const w = world();
    delete w.deps.ledger;
    const result = await w.run(w.message([w.logFile(1).key]));
    expect(result.outcomes.get('m1')).toMatchObject({ status: 'forwarded', records: 20 });
  });
});

describe('through the real LedgerTable (DynamoDB mocked)', () => {
  const ddb = mockClient(DynamoDBDocumentClient);
  afterEach(() => ddb.reset());
  const db = DynamoDBDocumentClient.from(new DynamoDBClient({ region: REGION }));

  test('the items written: file and newest keys, TTL', async () => {
    ddb.on(BatchWriteCommand).resolves({});
    ddb.on(UpdateCommand).resolves({});
    const w = world(new LedgerTable(db, 'accounts-test-ledger', 30));
    const file = w.logFile(5);
    await w.run(w.message([file.key]));
    const batch = ddb.commandCalls(BatchWriteCommand)[0]!.args[0].input;
    const collectedAt = w.clock.now();
    expect(batch.RequestItems).toEqual({
      'accounts-test-ledger': [
        {
          PutRequest: {
            Item: expect.objectContaining({
              pk: `file#${A}#${REGION}#${DAY}`,
              sk: `${BUCKET}/${file.key}`,
              records: 20,
              sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
              expiresAt: Math.floor(collectedAt / 1000) + 30 * 86_400,
            }),
          },
        },
      ],
    });
    const update = ddb.commandCalls(UpdateCommand)[0]!.args[0].input;
    expect(update.Key).toEqual({ pk: `newest#${A}`, sk: REGION });
  });

  test('UnprocessedItems are sent again until written', async () => {
    const w = world(new LedgerTable(db, 'accounts-test-ledger'));
    const files = [w.logFile(5), w.logFile(6), w.logFile(7)];
    ddb
      .on(BatchWriteCommand)
      .callsFakeOnce((input: { RequestItems: Record<string, { PutRequest: unknown }[]> }) => ({
        UnprocessedItems: { 'accounts-test-ledger': input.RequestItems['accounts-test-ledger']!.slice(1) },
      }))
      .resolves({});
    ddb.on(UpdateCommand).resolves({});
    const result = await w.run(...files.map((file) => w.message([file.key])));
    expect(result.batchItemFailures).toEqual([]);
    const sent = ddb
      .commandCalls(BatchWriteCommand)
      .map((call) => call.args[0].input.RequestItems!['accounts-test-ledger']!.length);
    expect(sent).toEqual([3, 2]);
    expect(w.tally.get('LedgerWriteFailed')).toBe(0);
  });

  test('ResourceNotFoundException from DynamoDB: the message is delivered, one warning', async () => {
    ddb
      .on(BatchWriteCommand)
      .rejects(Object.assign(new Error('Requested resource not found'), { name: 'ResourceNotFoundException' }));
    const w = world(new LedgerTable(db, 'accounts-test-ledger'));
    const result = await w.run(w.message([w.logFile(5).key]), w.message([w.logFile(6).key]));
    expect(result.batchItemFailures).toEqual([]);
    expect(warnings(w.lines)).toHaveLength(1);
    expect(ddb.commandCalls(UpdateCommand)).toHaveLength(0);
  });
});

describe('configuration', () => {
  const base = { AWS_REGION: REGION, ACCOUNTS_TABLE: 'accounts', DOWNSTREAM_URL: 'https://intake.example/v1' };

  test('LEDGER_TABLE defaults to <ACCOUNTS_TABLE>-ledger, LEDGER_TTL_DAYS to the default, no backfill queue', () => {
    expect(loadIngestConfig(base)).toMatchObject({
      ledgerTable: 'accounts-ledger',
      ledgerTtlDays: LEDGER_TTL_DAYS_DEFAULT,
    });
    expect(loadIngestConfig(base).backfillQueueArn).toBeUndefined();
    expect(loadIngestConfig({ ...base, LEDGER_TABLE: 'mine', LEDGER_TTL_DAYS: '3650' })).toMatchObject({
      ledgerTable: 'mine',
      ledgerTtlDays: 3650,
    });
  });

  test.each([
    [{ LEDGER_TTL_DAYS: '0' }, 'LEDGER_TTL_DAYS must be between 1 and 3650, got 0'],
    [{ LEDGER_TTL_DAYS: '3651' }, 'LEDGER_TTL_DAYS must be between 1 and 3650'],
    [{ LEDGER_TTL_DAYS: 'ninety' }, 'LEDGER_TTL_DAYS must be a whole number'],
    [{ BACKFILL_QUEUE_ARN: 'cloudtrail-collector-backfill' }, 'BACKFILL_QUEUE_ARN must be an SQS queue ARN'],
    [{ BACKFILL_QUEUE_ARN: `arn:aws:sns:${REGION}:${A}:topic` }, 'BACKFILL_QUEUE_ARN must be an SQS queue ARN'],
    [
      {
        BACKFILL_QUEUE_ARN: `arn:aws:sqs:${REGION}:123456789012:cloudtrail-collector-ingest-00`,
        HUB_QUEUE_ARNS: `arn:aws:sqs:${REGION}:123456789012:cloudtrail-collector-ingest-00`,
      },
      'is also listed in HUB_QUEUE_ARNS',
    ],
  ])('%j is refused', (env, message) => {
    expect(() => loadIngestConfig({ ...base, ...env })).toThrow(message);
  });

  test('BACKFILL_QUEUE_ARN', () => {
    const arn = `arn:aws:sqs:${REGION}:123456789012:cloudtrail-collector-backfill`;
    expect(loadIngestConfig({ ...base, BACKFILL_QUEUE_ARN: arn }).backfillQueueArn).toBe(arn);
  });
});
