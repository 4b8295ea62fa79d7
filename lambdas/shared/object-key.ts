import { isAccountId } from './arn';

/** What a key in CloudTrail's layout holds (a key outside it is `other`). */
export type ObjectKind = 'log' | 'insight' | 'digest' | 'other';

/**
 * Where a key sits in CloudTrail's layout; `type` becomes the LogObject's kind; `day` is the key's YYYY-MM-DD
 * folder (the UTC day CloudTrail delivered the file).
 */
export type ObjectClass =
  | {
      type: Exclude<ObjectKind, 'other'>;
      accountId: string;
      region: string;
      day: string;
      orgId?: string;
      prefix: string;
    }
  | { type: 'other' };

const ORG_ID = /^o-[a-z0-9]{10,32}$/;
// us-east-1, eu-central-2, us-gov-west-1, cn-north-1; 2 to 4 letters up front leaves room for newer partitions.
const REGION = /^[a-z]{2,4}(?:-[a-z]+)+-\d{1,2}$/;
const LOG_FILE = /.\.json(?:\.gz)?$/;
const FOLDER_TYPES = new Map<string, Exclude<ObjectKind, 'other'>>([
  ['CloudTrail', 'log'],
  ['CloudTrail-Digest', 'digest'],
  ['CloudTrail-Insight', 'insight'],
]);

/**
 * Classifies `<prefix>/AWSLogs/[o-<org id>/]<account>/CloudTrail|CloudTrail-Digest|CloudTrail-Insight/<region>/
 * YYYY/MM/DD/<file>` (prefix optional, may contain slashes). Log files end .json.gz or .json; digest and Insight
 * files too. Anything else -> other.
 */
export function classifyObjectKey(key: string): ObjectClass {
  // Everything after AWSLogs has a fixed number of segments, so the layout is read from the end of the key;
  // this stays linear however many slashes the prefix holds.
  const segments = key.split('/');
  const tail = segments.length - 7; // index of <account>
  const awsLogsAt = segments[tail - 1] === 'AWSLogs' ? tail - 1 : tail - 2;
  if (awsLogsAt < 0 || segments[awsLogsAt] !== 'AWSLogs') return { type: 'other' };
  const orgId = awsLogsAt === tail - 2 ? segments[tail - 1] : undefined;
  if (orgId !== undefined && !ORG_ID.test(orgId)) return { type: 'other' };

  const [accountId, folder, region, year, month, day_, file] = segments.slice(tail);
  if (!isAccountId(accountId)) return { type: 'other' };
  const type = FOLDER_TYPES.get(folder ?? '');
  if (type === undefined) return { type: 'other' };
  if (region === undefined || !REGION.test(region)) return { type: 'other' };
  if (!isDate(year, month, day_)) return { type: 'other' };
  if (file === undefined || !LOG_FILE.test(file)) return { type: 'other' };

  const prefix = segments.slice(0, awsLogsAt).join('/');
  const day = `${year}-${month}-${day_}`;
  return orgId === undefined
    ? { type, accountId, region, day, prefix }
    : { type, accountId, region, day, orgId, prefix };
}

function isDate(year: string | undefined, month: string | undefined, day: string | undefined): boolean {
  if (year === undefined || month === undefined || day === undefined) return false;
  if (!/^\d{4}$/.test(year) || !/^\d{2}$/.test(month) || !/^\d{2}$/.test(day)) return false;
  const m = Number(month);
  const d = Number(day);
  return m >= 1 && m <= 12 && d >= 1 && d <= 31;
}

/**
 * When CloudTrail delivered a file, from its name: log and Insight files end `_<YYYYMMDDTHHmmZ>_<unique>.json.gz`,
 * digests `_<YYYYMMDDTHHmmssZ>.json.gz` ("Finding your CloudTrail log files" and "CloudTrail digest file
 * structure", AWS CloudTrail User Guide). Undefined for a name in neither form.
 */
export function deliveryTimeOf(key: string): Date | undefined {
  const name = key.slice(key.lastIndexOf('/') + 1);
  const match = /_(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})?Z(?:_|\.json)/.exec(name);
  if (match === null) return undefined;
  const [, y, mo, d, h, mi, s] = match;
  const time = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s ?? '0'));
  return Number.isNaN(time) ? undefined : new Date(time);
}
