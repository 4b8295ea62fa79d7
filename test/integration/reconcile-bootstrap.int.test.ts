import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { CreateTrailCommand, StartLoggingCommand } from '@aws-sdk/client-cloudtrail';
import { CUSTOMER, expectWorkingChain, reconcileWorld, tenantClients, trailArns } from '../../testkit/reconcile-env';
import { REGION } from '../../testkit/test-emulator';

describe('reconcile bootstrap against the emulator', () => {
  test('an empty account gets the whole default chain from one apply, and the next plan is healthy', async () => {
    const world = await reconcileWorld();
    const report = await world.run('apply');
    const account = world.account(report);
    expect(account.actions.map((a) => [a.code, a.status])).toEqual([
      ['CREATE_BUCKET', 'applied'],
      ['PUT_BUCKET_POLICY', 'applied'],
      ['CREATE_TOPIC', 'applied'],
      ['PUT_TOPIC_POLICY', 'applied'],
      ['CREATE_QUEUE', 'applied'],
      ['CREATE_QUEUE', 'applied'],
      ['PUT_QUEUE_POLICY', 'applied'],
      ['SUBSCRIBE', 'applied'],
      ['CREATE_TRAIL', 'applied'],
      ['START_LOGGING', 'applied'],
    ]);
    expect(account.status).toBe('repaired');
    expect(account.actions.every((a) => a.costImpact.monthlyUsd < 0.1)).toBe(true);

    const clients = await tenantClients(CUSTOMER);
    const trailArn = `arn:aws:cloudtrail:${REGION}:${CUSTOMER}:trail/outcomes-trail`;
    const chain = await expectWorkingChain(clients, CUSTOMER, trailArn);
    expect(chain.bucket).toBe(`outcomes-${CUSTOMER}`);

    const record = await world.registry.require(CUSTOMER);
    expect(record).toMatchObject({
      status: 'repaired',
      trailArn,
      bucketName: chain.bucket,
      topicArn: chain.topicArn,
      queueArn: chain.queueArn,
    });

    const plan = world.account(await world.run('plan'));
    expect(plan).toEqual({ accountId: CUSTOMER, status: 'healthy', findings: [], actions: [], deadLetterMessages: 0 });
    const again = world.account(await world.run('apply'));
    expect(again.actions).toEqual([]);
  });

  test("a customer's multi-region trail gets a topic, queue and subscription, and no new trail", async () => {
    const world = await reconcileWorld();
    const clients = await tenantClients(CUSTOMER);
    await clients.s3.send(new CreateBucketCommand({ Bucket: 'acme-audit-logs' }));
    const trails = clients.cloudTrailIn('eu-west-1');
    await trails.send(
      new CreateTrailCommand({ Name: 'acme-org-audit', S3BucketName: 'acme-audit-logs', IsMultiRegionTrail: true }),
    );
    await trails.send(new StartLoggingCommand({ Name: 'acme-org-audit' }));
    const customerTrail = `arn:aws:cloudtrail:eu-west-1:${CUSTOMER}:trail/acme-org-audit`;

    const account = world.account(await world.run('apply'));
    expect(account.actions.map((a) => a.code)).not.toContain('CREATE_TRAIL');
    expect(account.actions.map((a) => a.code).sort()).toEqual(
      [
        'CREATE_QUEUE',
        'CREATE_QUEUE',
        'CREATE_TOPIC',
        'PUT_QUEUE_POLICY',
        'PUT_TOPIC_POLICY',
        'REUSE_TRAIL',
        'SUBSCRIBE',
        'UPDATE_TRAIL',
      ].sort(),
    );
    expect(account.actions.every((a) => a.status === 'applied')).toBe(true);
    expect(await trailArns(clients)).toEqual([customerTrail]);
    expect(account.status).toBe('repaired');

    const plan = world.account(await world.run('plan'));
    expect(plan.actions).toEqual([]);
    expect(plan.status).toBe('healthy');
  });

  test('an account whose role cannot be assumed is ROLE_UNASSUMABLE and does not stop the others', async () => {
    const broken = '444455556666';
    // No ExternalId registered: the credential cache refuses to assume the role at all.
    const world = await reconcileWorld([{ accountId: CUSTOMER }, { accountId: broken, externalId: '' }]);
    const report = await world.run('apply');
    expect(world.account(report, broken)).toMatchObject({
      status: 'error',
      findings: [
        expect.objectContaining({
          code: 'ROLE_UNASSUMABLE',
          resource: `arn:aws:iam::${broken}:role/CloudTrailCollectorRole`,
        }),
      ],
      actions: [],
    });
    expect(world.account(report).status).toBe('repaired');
    expect((await world.registry.require(broken)).status).toBe('error');
  });

  test('a report-mode account is observed and planned, never changed', async () => {
    const world = await reconcileWorld([{ accountId: CUSTOMER, mode: 'report' }]);
    const account = world.account(await world.run('apply'));
    expect(account.status).toBe('degraded');
    expect(account.actions.length).toBeGreaterThan(0);
    expect(account.actions.every((a) => a.status === 'planned')).toBe(true);
    expect(await trailArns(await tenantClients(CUSTOMER))).toEqual([]);
  });
});
