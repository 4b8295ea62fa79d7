import { Readable } from 'node:stream';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { S3Client } from '@aws-sdk/client-s3';
import type { SQSRecord } from 'aws-lambda';
import { KEEP_ALL, type RecordFilter } from '../../lambdas/ingest/records/filters';
import type { Sink } from '../../lambdas/ingest/sinks/sink';
import { processSqsBatch, type IngestDeps } from '../../lambdas/ingest/source/sqs-batch';
import { silentLogger } from '../../lambdas/shared/logger';
import type { AccountRecord } from '../../lambdas/shared/registry';
import { readSharedFixture, SHARED_FIXTURES, sharedFixturesPresent } from '../../testkit/shared-fixtures';
import { capturingSink } from './capturing-sink';

/**
 * Conformance against real CloudTrail log objects (shared/fixtures/real-cloudtrail: records from public
 * repositories assembled into the S3 objects CloudTrail writes, grouped into CloudTrail notifications as its
 * manifest says). Every message goes through the production path: the SQS source (tenant binding, key
 * classification), GetObject, the records step (decoder, splitter, filters) and the NDJSON sink (encoding, gzip,
 * headers) with an in-process transport. Every record of every log and Insight object must arrive unchanged and
 * once, nothing from a digest, and only the message naming the bad object fails, with an error naming it.
 */

interface ManifestObject {
  name: string;
  file: string;
  gzip_on_upload: boolean;
  stored_gzip: boolean;
  key: string;
  kind: 'log' | 'insight' | 'digest' | 'bad';
}

interface Manifest {
  account: string;
  organization: string;
  objects: ManifestObject[];
  messages: string[][];
  bad_messages: string[][];
}

const DIR = 'real-cloudtrail';
const BUCKET = 'real-cloudtrail-bucket';
const present =
  sharedFixturesPresent &&
  (() => {
    try {
      readSharedFixture(`${DIR}/manifest.json`);
      return true;
    } catch {
      return false;
    }
  })();

if (!present) {
  describe('real CloudTrail objects conformance', () => {
    test('the fixtures are not present', () => {
      console.log(`real-cloudtrail conformance: no ${DIR}/ under ${SHARED_FIXTURES}; nothing checked`);
    });
  });
} else {
  const manifest = JSON.parse(readSharedFixture(`${DIR}/manifest.json`).toString('utf8')) as Manifest;
  const byName = new Map(manifest.objects.map((object) => [object.name, object]));
  /** The object's bytes as stored in S3. */
  const stored = (object: ManifestObject): Buffer => {
    const raw = readSharedFixture(`${DIR}/${object.file}`);
    return object.gzip_on_upload ? gzipSync(raw) : raw;
  };
  /** What the object's own JSON says its records are. */
  const recordsOf = (object: ManifestObject): unknown[] => {
    const raw = readSharedFixture(`${DIR}/${object.file}`);
    const text = (object.stored_gzip ? gunzipSync(raw) : raw).toString('utf8');
    return (JSON.parse(text) as { Records: unknown[] }).Records;
  };

  const account = {
    accountId: manifest.account,
    externalId: 'x',
    mode: 'apply',
    logArchiveFor: [manifest.organization],
    registeredAt: '2024-01-01T00:00:00Z',
    status: 'healthy',
  } as unknown as AccountRecord;

  /** S3 serving the manifest's objects, each with an ETag, in 64 KiB chunks as a response body arrives. */
  const s3 = {
    send: (command: { input: { Bucket: string; Key: string } }) => {
      const object = manifest.objects.find((o) => o.key === command.input.Key);
      if (command.input.Bucket !== BUCKET || !object) {
        return Promise.reject(Object.assign(new Error('NoSuchKey'), { name: 'NoSuchKey' }));
      }
      const bytes = stored(object);
      const chunks: Buffer[] = [];
      for (let at = 0; at < bytes.length; at += 64 * 1024) chunks.push(bytes.subarray(at, at + 64 * 1024));
      return Promise.resolve({ Body: Readable.from(chunks), ETag: `"etag-${object.name}"` });
    },
  } as unknown as S3Client;

  /** Runs every message of the manifest; returns the records each object forwarded and each message's outcome. */
  async function ingestAll(filter: RecordFilter) {
    const capture = capturingSink();
    const forwarded = new Map<string, string[]>();
    const sink: Sink = {
      recordOverheadBytes: capture.recordOverheadBytes,
      close: () => capture.close(),
      async send(batch, ctx) {
        const before = capture.lines.length;
        const result = await capture.send(batch, ctx);
        const lines = forwarded.get(batch.object.key) ?? [];
        lines.push(...capture.lines.slice(before));
        forwarded.set(batch.object.key, lines);
        return result;
      },
    };
    const deps: IngestDeps = {
      registry: { get: () => Promise.resolve(account), recordDelivery: () => Promise.resolve(true) },
      credentials: { providerFor: () => () => Promise.reject(new Error('unused')) },
      s3ForTenant: () => s3,
      sink,
      logger: silentLogger,
      counts: { count: () => undefined },
      customerRoleName: 'CloudTrailCollectorRole',
      forward: {
        maxDecompressedBytes: 64 * 1024 * 1024,
        maxRecordBytes: 2 * 1024 * 1024,
        // Small batches, so that objects span several.
        batchLimits: { maxBatchBytes: 16 * 1024, maxBatchRecords: 7 },
        maxInFlightBatches: 1,
        filter,
      },
      messageConcurrency: 1,
    };
    const messages = [...manifest.messages, ...manifest.bad_messages].map((names, index) => ({
      messageId: `m${index}`,
      names,
      record: {
        messageId: `m${index}`,
        body: JSON.stringify({ s3Bucket: BUCKET, s3ObjectKey: names.map((name) => byName.get(name)!.key) }),
        eventSourceARN: `arn:aws:sqs:us-east-1:${manifest.account}:cloudtrail-queue`,
        attributes: { ApproximateReceiveCount: '1' },
      } as unknown as SQSRecord,
    }));
    const result = await processSqsBatch(
      messages.map((m) => m.record),
      deps,
      Date.now() + 120_000,
    );
    return { forwarded, result, messages, capture };
  }

  describe('real CloudTrail objects conformance', () => {
    test('the manifest lists 82 objects, each in exactly one message', () => {
      expect(manifest.objects).toHaveLength(82);
      const named = [...manifest.messages, ...manifest.bad_messages].flat();
      expect(named.sort()).toEqual(manifest.objects.map((o) => o.name).sort());
    });

    test('every record of every log and Insight object arrives once, unchanged; digests forward nothing', async () => {
      const { forwarded, result, capture } = await ingestAll(KEEP_ALL);
      for (const object of manifest.objects) {
        const lines = forwarded.get(object.key) ?? [];
        if (object.kind === 'log' || object.kind === 'insight') {
          expect({ object: object.name, records: lines.map((line) => JSON.parse(line) as unknown) }).toEqual({
            object: object.name,
            records: recordsOf(object),
          });
        } else {
          expect({ object: object.name, lines }).toEqual({ object: object.name, lines: [] });
        }
      }
      // The wire format: one record per line, the object's kind in a header, the record count right.
      for (const request of capture.requests) {
        expect(request.headers['content-type']).toBe('application/x-ndjson');
        expect(Number(request.headers['x-record-count'])).toBe(request.text.split('\n').length - 1);
        expect(['log', 'insight']).toContain(request.headers['x-cloudtrail-record-kind']);
      }
      expect(new Set(capture.requests.map((r) => r.headers['x-idempotency-key'])).size).toBe(capture.requests.length);
      void result;
    });

    test('only the message naming the bad object fails, as poison, with an error naming that object', async () => {
      const { result, messages } = await ingestAll(KEEP_ALL);
      const bad = manifest.objects.filter((o) => o.kind === 'bad');
      expect(bad.length).toBeGreaterThan(0);
      for (const message of messages) {
        const outcome = result.outcomes.get(message.messageId);
        const badHere = message.names.map((name) => byName.get(name)!).filter((o) => o.kind === 'bad');
        if (badHere.length === 0) {
          expect({ names: message.names, outcome }).toEqual({
            names: message.names,
            outcome: expect.objectContaining({ status: 'forwarded' }) as unknown,
          });
        } else {
          expect(outcome).toMatchObject({ status: 'failed', poison: true });
          const error = outcome?.status === 'failed' ? outcome.error : '';
          expect(error).toContain(`s3://${BUCKET}/${badHere[0]!.key}`);
          expect(error).toMatch(/malformed (JSON|CloudTrail log) at byte \d+/);
        }
      }
      expect(result.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(
        messages.filter((m) => m.names.some((n) => byName.get(n)!.kind === 'bad')).map((m) => m.messageId),
      );
    });

    test('filters decide on the real records as a JSON.parse of each would', async () => {
      const filter: RecordFilter = {
        dropEventSources: new Set(['s3.amazonaws.com', 'kms.amazonaws.com']),
        dropEventNames: new Set(['ConsoleLogin', 'GetCallerIdentity']),
        dropReadOnly: true,
      };
      const dropped = (record: unknown): boolean => {
        const r = record as { eventSource?: unknown; eventName?: unknown; readOnly?: unknown };
        if (typeof r.eventSource === 'string' && filter.dropEventSources.has(r.eventSource)) return true;
        if (typeof r.eventName === 'string' && filter.dropEventNames.has(r.eventName)) return true;
        return r.readOnly === true || r.readOnly === 'true';
      };
      const { forwarded } = await ingestAll(filter);
      let kept = 0;
      let all = 0;
      for (const object of manifest.objects.filter((o) => o.kind === 'log' || o.kind === 'insight')) {
        const expected = recordsOf(object).filter((record) => !dropped(record));
        const lines = forwarded.get(object.key) ?? [];
        expect({ object: object.name, records: lines.map((line) => JSON.parse(line) as unknown) }).toEqual({
          object: object.name,
          records: expected,
        });
        kept += expected.length;
        all += recordsOf(object).length;
      }
      // The filter must have had something to drop and something to keep.
      expect(kept).toBeGreaterThan(0);
      expect(kept).toBeLessThan(all);
    });
  });
}
