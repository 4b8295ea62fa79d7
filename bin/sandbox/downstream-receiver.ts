import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { gunzipSync } from 'node:zlib';
import type { AddressInfo } from 'node:net';

/** What the receiver does with the next requests: tests and the sandbox make it misbehave on command. */
export type Fault = { kind: 'status'; status: number; retryAfter?: string } | { kind: 'reset' } | { kind: 'hang' };

export interface ReceivedBatch {
  idempotencyKey: string;
  kind: string;
  token?: string;
  eventIds: string[];
  duplicateKey: boolean;
}

/**
 * A local stand-in for the downstream log intake: accepts the collector's wire format (POST, gzip NDJSON),
 * checks it, remembers every record's eventID and every idempotency key, and drops batches whose key it
 * has already accepted, as a real intake would.
 */
export class DownstreamReceiver {
  private server?: Server;
  readonly batches: ReceivedBatch[] = [];
  /** eventID -> times accepted (after idempotency de-duplication). */
  readonly eventIds = new Map<string, number>();
  readonly acceptedKeys = new Set<string>();
  readonly rejected: string[] = [];
  requests = 0;
  private readonly faults: Fault[] = [];
  private readonly hanging = new Set<ServerResponse>();

  constructor(private readonly options: { token?: string; recordsWithoutEventId?: 'count' } = {}) {}

  async start(): Promise<string> {
    this.server = createServer((request, response) => {
      void this.handle(request, response);
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return this.url;
  }

  get url(): string {
    const address = this.server?.address() as AddressInfo | undefined;
    if (!address) throw new Error('receiver not started');
    return `http://127.0.0.1:${address.port}/intake`;
  }

  /** Queue faults for the next requests, in order. */
  inject(...faults: Fault[]): void {
    this.faults.push(...faults);
  }

  get uniqueRecords(): number {
    return this.eventIds.size;
  }

  /** Records accepted more than once despite the idempotency keys (0 when redeliveries reuse their keys). */
  get duplicateRecords(): number {
    let duplicates = 0;
    for (const count of this.eventIds.values()) duplicates += count - 1;
    return duplicates;
  }

  async stop(): Promise<void> {
    for (const response of this.hanging) response.destroy();
    this.hanging.clear();
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    this.requests += 1;
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const fault = this.faults.shift();
    if (fault?.kind === 'reset') {
      request.socket.destroy();
      return;
    }
    if (fault?.kind === 'hang') {
      this.hanging.add(response);
      return;
    }
    if (fault?.kind === 'status') {
      response.writeHead(fault.status, fault.retryAfter ? { 'retry-after': fault.retryAfter } : {});
      response.end(`injected ${fault.status}`);
      return;
    }
    const problem = this.checkRequest(request);
    if (problem) return this.reject(response, problem === 'bad token' ? 401 : 400, problem);
    let lines: string[];
    try {
      lines = gunzipSync(Buffer.concat(chunks)).toString('utf8').split('\n');
    } catch {
      return this.reject(response, 400, 'body is not gzip');
    }
    if (lines.pop() !== '') return this.reject(response, 400, 'NDJSON body must end with a newline');
    const eventIds: string[] = [];
    for (const line of lines) {
      try {
        const record = JSON.parse(line) as { eventID?: unknown };
        eventIds.push(typeof record.eventID === 'string' ? record.eventID : `no-event-id:${line}`);
      } catch {
        return this.reject(response, 400, 'a line is not JSON');
      }
    }
    const key = String(request.headers['x-idempotency-key']);
    const duplicateKey = this.acceptedKeys.has(key);
    this.batches.push({
      idempotencyKey: key,
      kind: String(request.headers['x-cloudtrail-record-kind'] ?? ''),
      ...(request.headers.authorization ? { token: request.headers.authorization } : {}),
      eventIds,
      duplicateKey,
    });
    if (!duplicateKey) {
      this.acceptedKeys.add(key);
      for (const id of eventIds) this.eventIds.set(id, (this.eventIds.get(id) ?? 0) + 1);
    }
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ accepted: eventIds.length, duplicate: duplicateKey }));
  }

  private checkRequest(request: IncomingMessage): string | undefined {
    if (request.method !== 'POST') return `method ${request.method} not allowed`;
    if (request.headers['content-type'] !== 'application/x-ndjson') return 'content-type must be application/x-ndjson';
    if (request.headers['content-encoding'] !== 'gzip') return 'content-encoding must be gzip';
    if (!request.headers['x-idempotency-key']) return 'x-idempotency-key missing';
    if (this.options.token && request.headers.authorization !== `Bearer ${this.options.token}`) return 'bad token';
    return undefined;
  }

  private reject(response: ServerResponse, status: number, reason: string): void {
    this.rejected.push(reason);
    response.writeHead(status);
    response.end(reason);
  }
}
