import type { S3Client } from '@aws-sdk/client-s3';
import type { SQSRecord } from 'aws-lambda';
import { mapSettled } from '../../shared/concurrency';
import type { AssumedRoleCredentialCache } from '../../shared/credentials';
import { PermanentInputError, errorMessage } from '../../shared/errors';
import type { LoggerLike } from '../../shared/logger';
import type { OrganizationsRegistry } from '../../shared/organization-registry';
import type { AccountsRegistry } from '../../shared/registry';
import { describeObject, type LogObject, type RecordObject } from '../log-object';
import { forwardObject, type ForwardOptions, type ForwardResult } from '../pipeline';
import { KmsReadError } from '../s3-read';
import type { Sink } from '../sinks/sink';
import { DownstreamUnavailableError, type BreakerPermit, type CircuitBreaker } from './circuit-breaker';
import {
  parseBackfillMessage,
  parseMessageBody,
  parseNotification,
  type ParsedNotification,
  type SnsEnvelopeHeader,
} from './notifications';
import { classifyObjectKey, type ObjectClass } from '../../shared/object-key';
import type { LedgerEntry } from '../../shared/ledger';
import type { LedgerWrites } from './ledger-writes';
import { noteDeliveries, noteReadErrors } from './registry-marks';
import type { FailedMessage, QueueSettler, Settlement } from './settle';
import {
  checkTenantOwnsKey,
  resolveBackfillTenant,
  resolveHubTenant,
  resolveTenant,
  type MembershipLookup,
  type TenantBinding,
} from './tenant';

/**
 * The SQS source (docs/architecture.md, "Ingest"): one Lambda batch of messages, each a notification naming log
 * objects, each object read and forwarded through the pipeline to the sink, with Lambda's partial-batch
 * semantics. Which tenant a message belongs to is never decided by the publisher: on a customer queue it is the
 * queue's owner, on a hub queue the registered owner of the topic SNS names in the envelope (tenant.ts). Failed
 * messages are then settled (settle.ts): backed off, or on a hub queue moved to its DLQ when poison.
 */

/** Where counts go: Powertools Metrics in Lambda, a plain tally in the CLI. */
export interface CountSink {
  count(name: string, value: number, unit?: 'Count' | 'Bytes' | 'Milliseconds'): void;
}

export interface IngestDeps {
  /** `recordReadError` is optional: without it a KMS read error is only logged and counted. */
  registry: Pick<AccountsRegistry, 'get' | 'recordDelivery'> & Partial<Pick<AccountsRegistry, 'recordReadError'>>;
  /**
   * The organization items of the registry table (organization-registry.ts): a log archive registered on an
   * organization item may forward its active members' keys (tenant.ts, checkTenantOwnsKey). Absent: only a
   * `logArchiveFor` holding the organization id makes an account its log archive.
   */
  organizations?: Pick<OrganizationsRegistry, 'get'>;
  /** When this process last wrote `lastRecordAt` per account: the registry is written at most every few minutes. */
  deliveryMarks?: Map<string, number>;
  /** The same for `lastReadError`. */
  readErrorMarks?: Map<string, number>;
  credentials: Pick<AssumedRoleCredentialCache, 'providerFor'>;
  /** An S3 client for one tenant, built from that tenant's assumed-role credentials (cached by the caller). */
  s3ForTenant(tenant: TenantBinding): S3Client;
  sink: Sink;
  logger: LoggerLike;
  counts: CountSink;
  customerRoleName: string;
  forward: Omit<ForwardOptions, 'deadline'>;
  messageConcurrency: number;
  /** HUB_QUEUE_ARNS: a message from one of these is bound by its SNS envelope's TopicArn. Absent: no hub queue. */
  hubQueueArns?: ReadonlySet<string>;
  /**
   * BACKFILL_QUEUE_ARN: a message from this queue is a collector backfill message, bound to the registered account
   * its body names (notifications.ts, parseBackfillMessage). Absent: no queue may name its tenant.
   */
  backfillQueueArn?: string;
  /** The ledger of collected files (ledger-writes.ts, docs/completeness.md). Absent: nothing is recorded. */
  ledger?: LedgerWrites;
  /** Backoff and hub DLQ moves of failed messages (settle.ts). Absent: failed messages are only reported. */
  settler?: Pick<QueueSettler, 'settle'>;
  /** This container's downstream circuit breaker (circuit-breaker.ts); the sink must report to it. Absent: closed. */
  breaker?: CircuitBreaker;
  /** Epoch ms (default Date.now): how old a previous topic of an account is (tenant.ts). */
  now?: () => number;
}

export type MessageOutcome =
  | { status: 'forwarded'; objects: number; records: number; filtered: number }
  | { status: 'ignored'; reason: string }
  /** Reported in batchItemFailures; `retryInSeconds` when its backoff was applied (settle.ts). */
  | { status: 'failed'; error: string; poison: boolean; retryInSeconds?: number }
  /** Poison on a hub queue, copied to the hub DLQ and acknowledged. */
  | { status: 'dead-lettered'; error: string; deadLetterQueueArn: string };

export interface BatchResult {
  batchItemFailures: { itemIdentifier: string }[];
  outcomes: Map<string, MessageOutcome>;
}

/** Why an object that was read forwarded nothing: each is acknowledged, since retrying cannot change it. */
const OBJECT_NOTHING_FORWARDED = {
  missing: 'object deleted before it was read (NoSuchKey): acknowledged',
  'missing-version': 'object version deleted before it was read (NoSuchVersion): acknowledged',
  empty: 'object is empty (0 bytes): acknowledged',
  'no-records': 'object has no "Records" array (not a log file): acknowledged',
} as const;

/**
 * Per batch: tenant lookups shared by its messages (by queue, or by topic on hub queues), and the registry
 * lookups of organization members (`membership`), each made once per batch.
 */
interface BatchContext {
  membership: MembershipLookup;
  queueTenant(eventSourceArn: string): Promise<TenantBinding>;
  hubTenant(topicArn: string | undefined, hubQueueArn: string): Promise<TenantBinding>;
  backfillTenant(accountId: string, backfillQueueArn: string): Promise<TenantBinding>;
}

function batchContext(deps: IngestDeps): BatchContext {
  const tenants = new Map<string, Promise<TenantBinding>>();
  const cached = (key: string, resolve: () => Promise<TenantBinding>): Promise<TenantBinding> => {
    let pending = tenants.get(key);
    if (!pending) {
      pending = resolve();
      tenants.set(key, pending);
    }
    return pending;
  };
  const members = new Map<string, ReturnType<MembershipLookup['account']>>();
  const archives = new Map<string, Promise<string | undefined>>();
  const once = <T>(cache: Map<string, Promise<T>>, key: string, lookup: () => Promise<T>): Promise<T> => {
    let pending = cache.get(key);
    if (!pending) {
      pending = lookup();
      cache.set(key, pending);
    }
    return pending;
  };
  return {
    membership: {
      account: (accountId) => once(members, accountId, () => deps.registry.get(accountId)),
      organizationArchive: (organizationId) =>
        once(archives, organizationId, async () =>
          deps.organizations === undefined
            ? undefined
            : (await deps.organizations.get(organizationId))?.logArchiveAccountId,
        ),
    },
    queueTenant: (arn) => cached(`queue\u0000${arn}`, () => resolveTenant(arn, deps)),
    hubTenant: (topicArn, hubQueueArn) =>
      cached(`topic\u0000${topicArn ?? ''}`, () => resolveHubTenant(topicArn, hubQueueArn, deps)),
    backfillTenant: (accountId, backfillQueueArn) =>
      cached(`backfill\u0000${accountId}`, () => resolveBackfillTenant(accountId, backfillQueueArn, deps)),
  };
}

/**
 * Processes one SQS batch with Lambda's partial-batch semantics: every message that was not fully delivered
 * is listed in `batchItemFailures`; one message's failure never fails the others.
 */
export async function processSqsBatch(records: SQSRecord[], deps: IngestDeps, deadline: number): Promise<BatchResult> {
  const context = batchContext(deps);
  const tenantOf: (TenantBinding | undefined)[] = new Array<TenantBinding | undefined>(records.length);
  // The accounts other than the tenant (a log archive's members) whose files of the message forwarded records.
  const membersOf: Set<string>[] = records.map(() => new Set<string>());
  // The files whose batches were all acknowledged, of every message (failed ones too: their records were delivered).
  const collected: LedgerEntry[] = [];
  const settled = await mapSettled(records, deps.messageConcurrency, (record, index) =>
    processMessage(record, deps, deadline, context, {
      bound: (tenant) => (tenantOf[index] = tenant),
      member: (accountId) => membersOf[index]!.add(accountId),
      collected: (entry) => collected.push(entry),
    }),
  );
  // Before the batch's answer: no message is acknowledged before the files it delivered are recorded.
  await deps.ledger?.record(collected, deps);

  const outcomes = new Map<string, MessageOutcome>();
  const failed: FailedMessage[] = [];
  const delivered: string[] = [];
  const unreadable: { tenant: TenantBinding; error: KmsReadError }[] = [];
  settled.forEach((result, index) => {
    const record = records[index]!;
    let outcome: MessageOutcome;
    if (result.status === 'fulfilled') {
      outcome = result.value;
    } else {
      outcome = noteFailure(record, result.reason, deps);
      const tenant = tenantOf[index];
      if (result.reason instanceof KmsReadError && tenant) unreadable.push({ tenant, error: result.reason });
    }
    if (outcome.status === 'failed') failed.push({ record, poison: outcome.poison, reason: outcome.error });
    if (outcome.status === 'forwarded' && outcome.records > 0 && tenantOf[index]) {
      delivered.push(tenantOf[index].accountId, ...membersOf[index]!);
    }
    outcomes.set(record.messageId, outcome);
  });

  const settlements = await settle(failed, deps);
  const batchItemFailures: { itemIdentifier: string }[] = [];
  for (const { record } of failed) {
    const outcome = outcomes.get(record.messageId) as Extract<MessageOutcome, { status: 'failed' }>;
    const settlement = settlements.get(record.messageId);
    if (settlement?.kind === 'dead-lettered') {
      outcomes.set(record.messageId, {
        status: 'dead-lettered',
        error: outcome.error,
        deadLetterQueueArn: settlement.deadLetterQueueArn,
      });
      continue;
    }
    if (settlement?.visibilitySeconds !== undefined) outcome.retryInSeconds = settlement.visibilitySeconds;
    batchItemFailures.push({ itemIdentifier: record.messageId });
  }
  if (deps.breaker) deps.counts.count('DownstreamBreakerOpen', deps.breaker.state === 'closed' ? 0 : 1);
  await noteDeliveries(delivered, deps);
  await noteReadErrors(unreadable, deps);
  await deps.ledger?.noteNewest(deps);
  return { batchItemFailures, outcomes };
}

/** Logs and counts a message that failed; poison is input that can never succeed however often it is retried. */
function noteFailure(record: SQSRecord, reason: unknown, deps: IngestDeps): MessageOutcome {
  const poison = reason instanceof PermanentInputError;
  const error = errorMessage(reason);
  const where = {
    messageId: record.messageId,
    eventSourceARN: record.eventSourceARN,
    receiveCount: record.attributes?.ApproximateReceiveCount,
    error,
  };
  if (reason instanceof DownstreamUnavailableError) {
    // One line per message at info: during an outage every message comes here, and the breaker logged why.
    deps.logger.info('message deferred: the downstream circuit is open', where);
    deps.counts.count('MessagesDeferred', 1);
  } else {
    deps.logger.error(poison ? 'message rejected as poison' : 'message failed, left for redelivery', where);
    deps.counts.count(poison ? 'MessagesPoison' : 'MessagesFailed', 1);
  }
  if (reason instanceof KmsReadError) deps.counts.count('ObjectsKmsUnreadable', 1);
  return { status: 'failed', error, poison };
}

/** The settler's answer; a settler that throws leaves every message failed (nothing is lost). */
async function settle(failed: FailedMessage[], deps: IngestDeps): Promise<Map<string, Settlement>> {
  if (failed.length === 0 || !deps.settler) return new Map();
  try {
    return await deps.settler.settle(failed);
  } catch (error) {
    deps.logger.error('failed messages could not be settled: they return at the queue timeout', {
      error: errorMessage(error),
    });
    return new Map();
  }
}

/** The tenant of a message and what its body announces; hub queues take the tenant from the SNS envelope. */
async function bindMessage(
  record: SQSRecord,
  deps: IngestDeps,
  context: BatchContext,
): Promise<{ tenant: TenantBinding; parsed: ParsedNotification } | { acknowledged: MessageOutcome }> {
  const queueArn = record.eventSourceARN;
  if (deps.backfillQueueArn !== undefined && queueArn === deps.backfillQueueArn) {
    const backfill = parseBackfillMessage(record.body);
    if (backfill.kind === 'poison') throw new PermanentInputError(backfill.reason);
    const tenant = await context.backfillTenant(backfill.accountId, queueArn);
    return { tenant, parsed: { kind: 'objects', objects: backfill.objects } };
  }
  if (!deps.hubQueueArns?.has(queueArn)) {
    const tenant = await context.queueTenant(queueArn);
    return { tenant, parsed: parseNotification(record.body) };
  }
  const { notification, envelope } = parseMessageBody(record.body);
  if (envelope === undefined) {
    const what =
      notification.kind === 'poison'
        ? notification.reason
        : notification.kind === 'ignored'
          ? notification.detail
          : `announcing ${notification.objects.length} object(s)`;
    throw new PermanentInputError(
      `hub queue ${queueArn} accepts only SNS envelopes, whose TopicArn names the tenant; ` +
        `this is a raw-delivery body (${what})`,
    );
  }
  if (envelope.type === 'SubscriptionConfirmation' || envelope.type === 'UnsubscribeConfirmation') {
    return { acknowledged: await acknowledgeConfirmation(record, envelope, notification, deps, context) };
  }
  return { tenant: await context.hubTenant(envelope.topicArn, queueArn), parsed: notification };
}

/**
 * SNS subscription messages on a hub queue are acknowledged and never confirmed: every hub subscription is created
 * by the collector as the queue owner, which needs no confirmation, while one created by a topic owner belongs to
 * that owner, who could then turn on raw message delivery and write envelopes of its own (docs/reliability.md).
 * An UnsubscribeConfirmation means a topic owner deleted our subscription; reconcile re-subscribes.
 */
async function acknowledgeConfirmation(
  record: SQSRecord,
  envelope: SnsEnvelopeHeader,
  notification: ParsedNotification,
  deps: IngestDeps,
  context: BatchContext,
): Promise<MessageOutcome> {
  const registered = await context.hubTenant(envelope.topicArn, record.eventSourceARN).then(
    (tenant) => tenant.accountId,
    (error: unknown) => (error instanceof PermanentInputError ? false : 'unknown (registry unreadable)'),
  );
  const unsubscribed = envelope.type === 'UnsubscribeConfirmation';
  deps.logger.warn(
    unsubscribed
      ? 'a topic owner unsubscribed the collector from its topic: acknowledged; reconcile re-subscribes'
      : "a topic owner asked to subscribe a hub queue: acknowledged, not confirmed (every hub subscription is the collector's own)",
    {
      messageId: record.messageId,
      eventSourceARN: record.eventSourceARN,
      topicArn: envelope.topicArn,
      registeredAccount: registered,
    },
  );
  deps.counts.count(unsubscribed ? 'HubUnsubscribeConfirmations' : 'HubSubscriptionConfirmationsIgnored', 1);
  deps.counts.count('MessagesIgnored', 1);
  const reason = notification.kind === 'ignored' ? notification.reason : envelope.type;
  return { status: 'ignored', reason };
}

/**
 * What a message tells the batch as it goes: its tenant, each member account whose records it forwarded, and each
 * file it delivered, for the ledger.
 */
interface MessageNotes {
  bound(tenant: TenantBinding): void;
  member(accountId: string): void;
  collected(entry: LedgerEntry): void;
}

async function processMessage(
  record: SQSRecord,
  deps: IngestDeps,
  deadline: number,
  context: BatchContext,
  notes: MessageNotes,
): Promise<MessageOutcome> {
  const binding = await bindMessage(record, deps, context);
  if ('acknowledged' in binding) return binding.acknowledged;
  const { tenant, parsed } = binding;
  notes.bound(tenant);
  if (parsed.kind === 'poison') throw new PermanentInputError(`unrecognized message: ${parsed.reason}`);
  if (parsed.kind === 'ignored') {
    deps.logger.info('message acknowledged without forwarding', {
      messageId: record.messageId,
      reason: parsed.reason,
      detail: parsed.detail,
    });
    deps.counts.count('MessagesIgnored', 1);
    return { status: 'ignored', reason: parsed.reason };
  }

  // Check every object before reading any, so a hostile message reads nothing at all.
  const classified = parsed.objects.map((announced) => {
    const objectClass = classifyObjectKey(announced.key);
    return { object: { ...announced, kind: objectClass.type } satisfies LogObject, objectClass };
  });
  for (const { object, objectClass } of classified) {
    await checkTenantOwnsKey(tenant, object, objectClass, context.membership);
  }

  // While the downstream circuit is open nothing is read: the message is failed now and hidden for its backoff.
  let permit: BreakerPermit | undefined;
  if (deps.breaker && classified.some(({ object }) => holdsRecords(object))) {
    permit = await deps.breaker.acquire();
    if (!permit) {
      throw new DownstreamUnavailableError(
        `downstream circuit ${deps.breaker.state}: message not read, retried after its backoff`,
      );
    }
  }
  try {
    return await forwardMessage(record, classified, tenant, deps, deadline, notes);
  } finally {
    permit?.release();
  }
}

async function forwardMessage(
  record: SQSRecord,
  classified: { object: LogObject; objectClass: ObjectClass }[],
  tenant: TenantBinding,
  deps: IngestDeps,
  deadline: number,
  notes: MessageNotes,
): Promise<MessageOutcome> {
  let records = 0;
  let filtered = 0;
  let objects = 0;
  for (const { object, objectClass } of classified) {
    // A log archive's file is its member's: logged under the member (the key names it), ledgered under it, and
    // the member's lastRecordAt moves (COLLECTION_STALE); the tenant's role reads it, from the tenant's bucket.
    const memberAccountId = objectClass.type === 'other' ? tenant.accountId : objectClass.accountId;
    const where = {
      messageId: record.messageId,
      bucket: object.bucket,
      key: object.key,
      class: object.kind,
      tenantAccountId: tenant.accountId,
      memberAccountId,
    };
    if (!holdsRecords(object)) {
      // Digest files prove integrity; they hold no records. Other keys are not CloudTrail files at all.
      deps.logger.info('object not forwarded', { ...where, reason: `${object.kind} object` });
      deps.counts.count(object.kind === 'digest' ? 'DigestObjects' : 'OtherObjects', 1);
      continue;
    }
    const result = await forwardObject(deps.s3ForTenant(tenant), object, tenant.accountId, deps.sink, {
      ...deps.forward,
      deadline,
    }).catch((error: unknown) => {
      throw namingObject(error, object);
    });
    objects += 1;
    records += result.recordsForwarded;
    filtered += result.recordsFiltered;
    const { outcome, ...counts } = result;
    if (outcome === 'forwarded' && !result.empty) deps.logger.info('object forwarded', { ...where, ...counts });
    else deps.logger.warn(OBJECT_NOTHING_FORWARDED[nothingForwarded(result)], { ...where, ...counts });
    deps.counts.count(outcome === 'missing' ? 'ObjectsMissing' : 'ObjectsRead', 1);
    deps.counts.count('RecordsRead', counts.recordsRead);
    deps.counts.count('RecordsForwarded', counts.recordsForwarded);
    deps.counts.count('RecordsFiltered', counts.recordsFiltered);
    deps.counts.count('BytesIn', counts.bytesIn, 'Bytes');
    deps.counts.count('BytesOut', counts.bytesOut, 'Bytes');
    deps.counts.count('ObjectDuration', counts.durationMs, 'Milliseconds');
    if (result.recordsForwarded > 0 && memberAccountId !== tenant.accountId) notes.member(memberAccountId);
    const entry = ledgerEntry(object, objectClass, result, deps);
    if (entry !== undefined) notes.collected(entry);
  }
  deps.logger.info('message processed', { messageId: record.messageId, objects, records, filtered });
  deps.counts.count('MessagesProcessed', 1);
  return { status: 'forwarded', objects, records, filtered };
}

/**
 * Every batch of the object was acknowledged: the file goes into the ledger (at the end of the SQS batch), under the
 * account, region and day of its key. A 0-byte file and a file without `Records` are recorded too (0 records, with
 * their hash: a digest lists every file CloudTrail delivered); a missing one is not, since nothing of it was read.
 */
function ledgerEntry(
  object: RecordObject,
  objectClass: ObjectClass,
  result: ForwardResult,
  deps: IngestDeps,
): LedgerEntry | undefined {
  if (!deps.ledger?.enabled || result.outcome === 'missing' || objectClass.type === 'other') return undefined;
  return {
    accountId: objectClass.accountId,
    region: objectClass.region,
    day: objectClass.day,
    bucket: object.bucket,
    key: object.key,
    ...(result.versionId !== undefined ? { versionId: result.versionId } : {}),
    ...(result.etag !== undefined ? { etag: result.etag } : {}),
    kind: object.kind,
    records: result.recordsRead,
    bytes: result.bytesDecompressed,
    sha256: result.sha256,
    collectedAt: new Date(deps.ledger.now()).toISOString(),
  };
}

function nothingForwarded(result: ForwardResult): keyof typeof OBJECT_NOTHING_FORWARDED {
  if (result.outcome === 'forwarded') return 'empty';
  if (result.outcome === 'missing') return result.missing === 'NoSuchVersion' ? 'missing-version' : 'missing';
  return result.outcome;
}

function holdsRecords(object: LogObject): object is RecordObject {
  return object.kind === 'log' || object.kind === 'insight';
}

/** A poison object's error names the object: a message can name several, and the byte offset is the object's. */
function namingObject(error: unknown, object: LogObject): unknown {
  if (!(error instanceof PermanentInputError)) return error;
  return new PermanentInputError(`${describeObject(object)}: ${error.message}`, { cause: error });
}
