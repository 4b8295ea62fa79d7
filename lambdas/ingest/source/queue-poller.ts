import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  type Message,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import { parseArn } from '../../shared/arn';
import type { LoggerLike } from '../../shared/logger';
import type { BatchResult } from './sqs-batch';

export interface PollOptions {
  queueUrl: string;
  /** Lambda's SQS event source delivers at most 10 messages per batch from a standard queue. */
  batchSize?: number;
  waitTimeSeconds?: number;
  /** Stop after this many receives that returned nothing (0 = poll until stopped). */
  stopAfterEmptyReceives?: number;
  maxBatches?: number;
  /** Handler time budget per batch, like a Lambda timeout. */
  batchTimeoutMs: number;
  signal?: AbortSignal;
}

export interface PollTotals {
  batches: number;
  received: number;
  deleted: number;
  failed: number;
}

/** Turns an SQS message into the record shape Lambda's event source mapping hands the handler. */
export function toSqsRecord(message: Message, queueArn: string, region: string): SQSRecord {
  const attributes = message.Attributes ?? {};
  return {
    messageId: message.MessageId ?? '',
    receiptHandle: message.ReceiptHandle ?? '',
    body: message.Body ?? '',
    attributes: {
      ApproximateReceiveCount: attributes.ApproximateReceiveCount ?? '1',
      SentTimestamp: attributes.SentTimestamp ?? '',
      SenderId: attributes.SenderId ?? '',
      ApproximateFirstReceiveTimestamp: attributes.ApproximateFirstReceiveTimestamp ?? '',
    },
    messageAttributes: {},
    md5OfBody: message.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: region,
  };
}

/**
 * Polls a queue with the event source mapping's semantics: batches of up to 10, the handler's
 * `batchItemFailures` left in the queue (they come back after the visibility timeout and, past
 * maxReceiveCount, go to the DLQ), every other message deleted. A handler that throws deletes nothing.
 */
export async function pollQueue(
  sqs: SQSClient,
  handle: (records: SQSRecord[], deadline: number) => Promise<BatchResult>,
  options: PollOptions,
  logger: LoggerLike,
): Promise<PollTotals> {
  const attributes = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: options.queueUrl, AttributeNames: ['QueueArn'] }),
  );
  const queueArn = attributes.Attributes?.QueueArn;
  if (!queueArn) throw new Error(`queue ${options.queueUrl} has no QueueArn attribute`);
  const region = parseArn(queueArn).region;
  const totals: PollTotals = { batches: 0, received: 0, deleted: 0, failed: 0 };
  let emptyReceives = 0;

  while (!options.signal?.aborted) {
    if (options.maxBatches !== undefined && totals.batches >= options.maxBatches) break;
    const received = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: options.queueUrl,
        MaxNumberOfMessages: options.batchSize ?? 10,
        WaitTimeSeconds: options.waitTimeSeconds ?? 1,
        MessageSystemAttributeNames: ['All'],
      }),
      options.signal ? { abortSignal: options.signal } : {},
    );
    const messages = received.Messages ?? [];
    if (messages.length === 0) {
      emptyReceives += 1;
      if (options.stopAfterEmptyReceives && emptyReceives >= options.stopAfterEmptyReceives) break;
      continue;
    }
    emptyReceives = 0;
    totals.batches += 1;
    totals.received += messages.length;
    const records = messages.map((message) => toSqsRecord(message, queueArn, region));
    let failedIds: Set<string>;
    try {
      const result = await handle(records, Date.now() + options.batchTimeoutMs);
      failedIds = new Set(result.batchItemFailures.map((failure) => failure.itemIdentifier));
    } catch (error) {
      // Like Lambda: a handler error fails the whole batch, and every message comes back.
      logger.error('handler failed the whole batch', { error, messages: messages.length });
      totals.failed += messages.length;
      continue;
    }
    const done = messages.filter((message) => !failedIds.has(message.MessageId ?? ''));
    totals.failed += messages.length - done.length;
    for (let start = 0; start < done.length; start += 10) {
      const chunk = done.slice(start, start + 10);
      const deleted = await sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: options.queueUrl,
          Entries: chunk.map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle })),
        }),
      );
      totals.deleted += deleted.Successful?.length ?? 0;
      for (const failure of deleted.Failed ?? []) {
        logger.warn('message delivered but not deleted: it will be redelivered', { failure });
      }
    }
  }
  return totals;
}
