/**
 * Loopback stand-ins for what one ingest execution talks to, for the per-file benchmark (bench/files.ts): the AWS
 * endpoints the Lambda calls (S3 GetObject, STS AssumeRole, DynamoDB GetItem/UpdateItem on the registry) and the
 * downstream intake. Both answer on 127.0.0.1 from the runner's process, so that the measured process does
 * exactly the Lambda's work and none of theirs. They answer as the services do, in the parts the SDK reads:
 * - S3: the object bytes with Content-Length, a quoted ETag, Last-Modified and, when the request asks for it
 *   (`x-amz-checksum-mode: ENABLED`, which SDK v3 sends on every GetObject by default), the object's CRC64NVME
 *   checksum, which S3 adds to every object uploaded without one ("Checking object integrity", Amazon S3 User
 *   Guide; the `ChecksumCRC64NVME` member of GetObject's output), so that the SDK validates it as it does against
 *   S3;
 * - STS: an AssumeRole answer (query protocol, XML) with credentials valid for an hour;
 * - DynamoDB: GetItem of the registered accounts (JSON 1.0 protocol), UpdateItem accepted; the ledger's writes
 *   accepted: BatchWriteItem (one request per 25 files of an invocation, as ingest sends them now), PutItem (one per
 *   file, as a `--baseline` tree from before 2026-12-06 sends them) and UpdateItem.
 * The receiver checks the token, gunzips every batch and counts its lines against `x-record-count`.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

// ------------------------------------------------------------------------------------------ CRC64NVME

/** CRC-64/NVME (reflected polynomial 0x9a6c9329ac4bc9b5, initial and final XOR all ones), as 32-bit halves. */
const CRC64_TABLE_HIGH = new Uint32Array(256);
const CRC64_TABLE_LOW = new Uint32Array(256);
for (let n = 0; n < 256; n++) {
  let high = 0;
  let low = n;
  for (let bit = 0; bit < 8; bit++) {
    const carry = low & 1;
    low = ((low >>> 1) | ((high & 1) << 31)) >>> 0;
    high >>>= 1;
    if (carry) {
      high = (high ^ 0x9a6c9329) >>> 0;
      low = (low ^ 0xac4bc9b5) >>> 0;
    }
  }
  CRC64_TABLE_HIGH[n] = high;
  CRC64_TABLE_LOW[n] = low;
}

/** The base64 CRC64NVME of `bytes`, as S3 returns it in `x-amz-checksum-crc64nvme`. */
export function crc64Nvme(bytes: Uint8Array): string {
  let high = 0xffffffff;
  let low = 0xffffffff;
  for (const byte of bytes) {
    const index = (low ^ byte) & 0xff;
    low = (((low >>> 8) | ((high & 0xff) << 24)) ^ CRC64_TABLE_LOW[index]!) >>> 0;
    high = ((high >>> 8) ^ CRC64_TABLE_HIGH[index]!) >>> 0;
  }
  const out = Buffer.alloc(8);
  out.writeUInt32BE((high ^ 0xffffffff) >>> 0, 0);
  out.writeUInt32BE((low ^ 0xffffffff) >>> 0, 4);
  return out.toString('base64');
}

// ------------------------------------------------------------------------------------------ AWS

interface StoredObject {
  body: Buffer;
  etag: string;
  crc64: string;
}

/** A DynamoDB attribute value of a plain JSON value (what the registry's records hold). */
function marshal(value: unknown): Record<string, unknown> {
  if (typeof value === 'string') return { S: value };
  if (typeof value === 'number') return { N: String(value) };
  if (typeof value === 'boolean') return { BOOL: value };
  if (value === null) return { NULL: true };
  if (Array.isArray(value)) return { L: value.map(marshal) };
  return {
    M: Object.fromEntries(
      Object.entries(value as Record<string, unknown>)
        .filter(([, member]) => member !== undefined)
        .map(([key, member]) => [key, marshal(member)]),
    ),
  };
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function close(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

export interface AwsCalls {
  getObject: number;
  assumeRole: number;
  getItem: number;
  updateItem: number;
  ledgerWrites: number;
  /** Anything else: answered 400, and the benchmark fails. */
  unexpected: string[];
}

export class LoopbackAws {
  /** Added before each GetObject answer: S3's first-byte latency (0: loopback as it is). */
  getObjectLatencyMs = 0;
  readonly calls: AwsCalls = {
    getObject: 0,
    assumeRole: 0,
    getItem: 0,
    updateItem: 0,
    ledgerWrites: 0,
    unexpected: [],
  };
  private readonly objects = new Map<string, StoredObject>();
  private readonly server = createServer((request, response) => {
    this.handle(request, response).catch((error: unknown) => {
      this.calls.unexpected.push(String(error));
      if (!response.headersSent) response.writeHead(500);
      response.end();
    });
  });

  constructor(
    private readonly accounts: Record<string, Record<string, unknown>>,
    private readonly collectorAccount: string,
  ) {
    // Small answers, many of them: no Nagle delay on loopback.
    this.server.on('connection', (socket) => socket.setNoDelay(true));
  }

  /** Stores an object as S3 would return it (`bucket/key` as GetObject names it). */
  put(bucket: string, key: string, body: Buffer): void {
    this.objects.set(`${bucket}/${key}`, {
      body,
      etag: `"${createHash('md5').update(body).digest('hex')}"`,
      crc64: crc64Nvme(body),
    });
  }

  start(): Promise<string> {
    return listen(this.server);
  }

  stop(): Promise<void> {
    return close(this.server);
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const target = request.headers['x-amz-target'];
    if (typeof target === 'string') return this.dynamo(target, await readBody(request), response);
    if (request.method === 'POST' && request.url?.split('?')[0] === '/') {
      const form = new URLSearchParams((await readBody(request)).toString('utf8'));
      if (form.get('Action') === 'AssumeRole') return this.assumeRole(form, response);
      return this.unexpected(`STS ${form.get('Action')}`, response);
    }
    if (request.method === 'GET') {
      if (this.getObjectLatencyMs > 0) await delay(this.getObjectLatencyMs);
      return this.getObject(request, response);
    }
    return this.unexpected(`${request.method} ${request.url}`, response);
  }

  private getObject(request: IncomingMessage, response: ServerResponse): void {
    const path = new URL(request.url ?? '/', 'http://loopback').pathname;
    const name = path.slice(1).split('/').map(decodeURIComponent).join('/');
    const object = this.objects.get(name);
    if (!object) {
      response.writeHead(404, { 'content-type': 'application/xml' });
      response.end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchKey</Code><Key>${name}</Key></Error>`);
      return;
    }
    this.calls.getObject++;
    response.writeHead(200, {
      'content-type': 'application/json',
      'content-length': object.body.length,
      etag: object.etag,
      'last-modified': 'Sun, 01 Nov 2026 00:05:00 GMT',
      'accept-ranges': 'bytes',
      'x-amz-server-side-encryption': 'AES256',
      'x-amz-request-id': 'BENCHREQUEST0001',
      ...(request.headers['x-amz-checksum-mode'] === 'ENABLED'
        ? { 'x-amz-checksum-crc64nvme': object.crc64, 'x-amz-checksum-type': 'FULL_OBJECT' }
        : {}),
    });
    response.end(object.body);
  }

  private assumeRole(form: URLSearchParams, response: ServerResponse): void {
    this.calls.assumeRole++;
    const role = form.get('RoleArn') ?? '';
    const expiration = new Date(Date.now() + 3600_000).toISOString();
    response.writeHead(200, { 'content-type': 'text/xml' });
    response.end(
      `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult>` +
        `<Credentials><AccessKeyId>ASIABENCH</AccessKeyId><SecretAccessKey>bench-secret</SecretAccessKey>` +
        `<SessionToken>bench-session</SessionToken><Expiration>${expiration}</Expiration></Credentials>` +
        `<AssumedRoleUser><AssumedRoleId>AROABENCH:${form.get('RoleSessionName') ?? ''}</AssumedRoleId>` +
        `<Arn>${role.replace(':iam:', ':sts:').replace(':role/', ':assumed-role/')}</Arn></AssumedRoleUser>` +
        `</AssumeRoleResult><ResponseMetadata><RequestId>bench</RequestId></ResponseMetadata></AssumeRoleResponse>`,
    );
  }

  private dynamo(target: string, body: Buffer, response: ServerResponse): void {
    const operation = target.split('.').pop();
    const input = JSON.parse(body.toString('utf8')) as {
      TableName?: string;
      Key?: { accountId?: { S?: string } };
      RequestItems?: Record<string, unknown[]>;
    };
    const accountId = input.Key?.accountId?.S ?? '';
    const json = (status: number, value: unknown) => {
      response.writeHead(status, { 'content-type': 'application/x-amz-json-1.0' });
      response.end(JSON.stringify(value));
    };
    if (operation === 'GetItem') {
      this.calls.getItem++;
      const record = this.accounts[accountId];
      return json(200, record ? { Item: (marshal(record) as { M: unknown }).M } : {});
    }
    // The ledger (lambdas/shared/ledger.ts): the files of an invocation, an UpdateItem of the newest file now and then.
    const tables = Object.keys(input.RequestItems ?? {});
    if (operation === 'BatchWriteItem' && tables.length === 1 && tables[0]!.endsWith('-ledger')) {
      this.calls.ledgerWrites++;
      return json(200, { UnprocessedItems: {} });
    }
    if ((operation === 'PutItem' || operation === 'UpdateItem') && input.TableName?.endsWith('-ledger')) {
      this.calls.ledgerWrites++;
      return json(200, {});
    }
    if (operation === 'UpdateItem' && this.accounts[accountId]) {
      this.calls.updateItem++;
      return json(200, {});
    }
    return this.unexpected(`DynamoDB ${operation} (collector account ${this.collectorAccount})`, response);
  }

  private unexpected(what: string, response: ServerResponse): void {
    this.calls.unexpected.push(what);
    response.writeHead(400, { 'content-type': 'application/xml' });
    response.end(`<Error><Code>NotImplementedInBench</Code><Message>${what}</Message></Error>`);
  }
}

// ------------------------------------------------------------------------------------------ receiver

export interface ReceiverCounts {
  requests: number;
  records: number;
  /** Compressed bytes received. */
  bytes: number;
  /** Distinct idempotency keys: fewer than `requests` means a batch was sent twice. */
  keys: number;
  /** Requests refused (bad token, not gzip, count mismatch), with why. */
  rejected: string[];
}

/** The downstream intake: checks what the collector sends and answers 200 at once. */
export class CountingReceiver {
  /** Added before each answer: the intake's response time (0: loopback as it is). */
  latencyMs = 0;
  private readonly keys = new Set<string>();
  private counts = { requests: 0, records: 0, bytes: 0, rejected: [] as string[] };
  private readonly server = createServer((request, response) => {
    this.handle(request, response).catch((error: unknown) => {
      this.counts.rejected.push(String(error));
      if (!response.headersSent) response.writeHead(500);
      response.end();
    });
  });

  constructor(private readonly token: string) {
    this.server.on('connection', (socket) => socket.setNoDelay(true));
  }

  start(): Promise<string> {
    return listen(this.server).then((base) => `${base}/intake`);
  }

  stop(): Promise<void> {
    return close(this.server);
  }

  reset(): void {
    this.keys.clear();
    this.counts = { requests: 0, records: 0, bytes: 0, rejected: [] };
  }

  get totals(): ReceiverCounts {
    return { ...this.counts, rejected: [...this.counts.rejected], keys: this.keys.size };
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const body = await readBody(request);
    const refuse = (why: string) => {
      this.counts.rejected.push(why);
      response.writeHead(400);
      response.end(why);
    };
    if (request.headers.authorization !== `Bearer ${this.token}`) return refuse('bad token');
    if (request.headers['content-encoding'] !== 'gzip') return refuse('not gzip');
    const ndjson = gunzipSync(body);
    let lines = 0;
    for (let at = ndjson.indexOf(0x0a); at >= 0; at = ndjson.indexOf(0x0a, at + 1)) lines++;
    if (String(lines) !== request.headers['x-record-count']) {
      return refuse(`${lines} lines, x-record-count ${String(request.headers['x-record-count'])}`);
    }
    this.counts.requests++;
    this.counts.records += lines;
    this.counts.bytes += body.length;
    this.keys.add(String(request.headers['x-idempotency-key']));
    if (this.latencyMs > 0) await delay(this.latencyMs);
    response.writeHead(200, { 'content-type': 'application/json', 'content-length': 2 });
    response.end('{}');
  }
}
