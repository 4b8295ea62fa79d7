/**
 * Digest verification over a time window (docs/completeness.md, "Digest verification"): the CloudTrail digests of
 * one account's trail, per Region, are read from the trail bucket, their signatures and their chain verified, and
 * every log file they list is compared with the ledger of collected files (lambdas/shared/ledger.ts):
 * - collected with the digest's hash: `collected`;
 * - collected with another hash: `hashMismatch` (the bytes ingest forwarded are not the bytes CloudTrail delivered);
 * - never collected: `missingFromBucket` when HeadObject answers 404 (deleted), `notCollected` otherwise.
 * The `verify` command prints this report; reconcile is to call `verifyCompleteness` the same way.
 *
 * Tenant binding: only the tenant's own digest folder is listed, every read passes ExpectedBucketOwner, and a digest
 * that names another bucket or account (itself, or a log file outside the tenant's accounts) is rejected: it counts
 * as `signatureInvalid` (with the reason in `details`) and none of the files it names is looked at.
 */
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import type { KeyObject } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { mapSettled } from './concurrency';
import {
  MAX_DIGEST_BYTES,
  checkChainLink,
  checkDigestSignature,
  digestFolder,
  parseDigest,
  parseDigestName,
  sha256Hex,
  type DigestName,
  type ReadDigest,
} from './digest';
import { PermanentInputError, awsErrorName, errorMessage } from './errors';
import { fileRef, type LedgerEntry, type LedgerTable } from './ledger';
import { classifyObjectKey, deliveryTimeOf } from './object-key';

/** Default bound on the digests one call reads (about 5 days of a trail in all 17 default Regions). */
export const MAX_DIGESTS_DEFAULT = 2_000;
/** HeadObject calls in flight at once (files a digest lists but the ledger does not hold). */
const HEAD_CONCURRENCY = 8;
const HOUR_MS = 3_600_000;

export interface ObjectRef {
  bucket: string;
  key: string;
}

/** A digest or file with what was wrong with it, for people and for reconcile findings. */
export interface ObjectProblem extends ObjectRef {
  reason: string;
}

export interface CompletenessReport {
  accountId: string;
  since: string;
  until: string;
  logFiles: {
    listedInDigests: number;
    collected: number;
    notCollected: ObjectRef[];
    hashMismatch: ObjectRef[];
    missingFromBucket: ObjectRef[];
  };
  digests: {
    read: number;
    signatureValid: number;
    signatureInvalid: ObjectRef[];
    chainBreaks: number;
  };
  /** Why each digest was counted invalid (signature, format or tenant binding) and each chain break. */
  details: {
    signatureInvalid: ObjectProblem[];
    chainBreaks: ObjectProblem[];
    /** Regions whose public keys could not be listed (their digests count as signatureInvalid). */
    publicKeyErrors: { region: string; error: string }[];
    /** The hours each chained (not `_backfill`) digest read covers, per Region: reconcile's DIGEST_MISSING. */
    spans: DigestSpan[];
  };
}

/** The time a digest covers (`digestStartTime`..`digestEndTime`; from its name when it could not be parsed). */
export interface DigestSpan extends ObjectRef {
  region: string;
  start: string;
  end: string;
  /** Its previous* fields are null: CloudTrail started a new chain (logging or validation was off before it). */
  chainStart: boolean;
}

export interface TrailLocation {
  bucket: string;
  /** The trail's S3KeyPrefix, if any. */
  prefix?: string;
  /** Organization trails deliver under `AWSLogs/<o-id>/<account>/`. */
  orgId?: string;
  /** When known, only this trail's digests are read (several trails may deliver to one folder). */
  trailName?: string;
  homeRegion?: string;
}

export interface CompletenessInput {
  accountId: string;
  since: Date;
  until: Date;
  trail: TrailLocation;
  regions: readonly string[];
  /** Accounts and organizations whose log files the trail bucket may list (the account itself, accounts it archives). */
  allowedLogAccounts?: ReadonlySet<string>;
  /** S3 as the tenant (its role): every call passes ExpectedBucketOwner. */
  s3: Pick<S3Client, 'send'>;
  /** The owner the bucket must have; default `accountId`. */
  expectedBucketOwner?: string;
  /** ListPublicKeys answers per Region (a PublicKeyCache over the window). */
  publicKeys: { keysFor(region: string): Promise<Map<string, KeyObject>> };
  /** Looked up under `accountId` (ingest records a file under its tenant). */
  ledger: Pick<LedgerTable, 'collectedOn'>;
  /** At most this many digests per call (MAX_DIGESTS_DEFAULT); a window with more is refused. */
  maxDigests?: number;
}

/** The time range ListPublicKeys must cover for a window: digests of the window end up to an hour after it. */
export function publicKeyRange(since: Date, until: Date): { start: Date; end: Date } {
  return { start: new Date(since.getTime() - HOUR_MS), end: new Date(until.getTime() + HOUR_MS) };
}

interface ListedDigest extends ObjectRef {
  region: string;
  name: DigestName;
}

/** Every UTC day from `from` to `to`, inclusive. */
function daysBetween(from: Date, to: Date): Date[] {
  const days: Date[] = [];
  const first = Date.UTC(from.getUTCFullYear(), from.getUTCMonth(), from.getUTCDate());
  for (let day = first; day <= to.getTime(); day += 24 * HOUR_MS) days.push(new Date(day));
  return days;
}

/**
 * The digests of the window, per Region: those whose end time (from their name) is after `since` and at most an
 * hour after `until`, since a digest lists the files delivered in the hour before its end. Throws when there are
 * more than `maxDigests`.
 */
export async function listWindowDigests(input: CompletenessInput): Promise<ListedDigest[]> {
  const { since, until, trail, accountId } = input;
  const owner = input.expectedBucketOwner ?? accountId;
  const last = new Date(until.getTime() + HOUR_MS);
  const max = input.maxDigests ?? MAX_DIGESTS_DEFAULT;
  const listed: ListedDigest[] = [];
  for (const region of input.regions) {
    for (const day of daysBetween(since, last)) {
      const prefix = digestFolder({
        accountId,
        region,
        day,
        ...(trail.prefix ? { prefix: trail.prefix } : {}),
        ...(trail.orgId ? { orgId: trail.orgId } : {}),
      });
      let token: string | undefined;
      do {
        const page = await input.s3.send(
          new ListObjectsV2Command({
            Bucket: trail.bucket,
            Prefix: prefix,
            ExpectedBucketOwner: owner,
            ...(token !== undefined ? { ContinuationToken: token } : {}),
          }),
        );
        for (const object of page.Contents ?? []) {
          if (object.Key === undefined) continue;
          const name = parseDigestName(object.Key);
          if (name === undefined || name.accountId !== accountId || name.region !== region) continue;
          if (trail.trailName !== undefined && name.trailName !== trail.trailName) continue;
          if (trail.homeRegion !== undefined && name.homeRegion !== trail.homeRegion) continue;
          if (name.end.getTime() <= since.getTime() || name.end.getTime() > last.getTime()) continue;
          listed.push({ bucket: trail.bucket, key: object.Key, region, name });
          if (listed.length > max) {
            throw new PermanentInputError(
              `more than ${max} digests between ${since.toISOString()} and ${until.toISOString()} for account ${accountId}: verify a shorter window`,
            );
          }
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token !== undefined);
    }
  }
  return listed;
}

/**
 * The Regions that have a digest folder for the account (`.../CloudTrail-Digest/<region>/`): where a multi-Region
 * trail delivered digests, without knowing which Regions the account has enabled.
 */
export async function digestRegions(
  s3: Pick<S3Client, 'send'>,
  accountId: string,
  trail: TrailLocation,
  expectedBucketOwner: string = accountId,
): Promise<string[]> {
  const folder = digestFolder({
    accountId,
    region: 'x',
    day: new Date(0),
    ...(trail.prefix ? { prefix: trail.prefix } : {}),
    ...(trail.orgId ? { orgId: trail.orgId } : {}),
  }).replace(/x\/1970\/01\/01\/$/, '');
  const regions: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({
        Bucket: trail.bucket,
        Prefix: folder,
        Delimiter: '/',
        ExpectedBucketOwner: expectedBucketOwner,
        ...(token !== undefined ? { ContinuationToken: token } : {}),
      }),
    );
    for (const common of page.CommonPrefixes ?? []) {
      const region = common.Prefix?.slice(folder.length).replace(/\/$/, '');
      if (region && /^[a-z]{2,4}(?:-[a-z]+)+-\d{1,2}$/.test(region)) regions.push(region);
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token !== undefined);
  return regions.sort();
}

/** A digest read, or one whose content could not be parsed (still a link of the chain, by its bytes' hash). */
type ChainEntry = ObjectRef & { sha256: string; signature?: string; read?: ReadDigest };

/**
 * Why a digest names something outside the tenant: another bucket than the one listed, another account than the
 * folder's, or a log file of an account the tenant may not read. Undefined when it stays inside.
 */
export function digestBindingProblem(
  read: ReadDigest,
  accountId: string,
  allowed: ReadonlySet<string>,
): string | undefined {
  const { digest } = read;
  if (digest.digestS3Bucket !== read.bucket) {
    return `it names bucket ${digest.digestS3Bucket}, not the trail bucket ${read.bucket}: rejected, nothing it lists is read`;
  }
  if (digest.awsAccountId !== accountId) {
    return `it is a digest of account ${digest.awsAccountId}, not ${accountId}: rejected, nothing it lists is read`;
  }
  for (const file of digest.logFiles) {
    if (file.s3Bucket !== read.bucket) {
      return `it lists s3://${file.s3Bucket}/${file.s3Object}, outside the trail bucket ${read.bucket}: rejected, nothing it lists is read`;
    }
    const where = classifyObjectKey(file.s3Object);
    const inside =
      (where.type === 'log' || where.type === 'insight') &&
      (allowed.has(where.accountId) || (where.orgId !== undefined && allowed.has(where.orgId)));
    if (!inside) {
      return `it lists ${file.s3Object}, which is not a log file of account ${accountId} or one it archives: rejected, nothing it lists is read`;
    }
  }
  return undefined;
}

function hashOfBody(body: Uint8Array): string {
  try {
    return sha256Hex(gunzipSync(body, { maxOutputLength: MAX_DIGEST_BYTES }));
  } catch {
    return sha256Hex(body);
  }
}

async function readDigestObject(
  s3: Pick<S3Client, 'send'>,
  ref: ObjectRef,
  owner: string,
): Promise<{ entry: ChainEntry; error?: string }> {
  const object = await s3.send(new GetObjectCommand({ Bucket: ref.bucket, Key: ref.key, ExpectedBucketOwner: owner }));
  const body = object.Body === undefined ? new Uint8Array() : await object.Body.transformToByteArray();
  try {
    const read = parseDigest(ref.bucket, ref.key, body, object.Metadata);
    return {
      entry: {
        ...ref,
        sha256: read.sha256,
        ...(read.signature !== undefined ? { signature: read.signature } : {}),
        read,
      },
    };
  } catch (error) {
    if (!(error instanceof PermanentInputError)) throw error;
    const signature = object.Metadata?.signature;
    return {
      entry: { ...ref, sha256: hashOfBody(body), ...(signature !== undefined ? { signature } : {}) },
      error: errorMessage(error),
    };
  }
}

function isNotFound(error: unknown): boolean {
  const name = awsErrorName(error);
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  return name === 'NotFound' || name === 'NoSuchKey' || status === 404;
}

/** Verifies the digests of a window and compares every file they list with the ledger (see the file comment). */
export async function verifyCompleteness(input: CompletenessInput): Promise<CompletenessReport> {
  const { accountId, since, until } = input;
  if (!(since.getTime() < until.getTime())) {
    throw new PermanentInputError(
      `the window must start before it ends: ${since.toISOString()} is not before ${until.toISOString()}`,
    );
  }
  const owner = input.expectedBucketOwner ?? accountId;
  const allowed = input.allowedLogAccounts ?? new Set([accountId]);
  const report: CompletenessReport = {
    accountId,
    since: since.toISOString(),
    until: until.toISOString(),
    logFiles: { listedInDigests: 0, collected: 0, notCollected: [], hashMismatch: [], missingFromBucket: [] },
    digests: { read: 0, signatureValid: 0, signatureInvalid: [], chainBreaks: 0 },
    details: { signatureInvalid: [], chainBreaks: [], publicKeyErrors: [], spans: [] },
  };
  const invalid = (ref: ObjectRef, reason: string) => {
    report.digests.signatureInvalid.push({ bucket: ref.bucket, key: ref.key });
    report.details.signatureInvalid.push({ bucket: ref.bucket, key: ref.key, reason });
  };

  const listed = await listWindowDigests(input);
  /** Log files of trusted digests, by fileRef: the digest's hash. */
  const files = new Map<string, { bucket: string; key: string; hash: string }>();
  const chains = new Map<string, { listed: ListedDigest; entry: ChainEntry }[]>();

  for (const digest of listed) {
    const { entry, error } = await readDigestObject(input.s3, digest, owner);
    report.digests.read += 1;
    if (!digest.name.backfill) {
      // One chain per trail and Region; backfill digests are outside it (AWS documents no link for them).
      const chain = `${digest.region}\u0000${digest.name.trailName}\u0000${digest.name.homeRegion}`;
      chains.set(chain, [...(chains.get(chain) ?? []), { listed: digest, entry }]);
      const parsed = entry.read?.digest;
      report.details.spans.push({
        bucket: digest.bucket,
        key: digest.key,
        region: digest.region,
        start: parsed?.digestStartTime ?? new Date(digest.name.end.getTime() - HOUR_MS).toISOString(),
        end: parsed?.digestEndTime ?? digest.name.end.toISOString(),
        chainStart:
          parsed !== undefined && parsed.previousDigestS3Object === null && parsed.previousDigestSignature === null,
      });
    }
    if (error !== undefined || entry.read === undefined) {
      invalid(digest, error ?? 'unreadable');
      continue;
    }
    const binding = digestBindingProblem(entry.read, accountId, allowed);
    if (binding !== undefined) {
      invalid(digest, binding);
      continue;
    }
    let keys: Map<string, KeyObject>;
    try {
      keys = await input.publicKeys.keysFor(digest.region);
    } catch (keyError) {
      const message = `${awsErrorName(keyError) ?? 'Error'}: ${errorMessage(keyError)}`;
      if (!report.details.publicKeyErrors.some((known) => known.region === digest.region)) {
        report.details.publicKeyErrors.push({ region: digest.region, error: message });
      }
      invalid(digest, `ListPublicKeys failed in ${digest.region}: ${message}`);
      continue;
    }
    const signature = checkDigestSignature(entry.read, keys);
    if (!signature.valid) {
      // Its list of files cannot be trusted: none of them is counted.
      invalid(digest, signature.reason);
      continue;
    }
    report.digests.signatureValid += 1;
    for (const file of entry.read.digest.logFiles) {
      const delivered = deliveryTimeOf(file.s3Object);
      if (delivered !== undefined && (delivered < since || delivered > until)) continue;
      files.set(fileRef(file.s3Bucket, file.s3Object), {
        bucket: file.s3Bucket,
        key: file.s3Object,
        hash: file.hashValue,
      });
    }
  }

  for (const chain of chains.values()) {
    chain.sort((a, b) => a.listed.name.end.getTime() - b.listed.name.end.getTime());
    // An unparsable digest is still the previous link of the next one: by its location, hash and signature.
    let previous: ChainEntry | undefined;
    for (const { entry } of chain) {
      if (entry.read !== undefined) {
        const link = checkChainLink(entry.read, previous);
        if (link.kind !== 'linked') {
          report.digests.chainBreaks += 1;
          report.details.chainBreaks.push({ bucket: entry.bucket, key: entry.key, reason: link.reason });
        }
      }
      previous = entry;
    }
  }

  await checkFiles([...files.values()], input, owner, report);
  return report;
}

async function checkFiles(
  files: { bucket: string; key: string; hash: string }[],
  input: CompletenessInput,
  owner: string,
  report: CompletenessReport,
): Promise<void> {
  report.logFiles.listedInDigests = files.length;
  const days = new Map<string, Promise<Map<string, LedgerEntry>>>();
  const collectedOn = (region: string, day: string) => {
    const id = `${region}\u0000${day}`;
    let found = days.get(id);
    if (found === undefined) {
      found = input.ledger.collectedOn(input.accountId, region, day);
      days.set(id, found);
    }
    return found;
  };
  const unknown: { bucket: string; key: string }[] = [];
  for (const file of files) {
    const where = classifyObjectKey(file.key);
    // digestBindingProblem let only log and Insight keys through.
    if (where.type === 'other') continue;
    const entry = (await collectedOn(where.region, where.day)).get(fileRef(file.bucket, file.key));
    if (entry === undefined) unknown.push({ bucket: file.bucket, key: file.key });
    else if (entry.sha256.toLowerCase() === file.hash) report.logFiles.collected += 1;
    else report.logFiles.hashMismatch.push({ bucket: file.bucket, key: file.key });
  }
  const heads = await mapSettled(unknown, HEAD_CONCURRENCY, (file) =>
    input.s3.send(new HeadObjectCommand({ Bucket: file.bucket, Key: file.key, ExpectedBucketOwner: owner })),
  );
  heads.forEach((head, index) => {
    const file = unknown[index]!;
    // Deleted after CloudTrail listed it; any other answer (there, or denied) leaves it "not collected".
    if (head.status === 'rejected' && isNotFound(head.reason)) report.logFiles.missingFromBucket.push(file);
    else report.logFiles.notCollected.push(file);
  });
}

/** Whether a report says every listed file was collected with its hash, every signature held and the chain too. */
export function isComplete(report: CompletenessReport): boolean {
  return (
    report.logFiles.notCollected.length === 0 &&
    report.logFiles.hashMismatch.length === 0 &&
    report.logFiles.missingFromBucket.length === 0 &&
    report.digests.signatureInvalid.length === 0 &&
    report.digests.chainBreaks === 0
  );
}

/** The report as `verify --json` prints it (docs/operations.md): exactly these fields, in this order. */
export function verifyJson(report: CompletenessReport): object {
  return {
    accountId: report.accountId,
    since: report.since,
    until: report.until,
    logFiles: {
      listedInDigests: report.logFiles.listedInDigests,
      collected: report.logFiles.collected,
      notCollected: report.logFiles.notCollected.map(ref),
      hashMismatch: report.logFiles.hashMismatch.map(ref),
      missingFromBucket: report.logFiles.missingFromBucket.map(ref),
    },
    digests: {
      read: report.digests.read,
      signatureValid: report.digests.signatureValid,
      signatureInvalid: report.digests.signatureInvalid.map(ref),
      chainBreaks: report.digests.chainBreaks,
    },
  };
}

function ref(object: ObjectRef): ObjectRef {
  return { bucket: object.bucket, key: object.key };
}
