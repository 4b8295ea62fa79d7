/**
 * `dlq list|redrive` over a modelled SQS. moto 5.2.1 does not implement StartMessageMoveTask or
 * ListMessageMoveTasks, so the model follows the SQS API Reference instead: a task moves messages out of a queue
 * that is another queue's dead-letter queue, only one task per queue may be active, and
 * MaxNumberOfMessagesPerSecond is at most 500.
 */
import {
  GetQueueAttributesCommand,
  ListMessageMoveTasksCommand,
  StartMessageMoveTaskCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import {
  deadLetterQueues,
  describeDeadLetterQueues,
  redriveDeadLetterQueues,
  type DeadLetterQueue,
  type DlqDeps,
} from '../../bin/commands/dlq';
import type { AccountRecord } from '../../lambdas/shared/registry';
import { hubQueueName } from '../../lambdas/shared/topology';

const COLLECTOR = '999988887777';
const CUSTOMER = '111122223333';
const HUB = [0, 1].map((shard) => `arn:aws:sqs:us-east-1:${COLLECTOR}:${hubQueueName(shard)}`);
const customerRecord: AccountRecord = {
  accountId: CUSTOMER,
  externalId: 'x'.repeat(16),
  mode: 'apply',
  logArchiveFor: [],
  registeredAt: '2026-11-01T00:00:00.000Z',
  status: 'healthy',
  queueArn: `arn:aws:sqs:us-east-1:${CUSTOMER}:outcomesqueue`,
};
const hubRecord: AccountRecord = {
  ...customerRecord,
  accountId: '222233334444',
  ingestTopology: 'hub',
  ingestShard: 1,
};

/** SQS as its API reference describes the move task; `denied` queues answer AccessDenied to StartMessageMoveTask. */
class ModelledSqs {
  readonly depth = new Map<string, number>();
  readonly running = new Set<string>();
  readonly started: { SourceArn?: string; DestinationArn?: string; MaxNumberOfMessagesPerSecond?: number }[] = [];
  constructor(readonly denied = new Set<string>()) {}
  send = (command: unknown): Promise<unknown> => {
    if (command instanceof GetQueueAttributesCommand) {
      const url = command.input.QueueUrl ?? '';
      const arn = [...this.depth.keys()].find((candidate) => url.endsWith(`/${candidate.split(':')[5]}`));
      if (arn === undefined) return Promise.reject(Object.assign(new Error('no queue'), { name: 'QueueDoesNotExist' }));
      return Promise.resolve({ Attributes: { ApproximateNumberOfMessages: String(this.depth.get(arn)) } });
    }
    if (command instanceof ListMessageMoveTasksCommand) {
      const arn = command.input.SourceArn ?? '';
      return Promise.resolve({
        Results: this.running.has(arn) ? [{ Status: 'RUNNING', ApproximateNumberOfMessagesMoved: 1 }] : [],
      });
    }
    if (command instanceof StartMessageMoveTaskCommand) {
      const input = command.input;
      if (this.denied.has(input.SourceArn ?? '')) {
        return Promise.reject(Object.assign(new Error('not authorized'), { name: 'AccessDenied' }));
      }
      if (this.running.has(input.SourceArn ?? '')) {
        return Promise.reject(Object.assign(new Error('a task is active'), { name: 'UnsupportedOperation' }));
      }
      if ((input.MaxNumberOfMessagesPerSecond ?? 0) > 500) {
        return Promise.reject(Object.assign(new Error('rate too high'), { name: 'InvalidParameterValue' }));
      }
      this.started.push(input);
      this.running.add(input.SourceArn ?? '');
      return Promise.resolve({ TaskHandle: `task-${this.started.length}` });
    }
    return Promise.reject(new Error(`unexpected command ${String(command)}`));
  };
}

function depsFor(sqs: ModelledSqs): DlqDeps & { asked: DeadLetterQueue[] } {
  const asked: DeadLetterQueue[] = [];
  return {
    asked,
    sqsFor: (queue) => {
      asked.push(queue);
      return Promise.resolve(sqs as unknown as Pick<SQSClient, 'send'>);
    },
  };
}

const records = new Map([customerRecord, hubRecord].map((record) => [record.accountId, record]));

describe('which dead-letter queues a deployment has', () => {
  test('one per hub queue (destination: that hub queue), one per customer-queue account; hub accounts have none', () => {
    const queues = deadLetterQueues(HUB, [customerRecord, hubRecord]);
    expect(queues).toEqual([
      { arn: `${HUB[0]}-dlq`, destinationArn: HUB[0], topology: 'hub', accountId: COLLECTOR, shard: 0 },
      { arn: `${HUB[1]}-dlq`, destinationArn: HUB[1], topology: 'hub', accountId: COLLECTOR, shard: 1 },
      {
        arn: `arn:aws:sqs:us-east-1:${CUSTOMER}:outcomesqueue-dlq`,
        destinationArn: customerRecord.queueArn,
        topology: 'customer-queue',
        accountId: CUSTOMER,
      },
    ]);
  });
});

describe('dlq redrive (SQS API Reference, StartMessageMoveTask)', () => {
  const queues = deadLetterQueues(HUB, [customerRecord]);

  test('non-empty queues get one task each, with the destination named and the rate given; empty ones are skipped', async () => {
    const sqs = new ModelledSqs();
    sqs.depth.set(`${HUB[0]}-dlq`, 3);
    sqs.depth.set(`${HUB[1]}-dlq`, 0);
    sqs.depth.set(`arn:aws:sqs:us-east-1:${CUSTOMER}:outcomesqueue-dlq`, 0);
    const deps = depsFor(sqs);
    const states = await describeDeadLetterQueues(queues, records, deps);
    const outcomes = await redriveDeadLetterQueues(states, records, { maxPerSecond: 20, dryRun: false }, deps);
    expect(outcomes.map((outcome) => outcome.result)).toEqual(['started', 'skipped', 'skipped']);
    // Poison messages were put in the hub DLQ by ingest (SendMessage), not by SQS: the destination must be given.
    expect(sqs.started).toEqual([
      { SourceArn: `${HUB[0]}-dlq`, DestinationArn: HUB[0], MaxNumberOfMessagesPerSecond: 20 },
    ]);
  });

  test('a queue whose task is still running is skipped, not started twice (one active task per queue)', async () => {
    const sqs = new ModelledSqs();
    sqs.depth.set(`${HUB[0]}-dlq`, 3);
    sqs.running.add(`${HUB[0]}-dlq`);
    const deps = depsFor(sqs);
    const states = await describeDeadLetterQueues(queues.slice(0, 1), records, deps);
    expect(states[0]?.task).toEqual({ status: 'RUNNING', moved: 1 });
    const outcomes = await redriveDeadLetterQueues(states, records, { maxPerSecond: 20, dryRun: false }, deps);
    expect(outcomes).toEqual([{ queue: `${HUB[0]}-dlq`, result: 'skipped', reason: 'a move task is RUNNING' }]);
    expect(sqs.started).toEqual([]);
  });

  test('a customer DLQ the role may not redrive fails naming the missing permission and the command to run', async () => {
    const customerDlq = `arn:aws:sqs:us-east-1:${CUSTOMER}:outcomesqueue-dlq`;
    const sqs = new ModelledSqs(new Set([customerDlq]));
    sqs.depth.set(`${HUB[0]}-dlq`, 2);
    sqs.depth.set(`${HUB[1]}-dlq`, 0);
    sqs.depth.set(customerDlq, 4);
    const deps = depsFor(sqs);
    const states = await describeDeadLetterQueues(queues, records, deps);
    const outcomes = await redriveDeadLetterQueues(states, records, { maxPerSecond: 50, dryRun: false }, deps);
    expect(outcomes[0]).toMatchObject({ result: 'started' });
    expect(outcomes[2]).toMatchObject({
      result: 'failed',
      error: expect.stringContaining('does not allow sqs:StartMessageMoveTask'),
    });
    expect(outcomes[2]).toMatchObject({ error: expect.stringContaining(`--source-arn ${customerDlq}`) });
  });

  test('a dry run moves nothing; a rate above 500 is refused before any call', async () => {
    const sqs = new ModelledSqs();
    sqs.depth.set(`${HUB[0]}-dlq`, 5);
    const deps = depsFor(sqs);
    const states = await describeDeadLetterQueues(queues.slice(0, 1), records, deps);
    expect(await redriveDeadLetterQueues(states, records, { maxPerSecond: 10, dryRun: true }, deps)).toEqual([
      { queue: `${HUB[0]}-dlq`, result: 'skipped', reason: 'dry run: would move 5' },
    ]);
    await expect(redriveDeadLetterQueues(states, records, { maxPerSecond: 501, dryRun: false }, deps)).rejects.toThrow(
      '--max-per-second must be 1-500',
    );
    expect(sqs.started).toEqual([]);
  });

  test('a queue that cannot be read is listed with its error and does not stop the others', async () => {
    const sqs = new ModelledSqs();
    sqs.depth.set(`${HUB[1]}-dlq`, 1);
    const deps = depsFor(sqs);
    const states = await describeDeadLetterQueues(queues.slice(0, 2), records, deps);
    expect(states[0]).toMatchObject({ error: expect.stringContaining('QueueDoesNotExist') });
    expect(states[1]).toMatchObject({ messages: 1 });
  });
});
