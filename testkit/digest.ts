/**
 * CloudTrail digest files as CloudTrail writes them ("CloudTrail digest file structure" and "Custom implementations
 * of CloudTrail log file integrity validation", AWS CloudTrail User Guide), signed with a TEST RSA key generated
 * here, and the ListPublicKeys answer that carries its public key: the way production code receives CloudTrail's
 * keys. moto 5.2.1 does not implement ListPublicKeys, so tests inject `publicKeysClient`.
 */
import { ListPublicKeysCommand, type CloudTrailClient } from '@aws-sdk/client-cloudtrail';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { createHash, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { digestFolder, sha256Hex, signingString, type DigestFile, type PreviousDigest } from '../lambdas/shared/digest';

/** An RSA key pair standing in for CloudTrail's regional signing key. */
export interface TestSigningKey {
  privateKey: KeyObject;
  /** DER PKCS #1 RSAPublicKey: what ListPublicKeys returns as `Value`. */
  publicDer: Buffer;
  /** 32 hex characters, like CloudTrail's (here the MD5 of the DER key). */
  fingerprint: string;
}

const generated: TestSigningKey[] = [];

/** The n-th test key of this process (generated once: RSA generation takes a moment). */
export function testSigningKey(index = 0): TestSigningKey {
  while (generated.length <= index) {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const publicDer = publicKey.export({ format: 'der', type: 'pkcs1' });
    generated.push({ privateKey, publicDer, fingerprint: createHash('md5').update(publicDer).digest('hex') });
  }
  return generated[index]!;
}

/** A CloudTrail client whose ListPublicKeys answers with `keys`; every other command goes to `forward`. */
export function publicKeysClient(
  keys: readonly TestSigningKey[],
  forward?: Pick<CloudTrailClient, 'send'>,
): Pick<CloudTrailClient, 'send'> & { listPublicKeysCalls: ListPublicKeysCommand['input'][] } {
  const calls: ListPublicKeysCommand['input'][] = [];
  return {
    listPublicKeysCalls: calls,
    send: ((command: unknown) => {
      if (command instanceof ListPublicKeysCommand) {
        calls.push(command.input);
        return Promise.resolve({
          PublicKeyList: keys.map((key) => ({
            Value: new Uint8Array(key.publicDer),
            Fingerprint: key.fingerprint,
            ValidityStartTime: command.input.StartTime,
            ValidityEndTime: command.input.EndTime,
          })),
        });
      }
      if (forward === undefined) {
        return Promise.reject(new Error(`publicKeysClient: unexpected ${(command as object).constructor.name}`));
      }
      return forward.send(command as never);
    }) as Pick<CloudTrailClient, 'send'>['send'],
  };
}

/** One log file a digest lists: its key and the SHA-256 of its uncompressed bytes. */
export interface ListedLogFile {
  bucket: string;
  key: string;
  sha256: string;
}

/** A log file as a digest lists it, from the gzip body written to S3. */
export function listedLogFile(bucket: string, key: string, gzipBody: Uint8Array): ListedLogFile {
  return { bucket, key, sha256: sha256Hex(gunzipSync(gzipBody)) };
}

export interface DigestParams {
  bucket: string;
  accountId: string;
  region: string;
  trailName?: string;
  homeRegion?: string;
  prefix?: string;
  orgId?: string;
  /** digestEndTime; digestStartTime is an hour before. */
  end: Date;
  logFiles: readonly ListedLogFile[];
  /** The digest before this one; absent for the first of a chain (its previous* fields are null). */
  previous?: PreviousDigest;
  key?: TestSigningKey;
  backfill?: boolean;
  /** Changes the JSON before it is signed (a digest naming another bucket, say). */
  edit?: (digest: DigestFile) => void;
}

/** A digest object ready to put: key, gzip body, metadata, and what the next digest chains to. */
export interface BuiltDigest extends PreviousDigest {
  body: Buffer;
  metadata: Record<string, string>;
  digest: DigestFile;
  signature: string;
}

function stamp(time: Date): string {
  return time.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** `<folder><account>_CloudTrail-Digest_<region>_<trail>_<home region>_<YYYYMMDDTHHmmssZ>[_backfill].json.gz`. */
export function digestKey(params: DigestParams): string {
  const time = stamp(params.end).replace(/[-:]/g, '');
  return (
    digestFolder({
      accountId: params.accountId,
      region: params.region,
      day: params.end,
      ...(params.prefix ? { prefix: params.prefix } : {}),
      ...(params.orgId ? { orgId: params.orgId } : {}),
    }) +
    `${params.accountId}_CloudTrail-Digest_${params.region}_${params.trailName ?? 'outcomes-trail'}_` +
    `${params.homeRegion ?? params.region}_${time}${params.backfill ? '_backfill' : ''}.json.gz`
  );
}

/** Builds and signs a digest as CloudTrail does: the signature goes into the object's metadata. */
export function buildDigest(params: DigestParams): BuiltDigest {
  const key = digestKey(params);
  const signingKey = params.key ?? testSigningKey();
  const times = params.logFiles.length > 0 ? { newest: stamp(params.end), oldest: stamp(params.end) } : undefined;
  const digest: DigestFile = {
    awsAccountId: params.accountId,
    digestStartTime: stamp(new Date(params.end.getTime() - 3_600_000)),
    digestEndTime: stamp(params.end),
    digestS3Bucket: params.bucket,
    digestS3Object: key,
    digestPublicKeyFingerprint: signingKey.fingerprint,
    digestSignatureAlgorithm: 'SHA256withRSA',
    newestEventTime: times?.newest ?? null,
    oldestEventTime: times?.oldest ?? null,
    previousDigestS3Bucket: params.previous?.bucket ?? null,
    previousDigestS3Object: params.previous?.key ?? null,
    previousDigestHashValue: params.previous?.sha256 ?? null,
    previousDigestHashAlgorithm: params.previous ? 'SHA-256' : null,
    previousDigestSignature: params.previous?.signature ?? null,
    logFiles: params.logFiles.map((file) => ({
      s3Bucket: file.bucket,
      s3Object: file.key,
      hashValue: file.sha256,
      hashAlgorithm: 'SHA-256',
      newestEventTime: stamp(params.end),
      oldestEventTime: stamp(params.end),
    })),
  };
  params.edit?.(digest);
  const content = Buffer.from(JSON.stringify(digest));
  const sha256 = sha256Hex(content);
  const signature = sign('sha256', Buffer.from(signingString(digest, sha256)), signingKey.privateKey).toString('hex');
  return {
    bucket: params.bucket,
    key,
    sha256,
    signature,
    digest,
    body: gzipSync(content),
    metadata: { signature, 'signature-algorithm': 'SHA256withRSA' },
  };
}

/** Puts a built digest where its key says (`Metadata` becomes x-amz-meta-signature and -signature-algorithm). */
export async function putDigest(s3: Pick<S3Client, 'send'>, digest: BuiltDigest): Promise<void> {
  await s3.send(
    new PutObjectCommand({
      Bucket: digest.bucket,
      Key: digest.key,
      Body: digest.body,
      Metadata: digest.metadata,
    }),
  );
}

/** Hourly digests of one trail and Region, each chained to the one before, as CloudTrail delivers them. */
export class DigestChainWriter {
  private previous: PreviousDigest | undefined;
  readonly written: BuiltDigest[] = [];

  constructor(private readonly base: Omit<DigestParams, 'end' | 'logFiles' | 'previous'>) {}

  /** The next digest (also for an hour without log files: it still chains). */
  next(end: Date, logFiles: readonly ListedLogFile[], overrides: Partial<DigestParams> = {}): BuiltDigest {
    const built = buildDigest({
      ...this.base,
      end,
      logFiles,
      ...(this.previous ? { previous: this.previous } : {}),
      ...overrides,
    });
    this.previous = built;
    this.written.push(built);
    return built;
  }
}
