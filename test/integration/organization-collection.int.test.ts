/**
 * Issue 12, must show 1: collecting an organization's log files from the central bucket of its log archive.
 * An organization (management account, three members, a log archive holding the organization trail's bucket) is
 * registered with `organizations add`; `apply` on the log archive merges one queue configuration into the bucket's
 * notification configuration (the customer's own configuration is kept) and lets S3 send to the archive's queue;
 * the test writes log files as the organization trail would, under `<prefix>/AWSLogs/o-<id>/<member>/CloudTrail/`;
 * S3 announces them on the archive's queue, and `ingest --queue-url ... --until-empty` delivers every member's
 * records exactly once.
 *
 * Where moto differs from AWS (AWS wins; the test says so):
 * - moto shows an organization trail only to the management account: a member's DescribeTrails lists nothing, so
 *   in the first test (through the CLI, which cannot wrap the clients) the archive learns the trail's prefix from
 *   the registered organization (in AWS its own DescribeTrails shows the trail), and only the log archive is
 *   reconciled: a member in moto looks like an account without any trail, and its own reconcile would plan
 *   outcomes-trail. The second test runs `apply` on EVERY registered account (management, members, archive) in
 *   process, with the organization trail injected into the members' and the archive's DescribeTrails answers, as
 *   AWS shows it to them (a shadow trail: testkit/organization-trail-view.ts, also used by
 *   organization-retirement.int.test.ts), and checks that no trail is created in any account and that a log file
 *   of an account outside the organization, written under the archive prefix, is rejected by ingest.
 *   The hub topology's archive path: organization-collection-hub.int.test.ts.
 * - moto sends its S3 notifications without evaluating the queue policy; the policy statement is checked here.
 */
import type { Trail } from '@aws-sdk/client-cloudtrail';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  GetBucketNotificationConfigurationCommand,
  PutBucketNotificationConfigurationCommand,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { CreateQueueCommand, GetQueueAttributesCommand, GetQueueUrlCommand } from '@aws-sdk/client-sqs';
import { processSqsBatch } from '../../lambdas/ingest/source/sqs-batch';
import type { ReconcileReport } from '../../lambdas/reconcile/types';
import { runCli } from '../../testkit/cli';
import { createRegistryTable, putLogFile } from '../../testkit/demo-chain';
import { DownstreamReceiver } from '../../testkit/downstream-receiver';
import { receiveAll } from '../../testkit/ingest-env';
import {
  createOrganizationWorld,
  organizationAccountClients,
  ownTrailArns,
  registerOrganizationAccounts,
  type OrganizationWorld,
} from '../../testkit/organization';
import { organizationTrailOf, withOrganizationTrail } from '../../testkit/organization-trail-view';
import { reconcileWorld, reconcileWorldIngestDeps } from '../../testkit/reconcile-env';
import { COLLECTOR_ACCOUNT, REGION, useEmulator } from '../../testkit/test-emulator';

const TABLE = 'organization-collection';
const PREFIX = 'central';
const OUTSIDER = '777788889999';

let receiver: DownstreamReceiver;
let env: Record<string, string>;

beforeEach(async () => {
  const endpoint = await useEmulator();
  await createRegistryTable(new DynamoDBClient({ region: REGION, endpoint }), TABLE);
  receiver = new DownstreamReceiver({ token: 'org-token', keepLines: true });
  await receiver.start();
  env = {
    ACCOUNTS_TABLE: TABLE,
    COLLECTOR_ACCOUNT_ID: COLLECTOR_ACCOUNT,
    TEMPLATE_BUCKET_URL: '',
    DOWNSTREAM_URL: receiver.url,
    DOWNSTREAM_TOKEN: 'org-token',
  };
});
afterEach(async () => receiver.stop());

const clientsIn = (world: OrganizationWorld, accountId: string) => organizationAccountClients(world, accountId, REGION);

test('organizations add, then apply on the log archive: every member is collected from the central bucket, once', async () => {
  const world = await createOrganizationWorld({ region: REGION, members: 3, s3KeyPrefix: PREFIX });
  const archive = await clientsIn(world, world.logArchiveAccountId);

  // The customer's own, unrelated notification configuration on the central bucket: it must survive.
  const exportsQueue = await archive.sqs.send(new CreateQueueCommand({ QueueName: 'acme-exports' }));
  const exportsArn = (
    await archive.sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: exportsQueue.QueueUrl, AttributeNames: ['QueueArn'] }),
    )
  ).Attributes!.QueueArn!;
  await archive.s3.send(
    new PutBucketNotificationConfigurationCommand({
      Bucket: world.bucket,
      NotificationConfiguration: {
        QueueConfigurations: [
          {
            Id: 'acme-exports',
            QueueArn: exportsArn,
            Events: ['s3:ObjectCreated:*'],
            Filter: { Key: { FilterRules: [{ Name: 'prefix', Value: 'exports/' }] } },
          },
        ],
      },
    }),
  );

  const added = await runCli(
    [
      'organizations',
      'add',
      '--management-account-id',
      world.managementAccountId,
      '--log-archive-account-id',
      world.logArchiveAccountId,
      '--external-id',
      'org-collection-secret',
      '--mode',
      'apply',
    ],
    env,
  );
  expect(added.code).toBe(0);

  const plan = JSON.parse(
    (await runCli(['plan', '--account-id', world.logArchiveAccountId, '--json'], env)).stdout,
  ) as ReconcileReport;
  const planned = plan.accounts[0]!;
  expect(planned.findings.map((f) => f.code)).toEqual(
    expect.arrayContaining(['QUEUE_MISSING', 'ARCHIVE_NOTIFICATIONS_MISSING']),
  );
  expect(planned.actions.map((a) => a.code)).not.toContain('CREATE_TRAIL');

  const apply = await runCli(['apply', '--account-id', world.logArchiveAccountId, '--json'], env);
  const applied = (JSON.parse(apply.stdout) as ReconcileReport).accounts[0]!;
  expect(applied.actions.map((a) => [a.code, a.status])).toEqual([
    ['CREATE_QUEUE', 'applied'],
    ['CREATE_QUEUE', 'applied'],
    ['PUT_BUCKET_NOTIFICATION', 'applied'],
  ]);
  expect(applied.status).toBe('repaired');

  // The bucket now has both: the customer's configuration untouched, and the collector's one queue configuration.
  const notification = await archive.s3.send(new GetBucketNotificationConfigurationCommand({ Bucket: world.bucket }));
  const queueUrl = (await archive.sqs.send(new GetQueueUrlCommand({ QueueName: 'outcomesqueue' }))).QueueUrl!;
  const queueArn = `arn:aws:sqs:${REGION}:${world.logArchiveAccountId}:outcomesqueue`;
  const byId = new Map((notification.QueueConfigurations ?? []).map((c) => [c.Id, c]));
  expect(byId.get('acme-exports')).toMatchObject({ QueueArn: exportsArn, Events: ['s3:ObjectCreated:*'] });
  expect(byId.get('cloudtrail-collector-archive')).toMatchObject({
    QueueArn: queueArn,
    Events: ['s3:ObjectCreated:*'],
  });
  const rules = byId.get('cloudtrail-collector-archive')!.Filter!.Key!.FilterRules!;
  expect(rules.map((r) => [r.Name!.toLowerCase(), r.Value])).toEqual([
    ['prefix', `${PREFIX}/AWSLogs/`],
    ['suffix', '.json.gz'],
  ]);
  // S3 may send to the archive's queue only from this bucket and its owner (moto does not evaluate it; AWS does).
  const policy = JSON.parse(
    (await archive.sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['Policy'] })))
      .Attributes!.Policy!,
  ) as { Statement: { Sid: string; Principal: unknown; Condition: unknown }[] };
  expect(policy.Statement.find((s) => s.Sid === 'CloudTrailCollectorArchiveS3Send')).toMatchObject({
    Principal: { Service: 's3.amazonaws.com' },
    Condition: {
      ArnEquals: { 'aws:SourceArn': `arn:aws:s3:::${world.bucket}` },
      StringEquals: { 'aws:SourceAccount': world.logArchiveAccountId },
    },
  });

  // A second apply finds nothing to do.
  const again = (
    JSON.parse(
      (await runCli(['apply', '--account-id', world.logArchiveAccountId, '--json'], env)).stdout,
    ) as ReconcileReport
  ).accounts[0]!;
  expect(again.actions).toEqual([]);
  expect(again.findings.map((f) => f.code)).not.toContain('ARCHIVE_NOTIFICATIONS_MISSING');

  // The organization trail writes every member's log files into the central bucket (the test writes, as it would).
  const expected = new Map<string, string[]>();
  const now = new Date();
  for (const [index, member] of world.memberAccountIds.entries()) {
    const file = await putLogFile(archive.s3, {
      bucket: world.bucket,
      accountId: member,
      region: REGION,
      seed: 100 + index,
      records: 5 + index,
      time: now,
      prefix: PREFIX,
      orgId: world.organizationId,
    });
    expected.set(member, file.eventIds);
  }
  // Not a log file: the collector's filter leaves it to the customer's configuration.
  await archive.s3.send(new PutObjectCommand({ Bucket: world.bucket, Key: 'exports/report.csv', Body: 'a,b\n' }));

  const ingest = await runCli(['ingest', '--queue-url', queueUrl, '--until-empty', '--wait-seconds', '0'], env);
  expect(ingest.code).toBe(0);
  const totals = JSON.parse(ingest.stdout) as { deleted: number; failed: number };
  expect(totals.failed).toBe(0);

  // Every member's records, exactly once, tagged with their member account.
  const all = [...expected.values()].flat();
  expect([...receiver.eventIds.keys()].sort()).toEqual([...all].sort());
  expect([...receiver.eventIds.values()].every((count) => count === 1)).toBe(true);
  for (const [member, ids] of expected) {
    // Records are forwarded as CloudTrail wrote them: each names its member account.
    const delivered = receiver.batches
      .flatMap((batch) => (batch.lines ?? []).map((line) => JSON.parse(line) as Record<string, string>))
      .filter((record) => ids.includes(record.eventID!));
    expect(delivered.map((record) => record.recipientAccountId)).toEqual(ids.map(() => member));
  }

  // The customer's configuration still announced its own object to its own queue.
  const exportsDepth = await archive.sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: exportsQueue.QueueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }),
  );
  expect(Number(exportsDepth.Attributes!.ApproximateNumberOfMessages)).toBeGreaterThanOrEqual(1);

  // No trail was created in any account: the management account still has only the organization trail.
  for (const accountId of [world.managementAccountId, world.logArchiveAccountId, ...world.memberAccountIds]) {
    expect(await ownTrailArns(world, accountId, REGION)).toEqual(
      accountId === world.managementAccountId ? [world.trailArn] : [],
    );
  }
});

test('apply on every registered account: no trail anywhere; the members collected, an outsider rejected', async () => {
  const seeing = new Set<string>();
  const shown: { trail?: Trail } = {};
  const world = await reconcileWorld([], {
    // The members and the archive see the organization trail in DescribeTrails, as in AWS (see the header).
    clients: withOrganizationTrail({ accounts: () => seeing, trail: () => shown.trail }),
  });
  const org = await createOrganizationWorld({ region: REGION, members: 2, s3KeyPrefix: PREFIX });
  shown.trail = await organizationTrailOf(org, REGION);
  for (const account of [...org.memberAccountIds, org.logArchiveAccountId]) seeing.add(account);
  await registerOrganizationAccounts(world.registry, org);
  const accounts = [org.managementAccountId, ...org.memberAccountIds, org.logArchiveAccountId];

  const report = await world.run('apply');
  expect(report.accounts.map((a) => a.accountId).sort()).toEqual([...accounts].sort());
  expect(world.account(report, org.logArchiveAccountId).actions.map((a) => [a.code, a.status])).toEqual([
    ['CREATE_QUEUE', 'applied'],
    ['CREATE_QUEUE', 'applied'],
    ['PUT_BUCKET_NOTIFICATION', 'applied'],
  ]);
  // The management account and the members are collected from the archive: no trail, no chain, no high finding
  // (the management account records its organization trail, REUSE_TRAIL, which calls nothing).
  for (const accountId of [org.managementAccountId, ...org.memberAccountIds]) {
    const account = world.account(report, accountId);
    expect([accountId, account.findings.map((f) => f.code)]).toEqual([
      accountId,
      expect.arrayContaining(['COLLECTED_BY_LOG_ARCHIVE']),
    ]);
    expect([accountId, account.findings.filter((f) => f.severity === 'high')]).toEqual([accountId, []]);
    expect([accountId, account.actions.filter((a) => a.code !== 'REUSE_TRAIL')]).toEqual([accountId, []]);
  }
  for (const accountId of accounts) {
    expect([accountId, await ownTrailArns(org, accountId, REGION)]).toEqual([
      accountId,
      accountId === org.managementAccountId ? [org.trailArn] : [],
    ]);
  }

  // The members' files and an outsider's, under the archive prefix; S3 announces each on the archive's queue.
  const archive = await clientsIn(org, org.logArchiveAccountId);
  const now = new Date();
  const write = async (accountId: string, index: number) => {
    const file = await putLogFile(archive.s3, {
      bucket: org.bucket,
      accountId,
      region: REGION,
      seed: 500 + index,
      records: 3 + index,
      time: now,
      prefix: PREFIX,
      orgId: org.organizationId,
    });
    return file.eventIds;
  };
  const expected: string[] = [];
  for (const [index, member] of org.memberAccountIds.entries()) expected.push(...(await write(member, index)));
  const outsiderIds = await write(OUTSIDER, 7);

  const queueUrl = (await archive.sqs.send(new GetQueueUrlCommand({ QueueName: 'outcomesqueue' }))).QueueUrl!;
  const queueArn = `arn:aws:sqs:${REGION}:${org.logArchiveAccountId}:outcomesqueue`;
  // S3's s3:TestEvent (sent when the configuration was written) may be there too: ingest acknowledges it.
  const records = (await receiveAll(archive.sqs, queueUrl, queueArn)).filter(
    (record) => !record.body.includes('s3:TestEvent'),
  );
  expect(records).toHaveLength(3);
  const deps = await reconcileWorldIngestDeps(receiver, 'org-token');
  const result = await processSqsBatch(records, deps, Date.now() + 60_000);
  // The outsider's message is poison (a customer queue: its redrive policy moves it to outcomesqueue-dlq).
  expect([...result.outcomes.values()].filter((o) => o.status !== 'forwarded')).toEqual([
    expect.objectContaining({
      status: 'failed',
      poison: true,
      error: expect.stringContaining(`account ${OUTSIDER} is not registered`),
    }),
  ]);
  expect([...receiver.eventIds.keys()].sort()).toEqual([...expected].sort());
  expect([...receiver.eventIds.values()].every((count) => count === 1)).toBe(true);
  expect(outsiderIds.some((id) => receiver.eventIds.has(id))).toBe(false);
});
