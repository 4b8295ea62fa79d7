/**
 * Experiments: changes to the ingest core tried from the benchmark, without editing `lambdas/ingest`, to
 * measure what a proposed fix would give. Only `bench/run.ts --experiment NAME` applies them; the results
 * table is always measured on the unmodified core.
 */
import { RecordBatcher, type Batch, type BatchLimits } from '../lambdas/ingest/batcher';
import { sinkGzipOptions } from './variants';

export const EXPERIMENTS = ['batch-pool', 'gzip-chunk'] as const;
export type Experiment = (typeof EXPERIMENTS)[number];

/** The batcher's private state the experiment touches (TypeScript `private` is not enforced at run time). */
interface BatcherInternals {
  limits: BatchLimits;
  pending: Buffer[];
  pendingBytes: number;
  queued: Batch[];
  nextIndex: number;
  run(batch: Batch): Promise<void>;
  cut(): void;
}

const NEWLINE = 0x0a;

/**
 * `batch-pool`: RecordBatcher.cut() copies each batch into a buffer taken from a pool of maxBatchBytes buffers,
 * returned to the pool once the batch was delivered, instead of `Buffer.allocUnsafe(pendingBytes)` per batch.
 * Memory freed by the garbage collector goes back to the kernel, and a fresh 4 MiB buffer page-faults on
 * every one of its 1024 pages when the records are copied into it.
 */
function batchPool(): void {
  const proto = RecordBatcher.prototype as unknown as BatcherInternals;
  const pool: Buffer[] = [];
  const backing = new WeakMap<Buffer, Buffer>();
  const originalRun = proto.run;
  proto.cut = function cut(this: BatcherInternals): void {
    const size = this.pendingBytes;
    let body: Buffer;
    if (size <= this.limits.maxBatchBytes) {
      const whole = pool.pop() ?? Buffer.allocUnsafe(this.limits.maxBatchBytes);
      body = whole.subarray(0, size);
      backing.set(body, whole);
    } else {
      body = Buffer.allocUnsafe(size);
    }
    let offset = 0;
    for (const record of this.pending) {
      offset += record.copy(body, offset);
      body[offset++] = NEWLINE;
    }
    this.queued.push({ index: this.nextIndex++, body, recordCount: this.pending.length });
    this.pending = [];
    this.pendingBytes = 0;
  };
  proto.run = async function run(this: BatcherInternals, batch: Batch): Promise<void> {
    try {
      await originalRun.call(this, batch);
    } finally {
      const whole = backing.get(batch.body);
      if (whole) pool.push(whole);
    }
  };
}

/**
 * `gzip-chunk`: the sink compresses each batch with an output chunk of a quarter of the batch (16 KiB to 1 MiB)
 * instead of zlib's default 16 KiB. Node's async zlib comes back to the main thread after every `chunkSize`
 * bytes of output before it compresses on, so with 16 KiB a 4 MiB batch (~650 KB compressed) takes ~40 round
 * trips, each waiting until the main thread has finished what it is doing (splitting the next chunk): the
 * compression hardly overlaps the splitting. With a quarter of the batch (CloudTrail NDJSON compresses 6:1 at
 * level 1), a batch is one job on the thread pool.
 */
function gzipChunk(): void {
  sinkGzipOptions.chunkSize = (ndjson) => Math.min(1024 * 1024, Math.max(16 * 1024, ndjson.length >>> 2));
}

/** Applies `a` or `a+b`. */
export function applyExperiment(spec: string): void {
  for (const name of spec.split('+')) {
    switch (name as Experiment) {
      case 'batch-pool':
        batchPool();
        break;
      case 'gzip-chunk':
        gzipChunk();
        break;
      default:
        throw new Error(`unknown experiment ${name}; known: ${EXPERIMENTS.join(', ')}`);
    }
  }
}
