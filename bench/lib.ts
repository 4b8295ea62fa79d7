/** Small helpers shared by the benchmark runner and its children: statistics, tables, machine facts. */
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { BENCH_DIR, OUT_DIR } from './inputs';

/** Where bench/run.ts bundles the child scripts. */
export const DIST_DIR = join(OUT_DIR, 'dist');

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

export function fixed(value: number, digits = 1): string {
  return Number.isFinite(value) ? value.toFixed(digits) : '-';
}

/** Thousands separated with a thin space-free comma: 1,234,567. */
export function grouped(value: number): string {
  return Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : '-';
}

export const MiB = 1024 * 1024;

/**
 * A table as aligned plain text (numbers right-aligned) or as Markdown. Cells that look like numbers are
 * right-aligned in both.
 */
export function table(headers: string[], rows: string[][], markdown = false): string {
  const numeric = headers.map((_, column) =>
    rows.every((row) => /^[-+~]?[\d.,]+( ?[x%]|[x%]?)?( \(.*\))?$|^-$/.test(row[column] ?? '')),
  );
  if (markdown) {
    const line = (cells: string[]) => `| ${cells.map((cell) => cell.replace(/\|/g, '\\|')).join(' | ')} |`;
    return [
      line(headers),
      `|${headers.map((_, column) => (numeric[column] ? '---:' : '---')).join('|')}|`,
      ...rows.map(line),
    ].join('\n');
  }
  const widths = headers.map((header, column) =>
    Math.max(header.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, column) => (numeric[column] ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!)))
      .join('  ')
      .trimEnd();
  return [line(headers), line(widths.map((width) => '-'.repeat(width))), ...rows.map(line)].join('\n');
}

export interface Machine {
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  node: string;
  v8: string;
  zlib: string;
  os: string;
  /** From /proc/cpuinfo flags and /proc/1/cmdline: whether this is a virtual machine, as far as can be told. */
  hypervisor: string;
  loadAverageAtStart: number[];
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

export function machineInfo(): Machine {
  const cpuinfo = readText('/proc/cpuinfo');
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? cpus()[0]?.model ?? 'unknown';
  const init = readText('/proc/1/cmdline').replace(/\0/g, ' ');
  const hypervisor = init.includes('firecracker')
    ? 'Firecracker microVM'
    : /\bhypervisor\b/.test(cpuinfo)
      ? 'virtual machine'
      : 'none detected';
  return {
    cpuModel: model,
    cores: cpus().length,
    memoryGiB: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    node: process.version,
    v8: process.versions.v8,
    zlib: process.versions.zlib ?? 'unknown',
    os: `${process.platform} ${release()}`,
    hypervisor,
    loadAverageAtStart: loadavg().map((value) => Math.round(value * 100) / 100),
  };
}

/** Busy CPU seconds of the whole machine so far (all cores), from /proc/stat; undefined off Linux. */
export function machineBusySeconds(): number | undefined {
  const line = readText('/proc/stat').split('\n')[0];
  if (!line?.startsWith('cpu ')) return undefined;
  const [user, nice, system, idle, iowait, irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
  const busy = (user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0);
  void idle;
  void iowait;
  return busy / 100; // USER_HZ
}

/** CPU seconds (user + system) a process has used so far, from /proc/<pid>/stat; undefined when unavailable. */
export function processCpuSeconds(pid: number): number | undefined {
  const stat = readText(`/proc/${pid}/stat`);
  if (!stat) return undefined;
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // After the command: state(0) ... utime(11) stime(12) cutime(13) cstime(14), in clock ticks.
  const ticks = ['11', '12', '13', '14'].reduce((sum, index) => sum + Number(fields[Number(index)] ?? 0), 0);
  return ticks / 100;
}

/** What is left of the time waitForQuiet may spend waiting, over the whole run. */
let quietBudgetMs = 120_000;

/**
 * Waits until the rest of the machine is nearly idle (other processes use under `maxCores` of CPU over a
 * `windowMs` window), for at most `timeoutMs` (and 120 s over the whole run): on a shared machine this keeps
 * other people's bursts out of the measurements. Returns the load seen in the last window, in cores.
 */
export async function waitForQuiet(
  options: { maxCores?: number; windowMs?: number; timeoutMs?: number } = {},
): Promise<number | undefined> {
  const { maxCores = 0.25, windowMs = 300, timeoutMs = 10_000 } = options;
  // Over the whole run at most QUIET_BUDGET_MS is spent waiting: on a machine that is never quiet, go on.
  const deadline = Date.now() + Math.min(timeoutMs, Math.max(0, quietBudgetMs));
  for (;;) {
    const before = machineBusySeconds();
    const started = process.hrtime.bigint();
    await new Promise((resolve) => setTimeout(resolve, windowMs));
    const after = machineBusySeconds();
    if (before === undefined || after === undefined) return undefined;
    const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
    const load = (after - before) / elapsed;
    if (load <= maxCores) return load;
    quietBudgetMs -= elapsed * 1000;
    if (Date.now() >= deadline) return load;
  }
}

export interface ChildRun {
  code: number | null;
  stdout: string;
  stderr: string;
  wallSeconds: number;
  /** CPU seconds the rest of the machine used meanwhile, in cores (other processes: noise). */
  backgroundCores?: number;
  /** Load just before the start, after waiting (up to 20 s) for the machine to be quiet. */
  loadBefore?: number;
}

/** Runs one bundled child script with node, collecting its stdout and the machine's other load. */
export async function runChild(
  script: string,
  args: string[],
  options: {
    nodeArgs?: string[];
    env?: NodeJS.ProcessEnv;
    stderrFile?: string;
    /** Where stdout goes instead of `ChildRun.stdout` (a child that logs as much as a Lambda does). */
    stdoutFile?: string;
    /** Another build of the child (e.g. of a baseline tree, --baseline); default DIST_DIR. */
    distDir?: string;
    childCpu?: (r: ChildRun) => number;
  } = {},
): Promise<ChildRun> {
  const loadBefore = await waitForQuiet();
  const stderrFd = options.stderrFile ? openSync(options.stderrFile, 'w') : undefined;
  const stdoutFd = options.stdoutFile ? openSync(options.stdoutFile, 'w') : undefined;
  const busyBefore = machineBusySeconds();
  const started = process.hrtime.bigint();
  const env: NodeJS.ProcessEnv = { ...process.env, ...options.env, BENCH_DIR };
  for (const [name, value] of Object.entries(env)) if (value === undefined) delete env[name];
  const path = join(options.distDir ?? DIST_DIR, `${script}.js`);
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), path, ...args], {
    stdio: ['ignore', stdoutFd ?? 'pipe', stderrFd ?? 'pipe'],
    env,
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => {
    if (stderr.length < 64 * 1024) stderr += chunk.toString();
  });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const wallSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  const busyAfter = machineBusySeconds();
  if (stderrFd !== undefined) closeSync(stderrFd);
  if (stdoutFd !== undefined) closeSync(stdoutFd);
  const run: ChildRun = { code, stdout, stderr, wallSeconds, ...(loadBefore !== undefined ? { loadBefore } : {}) };
  if (busyBefore !== undefined && busyAfter !== undefined && options.childCpu) {
    run.backgroundCores = Math.max(0, (busyAfter - busyBefore - options.childCpu(run)) / wallSeconds);
  }
  return run;
}

export function lastJsonLine<T>(stdout: string): T {
  const line = stdout.trim().split('\n').pop() ?? '';
  return JSON.parse(line) as T;
}
