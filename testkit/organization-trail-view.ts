/**
 * moto answers DescribeTrails per account, so a member (the log archive included) never sees the management
 * account's organization trail, while AWS returns it there as a shadow trail (CloudTrail API Reference,
 * DescribeTrails, IncludeShadowTrails: "in the case of an organization trail, the replication of an organization
 * trail in member accounts"; CloudTrail User Guide, "Creating a trail for an organization": members can see the
 * organization trail but cannot change it). `withOrganizationTrail` closes that gap at the narrowest point: the
 * named accounts' DescribeTrails answer (their customer clients' CloudTrail `send`, includeShadowTrails true, no
 * name list) gets the organization trail appended, exactly as moto's DescribeTrails in the management account
 * returns it. Every other call goes to moto unchanged: GetTrailStatus and GetEventSelectors on the organization
 * trail's ARN fail in a member with TrailNotFoundException, as AWS may answer a member (the trail is then presumed
 * to log). Used by test/integration/organization-retirement.int.test.ts and organization-collection-hub.int.test.ts.
 */
import { DescribeTrailsCommand, type Trail } from '@aws-sdk/client-cloudtrail';
import type { CustomerClients, ReconcileClients } from '../lambdas/reconcile/clients';
import { awsClients } from '../lambdas/shared/aws-clients';
import type { OrganizationWorld } from './organization';

export interface OrganizationTrailView {
  /** The accounts that see the organization trail (members, the log archive); read on every call. */
  accounts: () => ReadonlySet<string>;
  /** The trail to show, once it exists (undefined: nothing is appended). */
  trail: () => Trail | undefined;
}

/** Wraps the reconcile clients so that the view's accounts see the organization trail in DescribeTrails. */
export function withOrganizationTrail(view: OrganizationTrailView) {
  return (real: ReconcileClients): ReconcileClients => ({
    ...real,
    async customer(target) {
      const clients = await real.customer(target);
      if (!view.accounts().has(target.accountId)) return clients;
      const wrapped: CustomerClients = {
        ...clients,
        cloudTrail: (region) => {
          const inner = clients.cloudTrail(region);
          return {
            send: (async (command: unknown) => {
              const answer = await inner.send(command as DescribeTrailsCommand);
              const trail = view.trail();
              if (!(command instanceof DescribeTrailsCommand) || trail === undefined) return answer;
              if (command.input.includeShadowTrails !== true || command.input.trailNameList !== undefined)
                return answer;
              return { ...answer, trailList: [...(answer.trailList ?? []), trail] };
            }) as CustomerClients['cloudTrail'] extends (r: string) => { send: infer S } ? S : never,
          };
        },
      };
      return wrapped;
    },
  });
}

/** The organization trail as moto's DescribeTrails answers it in the management account. */
export async function organizationTrailOf(org: OrganizationWorld, region: string): Promise<Trail> {
  const management = awsClients.cloudTrail({ region, credentials: await org.credentialsFor(org.managementAccountId) });
  const trail = (await management.send(new DescribeTrailsCommand({}))).trailList?.find((t) => t.IsOrganizationTrail);
  if (trail === undefined)
    throw new Error(`no organization trail in the management account ${org.managementAccountId}`);
  return trail;
}
