/**
 * Backfill messages (docs/completeness.md): `{"cloudtrailCollectorBackfill":1,"accountId",...}` binds its tenant
 * to the registered account it names ONLY when it comes from BACKFILL_QUEUE_ARN (whose policy lets only the
 * collector send); from a hub queue it is poison in the hub DLQ, from a customer queue poison. Keys are checked
 * against that tenant before any AssumeRole. On a customer queue a backfill needs no new format: CloudTrail's own
 * notification with several keys. In-memory S3, SQS and registry (as test/unit/source-hub-batch.test.ts).
 */
import { MAX_BACKFILL_KEYS, backfillMessageBody } from '../../lambdas/shared/ledger';
import { hubDeadLetterQueueArn, hubQueueName } from '../../lambdas/shared/topology';
import { CountTally, failureHandling } from '../../lambdas/ingest/runtime';
import { parseBackfillMessage, parseNotification } from '../../lambdas/ingest/source/notifications';
import { processSqsBatch, type IngestDeps } from '../../lambdas/ingest/source/sqs-batch';
import type { TenantBinding } from '../../lambdas/ingest/source/tenant';
import { cloudTrailNotification } from '../../testkit/demo-chain';
import { snsNotificationBody } from '../../testkit/hub';
import { MemoryAccounts, MemoryS3, SwitchableSink, recordingLogger, smallForward } from '../../testkit/ingest-fakes';
import { VirtualClock, VirtualSqs } from '../../testkit/virtual-sqs';

const REGION = 'us-east-1';
const COLLECTOR = '123456789012';
const A = '111122223333';
const B = '444455556666';
const STRANGER = '999988887777';
const HUB = `arn:aws:sqs:${REGION}:${COLLECTOR}:${hubQueueName(0)}`;
const HUB_DLQ = hubDeadLetterQueueArn(HUB);
const BACKFILL = `arn:aws:sqs:${REGION}:${COLLECTOR}:cloudtrail-collector-backfill`;
const CUSTOMER_QUEUE = `arn:aws:sqs:${REGION}:${A}:outcomesqueue`;
const topicOf = (account: string, region = REGION) => `arn:aws:sns:${region}:${account}:outcomestopic`;
const bucketOf = (account: string) => `outcomes-${account}`;
const roleOf = (account: string) => `arn:aws:iam::${account}:role/CloudTrailCollectorRole`;

function world() {
  const clock = new VirtualClock();
  const sqs = new VirtualSqs(clock);
  const settings = { visibilityTimeoutSeconds: 1800, retentionSeconds: 4 * 86_400 };
  sqs.createQueue(HUB_DLQ, settings);
  sqs.createQueue(HUB, { ...settings, redrive: { deadLetterArn: HUB_DLQ, maxReceiveCount: 40 } });
  sqs.createQueue(BACKFILL, settings);
  sqs.createQueue(CUSTOMER_QUEUE, settings);
  const s3 = new MemoryS3(clock.now);
  const sink = new SwitchableSink();
  const accounts = new MemoryAccounts([
    // A's chain is in eu-west-1: a backfill for A reads in its topic's region.
    { accountId: A, topicArn: topicOf(A, 'eu-west-1'), ingestTopology: 'hub' },
    { accountId: B, topicArn: topicOf(B), ingestTopology: 'hub' },
  ]);
  const tally = new CountTally();
  const { logger, lines } = recordingLogger();
  const tenantsUsed: TenantBinding[] = [];
  const deps: IngestDeps = {
    registry: accounts,
    credentials: { providerFor: () => () => Promise.reject(new Error('the memory S3 needs no credentials')) },
    s3ForTenant: (tenant) => {
      tenantsUsed.push(tenant);
      return s3.clientFor(tenant.roleArn);
    },
    logger,
    counts: tally,
    customerRoleName: 'CloudTrailCollectorRole',
    forward: smallForward(),
    messageConcurrency: 4,
    backfillQueueArn: BACKFILL,
    ...failureHandling({
      sink,
      breaker: { failureThreshold: 3, failureWindowMs: 10_000, openMs: 30_000, maxOpenMs: 120_000 },
      hubQueueArns: [HUB],
      sqsFor: () => sqs.client,
      logger,
      counts: tally,
      now: clock.now,
    }),
  };
  let seed = 0;
  const logFile = (account: string, records = 10, logAccount = account) =>
    s3.putLogFile({
      bucket: bucketOf(account),
      accountId: logAccount,
      region: REGION,
      seed: ++seed,
      records,
      time: new Date(Date.UTC(2026, 10, 1, 0, seed)),
    });
  const run = async (queue: string) => {
    const records = sqs.receive(queue, 10);
    const result = await processSqsBatch(records, deps, Date.now() + 60_000);
    const failed = new Set(result.batchItemFailures.map((failure) => failure.itemIdentifier));
    for (const record of records) if (!failed.has(record.messageId)) sqs.delete(queue, record.receiptHandle);
    return result;
  };
  return { sqs, s3, sink, accounts, tally, lines, deps, tenantsUsed, logFile, run };
}

describe('parseBackfillMessage', () => {
  const valid = { cloudtrailCollectorBackfill: 1, accountId: A, s3Bucket: 'b', s3ObjectKey: ['k1', 'k2'] };
  const reason = (body: unknown) => {
    const parsed = parseBackfillMessage(typeof body === 'string' ? body : JSON.stringify(body));
    if (parsed.kind !== 'poison') throw new Error(`expected poison, got ${JSON.stringify(parsed)}`);
    return parsed.reason;
  };

  test('a valid message: the account and its objects', () => {
    expect(parseBackfillMessage(backfillMessageBody(A, 'b', ['k1', 'k2']))).toEqual({
      kind: 'backfill',
      accountId: A,
      objects: [
        { bucket: 'b', key: 'k1', via: 'backfill', sns: false },
        { bucket: 'b', key: 'k2', via: 'backfill', sns: false },
      ],
    });
    expect(JSON.parse(backfillMessageBody(A, 'b', ['k1', 'k2']))).toEqual(valid);
  });

  test.each([
    ['not JSON', 'backfill', /backfill message: body is not JSON/],
    ['a JSON array', [valid], /body is JSON an array of 1, expected a JSON object/],
    [
      "CloudTrail's own notification",
      { s3Bucket: 'b', s3ObjectKey: ['k'] },
      /the backfill queue accepts only collector backfill messages .*found keys "s3Bucket", "s3ObjectKey"/,
    ],
    [
      'another format version',
      { ...valid, cloudtrailCollectorBackfill: 2 },
      /cloudtrailCollectorBackfill is the number 2, expected 1/,
    ],
    [
      'the version as a string',
      { ...valid, cloudtrailCollectorBackfill: '1' },
      /cloudtrailCollectorBackfill is the string "1"/,
    ],
    ['no accountId', { ...valid, accountId: undefined }, /accountId is missing, expected a 12-digit account id/],
    ['a numeric accountId', { ...valid, accountId: 111122223333 }, /accountId is the number 111122223333/],
    ['a short accountId', { ...valid, accountId: '1234' }, /accountId is the string "1234"/],
    [
      'no s3Bucket',
      { ...valid, s3Bucket: undefined },
      /account 111122223333: s3Bucket is missing, expected a bucket name/,
    ],
    ['an empty s3Bucket', { ...valid, s3Bucket: '' }, /s3Bucket is an empty string/],
    [
      'a single key as a string',
      { ...valid, s3ObjectKey: 'k1' },
      /s3ObjectKey is the string "k1", expected a list of 1 to 10 keys/,
    ],
    ['no keys', { ...valid, s3ObjectKey: [] }, /s3ObjectKey is an array of 0, expected a list of 1 to 10 keys/],
    [
      'eleven keys',
      { ...valid, s3ObjectKey: Array.from({ length: MAX_BACKFILL_KEYS + 1 }, (_, i) => `k${i}`) },
      /s3ObjectKey lists 11 keys, at most 10 are allowed/,
    ],
    [
      'a key that is not a string',
      { ...valid, s3ObjectKey: ['k1', 7] },
      /s3ObjectKey\[1\] is the number 7, expected an object key/,
    ],
  ])('%s: poison naming what is wrong', (_name, body, expected) => {
    expect(reason(body)).toMatch(expected);
  });

  test('the builder refuses more than 10 keys or none', () => {
    expect(() => backfillMessageBody(A, 'b', [])).toThrow('1 to 10 keys, got 0');
    expect(() => backfillMessageBody(A, 'b', Array.from({ length: 11 }, String))).toThrow('got 11');
  });

  test('parseNotification (every other queue): a backfill body is poison, raw or inside SNS', () => {
    const body = backfillMessageBody(A, 'b', ['k']);
    expect(parseNotification(body)).toEqual({
      kind: 'poison',
      reason: expect.stringContaining('accepted only from the backfill queue (BACKFILL_QUEUE_ARN)'),
    });
    expect(parseNotification(snsNotificationBody({ topicArn: topicOf(A), message: body }))).toMatchObject({
      kind: 'poison',
      reason: expect.stringMatching(/^SNS Notification from .*: a collector backfill message/),
    });
  });
});

describe('a backfill message in a batch', () => {
  test("from the backfill queue: read as the named account, with its role, owner check and its topic's region", async () => {
    const w = world();
    const files = [w.logFile(A), w.logFile(A, 3), w.logFile(A, 4)];
    const id = w.sqs.send(
      BACKFILL,
      backfillMessageBody(
        A,
        bucketOf(A),
        files.map((file) => file.key),
      ),
    );
    const result = await w.run(BACKFILL);

    expect(result.batchItemFailures).toEqual([]);
    expect(result.outcomes.get(id)).toEqual({ status: 'forwarded', objects: 3, records: 17, filtered: 0 });
    expect([...w.sink.eventIds.keys()].sort()).toEqual(files.flatMap((file) => file.eventIds).sort());
    expect(w.s3.reads.map((read) => [read.key, read.roleArn, read.expectedOwner])).toEqual(
      files.map((file) => [file.key, roleOf(A), A]),
    );
    expect(w.tenantsUsed.map((tenant) => tenant.region)).toEqual(['eu-west-1', 'eu-west-1', 'eu-west-1']);
  });

  test('from a hub queue (raw, or in an SNS envelope of a registered topic): poison, in the hub DLQ at once', async () => {
    const w = world();
    const file = w.logFile(A);
    const body = backfillMessageBody(A, bucketOf(A), [file.key]);
    const raw = w.sqs.send(HUB, body);
    const wrapped = w.sqs.send(HUB, snsNotificationBody({ topicArn: topicOf(A, 'eu-west-1'), message: body }));
    const result = await w.run(HUB);

    expect(result.batchItemFailures).toEqual([]);
    expect(result.outcomes.get(raw)).toMatchObject({
      status: 'dead-lettered',
      deadLetterQueueArn: HUB_DLQ,
      error: expect.stringMatching(/accepts only SNS envelopes.*accepted only from the backfill queue/),
    });
    expect(result.outcomes.get(wrapped)).toMatchObject({
      status: 'dead-lettered',
      error: expect.stringContaining('a collector backfill message ("cloudtrailCollectorBackfill") is accepted only'),
    });
    expect(w.s3.reads).toHaveLength(0);
    expect(w.tenantsUsed).toHaveLength(0);
  });

  test('from a customer queue: poison, nothing read (its accountId would name the tenant)', async () => {
    const w = world();
    const file = w.logFile(A);
    const id = w.sqs.send(CUSTOMER_QUEUE, backfillMessageBody(B, bucketOf(A), [file.key]));
    const result = await w.run(CUSTOMER_QUEUE);
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: id }]);
    expect(result.outcomes.get(id)).toMatchObject({
      status: 'failed',
      poison: true,
      error: expect.stringContaining('unrecognized message: a collector backfill message'),
    });
    expect(w.s3.reads).toHaveLength(0);
  });

  test('an unknown account, a bad message, a plain notification on the backfill queue: poison naming why', async () => {
    const w = world();
    const file = w.logFile(A);
    const stranger = w.sqs.send(BACKFILL, backfillMessageBody(STRANGER, bucketOf(A), [file.key]));
    const tooMany = w.sqs.send(
      BACKFILL,
      JSON.stringify({
        cloudtrailCollectorBackfill: 1,
        accountId: A,
        s3Bucket: bucketOf(A),
        s3ObjectKey: Array.from({ length: 11 }, () => file.key),
      }),
    );
    const plain = w.sqs.send(BACKFILL, cloudTrailNotification(bucketOf(A), [file.key]));
    const result = await w.run(BACKFILL);

    const error = (id: string) => {
      expect(result.outcomes.get(id)).toMatchObject({ status: 'failed', poison: true });
      return (result.outcomes.get(id) as { error: string }).error;
    };
    expect(error(stranger)).toBe(
      `backfill message on ${BACKFILL} names account ${STRANGER}, which is not registered: nothing is read for it`,
    );
    expect(error(tooMany)).toContain(`for account ${A}: s3ObjectKey lists 11 keys`);
    expect(error(plain)).toContain('the backfill queue accepts only collector backfill messages');
    expect(w.tally.get('MessagesPoison')).toBe(3);
    expect(w.s3.reads).toHaveLength(0);
    expect(w.tenantsUsed).toHaveLength(0);
  });

  test("another tenant's bucket and keys: poison before anything is read, no role of either account used", async () => {
    const w = world();
    const bFile = w.logFile(B);
    const own = w.logFile(A);
    const named = w.sqs.send(BACKFILL, backfillMessageBody(A, bucketOf(B), [bFile.key]));
    const mixed = w.sqs.send(BACKFILL, backfillMessageBody(A, bucketOf(A), [own.key, bFile.key]));
    const result = await w.run(BACKFILL);

    for (const id of [named, mixed]) {
      expect(result.outcomes.get(id)).toMatchObject({
        status: 'failed',
        poison: true,
        error: expect.stringContaining(`holds logs of account ${B}, which is not account ${A}`),
      });
    }
    // No S3 client was built, so no credentials (AssumeRole) were asked for either account.
    expect(w.tenantsUsed).toHaveLength(0);
    expect(w.s3.reads).toHaveLength(0);
  });

  test("customer-queue topology: a backfill is CloudTrail's own notification with several keys, sent to the queue", async () => {
    const w = world();
    const files = [w.logFile(A, 2), w.logFile(A, 5), w.logFile(A, 7), w.logFile(A, 1)];
    const id = w.sqs.send(
      CUSTOMER_QUEUE,
      cloudTrailNotification(
        bucketOf(A),
        files.map((file) => file.key),
      ),
    );
    const result = await w.run(CUSTOMER_QUEUE);
    expect(result.outcomes.get(id)).toEqual({ status: 'forwarded', objects: 4, records: 15, filtered: 0 });
    expect(w.s3.reads.every((read) => read.roleArn === roleOf(A) && read.expectedOwner === A)).toBe(true);
    expect(w.sink.eventIds.size).toBe(15);
  });
});
