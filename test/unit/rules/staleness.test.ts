/** The staleness rule: the signal behind the stale-account alarm (moved from reconcile-signals.test.ts). */
import { planAccount } from '../../../lambdas/reconcile/plan';
import { stalenessRule } from '../../../lambdas/reconcile/rules';
import { ACCT, context, healthy, withDeadLetterQueue } from '../../../testkit/reconcile-fixtures';
import { ruleOutput } from './helpers';

describe('COLLECTION_STALE', () => {
  const now = new Date('2026-11-24T12:00:00Z');
  const record = { accountId: ACCT, registeredAt: '2026-11-01T00:00:00Z' };
  /** The staleness rule on its own, with the account's registration and last record in the plan context. */
  const stalenessRule_ = (
    account: { accountId: string; registeredAt: string; lastRecordAt?: string },
    at: Date,
    staleAfterMinutes: number | undefined,
  ) => {
    return ruleOutput(
      stalenessRule,
      healthy(),
      context({
        accountId: account.accountId,
        now: at,
        registeredAt: account.registeredAt,
        ...(account.lastRecordAt !== undefined ? { lastRecordAt: account.lastRecordAt } : {}),
        ...(staleAfterMinutes !== undefined ? { staleAfterMinutes } : {}),
      }),
    ).findings[0];
  };

  test('compliant: records arrived recently, or no limit is configured', () => {
    expect(stalenessRule_({ ...record, lastRecordAt: '2026-11-24T11:00:00Z' }, now, 360)).toBeUndefined();
    expect(stalenessRule_(record, now, undefined)).toBeUndefined();
  });

  test('non-compliant: silence past the limit, since the last record or since registration', () => {
    expect(stalenessRule_({ ...record, lastRecordAt: '2026-11-24T05:00:00Z' }, now, 360)).toEqual({
      code: 'COLLECTION_STALE',
      severity: 'medium',
      resource: ACCT,
      message: 'the last record arrived at 2026-11-24T05:00:00Z: more than 360 minutes without data from this account',
    });
    expect(stalenessRule_(record, now, 360)?.message).toMatch(/^no record has arrived since registration/);
  });
});

describe('staleness rule in the plan', () => {
  test('its finding comes after every chain finding; a role that cannot be assumed says nothing else', () => {
    const ctx = context({
      now: new Date('2026-11-24T12:00:00Z'),
      registeredAt: '2026-11-01T00:00:00Z',
      staleAfterMinutes: 360,
    });
    const state = healthy();
    withDeadLetterQueue(state, 2);
    expect(planAccount(state, ctx).findings.map((f) => f.code)).toEqual(['DLQ_NOT_EMPTY', 'COLLECTION_STALE']);
    const unassumable = { ...healthy(), roleError: { roleArn: 'arn:aws:iam::1:role/r', message: 'denied' } };
    expect(planAccount(unassumable, ctx).findings.map((f) => f.code)).toEqual(['ROLE_UNASSUMABLE']);
  });
});
