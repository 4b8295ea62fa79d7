/**
 * The soak's world in moto: the registry, each tenant's bucket and topic, and the queues ingest polls.
 * - `customer-queue`: each tenant's chain as the seed has it (bucket -> topic -> queue + DLQ, in its account).
 * - `hub`: the collector's hub queues and their DLQs in the collector account (testkit/hub.ts, as the stack builds
 *   them), each tenant registered with its topic and shard (no queue in the customer account). moto does not
 *   deliver SNS to a queue of another account, so the soak puts in the shard's queue what SNS would deliver from
 *   the tenant's topic, byte for byte (snsNotificationBody, plan.ts), with the collector's own client.
 * Both: the ledger table beside the registry (`<registry>-ledger`, ensureLedgerTable, as the CLI creates it against
 * the emulator), so that ingest records every file it collects and the report can check the ledger (ledger.ts).
 */
import { CreateBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { CreateTopicCommand } from '@aws-sdk/client-sns';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { awsClients } from '../../lambdas/shared/aws-clients';
import { ensureLedgerTable, ledgerTableName } from '../../lambdas/shared/ledger';
import { shardOf } from '../../lambdas/shared/topology';
import { customerAdminClients } from '../customer-clients';
import { createChain, DEMO_NAMES } from '../demo-chain';
import { createHubQueues, hubAccount, hubEnv } from '../hub';
import { accountRecord, createRegistry } from '../registry';
import { REGION, TABLE, TENANTS, type SoakOptions } from './options';
import type { PlanTenant } from './plan';

export interface SoakTenant extends PlanTenant {
  /** The tenant's own S3 client (its admin's), for uploading its log files. */
  s3: S3Client;
}

/** A queue ingest polls (one event source mapping), with the DLQ its messages can end in. */
export interface SoakQueue {
  name: string;
  url: string;
  arn: string;
  dlqUrl: string;
  /** The queue owner's client: the tenant's (customer queue) or the collector's (hub). */
  sqs: SQSClient;
  /** The tenants whose notifications arrive here. */
  tenants: string[];
}

export interface SoakWorld {
  tenants: SoakTenant[];
  /** Every queue created; the hub ones without a tenant stay empty. */
  queues: SoakQueue[];
  /** The queues that carry messages: pollers are spread over these. */
  activeQueues: SoakQueue[];
  queueOf(accountId: string): SoakQueue;
  /** What ingest's configuration adds for this topology (INGEST_TOPOLOGY, HUB_QUEUE_ARNS). */
  ingestEnv: Record<string, string>;
  bucketOwners: Map<string, string>;
  /** The ledger table ingest writes (LEDGER_TABLE for its configuration). */
  ledgerTable: string;
}

export async function createSoakWorld(options: SoakOptions, endpoint: string): Promise<SoakWorld> {
  const hub = options.topology === 'hub';
  const accounts = TENANTS.slice(0, options.tenants);
  const registry = await createRegistry(TABLE, { region: REGION, endpoint });
  const ledgerTable = ledgerTableName(TABLE);
  await ensureLedgerTable(registry.db, ledgerTable);
  const tenants: SoakTenant[] = [];
  const queues: SoakQueue[] = [];
  const queueByTenant = new Map<string, SoakQueue>();
  let ingestEnv: Record<string, string> = { INGEST_TOPOLOGY: options.topology };

  if (hub) {
    // The collector account: moto's default account for plain (not assumed-role) credentials.
    const collectorSqs = awsClients.sqs({ region: REGION, endpoint });
    const hubQueues = await createHubQueues(collectorSqs, options.shards, {
      visibilityTimeoutSeconds: options.visibilitySeconds,
      maxReceiveCount: options.maxReceiveCount,
    });
    ingestEnv = hubEnv(hubQueues);
    for (const queue of hubQueues) {
      queues.push({
        name: `hub shard ${queue.shard}`,
        url: queue.url,
        arn: queue.arn,
        dlqUrl: queue.dlqUrl,
        sqs: collectorSqs,
        tenants: [],
      });
    }
  }

  for (const accountId of accounts) {
    const clients = await customerAdminClients(accountId, REGION, 'soak-setup');
    if (hub) {
      // No queue in the customer account: the bucket CloudTrail writes to and the topic it notifies.
      const bucket = DEMO_NAMES.bucket(accountId);
      await clients.s3.send(new CreateBucketCommand({ Bucket: bucket }));
      const topic = await clients.sns.send(new CreateTopicCommand({ Name: DEMO_NAMES.topic }));
      const record = accountRecord({ ...hubAccount(accountId, options.shards), accountId });
      const topicArn = topic.TopicArn;
      if (topicArn === undefined || record.topicArn !== topicArn) {
        throw new Error(`soak: the registry names topic ${record.topicArn}, moto created ${topicArn}`);
      }
      await registry.add(record);
      const queue = queues[shardOf(accountId, options.shards)]!;
      queue.tenants.push(accountId);
      queueByTenant.set(accountId, queue);
      tenants.push({ accountId, bucket, topicArn, s3: clients.s3 });
    } else {
      const chain = await createChain(clients, accountId, {
        maxReceiveCount: options.maxReceiveCount,
        visibilityTimeoutSeconds: options.visibilitySeconds,
      });
      await registry.add(accountRecord({ accountId }));
      const queue: SoakQueue = {
        name: `${accountId}/${DEMO_NAMES.queue}`,
        url: chain.queueUrl,
        arn: chain.queueArn,
        dlqUrl: chain.dlqUrl,
        sqs: clients.sqs,
        tenants: [accountId],
      };
      queues.push(queue);
      queueByTenant.set(accountId, queue);
      tenants.push({ accountId, bucket: chain.bucket, topicArn: chain.topicArn, s3: clients.s3 });
    }
  }

  return {
    tenants,
    queues,
    activeQueues: queues.filter((queue) => queue.tenants.length > 0),
    queueOf: (accountId) => {
      const queue = queueByTenant.get(accountId);
      if (!queue) throw new Error(`soak: account ${accountId} is not one of the soak's tenants`);
      return queue;
    },
    ingestEnv,
    bucketOwners: new Map(tenants.map((tenant) => [tenant.bucket, tenant.accountId])),
    ledgerTable,
  };
}
