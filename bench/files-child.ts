/**
 * One concurrent execution of the ingest Lambda, measured (started by bench/files.ts): this process imports the
 * Lambda's own handler (lambdas/ingest/handler.ts, bundled by esbuild as the Lambda is deployed), configured by
 * the same environment variables, and invokes it the way Lambda's event source mapping does, one invocation of
 * up to --batch-size SQS messages after another; inside each, MESSAGE_CONCURRENCY messages are in flight. Every AWS call
 * (S3 GetObject, STS, DynamoDB) and every downstream POST goes to loopback servers in the runner's process
 * (bench/loopback.ts), so this process's CPU is the execution's. Its stdout (the handler's log lines and EMF
 * metrics, as Lambda would ship them) goes to a file; the result is written to --result as JSON.
 *
 *   node bench/out/dist/files-child.js --files N --passes N --batch-size N --result PATH
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { PerformanceObserver } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { handler } from '../lambdas/ingest/handler';
import { lambdaContext, sqsEvents } from './files-world';

export interface FilesPass {
  ok: boolean;
  error?: string;
  files: number;
  seconds: number;
  /** User + system CPU of the whole process (every thread). */
  cpuSeconds: number;
  /** Of which: the main thread (JavaScript, zlib and socket calls made from it, GC pauses). */
  mainThreadSeconds: number;
  /** Threads started after the handler module was loaded: libuv's pool (zlib's async work, fs). */
  threadPoolSeconds: number;
  /** The threads Node starts with besides the main one: V8's platform workers (concurrent GC, compilation). */
  v8ThreadsSeconds: number;
  /** Main-thread GC pauses (PerformanceObserver 'gc' entries). */
  gcPauseMs: number;
  gcCount: number;
  minorFaults: number;
  /** process.hrtime in microseconds at the start and end of the pass, to cut a CPU profile to it. */
  startUs: number;
  endUs: number;
}

export interface FilesChildResult {
  passes: FilesPass[];
  invocations: number;
  peakRssBytes: number;
  heapUsedBytes: number;
}

const CLOCK_TICKS_PER_SECOND = 100;

/** CPU seconds (user + system) of each thread of this process, by thread id, from /proc/self/task. */
function threadCpu(): Map<number, number> {
  const out = new Map<number, number>();
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(Number(tid), (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND);
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return out;
}

const startupThreads = new Set(threadCpu().keys());
const gc = { ms: 0, count: 0 };
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    gc.ms += entry.duration;
    gc.count++;
  }
}).observe({ entryTypes: ['gc'] });

function split(before: Map<number, number>, after: Map<number, number>) {
  const out = { main: 0, pool: 0, v8: 0 };
  for (const [tid, seconds] of after) {
    const used = seconds - (before.get(tid) ?? 0);
    if (tid === process.pid) out.main += used;
    else if (startupThreads.has(tid)) out.v8 += used;
    else out.pool += used;
  }
  return out;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      files: { type: 'string' },
      passes: { type: 'string', default: '2' },
      'batch-size': { type: 'string', default: '10' },
      result: { type: 'string' },
    },
  });
  if (!values.files || !values.result) throw new Error('--files and --result are required');
  const files = Number(values.files);
  const passes: FilesPass[] = [];
  let invocation = 0;
  for (let pass = 0; pass < Number(values.passes); pass++) {
    const events = sqsEvents(files, pass, Number(values['batch-size']));
    let error: string | undefined;
    const threadsBefore = threadCpu();
    const gcBefore = { ...gc };
    const faultsBefore = process.resourceUsage().minorPageFault;
    const cpuBefore = process.cpuUsage();
    const started = process.hrtime.bigint();
    try {
      for (const event of events) {
        const response = await handler(event, lambdaContext(invocation++));
        if (response.batchItemFailures.length > 0) {
          throw new Error(`${response.batchItemFailures.length} message(s) failed in invocation ${invocation}`);
        }
      }
    } catch (caught) {
      error = caught instanceof Error ? `${caught.name}: ${caught.message}` : String(caught);
    }
    const ended = process.hrtime.bigint();
    const cpu = process.cpuUsage(cpuBefore);
    const threads = split(threadsBefore, threadCpu());
    passes.push({
      ok: error === undefined,
      ...(error ? { error } : {}),
      files,
      seconds: Number(ended - started) / 1e9,
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      mainThreadSeconds: threads.main,
      threadPoolSeconds: threads.pool,
      v8ThreadsSeconds: threads.v8,
      gcPauseMs: gc.ms - gcBefore.ms,
      gcCount: gc.count - gcBefore.count,
      minorFaults: process.resourceUsage().minorPageFault - faultsBefore,
      startUs: Number(started / 1000n),
      endUs: Number(ended / 1000n),
    });
    if (error) break;
  }
  const result: FilesChildResult = {
    passes,
    invocations: invocation,
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
    heapUsedBytes: process.memoryUsage().heapUsed,
  };
  writeFileSync(values.result, JSON.stringify(result));
}

main().then(
  // The handler's keep-alive sockets would keep the process alive.
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
