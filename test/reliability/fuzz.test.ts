/**
 * Property-based fuzzing of the envelope parser and the record splitter, beyond what the unit tests already
 * cover (test/unit/notifications.test.ts: no throw on arbitrary text and JSON values in known wrappers, S3 key
 * decoding; test/unit/record-splitter.test.ts: agreement with JSON.parse on generated and mutated documents at
 * random cuts). Added here:
 * - a no-hang bound on both, on random and on adversarial inputs (time per byte, with a wide margin: a quadratic
 *   or exponential path blows through it by orders of magnitude, a slow machine does not);
 * - the parser recovering exactly the objects of any valid notification, in every shape, raw or inside SNS;
 *   wrapping in SNS changing nothing else; reasons staying one short line;
 * - the whole object path (gzip -> decoder -> splitter -> batcher -> sink) at random chunkings and batch limits:
 *   the NDJSON lines equal JSON.parse(file).Records on valid input, batches are numbered without gaps;
 * - any byte sequence as an S3 object: records, or a PermanentInputError (a poison message), never an error
 *   of another class that would be mistaken for a transient failure.
 */
import fc from 'fast-check';
import { gzipSync } from 'node:zlib';
import { generateRecords } from '../../testkit/cloudtrail-generator';
import {
  cloudTrailNotification,
  eventBridgeObjectCreated,
  s3EventNotification,
  snsEnvelope,
} from '../../testkit/demo-chain';
import { KEEP_ALL } from '../../lambdas/ingest/records/filters';
import { forwardRecords, type ForwardOptions } from '../../lambdas/ingest/pipeline';
import { NDJSON_INTAKE } from '../../lambdas/ingest/sinks/ndjson-intake';
import type { Sink } from '../../lambdas/ingest/sinks/sink';
import { parseNotification, type ParsedNotification } from '../../lambdas/ingest/source/notifications';
import { PermanentInputError } from '../../lambdas/shared/errors';

/** Wall-clock guard against hangs: generous per call, plus a per-byte allowance for large inputs. */
function hangBoundMs(bytes: number): number {
  return 500 + bytes / 5_000; // 5 MB/s: two orders of magnitude below what either component does
}

function timed<T>(work: () => T): { value: T; ms: number } {
  const started = performance.now();
  const value = work();
  return { value, ms: performance.now() - started };
}

async function timedAsync<T>(work: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await work();
  return { value, ms: performance.now() - started };
}

const KINDS = new Set(['objects', 'ignored', 'poison']);

function expectWellFormed(result: ParsedNotification): void {
  expect(KINDS.has(result.kind)).toBe(true);
  if (result.kind === 'poison') {
    expect(result.reason.length).toBeGreaterThan(0);
    expect(result.reason.length).toBeLessThan(1_000);
  }
  if (result.kind === 'objects') {
    expect(result.objects.length).toBeGreaterThan(0);
    // One expect for all objects: a notification may name tens of thousands.
    const bad = result.objects.filter(
      (object) =>
        typeof object.bucket !== 'string' ||
        object.bucket === '' ||
        typeof object.key !== 'string' ||
        object.key === '',
    );
    expect(bad).toEqual([]);
  }
}

describe('envelope parser: fuzzing', () => {
  const bucketName = fc.stringMatching(/^[a-z0-9][a-z0-9.-]{1,40}[a-z0-9]$/);
  const objectKey = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 120 });
  const shapes = ['cloudtrail', 's3', 'eventbridge'] as const;

  const notification = fc.record({
    shape: fc.constantFrom(...shapes),
    bucket: bucketName,
    keys: fc.array(objectKey, { minLength: 1, maxLength: 5 }),
    sns: fc.boolean(),
  });

  function render(n: { shape: (typeof shapes)[number]; bucket: string; keys: string[]; sns: boolean }): {
    body: string;
    expected: { bucket: string; key: string }[];
  } {
    let body: string;
    let keys = n.keys;
    if (n.shape === 'cloudtrail') {
      body = cloudTrailNotification(n.bucket, keys);
    } else if (n.shape === 's3') {
      const records = keys.map(
        (key) => (JSON.parse(s3EventNotification(n.bucket, key)) as { Records: unknown[] }).Records[0],
      );
      body = JSON.stringify({ Records: records });
    } else {
      keys = keys.slice(0, 1); // one object per EventBridge event
      body = eventBridgeObjectCreated(n.bucket, keys[0]!);
    }
    return { body: n.sns ? snsEnvelope(body) : body, expected: keys.map((key) => ({ bucket: n.bucket, key })) };
  }

  it('recovers exactly the announced objects from any valid notification, in any shape, raw or in SNS', () => {
    fc.assert(
      fc.property(notification, (n) => {
        const { body, expected } = render(n);
        const result = parseNotification(body);
        expect(result.kind).toBe('objects');
        if (result.kind !== 'objects') return;
        expect(result.objects.map(({ bucket, key }) => ({ bucket, key }))).toEqual(expected);
        expect(result.objects.every((object) => object.sns === n.sns)).toBe(true);
      }),
      { numRuns: 1_000 },
    );
  });

  it('gives the same answer for a body and for that body inside an SNS envelope', () => {
    const body = fc.oneof(
      notification.map((n) => render({ ...n, sns: false }).body),
      fc.json({ maxDepth: 4 }),
      fc.constantFrom('CloudTrail validation message.', '{"Event":"s3:TestEvent","Bucket":"b"}'),
    );
    fc.assert(
      fc.property(body, (text) => {
        const raw = parseNotification(text);
        const wrapped = parseNotification(snsEnvelope(text));
        expect(wrapped.kind).toBe(raw.kind);
        if (raw.kind === 'objects' && wrapped.kind === 'objects') {
          expect(wrapped.objects).toEqual(raw.objects.map((object) => ({ ...object, sns: true })));
        }
        if (raw.kind === 'ignored' && wrapped.kind === 'ignored') expect(wrapped.reason).toBe(raw.reason);
      }),
      { numRuns: 1_000 },
    );
  });

  it('never throws, never hangs, and gives a short reason for mutated notifications', () => {
    const mutation = fc.record({
      at: fc.nat(),
      kind: fc.constantFrom('delete', 'insert', 'replace', 'truncate', 'duplicate'),
      text: fc.oneof(
        fc.constantFrom('"', '\\', '{', '}', '[', ']', ',', ':', '%', '+', '\n', '\u0000', '\uFEFF', 'null'),
        fc.string(),
      ),
    });
    fc.assert(
      fc.property(notification, fc.array(mutation, { minLength: 1, maxLength: 4 }), (n, mutations) => {
        let body = render(n).body;
        for (const m of mutations) {
          const at = m.at % (body.length + 1);
          if (m.kind === 'delete') body = body.slice(0, at) + body.slice(at + 1);
          else if (m.kind === 'insert') body = body.slice(0, at) + m.text + body.slice(at);
          else if (m.kind === 'replace') body = body.slice(0, at) + m.text + body.slice(at + m.text.length);
          else if (m.kind === 'truncate') body = body.slice(0, at);
          else body = body.slice(0, at) + body.slice(at, at + 200).repeat(3) + body.slice(at);
        }
        const { value, ms } = timed(() => parseNotification(body));
        expectWellFormed(value);
        expect(ms).toBeLessThan(hangBoundMs(body.length));
      }),
      { numRuns: 2_000 },
    );
  });

  it('stays within its time bound on large adversarial bodies', () => {
    const adversarial = fc.oneof(
      fc.nat({ max: 400_000 }).map((n) => '['.repeat(n)),
      fc.nat({ max: 100_000 }).map((n) => `{"Records":${'['.repeat(n)}${']'.repeat(n)}}`),
      fc.nat({ max: 12 }).map((depth) => {
        // SNS inside SNS inside ... as strings (each level doubles the escaping: 12 levels make ~1 MB).
        let body = cloudTrailNotification('b', ['AWSLogs/k.json.gz']);
        for (let level = 0; level < depth; level++) body = snsEnvelope(body);
        return body;
      }),
      fc.nat({ max: 30_000 }).map((n) => s3EventNotification('b', `${'%41'.repeat(n)}%`)),
      fc.nat({ max: 50_000 }).map((n) =>
        cloudTrailNotification(
          'b',
          Array.from({ length: n }, (_, i) => `k${i}`),
        ),
      ),
      fc.nat({ max: 300_000 }).map((n) => `{"s3Bucket":"${'\\u0041'.repeat(n / 6)}","s3ObjectKey":["k"]}`),
      fc.nat({ max: 500_000 }).map((n) => ' '.repeat(n) + '{'),
    );
    fc.assert(
      fc.property(adversarial, (body) => {
        const { value, ms } = timed(() => parseNotification(body));
        expectWellFormed(value);
        expect(ms).toBeLessThan(hangBoundMs(body.length));
      }),
      { numRuns: 60 },
    );
  });
});

describe('record splitter (whole object path): fuzzing', () => {
  interface Sent {
    index: number;
    lines: string[];
    key: string;
  }

  /** Runs bytes through forwardRecords in the given chunk sizes; returns what the sink received. */
  async function forward(
    bytes: Buffer,
    chunkSizes: number[],
    limits: { maxBatchBytes: number; maxBatchRecords: number },
    maxRecordBytes = 1024 * 1024,
  ): Promise<{ sent: Sent[]; recordsRead: number }> {
    const sent: Sent[] = [];
    const sink: Sink = {
      recordOverheadBytes: NDJSON_INTAKE.recordOverheadBytes,
      close: () => undefined,
      send: (batch, ctx) => {
        const body = NDJSON_INTAKE.encode(batch.records, (size) => Buffer.allocUnsafe(size));
        const text = body.toString('utf8');
        expect(text.endsWith('\n')).toBe(true);
        sent.push({ index: sent.length, lines: text.slice(0, -1).split('\n'), key: ctx.idempotencyKey });
        return Promise.resolve({ requests: 1, bytesSent: body.length });
      },
    };
    // At most ~3000 chunks, so that a large file with small chunk sizes still runs in time.
    const floor = Math.max(1, Math.ceil(bytes.length / 3_000));
    // As an S3 body arrives: chunk after chunk, each on a later turn of the event loop.
    async function* chunks(): AsyncGenerator<Uint8Array> {
      let at = 0;
      let k = 0;
      while (at < bytes.length) {
        const size = Math.max(floor, chunkSizes.length === 0 ? bytes.length : chunkSizes[k++ % chunkSizes.length]!);
        yield await Promise.resolve(bytes.subarray(at, at + size));
        at += size;
      }
    }
    const options: ForwardOptions = {
      maxDecompressedBytes: 64 * 1024 * 1024,
      maxRecordBytes,
      batchLimits: limits,
      maxInFlightBatches: 1, // in order, so `sent` is in batch order
      filter: KEEP_ALL,
      deadline: Date.now() + 60_000,
    };
    const result = await forwardRecords(
      chunks(),
      { bucket: 'b', key: 'k', versionId: 'v', kind: 'log' },
      sink,
      options,
    );
    return { sent, recordsRead: result.recordsRead };
  }

  /** Chunk sizes, cycled; [1] is byte by byte (for files up to 3000 bytes, then as small as the cap allows). */
  const chunking = fc.oneof(
    fc.constant<number[]>([1]),
    fc.array(fc.integer({ min: 1, max: 70_000 }), { minLength: 1, maxLength: 8 }),
  );
  const limits = fc.record({
    maxBatchBytes: fc.integer({ min: 1024, max: 256 * 1024 }),
    maxBatchRecords: fc.integer({ min: 1, max: 300 }),
  });
  const realistic = fc
    .record({ count: fc.integer({ min: 0, max: 400 }), seed: fc.integer(), account: fc.stringMatching(/^\d{12}$/) })
    .map(({ count, seed, account }) => generateRecords(count, { accountId: account, region: 'eu-west-3', seed }));
  const arbitrary = fc.array(
    fc.dictionary(fc.string({ unit: 'grapheme' }), fc.jsonValue({ maxDepth: 5 }), { maxKeys: 8 }),
    { maxLength: 60 },
  );
  const fileText = fc
    .record({
      records: fc.oneof(realistic, arbitrary),
      pretty: fc.constantFrom(undefined, 1, 2, '\t'),
      extra: fc.option(fc.jsonValue({ maxDepth: 3 }), { nil: undefined }),
    })
    .map(({ records, pretty, extra }) =>
      JSON.stringify(
        extra === undefined ? { Records: records } : { digest: extra, Records: records, tail: extra },
        null,
        pretty,
      ),
    );

  it('forwards exactly JSON.parse(file).Records, gzip or plain, at any chunking and any batch limits', async () => {
    await fc.assert(
      fc.asyncProperty(fileText, fc.boolean(), chunking, limits, async (text, compress, chunkSizes, batchLimits) => {
        const bytes = compress ? gzipSync(text) : Buffer.from(text);
        const { value, ms } = await timedAsync(() => forward(bytes, chunkSizes, batchLimits));
        const expected = (JSON.parse(text) as { Records: unknown[] }).Records;
        const lines = value.sent.flatMap((batch) => batch.lines);
        // Equal serialisations of JSON values are equal values; the strings compare much faster than deep equality.
        expect(lines).toEqual(expected.map((record) => JSON.stringify(record)));
        expect(lines.slice(0, 10).map((line) => JSON.parse(line) as unknown)).toEqual(expected.slice(0, 10));
        expect(value.recordsRead).toBe(expected.length);
        for (const batch of value.sent) {
          expect(batch.lines.length).toBeLessThanOrEqual(batchLimits.maxBatchRecords);
        }
        expect(new Set(value.sent.map((batch) => batch.key)).size).toBe(value.sent.length);
        expect(ms).toBeLessThan(hangBoundMs(text.length) * 4);
      }),
      { numRuns: 200 },
    );
  });

  it('batches, and so idempotency keys, are the same whatever the chunking', async () => {
    await fc.assert(
      fc.asyncProperty(fileText, chunking, chunking, limits, async (text, a, b, batchLimits) => {
        const bytes = gzipSync(text);
        const first = await forward(bytes, a, batchLimits);
        const second = await forward(bytes, b, batchLimits);
        expect(second.sent).toEqual(first.sent);
      }),
      { numRuns: 50 },
    );
  });

  it('any bytes as an object: records, or a PermanentInputError (poison), and never a hang', async () => {
    const valid = fileText.map((text) => Buffer.from(text));
    const bytes = fc.oneof(
      fc.uint8Array({ maxLength: 4_000 }).map((array) => Buffer.from(array)),
      fc.uint8Array({ maxLength: 4_000 }).map((array) => gzipSync(array)), // valid gzip, arbitrary content
      fc.uint8Array({ maxLength: 4_000 }).map((array) => Buffer.concat([Buffer.from([0x1f, 0x8b]), array])), // gzip magic, junk
      fc.tuple(valid, fc.nat()).map(([doc, cut]) => {
        const compressed = gzipSync(doc);
        return compressed.subarray(0, cut % (compressed.length + 1)); // cut gzip
      }),
      fc.tuple(valid, fc.nat(), fc.integer({ min: 0, max: 255 })).map(([doc, at, byte]) => {
        const copy = Buffer.from(gzipSync(doc));
        if (copy.length > 0) copy[at % copy.length] = byte; // one corrupted byte
        return copy;
      }),
    );
    let rejected = 0;
    await fc.assert(
      fc.asyncProperty(bytes, chunking, async (object, chunkSizes) => {
        const started = performance.now();
        try {
          await forward(object, chunkSizes, { maxBatchBytes: 64 * 1024, maxBatchRecords: 100 }, 64 * 1024);
        } catch (error) {
          expect(error).toBeInstanceOf(PermanentInputError);
          rejected++;
        }
        expect(performance.now() - started).toBeLessThan(hangBoundMs(object.length) * 4);
      }),
      { numRuns: 500 },
    );
    expect(rejected).toBeGreaterThan(200);
  });

  it('stays within its time bound on large adversarial objects', async () => {
    const MiB = 1024 * 1024;
    const adversarial = fc.oneof(
      fc.integer({ min: 1, max: 4 * MiB }).map((n) => `{"Records":[{"s":"${'\\\\'.repeat(n / 2)}"}]}`),
      fc.integer({ min: 1, max: 2 * MiB }).map((n) => `{"Records":[{"s":"${'\\u00e9'.repeat(n / 6)}"}]}`),
      fc.integer({ min: 1, max: 4 * MiB }).map((n) => `{"Records":[{"n":1${'0'.repeat(n)}}]}`),
      fc.integer({ min: 1, max: 300_000 }).map((n) => `{"Records":[${'{},'.repeat(n)}{}]}`),
      fc.integer({ min: 1, max: 9_999 }).map((n) => `{"Records":[{"a":${'['.repeat(n)}${']'.repeat(n)}}]}`),
      fc
        .integer({ min: 1, max: 4 * MiB })
        .map((n) => `{"x":${'['.repeat(9_000)}${']'.repeat(9_000)},"pad":"${'a'.repeat(n)}","Records":[]}`),
      fc.integer({ min: 1, max: 4 * MiB }).map((n) => `${' '.repeat(n)}{"Records":[{"a":1}]}${'\n'.repeat(n)}`),
    );
    await fc.assert(
      fc.asyncProperty(adversarial, fc.boolean(), async (text, compress) => {
        const bytes = compress ? gzipSync(text, { level: 1 }) : Buffer.from(text);
        const started = performance.now();
        try {
          await forward(bytes, [64 * 1024], { maxBatchBytes: 4 * MiB, maxBatchRecords: 5000 }, 8 * MiB);
        } catch (error) {
          expect(error).toBeInstanceOf(PermanentInputError);
        }
        expect(performance.now() - started).toBeLessThan(hangBoundMs(text.length));
      }),
      { numRuns: 40 },
    );
  });
});
