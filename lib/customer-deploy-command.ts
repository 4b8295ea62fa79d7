/**
 * The one command a customer runs in each account to deploy the role stack: printed by `accounts add`, by the
 * sandbox, and as the collector stack's CustomerDeployCommand/LogArchiveDeployCommand outputs.
 */
import { GENERATED_FILES } from './names';

/** Where the customer's role template is published (generated from CustomerAccountStack). */
export const CUSTOMER_TEMPLATE = GENERATED_FILES.customerTemplate;

export interface CustomerDeployParams {
  collectorAccountId: string;
  externalId: string;
  mode: string;
  region: string;
  /** A log-archive account deploys the variant that also reads the other accounts' logs in this bucket. */
  logArchiveBucketName?: string;
}

/**
 * `aws cloudformation deploy ...` with the template parameters as overrides. Multi-line (`\`-continued, for
 * people) unless `oneLine` (for a stack output).
 */
export function customerDeployCommand(params: CustomerDeployParams, options: { oneLine?: boolean } = {}): string {
  const archive = params.logArchiveBucketName !== undefined;
  return [
    'aws cloudformation deploy',
    `--stack-name ${CUSTOMER_STACK_NAME}`,
    `--template-file ${archive ? GENERATED_FILES.logArchiveTemplate : CUSTOMER_TEMPLATE}`,
    '--capabilities CAPABILITY_NAMED_IAM',
    `--region ${params.region}`,
    `--parameter-overrides CollectorAccountId=${params.collectorAccountId} ExternalId=${params.externalId} Mode=${params.mode}` +
      (archive ? ` LogArchiveBucketName=${params.logArchiveBucketName}` : ''),
  ].join(options.oneLine ? ' ' : ' \\\n    ');
}

/** The stack name of the customer role, in the deploy command and the quick-create link alike. */
export const CUSTOMER_STACK_NAME = 'cloudtrail-collector-role';

/**
 * A CloudFormation console quick-create link for the customer role (CloudFormation User Guide, "Create
 * CloudFormation stacks using quick-create links"): the template URL, the stack name and the parameters filled in.
 * The ExternalId is not in it: the console ignores `param_` values of NoEcho parameters, and the template's
 * ExternalId is NoEcho (never shown back by the console or DescribeStacks), so the customer pastes it in; it also
 * keeps the secret out of a link that travels by email and browser history. The template must be readable by the
 * customer's console user: the collector stack's template bucket is (lib/template-bucket.construct.ts).
 */
export function quickCreateLink(params: Omit<CustomerDeployParams, 'externalId'> & { templateUrl: string }): string {
  const query = [
    `templateURL=${encodeURIComponent(params.templateUrl)}`,
    `stackName=${CUSTOMER_STACK_NAME}`,
    `param_CollectorAccountId=${params.collectorAccountId}`,
    `param_Mode=${params.mode}`,
    ...(params.logArchiveBucketName !== undefined ? [`param_LogArchiveBucketName=${params.logArchiveBucketName}`] : []),
  ].join('&');
  return `https://${params.region}.console.aws.amazon.com/cloudformation/home?region=${params.region}#/stacks/create/review?${query}`;
}

/** The published template of a variant, under the template bucket's URL (the stack output TemplateBucketUrl). */
export function publishedTemplateUrl(templateBucketUrl: string, logArchive: boolean): string {
  return `${templateBucketUrl.replace(/\/?$/, '/')}${logArchive ? GENERATED_FILES.logArchiveTemplate : CUSTOMER_TEMPLATE}`;
}
