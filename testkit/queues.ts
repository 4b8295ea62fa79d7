/** Queue helpers for the emulator: how many messages a queue holds, and everything in it. */
import { GetQueueAttributesCommand, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';

/** Approximate counts: messages waiting (visible) and messages received but not yet deleted (in flight). */
export async function queueCounts(sqs: SQSClient, queueUrl: string): Promise<{ visible: number; inFlight: number }> {
  const attributes = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return {
    visible: Number(attributes.Attributes?.ApproximateNumberOfMessages ?? 0),
    inFlight: Number(attributes.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0),
  };
}

/**
 * Receives every message in the queue (a dead-letter queue, typically) and hides each for 15 minutes, so that
 * each is read once; stops after three empty receives in a row.
 */
export async function drainQueue(sqs: SQSClient, queueUrl: string): Promise<{ messageId: string; body: string }[]> {
  const found = new Map<string, string>();
  let empty = 0;
  for (let round = 0; round < 10_000 && empty < 3; round++) {
    const received = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        VisibilityTimeout: 900,
        WaitTimeSeconds: 0,
      }),
    );
    const messages = received.Messages ?? [];
    if (messages.length === 0) empty++;
    for (const message of messages) found.set(message.MessageId ?? '', message.Body ?? '');
  }
  return [...found].map(([messageId, body]) => ({ messageId, body }));
}
