import { AssumeRoleCommand } from '@aws-sdk/client-sts';
import type { CloudTrailClient } from '@aws-sdk/client-cloudtrail';
import { awsClients } from '../lambdas/shared/aws-clients';
import type { ChainClients } from './chain-check';

export interface AdminClients extends ChainClients {
  cloudTrailIn(region: string): CloudTrailClient;
}

/**
 * Plain SDK clients acting inside a customer account, as its admin (or CloudTrail) would: the emulator maps
 * assumed-role keys to the role's account and does not check the ExternalId. For the sandbox and the tests only.
 */
export async function customerAdminClients(
  accountId: string,
  region: string,
  sessionName: string,
): Promise<AdminClients> {
  const assumed = await awsClients.sts({ region }).send(
    new AssumeRoleCommand({
      RoleArn: `arn:aws:iam::${accountId}:role/CloudTrailCollectorRole`,
      RoleSessionName: sessionName,
      ExternalId: 'sandbox',
    }),
  );
  const c = assumed.Credentials!;
  const credentials = {
    accessKeyId: c.AccessKeyId!,
    secretAccessKey: c.SecretAccessKey!,
    sessionToken: c.SessionToken!,
  };
  return {
    s3: awsClients.s3({ region, credentials }),
    sns: awsClients.sns({ region, credentials }),
    sqs: awsClients.sqs({ region, credentials }),
    cloudTrail: awsClients.cloudTrail({ region, credentials }),
    cloudTrailIn: (other) => awsClients.cloudTrail({ region: other, credentials }),
  };
}
