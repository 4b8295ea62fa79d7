/**
 * Trail coverage against the emulator (issue 11, "Must show" 2): a customer's multi-region trail whose basic
 * event selector is ReadWriteType ReadOnly (CloudTrail User Guide, "Logging management events": read-only
 * management events only) is reused, reported TRAIL_PARTIAL_COVERAGE, and after `apply` no trail of the
 * account logs a second copy of read events (the collector adds no trail: CreateTrail takes no selectors).
 * The "after apply" check reads every trail back from the emulator with plain SDK calls (not the code under test).
 *
 * Where the emulator differs from AWS, AWS wins: moto answers DescribeTrails with HasCustomEventSelectors false
 * even after PutEventSelectors, while AWS reports true for a trail with custom selectors (DescribeTrails / Trail,
 * CloudTrail API Reference). observe trusts that flag to skip GetEventSelectors for default trails, so the
 * collector's clients here answer it as AWS does: `awsLikeTrailList` sets it from GetEventSelectors' answer.
 */
import {
  CreateTrailCommand,
  DescribeTrailsCommand,
  GetEventSelectorsCommand,
  GetTrailStatusCommand,
  PutEventSelectorsCommand,
  StartLoggingCommand,
  type EventSelector,
} from '@aws-sdk/client-cloudtrail';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import type { ReconcileClients } from '../../lambdas/reconcile/clients';
import {
  CUSTOMER,
  reconcileWorld,
  tenantClients,
  type ReconcileWorld,
  type TenantClients,
} from '../../testkit/reconcile-env';
import { REGION } from '../../testkit/test-emulator';

async function customerTrail(clients: TenantClients, name: string, readWriteType: EventSelector['ReadWriteType']) {
  const bucket = `${name}-logs`;
  await clients.s3.send(new CreateBucketCommand({ Bucket: bucket }));
  // Validation on: a customer trail without it is also reported (LOG_FILE_VALIDATION_DISABLED, low).
  await clients.cloudTrail.send(
    new CreateTrailCommand({
      Name: name,
      S3BucketName: bucket,
      IsMultiRegionTrail: true,
      EnableLogFileValidation: true,
    }),
  );
  await clients.cloudTrail.send(
    new PutEventSelectorsCommand({
      TrailName: name,
      EventSelectors: [{ ReadWriteType: readWriteType, IncludeManagementEvents: true }],
    }),
  );
  await clients.cloudTrail.send(new StartLoggingCommand({ Name: name }));
  return `arn:aws:cloudtrail:${REGION}:${CUSTOMER}:trail/${name}`;
}

/**
 * The trails of the account that log read (resp. write) management events right now, read straight from the
 * emulator: logging, and a basic selector with management events of that type (no selector: all of them).
 */
async function trailsLogging(clients: TenantClients): Promise<{ read: string[]; write: string[] }> {
  const described = await clients.cloudTrail.send(new DescribeTrailsCommand({ includeShadowTrails: true }));
  const result = { read: [] as string[], write: [] as string[] };
  for (const trail of described.trailList ?? []) {
    const status = await clients.cloudTrail.send(new GetTrailStatusCommand({ Name: trail.TrailARN }));
    if (status.IsLogging !== true) continue;
    const selectors = await clients.cloudTrail.send(new GetEventSelectorsCommand({ TrailName: trail.TrailARN }));
    expect(selectors.AdvancedEventSelectors ?? []).toEqual([]);
    const basic = selectors.EventSelectors ?? [];
    const management =
      basic.length === 0 ? [{ ReadWriteType: 'All' }] : basic.filter((s) => s.IncludeManagementEvents !== false);
    if (management.some((s) => s.ReadWriteType !== 'WriteOnly')) result.read.push(trail.TrailARN!);
    if (management.some((s) => s.ReadWriteType !== 'ReadOnly')) result.write.push(trail.TrailARN!);
  }
  return result;
}

/** The collector's clients, with DescribeTrails' HasCustomEventSelectors answered as AWS does (see above). */
function awsLikeTrailList(world: ReconcileWorld): void {
  const inner: ReconcileClients = world.deps.clients;
  world.deps.clients = {
    ...inner,
    customer: async (target) => {
      const clients = await inner.customer(target);
      return {
        ...clients,
        cloudTrail: (region: string) => {
          const client = clients.cloudTrail(region);
          return {
            send: (async (command: { input: unknown }) => {
              const output = (await client.send(command as never)) as unknown;
              if (!(command instanceof DescribeTrailsCommand)) return output;
              const described = output as { trailList?: { TrailARN?: string; HasCustomEventSelectors?: boolean }[] };
              for (const trail of described.trailList ?? []) {
                const selectors = await client.send(new GetEventSelectorsCommand({ TrailName: trail.TrailARN }));
                trail.HasCustomEventSelectors =
                  (selectors.EventSelectors ?? []).length > 0 || (selectors.AdvancedEventSelectors ?? []).length > 0;
              }
              return described;
            }) as typeof client.send,
          };
        },
      };
    },
  };
}

describe('trail coverage against the emulator', () => {
  test('a ReadOnly multi-region trail: TRAIL_PARTIAL_COVERAGE, and after apply no trail logs read events twice', async () => {
    const world = await reconcileWorld();
    awsLikeTrailList(world);
    const clients = await tenantClients(CUSTOMER);
    const readOnly = await customerTrail(clients, 'acme-read-audit', 'ReadOnly');

    const plan = world.account(await world.run('plan'));
    expect(plan.findings).toContainEqual(
      expect.objectContaining({
        code: 'TRAIL_PARTIAL_COVERAGE',
        severity: 'medium',
        resource: readOnly,
        message: expect.stringContaining('write events (logged by no trail'),
      }),
    );
    expect(plan.actions.map((a) => a.code)).not.toContain('CREATE_TRAIL');

    const applied = world.account(await world.run('apply'));
    expect(applied.actions.map((a) => a.code)).toContain('REUSE_TRAIL');
    expect(applied.actions.map((a) => a.code)).not.toContain('CREATE_TRAIL');
    expect(applied.actions.every((a) => a.status === 'applied')).toBe(true);
    expect(applied.findings.map((f) => f.code)).not.toContain('COST_DUPLICATE_TRAILS');

    const logging = await trailsLogging(clients);
    expect(logging.read).toEqual([readOnly]);
    expect(logging.write).toEqual([]);
    expect((await world.registry.require(CUSTOMER)).trailArn).toBe(readOnly);

    // The next run changes nothing and still says what is not collected.
    const again = world.account(await world.run('apply'));
    expect(again.actions).toEqual([]);
    expect(again.findings.map((f) => f.code)).toEqual(['TRAIL_PARTIAL_COVERAGE']);
  });

  test('a ReadOnly trail beside a WriteOnly trail: no COST_DUPLICATE_TRAILS, and the write events are named as logged elsewhere', async () => {
    const world = await reconcileWorld();
    awsLikeTrailList(world);
    const clients = await tenantClients(CUSTOMER);
    const readOnly = await customerTrail(clients, 'acme-read-audit', 'ReadOnly');
    const writeOnly = await customerTrail(clients, 'acme-write-audit', 'WriteOnly');

    const applied = world.account(await world.run('apply'));
    expect(applied.findings.map((f) => f.code)).not.toContain('COST_DUPLICATE_TRAILS');
    expect(applied.actions.map((a) => a.code)).not.toContain('CREATE_TRAIL');
    const partial = applied.findings.find((f) => f.code === 'TRAIL_PARTIAL_COVERAGE');
    const collected = partial?.resource;
    expect([readOnly, writeOnly]).toContain(collected);
    const other = collected === readOnly ? writeOnly : readOnly;
    expect(partial!.message).toContain(`(logged by ${other}`);

    const logging = await trailsLogging(clients);
    expect(logging.read).toEqual([readOnly]);
    expect(logging.write).toEqual([writeOnly]);
  });
});
