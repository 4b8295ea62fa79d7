/**
 * BACKFILL, applied (planned by rules/backfill.ts; docs/completeness.md, "Gap backfill"): per region of the trail and
 * per day folder of the window, ListObjectsV2 `<S3KeyPrefix>/AWSLogs/[<org id>/]<account>/CloudTrail/<region>/
 * YYYY/MM/DD/` as the customer role, keep the log files whose delivery time (from their name) is in the window,
 * compare with what the ledger collected of that region's day, and enqueue the others:
 * - customer-queue topology: CloudTrail's own notification (`{"s3Bucket", "s3ObjectKey": [...]}`) on the account's
 *   outcomesqueue, through the customer role (ingest binds the tenant by the queue, as for every message there);
 * - hub topology: the collector's backfill queue, body `{"cloudtrailCollectorBackfill": 1, "accountId", "s3Bucket",
 *   "s3ObjectKey": [...]}`: hub queues accept only SNS envelopes, and ingest binds this body to `accountId` only when
 *   it comes from the backfill queue.
 * At most BACKFILL_FILES_PER_MESSAGE files per message, SendMessageBatch with 10 messages per call.
 *
 * Bounded and resumable: at most `maxFiles` files per run (the listing goes on only to learn whether another file
 * is missing, so a backfill that sent its last file in a run ends there); where it stopped (region, day, last key) is reported
 * through `onProgress` after every batch, and reconcile keeps it on the account's registry item, so the next run
 * continues there (ListObjectsV2 StartAfter). Idempotent: a file enqueued twice (a run that died before its cursor
 * was written, or a file ingest was still processing when it was listed) is read again with the same bucket, key
 * and version, so ingest gives its batches the same idempotency keys and the downstream drops what it has.
 */
import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { GetQueueUrlCommand, SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { backfillMessageBody, fileRef, type LedgerTable } from '../shared/ledger';
import { classifyObjectKey, deliveryTimeOf } from '../shared/object-key';
import type { BackfillCursor, BackfillDone } from '../shared/registry';
import { BACKFILL_FILES_PER_MESSAGE, BACKFILL_MESSAGES_PER_BATCH } from './costs';
import { dayFolders } from './rules/backfill';
import type { BackfillParams } from './types';

/** The ledger read a backfill needs (LedgerTable): what was collected of a region's day. */
export type BackfillLedger = Pick<LedgerTable, 'collectedOn'>;

export type BackfillProgress = { state: 'running'; cursor: BackfillCursor } | { state: 'done'; done: BackfillDone };

export interface BackfillDeps {
  accountId: string;
  /** The customer role's S3 client, in the bucket's region. */
  s3: Pick<S3Client, 'send'>;
  /** The customer role's SQS client (customer-queue) or the collector's own (the backfill queue). */
  sqs: Pick<SQSClient, 'send'>;
  ledger: BackfillLedger;
  now: Date;
  onProgress(progress: BackfillProgress): void;
}

export interface BackfillOutcome {
  /** Files enqueued by this run. */
  enqueued: number;
  /** ListObjectsV2 requests this run sent. */
  listRequests: number;
  done: boolean;
}

/** An organization id folder under `AWSLogs/` (Organizations API Reference: `^o-[a-z0-9]{10,32}$`). */
const ORG_FOLDER = /^o-[a-z0-9]{10,32}$/;
/** A region folder under `CloudTrail/` (the same pattern object-key.ts accepts). */
const REGION_FOLDER = /^[a-z]{2,4}(?:-[a-z]+)+-\d{1,2}$/;

/** The body of one message announcing `keys` (CloudTrail's notification, or the backfill queue's). */
export function backfillBody(
  delivery: BackfillParams['delivery']['to'],
  accountId: string,
  bucket: string,
  keys: readonly string[],
): string {
  return delivery === 'customer-queue'
    ? JSON.stringify({ s3Bucket: bucket, s3ObjectKey: keys })
    : backfillMessageBody(accountId, bucket, keys);
}

export async function runBackfill(
  params: BackfillParams,
  reason: string,
  deps: BackfillDeps,
): Promise<BackfillOutcome> {
  const { accountId } = deps;
  const bucket = params.bucketName;
  let listRequests = 0;
  /** Every page of a prefix (optionally by folder: CommonPrefixes). */
  async function* list(prefix: string, options: { delimiter?: boolean; startAfter?: string } = {}) {
    let token: string | undefined;
    do {
      listRequests += 1;
      const page = await deps.s3.send(
        new ListObjectsV2Command({
          Bucket: bucket,
          Prefix: prefix,
          ExpectedBucketOwner: accountId,
          ...(options.delimiter ? { Delimiter: '/' } : {}),
          ...(token !== undefined ? { ContinuationToken: token } : {}),
          ...(token === undefined && options.startAfter !== undefined ? { StartAfter: options.startAfter } : {}),
        }),
      );
      yield page;
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
  }
  async function folders(prefix: string): Promise<string[]> {
    const names: string[] = [];
    for await (const page of list(prefix, { delimiter: true })) {
      for (const common of page.CommonPrefixes ?? []) {
        const name = common.Prefix?.slice(prefix.length).replace(/\/$/, '');
        if (name) names.push(name);
      }
    }
    return names.sort();
  }

  let logPrefix = params.logPrefix;
  if (params.findOrganization === true) {
    const organizations = (await folders(logPrefix)).filter((name) => ORG_FOLDER.test(name));
    if (organizations.length > 1) {
      throw new Error(
        `s3://${bucket}/${logPrefix} holds the folders of ${organizations.length} organizations (${organizations.join(', ')}): ` +
          "record the account's organizationId (organizations add|sync) so that the backfill lists the right one",
      );
    }
    if (organizations.length === 0) return finish(0);
    logPrefix = `${logPrefix}${organizations[0]}/${accountId}/CloudTrail/`;
  }
  const regions =
    params.resume?.regions ?? params.regions ?? (await folders(logPrefix)).filter((name) => REGION_FOLDER.test(name));

  const startedAt = params.resume?.startedAt ?? deps.now.toISOString();
  let total = params.resume?.enqueued ?? 0;
  let enqueued = 0;
  const queueUrl = await resolveQueueUrl(params.delivery, deps.sqs);
  const until = Date.parse(params.until);

  const cursorAt = (region: string, day: string, startAfter?: string): BackfillCursor => ({
    reason,
    since: params.since,
    until: params.until,
    regions,
    region,
    day,
    ...(startAfter !== undefined ? { startAfter } : {}),
    enqueued: total,
    startedAt,
  });

  /** Sends `keys` (at most one batch: 10 messages of 10 files), then reports where the backfill stands. */
  async function send(keys: string[], region: string, day: string): Promise<void> {
    const entries = [];
    for (let index = 0; index < keys.length; index += BACKFILL_FILES_PER_MESSAGE) {
      entries.push({
        Id: String(entries.length),
        MessageBody: backfillBody(
          params.delivery.to,
          accountId,
          bucket,
          keys.slice(index, index + BACKFILL_FILES_PER_MESSAGE),
        ),
      });
    }
    const result = await deps.sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries }));
    const failed = result.Failed ?? [];
    if (failed.length > 0) {
      throw new Error(
        `SendMessageBatch to ${queueUrl} refused ${failed.length} of ${entries.length} message(s): ` +
          failed.map((f) => `${f.Code ?? 'error'} ${f.Message ?? ''}`.trim()).join('; '),
      );
    }
    enqueued += keys.length;
    total += keys.length;
    deps.onProgress({ state: 'running', cursor: cursorAt(region, day, keys.at(-1)) });
  }

  const batchSize = BACKFILL_FILES_PER_MESSAGE * BACKFILL_MESSAGES_PER_BATCH;
  const firstRegion = params.resume === undefined ? 0 : Math.max(0, regions.indexOf(params.resume.region));
  for (const region of regions.slice(firstRegion)) {
    const resuming = params.resume !== undefined && region === params.resume.region ? params.resume : undefined;
    const regionSince = params.regionSince?.[region] ?? params.since;
    const since = Date.parse(regionSince);
    for (const day of dayFolders(regionSince, params.until)) {
      if (resuming !== undefined && day < resuming.day) continue;
      const startAfter = resuming !== undefined && day === resuming.day ? resuming.startAfter : undefined;
      const collected = await deps.ledger.collectedOn(accountId, region, day);
      let pending: string[] = [];
      for await (const page of list(`${logPrefix}${region}/${day.replaceAll('-', '/')}/`, {
        ...(startAfter !== undefined ? { startAfter } : {}),
      })) {
        for (const object of page.Contents ?? []) {
          const key = object.Key;
          if (key === undefined || !isMissing(key, accountId, since, until, collected, bucket)) continue;
          // The run's files are sent and one more is missing: the next run resumes after the last one sent.
          if (enqueued >= params.maxFiles) return { enqueued, listRequests, done: false };
          pending.push(key);
          if (pending.length === batchSize || enqueued + pending.length === params.maxFiles) {
            await send(pending, region, day);
            pending = [];
          }
        }
      }
      if (pending.length > 0) await send(pending, region, day);
    }
  }
  return finish(enqueued);

  function finish(count: number): BackfillOutcome {
    deps.onProgress({
      state: 'done',
      done: { since: params.since, until: params.until, enqueued: total, finishedAt: deps.now.toISOString() },
    });
    return { enqueued: count, listRequests, done: true };
  }
}

/** A log file of the account, delivered in the window, that the ledger does not hold. */
function isMissing(
  key: string,
  accountId: string,
  since: number,
  until: number,
  collected: ReadonlyMap<string, unknown>,
  bucket: string,
): boolean {
  const kind = classifyObjectKey(key);
  if (kind.type !== 'log' || kind.accountId !== accountId) return false;
  // A name without a delivery time is judged by its day folder alone (it is listed because the folder is in the window).
  const delivered = deliveryTimeOf(key)?.getTime();
  if (delivered !== undefined && (delivered < since || delivered > until)) return false;
  return !collected.has(fileRef(bucket, key));
}

async function resolveQueueUrl(delivery: BackfillParams['delivery'], sqs: Pick<SQSClient, 'send'>): Promise<string> {
  if (delivery.to === 'backfill-queue') return delivery.queueUrl;
  if (delivery.queueUrl !== undefined) return delivery.queueUrl;
  // The queue was created by this run: its URL is asked for by name.
  const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: delivery.queueName }));
  if (!QueueUrl) throw new Error(`GetQueueUrl returned no URL for ${delivery.queueName}`);
  return QueueUrl;
}
