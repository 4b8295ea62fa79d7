import { DeleteTrailCommand, DescribeTrailsCommand, UpdateTrailCommand } from '@aws-sdk/client-cloudtrail';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  ListObjectsV2Command,
  PutBucketPolicyCommand,
} from '@aws-sdk/client-s3';
import {
  CreateTopicCommand,
  DeleteTopicCommand,
  ListSubscriptionsByTopicCommand,
  SetTopicAttributesCommand,
  UnsubscribeCommand,
} from '@aws-sdk/client-sns';
import { DeleteQueueCommand, GetQueueUrlCommand, SetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import type { ChainClients } from './chain-check';

export interface DriftContext {
  accountId: string;
  trailName: string;
  region: string;
}

/** One seed row of the drift table (docs/drift-remediation.md): how someone breaks the chain, and what must follow. */
export interface DriftScenario {
  code: string;
  breaks: string;
  /** Breaks the chain with plain SDK calls, as a customer's admin would. */
  apply(clients: ChainClients, context: DriftContext): Promise<void>;
  /** Whether the collector must act (false: report only, like BUCKET_POLICY_CHANGED). */
  expectsActions: boolean;
}

async function currentTrail(clients: ChainClients, context: DriftContext) {
  const described = await clients.cloudTrail.send(new DescribeTrailsCommand({ trailNameList: [context.trailName] }));
  const trail = described.trailList?.[0];
  if (!trail?.S3BucketName || !trail.SnsTopicARN) throw new Error(`trail ${context.trailName} has no bucket or topic`);
  return { bucket: trail.S3BucketName, topicArn: trail.SnsTopicARN };
}

async function queueUrl(clients: ChainClients): Promise<string> {
  return (await clients.sqs.send(new GetQueueUrlCommand({ QueueName: 'outcomesqueue' }))).QueueUrl!;
}

/** A policy of the customer's own that grants an auditor something and, by replacing ours, breaks the chain. */
function customerOnlyPolicy(accountId: string, action: string, resource: string): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'AcmeAuditRead',
        Effect: 'Allow',
        Principal: { AWS: `arn:aws:iam::${accountId}:role/acme-auditor` },
        Action: action,
        Resource: resource,
      },
    ],
  });
}

export const DRIFT_SCENARIOS: readonly DriftScenario[] = [
  {
    code: 'TRAIL_MISSING',
    breaks: 'delete the trail',
    expectsActions: true,
    apply: async (clients, context) => {
      await clients.cloudTrail.send(new DeleteTrailCommand({ Name: context.trailName }));
    },
  },
  {
    code: 'BUCKET_CHANGED',
    breaks: "point the trail at another of the customer's buckets",
    expectsActions: false,
    apply: async (clients, context) => {
      const bucket = `acme-audit-${context.accountId}`;
      await clients.s3.send(new CreateBucketCommand({ Bucket: bucket }));
      await clients.cloudTrail.send(new UpdateTrailCommand({ Name: context.trailName, S3BucketName: bucket }));
    },
  },
  {
    code: 'BUCKET_POLICY_CHANGED',
    breaks: "replace the bucket policy with the customer's own",
    expectsActions: false,
    apply: async (clients, context) => {
      const { bucket } = await currentTrail(clients, context);
      await clients.s3.send(
        new PutBucketPolicyCommand({
          Bucket: bucket,
          Policy: customerOnlyPolicy(context.accountId, 's3:GetObject', `arn:aws:s3:::${bucket}/*`),
        }),
      );
    },
  },
  {
    code: 'BUCKET_MISSING',
    breaks: "empty and delete the trail's bucket",
    expectsActions: true,
    apply: async (clients, context) => {
      const { bucket } = await currentTrail(clients, context);
      for (;;) {
        const listed = await clients.s3.send(new ListObjectsV2Command({ Bucket: bucket }));
        const keys = (listed.Contents ?? []).map((object) => ({ Key: object.Key! }));
        if (keys.length === 0) break;
        await clients.s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys } }));
      }
      await clients.s3.send(new DeleteBucketCommand({ Bucket: bucket }));
    },
  },
  {
    code: 'TOPIC_CHANGED',
    breaks: 'point the trail at a new topic of the customer',
    expectsActions: true,
    apply: async (clients, context) => {
      await clients.sns.send(new CreateTopicCommand({ Name: 'acme-trail-topic' }));
      await clients.cloudTrail.send(
        new UpdateTrailCommand({ Name: context.trailName, SnsTopicName: 'acme-trail-topic' }),
      );
    },
  },
  {
    code: 'TOPIC_POLICY_INVALID',
    breaks: 'replace the topic policy with one that lets CloudTrail do nothing',
    expectsActions: true,
    apply: async (clients, context) => {
      const { topicArn } = await currentTrail(clients, context);
      await clients.sns.send(
        new SetTopicAttributesCommand({
          TopicArn: topicArn,
          AttributeName: 'Policy',
          AttributeValue: customerOnlyPolicy(context.accountId, 'SNS:Subscribe', topicArn),
        }),
      );
    },
  },
  {
    code: 'TOPIC_MISSING',
    breaks: "delete the trail's topic",
    expectsActions: true,
    apply: async (clients, context) => {
      const { topicArn } = await currentTrail(clients, context);
      await clients.sns.send(new DeleteTopicCommand({ TopicArn: topicArn }));
    },
  },
  {
    code: 'SUBSCRIPTION_MISSING',
    breaks: "remove the queue's subscription",
    expectsActions: true,
    apply: async (clients, context) => {
      const { topicArn } = await currentTrail(clients, context);
      const listed = await clients.sns.send(new ListSubscriptionsByTopicCommand({ TopicArn: topicArn }));
      for (const subscription of listed.Subscriptions ?? []) {
        if (subscription.Protocol === 'sqs') {
          await clients.sns.send(new UnsubscribeCommand({ SubscriptionArn: subscription.SubscriptionArn }));
        }
      }
    },
  },
  {
    code: 'QUEUE_POLICY_INVALID',
    breaks: 'replace the queue policy with one that lets the topic send nothing',
    expectsActions: true,
    apply: async (clients, context) => {
      const url = await queueUrl(clients);
      const arn = `arn:aws:sqs:${context.region}:${context.accountId}:outcomesqueue`;
      await clients.sqs.send(
        new SetQueueAttributesCommand({
          QueueUrl: url,
          Attributes: { Policy: customerOnlyPolicy(context.accountId, 'sqs:GetQueueAttributes', arn) },
        }),
      );
    },
  },
  {
    code: 'QUEUE_MISSING',
    breaks: 'delete the queue',
    expectsActions: true,
    apply: async (clients) => {
      await clients.sqs.send(new DeleteQueueCommand({ QueueUrl: await queueUrl(clients) }));
    },
  },
];
