/**
 * The fixed names of everything the collector creates in a customer account. Fixed names
 * are the first half of "no repair can multiply resources": creating a resource that already exists either
 * returns the existing one (bucket, topic, queue) or fails loudly (trail), it never makes a second one.
 */

export const CHAIN_NAMES = {
  trail: 'outcomes-trail',
  topic: 'outcomestopic',
  queue: 'outcomesqueue',
  dlq: 'outcomesqueue-dlq',
} as const;

/** The collector's EventBridge rule on a log archive's default bus (rules/archive-notifications.ts). */
export const ARCHIVE_EVENT_RULE_NAME = 'cloudtrail-collector-archive';

/** `outcomes-<account id>`: the bucket created when the trail's bucket is gone. */
export function defaultBucketName(accountId: string): string {
  return `outcomes-${accountId}`;
}

/** `outcomes-<account id>-<suffix>`: used only when the default name belongs to another account. */
export function generatedBucketName(accountId: string, suffix: string): string {
  return `${defaultBucketName(accountId)}-${suffix}`;
}

/** Is this a bucket name the collector reserves for itself in that account (default or generated)? */
export function isCollectorBucketName(accountId: string, bucketName: string): boolean {
  const base = defaultBucketName(accountId);
  if (bucketName === base) return true;
  return bucketName.startsWith(`${base}-`) && /^[a-z0-9]{4,20}$/.test(bucketName.slice(base.length + 1));
}
