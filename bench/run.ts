/**
 * `npm run bench`: the benchmarks of bench/README.md. Generates the inputs once (bench/out/inputs), runs every
 * measurement in a fresh child process, prints the tables and writes them as JSON and Markdown to bench/out.
 * `npm run bench -- --help` lists the options.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';
import { renderE2e, runE2e, type E2eSummary } from './e2e';
import { EXPERIMENTS } from './experiments';
import { filesTargets, measureFiles, renderFiles, type FilesSummary } from './files';
import {
  ingestTable,
  ingestTargets,
  inputsLine,
  measureIngest,
  ratioTable,
  stageTable,
  type InputSummary,
  type Target,
} from './ingest';
import { BENCH_DIR, OUT_DIR, ensureInput, type InputName } from './inputs';
import { DIST_DIR, fixed, machineInfo, table, type Machine } from './lib';
import { profileTable } from './profile';
import { measureSinks, renderSinks, type SinkRow } from './sinks';

const GROUPS = [
  'files',
  'ingest-files',
  'ingest-small',
  'ingest-100mb',
  'ingest-1gib',
  'e2e',
  'sinks',
  'reconcile',
] as const;
type Group = (typeof GROUPS)[number];
const INGEST_GROUPS: Record<Exclude<Group, 'files' | 'e2e' | 'sinks' | 'reconcile'>, InputName> = {
  'ingest-files': 'files',
  'ingest-small': 'small',
  'ingest-100mb': '100mb',
  'ingest-1gib': '1gib',
};

const HELP = `npm run bench [-- options]

Runs the per-file benchmark (files per second of one concurrent execution of the ingest Lambda on 2,000
files of 1-50 KB, with loopback S3 and downstream), the ingest benchmarks (the ingest core against gunzip,
gunzip + gzip -1 and a naive JSON.parse implementation, on many small files and on 100 MB and 1 GiB files)
the end-to-end benchmark (the \`ingest --queue-url\` poller against moto and a local receiver) and one row per
sink type (records per second and bytes sent, each against its local receiver: bench/sinks.ts). Prints the tables, writes them to
bench/out/results.json, bench/out/results.md and bench/out/results-<time>.json.

  --only LIST        comma-separated subset of: ${GROUPS.join(', ')} (default: all)
  --quick            one run of each, 200 files, 100 small files, no 1 GiB file, 60 end-to-end messages,
                     200 reconcile accounts
  --runs N           runs per measurement (default 5 for 100mb, 3 otherwise; naive at most 3, 1 on 1 GiB)
  --cpu-prof         also write a V8 CPU profile of one extra run of the core per input to bench/out/profiles
  --experiment NAME  also measure the core with a proposed change applied: ${EXPERIMENTS.join(', ')},
                     or several joined with + (repeat the option for more variants)
  --concurrency N    small files: also measure core and floor with N objects in flight (MESSAGE_CONCURRENCY)
  --latency S3,HTTP  files: also measure with S3 answering GetObject S3 ms later and the intake HTTP ms later,
                     at the defaults and at the old ones (MESSAGE_CONCURRENCY 4, batches of 10) (e.g. --latency 20,20)
  --baseline DIR     also measure, in the same rounds, the code of another checkout DIR (e.g. a clone of the
                     code before a change, with this bench/ copied in): files, and the core of the ingest groups
  --help             this text
`;

interface Options {
  groups: Group[];
  quick: boolean;
  runs?: number;
  cpuProf: boolean;
  experiments: string[];
  concurrency?: number;
  baseline?: string;
  latency?: { getObjectMs: number; downstreamMs: number };
}

class UsageError extends Error {}

function parseOptions(): Options | undefined {
  const { values } = parseArgs({
    options: {
      only: { type: 'string' },
      quick: { type: 'boolean', default: false },
      runs: { type: 'string' },
      'cpu-prof': { type: 'boolean', default: false },
      experiment: { type: 'string', multiple: true },
      concurrency: { type: 'string' },
      baseline: { type: 'string' },
      latency: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return undefined;
  }
  let groups = values.only ? values.only.split(',').map((group) => group.trim()) : [...GROUPS];
  for (const group of groups) {
    if (!(GROUPS as readonly string[]).includes(group)) throw new UsageError(`--only: unknown group "${group}"`);
  }
  // --quick leaves the 1 GiB file out unless asked for by name.
  if (values.quick && values.only === undefined) groups = groups.filter((group) => group !== 'ingest-1gib');
  const runs = values.runs === undefined ? undefined : Number(values.runs);
  if (runs !== undefined && !(Number.isInteger(runs) && runs >= 1)) throw new UsageError('--runs must be >= 1');
  const experiments = values.experiment ?? [];
  for (const name of experiments.flatMap((spec) => spec.split('+'))) {
    if (!(EXPERIMENTS as readonly string[]).includes(name)) {
      throw new UsageError(`--experiment: unknown "${name}" (known: ${EXPERIMENTS.join(', ')})`);
    }
  }
  const concurrency = values.concurrency === undefined ? undefined : Number(values.concurrency);
  if (concurrency !== undefined && !(Number.isInteger(concurrency) && concurrency >= 2)) {
    throw new UsageError('--concurrency must be an integer >= 2');
  }
  const baseline = values.baseline === undefined ? undefined : resolve(values.baseline);
  if (baseline !== undefined && !existsSync(join(baseline, 'bench', 'files-child.ts'))) {
    throw new UsageError(`--baseline: ${baseline}/bench/files-child.ts not found (copy this bench/ there first)`);
  }
  let latency: Options['latency'];
  if (values.latency !== undefined) {
    const [getObjectMs, downstreamMs] = values.latency.split(',').map(Number);
    if (!(Number.isInteger(getObjectMs) && Number.isInteger(downstreamMs) && getObjectMs! >= 0 && downstreamMs! >= 0)) {
      throw new UsageError('--latency must be two integers of milliseconds, S3 and downstream: e.g. 20,20');
    }
    latency = { getObjectMs: getObjectMs!, downstreamMs: downstreamMs! };
  }
  return {
    groups: groups as Group[],
    ...(baseline !== undefined ? { baseline } : {}),
    ...(latency !== undefined ? { latency } : {}),
    quick: values.quick,
    ...(runs !== undefined ? { runs } : {}),
    cpuProf: values['cpu-prof'],
    experiments,
    ...(concurrency !== undefined ? { concurrency } : {}),
  };
}

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

/** Where --baseline's children are built. */
const BASELINE_DIST_DIR = join(OUT_DIR, 'dist-baseline');

/** Children run bundled (esbuild, as the Lambda is deployed), with no TypeScript loader in the measured process. */
async function bundle(baseline: string | undefined): Promise<void> {
  const children = ['ingest-child', 'e2e-child', 'files-child'];
  const common = {
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    sourcemap: true,
    logLevel: 'warning',
  } as const;
  await build({ ...common, entryPoints: children.map((name) => join(BENCH_DIR, `${name}.ts`)), outdir: DIST_DIR });
  if (baseline !== undefined) {
    await build({
      ...common,
      entryPoints: ['ingest-child', 'files-child'].map((name) => join(baseline, 'bench', `${name}.ts`)),
      outdir: BASELINE_DIST_DIR,
    });
  }
}

interface Results {
  date: string;
  command: string;
  machine: Machine;
  options: Options;
  files?: FilesSummary;
  ingest: InputSummary[];
  e2e?: E2eSummary;
  sinks?: SinkRow[];
  targets: Target[];
  durationSeconds: number;
}

function machineLine(m: Machine): string {
  return (
    `${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB} GiB RAM, ${m.hypervisor}; Node ${m.node} (V8 ${m.v8}, ` +
    `zlib ${m.zlib}); ${m.os}; load average at start ${m.loadAverageAtStart.join(' ')}`
  );
}

function targetTable(targets: Target[], markdown: boolean): string {
  return table(
    ['target', 'measured', 'result'],
    targets.map((t) => [t.target, t.measured, t.met === undefined ? 'not run' : t.met ? 'met' : 'MISSED']),
    markdown,
  );
}

function render(results: Results, markdown: boolean): string {
  const h = (text: string) => (markdown ? `\n#### ${text}\n\n` : `\n${text}\n`);
  const parts: string[] = [];
  parts.push(
    markdown
      ? `Measured ${results.date} with \`${results.command}\` (${fixed(results.durationSeconds, 0)} s) on: ` +
          `${machineLine(results.machine)}.`
      : `Machine: ${machineLine(results.machine)}\nDate: ${results.date} (${fixed(results.durationSeconds, 0)} s)`,
  );
  if (results.files) {
    parts.push(
      h('Per concurrent execution: the ingest handler on small files, files per second') +
        renderFiles(results.files, markdown),
    );
  }
  if (results.ingest.length > 0) {
    parts.push(h('Ingest: MB/s of uncompressed input, median of the runs') + ingestTable(results.ingest, markdown));
    parts.push(`${markdown ? '\n' : ''}Inputs: ${inputsLine(results.ingest)}.`);
    parts.push(h('Ratios: median of per-round ratios') + ratioTable(results.ingest, markdown));
    if (results.ingest.some((s) => s.variants.some((v) => v.kind === 'stage'))) {
      parts.push(
        h('Where the core spends its CPU, stage by stage (median CPU time)') + stageTable(results.ingest, markdown),
      );
    }
  }
  for (const summary of results.ingest) {
    if (!summary.profile) continue;
    parts.push(
      h(`CPU profile of the core on ${summary.input} (main thread; ${summary.profile.path})`) +
        profileTable(summary.profile.rows, markdown),
    );
  }
  if (results.e2e) {
    parts.push(
      h('End to end: `ingest --queue-url` against moto and a local receiver') + renderE2e(results.e2e, markdown),
    );
  }
  if (results.sinks) {
    parts.push(
      h('Sinks: one log file through each sink type, against its local receiver (bench/sinks.ts)') +
        renderSinks(results.sinks, markdown),
    );
  }
  parts.push(h('Targets') + targetTable(results.targets, markdown));
  return `${parts.join('\n')}\n`;
}

async function main(): Promise<number> {
  let options: Options | undefined;
  try {
    options = parseOptions();
  } catch (error) {
    if (error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      log(`${(error as Error).message}\n\n${HELP}`);
      return 2;
    }
    throw error;
  }
  if (!options) return 0;
  const started = Date.now();
  const machine = machineInfo();
  log(`machine: ${machineLine(machine)}`);
  mkdirSync(OUT_DIR, { recursive: true });
  await bundle(options.baseline);

  let files: FilesSummary | undefined;
  if (options.groups.includes('files')) {
    const manifest = await ensureInput('files', log);
    log('files: measuring');
    files = await measureFiles(manifest, {
      quick: options.quick,
      ...(options.runs !== undefined ? { runs: options.runs } : {}),
      cpuProf: options.cpuProf,
      ...(options.baseline !== undefined ? { baselineDist: BASELINE_DIST_DIR } : {}),
      ...(options.latency !== undefined ? { latency: options.latency } : {}),
      log,
    });
  }
  const ingest: InputSummary[] = [];
  for (const group of options.groups) {
    if (group === 'files' || group === 'e2e' || group === 'sinks' || group === 'reconcile') continue;
    const manifest = await ensureInput(INGEST_GROUPS[group], log);
    log(`${group}: measuring`);
    ingest.push(
      await measureIngest(manifest, {
        ...options,
        ...(options.baseline !== undefined ? { baselineDist: BASELINE_DIST_DIR } : {}),
        log,
      }),
    );
  }
  let e2e: E2eSummary | undefined;
  if (options.groups.includes('e2e')) {
    const small = await ensureInput('small', log);
    log('e2e: measuring');
    e2e = await runE2e({ quick: options.quick, runs: options.quick ? 1 : (options.runs ?? 3), small, log });
  }

  let sinks: SinkRow[] | undefined;
  if (options.groups.includes('sinks')) {
    log('sinks: measuring');
    sinks = await measureSinks({ quick: options.quick, runs: options.quick ? 1 : (options.runs ?? 3), log });
  }

  const results: Results = {
    date: new Date().toISOString(),
    command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
    machine,
    options,
    ...(files ? { files } : {}),
    ingest,
    ...(e2e ? { e2e } : {}),
    ...(sinks ? { sinks } : {}),
    targets: [...(files ? filesTargets(files) : []), ...ingestTargets(ingest)],
    durationSeconds: (Date.now() - started) / 1000,
  };
  process.stdout.write(render(results, false));
  const json = JSON.stringify(results, null, 2);
  const stamp = results.date.replace(/[:.]/g, '-');
  writeFileSync(join(OUT_DIR, 'results.json'), json);
  writeFileSync(join(OUT_DIR, `results-${stamp}.json`), json);
  writeFileSync(join(OUT_DIR, 'results.md'), render(results, true));
  log(`\nwritten: bench/out/results.json, bench/out/results-${stamp}.json, bench/out/results.md`);
  return options.groups.includes('reconcile') ? runReconcileBench(options.quick) : 0;
}

/** The reconcile benchmark (bench/reconcile.ts) in its own process, so its peak RSS is its own. */
function runReconcileBench(quick: boolean): number {
  log('reconcile: measuring');
  const child = spawnSync(
    process.execPath,
    ['--import', 'tsx', join(BENCH_DIR, 'reconcile.ts'), ...(quick ? ['--accounts', '200'] : [])],
    { stdio: 'inherit' },
  );
  return child.status ?? 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    log(error instanceof Error ? (error.stack ?? error.message) : String(error));
    process.exit(1);
  },
);
