/**
 * The per-file benchmark, runner side: files per second of one concurrent execution of the ingest Lambda on
 * 2,000 small CloudTrail files (the `files` input), and where each file's CPU goes. The measured process
 * (bench/files-child.ts) runs the Lambda's handler; the loopback S3/STS/DynamoDB and the downstream receiver run
 * here (bench/loopback.ts), so that their CPU is not the execution's. With `--baseline DIR`, the same child
 * built from another tree (a clone of the code before a change) runs in the same rounds, alternating.
 */
import { mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { FilesChildResult, FilesPass } from './files-child';
import { BUCKET, COLLECTOR_ACCOUNT, REGION, TABLE, TENANT, TOKEN, fileKey, tenantRecord } from './files-world';
import { INPUT_DIR, OUT_DIR, type InputManifest } from './inputs';
import { MiB, fixed, grouped, median, runChild, table } from './lib';
import { CountingReceiver, LoopbackAws } from './loopback';
import type { Target } from './ingest';
import { HUB_BATCHING } from '../lib/hub-queues.construct';
import { profileTable, summarizeProfile, type ProfileRow } from './profile';

/** Lambda gives a function CPU in proportion to its memory, one vCPU at 1,769 MB ("Configure Lambda function
 * memory", AWS Lambda Developer Guide); the ingest function has 1,024 MB (lib/config.ts). */
export const LAMBDA_VCPU_AT_1024_MB = 1024 / 1769;

export interface FilesOptions {
  quick: boolean;
  runs?: number;
  cpuProf: boolean;
  /** Another tree with the same bench/files-child.ts, built into `baselineDist`. */
  baselineDist?: string;
  /** Also measure with S3 and the downstream this slow (first byte, response), at two message concurrencies. */
  latency?: { getObjectMs: number; downstreamMs: number };
  log: (line: string) => void;
}

interface Plan {
  label: string;
  /** `baseline`: the child built from --baseline. */
  tree: 'current' | 'baseline';
  env: NodeJS.ProcessEnv;
  latency?: { getObjectMs: number; downstreamMs: number };
  /** Messages per invocation; default: the tree's own hub batch (current: HUB_BATCHING, baseline: 10). */
  batchSize?: number;
}

/** The hub mapping's batch in the code before the small-file change of issue 13 (commit 7dde8fc). */
const BASELINE_BATCH_SIZE = 10;

function batchSizeOf(plan: Plan): number {
  return plan.batchSize ?? (plan.tree === 'current' ? HUB_BATCHING.batchSize : BASELINE_BATCH_SIZE);
}

/** The defaults before issue 13's small-file change: 4 messages in flight, invocations of 10. */
const OLD_DEFAULTS = { env: { MESSAGE_CONCURRENCY: '4' }, batchSize: 10 } as const;

interface FilesRun {
  label: string;
  round: number;
  result: FilesChildResult;
  /** CPU of this (the runner's) process meanwhile: the loopback AWS endpoints and the receiver. */
  serversCpuSeconds: number;
  logBytes: number;
  backgroundCores?: number;
}

export interface FilesPassStats {
  filesPerSecond: number;
  filesPerSecondMin: number;
  filesPerSecondMax: number;
  cpuMsPerFile: number;
  mainMsPerFile: number;
  poolMsPerFile: number;
  v8MsPerFile: number;
  gcPauseMsPerFile: number;
  faultsPerFile: number;
}

export interface FilesVariantSummary {
  label: string;
  tree: 'current' | 'baseline';
  runs: number;
  warm: FilesPassStats;
  cold: FilesPassStats;
  serversCpuMsPerFile: number;
  logBytesPerFile: number;
  peakRssMiB: number;
  backgroundCores: number;
}

export interface FilesSummary {
  files: number;
  records: number;
  bytes: number;
  compressedBytes: number;
  compressedSizes: { min: number; p10: number; p50: number; p90: number; max: number };
  variants: FilesVariantSummary[];
  /** One variant over another, median of per-round ratios: files/s (warm, cold) and CPU per file (warm). */
  comparisons: { a: string; b: string; filesPerSecond: number; coldFilesPerSecond: number; cpuPerFile: number }[];
  runs: FilesRun[];
  profiles: { label: string; path: string; files: number; mainMsPerFile: number; rows: ProfileRow[] }[];
}

function plansFor(options: FilesOptions): Plan[] {
  const plans: Plan[] = [{ label: 'current', tree: 'current', env: {} }];
  if (options.baselineDist) plans.push({ label: 'baseline', tree: 'baseline', env: {} });
  // (The S3 client no longer validates S3's CRC64NVME of responses: lambdas/shared/aws-clients.ts.)
  const latency = options.latency;
  if (latency) {
    // With S3's and the intake's latency, an execution is bound by how many messages it has in flight.
    const slow = `S3 +${latency.getObjectMs} ms, intake +${latency.downstreamMs} ms`;
    plans.push({ label: `current, ${slow}`, tree: 'current', env: {}, latency });
    plans.push({ label: `current, ${slow}, old defaults`, tree: 'current', ...OLD_DEFAULTS, latency });
    if (options.baselineDist) plans.push({ label: `baseline, ${slow}`, tree: 'baseline', env: {}, latency });
  }
  return plans;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? Number.NaN;
}

export async function measureFiles(manifest: InputManifest, options: FilesOptions): Promise<FilesSummary> {
  const { log } = options;
  const index = manifest.index!.slice(0, options.quick ? 200 : undefined);
  const files = index.length;
  const records = index.reduce((sum, entry) => sum + entry.records, 0);
  const pack = readFileSync(join(INPUT_DIR, manifest.file));
  const aws = new LoopbackAws({ [TENANT]: tenantRecord() as unknown as Record<string, unknown> }, COLLECTOR_ACCOUNT);
  index.forEach((entry, i) => aws.put(BUCKET, fileKey(i), pack.subarray(entry.offset, entry.offset + entry.length)));
  const receiver = new CountingReceiver(TOKEN);
  const endpoint = await aws.start();
  const downstreamUrl = await receiver.start();
  const dir = join(OUT_DIR, 'files');
  mkdirSync(dir, { recursive: true });
  const passes = 2;
  const runs: FilesRun[] = [];
  const profiles: FilesSummary['profiles'] = [];
  const plans = plansFor(options);

  /** The Lambda's environment (docs/operations.md), pointed at the loopback servers. */
  const childEnv = (plan: Plan): NodeJS.ProcessEnv => ({
    AWS_ENDPOINT_URL: endpoint,
    AWS_REGION: REGION,
    AWS_ACCESS_KEY_ID: 'bench',
    AWS_SECRET_ACCESS_KEY: 'bench',
    AWS_SESSION_TOKEN: undefined,
    AWS_PROFILE: undefined,
    AWS_RESPONSE_CHECKSUM_VALIDATION: undefined,
    MESSAGE_CONCURRENCY: undefined,
    AWS_EC2_METADATA_DISABLED: 'true',
    ACCOUNTS_TABLE: TABLE,
    COLLECTOR_ACCOUNT_ID: COLLECTOR_ACCOUNT,
    DOWNSTREAM_URL: downstreamUrl,
    DOWNSTREAM_TOKEN: TOKEN,
    POWERTOOLS_SERVICE_NAME: 'cloudtrail-collector-ingest',
    ...plan.env,
  });

  const runOnce = async (plan: Plan, round: number, nodeArgs: string[] = []): Promise<FilesRun> => {
    receiver.reset();
    aws.getObjectLatencyMs = plan.latency?.getObjectMs ?? 0;
    receiver.latencyMs = plan.latency?.downstreamMs ?? 0;
    const resultPath = join(dir, `result-${process.pid}.json`);
    const logPath = join(dir, `${plan.tree}-${round}.log`);
    rmSync(resultPath, { force: true });
    const serversBefore = process.cpuUsage();
    let result: FilesChildResult | undefined;
    const readResult = () => (result ??= JSON.parse(readFileSync(resultPath, 'utf8')) as FilesChildResult);
    const run = await runChild(
      'files-child',
      [
        '--files',
        String(files),
        '--passes',
        String(passes),
        '--batch-size',
        String(batchSizeOf(plan)),
        '--result',
        resultPath,
      ],
      {
        env: childEnv(plan),
        nodeArgs,
        stdoutFile: logPath,
        stderrFile: `${logPath}.err`,
        ...(plan.tree === 'baseline' ? { distDir: options.baselineDist } : {}),
        // The child's CPU and this process's (the servers) are not "other load".
        childCpu: (r) => {
          if (r.code !== 0) return 0;
          const servers = process.cpuUsage(serversBefore);
          return (
            readResult().passes.reduce((sum, pass) => sum + pass.cpuSeconds, 0) + (servers.user + servers.system) / 1e6
          );
        },
      },
    );
    const servers = process.cpuUsage(serversBefore);
    if (run.code !== 0) {
      throw new Error(
        `files ${plan.label} exited with ${run.code}:\n${readFileSync(`${logPath}.err`, 'utf8').slice(-3000)}`,
      );
    }
    const child = readResult();
    const failed = child.passes.find((pass) => !pass.ok);
    if (failed) throw new Error(`files ${plan.label}: ${failed.error}; its log is ${logPath}`);
    const got = receiver.totals;
    const problems = [
      got.rejected.length > 0 ? `the receiver refused ${got.rejected.length} requests (${got.rejected[0]})` : '',
      got.records !== records * passes ? `the receiver got ${got.records} records, expected ${records * passes}` : '',
      got.keys !== files ? `${got.keys} distinct idempotency keys for ${files} files` : '',
      aws.calls.unexpected.length > 0 ? `unexpected AWS calls: ${aws.calls.unexpected.slice(0, 3).join('; ')}` : '',
    ].filter(Boolean);
    if (problems.length > 0) throw new Error(`files ${plan.label}: ${problems.join('; ')}`);
    return {
      label: plan.label,
      round,
      result: child,
      serversCpuSeconds: (servers.user + servers.system) / 1e6,
      logBytes: statSync(logPath).size,
      ...(run.backgroundCores !== undefined ? { backgroundCores: run.backgroundCores } : {}),
    };
  };

  try {
    const rounds = options.quick ? 1 : (options.runs ?? 3);
    for (let round = 0; round < rounds; round++) {
      // Rotated, so that no variant always runs first; the baseline and the current code alternate.
      for (const k of plans.keys()) {
        const plan = plans[(k + round) % plans.length]!;
        const run = await runOnce(plan, round);
        runs.push(run);
        const [cold, warm] = [run.result.passes[0]!, run.result.passes[passes - 1]!];
        log(
          `  files ${plan.label.padEnd(56)} run ${round + 1}/${rounds}: ${fixed(files / warm.seconds)} files/s warm ` +
            `(${fixed((warm.cpuSeconds * 1000) / files, 2)} CPU ms/file), ${fixed(files / cold.seconds)} cold` +
            (run.backgroundCores !== undefined ? `, other load ${fixed(run.backgroundCores, 2)} cores` : ''),
        );
      }
    }
    if (options.cpuProf) {
      const profileDir = join(OUT_DIR, 'profiles');
      mkdirSync(profileDir, { recursive: true });
      for (const plan of plans.filter((p) => Object.keys(p.env).length === 0 && !p.latency)) {
        const name = `files-${plan.tree}-${new Date().toISOString().replace(/[:.]/g, '-')}.cpuprofile`;
        const run = await runOnce(plan, -1, ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=${name}`]);
        const warm = run.result.passes[passes - 1]!;
        const path = join(profileDir, name);
        profiles.push({
          label: plan.label,
          path: relative(process.cwd(), path),
          files,
          mainMsPerFile: (warm.mainThreadSeconds * 1000) / files,
          rows: summarizeProfile(path, { startUs: warm.startUs, endUs: warm.endUs }),
        });
        log(`  files: CPU profile of ${plan.label} written to ${relative(process.cwd(), path)}`);
      }
    }
  } finally {
    await receiver.stop();
    await aws.stop();
  }

  const sizes = index.map((entry) => entry.length).sort((a, b) => a - b);
  const variants = plans.map((plan) => summarize(plan, runs, files));
  /** Median over rounds of b/a for `pick` (seconds or CPU of one pass): a's speed-up over b. */
  const paired = (a: string, b: string, pick: (pass: FilesPass) => number, which: number) =>
    median(
      runs
        .filter((run) => run.label === a)
        .flatMap((run) => {
          const other = runs.find((r) => r.label === b && r.round === run.round);
          return other ? [pick(other.result.passes[which]!) / pick(run.result.passes[which]!)] : [];
        }),
    );
  const labels = new Set(plans.map((plan) => plan.label));
  const pairs: [string, string][] = [['current', 'baseline']];
  if (options.latency) {
    const slow = `S3 +${options.latency.getObjectMs} ms, intake +${options.latency.downstreamMs} ms`;
    pairs.push([`current, ${slow}, old defaults`, `baseline, ${slow}`]);
    pairs.push([`current, ${slow}`, `baseline, ${slow}`]);
  }
  const comparisons = pairs
    .filter(([a, b]) => labels.has(a) && labels.has(b))
    .map(([a, b]) => ({
      a,
      b,
      filesPerSecond: paired(a, b, (pass) => pass.seconds, passes - 1),
      coldFilesPerSecond: paired(a, b, (pass) => pass.seconds, 0),
      // CPU of b over a, inverted: a's CPU per file as a multiple of b's.
      cpuPerFile: 1 / paired(a, b, (pass) => pass.cpuSeconds, passes - 1),
    }));
  return {
    files,
    records,
    bytes: index.reduce((sum, entry) => sum + entry.bytes, 0),
    compressedBytes: sizes.reduce((sum, size) => sum + size, 0),
    compressedSizes: {
      min: sizes[0]!,
      p10: percentile(sizes, 0.1),
      p50: percentile(sizes, 0.5),
      p90: percentile(sizes, 0.9),
      max: sizes[sizes.length - 1]!,
    },
    variants,
    comparisons,
    runs,
    profiles,
  };
}

function passStats(passes: FilesPass[], files: number): FilesPassStats {
  const perFile = (pick: (pass: FilesPass) => number) => median(passes.map((pass) => pick(pass) / files));
  const rates = passes.map((pass) => files / pass.seconds);
  return {
    filesPerSecond: files / median(passes.map((pass) => pass.seconds)),
    filesPerSecondMin: Math.min(...rates),
    filesPerSecondMax: Math.max(...rates),
    cpuMsPerFile: perFile((pass) => pass.cpuSeconds * 1000),
    mainMsPerFile: perFile((pass) => pass.mainThreadSeconds * 1000),
    poolMsPerFile: perFile((pass) => pass.threadPoolSeconds * 1000),
    v8MsPerFile: perFile((pass) => pass.v8ThreadsSeconds * 1000),
    gcPauseMsPerFile: perFile((pass) => pass.gcPauseMs),
    faultsPerFile: perFile((pass) => pass.minorFaults),
  };
}

function summarize(plan: Plan, runs: FilesRun[], files: number): FilesVariantSummary {
  const mine = runs.filter((run) => run.label === plan.label);
  const passes = mine[0]?.result.passes.length ?? 1;
  return {
    label: plan.label,
    tree: plan.tree,
    runs: mine.length,
    warm: passStats(
      mine.map((run) => run.result.passes[passes - 1]!),
      files,
    ),
    cold: passStats(
      mine.map((run) => run.result.passes[0]!),
      files,
    ),
    serversCpuMsPerFile: median(mine.map((run) => (run.serversCpuSeconds * 1000) / (files * passes))),
    logBytesPerFile: median(mine.map((run) => run.logBytes / (files * passes))),
    peakRssMiB: median(mine.map((run) => run.result.peakRssBytes / MiB)),
    backgroundCores: median(mine.map((run) => run.backgroundCores ?? Number.NaN).filter(Number.isFinite)),
  };
}

/**
 * Issue 13: at least 3 x the files per second of one concurrent execution, against --baseline. One row per setting
 * measured for both trees: on loopback (CPU-bound: the ceiling of one execution) and, with --latency, with S3's and
 * the intake's latency, the setting of an execution in Lambda, where small files wait on both (bench/README.md).
 */
export function filesTargets(summary: FilesSummary | undefined): Target[] {
  const paired = (summary?.comparisons ?? []).filter(
    (c) => c.a.startsWith('current') && c.b === c.a.replace(/^current/, 'baseline'),
  );
  if (paired.length === 0) {
    return [
      {
        target: 'files: files/s per concurrent execution >= 3 x before (--baseline), warm',
        measured: 'not measured (run files with --baseline)',
        met: undefined,
      },
    ];
  }
  return paired.map((versus) => {
    const setting = versus.a === 'current' ? 'loopback, CPU-bound' : versus.a.replace(/^current, /, '');
    return {
      target: `files: files/s per concurrent execution >= 3 x before (--baseline), warm, ${setting}`,
      measured: `${fixed(versus.filesPerSecond, 2)} x (CPU per file ${fixed(versus.cpuPerFile, 2)} x before's)`,
      met: versus.filesPerSecond >= 3,
    };
  });
}

// ------------------------------------------------------------------------------------------ tables

export function renderFiles(summary: FilesSummary, markdown: boolean): string {
  const nl = markdown ? '\n' : '';
  const s = summary.compressedSizes;
  const kb = (bytes: number) => fixed(bytes / 1024, 1);
  const input =
    `Input: ${grouped(summary.files)} log files, ${grouped(summary.records)} records, ` +
    `${fixed(summary.bytes / 1e6)} MB (${fixed(summary.compressedBytes / 1e6)} MB gzip); compressed KiB per file ` +
    `min ${kb(s.min)}, p10 ${kb(s.p10)}, median ${kb(s.p50)}, p90 ${kb(s.p90)}, max ${kb(s.max)}; ` +
    `${fixed(summary.records / summary.files)} records per file on average.`;
  const rate = (stats: FilesPassStats) =>
    `${fixed(stats.filesPerSecond)} (${fixed(stats.filesPerSecondMin, 0)}-${fixed(stats.filesPerSecondMax, 0)})`;
  const throughput = table(
    [
      'code',
      'files/s warm (min-max)',
      'files/s cold',
      'CPU ms/file warm',
      'cold',
      'files per CPU-s',
      'at 1024 MB (est.)',
      'main / pool / V8 threads ms',
      'GC pauses ms',
      'servers CPU ms',
      'log B/file',
      'peak RSS MiB',
      'other load',
      'runs',
    ],
    summary.variants.map((v) => [
      v.label,
      rate(v.warm),
      fixed(v.cold.filesPerSecond),
      fixed(v.warm.cpuMsPerFile, 2),
      fixed(v.cold.cpuMsPerFile, 2),
      fixed(1000 / v.warm.cpuMsPerFile),
      fixed((1000 * LAMBDA_VCPU_AT_1024_MB) / v.warm.cpuMsPerFile),
      `${fixed(v.warm.mainMsPerFile, 2)} / ${fixed(v.warm.poolMsPerFile, 2)} / ${fixed(v.warm.v8MsPerFile, 2)}`,
      fixed(v.warm.gcPauseMsPerFile, 2),
      fixed(v.serversCpuMsPerFile, 2),
      grouped(v.logBytesPerFile),
      fixed(v.peakRssMiB, 0),
      fixed(v.backgroundCores, 2),
      String(v.runs),
    ]),
    markdown,
  );
  const parts = [throughput, `${nl}${input}`];
  if (summary.comparisons.length > 0) {
    parts.push(
      `${nl}Median of per-round ratios (variants measured within a minute of each other):${nl}\n` +
        table(
          ['variant', 'over', 'files/s warm', 'files/s cold', 'CPU per file (warm)'],
          summary.comparisons.map((c) => [
            c.a,
            c.b,
            `${fixed(c.filesPerSecond, 2)} x`,
            `${fixed(c.coldFilesPerSecond, 2)} x`,
            `${fixed(c.cpuPerFile, 2)} x`,
          ]),
          markdown,
        ),
    );
  }
  for (const profile of summary.profiles) {
    const busy = profile.rows.filter((row) => !row.category.startsWith('(idle')).reduce((sum, row) => sum + row.ms, 0);
    // Shares of the profiled pass, applied to the unprofiled runs' main-thread CPU (the profiler slows it down).
    const variant = summary.variants.find((v) => v.label === profile.label);
    const scale = variant ? (variant.warm.mainMsPerFile * profile.files) / busy : 1;
    parts.push(
      `${nl}Main thread of ${profile.label}, warm pass, by where the code comes from (self time; ms/file scaled to ` +
        `the unprofiled runs' ${fixed(variant?.warm.mainMsPerFile ?? Number.NaN, 2)} ms/file; ${profile.path}):${nl}\n` +
        profileTable(
          profile.rows
            .filter((row) => !row.category.startsWith('(idle'))
            .map((row) => ({ ...row, ms: row.ms * scale, share: (row.ms * scale) / (busy * scale) })),
          markdown,
          { unit: 'file', count: profile.files },
        ),
    );
  }
  return parts.join('\n');
}
