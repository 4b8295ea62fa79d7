/**
 * Insights types over the fake cloud (CloudTrail API Reference, GetInsightSelectors: a trail without Insights
 * answers InsightNotEnabledException). Observe asks only for a trail whose DescribeTrails says
 * HasInsightSelectors, and COST_INSIGHTS prices the types it finds.
 */
import { reconcileAll } from '../../lambdas/reconcile/reconcile';
import type { AccountReport } from '../../lambdas/reconcile/types';
import { silentLogger } from '../../lambdas/shared/logger';
import { FakeCloud, MemoryRegistry, seedHealthyAccount } from '../../testkit/fake-cloud';
import { RECONCILE_SETTINGS } from '../../testkit/reconcile-fixtures';

const ACCOUNT = '111122223333';

async function reconcile(cloud: FakeCloud): Promise<AccountReport> {
  const report = await reconcileAll(
    new MemoryRegistry([{ accountId: ACCOUNT }]),
    {
      clients: cloud.clients(),
      config: RECONCILE_SETTINGS,
      logger: silentLogger,
      now: () => new Date('2026-11-01T00:00:00.000Z'),
      randomSuffix: () => 'a1b2c3d4',
    },
    { mode: 'plan' },
  );
  return report.accounts[0]!;
}

const insightsFindings = (report: AccountReport) => report.findings.filter((f) => f.code === 'COST_INSIGHTS');

describe('GetInsightSelectors', () => {
  test('a trail without Insights is never asked (no extra call per trail)', async () => {
    const cloud = new FakeCloud();
    seedHealthyAccount(cloud, ACCOUNT);
    const report = await reconcile(cloud);
    expect(cloud.callsOf(ACCOUNT)).not.toContain('GetInsightSelectors');
    expect(insightsFindings(report)).toEqual([]);
  });

  test('the API call rate type on management events is priced as write events only', async () => {
    const cloud = new FakeCloud();
    seedHealthyAccount(cloud, ACCOUNT);
    const trail = cloud.account(ACCOUNT).trails[0]!;
    trail.insights = true;
    trail.insightSelectors = [{ InsightType: 'ApiCallRateInsight', EventCategories: ['Management'] }];
    const report = await reconcile(cloud);
    expect(cloud.callsOf(ACCOUNT)).toContain('GetInsightSelectors');
    expect(insightsFindings(report)).toEqual([
      expect.objectContaining({ message: expect.stringContaining('$0.35/month for ApiCallRateInsight') }),
    ]);
  });

  test('AccessDenied on GetInsightSelectors: the upper-bound estimate, never a silence', async () => {
    const cloud = new FakeCloud();
    seedHealthyAccount(cloud, ACCOUNT);
    cloud.account(ACCOUNT).trails[0]!.insights = true;
    cloud.fail(ACCOUNT, 'GetInsightSelectors', { name: 'AccessDeniedException', status: 400 });
    const report = await reconcile(cloud);
    expect(insightsFindings(report)).toEqual([
      expect.objectContaining({ message: expect.stringContaining('$3.85/month with the API call rate type on too') }),
    ]);
  });
});
