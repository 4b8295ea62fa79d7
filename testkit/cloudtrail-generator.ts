import { createGzip, gzipSync } from 'node:zlib';
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';

/** A small deterministic PRNG (mulberry32): the same seed gives the same files, so runs compare. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pick<T>(random: () => number, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)] as T;
}

function hex(random: () => number, length: number): string {
  let out = '';
  while (out.length < length)
    out += Math.floor(random() * 0x100000000)
      .toString(16)
      .padStart(8, '0');
  return out.slice(0, length);
}

function uuid(random: () => number): string {
  const h = hex(random, 32);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** Management events as CloudTrail writes them: common services, read and write calls, several identity types. */
const EVENTS: readonly { source: string; name: string; readOnly: boolean; type?: string }[] = [
  { source: 'ec2.amazonaws.com', name: 'DescribeInstances', readOnly: true },
  { source: 'ec2.amazonaws.com', name: 'RunInstances', readOnly: false },
  { source: 'ec2.amazonaws.com', name: 'CreateTags', readOnly: false },
  { source: 's3.amazonaws.com', name: 'GetBucketAcl', readOnly: true },
  { source: 's3.amazonaws.com', name: 'PutBucketPolicy', readOnly: false },
  { source: 'iam.amazonaws.com', name: 'CreateRole', readOnly: false },
  { source: 'iam.amazonaws.com', name: 'ListRoles', readOnly: true },
  { source: 'sts.amazonaws.com', name: 'AssumeRole', readOnly: true },
  { source: 'kms.amazonaws.com', name: 'Decrypt', readOnly: true },
  { source: 'kms.amazonaws.com', name: 'GenerateDataKey', readOnly: true },
  { source: 'lambda.amazonaws.com', name: 'UpdateFunctionCode20150331v2', readOnly: false },
  { source: 'cloudtrail.amazonaws.com', name: 'LookupEvents', readOnly: true },
  { source: 'signin.amazonaws.com', name: 'ConsoleLogin', readOnly: false, type: 'AwsConsoleSignIn' },
  { source: 'dynamodb.amazonaws.com', name: 'DescribeTable', readOnly: true },
  { source: 'sqs.amazonaws.com', name: 'SetQueueAttributes', readOnly: false },
  { source: 'sns.amazonaws.com', name: 'Subscribe', readOnly: false },
];

const USER_AGENTS = [
  'aws-cli/2.15.30 Python/3.11.8 Linux/6.1.0 exe/x86_64.amzn.2 prompt/off command/ec2.describe-instances',
  'aws-sdk-js/3.637.0 ua/2.0 os/linux#5.10 lang/js md/nodejs#20.11.1 api/s3#3.637.0',
  'Boto3/1.34.69 md/Botocore#1.34.69 ua/2.0 os/linux#5.10.213 md/arch#x86_64 lang/python#3.12.2 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.69',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
  'cloudformation.amazonaws.com',
  'AWS Internal',
];

export interface GenerateOptions {
  accountId: string;
  region: string;
  seed: number;
  start?: Date;
}

/** One realistic CloudTrail management event record. */
export function generateRecord(random: () => number, options: GenerateOptions, index: number): Record<string, unknown> {
  const event = pick(random, EVENTS);
  const start = options.start?.getTime() ?? Date.UTC(2026, 10, 1);
  const eventTime = new Date(start + index * 1000 + Math.floor(random() * 1000))
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z');
  const principalId = `AROA${hex(random, 16).toUpperCase()}`;
  const roleName = pick(random, ['Admin', 'deploy-pipeline', 'ReadOnly', 'lambda-exec-orders']);
  const identityKind = random();
  const userIdentity =
    identityKind < 0.6
      ? {
          type: 'AssumedRole',
          principalId: `${principalId}:session-${index}`,
          arn: `arn:aws:sts::${options.accountId}:assumed-role/${roleName}/session-${index}`,
          accountId: options.accountId,
          accessKeyId: `ASIA${hex(random, 16).toUpperCase()}`,
          sessionContext: {
            sessionIssuer: {
              type: 'Role',
              principalId,
              arn: `arn:aws:iam::${options.accountId}:role/${roleName}`,
              accountId: options.accountId,
              userName: roleName,
            },
            attributes: { creationDate: eventTime, mfaAuthenticated: String(random() < 0.3) },
          },
        }
      : identityKind < 0.85
        ? {
            type: 'IAMUser',
            principalId: `AIDA${hex(random, 16).toUpperCase()}`,
            arn: `arn:aws:iam::${options.accountId}:user/alice`,
            accountId: options.accountId,
            accessKeyId: `AKIA${hex(random, 16).toUpperCase()}`,
            userName: 'alice',
          }
        : { type: 'AWSService', invokedBy: pick(random, ['lambda.amazonaws.com', 'cloudformation.amazonaws.com']) };
  // Request parameters vary from empty to several KB, as real ones do (policies, tag lists, filters).
  const paramSize = random() < 0.7 ? Math.floor(random() * 4) : Math.floor(random() * 60);
  const requestParameters: Record<string, unknown> =
    paramSize === 0
      ? {}
      : {
          filterSet: {
            items: Array.from({ length: paramSize }, (_, i) => ({
              name: `tag:Name${i}`,
              valueSet: { items: [{ value: `value-${hex(random, 12)}` }] },
            })),
          },
          maxResults: 1000,
          description: 'Contains "quotes", a tab\t, unicode é and a newline\n escaped',
        };
  return {
    eventVersion: '1.10',
    userIdentity,
    eventTime,
    eventSource: event.source,
    eventName: event.name,
    awsRegion: options.region,
    sourceIPAddress: random() < 0.2 ? 'cloudformation.amazonaws.com' : `203.0.113.${Math.floor(random() * 254) + 1}`,
    userAgent: pick(random, USER_AGENTS),
    requestParameters,
    responseElements: event.readOnly ? null : { requestId: uuid(random), _return: true },
    requestID: uuid(random),
    eventID: uuid(random),
    readOnly: event.readOnly,
    eventType: event.type ?? 'AwsApiCall',
    managementEvent: true,
    recipientAccountId: options.accountId,
    eventCategory: 'Management',
    tlsDetails: {
      tlsVersion: 'TLSv1.3',
      cipherSuite: 'TLS_AES_128_GCM_SHA256',
      clientProvidedHostHeader: `${event.source.split('.')[0]}.${options.region}.amazonaws.com`,
    },
  };
}

export function generateRecords(count: number, options: GenerateOptions): Record<string, unknown>[] {
  const random = seededRandom(options.seed);
  return Array.from({ length: count }, (_, index) => generateRecord(random, options, index));
}

/** A log object as CloudTrail writes it: `{"Records":[...]}`, gzip-compressed. */
export function logFileBody(records: readonly unknown[]): Buffer {
  return gzipSync(Buffer.from(JSON.stringify({ Records: records })));
}

/** CloudTrail's key layout: `[prefix/]AWSLogs/[o-org/]<account>/CloudTrail/<region>/YYYY/MM/DD/<file>.json.gz`. */
export function logFileKey(params: {
  accountId: string;
  region: string;
  time: Date;
  unique: string;
  prefix?: string;
  orgId?: string;
}): string {
  const iso = params.time.toISOString();
  const [date] = iso.split('T') as [string];
  const [yyyy, mm, dd] = date.split('-');
  const stamp = `${date.replace(/-/g, '')}T${iso.slice(11, 16).replace(':', '')}Z`;
  const parts = [
    ...(params.prefix ? [params.prefix] : []),
    'AWSLogs',
    ...(params.orgId ? [params.orgId] : []),
    params.accountId,
    'CloudTrail',
    params.region,
    yyyy,
    mm,
    dd,
    `${params.accountId}_CloudTrail_${params.region}_${stamp}_${params.unique}.json.gz`,
  ];
  return parts.join('/');
}

/**
 * Writes a gzip CloudTrail object of about `targetBytes` uncompressed to `path`, streaming, so a 1 GiB file
 * needs no 1 GiB of memory. Returns the record count.
 */
export async function writeLargeLogFile(
  path: string,
  targetBytes: number,
  options: GenerateOptions,
): Promise<{ records: number; bytes: number }> {
  const gzip = createGzip({ level: 1 });
  const out = createWriteStream(path);
  gzip.pipe(out);
  const random = seededRandom(options.seed);
  let bytes = 0;
  let records = 0;
  const write = async (text: string) => {
    bytes += Buffer.byteLength(text);
    if (!gzip.write(text)) await once(gzip, 'drain');
  };
  await write('{"Records":[');
  while (bytes < targetBytes) {
    await write((records > 0 ? ',' : '') + JSON.stringify(generateRecord(random, options, records)));
    records += 1;
  }
  await write(']}');
  gzip.end();
  await once(out, 'finish');
  return { records, bytes };
}
