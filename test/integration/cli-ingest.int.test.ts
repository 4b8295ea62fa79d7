import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { writeFile, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { runCli } from '../../testkit/cli';
import { ingestWorld, receiveAll, TABLE, type IngestWorld } from '../../testkit/ingest-env';

const TENANT = '111122223333';

describe('command-line tool against the emulator', () => {
  let world: IngestWorld;
  let env: Record<string, string>;

  beforeEach(async () => {
    world = await ingestWorld([{ accountId: TENANT }]);
    env = {
      ACCOUNTS_TABLE: TABLE,
      DOWNSTREAM_URL: world.receiver.url,
      DOWNSTREAM_TOKEN: 'test-token',
      COLLECTOR_ACCOUNT_ID: '123456789012',
    };
  });
  afterEach(async () => world.stop());

  test('accounts add | list | remove, with a generated ExternalId and the customer deploy command', async () => {
    const added = await runCli(['accounts', 'add', '--account-id', '444455556666', '--mode', 'report', '--json'], env);
    expect(added.code).toBe(0);
    const output = JSON.parse(added.stdout);
    expect(output.account).toMatchObject({ accountId: '444455556666', mode: 'report', status: 'new' });
    expect(output.account.externalId).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(output.customerDeployCommand).toContain(`ExternalId=${output.account.externalId}`);
    expect(output.customerDeployCommand).toContain('CollectorAccountId=123456789012');
    expect(output.customerDeployCommand).toContain('Mode=report');
    expect((await world.registry.get('444455556666'))?.externalId).toBe(output.account.externalId);

    const again = await runCli(['accounts', 'add', '--account-id', '444455556666'], env);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('account 444455556666 is already registered');

    const list = await runCli(['accounts', 'list'], env);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/444455556666\s+report\s+new/);
    expect(list.stdout).toMatch(new RegExp(`${TENANT}\\s+apply`));

    expect((await runCli(['accounts', 'remove', '--account-id', '444455556666'], env)).code).toBe(0);
    expect(await world.registry.get('444455556666')).toBeUndefined();
    expect((await runCli(['accounts', 'remove', '--account-id', '444455556666'], env)).code).toBe(1);
  });

  test('a log-archive account gets the log-archive template and its bucket parameter', async () => {
    const added = await runCli(
      [
        'accounts',
        'add',
        '--account-id',
        '999988887777',
        '--log-archive-for',
        '111122223333,o-a1b2c3d4e5',
        '--log-archive-bucket',
        'acme-org-trail-logs',
        '--json',
      ],
      env,
    );
    expect(added.code).toBe(0);
    const output = JSON.parse(added.stdout);
    expect(output.account.logArchiveFor).toEqual(['111122223333', 'o-a1b2c3d4e5']);
    expect(output.customerDeployCommand).toContain('--template-file templates/log-archive-role.template.json');
    expect(output.customerDeployCommand).toContain('LogArchiveBucketName=acme-org-trail-logs');
    const alone = await runCli(
      ['accounts', 'add', '--account-id', '999988887776', '--log-archive-for', '111122223333'],
      env,
    );
    expect(alone.code).toBe(2);
    expect(alone.stderr).toContain('--log-archive-for and --log-archive-bucket go together');
  });

  test('usage and configuration errors exit 2 with the reason', async () => {
    const bad = await runCli(['accounts', 'add', '--account-id', '12'], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--account-id must be 12 digits');
    const missing = await runCli(['accounts', 'list'], { ...env, ACCOUNTS_TABLE: '' });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('ACCOUNTS_TABLE is required');
    expect((await runCli(['no-such-command'], env)).code).toBe(2);
    const notEvent = path.join(await mkdtemp(path.join(tmpdir(), 'ctc-')), 'event.json');
    await writeFile(notEvent, '{"Records": "nope"}');
    const badEvent = await runCli(['invoke', 'ingest', '--event', notEvent], env);
    expect(badEvent.code).toBe(2);
    expect(badEvent.stderr).toContain('has no "Records" array');
  });

  test('invoke ingest prints the handler result; the poison message is listed', async () => {
    const { clients, chain } = world.tenants.get(TENANT)!;
    const file = await world.logFile(TENANT, 7, 25, { time: new Date() });
    await world.send(TENANT, JSON.stringify({ s3Bucket: chain.bucket, s3ObjectKey: [file.key] }));
    await world.send(TENANT, 'garbage');
    const records = await receiveAll(clients.sqs, chain.queueUrl, chain.queueArn, 2);
    const poison = records.find((record) => record.body === 'garbage')!;
    const eventFile = path.join(await mkdtemp(path.join(tmpdir(), 'ctc-')), 'event.json');
    await writeFile(eventFile, JSON.stringify({ Records: records }));

    const result = await runCli(['invoke', 'ingest', '--event', eventFile], env);
    expect(JSON.parse(result.stdout)).toEqual({ batchItemFailures: [{ itemIdentifier: poison.messageId }] });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('message rejected as poison');
    expect(world.receiver.uniqueRecords).toBe(25);
  });

  test('ingest --queue-url deletes what was delivered and leaves failures for redelivery', async () => {
    const { clients, chain } = world.tenants.get(TENANT)!;
    const expected: string[] = [];
    for (let seed = 1; seed <= 14; seed += 1) {
      const file = await world.logFile(TENANT, seed, 10 + seed, { time: new Date() });
      expected.push(...file.eventIds);
      await world.send(TENANT, JSON.stringify({ s3Bucket: chain.bucket, s3ObjectKey: [file.key] }));
    }
    await world.send(TENANT, '{"not":"a notification"}');

    const result = await runCli(['ingest', '--queue-url', chain.queueUrl, '--until-empty', '--wait-seconds', '0'], env);
    const totals = JSON.parse(result.stdout);
    expect(totals).toMatchObject({ received: 15, deleted: 14, failed: 1 });
    expect(totals.batches).toBeGreaterThanOrEqual(2);
    expect(result.code).toBe(1);
    expect([...world.receiver.eventIds.keys()].sort()).toEqual(expected.sort());
    // The poison message is still in the queue (in flight until its visibility timeout ends), not deleted.
    const attributes = await clients.sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: chain.queueUrl,
        AttributeNames: ['ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    expect(attributes.Attributes?.ApproximateNumberOfMessagesNotVisible).toBe('1');
  });
});
