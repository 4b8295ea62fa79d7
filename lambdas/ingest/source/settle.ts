import {
  ChangeMessageVisibilityBatchCommand,
  GetQueueAttributesCommand,
  SendMessageCommand,
  type MessageAttributeValue,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import { queueUrlFromArn } from '../../shared/arn';
import { awsErrorName, errorMessage } from '../../shared/errors';
import type { LoggerLike } from '../../shared/logger';
import { HUB_MAX_RECEIVE_COUNT, hubDeadLetterQueueArn, retryVisibilitySeconds } from '../../shared/topology';
import type { CountSink } from './sqs-batch';

/**
 * What happens to a message that failed, before it is handed back to SQS (docs/reliability.md):
 * - poison on a hub queue: copied at once to the hub queue's DLQ with SendMessage (body unchanged, the reason in
 *   message attributes), then acknowledged. If that SendMessage fails it stays failed: never lost;
 * - any other failure on a hub queue: hidden for `retryVisibilitySeconds(receiveCount)` with
 *   ChangeMessageVisibility, so a long outage spends `HUB_MAX_RECEIVE_COUNT` receives over ~33 hours;
 * - a transient failure on a customer queue: a queue whose redrive policy allows HUB_MAX_RECEIVE_COUNT receives
 *   or more (the queues reconcile creates now) gets the hub schedule, ~33 hours within its 4-day retention; an
 *   older queue (maxReceiveCount 5) gets `customerQueueRetrySeconds`, never less than its own visibility timeout,
 *   since the hub schedule, which starts at 30 s, would reach its DLQ in minutes. A queue whose policy does not let ingest change visibility (AccessDenied) keeps its own timeout:
 *   logged once per queue, counted. Poison on a customer queue is left as it was (its redrive policy moves it).
 * The message stays in `batchItemFailures` whenever the visibility change fails: a failure here never loses it.
 * SQS API Reference: ChangeMessageVisibility (0 to 43,200 s, 12 hours at most), ChangeMessageVisibilityBatch (10
 * entries, each answered on its own), SendMessage (message attributes: at most 10, names of letters, digits, `-`,
 * `_` and `.`).
 */
export type SqsSender = Pick<SQSClient, 'send'>;

/** SQS refuses a visibility timeout above 12 hours (ChangeMessageVisibility, SQS API Reference). */
export const MAX_VISIBILITY_SECONDS = 43_200;

/** After AccessDenied (or a queue that cannot be read), the queue is not asked again for this long. */
const QUEUE_DENIAL_TTL_MS = 15 * 60_000;

/** The most a poison reason takes of a message's size limit (body and attributes count together). */
const MAX_REASON_CHARS = 2_000;

export interface FailedMessage {
  record: SQSRecord;
  poison: boolean;
  reason: string;
}

export type Settlement =
  /** Copied to the hub DLQ: acknowledged. */
  | { kind: 'dead-lettered'; deadLetterQueueArn: string }
  /** Left failed; `visibilitySeconds` when its backoff was applied. */
  | { kind: 'retry'; visibilitySeconds?: number };

export interface QueueSettlerOptions {
  /** The collector's own SQS client for a queue (its region): hub queues, and customer queues whose policy allows it. */
  sqsFor(queueArn: string): SqsSender;
  isHubQueue(queueArn: string): boolean;
  logger: LoggerLike;
  counts: CountSink;
  now?: () => number;
  /** The hub schedule, seconds hidden after the n-th receive; default `retryVisibilitySeconds` (the soak scales it). */
  retrySeconds?: (receiveCount: number) => number;
}

/** Customer queues: the queue's own timeout doubled per receive (30 min, 1 h, 2 h, 4 h, 8 h for 1800 s), 12 h at most. */
export function customerQueueRetrySeconds(receiveCount: number, queueVisibilitySeconds: number): number {
  const exponent = Math.max(0, Math.min(receiveCount - 1, 30));
  const doubled = queueVisibilitySeconds * 2 ** exponent;
  return Math.min(MAX_VISIBILITY_SECONDS, Math.max(retryVisibilitySeconds(receiveCount), doubled));
}

/** What the retry schedule of a customer queue depends on. */
interface CustomerQueueRetry {
  visibilitySeconds: number;
  /** The redrive policy's maxReceiveCount; undefined without one (or unreadable). */
  maxReceiveCount?: number;
}

function maxReceiveCountOf(redrivePolicy: string | undefined): number | undefined {
  if (redrivePolicy === undefined) return undefined;
  try {
    const count = Number((JSON.parse(redrivePolicy) as { maxReceiveCount?: unknown }).maxReceiveCount);
    return Number.isSafeInteger(count) && count > 0 ? count : undefined;
  } catch {
    return undefined;
  }
}

function receiveCountOf(record: SQSRecord): number {
  const count = Number(record.attributes?.ApproximateReceiveCount);
  return Number.isSafeInteger(count) && count >= 1 ? count : 1;
}

/** Characters an SQS message attribute may hold (SendMessage: #x9, #xA, #xD, #x20-#xD7FF, #xE000-#xFFFD, ...). */
function attributeText(text: string, max = MAX_REASON_CHARS): string {
  // eslint-disable-next-line no-control-regex
  const clean = text.replace(/[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]/gu, '\ufffd');
  return clean.length > max ? `${clean.slice(0, max)}...` : clean;
}

const text = (value: string): MessageAttributeValue => ({ DataType: 'String', StringValue: value });

/** One per container: what it learnt about each queue (visibility timeout, denials) is kept between batches. */
export class QueueSettler {
  private readonly visibilityTimeouts = new Map<string, Promise<CustomerQueueRetry | undefined>>();
  private readonly deniedUntil = new Map<string, number>();
  private readonly now: () => number;

  constructor(private readonly options: QueueSettlerOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Settles every failed message; the map says, per messageId, whether it was dead-lettered or is to be retried. */
  async settle(failed: readonly FailedMessage[]): Promise<Map<string, Settlement>> {
    const settlements = new Map<string, Settlement>();
    const retries: FailedMessage[] = [];
    await Promise.all(
      failed.map(async (message) => {
        if (message.poison && this.options.isHubQueue(message.record.eventSourceARN)) {
          const moved = await this.deadLetter(message);
          if (moved) {
            settlements.set(message.record.messageId, { kind: 'dead-lettered', deadLetterQueueArn: moved });
            return;
          }
          retries.push(message);
        } else if (!message.poison) {
          retries.push(message);
        }
        settlements.set(message.record.messageId, { kind: 'retry' });
      }),
    );
    const byQueue = new Map<string, FailedMessage[]>();
    for (const message of retries) {
      const queue = message.record.eventSourceARN;
      byQueue.set(queue, [...(byQueue.get(queue) ?? []), message]);
    }
    for (const [queueArn, messages] of byQueue) {
      for (const [messageId, seconds] of await this.backOff(queueArn, messages)) {
        settlements.set(messageId, { kind: 'retry', visibilitySeconds: seconds });
      }
    }
    return settlements;
  }

  /** SendMessage to the hub DLQ; the DLQ's ARN when it worked. */
  private async deadLetter(message: FailedMessage): Promise<string | undefined> {
    const { record } = message;
    const deadLetterQueueArn = hubDeadLetterQueueArn(record.eventSourceARN);
    try {
      await this.options.sqsFor(deadLetterQueueArn).send(
        new SendMessageCommand({
          QueueUrl: queueUrlFromArn(deadLetterQueueArn),
          MessageBody: record.body,
          MessageAttributes: {
            PoisonReason: text(attributeText(message.reason)),
            SourceQueueArn: text(record.eventSourceARN),
            OriginalMessageId: text(record.messageId),
            ApproximateReceiveCount: { DataType: 'Number', StringValue: String(receiveCountOf(record)) },
          },
        }),
      );
      this.options.counts.count('MessagesDeadLettered', 1);
      this.options.logger.warn('poison message moved to the hub dead-letter queue', {
        messageId: record.messageId,
        eventSourceARN: record.eventSourceARN,
        deadLetterQueueArn,
        reason: message.reason,
      });
      return deadLetterQueueArn;
    } catch (error) {
      this.options.counts.count('DeadLetterMoveFailed', 1);
      this.options.logger.error('could not move a poison message to the hub dead-letter queue: it stays failed', {
        messageId: record.messageId,
        deadLetterQueueArn,
        error: errorMessage(error),
      });
      return undefined;
    }
  }

  /** ChangeMessageVisibilityBatch for the messages of one queue; the seconds applied per messageId. */
  private async backOff(queueArn: string, messages: FailedMessage[]): Promise<Map<string, number>> {
    const applied = new Map<string, number>();
    if ((this.deniedUntil.get(queueArn) ?? 0) > this.now()) {
      this.options.counts.count('VisibilityChangeSkipped', messages.length);
      return applied;
    }
    const hub = this.options.isHubQueue(queueArn);
    const queue = hub ? undefined : await this.customerQueueRetry(queueArn);
    if (!hub && queue === undefined) {
      this.options.counts.count('VisibilityChangeSkipped', messages.length);
      return applied;
    }
    const entries = messages.map((message, index) => {
      const receives = receiveCountOf(message.record);
      const seconds =
        hub || (queue?.maxReceiveCount ?? 0) >= HUB_MAX_RECEIVE_COUNT
          ? (this.options.retrySeconds ?? retryVisibilitySeconds)(receives)
          : customerQueueRetrySeconds(receives, queue!.visibilitySeconds);
      return {
        Id: String(index),
        ReceiptHandle: message.record.receiptHandle,
        VisibilityTimeout: Math.min(MAX_VISIBILITY_SECONDS, seconds),
        messageId: message.record.messageId,
      };
    });
    const sqs = this.options.sqsFor(queueArn);
    for (let start = 0; start < entries.length; start += 10) {
      const chunk = entries.slice(start, start + 10);
      try {
        const answer = await sqs.send(
          new ChangeMessageVisibilityBatchCommand({
            QueueUrl: queueUrlFromArn(queueArn),
            Entries: chunk.map(({ Id, ReceiptHandle, VisibilityTimeout }) => ({
              Id,
              ReceiptHandle,
              VisibilityTimeout,
            })),
          }),
        );
        const failedIds = new Set((answer.Failed ?? []).map((failure) => failure.Id));
        for (const entry of chunk) {
          if (!failedIds.has(entry.Id)) applied.set(entry.messageId, entry.VisibilityTimeout);
        }
        if (failedIds.size > 0) {
          this.options.counts.count('VisibilityChangeFailed', failedIds.size);
          // Typically ReceiptHandleIsInvalid: the message became visible again while it was processed.
          this.options.logger.warn('visibility not changed for some messages: they return at the queue timeout', {
            queueArn,
            failed: answer.Failed,
          });
        }
      } catch (error) {
        this.noteRefusal(queueArn, 'ChangeMessageVisibility', error, chunk.length);
      }
    }
    if (applied.size > 0) this.options.counts.count('VisibilityBackoffApplied', applied.size);
    return applied;
  }

  /**
   * A customer queue's VisibilityTimeout and its redrive policy's maxReceiveCount, read once per container;
   * undefined when they cannot be read.
   */
  private customerQueueRetry(queueArn: string): Promise<CustomerQueueRetry | undefined> {
    let pending = this.visibilityTimeouts.get(queueArn);
    if (!pending) {
      pending = this.options
        .sqsFor(queueArn)
        .send(
          new GetQueueAttributesCommand({
            QueueUrl: queueUrlFromArn(queueArn),
            AttributeNames: ['VisibilityTimeout', 'RedrivePolicy'],
          }),
        )
        .then((answer): CustomerQueueRetry | undefined => {
          const seconds = Number(answer.Attributes?.VisibilityTimeout);
          if (!Number.isSafeInteger(seconds) || seconds < 0) return undefined;
          return { visibilitySeconds: seconds, maxReceiveCount: maxReceiveCountOf(answer.Attributes?.RedrivePolicy) };
        })
        .catch((error: unknown) => {
          this.visibilityTimeouts.delete(queueArn);
          this.noteRefusal(queueArn, 'GetQueueAttributes', error, 0);
          return undefined;
        });
      this.visibilityTimeouts.set(queueArn, pending);
    }
    return pending;
  }

  /** AccessDenied and kin: the queue keeps its own timeout; said once per queue per denial period. */
  private noteRefusal(queueArn: string, operation: string, error: unknown, messages: number): void {
    const name = awsErrorName(error) ?? 'Error';
    const denied = /AccessDenied|NonExistentQueue|QueueDoesNotExist|InvalidSecurity/i.test(name);
    if (messages > 0) this.options.counts.count(denied ? 'VisibilityChangeDenied' : 'VisibilityChangeFailed', messages);
    if (!denied) {
      this.options.logger.warn('visibility change failed: the messages return at the queue timeout', {
        queueArn,
        operation,
        error: errorMessage(error),
      });
      return;
    }
    const first = !this.deniedUntil.has(queueArn);
    this.deniedUntil.set(queueArn, this.now() + QUEUE_DENIAL_TTL_MS);
    if (first) {
      this.options.logger.warn('ingest may not change visibility on this queue: failed messages keep its own timeout', {
        queueArn,
        operation,
        error: `${name}: ${errorMessage(error)}`,
      });
    }
  }
}
