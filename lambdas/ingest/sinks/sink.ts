import type { RecordObject } from '../log-object';

/**
 * What a downstream implements (docs/architecture.md, "Ingest": source -> records -> sink). The pipeline hands a
 * sink the records of one log object in batches, each with its idempotency key; the sink encodes, delivers and
 * acknowledges them. The HTTP sinks share batching (batcher.ts) and delivery (http-delivery.ts) and differ in
 * their Encoding and response interpreter (ndjson-intake.ts, splunk-hec.ts, elasticsearch-bulk.ts); firehose.ts
 * and syslog/ implement Sink themselves (docs/sinks.md).
 */

/** One batch: `index` numbers the batches of an object from 0 in arrival order and feeds the idempotency key. */
export interface RecordBatch {
  object: RecordObject;
  index: number;
  /** Each one compact JSON record, as the splitter returned it (no framing). */
  records: readonly Buffer[];
}

export interface DeliveryContext {
  idempotencyKey: string;
  /** Epoch ms: no attempt may start, and no wait may run, past this. */
  deadline: number;
}

export interface SendResult {
  /** HTTP requests (acknowledgement polls included), API calls or protocol frames sent. */
  requests: number;
  /** Bytes on the wire (compressed), summed over every request including retries. */
  bytesSent: number;
}

export interface Sink {
  /** Bytes the sink's framing adds per record: the batch limits count `record.length + recordOverheadBytes`. */
  readonly recordOverheadBytes: number;
  /** Resolves only once the downstream accepted every record of the batch; rejects otherwise. */
  send(batch: RecordBatch, ctx: DeliveryContext): Promise<SendResult>;
  /** Releases what the sink holds (sockets). */
  close(): void;
}

/** How an encoding obtains its output buffer (default Buffer.allocUnsafe); benchmarks inject pools. */
export type Allocate = (size: number) => Buffer;

/** Hands a buffer obtained from Allocate back once its request is done (retries included). */
export type Release = (buffer: Buffer) => void;

/**
 * The wire format of one HTTP sink type: how records are framed into a request body, and the headers that say
 * what the body is. Batching, compression, retries, 413 splitting and auth are the delivery's.
 */
export interface Encoding {
  readonly contentType: string;
  /**
   * Framing bytes per record, known before encoding: exact for NDJSON (1, the newline), what the batch limits
   * count for an envelope format whose framing varies a little per record (HEC's envelope, `_bulk`'s action
   * line: see their encodings).
   */
  readonly recordOverheadBytes: number;
  /**
   * The request body for these records, one buffer from `allocate` (NDJSON: exactly
   * `sum(record.length + recordOverheadBytes)` bytes).
   */
  encode(records: readonly Buffer[], allocate: Allocate): Buffer;
  /** Headers describing one request: `records` is the number of records in it (fewer after a 413 split). */
  headers(object: RecordObject, idempotencyKey: string, records: number): Record<string, string | number>;
}

export function encodedSize(records: readonly Buffer[], recordOverheadBytes: number): number {
  let size = records.length * recordOverheadBytes;
  for (const record of records) size += record.length;
  return size;
}
