/**
 * Settling failed messages (lambdas/ingest/source/settle.ts): the backoff each gets per receive count, on hub and
 * customer queues, the quiet fallback where the queue policy refuses ChangeMessageVisibility, and poison moved to
 * the hub DLQ with SendMessage. A fake SQS records every command; nothing here depends on time.
 */
import {
  ChangeMessageVisibilityBatchCommand,
  GetQueueAttributesCommand,
  SendMessageCommand,
} from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import { silentLogger, type LoggerLike } from '../../lambdas/shared/logger';
import { HUB_MAX_RECEIVE_COUNT, hubQueueName, retryVisibilitySeconds } from '../../lambdas/shared/topology';
import { CountTally } from '../../lambdas/ingest/runtime';
import {
  MAX_VISIBILITY_SECONDS,
  QueueSettler,
  customerQueueRetrySeconds,
  type FailedMessage,
  type SqsSender,
} from '../../lambdas/ingest/source/settle';
import { VirtualClock } from '../../testkit/virtual-sqs';

const HUB = `arn:aws:sqs:us-east-1:123456789012:${hubQueueName(3)}`;
const HUB_DLQ_URL = `https://sqs.us-east-1.amazonaws.com/123456789012/${hubQueueName(3)}-dlq`;
const CUSTOMER = 'arn:aws:sqs:eu-west-1:111122223333:outcomesqueue';

type Answer = (command: object) => unknown;

function fakeSqs(answer: Answer = () => ({})) {
  const sent: object[] = [];
  const client: SqsSender = {
    send: ((command: object) => {
      sent.push(command);
      return new Promise((resolve) => resolve(answer(command)));
    }) as never,
  };
  return {
    client,
    sent,
    visibilityCalls: () => sent.filter((c) => c instanceof ChangeMessageVisibilityBatchCommand),
    moves: () => sent.filter((c) => c instanceof SendMessageCommand),
    attributeCalls: () => sent.filter((c) => c instanceof GetQueueAttributesCommand),
  };
}

function failed(id: string, queueArn: string, receiveCount: number, poison = false): FailedMessage {
  const record = {
    messageId: id,
    receiptHandle: `rh-${id}`,
    body: `{"body of":"${id}"}`,
    eventSourceARN: queueArn,
    attributes: { ApproximateReceiveCount: String(receiveCount) },
  } as unknown as SQSRecord;
  return { record, poison, reason: poison ? `poison reason of ${id}` : `transient reason of ${id}` };
}

function settler(sqs: SqsSender, options: { logger?: LoggerLike; clock?: VirtualClock } = {}) {
  const counts = new CountTally();
  const settle = new QueueSettler({
    sqsFor: () => sqs,
    isHubQueue: (arn) => arn === HUB,
    logger: options.logger ?? silentLogger,
    counts,
    now: (options.clock ?? new VirtualClock()).now,
  });
  return { settle, counts };
}

describe('hub queues: the backoff of lambdas/shared/topology.ts, per receive count', () => {
  test('each message is hidden for retryVisibilitySeconds(ApproximateReceiveCount), 10 per call', async () => {
    const sqs = fakeSqs();
    const { settle, counts } = settler(sqs.client);
    const receiveCounts = [1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 20, HUB_MAX_RECEIVE_COUNT];
    const messages = receiveCounts.map((count) => failed(`m${count}`, HUB, count));
    const result = await settle.settle(messages);

    const calls = sqs.visibilityCalls();
    expect(calls.map((call) => call.input.Entries?.length)).toEqual([10, 2]);
    expect(calls[0]!.input.QueueUrl).toBe(`https://sqs.us-east-1.amazonaws.com/123456789012/${hubQueueName(3)}`);
    const seconds = calls.flatMap((call) => call.input.Entries!.map((entry) => entry.VisibilityTimeout));
    expect(seconds).toEqual([30, 60, 120, 240, 480, 960, 1920, 3600, 3600, 3600, 3600, 3600]);
    expect(seconds).toEqual(receiveCounts.map(retryVisibilitySeconds));
    expect(calls[0]!.input.Entries![0]!.ReceiptHandle).toBe('rh-m1');
    expect(result.get('m7')).toEqual({ kind: 'retry', visibilitySeconds: 1920 });
    expect(counts.get('VisibilityBackoffApplied')).toBe(12);
    // No GetQueueAttributes for a hub queue: its schedule does not depend on the queue's own timeout.
    expect(sqs.attributeCalls()).toHaveLength(0);
  });

  test('an entry SQS refuses (its receipt handle expired) keeps the queue timeout; the others are applied', async () => {
    const sqs = fakeSqs((command) =>
      command instanceof ChangeMessageVisibilityBatchCommand
        ? { Successful: [{ Id: '0' }], Failed: [{ Id: '1', Code: 'ReceiptHandleIsInvalid', SenderFault: true }] }
        : {},
    );
    const { settle, counts } = settler(sqs.client);
    const result = await settle.settle([failed('a', HUB, 1), failed('b', HUB, 2)]);
    expect(result.get('a')).toEqual({ kind: 'retry', visibilitySeconds: 30 });
    expect(result.get('b')).toEqual({ kind: 'retry' });
    expect(counts.get('VisibilityChangeFailed')).toBe(1);
  });

  test('poison is copied to the hub DLQ, body unchanged, the reason in message attributes, then acknowledged', async () => {
    const sqs = fakeSqs(() => ({ MessageId: 'dlq-1' }));
    const { settle, counts } = settler(sqs.client);
    const poison = failed('p1', HUB, 2, true);
    poison.reason = `bad\u0000input \ud800 ${'x'.repeat(3000)}`;
    const result = await settle.settle([poison, failed('t1', HUB, 1)]);

    expect(result.get('p1')).toEqual({ kind: 'dead-lettered', deadLetterQueueArn: `${HUB}-dlq` });
    const [move] = sqs.moves();
    expect(move!.input.QueueUrl).toBe(HUB_DLQ_URL);
    expect(move!.input.MessageBody).toBe(poison.record.body);
    const attributes = move!.input.MessageAttributes!;
    expect(Object.keys(attributes).sort()).toEqual([
      'ApproximateReceiveCount',
      'OriginalMessageId',
      'PoisonReason',
      'SourceQueueArn',
    ]);
    expect(attributes.SourceQueueArn).toEqual({ DataType: 'String', StringValue: HUB });
    expect(attributes.OriginalMessageId?.StringValue).toBe('p1');
    expect(attributes.ApproximateReceiveCount).toEqual({ DataType: 'Number', StringValue: '2' });
    // Characters SQS refuses in an attribute are replaced, and the reason is cut to a bounded length.
    expect(attributes.PoisonReason!.StringValue!.startsWith('bad\ufffdinput \ufffd x')).toBe(true);
    expect(attributes.PoisonReason!.StringValue!.length).toBeLessThan(2_100);
    // The transient failure beside it is backed off, not moved.
    expect(result.get('t1')).toEqual({ kind: 'retry', visibilitySeconds: 30 });
    expect(counts.get('MessagesDeadLettered')).toBe(1);
  });

  test('a poison message whose move fails stays failed, backed off like any failure: never lost', async () => {
    const sqs = fakeSqs((command) => {
      if (command instanceof SendMessageCommand) {
        throw Object.assign(new Error('Rate exceeded'), { name: 'RequestThrottled' });
      }
      return {};
    });
    const { settle, counts } = settler(sqs.client);
    const result = await settle.settle([failed('p1', HUB, 3, true)]);
    expect(result.get('p1')).toEqual({ kind: 'retry', visibilitySeconds: 120 });
    expect(counts.get('DeadLetterMoveFailed')).toBe(1);
  });
});

describe('customer queues: never below the queue timeout, and a quiet fallback without the permission', () => {
  test('the queue timeout doubled per receive (the schedule above starting at 30 s would reach a 5-receive DLQ in minutes)', () => {
    expect([1, 2, 3, 4, 5].map((n) => customerQueueRetrySeconds(n, 1800))).toEqual([1800, 3600, 7200, 14400, 28800]);
    expect(customerQueueRetrySeconds(9, 1800)).toBe(MAX_VISIBILITY_SECONDS);
    expect([1, 2, 3].map((n) => customerQueueRetrySeconds(n, 10))).toEqual([30, 60, 120]);
  });

  test("the queue's VisibilityTimeout is read once per container, then each message gets its backoff", async () => {
    const sqs = fakeSqs((command) =>
      command instanceof GetQueueAttributesCommand ? { Attributes: { VisibilityTimeout: '1800' } } : {},
    );
    const { settle } = settler(sqs.client);
    const first = await settle.settle([failed('a', CUSTOMER, 1), failed('b', CUSTOMER, 4)]);
    await settle.settle([failed('c', CUSTOMER, 2)]);
    expect(sqs.attributeCalls()).toHaveLength(1);
    expect(sqs.attributeCalls()[0]!.input.QueueUrl).toBe(
      'https://sqs.eu-west-1.amazonaws.com/111122223333/outcomesqueue',
    );
    expect(first.get('a')).toEqual({ kind: 'retry', visibilitySeconds: 1800 });
    expect(first.get('b')).toEqual({ kind: 'retry', visibilitySeconds: 14400 });
    const seconds = sqs.visibilityCalls().flatMap((call) => call.input.Entries!);
    expect(seconds.map((entry) => entry.VisibilityTimeout)).toEqual([1800, 14400, 3600]);
  });

  test('AccessDenied: logged once per queue, counted per message, the queue not asked again for 15 minutes', async () => {
    const warnings: string[] = [];
    const logger: LoggerLike = { ...silentLogger, warn: (message) => warnings.push(message) };
    const clock = new VirtualClock();
    const sqs = fakeSqs((command) => {
      if (command instanceof GetQueueAttributesCommand) return { Attributes: { VisibilityTimeout: '1800' } };
      throw Object.assign(new Error('Access to the resource is denied.'), { name: 'AccessDenied' });
    });
    const { settle, counts } = settler(sqs.client, { logger, clock });
    const first = await settle.settle([failed('a', CUSTOMER, 1), failed('b', CUSTOMER, 1)]);
    expect(first.get('a')).toEqual({ kind: 'retry' });
    await settle.settle([failed('c', CUSTOMER, 2)]);
    expect(sqs.visibilityCalls()).toHaveLength(1);
    clock.advance(15 * 60_000);
    await settle.settle([failed('d', CUSTOMER, 3)]);
    expect(sqs.visibilityCalls()).toHaveLength(2);
    expect(warnings.filter((w) => w.startsWith('ingest may not change visibility'))).toHaveLength(1);
    expect(counts.get('VisibilityChangeDenied')).toBe(3);
    expect(counts.get('VisibilityChangeSkipped')).toBe(1);
  });

  test('poison on a customer queue is left as it was: its redrive policy moves it', async () => {
    const sqs = fakeSqs();
    const { settle } = settler(sqs.client);
    const result = await settle.settle([failed('p', CUSTOMER, 1, true)]);
    expect(result.get('p')).toEqual({ kind: 'retry' });
    expect(sqs.sent).toHaveLength(0);
  });
});
