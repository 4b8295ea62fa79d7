/**
 * The fixed names of everything the collector creates in a customer account (DESIGN section 2). Fixed names
 * are the first half of "no repair can multiply resources": creating a resource that already exists either
 * returns the existing one (bucket, topic, queue) or fails loudly (trail), it never makes a second one.
 */

export const CHAIN_NAMES = {
  trail: 'outcomes-trail',
  topic: 'outcomestopic',
  queue: 'outcomesqueue',
  dlq: 'outcomesqueue-dlq',
} as const;

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

export function partitionOf(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  if (region.startsWith('us-iso-')) return 'aws-iso';
  if (region.startsWith('us-isob-')) return 'aws-iso-b';
  return 'aws';
}

export function trailArn(region: string, accountId: string, name: string): string {
  return `arn:${partitionOf(region)}:cloudtrail:${region}:${accountId}:trail/${name}`;
}

export function topicArn(region: string, accountId: string, name: string): string {
  return `arn:${partitionOf(region)}:sns:${region}:${accountId}:${name}`;
}

export function queueArn(region: string, accountId: string, name: string): string {
  return `arn:${partitionOf(region)}:sqs:${region}:${accountId}:${name}`;
}

/** Region, account and last name part of an ARN, without throwing on malformed input (observed data). */
export function arnParts(arn: string): { region: string; accountId: string; name: string } {
  const parts = arn.split(':');
  const resource = parts.slice(5).join(':');
  return {
    region: parts[3] ?? '',
    accountId: parts[4] ?? '',
    name: resource.includes('/') ? resource.slice(resource.lastIndexOf('/') + 1) : resource,
  };
}

/** A Lambda function ARN without its version or alias qualifier, so `fn` and `fn:$LATEST` compare equal. */
export function unqualifiedFunctionArn(arn: string): string {
  const parts = arn.split(':');
  return parts.length > 7 ? parts.slice(0, 7).join(':') : arn;
}
