/**
 * `npm run bench:scale`: the discrete-event simulation of both ingest topologies at 10,000 accounts (bench/README.md,
 * "Ingest at 10,000 accounts"). Prints a table, writes bench/out/scale.json, and exits 1 if the hub topology
 * dead-letters a file or loses a record. `npm run bench:scale -- --help` lists the options.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { fixed, grouped, table } from '../lib';
import { checkEventQueue, seededUniform } from './event-queue';
import {
  DEFAULT_OPTIONS,
  LAMBDA_SQS,
  REGION_MIX,
  ScaleConfigError,
  SECONDS_PER_MONTH,
  buildWorkload,
  customerQueueTopology,
  hubRetrySchedule,
  hubTopology,
  type ScaleOptions,
  type TopologyConfig,
  type Workload,
} from './model';
import { SCALE_PRICES, monthlyCost, summarise, type MonthlyCost, type TopologySummary } from './report';
import { simulate } from './simulation';

const HELP = `npm run bench:scale [-- options]

Simulates both ingest topologies (hub: K collector-owned queues; customer-queue: a queue and mapping per
account) on a virtual clock: 10,000 accounts, one hot tenant with a backlog at t = 0, a downstream outage, then
runs until every queue is empty. Writes bench/out/scale.json and prints a table. Exits 1 if the hub topology
dead-letters a file or loses a record.

  --accounts N                 accounts (default ${DEFAULT_OPTIONS.accounts})
  --hot-backlog N              files in the hot tenant's queue at t = 0 (default ${DEFAULT_OPTIONS.hotBacklog})
  --outage-hours H             downstream outage, starting at 3 h (default ${DEFAULT_OPTIONS.outageHours})
  --per-file-ms MS             fixed wall time per file on one execution (default ${DEFAULT_OPTIONS.processing.perFileMs}, today's figure)
  --per-invocation-ms MS       fixed time per invocation (default ${DEFAULT_OPTIONS.processing.perInvocationMs})
  --hub-shards K               hub queues (default ${DEFAULT_OPTIONS.hubShards})
  --hub-max-concurrency N      MaximumConcurrency of each hub mapping (default ${DEFAULT_OPTIONS.hubMaximumConcurrency})
  --hub-reserved N             reserved concurrency in the hub topology (default ${DEFAULT_OPTIONS.hubReservedConcurrency})
  --hub-batch-size N           hub mappings' BatchSize (default ${DEFAULT_OPTIONS.hubBatchSize})
  --hub-batching-window S      hub mappings' MaximumBatchingWindowInSeconds (default ${DEFAULT_OPTIONS.hubBatchingWindowSeconds})
  --customer-reserved N        reserved concurrency in the customer-queue topology (default ${DEFAULT_OPTIONS.customerReservedConcurrency})
  --customer-max-concurrency N the customer-queue variant's MaximumConcurrency on every mapping (default 2, the
                               minimum; 0 = no variant)
  --only LIST                  hub, customer-queue (default both)
  --no-costs                   skip the steady-state runs at 10, 1,000 and 10,000 accounts for the cost table
  --seed N                     workload seed (default ${DEFAULT_OPTIONS.seed})
  --out FILE                   default bench/out/scale.json
  --help                       this text
`;

class UsageError extends Error {}

interface Cli {
  options: ScaleOptions;
  only: Set<string>;
  costs: boolean;
  extraCustomerMaximumConcurrency: number | undefined;
  out: string;
}

function parseCli(): Cli | undefined {
  const { values } = parseArgs({
    options: {
      accounts: { type: 'string' },
      'hot-backlog': { type: 'string' },
      'outage-hours': { type: 'string' },
      'per-file-ms': { type: 'string' },
      'per-invocation-ms': { type: 'string' },
      'hub-shards': { type: 'string' },
      'hub-max-concurrency': { type: 'string' },
      'hub-reserved': { type: 'string' },
      'hub-batch-size': { type: 'string' },
      'hub-batching-window': { type: 'string' },
      'customer-reserved': { type: 'string' },
      'customer-max-concurrency': { type: 'string' },
      only: { type: 'string' },
      'no-costs': { type: 'boolean', default: false },
      seed: { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return undefined;
  }
  const number = (name: keyof typeof values, fallback: number, min: number, integer = true): number => {
    const raw = values[name];
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!Number.isFinite(value) || value < min || (integer && !Number.isInteger(value))) {
      throw new UsageError(`--${name} must be ${integer ? 'an integer' : 'a number'} >= ${min}, got "${String(raw)}"`);
    }
    return value;
  };
  const d = DEFAULT_OPTIONS;
  const extra = values['customer-max-concurrency'];
  const only = new Set((values.only ?? 'hub,customer-queue').split(',').map((name) => name.trim()));
  for (const name of only) {
    if (name !== 'hub' && name !== 'customer-queue') throw new UsageError(`--only: unknown topology "${name}"`);
  }
  return {
    options: {
      accounts: number('accounts', d.accounts, 1),
      hotBacklog: number('hot-backlog', d.hotBacklog, 0),
      outageHours: number('outage-hours', d.outageHours, 0, false),
      hubShards: number('hub-shards', d.hubShards, 1),
      hubMaximumConcurrency: number(
        'hub-max-concurrency',
        d.hubMaximumConcurrency,
        LAMBDA_SQS.minimumMaximumConcurrency,
      ),
      hubReservedConcurrency: number('hub-reserved', d.hubReservedConcurrency, 1),
      hubBatchSize: number('hub-batch-size', d.hubBatchSize, 1),
      hubBatchingWindowSeconds: number('hub-batching-window', d.hubBatchingWindowSeconds, 0),
      customerReservedConcurrency: number('customer-reserved', d.customerReservedConcurrency, 1),
      customerMaximumConcurrency: undefined,
      processing: {
        ...d.processing,
        perFileMs: number('per-file-ms', d.processing.perFileMs, 0, false),
        perInvocationMs: number('per-invocation-ms', d.processing.perInvocationMs, 0, false),
      },
      seed: number('seed', d.seed, 0),
    },
    only,
    costs: !values['no-costs'],
    extraCustomerMaximumConcurrency:
      extra === '0' ? undefined : number('customer-max-concurrency', 2, LAMBDA_SQS.minimumMaximumConcurrency),
    out: values.out ?? join(__dirname, '..', 'out', 'scale.json'),
  };
}

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

interface Run {
  summary: TopologySummary;
  config: TopologyConfig;
}

function runTopology(config: TopologyConfig, workload: Workload, options: ScaleOptions): Run {
  const started = performance.now();
  const result = simulate(config, workload, options.processing);
  const summary = summarise(result, (performance.now() - started) / 1000);
  if (result.filesCreated !== result.filesDelivered + result.filesDeadLettered + result.filesUndelivered) {
    throw new Error(`${config.name}: files do not add up`);
  }
  // An idle mapping long-polls with at most its pollers, one request per 20 s each.
  const pollCeiling =
    config.queueCount * LAMBDA_SQS.initialBatches * (SECONDS_PER_MONTH / LAMBDA_SQS.longPollSeconds) * 1.000001;
  if (summary.customerPollingRequestsPerMonth > pollCeiling)
    throw new Error(`${config.name}: idle polls above ceiling`);
  log(
    `${config.name}: ${grouped(result.events)} events, ${fixed(summary.simulatedHours)} simulated hours, ` +
      `${fixed(summary.wallSeconds)} s`,
  );
  return { summary, config };
}

const seconds = (value: number | null) => (value === null ? '-' : fixed(value, 0));

function resultTable(runs: Run[]): string {
  return table(
    [
      'topology',
      'accounts',
      'delivered',
      'dead-lettered',
      'records lost',
      'p50 s',
      'p99 s',
      'hot p99 s',
      'others p99 s',
      'co-shard p99 s',
      'other-shard p99 s',
      'customer polls/month',
    ],
    runs.map(({ summary: s, config }) => [
      config.name,
      grouped(s.accounts),
      grouped(s.filesDelivered),
      grouped(s.filesDeadLettered),
      grouped(s.recordsLost),
      seconds(s.p50DelaySeconds),
      seconds(s.p99DelaySeconds),
      seconds(s.hotTenantP99DelaySeconds),
      seconds(s.otherTenantsP99DelaySeconds),
      seconds(s.coShardTenantsP99DelaySeconds),
      seconds(s.otherShardTenantsP99DelaySeconds),
      grouped(s.customerPollingRequestsPerMonth),
    ]),
  );
}

function costTable(costs: MonthlyCost[]): string {
  return table(
    [
      'accounts',
      'topology',
      'files/month',
      'customer SQS req/account',
      'customer $/account',
      'operator SQS req',
      'invocations',
      'GB-s',
      'operator $ (list)',
      'operator $ (after free tier)',
    ],
    costs.map((c) => [
      grouped(c.accounts),
      c.topology,
      grouped(c.filesPerMonth),
      grouped(c.customerSqsRequestsPerAccount),
      fixed(c.customerSqsUsdPerAccount, 2),
      grouped(c.operatorSqsRequests),
      grouped(c.operatorLambdaInvocations),
      grouped(c.operatorLambdaGbSeconds),
      fixed(c.operatorUsdList, 2),
      fixed(c.operatorUsdAfterFreeTier, 2),
    ]),
  );
}

function main(): number {
  const cli = parseCli();
  if (cli === undefined) return 0;
  const started = performance.now();
  checkEventQueue(seededUniform(1));
  const { options } = cli;
  const workload = buildWorkload(options, 'full');
  const configs: TopologyConfig[] = [];
  if (cli.only.has('hub')) configs.push(hubTopology(options, workload));
  if (cli.only.has('customer-queue')) {
    configs.push(customerQueueTopology(options, workload));
    if (cli.extraCustomerMaximumConcurrency !== undefined) {
      configs.push(
        customerQueueTopology(
          { ...options, customerMaximumConcurrency: cli.extraCustomerMaximumConcurrency },
          workload,
        ),
      );
    }
  }
  const runs = configs.map((config) => runTopology(config, workload, options));

  const costs: MonthlyCost[] = [];
  if (cli.costs) {
    for (const accounts of [10, 1_000, 10_000]) {
      const steadyOptions = { ...options, accounts, hotBacklog: 0 };
      const steady = buildWorkload(steadyOptions, 'steady');
      for (const config of [hubTopology(steadyOptions, steady), customerQueueTopology(steadyOptions, steady)]) {
        costs.push(monthlyCost(simulate(config, steady, options.processing)));
      }
    }
  }

  const failures: string[] = [];
  for (const { summary, config } of runs) {
    if (config.kind !== 'hub') continue;
    if (summary.filesDeadLettered !== 0) failures.push(`hub dead-lettered ${summary.filesDeadLettered} files`);
    if (summary.recordsLost !== 0) failures.push(`hub lost ${summary.recordsLost} records`);
    if (summary.throttledBatches !== 0) failures.push(`hub throttled ${summary.throttledBatches} batches`);
    if (summary.customerPollingRequestsPerMonth !== 0) failures.push('hub polled customer queues');
  }
  const wallSeconds = (performance.now() - started) / 1000;
  const report = {
    date: new Date().toISOString(),
    command: `npm run bench:scale${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
    wallSeconds: Math.round(wallSeconds * 10) / 10,
    parameters: {
      ...options,
      regionMix: REGION_MIX,
      scenario: {
        hotTenantBacklogAtSeconds: 0,
        outageStartSeconds: workload.outage.startSeconds,
        outageEndSeconds: workload.outage.endSeconds,
        arrivalsEndSeconds: workload.arrivalsEndSeconds,
        quietWindowSeconds: [workload.quietWindow.startSeconds, workload.quietWindow.endSeconds],
      },
      hubRetry: hubRetrySchedule(),
      lambdaSqs: LAMBDA_SQS,
      topologies: configs.map(({ queueOfAccount: _ignored, ...rest }) => rest),
      prices: SCALE_PRICES,
    },
    topologies: Object.fromEntries(runs.map(({ summary, config }) => [config.name, summary])),
    monthlyCosts: costs,
    selfCheckFailures: failures,
  };
  mkdirSync(dirname(cli.out), { recursive: true });
  writeFileSync(cli.out, `${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(`\n${resultTable(runs)}\n`);
  if (costs.length > 0)
    process.stdout.write(`\nPer month, steady traffic (list prices, us-east-1):\n${costTable(costs)}\n`);
  process.stdout.write(`\nWrote ${cli.out} in ${fixed(wallSeconds)} s\n`);
  for (const failure of failures) log(`SELF-CHECK FAILED: ${failure}`);
  return failures.length === 0 ? 0 : 1;
}

try {
  process.exitCode = main();
} catch (error) {
  log(
    error instanceof UsageError || error instanceof ScaleConfigError
      ? `bench:scale: ${error.message}`
      : error instanceof Error
        ? (error.stack ?? error.message)
        : String(error),
  );
  process.exitCode = 2;
}
