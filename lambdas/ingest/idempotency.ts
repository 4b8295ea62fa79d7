import { createHash } from 'node:crypto';
import { CollectorError } from '../shared/errors';

export interface IdempotencyKeyParts {
  bucket: string;
  /** The decoded object key, as passed to GetObject (not the URL-encoded form of S3 event notifications). */
  key: string;
  etag?: string;
  versionId?: string;
  batchIndex: number;
}

/**
 * The `X-Idempotency-Key` of one batch: hex SHA-256 over a JSON array of bucket, key, object version (versionId,
 * else the ETag without quotes, else '') and batch index. JSON keeps the encoding unambiguous (no two different
 * inputs share a preimage). Changing this encoding changes every key, so redeliveries made across a deploy would
 * no longer be recognised downstream: keep it stable.
 */
export function idempotencyKey(parts: IdempotencyKeyParts): string {
  if (!Number.isInteger(parts.batchIndex) || parts.batchIndex < 0) {
    throw new CollectorError(`idempotencyKey: batchIndex must be a non-negative integer, got ${parts.batchIndex}`);
  }
  const version = parts.versionId ?? stripQuotes(parts.etag) ?? '';
  const preimage = JSON.stringify([parts.bucket, parts.key, version, parts.batchIndex]);
  return createHash('sha256').update(preimage, 'utf8').digest('hex');
}

/** S3 returns the ETag quoted in GetObject/HeadObject but unquoted in event notifications; both must agree. */
function stripQuotes(etag: string | undefined): string | undefined {
  if (etag === undefined) return undefined;
  return etag.length >= 2 && etag.startsWith('"') && etag.endsWith('"') ? etag.slice(1, -1) : etag;
}
