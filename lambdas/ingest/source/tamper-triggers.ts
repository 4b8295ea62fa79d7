import { UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { arnParts, isAccountId } from '../../shared/arn';
import { errorMessage } from '../../shared/errors';
import type { LoggerLike } from '../../shared/logger';
import { classifyObjectKey } from '../../shared/object-key';
import type { ReconcileJob, ReconcileJobQueue } from '../../shared/reconcile-job';
import { ITEM_TYPE_ATTRIBUTE, type AccountRecord, type ChainFields } from '../../shared/registry';
import {
  API_CALL_DETAIL_TYPE,
  TAMPER_CALLS,
  eventBridgeSourceOf,
  matchTamperCall,
  type CallRecord,
  type TamperMatch,
} from '../../shared/tamper-calls';
import type { RecordObject } from '../log-object';
import type { CountSink } from './sqs-batch';

/**
 * Tamper triggers (docs/operations.md, "Triggers"): a chain-changing API call (lambdas/shared/tamper-calls.ts) on
 * an account's registered resource sends a reconcile job for that account, so that the chain is repaired within
 * minutes instead of at the account's next scheduled run. Two paths reach it:
 * - the records ingest forwards: each record is looked at as bytes, and only a record whose `eventName` is one of
 *   the calls is parsed (RecordWatch); a file triggers only for the account it belongs to, and only when that
 *   account is the tenant whose queue announced it (not a log archive's member);
 * - the customer's EventBridge rule, which forwards those calls to the collector's event bus as they happen
 *   (handleEvent): the event's `account`, set by EventBridge, is the only account it can trigger.
 *
 * Debounce: one job covers every call made before it runs. A job is sent with DelaySeconds = `delaySeconds`, and
 * the account's registry item records until when it covers (`tamperTriggerCoveredUntil` = sent + delay), by a
 * conditional write: a call made before that time sends nothing (a burst gives one job; the same call seen
 * through EventBridge and, minutes later, in its log file gives one job).
 */

/** The registry attribute the debounce writes: the ISO time until which a sent job covers the account's calls. */
export const COVERED_UNTIL_ATTRIBUTE = 'tamperTriggerCoveredUntil' satisfies keyof AccountRecord;

/** Where the debounce is kept: the account's registry item. */
export interface TriggerClaims {
  /**
   * Records that a job sent now covers calls until `coveredUntil`, only if the last job's coverage ended at or
   * before `eventTime` (so that job does not cover this call). False when already covered, or not registered.
   */
  claim(accountId: string, eventTime: string, coveredUntil: string): Promise<boolean>;
  /** Undoes a claim whose job could not be sent (only if it is still this one). */
  release(accountId: string, coveredUntil: string): Promise<void>;
}

/** TriggerClaims on the registry table (one UpdateItem per claim; GetItem-free). */
export class RegistryTriggerClaims implements TriggerClaims {
  constructor(
    private readonly db: Pick<DynamoDBDocumentClient, 'send'>,
    private readonly tableName: string,
  ) {}

  async claim(accountId: string, eventTime: string, coveredUntil: string): Promise<boolean> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { accountId },
          UpdateExpression: 'SET #covered = :until',
          // An account item only (organization items carry ITEM_TYPE_ATTRIBUTE), and not covered yet.
          ConditionExpression:
            'attribute_exists(accountId) AND attribute_not_exists(#type) AND (attribute_not_exists(#covered) OR #covered <= :event)',
          ExpressionAttributeNames: { '#covered': COVERED_UNTIL_ATTRIBUTE, '#type': ITEM_TYPE_ATTRIBUTE },
          ExpressionAttributeValues: { ':until': coveredUntil, ':event': eventTime },
        }),
      );
      return true;
    } catch (error) {
      if ((error as { name?: string }).name === 'ConditionalCheckFailedException') return false;
      throw error;
    }
  }

  async release(accountId: string, coveredUntil: string): Promise<void> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { accountId },
          UpdateExpression: 'REMOVE #covered',
          ConditionExpression: '#covered = :until',
          ExpressionAttributeNames: { '#covered': COVERED_UNTIL_ATTRIBUTE },
          ExpressionAttributeValues: { ':until': coveredUntil },
        }),
      );
    } catch (error) {
      if ((error as { name?: string }).name !== 'ConditionalCheckFailedException') throw error;
    }
  }
}

export interface TamperTriggerDeps {
  /** The account's chain as registered (AccountsRegistry.get); cached here for `cacheTtlMs`. */
  registry: { get(accountId: string): Promise<Pick<AccountRecord, 'accountId' | keyof ChainFields> | undefined> };
  claims: TriggerClaims;
  jobs: Pick<ReconcileJobQueue, 'send'>;
  logger: LoggerLike;
  counts: CountSink;
  /** SQS DelaySeconds of each job (0-900), and the debounce window. */
  delaySeconds: number;
  now?: () => number;
  /** How long a registry lookup is reused (default 60 s): lookups happen only for files holding candidate calls. */
  cacheTtlMs?: number;
}

/** What RecordWatch keeps per file at most: records whose eventName is a candidate's. */
const MAX_CANDIDATES_PER_FILE = 1000;
const CACHE_MAX_ACCOUNTS = 10_000;

/** `"eventName":"` as the splitter returns records (compact JSON: no whitespace outside strings). */
const EVENT_NAME_KEY = Buffer.from('"eventName":"');
/** The candidate names by byte length, as buffers: the prefilter compares bytes and allocates nothing. */
const NAMES_BY_LENGTH: Buffer[][] = [];
for (const name of new Set(TAMPER_CALLS.map((c) => c.eventName))) {
  (NAMES_BY_LENGTH[name.length] ??= []).push(Buffer.from(name));
}
const QUOTE = 0x22;

/**
 * Whether a record's `eventName` is one of TAMPER_CALLS' names, from its bytes alone: the first `"eventName":"`
 * (CloudTrail writes the top-level member before `requestParameters`, and a nested one inside a string value is
 * escaped, `\"eventName\"`, so it cannot match) and the bytes up to the next quote. No allocation, no parse.
 */
export function isTamperCandidate(record: Buffer): boolean {
  const key = record.indexOf(EVENT_NAME_KEY);
  if (key < 0) return false;
  const start = key + EVENT_NAME_KEY.length;
  const end = record.indexOf(QUOTE, start);
  if (end < 0) return false;
  const names = NAMES_BY_LENGTH[end - start];
  if (names === undefined) return false;
  for (const name of names) if (record.compare(name, 0, name.length, start, end) === 0) return true;
  return false;
}

/** Watches the records of one file as they are forwarded (pipeline.ts calls see() per chunk, done() at the end). */
export interface RecordWatch {
  see(records: readonly Buffer[]): void;
  /** After every record was forwarded: sends the account's job if a call was recognised. Never throws. */
  done(): Promise<void>;
}

/** What an EventBridge event for an "AWS API Call via CloudTrail" looks like, as far as it is read. */
interface ApiCallEvent {
  version?: unknown;
  'detail-type'?: unknown;
  source?: unknown;
  account?: unknown;
  region?: unknown;
  time?: unknown;
  detail?: unknown;
}

export type EventOutcome =
  { status: 'sent' | 'covered'; accountId: string; match: TamperMatch } | { status: 'rejected'; reason: string };

export class TamperTriggers {
  private readonly now: () => number;
  private readonly cacheTtlMs: number;
  private readonly chains = new Map<string, { at: number; chain: Promise<ChainFields | undefined> }>();

  constructor(private readonly deps: TamperTriggerDeps) {
    this.now = deps.now ?? Date.now;
    this.cacheTtlMs = deps.cacheTtlMs ?? 60_000;
  }

  /**
   * A watch for one file read for `tenantAccountId`, or undefined when the file cannot trigger: its key names no
   * account, or another account than the tenant (a log archive's member: that member's own rule covers it).
   */
  watch(object: Pick<RecordObject, 'key'>, tenantAccountId: string): RecordWatch | undefined {
    const where = classifyObjectKey(object.key);
    if (where.type === 'other' || where.accountId !== tenantAccountId) return undefined;
    const accountId = where.accountId;
    // Copies: a record may be a view of a decoded chunk. Only candidates are kept, a few in a typical file.
    const candidates: Buffer[] = [];
    let dropped = 0;
    return {
      see: (records) => {
        for (const record of records) {
          if (!isTamperCandidate(record)) continue;
          if (candidates.length < MAX_CANDIDATES_PER_FILE) candidates.push(Buffer.from(record));
          else dropped += 1;
        }
      },
      done: async () => {
        if (candidates.length === 0) return;
        if (dropped > 0) {
          this.deps.logger.warn('more candidate calls in one log file than are looked at', {
            accountId,
            key: object.key,
            lookedAt: candidates.length,
            dropped,
          });
        }
        try {
          // Only now, for a file that holds candidates, the account's chain (cached).
          const chain = await this.chainOf(accountId);
          if (chain === undefined) return;
          const needles = resourceNeedles(chain);
          const matches: TamperMatch[] = [];
          for (const record of candidates) {
            // A record that names none of the registered resources is not parsed.
            if (!needles.some((needle) => record.includes(needle))) continue;
            const parsed = parseRecord(record);
            const match = parsed === undefined ? undefined : matchTamperCall(parsed, accountId, chain);
            if (match !== undefined) matches.push(match);
          }
          // The latest call: if a job covers it, it covers every earlier one.
          const latest = matches.sort((a, b) => (a.eventTime ?? '').localeCompare(b.eventTime ?? '')).at(-1);
          if (latest !== undefined) await this.trigger(accountId, latest, 'ingest');
        } catch (error) {
          this.deps.counts.count('TamperTriggersFailed', 1);
          this.deps.logger.error('tamper trigger failed: the scheduled run repairs the chain instead', {
            accountId,
            key: object.key,
            error: errorMessage(error),
          });
        }
      },
    };
  }

  /**
   * An EventBridge event from a customer's rule (lib/customer-account.stack.ts): an "AWS API Call via CloudTrail"
   * event of one of TAMPER_CALLS, whose `account` (set by EventBridge: the account the call was recorded in) is
   * registered and whose call acted on that account's registered resource. Anything else is rejected (logged and
   * counted, never retried: the same event cannot become valid). A failure to send the job throws (Lambda retries
   * the asynchronous invocation).
   */
  async handleEvent(event: unknown): Promise<EventOutcome> {
    const checked = checkApiCallEvent(event);
    if ('reason' in checked) return this.reject(checked.reason, event);
    const { accountId, detail } = checked;
    const chain = await this.chainOf(accountId);
    if (chain === undefined) return this.reject(`account ${accountId} is not registered`, event);
    const match = matchTamperCall(detail, accountId, chain);
    if (match === undefined) {
      return this.reject(
        `${String(detail.eventSource)} ${String(detail.eventName)} does not act on a resource registered for account ${accountId}, or failed`,
        event,
      );
    }
    const status = await this.trigger(accountId, match, 'eventbridge');
    return { status, accountId, match };
  }

  private reject(reason: string, event: unknown): EventOutcome {
    const { id, account, source } = (typeof event === 'object' && event !== null ? event : {}) as Record<
      string,
      unknown
    >;
    this.deps.counts.count('TamperEventsRejected', 1);
    this.deps.logger.warn('tamper event rejected', { reason, eventId: id, account, source });
    return { status: 'rejected', reason };
  }

  /** Claims the debounce and sends the job; 'covered' when a job already sent runs after this call. */
  private async trigger(
    accountId: string,
    match: TamperMatch,
    via: 'ingest' | 'eventbridge',
  ): Promise<'sent' | 'covered'> {
    const now = this.now();
    const eventTime = isoTime(match.eventTime) ?? new Date(now).toISOString();
    const coveredUntil = new Date(now + this.deps.delaySeconds * 1000).toISOString();
    const where = { accountId, via, eventName: match.eventName, resourceArn: match.resourceArn, eventTime };
    if (!(await this.deps.claims.claim(accountId, eventTime, coveredUntil))) {
      this.deps.counts.count('TamperTriggersCovered', 1);
      this.deps.logger.info('tamper call seen: a reconcile job already sent covers it', where);
      return 'covered';
    }
    const job: ReconcileJob = {
      kind: 'reconcile-account',
      accountId,
      // As the schedule does: the plan itself keeps report-mode accounts read-only.
      mode: 'apply',
      reason: 'trigger',
      requestedAt: new Date(now).toISOString(),
      trigger: {
        eventSource: match.eventSource,
        eventName: match.eventName,
        resourceArn: match.resourceArn,
        ...(match.eventTime !== undefined ? { eventTime: match.eventTime } : {}),
        via,
      },
    };
    try {
      await this.deps.jobs.send(job, { delaySeconds: this.deps.delaySeconds });
    } catch (error) {
      // Without the job the claim would silence the account's next calls for the whole window.
      await this.deps.claims.release(accountId, coveredUntil).catch(() => undefined);
      throw error;
    }
    this.deps.counts.count('TamperTriggersSent', 1);
    this.deps.logger.info('tamper call seen: reconcile job sent', { ...where, delaySeconds: this.deps.delaySeconds });
    return 'sent';
  }

  /** The account's registered chain, looked up once per `cacheTtlMs`; undefined when not registered. */
  private chainOf(accountId: string): Promise<ChainFields | undefined> {
    const now = this.now();
    const cached = this.chains.get(accountId);
    if (cached !== undefined && now - cached.at < this.cacheTtlMs) return cached.chain;
    if (this.chains.size >= CACHE_MAX_ACCOUNTS) this.chains.clear();
    const chain = this.deps.registry.get(accountId);
    this.chains.set(accountId, { at: now, chain });
    // A failed lookup is not kept.
    chain.catch(() => this.chains.delete(accountId));
    return chain;
  }
}

function parseRecord(record: Buffer): CallRecord | undefined {
  try {
    const value = JSON.parse(record.toString('utf8')) as unknown;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
    const { eventSource, eventName, errorCode, awsRegion, eventTime, recipientAccountId, requestParameters } =
      value as CallRecord;
    return { eventSource, eventName, errorCode, awsRegion, eventTime, recipientAccountId, requestParameters };
  } catch {
    return undefined;
  }
}

/**
 * Byte strings one of which a record acting on a registered resource must hold (its request parameter names it):
 * the trail's name (in its ARN or alone), the bucket's name, the topic's ARN (also the start of its subscriptions'),
 * the queue's name (the end of its URL).
 */
function resourceNeedles(chain: ChainFields): Buffer[] {
  const names = [
    chain.trailArn !== undefined ? arnParts(chain.trailArn).name : undefined,
    chain.bucketName,
    chain.topicArn,
    chain.queueArn !== undefined ? arnParts(chain.queueArn).name : undefined,
  ];
  return names.filter((name): name is string => name !== undefined && name !== '').map((name) => Buffer.from(name));
}

/** An ISO time normalised to toISOString's form (CloudTrail writes `...:00Z`, without milliseconds). */
function isoTime(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
}

const EVENT_SOURCES = new Map(TAMPER_CALLS.map((c) => [eventBridgeSourceOf(c.eventSource), c.eventSource]));

/**
 * The envelope checks of an EventBridge event ("Amazon EventBridge events", EventBridge User Guide: `version`,
 * `id`, `detail-type`, `source`, `account`, `time`, `region`, `resources`, `detail`): an API call recorded by
 * CloudTrail, from one of the services of TAMPER_CALLS, whose detail is that service's record, in the event's
 * account and Region.
 */
function checkApiCallEvent(event: unknown): { accountId: string; detail: CallRecord } | { reason: string } {
  if (typeof event !== 'object' || event === null || Array.isArray(event)) return { reason: 'not a JSON object' };
  const e = event as ApiCallEvent;
  if (e['detail-type'] !== API_CALL_DETAIL_TYPE) {
    return { reason: `detail-type must be "${API_CALL_DETAIL_TYPE}", got ${JSON.stringify(e['detail-type'])}` };
  }
  const eventSource = typeof e.source === 'string' ? EVENT_SOURCES.get(e.source) : undefined;
  if (eventSource === undefined) return { reason: `source ${JSON.stringify(e.source)} is not one the rule forwards` };
  if (!isAccountId(e.account)) return { reason: `account must be 12 digits, got ${JSON.stringify(e.account)}` };
  if (typeof e.detail !== 'object' || e.detail === null || Array.isArray(e.detail)) {
    return { reason: 'detail must be a JSON object (the CloudTrail record)' };
  }
  const detail = e.detail as CallRecord;
  if (detail.eventSource !== eventSource) {
    return {
      reason: `detail.eventSource ${JSON.stringify(detail.eventSource)} does not match source ${String(e.source)}`,
    };
  }
  if (detail.awsRegion !== e.region) {
    return {
      reason: `detail.awsRegion ${JSON.stringify(detail.awsRegion)} is not the event's region ${JSON.stringify(e.region)}`,
    };
  }
  return { accountId: e.account, detail };
}

/** Whether a Lambda event is an EventBridge event rather than an SQS batch (the ingest handler takes both). */
export function isEventBridgeEvent(event: unknown): boolean {
  return typeof event === 'object' && event !== null && 'detail-type' in event && !('Records' in event);
}
