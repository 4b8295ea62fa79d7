/**
 * Peak memory of one execution handed MESSAGE_CONCURRENCY small objects that each inflate to the most an object read
 * whole may (WHOLE_OUTPUT_MAX_BYTES): the worst case the whole-read budget (WHOLE_READ_BUDGET_MB) is for. Each object
 * goes through forwardObject as in ingest (a stand-in S3 client answers with its bytes; the sink holds every batch
 * for 20 ms, as an intake would; objects over 256 KiB or streamed take turns 4 at once, LARGE_OBJECT_CONCURRENCY),
 * all at once, with and without the budget; then files of two gzip members that inflate to 48 MiB, whose trailer
 * (the last member's size) understates what they hold. Each case runs in a fresh process.
 *
 * Run: npx tsx bench/whole-read-memory.ts [objects=40] [budgetMiB=256]
 */
import { spawnSync } from 'node:child_process';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { gzipSync } from 'node:zlib';
import type { S3Client } from '@aws-sdk/client-s3';
import { forwardObject } from '../lambdas/ingest/pipeline';
import { KEEP_ALL } from '../lambdas/ingest/records/filters';
import { WHOLE_OUTPUT_MAX_BYTES } from '../lambdas/ingest/records/object-decoder';
import type { Sink } from '../lambdas/ingest/sinks/sink';
import { ByteBudget, Gate } from '../lambdas/shared/concurrency';

const MiB = 1024 * 1024;
const ACCOUNT = '111122223333';

/**
 * A CloudTrail-shaped file of records that inflates to just under `outputBytes`; with `understated`, as two gzip
 * members, the second only the closing brackets, so its trailer says 2 bytes.
 */
function inflatingFile(outputBytes: number, understated: boolean): Buffer {
  const record = JSON.stringify({ eventID: 'e', requestParameters: { policy: 'a'.repeat(64 * 1024) } });
  const count = Math.floor((outputBytes - 64) / (record.length + 1));
  const text = `{"Records":[${Array.from({ length: count }, () => record).join(',')}]}`;
  return understated ? Buffer.concat([gzipSync(text.slice(0, -2)), gzipSync(']}')]) : gzipSync(text);
}

async function child(objects: number, budgetMiB: number, outputMiB: number, understated: boolean): Promise<void> {
  const file = inflatingFile(outputMiB * MiB, understated);
  const s3 = {
    send: () => Promise.resolve({ Body: Readable.from([file]), ContentLength: file.length }),
  } as unknown as S3Client;
  const sink: Sink = {
    recordOverheadBytes: 1,
    close: () => undefined,
    send: async () => {
      await sleep(20);
      return { requests: 1, bytesSent: 0 };
    },
  };
  const budget = budgetMiB > 0 ? new ByteBudget(budgetMiB * MiB) : undefined;
  const largeObjects = new Gate(4);
  let peak = 0;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 2);
  const started = Date.now();
  await Promise.all(
    Array.from({ length: objects }, (_, n) =>
      forwardObject(s3, { bucket: 'b', key: `k${n}`, kind: 'log' }, ACCOUNT, sink, {
        maxDecompressedBytes: 1 << 30,
        maxRecordBytes: 2 * MiB,
        batchLimits: { maxBatchBytes: 4 * MiB, maxBatchRecords: 5000 },
        maxInFlightBatches: 4,
        filter: KEEP_ALL,
        largeObjects,
        deadline: Date.now() + 600_000,
        ...(budget ? { wholeReads: budget } : {}),
      }),
    ),
  );
  clearInterval(sampler);
  const maxRss = process.resourceUsage().maxRSS * 1024;
  process.stdout.write(
    JSON.stringify({ gzipBytes: file.length, peakRssMiB: Math.max(peak, maxRss) / MiB, ms: Date.now() - started }),
  );
}

function main(): void {
  const objects = Number(process.argv[2] ?? 40);
  const budgetMiB = Number(process.argv[3] ?? 256);
  const outputMiB = WHOLE_OUTPUT_MAX_BYTES / MiB;
  const cases = [
    { label: 'no budget', budget: 0, output: outputMiB, understated: false },
    { label: `budget ${budgetMiB} MiB`, budget: budgetMiB, output: outputMiB, understated: false },
    { label: `budget ${budgetMiB} MiB, 2 members`, budget: budgetMiB, output: 3 * outputMiB, understated: true },
  ];
  for (const c of cases) {
    const args = ['--child', String(objects), String(c.budget), String(c.output), String(c.understated)];
    const run = spawnSync(process.execPath, [...process.execArgv, __filename, ...args], { encoding: 'utf8' });
    if (run.status !== 0) throw new Error(`${c.label}: ${run.stderr}`);
    const { gzipBytes, peakRssMiB, ms } = JSON.parse(run.stdout) as {
      gzipBytes: number;
      peakRssMiB: number;
      ms: number;
    };
    process.stdout.write(
      `${objects} objects of ${(gzipBytes / 1024).toFixed(0)} KiB gzip, each ${c.output} MiB of JSON, ${c.label}: ` +
        `peak RSS ${peakRssMiB.toFixed(0)} MiB, ${ms} ms\n`,
    );
  }
}

if (process.argv[2] === '--child') {
  void child(Number(process.argv[3]), Number(process.argv[4]), Number(process.argv[5]), process.argv[6] === 'true');
} else {
  main();
}
