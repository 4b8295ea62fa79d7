import { createSink, type Sink } from '../../lambdas/ingest/sinks';
import type { RecordObject } from '../../lambdas/ingest/log-object';
import { silentLogger } from '../../lambdas/shared/logger';
import { BulkReceiver } from '../../testkit/bulk-receiver';
import { DownstreamReceiver } from '../../testkit/downstream-receiver';
import { generateRecords } from '../../testkit/cloudtrail-generator';

/**
 * The `_bulk` sink against the test kit's BulkReceiver (docs/sinks.md, "elasticsearch"), including issue 16's
 * must show 4: a redelivered batch indexes nothing twice, and the duplicates a 413 split causes with the NDJSON
 * intake (a half delivered, the other failed, the whole batch redelivered) do not happen with `create` + `_id`.
 */
const OBJECT: RecordObject = { bucket: 'b', key: 'k', kind: 'log', versionId: 'v1' };
const API_KEY = 'es-api-key-SECRET-3b9d';

function records(count: number, seed: number, start?: Date): Buffer[] {
  return generateRecords(count, {
    accountId: '111122223333',
    region: 'us-east-1',
    seed,
    ...(start ? { start } : {}),
  }).map((record) => Buffer.from(JSON.stringify(record)));
}

const eventIdOf = (record: Buffer | string): string => (JSON.parse(record.toString()) as { eventID: string }).eventID;

let receiver: BulkReceiver;
let sink: Sink;

function bulkSink(overrides: { index?: string; dataStream?: boolean; auth?: 'basic'; token?: string } = {}): Sink {
  return createSink(
    {
      type: 'elasticsearch',
      url: receiver.url,
      token: overrides.token ?? API_KEY,
      timeoutMs: 5_000,
      auth: overrides.auth ?? 'api-key',
      elasticsearch: { index: overrides.index ?? 'cloudtrail-%Y.%m.%d', dataStream: overrides.dataStream ?? false },
    },
    { logger: silentLogger, random: () => 0 },
  );
}

const send = (batch: readonly Buffer[], key = 'key-0') =>
  sink.send({ object: OBJECT, index: 0, records: batch }, { idempotencyKey: key, deadline: Date.now() + 30_000 });

beforeEach(async () => {
  receiver = new BulkReceiver({ apiKey: API_KEY, basic: { user: 'collector', password: 'pa55-SECRET word' } });
  await receiver.start();
  sink = bulkSink();
});

afterEach(async () => {
  sink.close();
  await receiver.stop();
});

describe('must show 4: _bulk create with _id = eventID', () => {
  test('the same batch delivered twice indexes every record once (the second time every item is a 409)', async () => {
    const batch = records(200, 1);
    await send(batch);
    await send(batch); // the redelivery: resolves, nothing new
    expect(receiver.documents.size).toBe(200);
    expect(receiver.itemStatuses.filter((s) => s === 201)).toHaveLength(200);
    expect(receiver.itemStatuses.filter((s) => s === 409)).toHaveLength(200);
    expect(new Set(receiver.sources.map(eventIdOf))).toEqual(new Set(batch.map(eventIdOf)));
  });

  // The soak's 413 case: the batch is split, the first half is stored, the second fails; the message is redelivered
  // and the whole batch is sent again under its own key.
  async function splitThenRedeliver(deliverFirstHalfOnly: () => void, redeliver: () => Promise<unknown>) {
    deliverFirstHalfOnly();
    await expect(redeliver()).rejects.toMatchObject({ permanent: false });
  }

  test('the 413 split duplicate is gone: a half delivered, then the whole batch again, each record once', async () => {
    const batch = records(100, 2);
    const bytes = batch.reduce((sum, r) => sum + r.length, 0);
    receiver.setMaxContentLength(Math.ceil(bytes * 0.8)); // the whole batch is 413, each half fits
    let bulkRequests = 0;
    await splitThenRedeliver(
      () =>
        receiver.interceptAll(() => {
          bulkRequests++;
          // 1: the whole batch (413 by the limit), 2: the first half (stored), then: the second half fails.
          return bulkRequests <= 2 ? undefined : { status: 503, body: '{"error":"unavailable"}' };
        }),
      () => send(batch),
    );
    expect(receiver.documents.size).toBeGreaterThan(0);
    expect(receiver.documents.size).toBeLessThan(100);
    receiver.clearInterceptions();
    receiver.setMaxContentLength(undefined);
    await send(batch); // the SQS redelivery: the whole batch, one request
    expect(receiver.documents.size).toBe(100);
    expect(receiver.sources.map(eventIdOf).sort()).toEqual(batch.map(eventIdOf).sort());
  });

  test('baseline: the same sequence against the NDJSON intake stores the first half twice', async () => {
    const intake = new DownstreamReceiver({ keepLines: true });
    const url = await intake.start();
    const ndjson = createSink({ type: 'ndjson', url, timeoutMs: 5_000 }, { logger: silentLogger, random: () => 0 });
    const batch = records(100, 2);
    intake.maxBodyBytes = Math.ceil(batch.reduce((sum, r) => sum + r.length + 1, 0) * 0.8);
    let requests = 0;
    intake.setFaultPolicy(() => (++requests > 2 ? { kind: 'status', status: 503 } : undefined));
    const deliver = () =>
      ndjson.send(
        { object: OBJECT, index: 0, records: batch },
        { idempotencyKey: 'key-0', deadline: Date.now() + 30_000 },
      );
    await expect(deliver()).rejects.toMatchObject({ permanent: false });
    intake.setFaultPolicy(undefined);
    intake.maxBodyBytes = undefined;
    await deliver();
    expect(intake.uniqueRecords).toBe(100);
    expect(intake.duplicateRecords).toBeGreaterThan(0); // the key-0.0 half, again under key-0
    ndjson.close();
    await intake.stop();
  });
});

describe('a mixed _bulk answer is read item by item', () => {
  test('created, 409, 429 and a mapping error: the 429 is retried alone, the mapping error fails the batch for good', async () => {
    const batch = records(6, 3);
    await send([batch[1]!]); // already there: its item will be a 409
    const mappingErrorId = eventIdOf(batch[4]!);
    receiver.options.rejectDocument = (document) => document.eventID === mappingErrorId;
    receiver.failItems([undefined, undefined, 429, undefined, undefined, undefined]);
    const rejection = await send(batch, 'key-mixed').then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(rejection).toMatchObject({ permanent: true, rejectedRecords: 1 });
    expect((rejection as Error).message).toMatch(/refused 1 of 6 records.*400 document_parsing_exception/);
    // The retry carried only the 429's record.
    const bulks = receiver.requests.filter((r) => r.path === '/_bulk');
    const lastBody = bulks[bulks.length - 1]!.body!.toString('utf8');
    expect(lastBody.trimEnd().split('\n')).toHaveLength(2);
    expect(lastBody).toContain(eventIdOf(batch[2]!));
    // Everything but the mapping error is stored, once.
    expect(receiver.sources.map(eventIdOf).sort()).toEqual(
      batch
        .map(eventIdOf)
        .filter((id) => id !== mappingErrorId)
        .sort(),
    );
  });

  test('a 401 is permanent and the key it echoes is redacted', async () => {
    receiver.intercept((request) => ({
      status: 401,
      body: JSON.stringify({ error: { reason: `bad ${String(request.headers.authorization)}` } }),
    }));
    const rejection = (await send(records(2, 4)).catch((error: unknown) => error)) as Error;
    expect(rejection).toMatchObject({ permanent: true, status: 401 });
    expect(rejection.message).not.toContain(API_KEY);
    expect(rejection.message).toContain('[redacted]');
  });
});

describe('index names, data streams and auth', () => {
  test('cloudtrail-%Y.%m.%d is filled from each record eventTime (UTC)', async () => {
    const batch = [
      ...records(2, 5, new Date(Date.UTC(2026, 0, 31, 23, 59))),
      ...records(2, 6, new Date(Date.UTC(2026, 1, 2))),
    ];
    await send(batch);
    const byIndex = new Map<string, number>();
    for (const document of receiver.documents.values())
      byIndex.set(document.index, (byIndex.get(document.index) ?? 0) + 1);
    expect(Object.fromEntries(byIndex)).toEqual({ 'cloudtrail-2026.01.31': 2, 'cloudtrail-2026.02.02': 2 });
  });

  test('a data stream gets create actions and each document an @timestamp equal to its eventTime', async () => {
    sink.close();
    sink = bulkSink({ index: 'logs-cloudtrail-default', dataStream: true });
    const batch = records(3, 7);
    await send(batch);
    for (const document of receiver.documents.values()) {
      expect(document.index).toBe('logs-cloudtrail-default');
      const parsed = JSON.parse(document.source) as Record<string, unknown>;
      expect(parsed['@timestamp']).toBe(parsed.eventTime);
      const { '@timestamp': _stamp, ...record } = parsed;
      expect(batch.map((r) => JSON.stringify(JSON.parse(r.toString())))).toContain(JSON.stringify(record));
    }
  });

  test('basic auth sends user:password base64-encoded; neither the pair nor the password shows in an error', async () => {
    sink.close();
    sink = bulkSink({ auth: 'basic', token: 'collector:pa55-SECRET word' });
    await send(records(2, 8));
    expect(receiver.documents.size).toBe(2);
    receiver.intercept(() => ({ status: 400, body: 'you sent collector:pa55-SECRET word and pa55-SECRET word' }));
    const rejection = (await send(records(1, 9)).catch((error: unknown) => error)) as Error;
    expect(rejection.message).not.toContain('pa55-SECRET');
  });
});
