/**
 * In-memory stand-ins for the reconcile job machinery (lambdas/reconcile/sweep.ts, worker.ts): a lease over a
 * MemoryRegistry with the conditional write's semantics (lease.ts RegistryLease, checked against the emulator in
 * test/integration/reconcile-lease.int.test.ts), and a job queue that keeps what was sent.
 */
import type { ReconcileJob, UnsentJob } from '../lambdas/shared/reconcile-job';
import type { LeaseResult, ReconcileLease } from '../lambdas/reconcile/lease';
import type { AccountRecord } from '../lambdas/shared/registry';
import type { MemoryRegistry } from './fake-cloud';

/** The lease on a MemoryRegistry's items: taken when free, expired or already this owner's; released by its owner. */
export class MemoryLease implements ReconcileLease {
  /** Every acquire's answer, in order, for assertions. */
  readonly attempts: { accountId: string; owner: string; result: LeaseResult['kind'] }[] = [];

  constructor(private readonly registry: MemoryRegistry) {}

  acquire(accountId: string, owner: string, now: Date, expiresAt: Date): Promise<LeaseResult> {
    const record = this.registry.records.get(accountId);
    let result: LeaseResult;
    if (record === undefined) {
      result = { kind: 'not-registered' };
    } else if (
      record.reconcileLeaseExpiresAt !== undefined &&
      record.reconcileLeaseExpiresAt > now.toISOString() &&
      record.reconcileLeaseOwner !== owner
    ) {
      result = { kind: 'held', owner: record.reconcileLeaseOwner ?? '', expiresAt: record.reconcileLeaseExpiresAt };
    } else {
      record.reconcileLeaseOwner = owner;
      record.reconcileLeaseExpiresAt = expiresAt.toISOString();
      result = { kind: 'acquired', record: structuredClone(record) };
    }
    this.attempts.push({ accountId, owner, result: result.kind });
    return Promise.resolve(result);
  }

  release(accountId: string, owner: string, fields: Pick<AccountRecord, 'reconcileDueAt'> = {}): Promise<boolean> {
    const record = this.registry.records.get(accountId);
    if (record === undefined || record.reconcileLeaseOwner !== owner) return Promise.resolve(false);
    delete record.reconcileLeaseOwner;
    delete record.reconcileLeaseExpiresAt;
    if (fields.reconcileDueAt !== undefined) record.reconcileDueAt = fields.reconcileDueAt;
    return Promise.resolve(true);
  }
}

/** A job queue that keeps the jobs sent (sendBatch's shape), in 10s as SendMessageBatch would take them. */
export class MemoryJobQueue {
  readonly jobs: ReconcileJob[] = [];
  batches = 0;

  sendBatch(jobs: readonly ReconcileJob[]): Promise<UnsentJob[]> {
    this.batches += Math.ceil(jobs.length / 10);
    this.jobs.push(...structuredClone(jobs));
    return Promise.resolve([]);
  }

  /** Takes every job sent so far, as messages of one SQS batch would carry them. */
  drain(): { messageId: string; receiptHandle: string; body: string }[] {
    return this.jobs.splice(0).map((job, index) => ({
      messageId: `m-${index}-${job.accountId}`,
      receiptHandle: `r-${index}`,
      body: JSON.stringify(job),
    }));
  }
}
