/**
 * The sandbox's two ingest topologies (docs/stacks.md, "Choosing the topology"): where CloudTrail's notifications
 * land, which queues ingest drains (as their event source mappings would), and where poison goes.
 *
 * - `customer-queue`: the seed's layout; the account's topic delivers into its own queue (moto does this itself).
 * - `hub`: the collector's hub queues in the collector account, one per shard, subscribed by the collector to the
 *   customers' topics. moto does not deliver SNS to a queue of another account, so `announce` does what SNS does:
 *   it publishes on the customer's topic as CloudTrail would, then, for every SQS subscription of that topic to a
 *   hub queue, puts in that queue the envelope SNS would put there, byte for byte (testkit/hub.ts). A removed
 *   subscription therefore delivers nothing, as in AWS. moto also lists the collector's subscriptions to the
 *   collector only; the customer admin's and the reconcile's SNS views add them, as SNS shows a topic owner every
 *   subscription of its topic (topicOwnerView, withTopicOwnerListing).
 */
import { ListSubscriptionsByTopicCommand, type SNSClient } from '@aws-sdk/client-sns';
import { ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { awsClients } from '../../lambdas/shared/aws-clients';
import type { LoggerLike } from '../../lambdas/shared/logger';
import { shardOf, type IngestTopology } from '../../lambdas/shared/topology';
import { pollQueue, type PollTotals } from '../../lambdas/ingest/source/queue-poller';
import { processSqsBatch, type IngestDeps } from '../../lambdas/ingest/source/sqs-batch';
import type { ReconcileClients } from '../../lambdas/reconcile/clients';
import { checkChain, type ChainClients, type CheckedChain } from '../../testkit/chain-check';
import { customerAdminClients } from '../../testkit/customer-clients';
import { cloudTrailNotification, publishCloudTrailNotification, sendRaw } from '../../testkit/demo-chain';
import {
  backfillEnv,
  createBackfillQueue,
  createHubQueues,
  deliverAsSns,
  hubEnv,
  snsNotificationBody,
  topicOwnerView,
  type HubQueue,
} from '../../testkit/hub';
import { queueCounts } from '../../testkit/queues';
import { withTopicOwnerListing } from '../../testkit/reconcile-env';

export interface SandboxTopology {
  readonly topology: IngestTopology;
  /** The settings ingest and reconcile read in this topology (merged into the environment before they load). */
  readonly env: Record<string, string>;
  /** Seed rows that have no subject here (the hub has no customer queue). */
  readonly notApplicable: ReadonlySet<string>;
  /** A customer account as its admin sees it. */
  customerClients(accountId: string): Promise<ChainClients>;
  /** The reconcile's clients, with the emulator's gaps filled as AWS behaves. */
  reconcileClients(real: ReconcileClients): ReconcileClients;
  checkChain(customer: ChainClients, accountId: string, trailArn: string): Promise<CheckedChain>;
  /** CloudTrail announces `keys` on the account's topic; every subscribed queue receives it. */
  announce(customer: ChainClients, topicArn: string, bucket: string, keys: string[]): Promise<void>;
  /** Puts a body in the queue this account's notifications reach, as if delivered there. */
  sendRawTo(customer: ChainClients, accountId: string, body: string): Promise<void>;
  /** Drains every queue the account's messages can be in, as their event source mappings would. */
  drain(customer: ChainClients, accountId: string, deps: IngestDeps, logger: LoggerLike): Promise<PollTotals>;
  /** Messages in the dead-letter queues, with the reason ingest gave for each (PoisonReason), if any. */
  deadLetters(customer: ChainClients, accountId: string): Promise<{ count: number; reasons: string[] }>;
}

async function drainQueue(sqs: SQSClient, queueUrl: string, deps: IngestDeps, logger: LoggerLike) {
  return pollQueue(
    sqs,
    (records, deadline) => processSqsBatch(records, deps, deadline),
    { queueUrl, batchTimeoutMs: 60_000, waitTimeSeconds: 0, stopAfterEmptyReceives: 2 },
    logger,
  );
}

function addTotals(into: PollTotals, more: PollTotals): PollTotals {
  return {
    batches: into.batches + more.batches,
    received: into.received + more.received,
    deleted: into.deleted + more.deleted,
    failed: into.failed + more.failed,
  };
}

/** moto's queue URL: the endpoint, the account, the name. */
function queueUrlOf(accountId: string, name: string): string {
  return `${process.env.AWS_ENDPOINT_URL}/${accountId}/${name}`;
}

/** The seed's layout: a queue (and DLQ) per customer account, its own topic delivering into it. */
export function customerQueueTopology(region: string): SandboxTopology {
  return {
    topology: 'customer-queue',
    env: { INGEST_TOPOLOGY: 'customer-queue' },
    notApplicable: new Set(),
    customerClients: (accountId) => customerAdminClients(accountId, region, 'sandbox-customer-admin'),
    reconcileClients: (real) => real,
    checkChain: (customer, accountId, trailArn) => checkChain(customer, accountId, trailArn),
    announce: (customer, topicArn, bucket, keys) => publishCloudTrailNotification(customer.sns, topicArn, bucket, keys),
    sendRawTo: (customer, accountId, body) => sendRaw(customer.sqs, queueUrlOf(accountId, 'outcomesqueue'), body),
    drain: (customer, accountId, deps, logger) =>
      drainQueue(customer.sqs, queueUrlOf(accountId, 'outcomesqueue'), deps, logger),
    async deadLetters(customer, accountId) {
      const dlqUrl = queueUrlOf(accountId, 'outcomesqueue-dlq');
      return {
        count: (await queueCounts(customer.sqs, dlqUrl)).visible,
        reasons: await peekReasons(customer.sqs, dlqUrl),
      };
    },
  };
}

/**
 * The hub: `shards` queues with their DLQs and the backfill queue in the collector account (as the stack creates
 * them), the reconcile's role recorded for the customer topic policies.
 */
export async function hubTopology(options: {
  region: string;
  collectorAccount: string;
  shards: number;
}): Promise<SandboxTopology> {
  const collectorSqs = awsClients.sqs({ region: options.region });
  const collectorSns = awsClients.sns({ region: options.region });
  const queues: HubQueue[] = await createHubQueues(collectorSqs, options.shards);
  const backfill = await createBackfillQueue(collectorSqs);
  const byArn = new Map(queues.map((queue) => [queue.arn, queue]));
  const queueOf = (accountId: string) => queues[shardOf(accountId, queues.length)]!;
  return {
    topology: 'hub',
    env: {
      ...hubEnv(queues),
      ...backfillEnv(backfill),
      RECONCILE_ROLE_ARN: `arn:aws:iam::${options.collectorAccount}:role/cloudtrail-collector-reconcile`,
    },
    notApplicable: new Set(['QUEUE_POLICY_INVALID', 'QUEUE_MISSING']),
    async customerClients(accountId) {
      const admin = await customerAdminClients(accountId, options.region, 'sandbox-customer-admin');
      return { ...admin, sns: topicOwnerView(admin.sns, collectorSns) };
    },
    reconcileClients: withTopicOwnerListing,
    checkChain: (customer, accountId, trailArn) =>
      checkChain(customer, accountId, trailArn, { hubQueueArn: queueOf(accountId).arn }),
    async announce(customer, topicArn, bucket, keys) {
      await publishCloudTrailNotification(customer.sns, topicArn, bucket, keys);
      const message = cloudTrailNotification(bucket, keys);
      for (const queue of await subscribedHubQueues(collectorSns, topicArn, byArn)) {
        await deliverAsSns(collectorSqs, queue.url, snsNotificationBody({ topicArn, message }));
      }
    },
    async sendRawTo(_customer, accountId, body) {
      await sendRaw(collectorSqs, queueOf(accountId).url, body);
    },
    async drain(_customer, _accountId, deps, logger) {
      let totals: PollTotals = { batches: 0, received: 0, deleted: 0, failed: 0 };
      for (const url of [...queues.map((queue) => queue.url), backfill.url]) {
        totals = addTotals(totals, await drainQueue(collectorSqs, url, deps, logger));
      }
      return totals;
    },
    async deadLetters() {
      const reasons: string[] = [];
      let count = 0;
      for (const url of [...queues.map((queue) => queue.dlqUrl), backfill.dlqUrl]) {
        count += (await queueCounts(collectorSqs, url)).visible;
        reasons.push(...(await peekReasons(collectorSqs, url)));
      }
      return { count, reasons };
    },
  };
}

/** The hub queues SNS would deliver a notification of `topicArn` to: its SQS subscriptions' endpoints. */
async function subscribedHubQueues(
  sns: Pick<SNSClient, 'send'>,
  topicArn: string,
  hub: ReadonlyMap<string, HubQueue>,
): Promise<HubQueue[]> {
  const listed = await sns.send(new ListSubscriptionsByTopicCommand({ TopicArn: topicArn }));
  return (listed.Subscriptions ?? [])
    .filter((subscription) => subscription.Protocol === 'sqs')
    .map((subscription) => hub.get(subscription.Endpoint ?? ''))
    .filter((queue): queue is HubQueue => queue !== undefined);
}

/** The PoisonReason attribute of the messages in a DLQ, read without consuming them (visibility 0). */
async function peekReasons(sqs: SQSClient, url: string): Promise<string[]> {
  const reasons: string[] = [];
  // The caller counted the queue (queueCounts); an empty queue answers an empty receive.
  const received = await sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: url,
      MaxNumberOfMessages: 10,
      VisibilityTimeout: 0,
      MessageAttributeNames: ['PoisonReason'],
    }),
  );
  for (const message of received.Messages ?? []) {
    reasons.push(message.MessageAttributes?.PoisonReason?.StringValue ?? '(no reason recorded)');
  }
  return reasons;
}
