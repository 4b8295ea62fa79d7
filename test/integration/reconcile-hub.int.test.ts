/**
 * The hub topology's reconcile against the emulator (moto 5.2.1), for two accounts in two shards: each topic is
 * subscribed by the collector, with its own credentials, to the hub queue of its shard; nothing but the trail,
 * bucket and topic is created in the account; the registry binds each topic; a raw subscription is repaired; a
 * customer-queue account moves to the hub.
 *
 * What moto does with a cross-account Subscribe made with the collector's credentials (moto picks the account from
 * the credentials), found by the first test and pinned there:
 * - it works: the subscription exists, owned by the collector, confirmed at once (as SNS: the queue owner subscribed);
 * - but moto keeps it in the collector's backend: the topic owner's ListSubscriptionsByTopic does not show it (SNS
 *   shows a topic owner every subscription of its topic), GetSubscriptionAttributes answers the collector only;
 * - a notification published on the customer topic is not delivered to the collector's queue (no cross-account
 *   SNS -> SQS delivery): that path is the ingest tests' (they send the envelope SNS would send).
 * AWS wins: the other tests list through `withTopicOwnerListing` (reconcile-env.ts), which gives the topic owner
 * SNS's listing; the fake cloud (test/unit/reconcile-hub-run.test.ts) covers the rest (the topic policy that
 * authorizes the collector's Subscribe, "Deleted" subscriptions, the mapping of a drained queue).
 */
import { ListEventSourceMappingsCommand } from '@aws-sdk/client-lambda';
import { UpdateTrailCommand } from '@aws-sdk/client-cloudtrail';
import {
  CreateTopicCommand,
  GetSubscriptionAttributesCommand,
  GetTopicAttributesCommand,
  ListSubscriptionsByTopicCommand,
  PublishCommand,
  SetSubscriptionAttributesCommand,
} from '@aws-sdk/client-sns';
import { GetQueueUrlCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { awsClients } from '../../lambdas/shared/aws-clients';
import { shardOf } from '../../lambdas/shared/topology';
import {
  buildHealthyChain,
  createHubQueues,
  reconcileWorld,
  tenantClients,
  withTopicOwnerListing,
} from '../../testkit/reconcile-env';
import { COLLECTOR_ACCOUNT, REGION } from '../../testkit/test-emulator';

const A = '111122223333'; // shard 0 of 2
const B = '444455556666'; // shard 1 of 2
const RECONCILE_ROLE_ARN = `arn:aws:iam::${COLLECTOR_ACCOUNT}:role/cloudtrail-collector-reconcile`;
const topicOf = (id: string) => `arn:aws:sns:${REGION}:${id}:outcomestopic`;

async function hubWorld(accounts: string[], options: { topicOwnerListing?: boolean } = {}) {
  const world = await reconcileWorld(
    accounts.map((accountId) => ({ accountId })),
    {
      config: { ingestTopology: 'hub', hubQueueArns: [], reconcileRoleArn: RECONCILE_ROLE_ARN },
      ...(options.topicOwnerListing !== false ? { clients: withTopicOwnerListing } : {}),
    },
  );
  const hubQueueArns = await createHubQueues(2);
  world.deps.config = { ...world.deps.config, hubQueueArns };
  return { world, hubQueueArns };
}

/** The collector's own view of a topic's subscriptions (its credentials: what moto lists to it). */
async function collectorSubscriptions(topicArn: string) {
  const sns = awsClients.sns({ region: REGION });
  const listed = await sns.send(new ListSubscriptionsByTopicCommand({ TopicArn: topicArn }));
  return Promise.all(
    (listed.Subscriptions ?? []).map(async (s) => ({
      ...s,
      attributes: (await sns.send(new GetSubscriptionAttributesCommand({ SubscriptionArn: s.SubscriptionArn })))
        .Attributes,
    })),
  );
}

describe('reconcile, hub topology, against the emulator', () => {
  test("moto's cross-account Subscribe by the queue owner: made and confirmed, listed to its owner only, not delivered", async () => {
    const { world, hubQueueArns } = await hubWorld([A], { topicOwnerListing: false });
    const first = world.account(await world.run('apply'), A);
    expect(first.actions.find((a) => a.code === 'SUBSCRIBE')).toMatchObject({ status: 'applied' });
    const [subscription] = await collectorSubscriptions(topicOf(A));
    expect(subscription).toMatchObject({ Owner: COLLECTOR_ACCOUNT, Endpoint: hubQueueArns[0] });
    expect(subscription!.attributes).toMatchObject({ PendingConfirmation: 'false', RawMessageDelivery: 'false' });

    const customer = await tenantClients(A);
    // SNS would list it to the topic owner; moto does not (the difference withTopicOwnerListing makes up for).
    const listed = await customer.sns.send(new ListSubscriptionsByTopicCommand({ TopicArn: topicOf(A) }));
    expect(listed.Subscriptions ?? []).toEqual([]);
    // So, without the shim, every run finds it missing and subscribes again; Subscribe returns the same one.
    const second = world.account(await world.run('apply'), A);
    expect(second.actions.map((a) => [a.code, a.status])).toEqual([['SUBSCRIBE', 'applied']]);
    expect(await collectorSubscriptions(topicOf(A))).toHaveLength(1);

    // No cross-account SNS -> SQS delivery in moto: the ingest tests send the envelope SNS would send instead.
    await customer.sns.send(
      new PublishCommand({ TopicArn: topicOf(A), Message: '{"s3Bucket":"b","s3ObjectKey":["k"]}' }),
    );
    const sqs = awsClients.sqs({ region: REGION });
    const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: 'cloudtrail-collector-ingest-00' }));
    const received = await sqs.send(new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 1 }));
    expect(received.Messages ?? []).toEqual([]);
  });

  test('two new accounts: each topic subscribed by the collector to its shard queue, bound in the registry, nothing else', async () => {
    const { world, hubQueueArns } = await hubWorld([A, B]);
    const report = await world.run('apply');
    for (const [id, shard] of [
      [A, 0],
      [B, 1],
    ] as const) {
      expect(shardOf(id, 2)).toBe(shard);
      const account = world.account(report, id);
      expect(account.actions.map((a) => [a.code, a.status])).toEqual([
        ['CREATE_BUCKET', 'applied'],
        ['PUT_BUCKET_POLICY', 'applied'],
        ['CREATE_TOPIC', 'applied'],
        ['PUT_TOPIC_POLICY', 'applied'],
        ['SUBSCRIBE', 'applied'],
        ['CREATE_TRAIL', 'applied'],
        ['START_LOGGING', 'applied'],
      ]);
      expect(account.status).toBe('repaired');

      const subscriptions = await collectorSubscriptions(topicOf(id));
      expect(subscriptions.map((s) => [s.Endpoint, s.Owner, s.attributes?.RawMessageDelivery])).toEqual([
        [hubQueueArns[shard], COLLECTOR_ACCOUNT, 'false'],
      ]);
      const customer = await tenantClients(id);
      const topic = await customer.sns.send(new GetTopicAttributesCommand({ TopicArn: topicOf(id) }));
      const statements = (JSON.parse(topic.Attributes!.Policy!) as { Statement: Record<string, unknown>[] }).Statement;
      expect(statements).toContainEqual({
        Sid: 'CloudTrailCollectorHubSubscribe',
        Effect: 'Allow',
        Principal: { AWS: RECONCILE_ROLE_ARN },
        Action: 'sns:Subscribe',
        Resource: topicOf(id),
        Condition: { StringEquals: { 'sns:Protocol': 'sqs', 'sns:Endpoint': hubQueueArns[shard] } },
      });
      await expect(customer.sqs.send(new GetQueueUrlCommand({ QueueName: 'outcomesqueue' }))).rejects.toMatchObject({
        name: expect.stringMatching(/QueueDoesNotExist|NonExistentQueue/),
      });
      const record = await world.registry.require(id);
      expect(record).toMatchObject({ topicArn: topicOf(id), ingestTopology: 'hub', ingestShard: shard });
      expect(record.queueArn).toBeUndefined();
    }
    const mappings = await awsClients.lambda({ region: REGION }).send(new ListEventSourceMappingsCommand({}));
    expect(mappings.EventSourceMappings ?? []).toEqual([]);

    const again = await world.run('apply');
    for (const id of [A, B]) {
      expect(world.account(again, id)).toMatchObject({ status: 'healthy', findings: [], actions: [] });
    }
  });

  test("the trail moves to another topic: the hub queue is subscribed to it, then the collector unsubscribes the old topic's", async () => {
    const { world, hubQueueArns } = await hubWorld([A]);
    await world.run('apply');
    const customer = await tenantClients(A);
    const { TopicArn: acme } = await customer.sns.send(new CreateTopicCommand({ Name: 'acme-trail-topic' }));
    await customer.cloudTrail.send(
      new UpdateTrailCommand({ Name: 'outcomes-trail', SnsTopicName: 'acme-trail-topic' }),
    );
    const account = world.account(await world.run('apply'), A);
    const subscribes = account.actions.filter((a) => a.code.endsWith('SUBSCRIBE'));
    expect(subscribes.map((a) => [a.code, a.resource, a.reason, a.status])).toEqual([
      ['SUBSCRIBE', acme, 'TOPIC_CHANGED', 'applied'],
      ['UNSUBSCRIBE', expect.stringContaining(topicOf(A)), 'TOPIC_CHANGED', 'applied'],
    ]);
    // Unsubscribed by the collector, its owner: gone, not "Deleted".
    expect(await collectorSubscriptions(topicOf(A))).toEqual([]);
    expect((await collectorSubscriptions(acme!)).map((s) => s.Endpoint)).toEqual([hubQueueArns[shardOf(A, 2)]]);
    expect(await world.registry.require(A)).toMatchObject({ topicArn: acme, previousTopicArn: topicOf(A) });
    expect(world.account(await world.run('apply'), A)).toMatchObject({ status: 'healthy', actions: [] });
  });

  test('a raw hub subscription is set back to envelope delivery by the collector', async () => {
    const { world } = await hubWorld([A]);
    await world.run('apply');
    const [subscription] = await collectorSubscriptions(topicOf(A));
    await awsClients.sns({ region: REGION }).send(
      new SetSubscriptionAttributesCommand({
        SubscriptionArn: subscription!.SubscriptionArn,
        AttributeName: 'RawMessageDelivery',
        AttributeValue: 'true',
      }),
    );
    const account = world.account(await world.run('apply'), A);
    expect(account.findings.map((f) => f.code)).toEqual(['SUBSCRIPTION_RAW']);
    expect(account.actions.map((a) => [a.code, a.status])).toEqual([['SET_SUBSCRIPTION_ATTRIBUTES', 'applied']]);
    const [after] = await collectorSubscriptions(topicOf(A));
    expect(after!.attributes?.RawMessageDelivery).toBe('false');
  });

  test('a customer-queue account moves to the hub: hub subscribed, outcomesqueue unsubscribed, then its queue left to the customer', async () => {
    const { world, hubQueueArns } = await hubWorld([A]);
    const customer = await tenantClients(A);
    const chain = await buildHealthyChain(customer, A);
    await world.registry.update(A, {
      trailArn: chain.trailArn,
      bucketName: chain.bucket,
      topicArn: chain.topicArn,
      queueArn: chain.queueArn,
    });

    const first = world.account(await world.run('apply'), A);
    expect(first.actions.map((a) => [a.code, a.status])).toEqual([
      ['PUT_TOPIC_POLICY', 'applied'],
      ['SUBSCRIBE', 'applied'],
      ['UNSUBSCRIBE', 'applied'],
    ]);
    const own = await customer.sns.send(new ListSubscriptionsByTopicCommand({ TopicArn: chain.topicArn }));
    expect(own.Subscriptions ?? []).toEqual([]); // outcomesqueue is no longer subscribed
    expect((await collectorSubscriptions(chain.topicArn)).map((s) => s.Endpoint)).toEqual([hubQueueArns[0]]);
    expect(await world.registry.require(A)).toMatchObject({
      ingestTopology: 'hub',
      ingestShard: 0,
      queueArn: chain.queueArn,
    });

    // No ingest function here, so no mapping to delete: the next run retires the path and names the queues.
    const second = world.account(await world.run('apply'), A);
    expect(second.actions).toEqual([]);
    expect(second.findings.map((f) => [f.code, f.message])).toEqual([
      ['TOPOLOGY_MIGRATING', expect.stringContaining('outcomesqueue and outcomesqueue-dlq stay in the account')],
    ]);
    expect((await world.registry.require(A)).queueArn).toBeUndefined();
    expect(await customer.sqs.send(new GetQueueUrlCommand({ QueueName: 'outcomesqueue' }))).toMatchObject({
      QueueUrl: expect.stringContaining('outcomesqueue'),
    });
    expect(world.account(await world.run('apply'), A)).toMatchObject({ status: 'healthy', findings: [], actions: [] });
  });
});
