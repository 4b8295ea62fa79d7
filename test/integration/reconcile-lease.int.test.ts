/**
 * The reconcile lease (lambdas/reconcile/lease.ts) against the emulator's DynamoDB: the conditional UpdateItem
 * lets exactly one of two workers take an account's lease at once, a held lease is reported with its owner and
 * expiry, an expired one is taken over, and only the owner releases it (writing the next due time).
 */
import { RegistryLease } from '../../lambdas/reconcile/lease';
import type { AccountsRegistry } from '../../lambdas/shared/registry';
import { accountRecord, createRegistry } from '../../testkit/registry';
import { REGION, useEmulator } from '../../testkit/test-emulator';

const A = '111122223333';
const T0 = new Date('2026-11-01T00:00:00.000Z');
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);

describe('RegistryLease on the registry table', () => {
  let registry: AccountsRegistry;
  let lease: RegistryLease;

  beforeEach(async () => {
    await useEmulator();
    registry = await createRegistry('lease-accounts', { region: REGION });
    await registry.add(accountRecord({ accountId: A }));
    lease = new RegistryLease(registry.db, registry.tableName);
  });

  test('two workers at once: exactly one takes the lease', async () => {
    const results = await Promise.all(
      ['worker-1', 'worker-2', 'worker-3', 'worker-4'].map((owner) => lease.acquire(A, owner, T0, at(600))),
    );
    expect(results.filter((result) => result.kind === 'acquired')).toHaveLength(1);
    const winner = results.find((result) => result.kind === 'acquired');
    const holder = winner?.kind === 'acquired' ? winner.record.reconcileLeaseOwner : undefined;
    for (const result of results.filter((r) => r.kind !== 'acquired')) {
      expect(result).toEqual({ kind: 'held', owner: holder, expiresAt: at(600).toISOString() });
    }
  });

  test('taking the lease returns the registry item, so the job needs no other read', async () => {
    const result = await lease.acquire(A, 'worker-1', T0, at(600));
    expect(result).toMatchObject({
      kind: 'acquired',
      record: { accountId: A, externalId: `ext-${A}`, reconcileLeaseOwner: 'worker-1' },
    });
  });

  test('an expired lease is taken over; the old owner can then neither release it nor write', async () => {
    await lease.acquire(A, 'worker-1', T0, at(600));
    expect((await lease.acquire(A, 'worker-2', at(599), at(1200))).kind).toBe('held');
    expect((await lease.acquire(A, 'worker-2', at(600), at(1200))).kind).toBe('acquired');
    expect(await lease.release(A, 'worker-1', { reconcileDueAt: at(900).toISOString() })).toBe(false);
    expect(await registry.get(A)).toMatchObject({ reconcileLeaseOwner: 'worker-2' });
    expect((await registry.get(A))?.reconcileDueAt).toBeUndefined();
  });

  test("the owner's release removes the lease and records the next due time", async () => {
    await lease.acquire(A, 'worker-1', T0, at(600));
    expect(await lease.release(A, 'worker-1', { reconcileDueAt: at(3600).toISOString() })).toBe(true);
    const record = await registry.get(A);
    expect(record?.reconcileDueAt).toBe(at(3600).toISOString());
    expect(record?.reconcileLeaseOwner).toBeUndefined();
    expect(record?.reconcileLeaseExpiresAt).toBeUndefined();
    expect((await lease.acquire(A, 'worker-2', at(1), at(600))).kind).toBe('acquired');
  });

  test('an account that is not registered (removed since the job was sent) is told apart from a held lease', async () => {
    expect(await lease.acquire('999988887777', 'worker-1', T0, at(600))).toEqual({ kind: 'not-registered' });
    // The lease write does not create an item.
    expect(await registry.get('999988887777')).toBeUndefined();
  });
});
