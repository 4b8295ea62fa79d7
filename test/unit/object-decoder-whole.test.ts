import { gzipSync } from 'node:zlib';
import {
  DecompressedSizeLimitError,
  TruncatedObjectError,
  WHOLE_OUTPUT_MAX_BYTES,
  decodeObject,
  wholeOutputBound,
  type DecodeOptions,
  type DecodeStats,
} from '../../lambdas/ingest/records/object-decoder';
import { PermanentInputError } from '../../lambdas/shared/errors';

/**
 * decodeObject on a whole object (a Buffer, as forwardObject reads a small one): one synchronous zlib call instead
 * of a stream, with the same bytes, chunks, stats and errors as the streaming decoder (object-decoder.test.ts).
 */

const NO_CAP = { maxDecompressedBytes: Number.MAX_SAFE_INTEGER };
const LOG = Buffer.from(JSON.stringify({ Records: [{ eventName: 'GetObject', n: 1 }] }));

async function* streamOf(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let offset = 0; offset < bytes.length; offset += size) {
    await Promise.resolve();
    yield bytes.subarray(offset, offset + size);
  }
}

async function decode(
  source: AsyncIterable<Uint8Array> | Uint8Array,
  options: DecodeOptions = NO_CAP,
): Promise<{ output?: Buffer; error?: unknown; stats: DecodeStats; sizes: number[] }> {
  const { chunks, stats } = decodeObject(source, options);
  const parts: Buffer[] = [];
  try {
    for await (const chunk of chunks) parts.push(chunk);
  } catch (error) {
    return { error, stats, sizes: parts.map((part) => part.length) };
  }
  return { output: Buffer.concat(parts), stats, sizes: parts.map((part) => part.length) };
}

describe('decodeObject on a whole object', () => {
  it('passes plain JSON through unchanged and counts it', async () => {
    const { output, stats } = await decode(LOG);
    expect(output!.equals(LOG)).toBe(true);
    expect(stats).toEqual({ compressed: false, bytesIn: LOG.length, bytesOut: LOG.length });
  });

  it('decompresses gzip detected by its magic bytes', async () => {
    const gz = gzipSync(LOG);
    const { output, stats } = await decode(gz);
    expect(output!.equals(LOG)).toBe(true);
    expect(stats).toEqual({ compressed: true, bytesIn: gz.length, bytesOut: LOG.length });
  });

  it('passes through one-byte objects and one starting with only the first magic byte', async () => {
    expect((await decode(Buffer.from('x'))).output!.toString()).toBe('x');
    const almostGzip = Buffer.from([0x1f, 0x7b, 0x7d]);
    const { output, stats } = await decode(almostGzip);
    expect(output!.equals(almostGzip)).toBe(true);
    expect(stats.compressed).toBe(false);
  });

  it('yields nothing for a 0-byte object', async () => {
    const { output, stats, sizes } = await decode(Buffer.alloc(0));
    expect(sizes).toEqual([]);
    expect(output!.length).toBe(0);
    expect(stats).toEqual({ compressed: false, bytesIn: 0, bytesOut: 0 });
  });

  it('decompresses concatenated members, whose last trailer gives only the last size', async () => {
    const first = Buffer.alloc(300_000, 'a');
    const members = [gzipSync(Buffer.concat([Buffer.from('{"Records":['), first])), gzipSync('{"b":2}]}')];
    const { output } = await decode(Buffer.concat(members));
    expect(output!.equals(Buffer.concat([Buffer.from('{"Records":['), first, Buffer.from('{"b":2}]}')]))).toBe(true);
  });

  it('yields the output in the streaming decoder chunk size, so that backpressure works the same', async () => {
    const large = Buffer.alloc(1024 * 1024 + 5, 'abcdefgh');
    const { output, sizes } = await decode(gzipSync(large));
    expect(output!.equals(large)).toBe(true);
    expect(sizes).toEqual([256 * 1024, 256 * 1024, 256 * 1024, 256 * 1024, 5]);
  });

  it.each([
    ['cut in the middle of the deflate data', (gz: Buffer) => gz.subarray(0, Math.floor(gz.length / 2))],
    ['missing its trailer', (gz: Buffer) => gz.subarray(0, gz.length - 4)],
    ['only a header', (gz: Buffer) => gz.subarray(0, 10)],
  ])('fails a gzip stream %s with TruncatedObjectError', async (_name, cut) => {
    const { error } = await decode(cut(gzipSync(LOG)));
    expect(error).toBeInstanceOf(TruncatedObjectError);
    expect(error).toBeInstanceOf(PermanentInputError);
    expect((error as Error).message).toMatch(/gzip stream is truncated or corrupt.*unexpected end of file/);
  });

  it('fails a corrupt gzip stream with TruncatedObjectError', async () => {
    const gz = gzipSync(LOG);
    gz[gz.length - 6] = (gz[gz.length - 6] ?? 0) ^ 0xff; // CRC32 of the trailer
    const { error } = await decode(gz);
    expect(error).toBeInstanceOf(TruncatedObjectError);
    expect((error as Error).message).toMatch(/truncated or corrupt.*incorrect data check/);
  });

  it('refuses a gzip bomb with the message of the streaming decoder, having yielded nothing', async () => {
    const cap = 1024 * 1024;
    const { error, sizes, stats } = await decode(gzipSync(Buffer.alloc(50 * 1024 * 1024)), {
      maxDecompressedBytes: cap,
    });
    expect(error).toBeInstanceOf(DecompressedSizeLimitError);
    expect((error as Error).message).toBe(
      `object decompresses to more than ${cap} bytes (limit MAX_DECOMPRESSED_BYTES): refusing a possible gzip bomb`,
    );
    expect(sizes).toEqual([]);
    expect(stats.bytesOut).toBeGreaterThan(cap);
  });

  it('decodes a small object that decompresses past WHOLE_OUTPUT_MAX_BYTES as a stream (bounded memory)', async () => {
    const huge = Buffer.alloc(WHOLE_OUTPUT_MAX_BYTES + 3 * 256 * 1024 + 1, 'a');
    const gz = gzipSync(huge);
    expect(gz.length).toBeLessThan(1024 * 1024);
    const { output, stats, sizes } = await decode(gz);
    expect(output!.equals(huge)).toBe(true);
    expect(stats).toEqual({ compressed: true, bytesIn: gz.length, bytesOut: huge.length });
    // Streamed: in the gunzip stream's chunks, never one buffer of the whole output.
    expect(Math.max(...sizes)).toBeLessThanOrEqual(256 * 1024);
    const capped = await decode(gz, { maxDecompressedBytes: WHOLE_OUTPUT_MAX_BYTES + 1000 });
    expect(capped.error).toBeInstanceOf(DecompressedSizeLimitError);
  });

  it('bounds what a whole object is decompressed to by its trailer, and decodes one that says less as a stream', async () => {
    const json = Buffer.alloc(200_000, 'a');
    const gz = gzipSync(json);
    // The trailer's size plus one (gunzipSync's maxOutputLength is exclusive of nothing more).
    expect(wholeOutputBound(gz)).toBe(json.length + 1);
    expect(wholeOutputBound(LOG)).toBe(LOG.length);
    // A lying trailer (here 0) is believed only as far as the decode: past the bound it is streamed, same bytes.
    const lying = Buffer.from(gz);
    lying.writeUInt32LE(0, lying.length - 4);
    expect(wholeOutputBound(lying)).toBe(1);
    const members = Buffer.concat([gzipSync(json), gzipSync('tail')]);
    for (const body of [gz, members]) {
      const whole = await decode(body, { ...NO_CAP, maxWholeOutputBytes: wholeOutputBound(body) });
      expect(whole.output!.equals((await decode(streamOf(body, 4096))).output!)).toBe(true);
    }
    const streamed = await decode(members, { ...NO_CAP, maxWholeOutputBytes: wholeOutputBound(members) });
    expect(Math.max(...streamed.sizes)).toBeLessThanOrEqual(256 * 1024);
    expect(streamed.stats).toEqual({ compressed: true, bytesIn: members.length, bytesOut: json.length + 4 });
    // The trailer is the CRC's neighbour: a lying one is refused as corrupt, whichever decoder finds it.
    expect((await decode(lying, { ...NO_CAP, maxWholeOutputBytes: 1 })).error).toBeInstanceOf(TruncatedObjectError);
    // Never more than deflate can expand to (~1032:1) nor WHOLE_OUTPUT_MAX_BYTES, whatever the trailer says.
    const claims = Buffer.from(gz);
    claims.writeUInt32LE(0xffffffff, claims.length - 4);
    expect(wholeOutputBound(claims)).toBe(claims.length * 1032);
    const big = gzipSync(Buffer.alloc(300_000, 'b'));
    const bigClaims = Buffer.concat([big, Buffer.alloc(20_000), big]);
    bigClaims.writeUInt32LE(0xffffffff, bigClaims.length - 4);
    expect(wholeOutputBound(bigClaims)).toBe(WHOLE_OUTPUT_MAX_BYTES);
  });

  it('applies the cap to plain objects too, and accepts an object of exactly the cap', async () => {
    const { error } = await decode(Buffer.alloc(5000, 0x20), { maxDecompressedBytes: 4096 });
    expect(error).toBeInstanceOf(DecompressedSizeLimitError);
    expect((error as Error).message).toBe('object is larger than 4096 bytes (limit MAX_DECOMPRESSED_BYTES)');
    expect((await decode(gzipSync(LOG), { maxDecompressedBytes: LOG.length })).stats.bytesOut).toBe(LOG.length);
    const over = await decode(gzipSync(LOG), { maxDecompressedBytes: LOG.length - 1 });
    expect(over.error).toBeInstanceOf(DecompressedSizeLimitError);
  });

  it('gives the streaming decoder bytes and errors on the same inputs, whatever the chunking', async () => {
    const records = Buffer.from(
      JSON.stringify({ Records: Array.from({ length: 300 }, (_, n) => ({ n, s: 'é'.repeat(n) })) }),
    );
    const gz = gzipSync(records);
    const inputs = [
      records,
      gz,
      Buffer.concat([gz, gzipSync('')]),
      gz.subarray(0, gz.length - 1),
      Buffer.concat([gz, Buffer.alloc(8)]),
      Buffer.concat([gz, Buffer.from('trailing garbage')]),
    ];
    for (const input of inputs) {
      const whole = await decode(input);
      for (const size of [1, 7, 4096]) {
        const streamed = await decode(streamOf(input, size));
        expect(whole.output?.toString('hex')).toBe(streamed.output?.toString('hex'));
        expect((whole.error as Error | undefined)?.constructor).toBe(
          (streamed.error as Error | undefined)?.constructor,
        );
        if (!whole.error) expect(whole.stats).toEqual(streamed.stats);
      }
    }
  });
});
