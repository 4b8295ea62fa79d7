/**
 * Issue 12, must show 2: the retirement of the collector's own outcomes-trail once an organization trail covers the
 * member, against the emulator. reconcile apply creates outcomes-trail in an empty member; the management account
 * then has an organization trail (IsOrganizationTrail, moto accepts it) delivering into the log archive's bucket;
 * the plan reports the duplicate with its monthly cost; once the ledger holds a file of the member from the
 * archive bucket, apply retires outcomes-trail and nothing else (another trail of the member stays as it was); and
 * every log file of the member, before, during and after the switch, is in the ledger and at the downstream.
 *
 * Injected (testkit/organization-trail-view.ts), and why: moto answers DescribeTrails per account, so a member
 * never sees the management account's
 * organization trail, while AWS returns it there as a shadow trail (CloudTrail API Reference, DescribeTrails,
 * IncludeShadowTrails: "in the case of an organization trail, the replication of an organization trail in member
 * accounts"). The narrowest point: the member's DescribeTrails answer (its customer clients' CloudTrail `send`)
 * gets the organization trail appended, exactly as moto's DescribeTrails in the management account returns it.
 * Every other call goes to moto unchanged: GetTrailStatus and GetEventSelectors on the organization trail's ARN
 * fail in the member with TrailNotFoundException, as AWS may answer a member (the trail is then presumed to log).
 * Files are written into the buckets by the test, as CloudTrail would; ingest (processSqsBatch, the Lambda's core)
 * reads them from the member's queue (its own chain) and from the log archive's queue (the organization path).
 */
import {
  DescribeTrailsCommand,
  type Trail,
  CreateTrailCommand,
  GetTrailStatusCommand,
} from '@aws-sdk/client-cloudtrail';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { CreateQueueCommand, GetQueueAttributesCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { awsClients } from '../../lambdas/shared/aws-clients';
import { LedgerTable, ensureLedgerTable, ledgerTableName } from '../../lambdas/shared/ledger';
import { processSqsBatch } from '../../lambdas/ingest/source/sqs-batch';
import { duplicateTrailsCost } from '../../lambdas/reconcile/costs';
import { putLogFile, type DeliveredFile } from '../../testkit/demo-chain';
import { DownstreamReceiver } from '../../testkit/downstream-receiver';
import { receiveAll } from '../../testkit/ingest-env';
import { createOrganizationWorld, type OrganizationWorld } from '../../testkit/organization';
import { withOrganizationTrail } from '../../testkit/organization-trail-view';
import { accountRecord } from '../../testkit/registry';
import {
  RECONCILE_TABLE,
  reconcileWorld,
  reconcileWorldIngestDeps,
  tenantClients,
  type ReconcileWorld,
} from '../../testkit/reconcile-env';
import { DEFAULT_COST_ASSUMPTIONS } from '../../lambdas/reconcile/costs';
import { REGION } from '../../testkit/test-emulator';

const at = (hh: number, mm: number) => new Date(Date.UTC(2026, 10, 1, hh, mm));
const DAY = '2026-11-01';

describe('an organization trail covers a member: outcomes-trail is reported, then retired, and no file is missed', () => {
  let world: ReconcileWorld;
  let org: OrganizationWorld;
  let member: string;
  let receiver: DownstreamReceiver;
  let ledger: LedgerTable;
  /** Set once the management account's organization trail exists: the member's DescribeTrails then shows it. */
  let organizationTrail: Trail | undefined;
  let clock = at(11, 0);

  beforeAll(async () => {
    world = await reconcileWorld([], {
      // The member's CloudTrail answers DescribeTrails with the organization trail appended (see the header).
      clients: withOrganizationTrail({ accounts: () => new Set([member]), trail: () => organizationTrail }),
    });
    world.deps.now = () => clock;
    org = await createOrganizationWorld({ region: REGION, members: 1 });
    member = org.memberAccountIds[0]!;
    await world.registry.add(
      accountRecord({
        accountId: member,
        mode: 'apply',
        organizationId: org.organizationId,
        organizationMembership: 'active',
      }),
    );
    // The log archive: registered for the organization, with its bucket and a queue of its own (the organization
    // path's notifications arrive there; how they are set up is the archive path's concern, not this test's).
    const archive = await tenantClients(org.logArchiveAccountId);
    const queueUrl = (await archive.sqs.send(new CreateQueueCommand({ QueueName: 'outcomesqueue' }))).QueueUrl!;
    const queueArn = (
      await archive.sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }))
    ).Attributes!.QueueArn!;
    await world.registry.add(
      accountRecord({
        accountId: org.logArchiveAccountId,
        logArchiveFor: [org.organizationId],
        organizationId: org.organizationId,
        organizationMembership: 'active',
      }),
    );
    await world.registry.update(org.logArchiveAccountId, {
      bucketName: org.bucket,
      logArchiveBucket: org.bucket,
      queueArn,
    });
    ledger = new LedgerTable(awsClients.dynamoDocument({ region: REGION }), ledgerTableName(RECONCILE_TABLE));
    await ensureLedgerTable(awsClients.dynamoDocument({ region: REGION }), ledgerTableName(RECONCILE_TABLE));
    world.deps.ledger = ledger;
    receiver = new DownstreamReceiver({ token: 'test-token' });
    await receiver.start();
  });
  afterAll(async () => receiver?.stop());

  /** Ingest (the Lambda's core) over every message now in a queue. */
  const ingestFrom = async (accountId: string, queueName: string) => {
    const sqs = (await tenantClients(accountId)).sqs;
    const queueUrl = `${process.env.AWS_ENDPOINT_URL}/${accountId}/${queueName}`;
    const queueArn = `arn:aws:sqs:${REGION}:${accountId}:${queueName}`;
    const records = await receiveAll(sqs, queueUrl, queueArn);
    const deps = await reconcileWorldIngestDeps(receiver, 'test-token');
    const result = await processSqsBatch(records, deps, Date.now() + 60_000);
    expect(result.batchItemFailures).toEqual([]);
    return records.length;
  };

  /** CloudTrail delivers a log file of the member into `bucket` (its own, or the organization's) and notifies. */
  const deliver = async (via: 'member' | 'organization', seed: number, time: Date): Promise<DeliveredFile> => {
    const owner = via === 'member' ? member : org.logArchiveAccountId;
    const bucket = via === 'member' ? `outcomes-${member}` : org.bucket;
    const clients = await tenantClients(owner);
    const file = await putLogFile(clients.s3, {
      bucket,
      accountId: member,
      region: REGION,
      seed,
      records: 7,
      time,
      ...(via === 'organization' ? { orgId: org.organizationId } : {}),
    });
    await clients.sqs.send(
      new SendMessageCommand({
        QueueUrl: `${process.env.AWS_ENDPOINT_URL}/${owner}/outcomesqueue`,
        MessageBody: JSON.stringify({ s3Bucket: bucket, s3ObjectKey: [file.key] }),
      }),
    );
    return { ...file, key: `${bucket}/${file.key}` };
  };

  test('outcomes-trail created, reported as the paid copy, retired alone once the organization path delivers', async () => {
    const outcomesTrail = `arn:aws:cloudtrail:${REGION}:${member}:trail/outcomes-trail`;
    // 1. An empty member: reconcile apply creates its chain and outcomes-trail.
    const first = world.account(await world.run('apply', member), member);
    expect(first.actions.map((a) => a.code)).toContain('CREATE_TRAIL');
    expect((await world.registry.require(member)).trailArn).toBe(outcomesTrail);
    const memberClients = await tenantClients(member);
    // Another trail of the member (the customer's, stopped): it must come out untouched.
    await memberClients.s3.send(new CreateBucketCommand({ Bucket: `acme-audit-${member}` }));
    await memberClients.cloudTrail.send(
      new CreateTrailCommand({ Name: 'acme-audit', S3BucketName: `acme-audit-${member}` }),
    );
    const describeMember = async () =>
      (await memberClients.cloudTrail.send(new DescribeTrailsCommand({ includeShadowTrails: false }))).trailList ?? [];
    const acmeBefore = (await describeMember()).find((t) => t.Name === 'acme-audit');

    const files: DeliveredFile[] = [];
    // 2. Before the organization trail: outcomes-trail's files, through the member's own chain.
    files.push(await deliver('member', 1, at(11, 30)), await deliver('member', 2, at(11, 35)));
    expect(await ingestFrom(member, 'outcomesqueue')).toBe(2);

    // 3. The organization trail (created in the management account by the organization world) now shows in the
    // member. The plan reports the duplicate with its monthly cost and retires nothing yet.
    const management = awsClients.cloudTrail({
      region: REGION,
      credentials: await org.credentialsFor(org.managementAccountId),
    });
    organizationTrail = (await management.send(new DescribeTrailsCommand({}))).trailList!.find(
      (t) => t.IsOrganizationTrail,
    );
    expect(organizationTrail?.TrailARN).toBe(org.trailArn);
    clock = at(12, 0);
    const plan = world.account(await world.run('plan', member), member);
    const monthly = duplicateTrailsCost(1, DEFAULT_COST_ASSUMPTIONS);
    const redundant = plan.findings.find((f) => f.code === 'COLLECTOR_TRAIL_REDUNDANT');
    expect(redundant).toMatchObject({ resource: outcomesTrail, severity: 'medium' });
    expect(redundant!.message).toContain(monthly.note);
    expect(redundant!.message).toContain('retired once the ledger holds');
    const duplicate = plan.findings.find((f) => f.code === 'COST_DUPLICATE_TRAILS');
    expect(duplicate?.resource).toContain(org.trailArn);
    expect(duplicate?.message).toContain(`$${monthly.monthlyUsd.toFixed(2)}/month`);
    expect(plan.actions.map((a) => a.code)).not.toContain('RETIRE_TRAIL');
    expect(plan.actions.map((a) => a.code)).not.toContain('CREATE_TRAIL');
    expect((await world.registry.require(member)).organizationTrailSeenAt).toBe(at(12, 0).toISOString());

    // 4. Both trails deliver for a while: the member's chain and the organization path.
    files.push(await deliver('member', 3, at(12, 5)));
    expect(await ingestFrom(member, 'outcomesqueue')).toBe(1);
    // An apply before any organization file is in the ledger retires nothing.
    clock = at(12, 6);
    const early = world.account(await world.run('apply', member), member);
    expect(early.actions.map((a) => a.code)).not.toContain('RETIRE_TRAIL');
    files.push(await deliver('organization', 4, at(12, 7)));
    expect(await ingestFrom(org.logArchiveAccountId, 'outcomesqueue')).toBe(1);

    // 5. The ledger now holds a member file from the archive bucket, delivered after 12:00: apply retires
    // outcomes-trail (StopLogging, then DeleteTrail, by name), and nothing else.
    clock = at(12, 10);
    const retired = world.account(await world.run('apply', member), member);
    expect(retired.actions.filter((a) => a.code === 'RETIRE_TRAIL')).toEqual([
      expect.objectContaining({ resource: outcomesTrail, status: 'applied', reason: 'COLLECTOR_TRAIL_REDUNDANT' }),
    ]);
    const after = await describeMember();
    expect(after.map((t) => t.Name)).toEqual(['acme-audit']);
    expect(after[0]).toEqual(acmeBefore);
    const acmeStatus = await memberClients.cloudTrail.send(new GetTrailStatusCommand({ Name: 'acme-audit' }));
    expect(acmeStatus.IsLogging).toBe(false);
    // The organization trail itself is untouched (it still logs, in the management account).
    expect((await management.send(new GetTrailStatusCommand({ Name: 'org-trail' }))).IsLogging).toBe(true);
    const record = await world.registry.require(member);
    expect(record.trailArn).toBeUndefined();

    // 6. After the switch: the organization path alone. The next run creates no trail and reports no deletion.
    files.push(await deliver('organization', 5, at(12, 15)), await deliver('organization', 6, at(12, 20)));
    expect(await ingestFrom(org.logArchiveAccountId, 'outcomesqueue')).toBe(2);
    clock = at(12, 25);
    const next = world.account(await world.run('apply', member), member);
    expect(next.actions.map((a) => a.code)).not.toContain('CREATE_TRAIL');
    expect(next.findings.map((f) => f.code)).not.toContain('TRAIL_MISSING');
    expect(next.findings.map((f) => f.code)).toContain('COLLECTED_BY_LOG_ARCHIVE');

    // 7. No log file of the member missed across the switch: the ledger holds every one (both buckets), and the
    // downstream received every record exactly once.
    const collected = await ledger.collectedOn(member, REGION, DAY);
    expect([...collected.keys()].sort()).toEqual(files.map((f) => f.key).sort());
    const eventIds = files.flatMap((f) => f.eventIds);
    expect(eventIds.every((id) => receiver.eventIds.get(id) === 1)).toBe(true);
    expect(receiver.duplicateRecords).toBe(0);
  });
});
