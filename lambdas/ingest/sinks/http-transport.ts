import {
  Agent as HttpAgent,
  request as httpRequest,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
} from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

/** What the delivery needs of one response: its status, headers and the start of its body. */
export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** The body's first bytes as one line of text, for error messages (redacted by the caller). */
  snippet: string;
  /** The body was longer than the snippet kept of it. */
  truncated: boolean;
  /** The whole body, when the request asked for it (`readBody`): `_bulk`'s per-item results, HEC's ackId. */
  body?: Buffer;
}

/** Per request: another path on the same origin (HEC's ack endpoint), and whether the whole body is kept. */
export interface PostOptions {
  /** Path and query replacing the transport URL's (same origin, same sockets). */
  path?: string;
  readBody?: boolean;
}

/**
 * How the delivery POSTs one request. The default is a keep-alive socket pool (nodeTransport); benchmarks and
 * tests inject an in-process one, so that everything else in the sink runs as in production.
 */
export interface Transport {
  /** Resolves with any status once the response was read; rejects on a network error or after `timeoutMs`. */
  post(body: Buffer, headers: OutgoingHttpHeaders, timeoutMs: number, options?: PostOptions): Promise<HttpResponse>;
  close(): void;
}

const MAX_SOCKETS = 8;
const RESPONSE_SNIPPET_BYTES = 512;
/**
 * The most of a body kept whole: a `_bulk` answer of 5,000 items with `filter_path` is under 1 MiB; a larger
 * answer is cut here, and its interpreter then treats the request as failed (never as accepted).
 */
export const MAX_RESPONSE_BODY_BYTES = 16 * 1024 * 1024;

/** POSTs to `url` over keep-alive sockets (one pool per transport: one per process in Lambda). */
export function nodeTransport(url: URL): Transport {
  const agentOptions = { keepAlive: true, maxSockets: MAX_SOCKETS };
  const https = url.protocol === 'https:';
  const agent = https ? new HttpsAgent(agentOptions) : new HttpAgent(agentOptions);
  const request = https ? httpsRequest : httpRequest;
  return {
    post: (body, headers, timeoutMs, options = {}) =>
      new Promise<HttpResponse>((resolve, reject) => {
        const fail = (error: Error): void => {
          clearTimeout(timer);
          reject(error);
        };
        const target = options.path === undefined ? url : new URL(options.path, url);
        const keep = options.readBody ? MAX_RESPONSE_BODY_BYTES : RESPONSE_SNIPPET_BYTES;
        const req = request(target, { method: 'POST', agent, headers }, (res) => {
          const kept: Buffer[] = [];
          let keptBytes = 0;
          let truncated = false;
          // The body must be read to the end, or the keep-alive socket can never be reused.
          res.on('data', (chunk: Buffer) => {
            if (keptBytes + chunk.length > keep) truncated = true;
            if (keptBytes >= keep) return;
            const part = Buffer.from(chunk.subarray(0, keep - keptBytes));
            kept.push(part);
            keptBytes += part.length;
          });
          res.on('end', () => {
            clearTimeout(timer);
            const whole = Buffer.concat(kept);
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers,
              snippet: snippetText(whole.subarray(0, RESPONSE_SNIPPET_BYTES)),
              truncated: truncated || whole.length > RESPONSE_SNIPPET_BYTES,
              ...(options.readBody ? { body: whole } : {}),
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
        req.end(body);
      }),
    close: () => agent.destroy(),
  };
}

/** A transport that accepts every request without sending it: the production sink minus the socket. */
export function acceptingTransport(): Transport {
  const accepted: HttpResponse = { status: 200, headers: {}, snippet: '', truncated: false };
  return { post: () => Promise.resolve(accepted), close: () => undefined };
}

function snippetText(bytes: Buffer): string {
  return bytes.toString('utf8').replace(/\s+/g, ' ').trim();
}

function networkError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}
