/**
 * What the soak sees of each batch, from outside the code under test: receives per message, acknowledgements,
 * messages handed to two pollers at once, batch durations, the backoffs ingest applied, and, around the long
 * outage, what each phase cost (receives, messages deferred by an open circuit, S3 reads).
 */
import type { SQSRecord } from 'aws-lambda';
import type { BatchResult, MessageOutcome } from '../../lambdas/ingest/source/sqs-batch';
import type { PollTotals } from '../../lambdas/ingest/source/queue-poller';
import type { Phase } from './outages';

export interface PhaseFigures {
  receives: number;
  acknowledged: number;
  /** Failed without being read: the downstream circuit was open (or a probe was out). */
  deferred: number;
  /** Failed for another passing reason (the downstream, S3, STS), or poison left failed. */
  failed: number;
  deadLettered: number;
  s3Reads: number;
}

const emptyPhase = (): PhaseFigures => ({
  receives: 0,
  acknowledged: 0,
  deferred: 0,
  failed: 0,
  deadLettered: 0,
  s3Reads: 0,
});

/** sqs-batch.ts's and the guarded sink's DownstreamUnavailableError messages. */
const DEFERRED = /^downstream circuit /;

export class SoakObserver {
  readonly totals: PollTotals = { batches: 0, received: 0, deleted: 0, failed: 0 };
  readonly receives = new Map<string, number>();
  readonly acknowledgements = new Map<string, number>();
  readonly deliveredConcurrently = new Set<string>();
  readonly batchMs: number[] = [];
  readonly phases: Record<Phase, PhaseFigures> = { before: emptyPhase(), during: emptyPhase(), after: emptyPhase() };
  /** Per message, the outcome of each receive in order (`forwarded 12`, `deferred`, `failed`, ...): for diagnosis. */
  readonly history = new Map<string, string[]>();
  /** The highest ApproximateReceiveCount any message arrived with. */
  maxReceiveCount = 0;
  acknowledged = 0;
  lastAcknowledgedAt = 0;
  private readonly inProgress = new Map<string, number>();
  /** Messages ingest hid for their backoff, until when. */
  private readonly hiddenUntil = new Map<string, number>();

  started(records: readonly SQSRecord[], phase: Phase): void {
    for (const record of records) {
      const id = record.messageId;
      this.receives.set(id, (this.receives.get(id) ?? 0) + 1);
      this.hiddenUntil.delete(id);
      if ((this.inProgress.get(id) ?? 0) > 0) this.deliveredConcurrently.add(id);
      this.inProgress.set(id, (this.inProgress.get(id) ?? 0) + 1);
      this.maxReceiveCount = Math.max(this.maxReceiveCount, Number(record.attributes.ApproximateReceiveCount) || 1);
    }
    this.phases[phase].receives += records.length;
  }

  /** `result` undefined: the handler threw (every message comes back). */
  finished(records: readonly SQSRecord[], result: BatchResult | undefined, startedAt: number, phase: Phase): void {
    const now = Date.now();
    for (const record of records)
      this.inProgress.set(record.messageId, (this.inProgress.get(record.messageId) ?? 1) - 1);
    this.batchMs.push(now - startedAt);
    this.totals.batches += 1;
    this.totals.received += records.length;
    if (!result) {
      this.totals.failed += records.length;
      this.phases[phase].failed += records.length;
      return;
    }
    const figures = this.phases[phase];
    for (const [messageId, outcome] of result.outcomes) {
      this.note(messageId, outcome);
      if (outcome.status === 'failed') {
        if (DEFERRED.test(outcome.error)) figures.deferred += 1;
        else figures.failed += 1;
        if (outcome.retryInSeconds !== undefined) this.hiddenUntil.set(messageId, now + outcome.retryInSeconds * 1000);
        continue;
      }
      if (outcome.status === 'dead-lettered') figures.deadLettered += 1;
      figures.acknowledged += 1;
      this.acknowledgements.set(messageId, (this.acknowledgements.get(messageId) ?? 0) + 1);
      this.hiddenUntil.delete(messageId);
    }
    const failed = result.batchItemFailures.length;
    this.totals.failed += failed;
    this.totals.deleted += records.length - failed;
    this.acknowledged += records.length - failed;
    if (records.length > failed) this.lastAcknowledgedAt = now;
  }

  private note(messageId: string, outcome: MessageOutcome): void {
    const what =
      outcome.status === 'forwarded'
        ? `forwarded ${outcome.records}`
        : outcome.status === 'failed'
          ? `${DEFERRED.test(outcome.error) ? 'deferred' : 'failed'}: ${outcome.error.slice(0, 160)}`
          : outcome.status;
    const history = this.history.get(messageId);
    if (history) history.push(what);
    else this.history.set(messageId, [what]);
  }

  /** Messages hidden for their backoff right now (the producer does not count them as backlog). */
  hidden(now: number): number {
    let count = 0;
    for (const [id, until] of this.hiddenUntil) {
      if (until > now) count += 1;
      else this.hiddenUntil.delete(id);
    }
    return count;
  }
}
