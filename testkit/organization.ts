/**
 * An AWS Organization in the emulator, as AWS would have it before the collector arrives: a management account
 * that created the organization, member accounts (one of them the log archive, holding the organization trail's
 * bucket), and an organization trail in the management account. moto's Organizations API is per caller account
 * (the account that calls CreateOrganization becomes its management account), so every call here is made with
 * assumed-role keys of the account it acts in (moto maps them to the role's account and checks neither the role,
 * its trust policy nor the ExternalId). For the CLI tests and, later, the organization collection path.
 */
import { CreateTrailCommand, DescribeTrailsCommand, StartLoggingCommand } from '@aws-sdk/client-cloudtrail';
import {
  CloseAccountCommand,
  CreateAccountCommand,
  CreateOrganizationCommand,
  ListRootsCommand,
  RemoveAccountFromOrganizationCommand,
} from '@aws-sdk/client-organizations';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { CreateTopicCommand } from '@aws-sdk/client-sns';
import { AssumeRoleCommand } from '@aws-sdk/client-sts';
import { awsClients, type Credentials } from '../lambdas/shared/aws-clients';
import { CONTROL_TOWER_TRAIL_NAME, CONTROL_TOWER_TOPIC_NAME } from '../lambdas/shared/organization-discovery';
import type { AccountsRegistry } from '../lambdas/shared/registry';
import { accountRecord } from './registry';

export const MANAGEMENT_ACCOUNT = '999900001111';

export interface OrganizationWorldOptions {
  region: string;
  /** Member accounts besides the management account and the log archive. */
  members: number;
  /** Control Tower's names (trail, bucket, topic in an Audit account); else a trail of the customer's own. */
  controlTower?: boolean;
  /** The organization trail's S3 key prefix. */
  s3KeyPrefix?: string;
  kmsKeyId?: string;
  /** No organization trail at all (an account trail instead). */
  withoutOrganizationTrail?: boolean;
}

export interface OrganizationWorld {
  organizationId: string;
  rootId: string;
  managementAccountId: string;
  logArchiveAccountId: string;
  /** Control Tower only: the Audit account (in AWS the notification topic's home; in moto, see topicArn). */
  auditAccountId?: string;
  /** The other members, in creation order. */
  memberAccountIds: string[];
  bucket: string;
  trailArn: string;
  topicArn?: string;
  /** Credentials that act in an account of the world. */
  credentialsFor(accountId: string): Promise<Credentials>;
  /** Creates one more member account (it joins the organization ACTIVE). */
  addAccount(name: string): Promise<string>;
  /** CloseAccount: the account becomes SUSPENDED (Organizations User Guide, "Closing a member account"). */
  closeAccount(accountId: string): Promise<void>;
  /** RemoveAccountFromOrganization: the account is no longer listed. */
  removeAccount(accountId: string): Promise<void>;
}

export async function credentialsIn(accountId: string, region: string): Promise<Credentials> {
  const assumed = await awsClients.sts({ region }).send(
    new AssumeRoleCommand({
      RoleArn: `arn:aws:iam::${accountId}:role/OrganizationAdmin`,
      RoleSessionName: 'testkit',
    }),
  );
  const c = assumed.Credentials!;
  return { accessKeyId: c.AccessKeyId!, secretAccessKey: c.SecretAccessKey!, sessionToken: c.SessionToken! };
}

export async function createOrganizationWorld(options: OrganizationWorldOptions): Promise<OrganizationWorld> {
  const { region } = options;
  const management = await credentialsIn(MANAGEMENT_ACCOUNT, region);
  const where = (credentials: Credentials) => ({ region, credentials });
  const organizations = awsClients.organizations(where(management));
  const { Organization: organization } = await organizations.send(new CreateOrganizationCommand({ FeatureSet: 'ALL' }));
  const { Roots: roots } = await organizations.send(new ListRootsCommand({}));
  const addAccount = async (name: string): Promise<string> => {
    const created = await organizations.send(
      new CreateAccountCommand({ AccountName: name, Email: `${name}@example.com` }),
    );
    return created.CreateAccountStatus!.AccountId!;
  };
  const logArchiveAccountId = await addAccount('log-archive');
  const auditAccountId = options.controlTower ? await addAccount('audit') : undefined;
  const memberAccountIds: string[] = [];
  for (let index = 0; index < options.members; index += 1) memberAccountIds.push(await addAccount(`member-${index}`));

  const bucket = options.controlTower
    ? `aws-controltower-logs-${logArchiveAccountId}-${region}`
    : `acme-org-trail-${logArchiveAccountId}`;
  await awsClients
    .s3(where(await credentialsIn(logArchiveAccountId, region)))
    .send(new CreateBucketCommand({ Bucket: bucket }));
  // Control Tower's topic is in the Audit account (Control Tower User Guide, "Compliance notifications by SNS in
  // the audit account"). moto reads a trail's SnsTopicName as a name in the trail's own account, so here the
  // topic is created in the management account: the ARN DescribeTrails returns differs only in its account.
  let topicArn: string | undefined;
  if (options.controlTower) {
    topicArn = (
      await awsClients.sns(where(management)).send(new CreateTopicCommand({ Name: CONTROL_TOWER_TOPIC_NAME }))
    ).TopicArn;
  }
  const cloudTrail = awsClients.cloudTrail(where(management));
  const trail = await cloudTrail.send(
    new CreateTrailCommand({
      Name: options.controlTower ? CONTROL_TOWER_TRAIL_NAME : 'org-trail',
      S3BucketName: bucket,
      IsMultiRegionTrail: true,
      IsOrganizationTrail: options.withoutOrganizationTrail !== true,
      ...(options.s3KeyPrefix ? { S3KeyPrefix: options.s3KeyPrefix } : {}),
      ...(options.kmsKeyId ? { KmsKeyId: options.kmsKeyId } : {}),
      ...(topicArn ? { SnsTopicName: CONTROL_TOWER_TOPIC_NAME } : {}),
    }),
  );
  // By name: moto's server does not route StartLogging by ARN.
  await cloudTrail.send(new StartLoggingCommand({ Name: trail.Name! }));
  return {
    organizationId: organization!.Id!,
    rootId: roots![0]!.Id!,
    managementAccountId: MANAGEMENT_ACCOUNT,
    logArchiveAccountId,
    ...(auditAccountId ? { auditAccountId } : {}),
    memberAccountIds,
    bucket,
    trailArn: trail.TrailARN!,
    ...(topicArn ? { topicArn } : {}),
    credentialsFor: (accountId) => credentialsIn(accountId, region),
    addAccount,
    closeAccount: async (accountId) => {
      await organizations.send(new CloseAccountCommand({ AccountId: accountId }));
    },
    removeAccount: async (accountId) => {
      await organizations.send(new RemoveAccountFromOrganizationCommand({ AccountId: accountId }));
    },
  };
}

/**
 * Registers every account of the organization as `organizations add` leaves them: the management account and the
 * members active in it, the log archive also archiving the organization into its bucket.
 */
export async function registerOrganizationAccounts(
  registry: Pick<AccountsRegistry, 'add'>,
  org: OrganizationWorld,
): Promise<void> {
  const active = { organizationId: org.organizationId, organizationMembership: 'active' as const };
  await registry.add(accountRecord({ accountId: org.managementAccountId, ...active }));
  for (const accountId of org.memberAccountIds) await registry.add(accountRecord({ accountId, ...active }));
  await registry.add(
    accountRecord({
      accountId: org.logArchiveAccountId,
      ...active,
      logArchiveFor: [org.organizationId],
      logArchiveBucket: org.bucket,
    }),
  );
}

/** The ARNs of the trails an account of the world owns (DescribeTrails without shadow trails). */
export async function ownTrailArns(org: OrganizationWorld, accountId: string, region: string): Promise<string[]> {
  const cloudTrail = awsClients.cloudTrail({ region, credentials: await org.credentialsFor(accountId) });
  const trails = (await cloudTrail.send(new DescribeTrailsCommand({ includeShadowTrails: false }))).trailList ?? [];
  return trails.map((trail) => trail.TrailARN ?? '');
}

/** Plain SDK clients acting inside one of the organization's accounts, as its admin (or an AWS service) would. */
export async function organizationAccountClients(org: OrganizationWorld, accountId: string, region: string) {
  const where = { region, credentials: await org.credentialsFor(accountId) };
  return {
    s3: awsClients.s3(where),
    sqs: awsClients.sqs(where),
    cloudTrail: awsClients.cloudTrail(where),
    events: awsClients.eventBridge(where),
  };
}
