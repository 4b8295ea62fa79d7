/**
 * Discovering an organization through its management account, with fake Organizations and CloudTrail clients that
 * answer as the APIs do (Organizations API Reference, ListAccounts: pages of at most MaxResults, a NextToken
 * that can come with an empty page; CloudTrail API Reference, DescribeTrails / GetTrailStatus / GetEventSelectors).
 */
import {
  DescribeTrailsCommand,
  GetEventSelectorsCommand,
  GetTrailStatusCommand,
  type Trail,
} from '@aws-sdk/client-cloudtrail';
import { DescribeOrganizationCommand, ListAccountsCommand, ListRootsCommand } from '@aws-sdk/client-organizations';
import { PermanentInputError } from '../../lambdas/shared/errors';
import {
  CONTROL_TOWER_TRAIL_NAME,
  OrganizationTrailNotFoundError,
  discoverOrganization,
  findOrganizationTrail,
  listOrganizationAccounts,
  logsManagementEvents,
  type CloudTrailSender,
  type OrganizationsSender,
} from '../../lambdas/shared/organization-discovery';

const ORG = 'o-a1b2c3d4e5';
const MANAGEMENT = '999900001111';
const ARCHIVE = '444455556666';
const MEMBER = '111122223333';
const REGION = 'us-east-1';

interface FakeAccount {
  Id: string;
  Name?: string;
  State?: string;
  Status?: string;
}

/** Organizations as its API answers: pages of `pageSize`, optionally an empty page with a token in between. */
class FakeOrganizations implements OrganizationsSender {
  readonly calls: { name: string; input: Record<string, unknown> }[] = [];
  constructor(
    private readonly accounts: FakeAccount[],
    private readonly options: { emptyPageAt?: number; managementAccountId?: string } = {},
  ) {}

  send(command: ListAccountsCommand | DescribeOrganizationCommand | ListRootsCommand): Promise<unknown> {
    return Promise.resolve().then(() => this.answer(command));
  }

  private answer(command: ListAccountsCommand | DescribeOrganizationCommand | ListRootsCommand): unknown {
    const input = command.input as Record<string, unknown>;
    this.calls.push({ name: command.constructor.name, input });
    if (command instanceof DescribeOrganizationCommand) {
      return { Organization: { Id: ORG, MasterAccountId: this.options.managementAccountId ?? MANAGEMENT } };
    }
    if (command instanceof ListRootsCommand) return { Roots: [{ Id: 'r-ab12' }] };
    const size = Number(input.MaxResults ?? 20);
    const token = input.NextToken as string | undefined;
    if (token?.startsWith('empty:')) return { Accounts: [], NextToken: token.slice('empty:'.length) };
    const start = token === undefined ? 0 : Number(token);
    const end = start + size;
    const next = end < this.accounts.length ? String(end) : undefined;
    const page = this.accounts.slice(start, end);
    if (next !== undefined && this.options.emptyPageAt === end) return { Accounts: page, NextToken: `empty:${next}` };
    return { Accounts: page, ...(next !== undefined ? { NextToken: next } : {}) };
  }
}

class FakeCloudTrail implements CloudTrailSender {
  readonly calls: { region: string; name: string; input: Record<string, unknown> }[] = [];
  constructor(
    readonly region: string,
    private readonly trails: Trail[],
    private readonly answers: { isLogging?: boolean; selectors?: unknown; statusFails?: boolean } = {},
  ) {}

  send(command: DescribeTrailsCommand | GetTrailStatusCommand | GetEventSelectorsCommand): Promise<unknown> {
    return Promise.resolve().then(() => this.answer(command));
  }

  private answer(command: DescribeTrailsCommand | GetTrailStatusCommand | GetEventSelectorsCommand): unknown {
    this.calls.push({ region: this.region, name: command.constructor.name, input: command.input as never });
    if (command instanceof DescribeTrailsCommand) return { trailList: this.trails };
    if (command instanceof GetTrailStatusCommand) {
      if (this.answers.statusFails) throw Object.assign(new Error('User is not authorized'), { name: 'AccessDenied' });
      return { IsLogging: this.answers.isLogging ?? true };
    }
    return this.answers.selectors ?? { EventSelectors: [{ ReadWriteType: 'All', IncludeManagementEvents: true }] };
  }
}

function orgTrail(fields: Partial<Trail> = {}): Trail {
  const name = fields.Name ?? 'org-trail';
  return {
    Name: name,
    TrailARN: `arn:aws:cloudtrail:${REGION}:${MANAGEMENT}:trail/${name}`,
    HomeRegion: REGION,
    IsOrganizationTrail: true,
    IsMultiRegionTrail: true,
    S3BucketName: 'acme-org-trail',
    HasCustomEventSelectors: true,
    ...fields,
  };
}

function clients(
  organizations: FakeOrganizations,
  trails: Trail[],
  answers: ConstructorParameters<typeof FakeCloudTrail>[2] = {},
) {
  const byRegion = new Map<string, FakeCloudTrail>();
  return {
    byRegion,
    clients: {
      organizations,
      region: REGION,
      cloudTrailIn: (region: string) => {
        const client = byRegion.get(region) ?? new FakeCloudTrail(region, trails, answers);
        byRegion.set(region, client);
        return client;
      },
    },
  };
}

const accountIds = (count: number, from = 100000000000) =>
  Array.from({ length: count }, (_, index) => ({ Id: String(from + index), State: 'ACTIVE' }));

describe('listOrganizationAccounts', () => {
  test('follows NextToken over every page, with 20 accounts a page (the API maximum)', async () => {
    const organizations = new FakeOrganizations(accountIds(47));
    const accounts = await listOrganizationAccounts(organizations);
    expect(accounts).toHaveLength(47);
    expect(new Set(accounts.map((a) => a.accountId)).size).toBe(47);
    const pages = organizations.calls.filter((call) => call.name === 'ListAccountsCommand');
    expect(pages.map((call) => call.input)).toEqual([
      { MaxResults: 20 },
      { MaxResults: 20, NextToken: '20' },
      { MaxResults: 20, NextToken: '40' },
    ]);
  });

  test('an empty page that still has a NextToken is not the end', async () => {
    const organizations = new FakeOrganizations(accountIds(6), { emptyPageAt: 2 });
    const accounts = await listOrganizationAccounts(organizations, 2);
    expect(accounts.map((a) => a.accountId)).toEqual(accountIds(6).map((a) => a.Id));
    expect(organizations.calls.some((call) => String(call.input.NextToken).startsWith('empty:'))).toBe(true);
  });

  test('State is read, Status where State is missing; an account listed twice (pages moving) counts once', async () => {
    const accounts = await listOrganizationAccounts(
      new FakeOrganizations([
        { Id: MEMBER, State: 'SUSPENDED', Status: 'SUSPENDED' },
        { Id: ARCHIVE, Status: 'ACTIVE' },
        { Id: MEMBER, State: 'SUSPENDED' },
        { Id: 'not-an-account' },
      ]),
    );
    expect(accounts).toEqual([
      { accountId: MEMBER, state: 'SUSPENDED' },
      { accountId: ARCHIVE, state: 'ACTIVE' },
    ]);
  });
});

describe('findOrganizationTrail', () => {
  test('the organization trail with its bucket, prefix, KMS key and topic, status and selectors read in its home region', async () => {
    const trail = orgTrail({
      HomeRegion: 'eu-west-1',
      TrailARN: `arn:aws:cloudtrail:eu-west-1:${MANAGEMENT}:trail/org-trail`,
      S3KeyPrefix: 'central',
      KmsKeyId: `arn:aws:kms:eu-west-1:${MANAGEMENT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`,
      SnsTopicARN: `arn:aws:sns:eu-west-1:${MANAGEMENT}:org-trail-topic`,
    });
    const own = { ...orgTrail({ Name: 'own', IsOrganizationTrail: false }) };
    const world = clients(new FakeOrganizations([]), [own, trail]);
    const found = await findOrganizationTrail(world.clients, { managementAccountId: MANAGEMENT });
    expect(found).toEqual({
      trail: {
        trailArn: trail.TrailARN,
        name: 'org-trail',
        homeRegion: 'eu-west-1',
        bucketName: 'acme-org-trail',
        s3KeyPrefix: 'central',
        kmsKeyId: trail.KmsKeyId,
        snsTopicArn: trail.SnsTopicARN,
        isMultiRegion: true,
        isLogging: true,
        logsManagementEvents: true,
        controlTower: false,
      },
      warnings: [],
    });
    expect(world.byRegion.get(REGION)!.calls.map((c) => c.name)).toEqual(['DescribeTrailsCommand']);
    expect(world.byRegion.get('eu-west-1')!.calls.map((c) => [c.name, c.input])).toEqual([
      ['GetTrailStatusCommand', { Name: trail.TrailARN }],
      ['GetEventSelectorsCommand', { TrailName: trail.TrailARN }],
    ]);
    expect(world.byRegion.get(REGION)!.calls[0]!.input).toEqual({ includeShadowTrails: true });
  });

  test('no organization trail: a clear error saying what was seen and what to do instead', async () => {
    const another = orgTrail({ TrailARN: `arn:aws:cloudtrail:${REGION}:${MEMBER}:trail/theirs` });
    const world = clients(new FakeOrganizations([]), [orgTrail({ IsOrganizationTrail: false }), another]);
    const attempt = findOrganizationTrail(world.clients, { managementAccountId: MANAGEMENT });
    await expect(attempt).rejects.toBeInstanceOf(OrganizationTrailNotFoundError);
    await expect(attempt).rejects.toThrow(
      /no organization trail found \(DescribeTrails in us-east-1 in the management account 999900001111 lists 2 trail\(s\), none with IsOrganizationTrail owned by the management account\): create one, or register the accounts one by one \(accounts add, accounts import\)/,
    );
  });

  test('several organization trails: --log-archive-bucket picks one, a wrong one names the trails there are', async () => {
    const trails = [
      orgTrail({ Name: 'a', S3BucketName: 'bucket-a' }),
      orgTrail({ Name: 'b', S3BucketName: 'bucket-b' }),
    ];
    const world = clients(new FakeOrganizations([]), trails);
    await expect(findOrganizationTrail(world.clients, { managementAccountId: MANAGEMENT })).rejects.toThrow(
      /has 2 organization trails: .*trail\/a \(bucket bucket-a\), .*trail\/b \(bucket bucket-b\); say which one with --log-archive-bucket/,
    );
    const b = await findOrganizationTrail(world.clients, { managementAccountId: MANAGEMENT, bucketName: 'bucket-b' });
    expect(b.trail.name).toBe('b');
    const preferred = await findOrganizationTrail(world.clients, {
      managementAccountId: MANAGEMENT,
      preferredBucketName: 'bucket-a',
    });
    expect(preferred.trail.name).toBe('a');
    await expect(
      findOrganizationTrail(world.clients, { managementAccountId: MANAGEMENT, bucketName: 'bucket-c' }),
    ).rejects.toThrow(
      /^--log-archive-bucket bucket-c: no organization trail delivers there; the organization trails are /,
    );
  });

  test('Control Tower: recognised by its trail name; a stopped trail or one without management events is a warning', async () => {
    const trail = orgTrail({
      Name: CONTROL_TOWER_TRAIL_NAME,
      S3BucketName: `aws-controltower-logs-${ARCHIVE}-${REGION}`,
      SnsTopicARN: `arn:aws:sns:${REGION}:222233334444:aws-controltower-AllConfigNotifications`,
    });
    const world = clients(new FakeOrganizations([]), [trail], {
      isLogging: false,
      selectors: { EventSelectors: [{ IncludeManagementEvents: false, DataResources: [{ Type: 'AWS::S3::Object' }] }] },
    });
    const found = await findOrganizationTrail(world.clients, { managementAccountId: MANAGEMENT });
    expect(found.trail).toMatchObject({ controlTower: true, isLogging: false, logsManagementEvents: false });
    expect(found.warnings).toEqual([
      `the organization trail ${trail.TrailARN} is not logging: nothing new will arrive`,
      `the organization trail ${trail.TrailARN} logs no management events: the collector collects management events`,
    ]);
  });

  test('a status that cannot be read is unknown (a warning), never "not logging"', async () => {
    const world = clients(new FakeOrganizations([]), [orgTrail({ HasCustomEventSelectors: false })], {
      statusFails: true,
    });
    const found = await findOrganizationTrail(world.clients, { managementAccountId: MANAGEMENT });
    expect(found.trail.isLogging).toBeUndefined();
    expect(found.trail.logsManagementEvents).toBe(true);
    expect(found.warnings).toEqual([expect.stringMatching(/^GetTrailStatus on .* failed: User is not authorized$/)]);
    // No custom selectors: DescribeTrails already says it logs every management event, nothing more is read.
    expect(world.byRegion.get(REGION)!.calls.map((c) => c.name)).not.toContain('GetEventSelectorsCommand');
  });
});

test('logsManagementEvents: basic and advanced selectors, and none at all', () => {
  expect(logsManagementEvents({ $metadata: {} })).toBe(true);
  expect(logsManagementEvents({ $metadata: {}, EventSelectors: [{ IncludeManagementEvents: false }] })).toBe(false);
  expect(logsManagementEvents({ $metadata: {}, EventSelectors: [{ ReadWriteType: 'WriteOnly' }] })).toBe(true);
  const advanced = (category: string) => ({
    $metadata: {},
    AdvancedEventSelectors: [{ FieldSelectors: [{ Field: 'eventCategory', Equals: [category] }] }],
  });
  expect(logsManagementEvents(advanced('Management'))).toBe(true);
  expect(logsManagementEvents(advanced('Data'))).toBe(false);
});

describe('discoverOrganization', () => {
  const members: FakeAccount[] = [
    { Id: MANAGEMENT, State: 'ACTIVE' },
    { Id: ARCHIVE, State: 'ACTIVE' },
    { Id: MEMBER, State: 'ACTIVE' },
    { Id: '555566667777', State: 'SUSPENDED' },
  ];

  test('the organization, its root, every account with its state, the trail', async () => {
    const world = clients(new FakeOrganizations(members), [orgTrail()]);
    const found = await discoverOrganization(world.clients, {
      managementAccountId: MANAGEMENT,
      logArchiveAccountId: ARCHIVE,
    });
    expect(found).toMatchObject({
      organizationId: ORG,
      managementAccountId: MANAGEMENT,
      rootIds: ['r-ab12'],
      accounts: members.map((m) => ({ accountId: m.Id, state: m.State })),
      trail: { bucketName: 'acme-org-trail' },
      warnings: [],
    });
  });

  test('bad input names the flag and the value', async () => {
    const notManagement = clients(new FakeOrganizations(members, { managementAccountId: '123412341234' }), [
      orgTrail(),
    ]);
    await expect(
      discoverOrganization(notManagement.clients, { managementAccountId: MANAGEMENT, logArchiveAccountId: ARCHIVE }),
    ).rejects.toThrow(
      new PermanentInputError(
        `--management-account-id ${MANAGEMENT} is not the management account of ${ORG} (its management account is 123412341234)`,
      ),
    );
    const world = clients(new FakeOrganizations(members), [orgTrail()]);
    await expect(
      discoverOrganization(world.clients, { managementAccountId: MANAGEMENT, logArchiveAccountId: '777788889999' }),
    ).rejects.toThrow(`--log-archive-account-id 777788889999 is not an account of ${ORG}`);
    await expect(
      discoverOrganization(world.clients, { managementAccountId: MANAGEMENT, logArchiveAccountId: '555566667777' }),
    ).rejects.toThrow(`--log-archive-account-id 555566667777 is SUSPENDED in ${ORG}, not ACTIVE`);
  });

  test('a Control Tower bucket named for another account than the log archive is a warning', async () => {
    const trail = orgTrail({
      Name: CONTROL_TOWER_TRAIL_NAME,
      S3BucketName: `aws-controltower-logs-${MEMBER}-${REGION}`,
    });
    const world = clients(new FakeOrganizations(members), [trail]);
    const found = await discoverOrganization(world.clients, {
      managementAccountId: MANAGEMENT,
      logArchiveAccountId: ARCHIVE,
    });
    expect(found.warnings).toEqual([
      `the Control Tower bucket aws-controltower-logs-${MEMBER}-${REGION} is named for account ${MEMBER}, not the log archive ${ARCHIVE}: check --log-archive-account-id`,
    ]);
  });
});
