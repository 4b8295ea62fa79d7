import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { CollectorError } from '../../lambdas/shared/errors';
import type { LoggerLike } from '../../lambdas/shared/logger';
import {
  DownstreamError,
  HttpSink,
  parseRetryAfter,
  type HttpSinkOptions,
} from '../../lambdas/ingest/sinks/http-delivery';
import type { DeliveryContext, RecordBatch, SendResult } from '../../lambdas/ingest/sinks/sink';

/** What these tests send: an NDJSON body (each line one record, as the NDJSON encoding frames them) and the
 * object's kind and record count beside the delivery context. */
type SendContext = DeliveryContext & { kind: 'log' | 'insight'; recordCount: number };

interface NdjsonSender {
  send(ndjson: Buffer, ctx: SendContext): Promise<SendResult>;
  close(): void;
}

/** The records of an NDJSON body, as the sink receives them from the batcher. */
function batchOf(ndjson: Buffer, kind: 'log' | 'insight'): RecordBatch {
  const records: Buffer[] = [];
  for (let start = 0, end = ndjson.indexOf(0x0a); end !== -1; start = end + 1, end = ndjson.indexOf(0x0a, start)) {
    records.push(ndjson.subarray(start, end));
  }
  return { object: { bucket: 'b', key: 'k', kind }, index: 0, records };
}

const TOKEN = 'tok-SECRET-5f1d2c9a7b';

interface Received {
  key: string;
  headers: IncomingHttpHeaders;
  /** The gunzipped body. */
  body: string;
  at: number;
}

type Reply = { status: number; headers?: Record<string, string>; body?: string } | 'reset' | 'hang';

/** A downstream intake on loopback whose answers each test scripts; it records every request it receives. */
class FakeIntake {
  readonly received: Received[] = [];
  reply: (request: Received, index: number) => Reply = () => ({ status: 200 });
  private readonly server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const request: Received = {
        key: String(req.headers['x-idempotency-key']),
        headers: req.headers,
        body: req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw).toString('utf8') : raw.toString('utf8'),
        at: Date.now(),
      };
      this.received.push(request);
      const reply = this.reply(request, this.received.length - 1);
      if (reply === 'reset') req.socket.destroy();
      else if (reply !== 'hang') res.writeHead(reply.status, reply.headers ?? {}).end(reply.body ?? '');
    });
  });

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/intake?source=test`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Bodies of the requests answered 2xx, in order. */
  accepted(statusOf: (request: Received, index: number) => number): Received[] {
    return this.received.filter((request, index) => statusOf(request, index) < 300);
  }
}

/** Every log call of the whole file, checked for the token at the end. */
const logged: Array<{ level: string; message: string; extra: object[] }> = [];
const recordingLogger: LoggerLike = {
  debug: (message, ...extra) => logged.push({ level: 'debug', message, extra }),
  info: (message, ...extra) => logged.push({ level: 'info', message, extra }),
  warn: (message, ...extra) => logged.push({ level: 'warn', message, extra }),
  error: (message, ...extra) => logged.push({ level: 'error', message, extra }),
};

let intake: FakeIntake;
let url: string;
let sinks: NdjsonSender[];
let waits: number[];

beforeEach(async () => {
  intake = new FakeIntake();
  url = await intake.start();
  sinks = [];
  waits = [];
});

afterEach(async () => {
  for (const sink of sinks) sink.close();
  await intake.stop();
});

afterAll(() => {
  expect(logged.length).toBeGreaterThan(0); // the check below must have had something to look at
  expect(JSON.stringify(logged)).not.toContain(TOKEN);
});

function makeSink(overrides: Partial<HttpSinkOptions> = {}): NdjsonSender {
  const http = new HttpSink({
    url,
    token: TOKEN,
    timeoutMs: 2_000,
    baseDelayMs: 100,
    maxDelayMs: 1_000,
    logger: recordingLogger,
    random: () => 0.5,
    sleep: (ms) => {
      waits.push(ms);
      return Promise.resolve();
    },
    ...overrides,
  });
  const sink: NdjsonSender = {
    send: (ndjson, ctx) => http.send(batchOf(ndjson, ctx.kind), ctx),
    close: () => http.close(),
  };
  sinks.push(sink);
  return sink;
}

const ndjson = (count: number, prefix = 'r'): Buffer =>
  Buffer.from(
    Array.from({ length: count }, (_, i) => `${JSON.stringify({ eventID: `${prefix}-${i}`, n: i })}\n`).join(''),
  );

const context = (overrides: Partial<SendContext> = {}): SendContext => ({
  idempotencyKey: 'k1',
  kind: 'log',
  recordCount: 3,
  deadline: Date.now() + 30_000,
  ...overrides,
});

/** The send must fail with a DownstreamError that leaks the token nowhere. */
async function failure(sending: Promise<unknown>): Promise<DownstreamError> {
  const error: unknown = await sending.then(
    () => {
      throw new Error('expected the send to fail');
    },
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(DownstreamError);
  expect(error).toBeInstanceOf(CollectorError);
  const downstream = error as DownstreamError;
  expect(`${downstream.message} ${downstream.stack} ${String(downstream.cause)}`).not.toContain(TOKEN);
  return downstream;
}

describe('HttpSink success path', () => {
  it('POSTs the gzipped NDJSON with the wire-format headers', async () => {
    const body = ndjson(3);
    const result = await makeSink().send(body, context({ idempotencyKey: 'abc123', kind: 'insight' }));

    expect(intake.received).toHaveLength(1);
    const [request] = intake.received;
    expect(request!.body).toBe(body.toString());
    expect(request!.headers).toMatchObject({
      'content-type': 'application/x-ndjson',
      'content-encoding': 'gzip',
      'x-idempotency-key': 'abc123',
      'x-cloudtrail-record-kind': 'insight',
      'x-record-count': '3',
      authorization: `Bearer ${TOKEN}`,
    });
    expect(result).toEqual({ requests: 1, bytesSent: Number(request!.headers['content-length']) });
    expect(waits).toEqual([]);
  });

  it('sends no Authorization header without a token, and trims a pasted trailing newline off a token', async () => {
    await makeSink({ token: undefined }).send(ndjson(1), context());
    await makeSink({ token: `${TOKEN}\n` }).send(ndjson(1), context());
    expect(intake.received[0]!.headers.authorization).toBeUndefined();
    expect(intake.received[1]!.headers.authorization).toBe(`Bearer ${TOKEN}`);
  });
});

describe('HttpSink retries', () => {
  it('retries 500 with full-jitter exponential backoff, resending the same body and key', async () => {
    intake.reply = (_request, index) => (index < 3 ? { status: 500, body: 'try later' } : { status: 200 });
    const body = ndjson(5);
    const result = await makeSink().send(body, context({ idempotencyKey: 'same' }));

    expect(result.requests).toBe(4);
    expect(intake.received).toHaveLength(4);
    expect(intake.received.every((r) => r.body === body.toString() && r.key === 'same')).toBe(true);
    // random() = 0.5 of min(1000, 100 * 2^(attempt - 1)).
    expect(waits).toEqual([50, 100, 200]);
    expect(result.bytesSent).toBe(intake.received.reduce((sum, r) => sum + Number(r.headers['content-length']), 0));
  });

  it('caps the backoff at maxDelayMs', async () => {
    intake.reply = () => ({ status: 503 });
    await failure(makeSink({ maxAttempts: 6, random: () => 1 }).send(ndjson(1), context()));
    expect(waits).toEqual([100, 200, 400, 800, 1000]);
  });

  it.each([408, 429, 500, 502, 503, 504])('retries HTTP %i', async (status) => {
    intake.reply = (_request, index) => (index === 0 ? { status } : { status: 204 });
    await expect(makeSink().send(ndjson(1), context())).resolves.toMatchObject({ requests: 2 });
    expect(waits).toHaveLength(1);
  });

  it.each([400, 401, 403, 404, 409, 422])('does not retry HTTP %i: a permanent error', async (status) => {
    intake.reply = () => ({ status, body: 'bad batch' });
    const error = await failure(makeSink().send(ndjson(1), context()));
    expect(intake.received).toHaveLength(1);
    expect(waits).toEqual([]);
    expect(error).toMatchObject({ status, permanent: true, attempts: 1 });
    expect(error.message).toContain(`HTTP ${status}`);
    expect(error.message).toContain('bad batch');
  });

  it('gives up after maxAttempts with a retryable error naming the last failure', async () => {
    intake.reply = () => ({ status: 503, body: 'x'.repeat(10_000) });
    const error = await failure(makeSink({ maxAttempts: 4 }).send(ndjson(1), context({ idempotencyKey: 'k9' })));
    expect(intake.received).toHaveLength(4);
    expect(waits).toHaveLength(3);
    expect(error).toMatchObject({ status: 503, permanent: false, attempts: 4 });
    expect(error.message).toMatch(/k9 after 4 attempts: HTTP 503: x+$/);
    expect(error.message.length).toBeLessThan(1_000); // the response body is capped
  });

  it('honours Retry-After in seconds', async () => {
    intake.reply = (_request, index) =>
      index === 0 ? { status: 429, headers: { 'retry-after': '3' } } : { status: 200 };
    await makeSink().send(ndjson(1), context());
    expect(waits).toEqual([3_000]);
    expect(intake.received).toHaveLength(2);
  });

  it('honours Retry-After as an HTTP date', async () => {
    const at = new Date(Date.now() + 5_000).toUTCString();
    intake.reply = (_request, index) =>
      index === 0 ? { status: 503, headers: { 'retry-after': at } } : { status: 200 };
    await makeSink().send(ndjson(1), context());
    expect(waits).toHaveLength(1);
    // HTTP dates have one-second resolution.
    expect(waits[0]).toBeGreaterThan(3_000);
    expect(waits[0]).toBeLessThanOrEqual(5_000);
  });

  it('retries a connection reset', async () => {
    intake.reply = (_request, index) => (index === 0 ? 'reset' : { status: 200 });
    await expect(makeSink().send(ndjson(2), context())).resolves.toMatchObject({ requests: 2 });
    expect(lastWarning()).toMatch(/ECONNRESET/);
  });

  it('aborts a request that hangs past timeoutMs and retries it', async () => {
    intake.reply = (_request, index) => (index === 0 ? 'hang' : { status: 200 });
    const started = Date.now();
    await expect(makeSink({ timeoutMs: 200 }).send(ndjson(2), context())).resolves.toMatchObject({ requests: 2 });
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(lastWarning()).toMatch(/ETIMEDOUT: the request timed out after 200 ms/);
  });

  it('retries a refused connection, then fails as retryable', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise<void>((resolve) => closed.close(() => resolve()));

    const sink = makeSink({ url: `http://127.0.0.1:${port}/intake`, maxAttempts: 3 });
    const error = await failure(sink.send(ndjson(1), context()));
    expect(error).toMatchObject({ permanent: false, attempts: 3, status: undefined });
    expect(error.message).toMatch(/ECONNREFUSED/);
    expect(waits).toHaveLength(2);
  });
});

describe('HttpSink deadline', () => {
  it('starts no attempt when the deadline has already passed', async () => {
    const error = await failure(makeSink().send(ndjson(1), context({ deadline: Date.now() - 1 })));
    expect(intake.received).toHaveLength(0);
    expect(error).toMatchObject({ permanent: false, attempts: 0 });
    expect(error.message).toMatch(/deadline reached/);
  });

  it('does not wait for a Retry-After that ends past the deadline', async () => {
    intake.reply = () => ({ status: 429, headers: { 'retry-after': '120' } });
    const error = await failure(makeSink().send(ndjson(1), context({ deadline: Date.now() + 5_000 })));
    expect(intake.received).toHaveLength(1);
    expect(waits).toEqual([]);
    expect(error).toMatchObject({ permanent: false, attempts: 1, status: 429 });
    expect(error.message).toMatch(/deadline reached \(the next retry, in 120000 ms, would pass it\)/);
  });

  it('never starts an attempt or runs a wait past the deadline (real clock)', async () => {
    intake.reply = () => ({ status: 500 });
    const deadline = Date.now() + 400;
    const realSleepSink = makeSink({
      sleep: undefined,
      random: () => 1,
      baseDelayMs: 60,
      maxDelayMs: 60,
      maxAttempts: 100,
    });
    const error = await failure(realSleepSink.send(ndjson(1), context({ deadline })));
    const finished = Date.now();

    expect(error.message).toMatch(/deadline reached/);
    expect(intake.received.length).toBeGreaterThanOrEqual(2);
    expect(intake.received.every((r) => r.at < deadline)).toBe(true);
    // It gave up when the next 60 ms wait would have crossed the deadline, not after sleeping past it.
    expect(finished).toBeLessThan(deadline + 50);
    expect(error.attempts).toBe(intake.received.length);
  });

  it('cuts a hanging request short at the deadline even when timeoutMs is longer', async () => {
    intake.reply = () => 'hang';
    const deadline = Date.now() + 300;
    const error = await failure(makeSink({ timeoutMs: 30_000 }).send(ndjson(1), context({ deadline })));
    expect(Date.now()).toBeLessThan(deadline + 500);
    expect(error.message).toMatch(/deadline reached .* after 1 attempts; last error: ETIMEDOUT/);
  });
});

describe('HttpSink 413 splitting', () => {
  const tooLargeAbove = (maxLines: number) => (request: Received) =>
    request.body.split('\n').length - 1 > maxLines ? { status: 413 } : { status: 200 };

  it('splits the batch into halves keyed .0 and .1 at a line boundary', async () => {
    intake.reply = tooLargeAbove(2);
    const body = ndjson(4);
    const result = await makeSink().send(body, context({ idempotencyKey: 'base', recordCount: 4 }));

    expect(intake.received.map((r) => [r.key, r.headers['x-record-count']])).toEqual([
      ['base', '4'],
      ['base.0', '2'],
      ['base.1', '2'],
    ]);
    expect(intake.received[1]!.body + intake.received[2]!.body).toBe(body.toString());
    expect(result.requests).toBe(3);
    expect(waits).toEqual([]); // a split is not a retry
  });

  it('splits recursively and delivers every record exactly once, in order', async () => {
    const reply = tooLargeAbove(3);
    intake.reply = reply;
    const body = ndjson(21);
    await makeSink().send(body, context({ idempotencyKey: 'b', recordCount: 21 }));

    const accepted = intake.received.filter((r) => reply(r).status === 200);
    expect(accepted.map((r) => r.body).join('')).toBe(body.toString());
    for (const request of accepted) {
      expect(request.key).toMatch(/^b(\.[01])+$/);
      expect(Number(request.headers['x-record-count'])).toBe(request.body.split('\n').length - 1);
    }
    expect(new Set(intake.received.map((r) => r.key)).size).toBe(intake.received.length);
    // Every key that got a 413 was followed by both of its halves.
    for (const rejected of intake.received.filter((r) => reply(r).status === 413)) {
      const keys = intake.received.map((r) => r.key);
      expect(keys).toEqual(expect.arrayContaining([`${rejected.key}.0`, `${rejected.key}.1`]));
    }
  });

  it('fails permanently when a single record still gets 413', async () => {
    intake.reply = tooLargeAbove(0);
    const error = await failure(makeSink().send(ndjson(2), context({ idempotencyKey: 'one', recordCount: 2 })));
    expect(intake.received.map((r) => r.key)).toEqual(['one', 'one.0']); // stops at the first part that cannot go
    expect(error).toMatchObject({ status: 413, permanent: true });
    expect(error.message).toMatch(/one\.0, a single record/);
  });
});

describe('HttpSink secrets', () => {
  const echoAuthorization =
    (status: number) =>
    (request: Received): Reply => ({ status, body: `your headers: ${String(request.headers.authorization)}` });

  it('keeps the token out of a permanent error that echoes it back', async () => {
    intake.reply = echoAuthorization(400);
    const error = await failure(makeSink().send(ndjson(1), context()));
    expect(error.message).toContain('your headers: Bearer [redacted]');
  });

  it('keeps the token out of retry logs and of the final error when the server echoes it', async () => {
    const before = logged.length;
    intake.reply = echoAuthorization(500);
    const error = await failure(makeSink({ maxAttempts: 3 }).send(ndjson(1), context()));
    expect(error.message).toContain('[redacted]');
    const warnings = logged.slice(before);
    expect(warnings).toHaveLength(2);
    expect(JSON.stringify(warnings)).toContain('[redacted]');
    expect(JSON.stringify(warnings)).not.toContain(TOKEN);
  });

  it('refuses a token that cannot go in a header, without quoting it', () => {
    const secret = 'abc def-secret';
    expect(() => makeSink({ token: secret })).toThrow(CollectorError);
    expect(() => makeSink({ token: secret })).not.toThrow(/def-secret/);
  });

  it('keeps a query string out of error messages', async () => {
    intake.reply = () => ({ status: 400 });
    const error = await failure(makeSink().send(ndjson(1), context()));
    expect(error.message).toContain('/intake');
    expect(error.message).not.toContain('source=test');
  });
});

describe('HttpSink configuration', () => {
  it('accepts only http: and https: URLs', () => {
    expect(() => makeSink({ url: 'ftp://example.invalid/x' })).toThrow(/http: or https:/);
    expect(() => makeSink({ url: 'not a url' })).toThrow(/not a valid URL/);
    expect(() => makeSink({ url: 'https://example.invalid/x' })).not.toThrow();
  });

  it('says what is wrong with a URL without quoting it (it can hold credentials)', () => {
    const secret = 'pw-S3CRET-4e3d2c';
    for (const bad of [
      `https://user:${secret}@exa mple.com/x`,
      `ftp://user:${secret}@example.invalid/x?token=${secret}`,
    ]) {
      let message = '';
      try {
        makeSink({ url: bad });
      } catch (error) {
        message = (error as Error).message;
        expect((error as Error).cause).toBeUndefined();
      }
      expect(message).toMatch(/^HttpSink: the downstream URL (is not a valid URL|must be http: or https:, got ftp:)$/);
      expect(message).not.toContain(secret);
      expect(message).not.toContain('user');
    }
  });

  it('rejects a non-positive timeout or attempt count', () => {
    expect(() => makeSink({ timeoutMs: 0 })).toThrow(/timeoutMs/);
    expect(() => makeSink({ maxAttempts: 0 })).toThrow(/maxAttempts/);
  });
});

describe('parseRetryAfter', () => {
  const now = Date.parse('2024-05-01T12:00:00Z');
  it.each([
    ['0', 0],
    ['7', 7_000],
    [' 12 ', 12_000],
    ['Wed, 01 May 2024 12:00:30 GMT', 30_000],
    ['Wed, 01 May 2024 11:00:00 GMT', 0],
  ])('reads %j as %i ms', (value, expected) => {
    expect(parseRetryAfter(value, now)).toBe(expected);
  });

  it.each([undefined, '', 'soon', '-5', '1.5'])('ignores %j', (value) => {
    expect(parseRetryAfter(value, now)).toBeUndefined();
  });
});

function lastWarning(): string {
  const warning = logged.filter((entry) => entry.level === 'warn').at(-1);
  return JSON.stringify(warning);
}
