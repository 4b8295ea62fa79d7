/**
 * The ingest function's concurrency budget over one reconcile run (customer-queue topology). Lambda throttles
 * the batches of SQS mappings when the function's reserved concurrency is below the sum of their
 * MaximumConcurrency (Lambda Developer Guide, "Configuring scaling behavior for SQS event source mappings",
 * "Configuring maximum concurrency for Amazon SQS event sources"), and throttled receives count towards
 * maxReceiveCount. Every collector mapping has MaximumConcurrency = ESM_MAXIMUM_CONCURRENCY (rules/esm.ts repairs
 * one that differs), so the sum is the number of mappings times that figure.
 *
 * The mappings are counted from the registry (each account's recorded eventSourceMappingUuid) and the hub
 * queues, never listed: Lambda's control plane allows 15 requests a second per account, shared by every caller.
 * Accounts are reconciled concurrently, so the planner's figure (capacityFor) is checked again, and taken, when a
 * mapping is created (claim): two accounts cannot both take the last slot.
 */
import { CollectorError } from '../shared/errors';
import type { AccountRecord } from '../shared/registry';
import { BACKFILL_MAXIMUM_CONCURRENCY } from '../shared/topology';
import type { IngestCapacity } from './types';

export class IngestCapacityError extends CollectorError {}

export class MappingBudget {
  private constructor(
    readonly reservedConcurrency: number,
    readonly perMapping: number,
    /** Mappings of the function now: the recorded ones and the hub queues', plus those this run created. */
    private mappings: number,
  ) {}

  /** The budget of a run over `records`; undefined when no reserved concurrency is configured (no limit checked). */
  /** `records` may be a count of the recorded mappings already made (a reconcile job carries it: sweep.ts). */
  static of(
    records: readonly Pick<AccountRecord, 'eventSourceMappingUuid'>[] | number,
    settings: {
      ingestReservedConcurrency?: number;
      esmMaximumConcurrency?: number;
      hubQueueArns?: readonly string[];
      backfill?: { queueUrl?: string };
    },
  ): MappingBudget | undefined {
    if (settings.ingestReservedConcurrency === undefined) return undefined;
    const recorded =
      typeof records === 'number'
        ? records
        : records.filter((record) => record.eventSourceMappingUuid !== undefined).length;
    // The backfill queue's mapping (hub topology) runs at BACKFILL_MAXIMUM_CONCURRENCY, not the mappings' figure:
    // it is taken off the reserved concurrency the other mappings share.
    const backfill = settings.backfill?.queueUrl !== undefined ? BACKFILL_MAXIMUM_CONCURRENCY : 0;
    return new MappingBudget(
      settings.ingestReservedConcurrency - backfill,
      settings.esmMaximumConcurrency ?? 2,
      recorded + (settings.hubQueueArns?.length ?? 0),
    );
  }

  /** What the planner sees for this account: every mapping but the account's own recorded one. */
  capacityFor(record: Pick<AccountRecord, 'eventSourceMappingUuid'>): IngestCapacity {
    return { reservedConcurrency: this.reservedConcurrency, otherMappings: this.others(record) };
  }

  /** Takes a slot for the account's new mapping; throws IngestCapacityError (the action fails) when none is left. */
  claim(record: Pick<AccountRecord, 'eventSourceMappingUuid' | 'accountId'>): void {
    const mappings = this.others(record) + 1;
    if (mappings * this.perMapping > this.reservedConcurrency) {
      throw new IngestCapacityError(
        `INGEST_CAPACITY_EXCEEDED: a mapping for account ${record.accountId} would make ${mappings} mapping(s) x ` +
          `MaximumConcurrency ${this.perMapping} = ${mappings * this.perMapping}, more than the reserved concurrency ` +
          `${this.reservedConcurrency}; other accounts of this run took the last slots`,
      );
    }
    // A recorded mapping that is gone was counted already: its replacement takes its slot.
    if (record.eventSourceMappingUuid === undefined) this.mappings += 1;
  }

  /** Frees the slot of a deleted mapping (a retired customer queue). */
  release(record: Pick<AccountRecord, 'eventSourceMappingUuid'>): void {
    if (record.eventSourceMappingUuid !== undefined) this.mappings -= 1;
  }

  private others(record: Pick<AccountRecord, 'eventSourceMappingUuid'>): number {
    return this.mappings - (record.eventSourceMappingUuid !== undefined ? 1 : 0);
  }
}
