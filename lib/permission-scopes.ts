/**
 * The resources (and conditions) behind each symbolic scope of the permission map. The stacks call these with
 * CloudFormation tokens; docs/permissions.md calls them with readable placeholders, so the docs show exactly the
 * patterns the templates grant.
 */
import { CHAIN_NAMES, CUSTOMER_ROLE_NAME } from './names';
import type { Scope, ScopeResolver } from './permissions';

export interface CustomerScopeInputs {
  partition: string;
  /** The customer account (the template's `${AWS::AccountId}`). */
  account: string;
  /** Log-archive variant only: the bucket that receives the other accounts' log files. */
  logArchiveBucket?: string;
}

/** Scopes of the customer role, in the customer account. */
export function customerScopes({ partition, account, logArchiveBucket }: CustomerScopeInputs): ScopeResolver {
  const queueArn = (name: string) => `arn:${partition}:sqs:*:${account}:${name}`;
  const accountTopics = `arn:${partition}:sns:*:${account}:*`;
  return {
    all: { resources: ['*'] },
    anyTrail: { resources: [`arn:${partition}:cloudtrail:*:*:trail/*`] },
    collectorTrail: { resources: [`arn:${partition}:cloudtrail:*:${account}:trail/${CHAIN_NAMES.trail}`] },
    accountTrails: { resources: [`arn:${partition}:cloudtrail:*:${account}:trail/*`] },
    anyBucket: { resources: [`arn:${partition}:s3:::*`] },
    collectorBuckets: {
      resources: [`arn:${partition}:s3:::outcomes-${account}`, `arn:${partition}:s3:::outcomes-${account}-*`],
    },
    accountTopics: { resources: [accountTopics] },
    collectorTopic: { resources: [`arn:${partition}:sns:*:${account}:${CHAIN_NAMES.topic}`] },
    accountTopicsForCollectorQueue: {
      resources: [accountTopics],
      conditions: {
        StringEquals: { 'sns:Protocol': 'sqs' },
        StringLike: { 'sns:Endpoint': queueArn(CHAIN_NAMES.queue) },
      },
    },
    collectorQueues: { resources: [queueArn(CHAIN_NAMES.queue), queueArn(CHAIN_NAMES.dlq)] },
    collectorQueue: { resources: [queueArn(CHAIN_NAMES.queue)] },
    logFiles: {
      resources: [
        // `*` matches across `/`: any bucket, with or without a key prefix before AWSLogs/.
        `arn:${partition}:s3:::*/AWSLogs/${account}/*`,
        `arn:${partition}:s3:::*/AWSLogs/o-*/${account}/*`,
        ...(logArchiveBucket !== undefined
          ? [
              `arn:${partition}:s3:::${logArchiveBucket}/AWSLogs/*`,
              `arn:${partition}:s3:::${logArchiveBucket}/*/AWSLogs/*`,
            ]
          : []),
      ],
    },
    kmsKeysViaS3: {
      resources: [`arn:${partition}:kms:*:*:key/*`],
      conditions: { StringLike: { 'kms:ViaService': ['s3.*.amazonaws.com', 's3.*.amazonaws.com.cn'] } },
    },
  };
}

export interface CollectorScopeInputs {
  partition: string;
  region: string;
  account: string;
  registryTableArn?: string;
  downstreamSecretArn?: string;
  ingestFunctionArn?: string;
  reconcileFailureQueueArn?: string;
  /** The function's own log group ARN (`arn:...:log-group:<name>:*`). */
  logGroupArn?: string;
}

/**
 * Scopes of the collector's execution roles, in the collector account. A scope whose input is not given is left
 * out (the ingest role is built before the ingest function exists, and needs none of the function's scopes).
 */
export function collectorScopes(p: CollectorScopeInputs): ScopeResolver {
  const scopes: ScopeResolver = {
    customerRoles: { resources: [`arn:${p.partition}:iam::*:role/${CUSTOMER_ROLE_NAME}`] },
    anyEventSourceMapping: { resources: ['*'] },
    customerQueuesInRegion: { resources: [`arn:${p.partition}:sqs:${p.region}:*:${CHAIN_NAMES.queue}`] },
  };
  if (p.registryTableArn !== undefined) scopes.registryTable = { resources: [p.registryTableArn] };
  if (p.downstreamSecretArn !== undefined) scopes.downstreamSecret = { resources: [p.downstreamSecretArn] };
  if (p.reconcileFailureQueueArn !== undefined) {
    scopes.reconcileFailureQueue = { resources: [p.reconcileFailureQueueArn] };
  }
  if (p.logGroupArn !== undefined) scopes.ownLogGroup = { resources: [p.logGroupArn] };
  if (p.ingestFunctionArn !== undefined) {
    const onlyIngest = { ArnLike: { 'lambda:FunctionArn': [p.ingestFunctionArn, `${p.ingestFunctionArn}:*`] } };
    scopes.ingestEventSourceMappingCreate = { resources: ['*'], conditions: onlyIngest };
    scopes.ingestEventSourceMappings = {
      resources: [`arn:${p.partition}:lambda:${p.region}:${p.account}:event-source-mapping:*`],
      conditions: onlyIngest,
    };
  }
  return scopes;
}

/**
 * Why each scope that holds a wildcard needs it. The stacks put these next to each policy as cdk-nag
 * suppression reasons (so they also appear in the templates' metadata); the docs list them.
 */
export const WILDCARD_REASONS: Partial<Record<Scope, string>> = {
  // customer role
  all: 'cloudtrail:DescribeTrails, cloudtrail:ListTrails and s3:ListAllMyBuckets support no resource-level permissions: IAM only accepts "*" for them; all are read-only',
  anyTrail:
    'read-only status and selectors of every trail that logs this account, including organization and shadow trails owned by another account or homed in another region: the cost guard must see all of them to never create a second paid copy',
  anyBucket:
    'read-only HeadBucket (s3:ListBucket) and GetBucketPolicy on the trail bucket, whose name the customer chose; every call passes ExpectedBucketOwner = this account',
  accountTopics:
    'read-only attributes and subscriptions of the trail topic, whose name the customer chose; limited to topics of this account',
  accountTopicsForCollectorQueue:
    'sns:Subscribe on the trail topic (any name, this account only), only with protocol sqs and outcomesqueue of this account as endpoint (sns:Protocol and sns:Endpoint conditions)',
  collectorBuckets:
    'only the buckets the collector creates: outcomes-<this account id>, or outcomes-<this account id>-<random suffix> when that name is taken',
  collectorQueues:
    'only outcomesqueue and outcomesqueue-dlq of this account, in the region the collector runs in (any)',
  collectorQueue: 'only outcomesqueue of this account, in the region the collector runs in (any)',
  collectorTopic: 'only outcomestopic of this account, in the trail home region (any)',
  collectorTrail: 'only outcomes-trail of this account, in its home region (any)',
  accountTrails:
    "trails of this account only (any name: the cost guard reuses the customer's existing trail rather than create a paid second copy, so it must set that trail's SNS topic or start it); UpdateTrail and StartLogging cannot enable data events, Insights or Lake, and the explicit Deny blocks every selector call",
  logFiles:
    'only CloudTrail keys (AWSLogs/<account>/..., optionally under a key prefix and an organization id) in whichever bucket the trail delivers to; every GetObject passes ExpectedBucketOwner = this account',
  kmsKeysViaS3:
    "kms:Decrypt only when S3 calls KMS on the role's behalf to read an SSE-KMS log file (kms:ViaService s3.*); the key may belong to another account (organization or Control Tower trails), whose key policy must still allow this role",
  // collector roles
  customerRoles:
    'the customer accounts are registered at run time: any account, but only the role named CloudTrailCollectorRole, whose trust policy in turn requires this exact role and the account ExternalId',
  anyEventSourceMapping: 'lambda:ListEventSourceMappings supports no resource-level permissions (read-only)',
  ingestEventSourceMappingCreate:
    'lambda:CreateEventSourceMapping has no resource type; the lambda:FunctionArn condition limits it to the ingest function',
  ingestEventSourceMappings:
    'event source mapping ids are generated by Lambda at run time; the lambda:FunctionArn condition limits updates to mappings of the ingest function',
  customerQueuesInRegion:
    'the event source mappings poll the customer queues, created at run time in each customer account: only queues named outcomesqueue, in this region; each queue policy must also grant this role',
  ownLogGroup: "log streams are created by Lambda at run time inside the function's own log group",
};
