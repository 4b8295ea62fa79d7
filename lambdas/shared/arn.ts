import { PermanentInputError } from './errors';

export interface ParsedArn {
  partition: string;
  service: string;
  region: string;
  accountId: string;
  resource: string;
}

/** Parses `arn:partition:service:region:account:resource`; throws naming the bad value. */
export function parseArn(arn: string): ParsedArn {
  const parts = arn.split(':');
  if (parts.length < 6 || parts[0] !== 'arn') throw new PermanentInputError(`not an ARN: "${arn}"`);
  const [, partition = '', service = '', region = '', accountId = ''] = parts;
  return { partition, service, region, accountId, resource: parts.slice(5).join(':') };
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
  if (!accountId || !/^\d{12}$/.test(accountId) || !queueName || rest.length > 0) {
    throw new PermanentInputError(
      `not a queue URL (expected https://host/<12-digit account>/<queue name>): "${queueUrl}"`,
    );
  }
  return { accountId, queueName };
}
