/**
 * `verify` against the emulator: log files and signed digests in the trail bucket (moto S3, user metadata as
 * x-amz-meta-*), ledger items in the ledger table (moto DynamoDB), the trail from DescribeTrails through the
 * customer role. moto 5.2.1 does not implement CloudTrail ListPublicKeys, so the command's CloudTrail client answers
 * it with the test key (testkit/digest.ts), the way CloudTrail hands out its public keys; every other call goes to
 * moto. The last test runs the real command-line tool, where ListPublicKeys reaches moto and fails.
 */
import { CreateBucketCommand, DeleteObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { CreateTrailCommand } from '@aws-sdk/client-cloudtrail';
import { gunzipSync } from 'node:zlib';
import { verifyCommand, verifyDepsFromEnv, type VerifyDeps } from '../../bin/commands/verify';
import { sha256Hex } from '../../lambdas/shared/digest';
import { LedgerTable, ensureLedgerTable, ledgerTableName } from '../../lambdas/shared/ledger';
import { classifyObjectKey } from '../../lambdas/shared/object-key';
import { awsClients } from '../../lambdas/shared/aws-clients';
import { runCli } from '../../testkit/cli';
import { generateRecords, logFileBody, logFileKey } from '../../testkit/cloudtrail-generator';
import { customerAdminClients } from '../../testkit/customer-clients';
import {
  DigestChainWriter,
  publicKeysClient,
  putDigest,
  testSigningKey,
  type ListedLogFile,
} from '../../testkit/digest';
import { accountRecord, createRegistry } from '../../testkit/registry';
import { REGION, useEmulator } from '../../testkit/test-emulator';

const TABLE = 'accounts-verify-test';
const GOOD = '111122223333';
const FILES = '222233334444';
const DIGESTS = '333344445555';
const SINCE = '2026-11-01T00:00:00.000Z';
const UNTIL = '2026-11-01T04:00:00.000Z';
const hourEnd = (hour: number) => new Date(Date.UTC(2026, 10, 1, hour + 1, 1, 31));

interface Account {
  accountId: string;
  bucket: string;
  s3: S3Client;
  writer: DigestChainWriter;
  /** Delivers a log file of `hour` (in the bucket) and returns how a digest lists it. */
  deliver(hour: number, unique: string): Promise<ListedLogFile>;
}

let ledger: LedgerTable;
/** Every S3 call the command made, by account. */
const s3Calls: { accountId: string; command: string; bucket?: string; key?: string; prefix?: string }[] = [];

async function setupAccount(accountId: string): Promise<Account> {
  const admin = await customerAdminClients(accountId, REGION, 'verify-test');
  const bucket = `outcomes-${accountId}`;
  await admin.s3.send(new CreateBucketCommand({ Bucket: bucket }));
  const trail = await admin.cloudTrail.send(
    new CreateTrailCommand({ Name: 'outcomes-trail', S3BucketName: bucket, EnableLogFileValidation: true }),
  );
  const registry = await registryOnce();
  await registry.add(accountRecord({ accountId, trailArn: trail.TrailARN!, bucketName: bucket }));
  return {
    accountId,
    bucket,
    s3: admin.s3,
    writer: new DigestChainWriter({ bucket, accountId, region: REGION }),
    async deliver(hour, unique) {
      const time = new Date(Date.UTC(2026, 10, 1, hour, 20));
      const body = logFileBody(generateRecords(3, { accountId, region: REGION, seed: hour + 1, start: time }));
      const key = logFileKey({ accountId, region: REGION, time, unique });
      await admin.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
      return { bucket, key, sha256: sha256Hex(gunzipSync(body)) };
    },
  };
}

let registryPromise: ReturnType<typeof createRegistry> | undefined;
function registryOnce(): ReturnType<typeof createRegistry> {
  registryPromise ??= createRegistry(TABLE, { region: REGION });
  return registryPromise;
}

/** Records what ingest would have: the file with the SHA-256 of its uncompressed bytes. */
async function collected(account: Account, file: ListedLogFile, sha256 = file.sha256): Promise<void> {
  const where = classifyObjectKey(file.key);
  if (where.type === 'other') throw new Error(file.key);
  await ledger.record({
    accountId: account.accountId,
    region: where.region,
    day: where.day,
    bucket: file.bucket,
    key: file.key,
    kind: 'log',
    records: 3,
    bytes: 100,
    sha256,
    collectedAt: new Date().toISOString(),
  });
}

/** The command's own dependencies, with ListPublicKeys answered by the test key and S3 calls recorded. */
async function testDeps(): Promise<VerifyDeps> {
  const real = await verifyDepsFromEnv();
  return {
    ...real,
    async clientsFor(record) {
      const clients = await real.clientsFor(record);
      return {
        s3: {
          send: ((command: { constructor: { name: string }; input: Record<string, string> }) => {
            s3Calls.push({
              accountId: record.accountId,
              command: command.constructor.name,
              ...(command.input.Bucket ? { bucket: command.input.Bucket } : {}),
              ...(command.input.Key ? { key: command.input.Key } : {}),
              ...(command.input.Prefix ? { prefix: command.input.Prefix } : {}),
            });
            return clients.s3.send(command as never);
          }) as never,
        },
        cloudTrail: (region) => publicKeysClient([testSigningKey()], clients.cloudTrail(region)),
      };
    },
  };
}

async function verify(accountId: string): Promise<{ code: number; json: unknown }> {
  const out = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
  try {
    const code = await verifyCommand({ accountId, since: SINCE, until: UNTIL, json: true }, await testDeps());
    const printed = out.mock.calls.map(([chunk]) => String(chunk)).join('');
    return { code, json: JSON.parse(printed) };
  } finally {
    out.mockRestore();
  }
}

const ref = (file: { bucket: string; key: string }) => ({ bucket: file.bucket, key: file.key });

describe('verify against the emulator', () => {
  let good: Account;
  let files: Account;
  let digests: Account;
  let missing: ListedLogFile;
  let changed: ListedLogFile;
  let never: ListedLogFile;
  let badlySigned: string;
  let afterGap: string;
  let foreign: string;

  beforeAll(async () => {
    await useEmulator();
    process.env.ACCOUNTS_TABLE = TABLE;
    const db = awsClients.dynamoDocument({ region: REGION });
    await ensureLedgerTable(db, ledgerTableName(TABLE));
    ledger = new LedgerTable(db, ledgerTableName(TABLE));

    // A valid chain: four hours, one without log files (its digest still chains), everything collected.
    good = await setupAccount(GOOD);
    for (const hour of [0, 1, 2, 3]) {
      const listed = hour === 2 ? [] : [await good.deliver(hour, `a${hour}`), await good.deliver(hour, `b${hour}`)];
      for (const file of listed) await collected(good, file);
      await putDigest(good.s3, good.writer.next(hourEnd(hour), listed));
    }

    // Log file problems under a valid chain: a wrong hash, a file never collected, a file deleted from the bucket.
    files = await setupAccount(FILES);
    const fine = await files.deliver(0, 'fine');
    changed = await files.deliver(0, 'changed');
    never = await files.deliver(1, 'never');
    missing = await files.deliver(1, 'deleted');
    await collected(files, fine);
    await collected(files, changed, 'ff'.repeat(32));
    await putDigest(files.s3, files.writer.next(hourEnd(0), [fine, changed]));
    await putDigest(files.s3, files.writer.next(hourEnd(1), [never, missing]));
    await files.s3.send(new DeleteObjectCommand({ Bucket: files.bucket, Key: missing.key }));

    // Digest problems: a bad signature, a deleted digest (the chain breaks), a digest naming another account's bucket.
    digests = await setupAccount(DIGESTS);
    const first = await digests.deliver(0, 'first');
    await collected(digests, first);
    await putDigest(digests.s3, digests.writer.next(hourEnd(0), [first]));
    const tampered = digests.writer.next(hourEnd(1), []);
    badlySigned = tampered.key;
    await putDigest(digests.s3, { ...tampered, metadata: { ...tampered.metadata, signature: 'ab'.repeat(256) } });
    digests.writer.next(hourEnd(2), []); // never delivered: deleted from the bucket
    const resumed = digests.writer.next(hourEnd(3), []);
    afterGap = resumed.key;
    await putDigest(digests.s3, resumed);
    // Signed like any other, but it names the other account's bucket and lists that account's log files.
    const theirs = good.writer.written[0]!.digest.logFiles;
    const rogue = digests.writer.next(
      new Date(Date.UTC(2026, 10, 1, 4, 30, 0)),
      theirs.map((file) => ({ bucket: file.s3Bucket, key: file.s3Object, sha256: file.hashValue })),
      { edit: (digest) => (digest.digestS3Bucket = good.bucket) },
    );
    foreign = rogue.key;
    await putDigest(digests.s3, rogue);
  });

  afterAll(() => {
    delete process.env.ACCOUNTS_TABLE;
  });

  test('a valid chain of digests with every listed file collected with its hash: exit 0 and the exact JSON', async () => {
    const result = await verify(GOOD);
    expect(result.code).toBe(0);
    expect(result.json).toEqual({
      accountId: GOOD,
      since: SINCE,
      until: UNTIL,
      logFiles: { listedInDigests: 6, collected: 6, notCollected: [], hashMismatch: [], missingFromBucket: [] },
      digests: { read: 4, signatureValid: 4, signatureInvalid: [], chainBreaks: 0 },
    });
  });

  test('a wrong hash, a file never collected, a file deleted from the bucket: exit 1, each named', async () => {
    const result = await verify(FILES);
    expect(result.code).toBe(1);
    expect(result.json).toEqual({
      accountId: FILES,
      since: SINCE,
      until: UNTIL,
      logFiles: {
        listedInDigests: 4,
        collected: 1,
        notCollected: [ref(never)],
        hashMismatch: [ref(changed)],
        missingFromBucket: [ref(missing)],
      },
      digests: { read: 2, signatureValid: 2, signatureInvalid: [], chainBreaks: 0 },
    });
  });

  test('a bad signature, a broken chain and a digest naming another account bucket: exit 1, nothing of it read', async () => {
    s3Calls.length = 0;
    const result = await verify(DIGESTS);
    expect(result.code).toBe(1);
    expect(afterGap).toContain('20261101T040131Z');
    expect(result.json).toEqual({
      accountId: DIGESTS,
      since: SINCE,
      until: UNTIL,
      logFiles: { listedInDigests: 1, collected: 1, notCollected: [], hashMismatch: [], missingFromBucket: [] },
      digests: {
        read: 4,
        signatureValid: 2,
        signatureInvalid: [
          { bucket: digests.bucket, key: badlySigned },
          { bucket: digests.bucket, key: foreign },
        ],
        chainBreaks: 1,
      },
    });
    // Only the account's own bucket was read: never the other account's bucket or its log files.
    expect(s3Calls.filter((call) => call.bucket !== digests.bucket)).toEqual([]);
  });

  test('the command-line tool: ListPublicKeys reaches moto (not implemented there), so no signature can verify; bad input is exit 2', async () => {
    const env = { ACCOUNTS_TABLE: TABLE };
    const run = await runCli(['verify', '--account-id', GOOD, '--since', SINCE, '--until', UNTIL], env);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(`account ${GOOD}, ${SINCE} to ${UNTIL}: NOT complete`);
    expect(run.stdout).toContain('ListPublicKeys failed in us-east-1');
    const bad = await runCli(['verify', '--account-id', GOOD, '--since', 'yesterday'], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--since must be an ISO 8601 time');
    const unknown = await runCli(['verify', '--account-id', '999988887777'], env);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('account 999988887777 is not registered');
  });
});
