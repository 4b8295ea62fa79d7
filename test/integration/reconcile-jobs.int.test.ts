/**
 * The Lambda path of reconcile against the emulator, minus the Lambda runtime: the sweep sends a job per due account
 * to a real SQS queue (SendMessageBatch), the worker takes the received messages under the registry lease
 * (conditional UpdateItem), reconciles, records the run and the next due time, and the next sweep then leaves the
 * account alone until it is due again.
 */
import { CreateQueueCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { RegistryLease } from '../../lambdas/reconcile/lease';
import { sweep, type SweepDeps } from '../../lambdas/reconcile/sweep';
import { runJobBatch, type WorkerMetric } from '../../lambdas/reconcile/worker';
import { awsClients } from '../../lambdas/shared/aws-clients';
import { silentLogger } from '../../lambdas/shared/logger';
import { ReconcileJobQueue } from '../../lambdas/shared/reconcile-job';
import { CUSTOMER, reconcileWorld } from '../../testkit/reconcile-env';
import { REGION } from '../../testkit/test-emulator';

const CADENCE = { periodSeconds: 900, healthyEvery: 4 };

test('sweep -> job queue -> worker under the lease: the account is reconciled once and next due a period later', async () => {
  const world = await reconcileWorld([{ accountId: CUSTOMER }]);
  const sqs = awsClients.sqs({ region: REGION });
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: 'reconcile-jobs-test' }));
  const queue = new ReconcileJobQueue(sqs, QueueUrl!);
  let clock = Date.parse('2026-11-01T00:00:00.000Z');
  const now = () => new Date(clock);
  const sweepDeps: SweepDeps = {
    registry: world.registry,
    queue,
    lambda: world.deps.clients.collector.lambda,
    config: { region: REGION, cadence: CADENCE, ingestTopology: 'customer-queue' },
    logger: silentLogger,
    now,
  };
  const published: WorkerMetric[][] = [];
  const worker = {
    ...world.deps,
    config: { ...world.deps.config, cadence: CADENCE },
    registry: world.registry,
    lease: new RegistryLease(world.registry.db, world.registry.tableName),
    publish: (metrics: readonly WorkerMetric[]) => published.push([...metrics]),
    now,
  };

  expect(await sweep(sweepDeps, { mode: 'apply', reason: 'schedule' })).toMatchObject({ due: 1, sent: 1 });
  const received = await sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10 }));
  const messages = (received.Messages ?? []).map((m) => ({
    messageId: m.MessageId!,
    receiptHandle: m.ReceiptHandle!,
    body: m.Body!,
  }));
  expect(messages).toHaveLength(1);
  const result = await runJobBatch(messages, worker, {
    owner: 'invocation-1',
    remainingMs: () => 300_000,
    concurrency: 2,
    marginMs: 15_000,
    retryLater: () => Promise.reject(new Error('no other worker holds the lease')),
  });
  expect(result.batchItemFailures).toEqual([]);

  const record = await world.registry.get(CUSTOMER);
  // The empty emulator account gets its chain built: repaired, so confirmed at the next period.
  expect(record).toMatchObject({ status: 'repaired', reconcileDueAt: new Date(clock + 900_000).toISOString() });
  expect(record?.reconcileLeaseOwner).toBeUndefined();
  expect(published.flat().find((metric) => metric.name === 'AccountsRepaired')?.value).toBe(1);

  clock += 5 * 60_000;
  expect(await sweep(sweepDeps, { mode: 'apply', reason: 'schedule' })).toMatchObject({ due: 0, sent: 0 });
  clock += 10 * 60_000;
  expect(await sweep(sweepDeps, { mode: 'apply', reason: 'schedule' })).toMatchObject({ due: 1, sent: 1 });
});
