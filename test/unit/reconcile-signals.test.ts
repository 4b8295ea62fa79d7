import { emitRunMetrics } from '../../lambdas/reconcile/run-request';
import type { ReconcileReport } from '../../lambdas/reconcile/types';

/**
 * The run metrics behind the dead-letter and stale-account alarms (the findings feeding them, DLQ_NOT_EMPTY
 * and COLLECTION_STALE, are tested with their rules in test/unit/rules/queue.test.ts and staleness.test.ts).
 */
describe('run metrics', () => {
  test('sum dead letters and count stale and unhealthy accounts', () => {
    const report: ReconcileReport = {
      mode: 'apply',
      runAt: '2026-11-24T12:00:00Z',
      accounts: [
        { accountId: '111122223333', status: 'healthy', findings: [], actions: [], deadLetterMessages: 2 },
        {
          accountId: '444455556666',
          status: 'degraded',
          findings: [{ code: 'COLLECTION_STALE', severity: 'medium', resource: '444455556666', message: 'm' }],
          actions: [
            {
              code: 'SUBSCRIBE',
              resource: 'r',
              reason: 'SUBSCRIPTION_MISSING',
              costImpact: { monthlyUsd: 0, note: 'n' },
              status: 'failed',
              error: 'e',
            },
          ],
          deadLetterMessages: 5,
        },
        { accountId: '777788889999', status: 'error', findings: [], actions: [] },
      ],
    };
    const metrics: Record<string, number> = {};
    emitRunMetrics(report, (name, value) => (metrics[name] = value));
    expect(metrics).toEqual({
      AccountsHealthy: 1,
      AccountsRepaired: 0,
      AccountsDegraded: 1,
      AccountsError: 1,
      AccountsNotHealthy: 2,
      ActionsFailed: 1,
      DeadLetterMessages: 7,
      AccountsStale: 1,
      // No account's lag could be judged (no ledger): no lag metric, and none lagging.
      AccountsLagging: 0,
    });
  });
});
