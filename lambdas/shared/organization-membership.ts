/**
 * What registering or syncing an organization changes in the registry, decided from what ListAccounts says and
 * what the registry holds: a pure function, so `organizations add`, `organizations sync` (and later the reconcile
 * run) share one rule, and a test can hold every case to it.
 *
 * The rules:
 * - an ACTIVE account nobody registered is registered with the organization's ExternalId and mode;
 * - an ACTIVE account registered on its own (`accounts add|import`) is linked: it keeps its ExternalId and mode
 *   (its deployed role uses them), and gets the organization id;
 * - an account registered for another organization is a conflict (an account is in one organization at a time,
 *   so that registration is stale): the caller refuses and says which;
 * - a registered member that is no longer listed, or no longer ACTIVE (SUSPENDED, PENDING_CLOSURE, ...), is
 *   marked `left`, never deleted: its role may still exist, its own trail may still deliver, and deleting would
 *   leave its event source mapping polling (the operator runs `accounts remove` when it is really gone);
 * - a member marked `left` that is ACTIVE again is reactivated;
 * - an account the operator removed (`accounts remove` of a member records it as excluded) stays out.
 */
import type { AccountRecord } from './registry';
import type { OrganizationAccount } from './organization-discovery';

export interface MembershipPlan {
  /** ACTIVE, not registered: new registrations. */
  register: string[];
  /** ACTIVE, registered on their own: linked to the organization, ExternalId and mode kept. */
  link: string[];
  /** Registered for this organization and marked `left`, ACTIVE again. */
  reactivate: string[];
  /** Registered for this organization and active, now gone or not ACTIVE. */
  leave: { accountId: string; reason: string }[];
  /** Registered for this organization, active, still ACTIVE. */
  unchanged: string[];
  /** Registered for another organization. */
  conflicts: { accountId: string; organizationId: string }[];
  /** Removed by the operator: left out. */
  excluded: string[];
  /** Listed but not ACTIVE, and not registered: nothing to do. */
  inactive: { accountId: string; state: string }[];
}

export function planMembership(
  organizationId: string,
  listed: readonly OrganizationAccount[],
  registered: readonly Pick<AccountRecord, 'accountId' | 'organizationId' | 'organizationMembership'>[],
  excluded: readonly string[] = [],
): MembershipPlan {
  const plan: MembershipPlan = {
    register: [],
    link: [],
    reactivate: [],
    leave: [],
    unchanged: [],
    conflicts: [],
    excluded: [],
    inactive: [],
  };
  const byId = new Map(registered.map((record) => [record.accountId, record]));
  const skipped = new Set(excluded);
  const listedIds = new Set<string>();
  for (const account of listed) {
    listedIds.add(account.accountId);
    const record = byId.get(account.accountId);
    if (skipped.has(account.accountId)) {
      plan.excluded.push(account.accountId);
      continue;
    }
    if (record?.organizationId !== undefined && record.organizationId !== organizationId) {
      plan.conflicts.push({ accountId: account.accountId, organizationId: record.organizationId });
      continue;
    }
    const active = account.state === 'ACTIVE';
    if (record === undefined) {
      if (active) plan.register.push(account.accountId);
      else plan.inactive.push({ accountId: account.accountId, state: account.state });
    } else if (record.organizationId === undefined) {
      if (active) plan.link.push(account.accountId);
      else plan.inactive.push({ accountId: account.accountId, state: account.state });
    } else if (!active) {
      if (record.organizationMembership === 'left') plan.unchanged.push(account.accountId);
      else plan.leave.push({ accountId: account.accountId, reason: account.state });
    } else if (record.organizationMembership === 'left') {
      plan.reactivate.push(account.accountId);
    } else {
      plan.unchanged.push(account.accountId);
    }
  }
  for (const record of registered) {
    if (record.organizationId !== organizationId || listedIds.has(record.accountId)) continue;
    if (record.organizationMembership === 'left') plan.unchanged.push(record.accountId);
    else plan.leave.push({ accountId: record.accountId, reason: 'not listed' });
  }
  return plan;
}

/** Whether applying the plan changes anything. */
export function planChanges(plan: MembershipPlan): boolean {
  return plan.register.length + plan.link.length + plan.reactivate.length + plan.leave.length > 0;
}
