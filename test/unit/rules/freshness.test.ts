/**
 * The freshness rule (COLLECTION_LAGGING) and the fleet lag metrics: per Region, CloudTrail's LatestDeliveryTime
 * (GetTrailStatus answers for one Region) against the ledger's newest collected file of that Region.
 */
import { planAccount } from '../../../lambdas/reconcile/plan';
import { reconcileAll } from '../../../lambdas/reconcile/reconcile';
import { collectionLags, freshnessRule, LAG_AFTER_MINUTES_DEFAULT } from '../../../lambdas/reconcile/rules';
import { emitRunMetrics, percentile } from '../../../lambdas/reconcile/run-request';
import { probeTargets } from '../../../lambdas/reconcile/targets';
import { known, unknown, type ObservedState, type TrailStatus } from '../../../lambdas/reconcile/types';
import type { NewestFile } from '../../../lambdas/shared/ledger';
import { silentLogger } from '../../../lambdas/shared/logger';
import { FakeCloud, MemoryRegistry, seedHealthyAccount } from '../../../testkit/fake-cloud';
import {
  ACCT,
  BUCKET,
  RECONCILE_SETTINGS,
  REGION,
  TRAIL_ARN,
  context,
  healthy,
  trail,
} from '../../../testkit/reconcile-fixtures';
import { ruleOutput, with_ } from './helpers';

const NOW = new Date('2026-11-01T12:00:00.000Z');

/** The ledger's newest file of a Region, delivered at `deliveredAt` (as ingest records it). */
function newest(region: string, deliveredAt: string): NewestFile {
  const stamp = deliveredAt.replace(/[-:]/g, '').slice(0, 13);
  return {
    region,
    bucket: BUCKET,
    key: `AWSLogs/${ACCT}/CloudTrail/${region}/2026/11/01/${ACCT}_CloudTrail_${region}_${stamp}Z_x.json.gz`,
    deliveredAt,
    collectedAt: deliveredAt,
  };
}

function status(latestDeliveryTime?: string, extra: Partial<TrailStatus> = {}): TrailStatus {
  return { isLogging: true, region: REGION, ...(latestDeliveryTime ? { latestDeliveryTime } : {}), ...extra };
}

/** The healthy chain whose trail reports `home` in us-east-1 (and `others` per Region), and a ledger. */
function stateWith(
  home: TrailStatus,
  ledger: NewestFile[] | undefined,
  others: Record<string, TrailStatus> = {},
): ObservedState {
  return with_((s) => {
    s.trails = known([
      trail({
        status: known(home),
        ...(Object.keys(others).length > 0
          ? { regionalStatus: Object.fromEntries(Object.entries(others).map(([r, v]) => [r, known(v)])) }
          : {}),
      }),
    ]);
    if (ledger !== undefined) s.collected = known(Object.fromEntries(ledger.map((file) => [file.region, file])));
  });
}

const lagFinding = (state: ObservedState, overrides: Parameters<typeof context>[0] = {}) =>
  ruleOutput(freshnessRule, state, context({ now: NOW, ...overrides })).findings[0];

describe('COLLECTION_LAGGING', () => {
  test('compliant: the newest collected file is within LAG_AFTER_MINUTES of the latest delivery', () => {
    const state = stateWith(status('2026-11-01T11:58:00.000Z'), [newest(REGION, '2026-11-01T11:50:00.000Z')]);
    expect(lagFinding(state)).toBeUndefined();
    expect(collectionLags(state, context(), probeTargets(state.trails, state, context()))).toEqual([
      expect.objectContaining({ region: REGION, minutes: 8, newestCollected: '2026-11-01T11:50:00.000Z' }),
    ]);
  });

  test('compliant: a quiet Region (no delivery since the newest collected file) never lags, however old the file', () => {
    const state = stateWith(status('2026-10-20T08:00:00.000Z'), [newest(REGION, '2026-10-20T08:00:00.000Z')]);
    expect(lagFinding(state)).toBeUndefined();
  });

  test('compliant: without a ledger, an unreadable ledger, or no delivery time, freshness is not judged', () => {
    const late = status('2026-11-01T11:58:00.000Z');
    expect(lagFinding(stateWith(late, undefined))).toBeUndefined();
    const unreadable = stateWith(late, undefined);
    unreadable.collected = unknown('reading the ledger: ResourceNotFoundException');
    expect(lagFinding(unreadable)).toBeUndefined();
    expect(lagFinding(stateWith(status(), [newest(REGION, '2026-11-01T08:00:00.000Z')]))).toBeUndefined();
  });

  test('non-compliant: names the Region, the minutes behind, and that CloudTrail still notified', () => {
    const state = stateWith(
      status('2026-11-01T11:55:00.000Z', { latestNotificationTime: '2026-11-01T11:55:01.000Z' }),
      [newest(REGION, '2026-11-01T10:10:00.000Z')],
    );
    expect(lagFinding(state)).toEqual({
      code: 'COLLECTION_LAGGING',
      severity: 'medium',
      resource: TRAIL_ARN,
      message:
        'collection lags CloudTrail by more than 30 minutes in us-east-1: us-east-1 is 105 minutes behind ' +
        '(CloudTrail last delivered a log file at 2026-11-01T11:55:00.000Z; the newest file collected from it was ' +
        'delivered at 2026-11-01T10:10:00.000Z; CloudTrail last notified at 2026-11-01T11:55:01.000Z (the ' +
        'notifications did not lead to collection: look at the subscription, the queue, its dead-letter queue and ' +
        'the ingest function))',
    });
  });

  test('non-compliant: notifications that stopped point at the topic', () => {
    const state = stateWith(
      status('2026-11-01T11:55:00.000Z', { latestNotificationTime: '2026-11-01T10:10:30.000Z' }),
      [newest(REGION, '2026-11-01T10:10:00.000Z')],
    );
    expect(lagFinding(state)?.message).toContain("it has not announced the newer files: look at the trail's topic");
  });

  test('per Region: a multi-region trail is judged in every Region it was read in; only the lagging one is named', () => {
    const state = stateWith(
      status('2026-11-01T11:58:00.000Z'),
      [newest(REGION, '2026-11-01T11:55:00.000Z'), newest('eu-west-1', '2026-11-01T09:00:00.000Z')],
      { 'eu-west-1': { ...status('2026-11-01T11:57:00.000Z'), region: 'eu-west-1' } },
    );
    const found = lagFinding(state)!;
    expect(found.message).toMatch(
      /^collection lags CloudTrail by more than 30 minutes in eu-west-1: eu-west-1 is 177 minutes behind/,
    );
    expect(found.message).not.toContain('us-east-1 is');
  });

  test('a Region with no collected file is measured from the last record, else the registration', () => {
    const state = stateWith(status('2026-11-01T11:58:00.000Z'), []);
    expect(lagFinding(state, { lastRecordAt: '2026-11-01T11:40:00.000Z' })).toBeUndefined();
    expect(lagFinding(state, { registeredAt: '2026-11-01T09:00:00.000Z' })?.message).toContain(
      'us-east-1 is 178 minutes behind (CloudTrail last delivered a log file at 2026-11-01T11:58:00.000Z; no file ' +
        'was collected from it since 2026-11-01T09:00:00.000Z',
    );
  });

  test('LAG_AFTER_MINUTES is configurable (default 30)', () => {
    expect(LAG_AFTER_MINUTES_DEFAULT).toBe(30);
    const state = stateWith(status('2026-11-01T11:58:00.000Z'), [newest(REGION, '2026-11-01T11:38:00.000Z')]);
    expect(lagFinding(state)).toBeUndefined();
    expect(lagFinding(state, { lagAfterMinutes: 15 })?.message).toContain('more than 15 minutes in us-east-1');
  });

  test('in the plan: after the chain findings, and the largest lag is carried to the report', () => {
    const state = stateWith(status('2026-11-01T11:58:00.000Z'), [newest(REGION, '2026-11-01T10:58:00.000Z')]);
    const plan = planAccount(state, context({ now: NOW }));
    expect(plan.findings.map((f) => f.code)).toEqual(['COLLECTION_LAGGING']);
    expect(plan.collectionLagMinutes).toBe(60);
    expect(plan.actions).toEqual([]);
    expect(planAccount(healthy(), context()).collectionLagMinutes).toBeUndefined();
  });
});

describe('fleet lag metrics', () => {
  const account = (id: string, lag?: number, lagging = false) => ({
    accountId: id,
    status: 'healthy' as const,
    findings: lagging
      ? [{ code: 'COLLECTION_LAGGING' as const, severity: 'medium' as const, resource: id, message: 'm' }]
      : [],
    actions: [],
    ...(lag !== undefined ? { collectionLagMinutes: lag } : {}),
  });

  test('nearest-rank percentile', () => {
    expect(percentile([], 99)).toBeUndefined();
    expect(percentile([5, 1, 3], 99)).toBe(5);
    const hundred = Array.from({ length: 200 }, (_, i) => i + 1);
    expect(percentile(hundred, 99)).toBe(198);
    expect(percentile(hundred, 100)).toBe(200);
  });

  test('the max, the p99 and the count of lagging accounts: three metrics for the fleet, none per account', () => {
    const metrics: Record<string, number> = {};
    emitRunMetrics(
      {
        mode: 'apply',
        runAt: NOW.toISOString(),
        accounts: [account('1', 2), account('2', 95, true), account('3', 45, true), account('4')],
      },
      (name, value) => (metrics[name] = value),
    );
    expect(metrics).toMatchObject({ AccountsLagging: 2, CollectionLagMaxMinutes: 95, CollectionLagP99Minutes: 95 });
    expect(Object.keys(metrics).filter((name) => /Lag/.test(name))).toEqual([
      'AccountsLagging',
      'CollectionLagMaxMinutes',
      'CollectionLagP99Minutes',
    ]);
  });
});

describe('freshness over the in-memory cloud, with a ledger', () => {
  const otherRegion = 'eu-west-1';

  async function run(ledgerFiles: NewestFile[] | Error) {
    const cloud = new FakeCloud();
    const chain = seedHealthyAccount(cloud, ACCT);
    const fakeTrail = cloud.account(ACCT).trails[0]!;
    fakeTrail.deliveries = {
      [REGION]: { latestDeliveryTime: '2026-11-01T11:58:00.000Z', latestNotificationTime: '2026-11-01T11:58:00.000Z' },
      [otherRegion]: { latestDeliveryTime: '2026-11-01T11:56:00.000Z' },
    };
    const asked: string[] = [];
    const ledger = {
      newest: (accountId: string) => {
        asked.push(accountId);
        if (ledgerFiles instanceof Error) return Promise.reject(ledgerFiles);
        return Promise.resolve(new Map(ledgerFiles.map((file) => [file.region, file])));
      },
    };
    const report = await reconcileAll(
      new MemoryRegistry([
        { accountId: ACCT, ...chain, bucketName: chain.bucket, registeredAt: '2026-10-01T00:00:00.000Z' },
      ]),
      { clients: cloud.clients(), config: RECONCILE_SETTINGS, logger: silentLogger, now: () => NOW, ledger },
      { mode: 'plan' },
    );
    const statusCalls = cloud.calls.filter((call) => call.command === 'GetTrailStatus');
    return { account: report.accounts[0]!, asked, statusCalls };
  }

  test('GetTrailStatus is read in each Region the ledger has files from; the lagging Region is reported', async () => {
    const { account, asked, statusCalls } = await run([
      newest(REGION, '2026-11-01T11:55:00.000Z'),
      newest(otherRegion, '2026-11-01T10:00:00.000Z'),
    ]);
    expect(asked).toEqual([ACCT]);
    expect(statusCalls).toHaveLength(2);
    expect(account.findings.map((f) => f.code)).toEqual(['COLLECTION_LAGGING']);
    expect(account.findings[0]!.message).toContain('in eu-west-1: eu-west-1 is 116 minutes behind');
    expect(account.collectionLagMinutes).toBe(116);
    expect(account.status).toBe('degraded');
  });

  test('an unreadable ledger (the table missing) judges nothing and reads no other Region', async () => {
    const missing = Object.assign(new Error('Requested resource not found'), { name: 'ResourceNotFoundException' });
    const { account, statusCalls } = await run(missing);
    expect(account.findings).toEqual([]);
    expect(account.status).toBe('healthy');
    expect(account.collectionLagMinutes).toBeUndefined();
    expect(statusCalls).toHaveLength(1);
  });
});
