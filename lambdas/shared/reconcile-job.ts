import { SendMessageBatchCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
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
  /**
   * What the sweep read of the other registry items for this account, so a worker does not scan the registry per
   * job: the registered log archives of this account (reconcile.ts logArchivesFor) and the number of recorded
   * event source mappings (capacity.ts MappingBudget). Absent (triggers, manual runs): the worker reads them.
   */
  context?: {
    logArchives: Array<{ accountId: string; bucketNames: string[] }>;
    recordedMappings: number;
  };
}

/** SQS's SendMessageBatch takes at most 10 entries (Amazon SQS API Reference, SendMessageBatch). */
export const SEND_BATCH_SIZE = 10;

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
  if (job.mappings !== undefined) checkMappings(job.mappings);
  if (job.context !== undefined) checkContext(job.context);
  return job as ReconcileJob;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function checkMappings(mappings: unknown): void {
  if (!Array.isArray(mappings)) throw new PermanentInputError('reconcile job: mappings must be an array');
  mappings.forEach((mapping: unknown, index) => {
    const where = `reconcile job: mappings[${index}]`;
    if (!isObject(mapping)) throw new PermanentInputError(`${where} must be an object`);
    for (const name of ['uuid', 'eventSourceArn', 'functionArn', 'state'] as const) {
      if (typeof mapping[name] !== 'string' || mapping[name] === '') {
        throw new PermanentInputError(
          `${where}.${name} must be a non-empty string, got ${JSON.stringify(mapping[name])}`,
        );
      }
    }
    for (const name of ['maximumConcurrency', 'batchSize'] as const) {
      if (mapping[name] !== undefined && !Number.isInteger(mapping[name])) {
        throw new PermanentInputError(`${where}.${name} must be an integer, got ${JSON.stringify(mapping[name])}`);
      }
    }
  });
}

function checkContext(context: unknown): void {
  if (!isObject(context)) throw new PermanentInputError('reconcile job: context must be an object');
  const { logArchives, recordedMappings } = context;
  if (!Number.isInteger(recordedMappings) || (recordedMappings as number) < 0) {
    throw new PermanentInputError(
      `reconcile job: context.recordedMappings must be a whole number, got ${JSON.stringify(recordedMappings)}`,
    );
  }
  if (!Array.isArray(logArchives)) throw new PermanentInputError('reconcile job: context.logArchives must be an array');
  logArchives.forEach((archive: unknown, index) => {
    const where = `reconcile job: context.logArchives[${index}]`;
    if (!isObject(archive) || !isAccountId(archive.accountId)) {
      throw new PermanentInputError(`${where}.accountId must be 12 digits`);
    }
    if (!Array.isArray(archive.bucketNames) || !archive.bucketNames.every((name) => typeof name === 'string')) {
      throw new PermanentInputError(`${where}.bucketNames must be an array of bucket names`);
    }
  });
}

/** What sendBatch could not enqueue, after one retry of the entries SQS refused: the jobs and SQS's reasons. */
export interface UnsentJob {
  job: ReconcileJob;
  reason: string;
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

  /**
   * Sends jobs SEND_BATCH_SIZE at a time. SendMessageBatch can succeed for some entries and fail for others
   * (its `Failed` list, each with a code and whether the sender is at fault): the failed entries are sent once
   * more, and what still fails is returned, not thrown, so one refused job does not lose the others.
   */
  async sendBatch(jobs: readonly ReconcileJob[]): Promise<UnsentJob[]> {
    const unsent: UnsentJob[] = [];
    for (let start = 0; start < jobs.length; start += SEND_BATCH_SIZE) {
      let pending = jobs.slice(start, start + SEND_BATCH_SIZE);
      for (let attempt = 0; attempt < 2 && pending.length > 0; attempt += 1) {
        const failed = await this.sendEntries(pending);
        const last = attempt === 1;
        pending = failed.filter(({ senderFault }) => !senderFault && !last).map(({ job }) => job);
        for (const entry of failed) {
          if (entry.senderFault || last) unsent.push({ job: entry.job, reason: entry.reason });
        }
      }
    }
    return unsent;
  }

  private async sendEntries(
    jobs: readonly ReconcileJob[],
  ): Promise<Array<{ job: ReconcileJob; reason: string; senderFault: boolean }>> {
    const response = await this.sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: this.queueUrl,
        Entries: jobs.map((job, index) => ({ Id: String(index), MessageBody: JSON.stringify(job) })),
      }),
    );
    return (response.Failed ?? []).map((failure) => ({
      job: jobs[Number(failure.Id)]!,
      reason: `${failure.Code ?? 'unknown'}: ${failure.Message ?? 'no message'}`,
      senderFault: failure.SenderFault === true,
    }));
  }
}
