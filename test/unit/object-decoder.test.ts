import { gzipSync } from 'node:zlib';
import {
  DecompressedSizeLimitError,
  TruncatedObjectError,
  decodeObject,
  type DecodeStats,
} from '../../lambdas/ingest/records/object-decoder';
import { PermanentInputError } from '../../lambdas/shared/errors';

const NO_CAP = { maxDecompressedBytes: Number.MAX_SAFE_INTEGER };

/** A body that yields `bytes` in chunks of `size` and records how far it was read and whether it was closed. */
function body(bytes: Uint8Array, size = 64 * 1024): AsyncIterable<Uint8Array> & { read: number; closed: boolean } {
  const state = {
    read: 0,
    closed: false,
    async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array> {
      try {
        for (let offset = 0; offset < bytes.length; offset += size) {
          const chunk = bytes.subarray(offset, offset + size);
          state.read += chunk.length;
          await Promise.resolve();
          yield chunk;
        }
      } finally {
        state.closed = true;
      }
    },
  };
  return state;
}

async function decodeAll(
  source: AsyncIterable<Uint8Array>,
  options = NO_CAP,
): Promise<{ output: Buffer; stats: DecodeStats; chunks: number }> {
  const { chunks, stats } = decodeObject(source, options);
  const parts: Buffer[] = [];
  for await (const chunk of chunks) parts.push(chunk);
  return { output: Buffer.concat(parts), stats, chunks: parts.length };
}

async function decodeError(source: AsyncIterable<Uint8Array>, options = NO_CAP): Promise<unknown> {
  try {
    await decodeAll(source, options);
  } catch (error) {
    return error;
  }
  throw new Error('decoding did not fail');
}

const LOG = Buffer.from(JSON.stringify({ Records: [{ eventName: 'GetObject', n: 1 }] }));

describe('decodeObject', () => {
  it('passes plain JSON through unchanged and counts it', async () => {
    const { output, stats } = await decodeAll(body(LOG, 7));
    expect(output.equals(LOG)).toBe(true);
    expect(stats).toEqual({ compressed: false, bytesIn: LOG.length, bytesOut: LOG.length });
  });

  it('decompresses gzip detected by its magic bytes, whatever the key says', async () => {
    const gz = gzipSync(LOG);
    const { output, stats } = await decodeAll(body(gz));
    expect(output.equals(LOG)).toBe(true);
    expect(stats).toEqual({ compressed: true, bytesIn: gz.length, bytesOut: LOG.length });
  });

  it('detects gzip when the magic bytes arrive in separate one-byte chunks', async () => {
    const gz = gzipSync(LOG);
    const { output, stats } = await decodeAll(body(gz, 1));
    expect(output.equals(LOG)).toBe(true);
    expect(stats.compressed).toBe(true);
  });

  it('passes through a plain one-byte object and one starting with only the first magic byte', async () => {
    expect((await decodeAll(body(Buffer.from('x')))).output.toString()).toBe('x');
    const almostGzip = Buffer.from([0x1f, 0x7b, 0x7d]);
    const { output, stats } = await decodeAll(body(almostGzip, 1));
    expect(output.equals(almostGzip)).toBe(true);
    expect(stats.compressed).toBe(false);
  });

  it('decompresses concatenated gzip members', async () => {
    const members = [Buffer.from('{"Records":['), Buffer.from('{"a":1},'), Buffer.from('{"b":2}]}')];
    const gz = Buffer.concat(members.map((member) => gzipSync(member)));
    const { output } = await decodeAll(body(gz, 5));
    expect(output.toString()).toBe('{"Records":[{"a":1},{"b":2}]}');
  });

  it('streams large objects in large chunks', async () => {
    const large = Buffer.alloc(8 * 1024 * 1024, 'abcdefgh');
    const { output, stats, chunks } = await decodeAll(body(gzipSync(large)));
    expect(output.equals(large)).toBe(true);
    expect(stats.bytesOut).toBe(large.length);
    expect(chunks).toBeLessThanOrEqual(large.length / (128 * 1024));
  });

  it('yields nothing for a 0-byte body', async () => {
    const { output, stats, chunks } = await decodeAll(body(Buffer.alloc(0)));
    expect(chunks).toBe(0);
    expect(output.length).toBe(0);
    expect(stats).toEqual({ compressed: false, bytesIn: 0, bytesOut: 0 });
  });

  it.each([
    ['cut in the middle of the deflate data', (gz: Buffer) => gz.subarray(0, Math.floor(gz.length / 2))],
    ['missing its trailer', (gz: Buffer) => gz.subarray(0, gz.length - 4)],
    ['only a header', (gz: Buffer) => gz.subarray(0, 10)],
  ])('fails a gzip stream %s with TruncatedObjectError', async (_name, cut) => {
    const error = await decodeError(body(cut(gzipSync(LOG)), 16));
    expect(error).toBeInstanceOf(TruncatedObjectError);
    expect(error).toBeInstanceOf(PermanentInputError);
    expect((error as Error).message).toMatch(/gzip stream is truncated or corrupt.*unexpected end of file/);
  });

  it('fails a corrupt gzip stream with TruncatedObjectError', async () => {
    const gz = gzipSync(LOG);
    gz[gz.length - 6] = (gz[gz.length - 6] ?? 0) ^ 0xff; // CRC32 of the trailer
    const error = await decodeError(body(gz));
    expect(error).toBeInstanceOf(TruncatedObjectError);
    expect((error as Error).message).toMatch(/truncated or corrupt.*incorrect data check/);
  });

  it('refuses a gzip bomb as soon as the cap is passed', async () => {
    const cap = 1024 * 1024;
    // Eight gzip members of 50 MiB of zeros each (~400 KiB compressed): several times the compressed bytes Node's
    // streams read ahead (64 KiB buffers since Node 22, 16 KiB before), so "most was never read" means something.
    const member = gzipSync(Buffer.alloc(50 * 1024 * 1024));
    const bomb = Buffer.concat(Array.from({ length: 8 }, () => member));
    const source = body(bomb, 1024);
    const { chunks, stats } = decodeObject(source, { maxDecompressedBytes: cap });
    let yielded = 0;
    let caught: unknown;
    try {
      for await (const chunk of chunks) yielded += chunk.length;
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(DecompressedSizeLimitError);
    expect(caught).toBeInstanceOf(PermanentInputError);
    expect((caught as Error).message).toBe(
      `object decompresses to more than ${cap} bytes (limit MAX_DECOMPRESSED_BYTES): refusing a possible gzip bomb`,
    );
    expect(yielded).toBeLessThanOrEqual(cap);
    // At most one output chunk past the cap was inflated, and most of the compressed body was never read.
    expect(stats.bytesOut).toBeLessThanOrEqual(cap + 256 * 1024);
    expect(source.read).toBeLessThan(bomb.length / 2);
    expect(source.closed).toBe(true);
  });

  it('applies the cap to plain objects too', async () => {
    const error = await decodeError(body(Buffer.alloc(5000, 0x20), 1000), { maxDecompressedBytes: 4096 });
    expect(error).toBeInstanceOf(DecompressedSizeLimitError);
    expect((error as Error).message).toBe('object is larger than 4096 bytes (limit MAX_DECOMPRESSED_BYTES)');
  });

  it('accepts an object of exactly the cap', async () => {
    const { stats } = await decodeAll(body(gzipSync(LOG)), { maxDecompressedBytes: LOG.length });
    expect(stats.bytesOut).toBe(LOG.length);
  });

  it('passes errors of the body through unchanged, for plain and gzip objects', async () => {
    for (const start of [LOG, gzipSync(LOG)]) {
      const networkError = new Error('socket hang up');
      async function* failing(): AsyncGenerator<Uint8Array> {
        await Promise.resolve();
        yield start.subarray(0, 12);
        throw networkError;
      }
      expect(await decodeError(failing())).toBe(networkError);
    }
  });

  it('stops reading the body when the consumer stops early', async () => {
    const source = body(gzipSync(Buffer.alloc(4 * 1024 * 1024, 'x')), 1024);
    const { chunks } = decodeObject(source, NO_CAP);
    for await (const chunk of chunks) {
      expect(chunk.length).toBeGreaterThan(0);
      break;
    }
    expect(source.closed).toBe(true);
  });
});
