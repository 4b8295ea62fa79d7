/**
 * CloudTrail digest files: their format, the string CloudTrail signs, the signature and the chain between them.
 * Pure functions, except for `PublicKeyCache` (ListPublicKeys). What is checked, and why (docs/completeness.md,
 * "Digest verification"), follows the AWS CloudTrail User Guide:
 * - "CloudTrail digest file structure" (the fields, the key layout, `_backfill` digests);
 * - "Custom implementations of CloudTrail log file integrity validation" (the data signing string, the signature in
 *   the `x-amz-meta-signature` metadata, the public key chosen by `digestPublicKeyFingerprint` among the keys
 *   ListPublicKeys returns for the time range, SHA256withRSA);
 * - the CloudTrail API Reference, ListPublicKeys (`Value` is the DER encoded public key in PKCS #1 format; keys are
 *   per Region).
 * The AWS CLI's `validate-logs` (awscli/customizations/cloudtrail/validation.py) is the reference implementation:
 * for a first digest its `previousDigestSignature` is null and the signing string carries the word `null`.
 * No key is ever part of this code: public keys only come from a ListPublicKeys answer.
 */
import { ListPublicKeysCommand, type CloudTrailClient } from '@aws-sdk/client-cloudtrail';
import { createHash, createPublicKey, verify, type KeyObject } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { PermanentInputError, errorMessage } from './errors';

/** One log file a digest lists ("CloudTrail digest file structure", `logFiles`). */
export interface DigestLogFile {
  s3Bucket: string;
  s3Object: string;
  /** Hex SHA-256 of the log file's uncompressed content. */
  hashValue: string;
  hashAlgorithm: string;
  newestEventTime?: string;
  oldestEventTime?: string;
}

/** A digest file's JSON. The previous* fields are null in the first digest of a chain. */
export interface DigestFile {
  awsAccountId: string;
  digestStartTime: string;
  digestEndTime: string;
  digestS3Bucket: string;
  digestS3Object: string;
  digestPublicKeyFingerprint: string;
  digestSignatureAlgorithm: string;
  newestEventTime: string | null;
  oldestEventTime: string | null;
  previousDigestS3Bucket: string | null;
  previousDigestS3Object: string | null;
  previousDigestHashValue: string | null;
  previousDigestHashAlgorithm: string | null;
  previousDigestSignature: string | null;
  logFiles: DigestLogFile[];
}

/** A digest as read from S3: where it was read, its uncompressed bytes and their hash, its metadata signature. */
export interface ReadDigest {
  bucket: string;
  key: string;
  /** Hex SHA-256 of the uncompressed content (what the next digest's `previousDigestHashValue` holds). */
  sha256: string;
  digest: DigestFile;
  /** `x-amz-meta-signature`: hex; undefined when the object has none. */
  signature?: string;
  /** `x-amz-meta-signature-algorithm`. */
  signatureAlgorithm?: string;
}

/** The only algorithm CloudTrail signs with (digestSignatureAlgorithm and the signature-algorithm metadata). */
export const DIGEST_SIGNATURE_ALGORITHM = 'SHA256withRSA';
/** previousDigestHashAlgorithm and logFiles[].hashAlgorithm. */
export const DIGEST_HASH_ALGORITHM = 'SHA-256';
/** A digest lists at most an hour of log files; more than this uncompressed is not a digest. */
export const MAX_DIGEST_BYTES = 64 * 1024 * 1024;

export function sha256Hex(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function where(bucket: string, key: string): string {
  return `digest s3://${bucket}/${key}`;
}

/**
 * Parses a digest object: gzip (CloudTrail always compresses digests), then JSON with the documented fields.
 * `metadata` is GetObject's `Metadata` (user metadata without the `x-amz-meta-` prefix). Throws a
 * PermanentInputError naming the object and what is wrong.
 */
export function parseDigest(
  bucket: string,
  key: string,
  body: Uint8Array,
  metadata: Record<string, string> | undefined,
): ReadDigest {
  if (body.length < 2 || body[0] !== 0x1f || body[1] !== 0x8b) {
    throw new PermanentInputError(`${where(bucket, key)} is not gzip-compressed (CloudTrail gzips every digest)`);
  }
  let content: Buffer;
  try {
    content = gunzipSync(body, { maxOutputLength: MAX_DIGEST_BYTES });
  } catch (error) {
    throw new PermanentInputError(`${where(bucket, key)} cannot be decompressed: ${errorMessage(error)}`, {
      cause: error,
    });
  }
  let json: unknown;
  try {
    json = JSON.parse(content.toString('utf8'));
  } catch (error) {
    throw new PermanentInputError(`${where(bucket, key)} is not JSON: ${errorMessage(error)}`, { cause: error });
  }
  const digest = digestFields(json, (problem) => new PermanentInputError(`${where(bucket, key)}: ${problem}`));
  const signature = metadata?.signature;
  const signatureAlgorithm = metadata?.['signature-algorithm'];
  return {
    bucket,
    key,
    sha256: sha256Hex(content),
    digest,
    ...(signature !== undefined ? { signature } : {}),
    ...(signatureAlgorithm !== undefined ? { signatureAlgorithm } : {}),
  };
}

const REQUIRED_STRINGS = [
  'awsAccountId',
  'digestStartTime',
  'digestEndTime',
  'digestS3Bucket',
  'digestS3Object',
  'digestPublicKeyFingerprint',
  'digestSignatureAlgorithm',
] as const;
const NULLABLE_STRINGS = [
  'newestEventTime',
  'oldestEventTime',
  'previousDigestS3Bucket',
  'previousDigestS3Object',
  'previousDigestHashValue',
  'previousDigestHashAlgorithm',
  'previousDigestSignature',
] as const;
const LOG_FILE_STRINGS = ['s3Bucket', 's3Object', 'hashValue', 'hashAlgorithm'] as const;

function digestFields(json: unknown, fail: (problem: string) => Error): DigestFile {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw fail('is not a JSON object');
  const value = json as Record<string, unknown>;
  for (const field of REQUIRED_STRINGS) {
    if (typeof value[field] !== 'string' || value[field] === '') throw fail(`${field} is missing or not a string`);
  }
  for (const field of NULLABLE_STRINGS) {
    const item = value[field];
    if (item !== undefined && item !== null && typeof item !== 'string') throw fail(`${field} is not a string`);
  }
  if (!Array.isArray(value.logFiles)) throw fail('logFiles is missing or not an array');
  const logFiles = value.logFiles.map((file: unknown, index): DigestLogFile => {
    if (typeof file !== 'object' || file === null) throw fail(`logFiles[${index}] is not an object`);
    const entry = file as Record<string, unknown>;
    for (const field of LOG_FILE_STRINGS) {
      if (typeof entry[field] !== 'string' || entry[field] === '') {
        throw fail(`logFiles[${index}].${field} is missing or not a string`);
      }
    }
    return {
      s3Bucket: entry.s3Bucket as string,
      s3Object: entry.s3Object as string,
      hashValue: (entry.hashValue as string).toLowerCase(),
      hashAlgorithm: entry.hashAlgorithm as string,
      ...(typeof entry.newestEventTime === 'string' ? { newestEventTime: entry.newestEventTime } : {}),
      ...(typeof entry.oldestEventTime === 'string' ? { oldestEventTime: entry.oldestEventTime } : {}),
    };
  });
  const nullable = (field: (typeof NULLABLE_STRINGS)[number]) => (value[field] as string | null | undefined) ?? null;
  return {
    awsAccountId: value.awsAccountId as string,
    digestStartTime: value.digestStartTime as string,
    digestEndTime: value.digestEndTime as string,
    digestS3Bucket: value.digestS3Bucket as string,
    digestS3Object: value.digestS3Object as string,
    digestPublicKeyFingerprint: value.digestPublicKeyFingerprint as string,
    digestSignatureAlgorithm: value.digestSignatureAlgorithm as string,
    newestEventTime: nullable('newestEventTime'),
    oldestEventTime: nullable('oldestEventTime'),
    previousDigestS3Bucket: nullable('previousDigestS3Bucket'),
    previousDigestS3Object: nullable('previousDigestS3Object'),
    previousDigestHashValue: nullable('previousDigestHashValue'),
    previousDigestHashAlgorithm: nullable('previousDigestHashAlgorithm'),
    previousDigestSignature: nullable('previousDigestSignature'),
    logFiles,
  };
}

/**
 * The data signing string ("Custom implementations ...", D. Recreate the data signing string):
 * `digestEndTime` + "\n" + `<digestS3Bucket>/<digestS3Object>` + "\n" + hex SHA-256 of the uncompressed digest +
 * "\n" + `previousDigestSignature` (the word `null` for the first digest of a chain, as the AWS CLI does).
 */
export function signingString(digest: DigestFile, contentSha256: string): string {
  return [
    digest.digestEndTime,
    `${digest.digestS3Bucket}/${digest.digestS3Object}`,
    contentSha256,
    digest.previousDigestSignature ?? 'null',
  ].join('\n');
}

/** ListPublicKeys' `Value`: "the DER encoded public key value in PKCS #1 format" (an RSAPublicKey). */
export function publicKeyFromDer(fingerprint: string, der: Uint8Array): KeyObject {
  try {
    return createPublicKey({ key: Buffer.from(der), format: 'der', type: 'pkcs1' });
  } catch (error) {
    throw new PermanentInputError(
      `ListPublicKeys returned a key with fingerprint ${fingerprint} that is not a DER PKCS #1 RSA public key: ${errorMessage(error)}`,
      { cause: error },
    );
  }
}

export type SignatureCheck = { valid: true } | { valid: false; reason: string };

/**
 * Verifies a digest's signature: the object must sit where the digest says it was delivered (a moved digest is
 * invalid, as for the AWS CLI), carry a hex `signature` and SHA256withRSA, and the key whose fingerprint is the
 * digest's `digestPublicKeyFingerprint` must verify the data signing string.
 */
export function checkDigestSignature(read: ReadDigest, keys: ReadonlyMap<string, KeyObject>): SignatureCheck {
  const { digest } = read;
  if (digest.digestS3Bucket !== read.bucket || digest.digestS3Object !== read.key) {
    return {
      valid: false,
      reason: `it says it was delivered to s3://${digest.digestS3Bucket}/${digest.digestS3Object}: moved from its original location`,
    };
  }
  if (read.signature === undefined || read.signature === '') {
    return { valid: false, reason: 'the object has no signature metadata (x-amz-meta-signature)' };
  }
  if (!/^(?:[0-9a-fA-F]{2})+$/.test(read.signature)) {
    return { valid: false, reason: 'its signature metadata is not hexadecimal' };
  }
  for (const algorithm of [digest.digestSignatureAlgorithm, read.signatureAlgorithm]) {
    if (algorithm !== undefined && algorithm !== DIGEST_SIGNATURE_ALGORITHM) {
      return { valid: false, reason: `signature algorithm ${algorithm} is not ${DIGEST_SIGNATURE_ALGORITHM}` };
    }
  }
  const key = keys.get(digest.digestPublicKeyFingerprint);
  if (key === undefined) {
    return {
      valid: false,
      reason: `no public key with fingerprint ${digest.digestPublicKeyFingerprint} in ListPublicKeys for its Region and time`,
    };
  }
  const ok = verify(
    'sha256',
    Buffer.from(signingString(digest, read.sha256), 'utf8'),
    key,
    Buffer.from(read.signature, 'hex'),
  );
  return ok ? { valid: true } : { valid: false, reason: 'the signature does not verify with CloudTrail public key' };
}

/** What a digest's successor compares with: where it was read, its content's hash and its signature. */
export type PreviousDigest = Pick<ReadDigest, 'bucket' | 'key' | 'sha256' | 'signature'>;

export type ChainLink =
  /** The digest names the previous one read, with its hash and signature. */
  | { kind: 'linked' }
  /** The first digest of a chain (previous fields null): CloudTrail restarted it (logging or validation was off). */
  | { kind: 'restarted'; reason: string }
  | { kind: 'broken'; reason: string };

/**
 * Checks that `current` follows `previous` (the digest read just before it in the same chain): it must name that
 * object, with the SHA-256 of its uncompressed content and its signature. Without a previous digest to compare
 * with, only a chain start can be told from a reference to a digest that was not read.
 */
export function checkChainLink(current: ReadDigest, previous: PreviousDigest | undefined): ChainLink {
  const d = current.digest;
  if (d.previousDigestS3Object === null && d.previousDigestSignature === null) {
    return previous === undefined
      ? { kind: 'linked' }
      : {
          kind: 'restarted',
          reason: `it starts a new chain (no previous digest) after s3://${previous.bucket}/${previous.key}: CloudTrail logging or log file validation was off in between`,
        };
  }
  if (previous === undefined) return { kind: 'linked' };
  if (d.previousDigestS3Bucket !== previous.bucket || d.previousDigestS3Object !== previous.key) {
    return {
      kind: 'broken',
      reason: `it names s3://${d.previousDigestS3Bucket}/${d.previousDigestS3Object} as previous digest, not s3://${previous.bucket}/${previous.key} (a digest is missing or was replaced)`,
    };
  }
  if (d.previousDigestHashAlgorithm !== null && d.previousDigestHashAlgorithm !== DIGEST_HASH_ALGORITHM) {
    return { kind: 'broken', reason: `previousDigestHashAlgorithm ${d.previousDigestHashAlgorithm} is not SHA-256` };
  }
  if ((d.previousDigestHashValue ?? '').toLowerCase() !== previous.sha256) {
    return {
      kind: 'broken',
      reason: `previousDigestHashValue is not the SHA-256 of s3://${previous.bucket}/${previous.key}: that digest was changed`,
    };
  }
  if ((d.previousDigestSignature ?? '').toLowerCase() !== (previous.signature ?? '').toLowerCase()) {
    return {
      kind: 'broken',
      reason: `previousDigestSignature is not the signature of s3://${previous.bucket}/${previous.key}`,
    };
  }
  return { kind: 'linked' };
}

/** What a digest key's file name says: `<account>_CloudTrail-Digest_<region>_<trail>_<home region>_<end>[_backfill].json.gz`. */
export interface DigestName {
  accountId: string;
  region: string;
  trailName: string;
  homeRegion: string;
  /** The digest end time from the name (second precision). */
  end: Date;
  backfill: boolean;
}

const DIGEST_NAME =
  /^(\d{12})_CloudTrail-Digest_([a-z0-9-]+?)_(.+)_([a-z]{2,4}(?:-[a-z]+)+-\d{1,2})_(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z(_backfill)?\.json\.gz$/;

/** Parses a digest key's file name; undefined for a name in another form. */
export function parseDigestName(key: string): DigestName | undefined {
  const name = key.slice(key.lastIndexOf('/') + 1);
  const match = DIGEST_NAME.exec(name);
  if (match === null) return undefined;
  const [, accountId, region, trailName, homeRegion, y, mo, d, h, mi, s, backfill] = match;
  const end = new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s)));
  if (Number.isNaN(end.getTime())) return undefined;
  return {
    accountId: accountId!,
    region: region!,
    trailName: trailName!,
    homeRegion: homeRegion!,
    end,
    backfill: backfill !== undefined,
  };
}

/** `[<prefix>/]AWSLogs/[<o-id>/]<account>/CloudTrail-Digest/<region>/YYYY/MM/DD/`: one day's digest folder. */
export function digestFolder(params: {
  prefix?: string;
  orgId?: string;
  accountId: string;
  region: string;
  day: Date;
}): string {
  const [yyyy, mm, dd] = params.day.toISOString().slice(0, 10).split('-');
  return [
    ...(params.prefix ? [params.prefix.replace(/\/+$/, '')] : []),
    'AWSLogs',
    ...(params.orgId ? [params.orgId] : []),
    params.accountId,
    'CloudTrail-Digest',
    params.region,
    yyyy,
    mm,
    dd,
    '',
  ].join('/');
}

type PublicKeySource = Pick<CloudTrailClient, 'send'>;

/**
 * Public keys per Region (CloudTrail signs with a key per Region, ListPublicKeys answers for its own Region),
 * fetched once per Region for a time range covering the window, then kept.
 */
export class PublicKeyCache {
  private readonly regions = new Map<string, Promise<Map<string, KeyObject>>>();
  listCalls = 0;

  constructor(
    private readonly clientFor: (region: string) => PublicKeySource,
    private readonly range: { start: Date; end: Date },
  ) {}

  keysFor(region: string): Promise<Map<string, KeyObject>> {
    let keys = this.regions.get(region);
    if (keys === undefined) {
      keys = this.load(region);
      this.regions.set(region, keys);
      // A failure is not kept: the next digest of the Region asks again.
      keys.catch(() => this.regions.delete(region));
    }
    return keys;
  }

  private async load(region: string): Promise<Map<string, KeyObject>> {
    const keys = new Map<string, KeyObject>();
    const client = this.clientFor(region);
    let nextToken: string | undefined;
    do {
      this.listCalls += 1;
      const page = await client.send(
        new ListPublicKeysCommand({
          StartTime: this.range.start,
          EndTime: this.range.end,
          ...(nextToken !== undefined ? { NextToken: nextToken } : {}),
        }),
      );
      for (const entry of page.PublicKeyList ?? []) {
        if (entry.Fingerprint === undefined || entry.Value === undefined) continue;
        keys.set(entry.Fingerprint, publicKeyFromDer(entry.Fingerprint, entry.Value));
      }
      nextToken = page.NextToken;
    } while (nextToken !== undefined && nextToken !== '');
    return keys;
  }
}
