/**
 * Gap backfill against the emulator (docs/completeness.md, "Gap backfill"): the healthy chain built with plain SDK
 * calls, the ledger holding files 1-3, the subscription removed, files 4 and 5 written into the trail's bucket with
 * no notification reaching the queue; `apply` re-subscribes the queue and enqueues exactly files 4 and 5, in
 * CloudTrail's own notification format, on the account's queue. Bounded runs resume from the registry's cursor; in
 * the hub topology the gap goes to the collector's backfill queue; the command-line tool needs ACCOUNTS_TABLE only.
 */
import { ListSubscriptionsByTopicCommand, UnsubscribeCommand } from '@aws-sdk/client-sns';
import { awsClients } from '../../lambdas/shared/aws-clients';
import { LedgerTable, ensureLedgerTable, ledgerTableName } from '../../lambdas/shared/ledger';
import { classifyObjectKey, deliveryTimeOf } from '../../lambdas/shared/object-key';
import type { AccountReport, ReconcileReport } from '../../lambdas/reconcile/types';
import { runCli } from '../../testkit/cli';
import { putLogFile, type DeliveredFile } from '../../testkit/demo-chain';
import { createBackfillQueue } from '../../testkit/hub';
import { drainQueue } from '../../testkit/queues';
import {
  CUSTOMER,
  RECONCILE_TABLE,
  buildHealthyChain,
  createHubQueues,
  reconcileWorld,
  tenantClients,
  type HealthyChain,
  type ReconcileWorld,
  type TenantClients,
  withTopicOwnerListing,
} from '../../testkit/reconcile-env';
import { COLLECTOR_ACCOUNT, REGION } from '../../testkit/test-emulator';

const BACKFILL = { maxDays: 7, maxFilesPerRun: 2_000, marginMinutes: 60 };
const RECONCILE_ROLE_ARN = `arn:aws:iam::${COLLECTOR_ACCOUNT}:role/cloudtrail-collector-reconcile`;

describe('BACKFILL after a repair of the notification path', () => {
  let world: ReconcileWorld;
  let clients: TenantClients;
  let chain: HealthyChain;
  let ledger: LedgerTable;
  let files: DeliveredFile[];

  /** The ledger table the stack would create, beside the registry (against the emulator: created here). */
  async function useLedger(): Promise<void> {
    const db = awsClients.dynamoDocument({ region: REGION });
    ledger = new LedgerTable(db, ledgerTableName(RECONCILE_TABLE));
    await ensureLedgerTable(db, ledger.tableName);
    world.deps.ledger = ledger;
  }

  /** Five files delivered 5 minutes apart, the last one 5 minutes ago; the ledger holds the first three. */
  async function deliverFiles(): Promise<void> {
    const now = Date.now();
    files = [];
    for (let index = 0; index < 5; index += 1) {
      files.push(
        await putLogFile(clients.s3, {
          bucket: chain.bucket,
          accountId: CUSTOMER,
          region: REGION,
          seed: index + 1,
          records: 3,
          time: new Date(now - (5 - index) * 5 * 60_000),
        }),
      );
    }
    for (const file of files.slice(0, 3)) {
      const where = classifyObjectKey(file.key);
      if (where.type !== 'log') throw new Error(`not a log file key: ${file.key}`);
      const collectedAt = new Date().toISOString();
      await ledger.record({
        accountId: CUSTOMER,
        region: where.region,
        day: where.day,
        bucket: chain.bucket,
        key: file.key,
        kind: 'log',
        records: 3,
        bytes: 1,
        sha256: '0'.repeat(64),
        collectedAt,
      });
      await ledger.noteNewest(CUSTOMER, {
        region: where.region,
        key: file.key,
        bucket: chain.bucket,
        deliveredAt: deliveryTimeOf(file.key)!.toISOString(),
        collectedAt,
      });
    }
  }

  async function setUp(maxFilesPerRun: number): Promise<void> {
    world = await reconcileWorld([{ accountId: CUSTOMER }], { config: { backfill: { ...BACKFILL, maxFilesPerRun } } });
    await useLedger();
    clients = await tenantClients(CUSTOMER);
    chain = await buildHealthyChain(clients, CUSTOMER);
    expect(world.account(await world.run('apply')).actions.map((a) => [a.code, a.status])).toEqual([
      ['REUSE_TRAIL', 'applied'],
    ]);
    await deliverFiles();
    // The subscription is removed: CloudTrail's notifications of files 4 and 5 reached nobody.
    const subscriptions = await clients.sns.send(new ListSubscriptionsByTopicCommand({ TopicArn: chain.topicArn }));
    await clients.sns.send(
      new UnsubscribeCommand({ SubscriptionArn: subscriptions.Subscriptions![0]!.SubscriptionArn }),
    );
  }

  const announced = async (): Promise<string[][]> =>
    (await drainQueue(clients.sqs, chain.queueUrl)).map(({ body }) => {
      const parsed = JSON.parse(body) as { s3Bucket: string; s3ObjectKey: string[] };
      expect(Object.keys(parsed)).toEqual(['s3Bucket', 's3ObjectKey']);
      expect(parsed.s3Bucket).toBe(chain.bucket);
      return parsed.s3ObjectKey;
    });

  test('apply re-subscribes the queue and enqueues exactly files 4 and 5; the plan priced it first', async () => {
    await setUp(2_000);
    const planned = world.account(await world.run('plan'));
    expect(planned.actions.map((a) => [a.code, a.reason, a.status])).toEqual([
      ['SUBSCRIBE', 'SUBSCRIPTION_MISSING', 'planned'],
      ['BACKFILL', 'SUBSCRIPTION_MISSING', 'planned'],
    ]);
    const backfill = planned.actions[1]!;
    expect(backfill.resource).toBe(`s3://${chain.bucket}/AWSLogs/${CUSTOMER}/CloudTrail/`);
    expect(backfill.costImpact.note).toMatch(/once, not monthly, to the customer .* S3 LIST request\(s\)/);
    expect(await announced()).toEqual([]);

    const report: AccountReport = world.account(await world.run('apply'));
    expect(report.actions.map((a) => [a.code, a.status])).toEqual([
      ['SUBSCRIBE', 'applied'],
      ['BACKFILL', 'applied'],
    ]);
    expect(report.status).toBe('repaired');
    expect(await announced()).toEqual([[files[3]!.key, files[4]!.key]]);

    const record = await world.registry.require(CUSTOMER);
    expect(record.backfill).toBeUndefined();
    expect(record.lastBackfill).toMatchObject({ enqueued: 2 });
    // Repaired and backfilled: the next plan has nothing to do.
    const next = world.account(await world.run('plan'));
    expect(next.actions).toEqual([]);
    expect(next.status).toBe('healthy');
  });

  test('one file per run: the registry keeps the cursor, the next run sends the other, then clears it', async () => {
    await setUp(1);
    const first = world.account(await world.run('apply'));
    expect(first.actions.map((a) => [a.code, a.status])).toEqual([
      ['SUBSCRIBE', 'applied'],
      ['BACKFILL', 'applied'],
    ]);
    expect(await announced()).toEqual([[files[3]!.key]]);
    expect((await world.registry.require(CUSTOMER)).backfill).toMatchObject({
      reason: 'SUBSCRIPTION_MISSING',
      regions: expect.arrayContaining([REGION]),
      region: REGION,
      startAfter: files[3]!.key,
      enqueued: 1,
    });

    const second = world.account(await world.run('apply'));
    expect(second.actions.map((a) => [a.code, a.reason, a.status])).toEqual([
      ['BACKFILL', 'SUBSCRIPTION_MISSING', 'applied'],
    ]);
    expect(await announced()).toEqual([[files[4]!.key]]);
    const record = await world.registry.require(CUSTOMER);
    expect(record.backfill).toBeUndefined();
    expect(record.lastBackfill).toMatchObject({ enqueued: 2 });
    expect(world.account(await world.run('plan')).actions).toEqual([]);
  });
  test('hub topology: a customer-queue account moved to the hub has its gap sent to the backfill queue', async () => {
    world = await reconcileWorld([{ accountId: CUSTOMER }], {
      config: { ingestTopology: 'hub', hubQueueArns: [], reconcileRoleArn: RECONCILE_ROLE_ARN },
      clients: withTopicOwnerListing,
    });
    const collectorSqs = awsClients.sqs({ region: REGION });
    const hubQueueArns = await createHubQueues(2);
    const backfillQueue = await createBackfillQueue(collectorSqs);
    world.deps.config = {
      ...world.deps.config,
      hubQueueArns,
      backfill: { ...BACKFILL, queueUrl: backfillQueue.url },
    };
    await useLedger();
    clients = await tenantClients(CUSTOMER);
    chain = await buildHealthyChain(clients, CUSTOMER);
    await world.registry.update(CUSTOMER, {
      trailArn: chain.trailArn,
      bucketName: chain.bucket,
      topicArn: chain.topicArn,
      queueArn: chain.queueArn,
    });
    await deliverFiles();

    const moved = world.account(await world.run('apply'));
    expect(moved.actions.map((a) => [a.code, a.status])).toEqual([
      ['PUT_TOPIC_POLICY', 'applied'],
      ['SUBSCRIBE', 'applied'],
      ['UNSUBSCRIBE', 'applied'],
      ['BACKFILL', 'applied'],
    ]);
    expect(moved.actions[3]!.costImpact.note).toContain('the SQS requests to the collector (the backfill queue)');
    const sent = await drainQueue(collectorSqs, backfillQueue.url);
    expect(sent.map(({ body }) => JSON.parse(body) as unknown)).toEqual([
      {
        cloudtrailCollectorBackfill: 1,
        accountId: CUSTOMER,
        s3Bucket: chain.bucket,
        s3ObjectKey: [files[3]!.key, files[4]!.key],
      },
    ]);
    // Nothing went to the customer's queue, which the hub topology no longer reads.
    expect(await announced()).toEqual([]);
  });
  test('through the command-line tool: ACCOUNTS_TABLE alone, the ledger table created on the emulator', async () => {
    world = await reconcileWorld([{ accountId: CUSTOMER }]);
    clients = await tenantClients(CUSTOMER);
    chain = await buildHealthyChain(clients, CUSTOMER);
    const env = { ACCOUNTS_TABLE: RECONCILE_TABLE, COLLECTOR_ACCOUNT_ID: COLLECTOR_ACCOUNT };
    const adopted = await runCli(['apply', '--json'], env);
    expect(adopted.code).toBe(0);
    // The first run created <ACCOUNTS_TABLE>-ledger (ensureLedgerTable), as the stack does in AWS.
    ledger = new LedgerTable(awsClients.dynamoDocument({ region: REGION }), ledgerTableName(RECONCILE_TABLE));
    expect(await ensureLedgerTable(ledger.db, ledger.tableName)).toBe(false);
    await deliverFiles();
    const subscriptions = await clients.sns.send(new ListSubscriptionsByTopicCommand({ TopicArn: chain.topicArn }));
    await clients.sns.send(
      new UnsubscribeCommand({ SubscriptionArn: subscriptions.Subscriptions![0]!.SubscriptionArn }),
    );

    const applied = await runCli(['apply', '--json'], env);
    const report = JSON.parse(applied.stdout) as ReconcileReport;
    expect(report.accounts[0]!.actions.map((a) => [a.code, a.reason, a.status])).toEqual([
      ['SUBSCRIBE', 'SUBSCRIPTION_MISSING', 'applied'],
      ['BACKFILL', 'SUBSCRIPTION_MISSING', 'applied'],
    ]);
    expect(applied.code).toBe(0);
    expect(await announced()).toEqual([[files[3]!.key, files[4]!.key]]);
  });
});
