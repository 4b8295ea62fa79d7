/**
 * Pins the `X-Idempotency-Key` of a fixed set of objects, end to end: S3 notification -> tenant check ->
 * GetObject (whose response's VersionId, else its ETag, is the object version; the notification's own version
 * id and ETag never reach the key) -> batching -> downstream, 413 halves included. The hex values were recorded
 * from the code before ingest was split into source/records/sinks: a change here means redeliveries made across
 * a deploy would look new downstream. Only the adapter (how the production code is called) may change, never
 * the expected values.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import type { S3Client } from '@aws-sdk/client-s3';
import type { SQSRecord } from 'aws-lambda';
import { silentLogger } from '../../lambdas/shared/logger';
import type { AccountRecord } from '../../lambdas/shared/registry';
// --- adapter: the production entry points ---
import { KEEP_ALL } from '../../lambdas/ingest/records/filters';
import { HttpSink } from '../../lambdas/ingest/sinks/http-delivery';
import type { Sink } from '../../lambdas/ingest/sinks/sink';
import { processSqsBatch, type IngestDeps } from '../../lambdas/ingest/source/sqs-batch';

function deps(s3: S3Client, sink: Sink, maxBatchRecords: number): IngestDeps {
  return {
    registry: { get: () => Promise.resolve(ACCOUNT_RECORD), recordDelivery: () => Promise.resolve(true) },
    credentials: { providerFor: () => () => Promise.reject(new Error('unused')) },
    s3ForTenant: () => s3,
    sink,
    logger: silentLogger,
    counts: { count: () => undefined },
    customerRoleName: 'CloudTrailCollectorRole',
    forward: {
      maxDecompressedBytes: 1 << 30,
      maxRecordBytes: 1 << 20,
      batchLimits: { maxBatchBytes: 1 << 22, maxBatchRecords },
      maxInFlightBatches: 1,
      filter: KEEP_ALL,
    },
    messageConcurrency: 1,
  };
}

/** Wraps a sink so that every idempotency key it is given is recorded. */
function recording(sink: Sink, keys: string[]): Sink {
  return {
    recordOverheadBytes: sink.recordOverheadBytes,
    close: () => sink.close(),
    send: (batch, ctx) => {
      keys.push(ctx.idempotencyKey);
      return sink.send(batch, ctx);
    },
  };
}

const accepting: Sink = {
  recordOverheadBytes: 1,
  close: () => undefined,
  send: () => Promise.resolve({ requests: 1, bytesSent: 0 }),
};

function httpSink(url: string): Sink {
  return new HttpSink({ url, timeoutMs: 5_000, logger: silentLogger, random: () => 0 });
}
// --- end adapter ---

const ACCOUNT = '111122223333';
const QUEUE_ARN = `arn:aws:sqs:eu-west-1:${ACCOUNT}:cloudtrail-queue`;
const KEY = `AWSLogs/${ACCOUNT}/CloudTrail/eu-west-1/2024/05/01/${ACCOUNT}_CloudTrail_eu-west-1_20240501T0000Z_a.json.gz`;
const UNICODE_KEY = `logs/ünï cødé/日本/AWSLogs/${ACCOUNT}/CloudTrail/eu-west-1/2024/05/01/${ACCOUNT}_CloudTrail_🚀+x.json`;
const ETAG = '3858f62230ac3c915f300c664312c11f';
const ACCOUNT_RECORD = {
  accountId: ACCOUNT,
  externalId: 'x',
  mode: 'apply',
  logArchiveFor: [],
  registeredAt: '2024-01-01T00:00:00Z',
  status: 'healthy',
} as unknown as AccountRecord;

interface Case {
  name: string;
  key: string;
  /** What the S3 event notification says about the object. */
  notification: { versionId?: string; eTag?: string };
  /** What GetObject answers. */
  response: { VersionId?: string; ETag?: string };
  records: number;
  maxBatchRecords: number;
}

/** Records of growing sizes, so that a 413 split at the byte middle differs from one at the record middle. */
function objectBody(records: number): Buffer {
  const items = [...Array(records).keys()].map((i) =>
    JSON.stringify({ eventVersion: '1.08', eventID: `id-${i}`, pad: 'p'.repeat(i * i * 7) }),
  );
  return Buffer.from(`{"Records":[${items.join(',')}]}`);
}

/** Runs one object through the production path; returns the idempotency keys its requests carried. */
async function keysOf(c: Case, sink: Sink): Promise<string[]> {
  const body = objectBody(c.records);
  const s3 = {
    send: () =>
      Promise.resolve({
        Body: Readable.from([body]),
        ...c.response,
      }),
  } as unknown as S3Client;
  const notification = {
    Records: [
      {
        eventVersion: '2.1',
        eventSource: 'aws:s3',
        eventName: 'ObjectCreated:Put',
        s3: {
          bucket: { name: 'ct-logs' },
          // S3 event notifications form-encode the key.
          object: { key: encodeURIComponent(c.key).replace(/%20/g, '+'), size: body.length, ...c.notification },
        },
      },
    ],
  };
  const message = {
    messageId: 'm1',
    body: JSON.stringify(notification),
    eventSourceARN: QUEUE_ARN,
    attributes: { ApproximateReceiveCount: '1' },
  } as unknown as SQSRecord;
  const keys: string[] = [];
  const result = await processSqsBatch(
    [message],
    deps(s3, recording(sink, keys), c.maxBatchRecords),
    Date.now() + 60_000,
  );
  expect(result.batchItemFailures).toEqual([]);
  return keys;
}

const one = { records: 2, maxBatchRecords: 10 };

const CASES: Array<[Case, string[]]> = [
  [
    {
      name: 'quoted ETag from GetObject, no version id',
      key: KEY,
      notification: { eTag: ETAG },
      response: { ETag: `"${ETAG}"` },
      ...one,
    },
    ['334f1b76df9d55a3b1046e074f038c5ae678ad74b261555f9fb7db9f40418104'],
  ],
  [
    { name: 'unquoted ETag from GetObject', key: KEY, notification: {}, response: { ETag: ETAG }, ...one },
    ['334f1b76df9d55a3b1046e074f038c5ae678ad74b261555f9fb7db9f40418104'],
  ],
  [
    {
      name: "GetObject's VersionId wins over its ETag and over the notification's version id",
      key: KEY,
      notification: { versionId: 'notified-v', eTag: ETAG },
      response: { VersionId: 'v1.returned', ETag: `"${ETAG}"` },
      ...one,
    },
    ['b0e15b55bd0658766aab99a0df7313326f4bd51b1e5bc3c4494b20fd39e09a90'],
  ],
  [
    {
      name: "a notification version id without one in GetObject's answer: the answer's ETag is used",
      key: KEY,
      notification: { versionId: 'notified-v', eTag: 'notified-etag' },
      response: { ETag: '"returned-etag"' },
      ...one,
    },
    ['9609858efe09885e2f02d45cfa061470b2cb5f4c1c26d4565fbb336a2095820e'],
  ],
  [
    { name: 'neither VersionId nor ETag in the answer', key: KEY, notification: { eTag: ETAG }, response: {}, ...one },
    ['7ae7fce637734e9935f3e9b55320131e9eb1c254732fbda0c09975874dc0101c'],
  ],
  [
    {
      name: 'several batches: one key per batch index',
      key: KEY,
      notification: {},
      response: { ETag: `"${ETAG}"` },
      records: 5,
      maxBatchRecords: 2,
    },
    [
      '334f1b76df9d55a3b1046e074f038c5ae678ad74b261555f9fb7db9f40418104',
      'b520673d1f4feffea675d0dcda91c0d263436d5a1c8bd91fb231be05603154c1',
      '2e81f704e2b4dacf72e3458f37e9793d9f0b1339191ecf89e46501a5eb8e68bb',
    ],
  ],
  [
    {
      name: 'a unicode key with spaces and a plus',
      key: UNICODE_KEY,
      notification: {},
      response: { VersionId: 'null' },
      ...one,
    },
    ['8599c10f5fbd3a3b4b9d9231c50e6ff8f3e9c8e40a7f0282f68c02d424218e4d'],
  ],
];

describe('idempotency keys are unchanged for a fixed set of objects', () => {
  it.each(CASES)('%#', async (c, expected) => {
    expect({ name: c.name, keys: await keysOf(c, accepting) }).toEqual({ name: c.name, keys: expected });
  });
});

describe('413 halves keep their keys', () => {
  let server: Server;
  let url: string;
  const received: string[] = [];

  beforeAll(async () => {
    // Accepts one record per request: every larger batch is split until single records remain.
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const lines = gunzipSync(Buffer.concat(chunks)).toString('utf8').split('\n').length - 1;
        received.push(`${String(req.headers['x-idempotency-key'])} ${lines}`);
        res.writeHead(lines > 1 ? 413 : 200).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/intake`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('splits at record boundaries into `${key}.0` / `${key}.1`, recursively', async () => {
    const sink = httpSink(url);
    try {
      const c: Case = {
        name: '413',
        key: KEY,
        notification: {},
        response: { ETag: `"${ETAG}"` },
        records: 7,
        maxBatchRecords: 10,
      };
      expect(await keysOf(c, sink)).toEqual(['334f1b76df9d55a3b1046e074f038c5ae678ad74b261555f9fb7db9f40418104']);
    } finally {
      sink.close();
    }
    // The first cut is at the record boundary nearest the byte middle (5 + 2 records), not the record middle.
    expect(received).toEqual([
      '334f1b76df9d55a3b1046e074f038c5ae678ad74b261555f9fb7db9f40418104 7',
      '334f1b76df9d55a3b1046e074f038c5ae678ad74b261555f9fb7db9f40418104.0 5',
      '334f1b76df9d55a3b1046e074f038c5ae678ad74b261555f9fb7db9f40418104.0.0 3',
      '334f1b76df9d55a3b1046e074f038c5ae678ad74b261555f9fb7db9f40418104.0.0.0 2',
      '334f1b76df9d55a3b1046e074f038c5ae678ad74b261555f9fb7db9f40418104.0.0.0.0 1',
      '334f1b76df9d55a3b1046e074f038c5ae678ad74b261555f9fb7db9f40418104.0.0.0.1 1',
      '334f1b76df9d55a3b1046e074f038c5ae678ad74b261555f9fb7db9f40418104.0.0.1 1',
      '334f1b76df9d55a3b1046e074f038c5ae678ad74b261555f9fb7db9f40418104.0.1 2',
      '334f1b76df9d55a3b1046e074f038c5ae678ad74b261555f9fb7db9f40418104.0.1.0 1',
      '334f1b76df9d55a3b1046e074f038c5ae678ad74b261555f9fb7db9f40418104.0.1.1 1',
      '334f1b76df9d55a3b1046e074f038c5ae678ad74b261555f9fb7db9f40418104.1 2',
      '334f1b76df9d55a3b1046e074f038c5ae678ad74b261555f9fb7db9f40418104.1.0 1',
      '334f1b76df9d55a3b1046e074f038c5ae678ad74b261555f9fb7db9f40418104.1.1 1',
    ]);
  });
});
