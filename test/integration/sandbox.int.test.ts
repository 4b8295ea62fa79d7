import { SEED_FINDING_CODES } from '../../lambdas/reconcile/types';
import { runCli } from '../../testkit/cli';

describe('the sandbox (npm start)', () => {
  test('runs the whole system on the emulator, breaks every seed row, and passes only when all held', async () => {
    const result = await runCli(['sandbox', '--files', '3']);
    expect(result.stderr).toContain('reconcile apply on the empty account');
    expect(result.stdout).toContain('PASS: every record reached the downstream exactly once and every repair held.');
    expect(result.stdout).toMatch(/records missing\s+0\n/);
    expect(result.stdout).toMatch(/repairs held\s+14 of 14/);
    // A tamper repaired by its trigger (ingest saw the StopLogging record), with no scheduled run in between.
    expect(result.stdout).toMatch(
      /^tamper -> trigger -> repair\s+\S*TRAIL_NOT_LOGGING\S*\s+\S*START_LOGGING\S*\s+yes\s+repaired [\d.]+ s after/m,
    );
    expect(result.stderr).toContain('jobs sent by the trigger: 111122223333 trigger (StopLogging via ingest)');
    for (const row of SEED_FINDING_CODES) {
      expect(result.stdout).toMatch(new RegExp(`^${row}\\s.*\\syes\\s`, 'm'));
    }
    expect(result.code).toBe(0);
  }, 180_000);

  test('runs in the hub topology: collector queues, no customer queue, poison dead-lettered, no tenant reads another', async () => {
    const result = await runCli(['sandbox', '--files', '3', '--topology', 'hub']);
    expect(result.stderr).toContain('topology hub: 2 collector queues');
    expect(result.stdout).toContain('PASS: every record reached the downstream exactly once and every repair held.');
    expect(result.stdout).toMatch(/records missing\s+0\n/);
    expect(result.stdout).toMatch(/records duplicated\s+0\n/);
    // The raw-delivery body, the unregistered topic's envelope and the cross-tenant notification, and nothing else.
    expect(result.stdout).toMatch(/dead-letter queue depth \(planted poison\)\s+3 \(3\)/);
    expect(result.stderr).toContain(
      'dead-lettered: topic arn:aws:sns:us-east-1:999988887777:outcomestopic is not registered',
    );
    expect(result.stderr).toMatch(
      /dead-lettered: .*holds logs of account 222233334444, which is not account 111122223333/,
    );
    // Every seed row that has a subject in the hub held; the queue rows have none (no queue in the account).
    for (const row of SEED_FINDING_CODES.filter((code) => !code.startsWith('QUEUE_'))) {
      expect(result.stdout).toMatch(new RegExp(`^${row}\\s.*\\syes\\s`, 'm'));
    }
    expect(result.stderr).toContain('QUEUE_MISSING: not applicable in the hub topology');
    expect(result.stdout).toMatch(/^cross-tenant notification\s.*\syes\s/m);
    expect(result.stdout).toMatch(/repairs held\s+13 of 13/);
    expect(result.code).toBe(0);
  }, 180_000);

  test('runs against the real rsyslog over RELP with TLS (--sink syslog): every record read back once', async () => {
    const result = await runCli([
      'sandbox',
      '--files',
      '3',
      '--rows',
      'TOPIC_MISSING,QUEUE_MISSING',
      '--sink',
      'syslog',
    ]);
    expect(result.stderr).toContain('rsyslog (real, RELP over TLS) relp+tls://localhost:');
    expect(result.stdout).toContain('PASS: every record reached the downstream exactly once and every repair held.');
    expect(result.stdout).toMatch(/records missing\s+0\n/);
    expect(result.stdout).toMatch(/records duplicated\s+0\n/);
    const written = /records written to S3\s+(\d+)/.exec(result.stdout)?.[1];
    expect(result.stdout).toMatch(new RegExp(`syslog messages written by rsyslog\\s+${written}\\n`));
    expect(result.code).toBe(0);
  }, 180_000);

  test('refuses an unknown sink or topology with a usage error', async () => {
    const sink = await runCli(['sandbox', '--sink', 'carrier-pigeon']);
    expect(sink.code).toBe(2);
    expect(sink.stderr).toContain('unknown sink "carrier-pigeon" for the sandbox (known: ndjson, syslog)');
    const result = await runCli(['sandbox', '--topology', 'mesh']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('unknown topology "mesh" (known: hub, customer-queue)');
  });

  test('refuses an unknown row with a usage error', async () => {
    const result = await runCli(['sandbox', '--rows', 'NOT_A_ROW']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('unknown --rows: NOT_A_ROW');
  });
});
