import { isAccountId } from '../../shared/arn';
import { errorMessage } from '../../shared/errors';
import { BACKFILL_FORMAT_VERSION, BACKFILL_MARKER, MAX_BACKFILL_KEYS } from '../../shared/ledger';
import type { AnnouncedObject } from '../log-object';

/**
 * The source's first step (docs/architecture.md, "Ingest"): recognises what an SQS message body announces,
 * CloudTrail's own notification, S3 event notifications and EventBridge S3 events, each either raw or inside an SNS envelope.
 * Detection is by shape only, never by the queue the message came from. Nothing here throws: every body becomes
 * objects to read, an acknowledged no-op, or a poison message with a reason a human can act on.
 * A new notification shape is one more branch in parseDocument and its parser here, plus its tests.
 */

export type IgnoredReason =
  | 's3-test-event'
  | 'cloudtrail-validation'
  | 'subscription-confirmation'
  | 'unsubscribe-confirmation'
  | 'not-object-created';

export type ParsedNotification =
  | { kind: 'objects'; objects: AnnouncedObject[] }
  | { kind: 'ignored'; reason: IgnoredReason; detail: string }
  | { kind: 'poison'; reason: string };

type JsonObject = Record<string, unknown>;

const CLOUDTRAIL_VALIDATION_MESSAGE = 'CloudTrail validation message.';
const EXPECTED_SHAPES =
  'an SNS envelope, a CloudTrail notification {"s3Bucket","s3ObjectKey"}, an S3 event notification {"Records":[...]}, ' +
  'an EventBridge S3 event or an s3:TestEvent';

export function parseNotification(body: string): ParsedNotification {
  return parseMessageBody(body).notification;
}

/**
 * The outer SNS envelope of a body, when it is one: what SNS itself wrote (`Type`, `TopicArn`), as opposed to the
 * publisher's `Message`. Hub queues bind the tenant to `topicArn` (tenant.ts, resolveHubTenant).
 */
export interface SnsEnvelopeHeader {
  type: string;
  /** Undefined when the envelope has no string TopicArn. */
  topicArn?: string;
}

/** parseNotification, plus the SNS envelope the body came in (undefined for a raw-delivery body). */
export function parseMessageBody(body: string): { notification: ParsedNotification; envelope?: SnsEnvelopeHeader } {
  try {
    return parseBody(body);
  } catch (error) {
    // The parsers below are written not to throw; this keeps one odd body from failing a whole batch regardless.
    return { notification: poison(`unexpected error while parsing the body: ${errorMessage(error)}`) };
  }
}

function parseBody(body: unknown): { notification: ParsedNotification; envelope?: SnsEnvelopeHeader } {
  if (typeof body !== 'string') {
    return { notification: poison(`expected the message body as a string, found ${describe(body)}`) };
  }
  // trim() also drops a leading byte-order mark, which JSON.parse would reject.
  const text = body.trim();
  if (text === '') return { notification: poison('empty body: expected a JSON notification') };
  // With raw message delivery CloudTrail's validation message arrives as bare text, not JSON.
  if (text === CLOUDTRAIL_VALIDATION_MESSAGE) {
    return { notification: ignored('cloudtrail-validation', 'CloudTrail validation message') };
  }
  const parsed = parseJson(text);
  if (!parsed.ok) return { notification: poison(`body is not JSON (${parsed.error}); it starts ${quote(text)}`) };
  if (!isObject(parsed.value)) {
    return { notification: poison(`body is JSON ${describe(parsed.value)}, expected a JSON object`) };
  }
  const doc = parsed.value;
  if (!isSnsEnvelope(doc)) return { notification: parseDocument(doc, false) };
  const envelope: SnsEnvelopeHeader = {
    type: doc.Type as string,
    ...(typeof doc.TopicArn === 'string' ? { topicArn: doc.TopicArn } : {}),
  };
  return { notification: parseDocument(doc, false), envelope };
}

function parseDocument(doc: JsonObject, insideSns: boolean): ParsedNotification {
  if (isSnsEnvelope(doc)) {
    return insideSns ? poison('an SNS envelope nested inside another SNS envelope') : parseSnsEnvelope(doc);
  }
  // Before the CloudTrail shape it extends: its accountId names the tenant, which only the backfill queue may do.
  if (BACKFILL_MARKER in doc) {
    return poison(
      `a collector backfill message ("${BACKFILL_MARKER}") is accepted only from the backfill queue ` +
        '(BACKFILL_QUEUE_ARN), whose messages only the collector can send; on any other queue its accountId ' +
        'would let the sender choose the tenant',
    );
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
  const objects: AnnouncedObject[] = [];
  for (const [index, key] of keys.entries()) {
    if (typeof key !== 'string' || key === '') {
      return poison(`CloudTrail notification: s3ObjectKey[${index}] is ${describe(key)}, expected an object key`);
    }
    objects.push({ bucket, key, via: 'cloudtrail', sns });
  }
  return { kind: 'objects', objects };
}

/**
 * A backfill message from the collector's backfill queue (docs/completeness.md, "Gap backfill"): CloudTrail's
 * notification plus the account it is for, which only that queue may name (its policy lets only the collector's
 * own principals send):
 * `{"cloudtrailCollectorBackfill":1,"accountId":"111122223333","s3Bucket":"b","s3ObjectKey":["k",...]}`
 * (lambdas/shared/ledger.ts, backfillMessageBody). Whatever else the backfill queue carries is poison: it never falls back to the other shapes.
 */
export type ParsedBackfill = { kind: 'backfill'; accountId: string; objects: AnnouncedObject[] } | PoisonNotification;

type PoisonNotification = Extract<ParsedNotification, { kind: 'poison' }>;

export function parseBackfillMessage(body: string): ParsedBackfill {
  const what = 'backfill message';
  const text = body.trim();
  const parsed = parseJson(text);
  if (!parsed.ok) return poisoned(`${what}: body is not JSON (${parsed.error}); it starts ${quote(text)}`);
  const doc = parsed.value;
  if (!isObject(doc)) return poisoned(`${what}: body is JSON ${describe(doc)}, expected a JSON object`);
  if (!(BACKFILL_MARKER in doc)) {
    return poisoned(
      `the backfill queue accepts only collector backfill messages {"${BACKFILL_MARKER}":1,"accountId",` +
        `"s3Bucket","s3ObjectKey"}; found ${listKeys(doc)}`,
    );
  }
  if (doc[BACKFILL_MARKER] !== BACKFILL_FORMAT_VERSION) {
    return poisoned(
      `${what}: ${BACKFILL_MARKER} is ${describe(doc[BACKFILL_MARKER])}, expected ${BACKFILL_FORMAT_VERSION} ` +
        '(the only format version)',
    );
  }
  const { accountId, s3Bucket: bucket, s3ObjectKey: keys } = doc;
  if (typeof accountId !== 'string' || !isAccountId(accountId)) {
    return poisoned(`${what}: accountId is ${describe(accountId)}, expected a 12-digit account id`);
  }
  const named = `${what} for account ${accountId}`;
  if (typeof bucket !== 'string' || bucket === '') {
    return poisoned(`${named}: s3Bucket is ${describe(bucket)}, expected a bucket name`);
  }
  if (!Array.isArray(keys) || keys.length === 0) {
    return poisoned(`${named}: s3ObjectKey is ${describe(keys)}, expected a list of 1 to ${MAX_BACKFILL_KEYS} keys`);
  }
  if (keys.length > MAX_BACKFILL_KEYS) {
    return poisoned(`${named}: s3ObjectKey lists ${keys.length} keys, at most ${MAX_BACKFILL_KEYS} are allowed`);
  }
  const objects: AnnouncedObject[] = [];
  for (const [index, key] of keys.entries()) {
    if (typeof key !== 'string' || key === '') {
      return poisoned(`${named}: s3ObjectKey[${index}] is ${describe(key)}, expected an object key`);
    }
    objects.push({ bucket, key, via: 'backfill', sns: false });
  }
  return { kind: 'backfill', accountId, objects };
}

type S3RecordOutcome =
  | { kind: 'created'; object: AnnouncedObject }
  | { kind: 'other'; eventName: string }
  | { kind: 'problem'; problem: string };

function parseS3EventNotification(doc: JsonObject, sns: boolean): ParsedNotification {
  const records = doc.Records;
  if (!Array.isArray(records)) {
    return poison(`S3 event notification: Records is ${describe(records)}, expected an array of records`);
  }
  if (records.length === 0) return poison('S3 event notification: Records is empty, expected at least one record');
  const objects: AnnouncedObject[] = [];
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
    object: announced(bucket, key, object.versionId, object.eTag, object.size, 's3', sns),
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
    objects: [announced(bucket, key, object['version-id'], object.etag, object.size, 'eventbridge', sns)],
  };
}

/** Optional attributes are informative only (idempotency keys, logs): a wrong type drops them, not the message. */
function announced(
  bucket: string,
  key: string,
  versionId: unknown,
  etag: unknown,
  size: unknown,
  via: AnnouncedObject['via'],
  sns: boolean,
): AnnouncedObject {
  const optional: Pick<AnnouncedObject, 'versionId' | 'etag' | 'size'> = {};
  if (typeof versionId === 'string' && versionId !== '') optional.versionId = versionId;
  if (typeof etag === 'string' && etag !== '') optional.etag = etag;
  if (typeof size === 'number' && Number.isSafeInteger(size) && size >= 0) optional.size = size;
  return { bucket, key, ...optional, via, sns };
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

function poisoned(reason: string): PoisonNotification {
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
