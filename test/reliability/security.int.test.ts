/**
 * Security properties of the ingest path, checked on the wire:
 * - tenant isolation: a message can never make the collector assume a role in an account other than the one
 *   whose queue delivered it, nor read a bucket that account does not own (every STS and S3 request is seen by
 *   the fault proxy, which also enforces ExpectedBucketOwner as S3 does, since moto does not);
 * - the downstream token never appears in a log line, an error message or the CLI's output, even when the
 *   downstream echoes it back.
 */
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import type { Context, SQSRecord } from 'aws-lambda';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { eventBridgeObjectCreated, s3EventNotification, snsEnvelope } from '../../testkit/demo-chain';
import { loadIngestConfig } from '../../lambdas/ingest/config';
import { HttpSink } from '../../lambdas/ingest/sinks/http-delivery';
import { processSqsBatch, type BatchResult, type IngestDeps } from '../../lambdas/ingest/source/sqs-batch';
import { pollQueue, toSqsRecord } from '../../lambdas/ingest/source/queue-poller';
import { createIngestDeps, CountTally } from '../../lambdas/ingest/runtime';
import { createStderrLogger, silentLogger } from '../../lambdas/shared/logger';
import { runCli } from '../../testkit/cli';
import { REGION } from '../../testkit/test-emulator';
import { TABLE } from '../../testkit/ingest-env';
import { faultWorld, type FaultWorld } from '../../testkit/fault-world';

const A = '111122223333';
const B = '444455556666';
const roleOf = (account: string) => `arn:aws:iam::${account}:role/CloudTrailCollectorRole`;

/** Polls a tenant's queue until nothing is visible for `emptyReceives` one-second receives. */
async function drain(world: FaultWorld, account: string, deps: IngestDeps, emptyReceives = 1): Promise<BatchResult[]> {
  const { clients, chain } = world.tenants.get(account)!;
  const results: BatchResult[] = [];
  await pollQueue(
    clients.sqs,
    async (records, deadline) => {
      const result = await processSqsBatch(records, deps, deadline);
      results.push(result);
      return result;
    },
    { queueUrl: chain.queueUrl, batchTimeoutMs: 30_000, waitTimeSeconds: 1, stopAfterEmptyReceives: emptyReceives },
    silentLogger,
  );
  return results;
}

async function dlqBodies(world: FaultWorld, account: string): Promise<string[]> {
  const { clients, chain } = world.tenants.get(account)!;
  const bodies: string[] = [];
  for (let round = 0; round < 10; round++) {
    const received = await clients.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: chain.dlqUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 60 }),
    );
    if (!received.Messages?.length) break;
    bodies.push(...received.Messages.map((message) => message.Body ?? ''));
  }
  return bodies;
}

describe('tenant isolation', () => {
  let world: FaultWorld;
  afterEach(async () => world.stop());

  test("messages in A's queue naming B's account or bucket never assume a role in B, never read B's data", async () => {
    world = await faultWorld([{ accountId: A }, { accountId: B }]);
    await world.setVisibilityTimeout(A, 1);
    const bucketA = world.tenants.get(A)!.chain.bucket;
    const bucketB = world.tenants.get(B)!.chain.bucket;
    const own = await world.logFile(A, 1, 12);
    const bFile = await world.logFile(B, 2, 10); // B's logs, in B's bucket
    const planted = await world.logFile(B, 3, 10, { logAccount: A }); // a file under A's path, in B's bucket
    const ct = (bucket: string, key: string) => JSON.stringify({ s3Bucket: bucket, s3ObjectKey: [key] });
    const hostile = [
      ct(bucketB, bFile.key),
      ct(bucketB, planted.key),
      snsEnvelope(ct(bucketB, planted.key), `arn:aws:sns:us-east-1:${B}:outcomestopic`),
      s3EventNotification(bucketB, planted.key).replace(/"A3NL1KOZZKExample"/, `"${B}"`),
      eventBridgeObjectCreated(bucketB, planted.key).replace(`"account":"${A}"`, `"account":"${B}"`),
      ct(bucketA, bFile.key), // B's account in the key, A's bucket
    ];
    for (const body of hostile) await world.send(A, body);
    // The one legitimate message, dressed up with another account's role and queue.
    await world.send(
      A,
      JSON.stringify({
        ...JSON.parse(ct(bucketA, own.key)),
        roleArn: roleOf(B),
        externalId: `ext-${B}`,
        eventSourceARN: `arn:aws:sqs:us-east-1:${B}:outcomesqueue`,
      }),
    );

    // Until the hostile messages have been received maxReceiveCount (5) times and moved to the DLQ.
    const deps = await world.deps();
    await drain(world, A, deps, 4);

    const assumed = world.proxy.requests.filter((request) => request.operation === 'AssumeRole');
    expect(assumed.length).toBeGreaterThan(0);
    expect(new Set(assumed.map((request) => `${request.roleArn} ${request.externalId}`))).toEqual(
      new Set([`${roleOf(A)} ext-${A}`]),
    );
    const reads = world.proxy.requests.filter((request) => request.operation === 'GetObject');
    for (const read of reads) expect(read.expectedBucketOwner).toBe(A);
    // B's bucket was asked for (the key check passed: the path names A), and refused as S3 would refuse it.
    expect(world.proxy.faults('expected-owner-denied')).toBe(reads.filter((read) => read.bucket === bucketB).length);
    expect(reads.filter((read) => read.bucket === bucketB).length).toBeGreaterThan(0);

    expect([...world.receiver.eventIds.keys()].sort()).toEqual([...own.eventIds].sort());
    expect((await dlqBodies(world, A)).sort()).toEqual([...hostile].sort());
  });

  test('a log archive reads the logs of the accounts it archives with its own role, never theirs', async () => {
    world = await faultWorld([{ accountId: A, logArchiveFor: [B] }, { accountId: B }]);
    const bucketA = world.tenants.get(A)!.chain.bucket;
    const archived = await world.logFile(A, 4, 15, { logAccount: B }); // B's logs delivered into A's bucket
    await world.send(A, JSON.stringify({ s3Bucket: bucketA, s3ObjectKey: [archived.key] }));
    await drain(world, A, await world.deps());

    expect([...world.receiver.eventIds.keys()].sort()).toEqual([...archived.eventIds].sort());
    const assumed = world.proxy.requests.filter((request) => request.operation === 'AssumeRole');
    expect(assumed.map((request) => request.roleArn)).toEqual([roleOf(A)]);
  });

  test("one batch holding two tenants' messages: each is read with its own queue's role from its own bucket", async () => {
    world = await faultWorld([{ accountId: A }, { accountId: B }]);
    const records: SQSRecord[] = [];
    const expected: string[] = [];
    for (const [account, seed] of [
      [A, 5],
      [B, 6],
      [A, 7],
      [B, 8],
    ] as const) {
      const { chain } = world.tenants.get(account)!;
      const file = await world.logFile(account, seed, 8);
      expected.push(...file.eventIds);
      const body = JSON.stringify({ s3Bucket: chain.bucket, s3ObjectKey: [file.key] });
      records.push(toSqsRecord({ MessageId: `m-${seed}`, ReceiptHandle: 'r', Body: body }, chain.queueArn, REGION));
    }
    // A's message pointing at B's bucket, inside the same batch: rejected (B's path in A's message).
    const crossKey = (await world.logFile(B, 9, 3)).key;
    records.push(
      toSqsRecord(
        {
          MessageId: 'm-cross',
          ReceiptHandle: 'r',
          Body: JSON.stringify({ s3Bucket: world.tenants.get(B)!.chain.bucket, s3ObjectKey: [crossKey] }),
        },
        world.tenants.get(A)!.chain.queueArn,
        REGION,
      ),
    );
    const result = await processSqsBatch(records, await world.deps(), Date.now() + 30_000);
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: 'm-cross' }]);
    expect([...world.receiver.eventIds.keys()].sort()).toEqual(expected.sort());

    const assumed = world.proxy.requests.filter((request) => request.operation === 'AssumeRole');
    expect(assumed.map((request) => request.roleArn).sort()).toEqual([roleOf(A), roleOf(B)].sort());
    // Each read expects the owner of the bucket it reads: the tenant of the queue the message came from.
    for (const read of world.proxy.requests.filter((request) => request.operation === 'GetObject')) {
      expect(read.bucket).toBe(`outcomes-${read.expectedBucketOwner}`);
    }
  });
});

describe('the downstream token never appears in logs, errors or output', () => {
  /** Long and distinctive; any 8 consecutive characters of it found anywhere count as a leak. */
  const TOKEN = 'ctk_Zq8vR2mW7xT4pL9sK3nB6yH1dF5gJ0aE';
  const leaks = (text: string): string[] => {
    const found: string[] = [];
    for (let at = 0; at + 8 <= TOKEN.length; at++)
      if (text.includes(TOKEN.slice(at, at + 8))) found.push(TOKEN.slice(at, at + 8));
    return found;
  };

  test('through every downstream failure, with a downstream that echoes the Authorization header back', async () => {
    const world = await faultWorld([{ accountId: A }], { token: TOKEN });
    try {
      await world.setVisibilityTimeout(A, 1);
      const files = await Promise.all([11, 12, 13, 14, 15, 16].map((seed) => world.logFile(A, seed, 5)));
      const bucket = world.tenants.get(A)!.chain.bucket;
      for (const file of files) await world.send(A, JSON.stringify({ s3Bucket: bucket, s3ObjectKey: [file.key] }));
      world.receiver.inject(
        { kind: 'status', status: 500, echoHeaders: true }, // retried
        { kind: 'status', status: 503, echoHeaders: true },
        { kind: 'status', status: 401, echoHeaders: true }, // permanent: that message fails
        { kind: 'status', status: 400, echoHeaders: true },
        { kind: 'reset' },
        { kind: 'hang' },
        { kind: 'status', status: 429, retryAfter: '600', echoHeaders: true }, // past the deadline
      );
      const errors: string[] = [];
      const deps = await world.deps({ DOWNSTREAM_TIMEOUT_MS: '400', MESSAGE_CONCURRENCY: '1' });
      const results = await drain(world, A, deps, 3);
      for (const result of results)
        for (const outcome of result.outcomes.values()) if (outcome.status === 'failed') errors.push(outcome.error);

      expect(errors.length).toBeGreaterThanOrEqual(2); // 401, 400 or the 429 past the deadline failed a message
      expect(world.logLines.some((line) => line.includes('[redacted]'))).toBe(true); // the echo did come back
      expect(leaks(world.logLines.join('\n'))).toEqual([]);
      expect(leaks(errors.join('\n'))).toEqual([]);
      // Meanwhile the token did its job on the wire.
      expect(world.receiver.batches.every((batch) => batch.token === `Bearer ${TOKEN}`)).toBe(true);
      expect(world.receiver.uniqueRecords).toBe(30);
    } finally {
      await world.stop();
    }
  });

  test('a response snippet cut off inside the echoed token does not leak its beginning', async () => {
    let padding = 0;
    const server = createServer((request, response) => {
      request.resume();
      request.on('end', () => {
        response.writeHead(500);
        response.end(`${'x'.repeat(padding)}${String(request.headers.authorization)} and more after it`);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const lines: string[] = [];
    const sink = new HttpSink({
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
      token: TOKEN,
      timeoutMs: 2_000,
      maxAttempts: 2,
      baseDelayMs: 1,
      logger: createStderrLogger('debug', (line) => lines.push(line)),
    });
    try {
      // The snippet keeps 512 bytes: put the token across that boundary at every offset.
      for (padding = 440; padding <= 520; padding++) {
        const error = await sink
          .send(
            { object: { bucket: 'b', key: 'k', kind: 'log' }, index: 0, records: [Buffer.from('{}')] },
            { idempotencyKey: 'k', deadline: Date.now() + 5_000 },
          )
          .then(
            () => undefined,
            (e: unknown) => e as Error,
          );
        expect(error?.message).toMatch(/HTTP 500/);
        expect({ padding, leaks: leaks(error!.message) }).toEqual({ padding, leaks: [] });
      }
      expect(leaks(lines.join('\n'))).toEqual([]);
    } finally {
      sink.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  test('the command-line tool (ingest --queue-url, invoke ingest) prints no part of it', async () => {
    const world = await faultWorld([{ accountId: A }], { token: TOKEN });
    try {
      const { chain } = world.tenants.get(A)!;
      const file = await world.logFile(A, 21, 5);
      await world.send(A, JSON.stringify({ s3Bucket: chain.bucket, s3ObjectKey: [file.key] }));
      world.receiver.inject(
        { kind: 'status', status: 500, echoHeaders: true },
        { kind: 'status', status: 401, echoHeaders: true },
      );
      const env = {
        ACCOUNTS_TABLE: TABLE,
        DOWNSTREAM_URL: world.receiver.url,
        DOWNSTREAM_TOKEN: TOKEN,
        AWS_ENDPOINT_URL: world.proxy.endpoint,
      };
      const polled = await runCli(
        ['ingest', '--queue-url', chain.queueUrl, '--until-empty', '--wait-seconds', '0'],
        env,
      );
      expect(polled.code).toBe(1);
      expect(polled.stderr).toContain('HTTP 401');

      const eventFile = path.join(await mkdtemp(path.join(tmpdir(), 'ctc-')), 'event.json');
      const body = JSON.stringify({ s3Bucket: chain.bucket, s3ObjectKey: [file.key] });
      await writeFile(
        eventFile,
        JSON.stringify({
          Records: [toSqsRecord({ MessageId: 'm1', ReceiptHandle: 'r', Body: body }, chain.queueArn, REGION)],
        }),
      );
      world.receiver.inject({ kind: 'status', status: 403, echoHeaders: true });
      const invoked = await runCli(['invoke', 'ingest', '--event', eventFile], env);
      expect(invoked.code).toBe(1);
      expect(invoked.stderr).toContain('HTTP 403');

      const badToken = await runCli(['invoke', 'ingest', '--event', eventFile], {
        ...env,
        DOWNSTREAM_TOKEN: `${TOKEN}\u0007`,
      });
      expect(badToken.code).toBe(2); // a configuration error
      expect(badToken.stderr).toContain('DOWNSTREAM_TOKEN contains characters not allowed in an HTTP header');

      const both = await runCli(['invoke', 'ingest', '--event', eventFile], {
        ...env,
        DOWNSTREAM_TOKEN_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:t',
      });
      expect(both.code).toBe(2);
      expect(both.stderr).toContain('not both');

      for (const run of [polled, invoked, badToken, both]) expect(leaks(run.stdout + run.stderr)).toEqual([]);
    } finally {
      await world.stop();
    }
  });

  test('the Lambda handler (Powertools logger on stdout) prints no part of it', async () => {
    const world = await faultWorld([{ accountId: A }], { token: TOKEN });
    const written: string[] = [];
    // Powertools writes info lines to stdout and warnings and errors to stderr (console.warn / console.error).
    const capture = (chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    };
    const spies = [
      jest.spyOn(process.stdout, 'write').mockImplementation(capture),
      jest.spyOn(process.stderr, 'write').mockImplementation(capture),
    ];
    const saved = { ...process.env };
    try {
      const { chain } = world.tenants.get(A)!;
      const file = await world.logFile(A, 22, 5);
      Object.assign(process.env, {
        ACCOUNTS_TABLE: TABLE,
        DOWNSTREAM_URL: world.receiver.url,
        DOWNSTREAM_TOKEN: TOKEN,
        DOWNSTREAM_TIMEOUT_MS: '400',
        POWERTOOLS_LOG_LEVEL: 'DEBUG',
      });
      world.receiver.inject(
        { kind: 'status', status: 500, echoHeaders: true },
        { kind: 'hang' },
        { kind: 'status', status: 401, echoHeaders: true },
      );
      let handler: (event: { Records: SQSRecord[] }, context: Context) => Promise<unknown> = () =>
        Promise.resolve(undefined);
      jest.isolateModules(() => {
        // A fresh module: the handler reads its configuration (and builds its logger) when it is loaded.
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        ({ handler } = require('../../lambdas/ingest/handler') as { handler: typeof handler });
      });
      const body = JSON.stringify({ s3Bucket: chain.bucket, s3ObjectKey: [file.key] });
      const context = {
        getRemainingTimeInMillis: () => 20_000,
        functionName: 'ingest',
        awsRequestId: 'req-1',
      } as unknown as Context;
      const result = await handler(
        { Records: [toSqsRecord({ MessageId: 'm1', ReceiptHandle: 'r', Body: body }, chain.queueArn, REGION)] },
        context,
      );
      expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: 'm1' }] });
    } finally {
      for (const spy of spies) spy.mockRestore();
      process.env = saved;
      await world.stop();
    }
    const output = written.join('');
    expect(output).toContain('HTTP 401');
    expect(output).toContain('[redacted]');
    expect(leaks(output)).toEqual([]);
  });

  test('configuration errors name the variable, never the value', async () => {
    const base = { AWS_REGION: REGION, ACCOUNTS_TABLE: 't', DOWNSTREAM_URL: 'http://127.0.0.1:9/x' };
    const messages: string[] = [];
    for (const env of [
      { ...base, DOWNSTREAM_TOKEN: `${TOKEN} with a space` },
      { ...base, DOWNSTREAM_TOKEN: `${TOKEN}\n${TOKEN}` },
      { ...base, DOWNSTREAM_TOKEN: TOKEN, DOWNSTREAM_TOKEN_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:1:secret:x' },
      { ...base, DOWNSTREAM_TOKEN: TOKEN, DOWNSTREAM_URL: `http://user:${TOKEN}@127.0.0.1:9/x?token=${TOKEN}` },
    ]) {
      try {
        const deps = await createIngestDeps(loadIngestConfig(env), silentLogger, new CountTally());
        // Built: the URL's credentials must stay out of what the sink says about the URL.
        const error = await deps.sink
          .send(
            { object: { bucket: 'b', key: 'k', kind: 'log' }, index: 0, records: [Buffer.from('{}')] },
            { idempotencyKey: 'k', deadline: Date.now() + 300 },
          )
          .then(
            () => undefined,
            (e: unknown) => e as Error,
          );
        messages.push(error?.message ?? '');
        deps.sink.close();
      } catch (error) {
        messages.push((error as Error).message);
      }
    }
    expect(messages).toHaveLength(4);
    expect(messages[0]).toMatch(/^DOWNSTREAM_TOKEN contains characters not allowed in an HTTP header/);
    expect(messages[1]).toMatch(/^DOWNSTREAM_TOKEN contains characters not allowed in an HTTP header/);
    expect(messages[2]).toMatch(/DOWNSTREAM_TOKEN or DOWNSTREAM_TOKEN_SECRET_ARN, not both/);
    expect(leaks(messages.join('\n'))).toEqual([]);
  });
});
