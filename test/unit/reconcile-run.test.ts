import { RECONCILE_SETTINGS } from '../../testkit/reconcile-fixtures';
/**
 * reconcileAll / reconcileAccount end to end over the in-memory fake cloud: modes, recording, the guards
 * (REPAIR_LOOP, BUCKET_NAME_TAKEN, cost guard with organization trails), event source mappings in the collector
 * account, and isolation of one account's failure.
 */
import { silentLogger, type LoggerLike } from '../../lambdas/shared/logger';
import { accountStatus } from '../../lambdas/reconcile/plan';
import { reconcileAll, type ReconcileDeps } from '../../lambdas/reconcile/reconcile';
import type { AccountReport, ReconcileReport } from '../../lambdas/reconcile/types';
import { FakeCloud, MemoryRegistry, seedHealthyAccount } from '../../testkit/fake-cloud';

const A = '111122223333';
const B = '222233334444';
const C = '333344445555';
const FUNCTION_ARN = 'arn:aws:lambda:us-east-1:123456789012:function:collector-ingest';
const INGEST_ROLE = 'arn:aws:iam::123456789012:role/collector-ingest';

function setup(options: { ingest?: boolean; latencyMs?: number } = {}) {
  const cloud = new FakeCloud({ ...(options.latencyMs ? { latencyMs: options.latencyMs } : {}) });
  let clock = Date.parse('2026-11-01T00:00:00.000Z');
  const logs: { message: string; extra: Record<string, unknown> }[] = [];
  const logger: LoggerLike = {
    ...silentLogger,
    info: (message, ...extra) => logs.push({ message, extra: Object.assign({}, ...extra) as Record<string, unknown> }),
    error: (message, ...extra) => logs.push({ message, extra: Object.assign({}, ...extra) as Record<string, unknown> }),
  };
  const deps: Omit<ReconcileDeps, 'registry'> = {
    clients: cloud.clients(),
    config: {
      ...RECONCILE_SETTINGS,
      ...(options.ingest ? { ingestFunctionArn: FUNCTION_ARN, ingestRoleArn: INGEST_ROLE } : {}),
    },
    logger,
    now: () => new Date(clock),
    randomSuffix: () => 'a1b2c3d4',
  };
  return {
    cloud,
    deps,
    logs,
    advance: (ms: number) => {
      clock += ms;
    },
  };
}

const account = (report: ReconcileReport, id = A): AccountReport => report.accounts.find((a) => a.accountId === id)!;
const codes = (report: AccountReport) => report.actions.map((a) => a.code);
const findingCodes = (report: AccountReport) => report.findings.map((f) => f.code);

describe('reconcileAll over the fake cloud', () => {
  test('a healthy account costs 12 read-only calls, plans nothing and is recorded healthy', async () => {
    const { cloud, deps, logs } = setup({ ingest: true });
    const chain = seedHealthyAccount(cloud, A, { ingestFunctionArn: FUNCTION_ARN, ingestRoleArn: INGEST_ROLE });
    const registry = new MemoryRegistry([{ accountId: A, ...chain, bucketName: chain.bucket }]);
    const report = await reconcileAll(registry, deps, { mode: 'apply' });
    expect(account(report)).toEqual({
      accountId: A,
      status: 'healthy',
      findings: [],
      actions: [],
      deadLetterMessages: 0,
    });
    expect(cloud.callsOf(A).sort()).toEqual(
      [
        'DescribeTrails',
        'ListTrails',
        'GetTrailStatus',
        'HeadBucket',
        'GetBucketPolicy',
        'GetTopicAttributes',
        'ListSubscriptionsByTopic',
        'GetSubscriptionAttributes',
        'GetQueueUrl',
        'GetQueueAttributes',
        'GetQueueAttributes', // the dead-letter queue's depth
      ].sort(),
    );
    expect(cloud.callsOf('collector')).toEqual(['ListEventSourceMappings']);
    expect(registry.get(A)).toMatchObject({
      status: 'healthy',
      lastRunMode: 'apply',
      lastRunAt: '2026-11-01T00:00:00.000Z',
      findings: [],
      actions: [],
    });
    expect(logs.find((l) => l.message === 'reconcile account')?.extra).toMatchObject({
      accountId: A,
      status: 'healthy',
      mode: 'apply',
    });
  });

  test('every S3 call on a customer bucket passes ExpectedBucketOwner', async () => {
    const { cloud, deps } = setup();
    seedHealthyAccount(cloud, A);
    cloud.account(A).buckets.delete(`outcomes-${A}`);
    await reconcileAll(new MemoryRegistry([{ accountId: A }]), deps, { mode: 'apply' });
    const s3Calls = cloud.calls.filter(
      (c) => /Bucket|PublicAccessBlock/.test(c.command) && !['CreateBucket', 'ListBuckets'].includes(c.command),
    );
    expect(s3Calls.map((c) => c.command)).toEqual(
      expect.arrayContaining(['HeadBucket', 'PutBucketPolicy', 'PutPublicAccessBlock']),
    );
    expect(s3Calls.every((c) => c.input.ExpectedBucketOwner === A)).toBe(true);
  });

  test("one account's failure does not stop the others; an unassumable role is ROLE_UNASSUMABLE (error)", async () => {
    const { cloud, deps } = setup();
    seedHealthyAccount(cloud, A);
    seedHealthyAccount(cloud, C);
    cloud.unassumable.add(B);
    cloud.fail(C, 'DescribeTrails', { name: 'AccessDenied', status: 403 });
    cloud.fail(C, 'GetQueueUrl', { name: 'AccessDenied', status: 403 });
    const registry = new MemoryRegistry([{ accountId: A }, { accountId: B }, { accountId: C }]);
    const report = await reconcileAll(registry, deps, { mode: 'apply', concurrency: 2 });
    expect(report.accounts.map((a) => [a.accountId, a.status])).toEqual([
      [A, 'repaired'],
      [B, 'error'],
      [C, 'error'],
    ]);
    expect(account(report, B).findings).toEqual([
      expect.objectContaining({
        code: 'ROLE_UNASSUMABLE',
        severity: 'high',
        resource: `arn:aws:iam::${B}:role/CloudTrailCollectorRole`,
      }),
    ]);
    // AccessDenied is never read as "no trail": nothing is created in C.
    expect(account(report, C).actions).toEqual([]);
    expect(findingCodes(account(report, C))).toEqual(['OBSERVE_INCOMPLETE']);
    expect(registry.get(B).status).toBe('error');
  });

  test('accounts run with bounded concurrency', async () => {
    const { cloud, deps } = setup({ latencyMs: 2 });
    const ids = Array.from({ length: 12 }, (_, i) => String(100000000000 + i));
    ids.forEach((id) => seedHealthyAccount(cloud, id));
    let inFlight = 0;
    let peak = 0;
    const customer = deps.clients.customer;
    deps.clients = {
      ...deps.clients,
      customer: (target) => {
        inFlight += 1;
        peak = Math.max(peak, inFlight);
        return customer(target);
      },
    };
    const registry = new MemoryRegistry(ids.map((accountId) => ({ accountId })));
    const update = registry.update.bind(registry);
    registry.update = async (id, fields) => {
      await update(id, fields);
      if (fields.status !== undefined) inFlight -= 1;
    };
    const report = await reconcileAll(registry, deps, { mode: 'plan', concurrency: 3 });
    expect(report.accounts).toHaveLength(12);
    expect(peak).toBe(3);
  });

  test('plan mode changes nothing and records no chain; report-mode accounts only get REUSE_TRAIL', async () => {
    const { cloud, deps } = setup();
    cloud.account(A).buckets.set('acme-logs', undefined);
    cloud
      .account(A)
      .trails.push({ name: 'acme', region: 'us-east-1', bucket: 'acme-logs', multiRegion: true, logging: true });
    cloud.account(B).buckets.set('b-logs', undefined);
    cloud
      .account(B)
      .trails.push({ name: 'b', region: 'us-east-1', bucket: 'b-logs', multiRegion: true, logging: true });
    const registry = new MemoryRegistry([{ accountId: A }, { accountId: B, mode: 'report' }]);

    const plan = await reconcileAll(registry, deps, { mode: 'plan' });
    expect(account(plan).actions.every((a) => a.status === 'planned')).toBe(true);
    expect(account(plan).status).toBe('degraded');
    expect(cloud.calls.some((c) => /^(Create|Put|Set|Update|Subscribe|Start)/.test(c.command))).toBe(false);
    expect(registry.get(A).trailArn).toBeUndefined();
    expect(registry.get(A).lastRunMode).toBe('plan');

    const apply = await reconcileAll(registry, deps, { mode: 'apply' });
    const reportMode = account(apply, B);
    expect(reportMode.actions.find((a) => a.code === 'REUSE_TRAIL')?.status).toBe('applied');
    expect(reportMode.actions.filter((a) => a.code !== 'REUSE_TRAIL').every((a) => a.status === 'planned')).toBe(true);
    expect(reportMode.status).toBe('degraded');
    expect(cloud.callsOf(B).some((c) => /^(Create|Put|Set|Update|Subscribe|Start)/.test(c))).toBe(false);
    expect(registry.get(B).trailArn).toBe(`arn:aws:cloudtrail:us-east-1:${B}:trail/b`);
    expect(account(apply).status).toBe('repaired');
  });

  test('a failed action skips what depends on it, and that part of the chain is not recorded', async () => {
    const { cloud, deps } = setup();
    const chain = seedHealthyAccount(cloud, A);
    const registry = new MemoryRegistry([{ accountId: A, trailArn: chain.trailArn, topicArn: chain.topicArn }]);
    cloud.account(A).topics.delete(chain.topicArn);
    cloud.account(A).subscriptions.length = 0;
    cloud.fail(A, 'CreateTopic', { name: 'AccessDenied', status: 403, message: 'not allowed' });
    const report = account(await reconcileAll(registry, deps, { mode: 'apply' }));
    expect(report.actions.map((a) => [a.code, a.status])).toEqual([
      ['CREATE_TOPIC', 'failed'],
      ['PUT_TOPIC_POLICY', 'skipped'],
      ['SUBSCRIBE', 'skipped'],
    ]);
    expect(report.actions[0]!.error).toBe('CREATE_TOPIC failed: AccessDenied: not allowed');
    expect(report.actions[1]!.error).toContain(`depends on CREATE_TOPIC ${chain.topicArn}`);
    expect(report.status).toBe('degraded');
  });

  test('REPAIR_LOOP: a topic re-created three times within 24 hours is not re-created a fourth time', async () => {
    const { cloud, deps, advance } = setup();
    const chain = seedHealthyAccount(cloud, A);
    const registry = new MemoryRegistry([{ accountId: A }]);
    await reconcileAll(registry, deps, { mode: 'apply' }); // adopts the chain
    const deleteTopic = () => {
      cloud.account(A).topics.delete(chain.topicArn);
      cloud.account(A).subscriptions.length = 0;
    };
    for (let i = 0; i < 3; i += 1) {
      deleteTopic();
      advance(60 * 60 * 1000);
      const report = account(await reconcileAll(registry, deps, { mode: 'apply' }));
      expect(codes(report)).toEqual(['CREATE_TOPIC', 'PUT_TOPIC_POLICY', 'SUBSCRIBE']);
    }
    expect(registry.get(A).recreations?.[`topic:${chain.topicArn}`]).toHaveLength(3);
    deleteTopic();
    advance(60 * 60 * 1000);
    const looping = account(await reconcileAll(registry, deps, { mode: 'apply' }));
    expect(codes(looping)).toEqual([]);
    expect(looping.findings).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ code: 'REPAIR_LOOP', severity: 'high', resource: chain.topicArn }),
      ]),
    );
    expect(looping.status).toBe('degraded');
    expect(cloud.account(A).topics.has(chain.topicArn)).toBe(false);
    // Once the oldest re-creation leaves the 24-hour window, the repair is allowed again.
    advance(22 * 60 * 60 * 1000);
    expect(codes(account(await reconcileAll(registry, deps, { mode: 'apply' })))).toEqual([
      'CREATE_TOPIC',
      'PUT_TOPIC_POLICY',
      'SUBSCRIBE',
    ]);
  });

  test('BUCKET_NAME_TAKEN: a suffixed name is stored before the bucket is created, then reused for good', async () => {
    const { cloud, deps } = setup();
    const chain = seedHealthyAccount(cloud, A);
    const registry = new MemoryRegistry([{ accountId: A }]);
    await reconcileAll(registry, deps, { mode: 'apply' });
    cloud.account(A).buckets.delete(chain.bucket);
    cloud.foreignBuckets.add(chain.bucket);
    const generated = `outcomes-${A}-a1b2c3d4`;
    let storedBeforeCreate: string | undefined;
    const update = registry.update.bind(registry);
    registry.update = async (id, fields) => {
      if (fields.generatedBucketName && !cloud.account(A).buckets.has(generated))
        storedBeforeCreate = fields.generatedBucketName;
      return update(id, fields);
    };
    const report = account(await reconcileAll(registry, deps, { mode: 'apply' }));
    // The trail still names outcomes-<id>, which now answers 403 and is not in the account's own bucket list.
    expect(report.findings).toEqual([
      expect.objectContaining({ code: 'BUCKET_NAME_TAKEN', severity: 'high', resource: chain.bucket }),
    ]);
    expect(report.actions.map((a) => [a.code, a.resource, a.reason])).toEqual([
      ['CREATE_BUCKET', generated, 'BUCKET_NAME_TAKEN'],
      ['PUT_BUCKET_POLICY', generated, 'BUCKET_NAME_TAKEN'],
      ['UPDATE_TRAIL', chain.trailArn, 'BUCKET_NAME_TAKEN'],
    ]);
    expect(report.status).toBe('repaired');
    expect(
      cloud.calls.filter((c) => c.accountId === A && c.command === 'PutBucketPolicy').map((c) => c.input.Bucket),
    ).toEqual([generated]);
    expect(storedBeforeCreate).toBe(generated);
    expect(cloud.account(A).trails[0]!.bucket).toBe(generated);
    expect(registry.get(A)).toMatchObject({ bucketName: generated, generatedBucketName: generated });

    // Deleted again: the same generated name comes back, never a second one.
    deps.randomSuffix = () => 'ffffffff';
    cloud.account(A).buckets.delete(generated);
    const again = account(await reconcileAll(registry, deps, { mode: 'apply' }));
    expect(again.actions.map((a) => [a.code, a.resource])).toEqual([
      ['CREATE_BUCKET', generated],
      ['PUT_BUCKET_POLICY', generated],
    ]);
  });

  test('event source mappings live in the collector account: created with BatchSize 10 and partial batch failures, re-enabled when disabled', async () => {
    const { cloud, deps } = setup({ ingest: true });
    const chain = seedHealthyAccount(cloud, A, { ingestRoleArn: INGEST_ROLE });
    const registry = new MemoryRegistry([{ accountId: A }]);
    const first = account(await reconcileAll(registry, deps, { mode: 'apply' }));
    expect(first.actions.map((a) => [a.code, a.reason])).toEqual([
      ['REUSE_TRAIL', 'TRAIL_MISSING'],
      ['CREATE_ESM', 'ESM_MISSING'],
    ]);
    expect(cloud.esms).toEqual([
      expect.objectContaining({
        queueArn: chain.queueArn,
        functionArn: FUNCTION_ARN,
        state: 'Enabled',
        batchSize: 10,
        responseTypes: ['ReportBatchItemFailures'],
      }),
    ]);
    expect(cloud.callsOf(A)).not.toContain('CreateEventSourceMapping');
    cloud.esms[0]!.state = 'Disabled';
    const second = account(await reconcileAll(registry, deps, { mode: 'apply' }));
    expect(second.actions.map((a) => [a.code, a.status])).toEqual([['ENABLE_ESM', 'applied']]);
    expect(cloud.esms[0]!.state).toBe('Enabled');
    expect(account(await reconcileAll(registry, deps, { mode: 'plan' })).status).toBe('healthy');
  });

  test('cost guard: an organization trail that logs management events is never duplicated', async () => {
    const { cloud, deps } = setup();
    const orgTrail = {
      name: 'org-trail',
      region: 'us-east-1',
      owner: '999900001111',
      bucket: 'org-archive-logs',
      multiRegion: true,
      organization: true,
      logging: true,
    };
    cloud.account(A).trails.push(orgTrail);
    cloud.account(B).trails.push({ ...orgTrail });
    const registry = new MemoryRegistry([
      { accountId: A },
      { accountId: B },
      { accountId: C, logArchiveFor: [B], bucketName: 'org-archive-logs' },
    ]);
    seedHealthyAccount(cloud, C);
    const report = await reconcileAll(registry, deps, { mode: 'apply' });
    expect(codes(account(report, A))).toEqual([]);
    expect(findingCodes(account(report, A))).toEqual(['TRAIL_NOT_COLLECTABLE']);
    expect(account(report, A).status).toBe('degraded');
    // B is covered by its registered log archive C, which collects from the organization trail's bucket.
    expect(account(report, B)).toMatchObject({ status: 'healthy', actions: [] });
    expect(findingCodes(account(report, B))).toEqual(['COLLECTED_BY_LOG_ARCHIVE']);
    expect(cloud.calls.filter((c) => c.command === 'CreateTrail')).toEqual([]);
  });

  test('an unregistered --account-id is an error, a registered one runs alone', async () => {
    const { cloud, deps } = setup();
    seedHealthyAccount(cloud, A);
    const registry = new MemoryRegistry([{ accountId: A }, { accountId: B }]);
    await expect(reconcileAll(registry, deps, { mode: 'plan', accountId: '999999999999' })).rejects.toThrow(
      'not registered',
    );
    const report = await reconcileAll(registry, deps, { mode: 'plan', accountId: A });
    expect(report.accounts.map((a) => a.accountId)).toEqual([A]);
  });
});

describe('accountStatus', () => {
  const f = (code: 'TOPIC_MISSING' | 'BUCKET_POLICY_CHANGED' | 'ROLE_UNASSUMABLE', severity: 'info' | 'high') => ({
    code,
    severity,
    resource: 'r',
    message: 'm',
  });
  const a = (status: 'applied' | 'failed' | 'planned') => ({
    code: 'CREATE_TOPIC' as const,
    resource: 'r',
    reason: 'TOPIC_MISSING' as const,
    costImpact: { monthlyUsd: 0, note: '' },
    status,
  });
  test.each([
    ['healthy: nothing, or info only', [f('BUCKET_POLICY_CHANGED', 'info')], [], 'healthy'],
    [
      'repaired: every action applied, every finding answered',
      [f('TOPIC_MISSING', 'high')],
      [a('applied')],
      'repaired',
    ],
    ['degraded: an action failed', [f('TOPIC_MISSING', 'high')], [a('failed')], 'degraded'],
    ['degraded: actions only planned', [f('TOPIC_MISSING', 'high')], [a('planned')], 'degraded'],
    ['degraded: a finding without a repair', [f('TOPIC_MISSING', 'high')], [], 'degraded'],
    ['error: role unassumable', [f('ROLE_UNASSUMABLE', 'high')], [], 'error'],
  ] as const)('%s', (_name, findings, actions, expected) => {
    expect(accountStatus([...findings], [...actions])).toBe(expected);
  });
});
