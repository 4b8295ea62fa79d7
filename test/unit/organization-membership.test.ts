/**
 * What registering or syncing an organization changes (lambdas/shared/organization-membership.ts), one case per
 * rule: ACTIVE accounts registered, others skipped, standalone registrations linked, departures marked (never
 * deleted), returns reactivated, another organization's registration refused, the operator's removals kept out.
 */
import { planChanges, planMembership } from '../../lambdas/shared/organization-membership';
import type { OrganizationAccount } from '../../lambdas/shared/organization-discovery';

const ORG = 'o-a1b2c3d4e5';
const active = (accountId: string): OrganizationAccount => ({ accountId, state: 'ACTIVE' });

test('a first add: ACTIVE accounts are registered, suspended or closing ones are not', () => {
  const plan = planMembership(
    ORG,
    [
      active('111111111111'),
      { accountId: '222222222222', state: 'SUSPENDED' },
      active('333333333333'),
      { accountId: '444444444444', state: 'PENDING_CLOSURE' },
    ],
    [],
  );
  expect(plan).toEqual({
    register: ['111111111111', '333333333333'],
    link: [],
    reactivate: [],
    leave: [],
    unchanged: [],
    conflicts: [],
    excluded: [],
    inactive: [
      { accountId: '222222222222', state: 'SUSPENDED' },
      { accountId: '444444444444', state: 'PENDING_CLOSURE' },
    ],
  });
  expect(planChanges(plan)).toBe(true);
});

test('an account registered on its own is linked (its ExternalId and mode are kept by the caller), not registered again', () => {
  const plan = planMembership(ORG, [active('111111111111')], [{ accountId: '111111111111' }]);
  expect(plan.link).toEqual(['111111111111']);
  expect(plan.register).toEqual([]);
});

test('an account registered for another organization is a conflict', () => {
  const plan = planMembership(
    ORG,
    [active('111111111111')],
    [{ accountId: '111111111111', organizationId: 'o-zzzzzzzzzz' }],
  );
  expect(plan.conflicts).toEqual([{ accountId: '111111111111', organizationId: 'o-zzzzzzzzzz' }]);
  expect([...plan.register, ...plan.link]).toEqual([]);
});

test('sync: a member no longer listed, or no longer ACTIVE, is marked left; one marked left is not marked again', () => {
  const registered = [
    { accountId: '111111111111', organizationId: ORG, organizationMembership: 'active' as const },
    { accountId: '222222222222', organizationId: ORG, organizationMembership: 'active' as const },
    { accountId: '333333333333', organizationId: ORG, organizationMembership: 'left' as const },
    { accountId: '444444444444', organizationId: ORG, organizationMembership: 'active' as const },
    // Not this organization's: never touched by its sync.
    { accountId: '555555555555' },
    { accountId: '666666666666', organizationId: 'o-zzzzzzzzzz', organizationMembership: 'active' as const },
  ];
  const plan = planMembership(
    ORG,
    [active('111111111111'), { accountId: '222222222222', state: 'SUSPENDED' }],
    registered,
  );
  expect(plan.leave).toEqual([
    { accountId: '222222222222', reason: 'SUSPENDED' },
    { accountId: '444444444444', reason: 'not listed' },
  ]);
  expect(plan.unchanged.sort()).toEqual(['111111111111', '333333333333']);
  expect([...plan.register, ...plan.link, ...plan.reactivate]).toEqual([]);
});

test('sync: a member that left and is ACTIVE again is reactivated', () => {
  const plan = planMembership(
    ORG,
    [active('333333333333')],
    [{ accountId: '333333333333', organizationId: ORG, organizationMembership: 'left' }],
  );
  expect(plan.reactivate).toEqual(['333333333333']);
});

test('accounts the operator removed stay out; nothing to do is no change', () => {
  const plan = planMembership(
    ORG,
    [active('111111111111'), active('222222222222')],
    [{ accountId: '222222222222', organizationId: ORG, organizationMembership: 'active' }],
    ['111111111111'],
  );
  expect(plan.excluded).toEqual(['111111111111']);
  expect(plan.register).toEqual([]);
  expect(planChanges(plan)).toBe(false);
});
