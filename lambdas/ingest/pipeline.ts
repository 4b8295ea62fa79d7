import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { idempotencyKey } from './idempotency';
import { describeObject, type RecordObject } from './log-object';
import { FILTER_FIELDS, filterIsActive, keepRecords, type RecordFilter } from './records/filters';
import { decodeObject, wholeOutputBound, type DecodeOptions } from './records/object-decoder';
import { RecordSplitter } from './records/record-splitter';
import { RecordBatcher, type BatchLimits } from './sinks/batcher';
import {
  KmsReadError,
  abortableBody,
  deadlineSignal,
  goneCode,
  isKmsReadFailure,
  readDeadlineError,
  readWholeBody,
  type GoneCode,
} from './s3-read';
import type { Sink } from './sinks/sink';
import type { RecordWatch, TamperTriggers } from './source/tamper-triggers';
import type { ByteBudget, Gate } from '../shared/concurrency';

/**
 * One log object through ingest (docs/architecture.md, "Ingest"): GetObject (the source's read) -> records
 * (decode, split, filter) -> sink (batches keyed by idempotency key). The source (source/sqs-batch.ts) decides
 * which objects to read; the sink decides how batches reach the downstream.
 */
export interface ForwardOptions {
  maxDecompressedBytes: number;
  maxRecordBytes: number;
  batchLimits: BatchLimits;
  maxInFlightBatches: number;
  filter: RecordFilter;
  /**
   * Epoch ms after which no downstream attempt may start (the Lambda's deadline less a margin). The S3 read
   * (GetObject and the body) is aborted then too.
   */
  deadline: number;
  /** Aborts the S3 read instead of a timer at `deadline` (tests; a caller with its own deadline signal). */
  signal?: AbortSignal;
  /**
   * Held while an object larger than SMALL_OBJECT_MAX_BYTES (or of unknown length) is read: MESSAGE_CONCURRENCY
   * bounds the objects in flight, this bounds the large ones, whose batches and buffers are what takes memory.
   */
  largeObjects?: Gate;
  /**
   * Reserved while an object read whole is decoded and forwarded (WHOLE_READ_BUDGET_MB): what its decompressed
   * output and the batches made of it may hold (wholeReadReservation). MESSAGE_CONCURRENCY small files fit many
   * times over; a few that decompress to the most (16 MiB each) take turns instead of filling the function's memory.
   */
  wholeReads?: ByteBudget;
  /**
   * Recognises chain-changing API calls in the forwarded records of the tenant's own files and sends that
   * account's reconcile job (source/tamper-triggers.ts). Absent: records are not looked at.
   */
  tamper?: Pick<TamperTriggers, 'watch'>;
}

export interface ObjectCounts {
  /** Records read from the object's `Records` array. */
  recordsRead: number;
  recordsForwarded: number;
  recordsFiltered: number;
  /** Bytes fetched from S3 (compressed when the object is gzip). */
  bytesIn: number;
  /** Decompressed bytes read from the object. */
  bytesDecompressed: number;
  /** Encoded bytes handed to the sink (before its own compression). */
  bytesOut: number;
  batches: number;
  durationMs: number;
}

/**
 * What was read of an object read to its end: the SHA-256 of its uncompressed bytes (lower-case hex, what a
 * CloudTrail digest lists as the file's `hashValue`; their count is `bytesDecompressed`), and the version read
 * (GetObject's VersionId and ETag, not the notification's). The ledger records it (docs/completeness.md).
 */
export interface ReadFile {
  sha256: string;
  versionId?: string;
  etag?: string;
}

export type ForwardResult =
  | ({ outcome: 'forwarded'; empty: boolean } & ObjectCounts & ReadFile)
  /** NoSuchKey, or NoSuchVersion: the announced version was deleted before it was read. */
  | ({ outcome: 'missing'; missing: GoneCode } & ObjectCounts)
  | ({ outcome: 'no-records' } & ObjectCounts & ReadFile);

function zeroCounts(): ObjectCounts {
  return {
    recordsRead: 0,
    recordsForwarded: 0,
    recordsFiltered: 0,
    bytesIn: 0,
    bytesDecompressed: 0,
    bytesOut: 0,
    batches: 0,
    durationMs: 0,
  };
}

/**
 * Streams one CloudTrail object from S3 to the sink. The object as read is the announced one with GetObject's
 * VersionId and ETag (both from the answer, the notification's dropped): they name the version whose bytes are
 * forwarded, hence the idempotency keys. Memory stays bounded by the batch limits whatever the object's size.
 * Resolves only when every batch was acknowledged; any error rejects (the message then fails and is redelivered,
 * and the idempotency keys let the downstream drop the batches it already has).
 */
export async function forwardObject(
  s3: S3Client,
  object: RecordObject,
  expectedOwner: string,
  sink: Sink,
  options: ForwardOptions,
): Promise<ForwardResult> {
  const started = Date.now();
  const counts = zeroCounts();
  const timer = options.signal === undefined ? deadlineSignal(options.deadline, started) : undefined;
  const signal = options.signal ?? timer!.signal;
  let releaseLarge: (() => void) | undefined;
  let releaseWhole: (() => void) | undefined;
  try {
    let response;
    try {
      response = await s3.send(
        new GetObjectCommand({
          Bucket: object.bucket,
          Key: object.key,
          ...(object.versionId ? { VersionId: object.versionId } : {}),
          // A bucket owned by anyone but the tenant is never read, whatever the notification says.
          ExpectedBucketOwner: expectedOwner,
        }),
        // SDK v3: the request is destroyed when the signal fires (a stalled answer cannot outlive the invocation).
        { abortSignal: signal },
      );
    } catch (error) {
      const gone = goneCode(error);
      if (gone !== undefined) return { outcome: 'missing', missing: gone, ...counts, durationMs: Date.now() - started };
      if (signal.aborted) throw readDeadlineError(object, 0, error);
      if (isKmsReadFailure(error)) throw new KmsReadError(object, error);
      throw error;
    }
    if (!response.Body) throw new Error(`GetObject returned no body for ${describeObject(object)}`);
    const { versionId: _notified, etag: _notifiedEtag, ...rest } = object;
    const read: RecordObject = {
      ...rest,
      ...(response.VersionId ? { versionId: response.VersionId } : {}),
      ...(response.ETag ? { etag: response.ETag } : {}),
    };
    let bytesRead = 0;
    // The stream itself goes to abortableBody, which destroys it on abort (releasing a stalled socket).
    const stream = abortableBody(response.Body as AsyncIterable<Uint8Array>, signal, () =>
      readDeadlineError(object, bytesRead),
    );
    const length = response.ContentLength;
    // The headers are in and the body not yet read: a large object waits here for its turn (the socket idles).
    if (options.largeObjects && !(length !== undefined && length <= SMALL_OBJECT_MAX_BYTES)) {
      releaseLarge = await options.largeObjects.acquire();
    }
    // Most log files are a few KB: read whole, they are decoded in one zlib call instead of through two streams.
    let body: Uint8Array | AsyncIterable<Uint8Array>;
    let whole: WholeDecode | undefined;
    if (length !== undefined && length <= WHOLE_OBJECT_MAX_BYTES) {
      body = await readWholeBody(stream, length, object, (n) => (bytesRead += n));
      // What it may decompress to in one piece is reserved first; more than that is decoded as a stream.
      const maxWholeOutputBytes = wholeOutputBound(body);
      try {
        releaseWhole = await options.wholeReads?.acquire(
          wholeReadReservation(body.length, maxWholeOutputBytes),
          signal,
        );
      } catch (error) {
        if (signal.aborted) throw readDeadlineError(object, bytesRead, error);
        throw error;
      }
      whole = {
        maxWholeOutputBytes,
        // Streamed after all: what was reserved goes back, and the object takes a streamed object's turn (waiting
        // for it holds nothing of the budget, so budget and gate cannot wait on each other).
        beforeStream: async () => {
          releaseWhole?.();
          releaseWhole = undefined;
          if (options.largeObjects && releaseLarge === undefined) releaseLarge = await options.largeObjects.acquire();
        },
      };
    } else {
      body = counting(stream, (n) => (bytesRead += n));
    }

    const watch = options.tamper?.watch(read, expectedOwner);
    const result = await forwardRecords(body, read, sink, options, counts, watch, whole);
    result.durationMs = Date.now() - started;
    return result;
  } finally {
    releaseWhole?.();
    releaseLarge?.();
    timer?.dispose();
  }
}

/**
 * Objects up to this size (compressed, as S3 stores them) are read into one buffer before they are decoded;
 * larger ones are streamed, so that memory stays bounded by the batches whatever the object's size. A 1 MiB
 * CloudTrail file is ~8 MB of JSON, ~20 ms of work.
 */
export const WHOLE_OBJECT_MAX_BYTES = 1024 * 1024;

/**
 * Objects up to this size (compressed) pass the large-object gate: ~90% of CloudTrail files are under 64 KiB, and
 * 256 KiB of gzip is ~2-4 MB of JSON, so MESSAGE_CONCURRENCY of them at once stay in tens of MB.
 */
export const SMALL_OBJECT_MAX_BYTES = 256 * 1024;

/** How an object read whole is decoded: in one piece up to what was reserved for it, else as a stream. */
type WholeDecode = Required<Pick<DecodeOptions, 'maxWholeOutputBytes' | 'beforeStream'>>;

/**
 * The bytes an object read whole holds while it is forwarded: the body, its decompressed output, and about as much
 * again in the batches encoded from it (a small file's records fit one batch).
 */
export function wholeReadReservation(bodyBytes: number, outputBytes: number): number {
  return bodyBytes + 2 * outputBytes;
}

async function* counting(body: AsyncIterable<Uint8Array>, add: (bytes: number) => void): AsyncGenerator<Uint8Array> {
  for await (const chunk of body) {
    add(chunk.byteLength);
    yield chunk;
  }
}

/**
 * The S3-independent core: bytes in (a stream, or a whole small object), batches out. Benchmarks and tests call
 * it directly.
 */
export async function forwardRecords(
  body: AsyncIterable<Uint8Array> | Uint8Array,
  object: RecordObject,
  sink: Sink,
  options: ForwardOptions,
  counts: ObjectCounts = zeroCounts(),
  watch?: RecordWatch,
  whole?: WholeDecode,
): Promise<ForwardResult> {
  const decoded = decodeObject(body, { maxDecompressedBytes: options.maxDecompressedBytes, ...whole });
  const filtering = filterIsActive(options.filter);
  const splitter = new RecordSplitter({
    maxRecordBytes: options.maxRecordBytes,
    ...(filtering ? { fields: FILTER_FIELDS } : {}),
  });
  const batcher = new RecordBatcher(
    options.batchLimits,
    async (batch) => {
      await sink.send(
        { object, index: batch.index, records: batch.records },
        { idempotencyKey: idempotencyKey(object, batch.index), deadline: options.deadline },
      );
    },
    { maxInFlight: options.maxInFlightBatches, recordOverheadBytes: sink.recordOverheadBytes },
  );

  // Over the decoded chunks as they pass (one update each; an object read whole is decoded into one buffer, cut
  // into a few large chunks): the hash costs no extra read of the object.
  const hash = createHash('sha256');
  try {
    for await (const chunk of decoded.chunks) {
      hash.update(chunk);
      let records = splitter.write(chunk);
      counts.recordsRead += records.length;
      if (filtering && records.length > 0) {
        const kept = keepRecords(records, splitter.fields, options.filter);
        counts.recordsFiltered += records.length - kept.length;
        records = kept;
      }
      if (records.length > 0) {
        watch?.see(records);
        batcher.add(records);
        await batcher.ready();
      }
    }
    // A 0-byte object holds no JSON at all: acknowledged as empty rather than failed as malformed.
    if (decoded.stats.bytesIn > 0) splitter.end();
  } catch (error) {
    await batcher.abandon();
    throw error;
  }
  const totals = await batcher.finish();
  // Every record was acknowledged: a recognised call sends its job now (best effort, never throws).
  await watch?.done();
  counts.recordsForwarded = totals.records;
  counts.batches = totals.batches;
  counts.bytesOut = totals.bytes;
  counts.bytesIn = decoded.stats.bytesIn;
  counts.bytesDecompressed = decoded.stats.bytesOut;
  const file: ReadFile = {
    sha256: hash.digest('hex'),
    ...(object.versionId ? { versionId: object.versionId } : {}),
    ...(object.etag ? { etag: object.etag } : {}),
  };
  if (decoded.stats.bytesIn === 0) return { outcome: 'forwarded', empty: true, ...counts, ...file };
  if (!splitter.sawRecords) return { outcome: 'no-records', ...counts, ...file };
  return { outcome: 'forwarded', empty: false, ...counts, ...file };
}
