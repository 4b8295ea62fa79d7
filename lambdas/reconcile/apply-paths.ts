/**
 * The operations of the ingest paths (lambdas/shared/topology.ts), for apply.ts: subscriptions (the customer
 * queue's, by the customer role; the hub queue's, by the collector), and the collector's event source mappings.
 * Each is idempotent, as every apply operation is: Subscribe returns the existing subscription, a mapping that
 * exists already is accepted, and a subscription or mapping that is gone already counts as removed.
 */
import {
  CreateEventSourceMappingCommand,
  DeleteEventSourceMappingCommand,
  UpdateEventSourceMappingCommand,
} from '@aws-sdk/client-lambda';
import { SetSubscriptionAttributesCommand, SubscribeCommand, UnsubscribeCommand } from '@aws-sdk/client-sns';
import { GetQueueAttributesCommand, GetQueueUrlCommand, SetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { arnParts } from '../shared/arn';
import { awsErrorName } from '../shared/errors';
import type { CollectorClients, CustomerClients } from './clients';
import { defaultQueueStatements, mergeCollectorStatements, type PolicyDocument } from './policies';
import type { ActionCode, ActionSpec } from './types';

/** apply.ts's propagation retrier: `call`, retried on the action's PROPAGATION_ERRORS within the run's budget. */
export type Retrying = <T>(code: ActionCode, call: () => Promise<T>) => Promise<T>;

/** Only the code and params are read: `accounts remove` (bin/commands/ingest-path-removal.ts) runs them outside a plan. */
type Of<C extends ActionCode> = Extract<ActionSpec, { code: C }>;

export async function subscriptionOperation(
  action: Of<'SUBSCRIBE' | 'SET_SUBSCRIPTION_ATTRIBUTES' | 'UNSUBSCRIBE'>,
  customer: CustomerClients,
  collector: CollectorClients,
  retrying: Retrying,
): Promise<void> {
  switch (action.code) {
    case 'SUBSCRIBE': {
      const { topicArn, queueArn, deadLetterQueueArn, hubShard } = action.params;
      // A subscription lives in its topic's Region; cross-account, the queue owner subscribes from there.
      const region = arnParts(topicArn).region;
      if (hubShard !== undefined) {
        // The queue owner subscribes: no confirmation is needed, the queue receives from the moment Subscribe
        // returns (SNS Developer Guide, "Sending Amazon SNS messages to an Amazon SQS queue in a different
        // account", "Queue owner creates subscription"). RawMessageDelivery stays false (SNS's default): ingest
        // binds the tenant by the envelope's TopicArn.
        const sns = collector.sns(region);
        await retrying(action.code, () =>
          sns.send(
            new SubscribeCommand({
              TopicArn: topicArn,
              Protocol: 'sqs',
              Endpoint: queueArn,
              ReturnSubscriptionArn: true,
            }),
          ),
        );
        return;
      }
      if (deadLetterQueueArn !== undefined) {
        // SNS Developer Guide, "Amazon SNS dead-letter queues (DLQs)": the DLQ's policy must let the topic
        // send, or SNS cannot park a notification it failed to deliver (it does not retry client errors,
        // such as a queue policy that does not allow it yet). Written first, merged, as PUT_QUEUE_POLICY does.
        await mergeQueuePolicy(customer, arnParts(deadLetterQueueArn).name, deadLetterQueueArn, topicArn);
      }
      await customer.sns(region).send(
        new SubscribeCommand({
          TopicArn: topicArn,
          Protocol: 'sqs',
          Endpoint: queueArn,
          ReturnSubscriptionArn: true,
          ...(deadLetterQueueArn !== undefined
            ? { Attributes: { RedrivePolicy: JSON.stringify({ deadLetterTargetArn: deadLetterQueueArn }) } }
            : {}),
        }),
      );
      return;
    }
    case 'SET_SUBSCRIPTION_ATTRIBUTES': {
      // "Allows a subscription owner to set an attribute of the subscription" (SNS API Reference,
      // SetSubscriptionAttributes): the hub subscription's owner is the collector, outcomesqueue's the customer.
      const { topicArn, subscriptionArn, attributeName, attributeValue, by } = action.params;
      const region = arnParts(topicArn).region;
      await (by === 'customer' ? customer.sns(region) : collector.sns(region)).send(
        new SetSubscriptionAttributesCommand({
          SubscriptionArn: subscriptionArn,
          AttributeName: attributeName,
          AttributeValue: attributeValue,
        }),
      );
      return;
    }
    case 'UNSUBSCRIBE': {
      // By the subscription's owner (rules/migration.ts): another account's Unsubscribe would leave it "Deleted".
      const { topicArn, subscriptionArn, by } = action.params;
      const region = arnParts(topicArn).region;
      const sns = by === 'collector' ? collector.sns(region) : customer.sns(region);
      try {
        await sns.send(new UnsubscribeCommand({ SubscriptionArn: subscriptionArn }));
      } catch (error) {
        if (!['NotFound', 'NotFoundException'].includes(awsErrorName(error) ?? '')) throw error;
      }
      return;
    }
  }
}

/** Batches of 10 with partial batch responses, as every collector mapping. */
const BATCH_SIZE = 10;

/**
 * `onMappingCreated` receives the UUID of a mapping CREATE_ESM made, so that the registry records it at once: the
 * run's mapping budget (capacity.ts) counts recorded mappings.
 */
export async function mappingOperation(
  action: Of<'CREATE_ESM' | 'ENABLE_ESM' | 'UPDATE_ESM' | 'DELETE_ESM'>,
  collector: CollectorClients,
  retrying: Retrying,
  onMappingCreated?: (uuid: string) => void,
): Promise<void> {
  switch (action.code) {
    case 'CREATE_ESM': {
      const input = {
        EventSourceArn: action.params.queueArn,
        FunctionName: action.params.functionArn,
        BatchSize: BATCH_SIZE,
        FunctionResponseTypes: ['ReportBatchItemFailures' as const],
        // Lambda API Reference, "ScalingConfig": MaximumConcurrency 2-1000 per SQS mapping.
        ScalingConfig: { MaximumConcurrency: action.params.maximumConcurrency },
        Enabled: true,
      };
      try {
        const created = await retrying(action.code, () =>
          collector.lambda.send(new CreateEventSourceMappingCommand(input)),
        );
        if (created.UUID) onMappingCreated?.(created.UUID);
      } catch (error) {
        if (awsErrorName(error) !== 'ResourceConflictException') throw error;
      }
      return;
    }
    case 'ENABLE_ESM': {
      const { uuid, maximumConcurrency } = action.params;
      await collector.lambda.send(
        new UpdateEventSourceMappingCommand({
          UUID: uuid,
          Enabled: true,
          ...(maximumConcurrency !== undefined ? { ScalingConfig: { MaximumConcurrency: maximumConcurrency } } : {}),
        }),
      );
      return;
    }
    case 'UPDATE_ESM':
      await collector.lambda.send(
        new UpdateEventSourceMappingCommand({
          UUID: action.params.uuid,
          ScalingConfig: { MaximumConcurrency: action.params.maximumConcurrency },
        }),
      );
      return;
    case 'DELETE_ESM':
      try {
        await collector.lambda.send(new DeleteEventSourceMappingCommand({ UUID: action.params.uuid }));
      } catch (error) {
        if (awsErrorName(error) !== 'ResourceNotFoundException') throw error;
      }
      return;
  }
}

/** Reads the queue's policy, merges the collector's statements for this topic into it, and writes it back. */
export async function mergeQueuePolicy(
  customer: CustomerClients,
  queueName: string,
  queueArn: string,
  topicArn: string,
  ingestRoleArn?: string,
): Promise<void> {
  const sqs = customer.sqs(arnParts(queueArn).region);
  const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: queueName }));
  const current = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['Policy'] }));
  const existing = current.Attributes?.Policy ? (JSON.parse(current.Attributes.Policy) as PolicyDocument) : undefined;
  const statements = defaultQueueStatements({
    queueArn,
    topicArn,
    ...(ingestRoleArn !== undefined ? { ingestRoleArn } : {}),
  });
  await sqs.send(
    new SetQueueAttributesCommand({
      QueueUrl,
      Attributes: { Policy: JSON.stringify(mergeCollectorStatements(existing, statements)) },
    }),
  );
}
