/**
 * The reliability promise of docs/reliability.md, simulated: the downstream is down for hours while CloudTrail
 * keeps announcing a file every 5 minutes. The ingest batch code is the real one (processSqsBatch with the circuit
 * breaker and the settler, as createIngestDeps wires them: failureHandling); SQS is the in-memory model of
 * testkit/virtual-sqs.ts (visibility, receive counts, redrive to the DLQ, retention) on a virtual clock, so hours
 * pass in seconds and no assertion depends on time. One container polls its queue as the event source mapping
 * would: a batch of up to 10 visible messages, one second per batch, the messages not reported failed deleted.
 */
import {
  HUB_MAX_RECEIVE_COUNT,
  hubDeadLetterQueueArn,
  hubQueueName,
  retryWindowSeconds,
} from '../../lambdas/shared/topology';
import { silentLogger } from '../../lambdas/shared/logger';
import { KEEP_ALL } from '../../lambdas/ingest/records/filters';
import { CountTally, failureHandling } from '../../lambdas/ingest/runtime';
import { DEFAULT_BREAKER_SETTINGS } from '../../lambdas/ingest/source/circuit-breaker';
import { processSqsBatch, type IngestDeps } from '../../lambdas/ingest/source/sqs-batch';
import { cloudTrailNotification } from '../../testkit/demo-chain';
import { snsNotificationBody } from '../../testkit/hub';
import { MemoryAccounts, MemoryS3, SwitchableSink } from '../../testkit/ingest-fakes';
import { VirtualClock, VirtualSqs } from '../../testkit/virtual-sqs';

const REGION = 'us-east-1';
const TENANT = '111122223333';
const TOPIC = `arn:aws:sns:${REGION}:${TENANT}:outcomestopic`;
const BUCKET = `outcomes-${TENANT}`;
const HOUR = 3_600_000;
const FILE_EVERY_MS = 5 * 60_000;

interface Scenario {
  topology: 'hub' | 'customer-queue';
  outageHours: number;
  /** customer-queue: the queue policy does not grant the ingest role sqs:ChangeMessageVisibility. */
  visibilityDenied?: boolean;
}

interface Figures {
  files: number;
  recordsExpected: number;
  recordsDelivered: number;
  duplicates: number;
  deadLettered: number;
  expired: number;
  maxReceiveCount: number;
  readsWhileOpen: number;
  readsDuringOutage: number;
  receivesDuringOutage: number;
  breakerOpened: number;
}

async function simulate(scenario: Scenario): Promise<Figures> {
  const clock = new VirtualClock();
  const start = clock.now();
  const outageStart = start + HOUR / 2;
  const outageEnd = outageStart + scenario.outageHours * HOUR;
  const lastFileAt = outageEnd + HOUR;
  const hub = scenario.topology === 'hub';
  const queueArn = hub
    ? `arn:aws:sqs:${REGION}:123456789012:${hubQueueName(0)}`
    : `arn:aws:sqs:${REGION}:${TENANT}:outcomesqueue`;
  const dlqArn = hub ? hubDeadLetterQueueArn(queueArn) : `${queueArn}-dlq`;
  const sqs = new VirtualSqs(clock);
  // The hub queue as the stack builds it (40 receives, 14 days); the customer queue as reconcile does (visibility
  // 6 x the 300 s function timeout, 5 receives, 4 days).
  sqs.createQueue(dlqArn, { visibilityTimeoutSeconds: 30, retentionSeconds: 14 * 86_400 });
  sqs.createQueue(queueArn, {
    visibilityTimeoutSeconds: 1800,
    retentionSeconds: (hub ? 14 : 4) * 86_400,
    redrive: { deadLetterArn: dlqArn, maxReceiveCount: hub ? HUB_MAX_RECEIVE_COUNT : 5 },
    denyChangeVisibility: scenario.visibilityDenied ?? false,
  });
  const s3 = new MemoryS3(clock.now);
  const sink = new SwitchableSink();
  const tally = new CountTally();
  const failures = failureHandling({
    sink,
    breaker: DEFAULT_BREAKER_SETTINGS,
    hubQueueArns: hub ? [queueArn] : [],
    sqsFor: () => sqs.client,
    logger: silentLogger,
    counts: tally,
    now: clock.now,
  });
  const figures: Figures = {
    files: 0,
    recordsExpected: 0,
    recordsDelivered: 0,
    duplicates: 0,
    deadLettered: 0,
    expired: 0,
    maxReceiveCount: 0,
    readsWhileOpen: 0,
    readsDuringOutage: 0,
    receivesDuringOutage: 0,
    breakerOpened: 0,
  };
  const inOutage = () => clock.now() >= outageStart && clock.now() < outageEnd;
  const deps: IngestDeps = {
    registry: new MemoryAccounts([{ accountId: TENANT, topicArn: TOPIC }]),
    credentials: { providerFor: () => () => Promise.reject(new Error('unused')) },
    s3ForTenant: (tenant) => {
      const client = s3.clientFor(tenant.roleArn);
      return {
        send: (command: never) => {
          if (failures.breaker.state === 'open') figures.readsWhileOpen += 1;
          if (inOutage()) figures.readsDuringOutage += 1;
          return client.send(command);
        },
      } as typeof client;
    },
    logger: silentLogger,
    counts: tally,
    customerRoleName: 'CloudTrailCollectorRole',
    forward: {
      maxDecompressedBytes: 1 << 26,
      maxRecordBytes: 1 << 20,
      batchLimits: { maxBatchBytes: 1 << 22, maxBatchRecords: 100 },
      maxInFlightBatches: 1,
      filter: KEEP_ALL,
    },
    messageConcurrency: 4,
    ...failures,
  };

  let nextFileAt = start;
  const announce = () => {
    while (nextFileAt <= clock.now() && nextFileAt <= lastFileAt) {
      figures.files += 1;
      const file = s3.putLogFile({
        bucket: BUCKET,
        accountId: TENANT,
        region: REGION,
        seed: figures.files,
        records: 3,
        time: new Date(nextFileAt),
      });
      figures.recordsExpected += file.eventIds.length;
      const notification = cloudTrailNotification(BUCKET, [file.key]);
      sqs.send(queueArn, hub ? snsNotificationBody({ topicArn: TOPIC, message: notification }) : notification);
      nextFileAt += FILE_EVERY_MS;
    }
  };

  for (let batches = 0; batches < 200_000; batches += 1) {
    announce();
    sink.down = inOutage();
    const records = sqs.receive(queueArn, 10);
    if (records.length === 0) {
      const next = Math.min(sqs.nextVisibleAt(queueArn) ?? Infinity, nextFileAt <= lastFileAt ? nextFileAt : Infinity);
      if (next === Infinity) break;
      clock.set(Math.max(next, clock.now() + 1));
      continue;
    }
    for (const record of records) {
      figures.maxReceiveCount = Math.max(figures.maxReceiveCount, Number(record.attributes.ApproximateReceiveCount));
    }
    if (inOutage()) figures.receivesDuringOutage += records.length;
    const result = await processSqsBatch(records, deps, Date.now() + 60_000);
    const failed = new Set(result.batchItemFailures.map((failure) => failure.itemIdentifier));
    for (const record of records) if (!failed.has(record.messageId)) sqs.delete(queueArn, record.receiptHandle);
    clock.advance(1_000);
  }
  figures.recordsDelivered = sink.eventIds.size;
  figures.duplicates = sink.duplicates;
  figures.deadLettered = sqs.depth(dlqArn);
  figures.expired = sqs.expired(queueArn);
  figures.breakerOpened = tally.get('DownstreamBreakerOpened');
  if (process.env.OUTAGE_FIGURES) console.log(JSON.stringify({ scenario, figures }));
  return figures;
}

describe('a downstream outage (virtual clock)', () => {
  test('hub, 6 hours down: nothing dead-lettered, every record delivered once after recovery, no S3 read while open', async () => {
    const figures = await simulate({ topology: 'hub', outageHours: 6 });
    expect(figures).toMatchObject({ deadLettered: 0, expired: 0, duplicates: 0, readsWhileOpen: 0 });
    expect(figures.recordsDelivered).toBe(figures.recordsExpected);
    expect(figures.files).toBeGreaterThan(80);
    expect(figures.maxReceiveCount).toBeLessThan(HUB_MAX_RECEIVE_COUNT);
    // The breaker stops the burning: during the outage S3 is read by the probes (one per open interval) and the
    // few messages read before it opened, not on every receive.
    expect(figures.readsDuringOutage).toBeLessThan(figures.receivesDuringOutage / 4);
  });

  test('hub, 24 hours down (the promise): nothing dead-lettered; the retry window is ~33 hours', async () => {
    expect(retryWindowSeconds() / 3600).toBeGreaterThan(33);
    const figures = await simulate({ topology: 'hub', outageHours: 24 });
    expect(figures).toMatchObject({ deadLettered: 0, expired: 0, duplicates: 0, readsWhileOpen: 0 });
    expect(figures.recordsDelivered).toBe(figures.recordsExpected);
  });

  test('hub, 36 hours down: past the retry window the first files reach the DLQ (the bound is real)', async () => {
    const figures = await simulate({ topology: 'hub', outageHours: 36 });
    expect(figures.deadLettered).toBeGreaterThan(0);
    // What was not dead-lettered was delivered: the DLQ holds the rest, for a redrive.
    expect(figures.recordsDelivered).toBe(figures.recordsExpected - 3 * figures.deadLettered);
  });

  test('customer queue whose policy allows ChangeMessageVisibility, 6 hours down: nothing dead-lettered', async () => {
    const figures = await simulate({ topology: 'customer-queue', outageHours: 6 });
    expect(figures).toMatchObject({ deadLettered: 0, expired: 0, duplicates: 0, readsWhileOpen: 0 });
    expect(figures.recordsDelivered).toBe(figures.recordsExpected);
    expect(figures.maxReceiveCount).toBeLessThanOrEqual(5);
  });

  test('customer queue without that permission: 5 receives x 30 minutes, so a 6-hour outage dead-letters files', async () => {
    const figures = await simulate({ topology: 'customer-queue', outageHours: 6, visibilityDenied: true });
    expect(figures.deadLettered).toBeGreaterThan(0);
    expect(figures.recordsDelivered).toBe(figures.recordsExpected - 3 * figures.deadLettered);
  });
});
