/**
 * The one place where ARNs are split and built, and where an account id is checked. Format:
 * `arn:partition:service:region:account-id:resource` (IAM User Guide, "IAM identifiers" / "Amazon Resource
 * Names"); the resource part may itself hold colons (`function:name:alias`) and slashes (`trail/name`).
 */
import { PermanentInputError } from './errors';

/** An AWS account id: exactly 12 decimal digits (AWS Account Management guide, "View AWS account identifiers"). */
export const ACCOUNT_ID_PATTERN = /^\d{12}$/;

/** A guard for values that may not be strings (parsed input); a plain check for strings, which stay strings. */
export function isAccountId(value: string): boolean;
export function isAccountId(value: unknown): value is string;
export function isAccountId(value: unknown): boolean {
  return typeof value === 'string' && ACCOUNT_ID_PATTERN.test(value);
}

export interface ParsedArn {
  partition: string;
  service: string;
  /** Empty for global services (IAM, S3 bucket ARNs). */
  region: string;
  /** Empty for S3 bucket ARNs. */
  accountId: string;
  /** Everything after the fifth colon, colons included. */
  resource: string;
}

/** Splits an ARN, or undefined when it is not one: for observed data, where a bad value must not throw. */
export function tryParseArn(arn: string): ParsedArn | undefined {
  const parts = arn.split(':');
  if (parts.length < 6 || parts[0] !== 'arn') return undefined;
  const [, partition = '', service = '', region = '', accountId = ''] = parts;
  return { partition, service, region, accountId, resource: parts.slice(5).join(':') };
}

/** Parses `arn:partition:service:region:account:resource`; throws naming the bad value. */
export function parseArn(arn: string): ParsedArn {
  const parsed = tryParseArn(arn);
  if (parsed === undefined) throw new PermanentInputError(`not an ARN: "${arn}"`);
  return parsed;
}

export function buildArn(parts: ParsedArn): string {
  return `arn:${parts.partition}:${parts.service}:${parts.region}:${parts.accountId}:${parts.resource}`;
}

/**
 * Region, account and last name part of an ARN, without throwing on malformed input (observed data). The name is
 * what follows the last `/` of the resource (`trail/x` -> `x`), or the whole resource (`queue-name`).
 */
export function arnParts(arn: string): { region: string; accountId: string; name: string } {
  const parsed = tryParseArn(arn);
  const resource = parsed?.resource ?? '';
  return {
    region: parsed?.region ?? '',
    accountId: parsed?.accountId ?? '',
    name: resource.includes('/') ? resource.slice(resource.lastIndexOf('/') + 1) : resource,
  };
}

/** The partition a region belongs to (AWS General Reference, "AWS partitions"). */
export function partitionOf(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  if (region.startsWith('us-iso-')) return 'aws-iso';
  if (region.startsWith('us-isob-')) return 'aws-iso-b';
  return 'aws';
}

export function trailArn(region: string, accountId: string, name: string): string {
  return buildArn({
    partition: partitionOf(region),
    service: 'cloudtrail',
    region,
    accountId,
    resource: `trail/${name}`,
  });
}

export function topicArn(region: string, accountId: string, name: string): string {
  return buildArn({ partition: partitionOf(region), service: 'sns', region, accountId, resource: name });
}

export function queueArn(region: string, accountId: string, name: string): string {
  return buildArn({ partition: partitionOf(region), service: 'sqs', region, accountId, resource: name });
}

export function bucketArn(partition: string, bucketName: string): string {
  return buildArn({ partition, service: 's3', region: '', accountId: '', resource: bucketName });
}

/** `arn:<partition>:iam::<account>:role/<name>`: the customer role the collector assumes, or a collector role. */
export function roleArn(partition: string, accountId: string, roleName: string): string {
  return buildArn({ partition, service: 'iam', region: '', accountId, resource: `role/${roleName}` });
}

/** A Lambda function ARN without its version or alias qualifier, so `fn` and `fn:$LATEST` compare equal. */
export function unqualifiedFunctionArn(arn: string): string {
  const parts = arn.split(':');
  return parts.length > 7 ? parts.slice(0, 7).join(':') : arn;
}

/** The queue URL for a queue ARN (standard endpoint form; the emulator answers the same path). */
export function queueUrlFromArn(queueArn: string, endpoint?: string): string {
  const { region, accountId, resource, partition } = parseArn(queueArn);
  const host = endpoint ?? `https://sqs.${region}.${partition === 'aws-cn' ? 'amazonaws.com.cn' : 'amazonaws.com'}`;
  return `${host.replace(/\/$/, '')}/${accountId}/${resource}`;
}

/** Account id and queue name from a queue URL `https://host/<account>/<name>`. */
export function parseQueueUrl(queueUrl: string): { accountId: string; queueName: string } {
  let url: URL;
  try {
    url = new URL(queueUrl);
  } catch (error) {
    throw new PermanentInputError(`not a queue URL: "${queueUrl}"`, { cause: error });
  }
  const [accountId, queueName, ...rest] = url.pathname.split('/').filter(Boolean);
  if (!isAccountId(accountId) || !queueName || rest.length > 0) {
    throw new PermanentInputError(
      `not a queue URL (expected https://host/<12-digit account>/<queue name>): "${queueUrl}"`,
    );
  }
  return { accountId, queueName };
}
