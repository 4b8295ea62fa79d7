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
 * `batch-pool`: copy each batch into a buffer from a pool instead of `Buffer.allocUnsafe(size)` per batch (memory
 * the garbage collector gave back page-faults again on every 4 KiB page touched). Applied in production since
 * (`sinks/buffer-pool.ts`, the sink's default `allocate`/`release`), so it injects nothing now: the name is kept
 * so that earlier command lines still run, and its row measures the core as it is.
 */
function batchPool(): ExperimentInjections {
  return {};
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
export function experimentInjections(spec: string, _maxBatchBytes?: number): ExperimentInjections {
  let injections: ExperimentInjections = {};
  for (const name of spec.split('+')) {
    switch (name as Experiment) {
      case 'batch-pool':
        injections = { ...injections, ...batchPool() };
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
