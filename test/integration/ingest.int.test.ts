import { PutObjectCommand, DeleteObjectCommand } from '@aws-sdk/client-s3';
import { gzipSync } from 'node:zlib';
import { processSqsBatch } from '../../lambdas/ingest/source/sqs-batch';
import {
  eventBridgeObjectCreated,
  publishCloudTrailNotification,
  s3EventNotification,
  snsEnvelope,
} from '../../testkit/demo-chain';
import { ingestWorld, receiveAll, type IngestWorld } from '../../testkit/ingest-env';
import { accountRecord } from '../../testkit/registry';
import { REGION } from '../../testkit/test-emulator';

const TENANT = '111122223333';
const OTHER_TENANT = '444455556666';
const ORG = 'o-a1b2c3d4e5';

describe('ingest end to end through the emulator', () => {
  let world: IngestWorld;

  beforeEach(async () => {
    world = await ingestWorld([{ accountId: TENANT, logArchiveFor: [ORG] }, { accountId: OTHER_TENANT }]);
  });
  afterEach(async () => world.stop());

  const send = (body: string) => world.send(TENANT, body);

  const logFile = (seed: number, records = 40, extra: { orgId?: string; accountId?: string } = {}) =>
    world.logFile(TENANT, seed, records, {
      time: new Date(Date.UTC(2026, 10, 1, 0, seed)),
      ...(extra.orgId ? { orgId: extra.orgId } : {}),
      ...(extra.accountId ? { logAccount: extra.accountId } : {}),
    });

  test('every input shape in one batch: each record arrives exactly once, only the poison message fails', async () => {
    const { clients, chain } = world.tenants.get(TENANT)!;
    const expected: string[] = [];
    const files = await Promise.all([1, 2, 3, 4, 5, 6, 7, 8].map((seed) => logFile(seed, 20 + seed * 7)));
    // An organization trail's key is forwarded for an active registered member of the organization only.
    await world.registry.add(
      accountRecord({ accountId: '777788889999', organizationId: ORG, organizationMembership: 'active' }),
    );
    const orgFile = await logFile(9, 33, { orgId: ORG, accountId: '777788889999' });
    for (const file of [...files, orgFile]) expected.push(...file.eventIds);
    const [f1, f2, f3, f4, f5, f6, f7, f8] = files.map((file) => file.key) as [
      string,
      string,
      string,
      string,
      string,
      string,
      string,
      string,
    ];

    // 1. CloudTrail's SNS notification, published through the real topic (two keys in one notification).
    await publishCloudTrailNotification(clients.sns, chain.topicArn, chain.bucket, [f1, f2]);
    // 2. raw message delivery of the same notification
    await send(JSON.stringify({ s3Bucket: chain.bucket, s3ObjectKey: [f3] }));
    // 3. S3 event notification, direct and inside SNS
    await send(s3EventNotification(chain.bucket, f4));
    await send(snsEnvelope(s3EventNotification(chain.bucket, f5)));
    // 4. EventBridge Object Created, direct and inside SNS; plus an organization-trail key via raw CloudTrail
    await send(eventBridgeObjectCreated(chain.bucket, f6));
    await send(snsEnvelope(eventBridgeObjectCreated(chain.bucket, f7)));
    const multi = await send(JSON.stringify({ s3Bucket: chain.bucket, s3ObjectKey: [f8, orgFile.key] }));
    // 5. acknowledged without forwarding, and one poison message
    const testEvent = await send(JSON.stringify({ Service: 'Amazon S3', Event: 's3:TestEvent', Bucket: chain.bucket }));
    const poison = await send('{"hello":"this is not a notification"}');

    const records = await receiveAll(clients.sqs, chain.queueUrl, chain.queueArn, 10);
    expect(records).toHaveLength(9);
    const deps = await world.deps();
    const result = await processSqsBatch(records, deps, Date.now() + 60_000);

    expect(result.batchItemFailures).toEqual([{ itemIdentifier: poison }]);
    expect(result.outcomes.get(testEvent)).toEqual({ status: 'ignored', reason: 's3-test-event' });
    expect(result.outcomes.get(multi)).toMatchObject({ status: 'forwarded', objects: 2 });
    expect(world.receiver.rejected).toEqual([]);
    expect([...world.receiver.eventIds.keys()].sort()).toEqual([...expected].sort());
    expect(world.receiver.duplicateRecords).toBe(0);
    expect(world.receiver.batches.every((batch) => batch.token === 'Bearer test-token')).toBe(true);
    expect(deps.tally.get('RecordsRead')).toBe(expected.length);
    expect(deps.tally.get('RecordsForwarded')).toBe(expected.length);
    // The registry learns that data arrived from this account (COLLECTION_STALE and its alarm).
    const lastRecordAt = (await world.registry.get(TENANT))?.lastRecordAt;
    expect(Date.now() - Date.parse(lastRecordAt!)).toBeLessThan(60_000);
    expect((await world.registry.get(OTHER_TENANT))?.lastRecordAt).toBeUndefined();
    // ...and from the member whose file the log archive forwarded (its COLLECTION_STALE follows the archive path).
    expect((await world.registry.get('777788889999'))?.lastRecordAt).toBeDefined();
  });

  test('a redelivered message reuses its idempotency keys, so the downstream drops the copy', async () => {
    const file = await logFile(21, 120);
    const id = await send(
      JSON.stringify({ s3Bucket: world.tenants.get(TENANT)!.chain.bucket, s3ObjectKey: [file.key] }),
    );
    const { clients, chain } = world.tenants.get(TENANT)!;
    const [record] = await receiveAll(clients.sqs, chain.queueUrl, chain.queueArn, 1);
    expect(record!.messageId).toBe(id);
    const deps = await world.deps({ MAX_BATCH_RECORDS: '50' });
    await processSqsBatch([record!], deps, Date.now() + 60_000);
    await processSqsBatch([record!], deps, Date.now() + 60_000);
    expect(world.receiver.batches).toHaveLength(6);
    expect(world.receiver.batches.filter((batch) => batch.duplicateKey)).toHaveLength(3);
    expect(world.receiver.uniqueRecords).toBe(120);
    expect(world.receiver.duplicateRecords).toBe(0);
  });

  test('bad input: each message gets its own clear outcome and the good one still goes through', async () => {
    const { clients, chain } = world.tenants.get(TENANT)!;
    const put = async (name: string, body: Buffer) => {
      const key = `AWSLogs/${TENANT}/CloudTrail/${REGION}/2026/11/01/${TENANT}_CloudTrail_${REGION}_20261101T0000Z_${name}.json.gz`;
      await clients.s3.send(new PutObjectCommand({ Bucket: chain.bucket, Key: key, Body: body }));
      return key;
    };
    const notify = (key: string) => send(JSON.stringify({ s3Bucket: chain.bucket, s3ObjectKey: [key] }));
    const good = await logFile(31, 64);
    const valid = gzipSync(Buffer.from(JSON.stringify({ Records: [{ eventID: 'a' }, { eventID: 'b' }] })));
    const ids = {
      bomb: await notify(await put('bomb', gzipSync(Buffer.alloc(20 * 1024 * 1024, 0x20)))),
      truncated: await notify(await put('truncated', valid.subarray(0, valid.length - 12))),
      notJson: await notify(await put('notjson', gzipSync(Buffer.from('<html>access denied</html>')))),
      notArray: await notify(await put('notarray', gzipSync(Buffer.from('{"Records":{"eventID":"x"}}')))),
      empty: await notify(await put('empty', Buffer.alloc(0))),
      deleted: await notify(await put('deleted', valid)),
      good: await notify(good.key),
    };
    await clients.s3.send(
      new DeleteObjectCommand({
        Bucket: chain.bucket,
        Key: `AWSLogs/${TENANT}/CloudTrail/${REGION}/2026/11/01/${TENANT}_CloudTrail_${REGION}_20261101T0000Z_deleted.json.gz`,
      }),
    );
    world.receiver.inject({ kind: 'status', status: 500 }, { kind: 'status', status: 503 });

    const records = await receiveAll(clients.sqs, chain.queueUrl, chain.queueArn, 7);
    const deps = await world.deps({ MAX_DECOMPRESSED_BYTES: String(1024 * 1024) });
    const result = await processSqsBatch(records, { ...deps, messageConcurrency: 1 }, Date.now() + 60_000);

    const failed = new Set(result.batchItemFailures.map((failure) => failure.itemIdentifier));
    expect(failed).toEqual(new Set([ids.bomb, ids.truncated, ids.notJson, ids.notArray]));
    const outcome = (id: string) => result.outcomes.get(id);
    expect(outcome(ids.bomb)).toMatchObject({
      status: 'failed',
      poison: true,
      error: expect.stringMatching(/more than 1048576 bytes/),
    });
    expect(outcome(ids.truncated)).toMatchObject({
      status: 'failed',
      error: expect.stringMatching(/truncated|unexpected end/i),
    });
    expect(outcome(ids.notJson)).toMatchObject({ status: 'failed', error: expect.stringMatching(/malformed JSON/i) });
    expect(outcome(ids.notArray)).toMatchObject({
      status: 'failed',
      error: expect.stringMatching(/"Records" is not an array/),
    });
    expect(outcome(ids.empty)).toMatchObject({ status: 'forwarded', records: 0 });
    expect(outcome(ids.deleted)).toMatchObject({ status: 'forwarded', records: 0 });
    expect(deps.tally.get('ObjectsMissing')).toBe(1);
    // The downstream answered 500 then 503 and then recovered: the good file still arrived whole.
    expect(outcome(ids.good)).toMatchObject({ status: 'forwarded', records: 64 });
    expect([...world.receiver.eventIds.keys()].sort()).toEqual([...good.eventIds].sort());
    expect(world.receiver.requests).toBeGreaterThanOrEqual(3);
  });

  test("tenant binding: a message in one tenant's queue naming another tenant's account is rejected unread", async () => {
    const other = world.tenants.get(OTHER_TENANT)!;
    const otherFile = await world.logFile(OTHER_TENANT, 41, 10, { time: new Date(Date.UTC(2026, 10, 1)) });
    const hostile = await send(JSON.stringify({ s3Bucket: other.chain.bucket, s3ObjectKey: [otherFile.key] }));
    const { clients, chain } = world.tenants.get(TENANT)!;
    const records = await receiveAll(clients.sqs, chain.queueUrl, chain.queueArn, 1);
    const deps = await world.deps();
    const assumed: string[] = [];
    const provider = deps.credentials.providerFor.bind(deps.credentials);
    deps.credentials = {
      providerFor: (target) => {
        assumed.push(target.roleArn);
        return provider(target);
      },
    };
    const result = await processSqsBatch(records, deps, Date.now() + 60_000);
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: hostile }]);
    expect(result.outcomes.get(hostile)).toMatchObject({
      status: 'failed',
      poison: true,
      error: expect.stringContaining(`holds logs of account ${OTHER_TENANT}`),
    });
    expect(assumed.every((arn) => arn.includes(`::${TENANT}:`))).toBe(true);
    expect(world.receiver.requests).toBe(0);
  });

  test('a queue of an unregistered account fails its messages without reading anything', async () => {
    const { clients, chain } = world.tenants.get(TENANT)!;
    await send(JSON.stringify({ s3Bucket: chain.bucket, s3ObjectKey: [(await logFile(51)).key] }));
    const records = await receiveAll(clients.sqs, chain.queueUrl, chain.queueArn, 1);
    await world.registry.remove(TENANT);
    const result = await processSqsBatch(records, await world.deps(), Date.now() + 60_000);
    expect(result.batchItemFailures).toHaveLength(1);
    expect(result.outcomes.get(records[0]!.messageId)).toMatchObject({
      error: expect.stringContaining('not registered'),
    });
    expect(world.receiver.requests).toBe(0);
  });
});
