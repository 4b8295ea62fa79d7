import type { S3Client } from '@aws-sdk/client-s3';
import type { SQSRecord } from 'aws-lambda';
import { mapSettled } from '../../shared/concurrency';
import type { AssumedRoleCredentialCache } from '../../shared/credentials';
import { PermanentInputError, errorMessage } from '../../shared/errors';
import type { LoggerLike } from '../../shared/logger';
import type { AccountsRegistry, ReadError } from '../../shared/registry';
import { describeObject, type LogObject, type RecordObject } from '../log-object';
import { forwardObject, type ForwardOptions, type ForwardResult } from '../pipeline';
import { KmsReadError } from '../s3-read';
import type { Sink } from '../sinks/sink';
import { parseNotification } from './notifications';
import { classifyObjectKey } from './object-key';
import { checkTenantOwnsKey, resolveTenant, type TenantBinding } from './tenant';

/**
 * The SQS source (docs/architecture.md, "Ingest"): one Lambda batch of messages, each a notification naming log
 * objects, each object read and forwarded through the pipeline to the sink, with Lambda's partial-batch
 * semantics. Which tenant a message belongs to is decided by the queue that delivered it (tenant.ts).
 */

/** Where counts go: Powertools Metrics in Lambda, a plain tally in the CLI. */
export interface CountSink {
  count(name: string, value: number, unit?: 'Count' | 'Bytes' | 'Milliseconds'): void;
}

export interface IngestDeps {
  /** `recordReadError` is optional: without it a KMS read error is only logged and counted. */
  registry: Pick<AccountsRegistry, 'get' | 'recordDelivery'> & Partial<Pick<AccountsRegistry, 'recordReadError'>>;
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
}

export type MessageOutcome =
  | { status: 'forwarded'; objects: number; records: number; filtered: number }
  | { status: 'ignored'; reason: string }
  | { status: 'failed'; error: string; poison: boolean };

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
 * Processes one SQS batch with Lambda's partial-batch semantics: every message that was not fully delivered
 * is listed in `batchItemFailures`; one message's failure never fails the others.
 */
export async function processSqsBatch(records: SQSRecord[], deps: IngestDeps, deadline: number): Promise<BatchResult> {
  const tenants = new Map<string, Promise<TenantBinding>>();
  const tenantFor = (eventSourceArn: string): Promise<TenantBinding> => {
    let pending = tenants.get(eventSourceArn);
    if (!pending) {
      pending = resolveTenant(eventSourceArn, deps);
      tenants.set(eventSourceArn, pending);
    }
    return pending;
  };

  const settled = await mapSettled(records, deps.messageConcurrency, async (record) =>
    processMessage(record, await tenantFor(record.eventSourceARN), deps, deadline),
  );

  const outcomes = new Map<string, MessageOutcome>();
  const batchItemFailures: { itemIdentifier: string }[] = [];
  const delivered = new Set<string>();
  const unreadable: { eventSourceArn: string; error: KmsReadError }[] = [];
  settled.forEach((result, index) => {
    const record = records[index]!;
    let outcome: MessageOutcome;
    if (result.status === 'fulfilled') {
      outcome = result.value;
    } else {
      const poison = result.reason instanceof PermanentInputError;
      outcome = { status: 'failed', error: errorMessage(result.reason), poison };
      // Poison and transient failures alike stay in the queue: redelivered, then moved to the DLQ, never deleted.
      deps.logger.error(poison ? 'message rejected as poison' : 'message failed, left for redelivery', {
        messageId: record.messageId,
        eventSourceARN: record.eventSourceARN,
        receiveCount: record.attributes?.ApproximateReceiveCount,
        error: outcome.error,
      });
      deps.counts.count(poison ? 'MessagesPoison' : 'MessagesFailed', 1);
      if (result.reason instanceof KmsReadError) {
        deps.counts.count('ObjectsKmsUnreadable', 1);
        unreadable.push({ eventSourceArn: record.eventSourceARN, error: result.reason });
      }
    }
    if (outcome.status === 'failed') batchItemFailures.push({ itemIdentifier: record.messageId });
    if (outcome.status === 'forwarded' && outcome.records > 0) delivered.add(record.eventSourceARN);
    outcomes.set(record.messageId, outcome);
  });
  await noteDeliveries([...delivered], tenants, deps);
  await noteReadErrors(unreadable, tenants, deps);
  return { batchItemFailures, outcomes };
}

/** Minimum time between two `lastRecordAt` writes for one account from one process. */
const DELIVERY_MARK_INTERVAL_MS = 5 * 60_000;

/**
 * Records that data arrived from these tenants (for COLLECTION_STALE and its alarm). Best effort: a failed write
 * is logged and never fails a message whose records were delivered.
 */
async function noteDeliveries(
  eventSourceArns: string[],
  tenants: Map<string, Promise<TenantBinding>>,
  deps: IngestDeps,
): Promise<void> {
  const now = Date.now();
  for (const arn of eventSourceArns) {
    const tenant = await tenants.get(arn)?.catch(() => undefined);
    if (!tenant) continue;
    const last = deps.deliveryMarks?.get(tenant.accountId);
    if (last !== undefined && now - last < DELIVERY_MARK_INTERVAL_MS) continue;
    try {
      await deps.registry.recordDelivery(tenant.accountId, new Date(now).toISOString());
      deps.deliveryMarks?.set(tenant.accountId, now);
    } catch (error) {
      deps.logger.warn('could not record the last delivery time', {
        accountId: tenant.accountId,
        error: errorMessage(error),
      });
    }
  }
}

/**
 * Records on each account the last log file S3 could not decrypt (for TRAIL_KMS_UNREADABLE), at most every
 * DELIVERY_MARK_INTERVAL_MS per account from one process. Best effort, like noteDeliveries: the message has failed
 * already and stays queued whatever happens here.
 */
async function noteReadErrors(
  unreadable: { eventSourceArn: string; error: KmsReadError }[],
  tenants: Map<string, Promise<TenantBinding>>,
  deps: IngestDeps,
): Promise<void> {
  const record = deps.registry.recordReadError?.bind(deps.registry);
  if (record === undefined) return;
  const now = Date.now();
  const noted = new Set<string>();
  for (const { eventSourceArn, error } of unreadable) {
    const tenant = await tenants.get(eventSourceArn)?.catch(() => undefined);
    if (!tenant || noted.has(tenant.accountId)) continue;
    const last = deps.readErrorMarks?.get(tenant.accountId);
    if (last !== undefined && now - last < DELIVERY_MARK_INTERVAL_MS) continue;
    noted.add(tenant.accountId);
    const readError: ReadError = {
      kind: 'kms',
      at: new Date(now).toISOString(),
      bucket: error.object.bucket,
      objectKey: error.object.key,
      code: error.code,
      ...(error.keyArn !== undefined ? { keyArn: error.keyArn } : {}),
      roleArn: tenant.roleArn,
      message: error.awsMessage.slice(0, 1000),
    };
    try {
      await record(tenant.accountId, readError);
      deps.readErrorMarks?.set(tenant.accountId, now);
    } catch (caught) {
      deps.logger.warn('could not record the KMS read error', {
        accountId: tenant.accountId,
        error: errorMessage(caught),
      });
    }
  }
}

async function processMessage(
  record: SQSRecord,
  tenant: TenantBinding,
  deps: IngestDeps,
  deadline: number,
): Promise<MessageOutcome> {
  const parsed = parseNotification(record.body);
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
  for (const { object, objectClass } of classified) checkTenantOwnsKey(tenant, object, objectClass);

  let records = 0;
  let filtered = 0;
  let objects = 0;
  for (const { object } of classified) {
    const where = { messageId: record.messageId, bucket: object.bucket, key: object.key, class: object.kind };
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
  }
  deps.logger.info('message processed', { messageId: record.messageId, objects, records, filtered });
  deps.counts.count('MessagesProcessed', 1);
  return { status: 'forwarded', objects, records, filtered };
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
