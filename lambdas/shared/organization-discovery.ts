/**
 * What the collector learns about an AWS Organization through the read-only role in its management account
 * (CloudTrailCollectorOrganizationRole, templates/organization-management-role.template.json): the organization,
 * its accounts and its organization
 * trail. Pure functions over injected clients (`send` only), so tests pass fakes and the CLI passes SDK clients
 * built with the management role's credentials.
 */
import {
  DescribeTrailsCommand,
  GetEventSelectorsCommand,
  GetTrailStatusCommand,
  type GetEventSelectorsCommandOutput,
  type Trail,
} from '@aws-sdk/client-cloudtrail';
import { DescribeOrganizationCommand, ListAccountsCommand, ListRootsCommand } from '@aws-sdk/client-organizations';
import { arnParts, isAccountId } from './arn';
import { CollectorError, PermanentInputError, errorMessage } from './errors';

/**
 * The organization trail AWS Control Tower creates (landing zone 3.0 and later) in the management account. Its log
 * files go to `aws-controltower-logs-<log archive account>-<home region>` in the log archive account and its
 * notifications to `aws-controltower-AllConfigNotifications` in the Audit account (Control Tower User Guide,
 * "About logging in AWS Control Tower", "Guidance on subscribing to SNS Topics").
 */
export const CONTROL_TOWER_TRAIL_NAME = 'aws-controltower-BaselineCloudTrail';
export const CONTROL_TOWER_BUCKET_PREFIX = 'aws-controltower-logs-';
export const CONTROL_TOWER_TOPIC_NAME = 'aws-controltower-AllConfigNotifications';

/** ListAccounts' largest page (Organizations API Reference, ListAccounts: MaxResults 1-20). */
export const LIST_ACCOUNTS_PAGE_SIZE = 20;

type Sender = { send(command: never): Promise<unknown> };
/** The one method of an SDK client the functions here call. */
export interface OrganizationsSender {
  send(command: ListAccountsCommand | DescribeOrganizationCommand | ListRootsCommand): Promise<unknown>;
}
export interface CloudTrailSender {
  send(command: DescribeTrailsCommand | GetTrailStatusCommand | GetEventSelectorsCommand): Promise<unknown>;
}

export interface OrganizationAccount {
  accountId: string;
  name?: string;
  /** `ACTIVE`, `SUSPENDED`, `PENDING_CLOSURE`, ... (the account's State; Status where State is not returned). */
  state: string;
}

export interface OrganizationTrail {
  trailArn: string;
  name: string;
  homeRegion: string;
  bucketName: string;
  /** Keys are `<prefix>/AWSLogs/<organization id>/<account>/CloudTrail/...` when set. */
  s3KeyPrefix?: string;
  kmsKeyId?: string;
  snsTopicArn?: string;
  isMultiRegion: boolean;
  /** From GetTrailStatus; absent when it could not be read. */
  isLogging?: boolean;
  /** From GetEventSelectors: does it log management events; absent when it could not be read. */
  logsManagementEvents?: boolean;
  /** Named like Control Tower's trail (CONTROL_TOWER_TRAIL_NAME). */
  controlTower: boolean;
}

export interface DiscoveredOrganization {
  organizationId: string;
  managementAccountId: string;
  /** The organization's root ids (`r-...`): the StackSet's deployment target for "every account". */
  rootIds: string[];
  accounts: OrganizationAccount[];
  trail: OrganizationTrail;
  /** What the operator should know but does not stop the registration (a stopped trail, an unreadable status). */
  warnings: string[];
}

/** The management account has no organization trail the collector could collect (or none matching the bucket). */
export class OrganizationTrailNotFoundError extends CollectorError {}

export interface DiscoveryClients {
  organizations: OrganizationsSender;
  /** CloudTrail in a region, as the management role (DescribeTrails in the collector's region; status and selectors in the trail's home region). */
  cloudTrailIn(region: string): CloudTrailSender;
  /** The collector's region: where DescribeTrails looks (it also lists multi-region trails homed elsewhere). */
  region: string;
}

/** Sends through the narrow client interface and types the answer as the command's output. */
async function send<T>(client: Sender, command: unknown): Promise<T> {
  return (await client.send(command as never)) as T;
}

/**
 * Every account of the organization, following NextToken to the end: Organizations may return an empty page that
 * still has a NextToken (Organizations API Reference, ListAccounts: "always check the NextToken response parameter
 * value, even if you receive an empty result set"). Each account once, in the order listed.
 */
export async function listOrganizationAccounts(
  organizations: OrganizationsSender,
  pageSize: number = LIST_ACCOUNTS_PAGE_SIZE,
): Promise<OrganizationAccount[]> {
  const accounts = new Map<string, OrganizationAccount>();
  let nextToken: string | undefined;
  do {
    const page = await send<{
      Accounts?: { Id?: string; Name?: string; State?: string; Status?: string }[];
      NextToken?: string;
    }>(
      organizations,
      new ListAccountsCommand({ MaxResults: pageSize, ...(nextToken ? { NextToken: nextToken } : {}) }),
    );
    for (const account of page.Accounts ?? []) {
      if (!isAccountId(account.Id) || accounts.has(account.Id)) continue;
      // `Status` is being retired for `State` (Organizations User Guide, "Monitor the state of your AWS accounts").
      accounts.set(account.Id, {
        accountId: account.Id,
        ...(account.Name ? { name: account.Name } : {}),
        state: account.State ?? account.Status ?? 'UNKNOWN',
      });
    }
    nextToken = page.NextToken || undefined;
  } while (nextToken !== undefined);
  return [...accounts.values()];
}

export async function describeOrganization(
  organizations: OrganizationsSender,
): Promise<{ organizationId: string; managementAccountId: string }> {
  const { Organization: organization } = await send<{ Organization?: { Id?: string; MasterAccountId?: string } }>(
    organizations,
    new DescribeOrganizationCommand({}),
  );
  if (!organization?.Id || !isAccountId(organization.MasterAccountId)) {
    throw new CollectorError('DescribeOrganization returned no organization id or management account');
  }
  return { organizationId: organization.Id, managementAccountId: organization.MasterAccountId };
}

export async function listRootIds(organizations: OrganizationsSender): Promise<string[]> {
  const ids: string[] = [];
  let nextToken: string | undefined;
  do {
    const page = await send<{ Roots?: { Id?: string }[]; NextToken?: string }>(
      organizations,
      new ListRootsCommand(nextToken ? { NextToken: nextToken } : {}),
    );
    for (const root of page.Roots ?? []) if (root.Id) ids.push(root.Id);
    nextToken = page.NextToken || undefined;
  } while (nextToken !== undefined);
  return ids;
}

/** Does a trail with these selectors log management events (no selectors at all: it does, the default). */
export function logsManagementEvents(selectors: GetEventSelectorsCommandOutput): boolean {
  const basic = selectors.EventSelectors ?? [];
  const advanced = selectors.AdvancedEventSelectors ?? [];
  if (basic.length === 0 && advanced.length === 0) return true;
  return (
    basic.some((selector) => selector.IncludeManagementEvents !== false) ||
    advanced.some((selector) =>
      (selector.FieldSelectors ?? []).some(
        (field) => field.Field === 'eventCategory' && (field.Equals ?? []).includes('Management'),
      ),
    )
  );
}

function describeTrail(trail: Trail): string {
  return `${trail.TrailARN ?? trail.Name ?? '?'} (bucket ${trail.S3BucketName ?? '?'})`;
}

/**
 * The organization trail the management account owns: `IsOrganizationTrail`, with its bucket, prefix, KMS key and
 * topic. With `bucketName`, the one that delivers there; without, the only one (several: the operator must say
 * which bucket, unless one of them delivers to `preferredBucketName`, the bucket registered before). Its status and selectors are read in its home region; a failure there is a warning, not an error.
 */
export async function findOrganizationTrail(
  clients: Pick<DiscoveryClients, 'cloudTrailIn' | 'region'>,
  input: { managementAccountId: string; bucketName?: string; preferredBucketName?: string },
): Promise<{ trail: OrganizationTrail; warnings: string[] }> {
  const { trailList = [] } = await send<{ trailList?: Trail[] }>(
    clients.cloudTrailIn(clients.region),
    new DescribeTrailsCommand({ includeShadowTrails: true }),
  );
  const owned = trailList.filter(
    (trail) =>
      trail.IsOrganizationTrail === true &&
      typeof trail.TrailARN === 'string' &&
      arnParts(trail.TrailARN).accountId === input.managementAccountId &&
      typeof trail.S3BucketName === 'string',
  );
  let candidates = input.bucketName === undefined ? owned : owned.filter((t) => t.S3BucketName === input.bucketName);
  // Sync: of several organization trails, the one registered before (its bucket) is still the one.
  const preferred = candidates.filter((t) => t.S3BucketName === input.preferredBucketName);
  if (candidates.length > 1 && preferred.length === 1) candidates = preferred;
  const where = `DescribeTrails in ${clients.region} in the management account ${input.managementAccountId}`;
  if (candidates.length === 0) {
    throw new OrganizationTrailNotFoundError(
      owned.length === 0
        ? `no organization trail found (${where} lists ${trailList.length} trail(s), none with IsOrganizationTrail owned by the management account): create one, or register the accounts one by one (accounts add, accounts import)`
        : `--log-archive-bucket ${input.bucketName}: no organization trail delivers there; the organization trails are ${owned.map(describeTrail).join(', ')}`,
    );
  }
  if (candidates.length > 1) {
    throw new PermanentInputError(
      `the management account has ${candidates.length} organization trails: ${candidates.map(describeTrail).join(', ')}; say which one with --log-archive-bucket`,
    );
  }
  const found = candidates[0]!;
  const arn = found.TrailARN!;
  const homeRegion = found.HomeRegion ?? arnParts(arn).region;
  const warnings: string[] = [];
  const home = clients.cloudTrailIn(homeRegion);
  const [status, selectors] = await Promise.all([
    send<{ IsLogging?: boolean }>(home, new GetTrailStatusCommand({ Name: arn })).catch((error: unknown) => {
      warnings.push(`GetTrailStatus on ${arn} failed: ${errorMessage(error)}`);
      return undefined;
    }),
    found.HasCustomEventSelectors === false
      ? Promise.resolve(true)
      : send<GetEventSelectorsCommandOutput>(home, new GetEventSelectorsCommand({ TrailName: arn })).then(
          logsManagementEvents,
          (error: unknown) => {
            warnings.push(`GetEventSelectors on ${arn} failed: ${errorMessage(error)}`);
            return undefined;
          },
        ),
  ]);
  const trail: OrganizationTrail = {
    trailArn: arn,
    name: found.Name ?? arnParts(arn).name,
    homeRegion,
    bucketName: found.S3BucketName!,
    ...(found.S3KeyPrefix ? { s3KeyPrefix: found.S3KeyPrefix } : {}),
    ...(found.KmsKeyId ? { kmsKeyId: found.KmsKeyId } : {}),
    ...(found.SnsTopicARN ? { snsTopicArn: found.SnsTopicARN } : {}),
    isMultiRegion: found.IsMultiRegionTrail === true,
    ...(typeof status?.IsLogging === 'boolean' ? { isLogging: status.IsLogging } : {}),
    ...(typeof selectors === 'boolean' ? { logsManagementEvents: selectors } : {}),
    controlTower: (found.Name ?? arnParts(arn).name) === CONTROL_TOWER_TRAIL_NAME,
  };
  if (trail.isLogging === false) warnings.push(`the organization trail ${arn} is not logging: nothing new will arrive`);
  if (trail.logsManagementEvents === false) {
    warnings.push(`the organization trail ${arn} logs no management events: the collector collects management events`);
  }
  if (!trail.isMultiRegion) {
    warnings.push(`the organization trail ${arn} is single-region (${homeRegion}): other regions are not logged`);
  }
  return { trail, warnings };
}

/**
 * Discovers the organization behind `managementAccountId`: checks that it is the management account and that the
 * log archive is an ACTIVE member, lists every account, and finds the organization trail. Bad input throws a
 * PermanentInputError naming the flag and its value.
 */
export async function discoverOrganization(
  clients: DiscoveryClients,
  input: {
    managementAccountId: string;
    logArchiveAccountId: string;
    logArchiveBucket?: string;
    /** Sync: the bucket registered before, which picks among several organization trails. */
    preferredBucketName?: string;
    pageSize?: number;
  },
): Promise<DiscoveredOrganization> {
  const organization = await describeOrganization(clients.organizations);
  if (organization.managementAccountId !== input.managementAccountId) {
    throw new PermanentInputError(
      `--management-account-id ${input.managementAccountId} is not the management account of ${organization.organizationId} (its management account is ${organization.managementAccountId})`,
    );
  }
  const accounts = await listOrganizationAccounts(clients.organizations, input.pageSize);
  const archive = accounts.find((account) => account.accountId === input.logArchiveAccountId);
  if (archive === undefined) {
    throw new PermanentInputError(
      `--log-archive-account-id ${input.logArchiveAccountId} is not an account of ${organization.organizationId}`,
    );
  }
  if (archive.state !== 'ACTIVE') {
    throw new PermanentInputError(
      `--log-archive-account-id ${input.logArchiveAccountId} is ${archive.state} in ${organization.organizationId}, not ACTIVE`,
    );
  }
  const rootIds = await listRootIds(clients.organizations);
  const { trail, warnings } = await findOrganizationTrail(clients, {
    managementAccountId: input.managementAccountId,
    ...(input.logArchiveBucket !== undefined ? { bucketName: input.logArchiveBucket } : {}),
    ...(input.preferredBucketName !== undefined ? { preferredBucketName: input.preferredBucketName } : {}),
  });
  const bucketAccount = /^aws-controltower-logs-(\d{12})-/.exec(trail.bucketName)?.[1];
  if (trail.controlTower && bucketAccount !== undefined && bucketAccount !== input.logArchiveAccountId) {
    warnings.push(
      `the Control Tower bucket ${trail.bucketName} is named for account ${bucketAccount}, not the log archive ${input.logArchiveAccountId}: check --log-archive-account-id`,
    );
  }
  return { ...organization, rootIds, accounts, trail, warnings };
}
