/**
 * Reconcile at scale: 1,000 registered healthy accounts, every AWS call answered by an in-memory fake with 50 ms
 * latency (testkit/fake-cloud.ts), one full `apply` run at the default concurrency. Reports wall
 * time, calls per account and peak memory. Run: `npm run bench:reconcile [-- --accounts N --latency MS --concurrency C]`.
 */
import { RECONCILE_SETTINGS } from '../testkit/reconcile-fixtures';
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { silentLogger } from '../lambdas/shared/logger';
import { loadReconcileConfig } from '../lambdas/reconcile/config';
import { reconcileAll } from '../lambdas/reconcile/reconcile';
import { FakeCloud, MemoryRegistry, seedHealthyAccount } from '../testkit/fake-cloud';

const FUNCTION_ARN = 'arn:aws:lambda:us-east-1:123456789012:function:cloudtrail-collector-ingest';
const INGEST_ROLE = 'arn:aws:iam::123456789012:role/cloudtrail-collector-ingest';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      accounts: { type: 'string', default: '1000' },
      latency: { type: 'string', default: '50' },
      concurrency: { type: 'string' },
    },
  });
  const accounts = Number(values.accounts);
  const latencyMs = Number(values.latency);
  // The default is the Lambda's: RECONCILE_CONCURRENCY unset.
  const concurrency = values.concurrency
    ? Number(values.concurrency)
    : loadReconcileConfig({ AWS_REGION: 'us-east-1', ACCOUNTS_TABLE: 't' }).concurrency;
  const cloud = new FakeCloud({ latencyMs });
  const ids = Array.from({ length: accounts }, (_, index) => String(100000000000 + index));
  const registry = new MemoryRegistry(
    ids.map((accountId) => {
      const chain = seedHealthyAccount(cloud, accountId, {
        ingestFunctionArn: FUNCTION_ARN,
        ingestRoleArn: INGEST_ROLE,
      });
      return { accountId, ...chain, bucketName: chain.bucket };
    }),
  );
  const started = process.hrtime.bigint();
  const report = await reconcileAll(
    registry,
    {
      clients: cloud.clients(),
      config: {
        ...RECONCILE_SETTINGS,
        ingestFunctionArn: FUNCTION_ARN,
        ingestRoleArn: INGEST_ROLE,
      },
      logger: silentLogger,
    },
    { mode: 'apply', concurrency },
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const healthy = report.accounts.filter((account) => account.status === 'healthy').length;
  const customerCalls = ids.reduce((sum, id) => sum + cloud.callsOf(id).length, 0);
  const collectorCalls = cloud.callsOf('collector').length;
  const result = {
    date: new Date().toISOString(),
    accounts,
    latencyMs,
    concurrency,
    wallSeconds: Number(seconds.toFixed(2)),
    healthyAccounts: healthy,
    customerCallsPerAccount: customerCalls / accounts,
    collectorCallsPerAccount: collectorCalls / accounts,
    peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
    target: 'under 120 s at the default concurrency; calls per healthy account no more than observe needs',
    met: seconds < 120 && healthy === accounts,
  };
  const rows = Object.entries(result).map(([key, value]) => `${key.padEnd(26)} ${String(value)}`);
  process.stdout.write(`Reconcile at scale\n${rows.join('\n')}\n`);
  const out = path.join(__dirname, 'out');
  mkdirSync(out, { recursive: true });
  writeFileSync(path.join(out, 'reconcile.json'), `${JSON.stringify(result, null, 2)}\n`);
  if (!result.met) process.exitCode = 1;
}

void main();
