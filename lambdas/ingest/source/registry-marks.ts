import { errorMessage } from '../../shared/errors';
import type { ReadError } from '../../shared/registry';
import type { KmsReadError } from '../s3-read';
import type { IngestDeps } from './sqs-batch';
import type { TenantBinding } from './tenant';

/** Minimum time between two `lastRecordAt` (or `lastReadError`) writes for one account from one process. */
export const DELIVERY_MARK_INTERVAL_MS = 5 * 60_000;

type MarkDeps = Pick<IngestDeps, 'registry' | 'deliveryMarks' | 'readErrorMarks' | 'logger'>;

/**
 * Whether this process may write the mark `key` again: never written, or last written DELIVERY_MARK_INTERVAL_MS
 * ago or more (`marks` absent: always). The writer sets `marks.set(key, now)` once its write succeeded. Used for
 * `lastRecordAt`, `lastReadError` and the ledger's newest file per account and region (ledger-writes.ts).
 */
export function markIsDue(marks: ReadonlyMap<string, number> | undefined, key: string, now: number): boolean {
  const last = marks?.get(key);
  return last === undefined || now - last >= DELIVERY_MARK_INTERVAL_MS;
}

/**
 * Records that data arrived from these accounts (for COLLECTION_STALE and its alarm): the tenants, and the members
 * whose files a log archive forwarded. Best effort: a failed write is logged and never fails a message whose
 * records were delivered. An account that is not registered is left alone (recordDelivery's condition).
 */
export async function noteDeliveries(accountIds: Iterable<string>, deps: MarkDeps): Promise<void> {
  const now = Date.now();
  for (const accountId of new Set(accountIds)) {
    if (!markIsDue(deps.deliveryMarks, accountId, now)) continue;
    try {
      await deps.registry.recordDelivery(accountId, new Date(now).toISOString());
      deps.deliveryMarks?.set(accountId, now);
    } catch (error) {
      deps.logger.warn('could not record the last delivery time', { accountId, error: errorMessage(error) });
    }
  }
}

/**
 * Records on each account the last log file S3 could not decrypt (for TRAIL_KMS_UNREADABLE), at most every
 * DELIVERY_MARK_INTERVAL_MS per account from one process. Best effort, like noteDeliveries: the message has failed
 * already and stays queued whatever happens here.
 */
export async function noteReadErrors(
  unreadable: readonly { tenant: TenantBinding; error: KmsReadError }[],
  deps: MarkDeps,
): Promise<void> {
  const record = deps.registry.recordReadError?.bind(deps.registry);
  if (record === undefined) return;
  const now = Date.now();
  const noted = new Set<string>();
  for (const { tenant, error } of unreadable) {
    if (noted.has(tenant.accountId)) continue;
    if (!markIsDue(deps.readErrorMarks, tenant.accountId, now)) continue;
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
