/**
 * The reliability soak: thousands of SQS messages through the `ingest --queue-url` code path (pollQueue +
 * processSqsBatch, in process, with Lambda's partial-batch semantics) while the downstream, S3 and STS fail at
 * random and the downstream goes down for 30 minutes, against moto with real queues. At the end it counts what
 * matters: every generated record reached the downstream at least once (unique eventIDs), the DLQs hold exactly
 * the poison messages planted, and how many duplicates there were.
 *
 *   npm run soak                                    # hub, 10,000 messages, a real 30-minute outage (about an hour)
 *   npm run soak -- --time-scale 10                 # the same outage and schedule, ten times faster (see below)
 *   npm run soak -- --topology customer-queue       # the seed's queue per customer, no long outage (7-8 minutes)
 *   npm run soak -- --messages 1000 --outage-minutes 5
 *   npm run soak -- --help
 *
 * Prints a table on stdout, progress on stderr, writes the full report to
 * bench/out/soak-<topology>-<messages>.json and exits 0 only if nothing was lost, the DLQs hold exactly the
 * planted poison, and every collected file has its ledger item with the SHA-256 and record count of its bytes
 * (unless a ledger write failed, LedgerWriteFailed; testkit/soak/ledger.ts, which also prices the ledger's writes).
 * Loopback traffic only.
 *
 * The harness is testkit/soak/ (run.ts, world.ts, plan.ts, queue.ts, outages.ts, schedule.ts, observe.ts,
 * report.ts, format.ts, options.ts); this file parses the command line, writes the report and sets the exit code.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { isIngestTopology, type IngestTopology } from '../../lambdas/shared/topology';
import { defaultOptions, resolveOptions, type OutageStart, type SoakOptions } from '../../testkit/soak/options';
import { formatReport } from '../../testkit/soak/format';
import { killStartedMoto, runSoak } from '../../testkit/soak/run';

const HELP = `npm run soak -- [options]

  --topology hub|customer-queue   default hub: the collector's hub queues, SNS envelopes, poison to the hub DLQ at once
  --shards N                      hub queues (default 8)
  --tenants N                     registered tenants, 1 to 4 (default 2 on hub, 1 on customer-queue)
  --messages N                    default 10000
  --outage-minutes N              the long downstream outage (default 30 on hub, 0 on customer-queue; 0: none)
  --outage-start P%|Ns            when it starts: once P% of the messages are acknowledged, or N s into the run
                                  (default 10%)
  --time-scale N                  1 (default): real time. N: the outage lasts outage-minutes / N and the hub retry
                                  schedule and the circuit breaker's window and open times are divided by N
  --seed N --pollers N --visibility-seconds N --max-receive-count N --batch-timeout-ms N
  --max-backlog N --max-queued N --time-limit-seconds N --poison N --no-faults --out FILE --quiet
`;

function parseOutageStart(value: string): OutageStart {
  const match = /^(\d+(?:\.\d+)?)(%|s)$/.exec(value);
  if (!match) throw new Error(`--outage-start must be a percentage (10%) or seconds (90s), got "${value}"`);
  return match[2] === '%' ? { percentDone: Number(match[1]) } : { afterSeconds: Number(match[1]) };
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      topology: { type: 'string' },
      shards: { type: 'string' },
      tenants: { type: 'string' },
      messages: { type: 'string' },
      seed: { type: 'string' },
      pollers: { type: 'string' },
      'visibility-seconds': { type: 'string' },
      'max-receive-count': { type: 'string' },
      'batch-timeout-ms': { type: 'string' },
      'time-limit-seconds': { type: 'string' },
      'max-backlog': { type: 'string' },
      'max-queued': { type: 'string' },
      'outage-minutes': { type: 'string' },
      'outage-start': { type: 'string' },
      'time-scale': { type: 'string' },
      poison: { type: 'string' },
      'no-faults': { type: 'boolean' },
      out: { type: 'string' },
      quiet: { type: 'boolean' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const topology: IngestTopology = values.topology === undefined ? 'hub' : (values.topology as IngestTopology);
  if (!isIngestTopology(topology))
    throw new Error(`--topology must be hub or customer-queue, got "${values.topology}"`);
  const d = defaultOptions(topology);
  const int = (name: string, value: string | undefined, fallback: number, min = 1): number => {
    if (value === undefined) return fallback;
    if (!/^\d+$/.test(value) || Number(value) < min) throw new Error(`--${name} must be a whole number >= ${min}`);
    return Number(value);
  };
  const options: SoakOptions = resolveOptions({
    topology,
    shards: int('shards', values.shards, d.shards),
    tenants: int('tenants', values.tenants, d.tenants),
    messages: int('messages', values.messages, d.messages),
    seed: int('seed', values.seed, d.seed, 0),
    pollers: int('pollers', values.pollers, d.pollers),
    visibilitySeconds: int('visibility-seconds', values['visibility-seconds'], d.visibilitySeconds),
    maxReceiveCount: int('max-receive-count', values['max-receive-count'], d.maxReceiveCount),
    batchTimeoutMs: int('batch-timeout-ms', values['batch-timeout-ms'], d.batchTimeoutMs),
    maxBacklog: int('max-backlog', values['max-backlog'], d.maxBacklog),
    maxQueued: int(
      'max-queued',
      values['max-queued'],
      Math.max(d.maxQueued, 2 * int('max-backlog', values['max-backlog'], d.maxBacklog)),
    ),
    outageMinutes: int('outage-minutes', values['outage-minutes'], d.outageMinutes, 0),
    outageStart: values['outage-start'] === undefined ? d.outageStart : parseOutageStart(values['outage-start']),
    timeScale: int('time-scale', values['time-scale'], d.timeScale),
    timeLimitSeconds: int('time-limit-seconds', values['time-limit-seconds'], 0, 0),
    ...(values.poison !== undefined ? { poison: int('poison', values.poison, 0, 0) } : {}),
    faults: !values['no-faults'],
    ...(values.quiet ? { quiet: true } : {}),
  });
  const report = await runSoak(options);
  const out =
    values.out ??
    path.resolve(
      __dirname,
      '..',
      'out',
      `soak-${options.topology}-${options.messages}${options.faults ? '' : '-nofaults'}.json`,
    );
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(`${formatReport(report)}\n\nreport: ${path.relative(process.cwd(), out)}\n`);
  return report.ok ? 0 : 1;
}

if (require.main === module) {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      killStartedMoto();
      process.exit(130);
    });
  }
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`soak failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exit(2);
    },
  );
}
