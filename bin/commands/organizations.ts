/**
 * `cloudtrail-collector organizations add|sync|list|show|remove`: an AWS Organization registered as a whole
 * (docs/customer-setup.md, "An organization with its own trail" and "AWS Control Tower"). What it changes in the
 * registry is decided by planMembership (lambdas/shared/organization-membership.ts); how the organization is read,
 * by discoverOrganization (lambdas/shared/organization-discovery.ts) through the management account's read role.
 */
import { isAccountId } from '../../lambdas/shared/arn';
import { loadCommonConfig } from '../../lambdas/shared/config';
import { RoleAssumptionError } from '../../lambdas/shared/credentials';
import { PermanentInputError } from '../../lambdas/shared/errors';
import { discoverOrganization, type DiscoveredOrganization } from '../../lambdas/shared/organization-discovery';
import { planMembership, type MembershipPlan } from '../../lambdas/shared/organization-membership';
import {
  EXTERNAL_ID_PATTERN,
  ORGANIZATION_ID_PATTERN,
  generateExternalId,
  type AccountMode,
  type AccountRecord,
} from '../../lambdas/shared/registry';
import { S3_BUCKET_NAME_PATTERN } from '../../lib/names';
import {
  managementRoleDeployCommand,
  STACK_SET_NAME,
  organizationSteps,
  stackSetUpdateCommand,
} from '../../lib/organization-deploy-commands';
import { collectorAccountId, organizationsRegistryFromEnv, registryFromEnv } from './registry-context';
import { applyMembership, organizationClients, organizationRecordFrom } from './organization-access';
import { EXIT, formatTable, printJson, printResult } from './output';
import { progressLine } from './progress';
import { TRAIL_IDENTITY, deployParams, membershipLines, trailLines } from './organization-output';

function accountIdFlag(flag: string, value: string): string {
  if (!isAccountId(value)) throw new PermanentInputError(`${flag} must be 12 digits, got "${value}"`);
  return value;
}

function modeFlag(value: string | undefined): AccountMode | undefined {
  if (value === undefined) return undefined;
  if (value !== 'apply' && value !== 'report')
    throw new PermanentInputError(`--mode must be "apply" or "report", got "${value}"`);
  return value;
}

function externalIdFlag(value: string | undefined): string | undefined {
  if (value !== undefined && !EXTERNAL_ID_PATTERN.test(value)) {
    throw new PermanentInputError('--external-id must be 2-1224 characters of letters, digits and +=,.@:/-_');
  }
  return value;
}

function organizationIdFlag(value: string): string {
  if (!ORGANIZATION_ID_PATTERN.test(value)) {
    throw new PermanentInputError(
      `--organization-id must be an organization id (o- and 10-32 letters or digits), got "${value}"`,
    );
  }
  return value;
}

function conflictError(plan: MembershipPlan, organizationId: string): PermanentInputError {
  return new PermanentInputError(
    `these accounts of ${organizationId} are registered for another organization: ${plan.conflicts
      .map((c) => `${c.accountId} (${c.organizationId})`)
      .join(
        ', ',
      )}; an account is in one organization at a time, so those registrations are stale: run organizations sync for that organization, or accounts remove them`,
  );
}

export async function organizationsAdd(options: {
  managementAccountId: string;
  logArchiveAccountId: string;
  logArchiveBucket?: string;
  externalId?: string;
  mode?: string;
  collectorAccountId?: string;
  json?: boolean;
}): Promise<number> {
  const managementAccountId = accountIdFlag('--management-account-id', options.managementAccountId);
  const logArchiveAccountId = accountIdFlag('--log-archive-account-id', options.logArchiveAccountId);
  if (options.logArchiveBucket !== undefined && !S3_BUCKET_NAME_PATTERN.test(options.logArchiveBucket)) {
    throw new PermanentInputError(`--log-archive-bucket is not a valid S3 bucket name: "${options.logArchiveBucket}"`);
  }
  const mode = modeFlag(options.mode) ?? 'apply';
  const externalId = externalIdFlag(options.externalId) ?? generateExternalId();
  const { region } = loadCommonConfig();
  const registry = registryFromEnv();
  const organizations = organizationsRegistryFromEnv(registry);
  const already = (await organizations.list()).find((o) => o.managementAccountId === managementAccountId);
  if (already) {
    throw new PermanentInputError(
      `--management-account-id ${managementAccountId} is already registered as ${already.organizationId}: organizations sync picks up its changes`,
    );
  }
  const collectorAccount = await collectorAccountId(options.collectorAccountId);
  let discovered: DiscoveredOrganization;
  try {
    discovered = await discoverOrganization(await organizationClients({ managementAccountId, externalId, region }), {
      managementAccountId,
      logArchiveAccountId,
      ...(options.logArchiveBucket !== undefined ? { logArchiveBucket: options.logArchiveBucket } : {}),
    });
  } catch (error) {
    if (!(error instanceof RoleAssumptionError)) throw error;
    process.stderr.write(
      `cloudtrail-collector: ${error.message}\n\n` +
        `Nothing was registered. The management account ${managementAccountId} deploys the read-only organization role first, with this ExternalId:\n\n` +
        `    ${managementRoleDeployCommand({ collectorAccountId: collectorAccount, externalId, region })}\n\n` +
        `Then run organizations add again with --external-id ${externalId}.\n`,
    );
    return EXIT.failures;
  }
  const existing = await registry.list();
  const plan = planMembership(discovered.organizationId, discovered.accounts, existing);
  if (plan.conflicts.length > 0) throw conflictError(plan, discovered.organizationId);
  const now = new Date().toISOString();
  const record = organizationRecordFrom(
    discovered,
    { externalId, mode, logArchiveAccountId, excludedAccountIds: [] },
    now,
  );
  const applied = await applyMembership(
    registry,
    { ...record, logArchiveBucket: record.trail.bucketName },
    plan,
    new Map(existing.map((account) => [account.accountId, account])),
    now,
  );
  await organizations.add(record);
  const steps = organizationSteps(deployParams(record, collectorAccount, region, await registry.list()));
  if (options.json) {
    printJson({ organization: record, membership: applied, warnings: discovered.warnings, steps });
    return EXIT.ok;
  }
  printResult(
    [
      `Registered organization ${record.organizationId} (management ${managementAccountId}, log archive ${logArchiveAccountId}, mode ${mode}).`,
      `ExternalId (the organization's, for every stack below): ${externalId}`,
      '',
      ...trailLines(discovered),
      '',
      `Accounts (${record.memberAccountIds.length} ACTIVE):`,
      ...membershipLines(applied, plan),
      '',
      'The organization deploys, in this order:',
      ...steps.flatMap((step, index) => [
        '',
        `${index + 1}. In the ${step.where}: ${step.what}`,
        ...step.commands.map((command) => `\n    ${command}`),
      ]),
      '',
    ].join('\n'),
  );
  return EXIT.ok;
}

export async function organizationsSync(options: {
  organizationId?: string;
  externalId?: string;
  mode?: string;
  include?: string;
  collectorAccountId?: string;
  json?: boolean;
}): Promise<number> {
  const newExternalId = externalIdFlag(options.externalId);
  const newMode = modeFlag(options.mode);
  const include = (options.include ?? '')
    .split(',')
    .map((id) => id.trim())
    .filter(Boolean)
    .map((id) => accountIdFlag('--include', id));
  if (
    options.organizationId === undefined &&
    (newExternalId !== undefined || newMode !== undefined || include.length > 0)
  ) {
    throw new PermanentInputError(
      '--external-id, --mode and --include change one organization: give --organization-id',
    );
  }
  const registry = registryFromEnv();
  const organizations = organizationsRegistryFromEnv(registry);
  const targets = options.organizationId
    ? [await organizations.require(organizationIdFlag(options.organizationId))]
    : await organizations.list();
  const { region } = loadCommonConfig();
  const collectorAccount = await collectorAccountId(options.collectorAccountId);
  const reports: unknown[] = [];
  const text: string[] = [];
  let failures = 0;
  const progress = progressLine('organizations sync', 'organizations');
  for (const [done, previous] of targets.entries()) {
    progress.update({ done, total: targets.length, failed: failures });
    const externalId = newExternalId ?? previous.externalId;
    const mode = newMode ?? previous.mode;
    let discovered: DiscoveredOrganization;
    try {
      discovered = await discoverOrganization(
        await organizationClients({ managementAccountId: previous.managementAccountId, externalId, region }),
        {
          managementAccountId: previous.managementAccountId,
          logArchiveAccountId: previous.logArchiveAccountId,
          preferredBucketName: previous.trail.bucketName,
        },
      );
    } catch (error) {
      failures += 1;
      const message = error instanceof Error ? error.message : String(error);
      text.push(`organization ${previous.organizationId}: not synced: ${message}`);
      reports.push({ organizationId: previous.organizationId, error: message });
      continue;
    }
    const excluded = previous.excludedAccountIds.filter((id) => !include.includes(id));
    const existing = await registry.list();
    const plan = planMembership(previous.organizationId, discovered.accounts, existing, excluded);
    const now = new Date().toISOString();
    const record = organizationRecordFrom(
      discovered,
      { externalId, mode, logArchiveAccountId: previous.logArchiveAccountId, excludedAccountIds: excluded },
      now,
      previous,
    );
    const byId = new Map(existing.map((account) => [account.accountId, account]));
    const applied = await applyMembership(
      registry,
      { ...record, logArchiveBucket: record.trail.bucketName },
      plan,
      byId,
      now,
    );
    // What follows the organization: its ExternalId, to every member still using the organization's (a linked
    // account or one given its own with accounts update keeps its own); its mode, to the members it registered
    // that still have the organization's mode.
    const followers: { accountId: string; fields: Partial<Pick<AccountRecord, 'externalId' | 'mode'>> }[] = [];
    for (const account of existing) {
      if (account.organizationId !== previous.organizationId) continue;
      const fields = {
        ...(account.externalId === previous.externalId && externalId !== previous.externalId ? { externalId } : {}),
        ...(account.registeredBy === 'organization' && account.mode === previous.mode && mode !== previous.mode
          ? { mode }
          : {}),
      };
      if (Object.keys(fields).length > 0) followers.push({ accountId: account.accountId, fields });
    }
    for (const { accountId, fields } of followers) await registry.update(accountId, fields);
    await organizations.save(record);
    const changed = externalId !== previous.externalId || mode !== previous.mode;
    const trailChanged = TRAIL_IDENTITY.some((field) => previous.trail[field] !== record.trail[field]);
    if (plan.conflicts.length > 0) failures += 1;
    reports.push({
      organization: record,
      membership: applied,
      conflicts: plan.conflicts,
      warnings: discovered.warnings,
      updated: followers.map((a) => a.accountId),
    });
    text.push(
      `organization ${record.organizationId}: ${record.memberAccountIds.length} ACTIVE accounts`,
      ...membershipLines(applied, plan),
      ...(plan.conflicts.length > 0 ? [`  conflicts:   ${conflictError(plan, record.organizationId).message}`] : []),
      ...(trailChanged
        ? ['  the organization trail changed:', ...trailLines(discovered).map((line) => `  ${line}`)]
        : discovered.warnings.map((w) => `  warning: ${w}`)),
      ...(changed
        ? [
            `  ExternalId/mode now ${externalId === previous.externalId ? 'unchanged' : externalId} / ${mode}, on ${followers.length} account(s). The organization updates its stacks with the same values:`,
            '',
            `    ${stackSetUpdateCommand(deployParams(record, collectorAccount, region))}`,
            '',
            "  and, with the same ExternalId and Mode, the management account's and the log archive's stacks (organizations show prints their commands).",
          ]
        : []),
    );
  }
  progress.update({ done: targets.length, total: targets.length, failed: failures });
  progress.finish();
  if (options.json) printJson(reports);
  else printResult(text.length > 0 ? text.join('\n') : 'No organization is registered.');
  return failures > 0 ? EXIT.failures : EXIT.ok;
}

export async function organizationsList(options: { json?: boolean }): Promise<number> {
  const organizations = await organizationsRegistryFromEnv().list();
  if (options.json) {
    printJson(organizations);
    return EXIT.ok;
  }
  printResult(
    formatTable(
      ['ORGANIZATION', 'MANAGEMENT', 'LOG ARCHIVE', 'MODE', 'ACCOUNTS', 'TRAIL', 'LAST SYNC'],
      organizations.map((o) => [
        o.organizationId,
        o.managementAccountId,
        o.logArchiveAccountId,
        o.mode,
        String(o.memberAccountIds.length),
        `${o.trail.name}${o.trail.controlTower ? ' (Control Tower)' : ''}`,
        o.lastSyncAt,
      ]),
    ),
  );
  return EXIT.ok;
}

export async function organizationsShow(options: {
  organizationId: string;
  collectorAccountId?: string;
  json?: boolean;
}): Promise<number> {
  const registry = registryFromEnv();
  const organization = await organizationsRegistryFromEnv(registry).require(organizationIdFlag(options.organizationId));
  const members = (await registry.list()).filter((account) => account.organizationId === organization.organizationId);
  const steps = organizationSteps(
    deployParams(
      organization,
      await collectorAccountId(options.collectorAccountId),
      loadCommonConfig().region,
      members,
    ),
  );
  if (options.json) {
    printJson({ organization, accounts: members, steps });
    return EXIT.ok;
  }
  const role = (account: AccountRecord) =>
    account.accountId === organization.managementAccountId
      ? 'management'
      : account.accountId === organization.logArchiveAccountId
        ? 'log archive'
        : 'member';
  printResult(
    [
      `Organization ${organization.organizationId}: management ${organization.managementAccountId}, log archive ${organization.logArchiveAccountId}, mode ${organization.mode}, last sync ${organization.lastSyncAt}`,
      ...trailLines({ trail: organization.trail, warnings: [] }),
      ...(organization.excludedAccountIds.length > 0
        ? [`Excluded (removed by the operator): ${organization.excludedAccountIds.join(', ')}`]
        : []),
      '',
      formatTable(
        ['ACCOUNT', 'ROLE', 'MEMBERSHIP', 'MODE', 'STATUS', 'EXTERNAL ID'],
        members.map((account) => [
          account.accountId,
          role(account),
          account.organizationMembership === 'left'
            ? `left ${account.organizationLeftAt ?? ''} (${account.organizationLeftReason ?? ''})`.trim()
            : 'active',
          account.mode,
          account.status,
          account.externalId === organization.externalId ? "the organization's" : 'its own',
        ]),
      ),
      '',
      'Deployed by the organization:',
      ...steps.flatMap((step) => [`- in the ${step.where}: ${step.what}`, ...step.commands.map((c) => `\n    ${c}\n`)]),
    ].join('\n'),
  );
  return EXIT.ok;
}

/**
 * Unregisters the organization: the accounts registered through it are removed, accounts that were registered on
 * their own (linked) stay, unlinked. What the collector created for those accounts (event source mappings, hub
 * subscriptions, and in accounts in apply mode the outcomes-* chain) is left as it is, like `accounts remove`.
 */
export async function organizationsRemove(options: { organizationId: string }): Promise<number> {
  const organizationId = organizationIdFlag(options.organizationId);
  const registry = registryFromEnv();
  const organizations = organizationsRegistryFromEnv(registry);
  const organization = await organizations.require(organizationId);
  const members = (await registry.list()).filter((account) => account.organizationId === organizationId);
  const removed: string[] = [];
  const unlinked: string[] = [];
  for (const account of members) {
    if (account.registeredBy === 'organization') {
      await registry.remove(account.accountId);
      removed.push(account.accountId);
    } else {
      await registry.update(
        account.accountId,
        { logArchiveFor: account.logArchiveFor.filter((id) => id !== organizationId) },
        ['organizationId', 'organizationMembership', 'organizationLeftAt', 'organizationLeftReason'],
      );
      unlinked.push(account.accountId);
    }
  }
  await organizations.remove(organizationId);
  printResult(
    [
      `Removed organization ${organizationId}: ${removed.length} account(s) unregistered${removed.length > 0 ? ` (${removed.join(', ')})` : ''}, ${unlinked.length} kept as registered on their own${unlinked.length > 0 ? ` (${unlinked.join(', ')})` : ''}.`,
      'Left as they are: the event source mappings and hub subscriptions the collector created for those accounts (see docs/customer-setup.md, "Leaving"),',
      `and in the organization the StackSet ${STACK_SET_NAME}, the stacks of the management account ${organization.managementAccountId} and of the log archive ${organization.logArchiveAccountId}.`,
    ].join('\n'),
  );
  return EXIT.ok;
}

/** `accounts remove` of an organization's member: sync must not register it again. */
export async function excludeFromOrganization(account: AccountRecord): Promise<string | undefined> {
  if (account.organizationId === undefined) return undefined;
  const organizations = organizationsRegistryFromEnv();
  const organization = await organizations.get(account.organizationId);
  if (!organization || organization.excludedAccountIds.includes(account.accountId)) return undefined;
  await organizations.save({
    ...organization,
    excludedAccountIds: [...organization.excludedAccountIds, account.accountId].sort(),
  });
  return organization.organizationId;
}
