/**
 * An in-memory SQS standard queue on a virtual clock, for simulating hours of redelivery in milliseconds: the
 * outage tests (test/reliability/downstream-outage.test.ts) drive ingest's real batch code against it.
 *
 * What it models, from the Amazon SQS Developer Guide and API Reference:
 * - a received message is invisible for the queue's VisibilityTimeout, or what ChangeMessageVisibility set (counted
 *   from the call; 0 to 43,200 s; a receipt handle from an earlier receive is refused: ReceiptHandleIsInvalid);
 * - ApproximateReceiveCount counts receives; a message whose count has reached the redrive policy's
 *   maxReceiveCount is moved to the dead-letter queue on its next receive instead of being delivered
 *   ("Using dead-letter queues in Amazon SQS");
 * - messages older than MessageRetentionPeriod are deleted (for standard queues, a dead-lettered message keeps its
 *   original enqueue time, "Setting-up dead-letter queue retention");
 * - a queue whose policy does not allow the caller ChangeMessageVisibility answers AccessDenied.
 * It does not model delivery more than once, nor ordering: the tests check outcomes, not order.
 */
import {
  ChangeMessageVisibilityBatchCommand,
  GetQueueAttributesCommand,
  SendMessageCommand,
  type ChangeMessageVisibilityBatchCommandOutput,
} from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import { parseArn, queueUrlFromArn } from '../lambdas/shared/arn';
import type { SqsSender } from '../lambdas/ingest/source/settle';

export class VirtualClock {
  constructor(private ms = Date.UTC(2026, 10, 1)) {}
  now = (): number => this.ms;
  advance(ms: number): void {
    this.ms += ms;
  }
  set(ms: number): void {
    this.ms = Math.max(this.ms, ms);
  }
}

export interface VirtualQueueSettings {
  visibilityTimeoutSeconds: number;
  retentionSeconds: number;
  redrive?: { deadLetterArn: string; maxReceiveCount: number };
  /** The caller may not change visibility here (a customer queue whose policy lacks sqs:ChangeMessageVisibility). */
  denyChangeVisibility?: boolean;
}

interface StoredMessage {
  id: string;
  body: string;
  sentAt: number;
  visibleAt: number;
  receiveCount: number;
  receiptHandle?: string;
  attributes: Record<string, { DataType?: string; StringValue?: string }>;
}

interface VirtualQueue {
  arn: string;
  settings: VirtualQueueSettings;
  messages: Map<string, StoredMessage>;
  expired: number;
}

export class VirtualSqs {
  private readonly queues = new Map<string, VirtualQueue>();
  private readonly byUrl = new Map<string, string>();
  private sequence = 0;
  /** Every API call the code under test made, by operation. */
  readonly calls = new Map<string, number>();

  constructor(private readonly clock: VirtualClock) {}

  createQueue(arn: string, settings: VirtualQueueSettings): void {
    this.queues.set(arn, { arn, settings, messages: new Map(), expired: 0 });
    this.byUrl.set(queueUrlFromArn(arn), arn);
  }

  send(
    queueArn: string,
    body: string,
    attributes: StoredMessage['attributes'] = {},
    sentAt = this.clock.now(),
  ): string {
    const queue = this.queue(queueArn);
    this.sequence += 1;
    const id = `m-${String(this.sequence).padStart(6, '0')}`;
    queue.messages.set(id, { id, body, sentAt, visibleAt: this.clock.now(), receiveCount: 0, attributes });
    return id;
  }

  /** Up to `max` visible messages as Lambda hands them over, each now invisible for the queue's timeout. */
  receive(queueArn: string, max = 10): SQSRecord[] {
    const queue = this.queue(queueArn);
    const now = this.clock.now();
    const received: SQSRecord[] = [];
    for (const message of [...queue.messages.values()]) {
      if (received.length >= max) break;
      if (now - message.sentAt >= queue.settings.retentionSeconds * 1000) {
        queue.messages.delete(message.id);
        queue.expired += 1;
        continue;
      }
      if (message.visibleAt > now) continue;
      const redrive = queue.settings.redrive;
      if (redrive && message.receiveCount >= redrive.maxReceiveCount) {
        queue.messages.delete(message.id);
        const target = this.queue(redrive.deadLetterArn);
        target.messages.set(message.id, { ...message, visibleAt: now, receiveCount: 0 });
        continue;
      }
      message.receiveCount += 1;
      message.visibleAt = now + queue.settings.visibilityTimeoutSeconds * 1000;
      message.receiptHandle = `rh-${message.id}-${message.receiveCount}`;
      received.push({
        messageId: message.id,
        receiptHandle: message.receiptHandle,
        body: message.body,
        attributes: {
          ApproximateReceiveCount: String(message.receiveCount),
          SentTimestamp: String(message.sentAt),
          SenderId: 'AIDAVIRTUAL',
          ApproximateFirstReceiveTimestamp: String(now),
        },
        messageAttributes: {},
        md5OfBody: '',
        eventSource: 'aws:sqs',
        eventSourceARN: queueArn,
        awsRegion: parseArn(queueArn).region,
      });
    }
    return received;
  }

  /** What Lambda does with the messages a batch did not report as failed. */
  delete(queueArn: string, receiptHandle: string): void {
    const queue = this.queue(queueArn);
    for (const message of queue.messages.values()) {
      if (message.receiptHandle === receiptHandle) queue.messages.delete(message.id);
    }
  }

  /** When the next message of the queue becomes visible (undefined when it holds none). */
  nextVisibleAt(queueArn: string): number | undefined {
    let next: number | undefined;
    for (const message of this.queue(queueArn).messages.values()) {
      next = next === undefined ? message.visibleAt : Math.min(next, message.visibleAt);
    }
    return next;
  }

  depth(queueArn: string): number {
    return this.queue(queueArn).messages.size;
  }

  bodies(queueArn: string): { body: string; attributes: StoredMessage['attributes'] }[] {
    return [...this.queue(queueArn).messages.values()].map(({ body, attributes }) => ({ body, attributes }));
  }

  expired(queueArn: string): number {
    return this.queue(queueArn).expired;
  }

  /** An SQS client over these queues, for the settler: the calls it makes, answered as SQS answers them. */
  readonly client: SqsSender = {
    // A refusal rejects the promise, as the SDK's does, rather than throwing from send() itself.
    send: (command: unknown) => new Promise((resolve) => resolve(this.answer(command))) as never,
  };

  private answer(command: unknown): unknown {
    if (command instanceof ChangeMessageVisibilityBatchCommand) {
      this.count('ChangeMessageVisibilityBatch');
      const queue = this.queueByUrl(command.input.QueueUrl);
      if (queue.settings.denyChangeVisibility) {
        throw Object.assign(new Error('Access to the resource is denied.'), { name: 'AccessDenied' });
      }
      const output: Pick<ChangeMessageVisibilityBatchCommandOutput, 'Successful' | 'Failed'> = {
        Successful: [],
        Failed: [],
      };
      for (const entry of command.input.Entries ?? []) {
        const message = [...queue.messages.values()].find((stored) => stored.receiptHandle === entry.ReceiptHandle);
        const seconds = entry.VisibilityTimeout ?? 0;
        if (!message || seconds < 0 || seconds > 43_200) {
          output.Failed!.push({ Id: entry.Id, Code: 'ReceiptHandleIsInvalid', SenderFault: true });
          continue;
        }
        message.visibleAt = this.clock.now() + seconds * 1000;
        output.Successful!.push({ Id: entry.Id });
      }
      return output;
    }
    if (command instanceof SendMessageCommand) {
      this.count('SendMessage');
      const queue = this.queueByUrl(command.input.QueueUrl);
      return {
        MessageId: this.send(queue.arn, command.input.MessageBody ?? '', command.input.MessageAttributes ?? {}),
      };
    }
    if (command instanceof GetQueueAttributesCommand) {
      this.count('GetQueueAttributes');
      const queue = this.queueByUrl(command.input.QueueUrl);
      return {
        Attributes: {
          QueueArn: queue.arn,
          VisibilityTimeout: String(queue.settings.visibilityTimeoutSeconds),
          MessageRetentionPeriod: String(queue.settings.retentionSeconds),
        },
      };
    }
    throw new Error(`VirtualSqs does not model ${(command as object).constructor.name}`);
  }

  private count(operation: string): void {
    this.calls.set(operation, (this.calls.get(operation) ?? 0) + 1);
  }

  private queue(arn: string): VirtualQueue {
    const queue = this.queues.get(arn);
    if (!queue)
      throw Object.assign(new Error(`The specified queue does not exist: ${arn}`), { name: 'QueueDoesNotExist' });
    return queue;
  }

  private queueByUrl(url: string | undefined): VirtualQueue {
    const arn = url === undefined ? undefined : this.byUrl.get(url);
    if (arn === undefined) {
      throw Object.assign(new Error(`The specified queue does not exist: ${url}`), { name: 'QueueDoesNotExist' });
    }
    return this.queue(arn);
  }
}
