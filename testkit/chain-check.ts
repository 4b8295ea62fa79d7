import { DescribeTrailsCommand, GetTrailStatusCommand, type CloudTrailClient } from '@aws-sdk/client-cloudtrail';
import { HeadBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { GetTopicAttributesCommand, ListSubscriptionsByTopicCommand, type SNSClient } from '@aws-sdk/client-sns';
import { GetQueueAttributesCommand, GetQueueUrlCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { errorMessage } from '../lambdas/shared/errors';
import { checkQueuePolicy, checkTopicPolicy } from '../lambdas/reconcile/policy-validation';

export interface ChainClients {
  cloudTrail: CloudTrailClient;
  s3: S3Client;
  sns: SNSClient;
  sqs: SQSClient;
}

export interface CheckedChain {
  trailArn: string;
  bucket?: string;
  topicArn?: string;
  queueArn?: string;
  queueUrl?: string;
  /** Empty when the chain works end to end. */
  problems: string[];
}

/**
 * Checks a customer's chain with plain SDK calls, independently of the reconcile code: the trail logs into an
 * existing bucket the account owns and notifies an existing topic whose policy lets CloudTrail publish; the queue
 * has a DLQ, is subscribed, and its policy lets the topic send (in the hub topology, `hubQueueArn`: the topic is
 * subscribed to that collector queue, and the account has no queue). Says in words what does not hold.
 */
export async function checkChain(
  clients: ChainClients,
  accountId: string,
  trailArn: string,
  options: { hubQueueArn?: string } = {},
): Promise<CheckedChain> {
  const result: CheckedChain = { trailArn, problems: [] };
  const problem = (text: string) => result.problems.push(text);
  try {
    const described = await clients.cloudTrail.send(new DescribeTrailsCommand({ includeShadowTrails: true }));
    const trail = (described.trailList ?? []).find((t) => t.TrailARN === trailArn);
    if (!trail) {
      problem(`trail ${trailArn} does not exist`);
      return result;
    }
    const status = await clients.cloudTrail.send(new GetTrailStatusCommand({ Name: trailArn }));
    if (status.IsLogging !== true) problem(`trail ${trailArn} is not logging`);
    result.bucket = trail.S3BucketName;
    if (!result.bucket) problem('the trail names no bucket');
    else await clients.s3.send(new HeadBucketCommand({ Bucket: result.bucket, ExpectedBucketOwner: accountId }));
    result.topicArn = trail.SnsTopicARN;
    if (!result.topicArn) {
      problem('the trail notifies no topic');
      return result;
    }
    const topic = await clients.sns.send(new GetTopicAttributesCommand({ TopicArn: result.topicArn }));
    const publish = checkTopicPolicy(topic.Attributes?.Policy, { topicArn: result.topicArn, trailArn, accountId });
    if (!publish.allowed) problem(`CloudTrail may not publish to the topic: ${publish.reasons.join('; ')}`);
    if (options.hubQueueArn !== undefined) {
      // The hub topology: no queue in the account; the topic is subscribed to the collector's hub queue.
      result.queueArn = options.hubQueueArn;
      await checkSubscribed(clients.sns, result.topicArn, options.hubQueueArn, problem);
      return result;
    }
    const { QueueUrl } = await clients.sqs.send(new GetQueueUrlCommand({ QueueName: 'outcomesqueue' }));
    result.queueUrl = QueueUrl;
    const queue = await clients.sqs.send(
      new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn', 'Policy', 'RedrivePolicy'] }),
    );
    result.queueArn = queue.Attributes?.QueueArn;
    if (!result.queueArn) {
      problem('the queue has no ARN');
      return result;
    }
    const send = checkQueuePolicy(queue.Attributes?.Policy, {
      queueArn: result.queueArn,
      topicArn: result.topicArn,
      accountId,
    });
    if (!send.topicSend.allowed) problem(`the topic may not send to the queue: ${send.topicSend.reasons.join('; ')}`);
    const redrive = queue.Attributes?.RedrivePolicy;
    if (
      !redrive ||
      !(JSON.parse(redrive) as { deadLetterTargetArn?: string }).deadLetterTargetArn?.includes('outcomesqueue-dlq')
    ) {
      problem('the queue has no redrive policy to outcomesqueue-dlq');
    }
    await checkSubscribed(clients.sns, result.topicArn, result.queueArn, problem);
  } catch (error) {
    problem(`checking the chain failed: ${errorMessage(error)}`);
  }
  return result;
}

async function checkSubscribed(
  sns: SNSClient,
  topicArn: string,
  queueArn: string,
  problem: (text: string) => void,
): Promise<void> {
  const subscriptions = await sns.send(new ListSubscriptionsByTopicCommand({ TopicArn: topicArn }));
  if (!(subscriptions.Subscriptions ?? []).some((s) => s.Protocol === 'sqs' && s.Endpoint === queueArn)) {
    problem(`the queue ${queueArn} is not subscribed to the topic`);
  }
}
