import { RECONCILE_SETTINGS } from '../../testkit/reconcile-fixtures';
import { silentLogger } from '../../lambdas/shared/logger';
import { reconcileAll } from '../../lambdas/reconcile/reconcile';
import type { AccountReport } from '../../lambdas/reconcile/types';
import { FakeCloud, MemoryRegistry } from '../../testkit/fake-cloud';

/**
 * Reconcile under account faults: one role cannot be assumed, one account times out, one answers throttling.
 * The healthy accounts around them are still repaired, and the three are reported, with nothing created on
 * what could not be observed.
 */
describe('reconcile with faulty accounts', () => {
  const [OK1, UNASSUMABLE, TIMEOUT, THROTTLED, OK2] = [
    '111111111111',
    '222222222222',
    '333333333333',
    '444444444444',
    '555555555555',
  ];

  test('the others are repaired; the three are reported and left untouched', async () => {
    const cloud = new FakeCloud();
    cloud.unassumable.add(UNASSUMABLE);
    for (const command of ['DescribeTrails', 'GetQueueUrl']) {
      cloud.fail(TIMEOUT, command, { name: 'TimeoutError', message: 'socket timed out after 5000 ms' });
      cloud.fail(THROTTLED, command, { name: 'ThrottlingException', status: 400, message: 'Rate exceeded' });
    }
    const registry = new MemoryRegistry(
      [OK1, UNASSUMABLE, TIMEOUT, THROTTLED, OK2].map((accountId) => ({ accountId })),
    );
    const report = await reconcileAll(
      registry,
      {
        clients: cloud.clients(),
        config: RECONCILE_SETTINGS,
        logger: silentLogger,
        randomSuffix: () => 'a1b2c3d4',
      },
      { mode: 'apply', concurrency: 3 },
    );
    const byId = (id: string) => report.accounts.find((account) => account.accountId === id)!;
    const codes = (account: AccountReport) => account.findings.map((finding) => finding.code);

    for (const id of [OK1, OK2]) {
      expect(byId(id).status).toBe('repaired');
      expect(byId(id).actions.map((action) => action.code)).toContain('CREATE_TRAIL');
    }
    expect(byId(UNASSUMABLE)).toMatchObject({ status: 'error', actions: [] });
    expect(codes(byId(UNASSUMABLE))).toEqual(['ROLE_UNASSUMABLE']);
    for (const [id, error] of [
      [TIMEOUT, 'TimeoutError'],
      [THROTTLED, 'ThrottlingException'],
    ] as const) {
      const account = byId(id);
      expect(account.status).toBe('error');
      expect(codes(account)).toContain('OBSERVE_INCOMPLETE');
      expect(account.findings.map((finding) => finding.message).join(' ')).toContain(error);
      // Unknown is never read as absent: no trail, queue or anything else is created there.
      expect(account.actions).toEqual([]);
      expect(cloud.callsOf(id).some((call) => /^(Create|Put|Set|Update|Subscribe|Start)/.test(call))).toBe(false);
    }
    expect(registry.get(TIMEOUT).status).toBe('error');
  });
});
