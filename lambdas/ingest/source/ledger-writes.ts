import { awsErrorName, errorMessage } from '../../shared/errors';
import type { LedgerEntry, LedgerTable, NewestFile } from '../../shared/ledger';
import type { LoggerLike } from '../../shared/logger';
import { deliveryTimeOf } from '../../shared/object-key';
import { markIsDue } from './registry-marks';
import type { CountSink } from './sqs-batch';

/** What ingest writes to the ledger table (lambdas/shared/ledger.ts); tests hand a fake. */
export type LedgerStore = Pick<LedgerTable, 'tableName' | 'record' | 'noteNewest'>;

type WriteDeps = { logger: LoggerLike; counts: CountSink };

/**
 * Ingest's side of the ledger (docs/completeness.md, "The ledger"), one per process like the registry marks:
 * - `record`: one item per log or Insight file once every batch of it was acknowledged (sqs-batch.ts);
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

  /** Records one collected file. Never throws. */
  async record(entry: LedgerEntry, deps: WriteDeps): Promise<void> {
    if (this.tableMissing) return;
    try {
      await this.table.record(entry);
    } catch (error) {
      this.failed(error, deps, { accountId: entry.accountId, bucket: entry.bucket, key: entry.key });
      return;
    }
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

  private failed(error: unknown, deps: WriteDeps, where: Record<string, string>): void {
    deps.counts.count('LedgerWriteFailed', 1);
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
      { ...where, table: this.table.tableName, error: errorMessage(error) },
    );
  }
}

function markKey(accountId: string, region: string): string {
  return `${accountId}\u0000${region}`;
}
