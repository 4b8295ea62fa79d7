/**
 * The scheduled sweep (lambdas/reconcile/sweep.ts): which accounts it sends a job at given times and healths,
 * in which order, the coverage figure (AccountsNotReconciledInTime), and its one ListEventSourceMappings (none in
 * the hub topology) whose mappings each job carries.
 */
import { CADENCE_DEFAULTS, loadReconcileConfig, type Cadence } from '../../lambdas/reconcile/config';
import {
  accountsNotReconciledInTime,
  selectDue,
  sweep,
  sweepMetrics,
  type SweepSettings,
} from '../../lambdas/reconcile/sweep';
import { silentLogger } from '../../lambdas/shared/logger';
import type { AccountRecord } from '../../lambdas/shared/registry';
import { FakeCloud, MemoryRegistry, seedHealthyAccount } from '../../testkit/fake-cloud';
import { MemoryJobQueue } from '../../testkit/reconcile-jobs';
import { accountRecord } from '../../testkit/registry';

const NOW = new Date('2026-11-01T12:00:00.000Z');
const minutesAgo = (minutes: number) => new Date(NOW.getTime() - minutes * 60_000).toISOString();
const FUNCTION_ARN = 'arn:aws:lambda:us-east-1:123456789012:function:collector-ingest';
const CADENCE: Cadence = { periodSeconds: 900, healthyEvery: 4 };

const account = (id: string, fields: Partial<AccountRecord> = {}) =>
  accountRecord({ accountId: id, ...fields }, '2026-10-01T00:00:00.000Z');

describe('cadence: which accounts a sweep selects', () => {
  test('unhealthy every period, healthy every 4th, never-run at once; oldest last run first', () => {
    const records = [
      account('100000000001', { status: 'healthy', lastRunAt: minutesAgo(15) }),
      account('100000000002', { status: 'healthy', lastRunAt: minutesAgo(60) }),
      account('100000000003', { status: 'degraded', lastRunAt: minutesAgo(15) }),
      account('100000000004', { status: 'error', lastRunAt: minutesAgo(5) }),
      account('100000000005'),
      account('100000000006', { status: 'repaired', lastRunAt: minutesAgo(16) }),
      // A healthy account whose run was 45 minutes ago but whose job was sent an hour ago: due on the hour grid.
      account('100000000007', {
        status: 'healthy',
        lastRunAt: minutesAgo(45),
        reconcileDueAt: minutesAgo(0),
      }),
      account('100000000008', { status: 'degraded', lastRunAt: minutesAgo(20), reconcileDueAt: minutesAgo(-14) }),
      account('100000000009', { status: 'healthy', lastRunAt: minutesAgo(600) }),
    ];
    expect(selectDue(records, NOW, CADENCE).map((r) => r.accountId)).toEqual([
      '100000000005', // never reconciled
      '100000000009', // 10 hours ago
      '100000000002', // an hour ago, healthy
      '100000000007', // due now (recorded)
      '100000000006', // repaired: confirmed next period
      '100000000003', // degraded, a period ago
    ]);
  });

  test('RECONCILE_HEALTHY_EVERY changes how often a healthy account is sent', () => {
    const records = [account('100000000001', { status: 'healthy', lastRunAt: minutesAgo(30) })];
    expect(selectDue(records, NOW, { ...CADENCE, healthyEvery: 2 })).toHaveLength(1);
    expect(selectDue(records, NOW, { ...CADENCE, healthyEvery: 3 })).toHaveLength(0);
  });

  test('the cadence comes from RECONCILE_PERIOD_SECONDS and RECONCILE_HEALTHY_EVERY; a bad value is named', () => {
    const env = { AWS_REGION: 'us-east-1', ACCOUNTS_TABLE: 'accounts' };
    expect(loadReconcileConfig(env).cadence).toEqual(CADENCE_DEFAULTS);
    expect(
      loadReconcileConfig({ ...env, RECONCILE_PERIOD_SECONDS: '300', RECONCILE_HEALTHY_EVERY: '12' }).cadence,
    ).toEqual({
      periodSeconds: 300,
      healthyEvery: 12,
    });
    expect(() => loadReconcileConfig({ ...env, RECONCILE_HEALTHY_EVERY: '0' })).toThrow(/RECONCILE_HEALTHY_EVERY/);
  });
});

describe('coverage: accounts not reconciled within two of their periods', () => {
  test('counts healthy ones after 2 hours, unhealthy ones after 30 minutes, never-run ones from registration', () => {
    const records = [
      account('100000000001', { status: 'healthy', lastRunAt: minutesAgo(119) }),
      account('100000000002', { status: 'healthy', lastRunAt: minutesAgo(121) }),
      account('100000000003', { status: 'degraded', lastRunAt: minutesAgo(29) }),
      account('100000000004', { status: 'error', lastRunAt: minutesAgo(31) }),
      account('100000000005'), // registered a month ago, never reconciled
      accountRecord({ accountId: '100000000006' }, minutesAgo(10)), // registered 10 minutes ago
    ];
    expect(accountsNotReconciledInTime(records, NOW, CADENCE)).toBe(3);
  });

  test('the sweep publishes it with its own counts', async () => {
    const registry = new MemoryRegistry([
      { accountId: '100000000001', status: 'healthy', lastRunAt: minutesAgo(30) },
      { accountId: '100000000002', status: 'error', lastRunAt: minutesAgo(45) },
    ]);
    const queue = new MemoryJobQueue();
    const cloud = new FakeCloud();
    const result = await sweep(
      {
        registry,
        queue,
        lambda: cloud.clients().collector.lambda,
        config: settings('hub'),
        logger: silentLogger,
        now: () => NOW,
      },
      { mode: 'apply', reason: 'schedule' },
    );
    const metrics: Record<string, number> = {};
    sweepMetrics(result, (name, value) => (metrics[name] = value));
    expect(metrics).toEqual({
      AccountsRegistered: 2,
      AccountsDue: 1,
      ReconcileJobsSent: 1,
      ReconcileJobsNotSent: 0,
      AccountsNotReconciledInTime: 1,
      LambdaControlPlaneCalls: 0,
    });
  });
});

function settings(topology: 'hub' | 'customer-queue'): SweepSettings {
  return { region: 'us-east-1', cadence: CADENCE, ingestFunctionArn: FUNCTION_ARN, ingestTopology: topology };
}

describe('the sweep sends one job per due account', () => {
  const ids = Array.from({ length: 25 }, (_, index) => String(200000000000 + index));

  function world(topology: 'hub' | 'customer-queue') {
    const cloud = new FakeCloud();
    for (const id of ids.slice(0, 3)) seedHealthyAccount(cloud, id, { ingestFunctionArn: FUNCTION_ARN });
    // A mapping of the same queue to another function is not the collector's, and not listed.
    cloud.esms.push({
      uuid: 'other',
      queueArn: `arn:aws:sqs:us-east-1:${ids[0]}:outcomesqueue`,
      functionArn: 'arn:aws:lambda:us-east-1:123456789012:function:someone-else',
      state: 'Enabled',
    } as never);
    const registry = new MemoryRegistry(ids.map((accountId) => ({ accountId })));
    registry.records.get(ids[4]!)!.logArchiveFor = [ids[5]!];
    registry.records.get(ids[4]!)!.bucketName = 'archive-bucket';
    registry.records.get(ids[6]!)!.eventSourceMappingUuid = 'recorded';
    const queue = new MemoryJobQueue();
    const run = () =>
      sweep(
        {
          registry,
          queue,
          lambda: cloud.clients().collector.lambda,
          config: settings(topology),
          logger: silentLogger,
          now: () => NOW,
        },
        { mode: 'apply', reason: 'schedule' },
      );
    return { cloud, queue, run };
  }

  test('customer-queue topology: one ListEventSourceMappings, each job with its own mappings and context', async () => {
    const { cloud, queue, run } = world('customer-queue');
    const result = await run();
    expect(cloud.callsOf('collector')).toEqual(['ListEventSourceMappings']);
    expect(result).toMatchObject({ due: 25, sent: 25, lambdaControlPlaneCalls: 1, mappingsListed: true });
    expect(queue.batches).toBe(3);
    const byAccount = new Map(queue.jobs.map((job) => [job.accountId, job]));
    expect(byAccount.get(ids[0]!)?.mappings).toEqual([
      expect.objectContaining({
        eventSourceArn: `arn:aws:sqs:us-east-1:${ids[0]}:outcomesqueue`,
        functionArn: FUNCTION_ARN,
        state: 'Enabled',
      }),
    ]);
    expect(byAccount.get(ids[10]!)?.mappings).toEqual([]);
    expect(byAccount.get(ids[5]!)?.context?.logArchives).toEqual([
      { accountId: ids[4], bucketNames: ['archive-bucket'] },
    ]);
    expect(byAccount.get(ids[1]!)).toMatchObject({ reason: 'schedule', mode: 'apply', requestedAt: NOW.toISOString() });
  });

  test("the mapping budget: each account without a mapping counts the ones sent before it (reconcileAll's shared budget)", async () => {
    const { queue, run } = world('customer-queue');
    await run();
    // Sent in registration order here (none has run): ids[6] has a recorded mapping, the others none.
    const counts = queue.jobs.slice(0, 8).map((job) => [job.accountId, job.context?.recordedMappings]);
    expect(counts).toEqual([
      [ids[0], 1],
      [ids[1], 2],
      [ids[2], 3],
      [ids[3], 4],
      [ids[4], 5],
      [ids[5], 6],
      [ids[6], 1],
      [ids[7], 7],
    ]);
  });

  test('hub topology: no ListEventSourceMappings, jobs without mappings', async () => {
    const { cloud, queue, run } = world('hub');
    const result = await run();
    expect(cloud.callsOf('collector')).toEqual([]);
    expect(result.lambdaControlPlaneCalls).toBe(0);
    expect(queue.jobs.every((job) => job.mappings === undefined)).toBe(true);
  });

  test('a failed listing still sends every job, without mappings (each worker lists its own)', async () => {
    const { cloud, queue, run } = world('customer-queue');
    cloud.fail('collector', 'ListEventSourceMappings', { name: 'TooManyRequestsException', status: 429 });
    const result = await run();
    expect(result).toMatchObject({ sent: 25, mappingsListed: false });
    expect(queue.jobs.every((job) => job.mappings === undefined)).toBe(true);
  });
});
