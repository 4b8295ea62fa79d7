import { writeFile, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { ReconcileReport } from '../../lambdas/reconcile/types';
import { runCli } from '../../testkit/cli';
import { CUSTOMER, RECONCILE_TABLE, reconcileWorld } from '../../testkit/reconcile-env';

const env = { ACCOUNTS_TABLE: RECONCILE_TABLE, COLLECTOR_ACCOUNT_ID: '123456789012' };

async function eventFile(event: unknown): Promise<string> {
  const file = path.join(await mkdtemp(path.join(tmpdir(), 'ctc-')), 'event.json');
  await writeFile(file, JSON.stringify(event));
  return file;
}

describe('reconcile through the command-line tool', () => {
  test('plan, apply, a second apply, status: the section-8 report and the exit codes', async () => {
    await reconcileWorld([{ accountId: CUSTOMER }, { accountId: '444455556666', mode: 'report' }]);

    const plan = await runCli(['plan', '--account-id', CUSTOMER, '--json'], env);
    expect(plan.code).toBe(1); // findings left unrepaired: the account is empty
    const planned = JSON.parse(plan.stdout) as ReconcileReport;
    expect(planned).toMatchObject({ mode: 'plan', runAt: expect.any(String) });
    expect(planned.accounts).toHaveLength(1);
    const account = planned.accounts[0]!;
    expect(account).toMatchObject({ accountId: CUSTOMER, status: 'degraded' });
    expect(account.findings.map((f) => f.code)).toContain('TRAIL_MISSING');
    for (const finding of account.findings) {
      expect(Object.keys(finding).sort()).toEqual(['code', 'message', 'resource', 'severity']);
    }
    for (const action of account.actions) {
      expect(action).toMatchObject({
        status: 'planned',
        costImpact: { monthlyUsd: expect.any(Number), note: expect.any(String) },
      });
    }

    const apply = await runCli(['apply', '--json'], env);
    const applied = JSON.parse(apply.stdout) as ReconcileReport;
    const byId = (id: string) => applied.accounts.find((a) => a.accountId === id)!;
    expect(byId(CUSTOMER).status).toBe('repaired');
    expect(byId(CUSTOMER).actions.map((a) => a.code)).toContain('CREATE_TRAIL');
    // The report-mode account is observed and reported, never repaired.
    expect(byId('444455556666').actions.every((a) => a.status === 'skipped' || a.status === 'planned')).toBe(true);
    expect(apply.code).toBe(1);
    // Right after the repairing run, its findings are answered by applied actions: none is open.
    const afterRepair = await runCli(['status'], env);
    expect(afterRepair.stdout).toMatch(new RegExp(`${CUSTOMER}\\s+apply\\s+repaired\\s+\\S+\\s+-\\s`));

    const again = await runCli(['apply', '--account-id', CUSTOMER], env);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain(`account ${CUSTOMER}: healthy`);
    expect(again.stdout).toContain('no findings, no action');

    const status = await runCli(['status'], env);
    expect(status.stdout).toMatch(new RegExp(`${CUSTOMER}\\s+apply\\s+healthy\\s+\\d{4}-`));
    expect(status.stdout).toMatch(/444455556666\s+report\s+degraded/);
    expect(status.code).toBe(1);
  });

  test('invoke reconcile takes a scheduled event or a {mode, accountId} payload; bad ones exit 2', async () => {
    await reconcileWorld([{ accountId: CUSTOMER }]);
    const scheduled = await eventFile({
      version: '0',
      id: 'e6f1b4b2',
      'detail-type': 'Scheduled Event',
      source: 'aws.events',
      account: '123456789012',
      time: '2026-11-24T00:00:00Z',
      region: 'us-east-1',
      resources: ['arn:aws:events:us-east-1:123456789012:rule/reconcile'],
      detail: {},
    });
    const ran = await runCli(['invoke', 'reconcile', '--event', scheduled], env);
    expect(JSON.parse(ran.stdout)).toMatchObject({
      mode: 'apply',
      accounts: [{ accountId: CUSTOMER, status: 'repaired' }],
    });

    const planOnly = await runCli(
      ['invoke', 'reconcile', '--event', await eventFile({ mode: 'plan', accountId: CUSTOMER })],
      env,
    );
    expect(JSON.parse(planOnly.stdout)).toMatchObject({ mode: 'plan', accounts: [{ status: 'healthy', actions: [] }] });
    expect(planOnly.code).toBe(0);

    const badMode = await runCli(['invoke', 'reconcile', '--event', await eventFile({ mode: 'fix' })], env);
    expect(badMode.code).toBe(2);
    expect(badMode.stderr).toContain('mode must be "plan" or "apply"');
    const unknownAccount = await runCli(['plan', '--account-id', '999999999999'], env);
    expect(unknownAccount.code).toBe(2);
    expect(unknownAccount.stderr).toContain('999999999999 is not registered');
  });
});
