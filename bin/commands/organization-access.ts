/**
 * How `organizations add|sync` reach an organization, and how they write what they found. Two identities:
 * - the registry is written with the operator's own credentials (as `accounts add` does);
 * - the organization is read through CloudTrailCollectorOrganizationRole in the management account, which trusts
 *   the collector's reconcile role alone. So the tool first becomes the reconcile role (the operator must be in
 *   `cloudtrailCollector.operatorPrincipalArns`; skipped when the caller already is that role), then assumes the
 *   organization role with the organization's ExternalId (lambdas/shared/credentials.ts, which always sends it).
 */
import { AssumeRoleCommand, GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { partitionOf, roleArn } from '../../lambdas/shared/arn';
import { awsClients } from '../../lambdas/shared/aws-clients';
import { AssumedRoleCredentialCache } from '../../lambdas/shared/credentials';
import { ConfigError, errorMessage } from '../../lambdas/shared/errors';
import type { DiscoveredOrganization, DiscoveryClients } from '../../lambdas/shared/organization-discovery';
import type { MembershipPlan } from '../../lambdas/shared/organization-membership';
import { organizationKey, type OrganizationRecord } from '../../lambdas/shared/organization-registry';
import type { AccountRecord, AccountsRegistry } from '../../lambdas/shared/registry';
import { COLLECTOR_ROLE_NAMES, ORGANIZATION_ROLE_NAME } from '../../lib/names';

const SESSION = 'cloudtrail-collector-organizations';

/** Clients acting as the organization role of `managementAccountId`, reached through the reconcile role. */
export async function organizationClients(input: {
  managementAccountId: string;
  externalId: string;
  region: string;
}): Promise<DiscoveryClients & { roleArn: string }> {
  const { region } = input;
  const sts = awsClients.sts({ region });
  const identity = await sts.send(new GetCallerIdentityCommand({}));
  if (!identity.Account || !identity.Arn) throw new Error('STS did not return the caller identity');
  const partition = partitionOf(region);
  const reconcileRoleArn = roleArn(partition, identity.Account, COLLECTOR_ROLE_NAMES.reconcile);
  let hop = sts;
  if (!identity.Arn.includes(`:assumed-role/${COLLECTOR_ROLE_NAMES.reconcile}/`)) {
    try {
      const assumed = await sts.send(new AssumeRoleCommand({ RoleArn: reconcileRoleArn, RoleSessionName: SESSION }));
      const c = assumed.Credentials;
      if (!c?.AccessKeyId || !c.SecretAccessKey) throw new Error('STS returned no credentials');
      hop = awsClients.sts({
        region,
        credentials: {
          accessKeyId: c.AccessKeyId,
          secretAccessKey: c.SecretAccessKey,
          ...(c.SessionToken ? { sessionToken: c.SessionToken } : {}),
        },
      });
    } catch (error) {
      throw new ConfigError(
        `cannot assume the reconcile role ${reconcileRoleArn} (${errorMessage(error)}): organizations commands read the organization as that role; list ${identity.Arn} in cloudtrailCollector.operatorPrincipalArns, or run as the reconcile role`,
        { cause: error },
      );
    }
  }
  const target = {
    accountId: input.managementAccountId,
    roleArn: roleArn(partition, input.managementAccountId, ORGANIZATION_ROLE_NAME),
    externalId: input.externalId,
  };
  const credentials = new AssumedRoleCredentialCache(hop, { sessionName: SESSION }).providerFor(target);
  return {
    roleArn: target.roleArn,
    region,
    organizations: awsClients.organizations({ region, credentials }),
    cloudTrailIn: (where) => awsClients.cloudTrail({ region: where, credentials }),
  };
}

export interface AppliedMembership {
  registered: string[];
  linked: string[];
  reactivated: string[];
  left: { accountId: string; reason: string }[];
}

/**
 * Writes a membership plan: new members with the organization's ExternalId and mode, links, reactivations and
 * departures (marked, never deleted), and the log archive's link to the organization and its bucket. Accounts are
 * written before the organization item, so a run cut short converges when repeated.
 */
export async function applyMembership(
  registry: AccountsRegistry,
  organization: Pick<OrganizationRecord, 'organizationId' | 'externalId' | 'mode' | 'logArchiveAccountId'> & {
    logArchiveBucket: string;
  },
  plan: MembershipPlan,
  existing: ReadonlyMap<string, AccountRecord>,
  now: string,
): Promise<AppliedMembership> {
  const { organizationId, logArchiveAccountId, logArchiveBucket } = organization;
  const archiveFields = (record?: AccountRecord) => ({
    logArchiveFor: [...new Set([...(record?.logArchiveFor ?? []), organizationId])],
    logArchiveBucket,
  });
  for (const accountId of plan.register) {
    await registry.add({
      accountId,
      externalId: organization.externalId,
      mode: organization.mode,
      logArchiveFor: [],
      registeredAt: now,
      status: 'new',
      organizationId,
      organizationMembership: 'active',
      registeredBy: 'organization',
      ...(accountId === logArchiveAccountId ? archiveFields() : {}),
    });
  }
  for (const accountId of plan.link) {
    await registry.update(accountId, {
      organizationId,
      organizationMembership: 'active',
      ...(accountId === logArchiveAccountId ? archiveFields(existing.get(accountId)) : {}),
    });
  }
  for (const accountId of plan.reactivate) {
    await registry.update(accountId, { organizationMembership: 'active' }, [
      'organizationLeftAt',
      'organizationLeftReason',
    ]);
  }
  for (const { accountId, reason } of plan.leave) {
    await registry.update(accountId, {
      organizationMembership: 'left',
      organizationLeftAt: now,
      organizationLeftReason: reason,
    });
  }
  // A log archive registered before for this organization keeps pointing at the trail's current bucket.
  const archive = existing.get(logArchiveAccountId);
  if (
    archive?.organizationId === organizationId &&
    !plan.link.includes(logArchiveAccountId) &&
    (archive.logArchiveBucket !== logArchiveBucket || !archive.logArchiveFor.includes(organizationId))
  ) {
    await registry.update(logArchiveAccountId, archiveFields(archive));
  }
  return { registered: plan.register, linked: plan.link, reactivated: plan.reactivate, left: plan.leave };
}

/** The organization item for what was discovered (a new one, or the old one updated by sync). */
export function organizationRecordFrom(
  discovered: DiscoveredOrganization,
  settings: Pick<OrganizationRecord, 'externalId' | 'mode' | 'logArchiveAccountId' | 'excludedAccountIds'>,
  now: string,
  previous?: OrganizationRecord,
): OrganizationRecord {
  return {
    accountId: organizationKey(discovered.organizationId),
    itemType: 'organization',
    organizationId: discovered.organizationId,
    managementAccountId: discovered.managementAccountId,
    logArchiveAccountId: settings.logArchiveAccountId,
    externalId: settings.externalId,
    mode: settings.mode,
    trail: discovered.trail,
    rootIds: discovered.rootIds,
    memberAccountIds: discovered.accounts
      .filter((account) => account.state === 'ACTIVE')
      .map((account) => account.accountId)
      .sort(),
    excludedAccountIds: [...settings.excludedAccountIds].sort(),
    registeredAt: previous?.registeredAt ?? now,
    lastSyncAt: now,
  };
}
