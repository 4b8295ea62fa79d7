import { RECONCILE_SETTINGS } from './reconcile-fixtures';
import {
  CreateTrailCommand,
  DescribeTrailsCommand,
  StartLoggingCommand,
  type CloudTrailClient,
} from '@aws-sdk/client-cloudtrail';
import { PutBucketPolicyCommand } from '@aws-sdk/client-s3';
import {
  ListSubscriptionsByTopicCommand,
  SetTopicAttributesCommand,
  type ListSubscriptionsByTopicCommandOutput,
} from '@aws-sdk/client-sns';
import { CreateQueueCommand, SetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { checkChain } from './chain-check';
import { customerAdminClients } from './customer-clients';
import { createChain, type DemoChain } from './demo-chain';
import { accountRecord, createRegistry } from './registry';
import { silentLogger } from '../lambdas/shared/logger';
import { loadIngestConfig } from '../lambdas/ingest/config';
import { CountTally, createIngestDeps } from '../lambdas/ingest/runtime';
import type { IngestDeps } from '../lambdas/ingest/source/sqs-batch';
import type { AccountRecord, AccountsRegistry } from '../lambdas/shared/registry';
import { awsClients } from '../lambdas/shared/aws-clients';
import { hubQueueName } from '../lambdas/shared/topology';
import { createReconcileClients, type ReconcileClients } from '../lambdas/reconcile/clients';
import {
  defaultBucketPolicy,
  defaultQueueStatements,
  defaultTopicStatements,
  mergeCollectorStatements,
} from '../lambdas/reconcile/policies';
import { reconcileAll, type ReconcileDeps, type ReconcileSettings } from '../lambdas/reconcile/reconcile';
import type { AccountReport, ReconcileReport, RunMode } from '../lambdas/reconcile/types';
import { COLLECTOR_ACCOUNT, REGION, useEmulator } from './test-emulator';
import type { CustomerClients as IngestCustomerClients } from './ingest-env';

export const RECONCILE_TABLE = 'accounts-reconcile-test';
export const CUSTOMER = '111122223333';

export interface TenantClients extends IngestCustomerClients {
  cloudTrail: CloudTrailClient;
  cloudTrailIn(region: string): CloudTrailClient;
}

/** Plain SDK clients acting inside a customer account (moto maps assumed-role keys to the role's account). */
export function tenantClients(accountId: string): Promise<TenantClients> {
  return customerAdminClients(accountId, REGION, 'test');
}

export interface ReconcileWorld {
  registry: AccountsRegistry;
  deps: Omit<ReconcileDeps, 'registry'>;
  run(mode: RunMode, accountId?: string): Promise<ReconcileReport>;
  account(report: ReconcileReport, accountId?: string): AccountReport;
}

export interface ReconcileWorldOptions {
  /** Settings over RECONCILE_SETTINGS (the topology, for one). */
  config?: Partial<ReconcileSettings>;
  /** Wraps the real clients (the emulator's gaps: see withTopicOwnerListing). */
  clients?: (clients: ReconcileClients) => ReconcileClients;
}

/** An empty emulator with the registry table and the given accounts registered (mode apply unless told). */
export async function reconcileWorld(
  accounts: Partial<AccountRecord>[] = [{ accountId: CUSTOMER }],
  options: ReconcileWorldOptions = {},
): Promise<ReconcileWorld> {
  await useEmulator();
  const registry = await createRegistry(RECONCILE_TABLE, { region: REGION });
  for (const account of accounts) await registry.add(accountRecord({ ...account, accountId: account.accountId! }));
  let suffix = 0;
  const real = createReconcileClients({ region: REGION });
  const deps: Omit<ReconcileDeps, 'registry'> = {
    clients: options.clients ? options.clients(real) : real,
    config: { ...RECONCILE_SETTINGS, ...options.config },
    logger: silentLogger,
    randomSuffix: () => `gen${String(++suffix).padStart(5, '0')}`,
  };
  return {
    registry,
    deps,
    run: (mode, accountId) =>
      reconcileAll(registry, deps, { mode, concurrency: 4, ...(accountId ? { accountId } : {}) }),
    account: (report, accountId = CUSTOMER) => report.accounts.find((a) => a.accountId === accountId)!,
  };
}

/** The hub queues (index = shard) in the collector's account, created with its own (the default) credentials. */
export async function createHubQueues(count: number): Promise<string[]> {
  const sqs = awsClients.sqs({ region: REGION });
  const arns: string[] = [];
  for (let shard = 0; shard < count; shard += 1) {
    await sqs.send(new CreateQueueCommand({ QueueName: hubQueueName(shard) }));
    arns.push(`arn:aws:sqs:${REGION}:${COLLECTOR_ACCOUNT}:${hubQueueName(shard)}`);
  }
  return arns;
}

/**
 * moto 5.2.1 keeps a subscription in the backend of the account that called Subscribe, so its
 * ListSubscriptionsByTopic shows a topic owner only the subscriptions the owner made, while SNS shows the topic
 * owner every subscription of its topic (the hub subscription, which the collector made, included). This wraps the
 * customer clients so that the topic owner's listing is SNS's: its own answer plus the collector's subscriptions of
 * that topic (which moto lists to the collector). Nothing else is changed.
 */
export function withTopicOwnerListing(clients: ReconcileClients): ReconcileClients {
  return {
    collector: clients.collector,
    async customer(target) {
      const customer = await clients.customer(target);
      return {
        ...customer,
        sns: (region) => {
          const own = customer.sns(region);
          return {
            send: (async (command: Parameters<typeof own.send>[0]) => {
              const answer = (await own.send(command)) as ListSubscriptionsByTopicCommandOutput;
              if (!(command instanceof ListSubscriptionsByTopicCommand)) return answer;
              const collector = await clients.collector.sns(region).send(command);
              const seen = new Set((answer.Subscriptions ?? []).map((s) => s.SubscriptionArn));
              const extra = (collector.Subscriptions ?? []).filter((s) => !seen.has(s.SubscriptionArn));
              return { ...answer, Subscriptions: [...(answer.Subscriptions ?? []), ...extra] };
            }) as typeof own.send,
          };
        },
      };
    },
  };
}

const TRAIL_NAME = 'outcomes-trail';

export interface HealthyChain extends DemoChain {
  trailArn: string;
}

/**
 * The healthy chain built with plain SDK calls (not the code under test): bucket with CloudTrail's policy,
 * topic whose policy lets the trail publish, queue + DLQ with a policy letting the topic send, subscription,
 * and `outcomes-trail` logging into the bucket and notifying the topic.
 */
export async function buildHealthyChain(clients: TenantClients, accountId: string): Promise<HealthyChain> {
  const chain = await createChain(clients, accountId);
  const trailArn = `arn:aws:cloudtrail:${REGION}:${accountId}:trail/${TRAIL_NAME}`;
  await clients.s3.send(
    new PutBucketPolicyCommand({
      Bucket: chain.bucket,
      Policy: JSON.stringify(defaultBucketPolicy({ bucketName: chain.bucket, accountId, trailArn })),
    }),
  );
  await clients.sns.send(
    new SetTopicAttributesCommand({
      TopicArn: chain.topicArn,
      AttributeName: 'Policy',
      AttributeValue: JSON.stringify(
        mergeCollectorStatements(undefined, defaultTopicStatements({ topicArn: chain.topicArn, trailArn, accountId })),
      ),
    }),
  );
  await clients.sqs.send(
    new SetQueueAttributesCommand({
      QueueUrl: chain.queueUrl,
      Attributes: {
        Policy: JSON.stringify(
          mergeCollectorStatements(
            undefined,
            defaultQueueStatements({ queueArn: chain.queueArn, topicArn: chain.topicArn }),
          ),
        ),
      },
    }),
  );
  await clients.cloudTrail.send(
    new CreateTrailCommand({
      Name: TRAIL_NAME,
      S3BucketName: chain.bucket,
      SnsTopicName: 'outcomestopic',
      IsMultiRegionTrail: true,
      EnableLogFileValidation: true,
    }),
  );
  await clients.cloudTrail.send(new StartLoggingCommand({ Name: TRAIL_NAME }));
  return { ...chain, trailArn };
}

export interface ChainCheck {
  trailArn: string;
  bucket: string;
  topicArn: string;
  queueArn: string;
}

/** The sandbox's independent chain check (plain SDK calls), as a test expectation: every link must hold. */
export async function expectWorkingChain(
  clients: TenantClients,
  accountId: string,
  trailArn: string,
): Promise<ChainCheck> {
  const checked = await checkChain(clients, accountId, trailArn);
  expect(checked.problems).toEqual([]);
  return { trailArn, bucket: checked.bucket!, topicArn: checked.topicArn!, queueArn: checked.queueArn! };
}

/** Trails the account owns (home region us-east-1 and elsewhere), for "no new trail" checks. */
export async function trailArns(clients: TenantClients): Promise<string[]> {
  const described = await clients.cloudTrail.send(new DescribeTrailsCommand({ includeShadowTrails: true }));
  return (described.trailList ?? []).map((t) => t.TrailARN!).sort();
}

/**
 * Ingest's dependencies (the Lambda's core) over this world's registry (RECONCILE_TABLE), forwarding to a local
 * receiver with its token; `env` adds settings (the hub's queues, a job queue).
 */
export async function reconcileWorldIngestDeps(
  receiver: { url: string },
  token: string,
  env: Record<string, string> = {},
): Promise<IngestDeps> {
  return createIngestDeps(
    loadIngestConfig({
      ...process.env,
      ...env,
      ACCOUNTS_TABLE: RECONCILE_TABLE,
      DOWNSTREAM_URL: receiver.url,
      DOWNSTREAM_TOKEN: token,
      DOWNSTREAM_TIMEOUT_MS: '2000',
    }),
    silentLogger,
    new CountTally(),
  );
}
