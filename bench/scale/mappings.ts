/**
 * Lambda's SQS event source mappings, one per queue: how many batches each may have at once (its scaling
 * target, capped by MaximumConcurrency), how that target moves, and the idle long polls of its pollers. The
 * figures and the page they follow are in ./model.ts (LAMBDA_SQS).
 */
import type { IdRing } from './event-queue';
import { LAMBDA_SQS, type MappingConfig } from './model';

export class EventSourceMappings {
  /** The scaling target: concurrent batches Lambda allows the mapping now. */
  readonly target: Int32Array;
  /** Batches the mapping has: gathering, held (throttled) or running. */
  readonly active: Int32Array;
  /** The batch whose batching window is open, or -1. */
  readonly gathering: Int32Array;
  /** Throttled since the last scaling tick. */
  readonly throttled: Uint8Array;
  readonly concurrencyCap: number;
  readonly baseBatches: number;
  mostBatches: number;
  private readonly listed: Uint8Array;
  private list: number[] = [];
  private readonly idleCount: Int32Array;
  private readonly idleSince: Float64Array;
  private readonly idleSeconds: Float64Array;

  constructor(
    private readonly rings: readonly IdRing[],
    mapping: MappingConfig,
  ) {
    const queues = rings.length;
    this.concurrencyCap = mapping.maximumConcurrency ?? LAMBDA_SQS.maxBatchesPerMapping;
    // Five batches to start with, never more than MaximumConcurrency.
    this.baseBatches = Math.min(LAMBDA_SQS.initialBatches, this.concurrencyCap);
    this.mostBatches = this.baseBatches;
    this.target = new Int32Array(queues).fill(this.baseBatches);
    this.active = new Int32Array(queues);
    this.gathering = new Int32Array(queues).fill(-1);
    this.throttled = new Uint8Array(queues);
    this.listed = new Uint8Array(queues);
    this.idleCount = new Int32Array(queues);
    this.idleSince = new Float64Array(queues);
    this.idleSeconds = new Float64Array(queues);
  }

  /** Whether the mapping may start another batch. */
  hasRoom(queue: number): boolean {
    return this.active[queue]! < Math.min(this.target[queue]!, this.concurrencyCap);
  }

  addBatch(queue: number): void {
    if (++this.active[queue]! > this.mostBatches) this.mostBatches = this.active[queue]!;
  }

  /** Looked at by the next scaling tick (it has a backlog, was throttled, or is above its base). */
  watch(queue: number): void {
    if (this.listed[queue] === 0) {
      this.listed[queue] = 1;
      this.list.push(queue);
    }
  }

  get watching(): number {
    return this.list.length;
  }

  /**
   * Once a minute: up by at most 300 batches while messages wait and every batch is busy, back towards five
   * when the queue is empty, halved after throttling ("Lambda gradually backs off retries by reducing the amount
   * of concurrency allocated to your Amazon SQS event source mapping", Lambda Developer Guide, "Handling errors
   * for an SQS event source in Lambda"; how fast is not documented). `poll` lets a mapping use a new target.
   */
  tick(poll: (queue: number) => void): void {
    const list = this.list;
    this.list = [];
    for (const queue of list) {
      this.listed[queue] = 0;
      const before = this.target[queue]!;
      const waiting = this.rings[queue]!.length;
      let after = before;
      if (this.throttled[queue] === 1) {
        after = Math.max(this.baseBatches, Math.ceil(before / 2));
        this.throttled[queue] = 0;
      } else if (waiting > 0 && this.active[queue]! >= Math.min(before, this.concurrencyCap)) {
        after = Math.min(this.concurrencyCap, before + LAMBDA_SQS.scaleUpPerMinute);
      } else if (waiting === 0) {
        after = Math.max(this.baseBatches, before - LAMBDA_SQS.scaleUpPerMinute);
      }
      if (after - before > LAMBDA_SQS.scaleUpPerMinute || after > this.concurrencyCap) {
        throw new Error(`mapping ${queue} scaled from ${before} to ${after} batches in one minute`);
      }
      this.target[queue] = after;
      if (after !== this.baseBatches || waiting > 0) this.watch(queue);
      poll(queue);
    }
  }

  /**
   * Idle polling: pollers without a batch long-poll the queue; while it is empty each sends one ReceiveMessage
   * per 20 s (the wait time's maximum). An idle mapping keeps five pollers, also with a MaximumConcurrency below
   * five (the page documents five, and no optimisation below it with the setting). Billed to the queue owner
   * (Amazon SQS pricing; SQS FAQs, shared queues): the customer in the customer-queue topology (docs/costs.md).
   * Call after every change of the queue's length, batches or target.
   */
  touchIdle(queue: number, now: number): void {
    this.idleSeconds[queue]! += this.idleCount[queue]! * (now - this.idleSince[queue]!);
    this.idleSince[queue] = now;
    const pollers = Math.max(this.target[queue]!, LAMBDA_SQS.initialBatches);
    this.idleCount[queue] = this.rings[queue]!.length === 0 ? Math.max(0, pollers - this.active[queue]!) : 0;
  }

  /** Poller-seconds spent on empty long polls so far, all mappings. */
  idlePollerSeconds(now: number): number {
    let total = 0;
    for (let queue = 0; queue < this.rings.length; queue++) {
      this.touchIdle(queue, now);
      total += this.idleSeconds[queue]!;
    }
    return total;
  }
}
