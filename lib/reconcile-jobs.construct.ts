import { Duration } from 'aws-cdk-lib';
import { EventSourceMapping, type IFunction } from 'aws-cdk-lib/aws-lambda';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import { NagSuppressions } from 'cdk-nag';
import { Construct } from 'constructs';
import { accountOnlyQueue } from './account-only-queue';
import { RECONCILE_JOB_QUEUE_NAMES } from './names';

/**
 * Receives of a job before the DLQ: a job handed back because its account was leased spends one too, so a few
 * more than a plain retry budget; a job that fails 5 times in a row (30 minutes apart at the default timeout)
 * needs a person.
 */
export const RECONCILE_JOB_MAX_RECEIVE_COUNT = 5;

export interface ReconcileJobsProps {
  /** The worker's timeout: the queue's visibility timeout is 6 x this. */
  workerTimeout: Duration;
}

/**
 * The reconcile job queue and its DLQ (docs/operations.md, "Sweep and jobs"): the sweep sends one job per due
 * account, the tamper triggers one per tampered account, and the worker's mapping takes them. SSE with SQS-managed
 * keys, TLS only, and only principals of this account may use it: a job names the account to reconcile.
 */
export class ReconcileJobs extends Construct {
  readonly queue: Queue;
  readonly deadLetterQueue: Queue;

  constructor(scope: Construct, id: string, props: ReconcileJobsProps) {
    super(scope, id);
    // A job older than a day is replaced by the sweeps that ran since.
    ({ queue: this.queue, deadLetterQueue: this.deadLetterQueue } = accountOnlyQueue(this, {
      names: RECONCILE_JOB_QUEUE_NAMES,
      retention: Duration.days(1),
      visibilityTimeout: Duration.seconds(6 * props.workerTimeout.toSeconds()),
      maxReceiveCount: RECONCILE_JOB_MAX_RECEIVE_COUNT,
      deadLetterReason:
        'This queue is itself the dead-letter queue of the reconcile job queue; nothing consumes it automatically. Its alarm (ReconcileJobsDeadLettered) calls an operator, and the next sweep sends the account a job again anyway.',
    }));
  }

  /**
   * The worker's mapping: `batchSize` jobs per invocation (run `batchSize` at once), at most `maximumConcurrency`
   * invocations, failed jobs reported one by one (ReportBatchItemFailures).
   */
  connect(worker: IFunction, options: { batchSize: number; maximumConcurrency: number }): EventSourceMapping {
    const mapping = new EventSourceMapping(this, 'Mapping', {
      target: worker,
      eventSourceArn: this.queue.queueArn,
      batchSize: options.batchSize,
      reportBatchItemFailures: true,
      maxConcurrency: options.maximumConcurrency,
    });
    NagSuppressions.addResourceSuppressions(mapping, [
      {
        id: 'Serverless-LambdaEventSourceMappingDestination',
        reason:
          'Lambda offers on-failure destinations for stream and Kafka event source mappings, not for SQS: a failed job stays in the job queue (ReportBatchItemFailures) and its redrive policy moves it to the job DLQ.',
      },
    ]);
    return mapping;
  }
}
