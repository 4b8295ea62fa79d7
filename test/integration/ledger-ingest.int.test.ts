/**
 * The ledger as ingest writes it, against the emulator (lambdas/ingest/source/ledger-writes.ts): files read
 * through the customer's role become items of `<ACCOUNTS_TABLE>-ledger` with the SHA-256 of the bytes S3 holds,
 * uncompressed, and their record count; the region's newest file follows. The CLI's `ingest --queue-url` creates
 * the table on the emulator and writes it too; the Lambda's deps never create it, and run without it.
 */
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { awsClients } from '../../lambdas/shared/aws-clients';
import { LedgerTable, ensureLedgerTable, ledgerTableName } from '../../lambdas/shared/ledger';
import { processSqsBatch } from '../../lambdas/ingest/source/sqs-batch';
import { runCli } from '../../testkit/cli';
import { ingestWorld, receiveAll, TABLE, type IngestWorld } from '../../testkit/ingest-env';
import { TallyLogger } from '../../testkit/tally-logger';
import { REGION } from '../../testkit/test-emulator';

const TENANT = '111122223333';
const LEDGER = ledgerTableName(TABLE);
const DAY = '2026-11-01';

describe('the ledger of collected files, through the emulator', () => {
  let world: IngestWorld;
  let ledger: LedgerTable;

  beforeEach(async () => {
    world = await ingestWorld([{ accountId: TENANT }]);
    ledger = new LedgerTable(awsClients.dynamoDocument({ region: REGION }), LEDGER);
  });
  afterEach(async () => world.stop());

  /** `gunzip | sha256sum` of the object as S3 holds it, read back with the customer's clients. */
  const uncompressedSha256 = async (key: string) => {
    const { clients, chain } = world.tenants.get(TENANT)!;
    const object = await clients.s3.send(new GetObjectCommand({ Bucket: chain.bucket, Key: key }));
    const json = gunzipSync(Buffer.from(await object.Body!.transformToByteArray()));
    return { sha256: createHash('sha256').update(json).digest('hex'), bytes: json.length };
  };

  test('files ingested -> ledger items with their sha256 and records; the newest file of the region', async () => {
    expect(await ensureLedgerTable(awsClients.dynamoDocument({ region: REGION }), LEDGER)).toBe(true);
    const { clients, chain } = world.tenants.get(TENANT)!;
    const files = await Promise.all(
      [3, 9, 6].map((minute) =>
        world.logFile(TENANT, minute, 10 + minute, { time: new Date(Date.UTC(2026, 10, 1, 0, minute)) }),
      ),
    );
    // A 0-byte file is recorded too (0 records, the hash of nothing): a digest may list it.
    const emptyKey = files[0]!.key.replace('_20261101T0003Z_', '_20261101T0004Z_');
    await clients.s3.send(new PutObjectCommand({ Bucket: chain.bucket, Key: emptyKey, Body: new Uint8Array(0) }));
    await world.send(TENANT, JSON.stringify({ s3Bucket: chain.bucket, s3ObjectKey: [files[0]!.key, emptyKey] }));
    await world.send(TENANT, JSON.stringify({ s3Bucket: chain.bucket, s3ObjectKey: [files[1]!.key, files[2]!.key] }));

    const records = await receiveAll(clients.sqs, chain.queueUrl, chain.queueArn, 2);
    const logger = new TallyLogger();
    const deps = await world.deps({}, logger);
    const result = await processSqsBatch(records, deps, Date.now() + 60_000);
    expect(result.batchItemFailures).toEqual([]);
    // (The 0-byte file is warned about as empty, as before; nothing about the ledger.)
    expect([...logger.samples.keys()].filter((line) => /ledger/i.test(line))).toEqual([]);
    expect(deps.tally.get('LedgerWriteFailed')).toBe(0);

    const collected = await ledger.collectedOn(TENANT, REGION, DAY);
    expect([...collected.keys()].sort()).toEqual(
      [...files.map((f) => f.key), emptyKey].map((k) => `${chain.bucket}/${k}`).sort(),
    );
    for (const [index, minute] of [3, 9, 6].entries()) {
      const file = files[index]!;
      const entry = collected.get(`${chain.bucket}/${file.key}`)!;
      expect(entry).toMatchObject({
        accountId: TENANT,
        region: REGION,
        day: DAY,
        kind: 'log',
        records: 10 + minute,
        ...(await uncompressedSha256(file.key)),
      });
      expect(entry.etag).toMatch(/^"[0-9a-f]{32}"$/);
    }
    expect(collected.get(`${chain.bucket}/${emptyKey}`)).toMatchObject({
      records: 0,
      bytes: 0,
      sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    });
    expect(await ledger.newest(TENANT)).toEqual(
      new Map([
        [
          REGION,
          {
            region: REGION,
            bucket: chain.bucket,
            key: files[1]!.key,
            deliveredAt: '2026-11-01T00:09:00.000Z',
            collectedAt: expect.any(String),
          },
        ],
      ]),
    );
  });

  test('without the table (ACCOUNTS_TABLE alone): records delivered, one warning, nothing created', async () => {
    const { clients, chain } = world.tenants.get(TENANT)!;
    const files = await Promise.all([1, 2].map((seed) => world.logFile(TENANT, seed, 5)));
    for (const file of files)
      await world.send(TENANT, JSON.stringify({ s3Bucket: chain.bucket, s3ObjectKey: [file.key] }));
    const logger = new TallyLogger();
    const deps = await world.deps({}, logger);
    const result = await processSqsBatch(
      await receiveAll(clients.sqs, chain.queueUrl, chain.queueArn, 2),
      deps,
      Date.now() + 60_000,
    );
    expect(result.batchItemFailures).toEqual([]);
    expect(world.receiver.uniqueRecords).toBe(10);
    // DynamoDB answers PutItem on a missing table with ResourceNotFoundException (DynamoDB API Reference, PutItem
    // "Errors"); moto does the same.
    const warnings = [...logger.counts].filter(([line]) => line.startsWith('WARN'));
    expect(warnings).toEqual([[expect.stringContaining(`ledger table ${LEDGER} does not exist`), 1]]);
    await expect(ledger.collectedOn(TENANT, REGION, DAY)).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
  });

  test('the CLI (ingest --queue-url) creates the table on the emulator and records what it ingested', async () => {
    const { chain } = world.tenants.get(TENANT)!;
    const files = await Promise.all(
      [1, 2, 3].map((minute) => world.logFile(TENANT, minute, 4, { time: new Date(Date.UTC(2026, 10, 1, 0, minute)) })),
    );
    await world.send(TENANT, JSON.stringify({ s3Bucket: chain.bucket, s3ObjectKey: files.map((f) => f.key) }));
    const env = { ACCOUNTS_TABLE: TABLE, DOWNSTREAM_URL: world.receiver.url, DOWNSTREAM_TOKEN: 'test-token' };
    const run = await runCli(['ingest', '--queue-url', chain.queueUrl, '--until-empty', '--wait-seconds', '0'], env);
    expect(run.code).toBe(0);
    expect(run.stderr).toContain('created the ledger table on the emulator');
    expect(JSON.parse(run.stdout)).toMatchObject({ received: 1, deleted: 1, counts: { RecordsForwarded: 12 } });

    const collected = await ledger.collectedOn(TENANT, REGION, DAY);
    expect(collected.size).toBe(3);
    for (const file of files) {
      expect(collected.get(`${chain.bucket}/${file.key}`)).toMatchObject({
        records: 4,
        ...(await uncompressedSha256(file.key)),
      });
    }
    expect((await ledger.newest(TENANT)).get(REGION)?.key).toBe(files[2]!.key);
  });
});
