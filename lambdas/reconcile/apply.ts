/**
 * apply: runs planned actions in plan order (the planner orders them by dependency). Each action ends applied,
 * failed (with the error) or skipped (a dependency did not apply, so running it would build on a broken chain).
 *
 * Every operation is idempotent, so a run interrupted half-way is finished by the next one: creations use fixed
 * names (CreateBucket/CreateTopic/CreateQueue return the existing resource; an existing event source mapping is
 * accepted), policies are read, merged with mergeCollectorStatements and written back (same result twice), and
 * Subscribe returns the existing subscription.
 *
 * Never called, on purpose: PutEventSelectors, PutInsightSelectors and any CloudTrail Lake API. The customer
 * role denies them, and the collector must never enable data events, Insights or Lake.
 */
import { CreateTrailCommand, StartLoggingCommand, UpdateTrailCommand } from '@aws-sdk/client-cloudtrail';
import { CreateEventSourceMappingCommand, UpdateEventSourceMappingCommand } from '@aws-sdk/client-lambda';
import {
  CreateBucketCommand,
  GetBucketPolicyCommand,
  PutBucketPolicyCommand,
  PutPublicAccessBlockCommand,
  type BucketLocationConstraint,
} from '@aws-sdk/client-s3';
import {
  CreateTopicCommand,
  GetTopicAttributesCommand,
  SetTopicAttributesCommand,
  SubscribeCommand,
} from '@aws-sdk/client-sns';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  SetQueueAttributesCommand,
} from '@aws-sdk/client-sqs';
import { awsErrorName } from '../shared/errors';
import type { CollectorClients, CustomerClients } from './clients';
import { describeError } from './observe-resources';
import { arnParts } from '../shared/arn';
import { toReportAction } from './plan';
import {
  defaultBucketPolicy,
  defaultQueueStatements,
  defaultTopicStatements,
  mergeCollectorStatements,
  type PolicyDocument,
} from './policies';
import type { Action, ActionResults, PlannedAction } from './types';

export interface ActionExecutor {
  execute(action: PlannedAction): Promise<void>;
}

/**
 * Runs `allowed` actions in order; the others stay `planned`. An action whose dependency did not apply (failed,
 * skipped, or only planned) is skipped with the reason. The results are keyed by action id (the report joins
 * them to the plan with `reportActions`).
 */
export async function applyPlan(
  actions: readonly PlannedAction[],
  executor: ActionExecutor,
  allowed: (action: PlannedAction) => boolean,
): Promise<ActionResults> {
  const results = new Map<string, Action>();
  for (const action of actions) {
    if (!allowed(action)) {
      results.set(action.id, toReportAction(action, 'planned'));
      continue;
    }
    const blocker = action.dependsOn
      .map((id) => results.get(id))
      .find((dep) => dep !== undefined && dep.status !== 'applied');
    if (blocker !== undefined) {
      results.set(
        action.id,
        toReportAction(
          action,
          'skipped',
          `depends on ${blocker.code} ${blocker.resource}, which was ${blocker.status === 'planned' ? 'not run' : blocker.status}`,
        ),
      );
      continue;
    }
    try {
      await executor.execute(action);
      results.set(action.id, toReportAction(action, 'applied'));
    } catch (error) {
      results.set(action.id, toReportAction(action, 'failed', describeError(action.code, error)));
    }
  }
  return results;
}

export interface ExecutorContext {
  accountId: string;
  ingestRoleArn?: string;
  queueVisibilityTimeoutSeconds: number;
}

/** Queue settings: SSE-SQS, redrive to the DLQ, retention long enough to outlast an outage. */
const QUEUE_RETENTION_SECONDS = String(4 * 24 * 3600);
const DLQ_RETENTION_SECONDS = String(14 * 24 * 3600);
const MAX_RECEIVE_COUNT = 5;

/** The AWS operations behind each action code, in the customer account (ESMs: in the collector account). */
export function createActionExecutor(
  customer: CustomerClients,
  collector: CollectorClients,
  ctx: ExecutorContext,
): ActionExecutor {
  const owner = ctx.accountId;
  return {
    async execute(action) {
      switch (action.code) {
        case 'CREATE_BUCKET': {
          const { bucketName, region } = action.params;
          const s3 = customer.s3(region);
          try {
            await s3.send(
              new CreateBucketCommand({
                Bucket: bucketName,
                ObjectOwnership: 'BucketOwnerEnforced',
                ...(region === 'us-east-1'
                  ? {}
                  : { CreateBucketConfiguration: { LocationConstraint: region as BucketLocationConstraint } }),
              }),
            );
          } catch (error) {
            // Ours already (a retry): fine. BucketAlreadyExists (another owner) stays a failure: BUCKET_NAME_TAKEN next run.
            if (awsErrorName(error) !== 'BucketAlreadyOwnedByYou') throw error;
          }
          await s3.send(
            new PutPublicAccessBlockCommand({
              Bucket: bucketName,
              ExpectedBucketOwner: owner,
              PublicAccessBlockConfiguration: {
                BlockPublicAcls: true,
                IgnorePublicAcls: true,
                BlockPublicPolicy: true,
                RestrictPublicBuckets: true,
              },
            }),
          );
          return;
        }
        case 'PUT_BUCKET_POLICY': {
          const { bucketName, region, trailArn } = action.params;
          const s3 = customer.s3(region);
          let existing: PolicyDocument | undefined;
          try {
            const current = await s3.send(
              new GetBucketPolicyCommand({ Bucket: bucketName, ExpectedBucketOwner: owner }),
            );
            existing = current.Policy ? (JSON.parse(current.Policy) as PolicyDocument) : undefined;
          } catch (error) {
            if (awsErrorName(error) !== 'NoSuchBucketPolicy') throw error;
          }
          const statements = defaultBucketPolicy({ bucketName, accountId: owner, trailArn }).Statement;
          await s3.send(
            new PutBucketPolicyCommand({
              Bucket: bucketName,
              ExpectedBucketOwner: owner,
              Policy: JSON.stringify(mergeCollectorStatements(existing, statements)),
            }),
          );
          return;
        }
        case 'CREATE_TOPIC':
          await customer.sns(action.params.region).send(new CreateTopicCommand({ Name: action.params.topicName }));
          return;
        case 'PUT_TOPIC_POLICY': {
          const { topicArn, trailArn } = action.params;
          const sns = customer.sns(arnParts(topicArn).region);
          const current = await sns.send(new GetTopicAttributesCommand({ TopicArn: topicArn }));
          const existing = current.Attributes?.Policy
            ? (JSON.parse(current.Attributes.Policy) as PolicyDocument)
            : undefined;
          const merged = mergeCollectorStatements(
            existing,
            defaultTopicStatements({ topicArn, trailArn, accountId: owner }),
          );
          await sns.send(
            new SetTopicAttributesCommand({
              TopicArn: topicArn,
              AttributeName: 'Policy',
              AttributeValue: JSON.stringify(merged),
            }),
          );
          return;
        }
        case 'CREATE_QUEUE': {
          const { queueName, region, deadLetterQueueArn } = action.params;
          const attributes: Record<string, string> = { SqsManagedSseEnabled: 'true' };
          if (deadLetterQueueArn === undefined) {
            attributes.MessageRetentionPeriod = DLQ_RETENTION_SECONDS;
          } else {
            attributes.MessageRetentionPeriod = QUEUE_RETENTION_SECONDS;
            attributes.VisibilityTimeout = String(ctx.queueVisibilityTimeoutSeconds);
            attributes.RedrivePolicy = JSON.stringify({
              deadLetterTargetArn: deadLetterQueueArn,
              maxReceiveCount: MAX_RECEIVE_COUNT,
            });
          }
          await customer.sqs(region).send(new CreateQueueCommand({ QueueName: queueName, Attributes: attributes }));
          return;
        }
        case 'PUT_QUEUE_POLICY': {
          const { queueName, queueArn, topicArn } = action.params;
          const sqs = customer.sqs(arnParts(queueArn).region);
          const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: queueName }));
          const current = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['Policy'] }));
          const existing = current.Attributes?.Policy
            ? (JSON.parse(current.Attributes.Policy) as PolicyDocument)
            : undefined;
          const statements = defaultQueueStatements({
            queueArn,
            topicArn,
            ...(ctx.ingestRoleArn !== undefined ? { ingestRoleArn: ctx.ingestRoleArn } : {}),
          });
          await sqs.send(
            new SetQueueAttributesCommand({
              QueueUrl,
              Attributes: { Policy: JSON.stringify(mergeCollectorStatements(existing, statements)) },
            }),
          );
          return;
        }
        case 'SUBSCRIBE': {
          const { topicArn, queueArn } = action.params;
          await customer.sns(arnParts(topicArn).region).send(
            new SubscribeCommand({
              TopicArn: topicArn,
              Protocol: 'sqs',
              Endpoint: queueArn,
              ReturnSubscriptionArn: true,
            }),
          );
          return;
        }
        case 'REUSE_TRAIL':
          // Nothing to call: reusing means recording the trail as the collection trail (done by reconcile).
          return;
        case 'CREATE_TRAIL': {
          const { trailName, region, bucketName, topicName } = action.params;
          // Management events only: no selectors are ever written, so CloudTrail's default (all management events,
          // no data events) applies; no Insights, no Lake.
          await customer.cloudTrail(region).send(
            new CreateTrailCommand({
              Name: trailName,
              S3BucketName: bucketName,
              SnsTopicName: topicName,
              IsMultiRegionTrail: true,
              IncludeGlobalServiceEvents: true,
              EnableLogFileValidation: true,
            }),
          );
          return;
        }
        case 'UPDATE_TRAIL': {
          const { trailName, region } = action.params;
          // One setting at a time; UpdateTrail leaves every setting it is not given unchanged.
          const change =
            'bucketName' in action.params
              ? { S3BucketName: action.params.bucketName }
              : { SnsTopicName: action.params.topicName };
          await customer.cloudTrail(region).send(new UpdateTrailCommand({ Name: trailName, ...change }));
          return;
        }
        case 'START_LOGGING':
          // By name, in the home region: the only form every implementation accepts.
          await customer
            .cloudTrail(action.params.region)
            .send(new StartLoggingCommand({ Name: action.params.trailName }));
          return;
        case 'CREATE_ESM': {
          try {
            await collector.lambda.send(
              new CreateEventSourceMappingCommand({
                EventSourceArn: action.params.queueArn,
                FunctionName: action.params.functionArn,
                BatchSize: 10,
                FunctionResponseTypes: ['ReportBatchItemFailures'],
                Enabled: true,
              }),
            );
          } catch (error) {
            if (awsErrorName(error) !== 'ResourceConflictException') throw error;
          }
          return;
        }
        case 'ENABLE_ESM':
          await collector.lambda.send(new UpdateEventSourceMappingCommand({ UUID: action.params.uuid, Enabled: true }));
          return;
      }
    },
  };
}
