import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A fault-injecting HTTP proxy on loopback between the AWS SDK and moto_server.
 *
 * Why a proxy rather than a middleware or aws-sdk-client-mock: moto cannot throttle, and a fault injected above
 * the SDK's retry middleware (client mocks, a `build`-step middleware) would bypass the very code that has to
 * cope with it. Answering on the wire makes the real SDK parse a real `503 SlowDown` XML body or an STS
 * `Throttling` query-protocol error, classify it, back off and retry (or give up after `maxAttempts`), exactly
 * as against AWS. It also sees every request, so tests can assert on what was (never) sent: which role was
 * assumed, which bucket was read with which `x-amz-expected-bucket-owner`.
 *
 * Only loopback traffic: it listens on 127.0.0.1 and forwards to the moto endpoint it is given.
 */

/** What the proxy understood of one request (from the SigV4 credential scope and the request itself). */
export interface AwsRequestInfo {
  /** 1 for the first request. */
  n: number;
  /** Signing name from the SigV4 credential scope: `s3`, `sts`, `sqs`, `dynamodb`, ... (`unsigned` if none). */
  service: string;
  /** Best effort: `GetObject`, `AssumeRole`, `ReceiveMessage`, `GetItem`, ... */
  operation: string;
  method: string;
  path: string;
  accessKeyId?: string;
  /** S3 (path-style) only. */
  bucket?: string;
  key?: string;
  expectedBucketOwner?: string;
  /** STS AssumeRole only. */
  roleArn?: string;
  externalId?: string;
}

export type AwsFault =
  /** S3's `503 SlowDown`: the SDK treats it as throttling and retries with backoff. */
  | { kind: 's3-slowdown' }
  /** STS's `400 Throttling` ("Rate exceeded"): a throttling error the SDK retries. */
  | { kind: 'sts-throttling' }
  /** The connection is destroyed without an answer. */
  | { kind: 'reset' }
  /** The request is forwarded, and the response cut off after `afterBytes` bytes of its body. */
  | { kind: 'cut-body'; afterBytes: number }
  /**
   * The request is forwarded and `afterBytes` bytes of the body sent; then nothing more, the connection left open
   * until the client gives up (a stalled S3 body).
   */
  | { kind: 'stall-body'; afterBytes: number }
  /**
   * An S3 REST error answered as S3 does (XML `<Error>` with `<Code>` and `<Message>`), for answers moto does not
   * give: `404 NoSuchVersion` for a deleted version, `403 AccessDenied` naming kms:Decrypt for an SSE-KMS object
   * whose key policy denies the role (Amazon S3 API Reference, "Error responses").
   */
  | { kind: 's3-error'; status: number; code: string; message: string };

export type AwsFaultPolicy = (request: AwsRequestInfo) => AwsFault | undefined;

export interface AwsFaultProxyOptions {
  policy?: AwsFaultPolicy;
  /**
   * Bucket -> owning account. moto ignores `ExpectedBucketOwner`; for the buckets listed here the proxy answers
   * `403 AccessDenied` when the header names another account, as S3 does.
   */
  bucketOwners?: ReadonlyMap<string, string>;
  /** Keep at most this many requests in `requests` (default 100,000). */
  maxRecorded?: number;
}

const S3_SLOWDOWN =
  '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message>' +
  '<RequestId>FAULTPROXY0000001</RequestId><HostId>fault-proxy</HostId></Error>';
const S3_ACCESS_DENIED =
  '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code><Message>Access Denied</Message>' +
  '<RequestId>FAULTPROXY0000002</RequestId><HostId>fault-proxy</HostId></Error>';
const STS_THROTTLING =
  '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>Throttling</Code>' +
  '<Message>Rate exceeded</Message></Error><RequestId>fault-proxy-0000-0000-000000000003</RequestId></ErrorResponse>';

export class AwsFaultProxy {
  private server?: Server;
  private readonly target: URL;
  private policy: AwsFaultPolicy | undefined;
  private readonly injected: { match: (request: AwsRequestInfo) => boolean; fault: AwsFault }[] = [];
  private readonly bucketOwners: Map<string, string>;
  private readonly maxRecorded: number;
  readonly requests: AwsRequestInfo[] = [];
  /** Requests seen, by `service:operation`. */
  readonly counts = new Map<string, number>();
  /** Faults served, by kind (`expected-owner-denied` for the emulated ExpectedBucketOwner check). */
  readonly faultsServed = new Map<string, number>();
  private seen = 0;

  constructor(target: string, options: AwsFaultProxyOptions = {}) {
    this.target = new URL(target);
    if (!['127.0.0.1', 'localhost', '[::1]'].includes(this.target.hostname)) {
      throw new Error(`AwsFaultProxy forwards to loopback only, not ${this.target.hostname}`);
    }
    this.policy = options.policy;
    this.bucketOwners = new Map(options.bucketOwners ?? []);
    this.maxRecorded = options.maxRecorded ?? 100_000;
  }

  async start(): Promise<string> {
    this.server = createServer((request, response) => {
      void this.handle(request, response).catch(() => response.destroy());
    });
    this.server.keepAliveTimeout = 5_000;
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return this.endpoint;
  }

  get endpoint(): string {
    const address = this.server?.address() as AddressInfo | undefined;
    if (!address) throw new Error('proxy not started');
    return `http://127.0.0.1:${address.port}`;
  }

  setPolicy(policy: AwsFaultPolicy | undefined): void {
    this.policy = policy;
  }

  setBucketOwner(bucket: string, accountId: string): void {
    this.bucketOwners.set(bucket, accountId);
  }

  /** Serves `fault` to each of the next `times` requests that `match`, before the policy is consulted. */
  inject(match: (request: AwsRequestInfo) => boolean, fault: AwsFault, times = 1): void {
    for (let i = 0; i < times; i++) this.injected.push({ match, fault });
  }

  count(service: string, operation: string): number {
    return this.counts.get(`${service}:${operation}`) ?? 0;
  }

  faults(kind: string): number {
    return this.faultsServed.get(kind) ?? 0;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const info = describeRequest(++this.seen, request, body);
    const label = `${info.service}:${info.operation}`;
    this.counts.set(label, (this.counts.get(label) ?? 0) + 1);
    if (this.requests.length < this.maxRecorded) this.requests.push(info);

    const owner = info.bucket === undefined ? undefined : this.bucketOwners.get(info.bucket);
    if (owner !== undefined && info.expectedBucketOwner !== undefined && info.expectedBucketOwner !== owner) {
      this.served('expected-owner-denied');
      return reply(response, 403, 'application/xml', S3_ACCESS_DENIED);
    }

    const at = this.injected.findIndex((entry) => entry.match(info));
    const fault = at >= 0 ? this.injected.splice(at, 1)[0]!.fault : this.policy?.(info);
    if (fault) this.served(fault.kind);
    switch (fault?.kind) {
      case 's3-slowdown':
        return reply(response, 503, 'application/xml', S3_SLOWDOWN);
      case 'sts-throttling':
        return reply(response, 400, 'text/xml', STS_THROTTLING);
      case 'reset':
        request.socket.destroy();
        return;
      case 's3-error':
        return reply(response, fault.status, 'application/xml', s3ErrorBody(fault.code, fault.message));
      case 'stall-body':
        return this.forward(request, response, body, fault.afterBytes, true);
      default:
        return this.forward(request, response, body, fault?.kind === 'cut-body' ? fault.afterBytes : undefined);
    }
  }

  private served(kind: string): void {
    this.faultsServed.set(kind, (this.faultsServed.get(kind) ?? 0) + 1);
  }

  private forward(
    request: IncomingMessage,
    response: ServerResponse,
    body: Buffer,
    cutAfter?: number,
    stall = false,
  ): Promise<void> {
    return new Promise<void>((resolve) => {
      const upstream = httpRequest(
        {
          hostname: this.target.hostname,
          port: this.target.port,
          method: request.method,
          path: request.url,
          headers: { ...request.headers, host: this.target.host, 'content-length': String(body.length) },
        },
        (upstreamResponse) => {
          response.writeHead(upstreamResponse.statusCode ?? 502, upstreamResponse.headers);
          if (cutAfter === undefined) {
            upstreamResponse.pipe(response);
            upstreamResponse.on('end', resolve);
            upstreamResponse.on('error', () => {
              response.destroy();
              resolve();
            });
            return;
          }
          let sent = 0;
          upstreamResponse.on('data', (chunk: Buffer) => {
            if (sent >= cutAfter) return;
            const part = chunk.subarray(0, cutAfter - sent);
            sent += part.length;
            // Once the part is flushed, so the client does get the partial body before the connection dies.
            if (sent >= cutAfter && !stall) response.write(part, () => response.socket?.destroy());
            else response.write(part);
          });
          upstreamResponse.on('end', () => {
            // A stall keeps the connection open: the client (or stop()) closes it.
            if (!stall) response.socket?.destroy();
            resolve();
          });
          upstreamResponse.on('error', () => resolve());
        },
      );
      upstream.on('error', () => {
        response.destroy();
        resolve();
      });
      upstream.end(body);
    });
  }
}

function s3ErrorBody(code: string, message: string): string {
  const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${escape(code)}</Code><Message>${escape(message)}</Message>` +
    '<RequestId>FAULTPROXY0000004</RequestId><HostId>fault-proxy</HostId></Error>'
  );
}

function reply(response: ServerResponse, status: number, contentType: string, body: string): void {
  response.writeHead(status, {
    'content-type': contentType,
    'content-length': Buffer.byteLength(body),
    'x-amz-request-id': 'FAULTPROXY',
  });
  response.end(body);
}

function header(request: IncomingMessage, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** Reads the service, the operation and the interesting parameters of a signed AWS request. */
export function describeRequest(n: number, request: IncomingMessage, body: Buffer): AwsRequestInfo {
  const method = request.method ?? 'GET';
  const url = new URL(request.url ?? '/', 'http://proxy.invalid');
  // The path as sent: URL parsing would resolve `..` segments, which S3 takes literally as part of a key.
  const rawPath = (request.url ?? '/').split('?')[0]!;
  const scope = /Credential=([^/,\s]+)\/\d{8}\/[^/]+\/([^/]+)\/aws4_request/.exec(
    header(request, 'authorization') ?? '',
  );
  const service = scope?.[2] ?? 'unsigned';
  const info: AwsRequestInfo = { n, service, operation: 'unknown', method, path: rawPath };
  if (scope?.[1]) info.accessKeyId = scope[1];

  const target = header(request, 'x-amz-target');
  if (target) {
    info.operation = target.split('.').pop() ?? target;
    return info;
  }
  const contentType = header(request, 'content-type') ?? '';
  if (contentType.startsWith('application/x-www-form-urlencoded')) {
    const form = new URLSearchParams(body.toString('utf8'));
    info.operation = form.get('Action') ?? 'unknown';
    if (info.operation === 'AssumeRole') {
      info.roleArn = form.get('RoleArn') ?? '';
      const externalId = form.get('ExternalId');
      if (externalId !== null) info.externalId = externalId;
    }
    return info;
  }
  if (service === 's3') {
    // Path-style: /bucket/key (the SDK uses it whenever an endpoint is configured).
    const [, bucket = '', ...keyParts] = rawPath.split('/');
    if (bucket !== '') info.bucket = decodeURIComponent(bucket);
    const key = keyParts.map((part) => decodeURIComponent(part)).join('/');
    if (key !== '') info.key = key;
    const owner = header(request, 'x-amz-expected-bucket-owner');
    if (owner !== undefined) info.expectedBucketOwner = owner;
    const subresource = [...url.searchParams.keys()].filter((name) => name !== 'x-id')[0];
    info.operation =
      info.key === undefined
        ? `${method} bucket${subresource ? `?${subresource}` : ''}`
        : ({ GET: 'GetObject', HEAD: 'HeadObject', PUT: 'PutObject', DELETE: 'DeleteObject' }[method] ?? method);
  }
  return info;
}
