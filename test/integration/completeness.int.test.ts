/**
 * Issue 15, must show 1, against the emulator, through the command-line tool as an operator runs it: the chain
 * built; three files collected normally; the subscription removed and two more files delivered whose notifications
 * reach nobody; `apply` repairs the subscription and backfills the gap; `ingest --queue-url ... --until-empty`
 * delivers the two missed files; the downstream has every record of the five files exactly once; and `verify
 * --json` over CloudTrail's signed digest of the hour reports five collected and nothing missing.
 *
 * moto delivers no trail and writes no digest: the test writes the log files and the digest as CloudTrail would
 * (testkit/demo-chain.ts, testkit/digest.ts). moto does not implement ListPublicKeys either, so `verify` runs in
 * process with a CloudTrail client that answers it with the test key, the way CloudTrail hands out its keys
 * (test/integration/verify.int.test.ts); every other call goes to moto.
 */
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { ListSubscriptionsByTopicCommand, UnsubscribeCommand } from '@aws-sdk/client-sns';
import { gunzipSync } from 'node:zlib';
import { verifyCommand, verifyDepsFromEnv, type VerifyDeps } from '../../bin/commands/verify';
import { sha256Hex } from '../../lambdas/shared/digest';
import type { AccountReport } from '../../lambdas/reconcile/types';
import { runCli } from '../../testkit/cli';
import { publishCloudTrailNotification, putLogFile, type DeliveredFile } from '../../testkit/demo-chain';
import {
  DigestChainWriter,
  publicKeysClient,
  putDigest,
  testSigningKey,
  type ListedLogFile,
} from '../../testkit/digest';
import { DownstreamReceiver } from '../../testkit/downstream-receiver';
import {
  CUSTOMER,
  buildHealthyChain,
  tenantClients,
  type HealthyChain,
  type TenantClients,
} from '../../testkit/reconcile-env';
import { accountRecord, createRegistry } from '../../testkit/registry';
import { REGION, useEmulator } from '../../testkit/test-emulator';

const TABLE = 'accounts-completeness-test';
const TOKEN = 'completeness-token';

/** The top of the hour before the last one: every file of the test is delivered in it, and its digest is due. */
function pastHour(): Date {
  const hour = new Date();
  hour.setUTCMinutes(0, 0, 0);
  return new Date(hour.getTime() - 2 * 3_600_000);
}

describe('a broken subscription, its gap backfilled and proven complete by the digest (issue 15)', () => {
  const receiver = new DownstreamReceiver({ token: TOKEN });
  let env: Record<string, string>;
  let clients: TenantClients;
  let chain: HealthyChain;
  const hour = pastHour();
  const files: DeliveredFile[] = [];
  const listed: ListedLogFile[] = [];

  beforeAll(async () => {
    await useEmulator();
    await receiver.start();
    env = { ACCOUNTS_TABLE: TABLE, DOWNSTREAM_URL: receiver.url, DOWNSTREAM_TOKEN: TOKEN };
    const registry = await createRegistry(TABLE, { region: REGION });
    await registry.add(accountRecord({ accountId: CUSTOMER, mode: 'apply' }));
    clients = await tenantClients(CUSTOMER);
    chain = await buildHealthyChain(clients, CUSTOMER);
  });

  afterAll(async () => {
    await receiver.stop();
  });

  /** The CLI's JSON report of one account's reconcile run. */
  async function reconcile(mode: 'plan' | 'apply'): Promise<AccountReport> {
    // (moto answers ListPublicKeys with an HTML page: reconcile's digest step reports OBSERVE_INCOMPLETE for it.)
    const run = await runCli([mode, '--account-id', CUSTOMER, '--json'], env);
    return (JSON.parse(run.stdout) as { accounts: AccountReport[] }).accounts[0]!;
  }

  async function ingestUntilEmpty(): Promise<void> {
    const run = await runCli(['ingest', '--queue-url', chain.queueUrl, '--until-empty', '--wait-seconds', '0'], env);
    expect(run.code).toBe(0);
  }

  /** File `n` (1-5) of the hour, 10 minutes apart from minute 5, with CloudTrail's notification on the trail's topic. */
  async function deliver(n: number): Promise<void> {
    const file = await putLogFile(clients.s3, {
      bucket: chain.bucket,
      accountId: CUSTOMER,
      region: REGION,
      seed: 100 + n,
      records: 5 + n,
      time: new Date(hour.getTime() + (5 + 10 * (n - 1)) * 60_000),
    });
    files.push(file);
    const body = await clients.s3.send(new GetObjectCommand({ Bucket: chain.bucket, Key: file.key }));
    const bytes = gunzipSync(Buffer.from(await body.Body!.transformToByteArray()));
    listed.push({ bucket: chain.bucket, key: file.key, sha256: sha256Hex(bytes) });
    await publishCloudTrailNotification(clients.sns, chain.topicArn, chain.bucket, [file.key]);
  }

  /** `verify --json` over the hour, with ListPublicKeys answered by the test key. */
  async function verify(): Promise<{ code: number; json: Record<string, unknown> }> {
    const real = await verifyDepsFromEnv();
    const deps: VerifyDeps = {
      ...real,
      async clientsFor(record) {
        const inner = await real.clientsFor(record);
        return { ...inner, cloudTrail: (region) => publicKeysClient([testSigningKey()], inner.cloudTrail(region)) };
      },
    };
    const out = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      const since = hour.toISOString();
      const until = new Date(hour.getTime() + 3_600_000).toISOString();
      const code = await verifyCommand({ accountId: CUSTOMER, since, until, json: true }, deps);
      return {
        code,
        json: JSON.parse(out.mock.calls.map(([chunk]) => String(chunk)).join('')) as Record<string, unknown>,
      };
    } finally {
      out.mockRestore();
    }
  }

  test('five files: three collected, two in the gap, backfilled after the repair, all five proven', async () => {
    Object.assign(process.env, env);
    const bootstrap = await reconcile('apply');
    expect(bootstrap.actions.map((a) => [a.code, a.status])).toEqual([['REUSE_TRAIL', 'applied']]);

    for (const n of [1, 2, 3]) await deliver(n);
    await ingestUntilEmpty();
    const firstThree = files.flatMap((file) => file.eventIds);
    expect(receiver.uniqueRecords).toBe(firstThree.length);

    // The subscription is removed: CloudTrail announces files 4 and 5 to a topic nobody reads.
    const subscriptions = await clients.sns.send(new ListSubscriptionsByTopicCommand({ TopicArn: chain.topicArn }));
    for (const subscription of subscriptions.Subscriptions ?? []) {
      await clients.sns.send(new UnsubscribeCommand({ SubscriptionArn: subscription.SubscriptionArn }));
    }
    for (const n of [4, 5]) await deliver(n);
    await ingestUntilEmpty();
    expect(receiver.uniqueRecords).toBe(firstThree.length);

    // CloudTrail's digest of the hour lists all five files with the SHA-256 of their uncompressed bytes.
    const writer = new DigestChainWriter({ bucket: chain.bucket, accountId: CUSTOMER, region: REGION });
    await putDigest(clients.s3, writer.next(new Date(hour.getTime() + 3_600_000 + 90_000), listed));
    const before = await verify();
    expect(before.code).toBe(1);
    expect(before.json.logFiles).toMatchObject({
      listedInDigests: 5,
      collected: 3,
      notCollected: listed.slice(3).map(({ bucket, key }) => ({ bucket, key })),
    });

    const repaired = await reconcile('apply');
    const actions = repaired.actions.map((a) => [a.code, a.reason, a.status]);
    expect(actions).toContainEqual(['SUBSCRIBE', 'SUBSCRIPTION_MISSING', 'applied']);
    expect(actions).toContainEqual(['BACKFILL', 'SUBSCRIPTION_MISSING', 'applied']);
    await ingestUntilEmpty();

    // Every record of the five files, exactly once.
    const all = files.flatMap((file) => file.eventIds);
    expect(new Set(all).size).toBe(all.length);
    expect([...receiver.eventIds.keys()].sort()).toEqual([...all].sort());
    expect(receiver.duplicateRecords).toBe(0);

    const after = await verify();
    expect(after.json).toEqual({
      accountId: CUSTOMER,
      since: hour.toISOString(),
      until: new Date(hour.getTime() + 3_600_000).toISOString(),
      logFiles: { listedInDigests: 5, collected: 5, notCollected: [], hashMismatch: [], missingFromBucket: [] },
      digests: { read: 1, signatureValid: 1, signatureInvalid: [], chainBreaks: 0 },
    });
    expect(after.code).toBe(0);
  });
});
