import { gunzipSync } from 'node:zlib';
import { createSink, type HecSettings, type Sink } from '../../lambdas/ingest/sinks';
import type { RecordObject } from '../../lambdas/ingest/log-object';
import { silentLogger } from '../../lambdas/shared/logger';
import { generateRecords } from '../../testkit/cloudtrail-generator';
import { HecReceiver } from '../../testkit/hec-receiver';

/** The splunk-hec sink against the test kit's HecReceiver (docs/sinks.md, "splunk-hec"). */
const OBJECT: RecordObject = { bucket: 'b', key: 'k', kind: 'log', versionId: 'v1' };
const TOKEN = 'hec-token-SECRET-0c4e';

const records = (count: number, seed: number): Buffer[] =>
  generateRecords(count, { accountId: '111122223333', region: 'us-east-1', seed }).map((record) =>
    Buffer.from(JSON.stringify(record)),
  );

let receiver: HecReceiver;
let sink: Sink;

async function start(options: { ack?: boolean; ackAfterPolls?: number; allowedIndexes?: string[] }, hec: HecSettings) {
  receiver = new HecReceiver({ token: TOKEN, ...options });
  await receiver.start();
  sink = createSink(
    { type: 'splunk-hec', url: receiver.url, token: TOKEN, timeoutMs: 5_000, hec },
    { logger: silentLogger, random: () => 0 },
  );
}

const send = (batch: readonly Buffer[]) =>
  sink.send({ object: OBJECT, index: 0, records: batch }, { idempotencyKey: 'key-0', deadline: Date.now() + 30_000 });

afterEach(async () => {
  sink.close();
  await receiver.stop();
});

test('one gzip HEC event per record: time from eventTime (epoch s.ms), source/sourcetype aws:cloudtrail, host, index', async () => {
  await start({}, { index: 'aws', host: 'collector-1' });
  const batch = records(5, 1);
  await send(batch);
  const [request] = receiver.requests;
  expect(request!.path).toBe('/services/collector/event');
  expect(request!.headers.authorization).toBe(`Splunk ${TOKEN}`);
  expect(request!.headers['content-encoding']).toBe('gzip');
  expect(gunzipSync(request!.raw).toString()).toBe(request!.body!.toString());
  expect(receiver.events).toHaveLength(5);
  receiver.events.forEach((event, i) => {
    const record = JSON.parse(batch[i]!.toString()) as { eventTime: string };
    expect(event).toMatchObject({
      source: 'aws:cloudtrail',
      sourcetype: 'aws:cloudtrail',
      host: 'collector-1',
      index: 'aws',
    });
    expect(event.time).toBe(Date.parse(record.eventTime) / 1000);
    expect(event.event).toBe(JSON.stringify(record));
  });
});

test('HEC code 9 (server busy, 503) is retried; code 4 (invalid token) and code 7 (incorrect index) are permanent', async () => {
  await start({ allowedIndexes: ['main'] }, {});
  receiver.intercept(() => ({ status: 503, body: '{"text":"Server is busy","code":9}' }));
  await send(records(2, 2));
  expect(receiver.events).toHaveLength(2);
  expect(receiver.requests).toHaveLength(2);

  receiver.intercept(() => ({ status: 403, body: '{"text":"Invalid token","code":4}' }));
  await expect(send(records(1, 3))).rejects.toMatchObject({ permanent: true, message: /code 4.*invalid token/i });

  sink.close();
  sink = createSink(
    { type: 'splunk-hec', url: receiver.url, token: TOKEN, timeoutMs: 5_000, hec: { index: 'secret-index' } },
    { logger: silentLogger, random: () => 0 },
  );
  await expect(send(records(1, 4))).rejects.toMatchObject({ permanent: true, message: /code 7.*HEC_INDEX/ });
});

test('indexer acknowledgement: send resolves only once the ackId is reported indexed, on the request channel', async () => {
  await start({ ack: true, ackAfterPolls: 3 }, { ack: { timeoutMs: 5_000, pollMs: 10 } });
  const result = await send(records(3, 5));
  const acks = receiver.requests.filter((r) => r.path === '/services/collector/ack');
  expect(acks).toHaveLength(4); // three "false", then "true"
  const channel = receiver.requests[0]!.headers['x-splunk-request-channel'];
  expect(channel).toMatch(/^[0-9a-f-]{36}$/);
  for (const ack of acks) expect(ack.headers['x-splunk-request-channel']).toBe(channel);
  expect(JSON.parse(acks[0]!.body!.toString())).toEqual({ acks: [0] });
  expect(result.requests).toBe(5);
});

test('a lost acknowledgement: after HEC_ACK_TIMEOUT_MS the events are sent again (HEC may then hold them twice)', async () => {
  await start({ ack: true }, { ack: { timeoutMs: 150, pollMs: 20 } });
  receiver.loseAcks(1);
  await send(records(2, 6));
  const eventRequests = receiver.requests.filter((r) => r.path === '/services/collector/event');
  expect(eventRequests).toHaveLength(2);
  expect(receiver.events).toHaveLength(4); // no idempotency in HEC: docs/sinks.md, "Duplicates"
});

test('HEC_ACK against a token without acknowledgement (no ackId): permanent, saying so', async () => {
  await start({ ack: false }, { ack: { timeoutMs: 1_000, pollMs: 10 } });
  await expect(send(records(1, 7))).rejects.toMatchObject({ permanent: true, message: /no ackId although HEC_ACK/ });
});
