import { ReceiveMessageCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import { awsClients } from '../lambdas/shared/aws-clients';
import { silentLogger, type LoggerLike } from '../lambdas/shared/logger';
import type { AccountRecord, AccountsRegistry } from '../lambdas/shared/registry';
import { loadIngestConfig } from '../lambdas/ingest/config';
import type { IngestDeps } from '../lambdas/ingest/source/sqs-batch';
import { toSqsRecord } from '../lambdas/ingest/source/queue-poller';
import { CountTally, createIngestDeps } from '../lambdas/ingest/runtime';
import { customerAdminClients } from './customer-clients';
import { createChain, putLogFile, type DeliveredFile, type DemoChain } from './demo-chain';
import { DownstreamReceiver } from './downstream-receiver';
import { accountRecord, createRegistry } from './registry';
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
  /** Sends a message to a tenant's queue (directly to moto); returns its MessageId. */
  send(accountId: string, body: string): Promise<string>;
  /**
   * Writes a gzip CloudTrail log file of `records` records into the tenant's bucket (directly to moto), dated
   * 2026-11-01 00:<seed % 60> unless told; `logAccount` is the account in its key and records.
   */
  logFile(accountId: string, seed: number, records: number, extra?: LogFileExtra): Promise<DeliveredFile>;
  stop(): Promise<void>;
}

export interface LogFileExtra {
  orgId?: string;
  logAccount?: string;
  time?: Date;
}

/** An empty emulator with the registry, registered tenants with healthy chains, and a downstream receiver. */
export async function ingestWorld(
  accounts: Partial<AccountRecord>[],
  receiverToken = 'test-token',
): Promise<IngestWorld> {
  await useEmulator();
  const registry = await createRegistry(TABLE, { region: REGION });
  const receiver = new DownstreamReceiver({ token: receiverToken });
  await receiver.start();
  const tenants = new Map<string, { clients: CustomerClients; chain: DemoChain }>();
  for (const account of accounts) {
    const accountId = account.accountId!;
    await registry.add(accountRecord({ ...account, accountId }));
    const clients = await customerClients(accountId);
    tenants.set(accountId, { clients, chain: await createChain(clients, accountId) });
  }
  const tenant = (accountId: string) => {
    const found = tenants.get(accountId);
    if (!found) throw new Error(`no tenant ${accountId} in this world`);
    return found;
  };
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
    async send(accountId, body) {
      const { clients, chain } = tenant(accountId);
      const sent = await clients.sqs.send(new SendMessageCommand({ QueueUrl: chain.queueUrl, MessageBody: body }));
      return sent.MessageId!;
    },
    logFile(accountId, seed, records, extra = {}) {
      const { clients, chain } = tenant(accountId);
      return putLogFile(clients.s3, {
        bucket: chain.bucket,
        accountId: extra.logAccount ?? accountId,
        region: REGION,
        seed,
        records,
        time: extra.time ?? new Date(Date.UTC(2026, 10, 1, 0, seed % 60, 0)),
        ...(extra.orgId ? { orgId: extra.orgId } : {}),
      });
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
