/**
 * One scenario of the reconcile-scale benchmark (started by run.ts), in simulated time (virtual-time.ts), over
 * the fake cloud with AWS's rate limits (world.ts). Every AWS call goes through the reconcile's real SDK clients
 * (createReconcileClients: rate limiters, adaptive retry, bounded caches); only the HTTP round trip is the fake's.
 *
 *   --mode sweep:  H3's sweep (lambdas/reconcile/sweep.ts) lists the ingest mappings once and sends one job per
 *                  account; `--workers` worker instances (the worker's reserved concurrency; each its own
 *                  process-wide clients, caches and limiters, as separate Lambda sandboxes) each run
 *                  `--concurrency` jobs at once with the worker's runJob (lambdas/reconcile/worker.ts: lease,
 *                  reconcileAccount, record, metrics). Reports the sweep's simulated time, starvation, findings.
 *   --mode worker: one worker instance alone runs every account's job (a warm sandbox that sees every account:
 *                  the worst case for its caches), to measure its peak RSS. Registry items and fake accounts
 *                  exist only while their job runs, so the process's memory is the worker's.
 *
 * Prints one JSON line (the last line of stdout).
 */
import { parseArgs } from 'node:util';
import { CADENCE_DEFAULTS } from '../../lambdas/reconcile/config';
import { createReconcileClients, type RealReconcileClients } from '../../lambdas/reconcile/clients';
import { sweep } from '../../lambdas/reconcile/sweep';
import type { AccountReport } from '../../lambdas/reconcile/types';
import { runJob, type WorkerDeps } from '../../lambdas/reconcile/worker';
import { silentLogger } from '../../lambdas/shared/logger';
import { isThrottling } from '../../lambdas/shared/rate-limiter';
import { parseReconcileJob, type ReconcileJob } from '../../lambdas/shared/reconcile-job';
import { MemoryRegistry } from '../../testkit/fake-cloud';
import { RECONCILE_SETTINGS } from '../../testkit/reconcile-fixtures';
import { MemoryJobQueue, MemoryLease } from '../../testkit/reconcile-jobs';
import { sdkTransport } from '../../testkit/sdk-transport';
import { runInVirtualTime } from './virtual-time';
import { FUNCTION_ARN, INGEST_ROLE, REGION, ScaleWorld } from './world';

export interface ScenarioResult {
  mode: 'sweep' | 'worker';
  accounts: number;
  workers: number;
  concurrency: number;
  clientCacheSize: number;
  simulatedSweepSeconds: number;
  accountsReconciled: number;
  accountsStarved: number;
  throttlingFindings: number;
  lambdaControlPlaneCalls: number;
  /** The sweep's own ListEventSourceMappings pages (sweep.ts), of lambdaControlPlaneCalls. */
  sweepListingCalls: number;
  throttledAttempts: number;
  throttledByService: Record<string, number>;
  rateLimiterDelayedCalls: number;
  callsPerAccount: number;
  assumeRoleCalls: number;
  jobFailures: number;
  statuses: Record<string, number>;
  findingCodes: Record<string, number>;
  failingAccounts: number;
  /** Per instance, at the end: clients held and evicted. */
  clientsHeld: number;
  clientEvictions: number;
  peakRssMiB: number;
  heapUsedMiB: number;
  wallSeconds: number;
  timersFired: number;
}

const START = Date.parse('2026-12-04T00:00:00.000Z');
const PERIOD_MS = CADENCE_DEFAULTS.periodSeconds * 1000;

function count(into: Record<string, number>, key: string): void {
  into[key] = (into[key] ?? 0) + 1;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      mode: { type: 'string', default: 'sweep' },
      accounts: { type: 'string', default: '1000' },
      workers: { type: 'string', default: '10' },
      concurrency: { type: 'string', default: '5' },
      'client-cache-size': { type: 'string', default: '256' },
    },
  });
  const mode = values.mode === 'worker' ? 'worker' : 'sweep';
  const accounts = Number(values.accounts);
  const workers = mode === 'worker' ? 1 : Number(values.workers);
  const concurrency = Number(values.concurrency);
  const clientCacheSize = Number(values['client-cache-size']);
  // The collector's own clients sign with keys from the environment (never IMDS: no traffic leaves the process).
  process.env.AWS_ACCESS_KEY_ID = 'AKIDBENCHCOLLECTOR';
  process.env.AWS_SECRET_ACCESS_KEY = 'bench-secret';
  process.env.AWS_EC2_METADATA_DISABLED = 'true';
  process.env.AWS_CONFIG_FILE = '/nonexistent/aws-config';
  process.env.AWS_SHARED_CREDENTIALS_FILE = '/nonexistent/aws-credentials';

  const world = new ScaleWorld({ accounts });
  const registry = new MemoryRegistry(mode === 'sweep' ? world.ids.map((id) => world.record(id)) : []);
  if (mode === 'sweep') for (const id of world.ids) world.addMapping(id);
  const lease = new MemoryLease(registry);
  const transport = sdkTransport(world.handle);
  const config = {
    ...RECONCILE_SETTINGS,
    region: REGION,
    ingestFunctionArn: FUNCTION_ARN,
    ingestRoleArn: INGEST_ROLE,
    cadence: CADENCE_DEFAULTS,
  };
  // Tallied as jobs end (nothing per account is kept but the finish time): the worker's RSS is the worker's.
  const statuses: Record<string, number> = {};
  const findingCodes: Record<string, number> = {};
  let throttlingFindings = 0;
  const tally = (report: AccountReport) => {
    count(statuses, report.status);
    for (const finding of report.findings) {
      count(findingCodes, finding.code);
      if (isThrottling(finding.message)) throttlingFindings += 1;
    }
  };
  const finishedAt = new Map<string, number>();
  let jobFailures = 0;
  let sweepListingCalls = 0;
  const instances: RealReconcileClients[] = [];
  const wallStart = process.hrtime.bigint();

  const { virtualMs, timersFired } = await runInVirtualTime(START, async () => {
    let jobs: ReconcileJob[] = [];
    let jobFor: ((index: number) => ReconcileJob) | undefined;
    if (mode === 'sweep') {
      const queue = new MemoryJobQueue();
      const sweepClients = createReconcileClients({ region: REGION, onClientBuilt: transport });
      const result = await sweep(
        {
          registry,
          queue,
          lambda: sweepClients.collector.lambda,
          config: { region: REGION, cadence: CADENCE_DEFAULTS, ingestFunctionArn: FUNCTION_ARN },
          logger: silentLogger,
        },
        { mode: 'apply', reason: 'schedule' },
      );
      sweepListingCalls = result.lambdaControlPlaneCalls;
      jobs = queue.drain().map((message) => parseReconcileJob(message.body));
    } else {
      const requestedAt = new Date().toISOString();
      // As the sweep builds them: the account's mappings from the one listing, the registry's mapping count.
      jobFor = (index: number): ReconcileJob => {
        const accountId = world.ids[index]!;
        return {
          kind: 'reconcile-account',
          accountId,
          mode: 'apply',
          reason: 'schedule',
          requestedAt,
          mappings:
            world.failureOf(accountId) === 'mapping-missing'
              ? []
              : [
                  {
                    uuid: `esm-seed-${accountId}`,
                    eventSourceArn: world.record(accountId).queueArn,
                    functionArn: FUNCTION_ARN,
                    state: 'Enabled',
                    maximumConcurrency: 2,
                  },
                ],
          context: { logArchives: [], recordedMappings: accounts },
        };
      };
    }

    let next = 0;
    const retries: ReconcileJob[] = [];
    // The worker mode builds each job when it is taken (as SQS would hold them, not this process).
    const total = jobFor === undefined ? jobs.length : accounts;
    const take = (): ReconcileJob | undefined => {
      if (next >= total) return retries.shift();
      const index = next++;
      return jobFor === undefined ? jobs[index] : jobFor(index);
    };
    async function instance(index: number): Promise<void> {
      const clients = createReconcileClients({
        region: REGION,
        clientCacheSize,
        // The collector account's Lambda and STS quotas are shared by every worker instance.
        collectorQuotaShare: 1 / workers,
        onClientBuilt: transport,
      });
      instances.push(clients);
      const deps: WorkerDeps = { clients, config, logger: silentLogger, registry, lease, publish: () => undefined };
      let invocation = 0;
      const loop = async (slot: number) => {
        for (let job = take(); job !== undefined; job = take()) {
          const accountId = job.accountId;
          if (mode === 'worker') registry.add(world.record(accountId));
          world.prepare(accountId);
          try {
            const outcome = await runJob(job, deps, {
              owner: `worker-${index}-${slot}-${invocation++}`,
              deadline: new Date(Date.now() + PERIOD_MS),
            });
            if (outcome.kind === 'reconciled') {
              tally(outcome.report);
              finishedAt.set(accountId, Date.now());
            }
          } catch {
            // SQS would redeliver it after the visibility timeout; here it goes to the back of the queue.
            jobFailures += 1;
            retries.push(job);
          } finally {
            world.finish(accountId);
            // The lease's log of attempts is for tests' assertions; here it would grow with the accounts.
            lease.attempts.length = 0;
            if (mode === 'worker') {
              registry.records.delete(accountId);
              world.removeMappings(accountId);
            }
          }
        }
      };
      await Promise.all(Array.from({ length: concurrency }, (_, slot) => loop(slot)));
    }
    await Promise.all(Array.from({ length: workers }, (_, index) => instance(index)));
  });

  const lastFinish = Math.max(START, ...finishedAt.values());
  const inTime = [...finishedAt.values()].filter((at) => at - START <= PERIOD_MS).length;
  global.gc?.();
  const stats = instances.map((c) => c.stats());
  const result: ScenarioResult = {
    mode,
    accounts,
    workers,
    concurrency,
    clientCacheSize,
    simulatedSweepSeconds: Number(((lastFinish - START) / 1000).toFixed(1)),
    accountsReconciled: finishedAt.size,
    accountsStarved: accounts - inTime,
    throttlingFindings,
    lambdaControlPlaneCalls: world.counts.lambdaControlPlaneCalls,
    sweepListingCalls,
    throttledAttempts: world.counts.throttled,
    throttledByService: world.counts.throttledByService,
    rateLimiterDelayedCalls: instances.reduce((sum, c) => sum + c.limiters.delayedCalls, 0),
    callsPerAccount: Number((world.counts.calls / accounts).toFixed(2)),
    assumeRoleCalls: stats.reduce((sum, s) => sum + s.assumeRoleCalls, 0),
    jobFailures,
    statuses,
    findingCodes,
    failingAccounts: world.failingAccounts,
    clientsHeld: Math.max(...stats.map((s) => s.clients)),
    clientEvictions: stats.reduce((sum, s) => sum + s.clientEvictions, 0),
    peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
    heapUsedMiB: Math.round(process.memoryUsage().heapUsed / 1024 / 1024),
    wallSeconds: Number((Number(process.hrtime.bigint() - wallStart) / 1e9).toFixed(1)),
    timersFired,
  };
  // The reported virtual time is the sweep's; the loop's own end (virtualMs) includes nothing else.
  void virtualMs;
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
