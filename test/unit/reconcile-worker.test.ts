/**
 * The reconcile worker (lambdas/reconcile/worker.ts) over the in-memory fake cloud: one account per job under its
 * lease (two workers, one account: only one reconciles), the next due time it records, the sweep's mapping
 * snapshot, and an invocation that runs out of time (the accounts already done have published their metrics).
 */
import { sweep } from '../../lambdas/reconcile/sweep';
import { runJobBatch, type WorkerDeps, type WorkerMetric } from '../../lambdas/reconcile/worker';
import { silentLogger } from '../../lambdas/shared/logger';
import type { ReconcileJob } from '../../lambdas/shared/reconcile-job';
import { FakeCloud, MemoryRegistry, seedHealthyAccount } from '../../testkit/fake-cloud';
import { RECONCILE_SETTINGS } from '../../testkit/reconcile-fixtures';
import { MemoryJobQueue, MemoryLease } from '../../testkit/reconcile-jobs';

const A = '111122223333';
const B = '222233334444';
const C = '333344445555';
const FUNCTION_ARN = 'arn:aws:lambda:us-east-1:123456789012:function:collector-ingest';
const INGEST_ROLE = 'arn:aws:iam::123456789012:role/collector-ingest';
const CADENCE = { periodSeconds: 900, healthyEvery: 4 };
const START = Date.parse('2026-11-01T00:00:00.000Z');

function setup(options: { latencyMs?: number } = {}) {
  const cloud = new FakeCloud(options.latencyMs ? { latencyMs: options.latencyMs } : {});
  const registry = new MemoryRegistry();
  for (const id of [A, B, C]) {
    const chain = seedHealthyAccount(cloud, id, { ingestFunctionArn: FUNCTION_ARN, ingestRoleArn: INGEST_ROLE });
    registry.add({ accountId: id, ...chain, bucketName: chain.bucket });
  }
  let clock = START;
  const published: WorkerMetric[][] = [];
  const lease = new MemoryLease(registry);
  const deps: WorkerDeps = {
    clients: cloud.clients(),
    config: { ...RECONCILE_SETTINGS, ingestFunctionArn: FUNCTION_ARN, ingestRoleArn: INGEST_ROLE, cadence: CADENCE },
    logger: silentLogger,
    registry,
    lease,
    publish: (metrics) => published.push([...metrics]),
    now: () => new Date(clock),
    randomSuffix: () => 'a1b2c3d4',
  };
  const retried: { messageId: string; seconds: number }[] = [];
  const batch = (
    messages: ReturnType<MemoryJobQueue['drain']>,
    owner: string,
    remainingMs = () => 600_000,
    concurrency = 1,
  ) =>
    runJobBatch(messages, deps, {
      owner,
      remainingMs,
      concurrency,
      marginMs: 50,
      retryLater: (message, seconds) => {
        retried.push({ messageId: message.messageId, seconds });
        return Promise.resolve();
      },
    });
  return {
    cloud,
    registry,
    lease,
    deps,
    published,
    retried,
    batch,
    advance: (ms: number) => (clock += ms),
    now: () => new Date(clock),
  };
}

const job = (accountId: string, fields: Partial<ReconcileJob> = {}): ReconcileJob => ({
  kind: 'reconcile-account',
  accountId,
  mode: 'apply',
  reason: 'schedule',
  requestedAt: new Date(START).toISOString(),
  ...fields,
});
const message = (value: ReconcileJob, id = value.accountId) => ({
  messageId: `m-${id}`,
  receiptHandle: `r-${id}`,
  body: JSON.stringify(value),
});
/** Metric values by name, over some published sets. */
const values = (sets: WorkerMetric[][], name: string) =>
  sets.flatMap((set) => set.filter((metric) => metric.name === name).map((metric) => metric.value));

describe('the lease: two workers, one account', () => {
  test('only one reconciles; the other hands its job back for the rest of the lease', async () => {
    const { cloud, registry, retried, batch, lease } = setup({ latencyMs: 5 });
    const first = batch([message(job(A, { reason: 'trigger' }), 'one')], 'worker-1');
    const second = batch([message(job(A, { reason: 'trigger' }), 'two')], 'worker-2');
    const [one, two] = await Promise.all([first, second]);
    expect(one.batchItemFailures).toEqual([]);
    expect(two.batchItemFailures).toEqual([{ itemIdentifier: 'm-two' }]);
    expect(lease.attempts.map((a) => `${a.owner}:${a.result}`)).toEqual([
      'worker-1/m-one:acquired',
      'worker-2/m-two:held',
    ]);
    // The lease runs to the invocation's end (600 s here): the job comes back once it expires.
    expect(retried).toEqual([{ messageId: 'm-two', seconds: 600 }]);
    expect(cloud.callsOf(A).filter((call) => call === 'DescribeTrails')).toHaveLength(1);
    // Released: the item keeps no lease.
    expect(registry.get(A).reconcileLeaseOwner).toBeUndefined();
  });

  test('redelivered after the first run, a trigger job runs again; a scheduled one is dropped as done', async () => {
    const { cloud, batch, advance } = setup();
    await batch([message(job(A, { reason: 'trigger' }))], 'worker-1');
    advance(1_000);
    await batch([message(job(A, { reason: 'trigger' }), 'again')], 'worker-2');
    expect(cloud.callsOf(A).filter((call) => call === 'DescribeTrails')).toHaveLength(2);
    const scheduledEarlier = job(A, { requestedAt: new Date(START - 60_000).toISOString() });
    const result = await batch([message(scheduledEarlier, 'stale')], 'worker-3');
    expect(result.batchItemFailures).toEqual([]);
    expect(cloud.callsOf(A).filter((call) => call === 'DescribeTrails')).toHaveLength(2);
  });

  test('two jobs of one batch for the same account: the second waits for the first', async () => {
    const { cloud, retried, batch } = setup({ latencyMs: 5 });
    const messages = [message(job(A, { reason: 'trigger' }), 'one'), message(job(A, { reason: 'trigger' }), 'two')];
    const result = await batch(messages, 'worker-1', () => 600_000, 2);
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: 'm-two' }]);
    expect(retried.map((r) => r.messageId)).toEqual(['m-two']);
    expect(cloud.callsOf(A).filter((call) => call === 'DescribeTrails')).toHaveLength(1);
  });

  test('a job for an account removed since is dropped, not retried', async () => {
    const { batch } = setup();
    expect((await batch([message(job('999999999999'))], 'worker-1')).batchItemFailures).toEqual([]);
  });
});

describe('each account is recorded and published as it finishes', () => {
  test('a healthy account is next due 4 periods after the sweep; an unhealthy one a period after', async () => {
    const { cloud, registry, batch, published } = setup();
    cloud.unassumable.add(B);
    await batch([message(job(A)), message(job(B))], 'worker-1');
    expect(registry.get(A)).toMatchObject({
      status: 'healthy',
      reconcileDueAt: new Date(START + 3_600_000).toISOString(),
    });
    expect(registry.get(B)).toMatchObject({ status: 'error', reconcileDueAt: new Date(START + 900_000).toISOString() });
    // One set per account, published apart, with no account dimension in the metric names.
    expect(published).toHaveLength(2);
    expect(values(published, 'AccountsHealthy')).toEqual([1, 0]);
    expect(values(published, 'AccountsError')).toEqual([0, 1]);
  });

  test("with the sweep's snapshot the worker sends no ListEventSourceMappings; without it, one", async () => {
    const { cloud, registry, deps, batch, now } = setup();
    const queue = new MemoryJobQueue();
    await sweep(
      {
        registry,
        queue,
        lambda: deps.clients.collector.lambda,
        config: {
          region: 'us-east-1',
          cadence: CADENCE,
          ingestFunctionArn: FUNCTION_ARN,
          ingestTopology: 'customer-queue',
        },
        logger: silentLogger,
        now,
      },
      { mode: 'apply', reason: 'schedule' },
    );
    expect(cloud.callsOf('collector')).toEqual(['ListEventSourceMappings']);
    await batch(queue.drain(), 'worker-1');
    expect(cloud.callsOf('collector')).toEqual(['ListEventSourceMappings']);
    expect([A, B, C].map((id) => registry.get(id).status)).toEqual(['healthy', 'healthy', 'healthy']);
    await batch([message(job(A, { reason: 'trigger', requestedAt: now().toISOString() }))], 'worker-2');
    expect(cloud.callsOf('collector')).toEqual(['ListEventSourceMappings', 'ListEventSourceMappings']);
  });
});

describe('a job that runs out of time', () => {
  test('the last job of a batch times out: the accounts done before it have published their metrics', async () => {
    const { deps, batch, published, registry } = setup();
    // C's role assumption never answers (a hung connection): its job outlives the invocation.
    const customer = deps.clients.customer.bind(deps.clients);
    deps.clients.customer = (target) => (target.accountId === C ? new Promise(() => undefined) : customer(target));
    const deadline = Date.now() + 400;
    const result = await batch(
      [message(job(A)), message(job(B)), message(job(C))],
      'worker-1',
      () => deadline - Date.now(),
    );
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: `m-${C}` }]);
    expect(values(published, 'AccountsHealthy')).toEqual([1, 1]);
    expect(values(published, 'ReconcileJobsTimedOut')).toEqual([1]);
    expect([A, B].map((id) => registry.get(id).lastRunAt)).toEqual([expect.any(String), expect.any(String)]);
    expect(registry.get(C).lastRunAt).toBeUndefined();
    // C's lease stays until the invocation's end, when its redelivery (after the visibility timeout) may take it.
    expect(registry.get(C).reconcileLeaseOwner).toBe(`worker-1/m-${C}`);
  });

  test('a job is not started with less than the margin left', async () => {
    const { batch, published, cloud } = setup();
    const result = await batch([message(job(A))], 'worker-1', () => 60);
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: `m-${A}` }]);
    expect(cloud.callsOf(A)).toEqual([]);
    expect(values(published, 'ReconcileJobsTimedOut')).toEqual([1]);
  });

  test('a malformed job fails (to the DLQ after its receives), without touching any account', async () => {
    const { batch, cloud } = setup();
    const result = await batch([{ messageId: 'bad', receiptHandle: 'r', body: '{"kind":"other"}' }], 'worker-1');
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: 'bad' }]);
    expect(cloud.calls).toEqual([]);
  });
});
