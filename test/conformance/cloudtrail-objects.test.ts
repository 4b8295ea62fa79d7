import { Readable } from 'node:stream';
import { gunzipSync, gzipSync } from 'node:zlib';
import { forwardRecords, type ForwardOptions } from '../../lambdas/ingest/pipeline';
import { KEEP_ALL } from '../../lambdas/ingest/records/filters';
import {
  listSharedFixtures,
  readSharedFixture,
  SHARED_FIXTURES,
  sharedFixturesPresent,
} from '../../testkit/shared-fixtures';
import { capturingSink } from './capturing-sink';

/**
 * Conformance of the object-reading path (decode -> split -> batch) against the CloudTrail files other
 * collectors test with: whole log objects, record-per-line files (wrapped into objects), digests and
 * CloudWatch Logs payloads. Records must come out exactly as `JSON.parse(file).Records`.
 */

const OPTIONS: ForwardOptions = {
  maxDecompressedBytes: 64 * 1024 * 1024,
  maxRecordBytes: 2 * 1024 * 1024,
  batchLimits: { maxBatchBytes: 4096, maxBatchRecords: 5 },
  maxInFlightBatches: 2,
  filter: KEEP_ALL,
  deadline: Number.MAX_SAFE_INTEGER,
};

function chunksOf(bytes: Buffer, size = 1000): AsyncIterable<Uint8Array> {
  const chunks: Buffer[] = [];
  for (let offset = 0; offset < bytes.length; offset += size) chunks.push(bytes.subarray(offset, offset + size));
  return Readable.from(chunks);
}

/**
 * Forwards the object as a stream, and again whole (as forwardObject reads an object of up to
 * WHOLE_OBJECT_MAX_BYTES): both must give the same lines, batches and counts.
 */
async function forward(bytes: Buffer) {
  const object = { bucket: 'b', key: 'k', kind: 'log' } as const;
  const sink = capturingSink();
  const result = await forwardRecords(chunksOf(bytes), object, sink, OPTIONS);
  const wholeSink = capturingSink();
  const whole = await forwardRecords(bytes, object, wholeSink, OPTIONS);
  expect(whole).toEqual(result);
  expect(wholeSink.lines).toEqual(sink.lines);
  const keys = (requests: typeof sink.requests) => requests.map((r) => String(r.headers['x-idempotency-key'])).sort();
  expect(keys(wholeSink.requests)).toEqual(keys(sink.requests));
  return { result, sink };
}

const WHOLE_OBJECTS = [
  'grafana__lambda-promtail/testdata/cloudtrail-log-file.json.gz',
  'elastic__beats/x-pack/filebeat/input/awss3/testdata/aws-cloudtrail.json',
  'open-telemetry__opentelemetry-collector-contrib/pkg/translator/cloudtraillog/testdata/cloudtrail_log.json',
  'open-telemetry__opentelemetry-collector-contrib/pkg/translator/cloudtraillog/testdata/stream/cloudtrail_log.json',
  'open-telemetry__opentelemetry-collector-contrib/pkg/translator/cloudtraillog/testdata/cloudtrail_log_empty.json',
];

if (!sharedFixturesPresent) {
  describe('CloudTrail objects conformance', () => {
    test('shared fixtures are not present', () => {
      console.log(`cloudtrail-objects conformance: no fixtures at ${SHARED_FIXTURES}; nothing checked`);
    });
  });
} else {
  // real-cloudtrail/ has its own manifest and test (real-cloudtrail.test.ts).
  const all = listSharedFixtures().filter((file) => !file.startsWith('real-cloudtrail/'));
  const byName = (suffix: string) => all.find((file) => file.endsWith(suffix));
  const wholeObjects = WHOLE_OBJECTS.map((file) => byName(file.split('/').slice(-2).join('/')) ?? file);
  const digests = all.filter((file) => /digest/.test(file) && !file.includes('/events/'));
  const cloudWatchPayloads = all.filter((file) => /cloudtrail_log_cw/.test(file));
  const recordFiles = all.filter((file) => file.endsWith('-json.log') && !/digest/.test(file));

  describe('CloudTrail objects conformance: whole log objects', () => {
    test('the expected whole objects exist', () => {
      for (const file of wholeObjects) expect(all).toContain(file);
    });

    test.each(wholeObjects)('%s: records equal JSON.parse(file).Records', async (file) => {
      const raw = readSharedFixture(file);
      const { result, sink } = await forward(raw);
      const text = (file.endsWith('.gz') ? gunzipSync(raw) : raw).toString('utf8');
      const expected = (JSON.parse(text) as { Records: unknown[] }).Records;
      expect(result.outcome).toBe('forwarded');
      expect(sink.records).toEqual(expected);
      expect(result.recordsRead).toBe(expected.length);
      expect(result.recordsForwarded).toBe(expected.length);
      // One record per line whatever the file's own formatting (several of these are pretty-printed).
      expect(sink.lines.every((line) => !line.includes('\n') && !line.includes('\r'))).toBe(true);
    });

    test('Insight records inside a log file are forwarded like the others', async () => {
      const file = wholeObjects.find((f) => f.includes('aws-cloudtrail.json'))!;
      const { sink } = await forward(readSharedFixture(file));
      const insights = (sink.records as { eventType?: string }[]).filter((r) => r.eventType === 'AwsCloudTrailInsight');
      expect(insights.length).toBeGreaterThan(0);
    });
  });

  describe('CloudTrail objects conformance: record-per-line files wrapped into objects', () => {
    test('there are record-per-line files to check', () => {
      expect(recordFiles.length).toBeGreaterThan(50);
    });

    test.each(recordFiles)('%s', async (file) => {
      const records = readSharedFixture(file)
        .toString('utf8')
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => JSON.parse(line) as unknown);
      // Both how CloudTrail writes files (compact, gzip) and a pretty-printed plain variant.
      for (const body of [
        gzipSync(JSON.stringify({ Records: records })),
        Buffer.from(JSON.stringify({ Records: records }, null, 2)),
      ]) {
        const { result, sink } = await forward(body);
        expect(sink.records).toEqual(records);
        expect(result.recordsForwarded).toBe(records.length);
      }
    });
  });

  describe('CloudTrail objects conformance: files that hold no records', () => {
    test('digests and CloudWatch payloads are all found', () => {
      expect(digests).toHaveLength(4);
      expect(cloudWatchPayloads).toHaveLength(2);
    });

    test.each([...digests, ...cloudWatchPayloads])('%s: acknowledged, nothing forwarded', async (file) => {
      const { result, sink } = await forward(readSharedFixture(file));
      expect(result.outcome).toBe('no-records');
      expect(sink.lines).toEqual([]);
    });
  });
}
