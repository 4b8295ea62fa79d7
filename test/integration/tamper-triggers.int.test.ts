/**
 * Issue 14, must show 3: tamper to repair through a trigger, against the emulator, with no scheduled run in between.
 * - Ingest path: the trail is stopped, CloudTrail's log file holding the StopLogging record is ingested (the
 *   Lambda's core, processSqsBatch, with RECONCILE_JOB_QUEUE_URL set), ingest sends the account's job, and the
 *   reconcile worker (runJobBatch, the job queue's consumer) runs it: logging is on again.
 * - EventBridge path: the queue's subscription is deleted, the ingest function receives the event EventBridge
 *   delivers for that Unsubscribe (the envelope of "Amazon EventBridge events" around the CloudTrail record), sends
 *   the job, and the worker re-subscribes the queue.
 * The only reconcile runs are the first (which adopts the healthy chain) and the job's.
 */
import { GetTrailStatusCommand, StopLoggingCommand } from '@aws-sdk/client-cloudtrail';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { ListSubscriptionsByTopicCommand, UnsubscribeCommand } from '@aws-sdk/client-sns';
import { CreateQueueCommand, DeleteQueueCommand, type Message, type SQSClient } from '@aws-sdk/client-sqs';
import { loadIngestConfig } from '../../lambdas/ingest/config';
import { CountTally, createIngestDeps, createTamperTriggers } from '../../lambdas/ingest/runtime';
import { processSqsBatch } from '../../lambdas/ingest/source/sqs-batch';
import { CADENCE_DEFAULTS } from '../../lambdas/reconcile/config';
import { RegistryLease } from '../../lambdas/reconcile/lease';
import type { WorkerMetric } from '../../lambdas/reconcile/worker';
import { awsClients } from '../../lambdas/shared/aws-clients';
import { silentLogger } from '../../lambdas/shared/logger';
import { generateRecords, logFileBody, logFileKey } from '../../testkit/cloudtrail-generator';
import { publishCloudTrailNotification } from '../../testkit/demo-chain';
import { DownstreamReceiver } from '../../testkit/downstream-receiver';
import { receiveAll } from '../../testkit/ingest-env';
import {
  CUSTOMER,
  RECONCILE_TABLE,
  buildHealthyChain,
  reconcileWorld,
  tenantClients,
  type HealthyChain,
  type ReconcileWorld,
  type TenantClients,
} from '../../testkit/reconcile-env';
import { apiCallEvent, receiveJobs, runJobMessages, tamperRecord } from '../../testkit/tamper';
import { COLLECTOR_ACCOUNT, REGION } from '../../testkit/test-emulator';

const JOB_QUEUE = 'cloudtrail-collector-reconcile-jobs-test';

describe('a tamper is repaired by its trigger, without waiting for the schedule', () => {
  let world: ReconcileWorld;
  let clients: TenantClients;
  let chain: HealthyChain;
  let receiver: DownstreamReceiver;
  let collectorSqs: SQSClient;
  let jobQueueUrl: string;
  let adoptedAt: string;

  beforeAll(async () => {
    receiver = new DownstreamReceiver({ token: 'test-token' });
    await receiver.start();
  });
  afterAll(async () => receiver?.stop());

  beforeEach(async () => {
    world = await reconcileWorld();
    clients = await tenantClients(CUSTOMER);
    chain = await buildHealthyChain(clients, CUSTOMER);
    const adopted = world.account(await world.run('apply'));
    expect(adopted.status).not.toBe('error');
    adoptedAt = (await world.registry.require(CUSTOMER)).lastRunAt!;
    collectorSqs = awsClients.sqs({ region: REGION });
    jobQueueUrl = (await collectorSqs.send(new CreateQueueCommand({ QueueName: JOB_QUEUE }))).QueueUrl!;
  });
  afterEach(async () => {
    await collectorSqs.send(new DeleteQueueCommand({ QueueUrl: jobQueueUrl }));
  });

  const ingestEnv = () => ({
    ...process.env,
    ACCOUNTS_TABLE: RECONCILE_TABLE,
    DOWNSTREAM_URL: receiver.url,
    DOWNSTREAM_TOKEN: 'test-token',
    DOWNSTREAM_TIMEOUT_MS: '2000',
    RECONCILE_JOB_QUEUE_URL: jobQueueUrl,
    // The debounce window, kept short for the test (the default is 60 s).
    TAMPER_TRIGGER_DELAY_SECONDS: '1',
  });

  /** The jobs on the job queue, waiting out their DelaySeconds (long polling). */
  const jobsSent = (attempts = 3) => receiveJobs(collectorSqs, jobQueueUrl, { attempts });

  /** The reconcile worker over the job messages, as the job queue's mapping invokes it. */
  async function runWorker(messages: Message[]): Promise<WorkerMetric[]> {
    const published: WorkerMetric[] = [];
    const result = await runJobMessages(
      messages,
      {
        ...world.deps,
        config: { ...world.deps.config, cadence: CADENCE_DEFAULTS },
        registry: world.registry,
        lease: new RegistryLease(world.registry.db, world.registry.tableName),
        publish: (metrics) => published.push(...metrics),
      },
      'tamper-test-worker',
    );
    expect(result.batchItemFailures).toEqual([]);
    return published;
  }

  const isLogging = async () =>
    (await clients.cloudTrail.send(new GetTrailStatusCommand({ Name: chain.trailArn }))).IsLogging;

  test('ingest: a StopLogging record in a delivered log file', async () => {
    // By name: moto 5.2.1 answers StopLogging with a trail ARN by an HTML 404, while CloudTrail accepts either
    // (StopLogging, CloudTrail API Reference: `Name`, the name or the ARN). The record names it as it was called.
    const trailName = chain.trailArn.split('/').at(-1)!;
    await clients.cloudTrail.send(new StopLoggingCommand({ Name: trailName }));
    expect(await isLogging()).toBe(false);

    // CloudTrail's next file holds the StopLogging record among others; it is announced on the topic as usual.
    const time = new Date();
    const records = [
      ...generateRecords(5, { accountId: CUSTOMER, region: REGION, seed: 14 }),
      tamperRecord({
        accountId: CUSTOMER,
        region: REGION,
        eventSource: 'cloudtrail.amazonaws.com',
        eventName: 'StopLogging',
        requestParameters: { name: trailName },
      }),
    ];
    const key = logFileKey({ accountId: CUSTOMER, region: REGION, time, unique: 'tamper14' });
    await clients.s3.send(new PutObjectCommand({ Bucket: chain.bucket, Key: key, Body: logFileBody(records) }));
    await publishCloudTrailNotification(clients.sns, chain.topicArn, chain.bucket, [key]);
    const messages = await receiveAll(clients.sqs, chain.queueUrl, chain.queueArn, 1);
    expect(messages).toHaveLength(1);
    const tally = new CountTally();
    const deps = await createIngestDeps(loadIngestConfig(ingestEnv()), silentLogger, tally);
    const ingested = await processSqsBatch(messages, deps, Date.now() + 60_000);
    expect(ingested.batchItemFailures).toEqual([]);
    // Every record was forwarded, the StopLogging one too.
    for (const { eventID } of records) expect(receiver.eventIds.get(eventID as string)).toBe(1);
    expect(tally.get('TamperTriggersSent')).toBe(1);

    const jobs = await jobsSent();
    expect(jobs.map(({ job }) => job)).toEqual([
      expect.objectContaining({
        kind: 'reconcile-account',
        accountId: CUSTOMER,
        reason: 'trigger',
        trigger: expect.objectContaining({
          eventSource: 'cloudtrail.amazonaws.com',
          eventName: 'StopLogging',
          resourceArn: chain.trailArn,
          via: 'ingest',
        }),
      }),
    ]);
    // Nothing ran since the run that adopted the chain: no schedule in between.
    expect((await world.registry.require(CUSTOMER)).lastRunAt).toBe(adoptedAt);

    const metrics = await runWorker(jobs.map(({ message }) => message));
    expect(await isLogging()).toBe(true);
    const value = (name: string) => metrics.find((m) => m.name === name)?.value;
    expect(value('AccountsRepaired')).toBe(1);
    expect(value('TriggeredJobAgeSeconds')).toBeGreaterThanOrEqual(0);
    expect((await world.registry.require(CUSTOMER)).lastRunAt! > adoptedAt).toBe(true);
  });

  test('EventBridge: the event of a deleted subscription', async () => {
    const listed = await clients.sns.send(new ListSubscriptionsByTopicCommand({ TopicArn: chain.topicArn }));
    const subscription = listed.Subscriptions!.find((s) => s.Endpoint === chain.queueArn)!;
    await clients.sns.send(new UnsubscribeCommand({ SubscriptionArn: subscription.SubscriptionArn! }));
    const subscribed = async () =>
      (
        (await clients.sns.send(new ListSubscriptionsByTopicCommand({ TopicArn: chain.topicArn }))).Subscriptions ?? []
      ).filter((s) => s.Endpoint === chain.queueArn).length;
    expect(await subscribed()).toBe(0);

    // What EventBridge delivers to the collector bus's target, as JSON on the wire.
    const record = tamperRecord({
      accountId: CUSTOMER,
      region: REGION,
      eventSource: 'sns.amazonaws.com',
      eventName: 'Unsubscribe',
      requestParameters: { subscriptionArn: subscription.SubscriptionArn },
    });
    const event = JSON.parse(JSON.stringify(apiCallEvent(record))) as Record<string, unknown>;
    const tally = new CountTally();
    const triggers = createTamperTriggers(loadIngestConfig(ingestEnv()), silentLogger, tally)!;
    await expect(triggers.handleEvent(event)).resolves.toMatchObject({ status: 'sent', accountId: CUSTOMER });
    // The same call once more (EventBridge delivers at least once): covered by the job already sent.
    await expect(triggers.handleEvent(event)).resolves.toMatchObject({ status: 'covered' });

    const jobs = await jobsSent();
    expect(jobs.map(({ job }) => job.trigger)).toEqual([
      expect.objectContaining({
        eventName: 'Unsubscribe',
        resourceArn: subscription.SubscriptionArn,
        via: 'eventbridge',
      }),
    ]);
    expect((await world.registry.require(CUSTOMER)).lastRunAt).toBe(adoptedAt);

    await runWorker(jobs.map(({ message }) => message));
    expect(await subscribed()).toBe(1);
  });

  test("another account's event names nothing of this account: no job", async () => {
    const stranger = '999988887777';
    expect(COLLECTOR_ACCOUNT).not.toBe(stranger);
    const record = tamperRecord({
      accountId: stranger,
      region: REGION,
      eventSource: 'cloudtrail.amazonaws.com',
      eventName: 'StopLogging',
      // The customer's trail, named in a stranger's event: the event's account is the stranger's.
      requestParameters: { name: chain.trailArn },
    });
    const triggers = createTamperTriggers(loadIngestConfig(ingestEnv()), silentLogger, new CountTally())!;
    await expect(triggers.handleEvent(apiCallEvent(record))).resolves.toMatchObject({ status: 'rejected' });
    // One long poll outlasts the 1-second delay of a job that would have been sent.
    expect(await jobsSent(1)).toEqual([]);
  });
});
