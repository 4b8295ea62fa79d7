/**
 * The pure parts of digest verification, against the AWS CloudTrail User Guide ("CloudTrail digest file structure",
 * "Custom implementations of CloudTrail log file integrity validation") and the AWS CLI's validate-logs.
 */
import { ListPublicKeysCommand } from '@aws-sdk/client-cloudtrail';
import { createPublicKey } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import {
  PublicKeyCache,
  checkChainLink,
  checkDigestSignature,
  digestFolder,
  parseDigest,
  parseDigestName,
  publicKeyFromDer,
  sha256Hex,
  signingString,
  type DigestFile,
  type ReadDigest,
} from '../../lambdas/shared/digest';
import { PermanentInputError } from '../../lambdas/shared/errors';
import {
  DigestChainWriter,
  buildDigest,
  publicKeysClient,
  testSigningKey,
  type BuiltDigest,
} from '../../testkit/digest';

const BUCKET = 'outcomes-111122223333';
const ACCOUNT = '111122223333';
const REGION = 'us-east-2';
const key = testSigningKey(0);
const keys = new Map([[key.fingerprint, createPublicKey({ key: key.publicDer, format: 'der', type: 'pkcs1' })]]);

function read(built: BuiltDigest): ReadDigest {
  return parseDigest(built.bucket, built.key, built.body, built.metadata);
}

function chain(hours: number): BuiltDigest[] {
  const writer = new DigestChainWriter({ bucket: BUCKET, accountId: ACCOUNT, region: REGION });
  for (let hour = 1; hour <= hours; hour += 1) {
    writer.next(new Date(Date.UTC(2026, 10, 1, hour, 1, 31)), [
      {
        bucket: BUCKET,
        key: `AWSLogs/${ACCOUNT}/CloudTrail/${REGION}/2026/11/01/f${hour}.json.gz`,
        sha256: 'ab'.repeat(32),
      },
    ]);
  }
  return writer.written;
}

describe('the data signing string', () => {
  const digest = {
    digestEndTime: '2015-08-12T04:01:31Z',
    digestS3Bucket: 'S3-bucket-name',
    digestS3Object:
      'AWSLogs/111122223333/CloudTrail-Digest/us-east-2/2015/08/12/111122223333_us-east-2_CloudTrail-Digest_us-east-2_20150812T040131Z.json.gz',
    previousDigestSignature: '6e8540b8',
  } as DigestFile;

  test('is end time, bucket/object, hex SHA-256 of the content and the previous signature, one per line (the documented example)', () => {
    expect(signingString(digest, '4ff08d7c6ecd6eb313257e839645d20363ee3784a2328a7d76b99b53cc9bcacd')).toBe(
      '2015-08-12T04:01:31Z\n' +
        'S3-bucket-name/AWSLogs/111122223333/CloudTrail-Digest/us-east-2/2015/08/12/111122223333_us-east-2_CloudTrail-Digest_us-east-2_20150812T040131Z.json.gz\n' +
        '4ff08d7c6ecd6eb313257e839645d20363ee3784a2328a7d76b99b53cc9bcacd\n' +
        '6e8540b8',
    );
  });

  test('a first digest (previousDigestSignature null) signs the word null, as the AWS CLI does', () => {
    expect(signingString({ ...digest, previousDigestSignature: null }, 'aa').endsWith('\naa\nnull')).toBe(true);
  });
});

describe('parseDigest', () => {
  const built = buildDigest({ bucket: BUCKET, accountId: ACCOUNT, region: REGION, end: new Date(), logFiles: [] });

  test('reads the documented fields, the hash of the uncompressed content and the signature metadata', () => {
    const parsed = read(built);
    expect(parsed.digest.digestS3Object).toBe(built.key);
    expect(parsed.digest.previousDigestSignature).toBeNull();
    expect(parsed.sha256).toBe(built.sha256);
    expect(parsed.signature).toBe(built.signature);
    expect(parsed.signatureAlgorithm).toBe('SHA256withRSA');
  });

  test.each([
    ['not gzip', Buffer.from('{}'), 'is not gzip-compressed'],
    ['not JSON', gzipSync('{"awsAccountId": '), 'is not JSON'],
    ['not an object', gzipSync('[1]'), 'is not a JSON object'],
    [
      'a field missing',
      gzipSync(JSON.stringify({ ...built.digest, digestEndTime: undefined })),
      'digestEndTime is missing',
    ],
    [
      'no logFiles',
      gzipSync(JSON.stringify({ ...built.digest, logFiles: 'x' })),
      'logFiles is missing or not an array',
    ],
    [
      'a bad log file entry',
      gzipSync(JSON.stringify({ ...built.digest, logFiles: [{ s3Bucket: BUCKET }] })),
      'logFiles[0].s3Object is missing',
    ],
  ])('a digest that is %s is a PermanentInputError naming the object', (_, body, problem) => {
    let thrown: unknown;
    try {
      parseDigest(BUCKET, built.key, body, built.metadata);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(PermanentInputError);
    expect((thrown as Error).message).toContain(`s3://${BUCKET}/${built.key}`);
    expect((thrown as Error).message).toContain(problem);
  });
});

describe('checkDigestSignature', () => {
  const [first] = chain(1);

  test('a digest signed with the key ListPublicKeys returns for its fingerprint is valid', () => {
    expect(checkDigestSignature(read(first!), keys)).toEqual({ valid: true });
  });

  test('a digest whose content changed after signing is invalid', () => {
    const tampered = buildDigest({
      bucket: BUCKET,
      accountId: ACCOUNT,
      region: REGION,
      end: new Date(Date.UTC(2026, 10, 1, 1, 1, 31)),
      logFiles: [],
    });
    // The body of one digest with the signature of another.
    const parsed = parseDigest(BUCKET, first!.key, tampered.body, first!.metadata);
    parsed.digest.digestS3Object = first!.key;
    expect(checkDigestSignature(parsed, keys)).toEqual({
      valid: false,
      reason: 'the signature does not verify with CloudTrail public key',
    });
  });

  test('a signature made with another key than the fingerprint names is invalid', () => {
    const other = testSigningKey(1);
    const forged = buildDigest({
      bucket: BUCKET,
      accountId: ACCOUNT,
      region: REGION,
      end: new Date(),
      logFiles: [],
      key: other,
      edit: (digest) => (digest.digestPublicKeyFingerprint = key.fingerprint),
    });
    expect(checkDigestSignature(read(forged), keys).valid).toBe(false);
  });

  test('no key for the fingerprint, a moved digest, no signature metadata, another algorithm: invalid, with the reason', () => {
    const parsed = read(first!);
    expect(checkDigestSignature(parsed, new Map())).toEqual({
      valid: false,
      reason: expect.stringContaining(`no public key with fingerprint ${key.fingerprint}`),
    });
    expect(checkDigestSignature({ ...parsed, key: 'elsewhere.json.gz' }, keys)).toEqual({
      valid: false,
      reason: expect.stringContaining('moved from its original location'),
    });
    const { signature: _signature, ...unsigned } = parsed;
    expect(checkDigestSignature(unsigned, keys).valid).toBe(false);
    expect(checkDigestSignature({ ...parsed, signatureAlgorithm: 'SHA1withRSA' }, keys)).toEqual({
      valid: false,
      reason: 'signature algorithm SHA1withRSA is not SHA256withRSA',
    });
  });

  test('publicKeyFromDer takes the DER PKCS #1 value ListPublicKeys returns, and names a bad one', () => {
    expect(publicKeyFromDer('f', key.publicDer).asymmetricKeyType).toBe('rsa');
    expect(() => publicKeyFromDer('abc123', Buffer.from('not a key'))).toThrow(/fingerprint abc123/);
  });
});

describe('checkChainLink', () => {
  const [first, second, third] = chain(3).map(read) as [ReadDigest, ReadDigest, ReadDigest];

  test('each digest names the previous one read, with its hash and signature', () => {
    expect(checkChainLink(second, first)).toEqual({ kind: 'linked' });
    expect(checkChainLink(third, second)).toEqual({ kind: 'linked' });
    expect(checkChainLink(first, undefined)).toEqual({ kind: 'linked' });
  });

  test('a digest missing in between breaks the chain', () => {
    expect(checkChainLink(third, first)).toEqual({
      kind: 'broken',
      reason: expect.stringContaining('a digest is missing or was replaced'),
    });
  });

  test('a previous digest changed (its hash) or re-signed (its signature) breaks the chain', () => {
    expect(checkChainLink(second, { ...first, sha256: sha256Hex('other') })).toEqual({
      kind: 'broken',
      reason: expect.stringContaining('previousDigestHashValue is not the SHA-256'),
    });
    expect(checkChainLink(second, { ...first, signature: 'ab' })).toEqual({
      kind: 'broken',
      reason: expect.stringContaining('previousDigestSignature is not the signature'),
    });
  });

  test('a new chain (previous fields null) after a digest read says CloudTrail restarted it', () => {
    expect(checkChainLink(first, second).kind).toBe('restarted');
  });
});

describe('digest keys', () => {
  test('parseDigestName reads the documented name, a trail name with underscores and a backfill digest', () => {
    expect(
      parseDigestName(
        'AWSLogs/111122223333/CloudTrail-Digest/us-east-2/2015/08/17/111122223333_CloudTrail-Digest_us-east-2_your-trail-name_us-east-2_20150817T150131Z.json.gz',
      ),
    ).toEqual({
      accountId: '111122223333',
      region: 'us-east-2',
      trailName: 'your-trail-name',
      homeRegion: 'us-east-2',
      end: new Date('2015-08-17T15:01:31Z'),
      backfill: false,
    });
    expect(
      parseDigestName(
        'x/111122223333_CloudTrail-Digest_eu-west-1_my_trail_us-east-1_20260101T000000Z_backfill.json.gz',
      ),
    ).toEqual(
      expect.objectContaining({ region: 'eu-west-1', trailName: 'my_trail', homeRegion: 'us-east-1', backfill: true }),
    );
    expect(
      parseDigestName(
        `AWSLogs/${ACCOUNT}/CloudTrail/us-east-1/2026/11/01/${ACCOUNT}_CloudTrail_us-east-1_20261101T0000Z_a.json.gz`,
      ),
    ).toBeUndefined();
  });

  test('digestFolder is the day folder, with the prefix and the organization id when there are', () => {
    const day = new Date('2026-11-01T23:59:00Z');
    expect(digestFolder({ accountId: ACCOUNT, region: REGION, day })).toBe(
      `AWSLogs/${ACCOUNT}/CloudTrail-Digest/${REGION}/2026/11/01/`,
    );
    expect(digestFolder({ accountId: ACCOUNT, region: REGION, day, prefix: 'a/b/', orgId: 'o-abcdefghij' })).toBe(
      `a/b/AWSLogs/o-abcdefghij/${ACCOUNT}/CloudTrail-Digest/${REGION}/2026/11/01/`,
    );
  });
});

describe('PublicKeyCache', () => {
  test('asks ListPublicKeys once per Region for the whole range, and keeps the keys', async () => {
    const clients = new Map<string, ReturnType<typeof publicKeysClient>>();
    const range = { start: new Date('2026-11-01T00:00:00Z'), end: new Date('2026-11-02T01:00:00Z') };
    const cache = new PublicKeyCache((region) => {
      const client = clients.get(region) ?? publicKeysClient([key]);
      clients.set(region, client);
      return client;
    }, range);
    const [a, b] = await Promise.all([cache.keysFor('us-east-1'), cache.keysFor('us-east-1')]);
    await cache.keysFor('eu-west-1');
    expect(a).toBe(b);
    expect([...a.keys()]).toEqual([key.fingerprint]);
    expect(cache.listCalls).toBe(2);
    expect(clients.get('us-east-1')!.listPublicKeysCalls).toEqual([{ StartTime: range.start, EndTime: range.end }]);
  });

  test('a failed ListPublicKeys is not kept: the next call asks again', async () => {
    let calls = 0;
    const cache = new PublicKeyCache(
      () => ({
        send: ((command: unknown) => {
          expect(command).toBeInstanceOf(ListPublicKeysCommand);
          calls += 1;
          return calls === 1 ? Promise.reject(new Error('throttled')) : Promise.resolve({ PublicKeyList: [] });
        }) as never,
      }),
      { start: new Date(0), end: new Date(1) },
    );
    await expect(cache.keysFor('us-east-1')).rejects.toThrow('throttled');
    await expect(cache.keysFor('us-east-1')).resolves.toEqual(new Map());
  });
});
