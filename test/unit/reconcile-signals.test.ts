import { planAccount } from '../../lambdas/reconcile/plan';
import { stalenessRule } from '../../lambdas/reconcile/rules';
import { emitRunMetrics } from '../../lambdas/reconcile/run-request';
import { known, type ReconcileReport } from '../../lambdas/reconcile/types';
import { ACCT, context, healthy } from '../../testkit/reconcile-fixtures';

/** The signals behind the dead-letter and stale-account alarms. */
describe('DLQ_NOT_EMPTY', () => {
  const withDlq = (messages: number) => {
    const observed = healthy();
    observed.queues['outcomesqueue-dlq'] = known({ name: 'outcomesqueue-dlq', url: 'u', arn: 'a', messages });
    return observed;
  };

  test('compliant: an empty dead-letter queue is not a finding', () => {
    expect(planAccount(withDlq(0), context()).findings).toEqual([]);
  });

  test('non-compliant: messages waiting are reported with their count, and nothing is purged', () => {
    const plan = planAccount(withDlq(3), context());
    expect(plan.findings).toEqual([
      expect.objectContaining({
        code: 'DLQ_NOT_EMPTY',
        severity: 'medium',
        message: expect.stringMatching(/^3 message\(s\) in outcomesqueue-dlq/),
      }),
    ]);
    expect(plan.actions).toEqual([]);
  });
});

describe('COLLECTION_STALE', () => {
  const now = new Date('2026-11-24T12:00:00Z');
  const record = { accountId: ACCT, registeredAt: '2026-11-01T00:00:00Z' };

  test('compliant: records arrived recently, or no limit is configured', () => {
    expect(stalenessRule({ ...record, lastRecordAt: '2026-11-24T11:00:00Z' }, now, 360)).toBeUndefined();
    expect(stalenessRule(record, now, undefined)).toBeUndefined();
  });

  test('non-compliant: silence past the limit, since the last record or since registration', () => {
    expect(stalenessRule({ ...record, lastRecordAt: '2026-11-24T05:00:00Z' }, now, 360)).toEqual({
      code: 'COLLECTION_STALE',
      severity: 'medium',
      resource: ACCT,
      message: 'the last record arrived at 2026-11-24T05:00:00Z: more than 360 minutes without data from this account',
    });
    expect(stalenessRule(record, now, 360)?.message).toMatch(/^no record has arrived since registration/);
  });
});

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
    });
  });
});
