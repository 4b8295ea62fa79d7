/**
 * `dlq list` and `dlq redrive --dry-run` against the emulator: a hub DLQ in the collector account (read with the
 * CLI's own credentials) and a customer-queue account's outcomesqueue-dlq (read through the customer role).
 * moto 5.2.1 implements neither StartMessageMoveTask nor ListMessageMoveTasks: the move itself is covered by
 * test/unit/dlq-command.test.ts over a model of the SQS API Reference.
 */
import { CreateQueueCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { hubDeadLetterQueueName, hubQueueName } from '../../lambdas/shared/topology';
import { runCli } from '../../testkit/cli';
import { customerAdminClients } from '../../testkit/customer-clients';
import { createChain } from '../../testkit/demo-chain';
import { accountRecord, createRegistry } from '../../testkit/registry';
import { COLLECTOR_ACCOUNT, REGION, useEmulator } from '../../testkit/test-emulator';

const TABLE = 'accounts-dlq-test';
const CUSTOMER = '111122223333';
const hubArn = `arn:aws:sqs:${REGION}:${COLLECTOR_ACCOUNT}:${hubQueueName(0)}`;

describe('dlq list | redrive against the emulator', () => {
  let env: Record<string, string>;

  beforeAll(async () => {
    await useEmulator();
    const registry = await createRegistry(TABLE, { region: REGION });
    const collector = new SQSClient({ region: REGION });
    const hub = await collector.send(new CreateQueueCommand({ QueueName: hubQueueName(0) }));
    const dlq = await collector.send(new CreateQueueCommand({ QueueName: hubDeadLetterQueueName(0) }));
    for (const body of ['poison one', 'poison two']) {
      await collector.send(new SendMessageCommand({ QueueUrl: dlq.QueueUrl, MessageBody: body }));
    }
    expect(hub.QueueUrl).toBeDefined();
    const customer = await customerAdminClients(CUSTOMER, REGION, 'test');
    const chain = await createChain(customer, CUSTOMER);
    await registry.add(accountRecord({ accountId: CUSTOMER, queueArn: chain.queueArn }));
    await registry.add(accountRecord({ accountId: '222233334444', ingestTopology: 'hub', ingestShard: 0 }));
    env = { ACCOUNTS_TABLE: TABLE, INGEST_TOPOLOGY: 'hub', HUB_QUEUE_ARNS: hubArn };
  });

  test('dlq list: the hub DLQ with its depth, the customer DLQ through the customer role; hub accounts have none', async () => {
    const listed = await runCli(['dlq', 'list', '--json'], env);
    expect(listed.stderr).not.toContain('error');
    expect(listed.code).toBe(0);
    expect(JSON.parse(listed.stdout)).toEqual([
      expect.objectContaining({ arn: `${hubArn}-dlq`, topology: 'hub', shard: 0, messages: 2 }),
      expect.objectContaining({
        arn: `arn:aws:sqs:${REGION}:${CUSTOMER}:outcomesqueue-dlq`,
        topology: 'customer-queue',
        accountId: CUSTOMER,
        messages: 0,
      }),
    ]);
  });

  test('dlq redrive --dry-run says what it would move; without a target it refuses', async () => {
    const dry = await runCli(['dlq', 'redrive', '--all', '--dry-run', '--json'], env);
    expect(dry.code).toBe(0);
    expect(JSON.parse(dry.stdout)).toEqual([
      { queue: `${hubArn}-dlq`, result: 'skipped', reason: 'dry run: would move 2' },
      { queue: `arn:aws:sqs:${REGION}:${CUSTOMER}:outcomesqueue-dlq`, result: 'skipped', reason: 'empty' },
    ]);
    const bare = await runCli(['dlq', 'redrive'], env);
    expect(bare.code).toBe(2);
    expect(bare.stderr).toContain('dlq redrive needs --queue-arn ARN, --account-id ID or --all');
  });

  test('INGEST_TOPOLOGY=hub without HUB_QUEUE_ARNS is a configuration error naming the variable', async () => {
    const listed = await runCli(['dlq', 'list'], { ...env, HUB_QUEUE_ARNS: '' });
    expect(listed.code).toBe(2);
    expect(listed.stderr).toContain('HUB_QUEUE_ARNS is required when INGEST_TOPOLOGY is "hub"');
  });
});
