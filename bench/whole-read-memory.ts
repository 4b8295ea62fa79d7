/**
 * Peak memory of one execution handed MESSAGE_CONCURRENCY small objects that each inflate to the most an object read
 * whole may (WHOLE_OUTPUT_MAX_BYTES): the worst case the whole-read budget (WHOLE_READ_BUDGET_MB) is for. Each object
 * goes through forwardObject as in ingest (a stand-in S3 client answers with its bytes; the sink holds every batch
 * for 20 ms, as an intake would), all at once, with and without the budget; each case runs in a fresh process.
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
import { ByteBudget } from '../lambdas/shared/concurrency';

const MiB = 1024 * 1024;
const ACCOUNT = '111122223333';

/** A CloudTrail-shaped file of records that inflates to just under WHOLE_OUTPUT_MAX_BYTES. */
function inflatingFile(): Buffer {
  const record = JSON.stringify({ eventID: 'e', requestParameters: { policy: 'a'.repeat(64 * 1024) } });
  const count = Math.floor((WHOLE_OUTPUT_MAX_BYTES - 64) / (record.length + 1));
  return gzipSync(`{"Records":[${Array.from({ length: count }, () => record).join(',')}]}`);
}

async function child(objects: number, budgetMiB: number): Promise<void> {
  const file = inflatingFile();
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
  for (const [label, budget] of [
    [`no budget`, 0],
    [`budget ${budgetMiB} MiB`, budgetMiB],
  ] as const) {
    const run = spawnSync(
      process.execPath,
      [...process.execArgv, __filename, '--child', String(objects), String(budget)],
      {
        encoding: 'utf8',
      },
    );
    if (run.status !== 0) throw new Error(`${label}: ${run.stderr}`);
    const { gzipBytes, peakRssMiB, ms } = JSON.parse(run.stdout) as {
      gzipBytes: number;
      peakRssMiB: number;
      ms: number;
    };
    process.stdout.write(
      `${objects} objects of ${(gzipBytes / 1024).toFixed(0)} KiB gzip, each ${WHOLE_OUTPUT_MAX_BYTES / MiB} MiB of JSON, ${label}: peak RSS ${peakRssMiB.toFixed(0)} MiB, ${ms} ms\n`,
    );
  }
}

if (process.argv[2] === '--child') void child(Number(process.argv[3]), Number(process.argv[4]));
else main();
