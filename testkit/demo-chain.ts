import { CreateBucketCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { CreateTopicCommand, PublishCommand, SubscribeCommand, type SNSClient } from '@aws-sdk/client-sns';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  SendMessageCommand,
  SetQueueAttributesCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { CreateTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { defaultQueueStatements, mergeCollectorStatements } from '../lambdas/reconcile/policies';
import { generateRecords, logFileBody, logFileKey } from './cloudtrail-generator';

export const DEMO_NAMES = {
  topic: 'outcomestopic',
  queue: 'outcomesqueue',
  dlq: 'outcomesqueue-dlq',
  bucket: (accountId: string) => `outcomes-${accountId}`,
} as const;

/** Creates the registry table the way CollectorStack defines it (partition key `accountId`). */
export async function createRegistryTable(dynamo: DynamoDBClient, tableName: string): Promise<void> {
  await dynamo.send(
    new CreateTableCommand({
      TableName: tableName,
      AttributeDefinitions: [{ AttributeName: 'accountId', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'accountId', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
}

export interface DemoChain {
  bucket: string;
  topicArn: string;
  queueUrl: string;
  queueArn: string;
  dlqUrl: string;
}

/**
 * The customer-side chain as it stands when healthy: bucket -> topic -> queue (with DLQ), the queue
 * subscribed to the topic. The emulator cannot run CloudTrail delivery, so callers publish notifications.
 */
export async function createChain(
  clients: { s3: S3Client; sns: SNSClient; sqs: SQSClient },
  accountId: string,
  options: { maxReceiveCount?: number; visibilityTimeoutSeconds?: number } = {},
): Promise<DemoChain> {
  const bucket = DEMO_NAMES.bucket(accountId);
  await clients.s3.send(new CreateBucketCommand({ Bucket: bucket }));
  const topic = await clients.sns.send(new CreateTopicCommand({ Name: DEMO_NAMES.topic }));
  const dlq = await clients.sqs.send(new CreateQueueCommand({ QueueName: DEMO_NAMES.dlq }));
  const dlqArn = await queueArn(clients.sqs, dlq.QueueUrl!);
  // As the collector builds it: the DLQ is also the subscription's SNS dead-letter queue, so the topic may send.
  await clients.sqs.send(
    new SetQueueAttributesCommand({
      QueueUrl: dlq.QueueUrl,
      Attributes: {
        Policy: JSON.stringify(
          mergeCollectorStatements(undefined, defaultQueueStatements({ queueArn: dlqArn, topicArn: topic.TopicArn! })),
        ),
      },
    }),
  );
  const queue = await clients.sqs.send(
    new CreateQueueCommand({
      QueueName: DEMO_NAMES.queue,
      Attributes: {
        SqsManagedSseEnabled: 'true',
        VisibilityTimeout: String(options.visibilityTimeoutSeconds ?? 30),
        RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: options.maxReceiveCount ?? 5 }),
      },
    }),
  );
  const arn = await queueArn(clients.sqs, queue.QueueUrl!);
  await clients.sns.send(
    new SubscribeCommand({
      TopicArn: topic.TopicArn,
      Protocol: 'sqs',
      Endpoint: arn,
      Attributes: { RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn }) },
    }),
  );
  return { bucket, topicArn: topic.TopicArn!, queueUrl: queue.QueueUrl!, queueArn: arn, dlqUrl: dlq.QueueUrl! };
}

export async function queueArn(sqs: SQSClient, queueUrl: string): Promise<string> {
  const attributes = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }),
  );
  return attributes.Attributes!.QueueArn!;
}

/** CloudTrail's own SNS notification body for delivered log files. */
export function cloudTrailNotification(bucket: string, keys: string[]): string {
  return JSON.stringify({ s3Bucket: bucket, s3ObjectKey: keys });
}

export interface DeliveredFile {
  key: string;
  eventIds: string[];
}

/** Writes one log file as CloudTrail would, and returns its key and records' eventIDs. */
export async function putLogFile(
  s3: S3Client,
  params: {
    bucket: string;
    accountId: string;
    region: string;
    seed: number;
    records: number;
    time: Date;
    orgId?: string;
    prefix?: string;
  },
): Promise<DeliveredFile> {
  const records = generateRecords(params.records, {
    accountId: params.accountId,
    region: params.region,
    seed: params.seed,
    start: params.time,
  });
  const key = logFileKey({
    accountId: params.accountId,
    region: params.region,
    time: params.time,
    unique: `seed${String(params.seed).padStart(12, '0')}`,
    ...(params.orgId ? { orgId: params.orgId } : {}),
    ...(params.prefix ? { prefix: params.prefix } : {}),
  });
  await s3.send(new PutObjectCommand({ Bucket: params.bucket, Key: key, Body: logFileBody(records) }));
  return { key, eventIds: records.map((record) => record.eventID as string) };
}

/** Announces files through the topic, exactly as CloudTrail does (the queue receives the SNS envelope). */
export async function publishCloudTrailNotification(
  sns: SNSClient,
  topicArn: string,
  bucket: string,
  keys: string[],
): Promise<void> {
  await sns.send(new PublishCommand({ TopicArn: topicArn, Message: cloudTrailNotification(bucket, keys) }));
}

export async function sendRaw(sqs: SQSClient, queueUrl: string, body: string): Promise<void> {
  await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body }));
}

/** An S3 event notification (event version 2.1) for a created object; keys are URL-encoded, spaces as `+`. */
export function s3EventNotification(bucket: string, key: string, eventName = 'ObjectCreated:Put'): string {
  const encodedKey = encodeURIComponent(key).replace(/%2F/g, '/').replace(/%20/g, '+');
  return JSON.stringify({
    Records: [
      {
        eventVersion: '2.1',
        eventSource: 'aws:s3',
        awsRegion: 'us-east-1',
        eventTime: '2026-11-01T00:00:00.000Z',
        eventName,
        userIdentity: { principalId: 'AWS:AROAEXAMPLE:regionalDeliverySession' },
        requestParameters: { sourceIPAddress: '203.0.113.10' },
        responseElements: {
          'x-amz-request-id': 'C3D13FE58DE4C810',
          'x-amz-id-2': 'FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANOjpD',
        },
        s3: {
          s3SchemaVersion: '1.0',
          configurationId: 'cloudtrail-collector',
          bucket: { name: bucket, ownerIdentity: { principalId: 'A3NL1KOZZKExample' }, arn: `arn:aws:s3:::${bucket}` },
          object: {
            key: encodedKey,
            size: 1024,
            eTag: 'd41d8cd98f00b204e9800998ecf8427e',
            sequencer: '0055AED6DCD90281E5',
          },
        },
      },
    ],
  });
}

/** An EventBridge "Object Created" event as S3 sends it to EventBridge (keys are not URL-encoded there). */
export function eventBridgeObjectCreated(bucket: string, key: string): string {
  return JSON.stringify({
    version: '0',
    id: '17793124-05d4-b198-2fde-7ededc63b103',
    'detail-type': 'Object Created',
    source: 'aws.s3',
    account: '111122223333',
    time: '2026-11-01T00:00:00Z',
    region: 'us-east-1',
    resources: [`arn:aws:s3:::${bucket}`],
    detail: {
      version: '0',
      bucket: { name: bucket },
      object: { key, size: 1024, etag: 'd41d8cd98f00b204e9800998ecf8427e', sequencer: '00617F08299329D189' },
      'request-id': 'N4N7GDK58NMKJ12R',
      requester: '123456789012',
      reason: 'PutObject',
    },
  });
}

/** Wraps a message in an SNS notification envelope (what a queue receives without raw delivery). */
export function snsEnvelope(message: string, topicArn = 'arn:aws:sns:us-east-1:111122223333:outcomestopic'): string {
  return JSON.stringify({
    Type: 'Notification',
    MessageId: '95df01b4-ee98-5cb9-9903-4c221d41eb5e',
    TopicArn: topicArn,
    Message: message,
    Timestamp: '2026-11-01T00:00:00.000Z',
    SignatureVersion: '1',
    Signature: 'EXAMPLE',
    SigningCertURL: 'https://sns.us-east-1.amazonaws.com/SimpleNotificationService-example.pem',
    UnsubscribeURL: 'https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=example',
  });
}
