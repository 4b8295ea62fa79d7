/**
 * Reads a V8 CPU profile (node --cpu-prof) of a bundled child and adds its samples' self time up by where the
 * code comes from: esbuild writes a `// <source path>` line before each module of a bundle, so every line of
 * bench/out/dist/*.js maps back to its source file; Node's own code is grouped by subsystem.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { table } from './lib';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  /** Microseconds, on the monotonic clock process.hrtime reads. */
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileRow {
  category: string;
  ms: number;
  share: number;
  /** The functions with the most self time in the category. */
  top: string;
}

/** Where each module of a bundle starts: [first line (0-based), source path]. */
function moduleMap(bundlePath: string): [number, string][] {
  const starts: [number, string][] = [];
  readFileSync(bundlePath, 'utf8')
    .split('\n')
    .forEach((line, index) => {
      // A --baseline tree's modules are named relative to this one: `// ../perf-base/lambdas/...`.
      const match = /^\/\/ (?:\.\.\/[^/\s]+\/)?((?:node_modules|lambdas|bench|bin|lib|testkit)\/\S+)$/.exec(line);
      if (match) starts.push([index, match[1]!]);
    });
  return starts;
}

function sourceOf(starts: [number, string][], line: number): string {
  let low = 0;
  let high = starts.length - 1;
  let found = 'esbuild runtime';
  while (low <= high) {
    const middle = (low + high) >> 1;
    if (starts[middle]![0] <= line) {
      found = starts[middle]![1];
      low = middle + 1;
    } else {
      high = middle - 1;
    }
  }
  return found;
}

/** The project's ingest modules by role (docs/architecture.md, "Ingest"). */
const INGEST_MODULES: [RegExp, string][] = [
  [/^lambdas\/ingest\/records\/record-splitter\.ts$/, 'ingest: split (RecordSplitter)'],
  [/^lambdas\/ingest\/records\/object-decoder\.ts$/, 'ingest: decode (object-decoder)'],
  [/^lambdas\/ingest\/sinks\/batcher\.ts$/, 'ingest: batch (RecordBatcher)'],
  [/^lambdas\/ingest\/sinks\/ndjson-intake\.ts$/, 'ingest: encode (NDJSON)'],
  [/^lambdas\/ingest\/sinks\//, 'ingest: sink (delivery, transport)'],
  [/^lambdas\/ingest\/source\//, 'ingest: source (notifications, tenant, SQS batch)'],
  [/^lambdas\/ingest\/(pipeline|s3-read)\.ts$/, 'ingest: pipeline and S3 read'],
];

function categoryOfSource(source: string): string {
  if (source.startsWith('node_modules/@aws-sdk/checksums/')) return 'AWS SDK: response checksum (CRC64NVME, in JS)';
  if (source.startsWith('node_modules/@aws-sdk/') || source.startsWith('node_modules/@smithy/')) {
    return 'AWS SDK (@aws-sdk, @smithy): signing, (de)serialising, middleware';
  }
  if (source.startsWith('node_modules/@aws-lambda-powertools/')) return 'Powertools logger and metrics';
  if (source.startsWith('node_modules/')) return `dependency: ${source.split('/').slice(1, 3).join('/')}`;
  for (const [pattern, category] of INGEST_MODULES) if (pattern.test(source)) return category;
  if (source.startsWith('lambdas/ingest/')) return 'ingest: other (handler, runtime, config)';
  if (source.startsWith('lambdas/shared/logger')) return 'logging (JSON lines)';
  if (source.startsWith('lambdas/shared/')) return 'shared: registry, credentials, config';
  if (source.startsWith('bin/')) return 'command-line tool';
  if (source === 'esbuild runtime') return 'module loading (esbuild bundle helpers)';
  return `benchmark harness (${source})`;
}

function categoryOfNode(url: string, functionName: string): string | undefined {
  if (url === '') {
    if (functionName === '(idle)') return '(idle: waiting for I/O or the thread pool)';
    if (functionName === '(garbage collector)') return 'garbage collector';
    if (functionName === '(program)') return '(program: V8 and native code outside JS)';
    return 'native (Buffer copies, zlib and socket calls made from JS)';
  }
  if (!url.startsWith('node:')) return undefined;
  const path = url.slice('node:'.length);
  if (path === 'zlib') return 'Node zlib glue (the compression itself runs on the thread pool)';
  if (/^(_http|http|https|net|_tls|tls|internal\/(http|net|tls|dns))/.test(path)) return 'Node HTTP, TLS and sockets';
  if (path.startsWith('internal/streams') || path === 'stream') return 'Node streams';
  if (path === 'buffer' || path === 'internal/buffer') return 'Node Buffer (copies, allocation)';
  if (path.startsWith('internal/crypto') || path === 'crypto') return 'Node crypto (SigV4 signing, hashes)';
  if (/^(internal\/)?(modules|bootstrap|main|vm|source_map)/.test(path)) return 'Node start-up and module loading';
  return 'Node internals (events, timers, promises, fs...)';
}

/**
 * Self time per category, largest first. With `window` (process.hrtime microseconds, the clock V8's profiler
 * stamps its samples with), only the samples taken inside it: one pass of a run, start-up left out.
 */
export function summarizeProfile(profilePath: string, window?: { startUs: number; endUs: number }): ProfileRow[] {
  const profile = JSON.parse(readFileSync(profilePath, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfUs = new Map<number, number>();
  let at = profile.startTime;
  profile.samples.forEach((id, index) => {
    const delta = profile.timeDeltas[index] ?? 0;
    at += delta;
    if (window && (at < window.startUs || at > window.endUs)) return;
    selfUs.set(id, (selfUs.get(id) ?? 0) + delta);
  });
  const maps = new Map<string, [number, string][]>();
  const totals = new Map<string, { us: number; functions: Map<string, number> }>();
  let all = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (!node || us <= 0) continue;
    const { url, functionName, lineNumber } = node.callFrame;
    let category = categoryOfNode(url, functionName);
    if (category === undefined) {
      let starts = maps.get(url);
      if (!starts) {
        try {
          starts = moduleMap(url.startsWith('file:') ? fileURLToPath(url) : url);
        } catch {
          starts = [];
        }
        maps.set(url, starts);
      }
      category = categoryOfSource(sourceOf(starts, lineNumber));
    }
    const entry = totals.get(category) ?? { us: 0, functions: new Map<string, number>() };
    entry.us += us;
    // esbuild wraps CommonJS modules in functions named after their path: the module's own top-level code.
    const name = functionName.includes('/') ? '(module body)' : functionName || '(anonymous)';
    entry.functions.set(name, (entry.functions.get(name) ?? 0) + us);
    totals.set(category, entry);
    all += us;
  }
  return [...totals]
    .map(([category, { us, functions }]) => ({
      category,
      ms: us / 1000,
      share: us / all,
      top: [...functions]
        .sort((a, b) => b[1] - a[1])
        .slice(0, 3)
        .map(([name]) => name)
        .join(', '),
    }))
    .sort((a, b) => b.ms - a.ms);
}

export function profileTable(rows: ProfileRow[], markdown: boolean, perUnit?: { unit: string; count: number }): string {
  return table(
    [
      'where (self time of the main thread)',
      'ms',
      ...(perUnit ? [`ms/${perUnit.unit}`] : []),
      'share',
      'top functions',
    ],
    rows
      .filter((row) => row.share >= 0.005)
      .map((row) => [
        row.category,
        row.ms.toFixed(0),
        ...(perUnit ? [(row.ms / perUnit.count).toFixed(2)] : []),
        `${(row.share * 100).toFixed(1)}%`,
        row.top,
      ]),
    markdown,
  );
}
