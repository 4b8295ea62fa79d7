import { isAccountId } from '../shared/arn';
import { errorMessage } from '../shared/errors';

/**
 * Recognises what an SQS message body announces (DESIGN.md section 4, "Inputs it must accept"): CloudTrail's own
 * notification, S3 event notifications and EventBridge S3 events, each either raw or inside an SNS envelope.
 * Detection is by shape only, never by the queue the message came from. Nothing here throws: every body becomes
 * objects to read, an acknowledged no-op, or a poison message with a reason a human can act on.
 */

/** One S3 object a notification announces. `key` is the real object key, ready for GetObject. */
export interface ObjectRef {
  bucket: string;
  key: string;
  versionId?: string;
  etag?: string;
  size?: number;
  via: 'cloudtrail' | 's3' | 'eventbridge';
  /** True when the notification arrived inside an SNS envelope. */
  sns: boolean;
}

export type IgnoredReason =
  | 's3-test-event'
  | 'cloudtrail-validation'
  | 'subscription-confirmation'
  | 'unsubscribe-confirmation'
  | 'not-object-created';

export type ParsedNotification =
  | { kind: 'objects'; objects: ObjectRef[] }
  | { kind: 'ignored'; reason: IgnoredReason; detail: string }
  | { kind: 'poison'; reason: string };

export type ObjectClass =
  | { type: 'log' | 'digest' | 'insight'; accountId: string; region: string; orgId?: string; prefix: string }
  | { type: 'other' };

type JsonObject = Record<string, unknown>;

const CLOUDTRAIL_VALIDATION_MESSAGE = 'CloudTrail validation message.';
const EXPECTED_SHAPES =
  'an SNS envelope, a CloudTrail notification {"s3Bucket","s3ObjectKey"}, an S3 event notification {"Records":[...]}, ' +
  'an EventBridge S3 event or an s3:TestEvent';

export function parseNotification(body: string): ParsedNotification {
  try {
    return parseBody(body);
  } catch (error) {
    // The parsers below are written not to throw; this keeps one odd body from failing a whole batch regardless.
    return poison(`unexpected error while parsing the body: ${errorMessage(error)}`);
  }
}

function parseBody(body: unknown): ParsedNotification {
  if (typeof body !== 'string') return poison(`expected the message body as a string, found ${describe(body)}`);
  // trim() also drops a leading byte-order mark, which JSON.parse would reject.
  const text = body.trim();
  if (text === '') return poison('empty body: expected a JSON notification');
  // With raw message delivery CloudTrail's validation message arrives as bare text, not JSON.
  if (text === CLOUDTRAIL_VALIDATION_MESSAGE) return ignored('cloudtrail-validation', 'CloudTrail validation message');
  const parsed = parseJson(text);
  if (!parsed.ok) return poison(`body is not JSON (${parsed.error}); it starts ${quote(text)}`);
  if (!isObject(parsed.value)) return poison(`body is JSON ${describe(parsed.value)}, expected a JSON object`);
  return parseDocument(parsed.value, false);
}

function parseDocument(doc: JsonObject, insideSns: boolean): ParsedNotification {
  if (isSnsEnvelope(doc)) {
    return insideSns ? poison('an SNS envelope nested inside another SNS envelope') : parseSnsEnvelope(doc);
  }
  if ('s3Bucket' in doc || 's3ObjectKey' in doc) return parseCloudTrailNotification(doc, insideSns);
  if ('Records' in doc) return parseS3EventNotification(doc, insideSns);
  if (doc.Event === 's3:TestEvent') {
    return ignored('s3-test-event', `s3:TestEvent for bucket ${textOf(doc.Bucket)}`);
  }
  if ('detail-type' in doc) return parseEventBridgeEvent(doc, insideSns);
  return poison(`unrecognised JSON shape: expected ${EXPECTED_SHAPES}; found ${listKeys(doc)}`);
}

function isSnsEnvelope(doc: JsonObject): boolean {
  return typeof doc.Type === 'string' && ('Message' in doc || 'TopicArn' in doc);
}

function parseSnsEnvelope(doc: JsonObject): ParsedNotification {
  const type = doc.Type as string;
  const topic = typeof doc.TopicArn === 'string' ? doc.TopicArn : 'an unnamed topic';
  if (type === 'SubscriptionConfirmation') {
    return ignored('subscription-confirmation', `SNS subscription confirmation from ${topic}`);
  }
  if (type === 'UnsubscribeConfirmation') {
    return ignored('unsubscribe-confirmation', `SNS unsubscribe confirmation from ${topic}`);
  }
  if (type !== 'Notification') {
    return poison(
      `SNS envelope of Type ${quote(type)}, expected Notification, SubscriptionConfirmation or UnsubscribeConfirmation`,
    );
  }
  if (typeof doc.Message !== 'string') {
    return poison(`SNS Notification from ${topic}: Message is ${describe(doc.Message)}, expected a string`);
  }
  const message = doc.Message.trim();
  if (message === CLOUDTRAIL_VALIDATION_MESSAGE) {
    return ignored('cloudtrail-validation', `CloudTrail validation message from ${topic}`);
  }
  const parsed = parseJson(message);
  if (!parsed.ok) {
    return poison(`SNS Notification from ${topic}: Message is not JSON (${parsed.error}); it starts ${quote(message)}`);
  }
  if (!isObject(parsed.value)) {
    return poison(`SNS Notification from ${topic}: Message is JSON ${describe(parsed.value)}, expected a JSON object`);
  }
  const inner = parseDocument(parsed.value, true);
  return inner.kind === 'poison' ? poison(`SNS Notification from ${topic}: ${inner.reason}`) : inner;
}

/** CloudTrail names its keys verbatim (no URL encoding), so they are used as they are. */
function parseCloudTrailNotification(doc: JsonObject, sns: boolean): ParsedNotification {
  const bucket = doc.s3Bucket;
  if (typeof bucket !== 'string' || bucket === '') {
    return poison(`CloudTrail notification: s3Bucket is ${describe(bucket)}, expected a bucket name`);
  }
  // Always a list in practice; a single string is accepted in case a relay flattened it.
  const keys = typeof doc.s3ObjectKey === 'string' ? [doc.s3ObjectKey] : doc.s3ObjectKey;
  if (!Array.isArray(keys)) {
    return poison(`CloudTrail notification: s3ObjectKey is ${describe(keys)}, expected a list of object keys`);
  }
  if (keys.length === 0)
    return poison('CloudTrail notification: s3ObjectKey is an empty list, expected at least one key');
  const objects: ObjectRef[] = [];
  for (const [index, key] of keys.entries()) {
    if (typeof key !== 'string' || key === '') {
      return poison(`CloudTrail notification: s3ObjectKey[${index}] is ${describe(key)}, expected an object key`);
    }
    objects.push({ bucket, key, via: 'cloudtrail', sns });
  }
  return { kind: 'objects', objects };
}

type S3RecordOutcome =
  { kind: 'created'; object: ObjectRef } | { kind: 'other'; eventName: string } | { kind: 'problem'; problem: string };

function parseS3EventNotification(doc: JsonObject, sns: boolean): ParsedNotification {
  const records = doc.Records;
  if (!Array.isArray(records)) {
    return poison(`S3 event notification: Records is ${describe(records)}, expected an array of records`);
  }
  if (records.length === 0) return poison('S3 event notification: Records is empty, expected at least one record');
  const objects: ObjectRef[] = [];
  const otherEvents = new Set<string>();
  for (const [index, record] of records.entries()) {
    const outcome = parseS3Record(record, sns);
    // One malformed record makes the whole message poison: acting on the rest would hide it from the DLQ.
    if (outcome.kind === 'problem') return poison(`S3 event notification record ${index}: ${outcome.problem}`);
    if (outcome.kind === 'created') objects.push(outcome.object);
    else otherEvents.add(outcome.eventName);
  }
  if (objects.length > 0) return { kind: 'objects', objects };
  return ignored('not-object-created', `S3 event notification for ${summarise([...otherEvents])}`);
}

function parseS3Record(record: unknown, sns: boolean): S3RecordOutcome {
  if (!isObject(record)) return problem(`is ${describe(record)}, expected an object`);
  if (record.eventSource !== 'aws:s3') {
    return problem(`eventSource is ${describe(record.eventSource)}, expected "aws:s3"`);
  }
  const version = record.eventVersion;
  if (typeof version !== 'string') return problem(`eventVersion is ${describe(version)}, expected "2.x"`);
  // Minor versions add fields only; a new major version may change meaning, so it waits for a code change.
  if (!/^2(\.\d+)*$/.test(version)) return problem(`eventVersion ${quote(version)} is not a 2.x version`);
  const eventName = record.eventName;
  if (typeof eventName !== 'string' || eventName === '') {
    return problem(`eventName is ${describe(eventName)}, expected e.g. "ObjectCreated:Put"`);
  }
  if (!eventName.startsWith('ObjectCreated:')) return { kind: 'other', eventName };

  const s3 = record.s3;
  if (!isObject(s3)) return problem(`s3 is ${describe(s3)}, expected an object`);
  const bucket = isObject(s3.bucket) ? s3.bucket.name : undefined;
  if (typeof bucket !== 'string' || bucket === '') {
    return problem(`s3.bucket.name is ${describe(bucket)}, expected a bucket name`);
  }
  const object = s3.object;
  if (!isObject(object)) return problem(`s3.object is ${describe(object)}, expected an object`);
  const rawKey = object.key;
  if (typeof rawKey !== 'string' || rawKey === '') {
    return problem(`s3.object.key is ${describe(rawKey)}, expected an object key`);
  }
  const key = decodeS3EventKey(rawKey);
  if (key === undefined) return problem(`s3.object.key ${quote(rawKey)} is not valid URL encoding`);
  return {
    kind: 'created',
    object: objectRef(bucket, key, object.versionId, object.eTag, object.size, 's3', sns),
  };
}

/** S3 event notifications form-encode keys: `+` is a space, `%2B` a plus. Undefined for a malformed %-escape. */
function decodeS3EventKey(raw: string): string | undefined {
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
}

/**
 * EventBridge keys are used verbatim: AWS documents URL encoding for S3 event notifications only, and its
 * EventBridge examples (ev-events.html) show plain keys.
 */
function parseEventBridgeEvent(doc: JsonObject, sns: boolean): ParsedNotification {
  if (doc.source !== 'aws.s3') {
    return poison(`EventBridge event: source is ${describe(doc.source)}, expected "aws.s3"`);
  }
  const detailType = doc['detail-type'];
  if (typeof detailType !== 'string') {
    return poison(`EventBridge S3 event: detail-type is ${describe(detailType)}, expected e.g. "Object Created"`);
  }
  if (detailType !== 'Object Created') {
    return ignored('not-object-created', `EventBridge S3 event "${detailType}"`);
  }
  const detail = doc.detail;
  if (!isObject(detail)) return poison(`EventBridge Object Created: detail is ${describe(detail)}, expected an object`);
  const bucket = isObject(detail.bucket) ? detail.bucket.name : undefined;
  if (typeof bucket !== 'string' || bucket === '') {
    return poison(`EventBridge Object Created: detail.bucket.name is ${describe(bucket)}, expected a bucket name`);
  }
  const object = detail.object;
  if (!isObject(object)) {
    return poison(`EventBridge Object Created: detail.object is ${describe(object)}, expected an object`);
  }
  const key = object.key;
  if (typeof key !== 'string' || key === '') {
    return poison(`EventBridge Object Created: detail.object.key is ${describe(key)}, expected an object key`);
  }
  return {
    kind: 'objects',
    objects: [objectRef(bucket, key, object['version-id'], object.etag, object.size, 'eventbridge', sns)],
  };
}

/** Optional attributes are informative only (idempotency keys, logs): a wrong type drops them, not the message. */
function objectRef(
  bucket: string,
  key: string,
  versionId: unknown,
  etag: unknown,
  size: unknown,
  via: ObjectRef['via'],
  sns: boolean,
): ObjectRef {
  const optional: Pick<ObjectRef, 'versionId' | 'etag' | 'size'> = {};
  if (typeof versionId === 'string' && versionId !== '') optional.versionId = versionId;
  if (typeof etag === 'string' && etag !== '') optional.etag = etag;
  if (typeof size === 'number' && Number.isSafeInteger(size) && size >= 0) optional.size = size;
  return { bucket, key, ...optional, via, sns };
}

const ORG_ID = /^o-[a-z0-9]{10,32}$/;
// us-east-1, eu-central-2, us-gov-west-1, cn-north-1; 2 to 4 letters up front leaves room for newer partitions.
const REGION = /^[a-z]{2,4}(?:-[a-z]+)+-\d{1,2}$/;
const LOG_FILE = /.\.json(?:\.gz)?$/;
const FOLDER_TYPES = new Map<string, 'log' | 'digest' | 'insight'>([
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

  const [accountId, folder, region, year, month, day, file] = segments.slice(tail);
  if (!isAccountId(accountId)) return { type: 'other' };
  const type = FOLDER_TYPES.get(folder ?? '');
  if (type === undefined) return { type: 'other' };
  if (region === undefined || !REGION.test(region)) return { type: 'other' };
  if (!isDate(year, month, day)) return { type: 'other' };
  if (file === undefined || !LOG_FILE.test(file)) return { type: 'other' };

  const prefix = segments.slice(0, awsLogsAt).join('/');
  return orgId === undefined ? { type, accountId, region, prefix } : { type, accountId, region, orgId, prefix };
}

function isDate(year: string | undefined, month: string | undefined, day: string | undefined): boolean {
  if (year === undefined || month === undefined || day === undefined) return false;
  if (!/^\d{4}$/.test(year) || !/^\d{2}$/.test(month) || !/^\d{2}$/.test(day)) return false;
  const m = Number(month);
  const d = Number(day);
  return m >= 1 && m <= 12 && d >= 1 && d <= 31;
}

function parseJson(text: string): { ok: true; value: unknown } | { ok: false; error: string } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (error) {
    return { ok: false, error: errorMessage(error) };
  }
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function poison(reason: string): ParsedNotification {
  return { kind: 'poison', reason };
}

function ignored(reason: IgnoredReason, detail: string): ParsedNotification {
  return { kind: 'ignored', reason, detail };
}

function problem(text: string): S3RecordOutcome {
  return { kind: 'problem', problem: text };
}

const PREVIEW_CHARS = 80;

/** A JSON-quoted, shortened copy of a string: reasons stay one readable line whatever the input. */
function quote(text: string): string {
  return JSON.stringify(text.length > PREVIEW_CHARS ? `${text.slice(0, PREVIEW_CHARS)}...` : text);
}

/** Says what a JSON value is, for "expected X, found Y" reasons. */
function describe(value: unknown): string {
  if (value === undefined) return 'missing';
  if (value === null) return 'null';
  if (typeof value === 'string') return value === '' ? 'an empty string' : `the string ${quote(value)}`;
  if (typeof value === 'number' || typeof value === 'boolean') return `the ${typeof value} ${String(value)}`;
  if (Array.isArray(value)) return `an array of ${value.length}`;
  return 'an object';
}

function textOf(value: unknown): string {
  return typeof value === 'string' && value !== '' ? value : 'unknown';
}

function listKeys(doc: JsonObject): string {
  const keys = Object.keys(doc);
  if (keys.length === 0) return 'an empty object';
  const shown = keys.slice(0, 10).map(quote).join(', ');
  return keys.length > 10 ? `keys ${shown} and ${keys.length - 10} more` : `keys ${shown}`;
}

function summarise(eventNames: string[]): string {
  const shown = eventNames.slice(0, 5).join(', ');
  return eventNames.length > 5 ? `${shown} and ${eventNames.length - 5} more` : shown;
}
