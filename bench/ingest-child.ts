/**
 * One ingest measurement in a fresh process (started by bench/run.ts), so that peak RSS belongs to one variant
 * on one input. Prints one JSON line on stdout.
 *
 *   node bench/out/dist/ingest-child.js --variant core|gunzip|floor|naive|baseline --input small|files|100mb|1gib
 *        [--files N] [--concurrency N] [--experiment NAME] [--passes N]
 *
 * `small` and `files` objects are read into memory before the clock starts (the pack of compressed files: their
 * RSS is the same for every variant) and fed in 64 KiB chunks, except to the core, which gets an object of up to
 * WHOLE_OBJECT_MAX_BYTES whole, as forwardObject reads it; large objects are streamed from disk in 64 KiB chunks,
 * as an S3 response body arrives. With `--passes 2` the input is processed twice and both passes are reported:
 * the first in a cold process, the second warm.
 */
import { createReadStream, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { experimentInjections } from './experiments';
import { INPUT_DIR, isPacked, readManifest, type InputName } from './inputs';
import {
  VARIANTS,
  defaultForwardOptions,
  makeVariant,
  type ObjectBody,
  type ObjectResult,
  type Variant,
} from './variants';

const CHUNK_BYTES = 64 * 1024;

/** One pass over the input. The first pass of a process is cold (code not yet optimised, heap not yet grown
 * from the kernel); later ones are warm, like the invocations of a reused Lambda container. */
export interface PassResult {
  ok: boolean;
  error?: string;
  seconds: number;
  cpuSeconds: number;
  minorFaults: number;
}

/** The last pass's figures at the top level, every pass in `passes`. */
export interface ChildResult {
  variant: string;
  input: string;
  files: number;
  concurrency: number;
  experiment?: string;
  ok: boolean;
  error?: string;
  seconds: number;
  /** User + system CPU of every thread of the process (zlib runs on the libuv pool) while measuring. */
  cpuSeconds: number;
  passes: PassResult[];
  records: number;
  bytes: number;
  compressedBytes: number;
  bytesOut: number;
  batches: number;
  /** Everything the process used, start-up included: for telling its load from the rest of the machine's. */
  processCpuSeconds: number;
  /** RSS once the process had loaded its code and (for small) the compressed inputs, before measuring. */
  rssBeforeBytes: number;
  /** process.resourceUsage().maxRSS at the end: the process's peak resident set, inputs included. */
  peakRssBytes: number;
  /** Minor page faults while measuring: first touches of memory the process got from the kernel. */
  minorFaults: number;
}

/** An in-memory object as a stream body: an async iterable of 64 KiB chunks, like a socket delivers them. */
function chunksOf(buffer: Buffer): AsyncIterable<Buffer> {
  return {
    async *[Symbol.asyncIterator]() {
      for (let at = 0; at < buffer.length; at += CHUNK_BYTES) {
        yield await Promise.resolve(buffer.subarray(at, at + CHUNK_BYTES));
      }
    },
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      variant: { type: 'string' },
      input: { type: 'string' },
      files: { type: 'string' },
      concurrency: { type: 'string', default: '1' },
      experiment: { type: 'string' },
      passes: { type: 'string', default: '1' },
    },
  });
  const variant = values.variant as Variant | 'baseline';
  const input = values.input as InputName;
  if (variant !== 'baseline' && !VARIANTS.includes(variant)) throw new Error(`unknown --variant ${variant}`);
  const options = defaultForwardOptions();
  const inject = values.experiment ? experimentInjections(values.experiment, options.batchLimits.maxBatchBytes) : {};
  const manifest = readManifest(input);
  const concurrency = Number(values.concurrency);

  // Objects as (key, body factory) pairs; the bodies are only created when measured.
  let objects: { key: string; body: ObjectBody; records: number }[];
  if (isPacked(input)) {
    const index = manifest.index!.slice(0, values.files ? Number(values.files) : undefined);
    const last = index[index.length - 1]!;
    const pack = readFileSync(join(INPUT_DIR, manifest.file)).subarray(0, last.offset + last.length);
    objects = index.map((entry, i) => ({
      key: `AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/01/small-${i}.json.gz`,
      body: {
        stream: () => chunksOf(pack.subarray(entry.offset, entry.offset + entry.length)),
        whole: pack.subarray(entry.offset, entry.offset + entry.length),
      },
      records: entry.records,
    }));
  } else {
    const path = join(INPUT_DIR, manifest.file);
    objects = [
      {
        key: `AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/01/${manifest.file}`,
        body: { stream: () => createReadStream(path, { highWaterMark: CHUNK_BYTES }) },
        records: manifest.records,
      },
    ];
  }
  const expected = {
    records: objects.reduce((sum, o) => sum + o.records, 0),
    bytes: isPacked(input) ? manifest.index!.slice(0, objects.length).reduce((s, e) => s + e.bytes, 0) : manifest.bytes,
    compressedBytes: isPacked(input)
      ? manifest.index!.slice(0, objects.length).reduce((s, e) => s + e.length, 0)
      : manifest.compressedBytes,
  };

  const run =
    variant === 'baseline'
      ? (_body: ObjectBody, _key: string) => Promise.resolve<ObjectResult>({ bytes: 0, bytesOut: 0, batches: 0 })
      : makeVariant(variant, options, inject);
  const rssBeforeBytes = process.memoryUsage().rss;

  /** One pass over every object, `concurrency` at a time. */
  const measurePass = async (): Promise<PassResult & { totals: typeof totals }> => {
    const totals = { records: 0, bytes: 0, bytesOut: 0, batches: 0 };
    let error: string | undefined;
    const faultsStart = process.resourceUsage().minorPageFault;
    const cpuStart = process.cpuUsage();
    const started = process.hrtime.bigint();
    try {
      let next = 0;
      const worker = async () => {
        while (next < objects.length) {
          const object = objects[next++]!;
          const result = await run(object.body, object.key);
          totals.records += result.records ?? object.records;
          totals.bytes += result.bytes;
          totals.bytesOut += result.bytesOut;
          totals.batches += result.batches;
        }
      };
      await Promise.all(Array.from({ length: Math.min(concurrency, objects.length) }, worker));
    } catch (caught) {
      error = caught instanceof Error ? `${caught.name}: ${caught.message}` : String(caught);
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const cpu = process.cpuUsage(cpuStart);
    const minorFaults = process.resourceUsage().minorPageFault - faultsStart;
    if (!error && variant !== 'baseline') {
      // Every variant must have seen the same bytes and (where it counts them) the same records.
      if (totals.bytes !== expected.bytes) {
        error = `read ${totals.bytes} uncompressed bytes, expected ${expected.bytes}`;
      } else if (totals.records !== expected.records) {
        error = `read ${totals.records} records, expected ${expected.records}`;
      }
    }
    return {
      ok: error === undefined,
      ...(error ? { error } : {}),
      seconds,
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      minorFaults,
      totals,
    };
  };

  const passes: PassResult[] = [];
  let last: Awaited<ReturnType<typeof measurePass>> | undefined;
  for (let pass = 0; pass < Number(values.passes); pass++) {
    last = await measurePass();
    const { totals: _totals, ...result } = last;
    passes.push(result);
    if (!last.ok) break;
  }
  const { totals, ok, error, seconds, cpuSeconds, minorFaults } = last!;
  const usage = process.resourceUsage();
  const result: ChildResult = {
    variant,
    input,
    files: objects.length,
    concurrency,
    ...(values.experiment ? { experiment: values.experiment } : {}),
    ok,
    ...(error ? { error } : {}),
    seconds,
    cpuSeconds,
    passes,
    records: expected.records,
    bytes: expected.bytes,
    compressedBytes: expected.compressedBytes,
    bytesOut: totals.bytesOut,
    batches: totals.batches,
    processCpuSeconds: (process.cpuUsage().user + process.cpuUsage().system) / 1e6,
    rssBeforeBytes,
    peakRssBytes: usage.maxRSS * 1024,
    minorFaults,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
