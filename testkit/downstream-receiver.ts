import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { gunzipSync } from 'node:zlib';
import type { AddressInfo } from 'node:net';

/**
 * What the receiver does with the next requests: tests and the sandbox make it misbehave on command.
 * - `status`: answer that status (with `Retry-After` when given); `echoHeaders` puts the request headers in the
 *   body, as some misconfigured intakes and proxies do (a hostile echo of the `Authorization` header);
 * - `reset`: destroy the connection without answering;
 * - `hang`: never answer (until the client gives up or the receiver stops);
 * - `delay`: answer normally, `ms` later (a slow intake);
 * - `accept-then-reset`: accept the records, then destroy the connection before answering (the client cannot
 *   know the batch arrived, and sends it again with the same idempotency key).
 */
export type Fault =
  | { kind: 'status'; status: number; retryAfter?: string; echoHeaders?: boolean }
  | { kind: 'reset' }
  | { kind: 'hang' }
  | { kind: 'delay'; ms: number }
  | { kind: 'accept-then-reset' };

/** What a fault policy sees of one request. */
export interface FaultContext {
  /** 1 for the first request the receiver got. */
  requestNumber: number;
  idempotencyKey: string;
  /** From the `X-Record-Count` header (0 when absent). */
  recordCount: number;
  /** Compressed body size. */
  bytes: number;
}

/** Chooses a fault (or none) for a request when no injected fault is queued. */
export type FaultPolicy = (request: FaultContext) => Fault | undefined;

/** Probability of each fault per request, for `randomFaultPolicy`. */
export interface FaultRates {
  status500?: number;
  status429?: number;
  status413?: number;
  reset?: number;
  hang?: number;
  acceptThenReset?: number;
  /** `Retry-After` value sent with the 429s (seconds, as a string). Default "1". */
  retryAfter?: string;
}

/**
 * A policy that injects each kind of fault at random with the given probability per request (at most one per
 * request). `random` makes runs repeatable.
 */
export function randomFaultPolicy(rates: FaultRates, random: () => number = Math.random): FaultPolicy {
  const table: [number, Fault][] = [
    [rates.status500 ?? 0, { kind: 'status', status: 500 }],
    [rates.status429 ?? 0, { kind: 'status', status: 429, retryAfter: rates.retryAfter ?? '1' }],
    [rates.status413 ?? 0, { kind: 'status', status: 413 }],
    [rates.reset ?? 0, { kind: 'reset' }],
    [rates.hang ?? 0, { kind: 'hang' }],
    [rates.acceptThenReset ?? 0, { kind: 'accept-then-reset' }],
  ];
  return () => {
    let roll = random();
    for (const [rate, fault] of table) {
      if (roll < rate) return fault;
      roll -= rate;
    }
    return undefined;
  };
}

/** A short stable name of a fault, for counts. */
export function faultName(fault: Fault): string {
  return fault.kind === 'status' ? `status ${fault.status}` : fault.kind;
}

export interface ReceivedBatch {
  idempotencyKey: string;
  kind: string;
  token?: string;
  eventIds: string[];
  duplicateKey: boolean;
  /** The NDJSON lines as received, only with the `keepLines` option. */
  lines?: string[];
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
  /** Epoch ms at which each request's body had arrived (the conformance suite's deadline check). */
  readonly requestTimes: number[] = [];
  /** Bodies larger than this once gunzipped get 413 (an intake's size limit); undefined: none. */
  maxBodyBytes: number | undefined;
  /** Faults served, by `faultName`. */
  readonly faultsServed = new Map<string, number>();
  private readonly faults: Fault[] = [];
  private policy: FaultPolicy | undefined;
  private readonly hanging = new Set<ServerResponse>();
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(
    private readonly options: { token?: string; recordsWithoutEventId?: 'count'; keepLines?: boolean } = {},
  ) {}

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

  /** Consulted for every request that finds no injected fault queued; `undefined` removes it. */
  setFaultPolicy(policy: FaultPolicy | undefined): void {
    this.policy = policy;
  }

  get faultsServedTotal(): number {
    let total = 0;
    for (const count of this.faultsServed.values()) total += count;
    return total;
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
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    this.requests += 1;
    const requestNumber = this.requests;
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    this.requestTimes.push(Date.now());
    const fault =
      this.faults.shift() ??
      this.policy?.({
        requestNumber,
        idempotencyKey: String(request.headers['x-idempotency-key'] ?? ''),
        recordCount: Number(request.headers['x-record-count'] ?? 0) || 0,
        bytes: chunks.reduce((sum, chunk) => sum + chunk.length, 0),
      });
    if (fault) this.faultsServed.set(faultName(fault), (this.faultsServed.get(faultName(fault)) ?? 0) + 1);
    if (fault?.kind === 'reset') {
      request.socket.destroy();
      return;
    }
    if (fault?.kind === 'hang') {
      this.hanging.add(response);
      // The client gave up (its timeout): nothing left to hold.
      response.once('close', () => this.hanging.delete(response));
      return;
    }
    if (fault?.kind === 'status') {
      response.writeHead(fault.status, fault.retryAfter ? { 'retry-after': fault.retryAfter } : {});
      response.end(
        fault.echoHeaders
          ? `injected ${fault.status}; you sent ${JSON.stringify(request.headers)}`
          : `injected ${fault.status}`,
      );
      return;
    }
    if (fault?.kind === 'delay') {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          this.timers.delete(timer);
          resolve();
        }, fault.ms);
        this.timers.add(timer);
      });
      // The client gave up while we were slow: it will send again, so nothing is accepted now.
      if (request.socket.destroyed) return;
    }
    this.accept(request, response, chunks, fault?.kind === 'accept-then-reset');
  }

  private accept(request: IncomingMessage, response: ServerResponse, chunks: Buffer[], resetAfter: boolean): void {
    const problem = this.checkRequest(request);
    if (problem) return this.reject(response, problem === 'bad token' ? 401 : 400, problem);
    let body: Buffer;
    try {
      body = gunzipSync(Buffer.concat(chunks));
    } catch {
      return this.reject(response, 400, 'body is not gzip');
    }
    if (this.maxBodyBytes !== undefined && body.length > this.maxBodyBytes) {
      return this.reject(response, 413, `body of ${body.length} bytes is over ${this.maxBodyBytes}`);
    }
    const lines = body.toString('utf8').split('\n');
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
      ...(this.options.keepLines ? { lines } : {}),
    });
    if (!duplicateKey) {
      this.acceptedKeys.add(key);
      for (const id of eventIds) this.eventIds.set(id, (this.eventIds.get(id) ?? 0) + 1);
    }
    if (resetAfter) {
      request.socket.destroy();
      return;
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
