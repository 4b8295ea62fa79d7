import {
  CreateDeliveryStreamCommand,
  PutRecordBatchCommand,
  type FirehoseClient,
  type PutRecordBatchOutput,
} from '@aws-sdk/client-firehose';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import type { FirehoseSender } from '../lambdas/ingest/sinks/firehose';

/**
 * A Firehose stream with an S3 destination on the emulator (moto), and what it delivered. moto writes each
 * PutRecordBatch's records to the bucket at once (no buffering interval) and never fails a record: partial
 * failures come from `FlakyFirehose`.
 */
export async function createFirehoseToS3(
  firehose: FirehoseClient,
  s3: S3Client,
  names: { stream: string; bucket: string; account: string },
): Promise<void> {
  await s3.send(new CreateBucketCommand({ Bucket: names.bucket }));
  await firehose.send(
    new CreateDeliveryStreamCommand({
      DeliveryStreamName: names.stream,
      DeliveryStreamType: 'DirectPut',
      ExtendedS3DestinationConfiguration: {
        BucketARN: `arn:aws:s3:::${names.bucket}`,
        RoleARN: `arn:aws:iam::${names.account}:role/firehose-delivery`,
        // Delivered objects are the records concatenated, as Firehose writes them (no compression here).
        CompressionFormat: 'UNCOMPRESSED',
        BufferingHints: { IntervalInSeconds: 60, SizeInMBs: 5 },
      },
    }),
  );
}

/** Every line of every object in the bucket: the records Firehose delivered (one per line: NDJSON). */
export async function deliveredLines(s3: S3Client, bucket: string): Promise<string[]> {
  const lines: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
    for (const object of page.Contents ?? []) {
      const body = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: object.Key }));
      const text = await body.Body!.transformToString('utf8');
      for (const line of text.split('\n')) if (line !== '') lines.push(line);
    }
    token = page.NextContinuationToken;
  } while (token);
  return lines;
}

/**
 * A Firehose client that fails on command around a real one: `failFraction` of the records of every call get an
 * `ErrorCode` (not sent; FailedPutCount counts them, as Firehose answers), `throwNext` whole calls throw a
 * `ServiceUnavailableException`, `unavailable` makes every call throw. `failCallsLeft` limits `failFraction` to that many calls. Records the time of every call.
 */
export class FlakyFirehose implements FirehoseSender {
  readonly callTimes: number[] = [];
  failFraction = 0;
  /** Calls that still apply `failFraction`; undefined: every call. */
  failCallsLeft: number | undefined;
  throwNext = 0;
  unavailable = false;
  /** Thrown once by the next call, instead of anything else. */
  nextError: Error | undefined;
  recordsFailed = 0;
  recordsSent = 0;
  private calls = 0;

  constructor(private readonly real: FirehoseSender) {}

  send: FirehoseSender['send'] = (async (command: PutRecordBatchCommand, options?: unknown) => {
    this.callTimes.push(Date.now());
    this.calls++;
    if (this.nextError) {
      const error = this.nextError;
      this.nextError = undefined;
      throw error;
    }
    if (this.unavailable || this.throwNext > 0) {
      if (this.throwNext > 0) this.throwNext--;
      throw Object.assign(new Error('Service unavailable (injected)'), { name: 'ServiceUnavailableException' });
    }
    const failing = this.failFraction > 0 && (this.failCallsLeft === undefined || this.failCallsLeft > 0);
    if (!(command instanceof PutRecordBatchCommand) || !failing) {
      return (this.real.send as (c: unknown, o?: unknown) => Promise<unknown>)(command, options);
    }
    if (this.failCallsLeft !== undefined) this.failCallsLeft--;
    const records = command.input.Records ?? [];
    // Deterministic: every k-th record of the call fails, offset by the call number.
    const every = Math.max(1, Math.round(1 / this.failFraction));
    const failed = records.map((_, i) => (i + this.calls) % every === 0);
    const passing = records.filter((_, i) => !failed[i]);
    const answer: PutRecordBatchOutput =
      passing.length === 0
        ? { FailedPutCount: 0, RequestResponses: [] }
        : ((await (this.real.send as (c: unknown, o?: unknown) => Promise<unknown>)(
            new PutRecordBatchCommand({ ...command.input, Records: passing }),
            options,
          )) as PutRecordBatchOutput);
    const real = [...(answer.RequestResponses ?? [])];
    this.recordsFailed += failed.filter(Boolean).length;
    this.recordsSent += passing.length;
    return {
      ...answer,
      FailedPutCount: failed.filter(Boolean).length + (answer.FailedPutCount ?? 0),
      RequestResponses: failed.map((fails) =>
        fails
          ? { ErrorCode: 'ServiceUnavailableException', ErrorMessage: 'Slow down. (injected)' }
          : (real.shift() ?? { RecordId: 'moto' }),
      ),
    };
  }) as FirehoseSender['send'];
}
