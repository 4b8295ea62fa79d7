import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { isAccountId } from './arn';
import { PermanentInputError } from './errors';

/**
 * One reconcile job: reconcile one account (docs/operations.md, "Sweep, jobs and triggers"). The scheduled sweep
 * sends one per account that is due; a tamper trigger (a chain-changing API call seen in ingested records, or
 * the customer's EventBridge rule) sends one for the account it names. The reconcile worker takes jobs from the
 * collector's reconcile job queue, one account per job, under a lease. This file is the contract between the
 * senders (sweep, ingest, the event bus target) and the worker: both sides parse with `parseReconcileJob`.
 */
export type ReconcileJobReason = 'schedule' | 'trigger' | 'manual';

export interface ReconcileJob {
  /** Always 'reconcile-account': a message of any other kind on the job queue is poison. */
  kind: 'reconcile-account';
  accountId: string;
  mode: 'plan' | 'apply';
  reason: ReconcileJobReason;
  /** ISO time the job was created (the sweep's run time, or when the trigger was seen). */
  requestedAt: string;
  /** For 'trigger': what caused it, e.g. `cloudtrail:StopLogging` on a resource ARN; for logs and metrics. */
  trigger?: {
    eventSource: string;
    eventName: string;
    resourceArn?: string;
    eventTime?: string;
    via: 'ingest' | 'eventbridge';
  };
  /**
   * The sweep's snapshot of the collector's event source mappings for this account's queues (customer-queue
   * topology): one ListEventSourceMappings per sweep, not one per account (Lambda's control plane shares 15
   * requests/s per account). Absent: the worker lists them itself (triggers, manual runs).
   */
  mappings?: Array<{
    uuid: string;
    eventSourceArn: string;
    functionArn: string;
    state: string;
    maximumConcurrency?: number;
    batchSize?: number;
  }>;
}

const REASONS: readonly ReconcileJobReason[] = ['schedule', 'trigger', 'manual'];

/** Parses a job message body; anything malformed is a PermanentInputError naming what is wrong. */
export function parseReconcileJob(body: string): ReconcileJob {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (error) {
    throw new PermanentInputError('reconcile job: body is not JSON', { cause: error });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new PermanentInputError('reconcile job: body must be a JSON object');
  }
  const job = value as Partial<ReconcileJob>;
  if (job.kind !== 'reconcile-account') {
    throw new PermanentInputError(`reconcile job: kind must be "reconcile-account", got ${JSON.stringify(job.kind)}`);
  }
  if (!isAccountId(job.accountId)) {
    throw new PermanentInputError(`reconcile job: accountId must be 12 digits, got ${JSON.stringify(job.accountId)}`);
  }
  if (job.mode !== 'plan' && job.mode !== 'apply') {
    throw new PermanentInputError(`reconcile job: mode must be "plan" or "apply", got ${JSON.stringify(job.mode)}`);
  }
  if (!REASONS.includes(job.reason as ReconcileJobReason)) {
    throw new PermanentInputError(
      `reconcile job: reason must be one of ${REASONS.join(', ')}, got ${JSON.stringify(job.reason)}`,
    );
  }
  if (typeof job.requestedAt !== 'string' || Number.isNaN(Date.parse(job.requestedAt))) {
    throw new PermanentInputError(
      `reconcile job: requestedAt must be an ISO time, got ${JSON.stringify(job.requestedAt)}`,
    );
  }
  return job as ReconcileJob;
}

/** Sends jobs to the reconcile job queue (RECONCILE_JOB_QUEUE_URL). */
export class ReconcileJobQueue {
  constructor(
    private readonly sqs: Pick<SQSClient, 'send'>,
    readonly queueUrl: string,
  ) {}

  /** `delaySeconds` (0-900, SQS's DelaySeconds) lets a trigger wait for a burst of related calls to end. */
  async send(job: ReconcileJob, options: { delaySeconds?: number } = {}): Promise<void> {
    await this.sqs.send(
      new SendMessageCommand({
        QueueUrl: this.queueUrl,
        MessageBody: JSON.stringify(job),
        ...(options.delaySeconds !== undefined ? { DelaySeconds: options.delaySeconds } : {}),
      }),
    );
  }
}
