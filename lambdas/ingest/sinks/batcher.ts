import { CollectorError, errorMessage } from '../../shared/errors';

/** Caps of one batch, counted on the uncompressed encoded body (each record plus its framing). */
export interface BatchLimits {
  maxBatchBytes: number;
  maxBatchRecords: number;
}

/** One batch: `index` numbers batches from 0 in arrival order and feeds the idempotency key. */
export interface Batch {
  index: number;
  records: Buffer[];
  /** The encoded size the limits counted: every record's length plus its framing. */
  bytes: number;
}

export interface BatcherStats {
  batches: number;
  records: number;
  bytes: number;
}

const DEFAULT_MAX_IN_FLIGHT = 4;

/**
 * Groups records (each a Buffer of one compact JSON record, unframed) into batches in arrival order,
 * with deterministic boundaries (same records + same limits -> same batches, however they were split across
 * add() calls, so idempotency keys stay stable across redeliveries), and hands full batches to `deliver` with at
 * most `maxInFlight` deliveries outstanding (memory stays bounded).
 *
 * Framing is the sink's Encoding's job; the batcher only counts it (`recordOverheadBytes` per record, 1 for
 * NDJSON's newline), so that the limits bound the encoded body.
 *
 * After the first delivery failure no further batch is started: the message fails as a whole anyway, and the
 * batches already delivered are dropped downstream by their idempotency keys on redelivery.
 */
export class RecordBatcher {
  private readonly maxInFlight: number;
  private readonly overhead: number;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private readonly queued: Batch[] = [];
  private inFlight = 0;
  private nextIndex = 0;
  private failure: { error: Error } | undefined;
  private finishing = false;
  private readonly delivered: BatcherStats = { batches: 0, records: 0, bytes: 0 };
  /** Conditions awaited by ready() and finish(); each returns true once it has settled its promise. */
  private waiters: Array<() => boolean> = [];

  constructor(
    private readonly limits: BatchLimits,
    private readonly deliver: (batch: Batch) => Promise<void>,
    options: { maxInFlight?: number; recordOverheadBytes?: number } = {},
  ) {
    requirePositiveInteger('maxBatchBytes', limits.maxBatchBytes);
    requirePositiveInteger('maxBatchRecords', limits.maxBatchRecords);
    this.maxInFlight = options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT;
    requirePositiveInteger('maxInFlight', this.maxInFlight);
    this.overhead = options.recordOverheadBytes ?? 1;
    if (!Number.isInteger(this.overhead) || this.overhead < 0) {
      throw new CollectorError(
        `RecordBatcher: recordOverheadBytes must be a non-negative integer, got ${this.overhead}`,
      );
    }
  }

  /** Appends records; full batches are queued and started synchronously. No-op once a delivery has failed. */
  add(records: Buffer[]): void {
    if (this.finishing) throw new CollectorError('RecordBatcher.add() called after finish()');
    if (this.failure) return; // finish() and ready() report the failure; more batches would only be wasted
    const { maxBatchBytes, maxBatchRecords } = this.limits;
    for (const record of records) {
      const size = record.length + this.overhead;
      if (this.pending.length > 0 && this.pendingBytes + size > maxBatchBytes) this.cut();
      this.pending.push(record);
      this.pendingBytes += size;
      // Cutting as soon as a batch is full (rather than on the next record) gets it on the wire earlier;
      // an oversize record lands here alone and is cut at once.
      if (this.pending.length >= maxBatchRecords || this.pendingBytes >= maxBatchBytes) this.cut();
    }
    this.pump();
  }

  /**
   * Resolves when the number of queued + in-flight batches is below `maxInFlight`; the caller awaits it after
   * each add() for backpressure. Rejects with the first delivery error.
   */
  ready(): Promise<void> {
    return this.waitUntil(() => this.queued.length + this.inFlight < this.maxInFlight, true);
  }

  /** Flushes the last partial batch and waits for every delivery; rejects with the first delivery error once
   * every outstanding delivery has settled. */
  async finish(): Promise<BatcherStats> {
    if (this.finishing) throw new CollectorError('RecordBatcher.finish() called twice');
    this.finishing = true;
    if (!this.failure && this.pending.length > 0) this.cut();
    this.pump();
    await this.waitUntil(() => this.inFlight === 0 && this.queued.length === 0, false);
    if (this.failure) throw this.failure.error;
    return { ...this.delivered };
  }

  /**
   * For a message that is failing anyway (e.g. malformed JSON further into the object): drops the pending
   * and queued batches unsent and waits for the deliveries already under way, so nothing runs on after the
   * caller returns. Never rejects.
   */
  async abandon(): Promise<void> {
    this.finishing = true;
    this.pending = [];
    this.pendingBytes = 0;
    this.queued.length = 0;
    await this.waitUntil(() => this.inFlight === 0, false);
  }

  /** Moves the pending records into a batch (the sink encodes it when it is sent). */
  private cut(): void {
    this.queued.push({ index: this.nextIndex++, records: this.pending, bytes: this.pendingBytes });
    this.pending = [];
    this.pendingBytes = 0;
  }

  private pump(): void {
    while (!this.failure && this.inFlight < this.maxInFlight) {
      const batch = this.queued.shift();
      if (batch === undefined) return;
      this.inFlight++;
      void this.run(batch);
    }
  }

  /** Never rejects: the outcome is recorded and reported through ready() and finish(). */
  private async run(batch: Batch): Promise<void> {
    try {
      await this.deliver(batch);
      this.delivered.batches++;
      this.delivered.records += batch.records.length;
      this.delivered.bytes += batch.bytes;
    } catch (error) {
      if (!this.failure) {
        // Callers get an Error whatever `deliver` threw; Errors pass through unchanged.
        this.failure = { error: error instanceof Error ? error : new CollectorError(errorMessage(error)) };
        this.queued.length = 0; // release their memory: they will never be sent
      }
    } finally {
      this.inFlight--;
      this.pump();
      this.waiters = this.waiters.filter((settle) => !settle());
    }
  }

  private waitUntil(condition: () => boolean, rejectOnFailure: boolean): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const settle = (): boolean => {
        if (rejectOnFailure && this.failure) {
          reject(this.failure.error);
          return true;
        }
        if (!condition()) return false;
        resolve();
        return true;
      };
      if (!settle()) this.waiters.push(settle);
    });
  }
}

function requirePositiveInteger(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 1) {
    throw new CollectorError(`RecordBatcher: ${name} must be a positive integer, got ${value}`);
  }
}
