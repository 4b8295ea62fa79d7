import { Readable, pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { PermanentInputError } from '../../shared/errors';

/** The object decompresses (or, plain, is) larger than the configured cap. */
export class DecompressedSizeLimitError extends PermanentInputError {}

/** The gzip stream is truncated or corrupt. */
export class TruncatedObjectError extends PermanentInputError {}

export interface DecodeOptions {
  /** Cap on decompressed bytes (MAX_DECOMPRESSED_BYTES), enforced while streaming. */
  maxDecompressedBytes: number;
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
 * decompressed as a stream, anything else passes through. Stops with DecompressedSizeLimitError as soon as
 * the output exceeds the cap, and with TruncatedObjectError when the gzip stream is cut short or corrupt.
 * Errors of the body itself (network) pass through unchanged, so that the caller can retry them.
 * A 0-byte body yields nothing.
 */
export function decodeObject(body: AsyncIterable<Uint8Array>, options: DecodeOptions): DecodedObject {
  const stats: DecodeStats = { compressed: false, bytesIn: 0, bytesOut: 0 };
  return { chunks: decode(body, options.maxDecompressedBytes, stats), stats };
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
    stats.compressed = start[0] === GZIP_MAGIC_0 && start[1] === GZIP_MAGIC_1;

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
    if (isZlibError(error)) {
      throw new TruncatedObjectError(
        `gzip stream is truncated or corrupt after ${stats.bytesIn} compressed bytes: ${error.message}`,
        { cause: error },
      );
    }
    throw error;
  } finally {
    inflater.destroy();
    source.destroy();
  }
}

/** Counts bytes going out and refuses the chunk that would take the total over the cap. */
function countOut(chunk: Buffer, cap: number, stats: DecodeStats, compressed: boolean): Buffer {
  stats.bytesOut += chunk.length;
  if (stats.bytesOut > cap) {
    throw new DecompressedSizeLimitError(
      compressed
        ? `object decompresses to more than ${cap} bytes (limit MAX_DECOMPRESSED_BYTES): refusing a possible gzip bomb`
        : `object is larger than ${cap} bytes (limit MAX_DECOMPRESSED_BYTES)`,
    );
  }
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
