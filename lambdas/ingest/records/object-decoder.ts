import { constants as bufferConstants } from 'node:buffer';
import { Readable, pipeline } from 'node:stream';
import { createGunzip, gunzipSync } from 'node:zlib';
import { PermanentInputError } from '../../shared/errors';

/** The object decompresses (or, plain, is) larger than the configured cap. */
export class DecompressedSizeLimitError extends PermanentInputError {}

/** The gzip stream is truncated or corrupt. */
export class TruncatedObjectError extends PermanentInputError {}

export interface DecodeOptions {
  /** Cap on decompressed bytes (MAX_DECOMPRESSED_BYTES), enforced while streaming. */
  maxDecompressedBytes: number;
  /**
   * The most a whole object is decompressed to in one piece (default WHOLE_OUTPUT_MAX_BYTES): the memory reserved
   * for it (wholeOutputBound). Past it, the object is decoded as a stream instead, after `beforeStream`.
   */
  maxWholeOutputBytes?: number;
  /**
   * Awaited before an object read whole is decoded as a stream after all (it inflates past `maxWholeOutputBytes`):
   * the caller gives back what it reserved for the whole output and takes the turn of a streamed object.
   */
  beforeStream?: () => Promise<void>;
}

export interface DecodeStats {
  /** Whether the object started with the gzip magic bytes; known once the first chunk has been read. */
  compressed: boolean;
  /** Bytes read from the body so far. */
  bytesIn: number;
  /** Bytes yielded so far (decompressed when compressed). */
  bytesOut: number;
}

export interface DecodedObject {
  /** The object's bytes, decompressed if it was gzip. Can be iterated once. */
  chunks: AsyncIterable<Buffer>;
  /** Updated as `chunks` is consumed; final once it is exhausted. */
  stats: DecodeStats;
}

/** Output buffer size of gunzip: large chunks mean fewer stream callbacks and splitter calls. */
const GUNZIP_CHUNK_BYTES = 256 * 1024;
const GZIP_MAGIC_0 = 0x1f;
const GZIP_MAGIC_1 = 0x8b;

/**
 * Decodes an S3 object body: gzip (detected by its magic bytes, concatenated members included) is
 * decompressed, anything else passes through. Stops with DecompressedSizeLimitError as soon as the output
 * exceeds the cap, and with TruncatedObjectError when the gzip stream is cut short or corrupt. Errors of the
 * body itself (network) pass through unchanged, so that the caller can retry them. A 0-byte body yields nothing.
 *
 * The body is a stream (decompressed as it arrives, memory bounded whatever its size), or the whole object read
 * into one buffer (a small one, pipeline.ts): decompressed by one synchronous zlib call, which saves the two
 * streams, their thread-pool round trips and their buffers that dominate the cost of a small file
 * (bench/README.md, "Per concurrent execution"). Both give the same bytes, chunks and errors.
 */
export function decodeObject(body: AsyncIterable<Uint8Array> | Uint8Array, options: DecodeOptions): DecodedObject {
  const stats: DecodeStats = { compressed: false, bytesIn: 0, bytesOut: 0 };
  const chunks =
    body instanceof Uint8Array
      ? decodeWhole(toBuffer(body), options, stats)
      : decode(body, options.maxDecompressedBytes, stats);
  return { chunks, stats };
}

/**
 * The most an object read whole is decompressed to in one piece. Deflate expands up to ~1032:1, so a small
 * object may still be huge once decompressed (a gzip bomb in a tenant's bucket): past this size it is decoded as
 * a stream instead, so that memory stays bounded as for any large object. Real log files of 1 MiB (the most
 * pipeline.ts reads whole) decompress to ~10 MB.
 */
export const WHOLE_OUTPUT_MAX_BYTES = 16 * 1024 * 1024;

/**
 * The most decodeObject makes of a whole object in one piece (what to reserve for it): its own length when it is
 * not gzip; else the size its gzip trailer declares (ISIZE: the last member's, mod 2^32) plus one, at most
 * WHOLE_OUTPUT_MAX_BYTES. A trailer that understates the output (a lie, or concatenated members) costs no memory
 * past the bound in one piece: decoding with it as `maxWholeOutputBytes` falls back to the stream (`beforeStream`).
 * A single member whose trailer lies is corrupt: streamed, its records up to the check are forwarded before
 * TruncatedObjectError, as for any streamed object.
 */
export function wholeOutputBound(body: Uint8Array): number {
  if (!isGzip(body)) return body.length;
  const isize = body.length >= 18 ? toBuffer(body).readUInt32LE(body.length - 4) : 0;
  return Math.min(isize + 1, body.length * MAX_DEFLATE_RATIO, WHOLE_OUTPUT_MAX_BYTES);
}

function isGzip(body: Uint8Array): boolean {
  return body.length >= 2 && body[0] === GZIP_MAGIC_0 && body[1] === GZIP_MAGIC_1;
}

async function* decodeWhole(body: Buffer, options: DecodeOptions, stats: DecodeStats): AsyncGenerator<Buffer> {
  const cap = options.maxDecompressedBytes;
  const maxWholeOutput = options.maxWholeOutputBytes ?? WHOLE_OUTPUT_MAX_BYTES;
  stats.bytesIn = body.length;
  if (body.length === 0) return;
  stats.compressed = isGzip(body);
  let output = body;
  if (stats.compressed) {
    const limit = Math.min(cap + 1, maxWholeOutput, WHOLE_OUTPUT_MAX_BYTES, bufferConstants.MAX_LENGTH);
    try {
      // One output buffer when the last member's ISIZE (its size mod 2^32, trailer) is right: no concatenation.
      // A bigger output than `limit` is refused as soon as it is produced.
      output = gunzipSync(body, { chunkSize: gunzipChunkSize(body, limit), maxOutputLength: limit });
    } catch (error) {
      if ((error as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE') {
        if (limit > cap) {
          stats.bytesOut = cap + 1;
          throw sizeLimitError(cap, true);
        }
        stats.bytesIn = 0;
        await options.beforeStream?.();
        yield* decode(oneChunk(body), cap, stats);
        return;
      }
      if (isZlibError(error)) throw truncatedError(stats.bytesIn, error);
      throw error;
    }
  }
  // In the streaming decoder's chunk size, so that the consumer's backpressure works the same.
  for (let at = 0; at < output.length; at += GUNZIP_CHUNK_BYTES) {
    yield countOut(output.subarray(at, at + GUNZIP_CHUNK_BYTES), cap, stats, stats.compressed);
  }
}

// eslint-disable-next-line @typescript-eslint/require-await -- an async iterable of one chunk, for decode()
async function* oneChunk(body: Buffer): AsyncGenerator<Buffer> {
  yield body;
}

/** Deflate expands at most ~1032:1 (zlib's technical details), so a larger ISIZE is a lie: not trusted for it. */
const MAX_DEFLATE_RATIO = 1032;
const MIN_GUNZIP_CHUNK_BYTES = 16 * 1024;

/** One output buffer of the size the trailer declares (bounded as for the reservation, and by `limit`). */
function gunzipChunkSize(body: Buffer, limit: number): number {
  return Math.max(MIN_GUNZIP_CHUNK_BYTES, Math.min(wholeOutputBound(body), limit));
}

async function* decode(body: AsyncIterable<Uint8Array>, cap: number, stats: DecodeStats): AsyncGenerator<Buffer> {
  const input = body[Symbol.asyncIterator]();
  try {
    // Gather at least two bytes to look for the magic number; chunks can be as short as one byte.
    const head: Buffer[] = [];
    let headBytes = 0;
    while (headBytes < 2) {
      const next = await input.next();
      if (next.done) break;
      const chunk = toBuffer(next.value);
      stats.bytesIn += chunk.length;
      head.push(chunk);
      headBytes += chunk.length;
    }
    if (headBytes === 0) return;
    const start = head.length === 1 ? head[0]! : Buffer.concat(head);
    stats.compressed = isGzip(start);

    if (!stats.compressed) {
      yield countOut(start, cap, stats, false);
      for (let next = await input.next(); !next.done; next = await input.next()) {
        const chunk = toBuffer(next.value);
        stats.bytesIn += chunk.length;
        yield countOut(chunk, cap, stats, false);
      }
      return;
    }
    yield* gunzip(start, input, cap, stats);
  } finally {
    // Stops the body download when the consumer gives up early or an error is thrown.
    await input.return?.();
  }
}

async function* gunzip(
  start: Buffer,
  input: AsyncIterator<Uint8Array>,
  cap: number,
  stats: DecodeStats,
): AsyncGenerator<Buffer> {
  async function* compressedChunks(): AsyncGenerator<Buffer> {
    yield start;
    for (let next = await input.next(); !next.done; next = await input.next()) {
      const chunk = toBuffer(next.value);
      stats.bytesIn += chunk.length;
      yield chunk;
    }
  }
  const source = Readable.from(compressedChunks(), { objectMode: false });
  const inflater = createGunzip({ chunkSize: GUNZIP_CHUNK_BYTES });
  // Errors of either stream surface through the iteration below; pipeline destroys both on any of them.
  pipeline(source, inflater, () => undefined);
  try {
    for await (const chunk of inflater as AsyncIterable<Buffer>) {
      yield countOut(chunk, cap, stats, true);
    }
  } catch (error) {
    if (isZlibError(error)) throw truncatedError(stats.bytesIn, error);
    throw error;
  } finally {
    inflater.destroy();
    source.destroy();
  }
}

function truncatedError(bytesIn: number, error: { message: string }): TruncatedObjectError {
  return new TruncatedObjectError(
    `gzip stream is truncated or corrupt after ${bytesIn} compressed bytes: ${error.message}`,
    { cause: error },
  );
}

function sizeLimitError(cap: number, compressed: boolean): DecompressedSizeLimitError {
  return new DecompressedSizeLimitError(
    compressed
      ? `object decompresses to more than ${cap} bytes (limit MAX_DECOMPRESSED_BYTES): refusing a possible gzip bomb`
      : `object is larger than ${cap} bytes (limit MAX_DECOMPRESSED_BYTES)`,
  );
}

/** Counts bytes going out and refuses the chunk that would take the total over the cap. */
function countOut(chunk: Buffer, cap: number, stats: DecodeStats, compressed: boolean): Buffer {
  stats.bytesOut += chunk.length;
  if (stats.bytesOut > cap) throw sizeLimitError(cap, compressed);
  return chunk;
}

function toBuffer(chunk: Uint8Array): Buffer {
  return Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}

/**
 * zlib errors carry a Z_* code (Z_DATA_ERROR for corrupt data, Z_BUF_ERROR for unexpected end of file).
 * Duck-typed: errors from Node core may come from another realm (Jest's vm contexts), failing instanceof.
 */
function isZlibError(error: unknown): error is { code: string; message: string } {
  if (typeof error !== 'object' || error === null) return false;
  const { code, message } = error as { code?: unknown; message?: unknown };
  return typeof code === 'string' && code.startsWith('Z_') && typeof message === 'string';
}
