/**
 * The reconcile's real SDK clients (lambdas/reconcile/clients.ts) over an in-process fake transport
 * (testkit/sdk-transport.ts): a throttled call is retried by the SDK's adaptive retry and never becomes a
 * finding, and the client and credential caches stay within their bounds.
 */
import { reconcileAccount } from '../../lambdas/reconcile/reconcile';
import { clientCacheSettings, createReconcileClients } from '../../lambdas/reconcile/clients';
import { ConfigError } from '../../lambdas/shared/errors';
import { silentLogger } from '../../lambdas/shared/logger';
import { FakeCloud, seedHealthyAccount } from '../../testkit/fake-cloud';
import { RECONCILE_SETTINGS } from '../../testkit/reconcile-fixtures';
import { accountRecord } from '../../testkit/registry';
import { awsServiceError, fakeCloudHandler, sdkTransport, type SdkCall } from '../../testkit/sdk-transport';

const A = '111122223333';
const B = '222233334444';
const C = '333344445555';
const FUNCTION_ARN = 'arn:aws:lambda:us-east-1:123456789012:function:collector-ingest';
const INGEST_ROLE = 'arn:aws:iam::123456789012:role/collector-ingest';
const target = (accountId: string) => ({
  accountId,
  roleArn: `arn:aws:iam::${accountId}:role/CloudTrailCollectorRole`,
  externalId: `ext-${accountId}`,
});

// The collector's own clients sign with the default provider chain: keys from the environment, never IMDS.
const savedEnv = { ...process.env };
beforeAll(() => {
  process.env.AWS_ACCESS_KEY_ID = 'AKIDCOLLECTOR';
  process.env.AWS_SECRET_ACCESS_KEY = 'collector-secret';
  process.env.AWS_EC2_METADATA_DISABLED = 'true';
});
afterAll(() => {
  process.env = savedEnv;
});

function world() {
  const cloud = new FakeCloud();
  const chain = seedHealthyAccount(cloud, A, { ingestFunctionArn: FUNCTION_ARN, ingestRoleArn: INGEST_ROLE });
  const calls: SdkCall[] = [];
  /** `${operation}` -> errors to throw on its next attempts, in order. */
  const throttles = new Map<string, Error[]>();
  const answer = fakeCloudHandler(cloud);
  const transport = sdkTransport(async (call) => {
    calls.push(call);
    const error = throttles.get(call.operation)?.shift();
    if (error) throw error;
    return answer(call);
  });
  const record = accountRecord({ accountId: A, ...chain, bucketName: chain.bucket });
  const deps = {
    config: { ...RECONCILE_SETTINGS, ingestFunctionArn: FUNCTION_ARN, ingestRoleArn: INGEST_ROLE },
    logger: silentLogger,
  };
  return { cloud, calls, throttles, transport, record, deps };
}

describe('a throttled call is retried, not reported', () => {
  test('ThrottlingException, TooManyRequestsException and Throttling "Rate exceeded" are retried: no finding', async () => {
    const { calls, throttles, transport, record, deps } = world();
    throttles.set('AssumeRole', [awsServiceError('Throttling', 400, 'Rate exceeded')]);
    throttles.set('DescribeTrails', [
      awsServiceError('ThrottlingException', 400, 'Rate exceeded'),
      awsServiceError('ThrottlingException', 400, 'Rate exceeded'),
    ]);
    throttles.set('ListEventSourceMappings', [
      awsServiceError('TooManyRequestsException', 429, 'Rate exceeded for CallerRateLimitExceeded'),
    ]);
    const clients = createReconcileClients({ region: 'us-east-1', onClientBuilt: transport });
    const report = await reconcileAccount(record, { ...deps, clients }, 'plan');
    expect(report).toMatchObject({ accountId: A, status: 'healthy', findings: [] });
    const attempts = (operation: string) => calls.filter((c) => c.operation === operation).length;
    expect([attempts('AssumeRole'), attempts('DescribeTrails'), attempts('ListEventSourceMappings')]).toEqual([
      2, 3, 2,
    ]);
  });

  test('without the retry, the same throttle would be an OBSERVE_INCOMPLETE finding (what the retry prevents)', async () => {
    const { cloud, record, deps } = world();
    cloud.fail(A, 'DescribeTrails', { name: 'ThrottlingException', message: 'Rate exceeded' });
    const report = await reconcileAccount(record, { ...deps, clients: cloud.clients() }, 'plan');
    expect(report.findings.map((f) => f.code)).toContain('OBSERVE_INCOMPLETE');
  });

  test('an error about the account (AccessDenied) is not retried as a throttle: one attempt, reported', async () => {
    const { calls, throttles, transport, record, deps } = world();
    throttles.set('DescribeTrails', [awsServiceError('AccessDeniedException', 400, 'not authorized')]);
    const clients = createReconcileClients({ region: 'us-east-1', onClientBuilt: transport });
    const report = await reconcileAccount(record, { ...deps, clients }, 'plan');
    expect(calls.filter((c) => c.operation === 'DescribeTrails')).toHaveLength(1);
    expect(report.findings.map((f) => f.code)).toContain('OBSERVE_INCOMPLETE');
  });
});

describe('bounded caches', () => {
  test('clients beyond the bound evict the least recently used; an evicted one is rebuilt on its next use', async () => {
    const { cloud, transport } = world();
    seedHealthyAccount(cloud, B);
    seedHealthyAccount(cloud, C);
    const clients = createReconcileClients({ region: 'us-east-1', clientCacheSize: 8, onClientBuilt: transport });
    const four = async (accountId: string) => {
      const c = await clients.customer(target(accountId));
      return [c.cloudTrail('us-east-1'), c.s3('us-east-1'), c.sns('us-east-1'), c.sqs('us-east-1')];
    };
    const [firstOfA] = await four(A);
    await four(B);
    const [firstOfC] = await four(C);
    expect(clients.stats()).toMatchObject({ clients: 8, clientEvictions: 4 });
    const [againC] = await four(C);
    expect(againC).toBe(firstOfC);
    const [againA] = await four(A);
    expect(againA).not.toBe(firstOfA);
    expect(clients.stats().clients).toBe(8);
  });

  test('credentials beyond the bound are dropped and the role assumed again when it comes back', async () => {
    const { cloud, transport } = world();
    seedHealthyAccount(cloud, B);
    seedHealthyAccount(cloud, C);
    const clients = createReconcileClients({ region: 'us-east-1', credentialCacheSize: 2, onClientBuilt: transport });
    for (const id of [A, B, C]) await clients.customer(target(id));
    expect(clients.stats()).toMatchObject({ credentials: 2, assumeRoleCalls: 3 });
    await clients.customer(target(C));
    expect(clients.stats().assumeRoleCalls).toBe(3);
    await clients.customer(target(A));
    expect(clients.stats().assumeRoleCalls).toBe(4);
  });

  test('RECONCILE_CLIENT_CACHE_SIZE, _CREDENTIAL_CACHE_SIZE, _WORKER_CONCURRENCY: defaults, and a bad value names the variable', () => {
    expect(clientCacheSettings({})).toEqual({ clientCacheSize: 256, credentialCacheSize: 256, collectorQuotaShare: 1 });
    // 10 workers and the sweep share the collector account's 15 Lambda control-plane requests a second.
    expect(clientCacheSettings({ RECONCILE_WORKER_CONCURRENCY: '10' }).collectorQuotaShare).toBeCloseTo(1 / 11);
    expect(clientCacheSettings({ RECONCILE_CLIENT_CACHE_SIZE: '64' }).clientCacheSize).toBe(64);
    expect(() => clientCacheSettings({ RECONCILE_CLIENT_CACHE_SIZE: 'lots' })).toThrow(ConfigError);
    expect(() => clientCacheSettings({ RECONCILE_CLIENT_CACHE_SIZE: 'lots' })).toThrow('RECONCILE_CLIENT_CACHE_SIZE');
    expect(() => clientCacheSettings({ RECONCILE_CREDENTIAL_CACHE_SIZE: '0' })).toThrow(
      'RECONCILE_CREDENTIAL_CACHE_SIZE must be between 1 and 100000, got 0',
    );
  });
});
