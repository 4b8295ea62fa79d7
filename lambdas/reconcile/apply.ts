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
 *
 * Propagation: a resource policy written a moment ago is not yet in force everywhere (IAM and resource policies
 * are eventually consistent). The calls that validate a policy at once are retried, with bounded backoff, on
 * exactly the error that means "not yet" (PROPAGATION_ERRORS); every other error fails the action at once.
 */
import {
  CreateTrailCommand,
  DeleteTrailCommand,
  StartLoggingCommand,
  StopLoggingCommand,
  UpdateTrailCommand,
} from '@aws-sdk/client-cloudtrail';
import {
  CreateBucketCommand,
  GetBucketPolicyCommand,
  PutBucketPolicyCommand,
  PutPublicAccessBlockCommand,
  type BucketLocationConstraint,
} from '@aws-sdk/client-s3';
import { CreateTopicCommand, GetTopicAttributesCommand, SetTopicAttributesCommand } from '@aws-sdk/client-sns';
import { CreateQueueCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { setTimeout as sleepMs } from 'node:timers/promises';
import { awsErrorName, errorMessage } from '../shared/errors';
import { HUB_MAX_RECEIVE_COUNT } from '../shared/topology';
import { putArchiveEventRule, putArchiveNotification } from './apply-archive';
import { mappingOperation, mergeQueuePolicy, subscriptionOperation } from './apply-paths';
import { runBackfill, type BackfillLedger, type BackfillProgress } from './backfill';
import type { CollectorClients, CustomerClients } from './clients';
import { describeError } from './observe-resources';
import { arnParts } from '../shared/arn';
import { toReportAction } from './plan';
import { defaultBucketPolicy, defaultTopicStatements, mergeCollectorStatements, type PolicyDocument } from './policies';
import type { Action, ActionCode, ActionResults, PlannedAction } from './types';

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
  /** How long to wait for a policy written in this run to take effect (defaults: PROPAGATION_DEFAULTS). */
  propagation?: PropagationOptions;
  /** Told the UUID of each mapping CREATE_ESM creates (reconcile.ts records it). */
  onMappingCreated?: (uuid: string) => void;
  /** BACKFILL's dependencies: the ledger, the collector's SQS client (the backfill queue), the cursor's keeper. */
  backfill?: {
    ledger: BackfillLedger;
    collectorSqs?: Pick<SQSClient, 'send'>;
    now: () => Date;
    onProgress: (progress: BackfillProgress) => void;
  };
}

export interface PropagationOptions {
  /** Total time one executor (one account's run) may spend waiting, over all its retries. */
  maxWaitMs?: number;
  /** The first wait; each next one doubles, up to maxDelayMs. */
  firstDelayMs?: number;
  maxDelayMs?: number;
  /** Injected by tests, so that nobody waits. */
  sleep?: (ms: number) => Promise<void>;
}

/**
 * About 30 s per account: long enough for the usual propagation of a policy (seconds), short enough that a run over
 * many accounts cannot hang; what still fails is retried by the next run (every action is idempotent).
 */
export const PROPAGATION_DEFAULTS = { maxWaitMs: 30_000, firstDelayMs: 1_000, maxDelayMs: 8_000 } as const;

const insufficientPolicy = (error: unknown): boolean =>
  ['InsufficientS3BucketPolicyException', 'InsufficientSnsTopicPolicyException'].includes(awsErrorName(error) ?? '');

/**
 * The errors that mean "the policy this run just wrote is not in force yet", per action:
 * - CreateTrail / UpdateTrail validate the bucket policy and the topic policy when they are called
 *   (InsufficientS3BucketPolicyException, InsufficientSnsTopicPolicyException; CloudTrail API Reference), and
 *   they run right after PUT_BUCKET_POLICY / PUT_TOPIC_POLICY;
 * - CreateEventSourceMapping checks that the function's role may read the queue when the mapping is created
 *   (InvalidParameterValueException "... does not have permissions to call ReceiveMessage on SQS"), right after
 *   PUT_QUEUE_POLICY names the ingest role. The same code also means a bad parameter, so only the permission
 *   message is retried;
 * - a hub SUBSCRIBE is authorized by the customer's topic policy (cross-account: the topic policy must allow the
 *   collector's role), written by PUT_TOPIC_POLICY just before: AuthorizationError until it is in force. Only
 *   the hub subscription is retried on it (apply-paths.ts); the customer role's own Subscribe is not.
 */
export const PROPAGATION_ERRORS: Partial<Record<ActionCode, (error: unknown) => boolean>> = {
  CREATE_TRAIL: insufficientPolicy,
  UPDATE_TRAIL: insufficientPolicy,
  CREATE_ESM: (error) =>
    awsErrorName(error) === 'InvalidParameterValueException' && /permissions? to call/i.test(errorMessage(error)),
  SUBSCRIBE: (error) => awsErrorName(error) === 'AuthorizationError',
};

/** Runs `call`, retrying the action's propagation errors while the executor's wait budget lasts. */
function propagationRetrier(options: PropagationOptions = {}) {
  const maxWaitMs = options.maxWaitMs ?? PROPAGATION_DEFAULTS.maxWaitMs;
  const firstDelayMs = options.firstDelayMs ?? PROPAGATION_DEFAULTS.firstDelayMs;
  const maxDelayMs = options.maxDelayMs ?? PROPAGATION_DEFAULTS.maxDelayMs;
  const sleep = options.sleep ?? ((ms: number) => sleepMs(ms));
  let waitedMs = 0; // shared by every action of the executor: the bound is per account run
  return async function retrying<T>(code: ActionCode, call: () => Promise<T>): Promise<T> {
    const retryable = PROPAGATION_ERRORS[code];
    let delayMs = firstDelayMs;
    let attempts = 0;
    const startedWaitMs = waitedMs;
    for (;;) {
      attempts += 1;
      try {
        return await call();
      } catch (error) {
        if (retryable === undefined || !retryable(error)) throw error;
        const wait = Math.min(delayMs, maxDelayMs, maxWaitMs - waitedMs);
        if (wait <= 0) throw propagationTimeout(error, attempts, waitedMs - startedWaitMs);
        await sleep(wait);
        waitedMs += wait;
        delayMs *= 2;
      }
    }
  };
}

/** The last error, its AWS name kept, saying that the retries ran out and what happens next. */
function propagationTimeout(error: unknown, attempts: number, waitedMs: number): Error {
  const seconds = Math.round(waitedMs / 100) / 10;
  return Object.assign(
    new Error(
      `${errorMessage(error)} (still failing after ${attempts} attempt(s) and ${seconds} s of waiting for a ` +
        'policy written in this run to take effect; the next run tries again)',
      { cause: error },
    ),
    { name: awsErrorName(error) ?? 'Error' },
  );
}

/**
 * Queue settings: SSE-SQS, redrive to the DLQ, retention long enough to outlast an outage. The receive count is the
 * hub queues' (topology.ts): ingest backs a failing message off with ChangeMessageVisibility (RETRY_BACKOFF), so
 * HUB_MAX_RECEIVE_COUNT receives span ~33 hours of retrying, well inside the 4-day retention; a queue created with
 * the earlier 5 keeps it (no rule rewrites a redrive policy).
 */
const QUEUE_RETENTION_SECONDS = String(4 * 24 * 3600);
const DLQ_RETENTION_SECONDS = String(14 * 24 * 3600);
const MAX_RECEIVE_COUNT = HUB_MAX_RECEIVE_COUNT;

/** The AWS operations behind each action code, in the customer account (ESMs: in the collector account). */
export function createActionExecutor(
  customer: CustomerClients,
  collector: CollectorClients,
  ctx: ExecutorContext,
): ActionExecutor {
  const owner = ctx.accountId;
  const retrying = propagationRetrier(ctx.propagation);
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
          const { bucketName, region, trailArn, keyPrefix } = action.params;
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
          const statements = defaultBucketPolicy({
            bucketName,
            accountId: owner,
            trailArn,
            ...(keyPrefix ? { keyPrefix } : {}),
          }).Statement;
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
          const { topicArn, trailArn, hubSubscriber } = action.params;
          const sns = customer.sns(arnParts(topicArn).region);
          const current = await sns.send(new GetTopicAttributesCommand({ TopicArn: topicArn }));
          const existing = current.Attributes?.Policy
            ? (JSON.parse(current.Attributes.Policy) as PolicyDocument)
            : undefined;
          const merged = mergeCollectorStatements(
            existing,
            defaultTopicStatements({
              topicArn,
              trailArn,
              accountId: owner,
              ...(hubSubscriber !== undefined ? { hubSubscriber } : {}),
            }),
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
          const { queueName, queueArn, topicArn, deadLetter } = action.params;
          // A subscription's dead-letter queue is only written to by SNS: the ingest role is not named there.
          const ingestRoleArn = deadLetter === true ? undefined : ctx.ingestRoleArn;
          await mergeQueuePolicy(customer, queueName, queueArn, topicArn, ingestRoleArn);
          return;
        }
        case 'PUT_BUCKET_NOTIFICATION':
          // The log archive's path (apply-archive.ts): queue policy, then read-merge-write-check of the bucket's.
          await putArchiveNotification(customer, action.params, owner, ctx.ingestRoleArn);
          return;
        case 'PUT_ARCHIVE_EVENT_RULE':
          // The bucket sends its events to EventBridge (apply-archive.ts): target policy, then the rule and target.
          await putArchiveEventRule(customer, action.params, owner, ctx.ingestRoleArn);
          return;
        case 'SUBSCRIBE':
        case 'SET_SUBSCRIPTION_ATTRIBUTES':
        case 'UNSUBSCRIBE':
          await subscriptionOperation(action, customer, collector, retrying);
          return;
        case 'REUSE_TRAIL':
          // Nothing to call: reusing means recording the trail as the collection trail (done by reconcile).
          return;
        case 'CREATE_TRAIL': {
          const { trailName, region, bucketName, topicName } = action.params;
          // Management events only: no selectors are ever written, so CloudTrail's default (all management events,
          // no data events) applies; no Insights, no Lake.
          const cloudTrail = customer.cloudTrail(region);
          await retrying(action.code, () =>
            cloudTrail.send(
              new CreateTrailCommand({
                Name: trailName,
                S3BucketName: bucketName,
                SnsTopicName: topicName,
                IsMultiRegionTrail: true,
                IncludeGlobalServiceEvents: true,
                EnableLogFileValidation: true,
              }),
            ),
          );
          return;
        }
        case 'UPDATE_TRAIL': {
          const { trailName, region } = action.params;
          // One setting at a time; UpdateTrail leaves every setting it is not given unchanged.
          const change =
            'bucketName' in action.params
              ? { S3BucketName: action.params.bucketName }
              : 'topicName' in action.params
                ? { SnsTopicName: action.params.topicName }
                : { EnableLogFileValidation: true };
          const cloudTrail = customer.cloudTrail(region);
          await retrying(action.code, () => cloudTrail.send(new UpdateTrailCommand({ Name: trailName, ...change })));
          return;
        }
        case 'START_LOGGING':
          // By name, in the home region: the only form every implementation accepts.
          await customer
            .cloudTrail(action.params.region)
            .send(new StartLoggingCommand({ Name: action.params.trailName }));
          return;
        case 'RETIRE_TRAIL':
          await retireTrail(customer, action.params.trailName, action.params.region);
          return;
        case 'CREATE_ESM':
        case 'ENABLE_ESM':
        case 'UPDATE_ESM':
        case 'DELETE_ESM':
          await mappingOperation(action, collector, retrying, ctx.onMappingCreated);
          return;
        case 'BACKFILL': {
          const backfill = ctx.backfill;
          if (backfill === undefined) throw new Error('BACKFILL needs the ledger of collected files to compare with');
          const { delivery, bucketRegion } = action.params;
          const sqs = delivery.to === 'customer-queue' ? customer.sqs(delivery.region) : backfill.collectorSqs;
          if (sqs === undefined) throw new Error('BACKFILL to the backfill queue needs the collector SQS client');
          await runBackfill(action.params, action.reason, {
            accountId: owner,
            s3: customer.s3(bucketRegion),
            sqs,
            ledger: backfill.ledger,
            now: backfill.now(),
            onProgress: backfill.onProgress,
          });
          return;
        }
      }
    },
  };
}

/**
 * RETIRE_TRAIL: StopLogging, then DeleteTrail, both by name in the trail's home region (CloudTrail API Reference,
 * StopLogging and DeleteTrail: "must be called from the Region in which the trail was created"; both take a name
 * or an ARN, and moto's server routes them by name only). Stopping first means a DeleteTrail that fails still
 * leaves no paid copy running. A trail already gone (TrailNotFoundException) is retired: a run interrupted
 * half-way is finished by the next one.
 */
async function retireTrail(customer: CustomerClients, trailName: string, region: string): Promise<void> {
  const cloudTrail = customer.cloudTrail(region);
  const gone = (error: unknown) => awsErrorName(error) === 'TrailNotFoundException';
  try {
    await cloudTrail.send(new StopLoggingCommand({ Name: trailName }));
  } catch (error) {
    if (gone(error)) return;
    throw error;
  }
  try {
    await cloudTrail.send(new DeleteTrailCommand({ Name: trailName }));
  } catch (error) {
    if (!gone(error)) throw error;
  }
}
