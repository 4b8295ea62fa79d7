/**
 * One batch through processSqsBatch with hub queues (lambdas/ingest/source/sqs-batch.ts, tenant.ts): the tenant
 * of a hub message is the registered owner of its envelope's TopicArn, raw bodies and unregistered topics are
 * poison moved to the hub DLQ at once, subscription messages are acknowledged unconfirmed, a hostile tenant's keys
 * never lead to another tenant's role; and the circuit breaker: opens, reads nothing while open, lets one probe
 * through when half-open, closes. In-memory S3, SQS and registry; the clock is virtual.
 */
import {
  hubDeadLetterQueueArn,
  hubQueueName,
  retryVisibilitySeconds,
  retryWindowSeconds,
} from '../../lambdas/shared/topology';
import { CountTally, failureHandling } from '../../lambdas/ingest/runtime';
import { processSqsBatch, type IngestDeps } from '../../lambdas/ingest/source/sqs-batch';
import type { TenantBinding } from '../../lambdas/ingest/source/tenant';
import { cloudTrailNotification, s3EventNotification } from '../../testkit/demo-chain';
import { snsConfirmationBody, snsNotificationBody } from '../../testkit/hub';
import { MemoryAccounts, MemoryS3, SwitchableSink, recordingLogger, smallForward } from '../../testkit/ingest-fakes';
import { VirtualClock, VirtualSqs } from '../../testkit/virtual-sqs';

const REGION = 'us-east-1';
const COLLECTOR = '123456789012';
const A = '111122223333';
const B = '444455556666';
const STRANGER = '999988887777';
const HUB = `arn:aws:sqs:${REGION}:${COLLECTOR}:${hubQueueName(0)}`;
const HUB_DLQ = hubDeadLetterQueueArn(HUB);
const CUSTOMER_QUEUE = `arn:aws:sqs:${REGION}:${A}:outcomesqueue`;
const topicOf = (account: string, name = 'outcomestopic') => `arn:aws:sns:${REGION}:${account}:${name}`;
const bucketOf = (account: string) => `outcomes-${account}`;
const roleOf = (account: string) => `arn:aws:iam::${account}:role/CloudTrailCollectorRole`;
const BREAKER = { failureThreshold: 3, failureWindowMs: 10_000, openMs: 30_000, maxOpenMs: 120_000 };

function world() {
  const clock = new VirtualClock();
  const sqs = new VirtualSqs(clock);
  sqs.createQueue(HUB_DLQ, { visibilityTimeoutSeconds: 30, retentionSeconds: 14 * 86_400 });
  sqs.createQueue(HUB, {
    visibilityTimeoutSeconds: 1800,
    retentionSeconds: 14 * 86_400,
    redrive: { deadLetterArn: HUB_DLQ, maxReceiveCount: 40 },
  });
  sqs.createQueue(CUSTOMER_QUEUE, { visibilityTimeoutSeconds: 1800, retentionSeconds: 4 * 86_400 });
  const s3 = new MemoryS3(clock.now);
  const sink = new SwitchableSink();
  const accounts = new MemoryAccounts([
    { accountId: A, topicArn: topicOf(A), ingestTopology: 'hub' },
    { accountId: B, topicArn: topicOf(B), ingestTopology: 'hub' },
  ]);
  const tally = new CountTally();
  const { logger, lines } = recordingLogger();
  const tenantsUsed: TenantBinding[] = [];
  const deps: IngestDeps = {
    registry: accounts,
    credentials: { providerFor: () => () => Promise.reject(new Error('the memory S3 needs no credentials')) },
    s3ForTenant: (tenant) => {
      tenantsUsed.push(tenant);
      return s3.clientFor(tenant.roleArn);
    },
    logger,
    counts: tally,
    customerRoleName: 'CloudTrailCollectorRole',
    forward: smallForward(),
    messageConcurrency: 4,
    now: clock.now,
    ...failureHandling({
      sink,
      breaker: BREAKER,
      hubQueueArns: [HUB],
      sqsFor: () => sqs.client,
      logger,
      counts: tally,
      now: clock.now,
    }),
  };
  let seed = 0;
  const logFile = (account: string, records = 20, bucket = bucketOf(account), logAccount = account) =>
    s3.putLogFile({
      bucket,
      accountId: logAccount,
      region: REGION,
      seed: ++seed,
      records,
      time: new Date(Date.UTC(2026, 10, 1, 0, seed)),
    });
  const publish = (account: string, bucket: string, keys: string[], topic = topicOf(account)) =>
    sqs.send(HUB, snsNotificationBody({ topicArn: topic, message: cloudTrailNotification(bucket, keys) }));
  const run = async (queue = HUB) => {
    const records = sqs.receive(queue, 10);
    const result = await processSqsBatch(records, deps, Date.now() + 60_000);
    const failed = new Set(result.batchItemFailures.map((failure) => failure.itemIdentifier));
    for (const record of records) if (!failed.has(record.messageId)) sqs.delete(queue, record.receiptHandle);
    return result;
  };
  return { clock, sqs, s3, sink, accounts, tally, lines, deps, tenantsUsed, logFile, publish, run };
}

describe('hub tenant binding: the TopicArn SNS wrote, looked up in the registry', () => {
  test("each message is read with its topic owner's role, from its bucket; one registry lookup per topic per batch", async () => {
    const w = world();
    const files = [w.logFile(A), w.logFile(A), w.logFile(B), w.logFile(A, 5)];
    const [a1, a2, b1, a3] = files;
    w.publish(A, bucketOf(A), [a1!.key, a2!.key]);
    w.publish(B, bucketOf(B), [b1!.key]);
    w.sqs.send(
      HUB,
      snsNotificationBody({
        topicArn: topicOf(A),
        message: s3EventNotification(bucketOf(A), a3!.key),
        subject: 'Amazon S3 Notification',
      }),
    );
    // A customer queue's message in the same batch keeps the customer-queue binding (both topologies at once).
    const own = w.logFile(A, 7);
    w.sqs.send(CUSTOMER_QUEUE, cloudTrailNotification(bucketOf(A), [own.key]));
    const records = [...w.sqs.receive(HUB), ...w.sqs.receive(CUSTOMER_QUEUE)];
    const result = await processSqsBatch(records, w.deps, Date.now() + 60_000);

    expect(result.batchItemFailures).toEqual([]);
    expect([...w.sink.eventIds.keys()].sort()).toEqual([...files, own].flatMap((file) => file.eventIds).sort());
    expect(w.sink.duplicates).toBe(0);
    for (const read of w.s3.reads) {
      const owner = read.bucket === bucketOf(A) ? A : B;
      expect(read).toMatchObject({ expectedOwner: owner, roleArn: roleOf(owner) });
    }
    expect(w.accounts.lookups).toEqual(
      new Map([
        [A, 2],
        [B, 1],
      ]),
    ); // A: once by topic, once by its own queue
    expect(new Set(w.tenantsUsed.map((tenant) => tenant.region))).toEqual(new Set([REGION]));
  });

  test("the topic an account had before TOPIC_CHANGED stays its own for the hub queues' retry window, then is poison", async () => {
    const w = world();
    const old = topicOf(A, 'customer-old-topic');
    w.accounts.records.get(A)!.previousTopicArn = old;
    w.accounts.records.get(A)!.topicChangedAt = new Date(w.clock.now()).toISOString();
    // Delivered by SNS before the change, still in the hub queue (retried through an outage): collected.
    const before = w.logFile(A);
    w.publish(A, bucketOf(A), [before.key], old);
    expect((await w.run()).batchItemFailures).toEqual([]);
    expect([...w.sink.eventIds.keys()].sort()).toEqual([...before.eventIds].sort());
    // Another account cannot use it: the previous topic binds only the account whose ARN it is.
    const stranger = w.logFile(B);
    const theirs = w.publish(B, bucketOf(B), [stranger.key], topicOf(B, 'customer-old-topic'));
    expect((await w.run()).outcomes.get(theirs)).toMatchObject({ status: 'dead-lettered' });
    // Past the window (40 receives, ~33 hours), nothing from it can still be waiting: poison again.
    w.clock.advance(retryWindowSeconds() * 1000 + 1000);
    const late = w.publish(A, bucketOf(A), [w.logFile(A).key], old);
    const outcome = (await w.run()).outcomes.get(late);
    expect(outcome).toMatchObject({ status: 'dead-lettered', deadLetterQueueArn: HUB_DLQ });
    expect((outcome as { error: string }).error).toMatch(`topic ${old} is not registered`);
  });

  test('raw bodies, unregistered topics, another topic of a registered account: poison, in the hub DLQ at once', async () => {
    const w = world();
    const file = w.logFile(A);
    const ct = cloudTrailNotification(bucketOf(A), [file.key]);
    const bodies = {
      raw: ct,
      rawValidation: 'CloudTrail validation message.',
      stranger: snsNotificationBody({ topicArn: topicOf(STRANGER), message: ct }),
      otherTopic: snsNotificationBody({ topicArn: topicOf(A, 'not-the-recorded-topic'), message: ct }),
      otherPartition: snsNotificationBody({ topicArn: `arn:aws-cn:sns:cn-north-1:${A}:outcomestopic`, message: ct }),
      notAnArn: snsNotificationBody({ topicArn: 'outcomestopic', message: ct }),
    };
    const ids = Object.fromEntries(Object.entries(bodies).map(([name, body]) => [name, w.sqs.send(HUB, body)]));
    const result = await w.run();

    expect(result.batchItemFailures).toEqual([]);
    const error = (name: string) => {
      const outcome = result.outcomes.get(ids[name]!);
      expect(outcome).toMatchObject({ status: 'dead-lettered', deadLetterQueueArn: HUB_DLQ });
      return (outcome as { error: string }).error;
    };
    expect(error('raw')).toMatch(/accepts only SNS envelopes.*raw-delivery body \(announcing 1 object\(s\)\)/);
    expect(error('rawValidation')).toContain('raw-delivery body (CloudTrail validation message)');
    expect(error('stranger')).toMatch(
      `topic ${topicOf(STRANGER)} is not registered (account ${STRANGER} is not registered)`,
    );
    expect(error('otherTopic')).toMatch(`is registered with topic ${topicOf(A)}`);
    expect(error('otherPartition')).toMatch(/partition aws-cn/);
    expect(error('notAnArn')).toMatch(/is not a topic ARN/);
    // Unchanged bodies in the DLQ, each with its reason; nothing read, no role used.
    const dead = w.sqs.bodies(HUB_DLQ);
    expect(dead.map((entry) => entry.body).sort()).toEqual(Object.values(bodies).sort());
    expect(dead.every((entry) => entry.attributes.PoisonReason?.StringValue)).toBe(true);
    expect(w.s3.reads).toHaveLength(0);
    expect(w.tenantsUsed).toHaveLength(0);
    expect(w.sqs.depth(HUB)).toBe(0);
  });

  test("a registered tenant's notification naming another tenant's bucket or account never uses the other's role", async () => {
    const w = world();
    const bFile = w.logFile(B);
    const planted = w.logFile(B, 10, bucketOf(B), A); // a file under A's path, in B's bucket
    const own = w.logFile(A);
    const named = w.publish(A, bucketOf(B), [bFile.key]);
    const plantedId = w.publish(A, bucketOf(B), [planted.key]);
    const mixed = w.publish(A, bucketOf(A), [own.key, bFile.key]);
    const result = await w.run();

    expect(result.outcomes.get(named)).toMatchObject({
      status: 'dead-lettered',
      error: expect.stringContaining(`holds logs of account ${B}`),
    });
    expect(result.outcomes.get(mixed)).toMatchObject({ status: 'dead-lettered' });
    // The planted key names A: it is read as A, with ExpectedBucketOwner A, which S3 refuses for B's bucket
    // (the memory S3 does not: the emulator test shows the refusal through the fault proxy).
    expect(result.outcomes.get(plantedId)).toMatchObject({ status: 'forwarded' });
    expect(w.tenantsUsed.every((tenant) => tenant.roleArn === roleOf(A))).toBe(true);
    expect(w.s3.reads.every((read) => read.expectedOwner === A && read.roleArn === roleOf(A))).toBe(true);
    expect(w.s3.reads.map((read) => read.key)).toEqual([planted.key]);
  });

  test('subscription and unsubscribe confirmations are acknowledged, not confirmed, logged with their TopicArn', async () => {
    const w = world();
    const stranger = w.sqs.send(HUB, snsConfirmationBody('SubscriptionConfirmation', { topicArn: topicOf(STRANGER) }));
    const registered = w.sqs.send(HUB, snsConfirmationBody('UnsubscribeConfirmation', { topicArn: topicOf(B) }));
    const result = await w.run();
    expect(result.batchItemFailures).toEqual([]);
    expect(result.outcomes.get(stranger)).toEqual({ status: 'ignored', reason: 'subscription-confirmation' });
    expect(result.outcomes.get(registered)).toEqual({ status: 'ignored', reason: 'unsubscribe-confirmation' });
    const logged = w.lines.filter((line) => line.level === 'warn' && line.message.startsWith('a topic owner'));
    expect(logged.map((line) => [line.fields.topicArn, line.fields.registeredAccount])).toEqual(
      expect.arrayContaining([
        [topicOf(STRANGER), false],
        [topicOf(B), B],
      ]),
    );
    expect(w.tally.get('HubSubscriptionConfirmationsIgnored')).toBe(1);
    expect(w.tally.get('HubUnsubscribeConfirmations')).toBe(1);
    // Nothing was sent anywhere: no SendMessage, no visibility change (and ingest has no SNS client at all).
    expect(w.sqs.calls.size).toBe(0);
  });
});

describe('the circuit breaker in a batch', () => {
  test('opens after failures spanning its window; reads nothing while open; one probe when half-open, the rest wait for it; closes', async () => {
    const w = world();
    const files = Array.from({ length: 12 }, () => w.logFile(A, 3));
    w.sink.down = true;
    // Three failing batches of one message each, 6 s apart: the streak spans the 10 s window.
    for (const file of files.slice(0, 3)) {
      w.publish(A, bucketOf(A), [file.key]);
      const result = await w.run();
      expect(result.batchItemFailures).toHaveLength(1);
      w.clock.advance(6_000);
    }
    expect(w.deps.breaker!.state).toBe('open');
    expect(w.tally.get('DownstreamBreakerOpened')).toBe(1);

    // Open: nothing is read, every message is failed and hidden for its backoff.
    const readsBefore = w.s3.reads.length;
    const sendsBefore = w.sink.sends;
    for (const file of files.slice(3, 7)) w.publish(A, bucketOf(A), [file.key]);
    const deferred = await w.run();
    expect(deferred.batchItemFailures).toHaveLength(4);
    expect(w.s3.reads.length).toBe(readsBefore);
    expect(w.sink.sends).toBe(sendsBefore);
    for (const outcome of deferred.outcomes.values()) {
      expect(outcome).toMatchObject({ status: 'failed', poison: false, retryInSeconds: retryVisibilitySeconds(1) });
    }
    expect(w.tally.get('MessagesDeferred')).toBe(4);

    // Half-open, downstream back: one message probes, the others of the batch wait for its outcome; it closes the
    // breaker, so they go through in the same invocation instead of waiting out another backoff.
    w.clock.advance(30_000);
    w.sink.down = false;
    for (const file of files.slice(7, 10)) w.publish(A, bucketOf(A), [file.key]);
    const probed = await w.run();
    expect(w.deps.breaker!.state).toBe('closed');
    expect(w.tally.get('DownstreamBreakerClosed')).toBe(1);
    // The batch also holds the earlier failures whose 30 s backoff is over: every one of them is read once.
    expect(probed.outcomes.size).toBeGreaterThanOrEqual(3);
    expect(probed.batchItemFailures).toEqual([]);
    expect(w.s3.reads.length).toBe(readsBefore + probed.outcomes.size);

    // Closed: the messages come back (here: at once, the clock moved past their backoff) and all go through.
    w.clock.advance(3_600_000);
    for (const file of files.slice(10)) w.publish(A, bucketOf(A), [file.key]);
    while (w.sqs.depth(HUB) > 0) {
      await w.run();
      w.clock.advance(3_600_000);
    }
    expect([...w.sink.eventIds.keys()].sort()).toEqual(files.flatMap((file) => file.eventIds).sort());
    expect(w.sink.duplicates).toBe(0);
    expect(w.sqs.depth(HUB_DLQ)).toBe(0);
  });

  test('a message that needs no downstream (a digest, an acknowledged shape, poison) is handled while open', async () => {
    const w = world();
    w.sink.down = true;
    for (let i = 0; i < 3; i += 1) {
      w.publish(A, bucketOf(A), [w.logFile(A, 2).key]);
      await w.run();
      w.clock.advance(6_000);
    }
    expect(w.deps.breaker!.state).toBe('open');
    const digestKey = `AWSLogs/${A}/CloudTrail-Digest/${REGION}/2026/11/01/${A}_CloudTrail-Digest_${REGION}_trail_${REGION}_20261101T0000Z.json.gz`;
    const digest = w.publish(A, bucketOf(A), [digestKey]);
    const poison = w.sqs.send(HUB, snsNotificationBody({ topicArn: topicOf(A), message: '{"not":"a notification"}' }));
    const result = await w.run();
    expect(result.outcomes.get(digest)).toMatchObject({ status: 'forwarded', objects: 0 });
    expect(result.outcomes.get(poison)).toMatchObject({ status: 'dead-lettered' });
  });
});
