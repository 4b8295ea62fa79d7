/**
 * BACKFILL applied (lambdas/reconcile/backfill.ts) over in-memory S3, SQS and ledger fakes: the window and its day
 * folders, the trail's prefix (with slashes) and organization folder, the ledger comparison, 10 messages per
 * SendMessageBatch, the bound per run and the resume cursor, and the two message bodies.
 */
import {
  ListObjectsV2Command,
  type ListObjectsV2CommandInput,
  type ListObjectsV2CommandOutput,
} from '@aws-sdk/client-s3';
import {
  GetQueueUrlCommand,
  SendMessageBatchCommand,
  type SendMessageBatchCommandInput,
  type SendMessageBatchCommandOutput,
} from '@aws-sdk/client-sqs';
import { fileRef, type LedgerEntry } from '../../lambdas/shared/ledger';
import { backfillBody, runBackfill, type BackfillDeps, type BackfillProgress } from '../../lambdas/reconcile/backfill';
import type { BackfillParams } from '../../lambdas/reconcile/types';
import { logFileKey } from '../../testkit/cloudtrail-generator';

const ACCOUNT = '111122223333';
const BUCKET = 'acme-trail-bucket';
const QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/111122223333/outcomesqueue';

/** ListObjectsV2 as S3 answers it: keys in UTF-8 order, Prefix, StartAfter, Delimiter, pages of `pageSize`. */
class FakeS3 {
  readonly calls: ListObjectsV2CommandInput[] = [];
  constructor(
    readonly keys: string[],
    readonly pageSize = 1_000,
  ) {}

  send(command: unknown): Promise<ListObjectsV2CommandOutput> {
    if (!(command instanceof ListObjectsV2Command)) throw new Error('unexpected S3 command');
    const input = command.input;
    this.calls.push(input);
    expect(input.Bucket).toBe(BUCKET);
    expect(input.ExpectedBucketOwner).toBe(ACCOUNT);
    const prefix = input.Prefix ?? '';
    const after = input.ContinuationToken ?? input.StartAfter ?? '';
    const matching = [...this.keys].sort().filter((key) => key.startsWith(prefix) && key > after);
    if (input.Delimiter !== undefined) {
      const folders = [...new Set(matching.map((key) => key.slice(0, key.indexOf('/', prefix.length) + 1)))];
      return Promise.resolve({
        CommonPrefixes: folders.filter((f) => f.length > 0).map((Prefix) => ({ Prefix })),
        IsTruncated: false,
        $metadata: {},
      });
    }
    const page = matching.slice(0, this.pageSize);
    const truncated = matching.length > page.length;
    return Promise.resolve({
      Contents: page.map((Key) => ({ Key })),
      IsTruncated: truncated,
      ...(truncated ? { NextContinuationToken: page.at(-1) } : {}),
      $metadata: {},
    });
  }
}

class FakeSqs {
  readonly batches: SendMessageBatchCommandInput[] = [];
  failNext = false;
  send(command: unknown): Promise<SendMessageBatchCommandOutput | { QueueUrl: string }> {
    if (command instanceof GetQueueUrlCommand) return Promise.resolve({ QueueUrl: QUEUE_URL });
    if (!(command instanceof SendMessageBatchCommand)) throw new Error('unexpected SQS command');
    expect(command.input.Entries!.length).toBeLessThanOrEqual(10);
    if (this.failNext) {
      this.failNext = false;
      return Promise.resolve({
        Successful: [],
        Failed: [{ Id: '0', Code: 'KMS.AccessDenied', SenderFault: true, Message: 'denied' }],
        $metadata: {},
      });
    }
    this.batches.push(command.input);
    return Promise.resolve({ Successful: [], Failed: [], $metadata: {} });
  }
  /** Every key sent, in order, from the bodies. */
  keys(): string[] {
    return this.batches.flatMap((batch) =>
      batch.Entries!.flatMap((entry) => (JSON.parse(entry.MessageBody!) as { s3ObjectKey: string[] }).s3ObjectKey),
    );
  }
}

const key = (time: string, unique: string, options: { region?: string; prefix?: string; orgId?: string } = {}) =>
  logFileKey({
    accountId: ACCOUNT,
    region: options.region ?? 'us-east-1',
    time: new Date(time),
    unique,
    ...(options.prefix !== undefined ? { prefix: options.prefix } : {}),
    ...(options.orgId !== undefined ? { orgId: options.orgId } : {}),
  });

function ledgerOf(collected: string[]): BackfillDeps['ledger'] & { reads: string[] } {
  const reads: string[] = [];
  return {
    reads,
    collectedOn(accountId: string, region: string, day: string) {
      reads.push(`${region} ${day}`);
      const files = new Map<string, LedgerEntry>();
      for (const k of collected) {
        if (k.includes(`/${region}/${day.replaceAll('-', '/')}/`))
          files.set(fileRef(BUCKET, k), { accountId, region, day, bucket: BUCKET, key: k } as LedgerEntry);
      }
      return Promise.resolve(files);
    },
  };
}

function run(
  params: Partial<BackfillParams>,
  world: { s3: FakeS3; sqs?: FakeSqs; collected?: string[] },
): Promise<{ outcome: Awaited<ReturnType<typeof runBackfill>>; progress: BackfillProgress[]; sqs: FakeSqs }> {
  const sqs = world.sqs ?? new FakeSqs();
  const progress: BackfillProgress[] = [];
  const full: BackfillParams = {
    since: '2026-11-23T23:50:00.000Z',
    until: '2026-11-24T12:00:00.000Z',
    bucketName: BUCKET,
    bucketRegion: 'us-east-1',
    logPrefix: `AWSLogs/${ACCOUNT}/CloudTrail/`,
    regions: ['us-east-1'],
    delivery: { to: 'customer-queue', queueName: 'outcomesqueue', region: 'us-east-1', queueUrl: QUEUE_URL },
    maxFiles: 2_000,
    ...params,
  };
  return runBackfill(full, 'SUBSCRIPTION_MISSING', {
    accountId: ACCOUNT,
    s3: world.s3,
    sqs,
    ledger: ledgerOf(world.collected ?? []),
    now: new Date('2026-11-24T12:00:00.000Z'),
    onProgress: (p) => progress.push(p),
  }).then((outcome) => ({ outcome, progress, sqs }));
}

describe('runBackfill', () => {
  test('the window: files delivered in it, across the day boundary, minus what the ledger collected', async () => {
    const before = key('2026-11-23T23:40:00Z', 'before');
    const lateDay1 = key('2026-11-23T23:55:00Z', 'late');
    const collected = key('2026-11-24T00:05:00Z', 'collected');
    const missing = key('2026-11-24T00:10:00Z', 'missing');
    const after = key('2026-11-24T12:05:00Z', 'after');
    const digest = `AWSLogs/${ACCOUNT}/CloudTrail-Digest/us-east-1/2026/11/24/${ACCOUNT}_CloudTrail-Digest_us-east-1_t_us-east-1_20261124T010000Z.json.gz`;
    const s3 = new FakeS3([before, lateDay1, collected, missing, after, digest]);
    const { outcome, progress, sqs } = await run({}, { s3, collected: [collected] });
    expect(sqs.keys()).toEqual([lateDay1, missing]);
    expect(outcome).toEqual({ enqueued: 2, listRequests: 2, done: true });
    // One listing per day folder, exactly the folder.
    expect(s3.calls.map((c) => c.Prefix)).toEqual([
      `AWSLogs/${ACCOUNT}/CloudTrail/us-east-1/2026/11/23/`,
      `AWSLogs/${ACCOUNT}/CloudTrail/us-east-1/2026/11/24/`,
    ]);
    expect(progress.at(-1)).toEqual({
      state: 'done',
      done: {
        since: '2026-11-23T23:50:00.000Z',
        until: '2026-11-24T12:00:00.000Z',
        enqueued: 2,
        finishedAt: '2026-11-24T12:00:00.000Z',
      },
    });
  });

  test("customer-queue: CloudTrail's own notification; hub: the backfill queue's body naming the account", async () => {
    const file = key('2026-11-24T01:00:00Z', 'a');
    const customer = await run({}, { s3: new FakeS3([file]) });
    expect(customer.sqs.batches[0]!.QueueUrl).toBe(QUEUE_URL);
    expect(JSON.parse(customer.sqs.batches[0]!.Entries![0]!.MessageBody!)).toEqual({
      s3Bucket: BUCKET,
      s3ObjectKey: [file],
    });
    const backfillQueue = 'https://sqs.us-east-1.amazonaws.com/123456789012/cloudtrail-collector-backfill';
    const hub = await run({ delivery: { to: 'backfill-queue', queueUrl: backfillQueue } }, { s3: new FakeS3([file]) });
    expect(hub.sqs.batches[0]!.QueueUrl).toBe(backfillQueue);
    expect(hub.sqs.batches[0]!.Entries![0]!.MessageBody).toBe(
      `{"cloudtrailCollectorBackfill":1,"accountId":"${ACCOUNT}","s3Bucket":"${BUCKET}","s3ObjectKey":["${file}"]}`,
    );
    expect(backfillBody('customer-queue', ACCOUNT, BUCKET, ['k'])).toBe(
      '{"s3Bucket":"acme-trail-bucket","s3ObjectKey":["k"]}',
    );
    // A queue created in this run: its URL is asked for by name.
    const created = await run(
      { delivery: { to: 'customer-queue', queueName: 'outcomesqueue', region: 'us-east-1' } },
      { s3: new FakeS3([file]) },
    );
    expect(created.sqs.batches[0]!.QueueUrl).toBe(QUEUE_URL);
  });

  test('a prefix with slashes, an organization folder found by listing, regions found by listing', async () => {
    const prefix = 'security/cloudtrail/prod';
    const orgId = 'o-abcdefghij';
    const east = key('2026-11-24T01:00:00Z', 'e', { prefix, orgId });
    const west = key('2026-11-24T02:00:00Z', 'w', { prefix, orgId, region: 'eu-west-1' });
    const s3 = new FakeS3([east, west, `${prefix}/AWSLogs/${orgId}/${ACCOUNT}/CloudTrail/not-a-region/x.json.gz`]);
    const { sqs, outcome } = await run(
      { logPrefix: `${prefix}/AWSLogs/`, findOrganization: true, regions: undefined, since: '2026-11-24T00:00:00Z' },
      { s3 },
    );
    expect(sqs.keys()).toEqual([west, east]);
    expect(s3.calls.map((c) => [c.Prefix, c.Delimiter])).toEqual([
      [`${prefix}/AWSLogs/`, '/'],
      [`${prefix}/AWSLogs/${orgId}/${ACCOUNT}/CloudTrail/`, '/'],
      [`${prefix}/AWSLogs/${orgId}/${ACCOUNT}/CloudTrail/eu-west-1/2026/11/24/`, undefined],
      [`${prefix}/AWSLogs/${orgId}/${ACCOUNT}/CloudTrail/us-east-1/2026/11/24/`, undefined],
    ]);
    expect(outcome.listRequests).toBe(4);
    const two = new FakeS3([east, key('2026-11-24T01:00:00Z', 'x', { prefix, orgId: 'o-zzzzzzzzzz' })]);
    await expect(run({ logPrefix: `${prefix}/AWSLogs/`, findOrganization: true }, { s3: two })).rejects.toThrow(
      /holds the folders of 2 organizations \(o-abcdefghij, o-zzzzzzzzzz\).*organizationId/,
    );
  });

  test('10 files a message, 10 messages a call; pages of the listing are followed', async () => {
    const files = Array.from({ length: 250 }, (_, i) =>
      key(`2026-11-24T0${Math.floor(i / 60)}:${String(i % 60).padStart(2, '0')}:00Z`, `f${String(i).padStart(3, '0')}`),
    );
    const { sqs, outcome } = await run({ since: '2026-11-24T00:00:00Z' }, { s3: new FakeS3(files, 100) });
    expect(sqs.batches.map((b) => b.Entries!.length)).toEqual([10, 10, 5]);
    expect(
      sqs.batches.flatMap((b) =>
        b.Entries!.map((e) => (JSON.parse(e.MessageBody!) as { s3ObjectKey: string[] }).s3ObjectKey.length),
      ),
    ).toEqual([...Array(25).fill(10)]);
    expect(sqs.keys()).toEqual([...files].sort());
    expect(outcome).toEqual({ enqueued: 250, listRequests: 3, done: true });
  });

  test('bounded per run, resumed from the cursor until done; the same files are never sent twice', async () => {
    const files = ['a', 'b', 'c', 'd', 'e'].map((u, i) => key(`2026-11-24T0${i + 1}:00:00Z`, u));
    const eu = key('2026-11-24T03:00:00Z', 'eu', { region: 'eu-west-1' });
    const s3 = new FakeS3([...files, eu]);
    const regions = ['eu-west-1', 'us-east-1'];
    const first = await run({ regions, maxFiles: 3, since: '2026-11-24T00:00:00Z' }, { s3 });
    expect(first.sqs.keys()).toEqual([eu, files[0], files[1]]);
    expect(first.outcome.done).toBe(false);
    const cursor = first.progress.at(-1);
    expect(cursor).toEqual({
      state: 'running',
      cursor: {
        reason: 'SUBSCRIPTION_MISSING',
        since: '2026-11-24T00:00:00Z',
        until: '2026-11-24T12:00:00.000Z',
        regions,
        region: 'us-east-1',
        day: '2026-11-24',
        startAfter: files[1],
        enqueued: 3,
        startedAt: '2026-11-24T12:00:00.000Z',
      },
    });
    if (cursor?.state !== 'running') throw new Error('no cursor');
    const { region, day, startAfter, enqueued, startedAt } = cursor.cursor;
    s3.calls.length = 0;
    const second = await run(
      { since: cursor.cursor.since, resume: { regions, region, day, startAfter: startAfter!, enqueued, startedAt } },
      { s3 },
    );
    expect(second.sqs.keys()).toEqual([files[2], files[3], files[4]]);
    // eu-west-1 is done: not listed again; us-east-1's day resumes after the last key sent.
    expect(s3.calls.map((c) => [c.Prefix, c.StartAfter])).toEqual([
      [`AWSLogs/${ACCOUNT}/CloudTrail/us-east-1/2026/11/24/`, files[1]],
    ]);
    expect(second.progress.at(-1)).toMatchObject({ state: 'done', done: { enqueued: 6 } });
  });

  test('a refused batch fails the action; the cursor stays at the last batch sent', async () => {
    const files = Array.from({ length: 150 }, (_, i) =>
      key(`2026-11-24T0${Math.floor(i / 60)}:${String(i % 60).padStart(2, '0')}:00Z`, `g${String(i).padStart(3, '0')}`),
    );
    const sqs = new FakeSqs();
    const progress: BackfillProgress[] = [];
    const ledger = ledgerOf([]);
    let sends = 0;
    const flaky = {
      send: (command: unknown) => {
        if (command instanceof SendMessageBatchCommand && ++sends === 2) sqs.failNext = true;
        return sqs.send(command);
      },
    };
    await expect(
      runBackfill(
        {
          since: '2026-11-24T00:00:00Z',
          until: '2026-11-24T12:00:00Z',
          bucketName: BUCKET,
          bucketRegion: 'us-east-1',
          logPrefix: `AWSLogs/${ACCOUNT}/CloudTrail/`,
          regions: ['us-east-1'],
          delivery: { to: 'customer-queue', queueName: 'outcomesqueue', region: 'us-east-1', queueUrl: QUEUE_URL },
          maxFiles: 2_000,
        },
        'QUEUE_MISSING',
        {
          accountId: ACCOUNT,
          s3: new FakeS3(files),
          sqs: flaky,
          ledger,
          now: new Date(),
          onProgress: (p) => progress.push(p),
        },
      ),
    ).rejects.toThrow('refused 1 of 5 message(s): KMS.AccessDenied denied');
    expect(progress).toHaveLength(1);
    expect(progress[0]).toMatchObject({
      state: 'running',
      cursor: { startAfter: [...files].sort()[99], enqueued: 100 },
    });
  });
});
