/**
 * The reliability soak: thousands of SQS messages through the `ingest --queue-url` code path (pollQueue +
 * processSqsBatch, in process, with Lambda's partial-batch semantics) while the downstream, S3 and STS fail at
 * random, against moto with a real queue (short visibility timeout, redrive to a DLQ after maxReceiveCount).
 * At the end it counts what matters: every generated record reached the downstream at least once (unique
 * eventIDs), the DLQ holds exactly the poison messages planted, and how many duplicates there were.
 *
 *   npm run soak                          # 10,000 messages (about 4-6 minutes here)
 *   npm run soak -- --messages 1000       # smaller
 *   npm run soak -- --help
 *
 * Prints a table on stdout, progress on stderr, writes the full report to bench/out/soak-<messages>.json and
 * exits 0 only if nothing was lost and the DLQ holds exactly the planted poison. Loopback traffic only.
 *
 * The harness is testkit/soak/ (run.ts, plan.ts, queue.ts, report.ts, options.ts); this file parses the
 * command line, writes the report and sets the exit code.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_OPTIONS, type SoakOptions } from '../../testkit/soak/options';
import { formatReport } from '../../testkit/soak/report';
import { killStartedMoto, runSoak } from '../../testkit/soak/run';

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      messages: { type: 'string' },
      seed: { type: 'string' },
      pollers: { type: 'string' },
      'visibility-seconds': { type: 'string' },
      'max-receive-count': { type: 'string' },
      'batch-timeout-ms': { type: 'string' },
      'time-limit-seconds': { type: 'string' },
      'max-backlog': { type: 'string' },
      poison: { type: 'string' },
      'no-faults': { type: 'boolean' },
      out: { type: 'string' },
      quiet: { type: 'boolean' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    process.stdout.write(
      'npm run soak -- [--messages 10000] [--seed 1] [--pollers 6] [--visibility-seconds 8] [--max-receive-count 5]\n' +
        '                [--batch-timeout-ms 4000] [--max-backlog 400] [--time-limit-seconds 540] [--poison N] [--no-faults]\n' +
        '                [--out FILE] [--quiet]\n',
    );
    return 0;
  }
  const int = (name: string, value: string | undefined, fallback: number, min = 1): number => {
    if (value === undefined) return fallback;
    if (!/^\d+$/.test(value) || Number(value) < min) throw new Error(`--${name} must be a whole number >= ${min}`);
    return Number(value);
  };
  const options: SoakOptions = {
    ...DEFAULT_OPTIONS,
    messages: int('messages', values.messages, DEFAULT_OPTIONS.messages),
    seed: int('seed', values.seed, DEFAULT_OPTIONS.seed, 0),
    pollers: int('pollers', values.pollers, DEFAULT_OPTIONS.pollers),
    visibilitySeconds: int('visibility-seconds', values['visibility-seconds'], DEFAULT_OPTIONS.visibilitySeconds),
    maxReceiveCount: int('max-receive-count', values['max-receive-count'], DEFAULT_OPTIONS.maxReceiveCount),
    batchTimeoutMs: int('batch-timeout-ms', values['batch-timeout-ms'], DEFAULT_OPTIONS.batchTimeoutMs),
    timeLimitSeconds: int('time-limit-seconds', values['time-limit-seconds'], DEFAULT_OPTIONS.timeLimitSeconds),
    maxBacklog: int('max-backlog', values['max-backlog'], DEFAULT_OPTIONS.maxBacklog),
    ...(values.poison !== undefined ? { poison: int('poison', values.poison, 0, 0) } : {}),
    faults: !values['no-faults'],
    ...(values.quiet ? { quiet: true } : {}),
  };
  const report = await runSoak(options);
  const out =
    values.out ??
    path.resolve(__dirname, '..', 'out', `soak-${options.messages}${options.faults ? '' : '-nofaults'}.json`);
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
