import { SEED_FINDING_CODES } from '../../lambdas/reconcile/types';
import { runCli } from '../../testkit/cli';

describe('the sandbox (npm start)', () => {
  test('runs the whole system on the emulator, breaks every seed row, and passes only when all held', async () => {
    const result = await runCli(['sandbox', '--files', '3']);
    expect(result.stderr).toContain('reconcile apply on the empty account');
    expect(result.stdout).toContain('PASS: every record reached the downstream exactly once and every repair held.');
    expect(result.stdout).toMatch(/records missing\s+0\n/);
    expect(result.stdout).toMatch(/repairs held\s+13 of 13/);
    for (const row of SEED_FINDING_CODES) {
      expect(result.stdout).toMatch(new RegExp(`^${row}\\s.*\\syes\\s`, 'm'));
    }
    expect(result.code).toBe(0);
  }, 180_000);

  test('refuses an unknown row with a usage error', async () => {
    const result = await runCli(['sandbox', '--rows', 'NOT_A_ROW']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('unknown --rows: NOT_A_ROW');
  });
});
