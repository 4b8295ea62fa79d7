import type { OutgoingHttpHeaders } from 'node:http';
import { setTimeout as sleepMs } from 'node:timers/promises';
import { promisify } from 'node:util';
import { gzip, gzipSync } from 'node:zlib';
import { CollectorError, errorMessage } from '../../shared/errors';
import type { LoggerLike } from '../../shared/logger';
import type { RecordObject } from '../log-object';
import { BodyBufferPool } from './buffer-pool';
import { NDJSON_INTAKE } from './ndjson-intake';
import { nodeTransport, type HttpResponse, type PostOptions, type Transport } from './http-transport';
import {
  encodedSize,
  type Allocate,
  type DeliveryContext,
  type Encoding,
  type RecordBatch,
  type Release,
  type SendResult,
  type Sink,
} from './sink';

/**
 * The one HTTP delivery of the sinks (docs/architecture.md, "Ingest"): encodes a batch with the sink's Encoding,
 * gzips it, POSTs it with retries (full-jitter backoff or the server's Retry-After, never past the deadline, each
 * request under its own timeout), splits it at record boundaries on 413, and keeps the token out of every log
 * line and error. A new HTTP sink type is a new Encoding, its auth scheme, and a ResponseInterpreter when the HTTP
 * status alone does not say what was taken (HEC's `code`, `_bulk`'s items; docs/sinks.md).
 */
export interface HttpSinkOptions {
  /** http: or https: */
  url: string;
  /** Sent as `Authorization: <authScheme> <token>`; never appears in a log line or an error message. */
  token?: string;
  /** Default 'Bearer'. */
  authScheme?: string;
  /** More secrets kept out of logs and errors: what `token` was derived from (basic auth's `user:password`). */
  alsoRedact?: readonly string[];
  /** Per request, from the first byte sent to the last byte of the response. */
  timeoutMs: number;
  /** Attempts per part (a 413 split gives each half its own budget). Default 8. */
  maxAttempts?: number;
  /** Full-jitter exponential backoff: wait random() * min(maxDelayMs, baseDelayMs * 2^(attempt - 1)). */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Default 1: compression speed matters more than ratio on the Lambda's CPU share. */
  gzipLevel?: number;
  /** zlib's memLevel (1-9): the size of its hash table. Default GZIP_MEM_LEVEL. */
  gzipMemLevel?: number;
  /** The wire format; default the NDJSON intake. */
  encoding?: Encoding;
  /** What a response means (HEC's `code`, `_bulk`'s items); default the 2xx rule (`STATUS_RULE`). */
  interpreter?: ResponseInterpreter;
  /** After an accepted request that returned an ack id: waits for the downstream's confirmation (HEC's indexer ack). */
  acknowledger?: Acknowledger;
  /**
   * Where request bodies come from and go once compressed: by default a pool of reused buffers
   * (buffer-pool.ts). Given together; `allocate` alone means each body is dropped after use.
   */
  allocate?: Allocate;
  release?: Release;
  /**
   * Bodies up to this size are compressed at once on the main thread; larger ones on libuv's thread pool, so
   * that a large file's next records are split meanwhile. Default SYNC_GZIP_MAX_BYTES.
   */
  syncGzipMaxBytes?: number;
  /** Default: keep-alive sockets to `url`. */
  transport?: Transport;
  logger: LoggerLike;
  random?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

/** The downstream did not accept a batch. `permanent` means retrying the same body can never succeed. */
export class DownstreamError extends CollectorError {
  readonly status?: number;
  readonly permanent: boolean;
  readonly attempts: number;
  /** Records the downstream refused for good while it took the others (`_bulk` mapping errors). */
  readonly rejectedRecords: number;

  constructor(
    message: string,
    details: { status?: number; permanent: boolean; attempts: number; cause?: unknown; rejectedRecords?: number },
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.status = details.status;
    this.permanent = details.permanent;
    this.attempts = details.attempts;
    this.rejectedRecords = details.rejectedRecords ?? 0;
  }
}

const DEFAULT_MAX_ATTEMPTS = 8;
const DEFAULT_BASE_DELAY_MS = 200;
const DEFAULT_MAX_DELAY_MS = 10_000;
const DEFAULT_GZIP_LEVEL = 1;
/**
 * A small file's batch (tens of KB) compresses in well under a millisecond: the thread pool's round trip, its
 * stream and callbacks cost as much as the compression itself, and a Lambda of 1,024 MB has ~0.6 vCPU, so the
 * pool gives it no second core anyway (bench/README.md, "Per concurrent execution").
 */
export const SYNC_GZIP_MAX_BYTES = 1024 * 1024;
const GZIP_MEM_LEVEL = 9;

const gzipAsync = promisify(gzip);

/**
 * What one response means for the records it carried. `partial`: some records were taken, the ones at `retry`
 * (indexes into the request's records) failed transiently and are sent again alone, the ones in `rejected` can
 * never be taken (a `_bulk` mapping error).
 */
export type Verdict =
  | { kind: 'accepted'; ackId?: number }
  | { kind: 'too-large' }
  | { kind: 'rejected'; status: number; detail: string }
  | { kind: 'retryable'; status?: number; detail: string; retryAfterMs?: number; cause?: unknown }
  | {
      kind: 'partial';
      status: number;
      retry: readonly number[];
      rejected: readonly { index: number; detail: string }[];
      detail: string;
      retryAfterMs?: number;
    };

/** Reads one response of a sink's downstream. The snippet it gets is already redacted. */
export interface ResponseInterpreter {
  /** The verdict needs the whole body (`_bulk`'s items, HEC's ackId), not only the snippet. */
  readonly readsBody: boolean;
  /** `records` are the request's, in body order. */
  interpret(response: HttpResponse, records: readonly Buffer[]): Verdict;
}

/** A request to the downstream with the sink's own credentials, for an acknowledger. */
export type AuthorizedPost = (
  body: Buffer,
  headers: OutgoingHttpHeaders,
  timeoutMs: number,
  options?: PostOptions,
) => Promise<HttpResponse>;

/** Confirms that an accepted request was really stored (HEC's indexer acknowledgement). */
export interface Acknowledger {
  /**
   * Resolves with `accepted` once `ackId` is confirmed, or with a retryable verdict when it cannot be (the
   * confirmation did not come in time: the records are sent again). Never waits past `deadline`.
   */
  confirm(
    ackId: number,
    ctx: {
      deadline: number;
      idempotencyKey: string;
      post: AuthorizedPost;
      sleep: (ms: number) => Promise<void>;
      /** Counts one request sent (a poll). */
      counted: () => void;
    },
  ): Promise<Verdict>;
}

/**
 * The one success rule of HTTP, which every interpreter starts from: 2xx accepted, 413 too large, 408, 429 and
 * 5xx retryable (with Retry-After), anything else refused.
 */
export function statusVerdict(response: HttpResponse, now: number = Date.now()): Verdict {
  const { status } = response;
  if (status >= 200 && status < 300) return { kind: 'accepted' };
  if (status === 413) return { kind: 'too-large' };
  const detail = `HTTP ${status}${response.snippet === '' ? '' : `: ${response.snippet}`}`;
  if (status === 408 || status === 429 || status >= 500) {
    const retryAfterMs = parseRetryAfter(firstHeader(response.headers['retry-after']), now);
    return { kind: 'retryable', status, detail, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) };
  }
  return { kind: 'rejected', status, detail };
}

/** The NDJSON intake's rule: the HTTP status alone. */
export const STATUS_RULE: ResponseInterpreter = { readsBody: false, interpret: (response) => statusVerdict(response) };

/** One send(): counters shared by every part, 413 halves included. */
interface Send {
  object: RecordObject;
  deadline: number;
  requests: number;
  bytesSent: number;
  /** Records the downstream refused for good (a `_bulk` mapping error), with why: reported once every part ran. */
  rejected: string[];
}

/** One request, ready to send: its records (a 413 half, or the items `_bulk` asked to retry), body and headers. */
interface Prepared {
  records: readonly Buffer[];
  compressed: Buffer;
  headers: OutgoingHttpHeaders;
}

/** An HTTP sink: one Encoding over the shared delivery. One instance per process: its transport owns the sockets. */
export class HttpSink implements Sink {
  readonly recordOverheadBytes: number;
  /** The URL without credentials or query string, safe to put in logs and error messages. */
  private readonly safeUrl: string;
  private readonly token: string | undefined;
  /** The token and every other secret, longest first (a secret containing another is replaced whole). */
  private readonly secrets: readonly string[];
  private readonly authorization: string | undefined;
  private readonly encoding: Encoding;
  private readonly interpreter: ResponseInterpreter;
  private readonly transport: Transport;
  private readonly allocate: Allocate;
  private readonly release: Release | undefined;
  private readonly syncGzipMaxBytes: number;
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly gzipLevel: number;
  private readonly gzipMemLevel: number;
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
    this.safeUrl = `${url.origin}${url.pathname}`;

    // Secrets pasted into env vars or Secrets Manager often carry a trailing newline.
    const token = options.token?.trim();
    if (token !== undefined && !/^[\x21-\x7e]*$/.test(token)) {
      // Deliberately without the value: it is a secret.
      throw new CollectorError('HttpSink: the downstream token contains characters not allowed in an HTTP header');
    }
    this.token = token === '' ? undefined : token;
    this.authorization = this.token === undefined ? undefined : `${options.authScheme ?? 'Bearer'} ${this.token}`;
    this.secrets = [...(this.token === undefined ? [] : [this.token]), ...(options.alsoRedact ?? [])]
      .filter((secret) => secret !== '')
      .sort((a, b) => b.length - a.length);

    requirePositive('timeoutMs', options.timeoutMs);
    this.maxAttempts = options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
    if (!Number.isInteger(this.maxAttempts) || this.maxAttempts < 1) {
      throw new CollectorError(`HttpSink: maxAttempts must be a positive integer, got ${this.maxAttempts}`);
    }
    this.baseDelayMs = options.baseDelayMs ?? DEFAULT_BASE_DELAY_MS;
    this.maxDelayMs = options.maxDelayMs ?? DEFAULT_MAX_DELAY_MS;
    this.gzipLevel = options.gzipLevel ?? DEFAULT_GZIP_LEVEL;
    this.gzipMemLevel = options.gzipMemLevel ?? GZIP_MEM_LEVEL;
    this.random = options.random ?? Math.random;
    this.sleep = options.sleep ?? ((ms) => sleepMs(ms));
    this.encoding = options.encoding ?? NDJSON_INTAKE;
    this.interpreter = options.interpreter ?? STATUS_RULE;
    this.recordOverheadBytes = this.encoding.recordOverheadBytes;
    const pool = options.allocate === undefined ? new BodyBufferPool() : undefined;
    this.allocate = options.allocate ?? pool!.allocate;
    this.release = options.allocate === undefined ? pool!.release : options.release;
    this.syncGzipMaxBytes = options.syncGzipMaxBytes ?? SYNC_GZIP_MAX_BYTES;
    this.transport = options.transport ?? nodeTransport(url);
  }

  /**
   * POSTs the encoded batch gzip-compressed. Retries network errors, 408, 429 and 5xx with full-jitter
   * exponential backoff (or the server's Retry-After), never waiting or starting an attempt past the deadline;
   * 413 splits the records at the boundary nearest the body's middle into halves keyed `${key}.0` and
   * `${key}.1`, recursively; other statuses are permanent. Resolves only when every part got a 2xx; otherwise
   * rejects with DownstreamError.
   */
  async send(batch: RecordBatch, ctx: DeliveryContext): Promise<SendResult> {
    const send: Send = { object: batch.object, deadline: ctx.deadline, requests: 0, bytesSent: 0, rejected: [] };
    await this.sendPart(batch.records, ctx.idempotencyKey, send);
    if (send.rejected.length > 0) {
      // Every other record is stored; these never will be as they are. The batch fails for good, so the message
      // is redelivered and then dead-lettered rather than acknowledged with records missing (docs/sinks.md).
      const shown = send.rejected.slice(0, 3).join('; ');
      throw new DownstreamError(
        `downstream ${this.safeUrl} refused ${send.rejected.length} of ${batch.records.length} records of batch ${ctx.idempotencyKey} for good: ${shown}`,
        { status: 400, permanent: true, attempts: send.requests, rejectedRecords: send.rejected.length },
      );
    }
    return { requests: send.requests, bytesSent: send.bytesSent };
  }

  close(): void {
    this.transport.close();
  }

  /** Encodes and compresses the records of one request (once per part, not per attempt). */
  private async prepare(records: readonly Buffer[], key: string, send: Send): Promise<Prepared> {
    const body = this.encoding.encode(records, this.allocate);
    let compressed: Buffer;
    try {
      // One output chunk per ~quarter body (level 1 compresses CloudTrail's JSON ~6:1; zlib's default chunk is
      // 16 KiB): on the thread pool a batch is then a few jobs instead of ~40 round trips to the main thread,
      // which meanwhile splits the next records (bench/README.md).
      const options = {
        level: this.gzipLevel,
        // zlib's largest hash table: ~8% less CPU at level 1 for the same output size on CloudTrail's JSON
        // (bench/README.md), for 256 KiB more memory per compression in progress.
        memLevel: this.gzipMemLevel,
        chunkSize: Math.min(1024 * 1024, Math.max(16 * 1024, body.length >>> 2)),
      };
      compressed = body.length <= this.syncGzipMaxBytes ? gzipSync(body, options) : await gzipAsync(body, options);
    } finally {
      this.release?.(body);
    }
    const headers: OutgoingHttpHeaders = {
      'content-type': this.encoding.contentType,
      'content-encoding': 'gzip',
      'content-length': compressed.length,
      ...this.encoding.headers(send.object, key, records.length),
      'user-agent': 'cloudtrail-collector',
    };
    if (this.authorization !== undefined) headers.authorization = this.authorization;
    return { records, compressed, headers };
  }

  private async sendPart(records: readonly Buffer[], key: string, send: Send): Promise<void> {
    let request = await this.prepare(records, key, send);
    let last: Extract<Verdict, { kind: 'retryable' }> | undefined;
    for (let attempt = 1; ; attempt++) {
      const remainingMs = send.deadline - Date.now();
      if (remainingMs <= 0) throw this.deadlineError(key, attempt - 1, last);

      send.requests++;
      send.bytesSent += request.compressed.length;
      // Capped by the deadline so that a slow request cannot outlive the Lambda's remaining time.
      let verdict = await this.attempt(request, Math.min(this.options.timeoutMs, remainingMs));
      if (verdict.kind === 'accepted' && verdict.ackId !== undefined && this.options.acknowledger) {
        verdict = this.redactVerdict(
          await this.options.acknowledger.confirm(verdict.ackId, {
            deadline: send.deadline,
            idempotencyKey: key,
            post: (body, headers, timeoutMs, options) =>
              this.transport.post(body, this.withAuthorization(headers), timeoutMs, options),
            sleep: this.sleep,
            counted: () => send.requests++,
          }),
        );
      }

      let retryAfterMs: number | undefined;
      switch (verdict.kind) {
        case 'accepted':
          return;
        case 'too-large':
          return this.split(request.records, key, send, attempt);
        case 'rejected':
          throw new DownstreamError(`downstream ${this.safeUrl} rejected batch ${key}: ${verdict.detail}`, {
            status: verdict.status,
            permanent: true,
            attempts: attempt,
          });
        case 'partial': {
          for (const refused of verdict.rejected) send.rejected.push(refused.detail);
          if (verdict.retry.length === 0) return;
          last = { kind: 'retryable', status: verdict.status, detail: verdict.detail };
          retryAfterMs = verdict.retryAfterMs;
          // Only the records that failed transiently go again: the others are stored.
          const again = verdict.retry.map((index) => request.records[index]!);
          request = await this.prepare(again, key, send);
          break;
        }
        case 'retryable':
          last = verdict;
          retryAfterMs = verdict.retryAfterMs;
      }
      if (attempt >= this.maxAttempts) {
        throw new DownstreamError(
          `downstream ${this.safeUrl} did not accept batch ${key} after ${attempt} attempts: ${last.detail}`,
          { status: last.status, permanent: false, attempts: attempt, cause: last.cause },
        );
      }
      const waitMs = retryAfterMs ?? this.backoffMs(attempt);
      if (Date.now() + waitMs >= send.deadline) {
        throw this.deadlineError(key, attempt, last, waitMs);
      }
      this.options.logger.warn('downstream request failed; retrying', {
        idempotencyKey: key,
        kind: send.object.kind,
        attempt,
        status: last.status,
        error: last.detail,
        retryInMs: waitMs,
        retryAfterHonoured: retryAfterMs !== undefined,
        ...(verdict.kind === 'partial' ? { recordsRetried: verdict.retry.length } : {}),
      });
      await this.sleep(waitMs);
    }
  }

  /** 413: the downstream refuses this size, so send each half on its own (their keys derive from this one). */
  private async split(records: readonly Buffer[], key: string, send: Send, attempts: number): Promise<void> {
    const at = splitPoint(records, this.recordOverheadBytes);
    if (at === undefined) {
      throw new DownstreamError(
        `downstream ${this.safeUrl} answered HTTP 413 to batch ${key}, a single record of ${encodedSize(records, this.recordOverheadBytes)} bytes: it can never be accepted`,
        { status: 413, permanent: true, attempts },
      );
    }
    const first = records.slice(0, at);
    const second = records.slice(at);
    const firstHalfBytes = encodedSize(first, this.recordOverheadBytes);
    const secondHalfBytes = encodedSize(second, this.recordOverheadBytes);
    this.options.logger.info('downstream answered 413; splitting the batch in two', {
      idempotencyKey: key,
      kind: send.object.kind,
      bytes: firstHalfBytes + secondHalfBytes,
      firstHalfBytes,
      secondHalfBytes,
    });
    // In sequence: the first failure stops the rest, which the redelivery will resend anyway.
    await this.sendPart(first, `${key}.0`, send);
    await this.sendPart(second, `${key}.1`, send);
  }

  private async attempt(request: Prepared, timeoutMs: number): Promise<Verdict> {
    let response: HttpResponse;
    try {
      response = await this.transport.post(request.compressed, request.headers, timeoutMs, {
        readBody: this.interpreter.readsBody,
      });
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      const detail = this.redact(`${typeof code === 'string' ? `${code}: ` : ''}${errorMessage(error)}`);
      return { kind: 'retryable', detail, cause: error };
    }
    const safe = { ...response, snippet: this.redact(response.snippet, response.truncated) };
    return this.redactVerdict(this.interpreter.interpret(safe, request.records));
  }

  private withAuthorization(headers: OutgoingHttpHeaders): OutgoingHttpHeaders {
    return this.authorization === undefined ? headers : { ...headers, authorization: this.authorization };
  }

  /** Interpreters quote the downstream's words (HEC's `text`, `_bulk`'s reasons): none may carry the token. */
  private redactVerdict(verdict: Verdict): Verdict {
    switch (verdict.kind) {
      case 'rejected':
      case 'retryable':
        return { ...verdict, detail: this.redact(verdict.detail) };
      case 'partial':
        return {
          ...verdict,
          detail: this.redact(verdict.detail),
          rejected: verdict.rejected.map((r) => ({ index: r.index, detail: this.redact(r.detail) })),
        };
      default:
        return verdict;
    }
  }

  private backoffMs(attempt: number): number {
    const ceiling = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (attempt - 1));
    return Math.floor(this.random() * ceiling);
  }

  private deadlineError(
    key: string,
    attempts: number,
    last: Extract<Verdict, { kind: 'retryable' }> | undefined,
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
    let redacted = text;
    for (const secret of this.secrets) redacted = redacted.replaceAll(secret, '[redacted]');
    if (!truncated) return redacted;
    for (const secret of this.secrets) {
      for (let length = Math.min(secret.length - 1, redacted.length); length > 0; length--) {
        if (redacted.endsWith(secret.slice(0, length))) return `${redacted.slice(0, -length)}[redacted]`;
      }
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

/**
 * Where a 413 splits the records: after the record whose end in the encoded body is closest to the body's middle
 * (ties to the earlier one), leaving two non-empty halves; undefined for a single record. For NDJSON these are
 * the newlines nearest the middle, as the split has always been.
 */
export function splitPoint(records: readonly Buffer[], recordOverheadBytes: number): number | undefined {
  if (records.length < 2) return undefined;
  const middle = Math.floor(encodedSize(records, recordOverheadBytes) / 2);
  // The last framing byte of record i sits at end(i) - 1; compare it with the middle, as a line break would be.
  let end = 0;
  for (let i = 0; i < records.length - 1; i++) {
    end += records[i]!.length + recordOverheadBytes;
    const lastByte = end - 1;
    if (lastByte >= middle) {
      if (i === 0) return 1;
      const previous = end - records[i]!.length - recordOverheadBytes - 1;
      return middle - previous <= lastByte - middle ? i : i + 1;
    }
  }
  return records.length - 1;
}

function firstHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function requirePositive(name: string, value: number): void {
  if (!(value > 0)) throw new CollectorError(`HttpSink: ${name} must be a positive number, got ${value}`);
}
