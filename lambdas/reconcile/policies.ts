/**
 * The resource policies the collector writes on the customer's topic, queue and (only when it created it)
 * bucket. Every statement the collector owns has a Sid starting with `CloudTrailCollector`; repairs replace
 * exactly those and keep every other statement as the customer wrote it.
 */
import { bucketArn as buildBucketArn, tryParseArn } from '../shared/arn';
import { CollectorError } from '../shared/errors';

export const COLLECTOR_SID_PREFIX = 'CloudTrailCollector';
export const POLICY_VERSION = '2012-10-17';

export type PolicyStringList = string | string[];
/** `"*"` or `{ "AWS": ..., "Service": ..., "Federated": ..., "CanonicalUser": ... }`. */
export type PrincipalElement = '*' | Record<string, PolicyStringList>;
export type ConditionScalar = string | number | boolean;
/** `{ operator: { conditionKey: value | values } }`, e.g. `{ StringEquals: { 'aws:SourceArn': arn } }`. */
export type ConditionElement = Record<string, Record<string, ConditionScalar | ConditionScalar[]>>;

export interface PolicyStatement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Principal?: PrincipalElement;
  NotPrincipal?: PrincipalElement;
  Action?: PolicyStringList;
  NotAction?: PolicyStringList;
  Resource?: PolicyStringList;
  NotResource?: PolicyStringList;
  Condition?: ConditionElement;
}

export interface PolicyDocument {
  Version?: string;
  Id?: string;
  Statement: PolicyStatement | PolicyStatement[];
}

/** A policy document as the collector writes it: Version set, Statement always an array. */
export interface NormalizedPolicyDocument extends PolicyDocument {
  Version: string;
  Statement: PolicyStatement[];
}

export function isCollectorStatement(statement: PolicyStatement): boolean {
  return typeof statement.Sid === 'string' && statement.Sid.startsWith(COLLECTOR_SID_PREFIX);
}

/** `Bool` rather than `BoolIfExists`: a request that carries no aws:SecureTransport key is never denied. */
function denyInsecureTransport(action: string, resource: PolicyStringList): PolicyStatement {
  return {
    Sid: `${COLLECTOR_SID_PREFIX}DenyInsecureTransport`,
    Effect: 'Deny',
    Principal: '*',
    Action: action,
    Resource: resource,
    Condition: { Bool: { 'aws:SecureTransport': 'false' } },
  };
}

export interface TopicPolicyInput {
  topicArn: string;
  trailArn: string;
  /**
   * The customer account. Not written into the statements: the trail ARN already pins the publishing
   * account, and CloudTrail's documented topic policy conditions on aws:SourceArn alone.
   */
  accountId: string;
}

/**
 * CloudTrail's documented topic policy statement (publish, only for this trail) plus TLS-only publishing.
 *
 * The TLS Deny cannot block CloudTrail: CloudTrail calls SNS over TLS, so aws:SecureTransport is true for
 * its requests, and the Deny uses `Bool` (not `BoolIfExists`), which does not match when the key is absent.
 * It only denies a publisher that explicitly arrives over plain HTTP.
 */
export function defaultTopicStatements({ topicArn, trailArn }: TopicPolicyInput): PolicyStatement[] {
  return [
    {
      Sid: `${COLLECTOR_SID_PREFIX}CloudTrailPublish`,
      Effect: 'Allow',
      Principal: { Service: 'cloudtrail.amazonaws.com' },
      Action: 'SNS:Publish',
      Resource: topicArn,
      Condition: { StringEquals: { 'aws:SourceArn': trailArn } },
    },
    denyInsecureTransport('SNS:Publish', topicArn),
  ];
}

export interface QueuePolicyInput {
  queueArn: string;
  topicArn: string;
  /** The collector's ingest role, when it reads the queue from another account (Lambda event source mapping). */
  ingestRoleArn?: string;
}

/** What a Lambda SQS event source mapping calls with the function's role, plus visibility changes on retry. */
export const INGEST_QUEUE_ACTIONS = [
  'sqs:ReceiveMessage',
  'sqs:DeleteMessage',
  'sqs:GetQueueAttributes',
  'sqs:ChangeMessageVisibility',
];

/** SNS delivery from this topic only (SNS's documented queue policy), the ingest role's reads, TLS-only access. */
export function defaultQueueStatements({ queueArn, topicArn, ingestRoleArn }: QueuePolicyInput): PolicyStatement[] {
  const statements: PolicyStatement[] = [
    {
      Sid: `${COLLECTOR_SID_PREFIX}TopicSend`,
      Effect: 'Allow',
      Principal: { Service: 'sns.amazonaws.com' },
      Action: 'sqs:SendMessage',
      Resource: queueArn,
      Condition: { ArnEquals: { 'aws:SourceArn': topicArn } },
    },
  ];
  if (ingestRoleArn !== undefined) {
    statements.push({
      Sid: `${COLLECTOR_SID_PREFIX}IngestReceive`,
      Effect: 'Allow',
      Principal: { AWS: ingestRoleArn },
      Action: [...INGEST_QUEUE_ACTIONS],
      Resource: queueArn,
    });
  }
  statements.push(denyInsecureTransport('sqs:*', queueArn));
  return statements;
}

export interface BucketPolicyInput {
  bucketName: string;
  /** The account whose logs land under `AWSLogs/<accountId>/`. */
  accountId: string;
  trailArn: string;
  /** Defaults to the trail ARN's partition (`aws`, `aws-cn`, `aws-us-gov`). */
  partition?: string;
}

/**
 * CloudTrail's documented bucket policy (ACL check on the bucket, writes under `AWSLogs/<account>/` with
 * bucket-owner-full-control, both only for this trail) plus TLS-only access. CloudTrail writes over TLS,
 * and the same `Bool` reasoning as the topic applies. Only ever written to a bucket the collector created.
 */
export function defaultBucketPolicy({
  bucketName,
  accountId,
  trailArn,
  partition,
}: BucketPolicyInput): NormalizedPolicyDocument {
  const arnPartition = partition ?? (tryParseArn(trailArn)?.partition || 'aws');
  const bucketArn = buildBucketArn(arnPartition, bucketName);
  return {
    Version: POLICY_VERSION,
    Statement: [
      {
        Sid: `${COLLECTOR_SID_PREFIX}CloudTrailAclCheck`,
        Effect: 'Allow',
        Principal: { Service: 'cloudtrail.amazonaws.com' },
        Action: 's3:GetBucketAcl',
        Resource: bucketArn,
        Condition: { StringEquals: { 'aws:SourceArn': trailArn } },
      },
      {
        Sid: `${COLLECTOR_SID_PREFIX}CloudTrailWrite`,
        Effect: 'Allow',
        Principal: { Service: 'cloudtrail.amazonaws.com' },
        Action: 's3:PutObject',
        Resource: `${bucketArn}/AWSLogs/${accountId}/*`,
        Condition: { StringEquals: { 's3:x-amz-acl': 'bucket-owner-full-control', 'aws:SourceArn': trailArn } },
      },
      denyInsecureTransport('s3:*', [bucketArn, `${bucketArn}/*`]),
    ],
  };
}

/**
 * The customer's statements (every one whose Sid does not start with `CloudTrailCollector`) exactly as they
 * were and in their order, followed by the given collector statements, which replace all earlier ones.
 * The input is not modified. Merging the same statements twice gives the same document.
 */
export function mergeCollectorStatements(
  existing: PolicyDocument | undefined,
  collectorStatements: PolicyStatement[],
): NormalizedPolicyDocument {
  const foreign = collectorStatements.find((statement) => !isCollectorStatement(statement));
  if (foreign !== undefined) {
    // Such a statement would be kept as the customer's on the next merge and duplicated on every repair.
    throw new CollectorError(
      `collector statement without the ${COLLECTOR_SID_PREFIX} Sid prefix: ${JSON.stringify(foreign)}`,
    );
  }
  // A document without Statement is treated as empty rather than trusted to match its type.
  const existingStatements = toArray<PolicyStatement>(existing?.Statement ?? []);
  const customerStatements = existingStatements.filter((statement) => !isCollectorStatement(statement));
  return {
    ...structuredClone(existing ?? {}),
    Version: existing?.Version ?? POLICY_VERSION,
    Statement: [...structuredClone(customerStatements), ...structuredClone(collectorStatements)],
  };
}

function toArray<T>(value: T | T[]): T[] {
  return Array.isArray(value) ? value : [value];
}
