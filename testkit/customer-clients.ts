import { AssumeRoleCommand } from '@aws-sdk/client-sts';
import type { CloudTrailClient } from '@aws-sdk/client-cloudtrail';
import { awsClients, type Credentials } from '../lambdas/shared/aws-clients';
import type { ChainClients } from './chain-check';

export interface AdminClients extends ChainClients {
  cloudTrailIn(region: string): CloudTrailClient;
}

export interface CustomerClientOptions {
  /** The emulator; default AWS_ENDPOINT_URL. */
  endpoint?: string;
  /** The caller's own credentials for the AssumeRole call; default the environment's. */
  credentials?: Credentials;
  /** Sent with AssumeRole (the emulator does not check it); default 'sandbox'. */
  externalId?: string;
}

/**
 * Plain SDK clients acting inside a customer account, as its admin (or CloudTrail) would: the emulator maps
 * assumed-role keys to the role's account and does not check the ExternalId. For the sandbox, bench and tests.
 */
export async function customerAdminClients(
  accountId: string,
  region: string,
  sessionName: string,
  options: CustomerClientOptions = {},
): Promise<AdminClients> {
  const where = { region, ...(options.endpoint ? { endpoint: options.endpoint } : {}) };
  const assumed = await awsClients
    .sts({ ...where, ...(options.credentials ? { credentials: options.credentials } : {}) })
    .send(
      new AssumeRoleCommand({
        RoleArn: `arn:aws:iam::${accountId}:role/CloudTrailCollectorRole`,
        RoleSessionName: sessionName,
        ExternalId: options.externalId ?? 'sandbox',
      }),
    );
  const c = assumed.Credentials!;
  const credentials = {
    accessKeyId: c.AccessKeyId!,
    secretAccessKey: c.SecretAccessKey!,
    sessionToken: c.SessionToken!,
  };
  return {
    s3: awsClients.s3({ ...where, credentials }),
    sns: awsClients.sns({ ...where, credentials }),
    sqs: awsClients.sqs({ ...where, credentials }),
    cloudTrail: awsClients.cloudTrail({ ...where, credentials }),
    cloudTrailIn: (other) => awsClients.cloudTrail({ ...where, region: other, credentials }),
  };
}
