import { ChangeMessageVisibilityCommand } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { awsClients } from '../shared/aws-clients';
import { ConfigError } from '../shared/errors';
import { logger } from '../shared/logger';
import { loadReconcileConfig } from './config';
import { createReconcileRuntime } from './runtime';
import { runJobBatch } from './worker';

// Read once at cold start: a bad variable fails the first invocation naming it.
const runtime = createReconcileRuntime(loadReconcileConfig());
const queueUrl = runtime.config.jobQueueUrl;
if (queueUrl === undefined) throw new ConfigError('RECONCILE_JOB_QUEUE_URL is required by the reconcile worker');
const sqs = awsClients.sqs({ region: runtime.config.region });

/**
 * Time kept back at the end of an invocation: no job starts with less left, and a running one is given up this
 * long before Lambda's timeout, so the batch response (which jobs to redeliver) is still returned.
 */
const MARGIN_MS = 15_000;

/** The job queue's event source mapping (ReportBatchItemFailures): one account per job (worker.ts). */
export const handler = async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
  logger.addContext(context);
  return runJobBatch(
    event.Records.map((record) => ({
      messageId: record.messageId,
      receiptHandle: record.receiptHandle,
      body: record.body,
    })),
    runtime.worker,
    {
      owner: context.awsRequestId,
      remainingMs: () => context.getRemainingTimeInMillis(),
      concurrency: runtime.config.concurrency,
      marginMs: MARGIN_MS,
      retryLater: async (message, seconds) => {
        await sqs.send(
          new ChangeMessageVisibilityCommand({
            QueueUrl: queueUrl,
            ReceiptHandle: message.receiptHandle,
            VisibilityTimeout: seconds,
          }),
        );
      },
    },
  );
};
