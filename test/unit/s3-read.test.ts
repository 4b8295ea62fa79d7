import { randomBytes } from 'node:crypto';
/**
 * What real S3 answers on the read of a log file, against the ingest core with a fake S3 client:
 * - GetObject with the VersionId of an S3 event whose version was deleted since: 404 `NoSuchVersion` (Amazon S3 API
 *   Reference, "Error responses", list of error codes): acknowledged like `NoSuchKey`, never retried into the DLQ;
 *   a malformed version id (400 `InvalidArgument`, "Invalid version id specified") is not acknowledged;
 * - SSE-KMS log files whose key policy does not let the role decrypt: `403 AccessDenied` naming kms:Decrypt, or a
 *   `KMS.*` error (the message shape of public reports of S3 GetObject): the message fails
 *   (nothing lost) and the account's registry entry records the error for TRAIL_KMS_UNREADABLE;
 * - a body that stalls: the read is bounded by the Lambda deadline (an abort signal), not only the downstream.
 * No assertion here depends on timing: the deadlines are either already past or fired by the test itself.
 */
import { Readable } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import type { SQSRecord } from 'aws-lambda';
import { silentLogger, type LoggerLike } from '../../lambdas/shared/logger';
import type { AccountRecord, ReadError } from '../../lambdas/shared/registry';
import { PermanentInputError } from '../../lambdas/shared/errors';
import { KEEP_ALL } from '../../lambdas/ingest/records/filters';
import {
  SMALL_OBJECT_MAX_BYTES,
  WHOLE_OBJECT_MAX_BYTES,
  forwardObject,
  wholeReadReservation,
  type ForwardOptions,
} from '../../lambdas/ingest/pipeline';
import { ByteBudget, Gate } from '../../lambdas/shared/concurrency';
import { gzipSync } from 'node:zlib';
import { BodyLengthError, KmsReadError, ReadDeadlineError, deadlineSignal } from '../../lambdas/ingest/s3-read';
import type { Sink } from '../../lambdas/ingest/sinks/sink';
import { processSqsBatch, type IngestDeps } from '../../lambdas/ingest/source/sqs-batch';
import type { RecordObject } from '../../lambdas/ingest/log-object';
import { CountTally } from '../../lambdas/ingest/runtime';

const ACCOUNT = '111122223333';
const REGION = 'eu-west-1';
const QUEUE_ARN = `arn:aws:sqs:${REGION}:${ACCOUNT}:outcomesqueue`;
const BUCKET = 'ct-logs';
const KEY = `AWSLogs/${ACCOUNT}/CloudTrail/${REGION}/2026/11/01/${ACCOUNT}_CloudTrail_${REGION}_20261101T0000Z_a.json.gz`;
const KEY_ARN = `arn:aws:kms:${REGION}:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
const ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/CloudTrailCollectorRole`;
const RECORD = { accountId: ACCOUNT, externalId: 'x', mode: 'apply', logArchiveFor: [] } as unknown as AccountRecord;

/** An S3 service error as the SDK raises it: its name is the S3 error code. */
function s3Error(name: string, message: string, status: number): Error {
  return Object.assign(new Error(message), { name, $metadata: { httpStatusCode: status } });
}

const KMS_DENIED = s3Error(
  'AccessDenied',
  `User: arn:aws:sts::${ACCOUNT}:assumed-role/CloudTrailCollectorRole/cloudtrail-collector-ingest is not authorized ` +
    `to perform: kms:Decrypt on resource: ${KEY_ARN} because no resource-based policy allows the kms:Decrypt action`,
  403,
);

interface FakeS3 {
  client: S3Client;
  calls: { input: Record<string, unknown>; abortSignal?: AbortSignal }[];
}

/** A fake S3 client: `answer` decides each GetObject. Like the SDK, it rejects when its abort signal fires. */
function fakeS3(answer: (input: Record<string, unknown>) => Promise<unknown>): FakeS3 {
  const calls: FakeS3['calls'] = [];
  const client = {
    send: (command: { input: Record<string, unknown> }, options?: { abortSignal?: AbortSignal }) => {
      calls.push({ input: command.input, ...(options?.abortSignal ? { abortSignal: options.abortSignal } : {}) });
      const signal = options?.abortSignal;
      const aborted = new Promise<never>((_, reject) => {
        const fail = () => reject(Object.assign(new Error('Request aborted'), { name: 'AbortError' }));
        if (signal?.aborted) fail();
        signal?.addEventListener('abort', fail, { once: true });
      });
      return Promise.race([answer(command.input), aborted]);
    },
  } as unknown as S3Client;
  return { client, calls };
}

/** A body that yields `first` and then never ends, nor errors: a stalled connection. */
function stalledBody(first: Buffer): Readable & { destroyedByAbort: () => boolean } {
  const stream = new Readable({ read() {} });
  stream.push(first);
  return Object.assign(stream, { destroyedByAbort: () => stream.destroyed });
}

const accepting: Sink = {
  recordOverheadBytes: 1,
  close: () => undefined,
  send: () => Promise.resolve({ requests: 1, bytesSent: 0 }),
};

const FORWARD: Omit<ForwardOptions, 'deadline'> = {
  maxDecompressedBytes: 1 << 30,
  maxRecordBytes: 1 << 20,
  batchLimits: { maxBatchBytes: 1 << 22, maxBatchRecords: 100 },
  maxInFlightBatches: 1,
  filter: KEEP_ALL,
};

const OBJECT: RecordObject = { bucket: BUCKET, key: KEY, versionId: 'v-deleted-since', kind: 'log' };

function deps(
  s3: S3Client,
  overrides: Partial<IngestDeps> & { readErrors?: ReadError[] } = {},
): IngestDeps & { tally: CountTally } {
  const tally = new CountTally();
  const { readErrors, ...rest } = overrides;
  return {
    registry: {
      get: () => Promise.resolve(RECORD),
      recordDelivery: () => Promise.resolve(true),
      recordReadError: (_account: string, error: ReadError) => {
        readErrors?.push(error);
        return Promise.resolve(true);
      },
    },
    credentials: { providerFor: () => () => Promise.reject(new Error('unused')) },
    s3ForTenant: () => s3,
    sink: accepting,
    logger: silentLogger,
    counts: tally,
    customerRoleName: 'CloudTrailCollectorRole',
    forward: FORWARD,
    messageConcurrency: 1,
    tally,
    ...rest,
  };
}

/** An S3 event notification for KEY, with a version id. */
function message(id = 'm1', versionId = 'v-deleted-since'): SQSRecord {
  const body = {
    Records: [
      {
        eventVersion: '2.1',
        eventSource: 'aws:s3',
        eventName: 'ObjectCreated:Put',
        s3: { bucket: { name: BUCKET }, object: { key: KEY, size: 10, versionId } },
      },
    ],
  };
  return {
    messageId: id,
    body: JSON.stringify(body),
    eventSourceARN: QUEUE_ARN,
    attributes: { ApproximateReceiveCount: '1' },
  } as unknown as SQSRecord;
}

const logged: { message: string; extra: unknown[] }[] = [];
const recordingLogger: LoggerLike = {
  debug: () => undefined,
  info: (msg, ...extra) => logged.push({ message: msg, extra }),
  warn: (msg, ...extra) => logged.push({ message: msg, extra }),
  error: (msg, ...extra) => logged.push({ message: msg, extra }),
};

describe('GetObject NoSuchVersion: the announced version was deleted since (S3 API Reference, Error responses)', () => {
  const noSuchVersion = () =>
    fakeS3(() => Promise.reject(s3Error('NoSuchVersion', 'The specified version does not exist.', 404)));

  test('forwardObject: the object is missing (NoSuchVersion), nothing is sent', async () => {
    const s3 = noSuchVersion();
    const result = await forwardObject(s3.client, OBJECT, ACCOUNT, accepting, {
      ...FORWARD,
      deadline: Date.now() + 60_000,
    });
    expect(result).toMatchObject({ outcome: 'missing', missing: 'NoSuchVersion', recordsForwarded: 0 });
    expect(s3.calls[0]!.input).toMatchObject({ Bucket: BUCKET, Key: KEY, VersionId: 'v-deleted-since' });
  });

  test('processSqsBatch: acknowledged and counted like NoSuchKey, never a batch item failure', async () => {
    logged.length = 0;
    const d = deps(noSuchVersion().client, { logger: recordingLogger });
    const result = await processSqsBatch([message()], d, Date.now() + 60_000);
    expect(result.batchItemFailures).toEqual([]);
    expect(result.outcomes.get('m1')).toEqual({ status: 'forwarded', objects: 1, records: 0, filtered: 0 });
    expect(d.tally.get('ObjectsMissing')).toBe(1);
    expect(d.tally.get('MessagesFailed')).toBe(0);
    expect(logged.map((l) => l.message)).toContain(
      'object version deleted before it was read (NoSuchVersion): acknowledged',
    );
  });

  test('a malformed version id (400 InvalidArgument) is not acknowledged: the message fails, not as poison', async () => {
    const s3 = fakeS3(() => Promise.reject(s3Error('InvalidArgument', 'Invalid version id specified', 400)));
    const d = deps(s3.client);
    const result = await processSqsBatch([message('m1', 'not-a-version')], d, Date.now() + 60_000);
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: 'm1' }]);
    expect(result.outcomes.get('m1')).toMatchObject({ status: 'failed', poison: false });
    expect(d.tally.get('ObjectsMissing')).toBe(0);
  });
});

describe('S3 reads are bounded by the Lambda deadline (an abort signal into GetObject and the body)', () => {
  const records = Buffer.from('{"Records":[{"eventID":"a"},');

  test('GetObject is sent with an abort signal', async () => {
    const s3 = fakeS3(() => Promise.resolve({ Body: Readable.from([Buffer.from('{"Records":[]}')]) }));
    await forwardObject(s3.client, OBJECT, ACCOUNT, accepting, { ...FORWARD, deadline: Date.now() + 60_000 });
    expect(s3.calls[0]!.abortSignal).toBeInstanceOf(AbortSignal);
    expect(s3.calls[0]!.abortSignal!.aborted).toBe(false);
  });

  test('a body that stalls: the read is stopped when the signal fires, naming the object and the deadline', async () => {
    const body = stalledBody(records);
    const controller = new AbortController();
    const s3 = fakeS3(() => Promise.resolve({ Body: body }));
    // The test plays the deadline: it fires once the first bytes have been read and the read waits for more.
    body.once('data', () => setImmediate(() => controller.abort()));
    const error = await forwardObject(s3.client, OBJECT, ACCOUNT, accepting, {
      ...FORWARD,
      deadline: Date.now() + 60_000,
      signal: controller.signal,
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ReadDeadlineError);
    expect(error).not.toBeInstanceOf(PermanentInputError);
    expect((error as Error).message).toBe(
      `s3://${BUCKET}/${KEY}: reading from S3 stopped at the Lambda deadline (DEADLINE_MARGIN_MS before the ` +
        `timeout) after ${records.length} bytes; the message is left for redelivery`,
    );
    // The stalled stream is destroyed, so its socket does not outlive the invocation either.
    expect(body.destroyedByAbort()).toBe(true);
  });

  test('a GetObject that never answers, with the deadline already past: aborted, the message left for redelivery', async () => {
    const s3 = fakeS3(() => new Promise(() => undefined));
    const d = deps(s3.client);
    const result = await processSqsBatch([message()], d, Date.now() - 1);
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: 'm1' }]);
    const outcome = result.outcomes.get('m1');
    expect(outcome).toMatchObject({ status: 'failed', poison: false });
    expect(outcome?.status === 'failed' && outcome.error).toMatch(
      new RegExp(`^s3://${BUCKET}/${KEY.replace(/[.]/g, '\\.')}: reading from S3 stopped at the Lambda deadline`),
    );
    expect(s3.calls[0]!.abortSignal!.aborted).toBe(true);
  });

  test('the default signal: a timer at the deadline, aborted at once when the deadline has passed', () => {
    const past = deadlineSignal(1_000, 2_000);
    expect(past.signal.aborted).toBe(true);
    const future = deadlineSignal(Date.now() + 60_000);
    expect(future.signal.aborted).toBe(false);
    future.dispose();
  });
});

describe('SSE-KMS log files the role cannot decrypt: recorded for TRAIL_KMS_UNREADABLE, the message still fails', () => {
  test('AccessDenied naming kms:Decrypt: not poison, left for redelivery; the key, object and role are recorded', async () => {
    const readErrors: ReadError[] = [];
    const s3 = fakeS3(() => Promise.reject(KMS_DENIED));
    const d = deps(s3.client, { readErrors, readErrorMarks: new Map() });
    const result = await processSqsBatch([message('m1'), message('m2')], d, Date.now() + 60_000);
    // Nothing is lost: both messages stay in the queue (then the DLQ), none acknowledged.
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: 'm1' }, { itemIdentifier: 'm2' }]);
    const outcome = result.outcomes.get('m1');
    expect(outcome).toMatchObject({ status: 'failed', poison: false });
    expect(outcome?.status === 'failed' && outcome.error).toContain(
      `S3 cannot decrypt the object with its KMS key ${KEY_ARN} (AccessDenied: User:`,
    );
    expect(d.tally.get('ObjectsKmsUnreadable')).toBe(2);
    // One write per account, however many messages failed.
    expect(readErrors).toEqual([
      {
        kind: 'kms',
        at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        bucket: BUCKET,
        objectKey: KEY,
        code: 'AccessDenied',
        keyArn: KEY_ARN,
        roleArn: ROLE_ARN,
        message: KMS_DENIED.message,
      },
    ]);
    // The next batch within a few minutes does not write again (like lastRecordAt).
    await processSqsBatch([message('m3')], d, Date.now() + 60_000);
    expect(readErrors).toHaveLength(1);
  });

  test('a KMS.* error passed through by S3 (key disabled) is recorded too', async () => {
    const readErrors: ReadError[] = [];
    const disabled = s3Error('KMS.DisabledException', `${KEY_ARN} is disabled.`, 400);
    const d = deps(fakeS3(() => Promise.reject(disabled)).client, { readErrors });
    const result = await processSqsBatch([message()], d, Date.now() + 60_000);
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: 'm1' }]);
    expect(readErrors).toMatchObject([{ code: 'KMS.DisabledException', keyArn: KEY_ARN }]);
  });

  test('an AccessDenied without kms:Decrypt (the S3 permission) is not a KMS error: failed, nothing recorded', async () => {
    const readErrors: ReadError[] = [];
    const denied = s3Error('AccessDenied', 'Access Denied', 403);
    const d = deps(fakeS3(() => Promise.reject(denied)).client, { readErrors });
    const result = await processSqsBatch([message()], d, Date.now() + 60_000);
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: 'm1' }]);
    expect(readErrors).toEqual([]);
    expect(d.tally.get('ObjectsKmsUnreadable')).toBe(0);
  });

  test('a registry write that fails is logged and changes nothing for the message', async () => {
    logged.length = 0;
    const d = deps(fakeS3(() => Promise.reject(KMS_DENIED)).client, { logger: recordingLogger });
    d.registry.recordReadError = () => Promise.reject(new Error('throttled'));
    const result = await processSqsBatch([message()], d, Date.now() + 60_000);
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: 'm1' }]);
    expect(logged.map((l) => l.message)).toContain('could not record the KMS read error');
  });

  test('KmsReadError keeps the code and the key named by S3', () => {
    const error = new KmsReadError(OBJECT, KMS_DENIED);
    expect(error.code).toBe('AccessDenied');
    expect(error.keyArn).toBe(KEY_ARN);
    expect(error.cause).toBe(KMS_DENIED);
  });
});

describe('small objects are read whole (up to WHOLE_OBJECT_MAX_BYTES, by their Content-Length)', () => {
  const log = gzipSync(JSON.stringify({ Records: [{ eventID: 'a' }, { eventID: 'b' }] }));

  /** A sink that keeps the records it is sent. */
  function keeping(): Sink & { records: string[] } {
    const records: string[] = [];
    return {
      recordOverheadBytes: 1,
      close: () => undefined,
      send: (b) => {
        records.push(...b.records.map((record) => record.toString()));
        return Promise.resolve({ requests: 1, bytesSent: 0 });
      },
      records,
    };
  }

  async function forward(body: Readable, contentLength: number | undefined, signal?: AbortSignal) {
    const sink = keeping();
    const s3 = fakeS3(() =>
      Promise.resolve({ Body: body, ...(contentLength === undefined ? {} : { ContentLength: contentLength }) }),
    );
    const result = await forwardObject(s3.client, OBJECT, ACCOUNT, sink, {
      ...FORWARD,
      deadline: Date.now() + 60_000,
      ...(signal ? { signal } : {}),
    }).then(
      (value) => ({ value }),
      (error: unknown) => ({ error }),
    );
    return { ...result, sink };
  }

  test('read whole or streamed, the same records and counts', async () => {
    const chunks = () => Readable.from([log.subarray(0, 7), log.subarray(7)]);
    const whole = await forward(chunks(), log.length);
    const streamed = await forward(chunks(), undefined);
    const large = await forward(chunks(), WHOLE_OBJECT_MAX_BYTES + 1).catch((e: unknown) => ({ error: e }));
    expect(whole.sink.records).toEqual(['{"eventID":"a"}', '{"eventID":"b"}']);
    expect(streamed.sink.records).toEqual(whole.sink.records);
    // A Content-Length above the limit is streamed (this body is shorter than it says, which the stream
    // does not check: S3 and the socket do).
    expect('value' in large && large.value.recordsRead).toBe(2);
    const { durationMs: _a, ...wholeCounts } = (whole as { value: { durationMs: number } }).value;
    const { durationMs: _b, ...streamedCounts } = (streamed as { value: { durationMs: number } }).value;
    expect(wholeCounts).toEqual(streamedCounts);
    expect(wholeCounts).toMatchObject({ bytesIn: log.length, recordsRead: 2, recordsForwarded: 2 });
  });

  test.each([
    ['ends before its Content-Length', 1, `but the body ended after ${log.length}`],
    ['goes on past its Content-Length', -1, 'but the body went on past them'],
  ])('a body that %s fails the message for redelivery (not poison), sending nothing', async (_name, delta, text) => {
    const { error, sink } = (await forward(Readable.from([log]), log.length + delta)) as {
      error: unknown;
      sink: { records: string[] };
    };
    expect(error).toBeInstanceOf(BodyLengthError);
    expect(error).not.toBeInstanceOf(PermanentInputError);
    expect((error as Error).message).toBe(
      `s3://${BUCKET}/${KEY}: GetObject announced ${log.length + delta} bytes (Content-Length) ${text}; ` +
        'the message is left for redelivery',
    );
    expect(sink.records).toEqual([]);
  });

  test('a small body that stalls is stopped at the deadline too, and destroyed', async () => {
    const body = stalledBody(log.subarray(0, 5));
    const controller = new AbortController();
    body.once('data', () => setImmediate(() => controller.abort()));
    const { error } = (await forward(body, log.length, controller.signal)) as { error: unknown };
    expect(error).toBeInstanceOf(ReadDeadlineError);
    expect((error as Error).message).toMatch(/stopped at the Lambda deadline .* after 5 bytes/);
    expect(body.destroyedByAbort()).toBe(true);
  });
});

describe('forwardObject: the large-object gate', () => {
  const small = gzipSync(Buffer.from('{"Records":[{"eventID":"a"}]}'));
  // Random base64 hardly compresses: this gzip is over SMALL_OBJECT_MAX_BYTES.
  const filler = randomBytes(SMALL_OBJECT_MAX_BYTES).toString('base64');
  const large = gzipSync(Buffer.from(`{"Records":[{"eventID":"a","requestParameters":{"x":"${filler}"}}]}`));

  /** Forwards one object while the gate is held by someone else; reports whether its body was read meanwhile. */
  async function readsWhileGateHeld(log: Buffer, contentLength: number | undefined): Promise<boolean> {
    const gate = new Gate(1);
    const holdersRelease = await gate.acquire();
    let bodyRead = false;
    const body = new Readable({
      read() {
        bodyRead = true;
        this.push(log);
        this.push(null);
      },
    });
    const s3 = fakeS3(() =>
      Promise.resolve({ Body: body, ...(contentLength === undefined ? {} : { ContentLength: contentLength }) }),
    );
    const forwarding = forwardObject(s3.client, OBJECT, ACCOUNT, accepting, {
      ...FORWARD,
      largeObjects: gate,
      deadline: Date.now() + 60_000,
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    const readBeforeRelease = bodyRead;
    holdersRelease();
    await forwarding;
    expect(gate.holders).toBe(0); // released after the object, also by the one that waited
    return readBeforeRelease;
  }

  test('a small object does not wait for the gate', async () => {
    expect(small.length).toBeLessThanOrEqual(SMALL_OBJECT_MAX_BYTES);
    expect(await readsWhileGateHeld(small, small.length)).toBe(true);
  });

  test('an object over SMALL_OBJECT_MAX_BYTES, or of unknown length, waits for its turn before its body is read', async () => {
    expect(large.length).toBeGreaterThan(SMALL_OBJECT_MAX_BYTES);
    expect(await readsWhileGateHeld(large, large.length)).toBe(false);
    expect(await readsWhileGateHeld(small, undefined)).toBe(false);
  });
});

describe('forwardObject: the whole-read budget', () => {
  const json = Buffer.from(JSON.stringify({ Records: [{ eventID: 'a', x: 'y'.repeat(50_000) }] }));
  const log = gzipSync(json);

  function s3For(body: Buffer): FakeS3 {
    return fakeS3(() => Promise.resolve({ Body: Readable.from([body]), ContentLength: body.length }));
  }

  test('an object read whole reserves its body, its output and its batches until they are acknowledged', async () => {
    const reservation = wholeReadReservation(log.length, json.length + 1);
    expect(reservation).toBe(log.length + 2 * (json.length + 1));
    // Room for one object: a second waits for the first's release before anything of it reaches the sink.
    const budget = new ByteBudget(reservation);
    const heldByOther = await budget.acquire(reservation);
    let sent = 0;
    let reservedWhileSending = 0;
    const counting: Sink = {
      ...accepting,
      send: () => {
        sent += 1;
        reservedWhileSending = budget.reserved;
        return Promise.resolve({ requests: 1, bytesSent: 0 });
      },
    };
    const forwarding = forwardObject(s3For(log).client, OBJECT, ACCOUNT, counting, {
      ...FORWARD,
      wholeReads: budget,
      deadline: Date.now() + 60_000,
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(sent).toBe(0);
    heldByOther();
    const result = await forwarding;
    expect(result).toMatchObject({ outcome: 'forwarded', recordsForwarded: 1, bytesDecompressed: json.length });
    expect(reservedWhileSending).toBe(reservation);
    expect(budget.reserved).toBe(0);
  });

  test('a trailer that understates the output costs no more than it reserved: the object is streamed, nothing lost', async () => {
    const members = Buffer.concat([gzipSync(json.subarray(0, 30_000)), gzipSync(json.subarray(30_000))]);
    const records: unknown[] = [];
    const keeping: Sink = {
      ...accepting,
      send: (batch) => {
        records.push(...batch.records.map((record) => JSON.parse(record.toString()) as unknown));
        return Promise.resolve({ requests: 1, bytesSent: 0 });
      },
    };
    const budget = new ByteBudget(1 << 20);
    const result = await forwardObject(s3For(members).client, OBJECT, ACCOUNT, keeping, {
      ...FORWARD,
      wholeReads: budget,
      deadline: Date.now() + 60_000,
    });
    expect(result).toMatchObject({ outcome: 'forwarded', recordsForwarded: 1, bytesDecompressed: json.length });
    expect(records).toEqual(JSON.parse(json.toString()).Records);
    expect(budget.reserved).toBe(0);
  });

  test('an object that inflates past its reservation gives it back and waits for a streamed turn at the gate', async () => {
    const members = Buffer.concat([gzipSync(json.subarray(0, 30_000)), gzipSync(json.subarray(30_000))]);
    expect(members.length).toBeLessThanOrEqual(SMALL_OBJECT_MAX_BYTES); // would not take the gate otherwise
    const budget = new ByteBudget(1 << 20);
    const gate = new Gate(1);
    const releaseGate = await gate.acquire();
    let sent = 0;
    const counting: Sink = { ...accepting, send: () => ((sent += 1), Promise.resolve({ requests: 1, bytesSent: 0 })) };
    const forwarding = forwardObject(s3For(members).client, OBJECT, ACCOUNT, counting, {
      ...FORWARD,
      wholeReads: budget,
      largeObjects: gate,
      deadline: Date.now() + 60_000,
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(sent).toBe(0);
    expect(budget.reserved).toBe(0); // given back while it waits: budget and gate never wait on each other
    releaseGate();
    expect(await forwarding).toMatchObject({ outcome: 'forwarded', recordsForwarded: 1 });
    expect(gate.holders).toBe(0);
  });

  test('the deadline while waiting for the budget: a read deadline error, nothing sent, nothing reserved', async () => {
    const budget = new ByteBudget(1024);
    const releaseOther = await budget.acquire(1024);
    let sent = 0;
    const counting: Sink = { ...accepting, send: () => ((sent += 1), Promise.resolve({ requests: 1, bytesSent: 0 })) };
    const controller = new AbortController();
    const forwarding = forwardObject(s3For(log).client, OBJECT, ACCOUNT, counting, {
      ...FORWARD,
      wholeReads: budget,
      deadline: Date.now() + 60_000,
      signal: controller.signal,
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    controller.abort();
    await expect(forwarding).rejects.toBeInstanceOf(ReadDeadlineError);
    expect(sent).toBe(0);
    releaseOther();
    expect(budget.reserved).toBe(0);
  });

  test('the reservation is released when the object fails', async () => {
    const budget = new ByteBudget(1 << 20);
    const failing: Sink = { ...accepting, send: () => Promise.reject(new Error('downstream down')) };
    await expect(
      forwardObject(s3For(log).client, OBJECT, ACCOUNT, failing, {
        ...FORWARD,
        wholeReads: budget,
        deadline: Date.now() + 60_000,
      }),
    ).rejects.toThrow('downstream down');
    expect(budget.reserved).toBe(0);
  });
});
