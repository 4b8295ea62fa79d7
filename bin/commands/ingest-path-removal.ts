/**
 * `accounts remove`: what reconcile created for an account in the collector account, deleted before the account is
 * unregistered (docs/customer-setup.md, "Leaving"), and what stays in the customer account, with the commands that
 * delete it. Reconcile's own operations do the deleting (lambdas/reconcile/apply-paths.ts: DELETE_ESM and
 * UNSUBSCRIBE by the collector), and its own readers find what to delete (observe-resources.ts, rules/kit.ts), so
 * a mapping or subscription is recognised here exactly as a reconcile run recognises it.
 *
 * - customer-queue topology: the event source mapping recorded as `eventSourceMappingUuid`, and any other mapping
 *   from the account's recorded queue to the ingest function (INGEST_FUNCTION_ARN), e.g. one created by a run whose
 *   registry write failed. Lambda, DeleteEventSourceMapping: the mapping goes to `Deleting` and stops polling.
 * - hub topology: the collector's subscription of a hub queue to the account's recorded topic, found in the topic
 *   owner's ListSubscriptionsByTopic (as reconcile's observe reads it; SNS shows a topic owner every subscription of
 *   its topic) and in the collector's own ListSubscriptions ("Returns a list of the requester's subscriptions", SNS
 *   API Reference: the collector owns its hub subscriptions, and the customer role may already be gone). Unsubscribe
 *   is made by the owner, the collector: another account's would leave it `Deleted` (rules/migration.ts).
 * Both are looked for whatever the account's recorded topology, since a migration can leave either behind.
 */
import { ListSubscriptionsCommand, type ListSubscriptionsCommandInput } from '@aws-sdk/client-sns';
import { arnParts, partitionOf, roleArn, tryParseArn } from '../../lambdas/shared/arn';
import { errorMessage } from '../../lambdas/shared/errors';
import type { AccountRecord } from '../../lambdas/shared/registry';
import { mappingOperation, subscriptionOperation, type Retrying } from '../../lambdas/reconcile/apply-paths';
import type { CollectorClients, CustomerClients, ReconcileClients } from '../../lambdas/reconcile/clients';
import { CHAIN_NAMES, defaultBucketName, isCollectorBucketName } from '../../lambdas/reconcile/names';
import { listEventSourceMappings, observeTopic, pages } from '../../lambdas/reconcile/observe-resources';
import { collectorMappings, isHubQueue } from '../../lambdas/reconcile/rules/kit';
import type { ReconcileConfig } from '../../lambdas/reconcile/config';
import { CUSTOMER_STACK_NAME } from '../../lib/customer-deploy-command';

export type RemovalConfig = Pick<ReconcileConfig, 'region' | 'customerRoleName' | 'ingestFunctionArn' | 'hubQueueArns'>;

/** One thing the collector created in its own account for the account, and what became of it. */
export interface IngestPathItem {
  kind: 'event-source-mapping' | 'hub-subscription';
  /** The mapping's UUID or the subscription's ARN. */
  id: string;
  /** The queue the mapping polls, or the topic of the subscription. */
  source: string;
  status: 'deleted' | 'failed';
  error?: string;
}

export interface IngestPathRemoval {
  items: IngestPathItem[];
  /** Lookups that could not be made: what exists there is unknown, so the removal did not succeed. */
  unknown: string[];
}

/** Whether the account may be unregistered: everything found was deleted and nothing is unknown. */
export function removalSucceeded(removal: IngestPathRemoval): boolean {
  return removal.unknown.length === 0 && removal.items.every((item) => item.status === 'deleted');
}

/** A call made once: `accounts remove` is run by a person, who runs it again after a failure. */
const once: Retrying = (_code, call) => call();

/** Subscription operations by the collector never use the customer role: this stands in when it is unassumable. */
const NO_CUSTOMER: CustomerClients = new Proxy({} as CustomerClients, {
  get: () => () => {
    throw new Error('the customer role is not used to remove the ingest path');
  },
});

export async function removeIngestPath(
  record: AccountRecord,
  config: RemovalConfig,
  clients: ReconcileClients,
): Promise<IngestPathRemoval> {
  const removal: IngestPathRemoval = { items: [], unknown: [] };
  await removeMappings(record, config, clients.collector, removal);
  await removeHubSubscriptions(record, config, clients, removal);
  return removal;
}

async function removeMappings(
  record: AccountRecord,
  config: RemovalConfig,
  collector: CollectorClients,
  removal: IngestPathRemoval,
): Promise<void> {
  const wanted = new Map<string, string>();
  if (record.eventSourceMappingUuid !== undefined) {
    wanted.set(record.eventSourceMappingUuid, record.queueArn ?? '(the recorded queue)');
  }
  if (record.queueArn !== undefined && config.ingestFunctionArn !== undefined) {
    const listed = await listEventSourceMappings(collector, record.queueArn);
    if (!listed.known) removal.unknown.push(`the event source mappings of ${record.queueArn}: ${listed.error}`);
    else {
      for (const mapping of collectorMappings(listed.value, config)) {
        if (mapping.state !== 'Deleting') wanted.set(mapping.uuid, record.queueArn);
      }
    }
  }
  for (const [uuid, queueArn] of wanted) {
    const item: IngestPathItem = { kind: 'event-source-mapping', id: uuid, source: queueArn, status: 'deleted' };
    try {
      // A mapping that is gone already counts as deleted (ResourceNotFoundException), as in a reconcile run.
      await mappingOperation({ code: 'DELETE_ESM', params: { uuid, queueArn } }, collector, once);
    } catch (error) {
      Object.assign(item, { status: 'failed', error: `DeleteEventSourceMapping: ${errorMessage(error)}` });
    }
    removal.items.push(item);
  }
}

async function removeHubSubscriptions(
  record: AccountRecord,
  config: RemovalConfig,
  clients: ReconcileClients,
  removal: IngestPathRemoval,
): Promise<void> {
  const topicArn = record.topicArn;
  if (topicArn === undefined) return;
  const region = arnParts(topicArn).region;
  const hub = (endpoint: string) => isHubQueue(endpoint, config);
  const found = new Set<string>();
  // What each listing could not tell; the subscriptions are known when either answered (each shows the collector's).
  const failures: string[] = [];
  let listed = false;

  let customer: CustomerClients | undefined;
  try {
    customer = await clients.customer({
      accountId: record.accountId,
      roleArn: roleArn(partitionOf(config.region), record.accountId, record.roleName ?? config.customerRoleName),
      externalId: record.externalId,
    });
    const topic = await observeTopic(customer, topicArn, record.queueArn ?? '');
    if (!topic.known) failures.push(`the topic owner's view: ${topic.error}`);
    // The topic is gone: SNS deleted its subscriptions with it, so nothing of the collector's is left on it.
    else if (topic.value === null) return;
    else if (!topic.value.subscriptions.known)
      failures.push(`the topic owner's view: ${topic.value.subscriptions.error}`);
    else {
      listed = true;
      for (const s of topic.value.subscriptions.value) {
        if (s.protocol === 'sqs' && hub(s.endpoint) && !s.pending && s.deleted !== true) found.add(s.arn);
      }
    }
  } catch (error) {
    failures.push(`the customer role: ${errorMessage(error)}`);
  }

  try {
    const sns = clients.collector.sns(region);
    const listing = pages(
      (input: ListSubscriptionsCommandInput) => sns.send(new ListSubscriptionsCommand(input)),
      {},
      'NextToken',
      'NextToken',
    );
    for await (const page of listing) {
      for (const s of page.Subscriptions ?? []) {
        const arn = s.SubscriptionArn ?? '';
        if (
          s.TopicArn === topicArn &&
          s.Protocol === 'sqs' &&
          hub(s.Endpoint ?? '') &&
          tryParseArn(arn) !== undefined
        ) {
          found.add(arn);
        }
      }
    }
    listed = true;
  } catch (error) {
    failures.push(`ListSubscriptions as the collector: ${errorMessage(error)}`);
  }
  if (!listed) removal.unknown.push(`the hub subscriptions of ${topicArn}: ${failures.join('; ')}`);

  for (const subscriptionArn of found) {
    const item: IngestPathItem = { kind: 'hub-subscription', id: subscriptionArn, source: topicArn, status: 'deleted' };
    try {
      await subscriptionOperation(
        { code: 'UNSUBSCRIBE', params: { topicArn, subscriptionArn, by: 'collector' } },
        customer ?? NO_CUSTOMER,
        clients.collector,
        once,
      );
    } catch (error) {
      Object.assign(item, { status: 'failed', error: `Unsubscribe: ${errorMessage(error)}` });
    }
    removal.items.push(item);
  }
}

/**
 * What the collector may have created in the customer account, and the commands (AWS CLI, run in that account)
 * that delete it: the role stack, then the chain's fixed names (lambdas/reconcile/names.ts). The trail and bucket
 * are listed only when they carry the collector's names: a trail or bucket of the customer's own is theirs to keep.
 */
export function leftInCustomerAccount(record: AccountRecord, region: string): string[] {
  const account = record.accountId;
  const lines = [
    `# in account ${account}: the collector's role (no access for the collector from then on)`,
    `aws cloudformation delete-stack --stack-name ${CUSTOMER_STACK_NAME} --region ${region}`,
  ];
  const trailRegion = record.trailArn !== undefined ? arnParts(record.trailArn).region || region : region;
  const trailName = record.trailArn !== undefined ? arnParts(record.trailArn).name : CHAIN_NAMES.trail;
  if (trailName === CHAIN_NAMES.trail) {
    lines.push(
      `# the trail the collector created (its logging stops with it: keep it if you have no other trail)`,
      `aws cloudtrail delete-trail --name ${CHAIN_NAMES.trail} --region ${trailRegion}`,
    );
  }
  const topicArn = record.topicArn ?? `arn:aws:sns:${region}:${account}:${CHAIN_NAMES.topic}`;
  if (arnParts(topicArn).name === CHAIN_NAMES.topic) {
    lines.push(`aws sns delete-topic --topic-arn ${topicArn} --region ${arnParts(topicArn).region || region}`);
  }
  if (record.ingestTopology !== 'hub' || record.queueArn !== undefined) {
    const queueRegion = record.queueArn !== undefined ? arnParts(record.queueArn).region : region;
    for (const queue of [CHAIN_NAMES.queue, CHAIN_NAMES.dlq]) {
      lines.push(
        `aws sqs delete-queue --region ${queueRegion} --queue-url "$(aws sqs get-queue-url --region ${queueRegion} --queue-name ${queue} --query QueueUrl --output text)"`,
      );
    }
  }
  const bucket = record.bucketName ?? record.generatedBucketName ?? defaultBucketName(account);
  if (isCollectorBucketName(account, bucket)) {
    lines.push(
      `# the log bucket holds your log files: keep it, or empty and delete it (versioned buckets need every version deleted)`,
      `aws s3 rb s3://${bucket} --force`,
    );
  }
  return lines;
}
