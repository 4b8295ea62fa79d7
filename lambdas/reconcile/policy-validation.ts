/**
 * "Does this policy still work?" for the three resource policies of the delivery chain: can CloudTrail publish to
 * the topic and write to the bucket, can the topic send to the queue and the ingest role receive from it. Each
 * check simulates those requests with the evaluator in policy-evaluation.ts.
 */
import { bucketArn as buildBucketArn, tryParseArn } from '../shared/arn';
import {
  arnAccountId,
  combineVerdicts,
  evaluateResourcePolicy,
  parsePolicyText,
  transportAndTime,
  type PolicyVerdict,
  type SimulatedRequest,
} from './policy-evaluation';
import { snsDeliveryPrincipals, snsDeliveryUnsupported, trailLogKeyPrefix } from './policies';

export * from './policy-evaluation';

export interface ChainPolicyCheck {
  topic?: { cloudTrailPublish: PolicyVerdict };
  queue?: { topicSend: PolicyVerdict; ingestReceive?: PolicyVerdict };
}

/**
 * The actions the ingest role needs on a customer queue: what a Lambda SQS event source mapping calls with the
 * function's role, and ChangeMessageVisibility, with which ingest backs a failed message off (topology.ts,
 * RETRY_BACKOFF). A policy written before ingest used it lacks it, and is repaired (merged).
 */
const INGEST_REQUIRED_ACTIONS = [
  'sqs:ReceiveMessage',
  'sqs:DeleteMessage',
  'sqs:GetQueueAttributes',
  'sqs:ChangeMessageVisibility',
];

/**
 * Can cloudtrail.amazonaws.com publish to the topic for this trail? Simulates sns:Publish by service principal
 * cloudtrail.amazonaws.com with aws:SourceArn=trailArn, aws:SourceAccount=accountId (the trail owner's
 * account), aws:SecureTransport=true against the topic resource policy.
 */
export function checkTopicPolicy(
  policyJson: string | undefined,
  ctx: { topicArn: string; trailArn: string; accountId: string },
): PolicyVerdict {
  const parsed = parsePolicyText(policyJson);
  if (parsed.error) return parsed.error;
  return evaluateResourcePolicy(parsed.policy, {
    principal: { service: 'cloudtrail.amazonaws.com' },
    action: 'sns:Publish',
    resourceArn: ctx.topicArn,
    resourceAccountId: arnAccountId(ctx.topicArn) ?? ctx.accountId,
    context: { ...transportAndTime(), 'aws:SourceArn': ctx.trailArn, 'aws:SourceAccount': ctx.accountId },
  });
}

/**
 * Can the topic send to the queue (sqs:SendMessage with aws:SourceArn=topicArn, by the principal SNS uses
 * between the two Regions: `sns.amazonaws.com`, or `sns.<opt-in-region>.amazonaws.com` from an opt-in Region;
 * see snsDeliveryPrincipals), and can the ingest role receive, delete and read attributes? Cross-account, the
 * queue policy must allow the role; in the queue's own account the role's identity policy suffices, so only an
 * explicit Deny matters. A Region pair SNS cannot deliver between is never allowed, whatever the policy says.
 */
export function checkQueuePolicy(
  policyJson: string | undefined,
  ctx: { queueArn: string; topicArn: string; accountId: string; ingestRoleArn?: string },
): { topicSend: PolicyVerdict; ingestReceive?: PolicyVerdict } {
  const parsed = parsePolicyText(policyJson);
  const queueAccountId = arnAccountId(ctx.queueArn) ?? ctx.accountId;
  const topicRegion = tryParseArn(ctx.topicArn)?.region ?? '';
  const queueRegion = tryParseArn(ctx.queueArn)?.region ?? '';
  const unsupported = snsDeliveryUnsupported(topicRegion, queueRegion);
  const topicSend: PolicyVerdict =
    unsupported !== undefined
      ? { allowed: false, explicitDeny: false, reasons: [unsupported] }
      : (parsed.error ??
        combineVerdicts(
          snsDeliveryPrincipals(topicRegion, queueRegion).map((service) =>
            evaluateResourcePolicy(parsed.policy, {
              principal: { service },
              action: 'sqs:SendMessage',
              resourceArn: ctx.queueArn,
              resourceAccountId: queueAccountId,
              context: {
                ...transportAndTime(),
                'aws:SourceArn': ctx.topicArn,
                // The topic may live in another account (a log archive); SNS sends as the topic's owner.
                'aws:SourceAccount': arnAccountId(ctx.topicArn) ?? ctx.accountId,
              },
            }),
          ),
        ));
  if (ctx.ingestRoleArn === undefined) return { topicSend };
  const roleArn = ctx.ingestRoleArn;
  const ingestReceive =
    parsed.error ??
    combineVerdicts(
      INGEST_REQUIRED_ACTIONS.map((action) =>
        evaluateResourcePolicy(parsed.policy, {
          principal: { roleArn },
          action,
          resourceArn: ctx.queueArn,
          resourceAccountId: queueAccountId,
          context: transportAndTime(),
        }),
      ),
    );
  return { topicSend, ingestReceive };
}

/**
 * Can CloudTrail deliver this trail's log files to the bucket? Simulates what CloudTrail does (CloudTrail User
 * Guide, "Amazon S3 bucket policy for CloudTrail"): s3:GetBucketAcl on the bucket and s3:PutObject of a log
 * file under `[<prefix>/]AWSLogs/<accountId>/` with x-amz-acl bucket-owner-full-control, both by
 * cloudtrail.amazonaws.com with aws:SourceArn = the trail. A policy missing the trail's prefix fails here,
 * as CreateTrail/UpdateTrail fail with InsufficientS3BucketPolicyException.
 */
export function checkBucketPolicy(
  policyJson: string | undefined,
  ctx: { bucketName: string; trailArn: string; accountId: string; keyPrefix?: string },
): PolicyVerdict {
  const parsed = parsePolicyText(policyJson);
  if (parsed.error) return parsed.error;
  const trail = tryParseArn(ctx.trailArn);
  const bucketArn = buildBucketArn(trail?.partition || 'aws', ctx.bucketName);
  const region = trail?.region || 'us-east-1';
  const logKey = `${trailLogKeyPrefix(ctx.accountId, ctx.keyPrefix)}CloudTrail/${region}/2026/01/01/log.json.gz`;
  const context = { ...transportAndTime(), 'aws:SourceArn': ctx.trailArn, 'aws:SourceAccount': ctx.accountId };
  const request = (action: string, resourceArn: string, extra: Record<string, string> = {}): SimulatedRequest => ({
    principal: { service: 'cloudtrail.amazonaws.com' },
    action,
    resourceArn,
    resourceAccountId: ctx.accountId,
    context: { ...context, ...extra },
  });
  return combineVerdicts([
    evaluateResourcePolicy(parsed.policy, request('s3:GetBucketAcl', bucketArn)),
    evaluateResourcePolicy(
      parsed.policy,
      request('s3:PutObject', `${bucketArn}/${logKey}`, { 's3:x-amz-acl': 'bucket-owner-full-control' }),
    ),
  ]);
}
