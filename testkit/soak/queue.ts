/** The soak's traffic: uploads the objects a message names, sends the messages in batches, reads the DLQs. */
import { DeleteObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { ReceiveMessageCommand, SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { mapSettled } from '../../lambdas/shared/concurrency';
import { errorMessage } from '../../lambdas/shared/errors';
import type { PlannedMessage } from './plan';

/** Uploads the objects of these messages (then deletes those to be deleted before they are read). */
export async function upload(s3: S3Client, bucket: string, messages: PlannedMessage[]): Promise<void> {
  const objects = messages.flatMap((message) => message.objects);
  const settled = await mapSettled(objects, 8, (object) =>
    s3.send(new PutObjectCommand({ Bucket: bucket, Key: object.key, Body: object.make() })),
  );
  const failed = settled.filter((result) => result.status === 'rejected');
  if (failed.length > 0) throw new Error(`${failed.length} uploads failed: ${errorMessage(failed[0]!.reason)}`);
  // Deleted now, announced next: from the reader's side, deleted between notification and read.
  for (const key of messages.flatMap((message) => message.deleteBeforeRead ?? [])) {
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
  }
  for (const message of messages) message.objects = [];
}

export async function sendMessages(sqs: SQSClient, queueUrl: string, messages: PlannedMessage[]): Promise<void> {
  const chunks: PlannedMessage[][] = [];
  for (let at = 0; at < messages.length; at += 10) chunks.push(messages.slice(at, at + 10));
  const settled = await mapSettled(chunks, 4, async (chunk) => {
    const sent = await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: chunk.map((message) => ({ Id: String(message.index), MessageBody: message.body })),
      }),
    );
    if (sent.Failed?.length) throw new Error(`SendMessageBatch failed: ${JSON.stringify(sent.Failed[0])}`);
    for (const entry of sent.Successful ?? []) {
      const message = chunk.find((m) => String(m.index) === entry.Id);
      if (message) message.messageId = entry.MessageId;
    }
  });
  const failed = settled.find((result) => result.status === 'rejected');
  if (failed?.status === 'rejected') throw failed.reason;
}

export interface DeadLetter {
  /** The message as the source queue had it: `OriginalMessageId` for a hub poison move, else the DLQ's own id. */
  sourceMessageId: string;
  messageId: string;
  body: string;
  /** `PoisonReason`, when ingest moved it (hub); SQS's redrive adds none. */
  reason?: string;
}

/**
 * Everything in a dead-letter queue, each message hidden for 15 minutes once received so that it is read once;
 * stops after three empty receives in a row. Ingest's hub poison moves are new messages (SendMessage): the
 * message they stand for is named by their `OriginalMessageId` attribute (lambdas/ingest/source/settle.ts).
 */
export async function readDeadLetters(sqs: SQSClient, queueUrl: string): Promise<DeadLetter[]> {
  const found = new Map<string, DeadLetter>();
  let empty = 0;
  for (let round = 0; round < 10_000 && empty < 3; round++) {
    const received = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        VisibilityTimeout: 900,
        WaitTimeSeconds: 0,
        MessageAttributeNames: ['All'],
      }),
    );
    const messages = received.Messages ?? [];
    if (messages.length === 0) empty++;
    for (const message of messages) {
      const messageId = message.MessageId ?? '';
      const attributes = message.MessageAttributes ?? {};
      const reason = attributes.PoisonReason?.StringValue;
      found.set(messageId, {
        messageId,
        sourceMessageId: attributes.OriginalMessageId?.StringValue ?? messageId,
        body: message.Body ?? '',
        ...(reason !== undefined ? { reason } : {}),
      });
    }
  }
  return [...found.values()];
}
