import { CollectorError, awsErrorName, errorMessage } from '../shared/errors';
import { describeObject, type LogObject } from './log-object';

/**
 * What a failed or stopped S3 read means for the message (pipeline.ts reads, source/sqs-batch.ts decides):
 * - the object, or the announced version of it, no longer exists: acknowledged, since no retry can bring it back;
 * - S3 could not decrypt it with its KMS key: the message fails (nothing is lost: it is redelivered, then kept in
 *   the DLQ) and the account's registry entry says so, for TRAIL_KMS_UNREADABLE;
 * - the Lambda deadline came first: the message fails and is redelivered.
 * Anything else fails the message as it is.
 */

/**
 * GetObject's "gone" answers, both 404 (Amazon S3 API Reference, "Error responses", list of error codes):
 * `NoSuchKey` (the key does not exist) and `NoSuchVersion` ("the version ID specified in the request does not
 * match an existing version": the S3 event named a version deleted since). A malformed version id is a different
 * answer (400 `InvalidArgument`, "Invalid version id specified", as reported for S3; not in the error list above):
 * not acknowledged, it fails like any other error.
 */
const GONE = ['NoSuchKey', 'NoSuchVersion'] as const;
export type GoneCode = (typeof GONE)[number];

export function goneCode(error: unknown): GoneCode | undefined {
  const name = awsErrorName(error);
  return GONE.find((code) => code === name);
}

/** An SSE-KMS key ARN, as S3 and KMS name it in their error messages. */
const KMS_KEY_ARN = /arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+/;

/**
 * S3 cannot decrypt the object (SSE-KMS). S3 answers either `403 AccessDenied` whose message names kms:Decrypt
 * ("User: <role> is not authorized to perform: kms:Decrypt on resource: <key ARN> because no ... policy allows the
 * kms:Decrypt action", the shape public reports of S3 GetObject show), or a KMS error passed through with a `KMS.`
 * prefix (`KMS.DisabledException`, `KMS.KMSInvalidStateException` for a key pending deletion,
 * `KMS.NotFoundException`, ...). Not poison: once the
 * customer fixes the key policy, the redelivered message (or a redrive of the DLQ) goes through.
 */
export class KmsReadError extends CollectorError {
  readonly code: string;
  readonly keyArn?: string;
  readonly awsMessage: string;

  constructor(
    readonly object: LogObject,
    error: unknown,
  ) {
    const code = awsErrorName(error) ?? 'Error';
    const awsMessage = errorMessage(error);
    const keyArn = KMS_KEY_ARN.exec(awsMessage)?.[0];
    super(
      `${describeObject(object)}: S3 cannot decrypt the object with its KMS key` +
        `${keyArn ? ` ${keyArn}` : ''} (${code}: ${awsMessage}); the key policy must allow the collector's role ` +
        'kms:Decrypt (finding TRAIL_KMS_UNREADABLE); left for redelivery',
      { cause: error },
    );
    this.code = code;
    this.awsMessage = awsMessage;
    if (keyArn !== undefined) this.keyArn = keyArn;
  }
}

export function isKmsReadFailure(error: unknown): boolean {
  const name = awsErrorName(error) ?? '';
  if (name.startsWith('KMS.')) return true;
  return (name === 'AccessDenied' || name === 'AccessDeniedException') && /\bkms:Decrypt\b/i.test(errorMessage(error));
}

/** The read of an object did not finish before the Lambda's deadline (less DEADLINE_MARGIN_MS). Not poison. */
export class ReadDeadlineError extends CollectorError {}

export function readDeadlineError(object: LogObject, bytesRead: number, cause?: unknown): ReadDeadlineError {
  return new ReadDeadlineError(
    `${describeObject(object)}: reading from S3 stopped at the Lambda deadline (DEADLINE_MARGIN_MS before the ` +
      `timeout) after ${bytesRead} bytes; the message is left for redelivery`,
    cause === undefined ? undefined : { cause },
  );
}

/**
 * An abort signal for one object's S3 read: fires at `deadline` (epoch ms), or at once when it has passed.
 * `dispose` clears the timer (unref'd, so a pending one never keeps a process alive either).
 */
export function deadlineSignal(deadline: number, now: number = Date.now()): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const remaining = deadline - now;
  if (!(remaining > 0)) {
    controller.abort(new Error('deadline passed'));
    return { signal: controller.signal, dispose: () => undefined };
  }
  const timer = setTimeout(() => controller.abort(new Error('deadline reached')), remaining);
  timer.unref();
  return { signal: controller.signal, dispose: () => clearTimeout(timer) };
}

/**
 * The body, stopped when `signal` fires: a pending read is abandoned at once (the stream destroyed, so the socket
 * is released) and the iteration throws `onAbort()`, even when the body itself never answers again (a stalled
 * connection).
 */
export async function* abortableBody(
  body: AsyncIterable<Uint8Array>,
  signal: AbortSignal,
  onAbort: () => Error,
): AsyncGenerator<Uint8Array> {
  const iterator = body[Symbol.asyncIterator]();
  let rejectAborted: ((error: Error) => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    rejectAborted = reject;
  });
  aborted.catch(() => undefined);
  const onSignal = () => {
    destroy(body);
    rejectAborted?.(onAbort());
  };
  if (signal.aborted) onSignal();
  else signal.addEventListener('abort', onSignal, { once: true });
  let finished = false;
  try {
    for (;;) {
      if (signal.aborted) throw onAbort();
      const next = await Promise.race([iterator.next(), aborted]);
      if (next.done) {
        finished = true;
        return;
      }
      yield next.value;
    }
  } finally {
    signal.removeEventListener('abort', onSignal);
    // An early stop (an error downstream, or the deadline) stops the download too. After an abort the stream is
    // destroyed already, and its iterator's return() might wait on the stalled read: not awaited then.
    if (!finished) {
      if (signal.aborted) void Promise.resolve(iterator.return?.()).catch(() => undefined);
      else await iterator.return?.();
    }
  }
}

/**
 * A small body read into one buffer of its Content-Length. Fewer bytes than announced (the connection closed
 * early) or more is an error that fails the message for redelivery, not poison: the object itself may be fine.
 */
export async function readWholeBody(
  body: AsyncIterable<Uint8Array>,
  length: number,
  object: LogObject,
  onBytes: (bytes: number) => void,
): Promise<Buffer> {
  const whole = Buffer.allocUnsafe(length);
  let at = 0;
  for await (const chunk of body) {
    onBytes(chunk.byteLength);
    if (at + chunk.byteLength > length) throw bodyLengthError(object, length, at + chunk.byteLength);
    whole.set(chunk, at);
    at += chunk.byteLength;
  }
  if (at !== length) throw bodyLengthError(object, length, at);
  return whole;
}

/** The body S3 sent does not have the length its Content-Length announced. Not poison: read again. */
export class BodyLengthError extends CollectorError {}

function bodyLengthError(object: LogObject, expected: number, got: number): BodyLengthError {
  return new BodyLengthError(
    `${describeObject(object)}: GetObject announced ${expected} bytes (Content-Length) but the body ` +
      `${got > expected ? 'went on past them' : `ended after ${got}`}; the message is left for redelivery`,
  );
}

function destroy(body: unknown): void {
  const stream = body as { destroy?: (error?: Error) => void };
  if (typeof stream.destroy === 'function') stream.destroy();
}
