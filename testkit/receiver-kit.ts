import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

/**
 * What the protocol receivers of the test kit share (hec-receiver.ts, bulk-receiver.ts): a loopback HTTP server
 * that reads each request whole (gunzipped when `Content-Encoding: gzip`), records when it arrived, and lets a
 * test queue faults or hold the receiver unavailable. What a request means is the receiver's own.
 */
export interface ReceivedRequest {
  method: string;
  /** Path without the query. */
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  /** The body as sent (before gunzip). */
  raw: Buffer;
  /** The body after gunzip; undefined when `Content-Encoding: gzip` did not hold gzip. */
  body: Buffer | undefined;
  /** Epoch ms at which the request's body had arrived. */
  at: number;
}

export interface Reply {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}

/** A request's fate before the protocol sees it: a reply, a reset connection, or (undefined) the protocol's answer. */
export type Interception = Reply | 'reset' | undefined;

export abstract class LoopbackReceiver {
  private server?: Server;
  /** Every request received, in arrival order. */
  readonly requests: ReceivedRequest[] = [];
  /** Consulted first for every request: queued faults (`intercept`) come before it. */
  private readonly queued: ((request: ReceivedRequest) => Interception)[] = [];
  private always: ((request: ReceivedRequest) => Interception) | undefined;

  protected abstract handle(request: ReceivedRequest): Reply;

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      void this.serve(req, res);
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return this.url;
  }

  /** The base URL, `http://127.0.0.1:<port>`. */
  get url(): string {
    const address = this.server?.address() as AddressInfo | undefined;
    if (!address) throw new Error('receiver not started');
    return `http://127.0.0.1:${address.port}`;
  }

  /** The next requests meet these, in order, one each (undefined: that request goes through). */
  intercept(...next: ((request: ReceivedRequest) => Interception)[]): void {
    this.queued.push(...next);
  }

  /** Every request meets this until cleared (after the queued ones). */
  interceptAll(rule: ((request: ReceivedRequest) => Interception) | undefined): void {
    this.always = rule;
  }

  clearInterceptions(): void {
    this.queued.length = 0;
    this.always = undefined;
  }

  /** Epoch ms of each request. */
  get requestTimes(): number[] {
    return this.requests.map((request) => request.at);
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks);
    let body: Buffer | undefined = raw;
    if (req.headers['content-encoding'] === 'gzip') {
      try {
        body = gunzipSync(raw);
      } catch {
        body = undefined;
      }
    }
    const url = new URL(req.url ?? '/', 'http://receiver.invalid');
    const request: ReceivedRequest = {
      method: req.method ?? '',
      path: url.pathname,
      query: url.searchParams,
      headers: req.headers,
      raw,
      body,
      at: Date.now(),
    };
    this.requests.push(request);
    const next = this.queued.shift();
    const interception = next?.(request) ?? this.always?.(request);
    if (interception === 'reset') {
      req.socket.destroy();
      return;
    }
    const reply = interception ?? this.handle(request);
    res.writeHead(reply.status, { 'content-type': 'application/json', ...(reply.headers ?? {}) });
    res.end(reply.body ?? '');
  }
}

/** `{"a":1}{"b":2}` or one object per line: the top-level JSON values of a body, each as its text. */
export function concatenatedJsonValues(text: string): string[] | undefined {
  const values: string[] = [];
  let depth = 0;
  let inString = false;
  let escaped = false;
  let start = -1;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (inString) {
      if (escaped) escaped = false;
      else if (c === '\\') escaped = true;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') {
      if (depth === 0) return undefined;
      inString = true;
    } else if (c === '{' || c === '[') {
      if (depth === 0) start = i;
      depth++;
    } else if (c === '}' || c === ']') {
      depth--;
      if (depth < 0) return undefined;
      if (depth === 0) values.push(text.slice(start, i + 1));
    } else if (depth === 0 && !/\s/.test(c)) {
      return undefined;
    }
  }
  return depth === 0 ? values : undefined;
}
