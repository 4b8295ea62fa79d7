import {
  Agent as HttpAgent,
  request as httpRequest,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
} from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { setTimeout as sleepMs } from 'node:timers/promises';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { CollectorError, errorMessage } from '../shared/errors';
import type { LoggerLike } from '../shared/logger';

export interface HttpSinkOptions {
  /** http: or https: */
  url: string;
  /** Sent as `Authorization: Bearer <token>`; never appears in a log line or an error message. */
  token?: string;
  /** Per request, from the first byte sent to the last byte of the response. */
  timeoutMs: number;
  /** Attempts per part (a 413 split gives each half its own budget). Default 8. */
  maxAttempts?: number;
  /** Full-jitter exponential backoff: wait random() * min(maxDelayMs, baseDelayMs * 2^(attempt - 1)). */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Default 1: compression speed matters more than ratio on the Lambda's CPU share. */
  gzipLevel?: number;
  logger: LoggerLike;
  random?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export interface SendContext {
  idempotencyKey: string;
  kind: 'log' | 'insight';
  recordCount: number;
  /** Epoch ms: no attempt may start, and no wait may run, past this. */
  deadline: number;
}

export interface SendResult {
  requests: number;
  /** Compressed bytes, summed over every request including retries. */
  bytesSent: number;
}

/** The downstream did not accept a batch. `permanent` means retrying the same body can never succeed. */
export class DownstreamError extends CollectorError {
  readonly status?: number;
  readonly permanent: boolean;
  readonly attempts: number;

  constructor(message: string, details: { status?: number; permanent: boolean; attempts: number; cause?: unknown }) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.status = details.status;
    this.permanent = details.permanent;
    this.attempts = details.attempts;
  }
}

const DEFAULT_MAX_ATTEMPTS = 8;
const DEFAULT_BASE_DELAY_MS = 200;
const DEFAULT_MAX_DELAY_MS = 10_000;
const DEFAULT_GZIP_LEVEL = 1;
const MAX_SOCKETS = 8;
const RESPONSE_SNIPPET_BYTES = 512;
const NEWLINE = 0x0a;

const gzipAsync = promisify(gzip);

interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  snippet: string;
  /** The body was longer than the snippet kept of it. */
  truncated: boolean;
}

type Outcome =
  | { kind: 'accepted' }
  | { kind: 'too-large' }
  | { kind: 'rejected'; status: number; detail: string }
  | { kind: 'retryable'; status?: number; detail: string; retryAfterMs?: number; cause?: unknown };

/** Counters shared by every part of one send(), 413 halves included. */
interface Tally {
  requests: number;
  bytesSent: number;
}

/** POSTs NDJSON batches, gzip-compressed, to the downstream log intake. One instance per process: it owns the
 * keep-alive sockets. */
export class HttpSink {
  private readonly url: URL;
  /** The URL without credentials or query string, safe to put in logs and error messages. */
  private readonly safeUrl: string;
  private readonly token: string | undefined;
  private readonly agent: HttpAgent;
  private readonly request: typeof httpRequest;
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly gzipLevel: number;
  private readonly random: () => number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly options: HttpSinkOptions) {
    let url: URL;
    try {
      url = new URL(options.url);
    } catch {
      throw new CollectorError('HttpSink: the downstream URL is not a valid URL');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new CollectorError(`HttpSink: the downstream URL must be http: or https:, got ${url.protocol}`);
    }
    this.url = url;
    this.safeUrl = `${url.origin}${url.pathname}`;

    // Secrets pasted into env vars or Secrets Manager often carry a trailing newline.
    const token = options.token?.trim();
    if (token !== undefined && !/^[\x21-\x7e]*$/.test(token)) {
      // Deliberately without the value: it is a secret.
      throw new CollectorError('HttpSink: the downstream token contains characters not allowed in an HTTP header');
    }
    this.token = token === '' ? undefined : token;

    requirePositive('timeoutMs', options.timeoutMs);
    this.maxAttempts = options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
    if (!Number.isInteger(this.maxAttempts) || this.maxAttempts < 1) {
      throw new CollectorError(`HttpSink: maxAttempts must be a positive integer, got ${this.maxAttempts}`);
    }
    this.baseDelayMs = options.baseDelayMs ?? DEFAULT_BASE_DELAY_MS;
    this.maxDelayMs = options.maxDelayMs ?? DEFAULT_MAX_DELAY_MS;
    this.gzipLevel = options.gzipLevel ?? DEFAULT_GZIP_LEVEL;
    this.random = options.random ?? Math.random;
    this.sleep = options.sleep ?? ((ms) => sleepMs(ms));

    const agentOptions = { keepAlive: true, maxSockets: MAX_SOCKETS };
    if (url.protocol === 'https:') {
      this.agent = new HttpsAgent(agentOptions);
      this.request = httpsRequest;
    } else {
      this.agent = new HttpAgent(agentOptions);
      this.request = httpRequest;
    }
  }

  /**
   * POSTs the NDJSON body gzip-compressed. Retries network errors, 408, 429 and 5xx with full-jitter
   * exponential backoff (or the server's Retry-After), never waiting or starting an attempt past the deadline;
   * 413 splits the body at a line boundary into halves keyed `${key}.0` and `${key}.1`, recursively; other
   * statuses are permanent. Resolves only when every part got a 2xx; otherwise rejects with DownstreamError.
   */
  async send(ndjson: Buffer, ctx: SendContext): Promise<SendResult> {
    const tally: Tally = { requests: 0, bytesSent: 0 };
    await this.sendPart(ndjson, ctx.idempotencyKey, ctx.recordCount, ctx, tally);
    return tally;
  }

  close(): void {
    this.agent.destroy();
  }

  private async sendPart(
    body: Buffer,
    key: string,
    recordCount: number,
    ctx: SendContext,
    tally: Tally,
  ): Promise<void> {
    // Compressed once per part, not per attempt; zlib's async API runs on the libuv thread pool.
    // One output chunk per ~quarter batch (zlib's default is 16 KiB): the batch compresses in a few thread-pool
    // jobs instead of ~40 round trips to the main thread, which meanwhile splits the next records (bench/README.md).
    const chunkSize = Math.min(1024 * 1024, Math.max(16 * 1024, body.length >>> 2));
    const compressed = await gzipAsync(body, { level: this.gzipLevel, chunkSize });
    const headers: OutgoingHttpHeaders = {
      'content-type': 'application/x-ndjson',
      'content-encoding': 'gzip',
      'content-length': compressed.length,
      'x-idempotency-key': key,
      'x-cloudtrail-record-kind': ctx.kind,
      'x-record-count': recordCount,
      'user-agent': 'cloudtrail-collector',
    };
    if (this.token !== undefined) headers.authorization = `Bearer ${this.token}`;

    let last: Extract<Outcome, { kind: 'retryable' }> | undefined;
    for (let attempt = 1; ; attempt++) {
      const remainingMs = ctx.deadline - Date.now();
      if (remainingMs <= 0) throw this.deadlineError(key, attempt - 1, last);

      tally.requests++;
      tally.bytesSent += compressed.length;
      // Capped by the deadline so that a slow request cannot outlive the Lambda's remaining time.
      const outcome = await this.attempt(compressed, headers, Math.min(this.options.timeoutMs, remainingMs));

      switch (outcome.kind) {
        case 'accepted':
          return;
        case 'too-large':
          return this.split(body, key, ctx, tally, attempt);
        case 'rejected':
          throw new DownstreamError(`downstream ${this.safeUrl} rejected batch ${key}: ${outcome.detail}`, {
            status: outcome.status,
            permanent: true,
            attempts: attempt,
          });
        case 'retryable': {
          last = outcome;
          if (attempt >= this.maxAttempts) {
            throw new DownstreamError(
              `downstream ${this.safeUrl} did not accept batch ${key} after ${attempt} attempts: ${outcome.detail}`,
              { status: outcome.status, permanent: false, attempts: attempt, cause: outcome.cause },
            );
          }
          const waitMs = outcome.retryAfterMs ?? this.backoffMs(attempt);
          if (Date.now() + waitMs >= ctx.deadline) {
            throw this.deadlineError(key, attempt, last, waitMs);
          }
          this.options.logger.warn('downstream request failed; retrying', {
            idempotencyKey: key,
            kind: ctx.kind,
            attempt,
            status: outcome.status,
            error: outcome.detail,
            retryInMs: waitMs,
            retryAfterHonoured: outcome.retryAfterMs !== undefined,
          });
          await this.sleep(waitMs);
        }
      }
    }
  }

  /** 413: the downstream refuses this size, so send each half on its own (their keys derive from this one). */
  private async split(body: Buffer, key: string, ctx: SendContext, tally: Tally, attempts: number): Promise<void> {
    const at = lineBoundaryNearMiddle(body);
    if (at === undefined) {
      throw new DownstreamError(
        `downstream ${this.safeUrl} answered HTTP 413 to batch ${key}, a single record of ${body.length} bytes: it can never be accepted`,
        { status: 413, permanent: true, attempts },
      );
    }
    const first = body.subarray(0, at);
    const second = body.subarray(at);
    this.options.logger.info('downstream answered 413; splitting the batch in two', {
      idempotencyKey: key,
      kind: ctx.kind,
      bytes: body.length,
      firstHalfBytes: first.length,
      secondHalfBytes: second.length,
    });
    // In sequence: the first failure stops the rest, which the redelivery will resend anyway.
    await this.sendPart(first, `${key}.0`, countLines(first), ctx, tally);
    await this.sendPart(second, `${key}.1`, countLines(second), ctx, tally);
  }

  private async attempt(compressed: Buffer, headers: OutgoingHttpHeaders, timeoutMs: number): Promise<Outcome> {
    let response: HttpResponse;
    try {
      response = await this.post(compressed, headers, timeoutMs);
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      const detail = this.redact(`${typeof code === 'string' ? `${code}: ` : ''}${errorMessage(error)}`);
      return { kind: 'retryable', detail, cause: error };
    }
    const { status } = response;
    if (status >= 200 && status < 300) return { kind: 'accepted' };
    if (status === 413) return { kind: 'too-large' };
    const snippet = this.redact(response.snippet, response.truncated);
    const detail = `HTTP ${status}${snippet === '' ? '' : `: ${snippet}`}`;
    if (status === 408 || status === 429 || status >= 500) {
      const retryAfterMs = parseRetryAfter(firstHeader(response.headers['retry-after']), Date.now());
      return { kind: 'retryable', status, detail, retryAfterMs };
    }
    return { kind: 'rejected', status, detail };
  }

  /** One POST; resolves with any status once the response body has been read (kept only up to a snippet). */
  private post(compressed: Buffer, headers: OutgoingHttpHeaders, timeoutMs: number): Promise<HttpResponse> {
    return new Promise<HttpResponse>((resolve, reject) => {
      const fail = (error: Error): void => {
        clearTimeout(timer);
        reject(error);
      };
      const req = this.request(this.url, { method: 'POST', agent: this.agent, headers }, (res) => {
        const kept: Buffer[] = [];
        let keptBytes = 0;
        let truncated = false;
        // The body must be read to the end, or the keep-alive socket can never be reused.
        res.on('data', (chunk: Buffer) => {
          if (keptBytes + chunk.length > RESPONSE_SNIPPET_BYTES) truncated = true;
          if (keptBytes >= RESPONSE_SNIPPET_BYTES) return;
          const part = Buffer.from(chunk.subarray(0, RESPONSE_SNIPPET_BYTES - keptBytes));
          kept.push(part);
          keptBytes += part.length;
        });
        res.on('end', () => {
          clearTimeout(timer);
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            snippet: snippetText(Buffer.concat(kept)),
            truncated,
          });
        });
        res.on('error', fail);
        res.on('close', () => {
          if (!res.complete) fail(networkError('ECONNRESET', 'the response was cut off before its end'));
        });
      });
      // A whole-request timer: the socket idle timeout would let a slow trickle run forever.
      const timer = setTimeout(() => {
        const timeout = networkError('ETIMEDOUT', `the request timed out after ${timeoutMs} ms`);
        fail(timeout); // first, so that the errors the destroy causes cannot mask it
        req.destroy(timeout);
      }, timeoutMs);
      req.on('error', fail);
      req.end(compressed);
    });
  }

  private backoffMs(attempt: number): number {
    const ceiling = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (attempt - 1));
    return Math.floor(this.random() * ceiling);
  }

  private deadlineError(
    key: string,
    attempts: number,
    last: Extract<Outcome, { kind: 'retryable' }> | undefined,
    nextWaitMs?: number,
  ): DownstreamError {
    const when = nextWaitMs === undefined ? '' : ` (the next retry, in ${nextWaitMs} ms, would pass it)`;
    const why = last === undefined ? '' : `; last error: ${last.detail}`;
    return new DownstreamError(
      `deadline reached${when} sending batch ${key} to downstream ${this.safeUrl} after ${attempts} attempts${why}`,
      { status: last?.status, permanent: false, attempts, cause: last?.cause },
    );
  }

  /**
   * Servers that echo request headers back must not leak the token into our errors or logs. A response snippet
   * cut off inside the echoed token ends with a prefix of it: that prefix is redacted too.
   */
  private redact(text: string, truncated = false): string {
    if (this.token === undefined) return text;
    const redacted = text.replaceAll(this.token, '[redacted]');
    if (!truncated) return redacted;
    for (let length = Math.min(this.token.length - 1, redacted.length); length > 0; length--) {
      if (redacted.endsWith(this.token.slice(0, length))) return `${redacted.slice(0, -length)}[redacted]`;
    }
    return redacted;
  }
}

/**
 * Retry-After as milliseconds to wait: delta-seconds or an HTTP date (RFC 9110). Undefined when absent or not
 * parseable, so the caller falls back to its own backoff.
 */
export function parseRetryAfter(value: string | undefined, now: number): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  // Date.parse alone would also take '-5' or '1.5' as dates; every HTTP date form names a day or month.
  const date = /[a-z]/i.test(trimmed) ? Date.parse(trimmed) : Number.NaN;
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** The offset just after the newline closest to the middle that leaves two non-empty halves; undefined for one line. */
function lineBoundaryNearMiddle(body: Buffer): number | undefined {
  const middle = Math.floor(body.length / 2);
  const lastByte = body.length - 1;
  const before = body.lastIndexOf(NEWLINE, middle);
  const after = body.indexOf(NEWLINE, middle);
  const candidates = [before, after].filter((at) => at >= 0 && at < lastByte);
  if (candidates.length === 0) return undefined;
  const best = candidates.reduce((a, b) => (Math.abs(a - middle) <= Math.abs(b - middle) ? a : b));
  return best + 1;
}

function countLines(body: Buffer): number {
  let lines = 0;
  for (let at = body.indexOf(NEWLINE); at !== -1; at = body.indexOf(NEWLINE, at + 1)) lines++;
  return body.length > 0 && body[body.length - 1] !== NEWLINE ? lines + 1 : lines;
}

function snippetText(bytes: Buffer): string {
  return bytes.toString('utf8').replace(/\s+/g, ' ').trim();
}

function firstHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function networkError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

function requirePositive(name: string, value: number): void {
  if (!(value > 0)) throw new CollectorError(`HttpSink: ${name} must be a positive number, got ${value}`);
}
