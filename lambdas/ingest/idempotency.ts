import { createHash } from 'node:crypto';
import { CollectorError } from '../shared/errors';
import type { LogObject } from './log-object';

/** What names an object version: the object as read (pipeline.ts sets versionId and etag from GetObject's answer). */
export type ObjectIdentity = Pick<LogObject, 'bucket' | 'key' | 'versionId' | 'etag'>;

/**
 * The `X-Idempotency-Key` of one batch: hex SHA-256 over a JSON array of bucket, key, object version (versionId,
 * else the ETag without quotes, else '') and batch index. JSON keeps the encoding unambiguous (no two different
 * inputs share a preimage). Changing this encoding changes every key, so redeliveries made across a deploy would
 * no longer be recognised downstream: keep it stable (test/unit/idempotency-keys-pinned.test.ts pins it).
 * A 413 split sends the halves of a batch as `${key}.0` and `${key}.1` (sinks/http-delivery.ts).
 */
export function idempotencyKey(object: ObjectIdentity, batchIndex: number): string {
  if (!Number.isInteger(batchIndex) || batchIndex < 0) {
    throw new CollectorError(`idempotencyKey: batchIndex must be a non-negative integer, got ${batchIndex}`);
  }
  const version = object.versionId ?? stripQuotes(object.etag) ?? '';
  const preimage = JSON.stringify([object.bucket, object.key, version, batchIndex]);
  return createHash('sha256').update(preimage, 'utf8').digest('hex');
}

/** S3 returns the ETag quoted in GetObject/HeadObject but unquoted in event notifications; both must agree. */
function stripQuotes(etag: string | undefined): string | undefined {
  if (etag === undefined) return undefined;
  return etag.length >= 2 && etag.startsWith('"') && etag.endsWith('"') ? etag.slice(1, -1) : etag;
}
