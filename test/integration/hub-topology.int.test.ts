/**
 * The hub topology end to end against the emulator: the collector's hub queues (hubQueueName(i), with their DLQs)
 * in the collector account, two registered accounts with healthy chains, CloudTrail notifications published on
 * the customers' topics, the ingest core polling the hub queues as their event source mappings would.
 *
 * moto does not deliver SNS to a queue of another account (a topic delivers into its own account's queue of that
 * name), so a customer topic cannot reach a hub queue in the emulator. The test puts in the hub queue what SNS
 * would put there, byte for byte (testkit/hub.ts, after the SNS Developer Guide's JSON format), and checks that
 * shape against moto's own SNS-to-SQS delivery inside one account. Everything ingest sends to AWS goes through
 * the fault proxy, which records every AssumeRole and GetObject and refuses a read whose ExpectedBucketOwner is
 * not the bucket's owner, as S3 does (moto ignores it).
 */
import {
  ChangeMessageVisibilityCommand,
  ReceiveMessageCommand,
  type Message,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { PublishCommand } from '@aws-sdk/client-sns';
import type { SQSRecord } from 'aws-lambda';
import { awsClients } from '../../lambdas/shared/aws-clients';
import { silentLogger } from '../../lambdas/shared/logger';
import { retryVisibilitySeconds, shardOf } from '../../lambdas/shared/topology';
import { pollQueue } from '../../lambdas/ingest/source/queue-poller';
import { processSqsBatch, type BatchResult, type IngestDeps } from '../../lambdas/ingest/source/sqs-batch';
import { cloudTrailNotification, s3EventNotification } from '../../testkit/demo-chain';
import { faultWorld, type FaultWorld } from '../../testkit/fault-world';
import {
  createHubQueues,
  deliverAsSns,
  demoTopicArn,
  hubAccount,
  hubEnv,
  snsConfirmationBody,
  snsNotificationBody,
  type HubQueue,
} from '../../testkit/hub';
import { receiveAll } from '../../testkit/ingest-env';
import { queueCounts } from '../../testkit/queues';
import { REGION, motoEndpoint } from '../../testkit/test-emulator';

const A = '111122223333';
const B = '444455556666';
const STRANGER = '999988887777';
const SHARDS = 2;
const roleOf = (account: string) => `arn:aws:iam::${account}:role/CloudTrailCollectorRole`;

describe('hub topology through the emulator', () => {
  let world: FaultWorld;
  let hub: HubQueue[];
  let collectorSqs: SQSClient;
  let deps: IngestDeps;

  beforeEach(async () => {
    world = await faultWorld([hubAccount(A, SHARDS), hubAccount(B, SHARDS)]);
    // The test's own view of the collector account, straight to moto (ingest goes through the proxy).
    collectorSqs = awsClients.sqs({ region: REGION, endpoint: motoEndpoint() });
    hub = await createHubQueues(collectorSqs, SHARDS);
    deps = await world.deps({ ...hubEnv(hub), DOWNSTREAM_TIMEOUT_MS: '1000' });
  });
  afterEach(async () => world.stop());

  const queueOf = (account: string) => hub[shardOf(account, SHARDS)]!;
  const bucketOf = (account: string) => world.tenants.get(account)!.chain.bucket;
  /** CloudTrail's notification for `keys`, as SNS delivers it from the account's topic to its hub queue. */
  const publish = (account: string, message: string, topicArn = demoTopicArn(account), subject?: string) =>
    deliverAsSns(
      collectorSqs,
      queueOf(account).url,
      snsNotificationBody({ topicArn, message, ...(subject ? { subject } : {}) }),
    );
  const assumed = () =>
    world.proxy.requests.filter((request) => request.operation === 'AssumeRole').map((request) => request.roleArn);

  /** Polls every hub queue like its event source mapping until nothing is visible. */
  async function drainHub(): Promise<BatchResult[]> {
    const results: BatchResult[] = [];
    for (const queue of hub) {
      await pollQueue(
        collectorSqs,
        async (records, deadline) => {
          const result = await processSqsBatch(records, deps, deadline);
          results.push(result);
          return result;
        },
        { queueUrl: queue.url, batchTimeoutMs: 30_000, waitTimeSeconds: 0, stopAfterEmptyReceives: 1 },
        silentLogger,
      );
    }
    return results;
  }

  async function deadLetters(queue: HubQueue): Promise<Message[]> {
    const received = await collectorSqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queue.dlqUrl,
        MaxNumberOfMessages: 10,
        MessageAttributeNames: ['All'],
        VisibilityTimeout: 60,
      }),
    );
    return received.Messages ?? [];
  }

  test('two tenants, every shape of notification from their topics: every record delivered once, nothing in a DLQ', async () => {
    const expected: string[] = [];
    for (const [account, base] of [
      [A, 1],
      [B, 20],
    ] as const) {
      const files = await Promise.all([0, 1, 2, 3].map((i) => world.logFile(account, base + i, 15 + i)));
      for (const file of files) expected.push(...file.eventIds);
      const [f0, f1, f2, f3] = files.map((file) => file.key) as [string, string, string, string];
      await publish(account, cloudTrailNotification(bucketOf(account), [f0, f1]));
      await publish(account, cloudTrailNotification(bucketOf(account), [f2]));
      // S3 event notifications reach a topic too (S3 -> SNS), with SNS's Subject.
      await publish(account, s3EventNotification(bucketOf(account), f3), undefined, 'Amazon S3 Notification');
    }
    const results = await drainHub();

    expect(results.flatMap((result) => result.batchItemFailures)).toEqual([]);
    expect([...world.receiver.eventIds.keys()].sort()).toEqual(expected.sort());
    expect(world.receiver.duplicateRecords).toBe(0);
    for (const queue of hub) expect(await queueCounts(collectorSqs, queue.dlqUrl)).toEqual({ visible: 0, inFlight: 0 });
    // Each tenant's files were read with its own role (and ExternalId), from its own bucket, nothing else.
    expect(new Set(assumed())).toEqual(new Set([roleOf(A), roleOf(B)]));
    for (const read of world.proxy.requests.filter((request) => request.operation === 'GetObject')) {
      expect(read.expectedBucketOwner).toBe(read.bucket === bucketOf(A) ? A : B);
    }
  });

  test("the envelope written here has the fields moto's own SNS delivery writes, and ingests the same", async () => {
    const { clients, chain } = world.tenants.get(A)!;
    const file = await world.logFile(A, 40, 12);
    const message = cloudTrailNotification(chain.bucket, [file.key]);
    // Same account: moto delivers A's topic into A's own queue.
    await clients.sns.send(new PublishCommand({ TopicArn: chain.topicArn, Message: message }));
    const [delivered] = await receiveAll(clients.sqs, chain.queueUrl, chain.queueArn, 1);
    const motoEnvelope = JSON.parse(delivered!.body) as Record<string, unknown>;
    const ours = JSON.parse(snsNotificationBody({ topicArn: chain.topicArn, message })) as Record<string, unknown>;
    expect(Object.keys(ours).sort()).toEqual(Object.keys(motoEnvelope).sort());
    expect(ours).toMatchObject({
      Type: motoEnvelope.Type,
      TopicArn: motoEnvelope.TopicArn,
      Message: motoEnvelope.Message,
    });
    // moto's bytes, put in the hub queue, are bound and forwarded like ours.
    await deliverAsSns(collectorSqs, queueOf(A).url, delivered!.body);
    await drainHub();
    expect([...world.receiver.eventIds.keys()].sort()).toEqual([...file.eventIds].sort());
  });

  test('an unregistered topic, another topic of a registered account, a raw body: poison, in the hub DLQ at once', async () => {
    const file = await world.logFile(A, 50, 5);
    const ct = cloudTrailNotification(bucketOf(A), [file.key]);
    const queue = queueOf(A);
    const bodies = [
      snsNotificationBody({ topicArn: demoTopicArn(STRANGER), message: ct }),
      snsNotificationBody({ topicArn: `arn:aws:sns:${REGION}:${A}:some-other-topic`, message: ct }),
      ct, // raw message delivery: no envelope, so no TopicArn to bind to
    ];
    const ids = [];
    for (const body of bodies) ids.push(await deliverAsSns(collectorSqs, queue.url, body));
    const records = await receiveAll(collectorSqs, queue.url, queue.arn, 3);
    const result = await processSqsBatch(records, deps, Date.now() + 30_000);

    expect(result.batchItemFailures).toEqual([]);
    expect(result.outcomes.get(ids[0]!)).toMatchObject({
      status: 'dead-lettered',
      error: expect.stringContaining(`topic ${demoTopicArn(STRANGER)} is not registered`),
    });
    expect(result.outcomes.get(ids[1]!)).toMatchObject({
      status: 'dead-lettered',
      error: expect.stringContaining('is not registered'),
    });
    expect(result.outcomes.get(ids[2]!)).toMatchObject({
      status: 'dead-lettered',
      error: expect.stringContaining('raw-delivery body'),
    });
    const dead = await deadLetters(queue);
    expect(dead.map((message) => message.Body).sort()).toEqual([...bodies].sort());
    for (const message of dead) {
      const attributes = message.MessageAttributes!;
      expect(attributes.SourceQueueArn?.StringValue).toBe(queue.arn);
      expect(ids).toContain(attributes.OriginalMessageId?.StringValue);
      expect(attributes.ApproximateReceiveCount?.StringValue).toBe('1');
      expect(attributes.PoisonReason?.StringValue).toMatch(/not registered|raw-delivery/);
    }
    expect(assumed()).toEqual([]);
    expect(world.proxy.count('s3', 'GetObject')).toBe(0);
  });

  test("A's notifications naming B's bucket: rejected, and never an AssumeRole into B", async () => {
    const bFile = await world.logFile(B, 60, 8); // B's logs in B's bucket
    const planted = await world.logFile(B, 61, 8, { logAccount: A }); // a file under A's path, in B's bucket
    const named = await publish(A, cloudTrailNotification(bucketOf(B), [bFile.key]));
    const dressed = await publish(A, cloudTrailNotification(bucketOf(B), [planted.key]));
    const queue = queueOf(A);
    const records = await receiveAll(collectorSqs, queue.url, queue.arn, 2);
    const result = await processSqsBatch(records, deps, Date.now() + 30_000);

    // B's key: refused before any read, as poison, straight to the DLQ.
    expect(result.outcomes.get(named)).toMatchObject({
      status: 'dead-lettered',
      error: expect.stringContaining(`holds logs of account ${B}`),
    });
    // A's key in B's bucket: read as A with ExpectedBucketOwner A, which S3 refuses; retried with backoff.
    expect(result.outcomes.get(dressed)).toMatchObject({ status: 'failed', poison: false, retryInSeconds: 30 });
    expect(world.proxy.faults('expected-owner-denied')).toBeGreaterThan(0);
    const perRole = new Map<string, number>();
    for (const role of assumed()) perRole.set(role!, (perRole.get(role!) ?? 0) + 1);
    expect(perRole.get(roleOf(B)) ?? 0).toBe(0);
    expect(perRole.get(roleOf(A))).toBeGreaterThan(0);
    expect(world.receiver.requests).toBe(0);
  });

  test('a failed message is hidden for the backoff of its receive count (30 s, then 60 s)', async () => {
    const file = await world.logFile(A, 70, 6);
    const id = await publish(A, cloudTrailNotification(bucketOf(A), [file.key]));
    world.receiver.setFaultPolicy(() => ({ kind: 'status', status: 503 }));
    const queue = queueOf(A);
    const seen: number[] = [];
    for (let receive = 1; receive <= 2; receive += 1) {
      const [record] = (await receiveAll(collectorSqs, queue.url, queue.arn, 1)) as [SQSRecord];
      expect(record.attributes.ApproximateReceiveCount).toBe(String(receive));
      const result = await processSqsBatch([record], deps, Date.now() + 1_500);
      expect(result.batchItemFailures).toEqual([{ itemIdentifier: id }]);
      seen.push((result.outcomes.get(id) as { retryInSeconds: number }).retryInSeconds);
      // moto took the change: the message is hidden, not back in the queue.
      expect(await queueCounts(collectorSqs, queue.url)).toEqual({ visible: 0, inFlight: 1 });
      // Make it visible again instead of waiting out its backoff, for the next receive.
      await collectorSqs.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: queue.url,
          ReceiptHandle: record.receiptHandle,
          VisibilityTimeout: 0,
        }),
      );
    }
    expect(seen).toEqual([retryVisibilitySeconds(1), retryVisibilitySeconds(2)]);
    expect(await deadLetters(queue)).toEqual([]);
  });

  test('subscription messages are acknowledged, never confirmed, and logged with their TopicArn', async () => {
    const queue = queueOf(A);
    await deliverAsSns(
      collectorSqs,
      queue.url,
      snsConfirmationBody('SubscriptionConfirmation', { topicArn: demoTopicArn(STRANGER) }),
    );
    await deliverAsSns(
      collectorSqs,
      queue.url,
      snsConfirmationBody('UnsubscribeConfirmation', { topicArn: demoTopicArn(A) }),
    );
    const records = await receiveAll(collectorSqs, queue.url, queue.arn, 2);
    const result = await processSqsBatch(records, deps, Date.now() + 30_000);
    expect(result.batchItemFailures).toEqual([]);
    expect([...result.outcomes.values()].map((outcome) => outcome.status)).toEqual(['ignored', 'ignored']);
    // No SNS call at all (no ConfirmSubscription), no role assumed.
    expect(world.proxy.requests.filter((request) => request.service === 'sns')).toEqual([]);
    expect(assumed()).toEqual([]);
    const lines = world.logLines.filter((line) => line.includes('"a topic owner'));
    expect(
      lines.some((line) => line.includes(demoTopicArn(STRANGER)) && line.includes('"registeredAccount":false')),
    ).toBe(true);
    expect(lines.some((line) => line.includes(demoTopicArn(A)) && line.includes(`"registeredAccount":"${A}"`))).toBe(
      true,
    );
  });
});
