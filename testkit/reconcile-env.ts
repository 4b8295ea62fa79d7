import { RECONCILE_SETTINGS } from './reconcile-fixtures';
import {
  CreateTrailCommand,
  DescribeTrailsCommand,
  StartLoggingCommand,
  type CloudTrailClient,
} from '@aws-sdk/client-cloudtrail';
import { PutBucketPolicyCommand } from '@aws-sdk/client-s3';
import { SetTopicAttributesCommand } from '@aws-sdk/client-sns';
import { SetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { checkChain } from './chain-check';
import { customerAdminClients } from './customer-clients';
import { createChain, type DemoChain } from './demo-chain';
import { accountRecord, createRegistry } from './registry';
import { silentLogger } from '../lambdas/shared/logger';
import type { AccountRecord, AccountsRegistry } from '../lambdas/shared/registry';
import { createReconcileClients } from '../lambdas/reconcile/clients';
import {
  defaultBucketPolicy,
  defaultQueueStatements,
  defaultTopicStatements,
  mergeCollectorStatements,
} from '../lambdas/reconcile/policies';
import { reconcileAll, type ReconcileDeps } from '../lambdas/reconcile/reconcile';
import type { AccountReport, ReconcileReport, RunMode } from '../lambdas/reconcile/types';
import { REGION, useEmulator } from './test-emulator';
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

/** An empty emulator with the registry table and the given accounts registered (mode apply unless told). */
export async function reconcileWorld(
  accounts: Partial<AccountRecord>[] = [{ accountId: CUSTOMER }],
): Promise<ReconcileWorld> {
  await useEmulator();
  const registry = await createRegistry(RECONCILE_TABLE, { region: REGION });
  for (const account of accounts) await registry.add(accountRecord({ ...account, accountId: account.accountId! }));
  let suffix = 0;
  const deps: Omit<ReconcileDeps, 'registry'> = {
    clients: createReconcileClients({ region: REGION }),
    config: RECONCILE_SETTINGS,
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
