/**
 * The hub topology and the migrations between topologies, end to end over the in-memory fake cloud (which keeps
 * subscriptions across accounts as SNS does: owners, the topic owner's listing, "Deleted" for 72 hours): the
 * registry binds the topic before the collector subscribes, nothing is created in the customer account but the
 * trail, bucket and topic, the old path is retired after the new one delivers, and the mapping budget holds across
 * the accounts of one run.
 */
import { UnsubscribeCommand } from '@aws-sdk/client-sns';
import { reconcileAll, type ReconcileDeps } from '../../lambdas/reconcile/reconcile';
import type { AccountReport, ReconcileReport } from '../../lambdas/reconcile/types';
import type { AccountRecord } from '../../lambdas/shared/registry';
import { silentLogger } from '../../lambdas/shared/logger';
import { hubQueueName, shardOf } from '../../lambdas/shared/topology';
import {
  DELETED_SUBSCRIPTION_MS,
  FAKE_COLLECTOR,
  FakeCloud,
  MemoryRegistry,
  seedHealthyAccount,
  seedHubAccount,
} from '../../testkit/fake-cloud';
import { HUB_QUEUE_ARNS, RECONCILE_ROLE_ARN, RECONCILE_SETTINGS } from '../../testkit/reconcile-fixtures';

const A = '111122223333'; // shard 0 of 2
const B = '444455556666'; // shard 1 of 2
const FUNCTION_ARN = `arn:aws:lambda:us-east-1:${FAKE_COLLECTOR.accountId}:function:collector-ingest`;
const INGEST_ROLE = `arn:aws:iam::${FAKE_COLLECTOR.accountId}:role/collector-ingest`;
const topicOf = (id: string) => `arn:aws:sns:us-east-1:${id}:outcomestopic`;
const queueOf = (id: string) => `arn:aws:sqs:us-east-1:${id}:outcomesqueue`;

function world(options: { hub?: boolean; ingest?: boolean; reserved?: number } = {}) {
  let clock = Date.parse('2026-11-01T00:00:00.000Z');
  const cloud = new FakeCloud({ now: () => clock });
  const deps: Omit<ReconcileDeps, 'registry'> = {
    clients: cloud.clients(),
    config: {
      ...RECONCILE_SETTINGS,
      ...(options.hub !== false
        ? { ingestTopology: 'hub' as const, hubQueueArns: HUB_QUEUE_ARNS, reconcileRoleArn: RECONCILE_ROLE_ARN }
        : { hubQueueArns: HUB_QUEUE_ARNS }),
      ...(options.ingest ? { ingestFunctionArn: FUNCTION_ARN, ingestRoleArn: INGEST_ROLE } : {}),
      ...(options.reserved !== undefined
        ? { ingestReservedConcurrency: options.reserved, esmMaximumConcurrency: 2 }
        : {}),
    },
    logger: silentLogger,
    now: () => new Date(clock),
    randomSuffix: () => 'a1b2c3d4',
  };
  return {
    cloud,
    deps,
    advance: (ms: number) => {
      clock += ms;
    },
  };
}

const account = (report: ReconcileReport, id = A): AccountReport => report.accounts.find((a) => a.accountId === id)!;
const actionCodes = (report: AccountReport) => report.actions.map((a) => a.code);
const findingCodes = (report: AccountReport) => report.findings.map((f) => f.code);

describe('the hub topology over the fake cloud', () => {
  test('two new accounts: each topic is subscribed by the collector to its shard queue; no queue, no mapping in the account', async () => {
    const { cloud, deps } = world({ ingest: true });
    const registry = new MemoryRegistry([{ accountId: A }, { accountId: B }]);
    const report = await reconcileAll(registry, deps, { mode: 'apply' });
    for (const [id, shard] of [
      [A, 0],
      [B, 1],
    ] as const) {
      expect(shardOf(id, 2)).toBe(shard);
      expect(account(report, id).status).toBe('repaired');
      expect(actionCodes(account(report, id))).toEqual([
        'CREATE_BUCKET',
        'PUT_BUCKET_POLICY',
        'CREATE_TOPIC',
        'PUT_TOPIC_POLICY',
        'SUBSCRIBE',
        'CREATE_TRAIL',
        'START_LOGGING',
      ]);
      const subscribe = account(report, id).actions.find((a) => a.code === 'SUBSCRIBE')!;
      expect(subscribe.costImpact.note).toContain('$0 to the customer');
      const fake = cloud.account(id);
      expect([...fake.queues.keys()]).toEqual([]);
      expect(fake.subscriptions).toEqual([
        expect.objectContaining({ topicArn: topicOf(id), endpoint: HUB_QUEUE_ARNS[shard], owner: 'collector' }),
      ]);
      expect(fake.subscriptions[0]!.pending).toBeUndefined(); // the queue owner subscribed: no confirmation
      expect(registry.get(id)).toMatchObject({ topicArn: topicOf(id), ingestTopology: 'hub', ingestShard: shard });
      expect(registry.get(id).queueArn).toBeUndefined();
    }
    expect(cloud.esms).toEqual([]);
    // Subscribe was sent with the collector's own credentials, never through a customer role.
    expect(cloud.callsOf('collector').filter((c) => c === 'Subscribe')).toHaveLength(2);
    expect(cloud.callsOf(A)).not.toContain('Subscribe');
    expect(cloud.callsOf('collector')).not.toContain('CreateEventSourceMapping');

    const callsBefore = cloud.calls.length;
    const again = await reconcileAll(registry, deps, { mode: 'apply' });
    for (const id of [A, B]) expect(account(again, id)).toMatchObject({ status: 'healthy', findings: [], actions: [] });
    // Recorded as hub: the account's queues and mappings are not looked at any more.
    const second = cloud.calls.slice(callsBefore).map((c) => `${c.accountId}:${c.command}`);
    expect(second.filter((c) => /GetQueue|EventSourceMapping/.test(c))).toEqual([]);
    expect(second.filter((c) => c.startsWith('collector:'))).toEqual([
      'collector:GetSubscriptionAttributes',
      'collector:GetSubscriptionAttributes',
    ]);
  });

  test('the registry binds the topic (topicArn, hub, shard) before the collector subscribes, and a failed write subscribes nothing', async () => {
    const { cloud, deps } = world();
    const memory = new MemoryRegistry([{ accountId: A }]);
    const writes: { callsSoFar: number; fields: Partial<AccountRecord> }[] = [];
    const registry = {
      list: () => memory.list(),
      update: (
        id: string,
        fields: Partial<AccountRecord>,
        remove?: readonly Exclude<keyof AccountRecord, 'accountId'>[],
      ) => {
        writes.push({ callsSoFar: cloud.calls.length, fields });
        return memory.update(id, fields, remove);
      },
    };
    await reconcileAll(registry, deps, { mode: 'apply' });
    const subscribeAt = cloud.calls.findIndex((c) => c.accountId === 'collector' && c.command === 'Subscribe');
    expect(subscribeAt).toBeGreaterThan(-1);
    const binding = writes.find((w) => w.fields.ingestTopology === 'hub' && w.fields.topicArn === topicOf(A));
    expect(binding?.fields).toEqual({ topicArn: topicOf(A), ingestTopology: 'hub', ingestShard: 0 });
    expect(binding!.callsSoFar).toBeLessThanOrEqual(subscribeAt);

    const failing = world();
    const refusing = {
      list: () => new MemoryRegistry([{ accountId: A }]).list(),
      update: (_id: string, fields: Partial<AccountRecord>) =>
        fields.ingestTopology === 'hub' && fields.status === undefined
          ? Promise.reject(new Error('DynamoDB unavailable'))
          : Promise.resolve(),
    };
    const report = await reconcileAll(refusing, failing.deps, { mode: 'apply' });
    expect(account(report).actions.find((a) => a.code === 'SUBSCRIBE')).toMatchObject({
      status: 'failed',
      error: expect.stringContaining('DynamoDB unavailable'),
    });
    expect(failing.cloud.callsOf('collector')).not.toContain('Subscribe');
  });

  test('SUBSCRIPTION_RAW: the collector, the owner, sets RawMessageDelivery back to false', async () => {
    const { cloud, deps } = world();
    const chain = seedHubAccount(cloud, A, HUB_QUEUE_ARNS[0]!);
    cloud.account(A).subscriptions[0]!.rawMessageDelivery = true;
    const registry = new MemoryRegistry([
      { accountId: A, ...chain, bucketName: chain.bucket, ingestTopology: 'hub', ingestShard: 0 },
    ]);
    const report = await reconcileAll(registry, deps, { mode: 'apply' });
    expect(findingCodes(account(report))).toEqual(['SUBSCRIPTION_RAW']);
    expect(account(report).actions).toMatchObject([{ code: 'SET_SUBSCRIPTION_ATTRIBUTES', status: 'applied' }]);
    expect(cloud.account(A).subscriptions[0]!.rawMessageDelivery).toBe(false);
    expect(cloud.callsOf('collector')).toEqual(['GetSubscriptionAttributes', 'SetSubscriptionAttributes']);
  });

  test('SUBSCRIPTION_DELETED: the customer unsubscribed the hub queue; reported for 72 hours, then subscribed again', async () => {
    const { cloud, deps, advance } = world();
    const chain = seedHubAccount(cloud, A, HUB_QUEUE_ARNS[0]!);
    const registry = new MemoryRegistry([
      { accountId: A, ...chain, bucketName: chain.bucket, ingestTopology: 'hub', ingestShard: 0 },
    ]);
    // The customer's own Unsubscribe of a subscription it does not own (SNS marks it "Deleted").
    const customer = await cloud.clients().customer({ accountId: A, roleArn: 'r', externalId: 'x' });
    await customer.sns('us-east-1').send(new UnsubscribeCommand({ SubscriptionArn: `${chain.topicArn}:hub-seed` }));

    const during = await reconcileAll(registry, deps, { mode: 'apply' });
    expect(findingCodes(account(during))).toEqual(['SUBSCRIPTION_DELETED']);
    expect(account(during).actions).toEqual([]);
    expect(cloud.callsOf('collector')).not.toContain('Subscribe');

    advance(DELETED_SUBSCRIPTION_MS);
    const after = await reconcileAll(registry, deps, { mode: 'apply' });
    expect(findingCodes(account(after))).toEqual(['SUBSCRIPTION_MISSING']);
    expect(account(after).actions).toMatchObject([{ code: 'SUBSCRIBE', status: 'applied' }]);
    expect(cloud.account(A).subscriptions).toMatchObject([{ endpoint: HUB_QUEUE_ARNS[0], owner: 'collector' }]);
  });
});

describe('customer-queue -> hub over the fake cloud', () => {
  test('subscribe the hub, unsubscribe outcomesqueue, delete the mapping once drained, forget the old path; the queue stays', async () => {
    const { cloud, deps } = world({ ingest: true });
    const chain = seedHealthyAccount(cloud, A, { ingestFunctionArn: FUNCTION_ARN, ingestRoleArn: INGEST_ROLE });
    const registry = new MemoryRegistry([
      { accountId: A, ...chain, bucketName: chain.bucket, eventSourceMappingUuid: `esm-seed-${A}` },
    ]);

    const first = await reconcileAll(registry, deps, { mode: 'apply' });
    expect(actionCodes(account(first))).toEqual(['PUT_TOPIC_POLICY', 'SUBSCRIBE', 'UNSUBSCRIBE']);
    expect(account(first).status).toBe('repaired');
    expect(cloud.account(A).subscriptions).toMatchObject([{ endpoint: HUB_QUEUE_ARNS[0], owner: 'collector' }]);
    expect(cloud.esms).toHaveLength(1); // the mapping still drains outcomesqueue
    expect(registry.get(A)).toMatchObject({ ingestTopology: 'hub', ingestShard: 0, queueArn: queueOf(A) });

    cloud.account(A).queues.get('outcomesqueue')!.ApproximateNumberOfMessagesNotVisible = '3';
    const draining = await reconcileAll(registry, deps, { mode: 'apply' });
    expect(account(draining).actions).toEqual([]);
    expect(account(draining).findings).toMatchObject([
      { code: 'TOPOLOGY_MIGRATING', message: expect.stringContaining('0 waiting, 3 in flight') },
    ]);
    expect(cloud.esms).toHaveLength(1);

    cloud.account(A).queues.get('outcomesqueue')!.ApproximateNumberOfMessagesNotVisible = '0';
    const drained = await reconcileAll(registry, deps, { mode: 'apply' });
    expect(account(drained).actions).toMatchObject([{ code: 'DELETE_ESM', status: 'applied' }]);
    expect(
      account(drained)
        .findings.map((f) => f.message)
        .join('\n'),
    ).toContain('outcomesqueue and outcomesqueue-dlq stay in the account');
    expect(cloud.esms).toEqual([]);
    expect(cloud.account(A).queues.has('outcomesqueue')).toBe(true); // left to the customer
    const record = registry.get(A);
    expect(record.queueArn).toBeUndefined();
    expect(record.eventSourceMappingUuid).toBeUndefined();
    expect(record).toMatchObject({ ingestTopology: 'hub', ingestShard: 0, topicArn: chain.topicArn });

    const settled = await reconcileAll(registry, deps, { mode: 'apply' });
    expect(account(settled)).toMatchObject({ status: 'healthy', findings: [], actions: [] });
  });
});

describe('hub -> customer-queue over the fake cloud', () => {
  test('outcomesqueue, its subscription and mapping first; then the collector unsubscribes its hub subscription', async () => {
    const { cloud, deps } = world({ hub: false, ingest: true });
    const chain = seedHubAccount(cloud, A, HUB_QUEUE_ARNS[0]!);
    const registry = new MemoryRegistry([
      { accountId: A, ...chain, bucketName: chain.bucket, ingestTopology: 'hub', ingestShard: 0 },
    ]);
    const report = await reconcileAll(registry, deps, { mode: 'apply' });
    expect(actionCodes(account(report))).toEqual([
      'CREATE_QUEUE',
      'CREATE_QUEUE',
      'PUT_QUEUE_POLICY',
      'SUBSCRIBE',
      'CREATE_ESM',
      'UNSUBSCRIBE',
    ]);
    expect(account(report).actions.every((a) => a.status === 'applied')).toBe(true);
    expect(cloud.account(A).subscriptions).toMatchObject([{ endpoint: queueOf(A) }]);
    expect(cloud.esms).toMatchObject([{ queueArn: queueOf(A), maximumConcurrency: 2 }]);
    // Unsubscribed by its owner: gone at once, never "Deleted".
    expect(cloud.callsOf('collector')).toContain('Unsubscribe');
    const record = registry.get(A);
    expect(record).toMatchObject({ ingestTopology: 'customer-queue', queueArn: queueOf(A) });
    expect(record.ingestShard).toBeUndefined();
  });
});

describe('the mapping budget over one run (INGEST_RESERVED_CONCURRENCY)', () => {
  test('two accounts need a mapping and one slot is left: one is created, the other refused with the figures', async () => {
    // Reserved 4 = 2 mappings x MaximumConcurrency 2; one is recorded for a third account already.
    const { cloud, deps } = world({ hub: false, ingest: true, reserved: 4 });
    deps.config = { ...deps.config, hubQueueArns: [] };
    const mapped = '999900001111';
    const chain = seedHealthyAccount(cloud, mapped, { ingestFunctionArn: FUNCTION_ARN, ingestRoleArn: INGEST_ROLE });
    const registry = new MemoryRegistry([
      { accountId: mapped, ...chain, bucketName: chain.bucket, eventSourceMappingUuid: `esm-seed-${mapped}` },
      { accountId: A },
      { accountId: B },
    ]);
    const report = await reconcileAll(registry, deps, { mode: 'apply', concurrency: 3 });
    const creations = [A, B].map((id) => account(report, id).actions.find((a) => a.code === 'CREATE_ESM'));
    // Both planned it (each saw one other mapping); the run's budget let only the first take the slot.
    expect(creations.map((action) => action?.status).sort()).toEqual(['applied', 'failed']);
    expect(creations.find((action) => action?.status === 'failed')?.error).toContain(
      '3 mapping(s) x MaximumConcurrency 2 = 6, more than the reserved concurrency 4',
    );
    expect(cloud.esms).toHaveLength(2);

    // The next run counts the recorded mappings: the account left without one is reported, nothing is created.
    const next = await reconcileAll(registry, deps, { mode: 'apply' });
    const refused = [A, B].find((id) => registry.get(id).eventSourceMappingUuid === undefined)!;
    expect(findingCodes(account(next, refused))).toContain('INGEST_CAPACITY_EXCEEDED');
    expect(actionCodes(account(next, refused))).not.toContain('CREATE_ESM');
    expect(cloud.esms).toHaveLength(2);
  });

  test('ESM_CONCURRENCY_MISMATCH: a seed mapping without MaximumConcurrency is updated to ESM_MAXIMUM_CONCURRENCY', async () => {
    const { cloud, deps } = world({ hub: false, ingest: true });
    const chain = seedHealthyAccount(cloud, A, { ingestFunctionArn: FUNCTION_ARN, ingestRoleArn: INGEST_ROLE });
    delete cloud.esms[0]!.maximumConcurrency;
    const registry = new MemoryRegistry([{ accountId: A, ...chain, bucketName: chain.bucket }]);
    const report = await reconcileAll(registry, deps, { mode: 'apply' });
    expect(findingCodes(account(report))).toEqual(['ESM_CONCURRENCY_MISMATCH']);
    expect(account(report).actions).toMatchObject([{ code: 'UPDATE_ESM', status: 'applied' }]);
    expect(cloud.esms[0]!.maximumConcurrency).toBe(2);
  });
});

test('hub queue names follow topology.ts', () => {
  expect(HUB_QUEUE_ARNS).toEqual(
    [0, 1].map((shard) => `arn:aws:sqs:us-east-1:${FAKE_COLLECTOR.accountId}:${hubQueueName(shard)}`),
  );
});
