import { FirehoseClient } from '@aws-sdk/client-firehose';
import { S3Client } from '@aws-sdk/client-s3';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadIngestConfig } from '../../lambdas/ingest/config';
import { forwardRecords } from '../../lambdas/ingest/pipeline';
import { CountTally, createIngestDeps } from '../../lambdas/ingest/runtime';
import { KEEP_ALL } from '../../lambdas/ingest/records/filters';
import { createSink } from '../../lambdas/ingest/sinks';
import type { RecordObject } from '../../lambdas/ingest/log-object';
import { silentLogger } from '../../lambdas/shared/logger';
import { writeLargeLogFile } from '../../testkit/cloudtrail-generator';
import { createFirehoseToS3, deliveredLines, FlakyFirehose } from '../../testkit/firehose-world';
import { COLLECTOR_ACCOUNT, REGION, useEmulator } from '../../testkit/test-emulator';

/**
 * Issue 16, must show 3: a 50 MB CloudTrail file through the firehose sink into moto's Firehose with an S3
 * destination; every record is read back from moto's S3 exactly once. moto never returns a partial failure
 * (FailedPutCount is always 0 there, unlike Firehose under load): the second case wraps the client so that 10% of
 * the records of every call fail with an ErrorCode, and still everything arrives exactly once.
 */
const ACCOUNT = '444455556666';
const OBJECT: RecordObject = {
  bucket: 'source-bucket',
  key: `AWSLogs/${ACCOUNT}/CloudTrail/us-east-1/2026/11/01/${ACCOUNT}_CloudTrail_us-east-1_20261101T0000Z_big.json.gz`,
  kind: 'log',
  versionId: 'v1',
};

let dir: string;
let file: string;
let written: { records: number; bytes: number };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'firehose-sink-'));
  file = join(dir, 'big.json.gz');
  written = await writeLargeLogFile(file, 50 * 1000 * 1000, { accountId: ACCOUNT, region: REGION, seed: 16 });
}, 120_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function deliver(wrap: (client: FirehoseClient) => FlakyFirehose | FirehoseClient, stream: string) {
  const endpoint = await useEmulator();
  const firehose = new FirehoseClient({ region: REGION, endpoint });
  const s3 = new S3Client({ region: REGION, endpoint, forcePathStyle: true });
  const bucket = `${stream}-delivery`;
  await createFirehoseToS3(firehose, s3, { stream, bucket, account: COLLECTOR_ACCOUNT });
  const client = wrap(firehose);
  const sink = createSink(
    { type: 'firehose', streamName: stream, region: REGION, timeoutMs: 30_000 },
    { logger: silentLogger, firehose: client, random: () => 0 },
  );
  const result = await forwardRecords(createReadStream(file), OBJECT, sink, {
    maxDecompressedBytes: 1 << 30,
    maxRecordBytes: 1 << 20,
    batchLimits: { maxBatchBytes: 4 * 1024 * 1024, maxBatchRecords: 5000 },
    maxInFlightBatches: 2,
    filter: KEEP_ALL,
    deadline: Date.now() + 300_000,
  });
  const lines = await deliveredLines(s3, bucket);
  firehose.destroy();
  s3.destroy();
  return { result, lines, client };
}

/** Every record of the file was delivered, each exactly once (by eventID). */
function expectEachRecordOnce(lines: readonly string[]): void {
  const copies = new Map<string, number>();
  for (const line of lines) {
    const id = (JSON.parse(line) as { eventID: string }).eventID;
    copies.set(id, (copies.get(id) ?? 0) + 1);
  }
  expect(lines).toHaveLength(written.records);
  expect(copies.size).toBe(written.records);
  expect([...copies.values()].every((n) => n === 1)).toBe(true);
}

test('every record of a 50 MB file arrives in the destination bucket, once', async () => {
  expect(written.bytes).toBeGreaterThanOrEqual(50 * 1000 * 1000);
  const { result, lines } = await deliver((client) => client, 'whole-file');
  expect(result.recordsRead).toBe(written.records);
  expect(result.recordsForwarded).toBe(written.records);
  expectEachRecordOnce(lines);
}, 300_000);

test('FailedPutCount of 10% on every call: everything still arrives exactly once', async () => {
  const { result, lines, client } = await deliver((real) => {
    const flaky = new FlakyFirehose(real);
    flaky.failFraction = 0.1;
    return flaky;
  }, 'flaky-file');
  const flaky = client as FlakyFirehose;
  // 10% of each call failed, retries included (a retried record can fail again).
  expect(flaky.recordsFailed).toBeGreaterThanOrEqual(Math.floor(written.records * 0.1));
  expect(result.recordsForwarded).toBe(written.records);
  expectEachRecordOnce(lines);
}, 300_000);

test('SINK_TYPE=firehose through createIngestDeps: the Lambda, the CLI and the sandbox build this same sink', async () => {
  const endpoint = await useEmulator();
  const firehose = new FirehoseClient({ region: REGION, endpoint });
  const s3 = new S3Client({ region: REGION, endpoint, forcePathStyle: true });
  await createFirehoseToS3(firehose, s3, {
    stream: 'from-env',
    bucket: 'from-env-delivery',
    account: COLLECTOR_ACCOUNT,
  });
  const config = loadIngestConfig({
    AWS_REGION: REGION,
    AWS_ENDPOINT_URL: endpoint,
    ACCOUNTS_TABLE: 'accounts',
    SINK_TYPE: 'firehose',
    FIREHOSE_STREAM_NAME: 'from-env',
  });
  // The collector's own client (aws-clients.ts, which honours AWS_ENDPOINT_URL), behind the circuit breaker.
  const deps = await createIngestDeps(config, silentLogger, new CountTally());
  const records = [Buffer.from('{"eventID":"e-1","eventTime":"2026-11-01T00:00:00Z"}')];
  await deps.sink.send({ object: OBJECT, index: 0, records }, { idempotencyKey: 'k', deadline: Date.now() + 30_000 });
  expect(await deliveredLines(s3, 'from-env-delivery')).toEqual([records[0]!.toString()]);
  firehose.destroy();
  s3.destroy();
});
