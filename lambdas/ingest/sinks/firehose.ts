import { PutRecordBatchCommand, type FirehoseClient, type PutRecordBatchOutput } from '@aws-sdk/client-firehose';
import { setTimeout as sleepMs } from 'node:timers/promises';
import { errorMessage } from '../../shared/errors';
import type { LoggerLike } from '../../shared/logger';
import { DownstreamError } from './http-delivery';
import type { DeliveryContext, RecordBatch, SendResult, Sink } from './sink';

/**
 * Amazon Data Firehose (docs/sinks.md, "firehose"), following the PutRecordBatch API reference
 * (https://docs.aws.amazon.com/firehose/latest/APIReference/API_PutRecordBatch.html): at most 500 records and
 * 4 MiB per call, each record at most 1,000 KiB before base64; the call can succeed with `FailedPutCount > 0`,
 * and `RequestResponses` (one per record, in order) then carries an `ErrorCode` for each record not taken, which
 * the producer sends again. Each Firehose record is one CloudTrail record as an NDJSON line (the record and
 * '\n'), so that the destination's objects are NDJSON. Through the collector's own role
 * (`firehose:PutRecordBatch` on the one stream: lib/permissions.ts).
 */
export const FIREHOSE_MAX_RECORDS_PER_CALL = 500;
export const FIREHOSE_MAX_BYTES_PER_CALL = 4 * 1024 * 1024;
export const FIREHOSE_MAX_RECORD_BYTES = 1000 * 1024;

/** The one call the sink makes (a FirehoseClient, or a wrapper injecting faults in tests). */
export type FirehoseSender = Pick<FirehoseClient, 'send'>;

export interface FirehoseSinkOptions {
  client: FirehoseSender;
  streamName: string;
  logger: LoggerLike;
  /** Per call. */
  timeoutMs: number;
  /** Calls per chunk before giving up (each retry resends only the records still failed). Default 8. */
  maxAttempts?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  random?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

/**
 * Errors of the whole call that no retry can cure (the API reference's errors, and IAM's): anything else
 * (ServiceUnavailableException, throttling, a network error or timeout, left after the SDK's own retries) is
 * retried until the attempts or the deadline run out.
 */
const PERMANENT_ERRORS = new Set([
  'ResourceNotFoundException',
  'InvalidArgumentException',
  'InvalidKMSResourceException',
  'InvalidSourceException',
  'AccessDeniedException',
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'ValidationException',
]);

export class FirehoseSink implements Sink {
  /** The newline of each NDJSON line. */
  readonly recordOverheadBytes = 1;
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly random: () => number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly options: FirehoseSinkOptions) {
    this.maxAttempts = options.maxAttempts ?? 8;
    this.baseDelayMs = options.baseDelayMs ?? 200;
    this.maxDelayMs = options.maxDelayMs ?? 10_000;
    this.random = options.random ?? Math.random;
    this.sleep = options.sleep ?? ((ms) => sleepMs(ms));
  }

  /** Resolves once Firehose took every record of the batch: chunk by chunk, failed records resent alone. */
  async send(batch: RecordBatch, ctx: DeliveryContext): Promise<SendResult> {
    const lines = batch.records.map((record) => Buffer.concat([record, NEWLINE]));
    const tooLarge = lines.findIndex((line) => line.length > FIREHOSE_MAX_RECORD_BYTES);
    if (tooLarge !== -1) {
      throw new DownstreamError(
        `Firehose stream ${this.options.streamName}: record ${tooLarge} of batch ${ctx.idempotencyKey} is ${lines[tooLarge]!.length} bytes as a line, over Firehose's ${FIREHOSE_MAX_RECORD_BYTES} bytes per record: it can never be accepted`,
        { permanent: true, attempts: 0 },
      );
    }
    const result: SendResult = { requests: 0, bytesSent: 0 };
    for (const chunk of chunks(lines)) await this.sendChunk(chunk, ctx, result);
    return result;
  }

  close(): void {
    // The client is shared (aws-clients.ts): its sockets are the process's.
  }

  private async sendChunk(lines: Buffer[], ctx: DeliveryContext, result: SendResult): Promise<void> {
    let pending = lines;
    let lastDetail = '';
    for (let attempt = 1; ; attempt++) {
      const remainingMs = ctx.deadline - Date.now();
      if (remainingMs <= 0) throw this.deadlineError(ctx, attempt - 1, pending.length, lastDetail);
      result.requests++;
      for (const line of pending) result.bytesSent += line.length;
      let answer: PutRecordBatchOutput;
      try {
        answer = await this.options.client.send(
          new PutRecordBatchCommand({
            DeliveryStreamName: this.options.streamName,
            Records: pending.map((Data) => ({ Data })),
          }),
          { abortSignal: AbortSignal.timeout(Math.min(this.options.timeoutMs, remainingMs)) },
        );
      } catch (error) {
        const name = (error as { name?: unknown }).name;
        lastDetail = `${typeof name === 'string' ? `${name}: ` : ''}${errorMessage(error)}`;
        if (typeof name === 'string' && PERMANENT_ERRORS.has(name)) {
          throw new DownstreamError(
            `Firehose stream ${this.options.streamName} refused batch ${ctx.idempotencyKey}: ${lastDetail}`,
            { permanent: true, attempts: attempt, cause: error },
          );
        }
        await this.backoff(ctx, attempt, pending.length, lastDetail);
        continue;
      }
      const failed = failedRecords(pending, answer);
      if (failed.lines.length === 0) return;
      lastDetail = `FailedPutCount ${failed.lines.length} of ${pending.length} (${failed.firstError})`;
      pending = failed.lines;
      await this.backoff(ctx, attempt, pending.length, lastDetail);
    }
  }

  private async backoff(ctx: DeliveryContext, attempt: number, records: number, detail: string): Promise<void> {
    if (attempt >= this.maxAttempts) {
      throw new DownstreamError(
        `Firehose stream ${this.options.streamName} did not take ${records} records of batch ${ctx.idempotencyKey} after ${attempt} attempts: ${detail}`,
        { permanent: false, attempts: attempt },
      );
    }
    const waitMs = Math.floor(this.random() * Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (attempt - 1)));
    if (Date.now() + waitMs >= ctx.deadline) throw this.deadlineError(ctx, attempt, records, detail);
    this.options.logger.warn('Firehose did not take every record; retrying those', {
      idempotencyKey: ctx.idempotencyKey,
      attempt,
      records,
      error: detail,
      retryInMs: waitMs,
    });
    await this.sleep(waitMs);
  }

  private deadlineError(ctx: DeliveryContext, attempts: number, records: number, detail: string): DownstreamError {
    return new DownstreamError(
      `deadline reached sending ${records} records of batch ${ctx.idempotencyKey} to Firehose stream ${this.options.streamName} after ${attempts} attempts${detail === '' ? '' : `; last error: ${detail}`}`,
      { permanent: false, attempts },
    );
  }
}

const NEWLINE = Buffer.from('\n');

/** The records of a batch in calls of at most 500 records and 4 MiB, in order. */
export function chunks(lines: readonly Buffer[]): Buffer[][] {
  const out: Buffer[][] = [];
  let current: Buffer[] = [];
  let bytes = 0;
  for (const line of lines) {
    if (
      current.length > 0 &&
      (current.length === FIREHOSE_MAX_RECORDS_PER_CALL || bytes + line.length > FIREHOSE_MAX_BYTES_PER_CALL)
    ) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(line);
    bytes += line.length;
  }
  if (current.length > 0) out.push(current);
  return out;
}

/** The records whose RequestResponses entry has an ErrorCode (all of them if the answer does not say). */
function failedRecords(sent: Buffer[], answer: PutRecordBatchOutput): { lines: Buffer[]; firstError: string } {
  if ((answer.FailedPutCount ?? 0) === 0) return { lines: [], firstError: '' };
  const responses = answer.RequestResponses ?? [];
  if (responses.length !== sent.length) return { lines: sent, firstError: 'RequestResponses do not match the records' };
  const lines: Buffer[] = [];
  let firstError = '';
  responses.forEach((response, i) => {
    if (response.ErrorCode === undefined) return;
    if (firstError === '') firstError = `${response.ErrorCode}: ${response.ErrorMessage ?? ''}`;
    lines.push(sent[i]!);
  });
  return { lines, firstError };
}
