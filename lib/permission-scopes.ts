/**
 * The resources (and conditions) behind each symbolic scope of the permission map. The stacks call these with
 * CloudFormation tokens; docs/permissions.md calls them with readable placeholders, so the docs show exactly the
 * patterns the templates grant.
 */
import { MAX_HUB_SHARDS, hubDeadLetterQueueName, hubQueueName } from '../lambdas/shared/topology';
import { ARCHIVE_EVENT_RULE_NAME } from '../lambdas/reconcile/names';
import { CHAIN_NAMES, COLLECTOR_ROLE_NAMES, CUSTOMER_ROLE_NAME, ORGANIZATION_ROLE_NAME, STACK_IDS } from './names';
import type { Scope, ScopeResolver } from './permissions';

/**
 * Every hub queue's name, as an IAM pattern: `cloudtrail-collector-ingest-??` (`?` is one character; the shard is
 * two digits because MAX_HUB_SHARDS is at most 100). Its dead-letter queue: `cloudtrail-collector-ingest-??-dlq`.
 */
export const HUB_QUEUE_NAME_PATTERN = hubQueueName(0).replace(/\d\d$/, '??');
export const HUB_DEAD_LETTER_QUEUE_NAME_PATTERN = hubDeadLetterQueueName(0).replace(/\d\d-dlq$/, '??-dlq');
if (
  MAX_HUB_SHARDS > 100 ||
  !HUB_QUEUE_NAME_PATTERN.endsWith('-??') ||
  !HUB_DEAD_LETTER_QUEUE_NAME_PATTERN.endsWith('-??-dlq')
) {
  throw new Error(`hub queue names no longer fit ${HUB_QUEUE_NAME_PATTERN}: update lib/permission-scopes.ts`);
}

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
    organizationTrails: { resources: [`arn:${partition}:cloudtrail:*:${account}:trail/*`] },
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
    // Log-archive variant only: the customer template leaves the statements of this scope out otherwise.
    ...(logArchiveBucket !== undefined
      ? {
          logArchiveBucket: { resources: [`arn:${partition}:s3:::${logArchiveBucket}`] },
          logArchiveEventRule: {
            resources: [`arn:${partition}:events:*:${account}:rule/${ARCHIVE_EVENT_RULE_NAME}`],
          },
        }
      : {}),
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
  /** The ledger table (`<registry table>-ledger`). */
  ledgerTableArn?: string;
  /** The backfill queue (hub topology). */
  backfillQueueArn?: string;
  /** The reconcile job queue (lambdas/reconcile/sweep.ts, worker.ts). */
  reconcileJobQueueArn?: string;
  /** The Firehose stream of `sink.type` firehose (docs/sinks.md). */
  firehoseStreamArn?: string;
  /** The syslog sink's TLS secrets (`sink.syslog.tls*SecretArn`); none: the scope is left out. */
  syslogTlsSecretArns?: readonly string[];
  /** The function's own log group ARN (`arn:...:log-group:<name>:*`). */
  logGroupArn?: string;
}

/**
 * Scopes of the collector's execution roles, in the collector account. A scope whose input is not given is left
 * out (the ingest role is built before the ingest function exists, and needs none of the function's scopes).
 */
export function collectorScopes(p: CollectorScopeInputs): ScopeResolver {
  const hubQueue = (name: string) => `arn:${p.partition}:sqs:${p.region}:${p.account}:${name}`;
  const scopes: ScopeResolver = {
    customerRoles: { resources: [`arn:${p.partition}:iam::*:role/${CUSTOMER_ROLE_NAME}`] },
    organizationRoles: { resources: [`arn:${p.partition}:iam::*:role/${ORGANIZATION_ROLE_NAME}`] },
    reconcileRole: { resources: [`arn:${p.partition}:iam::${p.account}:role/${COLLECTOR_ROLE_NAMES.reconcile}`] },
    anyEventSourceMapping: { resources: ['*'] },
    anySubscriptionListing: { resources: ['*'] },
    // The collector stack by its name, any stack id (the ARN ends in a generated id: stack/NAME/UUID).
    collectorStack: {
      resources: [`arn:${p.partition}:cloudformation:${p.region}:${p.account}:stack/${STACK_IDS.collector}/*`],
    },
    customerQueuesInRegion: { resources: [`arn:${p.partition}:sqs:${p.region}:*:${CHAIN_NAMES.queue}`] },
    hubQueues: { resources: [hubQueue(HUB_QUEUE_NAME_PATTERN)] },
    hubDeadLetterQueues: { resources: [hubQueue(HUB_DEAD_LETTER_QUEUE_NAME_PATTERN)] },
    customerTopics: { resources: [`arn:${p.partition}:sns:*:*:*`] },
    customerTopicsForHubQueues: {
      resources: [`arn:${p.partition}:sns:*:*:*`],
      conditions: {
        StringEquals: { 'sns:Protocol': 'sqs' },
        StringLike: { 'sns:Endpoint': hubQueue(HUB_QUEUE_NAME_PATTERN) },
      },
    },
  };
  if (p.registryTableArn !== undefined) scopes.registryTable = { resources: [p.registryTableArn] };
  if (p.downstreamSecretArn !== undefined) scopes.downstreamSecret = { resources: [p.downstreamSecretArn] };
  if (p.reconcileFailureQueueArn !== undefined) {
    scopes.reconcileFailureQueue = { resources: [p.reconcileFailureQueueArn] };
  }
  if (p.logGroupArn !== undefined) scopes.ownLogGroup = { resources: [p.logGroupArn] };
  if (p.ledgerTableArn !== undefined) scopes.ledgerTable = { resources: [p.ledgerTableArn] };
  if (p.backfillQueueArn !== undefined) scopes.backfillQueue = { resources: [p.backfillQueueArn] };
  if (p.reconcileJobQueueArn !== undefined) scopes.reconcileJobQueue = { resources: [p.reconcileJobQueueArn] };
  if (p.firehoseStreamArn !== undefined) scopes.firehoseStream = { resources: [p.firehoseStreamArn] };
  if (p.syslogTlsSecretArns !== undefined && p.syslogTlsSecretArns.length > 0) {
    scopes.syslogTlsSecrets = { resources: [...p.syslogTlsSecretArns] };
  }
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
  all: 'cloudtrail:DescribeTrails, cloudtrail:ListTrails, s3:ListAllMyBuckets and (the management account role) organizations:DescribeOrganization, organizations:ListAccounts and organizations:ListRoots support no resource-level permissions: IAM only accepts "*" for them; all are read-only',
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
  organizationTrails:
    "read-only status and selectors of the management account's own trails (this account only, any name: Control Tower's aws-controltower-BaselineCloudTrail or the customer's organization trail), to check that the organization trail logs management events",
  logFiles:
    'only CloudTrail keys (AWSLogs/<account>/..., optionally under a key prefix and an organization id) in whichever bucket the trail delivers to; every GetObject passes ExpectedBucketOwner = this account',
  logArchiveBucket:
    'log archive role only: the one bucket named by LogArchiveBucketName (its notification configuration)',
  logArchiveEventRule:
    "log archive role only: the collector's one rule cloudtrail-collector-archive on the account's default event bus, in any Region (the bucket's)",
  kmsKeysViaS3:
    "kms:Decrypt only when S3 calls KMS on the role's behalf to read an SSE-KMS log file (kms:ViaService s3.*); the key may belong to another account (organization or Control Tower trails), whose key policy must still allow this role",
  // collector roles
  customerRoles:
    'the customer accounts are registered at run time: any account, but only the role named CloudTrailCollectorRole, whose trust policy in turn requires this exact role and the account ExternalId',
  organizationRoles:
    'management accounts are registered at run time (`organizations add`): any account, but only the read-only role named CloudTrailCollectorOrganizationRole, whose trust policy in turn requires this exact role and the organization ExternalId',
  anyEventSourceMapping: 'lambda:ListEventSourceMappings supports no resource-level permissions (read-only)',
  ingestEventSourceMappingCreate:
    'lambda:CreateEventSourceMapping has no resource type; the lambda:FunctionArn condition limits it to the ingest function',
  ingestEventSourceMappings:
    'event source mapping ids are generated by Lambda at run time; the lambda:FunctionArn condition limits updates to mappings of the ingest function',
  customerQueuesInRegion:
    'the event source mappings poll the customer queues, created at run time in each customer account: only queues named outcomesqueue, in this region; each queue policy must also grant this role',
  ownLogGroup: "log streams are created by Lambda at run time inside the function's own log group",
  hubQueues:
    'the hub queues by name pattern (cloudtrail-collector-ingest-NN, this account and region, created only by this stack) rather than one ARN per shard: with up to 48 shards, one ARN each in every hub statement would pass IAM\'s 10,240-character limit on a role\'s inline policies (IAM User Guide, "IAM and AWS STS quotas")',
  hubDeadLetterQueues:
    "the hub queues' dead-letter queues by name pattern (cloudtrail-collector-ingest-NN-dlq, this account and region), for the same reason as hubQueues",
  customerTopics:
    'the hub subscriptions reconcile owns are on customer topics, in customer accounts and named by the registry (any account, any name); SNS authorizes these subscription calls on the topic, and only the subscription owner (this role) or the topic owner may change or delete one',
  templateObjects:
    'the published templates under templates/ of the template bucket (their names are the generated files of templates/); the deployment also deletes one that is no longer generated',
  customerTopicsForHubQueues:
    "sns:Subscribe on customer topics (any account, named by the registry), only with protocol sqs and a hub queue of this collector as endpoint (sns:Protocol and sns:Endpoint conditions); the customer's topic policy must allow it as well",
};
