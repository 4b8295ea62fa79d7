/**
 * Tamper calls as AWS records them (docs/operations.md, "Triggers"): the CloudTrail record of a chain-changing API
 * call, as it appears in a log file, and the EventBridge event that carries the same record to a rule on the
 * default bus. For the trigger tests, the sandbox and the benchmarks.
 */
import { randomUUID } from 'node:crypto';
import { ReceiveMessageCommand, type Message, type SQSClient } from '@aws-sdk/client-sqs';
import { runJobBatch, type WorkerDeps } from '../lambdas/reconcile/worker';
import { parseReconcileJob, type ReconcileJob } from '../lambdas/shared/reconcile-job';
import type { TriggerClaims } from '../lambdas/ingest/source/tamper-triggers';

export interface TamperCallParams {
  accountId: string;
  region: string;
  eventSource: string;
  eventName: string;
  requestParameters: Record<string, unknown>;
  /** ISO, CloudTrail's form (seconds, `Z`). Default: now. */
  eventTime?: string;
  /** A failed call: CloudTrail adds `errorCode` and `errorMessage`. */
  errorCode?: string;
}

/**
 * One CloudTrail management event record of an IAM role's call, with the fields and order CloudTrail writes
 * ("CloudTrail record contents", CloudTrail User Guide).
 */
export function tamperRecord(params: TamperCallParams): Record<string, unknown> {
  const eventTime = params.eventTime ?? new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  const service = params.eventSource.split('.')[0]!;
  return {
    eventVersion: '1.09',
    userIdentity: {
      type: 'AssumedRole',
      principalId: 'AROAEXAMPLEID:admin-session',
      arn: `arn:aws:sts::${params.accountId}:assumed-role/Admin/admin-session`,
      accountId: params.accountId,
      accessKeyId: 'ASIAEXAMPLEKEYID',
      sessionContext: {
        sessionIssuer: {
          type: 'Role',
          principalId: 'AROAEXAMPLEID',
          arn: `arn:aws:iam::${params.accountId}:role/Admin`,
          accountId: params.accountId,
          userName: 'Admin',
        },
        attributes: { creationDate: eventTime, mfaAuthenticated: 'false' },
      },
    },
    eventTime,
    eventSource: params.eventSource,
    eventName: params.eventName,
    awsRegion: params.region,
    sourceIPAddress: '203.0.113.10',
    userAgent: `aws-cli/2.17.0 md/command#${service}.${params.eventName.toLowerCase()}`,
    ...(params.errorCode !== undefined
      ? { errorCode: params.errorCode, errorMessage: `${params.errorCode} (example)` }
      : {}),
    requestParameters: params.requestParameters,
    responseElements: null,
    requestID: randomUUID(),
    eventID: randomUUID(),
    readOnly: false,
    eventType: 'AwsApiCall',
    managementEvent: true,
    recipientAccountId: params.accountId,
    eventCategory: 'Management',
    tlsDetails: {
      tlsVersion: 'TLSv1.3',
      cipherSuite: 'TLS_AES_128_GCM_SHA256',
      clientProvidedHostHeader: `${service}.${params.region}.amazonaws.com`,
    },
  };
}

/**
 * The event EventBridge delivers to a rule's target for a CloudTrail-recorded call: the envelope of "Amazon
 * EventBridge events" (EventBridge User Guide: version "0", id, detail-type, source `aws.<service>`, account,
 * time, region, resources, detail) around the CloudTrail record, detail-type "AWS API Call via CloudTrail"
 * ("AWS service events delivered via AWS CloudTrail"). Forwarded to another account's bus, it arrives unchanged.
 */
export function apiCallEvent(record: Record<string, unknown>): Record<string, unknown> {
  const eventSource = String(record.eventSource);
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'AWS API Call via CloudTrail',
    source: `aws.${eventSource.split('.')[0]!}`,
    account: record.recipientAccountId,
    time: record.eventTime,
    region: record.awsRegion,
    resources: [],
    detail: record,
  };
}

/** TriggerClaims in memory, with the registry's semantics (a claim on an unregistered account fails). */
export class MemoryTriggerClaims implements TriggerClaims {
  readonly coveredUntil = new Map<string, string>();
  constructor(readonly registered: ReadonlySet<string>) {}

  claim(accountId: string, eventTime: string, coveredUntil: string): Promise<boolean> {
    const current = this.coveredUntil.get(accountId);
    if (!this.registered.has(accountId) || (current !== undefined && current > eventTime)) {
      return Promise.resolve(false);
    }
    this.coveredUntil.set(accountId, coveredUntil);
    return Promise.resolve(true);
  }

  release(accountId: string, coveredUntil: string): Promise<void> {
    if (this.coveredUntil.get(accountId) === coveredUntil) this.coveredUntil.delete(accountId);
    return Promise.resolve();
  }
}

/** A job queue that keeps what is sent. */
export class MemoryJobQueue {
  readonly sent: { job: ReconcileJob; delaySeconds?: number }[] = [];
  failNext = false;

  send(job: ReconcileJob, options: { delaySeconds?: number } = {}): Promise<void> {
    if (this.failNext) {
      this.failNext = false;
      return Promise.reject(new Error('SQS unavailable (test)'));
    }
    this.sent.push({ job, ...options });
    return Promise.resolve();
  }
}

/** The jobs on a job queue, waiting out their DelaySeconds (long polling, up to `attempts` receives). */
export async function receiveJobs(
  sqs: Pick<SQSClient, 'send'>,
  queueUrl: string,
  options: { attempts?: number; waitSeconds?: number } = {},
): Promise<{ message: Message; job: ReconcileJob }[]> {
  const found: { message: Message; job: ReconcileJob }[] = [];
  for (let attempt = 0; attempt < (options.attempts ?? 3) && found.length === 0; attempt += 1) {
    const received = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: options.waitSeconds ?? 3,
      }),
    );
    for (const message of received.Messages ?? []) found.push({ message, job: parseReconcileJob(message.Body!) });
  }
  return found;
}

/** The reconcile worker over job messages, as the job queue's mapping invokes it (one at a time, two minutes). */
export function runJobMessages(messages: readonly Message[], deps: WorkerDeps, owner: string) {
  return runJobBatch(
    messages.map((m) => ({ messageId: m.MessageId!, receiptHandle: m.ReceiptHandle!, body: m.Body! })),
    deps,
    { owner, remainingMs: () => 120_000, concurrency: 1, marginMs: 1_000, retryLater: () => Promise.resolve() },
  );
}
