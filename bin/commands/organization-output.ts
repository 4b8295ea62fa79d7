/** How `organizations` commands describe an organization: its trail, membership changes, deploy parameters. */
import type { DiscoveredOrganization } from '../../lambdas/shared/organization-discovery';
import type { MembershipPlan } from '../../lambdas/shared/organization-membership';
import type { OrganizationRecord } from '../../lambdas/shared/organization-registry';
import type { AccountRecord } from '../../lambdas/shared/registry';
import type { OrganizationDeployParams } from '../../lib/organization-deploy-commands';
import type { AppliedMembership } from './organization-access';

/** What makes a different trail, or the same trail delivering elsewhere (sync reports it). */
export const TRAIL_IDENTITY = ['trailArn', 'bucketName', 's3KeyPrefix', 'kmsKeyId', 'snsTopicArn'] as const;

export function deployParams(
  organization: OrganizationRecord,
  collectorAccount: string,
  region: string,
  members: readonly AccountRecord[] = [],
): OrganizationDeployParams {
  const templateBucketUrl = process.env.TEMPLATE_BUCKET_URL;
  const own = (accountId: string) => members.find((m) => m.accountId === accountId)?.externalId;
  // Linked accounts (registered on their own before) keep their own stack: the StackSet leaves them out.
  const linked = members.filter(
    (m) =>
      m.organizationId === organization.organizationId &&
      m.registeredBy === undefined &&
      m.accountId !== organization.managementAccountId &&
      m.accountId !== organization.logArchiveAccountId,
  );
  const managementExternalId = own(organization.managementAccountId);
  const logArchiveExternalId = own(organization.logArchiveAccountId);
  return {
    collectorAccountId: collectorAccount,
    externalId: organization.externalId,
    mode: organization.mode,
    region,
    managementAccountId: organization.managementAccountId,
    logArchiveAccountId: organization.logArchiveAccountId,
    logArchiveBucket: organization.trail.bucketName,
    targetIds: organization.rootIds.length > 0 ? organization.rootIds : ['<root id: aws organizations list-roots>'],
    ...(templateBucketUrl ? { templateBucketUrl } : {}),
    ...(linked.length > 0 ? { ownStackAccountIds: linked.map((m) => m.accountId).sort() } : {}),
    ...(managementExternalId !== undefined ? { managementExternalId } : {}),
    ...(logArchiveExternalId !== undefined ? { logArchiveExternalId } : {}),
  };
}

export function membershipLines(applied: AppliedMembership, plan: MembershipPlan): string[] {
  const list = (ids: string[]) => (ids.length > 0 ? ids.join(', ') : '-');
  return [
    `  registered:  ${list(applied.registered)}`,
    `  linked:      ${list(applied.linked)} (registered before: their ExternalId and mode are kept)`,
    ...(applied.reactivated.length > 0 ? [`  back:        ${list(applied.reactivated)}`] : []),
    ...(applied.left.length > 0
      ? [
          `  left:        ${applied.left.map((l) => `${l.accountId} (${l.reason})`).join(', ')} (kept, marked left; accounts remove unregisters them)`,
        ]
      : []),
    ...(plan.inactive.length > 0
      ? [`  not active:  ${plan.inactive.map((a) => `${a.accountId} (${a.state})`).join(', ')} (not registered)`]
      : []),
    ...(plan.excluded.length > 0 ? [`  excluded:    ${list(plan.excluded)} (removed by the operator)`] : []),
  ];
}

export function trailLines(discovered: Pick<DiscoveredOrganization, 'trail' | 'warnings'>): string[] {
  const { trail } = discovered;
  return [
    `Organization trail: ${trail.trailArn}${trail.controlTower ? ' (AWS Control Tower)' : ''}`,
    `  bucket ${trail.bucketName}${trail.s3KeyPrefix ? `, prefix ${trail.s3KeyPrefix}` : ''}`,
    `  KMS key ${trail.kmsKeyId ?? '- (SSE-S3)'}`,
    `  topic ${trail.snsTopicArn ?? '-'}`,
    ...discovered.warnings.map((warning) => `  warning: ${warning}`),
  ];
}
