import { awsErrorName, errorMessage } from '../../shared/errors';
import { LEDGER_BATCH_MAX, type LedgerEntry, type LedgerTable, type NewestFile } from '../../shared/ledger';
import type { LoggerLike } from '../../shared/logger';
import { deliveryTimeOf } from '../../shared/object-key';
import { markIsDue } from './registry-marks';
import type { CountSink } from './sqs-batch';

/** What ingest writes to the ledger table (lambdas/shared/ledger.ts); tests hand a fake. */
export type LedgerStore = Pick<LedgerTable, 'tableName' | 'recordBatch' | 'noteNewest'>;

type WriteDeps = { logger: LoggerLike; counts: CountSink };

/**
 * Ingest's side of the ledger (docs/completeness.md, "The ledger"), one per process like the registry marks:
 * - `record`: one item per log or Insight file whose batches were all acknowledged, written for one SQS batch at
 *   its end, before any of its messages is acknowledged (sqs-batch.ts): BatchWriteItem, 25 files a request;
 * - `noteNewest`: per account and region the newest of those files by the delivery time in its name, written at
 *   most every DELIVERY_MARK_INTERVAL_MS per account and region from one process (markIsDue, as for
 *   `lastRecordAt`); a newer file seen meanwhile is kept and written when the mark is next due.
 * Best effort: the records have reached the downstream by then, so a failed write never fails the message. It is
 * counted (`LedgerWriteFailed`) and logged once per error name; a missing table (ResourceNotFoundException: an
 * emulator or local run with ACCOUNTS_TABLE alone) is warned about once and no write is tried again by this
 * process.
 */
export class LedgerWrites {
  /** When this process last moved each `<account>\u0000<region>`'s newest file (epoch ms). */
  readonly newestMarks = new Map<string, number>();
  /** The newest file written, and the newest seen but not yet written, per account and region. */
  private readonly written = new Map<string, string>();
  private readonly pending = new Map<string, { accountId: string; newest: NewestFile }>();
  private readonly reasonsLogged = new Set<string>();
  private tableMissing = false;

  constructor(
    readonly table: LedgerStore,
    /** The clock of `collectedAt` and of the marks. */
    readonly now: () => number = Date.now,
  ) {}

  /** False once the table was found missing: nothing more is written. */
  get enabled(): boolean {
    return !this.tableMissing;
  }

  /**
   * Records the files an SQS batch collected, LEDGER_BATCH_MAX to a request, all requests at once; a key collected
   * twice is written once, as last collected. Resolves when every request has answered. Never throws.
   */
  async record(entries: readonly LedgerEntry[], deps: WriteDeps): Promise<void> {
    if (this.tableMissing || entries.length === 0) return;
    const distinct = [...new Map(entries.map((entry) => [`${entry.bucket}/${entry.key}`, entry])).values()];
    const requests: LedgerEntry[][] = [];
    for (let at = 0; at < distinct.length; at += LEDGER_BATCH_MAX) {
      requests.push(distinct.slice(at, at + LEDGER_BATCH_MAX));
    }
    await Promise.all(requests.map((files) => this.write(files, deps)));
  }

  private async write(files: LedgerEntry[], deps: WriteDeps): Promise<void> {
    let unwritten: LedgerEntry[];
    try {
      unwritten = await this.table.recordBatch(files);
    } catch (error) {
      this.failed(error, deps, whereOf(files[0]!), files.length);
      return;
    }
    if (unwritten.length > 0) {
      const error = Object.assign(new Error(`${unwritten.length} item(s) still unprocessed after retries`), {
        name: 'UnprocessedItems',
      });
      this.failed(error, deps, whereOf(unwritten[0]!), unwritten.length);
    }
    const left = new Set(unwritten);
    for (const entry of files) if (!left.has(entry)) this.seen(entry);
  }

  /** A recorded file: the newest of its account and region so far is kept for `noteNewest`. */
  private seen(entry: LedgerEntry): void {
    const deliveredAt = deliveryTimeOf(entry.key)?.toISOString();
    if (deliveredAt === undefined) return;
    const mark = markKey(entry.accountId, entry.region);
    const known = this.pending.get(mark)?.newest.deliveredAt ?? this.written.get(mark);
    if (known !== undefined && known >= deliveredAt) return;
    this.pending.set(mark, {
      accountId: entry.accountId,
      newest: {
        region: entry.region,
        key: entry.key,
        bucket: entry.bucket,
        deliveredAt,
        collectedAt: entry.collectedAt,
      },
    });
  }

  /** Writes each account and region's newest file seen since its last write, where its mark is due. Never throws. */
  async noteNewest(deps: WriteDeps): Promise<void> {
    const now = this.now();
    for (const [mark, { accountId, newest }] of [...this.pending]) {
      if (this.tableMissing) return;
      if (!markIsDue(this.newestMarks, mark, now)) continue;
      this.pending.delete(mark);
      try {
        // False when the table holds a newer one already (another process): nothing to do either way.
        await this.table.noteNewest(accountId, newest);
        this.newestMarks.set(mark, now);
        this.written.set(mark, newest.deliveredAt);
      } catch (error) {
        // Kept for the next batch, unless a newer file replaces it by then.
        if (!this.pending.has(mark)) this.pending.set(mark, { accountId, newest });
        this.failed(error, deps, { accountId, region: newest.region, key: newest.key });
      }
    }
  }

  /** `files`: how many files the failure leaves unrecorded (LedgerWriteFailed counts files). */
  private failed(error: unknown, deps: WriteDeps, where: Record<string, string | number>, files = 1): void {
    deps.counts.count('LedgerWriteFailed', files);
    const name = awsErrorName(error) ?? 'Error';
    if (name === 'ResourceNotFoundException') {
      // Writes already under way when the first answer came fail the same way: one warning for all.
      if (this.tableMissing) return;
      this.tableMissing = true;
      this.pending.clear();
      deps.logger.warn(
        `ledger table ${this.table.tableName} does not exist: this process records no collected file ` +
          '(the stack creates the table; against the emulator the CLI creates it)',
        { ...where, error: errorMessage(error) },
      );
      return;
    }
    if (this.reasonsLogged.has(name)) return;
    this.reasonsLogged.add(name);
    deps.logger.warn(
      `ledger write failed (${name}): the records were delivered, the file is not recorded; ` +
        'later failures for the same reason are only counted (LedgerWriteFailed)',
      { ...where, ...(files > 1 ? { files } : {}), table: this.table.tableName, error: errorMessage(error) },
    );
  }
}

function whereOf(entry: LedgerEntry): Record<string, string> {
  return { accountId: entry.accountId, bucket: entry.bucket, key: entry.key };
}

function markKey(accountId: string, region: string): string {
  return `${accountId}\u0000${region}`;
}
