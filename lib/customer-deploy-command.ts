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
    '--stack-name cloudtrail-collector-role',
    `--template-file ${archive ? GENERATED_FILES.logArchiveTemplate : CUSTOMER_TEMPLATE}`,
    '--capabilities CAPABILITY_NAMED_IAM',
    `--region ${params.region}`,
    `--parameter-overrides CollectorAccountId=${params.collectorAccountId} ExternalId=${params.externalId} Mode=${params.mode}` +
      (archive ? ` LogArchiveBucketName=${params.logArchiveBucketName}` : ''),
  ].join(options.oneLine ? ' ' : ' \\\n    ');
}
