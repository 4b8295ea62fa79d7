/**
 * The two reconcile Lambda handlers as Lambda calls them, against the emulator: the schedule's event runs the sweep
 * (one job on the job queue, its metrics in EMF), the worker handler takes the SQS event of that job, and a direct
 * `{"mode","accountId"}` invocation still reconciles that account and returns its report.
 */
import { CreateQueueCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { toSqsRecord } from '../../lambdas/ingest/source/queue-poller';
import type { SweepResult } from '../../lambdas/reconcile/sweep';
import type { ReconcileReport } from '../../lambdas/reconcile/types';
import { awsClients } from '../../lambdas/shared/aws-clients';
import { CUSTOMER, RECONCILE_TABLE, reconcileWorld } from '../../testkit/reconcile-env';
import { REGION } from '../../testkit/test-emulator';

type Handler<E, R> = (event: E, context: Context) => Promise<R>;

const context = (id: string) =>
  ({ awsRequestId: id, functionName: 'reconcile', getRemainingTimeInMillis: () => 120_000 }) as unknown as Context;

const scheduledEvent = {
  version: '0',
  id: 'e1',
  'detail-type': 'Scheduled Event',
  source: 'aws.events',
  account: '123456789012',
  time: new Date().toISOString(),
  region: REGION,
  resources: ['arn:aws:events:us-east-1:123456789012:rule/cloudtrail-collector-reconcile'],
  detail: {},
};

test('schedule -> sweep -> job -> worker handler; a direct invocation reconciles one account', async () => {
  await reconcileWorld([{ accountId: CUSTOMER }]);
  const sqs = awsClients.sqs({ region: REGION });
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: 'reconcile-jobs-handlers' }));
  const saved = { ...process.env };
  const written: string[] = [];
  const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    written.push(String(chunk));
    return true;
  });
  try {
    Object.assign(process.env, { ACCOUNTS_TABLE: RECONCILE_TABLE, RECONCILE_JOB_QUEUE_URL: QueueUrl });
    let sweepHandler: Handler<unknown, SweepResult | ReconcileReport> = () => Promise.reject(new Error('not loaded'));
    let workerHandler: Handler<SQSEvent, SQSBatchResponse> = () => Promise.reject(new Error('not loaded'));
    jest.isolateModules(() => {
      // Fresh modules: each handler reads its configuration when it is loaded.
      /* eslint-disable @typescript-eslint/no-require-imports */
      ({ handler: sweepHandler } = require('../../lambdas/reconcile/handler') as { handler: typeof sweepHandler });
      ({ handler: workerHandler } = require('../../lambdas/reconcile/worker-handler') as {
        handler: typeof workerHandler;
      });
      /* eslint-enable @typescript-eslint/no-require-imports */
    });

    const swept = (await sweepHandler(scheduledEvent, context('sweep-1'))) as SweepResult;
    expect(swept).toMatchObject({ accounts: 1, due: 1, sent: 1, notReconciledInTime: 0 });
    expect(written.join('')).toContain('"ReconcileJobsSent"');

    const received = await sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10 }));
    const queueArn = `arn:aws:sqs:${REGION}:123456789012:reconcile-jobs-handlers`;
    const event: SQSEvent = {
      Records: (received.Messages ?? []).map((message) => toSqsRecord(message, queueArn, REGION)),
    };
    expect(event.Records).toHaveLength(1);
    expect(await workerHandler(event, context('worker-1'))).toEqual({ batchItemFailures: [] });
    // The account's metrics, published by the worker as it finished.
    expect(written.join('')).toContain('"AccountsRepaired"');

    const report = (await sweepHandler({ mode: 'plan', accountId: CUSTOMER }, context('direct-1'))) as ReconcileReport;
    expect(report.mode).toBe('plan');
    expect(report.accounts.map((account) => [account.accountId, account.status])).toEqual([[CUSTOMER, 'healthy']]);
    await expect(sweepHandler({ mode: 'plan', accountId: '999988887777' }, context('direct-2'))).rejects.toThrow(
      'account 999988887777 is not registered',
    );
  } finally {
    spy.mockRestore();
    process.env = saved;
  }
});
