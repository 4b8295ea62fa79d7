/**
 * The ingest implementations the benchmark compares, each taking one object's bytes as a stream (what
 * GetObject gives) and producing gzip bytes for the downstream, counted by an in-process sink:
 * - `core`: the project's ingest core, `forwardRecords` (decode -> split -> filter -> batch -> sink.send), with
 *   the Lambda's default settings and the production sink (createSink: NDJSON encoding, gzip, headers, retries),
 *   whose transport accepts each request in process instead of writing it to a socket;
 * - `gunzip`: decompression alone (a lower bound for anything that reads gzip objects);
 * - `floor`: gunzip piped into gzip level 1 (the floor for any pipeline that must decompress and recompress);
 * - `naive`: gunzip, JSON.parse of the whole file, JSON.stringify per record, gzip level 1 per batch.
 * And the core cut short after one of its stages, to tell what each stage costs:
 * - `decode`: the core's decoder (decodeObject) alone;
 * - `split`: decode + RecordSplitter;
 * - `batch`: decode + split + RecordBatcher + NDJSON encoding, without compressing.
 */
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { createGunzip, createGzip, gunzip, gzip } from 'node:zlib';
import { loadIngestConfig } from '../lambdas/ingest/config';
import * as ingestPipeline from '../lambdas/ingest/pipeline';
import { forwardRecords, type ForwardOptions } from '../lambdas/ingest/pipeline';
import { KEEP_ALL, filterIsActive } from '../lambdas/ingest/records/filters';
import { decodeObject } from '../lambdas/ingest/records/object-decoder';
import { RecordSplitter } from '../lambdas/ingest/records/record-splitter';
import { createSink, type Sink } from '../lambdas/ingest/sinks';
import { RecordBatcher } from '../lambdas/ingest/sinks/batcher';
import { NDJSON_INTAKE } from '../lambdas/ingest/sinks/ndjson-intake';
import { silentLogger } from '../lambdas/shared/logger';
import type { ExperimentInjections } from './experiments';

const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);

/** The sink's default `gzipLevel` (speed over ratio on the Lambda's CPU share), for the baselines. */
export const DOWNSTREAM_GZIP_LEVEL = 1;
/** The ingest core's gunzip output chunk (object-decoder.ts); the baselines use the same. */
const GUNZIP_CHUNK_BYTES = 256 * 1024;

export const VARIANTS = ['core', 'gunzip', 'floor', 'naive', 'decode', 'split', 'batch'] as const;
export type Variant = (typeof VARIANTS)[number];

export interface ObjectResult {
  /** Records read; undefined for the variants that never look at records. */
  records?: number;
  /** Uncompressed bytes of the object. */
  bytes: number;
  /** Compressed bytes produced for the downstream (0 for gunzip alone). */
  bytesOut: number;
  /** Downstream batches (requests the HTTP sink would make). */
  batches: number;
}

/**
 * The Lambda's defaults, read through the real config loader so that they follow `lambdas/ingest/config.ts`:
 * batches of 4 MiB / 5000 records, 4 batches in flight, 2 MiB max record, 4 GiB decompressed cap, no filter.
 */
export function defaultForwardOptions(): ForwardOptions {
  const config = loadIngestConfig({
    AWS_REGION: 'us-east-1',
    ACCOUNTS_TABLE: 'bench',
    DOWNSTREAM_URL: 'http://127.0.0.1/',
  });
  if (filterIsActive(config.filter)) throw new Error('the default configuration has a filter: expected KEEP_ALL');
  return {
    maxDecompressedBytes: config.maxDecompressedBytes,
    maxRecordBytes: config.maxRecordBytes,
    batchLimits: { maxBatchBytes: config.maxBatchBytes, maxBatchRecords: config.maxBatchRecords },
    maxInFlightBatches: config.maxInFlightBatches,
    filter: KEEP_ALL,
    deadline: Date.now() + 24 * 3600_000,
  };
}

/**
 * The production sink as the Lambda builds it from its configuration, with an in-process transport that accepts
 * every request and counts what would have gone on the wire.
 */
export function productionSink(inject: ExperimentInjections = {}): {
  sink: Sink;
  counted: { requests: number; bytesSent: number };
} {
  const counted = { requests: 0, bytesSent: 0 };
  const sink = createSink(
    { type: 'ndjson', url: 'http://in-process.invalid/', timeoutMs: 30_000 },
    {
      logger: silentLogger,
      ...inject,
      transport: {
        post: (body) => {
          counted.requests += 1;
          counted.bytesSent += body.length;
          return Promise.resolve({ status: 200, headers: {}, snippet: '', truncated: false });
        },
        close: () => undefined,
      },
    },
  );
  return { sink, counted };
}

class CountingWritable extends Writable {
  bytes = 0;
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.bytes += chunk.length;
    callback();
  }
}

/**
 * The largest object forwardObject reads whole before decoding it (pipeline.ts), or 0 for a tree whose pipeline
 * only streams (a --baseline checkout from before the whole-object path): the core variant gets small objects
 * as forwardObject would pass them.
 */
export const WHOLE_OBJECT_MAX_BYTES: number =
  (ingestPipeline as { WHOLE_OBJECT_MAX_BYTES?: number }).WHOLE_OBJECT_MAX_BYTES ?? 0;

/** An object's bytes: the stream a variant reads, and the whole buffer (the core takes a small one whole). */
export interface ObjectBody {
  stream: () => AsyncIterable<Uint8Array>;
  whole?: Buffer;
}

export function makeVariant(
  variant: Variant,
  options: ForwardOptions = defaultForwardOptions(),
  inject: ExperimentInjections = {},
): (body: ObjectBody, key: string) => Promise<ObjectResult> {
  const streamed =
    (run: (body: AsyncIterable<Uint8Array>, key: string) => Promise<ObjectResult>) => (body: ObjectBody, key: string) =>
      run(body.stream(), key);
  if (variant === 'core') return coreVariant(options, inject);
  if (variant === 'decode' || variant === 'split' || variant === 'batch') {
    return (body) => coreUpTo(variant, asForwardObjectReads(body), options);
  }
  return streamed(streamingVariant(variant, options));
}

/** The body as forwardObject hands it to forwardRecords: a small object whole, anything else as a stream. */
function asForwardObjectReads(body: ObjectBody): AsyncIterable<Uint8Array> {
  // A Buffer only where WHOLE_OBJECT_MAX_BYTES says the pipeline takes one (the cast keeps old trees compiling).
  return (
    body.whole !== undefined && body.whole.length <= WHOLE_OBJECT_MAX_BYTES ? body.whole : body.stream()
  ) as AsyncIterable<Uint8Array>;
}

function coreVariant(
  options: ForwardOptions,
  inject: ExperimentInjections,
): (body: ObjectBody, key: string) => Promise<ObjectResult> {
  return async (body, key) => {
    const { sink, counted } = productionSink(inject);
    const result = await forwardRecords(
      asForwardObjectReads(body),
      { bucket: 'bench-bucket', key, kind: 'log' },
      sink,
      options,
    );
    if (result.outcome !== 'forwarded') throw new Error(`${key}: outcome ${result.outcome}`);
    return {
      records: result.recordsRead,
      bytes: result.bytesDecompressed,
      bytesOut: counted.bytesSent,
      batches: counted.requests,
    };
  };
}

function streamingVariant(
  variant: Exclude<Variant, 'core' | 'decode' | 'split' | 'batch'>,
  options: ForwardOptions,
): (body: AsyncIterable<Uint8Array>, key: string) => Promise<ObjectResult> {
  switch (variant) {
    case 'gunzip':
      return async (body) => {
        const out = new CountingWritable();
        await pipeline(body, createGunzip({ chunkSize: GUNZIP_CHUNK_BYTES }), out);
        return { bytes: out.bytes, bytesOut: 0, batches: 0 };
      };
    case 'floor':
      return async (body) => {
        let inflated = 0;
        const out = new CountingWritable();
        await pipeline(
          body,
          createGunzip({ chunkSize: GUNZIP_CHUNK_BYTES }),
          async function* (source: AsyncIterable<Buffer>) {
            for await (const chunk of source) {
              inflated += chunk.length;
              yield chunk;
            }
          },
          createGzip({ level: DOWNSTREAM_GZIP_LEVEL }),
          out,
        );
        return { bytes: inflated, bytesOut: out.bytes, batches: 0 };
      };
    case 'naive':
      return (body) => naive(body, options);
  }
}

/**
 * forwardRecords' loop (lambdas/ingest/pipeline.ts, default settings: no filter) stopped after a stage.
 * Keep in step with forwardRecords when it changes. The batch stage encodes into one reused buffer, as the
 * sink's pool gives the same few buffers back (sinks/buffer-pool.ts).
 */
async function coreUpTo(
  stage: 'decode' | 'split' | 'batch',
  body: AsyncIterable<Uint8Array>,
  options: ForwardOptions,
): Promise<ObjectResult> {
  const decoded = decodeObject(body, { maxDecompressedBytes: options.maxDecompressedBytes });
  const splitter = stage === 'decode' ? undefined : new RecordSplitter({ maxRecordBytes: options.maxRecordBytes });
  let scratch = Buffer.alloc(0);
  const batcher =
    stage === 'batch'
      ? new RecordBatcher(
          options.batchLimits,
          (batch) => {
            NDJSON_INTAKE.encode(batch.records, (size) => {
              if (scratch.length < size) scratch = Buffer.allocUnsafeSlow(size);
              return scratch.subarray(0, size);
            });
            return Promise.resolve();
          },
          { maxInFlight: options.maxInFlightBatches, recordOverheadBytes: NDJSON_INTAKE.recordOverheadBytes },
        )
      : undefined;
  let records = 0;
  for await (const chunk of decoded.chunks) {
    if (!splitter) continue;
    const out = splitter.write(chunk);
    records += out.length;
    if (batcher && out.length > 0) {
      batcher.add(out);
      await batcher.ready();
    }
  }
  splitter?.end();
  const totals = await batcher?.finish();
  return {
    ...(splitter ? { records } : {}),
    bytes: decoded.stats.bytesOut,
    bytesOut: 0,
    batches: totals?.batches ?? 0,
  };
}

/**
 * What one writes without a streaming splitter: the whole object in memory, parsed, every record re-serialised.
 * Batched like the core (same limits, same number of compressions in flight), so that only the parsing differs.
 */
async function naive(body: AsyncIterable<Uint8Array>, options: ForwardOptions): Promise<ObjectResult> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
  const inflated = await gunzipAsync(Buffer.concat(chunks));
  const { Records: records } = JSON.parse(inflated.toString('utf8')) as { Records: unknown[] };
  const { maxBatchBytes, maxBatchRecords } = options.batchLimits;
  let bytesOut = 0;
  let batches = 0;
  const inFlight = new Set<Promise<void>>();
  let lines: string[] = [];
  let size = 0;
  const flush = async () => {
    const ndjson = Buffer.from(lines.join('\n') + '\n');
    lines = [];
    size = 0;
    const job = gzipAsync(ndjson, { level: DOWNSTREAM_GZIP_LEVEL }).then((compressed) => {
      bytesOut += compressed.length;
      batches += 1;
      inFlight.delete(job);
    });
    inFlight.add(job);
    if (inFlight.size >= options.maxInFlightBatches) await Promise.race(inFlight);
  };
  for (const record of records) {
    const line = JSON.stringify(record);
    const lineBytes = Buffer.byteLength(line) + 1;
    if (lines.length > 0 && size + lineBytes > maxBatchBytes) await flush();
    lines.push(line);
    size += lineBytes;
    if (lines.length >= maxBatchRecords || size >= maxBatchBytes) await flush();
  }
  if (lines.length > 0) await flush();
  await Promise.all(inFlight);
  return { records: records.length, bytes: inflated.length, bytesOut, batches };
}
