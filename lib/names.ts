/**
 * Fixed names shared by the stacks, the generated templates and the docs. The chain names come from the reconcile
 * code (one source: what reconcile creates is what the customer role lets it touch).
 */
import { CHAIN_NAMES } from '../lambdas/reconcile/names';

export { CHAIN_NAMES };

/** The role each customer deploys; ingest and reconcile build its ARN from this name (CUSTOMER_ROLE_NAME). */
export const CUSTOMER_ROLE_NAME = 'CloudTrailCollectorRole';

/**
 * The read-only role an organization's management account deploys (`organizations add`); only the reconcile role
 * may assume it, with the organization's ExternalId. Fixed, like CUSTOMER_ROLE_NAME: the CLI builds its ARN from
 * the management account id.
 */
export const ORGANIZATION_ROLE_NAME = 'CloudTrailCollectorOrganizationRole';

/**
 * The collector's execution roles have fixed names because the customer template trusts them by ARN
 * (`arn:aws:iam::<CollectorAccountId>:role/<name>`) and that template is one static, committed file for every
 * customer of every operator: a generated name (`CloudTrailCollector-IngestRoleABC123`) would differ per deployment
 * and per replacement, and a name from operator configuration would make the published template operator-specific.
 * The price: one collector per AWS account (IAM names are global to the account) — use one account per
 * environment, as AWS recommends anyway.
 */
export const COLLECTOR_ROLE_NAMES = {
  ingest: 'cloudtrail-collector-ingest',
  reconcile: 'cloudtrail-collector-reconcile',
} as const;

/** Function names, for operators (`aws lambda invoke --function-name ...`) and dashboards. */
export const FUNCTION_NAMES = {
  ingest: 'cloudtrail-collector-ingest',
  reconcile: 'cloudtrail-collector-reconcile',
  /** Takes the reconcile jobs the sweep (the reconcile function) sends; runs as the reconcile role. */
  reconcileWorker: 'cloudtrail-collector-reconcile-worker',
} as const;

/** The reconcile job queue and its DLQ (lib/reconcile-jobs.construct.ts): one job per account to reconcile. */
export const RECONCILE_JOB_QUEUE_NAMES = {
  queue: 'cloudtrail-collector-reconcile-jobs',
  deadLetterQueue: 'cloudtrail-collector-reconcile-jobs-dlq',
} as const;

/** The reconcile function's failure queue (failed scheduled runs); docs/permissions.md shows its ARN. */
export const RECONCILE_FAILURE_QUEUE_NAME = 'cloudtrail-collector-reconcile-failures';

/**
 * The hub topology's backfill queue and its DLQ (lib/backfill-queue.construct.ts): gap backfill's messages for hub
 * accounts (hub queues accept only SNS envelopes). Fixed, like the hub queues' names, for the permission scopes.
 */
export const BACKFILL_QUEUE_NAMES = {
  queue: 'cloudtrail-collector-backfill',
  deadLetterQueue: 'cloudtrail-collector-backfill-dlq',
} as const;

/** CDK stack ids (and CloudFormation stack names). */
export const STACK_IDS = {
  collector: 'CloudTrailCollector',
  customer: 'CloudTrailCollectorCustomerRole',
  logArchive: 'CloudTrailCollectorLogArchiveRole',
  /** The read-only role in an organization's management account (`organizations add`). */
  organizationManagement: 'CloudTrailCollectorOrganizationRole',
} as const;

/**
 * A valid S3 bucket name (3-63 lowercase letters, digits, dots and hyphens, starting and ending with a letter or
 * digit): the customer template's LogArchiveBucketName parameter and `accounts add --log-archive-bucket`.
 */
export const S3_BUCKET_NAME_PATTERN = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** Where the generated files live, relative to the project root. */
export const GENERATED_FILES = {
  /** Must stay equal to lib/customer-deploy-command.ts CUSTOMER_TEMPLATE (a test checks it). */
  customerTemplate: 'templates/customer-account-role.template.json',
  logArchiveTemplate: 'templates/log-archive-role.template.json',
  organizationManagementTemplate: 'templates/organization-management-role.template.json',
  permissionsDoc: 'docs/permissions.md',
} as const;

/** Metric namespace and service dimensions used by the Lambdas (Powertools Metrics adds `service`). */
export const METRICS = {
  namespace: 'CloudTrailCollector',
  ingestService: 'ingest',
  reconcileService: 'reconcile',
} as const;
