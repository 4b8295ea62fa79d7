/**
 * The account lifecycle without remove and add: `accounts update` (mode and ExternalId in one command),
 * `accounts import` (a CSV file, all rows or none), the quick-create link `accounts add` prints, and the
 * registry's list() seeing accounts only when other item types share the table.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateFunctionCommand, ListEventSourceMappingsCommand } from '@aws-sdk/client-lambda';
import { ListSubscriptionsByTopicCommand } from '@aws-sdk/client-sns';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { awsClients } from '../../lambdas/shared/aws-clients';
import { AccountsRegistry, ITEM_TYPE_ATTRIBUTE } from '../../lambdas/shared/registry';
import { GENERATED_FILES } from '../../lib/names';
import { runCli } from '../../testkit/cli';
import { createRegistryTable } from '../../testkit/demo-chain';
import { AwsFaultProxy } from '../../testkit/aws-fault-proxy';
import { createHubQueues } from '../../testkit/reconcile-env';
import { COLLECTOR_ACCOUNT, REGION, useEmulator } from '../../testkit/test-emulator';

const TABLE = 'accounts-lifecycle';
const BUCKET_URL = 'https://cloudtrailcollector-templates.s3.us-east-1.amazonaws.com/';
let env: Record<string, string>;
let registry: AccountsRegistry;
let endpoint: string;

beforeEach(async () => {
  endpoint = await useEmulator();
  await createRegistryTable(new DynamoDBClient({ region: REGION, endpoint }), TABLE);
  registry = new AccountsRegistry(awsClients.dynamoDocument({ region: REGION }), TABLE);
  env = { ACCOUNTS_TABLE: TABLE, COLLECTOR_ACCOUNT_ID: COLLECTOR_ACCOUNT, TEMPLATE_BUCKET_URL: '' };
});

function failure(result: { code: number | null; stderr: string }): { code: number | null; error?: string } {
  const error = result.stderr
    .split('\n')
    .filter((line) => !line.startsWith('(node:') && line.trim() !== '')
    .find((line) => line.startsWith('cloudtrail-collector:'));
  return { code: result.code, ...(error ? { error } : {}) };
}

async function csvFile(content: string): Promise<string> {
  const file = path.join(await mkdtemp(path.join(tmpdir(), 'ctc-import-')), 'accounts.csv');
  await writeFile(file, content);
  return file;
}

test('accounts update switches mode and ExternalId in one command and prints the stack update', async () => {
  expect((await runCli(['accounts', 'add', '--account-id', '111122223333', '--mode', 'report'], env)).code).toBe(0);
  const updated = await runCli(
    ['accounts', 'update', '--account-id', '111122223333', '--mode', 'apply', '--external-id', 'rotated-secret-2'],
    env,
  );
  expect(failure(updated)).toEqual({ code: 0 });
  expect(updated.stdout).toContain('Updated account 111122223333: mode report -> apply, new ExternalId.');
  expect(updated.stdout).toContain(
    'Until the customer updates the stack with it, the collector cannot assume the role (ROLE_UNASSUMABLE).',
  );
  expect(updated.stdout).toContain('ExternalId=rotated-secret-2 Mode=apply');
  expect(await registry.get('111122223333')).toMatchObject({
    mode: 'apply',
    externalId: 'rotated-secret-2',
    status: 'new',
  });

  const json = await runCli(['accounts', 'update', '--account-id', '111122223333', '--mode', 'report', '--json'], env);
  const output = JSON.parse(json.stdout) as { changed: string[]; customerDeployCommand: string };
  expect(output.changed).toEqual(['mode']);
  expect(output.customerDeployCommand).toContain('Mode=report');

  const same = await runCli(['accounts', 'update', '--account-id', '111122223333', '--mode', 'report'], env);
  expect(same.stdout).toContain('nothing changed');

  const cases: [string[], number, string][] = [
    [['--account-id', '111122223333'], 2, 'accounts update changes --mode, --external-id or both: give at least one'],
    [['--account-id', '1111', '--mode', 'apply'], 2, '--account-id must be 12 digits, got "1111"'],
    [['--account-id', '111122223333', '--mode', 'fix'], 2, '--mode must be "apply" or "report", got "fix"'],
    [['--account-id', '111122223333', '--external-id', 'a'], 2, '--external-id must be 2-1224 characters'],
    [['--account-id', '999999999999', '--mode', 'apply'], 2, 'account 999999999999 is not registered'],
  ];
  for (const [args, code, message] of cases) {
    const result = failure(await runCli(['accounts', 'update', ...args], env));
    expect({ code: result.code, mentions: result.error?.includes(message) }).toEqual({ code, mentions: true });
  }
});

test('accounts import: every row registered, a repeat skipped, a bad row or a conflict writes nothing', async () => {
  const good = await csvFile('accountId,mode,externalId\n111122223333,report,given-secret-1\n444455556666,,\n');
  const imported = await runCli(['accounts', 'import', '--file', good, '--json'], env);
  expect(failure(imported)).toEqual({ code: 0 });
  const result = JSON.parse(imported.stdout) as {
    imported: { account: { accountId: string; externalId: string; mode: string } }[];
  };
  expect(result.imported.map((i) => [i.account.accountId, i.account.mode])).toEqual([
    ['111122223333', 'report'],
    ['444455556666', 'apply'],
  ]);
  expect(result.imported[0]!.account.externalId).toBe('given-secret-1');
  expect(result.imported[1]!.account.externalId).toMatch(/^[A-Za-z0-9_-]{43}$/);

  // The same file again: nothing to do, nothing fails.
  const again = await runCli(['accounts', 'import', '--file', good], env);
  expect(failure(again)).toEqual({ code: 0 });
  expect(again.stdout).toContain('Imported 0 account(s)');
  expect(again.stdout).toContain('2 already registered the same way, skipped (111122223333, 444455556666)');

  // A bad row anywhere: nothing of the file is written, and the line is named.
  const bad = await csvFile('accountId,mode\n777788889999,apply\n12,apply\n777788880000,fix\n');
  const refused = await runCli(['accounts', 'import', '--file', bad], env);
  expect(refused.code).toBe(2);
  expect(refused.stderr).toContain('line 3: accountId must be 12 digits, got "12"');
  expect(refused.stderr).toContain('line 4: mode must be "apply" or "report" (or empty for the default), got "fix"');
  expect(await registry.get('777788889999')).toBeUndefined();

  // An account registered differently is refused: changing it is accounts update's job.
  const conflict = await csvFile('accountId,mode\n777788889999,apply\n111122223333,apply\n');
  const conflicting = await runCli(['accounts', 'import', '--file', conflict], env);
  expect(conflicting.code).toBe(2);
  expect(conflicting.stderr).toContain(
    'line 3: account 111122223333 is already registered with mode report: change it with accounts update --account-id 111122223333',
  );
  expect(await registry.get('777788889999')).toBeUndefined();

  const missing = await runCli(['accounts', 'import', '--file', path.join(tmpdir(), 'no-such-file.csv')], env);
  expect(missing.stderr).toContain(`--file ${path.join(tmpdir(), 'no-such-file.csv')}: ENOENT`);
});

test('accounts add prints a quick-create link from TEMPLATE_BUCKET_URL or --template-url, without the ExternalId', async () => {
  const added = await runCli(['accounts', 'add', '--account-id', '111122223333', '--json'], {
    ...env,
    TEMPLATE_BUCKET_URL: BUCKET_URL,
  });
  const output = JSON.parse(added.stdout) as { account: { externalId: string }; quickCreateLink: string };
  expect(output.quickCreateLink).toContain(encodeURIComponent(`${BUCKET_URL}${GENERATED_FILES.customerTemplate}`));
  expect(output.quickCreateLink).toMatch(
    /^https:\/\/us-east-1\.console\.aws\.amazon\.com\/cloudformation\/home\?region=us-east-1#\/stacks\/create\/review\?/,
  );
  expect(output.quickCreateLink).not.toContain(output.account.externalId);

  const archive = await runCli(
    [
      'accounts',
      'add',
      '--account-id',
      '444455556666',
      '--log-archive-for',
      'o-a1b2c3d4e5',
      '--log-archive-bucket',
      'acme-org-trail',
      '--template-url',
      'https://example-bucket.s3.us-east-1.amazonaws.com/mine.json',
    ],
    env,
  );
  expect(archive.stdout).toContain('paste the ExternalId into its field');
  expect(archive.stdout).toContain('param_LogArchiveBucketName=acme-org-trail');
  expect(archive.stdout).toContain(encodeURIComponent('https://example-bucket.s3.us-east-1.amazonaws.com/mine.json'));
  // --log-archive-bucket is now stored, for the collection path.
  expect(await registry.get('444455556666')).toMatchObject({ logArchiveBucket: 'acme-org-trail' });

  const none = await runCli(['accounts', 'add', '--account-id', '777788889999'], env);
  expect(none.stdout).toContain('A console quick-create link needs the template URL');
});

test('list() and get() see accounts only: other item types in the table are skipped', async () => {
  await runCli(['accounts', 'add', '--account-id', '111122223333'], env);
  const db = awsClients.dynamoDocument({ region: REGION });
  await db.send(
    new PutCommand({
      TableName: TABLE,
      Item: { accountId: 'organization:o-a1b2c3d4e5', [ITEM_TYPE_ATTRIBUTE]: 'organization' },
    }),
  );
  await db.send(
    new PutCommand({ TableName: TABLE, Item: { accountId: '222233334444', [ITEM_TYPE_ATTRIBUTE]: 'something-else' } }),
  );
  expect((await registry.list()).map((account) => account.accountId)).toEqual(['111122223333']);
  expect(await registry.get('222233334444')).toBeUndefined();
  const list = await runCli(['accounts', 'list', '--json'], env);
  expect((JSON.parse(list.stdout) as { accountId: string }[]).map((a) => a.accountId)).toEqual(['111122223333']);
  const removed = await runCli(['accounts', 'remove', '--account-id', 'organization:o-a1b2c3d4e5'], env);
  expect(failure(removed)).toEqual({
    code: 2,
    error: 'cloudtrail-collector: --account-id must be 12 digits, got "organization:o-a1b2c3d4e5"',
  });
});

describe('accounts remove deletes what reconcile created in the collector account', () => {
  const A = '111122223333';
  const topicOf = (id: string) => `arn:aws:sns:${REGION}:${id}:outcomestopic`;
  /** The collector's subscriptions of a topic (moto lists a subscription to the account that made it). */
  const collectorSubscriptions = async (topicArn: string) =>
    (await awsClients.sns({ region: REGION }).send(new ListSubscriptionsByTopicCommand({ TopicArn: topicArn })))
      .Subscriptions ?? [];

  test('hub topology: add, apply subscribes the hub queue, remove unsubscribes it and prints what stays', async () => {
    const hubQueueArns = await createHubQueues(1);
    const hubEnv = {
      ...env,
      INGEST_TOPOLOGY: 'hub',
      HUB_QUEUE_ARNS: hubQueueArns.join(','),
      RECONCILE_ROLE_ARN: `arn:aws:iam::${COLLECTOR_ACCOUNT}:role/cloudtrail-collector-reconcile`,
    };
    expect((await runCli(['accounts', 'add', '--account-id', A], hubEnv)).code).toBe(0);
    const applied = await runCli(['apply', '--account-id', A, '--json'], hubEnv);
    expect(applied.stdout).toContain('"SUBSCRIBE"');
    expect((await collectorSubscriptions(topicOf(A))).map((s) => s.Endpoint)).toEqual(hubQueueArns);
    expect(await registry.get(A)).toMatchObject({ ingestTopology: 'hub', topicArn: topicOf(A) });

    const removed = await runCli(['accounts', 'remove', '--account-id', A], hubEnv);
    expect(failure(removed)).toEqual({ code: 0 });
    expect(removed.stdout).toContain('Deleted in the collector account:');
    expect(removed.stdout).toMatch(
      new RegExp(`hub subscription arn:aws:sns:${REGION}:${A}:outcomestopic:\\S+ \\(of ${topicOf(A)}\\)`),
    );
    // Nothing delivers from the account's topic any more, and the account is gone.
    expect(await collectorSubscriptions(topicOf(A))).toEqual([]);
    expect(await registry.get(A)).toBeUndefined();
    // What stays in the customer account, with the commands that delete it (names from lambdas/reconcile/names.ts).
    for (const command of [
      'aws cloudformation delete-stack --stack-name cloudtrail-collector-role',
      `aws cloudtrail delete-trail --name outcomes-trail --region ${REGION}`,
      `aws sns delete-topic --topic-arn ${topicOf(A)}`,
      `aws s3 rb s3://outcomes-${A} --force`,
    ]) {
      expect(removed.stdout).toContain(command);
    }
    // The hub account has no queue of its own: none is listed.
    expect(removed.stdout).not.toContain('outcomesqueue');
  });

  /**
   * The ingest function in the emulator. moto checks that the function's role exists in its IAM, and this project
   * has no IAM client, so the role is created with IAM's query API directly (moto routes by the SigV4 credential
   * scope and does not check the signature). moto keeps the code without running it.
   */
  async function ingestFunction(): Promise<string> {
    const role = `arn:aws:iam::${COLLECTOR_ACCOUNT}:role/cloudtrail-collector-ingest`;
    const body = new URLSearchParams({
      Action: 'CreateRole',
      Version: '2010-05-08',
      RoleName: 'cloudtrail-collector-ingest',
      AssumeRolePolicyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }],
      }),
    });
    const created = await fetch(endpoint, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `AWS4-HMAC-SHA256 Credential=test/20260101/${REGION}/iam/aws4_request, SignedHeaders=host, Signature=0`,
      },
      body,
    });
    expect(created.status).toBe(200);
    const fn = await awsClients.lambda({ region: REGION }).send(
      new CreateFunctionCommand({
        FunctionName: 'cloudtrail-collector-ingest',
        Runtime: 'nodejs20.x',
        Role: role,
        Handler: 'index.handler',
        Code: { ZipFile: Buffer.from('not run by the emulator') },
      }),
    );
    return fn.FunctionArn!;
  }

  test('customer-queue topology: apply creates the mapping, remove deletes it: nothing polls the queue', async () => {
    // moto maps only a queue of the caller's own account (AWS maps another account's queue its policy allows):
    // the collector account is registered as its own customer, which the collector supports like any account.
    const account = COLLECTOR_ACCOUNT;
    const functionArn = await ingestFunction();
    const esmEnv = { ...env, INGEST_FUNCTION_ARN: functionArn };
    expect((await runCli(['accounts', 'add', '--account-id', account], esmEnv)).code).toBe(0);
    const applied = await runCli(['apply', '--account-id', account, '--json'], esmEnv);
    expect(applied.stdout).toContain('"CREATE_ESM"');
    const recorded = await registry.get(account);
    expect(recorded?.eventSourceMappingUuid).toEqual(expect.any(String));
    const queueArn = recorded!.queueArn!;
    const mappings = async () =>
      (
        await awsClients
          .lambda({ region: REGION })
          .send(new ListEventSourceMappingsCommand({ EventSourceArn: queueArn }))
      ).EventSourceMappings ?? [];
    expect((await mappings()).map((m) => m.UUID)).toEqual([recorded!.eventSourceMappingUuid]);

    const removed = await runCli(['accounts', 'remove', '--account-id', account], esmEnv);
    expect(failure(removed)).toEqual({ code: 0 });
    expect(removed.stdout).toContain(
      `Deleted in the collector account:\n  event source mapping ${recorded!.eventSourceMappingUuid} (polling ${queueArn})`,
    );
    expect(removed.stdout).toContain('--queue-name outcomesqueue ');
    expect(removed.stdout).toContain('--queue-name outcomesqueue-dlq ');
    // No mapping polls the queue any more (Lambda deletes asynchronously: `Deleting` stops polling; moto at once).
    expect((await mappings()).filter((m) => m.State !== 'Deleting')).toEqual([]);
    expect(await registry.get(account)).toBeUndefined();
  });

  test('a deletion that cannot be made keeps the account registered and names what failed', async () => {
    // A recorded mapping the emulator does not know, and a Lambda endpoint that refuses every call.
    expect((await runCli(['accounts', 'add', '--account-id', A], env)).code).toBe(0);
    await registry.update(A, {
      queueArn: `arn:aws:sqs:${REGION}:${A}:outcomesqueue`,
      eventSourceMappingUuid: '0f6c2a35-1c2e-4b8f-9d1a-2b3c4d5e6f70',
    });
    const proxy = new AwsFaultProxy(endpoint, {
      policy: (request) => (request.service === 'lambda' ? { kind: 'reset' } : undefined),
    });
    const refused = await runCli(['accounts', 'remove', '--account-id', A], {
      ...env,
      INGEST_FUNCTION_ARN: `arn:aws:lambda:${REGION}:${COLLECTOR_ACCOUNT}:function:cloudtrail-collector-ingest`,
      AWS_ENDPOINT_URL: await proxy.start(),
      AWS_MAX_ATTEMPTS: '1',
    }).finally(() => proxy.stop());
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`account ${A} stays registered`);
    expect(refused.stderr).toContain(
      `could not look up the event source mappings of arn:aws:sqs:${REGION}:${A}:outcomesqueue: ListEventSourceMappings`,
    );
    expect(refused.stderr).toContain(
      `failed: event source mapping 0f6c2a35-1c2e-4b8f-9d1a-2b3c4d5e6f70 (polling arn:aws:sqs:${REGION}:${A}:outcomesqueue): DeleteEventSourceMapping`,
    );
    expect(await registry.get(A)).toBeDefined();

    // Against the emulator the recorded mapping is gone already (ResourceNotFoundException): removed.
    const removed = await runCli(['accounts', 'remove', '--account-id', A], env);
    expect(failure(removed)).toEqual({ code: 0 });
    expect(removed.stdout).toContain('event source mapping 0f6c2a35-1c2e-4b8f-9d1a-2b3c4d5e6f70');
    expect(await registry.get(A)).toBeUndefined();
  });

  test('--keep-ingest-path unregisters without deleting and says what is left', async () => {
    expect((await runCli(['accounts', 'add', '--account-id', A], env)).code).toBe(0);
    await registry.update(A, { eventSourceMappingUuid: '0f6c2a35-1c2e-4b8f-9d1a-2b3c4d5e6f70' });
    const proxy = new AwsFaultProxy(endpoint);
    const kept = await runCli(['accounts', 'remove', '--account-id', A, '--keep-ingest-path'], {
      ...env,
      AWS_ENDPOINT_URL: await proxy.start(),
    }).finally(() => proxy.stop());
    // Not one call to Lambda or SNS: the mapping is left as it is.
    expect(proxy.requests.filter((request) => request.service !== 'dynamodb')).toEqual([]);
    expect(failure(kept)).toEqual({ code: 0 });
    expect(kept.stdout).toContain('was left in the collector account (--keep-ingest-path)');
    expect(await registry.get(A)).toBeUndefined();
  });
});
