import type { OutgoingHttpHeaders } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { silentLogger } from '../../lambdas/shared/logger';
import { BodyBufferPool } from '../../lambdas/ingest/sinks/buffer-pool';
import { HttpSink, type HttpSinkOptions } from '../../lambdas/ingest/sinks/http-delivery';
import type { HttpResponse, Transport } from '../../lambdas/ingest/sinks/http-transport';
import type { RecordBatch } from '../../lambdas/ingest/sinks/sink';

/**
 * Request bodies come from a pool of reused buffers and are compressed on the main thread when small, on the
 * thread pool when large (http-delivery.ts): what the downstream receives must not depend on either.
 */

const OK: HttpResponse = { status: 200, headers: {}, snippet: '', truncated: false };
const DEADLINE = () => Date.now() + 60_000;

function batch(index: number, records: number, width = 40): RecordBatch {
  return {
    object: { bucket: 'b', key: 'k', kind: 'log' },
    index,
    records: Array.from({ length: records }, (_, n) =>
      Buffer.from(JSON.stringify({ batch: index, n, pad: 'x'.repeat((n * 7 + index) % width) })),
    ),
  };
}

function expectedBody(b: RecordBatch): string {
  return b.records.map((record) => `${record.toString()}\n`).join('');
}

/** A transport that keeps every request and answers after `delayMs` (or with `answer`). */
function recordingTransport(
  delayMs = 0,
  answer: (index: number) => HttpResponse = () => OK,
): Transport & { bodies: Map<string, string>; sent: number } {
  const bodies = new Map<string, string>();
  const state = {
    bodies,
    sent: 0,
    post(body: Buffer, headers: OutgoingHttpHeaders): Promise<HttpResponse> {
      const index = state.sent++;
      bodies.set(String(headers['x-idempotency-key']), gunzipSync(body).toString('utf8'));
      return new Promise((resolve) => setTimeout(() => resolve(answer(index)), delayMs));
    },
    close: () => undefined,
  };
  return state;
}

function sink(transport: Transport, extra: Partial<HttpSinkOptions> = {}): HttpSink {
  return new HttpSink({
    url: 'http://in-process.invalid/',
    timeoutMs: 10_000,
    logger: silentLogger,
    transport,
    ...extra,
  });
}

describe('BodyBufferPool', () => {
  test('gives views of the size asked, from buffers of powers of two from 64 KiB, reused once released', () => {
    const pool = new BodyBufferPool();
    const first = pool.allocate(1000);
    expect(first.length).toBe(1000);
    expect(first.buffer.byteLength).toBe(64 * 1024);
    pool.release(first);
    const second = pool.allocate(60_000);
    expect(second.buffer).toBe(first.buffer);
    const large = pool.allocate(100_000);
    expect(large.buffer.byteLength).toBe(128 * 1024);
    expect(large.buffer).not.toBe(second.buffer);
  });

  test('hands out a buffer to one body at a time', () => {
    const pool = new BodyBufferPool();
    const a = pool.allocate(10);
    const b = pool.allocate(10);
    expect(b.buffer).not.toBe(a.buffer);
    pool.release(a);
    pool.release(a); // twice: ignored, the buffer is not pooled twice
    const c = pool.allocate(10);
    const d = pool.allocate(10);
    expect(c.buffer).toBe(a.buffer);
    expect(d.buffer).not.toBe(a.buffer);
  });

  test('ignores buffers it did not give out, and keeps at most maxPooled, the larger ones', () => {
    const pool = new BodyBufferPool(2);
    pool.release(Buffer.alloc(10));
    expect(pool.pooledBytes).toBe(0);
    const bodies = [pool.allocate(10), pool.allocate(70_000), pool.allocate(200_000)];
    for (const body of bodies) pool.release(body);
    expect(pool.pooledBytes).toBe(128 * 1024 + 256 * 1024);
  });
});

describe('HttpSink request bodies', () => {
  test('compressed on the main thread or on the thread pool, the downstream receives the same bytes', async () => {
    const batches = Array.from({ length: 6 }, (_, i) => batch(i, 50 + i * 40));
    const received: Map<string, string>[] = [];
    for (const syncGzipMaxBytes of [0, Number.MAX_SAFE_INTEGER]) {
      const transport = recordingTransport();
      const s = sink(transport, { syncGzipMaxBytes });
      await Promise.all(batches.map((b) => s.send(b, { idempotencyKey: `key-${b.index}`, deadline: DEADLINE() })));
      received.push(transport.bodies);
    }
    expect(received[0]).toEqual(received[1]);
    for (const b of batches) expect(received[0]!.get(`key-${b.index}`)).toBe(expectedBody(b));
  });

  test('many batches compressing at once on the thread pool each keep their own body (no buffer reused early)', async () => {
    const transport = recordingTransport(2);
    const s = sink(transport, { syncGzipMaxBytes: 0 });
    const batches = Array.from({ length: 24 }, (_, i) => batch(i, 200 + ((i * 37) % 300), 200));
    await Promise.all(batches.map((b) => s.send(b, { idempotencyKey: `key-${b.index}`, deadline: DEADLINE() })));
    for (const b of batches) expect(transport.bodies.get(`key-${b.index}`)).toBe(expectedBody(b));
  });

  test('every body is released once, after its compression, whether the request succeeds, splits or fails', async () => {
    const outstanding = new Set<Buffer>();
    const released: Buffer[] = [];
    const allocate = (size: number) => {
      const body = Buffer.alloc(size);
      outstanding.add(body);
      return body;
    };
    const release = (body: Buffer) => {
      expect(outstanding.delete(body)).toBe(true);
      released.push(body);
    };
    // The first request is too large (413: split in two halves), then one is rejected (400).
    const transport = recordingTransport(0, (index) =>
      index === 0 ? { ...OK, status: 413 } : index === 2 ? { ...OK, status: 400 } : OK,
    );
    const s = sink(transport, { allocate, release });
    const error = await s.send(batch(0, 10), { idempotencyKey: 'k', deadline: DEADLINE() }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect(transport.sent).toBe(3);
    expect(released).toHaveLength(3);
    expect(outstanding.size).toBe(0);
  });
});
