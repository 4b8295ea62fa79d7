/**
 * Faults on every side of the ingest path, against moto (S3, SQS, STS, DynamoDB) and the local downstream
 * receiver. The downstream misbehaves through DownstreamReceiver's faults; S3 and STS, which moto cannot make
 * fail, misbehave through the AWS fault proxy (see support/aws-fault-proxy.ts for why a proxy). Each test shows
 * either that the retries succeed or that the message is left in the queue and goes through on redelivery, and
 * in every case that no record is lost and none is accepted twice.
 */
import { DeleteObjectCommand, HeadObjectCommand, PutBucketVersioningCommand } from '@aws-sdk/client-s3';
import type { SQSRecord } from 'aws-lambda';
import { processSqsBatch, type BatchResult, type IngestDeps } from '../../lambdas/ingest/source/sqs-batch';
import { pollQueue, type PollTotals } from '../../lambdas/ingest/source/queue-poller';
import { silentLogger } from '../../lambdas/shared/logger';
import { faultWorld, type FaultWorld } from '../../testkit/fault-world';
import { queueCounts } from '../../testkit/queues';
import { s3EventNotification } from '../../testkit/demo-chain';

const TENANT = '111122223333';

describe('ingest under faults', () => {
  let world: FaultWorld;
  let bucket: string;

  beforeEach(async () => {
    world = await faultWorld([{ accountId: TENANT }]);
    bucket = world.tenants.get(TENANT)!.chain.bucket;
  });
  afterEach(async () => world.stop());

  const notify = (keys: string[]) => world.send(TENANT, JSON.stringify({ s3Bucket: bucket, s3ObjectKey: keys }));

  /**
   * Runs the `ingest --queue-url` loop (pollQueue + processSqsBatch) until the queue has nothing visible for
   * `emptyReceives` one-second receives; `batchTimeoutMs` plays the Lambda timeout.
   */
  async function poll(
    deps: IngestDeps,
    options: { batchTimeoutMs?: number; maxBatches?: number; emptyReceives?: number } = {},
  ): Promise<{ totals: PollTotals; results: BatchResult[] }> {
    const { clients, chain } = world.tenants.get(TENANT)!;
    const results: BatchResult[] = [];
    const totals = await pollQueue(
      clients.sqs,
      async (records, deadline) => {
        const result = await processSqsBatch(records, deps, deadline);
        results.push(result);
        return result;
      },
      {
        queueUrl: chain.queueUrl,
        batchTimeoutMs: options.batchTimeoutMs ?? 60_000,
        waitTimeSeconds: 1,
        stopAfterEmptyReceives: options.emptyReceives ?? 1,
        ...(options.maxBatches !== undefined ? { maxBatches: options.maxBatches } : {}),
      },
      silentLogger,
    );
    return { totals, results };
  }

  async function queueDepth(): Promise<{ visible: number; inFlight: number; dlq: number }> {
    const { clients, chain } = world.tenants.get(TENANT)!;
    const main = await queueCounts(clients.sqs, chain.queueUrl);
    const dlq = await queueCounts(clients.sqs, chain.dlqUrl);
    return { visible: main.visible, inFlight: main.inFlight, dlq: dlq.visible + dlq.inFlight };
  }

  /** Every generated eventID arrived, and no record was accepted twice. */
  function expectAllOnce(eventIds: string[]): void {
    expect(world.receiver.uniqueRecords).toBe(eventIds.length);
    expect([...world.receiver.eventIds.keys()].sort()).toEqual([...eventIds].sort());
    expect(world.receiver.duplicateRecords).toBe(0);
  }

  const outcomesOf = (results: BatchResult[]) => results.flatMap((result) => [...result.outcomes.values()]);
  const warnings = (message: string) =>
    world.logLines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((l) => l.message === message);

  describe('downstream', () => {
    test('500s for a while (a 1.5 s outage): retried with backoff, every record arrives once', async () => {
      const files = await Promise.all([1, 2, 3].map((seed) => world.logFile(TENANT, seed, 120)));
      for (const file of files) await notify([file.key]);
      let outageEnds = 0;
      world.receiver.setFaultPolicy(() => {
        outageEnds ||= Date.now() + 1_500;
        return Date.now() < outageEnds ? { kind: 'status', status: 500 } : undefined;
      });
      const { totals, results } = await poll(await world.deps({ MAX_BATCH_RECORDS: '50' }));

      expect(totals).toMatchObject({ received: 3, deleted: 3, failed: 0 });
      expect(outcomesOf(results).every((outcome) => outcome.status === 'forwarded')).toBe(true);
      expect(world.receiver.faultsServed.get('status 500')).toBeGreaterThanOrEqual(3);
      expect(warnings('downstream request failed; retrying').every((w) => w.status === 500)).toBe(true);
      expectAllOnce(files.flatMap((file) => file.eventIds));
    });

    test('429 with Retry-After: the retry waits as long as the downstream asked', async () => {
      const file = await world.logFile(TENANT, 4, 30);
      await notify([file.key]);
      const attempts: number[] = [];
      world.receiver.setFaultPolicy(() => {
        attempts.push(Date.now());
        return attempts.length === 1 ? { kind: 'status', status: 429, retryAfter: '1' } : undefined;
      });
      const { totals } = await poll(await world.deps());

      expect(totals).toMatchObject({ received: 1, deleted: 1, failed: 0 });
      expect(attempts).toHaveLength(2);
      expect(attempts[1]! - attempts[0]!).toBeGreaterThanOrEqual(950);
      expect(warnings('downstream request failed; retrying')).toEqual([
        expect.objectContaining({ status: 429, retryInMs: 1000, retryAfterHonoured: true }),
      ]);
      expectAllOnce(file.eventIds);
    });

    test('429 with a Retry-After beyond the deadline: fails at once, left in the queue, delivered next time', async () => {
      await world.setVisibilityTimeout(TENANT, 1);
      const file = await world.logFile(TENANT, 5, 30);
      await notify([file.key]);
      world.receiver.inject({ kind: 'status', status: 429, retryAfter: '120' });
      const started = Date.now();
      const first = await poll(await world.deps(), { batchTimeoutMs: 5_000, maxBatches: 1 });

      expect(Date.now() - started).toBeLessThan(4_000); // it did not sleep 120 s, nor until the deadline
      expect(first.totals).toMatchObject({ received: 1, deleted: 0, failed: 1 });
      expect(outcomesOf(first.results)).toEqual([
        expect.objectContaining({ status: 'failed', poison: false, error: expect.stringMatching(/deadline/) }),
      ]);
      const second = await poll(await world.deps(), { emptyReceives: 3 });
      expect(second.totals).toMatchObject({ received: 1, deleted: 1, failed: 0 });
      expect(await queueDepth()).toEqual({ visible: 0, inFlight: 0, dlq: 0 });
      expectAllOnce(file.eventIds);
    });

    test('413: the batch is split in halves with derived keys, and a redelivery reuses the same keys', async () => {
      await world.setVisibilityTimeout(TENANT, 1);
      const file = await world.logFile(TENANT, 6, 100);
      await notify([file.key]);
      // Like a real intake: a size limit, so the same batch always gets the same answer.
      let base = '';
      world.receiver.setFaultPolicy((request) => {
        base ||= request.idempotencyKey;
        return request.recordCount > 30 ? { kind: 'status', status: 413 } : undefined;
      });
      const deps = await world.deps();
      await poll(deps);
      const accepted = world.receiver.batches.map((batch) => batch.idempotencyKey);
      expect(accepted.sort()).toEqual([`${base}.0.0`, `${base}.0.1`, `${base}.1.0`, `${base}.1.1`].sort());
      expectAllOnce(file.eventIds);

      // The same notification again (a duplicate SNS delivery): the same halves, each dropped by its key.
      await notify([file.key]);
      await poll(deps);
      expect(
        world.receiver.batches
          .filter((batch) => batch.duplicateKey)
          .map((b) => b.idempotencyKey)
          .sort(),
      ).toEqual(accepted.sort());
      expectAllOnce(file.eventIds);
    });

    test('413 down to a single record: permanent, the message fails and stays queued, nothing is lost', async () => {
      await world.setVisibilityTimeout(TENANT, 1);
      const file = await world.logFile(TENANT, 7, 3);
      const good = await world.logFile(TENANT, 8, 5);
      await notify([file.key]);
      await notify([good.key]);
      // The 3-record batch and its halves are refused whatever their size; the 5-record batch is accepted.
      world.receiver.setFaultPolicy((request) =>
        request.recordCount <= 3 ? { kind: 'status', status: 413 } : undefined,
      );
      const { totals, results } = await poll(await world.deps(), { maxBatches: 1 });
      expect(totals.failed).toBe(1);
      expect(outcomesOf(results)).toContainEqual(
        expect.objectContaining({
          status: 'failed',
          error: expect.stringMatching(/413.*single record.*can never be accepted/),
        }),
      );
      expect(await queueDepth()).toMatchObject({ inFlight: 1 });
      // The good file is not held back by its neighbour's failure.
      expect([...world.receiver.eventIds.keys()].sort()).toEqual([...good.eventIds].sort());
    });

    test('connection resets: retried, every record arrives once', async () => {
      const file = await world.logFile(TENANT, 9, 200);
      await notify([file.key]);
      world.receiver.inject({ kind: 'reset' }, { kind: 'reset' }, { kind: 'reset' });
      const { totals } = await poll(await world.deps({ MAX_BATCH_RECORDS: '50' }));
      expect(totals).toMatchObject({ deleted: 1, failed: 0 });
      expect(world.receiver.faultsServed.get('reset')).toBe(3);
      expect(warnings('downstream request failed; retrying')).toHaveLength(3);
      expectAllOnce(file.eventIds);
    });

    test('accepted, then the connection reset before the answer: the resend is dropped by its key', async () => {
      const file = await world.logFile(TENANT, 10, 40);
      await notify([file.key]);
      world.receiver.inject({ kind: 'accept-then-reset' });
      const { totals } = await poll(await world.deps());
      expect(totals).toMatchObject({ deleted: 1, failed: 0 });
      expect(world.receiver.batches.map((batch) => batch.duplicateKey)).toEqual([false, true]);
      expectAllOnce(file.eventIds);
    });

    test('a hang past DOWNSTREAM_TIMEOUT_MS: the request is given up at the timeout and retried', async () => {
      const file = await world.logFile(TENANT, 11, 40);
      await notify([file.key]);
      world.receiver.inject({ kind: 'hang' });
      const started = Date.now();
      const { totals } = await poll(await world.deps({ DOWNSTREAM_TIMEOUT_MS: '500' }));
      expect(totals).toMatchObject({ deleted: 1, failed: 0 });
      expect(Date.now() - started).toBeGreaterThanOrEqual(500);
      expect(warnings('downstream request failed; retrying')).toEqual([
        expect.objectContaining({ error: expect.stringMatching(/ETIMEDOUT.*500 ms/) }),
      ]);
      expectAllOnce(file.eventIds);
    });

    test('a hang when the deadline comes before the timeout: cut at the deadline, redelivered, not lost', async () => {
      await world.setVisibilityTimeout(TENANT, 1);
      const file = await world.logFile(TENANT, 12, 40);
      await notify([file.key]);
      world.receiver.inject({ kind: 'hang' });
      const started = Date.now();
      const first = await poll(await world.deps({ DOWNSTREAM_TIMEOUT_MS: '30000' }), {
        batchTimeoutMs: 1_500,
        maxBatches: 1,
      });
      const elapsed = Date.now() - started;
      expect(elapsed).toBeGreaterThanOrEqual(1_400);
      expect(elapsed).toBeLessThan(10_000); // not the 30 s timeout
      expect(outcomesOf(first.results)).toEqual([
        expect.objectContaining({ status: 'failed', poison: false, error: expect.stringMatching(/deadline reached/) }),
      ]);
      const second = await poll(await world.deps(), { emptyReceives: 3 });
      expect(second.totals).toMatchObject({ received: 1, deleted: 1 });
      expectAllOnce(file.eventIds);
    });
  });

  describe('S3', () => {
    const getObject = (request: { operation: string }) => request.operation === 'GetObject';

    test('503 SlowDown twice: the SDK backs off and retries, the message goes through', async () => {
      const file = await world.logFile(TENANT, 20, 50);
      await notify([file.key]);
      world.proxy.inject(getObject, { kind: 's3-slowdown' }, 2);
      const { totals } = await poll(await world.deps());
      expect(totals).toMatchObject({ deleted: 1, failed: 0 });
      expect(world.proxy.faults('s3-slowdown')).toBe(2);
      expect(world.proxy.count('s3', 'GetObject')).toBe(3);
      expectAllOnce(file.eventIds);
    });

    test('503 SlowDown on every attempt: the message fails (not poison), stays queued, goes through next time', async () => {
      await world.setVisibilityTimeout(TENANT, 1);
      const file = await world.logFile(TENANT, 21, 50);
      await notify([file.key]);
      world.proxy.setPolicy((request) => (getObject(request) ? { kind: 's3-slowdown' } : undefined));
      const first = await poll(await world.deps(), { maxBatches: 1 });
      expect(first.totals).toMatchObject({ received: 1, deleted: 0, failed: 1 });
      expect(outcomesOf(first.results)).toEqual([
        expect.objectContaining({
          status: 'failed',
          poison: false,
          error: expect.stringMatching(/reduce your request rate/),
        }),
      ]);
      expect(world.proxy.count('s3', 'GetObject')).toBe(4); // the client's maxAttempts
      expect(world.receiver.requests).toBe(0);

      world.proxy.setPolicy(undefined);
      const second = await poll(await world.deps(), { emptyReceives: 3 });
      expect(second.totals).toMatchObject({ received: 1, deleted: 1, failed: 0 });
      expect(await queueDepth()).toEqual({ visible: 0, inFlight: 0, dlq: 0 });
      expectAllOnce(file.eventIds);
    });

    test('the connection cut in the middle of a streamed object body: transient, redelivered, nothing lost or doubled', async () => {
      await world.setVisibilityTimeout(TENANT, 1);
      // Over WHOLE_OBJECT_MAX_BYTES (1 MiB) gzip'd, so it is streamed: batches go out before the cut.
      const file = await world.logFile(TENANT, 22, 12_000);
      await notify([file.key]);
      world.proxy.inject(getObject, { kind: 'cut-body', afterBytes: 200_000 });
      const deps = await world.deps({ MAX_BATCH_RECORDS: '100' });
      const first = await poll(deps, { maxBatches: 1 });
      expect(outcomesOf(first.results)).toEqual([expect.objectContaining({ status: 'failed', poison: false })]);
      const delivered = world.receiver.batches.length;
      expect(delivered).toBeGreaterThan(0); // the cut came mid-file: some batches were already sent

      const second = await poll(deps, { emptyReceives: 3 });
      expect(second.totals).toMatchObject({ received: 1, deleted: 1 });
      expect(world.receiver.batches.filter((batch) => batch.duplicateKey)).toHaveLength(delivered);
      expectAllOnce(file.eventIds);
    });

    test('the connection cut in a small object read whole: nothing sent, redelivered, every record once', async () => {
      await world.setVisibilityTimeout(TENANT, 1);
      const file = await world.logFile(TENANT, 25, 400);
      await notify([file.key]);
      world.proxy.inject(getObject, { kind: 'cut-body', afterBytes: 20_000 });
      const deps = await world.deps({ MAX_BATCH_RECORDS: '100' });
      const first = await poll(deps, { maxBatches: 1 });
      expect(outcomesOf(first.results)).toEqual([expect.objectContaining({ status: 'failed', poison: false })]);
      expect(world.receiver.batches).toHaveLength(0); // read whole before anything is sent

      const second = await poll(deps, { emptyReceives: 3 });
      expect(second.totals).toMatchObject({ received: 1, deleted: 1 });
      expectAllOnce(file.eventIds);
    });

    test('an object deleted between notification and read, among other keys: acknowledged, the others forwarded', async () => {
      const kept = await world.logFile(TENANT, 23, 25);
      const deleted = await world.logFile(TENANT, 24, 25);
      await notify([kept.key, deleted.key]);
      await world.tenants.get(TENANT)!.clients.s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: deleted.key }));
      const deps = await world.deps();
      const { totals, results } = await poll(deps);
      expect(totals).toMatchObject({ deleted: 1, failed: 0 });
      expect(outcomesOf(results)).toEqual([{ status: 'forwarded', objects: 2, records: 25, filtered: 0 }]);
      expect(deps.tally.get('ObjectsMissing')).toBe(1);
      expect(warnings('object deleted before it was read (NoSuchKey): acknowledged')).toHaveLength(1);
      expectAllOnce(kept.eventIds);
    });

    /** An S3 event notification naming one version of the key (S3 event notifications carry `versionId`). */
    const versionedEvent = (key: string, versionId: string) => {
      const event = JSON.parse(s3EventNotification(bucket, key)) as {
        Records: { s3: { object: Record<string, unknown> } }[];
      };
      event.Records[0]!.s3.object.versionId = versionId;
      return JSON.stringify(event);
    };

    test('an S3 event naming a version deleted since (moto): acknowledged, never retried into the DLQ', async () => {
      const { clients } = world.tenants.get(TENANT)!;
      await clients.s3.send(
        new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }),
      );
      const file = await world.logFile(TENANT, 25, 10);
      const head = await clients.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: file.key }));
      expect(head.VersionId).toBeDefined();
      await clients.s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: file.key, VersionId: head.VersionId }));
      await world.send(TENANT, versionedEvent(file.key, head.VersionId!));
      const deps = await world.deps();
      const { totals } = await poll(deps);
      expect(totals).toMatchObject({ received: 1, deleted: 1, failed: 0 });
      expect(deps.tally.get('ObjectsMissing')).toBe(1);
      // S3 answers NoSuchVersion here; some moto versions answer NoSuchKey (getmoto/moto#2710). Either is
      // acknowledged; the next test pins AWS's answer through the proxy.
      const acknowledged = [
        ...warnings('object version deleted before it was read (NoSuchVersion): acknowledged'),
        ...warnings('object deleted before it was read (NoSuchKey): acknowledged'),
      ];
      expect(acknowledged).toHaveLength(1);
      expect(await queueDepth()).toEqual({ visible: 0, inFlight: 0, dlq: 0 });
      expect(world.receiver.requests).toBe(0);
    });

    test('404 NoSuchVersion as S3 answers it (S3 API Reference, Error responses): acknowledged like NoSuchKey', async () => {
      const kept = await world.logFile(TENANT, 26, 15);
      const gone = await world.logFile(TENANT, 27, 15);
      await notify([kept.key]);
      await world.send(TENANT, versionedEvent(gone.key, '3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY'));
      world.proxy.inject((request) => getObject(request) && request.key === gone.key, {
        kind: 's3-error',
        status: 404,
        code: 'NoSuchVersion',
        message: 'The specified version does not exist.',
      });
      const deps = await world.deps();
      const { totals } = await poll(deps);
      expect(totals).toMatchObject({ received: 2, deleted: 2, failed: 0 });
      expect(world.proxy.faults('s3-error')).toBe(1);
      expect(deps.tally.get('ObjectsMissing')).toBe(1);
      expect(warnings('object version deleted before it was read (NoSuchVersion): acknowledged')).toHaveLength(1);
      expect(await queueDepth()).toEqual({ visible: 0, inFlight: 0, dlq: 0 });
      expectAllOnce(kept.eventIds);
    });

    test('a body that stalls: aborted at the Lambda deadline, the message fails naming the object, then goes through', async () => {
      await world.setVisibilityTimeout(TENANT, 1);
      const file = await world.logFile(TENANT, 28, 3000);
      const id = await notify([file.key]);
      world.proxy.inject(getObject, { kind: 'stall-body', afterBytes: 20_000 });
      const deps = await world.deps({ DEADLINE_MARGIN_MS: '0' });
      // The budget plays the Lambda timeout; without the abort the stalled read would never end (no timed check).
      const first = await poll(deps, { batchTimeoutMs: 1_500, maxBatches: 1 });
      expect(first.results[0]!.batchItemFailures).toEqual([{ itemIdentifier: id }]);
      expect(outcomesOf(first.results)).toEqual([
        expect.objectContaining({
          status: 'failed',
          poison: false,
          error: expect.stringMatching(
            new RegExp(
              `^s3://${bucket}/${file.key.replace(/[.]/g, '\\.')}: reading from S3 stopped at the Lambda deadline`,
            ),
          ),
        }),
      ]);
      const second = await poll(deps, { emptyReceives: 3 });
      expect(second.totals).toMatchObject({ received: 1, deleted: 1, failed: 0 });
      expect(await queueDepth()).toEqual({ visible: 0, inFlight: 0, dlq: 0 });
      expectAllOnce(file.eventIds);
    });

    test('SSE-KMS, the key policy denies the role: recorded on the account, the message fails and nothing is lost', async () => {
      await world.setVisibilityTimeout(TENANT, 1);
      const file = await world.logFile(TENANT, 29, 20);
      const id = await notify([file.key]);
      const keyArn = `arn:aws:kms:us-east-1:${TENANT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
      // moto does not evaluate key policies: the proxy answers with the 403 AccessDenied S3 gives for an SSE-KMS
      // object whose key denies the role (the message shape of public reports of S3 GetObject).
      world.proxy.inject(getObject, {
        kind: 's3-error',
        status: 403,
        code: 'AccessDenied',
        message:
          `User: arn:aws:sts::${TENANT}:assumed-role/CloudTrailCollectorRole/cloudtrail-collector-ingest is not ` +
          `authorized to perform: kms:Decrypt on resource: ${keyArn} because no resource-based policy allows the ` +
          'kms:Decrypt action',
      });
      const deps = await world.deps();
      const first = await poll(deps, { maxBatches: 1 });
      expect(first.results[0]!.batchItemFailures).toEqual([{ itemIdentifier: id }]);
      expect(outcomesOf(first.results)).toEqual([
        expect.objectContaining({ status: 'failed', poison: false, error: expect.stringContaining(keyArn) }),
      ]);
      expect(deps.tally.get('ObjectsKmsUnreadable')).toBe(1);
      const recorded = (await world.registry.get(TENANT))?.lastReadError;
      expect(recorded).toMatchObject({
        kind: 'kms',
        bucket,
        objectKey: file.key,
        code: 'AccessDenied',
        keyArn,
        roleArn: `arn:aws:iam::${TENANT}:role/CloudTrailCollectorRole`,
      });
      expect(Date.now() - Date.parse(recorded!.at)).toBeLessThan(60_000);
      // An older error never replaces a later one (concurrent ingest runs).
      expect(await world.registry.recordReadError(TENANT, { ...recorded!, at: '2020-01-01T00:00:00.000Z' })).toBe(
        false,
      );
      // The key policy fixed: the redelivered message goes through.
      const second = await poll(deps, { emptyReceives: 3 });
      expect(second.totals).toMatchObject({ received: 1, deleted: 1, failed: 0 });
      expectAllOnce(file.eventIds);
    });
  });

  describe('STS', () => {
    const assumeRole = (request: { operation: string }) => request.operation === 'AssumeRole';

    test('AssumeRole throttled twice: the SDK retries, the batch goes through', async () => {
      const files = await Promise.all([30, 31, 32].map((seed) => world.logFile(TENANT, seed, 20)));
      for (const file of files) await notify([file.key]);
      world.proxy.inject(assumeRole, { kind: 'sts-throttling' }, 2);
      const { totals } = await poll(await world.deps());
      expect(totals).toMatchObject({ received: 3, deleted: 3, failed: 0 });
      expect(world.proxy.count('sts', 'AssumeRole')).toBe(3);
      expectAllOnce(files.flatMap((file) => file.eventIds));
    });

    test('AssumeRole throttled throughout: the batch fails unread and stays queued; the next one assumes again', async () => {
      await world.setVisibilityTimeout(TENANT, 1);
      const files = await Promise.all([33, 34, 35].map((seed) => world.logFile(TENANT, seed, 20)));
      for (const file of files) await notify([file.key]);
      world.proxy.setPolicy((request) => (assumeRole(request) ? { kind: 'sts-throttling' } : undefined));
      const deps = await world.deps();
      const first = await poll(deps, { maxBatches: 1 });
      expect(first.totals).toMatchObject({ received: 3, deleted: 0, failed: 3 });
      for (const outcome of outcomesOf(first.results)) {
        expect(outcome).toMatchObject({
          status: 'failed',
          poison: false,
          error: expect.stringMatching(/cannot assume .*Rate exceeded/),
        });
      }
      expect(world.proxy.count('s3', 'GetObject')).toBe(0);

      // Same process (the credential cache must not have kept the failure): throttling over, all goes through.
      world.proxy.setPolicy(undefined);
      const before = world.proxy.count('sts', 'AssumeRole');
      const second = await poll(deps, { emptyReceives: 3 });
      expect(second.totals).toMatchObject({ deleted: 3 });
      expect(world.proxy.count('sts', 'AssumeRole')).toBe(before + 1);
      expectAllOnce(files.flatMap((file) => file.eventIds));
    });
  });

  describe('the Lambda deadline in the middle of a large file', () => {
    test('the message fails before the deadline, stays queued, and the next try sends the same keys', async () => {
      await world.setVisibilityTimeout(TENANT, 1);
      const file = await world.logFile(TENANT, 40, 6_000);
      const id = await notify([file.key]);
      // A slow intake: 150 ms per batch, one batch in flight, 30 batches to send and 1.5 s to send them in.
      world.receiver.setFaultPolicy(() => ({ kind: 'delay', ms: 150 }));
      const deps = await world.deps({ MAX_BATCH_RECORDS: '200', MAX_IN_FLIGHT_BATCHES: '1' });
      const started = Date.now();
      const first = await poll(deps, { batchTimeoutMs: 1_500, maxBatches: 1 });
      expect(Date.now() - started).toBeLessThan(6_000); // the 1.5 s budget, not a hang
      expect(first.totals).toMatchObject({ received: 1, deleted: 0, failed: 1 });
      expect(first.results[0]!.batchItemFailures).toEqual([{ itemIdentifier: id }]);
      expect(outcomesOf(first.results)).toEqual([
        expect.objectContaining({ status: 'failed', poison: false, error: expect.stringMatching(/deadline reached/) }),
      ]);
      // The batch in flight at the deadline may still be accepted by the slow intake after the client gave up
      // (as a real intake may): wait out its delay before counting what arrived.
      await new Promise((resolve) => setTimeout(resolve, 500));
      const firstKeys = world.receiver.batches.map((batch) => batch.idempotencyKey);
      expect(firstKeys.length).toBeGreaterThan(0);
      expect(firstKeys.length).toBeLessThan(30);
      expect(world.receiver.uniqueRecords).toBe(firstKeys.length * 200);

      // The next delivery of the same message, with time enough: the batches sent before carry the same keys.
      world.receiver.setFaultPolicy(undefined);
      const records: SQSRecord[] = [];
      const second = await pollQueueOnce(world, deps, records);
      expect(records[0]?.messageId).toBe(id);
      expect(records[0]?.attributes.ApproximateReceiveCount).toBe('2');
      expect(second).toMatchObject({ deleted: 1, failed: 0 });
      const secondBatches = world.receiver.batches.slice(firstKeys.length);
      expect(secondBatches).toHaveLength(30);
      expect(secondBatches.filter((batch) => batch.duplicateKey).map((b) => b.idempotencyKey)).toEqual(firstKeys);
      expect(await queueDepth()).toEqual({ visible: 0, inFlight: 0, dlq: 0 });
      expectAllOnce(file.eventIds);
    });
  });
});

async function pollQueueOnce(world: FaultWorld, deps: IngestDeps, seen: SQSRecord[]): Promise<PollTotals> {
  const { clients, chain } = world.tenants.get(TENANT)!;
  return pollQueue(
    clients.sqs,
    (records, deadline) => {
      seen.push(...records);
      return processSqsBatch(records, deps, deadline);
    },
    { queueUrl: chain.queueUrl, batchTimeoutMs: 60_000, waitTimeSeconds: 1, stopAfterEmptyReceives: 3 },
    silentLogger,
  );
}
