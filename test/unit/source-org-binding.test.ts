/**
 * Binding an organization trail's keys by membership (lambdas/ingest/source/tenant.ts, checkTenantOwnsKey): a log
 * archive forwards `<prefix>/AWSLogs/o-<id>/<member>/...` only for a member registered with that organization id
 * and an `active` membership (or the archive itself), each member looked up once per batch; anything else is a
 * TenantMismatchError (poison) naming the member, the organization and the object, and nothing of the message is
 * read. The records of a member's file are the member's: the log line and the registry's lastRecordAt name it.
 * In-memory S3, SQS and registry (as test/unit/backfill-message.test.ts).
 */
import type { OrganizationRecord } from '../../lambdas/shared/organization-registry';
import { CountTally } from '../../lambdas/ingest/runtime';
import { processSqsBatch, type IngestDeps } from '../../lambdas/ingest/source/sqs-batch';
import { cloudTrailNotification } from '../../testkit/demo-chain';
import { MemoryAccounts, MemoryS3, SwitchableSink, recordingLogger, smallForward } from '../../testkit/ingest-fakes';
import { VirtualClock, VirtualSqs } from '../../testkit/virtual-sqs';

const REGION = 'us-east-1';
const ORG = 'o-a1b2c3d4e5';
const OTHER_ORG = 'o-zzzz999999';
const ARCHIVE = '222233334444';
const ACTIVE = '111122223333';
const LEFT = '444455556666';
const FOREIGN = '555566667777';
const UNREGISTERED = '999988887777';
const LONER = '777788889999';
const LISTED = '888899990000';
const BUCKET = 'aws-controltower-logs-222233334444-us-east-1';
const queueOf = (account: string) => `arn:aws:sqs:${REGION}:${account}:outcomesqueue`;

/** Counts recordDelivery calls per account (MemoryAccounts only answers true). */
class MarkedAccounts extends MemoryAccounts {
  readonly delivered = new Map<string, number>();
  failLookupOf?: string;

  override get(accountId: string) {
    if (accountId === this.failLookupOf) return Promise.reject(new Error('ProvisionedThroughputExceededException'));
    return super.get(accountId);
  }

  override recordDelivery(accountId?: string): Promise<boolean> {
    if (accountId !== undefined) this.delivered.set(accountId, (this.delivered.get(accountId) ?? 0) + 1);
    return Promise.resolve(true);
  }
}

function world(options: { archiveFor?: string[]; organizationArchive?: string } = {}) {
  const clock = new VirtualClock();
  const sqs = new VirtualSqs(clock);
  const settings = { visibilityTimeoutSeconds: 1800, retentionSeconds: 4 * 86_400 };
  for (const account of [ARCHIVE, ACTIVE]) sqs.createQueue(queueOf(account), settings);
  const s3 = new MemoryS3(clock.now);
  const sink = new SwitchableSink();
  const accounts = new MarkedAccounts([
    {
      accountId: ARCHIVE,
      logArchiveFor: options.archiveFor ?? [ORG, LISTED],
      logArchiveBucket: BUCKET,
      organizationId: ORG,
      organizationMembership: 'active',
    },
    { accountId: ACTIVE, organizationId: ORG, organizationMembership: 'active', registeredBy: 'organization' },
    {
      accountId: LEFT,
      organizationId: ORG,
      organizationMembership: 'left',
      organizationLeftAt: '2026-10-30T12:00:00.000Z',
      organizationLeftReason: 'not listed',
    },
    { accountId: FOREIGN, organizationId: OTHER_ORG, organizationMembership: 'active' },
    { accountId: LONER },
  ]);
  const organizationLookups: string[] = [];
  const organizations = {
    get: (organizationId: string) => {
      organizationLookups.push(organizationId);
      return Promise.resolve(
        options.organizationArchive !== undefined && organizationId === ORG
          ? ({ organizationId: ORG, logArchiveAccountId: options.organizationArchive } as OrganizationRecord)
          : undefined,
      );
    },
  };
  const tally = new CountTally();
  const { logger, lines } = recordingLogger();
  const deps: IngestDeps = {
    registry: accounts,
    organizations,
    deliveryMarks: new Map(),
    credentials: { providerFor: () => () => Promise.reject(new Error('the memory S3 needs no credentials')) },
    s3ForTenant: (tenant) => s3.clientFor(tenant.roleArn),
    sink,
    logger,
    counts: tally,
    customerRoleName: 'CloudTrailCollectorRole',
    forward: smallForward(),
    messageConcurrency: 4,
  };
  let seed = 0;
  /** A file of `account` in the archive bucket: under the organization trail's layout unless `orgId` is null. */
  const file = (account: string, orgId: string | null = ORG, records = 7) =>
    s3.putLogFile({
      bucket: BUCKET,
      accountId: account,
      region: REGION,
      seed: ++seed,
      records,
      time: new Date(Date.UTC(2026, 10, 1, 0, seed)),
      prefix: 'org-trail',
      ...(orgId !== null ? { orgId } : {}),
    });
  const send = (keys: string[], tenant = ARCHIVE) => sqs.send(queueOf(tenant), cloudTrailNotification(BUCKET, keys));
  const run = async (tenant = ARCHIVE) => {
    const records = sqs.receive(queueOf(tenant), 10);
    return processSqsBatch(records, deps, Date.now() + 60_000);
  };
  return { s3, sink, accounts, organizationLookups, lines, deps, tally, file, send, run };
}

const poisonOf = (result: Awaited<ReturnType<ReturnType<typeof world>['run']>>, id: string) => {
  const outcome = result.outcomes.get(id);
  if (outcome?.status !== 'failed') throw new Error(`expected a failure, got ${JSON.stringify(outcome)}`);
  return outcome;
};

describe('organization keys on a log archive', () => {
  test("an active member's file is forwarded as the member's: log line, lastRecordAt, one lookup per batch", async () => {
    const w = world();
    const files = [w.file(ACTIVE), w.file(ACTIVE), w.file(ACTIVE)];
    const own = w.file(ARCHIVE);
    const ids = [w.send([files[0]!.key, files[1]!.key]), w.send([files[2]!.key]), w.send([own.key])];
    const result = await w.run();

    expect(result.batchItemFailures).toEqual([]);
    for (const id of ids) expect(result.outcomes.get(id)).toMatchObject({ status: 'forwarded' });
    const expected = [...files, own].flatMap((f) => f.eventIds);
    expect([...w.sink.eventIds.keys()].sort()).toEqual(expected.sort());
    // Read with the archive's role, from the archive's bucket (ExpectedBucketOwner is the archive).
    expect(new Set(w.s3.reads.map((read) => `${read.roleArn} ${read.expectedOwner}`))).toEqual(
      new Set([`arn:aws:iam::${ARCHIVE}:role/CloudTrailCollectorRole ${ARCHIVE}`]),
    );
    // The member is looked up once for the whole batch, however many of its files the batch holds.
    expect(w.accounts.lookups.get(ACTIVE)).toBe(1);
    const forwarded = w.lines.filter((line) => line.message === 'object forwarded');
    expect(forwarded.map((line) => [line.fields.memberAccountId, line.fields.tenantAccountId])).toEqual(
      expect.arrayContaining([
        [ACTIVE, ARCHIVE],
        [ARCHIVE, ARCHIVE],
      ]),
    );
    expect(forwarded).toHaveLength(4);
    // COLLECTION_STALE of the member reflects the archive path: its lastRecordAt moves, and the archive's.
    expect(Object.fromEntries(w.accounts.delivered)).toEqual({ [ARCHIVE]: 1, [ACTIVE]: 1 });

    // The marks throttle holds for members too: a second batch minutes later writes nothing.
    w.send([w.file(ACTIVE).key]);
    expect((await w.run()).batchItemFailures).toEqual([]);
    expect(Object.fromEntries(w.accounts.delivered)).toEqual({ [ARCHIVE]: 1, [ACTIVE]: 1 });
  });

  test.each([
    ['an unregistered account', UNREGISTERED, ORG, `account ${UNREGISTERED} is not registered`],
    ['a member that left', LEFT, ORG, `account ${LEFT} left ${ORG} at 2026-10-30T12:00:00.000Z (not listed)`],
    [
      "another organization's member",
      FOREIGN,
      ORG,
      `account ${FOREIGN} is registered as a member of organization ${OTHER_ORG}`,
    ],
    ['an account registered on its own', LONER, ORG, `account ${LONER} is registered without an organization`],
  ])('%s under the organization prefix: poison naming member, organization and object', async (_, member, org, why) => {
    const w = world();
    const bad = w.file(member, org);
    const id = w.send([bad.key]);
    const outcome = poisonOf(await w.run(), id);
    expect(outcome.poison).toBe(true);
    expect(outcome.error).toBe(
      `s3://${BUCKET}/${bad.key} holds logs of account ${member} under organization ${ORG}, but ${why}: ` +
        `log archive ${ARCHIVE} forwards only active registered members of ${ORG} (organizations sync registers them)`,
    );
    expect(w.s3.reads).toEqual([]);
    expect(w.tally.get('MessagesPoison')).toBe(1);
    expect(w.accounts.delivered.size).toBe(0);
  });

  test("one outsider's key in a message: nothing of the message is read, the member's file included", async () => {
    const w = world();
    const good = w.file(ACTIVE);
    const bad = w.file(UNREGISTERED);
    const id = w.send([good.key, bad.key]);
    const outcome = poisonOf(await w.run(), id);
    expect(outcome.error).toContain(`account ${UNREGISTERED} is not registered`);
    expect(w.s3.reads).toEqual([]);
    expect(w.sink.eventIds.size).toBe(0);
  });

  test('another organization id in the key, or a member key outside the organization layout, is rejected', async () => {
    const w = world();
    const otherOrg = w.file(ACTIVE, OTHER_ORG);
    const flat = w.file(ACTIVE, null);
    const ids = { otherOrg: w.send([otherOrg.key]), flat: w.send([flat.key]) };
    const result = await w.run();
    expect(poisonOf(result, ids.otherOrg).error).toBe(
      `s3://${BUCKET}/${otherOrg.key} holds logs of account ${ACTIVE} of organization ${OTHER_ORG}, ` +
        `and account ${ARCHIVE} is not registered as log archive for ${OTHER_ORG}`,
    );
    expect(poisonOf(result, ids.flat).error).toBe(
      `s3://${BUCKET}/${flat.key} holds logs of account ${ACTIVE}, ` +
        `which is not account ${ARCHIVE} nor one it is registered as log archive for`,
    );
    expect(w.s3.reads).toEqual([]);
  });

  test('an account listed by its 12 digits keeps working as before, with or without an organization prefix', async () => {
    const w = world();
    const files = [w.file(LISTED, null), w.file(LISTED, ORG), w.file(LISTED, OTHER_ORG)];
    const id = w.send(files.map((f) => f.key));
    const result = await w.run();
    expect(result.outcomes.get(id)).toMatchObject({ status: 'forwarded', objects: 3 });
    // No membership lookup for an explicitly listed account.
    expect(w.accounts.lookups.get(LISTED)).toBeUndefined();
  });

  test("the organization item's log archive: bound without logArchiveFor; any other tenant is refused", async () => {
    const w = world({ archiveFor: [], organizationArchive: ARCHIVE });
    const member = w.file(ACTIVE);
    const id = w.send([member.key]);
    const twice = w.send([w.file(ACTIVE).key]);
    const result = await w.run();
    expect(result.outcomes.get(id)).toMatchObject({ status: 'forwarded', objects: 1 });
    expect(result.outcomes.get(twice)).toMatchObject({ status: 'forwarded', objects: 1 });
    expect(w.organizationLookups).toEqual([ORG]);

    // ACTIVE's own queue carrying another member's key under the organization prefix: ACTIVE is no archive.
    const other = w.file(ARCHIVE);
    const refused = w.send([other.key], ACTIVE);
    expect(poisonOf(await w.run(ACTIVE), refused).error).toContain(
      `and account ${ACTIVE} is not registered as log archive for ${ORG}`,
    );
  });

  test('without the organization items (no `organizations` dependency) only logArchiveFor makes an archive', async () => {
    const w = world({ archiveFor: [], organizationArchive: ARCHIVE });
    delete w.deps.organizations;
    const id = w.send([w.file(ACTIVE).key]);
    expect(poisonOf(await w.run(), id).error).toContain(
      `account ${ARCHIVE} is not registered as log archive for ${ORG}`,
    );
  });

  test('a registry that cannot be read fails the message for a retry, not as poison, and reads nothing', async () => {
    const w = world();
    w.accounts.failLookupOf = ACTIVE;
    const id = w.send([w.file(ACTIVE).key]);
    const outcome = poisonOf(await w.run(), id);
    expect(outcome).toMatchObject({ poison: false, error: 'ProvisionedThroughputExceededException' });
    expect(w.s3.reads).toEqual([]);
  });
});
