/**
 * The world of the per-file benchmark (bench/files.ts, bench/files-child.ts): one registered tenant whose trail
 * delivers the `files` input into its bucket, a CloudTrail SNS notification per file on the tenant's queue, as
 * CloudTrail sends them, and the SQS events Lambda's event source mapping would build from them.
 */
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { logFileKey } from '../testkit/cloudtrail-generator';
import { cloudTrailNotification, snsEnvelope } from '../testkit/demo-chain';
import { accountRecord } from '../testkit/registry';
import type { AccountRecord } from '../lambdas/shared/registry';

export const REGION = 'us-east-1';
export const COLLECTOR_ACCOUNT = '123456789012';
export const TENANT = '111122223333';
export const TABLE = 'cloudtrail-collector-accounts';
export const TOKEN = 'bench-token';
export const BUCKET = `aws-cloudtrail-logs-${TENANT}-bench`;
export const QUEUE_ARN = `arn:aws:sqs:${REGION}:${TENANT}:cloudtrail-collector-notifications`;
export const TOPIC_ARN = `arn:aws:sns:${REGION}:${TENANT}:cloudtrail-collector-notifications`;
/**
 * The batch size of a customer-queue mapping (lambdas/reconcile/apply-paths.ts), and of the hub mappings before
 * they took 20 (lib/hub-queues.construct.ts HUB_BATCHING): the default of a run that names none.
 */
export const SQS_BATCH_SIZE = 10;

export function tenantRecord(): AccountRecord {
  return accountRecord(
    { accountId: TENANT, bucketName: BUCKET, topicArn: TOPIC_ARN, queueArn: QUEUE_ARN, status: 'healthy' },
    '2026-11-01T00:00:00.000Z',
  );
}

/** The key CloudTrail gives file `index` (one every 5 minutes). */
export function fileKey(index: number): string {
  return logFileKey({
    accountId: TENANT,
    region: REGION,
    time: new Date(Date.UTC(2026, 10, 1) + index * 300_000),
    unique: `bench${String(index).padStart(8, '0')}`,
  });
}

function sqsRecord(index: number, pass: number): SQSRecord {
  const sent = String(Date.UTC(2026, 10, 1) + index * 300_000);
  return {
    messageId: `0000${pass}-${String(index).padStart(8, '0')}-bench`,
    receiptHandle: `receipt-${pass}-${index}`,
    body: snsEnvelope(cloudTrailNotification(BUCKET, [fileKey(index)]), TOPIC_ARN),
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: sent,
      SenderId: 'AIDAIENQZJOLO23YVJ4VO',
      ApproximateFirstReceiveTimestamp: sent,
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: QUEUE_ARN,
    awsRegion: REGION,
  };
}

/** The files' notifications as Lambda invocations of `batchSize` messages each, in delivery order. */
export function sqsEvents(files: number, pass: number, batchSize: number = SQS_BATCH_SIZE): SQSEvent[] {
  const events: SQSEvent[] = [];
  for (let at = 0; at < files; at += batchSize) {
    const count = Math.min(batchSize, files - at);
    events.push({ Records: Array.from({ length: count }, (_, k) => sqsRecord(at + k, pass)) });
  }
  return events;
}

/** A Lambda context with the whole 15 minutes ahead (no deadline comes into play). */
export function lambdaContext(invocation: number): Context {
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: 'cloudtrail-collector-ingest',
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${REGION}:${COLLECTOR_ACCOUNT}:function:cloudtrail-collector-ingest`,
    memoryLimitInMB: '1024',
    awsRequestId: `bench-invocation-${invocation}`,
    logGroupName: '/aws/lambda/cloudtrail-collector-ingest',
    logStreamName: 'bench',
    getRemainingTimeInMillis: () => 900_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
