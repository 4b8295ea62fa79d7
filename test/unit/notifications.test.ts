import fc from 'fast-check';
import type { AnnouncedObject } from '../../lambdas/ingest/log-object';
import { parseNotification, type ParsedNotification } from '../../lambdas/ingest/source/notifications';
import { classifyObjectKey, type ObjectClass } from '../../lambdas/shared/object-key';

// Fixtures are built here, in the shapes AWS documents, so the project's tests stand on their own.

const BUCKET = 'trail-bucket-111122223333';
const LOG_KEY =
  'AWSLogs/111122223333/CloudTrail/us-east-1/2024/05/17/111122223333_CloudTrail_us-east-1_20240517T1205Z_h2Qm8rD0aZ1xYp3c.json.gz';
const TOPIC_ARN = 'arn:aws:sns:us-east-1:111122223333:cloudtrail-topic';

type Json = Record<string, unknown>;

function snsEnvelope(message: string, fields: Json = {}): string {
  return JSON.stringify({
    Type: 'Notification',
    MessageId: '5b0b1d3c-2e8f-5d7a-9b55-0d2f4e6a8c11',
    TopicArn: TOPIC_ARN,
    Subject: null,
    Message: message,
    Timestamp: '2024-05-17T12:06:01.123Z',
    SignatureVersion: '1',
    Signature: 'c2lnbmF0dXJl',
    SigningCertURL: 'https://sns.us-east-1.amazonaws.com/SimpleNotificationService-example.pem',
    UnsubscribeURL: 'https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=example',
    ...fields,
  });
}

function cloudTrailNotification(keys: unknown, bucket: unknown = BUCKET): string {
  return JSON.stringify({ s3Bucket: bucket, s3ObjectKey: keys });
}

function s3Record(fields: { eventName?: string; key?: string; eventVersion?: unknown } & Json = {}): Json {
  const { eventName = 'ObjectCreated:Put', key = LOG_KEY, eventVersion = '2.1', ...extra } = fields;
  return {
    eventVersion,
    eventSource: 'aws:s3',
    awsRegion: 'us-east-1',
    eventTime: '2024-05-17T12:05:59.001Z',
    eventName,
    userIdentity: { principalId: 'AWS:AROAEXAMPLE:regionalDeliverySession' },
    requestParameters: { sourceIPAddress: '198.51.100.7' },
    responseElements: { 'x-amz-request-id': 'B3E6F1A2C4D5E6F7', 'x-amz-id-2': 'aWQy' },
    s3: {
      s3SchemaVersion: '1.0',
      configurationId: 'cloudtrail-logs',
      bucket: { name: BUCKET, ownerIdentity: { principalId: 'A1B2C3D4E5F6G7' }, arn: `arn:aws:s3:::${BUCKET}` },
      object: {
        key,
        size: 2048,
        eTag: '0f343b0931126a20f133d67c2b018a3b',
        versionId: 'Ph8sZ4r1hx3rdfL5W4O0FZ8W6o1k2fYz',
        sequencer: '0066474B7E1A2B3C4D',
      },
    },
    ...extra,
  };
}

function s3Event(...records: unknown[]): string {
  return JSON.stringify({ Records: records });
}

function eventBridgeEvent(detailType: string, object: Json = {}, fields: Json = {}): string {
  return JSON.stringify({
    version: '0',
    id: '17793124-05d4-b198-2fde-7ededc63b103',
    'detail-type': detailType,
    source: 'aws.s3',
    account: '111122223333',
    time: '2024-05-17T12:06:00Z',
    region: 'us-east-1',
    resources: [`arn:aws:s3:::${BUCKET}`],
    detail: {
      version: '0',
      bucket: { name: BUCKET },
      object: {
        key: LOG_KEY,
        size: 2048,
        etag: '0f343b0931126a20f133d67c2b018a3b',
        'version-id': 'Ph8sZ4r1hx3rdfL5W4O0FZ8W6o1k2fYz',
        sequencer: '617f08299329d189',
        ...object,
      },
      'request-id': 'N4N7GDK58NMKJ12R',
      requester: 'cloudtrail.amazonaws.com',
      'source-ip-address': '198.51.100.7',
      reason: 'PutObject',
    },
    ...fields,
  });
}

function objectsOf(result: ParsedNotification): AnnouncedObject[] {
  if (result.kind !== 'objects') throw new Error(`expected objects, got ${JSON.stringify(result)}`);
  return result.objects;
}

function poisonReason(result: ParsedNotification): string {
  if (result.kind !== 'poison') throw new Error(`expected poison, got ${JSON.stringify(result)}`);
  return result.reason;
}

function keyOf(body: string): string {
  const [object] = objectsOf(parseNotification(body));
  return object!.key;
}

describe('parseNotification: CloudTrail notifications', () => {
  it('reads a raw notification (raw message delivery)', () => {
    expect(parseNotification(cloudTrailNotification([LOG_KEY]))).toEqual({
      kind: 'objects',
      objects: [{ bucket: BUCKET, key: LOG_KEY, via: 'cloudtrail', sns: false }],
    });
  });

  it('reads every key of a notification inside an SNS envelope, in order', () => {
    const keys = [1, 2, 3].map((n) => LOG_KEY.replace('h2Qm8rD0aZ1xYp3c', `file${n}`));
    const result = parseNotification(snsEnvelope(cloudTrailNotification(keys)));
    expect(objectsOf(result)).toEqual(keys.map((key) => ({ bucket: BUCKET, key, via: 'cloudtrail', sns: true })));
  });

  it('accepts s3ObjectKey as a single string', () => {
    expect(objectsOf(parseNotification(cloudTrailNotification(LOG_KEY)))).toEqual([
      { bucket: BUCKET, key: LOG_KEY, via: 'cloudtrail', sns: false },
    ]);
  });

  it('uses keys verbatim: CloudTrail does not URL-encode them', () => {
    const key = 'logs+2024/a%2Bb/AWSLogs/111122223333/CloudTrail/us-east-1/2024/05/17/x.json.gz';
    expect(keyOf(cloudTrailNotification([key]))).toBe(key);
  });

  it.each([
    ['missing s3Bucket', JSON.stringify({ s3ObjectKey: [LOG_KEY] }), /s3Bucket is missing, expected a bucket name/],
    ['empty s3Bucket', cloudTrailNotification([LOG_KEY], ''), /s3Bucket is an empty string/],
    ['non-string s3Bucket', cloudTrailNotification([LOG_KEY], 42), /s3Bucket is the number 42/],
    ['missing s3ObjectKey', JSON.stringify({ s3Bucket: BUCKET }), /s3ObjectKey is missing, expected a list/],
    ['empty key list', cloudTrailNotification([]), /s3ObjectKey is an empty list/],
    ['s3ObjectKey an object', cloudTrailNotification({ key: LOG_KEY }), /s3ObjectKey is an object, expected a list/],
    [
      'non-string key',
      cloudTrailNotification([LOG_KEY, 7]),
      /s3ObjectKey\[1\] is the number 7, expected an object key/,
    ],
    ['null key', cloudTrailNotification([null]), /s3ObjectKey\[0\] is null/],
    ['empty key', cloudTrailNotification(['']), /s3ObjectKey\[0\] is an empty string/],
  ])('is poison with %s', (_name, body, reason) => {
    expect(poisonReason(parseNotification(body))).toMatch(reason);
  });

  it('says the problem came from inside SNS', () => {
    expect(poisonReason(parseNotification(snsEnvelope(cloudTrailNotification([]))))).toMatch(
      /^SNS Notification from arn:aws:sns:us-east-1:111122223333:cloudtrail-topic: CloudTrail notification: s3ObjectKey is an empty list/,
    );
  });
});

describe('parseNotification: S3 event notifications', () => {
  it('reads an ObjectCreated record sent directly', () => {
    expect(parseNotification(s3Event(s3Record()))).toEqual({
      kind: 'objects',
      objects: [
        {
          bucket: BUCKET,
          key: LOG_KEY,
          versionId: 'Ph8sZ4r1hx3rdfL5W4O0FZ8W6o1k2fYz',
          etag: '0f343b0931126a20f133d67c2b018a3b',
          size: 2048,
          via: 's3',
          sns: false,
        },
      ],
    });
  });

  it('reads one sent through SNS', () => {
    const [object] = objectsOf(parseNotification(snsEnvelope(s3Event(s3Record()))));
    expect(object).toMatchObject({ bucket: BUCKET, key: LOG_KEY, via: 's3', sns: true });
  });

  it.each(['ObjectCreated:Put', 'ObjectCreated:Post', 'ObjectCreated:Copy', 'ObjectCreated:CompleteMultipartUpload'])(
    'accepts %s',
    (eventName) => {
      expect(objectsOf(parseNotification(s3Event(s3Record({ eventName }))))).toHaveLength(1);
    },
  );

  it('reads every created record of a multi-record notification, in order', () => {
    const keys = ['AWSLogs/a.json.gz', 'AWSLogs/b.json.gz', 'AWSLogs/c.json.gz'];
    const result = parseNotification(s3Event(...keys.map((key) => s3Record({ key }))));
    expect(objectsOf(result).map((object) => object.key)).toEqual(keys);
  });

  it.each(['2.0', '2.1', '2.2', '2.3', '2.5', '2.9', '2.10', '2'])('accepts event version %s', (eventVersion) => {
    expect(objectsOf(parseNotification(s3Event(s3Record({ eventVersion }))))).toHaveLength(1);
  });

  it('accepts unknown extra fields at every level', () => {
    const record = s3Record({ futureField: { nested: true }, glacierEventData: { restoreEventData: {} } });
    const s3 = record.s3 as Json;
    (s3.object as Json).checksumAlgorithm = 'SHA256';
    (s3.bucket as Json).awsGeneratedTags = { 'aws:cloudformation:stack-name': 'logs' };
    s3.futureS3Field = 1;
    const body = JSON.stringify({ Records: [record], futureTopLevel: 'x' });
    expect(objectsOf(parseNotification(body))).toHaveLength(1);
  });

  it.each([
    ['1.0', /eventVersion "1.0" is not a 2.x version/],
    ['3.0', /eventVersion "3.0" is not a 2.x version/],
    ['20.1', /eventVersion "20.1" is not a 2.x version/],
    ['2.x', /eventVersion "2.x" is not a 2.x version/],
    [2.1, /eventVersion is the number 2.1, expected "2.x"/],
    [undefined, /eventVersion is missing/],
  ])('is poison for event version %p', (eventVersion, reason) => {
    const record = s3Record();
    record.eventVersion = eventVersion;
    expect(poisonReason(parseNotification(s3Event(record)))).toMatch(reason);
  });

  it.each([
    ['AWSLogs/my+file.json.gz', 'AWSLogs/my file.json.gz'],
    ['AWSLogs/a%2Bb.json.gz', 'AWSLogs/a+b.json.gz'],
    ['AWSLogs/plus%2Band+space.json.gz', 'AWSLogs/plus+and space.json.gz'],
    ['AWSLogs/%C3%A9t%C3%A9/%E2%82%AC/%E6%97%A5%E5%BF%97.json.gz', 'AWSLogs/été/€/日志.json.gz'],
    ['AWSLogs/dt%3D2024-05-17/x.json.gz', 'AWSLogs/dt=2024-05-17/x.json.gz'],
    ['AWSLogs/a%20b%25c.json.gz', 'AWSLogs/a b%c.json.gz'],
    ['AWSLogs%2F111122223333', 'AWSLogs/111122223333'],
    [LOG_KEY, LOG_KEY],
  ])('URL-decodes key %s', (raw, decoded) => {
    expect(keyOf(s3Event(s3Record({ key: raw })))).toBe(decoded);
  });

  it.each(['AWSLogs/%zz.json.gz', 'AWSLogs/%E0%A4%A.json.gz', 'AWSLogs/trailing%', 'AWSLogs/%ED%A0%80.json.gz'])(
    'is poison, not a crash, for the bad escape in %s',
    (key) => {
      expect(poisonReason(parseNotification(s3Event(s3Record({ key }))))).toMatch(/is not valid URL encoding/);
    },
  );

  it.each([
    'ObjectRemoved:Delete',
    'ObjectRemoved:DeleteMarkerCreated',
    'ObjectRestore:Post',
    'ObjectRestore:Completed',
    'ObjectRestore:Delete',
    'LifecycleExpiration:Delete',
    'LifecycleExpiration:DeleteMarkerCreated',
    'LifecycleTransition',
    'IntelligentTiering',
    'ObjectTagging:Put',
    'ObjectAcl:Put',
    'Replication:OperationFailedReplication',
    'ReducedRedundancyLostObject',
  ])('acknowledges %s without objects', (eventName) => {
    expect(parseNotification(s3Event(s3Record({ eventName })))).toEqual({
      kind: 'ignored',
      reason: 'not-object-created',
      detail: `S3 event notification for ${eventName}`,
    });
  });

  it('does not need s3 details for records it ignores', () => {
    const record = s3Record({ eventName: 'ObjectRemoved:Delete' });
    delete record.s3;
    expect(parseNotification(s3Event(record))).toMatchObject({ kind: 'ignored', reason: 'not-object-created' });
  });

  it('keeps only the created objects of a mixed notification', () => {
    const body = s3Event(
      s3Record({ eventName: 'ObjectRemoved:Delete', key: 'AWSLogs/gone.json.gz' }),
      s3Record({ key: 'AWSLogs/new.json.gz' }),
      s3Record({ eventName: 'LifecycleExpiration:Delete', key: 'AWSLogs/old.json.gz' }),
    );
    expect(objectsOf(parseNotification(body)).map((object) => object.key)).toEqual(['AWSLogs/new.json.gz']);
  });

  it('names each distinct ignored event once', () => {
    const body = s3Event(
      s3Record({ eventName: 'ObjectRemoved:Delete' }),
      s3Record({ eventName: 'ObjectRemoved:Delete' }),
      s3Record({ eventName: 'ObjectRestore:Completed' }),
    );
    expect(parseNotification(body)).toMatchObject({
      detail: 'S3 event notification for ObjectRemoved:Delete, ObjectRestore:Completed',
    });
  });

  it('drops optional attributes of the wrong type instead of rejecting the message', () => {
    const record = s3Record();
    const object = (record.s3 as Json).object as Json;
    Object.assign(object, { size: '2048', versionId: null, eTag: 5 });
    expect(objectsOf(parseNotification(s3Event(record)))).toEqual([
      { bucket: BUCKET, key: LOG_KEY, via: 's3', sns: false },
    ]);
    Object.assign(object, { size: -1, versionId: '', eTag: '' });
    expect(objectsOf(parseNotification(s3Event(record)))[0]).not.toHaveProperty('size');
  });

  function withS3(change: (s3: Json) => void): string {
    const record = s3Record();
    change(record.s3 as Json);
    return s3Event(record);
  }

  it.each([
    ['Records not an array', JSON.stringify({ Records: {} }), /Records is an object, expected an array of records/],
    ['empty Records', s3Event(), /Records is empty, expected at least one record/],
    ['a record that is not an object', s3Event('x'), /record 0: is the string "x", expected an object/],
    [
      'eventSource aws:sqs',
      s3Event({ ...s3Record(), eventSource: 'aws:sqs' }),
      /eventSource is the string "aws:sqs", expected "aws:s3"/,
    ],
    ['no eventSource', s3Event({ ...s3Record(), eventSource: undefined }), /eventSource is missing, expected "aws:s3"/],
    ['no eventName', s3Event({ ...s3Record(), eventName: undefined }), /eventName is missing/],
    [
      'a created record without s3',
      s3Event({ ...s3Record(), s3: undefined }),
      /record 0: s3 is missing, expected an object/,
    ],
    ['no bucket name', withS3((s3) => (s3.bucket = {})), /s3\.bucket\.name is missing, expected a bucket name/],
    ['no s3.object', withS3((s3) => (s3.object = 'k')), /s3\.object is the string "k", expected an object/],
    ['no object key', withS3((s3) => (s3.object = { size: 1 })), /s3\.object\.key is missing, expected an object key/],
    ['an empty object key', withS3((s3) => (s3.object = { key: '' })), /s3\.object\.key is an empty string/],
    ['a numeric object key', withS3((s3) => (s3.object = { key: 12 })), /s3\.object\.key is the number 12/],
  ])('is poison with %s', (_name, body, reason) => {
    expect(poisonReason(parseNotification(body))).toMatch(reason);
  });

  it('is poison when one record of several is malformed, naming the record', () => {
    const body = s3Event(s3Record(), { ...s3Record(), eventVersion: '3.0' });
    expect(poisonReason(parseNotification(body))).toMatch(/^S3 event notification record 1: eventVersion "3.0"/);
  });
});

describe('parseNotification: EventBridge S3 events', () => {
  it('reads an Object Created event sent directly', () => {
    expect(parseNotification(eventBridgeEvent('Object Created'))).toEqual({
      kind: 'objects',
      objects: [
        {
          bucket: BUCKET,
          key: LOG_KEY,
          versionId: 'Ph8sZ4r1hx3rdfL5W4O0FZ8W6o1k2fYz',
          etag: '0f343b0931126a20f133d67c2b018a3b',
          size: 2048,
          via: 'eventbridge',
          sns: false,
        },
      ],
    });
  });

  it('reads one sent through SNS', () => {
    const [object] = objectsOf(parseNotification(snsEnvelope(eventBridgeEvent('Object Created'))));
    expect(object).toMatchObject({ key: LOG_KEY, via: 'eventbridge', sns: true });
  });

  it('uses the key verbatim: EventBridge keys are not form-encoded', () => {
    const key = 'AWSLogs/my+file%20name.json.gz';
    expect(keyOf(eventBridgeEvent('Object Created', { key }))).toBe(key);
  });

  it('reads an event without the optional version-id, etag and size', () => {
    const body = eventBridgeEvent('Object Created', { 'version-id': undefined, etag: undefined, size: undefined });
    expect(objectsOf(parseNotification(body))).toEqual([
      { bucket: BUCKET, key: LOG_KEY, via: 'eventbridge', sns: false },
    ]);
  });

  it.each([
    'Object Deleted',
    'Object Restore Initiated',
    'Object Restore Completed',
    'Object Restore Expired',
    'Object Tags Added',
    'Object Tags Deleted',
    'Object ACL Updated',
    'Object Storage Class Changed',
    'Object Access Tier Changed',
    'AWS API Call via CloudTrail',
  ])('acknowledges "%s" without objects', (detailType) => {
    expect(parseNotification(eventBridgeEvent(detailType))).toEqual({
      kind: 'ignored',
      reason: 'not-object-created',
      detail: `EventBridge S3 event "${detailType}"`,
    });
  });

  function withDetail(change: (detail: Json) => void): string {
    const event = JSON.parse(eventBridgeEvent('Object Created')) as Json;
    change(event.detail as Json);
    return JSON.stringify(event);
  }

  it.each([
    [
      'another source',
      eventBridgeEvent('Object Created', {}, { source: 'aws.ec2' }),
      /^EventBridge event: source is the string "aws.ec2", expected "aws.s3"$/,
    ],
    [
      'no source',
      eventBridgeEvent('Object Created', {}, { source: undefined }),
      /source is missing, expected "aws.s3"/,
    ],
    ['a non-string detail-type', eventBridgeEvent('x', {}, { 'detail-type': 1 }), /detail-type is the number 1/],
    [
      'no detail',
      eventBridgeEvent('Object Created', {}, { detail: undefined }),
      /detail is missing, expected an object/,
    ],
    [
      'no bucket',
      withDetail((detail) => delete detail.bucket),
      /detail.bucket.name is missing, expected a bucket name/,
    ],
    ['no object', withDetail((detail) => delete detail.object), /detail.object is missing, expected an object/],
    [
      'no key',
      eventBridgeEvent('Object Created', { key: undefined }),
      /detail.object.key is missing, expected an object key/,
    ],
    ['an empty key', eventBridgeEvent('Object Created', { key: '' }), /detail.object.key is an empty string/],
  ])('is poison with %s', (_name, body, reason) => {
    expect(poisonReason(parseNotification(body))).toMatch(reason);
  });
});

describe('parseNotification: messages acknowledged with nothing to read', () => {
  const testEvent = JSON.stringify({
    Service: 'Amazon S3',
    Event: 's3:TestEvent',
    Time: '2024-05-17T12:00:00.000Z',
    Bucket: BUCKET,
    RequestId: '5582815E1AEA5ADF',
    HostId: 'aG9zdA==',
  });

  it('acknowledges an s3:TestEvent, raw or through SNS', () => {
    const expected = { kind: 'ignored', reason: 's3-test-event', detail: `s3:TestEvent for bucket ${BUCKET}` };
    expect(parseNotification(testEvent)).toEqual(expected);
    expect(parseNotification(snsEnvelope(testEvent))).toEqual(expected);
  });

  it("acknowledges CloudTrail's validation message, raw or through SNS", () => {
    expect(parseNotification(snsEnvelope('CloudTrail validation message.'))).toEqual({
      kind: 'ignored',
      reason: 'cloudtrail-validation',
      detail: `CloudTrail validation message from ${TOPIC_ARN}`,
    });
    // With raw message delivery the body is the bare text.
    expect(parseNotification('CloudTrail validation message.\n')).toMatchObject({ reason: 'cloudtrail-validation' });
  });

  it.each([
    ['SubscriptionConfirmation', 'subscription-confirmation'],
    ['UnsubscribeConfirmation', 'unsubscribe-confirmation'],
  ])('acknowledges an SNS %s', (type, reason) => {
    const body = snsEnvelope('You have chosen to subscribe to the topic ...', {
      Type: type,
      Token: '2336412f37fb687f5d51e6e2425',
      SubscribeURL: 'https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription',
    });
    expect(parseNotification(body)).toEqual({ kind: 'ignored', reason, detail: expect.stringContaining(TOPIC_ARN) });
  });
});

describe('parseNotification: poison messages', () => {
  it.each([
    ['an empty body', '', /^empty body: expected a JSON notification$/],
    ['a blank body', ' \n\t ', /^empty body/],
    ['plain text', 'Hello from SQS', /^body is not JSON \(.*\); it starts "Hello from SQS"$/],
    ['truncated JSON', '{"Records":[', /^body is not JSON \(Unexpected end of JSON input\)/],
    ['a JSON array', '[1,2]', /^body is JSON an array of 2, expected a JSON object$/],
    ['a JSON string', '"hello"', /^body is JSON the string "hello", expected a JSON object$/],
    ['a JSON number', '42', /^body is JSON the number 42/],
    ['JSON null', 'null', /^body is JSON null/],
    ['an empty object', '{}', /^unrecognised JSON shape: expected .*; found an empty object$/],
    [
      'an unknown object',
      '{"message":"foo1","id":3}',
      /^unrecognised JSON shape: expected an SNS envelope, .*; found keys "message", "id"$/,
    ],
    ['another S3 Event', '{"Event":"s3:ObjectCreated:Put"}', /^unrecognised JSON shape.*found keys "Event"$/],
    [
      'an unknown SNS Type',
      snsEnvelope('{}', { Type: 'Whatever' }),
      /^SNS envelope of Type "Whatever", expected Notification/,
    ],
    [
      'an SNS Message that is not a string',
      snsEnvelope('', { Message: { s3Bucket: BUCKET } }),
      /: Message is an object, expected a string$/,
    ],
    [
      'an SNS Message that is not JSON',
      snsEnvelope('Hello from SNS!'),
      /: Message is not JSON \(.*\); it starts "Hello from SNS!"$/,
    ],
    ['an empty SNS Message', snsEnvelope(''), /: Message is not JSON/],
    [
      'an SNS Message that is a JSON array',
      snsEnvelope('[]'),
      /: Message is JSON an array of 0, expected a JSON object/,
    ],
    [
      'an SNS Message of unknown shape',
      snsEnvelope('{"message":"hello world"}'),
      /^SNS Notification from .*: unrecognised JSON shape/,
    ],
    [
      'SNS inside SNS',
      snsEnvelope(snsEnvelope(cloudTrailNotification([LOG_KEY]))),
      /an SNS envelope nested inside another SNS envelope/,
    ],
  ])('rejects %s with a reason', (_name, body, reason) => {
    expect(poisonReason(parseNotification(body))).toMatch(reason);
  });

  it('rejects a Lambda SQS event passed as a body (the wrapper is not a message)', () => {
    const sqsEvent = JSON.stringify({
      Records: [{ messageId: '1', body: cloudTrailNotification([LOG_KEY]), eventSource: 'aws:sqs' }],
    });
    expect(poisonReason(parseNotification(sqsEvent))).toMatch(/eventSource is the string "aws:sqs", expected "aws:s3"/);
  });

  it('rejects a body that is not a string at all', () => {
    expect(poisonReason(parseNotification(undefined as unknown as string))).toMatch(/found missing/);
    expect(poisonReason(parseNotification(Buffer.from('{}') as unknown as string))).toMatch(/found an object/);
  });

  it('keeps the reason short whatever the size of the body', () => {
    const reason = poisonReason(parseNotification(`x${'y'.repeat(1_000_000)}`));
    expect(reason.length).toBeLessThan(400);
  });
});

describe('parseNotification: robustness', () => {
  it('accepts a body with a byte-order mark and surrounding whitespace', () => {
    expect(objectsOf(parseNotification(`\uFEFF\n ${cloudTrailNotification([LOG_KEY])} \n`))).toHaveLength(1);
  });

  it('handles large notifications', () => {
    const keys = Array.from({ length: 20_000 }, (_, n) => `${LOG_KEY}.${n}`);
    expect(objectsOf(parseNotification(cloudTrailNotification(keys)))).toHaveLength(20_000);
    const records = Array.from({ length: 5_000 }, (_, n) => s3Record({ key: `AWSLogs/k+${n}%2B.json.gz` }));
    const objects = objectsOf(parseNotification(s3Event(...records)));
    expect(objects[4_999]?.key).toBe('AWSLogs/k 4999+.json.gz');
  });

  it('survives deeply nested JSON', () => {
    const deep = `{"Records":${'['.repeat(100_000)}${']'.repeat(100_000)}}`;
    expect(parseNotification(deep).kind).toBe('poison');
  });

  it('never throws and always returns one of the three kinds, for any text', () => {
    const kinds = new Set(['objects', 'ignored', 'poison']);
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json(), fc.string({ unit: 'binary' })), (body) => {
        expect(kinds.has(parseNotification(body).kind)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('never throws for any JSON value in any known wrapper', () => {
    const wrappers = [
      (value: unknown) => JSON.stringify(value),
      (value: unknown) => JSON.stringify({ s3Bucket: BUCKET, s3ObjectKey: value }),
      (value: unknown) => JSON.stringify({ Records: [value] }),
      (value: unknown) => JSON.stringify({ Records: [{ ...s3Record(), s3: value }] }),
      (value: unknown) => JSON.stringify({ source: 'aws.s3', 'detail-type': 'Object Created', detail: value }),
      (value: unknown) => snsEnvelope(JSON.stringify(value)),
    ];
    fc.assert(
      fc.property(fc.jsonValue(), fc.constantFrom(...wrappers), (value, wrap) => {
        expect(['objects', 'ignored', 'poison']).toContain(parseNotification(wrap(value)).kind);
      }),
      { numRuns: 500 },
    );
  });

  it('recovers any key S3 form-encodes into a notification', () => {
    const formEncode = (key: string) => encodeURIComponent(key).replace(/%20/g, '+');
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', minLength: 1 }), (key) => {
        expect(keyOf(s3Event(s3Record({ key: formEncode(key) })))).toBe(key);
      }),
      { numRuns: 300 },
    );
  });
});

describe('classifyObjectKey', () => {
  const tail = 'us-east-1/2024/05/17/111122223333_CloudTrail_us-east-1_20240517T1205Z_h2Qm8rD0aZ1xYp3c.json.gz';

  it.each<[string, string, ObjectClass]>([
    [
      'a log file',
      `AWSLogs/111122223333/CloudTrail/${tail}`,
      { type: 'log', accountId: '111122223333', region: 'us-east-1', day: '2024-05-17', prefix: '' },
    ],
    [
      'a prefixed log file',
      `audit/AWSLogs/111122223333/CloudTrail/${tail}`,
      { type: 'log', accountId: '111122223333', region: 'us-east-1', day: '2024-05-17', prefix: 'audit' },
    ],
    [
      'a prefix with slashes',
      `org/prod/trails/AWSLogs/111122223333/CloudTrail/${tail}`,
      { type: 'log', accountId: '111122223333', region: 'us-east-1', day: '2024-05-17', prefix: 'org/prod/trails' },
    ],
    [
      'a prefix that itself holds AWSLogs',
      `AWSLogs/x/AWSLogs/111122223333/CloudTrail/${tail}`,
      { type: 'log', accountId: '111122223333', region: 'us-east-1', day: '2024-05-17', prefix: 'AWSLogs/x' },
    ],
    [
      'a prefix with a space',
      `my logs/AWSLogs/111122223333/CloudTrail/${tail}`,
      { type: 'log', accountId: '111122223333', region: 'us-east-1', day: '2024-05-17', prefix: 'my logs' },
    ],
    [
      'an organization trail log file',
      `AWSLogs/o-a1b2c3d4e5/111122223333/CloudTrail/${tail}`,
      {
        type: 'log',
        accountId: '111122223333',
        region: 'us-east-1',
        day: '2024-05-17',
        orgId: 'o-a1b2c3d4e5',
        prefix: '',
      },
    ],
    [
      'a prefixed organization trail log file',
      `central/AWSLogs/o-abcdefghijklmnopqrstuvwxyz012345/444455556666/CloudTrail/eu-central-2/2023/12/31/f.json.gz`,
      {
        type: 'log',
        accountId: '444455556666',
        region: 'eu-central-2',
        day: '2023-12-31',
        orgId: 'o-abcdefghijklmnopqrstuvwxyz012345',
        prefix: 'central',
      },
    ],
    [
      'a digest file',
      'AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2024/05/17/111122223333_CloudTrail-Digest_us-east-1_main_us-east-1_20240517T125959Z.json.gz',
      { type: 'digest', accountId: '111122223333', region: 'us-east-1', day: '2024-05-17', prefix: '' },
    ],
    [
      'an organization digest file',
      'p/AWSLogs/o-a1b2c3d4e5/111122223333/CloudTrail-Digest/us-gov-west-1/2024/05/17/d.json.gz',
      {
        type: 'digest',
        accountId: '111122223333',
        region: 'us-gov-west-1',
        day: '2024-05-17',
        orgId: 'o-a1b2c3d4e5',
        prefix: 'p',
      },
    ],
    [
      'an Insight file',
      'AWSLogs/111122223333/CloudTrail-Insight/cn-north-1/2024/05/17/111122223333_CloudTrail-Insight_cn-north-1_20240517T1205Z_x.json.gz',
      { type: 'insight', accountId: '111122223333', region: 'cn-north-1', day: '2024-05-17', prefix: '' },
    ],
    [
      'an uncompressed .json file',
      'AWSLogs/111122223333/CloudTrail/ap-southeast-4/2024/05/17/f.json',
      { type: 'log', accountId: '111122223333', region: 'ap-southeast-4', day: '2024-05-17', prefix: '' },
    ],
    [
      'account 000000000000',
      'AWSLogs/000000000000/CloudTrail/il-central-1/2024/01/01/f.json.gz',
      { type: 'log', accountId: '000000000000', region: 'il-central-1', day: '2024-01-01', prefix: '' },
    ],
  ])('classifies %s', (_name, key, expected) => {
    expect(classifyObjectKey(key)).toEqual(expected);
  });

  it.each([
    ['an 11-digit account', `AWSLogs/11112222333/CloudTrail/${tail}`],
    ['a 13-digit account', `AWSLogs/1111222233334/CloudTrail/${tail}`],
    ['a non-numeric account', `AWSLogs/11112222333a/CloudTrail/${tail}`],
    ['a short org id', `AWSLogs/o-abc/111122223333/CloudTrail/${tail}`],
    ['an upper-case org id', `AWSLogs/o-ABCDEFGHIJ/111122223333/CloudTrail/${tail}`],
    ['an org id without o-', `AWSLogs/org-abcdefghij/111122223333/CloudTrail/${tail}`],
    ['an unknown folder', `AWSLogs/111122223333/Config/${tail}`],
    ['a lower-case folder', `AWSLogs/111122223333/cloudtrail/${tail}`],
    ['a prototype name as folder', `AWSLogs/111122223333/constructor/${tail}`],
    ['an upper-case region', 'AWSLogs/111122223333/CloudTrail/US-EAST-1/2024/05/17/f.json.gz'],
    ['a region without a number', 'AWSLogs/111122223333/CloudTrail/us-east/2024/05/17/f.json.gz'],
    ['a month 13', 'AWSLogs/111122223333/CloudTrail/us-east-1/2024/13/17/f.json.gz'],
    ['a one-digit month', 'AWSLogs/111122223333/CloudTrail/us-east-1/2024/5/17/f.json.gz'],
    ['a two-digit year', 'AWSLogs/111122223333/CloudTrail/us-east-1/24/05/17/f.json.gz'],
    ['day 32', 'AWSLogs/111122223333/CloudTrail/us-east-1/2024/05/32/f.json.gz'],
    ['day 00', 'AWSLogs/111122223333/CloudTrail/us-east-1/2024/05/00/f.json.gz'],
    ['a .txt file', 'AWSLogs/111122223333/CloudTrail/us-east-1/2024/05/17/f.txt'],
    ['a temporary file', 'AWSLogs/111122223333/CloudTrail/us-east-1/2024/05/17/f.json.gz.tmp'],
    ['a bare extension', 'AWSLogs/111122223333/CloudTrail/us-east-1/2024/05/17/.json.gz'],
    ['a folder marker', 'AWSLogs/111122223333/CloudTrail/us-east-1/2024/05/17/'],
    ['an extra segment', 'AWSLogs/111122223333/CloudTrail/us-east-1/2024/05/17/extra/f.json.gz'],
    ['a missing day', 'AWSLogs/111122223333/CloudTrail/us-east-1/2024/05/f.json.gz'],
    ['no AWSLogs segment', `Logs/111122223333/CloudTrail/${tail}`],
    ['a lower-case awslogs', `awslogs/111122223333/CloudTrail/${tail}`],
    ['a generic key', 'test.pdf'],
    ['an empty key', ''],
  ])('classifies %s as other', (_name, key) => {
    expect(classifyObjectKey(key)).toEqual({ type: 'other' });
  });

  it('classifies a key decoded from an S3 notification', () => {
    const [object] = objectsOf(
      parseNotification(s3Event(s3Record({ key: `my+logs/AWSLogs/111122223333/CloudTrail/${tail}` }))),
    );
    expect(classifyObjectKey(object!.key)).toMatchObject({ type: 'log', prefix: 'my logs' });
  });

  it('stays fast for keys with many slashes', () => {
    const started = Date.now();
    for (let n = 0; n < 1_000; n += 1) classifyObjectKey(`${'a/'.repeat(500)}AWSLogs/111122223333/CloudTrail/${tail}`);
    expect(Date.now() - started).toBeLessThan(2_000);
  });
});
