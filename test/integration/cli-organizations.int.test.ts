/**
 * `organizations add|sync|list|show|remove` through the command-line tool, against an organization in the
 * emulator (testkit/organization.ts): a management account, members, a log archive with the organization trail's
 * bucket. The tool reaches the organization as AWS would have it: the caller's keys -> the reconcile role -> the
 * management account's organization role.
 *
 * What moto cannot show, and AWS does: AssumeRole succeeds for any role ARN (existing or not) with any ExternalId,
 * and no trust or permission policy is evaluated, so "the organization role is not deployed yet" and "the operator
 * is not allowed to become the reconcile role" cannot happen here; unit tests and the template tests cover those
 * rules instead. moto's accounts are ACTIVE at once (no PENDING_ACTIVATION), and CloseAccount makes one SUSPENDED.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { awsClients } from '../../lambdas/shared/aws-clients';
import { OrganizationsRegistry, organizationKey } from '../../lambdas/shared/organization-registry';
import { AccountsRegistry, type AccountRecord } from '../../lambdas/shared/registry';
import { runCli } from '../../testkit/cli';
import { createRegistryTable } from '../../testkit/demo-chain';
import { createOrganizationWorld } from '../../testkit/organization';
import { COLLECTOR_ACCOUNT, REGION, useEmulator } from '../../testkit/test-emulator';

const TABLE = 'organizations-cli';
const EXTERNAL_ID = 'org-shared-secret-1';

let env: Record<string, string>;
let registry: AccountsRegistry;
let organizations: OrganizationsRegistry;

beforeEach(async () => {
  const endpoint = await useEmulator();
  await createRegistryTable(new DynamoDBClient({ region: REGION, endpoint }), TABLE);
  registry = new AccountsRegistry(awsClients.dynamoDocument({ region: REGION }), TABLE);
  organizations = new OrganizationsRegistry(registry.db, TABLE);
  env = { ACCOUNTS_TABLE: TABLE, COLLECTOR_ACCOUNT_ID: COLLECTOR_ACCOUNT, TEMPLATE_BUCKET_URL: '' };
});

/** The exit code, and the tool's own error line if it wrote one (stderr also carries Node's warnings). */
function failure(result: { code: number | null; stderr: string }): { code: number | null; error?: string } {
  const error = result.stderr.split('\n').find((line) => line.startsWith('cloudtrail-collector:'));
  return { code: result.code, ...(error ? { error } : {}) };
}

const add = (world: { managementAccountId: string; logArchiveAccountId: string }, ...extra: string[]) =>
  runCli(
    [
      'organizations',
      'add',
      '--management-account-id',
      world.managementAccountId,
      '--log-archive-account-id',
      world.logArchiveAccountId,
      '--external-id',
      EXTERNAL_ID,
      ...extra,
    ],
    env,
  );

test('organizations add registers every ACTIVE account and the log archive, linked to the organization and its trail', async () => {
  const world = await createOrganizationWorld({ region: REGION, members: 3, s3KeyPrefix: 'central' });
  // One member was registered on its own before: it is linked, keeping its ExternalId and mode.
  const [standalone, ...others] = world.memberAccountIds;
  expect(
    (
      await runCli(
        ['accounts', 'add', '--account-id', standalone!, '--external-id', 'its-own-1', '--mode', 'report'],
        env,
      )
    ).code,
  ).toBe(0);

  const added = await add(world, '--mode', 'report', '--json');
  expect(failure(added)).toEqual({ code: 0 });
  const output = JSON.parse(added.stdout) as { organization: Record<string, unknown>; steps: { commands: string[] }[] };
  expect(output.organization).toMatchObject({
    organizationId: world.organizationId,
    managementAccountId: world.managementAccountId,
    logArchiveAccountId: world.logArchiveAccountId,
    externalId: EXTERNAL_ID,
    mode: 'report',
    rootIds: [world.rootId],
    trail: {
      trailArn: world.trailArn,
      bucketName: world.bucket,
      s3KeyPrefix: 'central',
      isLogging: true,
      controlTower: false,
    },
    excludedAccountIds: [],
  });
  const active = [world.managementAccountId, world.logArchiveAccountId, ...world.memberAccountIds].sort();
  expect(output.organization.memberAccountIds).toEqual(active);

  const accounts = new Map((await registry.list()).map((account) => [account.accountId, account]));
  expect([...accounts.keys()].sort()).toEqual(active);
  for (const id of [world.managementAccountId, ...others]) {
    expect(accounts.get(id)).toMatchObject({
      externalId: EXTERNAL_ID,
      mode: 'report',
      status: 'new',
      organizationId: world.organizationId,
      organizationMembership: 'active',
      registeredBy: 'organization',
      logArchiveFor: [],
    });
  }
  expect(accounts.get(world.logArchiveAccountId)).toMatchObject({
    logArchiveFor: [world.organizationId],
    logArchiveBucket: world.bucket,
    organizationId: world.organizationId,
  });
  expect(accounts.get(standalone!)).toMatchObject({
    externalId: 'its-own-1',
    mode: 'report',
    organizationId: world.organizationId,
  });
  expect(accounts.get(standalone!)?.registeredBy).toBeUndefined();

  // The StackSet commands target the root and leave out the log archive (it deploys the log-archive role) and the
  // linked member (it keeps its own stack, whose role name a StackSet instance would collide with).
  const commands = output.steps.flatMap((step) => step.commands).join('\n');
  const excluded = [world.logArchiveAccountId, standalone!].sort().join(',');
  expect(commands).toContain(
    `--deployment-targets OrganizationalUnitIds=${world.rootId},Accounts=${excluded},AccountFilterType=DIFFERENCE`,
  );
  expect(commands).toContain(`ParameterKey=ExternalId,ParameterValue=${EXTERNAL_ID}`);
  expect(commands).toContain(`LogArchiveBucketName=${world.bucket}`);

  // The organization item is in the same table, and never an account: not in accounts list, status or list().
  expect(await organizations.get(world.organizationId)).toMatchObject({
    accountId: organizationKey(world.organizationId),
    itemType: 'organization',
  });
  expect(await registry.get(organizationKey(world.organizationId))).toBeUndefined();
  const list = await runCli(['accounts', 'list'], env);
  expect(list.stdout).not.toContain('organization:');
  expect(list.stdout).toMatch(
    new RegExp(`${world.managementAccountId}\\s+report\\s+new\\s+-\\s+${world.organizationId}\\s`),
  );
  const status = await runCli(['status', '--json'], env);
  expect((JSON.parse(status.stdout) as unknown[]).length).toBe(active.length);
  const orgList = await runCli(['organizations', 'list'], env);
  expect(orgList.stdout).toMatch(
    new RegExp(
      `${world.organizationId}\\s+${world.managementAccountId}\\s+${world.logArchiveAccountId}\\s+report\\s+5\\s+org-trail\\s`,
    ),
  );

  // A second add of the same management account is refused: sync is the way.
  const again = await add(world);
  expect(again.code).toBe(2);
  expect(again.stderr).toContain(
    `--management-account-id ${world.managementAccountId} is already registered as ${world.organizationId}: organizations sync picks up its changes`,
  );
});

test('organizations sync: joined accounts registered, closed and removed ones marked left (kept), the operator removals kept out', async () => {
  const world = await createOrganizationWorld({ region: REGION, members: 3 });
  expect((await add(world)).code).toBe(0);
  const [closed, removed, stays] = world.memberAccountIds as [string, string, string];
  const joined = await world.addAccount('joined');
  await world.closeAccount(closed);
  await world.removeAccount(removed);
  // The operator unregisters one member: sync must not bring it back.
  const unregistered = await runCli(['accounts', 'remove', '--account-id', stays], env);
  expect(unregistered.stdout).toContain(
    `It is excluded from ${world.organizationId}: organizations sync leaves it out`,
  );

  const synced = await runCli(['organizations', 'sync'], env);
  expect(failure(synced)).toEqual({ code: 0 });
  expect(synced.stdout).toContain(`registered:  ${joined}`);
  expect(synced.stdout).toContain(`left:        ${closed} (SUSPENDED), ${removed} (not listed)`);
  expect(synced.stdout).toContain(`excluded:    ${stays} (removed by the operator)`);
  const byId = async (id: string) => (await registry.get(id)) as AccountRecord;
  expect(await byId(joined)).toMatchObject({
    organizationId: world.organizationId,
    organizationMembership: 'active',
    externalId: EXTERNAL_ID,
  });
  expect(await byId(closed)).toMatchObject({
    organizationMembership: 'left',
    organizationLeftReason: 'SUSPENDED',
    organizationLeftAt: expect.any(String),
  });
  expect(await byId(removed)).toMatchObject({ organizationMembership: 'left', organizationLeftReason: 'not listed' });
  expect(await registry.get(stays)).toBeUndefined();

  // A second sync changes nothing; --include brings the removed account back.
  const quiet = await runCli(['organizations', 'sync', '--organization-id', world.organizationId, '--json'], env);
  expect(
    (JSON.parse(quiet.stdout) as { membership: { registered: string[]; left: unknown[] } }[])[0]!.membership,
  ).toMatchObject({ registered: [], left: [] });
  const back = await runCli(
    ['organizations', 'sync', '--organization-id', world.organizationId, '--include', stays],
    env,
  );
  expect(back.stdout).toContain(`registered:  ${stays}`);
  expect((await organizations.get(world.organizationId))?.excludedAccountIds).toEqual([]);

  // Rotating the organization's ExternalId and mode reaches every member that uses the organization's.
  const rotated = await runCli(
    [
      'organizations',
      'sync',
      '--organization-id',
      world.organizationId,
      '--external-id',
      'org-rotated-2',
      '--mode',
      'report',
    ],
    env,
  );
  expect(rotated.code).toBe(0);
  expect(rotated.stdout).toContain('aws cloudformation update-stack-set');
  expect(rotated.stdout).toContain('ParameterKey=ExternalId,ParameterValue=org-rotated-2');
  for (const id of [world.managementAccountId, world.logArchiveAccountId, joined, stays]) {
    expect(await byId(id)).toMatchObject({ externalId: 'org-rotated-2', mode: 'report' });
  }
  const show = await runCli(['organizations', 'show', '--organization-id', world.organizationId], env);
  expect(show.stdout).toMatch(new RegExp(`${closed}\\s+member\\s+left \\S+ \\(SUSPENDED\\)`));
  expect(show.stdout).toContain('aws cloudformation create-stack-set');

  // Bad input names the flag and the value.
  const wrong = await runCli(['organizations', 'sync', '--organization-id', 'org-1'], env);
  expect(failure(wrong)).toEqual({
    code: 2,
    error:
      'cloudtrail-collector: --organization-id must be an organization id (o- and 10-32 letters or digits), got "org-1"',
  });
  const together = await runCli(['organizations', 'sync', '--mode', 'apply'], env);
  expect(together.stderr).toContain(
    '--external-id, --mode and --include change one organization: give --organization-id',
  );
});

test('Control Tower: its trail, bucket and Audit-account topic are recognised and stored', async () => {
  const world = await createOrganizationWorld({ region: REGION, members: 1, controlTower: true });
  const added = await add(world, '--json');
  expect(added.code).toBe(0);
  const { organization } = JSON.parse(added.stdout) as { organization: { trail: Record<string, unknown> } };
  expect(organization.trail).toMatchObject({
    name: 'aws-controltower-BaselineCloudTrail',
    bucketName: `aws-controltower-logs-${world.logArchiveAccountId}-${REGION}`,
    snsTopicArn: world.topicArn,
    controlTower: true,
  });
  // In AWS the topic is in the Audit account; moto keeps a trail's topic in the trail's account (testkit).
  expect(world.topicArn).toMatch(/:aws-controltower-AllConfigNotifications$/);
});

test('no organization trail: a clear error, and nothing registered; bad flags name themselves', async () => {
  const world = await createOrganizationWorld({ region: REGION, members: 1, withoutOrganizationTrail: true });
  const added = await add(world);
  expect(added.code).toBe(1);
  expect(added.stderr).toContain('no organization trail found');
  expect(added.stderr).toContain('register the accounts one by one (accounts add, accounts import)');
  expect(await registry.list()).toEqual([]);
  expect(await organizations.list()).toEqual([]);

  const notArchive = await add({ ...world, logArchiveAccountId: '777788889999' });
  expect(notArchive.stderr).toContain(
    `--log-archive-account-id 777788889999 is not an account of ${world.organizationId}`,
  );
  const badId = await add({ ...world, managementAccountId: '12345' });
  expect(failure(badId)).toEqual({
    code: 2,
    error: 'cloudtrail-collector: --management-account-id must be 12 digits, got "12345"',
  });
  const badBucket = await add(world, '--log-archive-bucket', 'Not_A_Bucket');
  expect(badBucket.stderr).toContain('--log-archive-bucket is not a valid S3 bucket name: "Not_A_Bucket"');
});

test('organizations remove: the accounts it registered go, the ones registered on their own stay, unlinked', async () => {
  const world = await createOrganizationWorld({ region: REGION, members: 2 });
  const [standalone] = world.memberAccountIds as [string, string];
  await runCli(['accounts', 'add', '--account-id', standalone, '--external-id', 'its-own-1'], env);
  expect((await add(world)).code).toBe(0);
  const removed = await runCli(['organizations', 'remove', '--organization-id', world.organizationId], env);
  expect(removed.code).toBe(0);
  // The management account, the log archive and the member the organization registered.
  expect(removed.stdout).toContain(`3 account(s) unregistered`);
  expect(removed.stdout).toContain(`1 kept as registered on their own (${standalone})`);
  const left = await registry.list();
  expect(left.map((a) => a.accountId)).toEqual([standalone]);
  expect(left[0]!.organizationId).toBeUndefined();
  expect(left[0]!.externalId).toBe('its-own-1');
  expect(await organizations.get(world.organizationId)).toBeUndefined();
  const unknown = await runCli(['organizations', 'show', '--organization-id', world.organizationId], env);
  expect(unknown.code).toBe(2);
  expect(unknown.stderr).toContain(`organization ${world.organizationId} is not registered`);
});
