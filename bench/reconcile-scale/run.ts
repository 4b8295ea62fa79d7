/**
 * The reconcile at 10,000 accounts (issue 14, "Must show" 1): `npm run bench:reconcile-scale`.
 *
 * For 1,000 and 10,000 accounts, two child processes (child.ts), two at a time:
 * - `sweep`: H3's sweep and worker over the fake cloud with AWS's rate limits (world.ts), `--workers` worker
 *   instances x `--concurrency` jobs each, in simulated time: the sweep's simulated seconds, accounts reconciled
 *   within one 15-minute period, throttling findings (must be 0), Lambda control-plane calls per sweep;
 * - `worker`: one worker instance that reconciles every account in turn, with real SDK clients in its bounded
 *   caches: its peak RSS, which must stay flat from 1,000 to 10,000 accounts.
 * Plus, for contrast, the worker at 1,000 accounts with caches too large to evict (the old unbounded Map).
 *
 * Simulated time: every wait in the child (latency, limiter waits, SDK retry backoff) is on one virtual clock
 * (virtual-time.ts); `simulatedSweepSeconds` is from the sweep's start to the last job's end on that clock. CPU
 * is real: the wall time of a child is its CPU for the SDK's middleware (serialization, SigV4 signing, retries)
 * and the reconcile's own work, not the simulated waits.
 *
 * Writes bench/out/reconcile-scale.json; exits 1 when a target is missed.
 *   npm run bench:reconcile-scale [-- --accounts 1000,10000 --workers 10 --concurrency 5]
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import type { ScenarioResult } from './child';

interface Run {
  name: string;
  args: string[];
  env?: Record<string, string>;
}

function runChild(run: Run): Promise<ScenarioResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--expose-gc', '--import', 'tsx', path.join(__dirname, 'child.ts'), ...run.args],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...run.env } },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => {
      if (stderr.length < 64 * 1024) stderr += chunk.toString();
    });
    child.on('close', (code) => {
      const line = stdout.trim().split('\n').pop() ?? '';
      if (code !== 0 || !line.startsWith('{')) {
        reject(new Error(`${run.name}: exit ${code}\n${stderr.slice(-4000)}`));
        return;
      }
      process.stdout.write(`  done: ${run.name}\n`);
      resolve(JSON.parse(line) as ScenarioResult);
    });
  });
}

/** At most `limit` children at once (2 cores). */
async function all(runs: Run[], limit: number): Promise<Map<string, ScenarioResult>> {
  const results = new Map<string, ScenarioResult>();
  let next = 0;
  async function lane(): Promise<void> {
    while (next < runs.length) {
      const run = runs[next++]!;
      results.set(run.name, await runChild(run));
    }
  }
  await Promise.all(Array.from({ length: limit }, () => lane()));
  return results;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      accounts: { type: 'string', default: '1000,10000' },
      workers: { type: 'string', default: '10' },
      concurrency: { type: 'string', default: '5' },
      parallel: { type: 'string', default: '2' },
    },
  });
  const sizes = values.accounts.split(',').map(Number);
  const started = process.hrtime.bigint();
  const runs: Run[] = [];
  // Largest first: the two long runs share the two cores, the short ones fill in after.
  for (const n of [...sizes].sort((a, b) => b - a)) {
    runs.push({
      name: `sweep-${n}`,
      args: [
        '--mode',
        'sweep',
        '--accounts',
        String(n),
        '--workers',
        values.workers,
        '--concurrency',
        values.concurrency,
      ],
    });
    runs.push({ name: `worker-${n}`, args: ['--mode', 'worker', '--accounts', String(n), '--concurrency', '10'] });
  }
  const smallest = Math.min(...sizes);
  runs.push({
    name: `worker-${smallest}-unbounded`,
    args: ['--mode', 'worker', '--accounts', String(smallest), '--concurrency', '10', '--client-cache-size', '100000'],
    env: { RECONCILE_CREDENTIAL_CACHE_SIZE: '100000' },
  });
  process.stdout.write(`Reconcile at scale: ${runs.length} runs, ${values.parallel} at a time\n`);
  const results = await all(runs, Number(values.parallel));

  const scenarios = sizes.map((n) => {
    const s = results.get(`sweep-${n}`)!;
    const w = results.get(`worker-${n}`)!;
    return {
      accounts: n,
      simulatedSweepSeconds: s.simulatedSweepSeconds,
      accountsReconciled: s.accountsReconciled,
      accountsStarved: s.accountsStarved,
      throttlingFindings: s.throttlingFindings + w.throttlingFindings,
      lambdaControlPlaneCalls: s.lambdaControlPlaneCalls,
      peakRssMiB: w.peakRssMiB,
      detail: {
        workerInstances: s.workers,
        jobsPerInstance: s.concurrency,
        sweepListingCalls: s.sweepListingCalls,
        throttledAttemptsRetried: s.throttledAttempts,
        throttledByService: s.throttledByService,
        rateLimiterDelayedCalls: s.rateLimiterDelayedCalls,
        callsPerAccount: s.callsPerAccount,
        jobFailures: s.jobFailures,
        failingAccounts: s.failingAccounts,
        statuses: s.statuses,
        findingCodes: s.findingCodes,
        sweepWallSeconds: s.wallSeconds,
        simulationPeakRssMiB: s.peakRssMiB,
        worker: {
          simulatedSeconds: w.simulatedSweepSeconds,
          accountsReconciled: w.accountsReconciled,
          clientCacheSize: w.clientCacheSize,
          clientsHeld: w.clientsHeld,
          clientEvictions: w.clientEvictions,
          heapUsedAfterGcMiB: w.heapUsedMiB,
          wallSeconds: w.wallSeconds,
        },
      },
    };
  });
  const unbounded = results.get(`worker-${smallest}-unbounded`)!;
  const largest = scenarios[scenarios.length - 1]!;
  const first = scenarios[0]!;
  const checks = {
    everyAccountWithinOnePeriod: scenarios.every((s) => s.accountsStarved === 0 && s.accountsReconciled === s.accounts),
    noThrottlingFinding: scenarios.every((s) => s.throttlingFindings === 0),
    // Flat: within 15% (and 40 MiB) from the smallest to the largest; unbounded caches grow ~80 KiB an account.
    peakRssFlat:
      largest.peakRssMiB <= Math.max(first.peakRssMiB * 1.15, first.peakRssMiB + 40) &&
      scenarios.every((s) => s.detail.worker.clientsHeld <= s.detail.worker.clientCacheSize),
  };
  const output = {
    date: new Date().toISOString(),
    wallSeconds: Number((Number(process.hrtime.bigint() - started) / 1e9).toFixed(1)),
    scenarios,
    unboundedCachesContrast: {
      accounts: unbounded.accounts,
      peakRssMiB: unbounded.peakRssMiB,
      clientsHeld: unbounded.clientsHeld,
      heapUsedAfterGcMiB: unbounded.heapUsedMiB,
    },
    checks,
    met: Object.values(checks).every(Boolean),
  };
  const rows = scenarios.map(
    (s) =>
      `${String(s.accounts).padStart(6)} accounts: sweep ${s.simulatedSweepSeconds} s simulated, ` +
      `${s.accountsReconciled} reconciled, ${s.accountsStarved} starved, ${s.throttlingFindings} throttling findings, ` +
      `${s.lambdaControlPlaneCalls} Lambda control-plane calls, worker peak RSS ${s.peakRssMiB} MiB ` +
      `(${s.detail.throttledAttemptsRetried} throttled attempts retried)`,
  );
  process.stdout.write(
    `${rows.join('\n')}\n  unbounded caches at ${unbounded.accounts}: peak RSS ${unbounded.peakRssMiB} MiB, ` +
      `${unbounded.clientsHeld} clients held\n  checks ${JSON.stringify(checks)}; ${output.wallSeconds} s wall\n`,
  );
  const out = path.join(__dirname, '..', 'out');
  mkdirSync(out, { recursive: true });
  writeFileSync(path.join(out, 'reconcile-scale.json'), `${JSON.stringify(output, null, 2)}\n`);
  if (!output.met) process.exitCode = 1;
}

void main();
