/**
 * verifyCompleteness over an in-memory bucket and ledger: digests listed per Region and day, signatures, the chain,
 * each listed file against the ledger and the bucket, and the tenant binding.
 */
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { gzipSync } from 'node:zlib';
import { verifyWindow } from '../../bin/commands/verify';
import { PublicKeyCache } from '../../lambdas/shared/digest';
import {
  isComplete,
  publicKeyRange,
  verifyCompleteness,
  verifyJson,
  type CompletenessInput,
} from '../../lambdas/shared/completeness';
import { PermanentInputError } from '../../lambdas/shared/errors';
import { fileRef, type LedgerEntry, type LedgerTable } from '../../lambdas/shared/ledger';
import { classifyObjectKey } from '../../lambdas/shared/object-key';
import { logFileKey } from '../../testkit/cloudtrail-generator';
import {
  DigestChainWriter,
  buildDigest,
  publicKeysClient,
  testSigningKey,
  type ListedLogFile,
} from '../../testkit/digest';

const ACCOUNT = '111122223333';
const OTHER = '444455556666';
const BUCKET = `outcomes-${ACCOUNT}`;
const REGION = 'us-east-1';
const SINCE = new Date('2026-11-01T00:00:00Z');
const UNTIL = new Date('2026-11-01T04:00:00Z');

/** S3 as ListObjectsV2, GetObject (body and user metadata) and HeadObject answer it; reads are recorded. */
class MemoryBucket {
  readonly objects = new Map<string, { body: Buffer; metadata?: Record<string, string> }>();
  readonly calls: { command: string; bucket?: string; key?: string; owner?: string }[] = [];
  put(bucket: string, key: string, body: Buffer, metadata?: Record<string, string>) {
    this.objects.set(`${bucket}/${key}`, { body, ...(metadata ? { metadata } : {}) });
  }
  readonly client = {
    send: (command: unknown): Promise<unknown> => {
      const notFound = (name: string) =>
        Promise.reject(Object.assign(new Error(name), { name, $metadata: { httpStatusCode: 404 } }));
      if (command instanceof ListObjectsV2Command) {
        const { Bucket, Prefix = '', ExpectedBucketOwner } = command.input;
        this.calls.push({ command: 'ListObjectsV2', bucket: Bucket!, key: Prefix, owner: ExpectedBucketOwner! });
        const keys = [...this.objects.keys()]
          .filter((id) => id.startsWith(`${Bucket}/${Prefix}`))
          .map((id) => id.slice(Bucket!.length + 1))
          .sort();
        return Promise.resolve({ Contents: keys.map((Key) => ({ Key })), IsTruncated: false });
      }
      if (command instanceof GetObjectCommand || command instanceof HeadObjectCommand) {
        const { Bucket, Key, ExpectedBucketOwner } = command.input;
        const name = command instanceof GetObjectCommand ? 'GetObject' : 'HeadObject';
        this.calls.push({ command: name, bucket: Bucket!, key: Key!, owner: ExpectedBucketOwner! });
        const object = this.objects.get(`${Bucket}/${Key}`);
        if (object === undefined) return notFound(name === 'GetObject' ? 'NoSuchKey' : 'NotFound');
        return Promise.resolve({
          Body: { transformToByteArray: () => Promise.resolve(new Uint8Array(object.body)) },
          Metadata: object.metadata ?? {},
        });
      }
      return Promise.reject(new Error(`unexpected ${(command as object).constructor.name}`));
    },
  } as unknown as Pick<S3Client, 'send'>;
}

class MemoryLedger implements Pick<LedgerTable, 'collectedOn'> {
  readonly entries: LedgerEntry[] = [];
  record(bucket: string, key: string, sha256: string) {
    const where = classifyObjectKey(key);
    if (where.type === 'other') throw new Error(`not a log key: ${key}`);
    this.entries.push({
      accountId: ACCOUNT,
      region: where.region,
      day: where.day,
      bucket,
      key,
      kind: 'log',
      records: 1,
      bytes: 1,
      sha256,
      collectedAt: new Date().toISOString(),
    });
  }
  collectedOn(accountId: string, region: string, day: string): Promise<Map<string, LedgerEntry>> {
    return Promise.resolve(
      new Map(
        this.entries
          .filter((e) => e.accountId === accountId && e.region === region && e.day === day)
          .map((e) => [fileRef(e.bucket, e.key), e]),
      ),
    );
  }
}

function logFile(hour: number, unique: string): ListedLogFile {
  const key = logFileKey({
    accountId: ACCOUNT,
    region: REGION,
    time: new Date(Date.UTC(2026, 10, 1, hour, 20)),
    unique,
  });
  return { bucket: BUCKET, key, sha256: `${unique.padEnd(4, '0')}`.repeat(16).slice(0, 64) };
}

function world() {
  const bucket = new MemoryBucket();
  const ledger = new MemoryLedger();
  const key = testSigningKey();
  const keysClient = publicKeysClient([key]);
  const writer = new DigestChainWriter({ bucket: BUCKET, accountId: ACCOUNT, region: REGION });
  const hourEnd = (hour: number) => new Date(Date.UTC(2026, 10, 1, hour + 1, 1, 31));
  /** Puts a log file in the bucket (as CloudTrail delivers) and, unless told otherwise, in the ledger. */
  const deliver = (file: ListedLogFile, collected: string | false = file.sha256) => {
    bucket.put(file.bucket, file.key, gzipSync('{"Records":[]}'));
    if (collected !== false) ledger.record(file.bucket, file.key, collected);
    return file;
  };
  const put = (built: ReturnType<typeof buildDigest>) =>
    bucket.put(built.bucket, built.key, built.body, built.metadata);
  const input = (overrides: Partial<CompletenessInput> = {}): CompletenessInput => ({
    accountId: ACCOUNT,
    since: SINCE,
    until: UNTIL,
    trail: { bucket: BUCKET, trailName: 'outcomes-trail', homeRegion: REGION },
    regions: [REGION],
    s3: bucket.client,
    publicKeys: new PublicKeyCache(() => keysClient, publicKeyRange(SINCE, UNTIL)),
    ledger,
    ...overrides,
  });
  return { bucket, ledger, writer, hourEnd, deliver, put, input, keysClient };
}

describe('verifyCompleteness', () => {
  test('a valid chain of digests, an empty hour included, every listed file collected with its hash: complete', async () => {
    const w = world();
    for (const hour of [0, 1, 2, 3]) {
      const files = hour === 2 ? [] : [w.deliver(logFile(hour, `a${hour}`)), w.deliver(logFile(hour, `b${hour}`))];
      w.put(w.writer.next(w.hourEnd(hour), files));
    }
    const report = await verifyCompleteness(w.input());
    expect(verifyJson(report)).toEqual({
      accountId: ACCOUNT,
      since: SINCE.toISOString(),
      until: UNTIL.toISOString(),
      logFiles: { listedInDigests: 6, collected: 6, notCollected: [], hashMismatch: [], missingFromBucket: [] },
      digests: { read: 4, signatureValid: 4, signatureInvalid: [], chainBreaks: 0 },
    });
    expect(isComplete(report)).toBe(true);
    // Every read as the tenant, and public keys asked once for the window's Region.
    expect(w.bucket.calls.every((call) => call.owner === ACCOUNT)).toBe(true);
    expect(w.keysClient.listPublicKeysCalls).toHaveLength(1);
  });

  test('a file collected with another hash, one never collected, one deleted from the bucket', async () => {
    const w = world();
    const good = w.deliver(logFile(0, 'good'));
    const changed = w.deliver(logFile(0, 'chg'), 'ff'.repeat(32));
    const never = w.deliver(logFile(1, 'never'), false);
    const gone = logFile(1, 'gone'); // listed by CloudTrail, then deleted: neither in the bucket nor the ledger
    w.put(w.writer.next(w.hourEnd(0), [good, changed]));
    w.put(w.writer.next(w.hourEnd(1), [never, gone]));
    const report = await verifyCompleteness(w.input());
    expect(report.logFiles).toEqual({
      listedInDigests: 4,
      collected: 1,
      hashMismatch: [{ bucket: BUCKET, key: changed.key }],
      notCollected: [{ bucket: BUCKET, key: never.key }],
      missingFromBucket: [{ bucket: BUCKET, key: gone.key }],
    });
    expect(report.digests).toEqual({ read: 2, signatureValid: 2, signatureInvalid: [], chainBreaks: 0 });
    expect(isComplete(report)).toBe(false);
  });

  test('a digest with a bad signature is invalid and its files are not counted; the chain still holds', async () => {
    const w = world();
    w.put(w.writer.next(w.hourEnd(0), [w.deliver(logFile(0, 'a'))]));
    const second = w.writer.next(w.hourEnd(1), [w.deliver(logFile(1, 'b'))]);
    w.bucket.put(BUCKET, second.key, second.body, { ...second.metadata, signature: 'ab'.repeat(256) });
    const report = await verifyCompleteness(w.input());
    expect(report.digests.signatureInvalid).toEqual([{ bucket: BUCKET, key: second.key }]);
    expect(report.details.signatureInvalid[0]!.reason).toBe('the signature does not verify with CloudTrail public key');
    expect(report.digests.signatureValid).toBe(1);
    expect(report.logFiles.listedInDigests).toBe(1);
    // The chain compares the signature the next digest carries; there is none after it here.
    expect(report.digests.chainBreaks).toBe(0);
    expect(isComplete(report)).toBe(false);
  });

  test('a deleted digest breaks the chain; a malformed one is invalid, named, and still a link', async () => {
    const w = world();
    w.put(w.writer.next(w.hourEnd(0), []));
    w.writer.next(w.hourEnd(1), []); // never put: deleted
    w.put(w.writer.next(w.hourEnd(2), []));
    const malformed = w.writer.next(w.hourEnd(3), []);
    w.bucket.put(BUCKET, malformed.key, gzipSync('not json'), malformed.metadata);
    const report = await verifyCompleteness(w.input());
    expect(report.digests.read).toBe(3);
    expect(report.digests.chainBreaks).toBe(1);
    expect(report.details.chainBreaks[0]).toEqual({
      bucket: BUCKET,
      key: w.writer.written[2]!.key,
      reason: expect.stringContaining('a digest is missing or was replaced'),
    });
    expect(report.details.signatureInvalid).toEqual([
      { bucket: BUCKET, key: malformed.key, reason: expect.stringContaining('is not JSON') },
    ]);
  });

  test('a digest naming another account bucket is rejected and nothing of the other account is read', async () => {
    const w = world();
    const theirs = `outcomes-${OTHER}`;
    const foreign = logFileKey({
      accountId: OTHER,
      region: REGION,
      time: new Date(Date.UTC(2026, 10, 1, 0, 20)),
      unique: 'x',
    });
    w.put(
      w.writer.next(w.hourEnd(0), [{ bucket: theirs, key: foreign, sha256: 'ab'.repeat(32) }], {
        edit: (digest) => (digest.digestS3Bucket = theirs),
      }),
    );
    w.put(w.writer.next(w.hourEnd(1), [{ bucket: BUCKET, key: foreign, sha256: 'ab'.repeat(32) }]));
    const report = await verifyCompleteness(w.input());
    expect(report.digests.signatureInvalid).toHaveLength(2);
    expect(report.details.signatureInvalid.map((problem) => problem.reason)).toEqual([
      expect.stringContaining(`it names bucket ${theirs}, not the trail bucket ${BUCKET}`),
      expect.stringContaining(`which is not a log file of account ${ACCOUNT}`),
    ]);
    expect(report.logFiles.listedInDigests).toBe(0);
    expect(w.bucket.calls.filter((call) => call.bucket !== BUCKET || call.key === foreign)).toEqual([]);
  });

  test('an account that archives another account may list its log files', async () => {
    const w = world();
    const archived = logFileKey({
      accountId: OTHER,
      region: REGION,
      time: new Date(Date.UTC(2026, 10, 1, 0, 20)),
      unique: 'y',
    });
    w.bucket.put(BUCKET, archived, gzipSync('{}'));
    w.put(w.writer.next(w.hourEnd(0), [{ bucket: BUCKET, key: archived, sha256: 'ab'.repeat(32) }]));
    const report = await verifyCompleteness(w.input({ allowedLogAccounts: new Set([ACCOUNT, OTHER]) }));
    expect(report.digests.signatureValid).toBe(1);
    expect(report.logFiles.notCollected).toEqual([{ bucket: BUCKET, key: archived }]);
  });

  test('digests outside the window, of another trail or another Region folder are not read', async () => {
    const w = world();
    w.put(w.writer.next(new Date('2026-10-31T23:01:31Z'), []));
    w.put(w.writer.next(w.hourEnd(0), []));
    w.put(w.writer.next(new Date('2026-11-01T06:01:31Z'), []));
    w.put(
      buildDigest({
        bucket: BUCKET,
        accountId: ACCOUNT,
        region: REGION,
        trailName: 'other',
        end: w.hourEnd(1),
        logFiles: [],
      }),
    );
    const report = await verifyCompleteness(w.input());
    expect(report.digests.read).toBe(1);
    expect(w.bucket.calls.filter((call) => call.command === 'ListObjectsV2').map((call) => call.key)).toEqual([
      `AWSLogs/${ACCOUNT}/CloudTrail-Digest/${REGION}/2026/11/01/`,
    ]);
  });

  test('a ListPublicKeys failure makes the Region digests invalid, saying why', async () => {
    const w = world();
    w.put(w.writer.next(w.hourEnd(0), []));
    const failing = new PublicKeyCache(
      () => ({ send: () => Promise.reject(Object.assign(new Error('denied'), { name: 'AccessDeniedException' })) }),
      publicKeyRange(SINCE, UNTIL),
    );
    const report = await verifyCompleteness(w.input({ publicKeys: failing }));
    expect(report.details.publicKeyErrors).toEqual([{ region: REGION, error: 'AccessDeniedException: denied' }]);
    expect(report.digests.signatureInvalid).toHaveLength(1);
  });

  test('a window holding more digests than the bound is refused, and an empty window too', async () => {
    const w = world();
    for (const hour of [0, 1, 2]) w.put(w.writer.next(w.hourEnd(hour), []));
    await expect(verifyCompleteness(w.input({ maxDigests: 2 }))).rejects.toThrow(
      new PermanentInputError(
        `more than 2 digests between ${SINCE.toISOString()} and ${UNTIL.toISOString()} for account ${ACCOUNT}: verify a shorter window`,
      ),
    );
    await expect(verifyCompleteness(w.input({ since: UNTIL }))).rejects.toThrow(PermanentInputError);
  });
});

describe('the verify window', () => {
  const now = new Date('2026-11-02T12:00:00Z');

  test('defaults to the 24 hours before now, or before --until', () => {
    expect(verifyWindow({}, now)).toEqual({ since: new Date('2026-11-01T12:00:00Z'), until: now });
    expect(verifyWindow({ until: '2026-11-01T00:00:00Z' }, now).since).toEqual(new Date('2026-10-31T00:00:00Z'));
  });

  test('a time that is not ISO 8601, or --since not before --until, is a PermanentInputError naming the flag', () => {
    expect(() => verifyWindow({ since: 'yesterday' }, now)).toThrow('--since must be an ISO 8601 time');
    expect(() => verifyWindow({ since: '2026-11-03T00:00:00Z' }, now)).toThrow(/--since .* must be before --until/);
  });
});
