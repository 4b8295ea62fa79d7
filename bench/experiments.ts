/**
 * Experiments: changes to the ingest core tried from the benchmark, without editing `lambdas/ingest`, to
 * measure what a proposed fix would give. Each is injected through the sink's options (nothing is patched);
 * only `bench/run.ts --experiment NAME` applies them, and the results table is always measured on the core as
 * it is.
 */
import type { SinkInjections } from '../lambdas/ingest/sinks';

export const EXPERIMENTS = ['batch-pool', 'gzip-chunk'] as const;
export type Experiment = (typeof EXPERIMENTS)[number];

/** What an experiment injects into the production sink. */
export type ExperimentInjections = Omit<SinkInjections, 'logger' | 'transport'>;

/**
 * `batch-pool`: the encoding copies each batch into a buffer taken from a pool of maxBatchBytes buffers,
 * returned to the pool once the batch was compressed, instead of `Buffer.allocUnsafe(size)` per batch.
 * Memory freed by the garbage collector goes back to the kernel, and a fresh 4 MiB buffer page-faults on
 * every one of its 1024 pages when the records are copied into it.
 */
function batchPool(maxBatchBytes: number): ExperimentInjections {
  const pool: Buffer[] = [];
  const backing = new WeakMap<Buffer, Buffer>();
  return {
    allocate(size) {
      if (size > maxBatchBytes) return Buffer.allocUnsafe(size);
      const whole = pool.pop() ?? Buffer.allocUnsafe(maxBatchBytes);
      const body = whole.subarray(0, size);
      backing.set(body, whole);
      return body;
    },
    release(body) {
      const whole = backing.get(body);
      if (whole) pool.push(whole);
    },
  };
}

/**
 * `gzip-chunk`: compress each batch with an output chunk of a quarter of the batch (16 KiB to 1 MiB) instead of
 * zlib's default 16 KiB (bench/README.md explains why). Applied in `sinks/http-delivery.ts` since it was
 * measured, so it injects nothing now: the name is kept so that earlier command lines still run, and its
 * row measures the core as it is.
 */
function gzipChunk(): ExperimentInjections {
  return {};
}

/** The injections of `a` or `a+b`. */
export function experimentInjections(spec: string, maxBatchBytes: number): ExperimentInjections {
  let injections: ExperimentInjections = {};
  for (const name of spec.split('+')) {
    switch (name as Experiment) {
      case 'batch-pool':
        injections = { ...injections, ...batchPool(maxBatchBytes) };
        break;
      case 'gzip-chunk':
        injections = { ...injections, ...gzipChunk() };
        break;
      default:
        throw new Error(`unknown experiment ${name}; known: ${EXPERIMENTS.join(', ')}`);
    }
  }
  return injections;
}
