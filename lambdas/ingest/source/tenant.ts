import { isAccountId, parseArn, roleArn, tryParseArn } from '../../shared/arn';
import { PermanentInputError } from '../../shared/errors';
import type { AccountRecord, AccountsRegistry } from '../../shared/registry';
import { describeObject, type LogObject } from '../log-object';
import type { ObjectClass } from '../../shared/object-key';
import { retryWindowSeconds } from '../../shared/topology';

/**
 * Who a message belongs to, never decided by what the publisher wrote: on a customer queue, the account that owns
 * the queue; on a hub queue, the registered owner of the topic SNS names in its envelope (resolveHubTenant).
 */
export interface TenantBinding {
  accountId: string;
  region: string;
  roleArn: string;
  externalId: string;
  /** Accounts and organizations whose log files this tenant's bucket may hold (itself included). */
  allowedLogAccounts: ReadonlySet<string>;
}

/** Thrown when a notification names a log file of an account the delivering tenant may not read. */
export class TenantMismatchError extends PermanentInputError {}

export function bindTenant(
  record: AccountRecord,
  queueRegion: string,
  partition: string,
  defaultRoleName: string,
): TenantBinding {
  return {
    accountId: record.accountId,
    region: queueRegion,
    roleArn: roleArn(partition, record.accountId, record.roleName ?? defaultRoleName),
    externalId: record.externalId,
    allowedLogAccounts: new Set([record.accountId, ...(record.logArchiveFor ?? [])]),
  };
}

/**
 * What binding an organization's keys needs from the registry, looked up once per batch (sqs-batch.ts caches it):
 * the registered account a key names, and the registered log archive of an organization item
 * (lambdas/shared/organization-registry.ts). A rejected lookup (the registry unreadable) fails the message for
 * a retry: nothing is read on a guess.
 */
export interface MembershipLookup {
  account(
    accountId: string,
  ): Promise<
    | Pick<
        AccountRecord,
        'accountId' | 'organizationId' | 'organizationMembership' | 'organizationLeftAt' | 'organizationLeftReason'
      >
    | undefined
  >;
  /** The organization item's `logArchiveAccountId`; undefined when the organization is not registered. */
  organizationArchive(organizationId: string): Promise<string | undefined>;
}

/**
 * Rejects a log file whose key names an account the tenant may not read (docs/reliability.md, "What a hostile
 * customer can make the collector read"). Allowed: the tenant's own account, and the 12-digit accounts listed in
 * its `logArchiveFor`, under any prefix. A key of an organization trail, `<prefix>/AWSLogs/o-<id>/<member>/...`,
 * is allowed to a log archive of `o-<id>` (its `logArchiveFor` holds `o-<id>`, or it is the organization item's
 * log archive) only when `<member>` is registered with `organizationId === o-<id>` and `organizationMembership`
 * `active`: an unregistered account, another organization's member, or one that left is a TenantMismatchError,
 * and since every key of a message is checked before any is read, nothing of the message is read.
 */
export async function checkTenantOwnsKey(
  tenant: TenantBinding,
  object: LogObject,
  objectClass: ObjectClass,
  lookup: MembershipLookup,
): Promise<void> {
  if (objectClass.type === 'other') return;
  const member = objectClass.accountId;
  if (tenant.allowedLogAccounts.has(member)) return;
  const organizationId = objectClass.orgId;
  if (organizationId === undefined) {
    throw new TenantMismatchError(
      `${describeObject(object)} holds logs of account ${member}, ` +
        `which is not account ${tenant.accountId} nor one it is registered as log archive for`,
    );
  }
  const archive =
    tenant.allowedLogAccounts.has(organizationId) ||
    (await lookup.organizationArchive(organizationId)) === tenant.accountId;
  if (!archive) {
    throw new TenantMismatchError(
      `${describeObject(object)} holds logs of account ${member} of organization ${organizationId}, ` +
        `and account ${tenant.accountId} is not registered as log archive for ${organizationId}`,
    );
  }
  const record = await lookup.account(member);
  const refuse = (why: string) =>
    new TenantMismatchError(
      `${describeObject(object)} holds logs of account ${member} under organization ${organizationId}, but ${why}: ` +
        `log archive ${tenant.accountId} forwards only active registered members of ${organizationId} (organizations sync registers them)`,
    );
  if (record === undefined) throw refuse(`account ${member} is not registered`);
  if (record.organizationId !== organizationId) {
    throw refuse(
      record.organizationId === undefined
        ? `account ${member} is registered without an organization`
        : `account ${member} is registered as a member of organization ${record.organizationId}`,
    );
  }
  if (record.organizationMembership !== 'active') {
    const left =
      record.organizationMembership === 'left'
        ? `account ${member} left ${organizationId}` +
          (record.organizationLeftAt !== undefined ? ` at ${record.organizationLeftAt}` : '') +
          (record.organizationLeftReason !== undefined ? ` (${record.organizationLeftReason})` : '')
        : `account ${member} has no active membership of ${organizationId} recorded`;
    throw refuse(left);
  }
}

/** The tenant of a queue: the registered account that owns it. */
export async function resolveTenant(
  eventSourceArn: string,
  deps: { registry: Pick<AccountsRegistry, 'get'>; customerRoleName: string },
): Promise<TenantBinding> {
  const queue = parseArn(eventSourceArn);
  if (queue.service !== 'sqs' || !isAccountId(queue.accountId)) {
    throw new PermanentInputError(`eventSourceARN is not an SQS queue ARN: "${eventSourceArn}"`);
  }
  const record = await deps.registry.get(queue.accountId);
  if (!record) {
    throw new PermanentInputError(
      `queue ${eventSourceArn} belongs to account ${queue.accountId}, which is not registered: nothing is read for it`,
    );
  }
  return bindTenant(record, queue.region, queue.partition, deps.customerRoleName);
}

/** Thrown when a hub message comes from a topic that is not the recorded topic of a registered account. */
export class UnregisteredTopicError extends PermanentInputError {}

const MAX_QUOTED = 200;

function quoted(text: string): string {
  return JSON.stringify(text.length > MAX_QUOTED ? `${text.slice(0, MAX_QUOTED)}...` : text);
}

/**
 * The tenant of a message on a hub queue: the account whose registry record names, as its topic, the `TopicArn`
 * of the SNS envelope. SNS writes the envelope (the publisher only writes `Message`), and every subscription to a
 * hub queue is the collector's own (docs/reliability.md, "What a hostile customer can make the collector read"),
 * so the TopicArn is the topic the notification was really published on. The topic's region is the tenant's
 * region (the S3 client follows a bucket elsewhere), its partition the role's.
 */
export async function resolveHubTenant(
  topicArn: string | undefined,
  hubQueueArn: string,
  deps: { registry: Pick<AccountsRegistry, 'get'>; customerRoleName: string; now?: () => number },
): Promise<TenantBinding> {
  if (topicArn === undefined) {
    throw new PermanentInputError(`SNS envelope on hub queue ${hubQueueArn} has no TopicArn: its tenant is unknown`);
  }
  const topic = tryParseArn(topicArn);
  if (topic?.service !== 'sns' || !isAccountId(topic.accountId) || topic.region === '' || topic.resource === '') {
    throw new PermanentInputError(
      `SNS envelope on hub queue ${hubQueueArn}: TopicArn ${quoted(topicArn)} is not a topic ARN`,
    );
  }
  const hub = parseArn(hubQueueArn);
  if (topic.partition !== hub.partition) {
    throw new UnregisteredTopicError(
      `topic ${topicArn} is in partition ${topic.partition}, hub queue ${hubQueueArn} in ${hub.partition}: not registered here`,
    );
  }
  const record = await deps.registry.get(topic.accountId);
  if (
    !record ||
    (record.topicArn !== topicArn && !isRecentPreviousTopic(record, topicArn, deps.now?.() ?? Date.now()))
  ) {
    const why = !record
      ? `account ${topic.accountId} is not registered`
      : record.topicArn === undefined
        ? `account ${topic.accountId} has no topic recorded yet`
        : `account ${topic.accountId} is registered with topic ${record.topicArn}`;
    throw new UnregisteredTopicError(`topic ${topicArn} is not registered (${why}): nothing is read for it`);
  }
  return bindTenant(record, topic.region, topic.partition, deps.customerRoleName);
}

/**
 * Whether `topicArn` is the account's topic until its last change, changed less than the hub queues' retry window
 * ago: a notification SNS delivered from it before the change may still wait in a hub queue (retried through a
 * downstream outage), and it is this account's own (the topic is the account's: its ARN names it). After the
 * window its messages are poison again; the window is the longest a message can live in a hub queue before SQS
 * dead-letters it (HUB_MAX_RECEIVE_COUNT receives, retryWindowSeconds).
 */
function isRecentPreviousTopic(record: AccountRecord, topicArn: string, now: number): boolean {
  if (record.previousTopicArn !== topicArn || record.topicChangedAt === undefined) return false;
  const changedAt = Date.parse(record.topicChangedAt);
  return Number.isFinite(changedAt) && now - changedAt <= retryWindowSeconds() * 1000;
}

/**
 * The tenant of a message on the collector's backfill queue (BACKFILL_QUEUE_ARN): the registered account its
 * body names. Only the collector's own principals may send to that queue (its policy; docs/completeness.md), so
 * the name is the collector's, as the TopicArn of a hub message is SNS's; the keys are still checked against the
 * tenant (checkTenantOwnsKey) and read with its role and `ExpectedBucketOwner`. The region is that of the
 * account's recorded topic (where its trail delivers), else the queue's; the partition is the queue's.
 */
export async function resolveBackfillTenant(
  accountId: string,
  backfillQueueArn: string,
  deps: { registry: Pick<AccountsRegistry, 'get'>; customerRoleName: string },
): Promise<TenantBinding> {
  const queue = parseArn(backfillQueueArn);
  const record = await deps.registry.get(accountId);
  if (!record) {
    throw new PermanentInputError(
      `backfill message on ${backfillQueueArn} names account ${accountId}, which is not registered: nothing is read for it`,
    );
  }
  const topic = record.topicArn === undefined ? undefined : tryParseArn(record.topicArn);
  const region = topic?.service === 'sns' && topic.region !== '' ? topic.region : queue.region;
  return bindTenant(record, region, queue.partition, deps.customerRoleName);
}
