import type { AnnouncedObject } from '../../lambdas/ingest/log-object';
import { parseNotification, type IgnoredReason } from '../../lambdas/ingest/source/notifications';
import { classifyObjectKey, type ObjectClass } from '../../lambdas/shared/object-key';
import {
  listSharedFixtures,
  readSharedFixture,
  SHARED_FIXTURES,
  sharedFixturesPresent,
} from '../../testkit/shared-fixtures';

/**
 * Conformance of parseNotification against the notification envelopes other collectors test with
 * (shared/fixtures, see its README.md and SUMMARY.md). The fixtures stay outside the project; a clone without
 * them runs one test that says where it looked.
 */

type Expected =
  | { objects: Array<AnnouncedObject & { class: ObjectClass['type'] }> }
  | { ignored: IgnoredReason }
  | { poison: RegExp };

interface EnvelopeCase {
  file: string;
  /**
   * body: the file is one SQS message body. sqs-event: a Lambda SQS event; each Records[].body is a body.
   * sns-event: a Lambda SNS event; each Records[].Sns is the SNS envelope an SQS subscriber would receive.
   */
  holds: 'body' | 'sqs-event' | 'sns-event';
  /** One outcome per body, in file order. */
  expected: Expected[];
}

const PROMTAIL = 'grafana__lambda-promtail/testdata';
const POWERTOOLS = 'aws-powertools__powertools-lambda-typescript/packages/parser/tests/events';
const DATADOG = 'DataDog__datadog-serverless-functions/aws/logs_monitoring/tests/events';

const POWERTOOLS_S3_OBJECT = {
  bucket: 'lambda-artifacts-deafc19498e3f2df',
  key: 'b21b84d653bb07b05b1e6b33684dc11b',
  etag: 'b21b84d653bb07b05b1e6b33684dc11b',
  size: 1305107,
  via: 's3',
  sns: false,
  class: 'other',
} as const;

const HAPPY_FACE = {
  bucket: 'sourcebucket',
  key: 'Happy Face.jpg', // sent as Happy%20Face.jpg
  versionId: 'version',
  etag: 'd41d8cd98f00b204e9800998ecf8427e',
  size: 1024,
  via: 's3',
  sns: false,
  class: 'other',
} as const;

const DATADOG_OBJECT = { bucket: 'my-bucket', key: 'my-key.log', size: 1234, via: 's3', class: 'other' } as const;

const ENVELOPES: EnvelopeCase[] = [
  {
    file: `${PROMTAIL}/eventbridge-s3-event.json`,
    holds: 'body',
    expected: [
      {
        objects: [
          {
            bucket: 'bucket',
            key: 'pizza.txt',
            etag: '8adc5937e635f6c9af646f0b23560fae',
            size: 100,
            via: 'eventbridge',
            sns: false,
            class: 'other',
          },
        ],
      },
    ],
  },
  {
    file: `${PROMTAIL}/events/cloudwatch-logs-event.json`,
    holds: 'body',
    expected: [{ poison: /^unrecognised JSON shape: .*; found keys "awslogs"$/ }],
  },
  {
    file: `${PROMTAIL}/events/kinesis-event.json`,
    holds: 'body',
    expected: [
      { poison: /^S3 event notification record 0: eventSource is the string "aws:kinesis", expected "aws:s3"$/ },
    ],
  },
  {
    // Event version 2.5 with awsGeneratedTags; the only envelope that names a CloudTrail log key.
    file: `${PROMTAIL}/events/s3-event-generated-tags.json`,
    holds: 'body',
    expected: [
      {
        objects: [
          {
            bucket: 'aws-landing-zone-logs-000000000000-eu-central-1',
            key: 'AWSLogs/000000000000/CloudTrail/us-east-1/2026/07/16/example_CloudTrail_us-east-1.json.gz',
            versionId: '096fKKXTRTtl3on89fVO.nfljtsv6qko',
            etag: 'd41d8cd98f00b204e9800998ecf8427e',
            size: 1469,
            via: 's3',
            sns: false,
            class: 'log',
          },
        ],
      },
    ],
  },
  { file: `${PROMTAIL}/events/s3-event.json`, holds: 'body', expected: [{ objects: [HAPPY_FACE] }] },
  { file: `${PROMTAIL}/events/s3-test-event.json`, holds: 'body', expected: [{ ignored: 's3-test-event' }] },
  {
    file: `${PROMTAIL}/events/sns-event.json`,
    holds: 'sns-event',
    expected: [{ poison: /^SNS Notification from arn:aws:sns:EXAMPLE: Message is not JSON .*"Hello from SNS!"$/ }],
  },
  {
    file: `${PROMTAIL}/events/sqs-event.json`,
    holds: 'sqs-event',
    expected: [{ poison: /^body is not JSON .*; it starts "Message Body"$/ }],
  },
  { file: `${POWERTOOLS}/s3/base.json`, holds: 'body', expected: [{ objects: [POWERTOOLS_S3_OBJECT] }] },
  // Carries Powertools' own urlDecodedKey field ("Happy Face.jpg"): an unknown extra field, and our decoding agrees.
  { file: `${POWERTOOLS}/s3/decoded-key.json`, holds: 'body', expected: [{ objects: [HAPPY_FACE] }] },
  { file: `${POWERTOOLS}/s3/delete-object.json`, holds: 'body', expected: [{ ignored: 'not-object-created' }] },
  {
    file: `${POWERTOOLS}/s3/eventbridge-object-created.json`,
    holds: 'body',
    expected: [
      {
        objects: [
          {
            bucket: 'example-bucket',
            key: 'IMG_m7fzo3.jpg',
            etag: '4e68adba0abe2dc8653dc3354e14c01d',
            size: 184662,
            via: 'eventbridge',
            sns: false,
            class: 'other',
          },
        ],
      },
    ],
  },
  {
    file: `${POWERTOOLS}/s3/eventbridge-object-deleted.json`,
    holds: 'body',
    expected: [{ ignored: 'not-object-created' }],
  },
  // Lifecycle expiration reaches EventBridge as "Object Deleted" with reason "Lifecycle Expiration".
  {
    file: `${POWERTOOLS}/s3/eventbridge-object-expired.json`,
    holds: 'body',
    expected: [{ ignored: 'not-object-created' }],
  },
  {
    file: `${POWERTOOLS}/s3/eventbridge-object-restored.json`,
    holds: 'body',
    expected: [{ ignored: 'not-object-created' }],
  },
  // ObjectCreated:Put with an extra glacierEventData block.
  { file: `${POWERTOOLS}/s3/glacier.json`, holds: 'body', expected: [{ objects: [POWERTOOLS_S3_OBJECT] }] },
  // S3 Object Lambda invocations, not notifications.
  {
    file: `${POWERTOOLS}/s3/object-iam-user.json`,
    holds: 'body',
    expected: [{ poison: /^unrecognised JSON shape: .*; found keys "xAmzRequestId", "getObjectContext"/ }],
  },
  {
    file: `${POWERTOOLS}/s3/object-temp-credentials.json`,
    holds: 'body',
    expected: [{ poison: /^unrecognised JSON shape: .*; found keys "xAmzRequestId", "getObjectContext"/ }],
  },
  { file: `${POWERTOOLS}/s3/s3-lifecycle-event.json`, holds: 'body', expected: [{ ignored: 'not-object-created' }] },
  {
    file: `${POWERTOOLS}/s3/sqs-event.json`,
    holds: 'sqs-event',
    expected: [
      {
        objects: [
          {
            bucket: 'xxx',
            key: 'test.pdf',
            versionId: 'yd3d4HaWOT2zguDLvIQLU6ptDTwKBnQV',
            etag: '2e3ad1e983318bbd8e73b080e2997980',
            size: 104681,
            via: 's3',
            sns: false,
            class: 'other',
          },
        ],
      },
    ],
  },
  {
    file: `${POWERTOOLS}/sns/base.json`,
    holds: 'sns-event',
    expected: [
      {
        poison:
          /^SNS Notification from arn:aws:sns:us-east-2:123456789012:ExampleTopic: Message is not JSON .*"Hello from SNS!"$/,
      },
    ],
  },
  {
    file: `${POWERTOOLS}/sqs/base.json`,
    holds: 'sqs-event',
    expected: [
      { poison: /^body is not JSON .*; it starts "Test message."$/ },
      { poison: /^unrecognised JSON shape: .*; found keys "message"$/ },
    ],
  },
  {
    file: `${POWERTOOLS}/sqs/sns-body.json`,
    holds: 'sqs-event',
    expected: [
      {
        poison:
          /^SNS Notification from arn:aws:sns:eu-west-1:231436140809:powertools265: unrecognised JSON shape: .*; found keys "message"$/,
      },
    ],
  },
  // A minimal S3 record: no eTag, versionId, userIdentity or responseElements.
  { file: `${DATADOG}/sqs_s3.json`, holds: 'sqs-event', expected: [{ objects: [{ ...DATADOG_OBJECT, sns: false }] }] },
  {
    file: `${DATADOG}/sqs_sns_s3.json`,
    holds: 'sqs-event',
    expected: [{ objects: [{ ...DATADOG_OBJECT, sns: true }] }],
  },
];

/** CloudTrail log objects, record-per-line files and digests: covered by the object-reading tests, not here. */
const LEFT_TO_OBJECT_TESTS = [
  'elastic__beats/',
  'elastic__integrations/',
  'open-telemetry__opentelemetry-collector-contrib/',
  `${PROMTAIL}/cloudtrail-log-file.json.gz`,
  // Real CloudTrail objects with their own manifest: real-cloudtrail.test.ts.
  'real-cloudtrail/',
];
function readJson(file: string): Record<string, unknown> {
  return JSON.parse(readSharedFixture(file).toString('utf8')) as Record<string, unknown>;
}

function describeExpected(expected: Expected): string {
  if ('objects' in expected) return `objects ${expected.objects.map((object) => object.key).join(', ')}`;
  if ('ignored' in expected) return `ignored (${expected.ignored})`;
  return 'poison';
}

/** The SQS message bodies a fixture file stands for. */
function bodiesOf(envelope: EnvelopeCase): string[] {
  if (envelope.holds === 'body') return [readSharedFixture(envelope.file).toString('utf8')];
  const records = readJson(envelope.file).Records as Array<Record<string, unknown>>;
  return records.map((record) =>
    envelope.holds === 'sqs-event' ? (record.body as string) : JSON.stringify(record.Sns),
  );
}

if (!sharedFixturesPresent) {
  describe('shared fixtures conformance', () => {
    test('shared fixtures are not present', () => {
      console.log(
        `shared-fixtures conformance: no fixtures at ${SHARED_FIXTURES} (set CONFORMANCE_FIXTURES); nothing checked`,
      );
    });
  });
} else {
  describe('shared fixtures conformance: notification envelopes', () => {
    test('every envelope file in the fixtures has an expectation in the table', () => {
      const envelopeFiles = listSharedFixtures().filter(
        (file) => !LEFT_TO_OBJECT_TESTS.some((prefix) => file.startsWith(prefix)),
      );
      expect(envelopeFiles.sort()).toEqual(ENVELOPES.map((envelope) => envelope.file).sort());
    });

    describe.each(ENVELOPES.map((envelope) => [envelope.file, envelope] as const))('%s', (_file, envelope) => {
      const bodies = bodiesOf(envelope);

      test('holds one body per expected outcome', () => {
        expect(bodies).toHaveLength(envelope.expected.length);
      });

      test.each(envelope.expected.map((expected, index) => [index, describeExpected(expected), expected] as const))(
        'body %i: %s',
        (index, _label, expected) => {
          const result = parseNotification(bodies[index]!);
          if ('objects' in expected) {
            const objects = expected.objects.map(({ class: _class, ...object }) => object);
            expect(result).toEqual({ kind: 'objects', objects });
            const classes = objects.map((object) => classifyObjectKey(object.key).type);
            expect(classes).toEqual(expected.objects.map((object) => object.class));
          } else if ('ignored' in expected) {
            expect(result).toEqual({ kind: 'ignored', reason: expected.ignored, detail: expect.any(String) });
          } else {
            expect(result).toEqual({ kind: 'poison', reason: expect.stringMatching(expected.poison) });
          }
        },
      );

      if (envelope.holds !== 'body') {
        test('the Lambda event wrapper itself is not a message', () => {
          const wrapper = readSharedFixture(envelope.file).toString('utf8');
          expect(parseNotification(wrapper).kind).toBe('poison');
        });
      }
    });
  });
}
