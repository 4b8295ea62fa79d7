/**
 * TRAIL_KMS_UNREADABLE when ingest could not read the account's log files because S3 could not decrypt them with
 * their KMS key for the collector's role (SSE-KMS). Observe cannot see this: the key policy is the customer's and
 * the role may not read it. Ingest records the failed read on the account (the registry's `lastReadError`, written
 * at most every few minutes while it lasts), and this rule reports it with the key and the key policy statement
 * the customer must add.
 *
 * The statement follows the CloudTrail User Guide, "Configure AWS KMS key policies for CloudTrail", "Granting
 * decrypt permissions": `kms:Decrypt` for the reader's principal, with the condition on the encryption context
 * CloudTrail writes (`kms:EncryptionContext:aws:cloudtrail:arn`, the trails of the account that owns the trail, as
 * in the default key policy CloudTrail creates). It adds `kms:ViaService` (S3 in the key's region, the only way
 * the collector uses the key; the role's own policy allows nothing else). When the trail itself names no key
 * (the bucket's default encryption is SSE-KMS), the CloudTrail condition would not match the context S3 writes, so
 * the statement has `kms:ViaService` alone.
 *
 * Reported while the error is less than KMS_ERROR_WINDOW_HOURS old and no record arrived after it: once the key
 * policy works again, the next delivered record clears it.
 */
import { tryParseArn } from '../../shared/arn';
import type { ReadError } from '../../shared/registry';
import type { ObservedTrail } from '../types';
import { finding, none, type Rule } from './kit';

export const KMS_ERROR_WINDOW_HOURS = 24;

/** S3's pass-through KMS errors that name the key's state, not its policy: a statement would not help. */
const KEY_STATE_ERRORS: Readonly<Record<string, string>> = {
  'KMS.DisabledException': 'the key is disabled: enable it',
  'KMS.KMSInvalidStateException': 'the key is not usable (pending deletion or import): cancel its deletion',
  'KMS.NotFoundException': 'the key no longer exists: point the trail at a key that does',
};

export const kmsRule: Rule = {
  name: 'kms',
  part: 'account',
  phase: 'account',
  codes: ['TRAIL_KMS_UNREADABLE'],
  description: "S3 cannot decrypt the account's log files with their KMS key for the collector's role",
  check({ ctx, trails, decided }) {
    const error = ctx.lastReadError;
    if (error?.kind !== 'kms') return none();
    const at = Date.parse(error.at);
    if (!(ctx.now.getTime() - at <= KMS_ERROR_WINDOW_HOURS * 3_600_000)) return none();
    // A record delivered after the error: the key policy (or the key) works again.
    if (ctx.lastRecordAt !== undefined && Date.parse(ctx.lastRecordAt) > at) return none();

    const trail = trailOf(error, trails, decided.trail?.target.observed);
    const keyArn = trail?.kmsKeyId ?? error.keyArn;
    const key = keyArn ?? "its KMS key (S3 did not name it: see the bucket's default encryption)";
    const what =
      `S3 cannot decrypt log files of this account with ${key} for the collector's role ${error.roleArn} ` +
      `(${error.code} on s3://${error.bucket}/${error.objectKey} at ${error.at}): ingest fails every such file, ` +
      'and they wait in outcomesqueue-dlq';
    const keyState = KEY_STATE_ERRORS[error.code];
    const remedy =
      keyState !== undefined
        ? `${keyState}, then redrive the DLQ`
        : `add this statement to the key policy (leave its other statements as they are), then redrive the DLQ: ` +
          `${JSON.stringify(decryptStatement(error.roleArn, keyArn, trail))}. If the policy allows it already, ` +
          'an explicit Deny (key policy, SCP, permissions boundary) blocks it';
    return {
      findings: [finding('TRAIL_KMS_UNREADABLE', 'high', keyArn ?? trail?.arn ?? ctx.accountId, `${what}; ${remedy}`)],
      actions: [],
    };
  },
};

/** The trail whose files failed: the one delivering to the failed bucket (the collection trail first). */
function trailOf(
  error: ReadError,
  trails: readonly ObservedTrail[],
  collection: ObservedTrail | undefined,
): ObservedTrail | undefined {
  if (collection?.bucketName === error.bucket) return collection;
  return trails.find((trail) => trail.bucketName === error.bucket && trail.kmsKeyId !== undefined);
}

/** The key policy statement that lets the collector's role read the log files through S3. */
export function decryptStatement(
  roleArn: string,
  keyArn: string | undefined,
  trail: ObservedTrail | undefined,
): Record<string, unknown> {
  const partition = tryParseArn(roleArn)?.partition || 'aws';
  const keyRegion = (keyArn !== undefined ? tryParseArn(keyArn)?.region : undefined) || '*';
  const suffix = partition === 'aws-cn' ? 'amazonaws.com.cn' : 'amazonaws.com';
  const conditions: Record<string, string> = {
    'kms:ViaService': `s3.${keyRegion}.${suffix}`,
  };
  if (trail?.kmsKeyId !== undefined) {
    conditions['kms:EncryptionContext:aws:cloudtrail:arn'] =
      `arn:${partition}:cloudtrail:*:${trail.ownerAccountId}:trail/*`;
  }
  return {
    Sid: 'CloudTrailCollectorDecryptLogFiles',
    Effect: 'Allow',
    Principal: { AWS: roleArn },
    Action: 'kms:Decrypt',
    // In a key policy, "*" is the key itself.
    Resource: '*',
    Condition: { StringLike: conditions },
  };
}
