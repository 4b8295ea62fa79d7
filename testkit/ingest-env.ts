import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import { awsClients } from '../lambdas/shared/aws-clients';
import { silentLogger, type LoggerLike } from '../lambdas/shared/logger';
import { AccountsRegistry, type AccountRecord } from '../lambdas/shared/registry';
import { loadIngestConfig } from '../lambdas/ingest/config';
import type { IngestDeps } from '../lambdas/ingest/ingest-batch';
import { toSqsRecord } from '../lambdas/ingest/queue-poller';
import { CountTally, createIngestDeps } from '../lambdas/ingest/runtime';
import { customerAdminClients } from './customer-clients';
import { createChain, createRegistryTable, type DemoChain } from './demo-chain';
import { DownstreamReceiver } from './downstream-receiver';
import { REGION, useEmulator } from './test-emulator';

export const TABLE = 'accounts-test';

export interface CustomerClients {
  s3: ReturnType<typeof awsClients.s3>;
  sns: ReturnType<typeof awsClients.sns>;
  sqs: ReturnType<typeof awsClients.sqs>;
}

/** Clients acting inside a customer account (the emulator maps assumed-role keys to the role's account). */
export function customerClients(accountId: string): Promise<CustomerClients> {
  return customerAdminClients(accountId, REGION, 'test');
}

export interface IngestWorld {
  registry: AccountsRegistry;
  receiver: DownstreamReceiver;
  tenants: Map<string, { clients: CustomerClients; chain: DemoChain }>;
  deps(overrides?: Record<string, string>, logger?: LoggerLike): Promise<IngestDeps & { tally: CountTally }>;
  stop(): Promise<void>;
}

/** An empty emulator with the registry, registered tenants with healthy chains, and a downstream receiver. */
export async function ingestWorld(
  accounts: Partial<AccountRecord>[],
  receiverToken = 'test-token',
): Promise<IngestWorld> {
  await useEmulator();
  await createRegistryTable(new DynamoDBClient({ region: REGION }), TABLE);
  const registry = new AccountsRegistry(awsClients.dynamoDocument({ region: REGION }), TABLE);
  const receiver = new DownstreamReceiver({ token: receiverToken });
  await receiver.start();
  const tenants = new Map<string, { clients: CustomerClients; chain: DemoChain }>();
  for (const account of accounts) {
    const accountId = account.accountId!;
    await registry.add({
      accountId,
      externalId: `ext-${accountId}`,
      mode: 'apply',
      logArchiveFor: [],
      registeredAt: new Date().toISOString(),
      status: 'new',
      ...account,
    });
    const clients = await customerClients(accountId);
    tenants.set(accountId, { clients, chain: await createChain(clients, accountId) });
  }
  return {
    registry,
    receiver,
    tenants,
    async deps(overrides = {}, logger = silentLogger) {
      const env = {
        ...process.env,
        ACCOUNTS_TABLE: TABLE,
        DOWNSTREAM_URL: receiver.url,
        DOWNSTREAM_TOKEN: receiverToken,
        DOWNSTREAM_TIMEOUT_MS: '2000',
        ...overrides,
      };
      const tally = new CountTally();
      const deps = await createIngestDeps(loadIngestConfig(env), logger, tally);
      return Object.assign(deps, { tally });
    },
    stop: () => receiver.stop(),
  };
}

/** Receives every message now in the queue (up to `max`), as Lambda records, without deleting them. */
export async function receiveAll(sqs: SQSClient, queueUrl: string, queueArn: string, max = 10): Promise<SQSRecord[]> {
  const records: SQSRecord[] = [];
  for (let attempt = 0; attempt < 5 && records.length < max; attempt += 1) {
    const received = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: Math.min(10, max - records.length),
        VisibilityTimeout: 60,
        MessageSystemAttributeNames: ['All'],
      }),
    );
    records.push(...(received.Messages ?? []).map((message) => toSqsRecord(message, queueArn, REGION)));
  }
  return records;
}
