/**
 * The discrete-event simulation of one ingest topology: SQS queues, Lambda's SQS event source mappings, the
 * ingest function's reserved concurrency and the downstream, on a virtual clock (./event-queue.ts). Each AWS
 * behaviour cites the page it follows; ./model.ts holds the figures.
 */
import { retryVisibilitySeconds } from '../../lambdas/shared/topology';
import { EventQueue, IdRing, seededUniform } from './event-queue';
import { IngestEnvironments } from './ingest-function';
import { EventSourceMappings } from './mappings';
import {
  FILE_INTERVAL_SECONDS,
  LAMBDA_SQS,
  drawFileBytes,
  recordsOfFile,
  type ProcessingModel,
  type TopologyConfig,
  type Workload,
} from './model';
import {
  BATCH_GATHERING,
  BATCH_HELD,
  BATCH_RETURNING,
  BATCH_RUNNING,
  BatchStore,
  DeliveryLog,
  FileStore,
  MESSAGE_DEAD_LETTERED,
  MESSAGE_DELIVERED,
  MESSAGE_IN_FLIGHT,
  MESSAGE_IN_QUEUE,
} from './store';
import {
  PHASE_AFTER_OUTAGE,
  PHASE_BEFORE_OUTAGE,
  PHASE_DURING_OUTAGE,
  TENANT_CO_SHARD,
  TENANT_HOT,
  TENANT_OTHER,
  emptyCounters,
  type Counters,
  type SimulationResult,
} from './results';

// Imports copied once into local bindings: tsx compiles each module to CommonJS, where every use of an imported
// binding is a getter call, and these are used millions of times a run.
const [IN_QUEUE, IN_FLIGHT, DELIVERED, DEAD_LETTERED] = [
  MESSAGE_IN_QUEUE,
  MESSAGE_IN_FLIGHT,
  MESSAGE_DELIVERED,
  MESSAGE_DEAD_LETTERED,
] as const;
const [GATHERING, HELD, RUNNING, RETURNING] = [BATCH_GATHERING, BATCH_HELD, BATCH_RUNNING, BATCH_RETURNING] as const;
const [HOT, CO_SHARD, OTHER] = [TENANT_HOT, TENANT_CO_SHARD, TENANT_OTHER] as const;
const [BEFORE_OUTAGE, DURING_OUTAGE, AFTER_OUTAGE] = [
  PHASE_BEFORE_OUTAGE,
  PHASE_DURING_OUTAGE,
  PHASE_AFTER_OUTAGE,
] as const;
const MESSAGES_PER_REQUEST = LAMBDA_SQS.messagesPerReceive;
const backoffSeconds = retryVisibilitySeconds;
const drawBytes = drawFileBytes;
const recordsOf = recordsOfFile;

const ARRIVAL = 1;
const BATCH_READY = 2;
const HOLD_EXPIRED = 3;
const INVOCATION_END = 4;
const RETURN_VISIBLE = 5;
const SCALE_TICK = 6;
const OUTAGE_END = 7;
const WINDOW_START = 8;
const WINDOW_END = 9;
const RETURN_GROUP = 10;

/** Runs one topology against one workload until every file is delivered or dead-lettered. */
export function simulate(topology: TopologyConfig, workload: Workload, processing: ProcessingModel): SimulationResult {
  const clock = new EventQueue();
  // Separate streams: the workload (arrivals, sizes) is the same for every topology with the same seed.
  const workRandom = seededUniform(workload.seed * 7 + 1);
  const engineRandom = seededUniform(workload.seed * 7 + 2);
  const { mapping } = topology;
  const queues = topology.queueCount;
  const hotQueue = topology.queueOfAccount[workload.hotAccount]!;

  // Log files: one Poisson stream per active region, merged (rate = regions / 300 s), account by ticket.
  let totalRegions = 0;
  for (const r of workload.regions) totalRegions += r;
  const tickets = new Int32Array(totalRegions);
  for (let owner = 0, at = 0; owner < workload.accounts; owner++) {
    for (let r = 0; r < workload.regions[owner]!; r++) tickets[at++] = owner;
  }
  const arrivalRate = totalRegions / FILE_INTERVAL_SECONDS;
  const expectedFiles = Math.ceil(workload.hotBacklog + arrivalRate * workload.arrivalsEndSeconds * 1.05 + 1024);
  const files = new FileStore(expectedFiles);
  const delivered = new DeliveryLog(expectedFiles);
  const batches = new BatchStore(mapping.batchSize);

  // Queues and their mappings.
  const rings = Array.from({ length: queues }, () => new IdRing());
  const mappings = new EventSourceMappings(rings, mapping);

  // The function: reserved concurrency, and the batches Lambda holds while it is throttled.
  let running = 0;
  const heldPool: number[] = [];
  const { outage } = workload;
  const downstreamUp = (at: number) => at < outage.startSeconds || at >= outage.endSeconds;
  const ingest = new IngestEnvironments(
    topology.reservedConcurrency,
    processing,
    topology.circuitBreaker,
    downstreamUp,
  );
  const sizes: number[] = [];
  /** Failed messages on their way back, by (second they become visible) x queues + queue. */
  const pendingReturns = new Map<number, number[]>();

  const totals = emptyCounters();
  const quiet = emptyCounters();
  let quietStart: Counters | undefined;
  let throttledBatches = 0;
  let throttleExpiries = 0;
  let peakRunning = 0;
  let peakUnsettled = 0;
  let maxReceives = 0;
  let deadLettered = 0;
  let recordsCreated = 0;
  let recordsDelivered = 0;
  let recordsDeadLettered = 0;
  let successfulFiles = 0;
  let successfulSeconds = 0;
  let hotBacklogOpen = workload.hotBacklog;
  let hotBacklogDrainedAt = 0;
  let openBeforeOutageEnd = 0;
  let outageClearedAt: number | undefined;
  let events = 0;
  const unsettled = () => files.count - delivered.count - deadLettered;

  function addFile(owner: number, at: number): number {
    const id = files.add(owner, at, drawBytes(workRandom));
    if (unsettled() > peakUnsettled) peakUnsettled = unsettled();
    recordsCreated += recordsOf(files.bytes[id]!);
    if (at < workload.outage.endSeconds) openBeforeOutageEnd++;
    totals.sendRequests++;
    return id;
  }

  /** Settles a file for good; a file is delivered or dead-lettered exactly once (self-check). */
  function settle(id: number, outcome: typeof DELIVERED | typeof DEAD_LETTERED): void {
    const previous = files.state[id];
    if (previous === DELIVERED || previous === DEAD_LETTERED) {
      throw new Error(`${topology.name}: file ${id} settled twice`);
    }
    files.state[id] = outcome;
    const records = recordsOf(files.bytes[id]!);
    const born = files.born[id]!;
    if (outcome === DELIVERED) {
      const owner = files.account[id]!;
      const tenant =
        owner === workload.hotAccount
          ? HOT
          : topology.kind === 'hub' && topology.queueOfAccount[owner] === hotQueue
            ? CO_SHARD
            : OTHER;
      const phase =
        born < workload.outage.startSeconds
          ? BEFORE_OUTAGE
          : born < workload.outage.endSeconds
            ? DURING_OUTAGE
            : AFTER_OUTAGE;
      delivered.add(clock.now - born, phase * 3 + tenant, born);
      recordsDelivered += records;
      totals.filesDelivered++;
    } else {
      deadLettered++;
      recordsDeadLettered += records;
    }
    // The backlog's files are the first ids.
    if (id < workload.hotBacklog && --hotBacklogOpen === 0) hotBacklogDrainedAt = clock.now;
    if (born < workload.outage.endSeconds && --openBeforeOutageEnd === 0 && clock.now >= workload.outage.endSeconds) {
      outageClearedAt = clock.now - workload.outage.endSeconds;
    }
  }

  /**
   * A receive: SQS increments the message's ApproximateReceiveCount; a message already received maxReceiveCount
   * times is moved to the dead-letter queue instead ("moves messages after the value of maxReceiveCount is
   * exceeded": SQS Developer Guide, "Using dead-letter queues in Amazon SQS",
   * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html).
   */
  function receiveInto(queue: number, b: number): void {
    const id = rings[queue]!.shift();
    if (files.receives[id]! >= topology.maxReceiveCount) {
      settle(id, DEAD_LETTERED);
      return;
    }
    const count = ++files.receives[id]!;
    if (count > maxReceives) maxReceives = count;
    files.state[id] = IN_FLIGHT;
    batches.append(b, id);
  }

  function makeVisible(queue: number, id: number): void {
    files.state[id] = IN_QUEUE;
    rings[queue]!.push(id);
  }

  /**
   * The mapping polls while it has fewer batches than allowed: min(scaling target, MaximumConcurrency). A batch
   * takes up to BatchSize messages (10 per ReceiveMessage); with a batching window Lambda keeps gathering until
   * the batch is full or the window ends (Lambda API Reference, MaximumBatchingWindowInSeconds). Best-effort
   * ordering of a standard queue is modelled as oldest first, the pessimistic case for tenants behind a backlog
   * (SQS Developer Guide, "Amazon SQS standard queues": "occasionally, messages are delivered in an order
   * different from which they were sent").
   */
  function tryReceive(queue: number): void {
    const ring = rings[queue]!;
    const batchCap = batches.batchCap;
    for (;;) {
      const open = mappings.gathering[queue]!;
      if (open >= 0) {
        while (ring.length > 0 && batches.length[open]! < batchCap) {
          totals.receiveRequests++; // upper bound: one receive per message that joins an open window
          receiveInto(queue, open);
        }
        if (batches.length[open]! < batchCap) break;
        mappings.gathering[queue] = -1;
        invoke(open);
        continue;
      }
      if (ring.length === 0) break;
      if (!mappings.hasRoom(queue)) {
        mappings.watch(queue);
        break;
      }
      const b = batches.alloc(queue, clock.now);
      let taken = 0;
      while (ring.length > 0 && batches.length[b]! < batchCap) {
        taken++;
        receiveInto(queue, b);
      }
      totals.receiveRequests += Math.ceil(taken / MESSAGES_PER_REQUEST);
      if (batches.length[b] === 0) {
        batches.release(b);
        continue;
      }
      mappings.addBatch(queue);
      if (batches.length[b]! < batchCap && mapping.batchingWindowSeconds > 0) {
        mappings.gathering[queue] = b;
        batches.state[b] = GATHERING;
        clock.push(clock.now + mapping.batchingWindowSeconds, BATCH_READY, b, batches.gen[b]);
        continue;
      }
      invoke(b);
    }
    mappings.touchIdle(queue, clock.now);
  }

  /**
   * Lambda invokes the function with the batch; above the reserved concurrency the invocation is throttled and
   * Lambda retries it "until the message's timestamp exceeds your queue's visibility timeout, at which point
   * Lambda drops the message" (Lambda Developer Guide, "Handling errors for an SQS event source in Lambda",
   * https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html): the messages become visible
   * again with the receive already counted. Event source mappings "don't account for reserved concurrency and can
   * process more messages off your queue than can be sent to your function" (AWS knowledge center,
   * https://repost.aws/knowledge-center/lambda-sqs-scaling). Lambda's retry times are not documented: a free
   * execution goes to a held batch picked at random, which is what retries landing at random instants give.
   */
  function invoke(b: number): void {
    if (running < topology.reservedConcurrency) {
      start(b);
      return;
    }
    batches.state[b] = HELD;
    batches.poolIndex[b] = heldPool.length;
    heldPool.push(b);
    throttledBatches++;
    const queue = batches.queue[b]!;
    mappings.throttled[queue] = 1;
    mappings.watch(queue);
    const expires = Math.max(clock.now, batches.receivedAt[b]! + topology.visibilityTimeoutSeconds);
    clock.push(expires, HOLD_EXPIRED, b, batches.gen[b]);
  }

  function removeHeld(b: number): void {
    const index = batches.poolIndex[b]!;
    const last = heldPool.pop()!;
    if (last !== b) {
      heldPool[index] = last;
      batches.poolIndex[last] = index;
    }
  }

  function start(b: number): void {
    if (++running > topology.reservedConcurrency) throw new Error(`${topology.name}: reserved concurrency exceeded`);
    if (running > peakRunning) peakRunning = running;
    batches.state[b] = RUNNING;
    const n = batches.length[b]!;
    sizes.length = 0;
    for (let i = 0; i < n; i++) sizes.push(files.bytes[batches.message(b, i)]!);
    const env = ingest.acquire();
    batches.env[b] = env;
    const seconds = ingest.run(env, sizes, clock.now, batches.outcomes(b));
    totals.invocations++;
    totals.executionSeconds += seconds;
    batches.seconds[b] = seconds;
    clock.push(clock.now + seconds, INVOCATION_END, b, batches.gen[b]);
  }

  function finish(b: number): void {
    const queue = batches.queue[b]!;
    const n = batches.length[b]!;
    running--;
    ingest.release(batches.env[b]!);
    mappings.active[queue]!--;
    // ReportBatchItemFailures: forwarded files are deleted (DeleteMessageBatch, 10 per request), the others returned.
    const outcomes = batches.outcomes(b);
    const failed: number[] = [];
    for (let i = 0; i < n; i++) {
      const id = batches.message(b, i);
      if (outcomes[i] === 1) settle(id, DELIVERED);
      else failed.push(id);
    }
    totals.deleteRequests += Math.ceil((n - failed.length) / MESSAGES_PER_REQUEST);
    if (failed.length === 0) {
      successfulFiles += n;
      successfulSeconds += batches.seconds[b]!;
      batches.release(b);
    } else {
      returnFailed(b, failed);
    }
    if (heldPool.length > 0 && running < topology.reservedConcurrency) {
      const pick = heldPool[Math.floor(engineRandom() * heldPool.length)]!;
      removeHeld(pick);
      start(pick);
    }
    tryReceive(queue);
  }

  /**
   * Failed messages (ReportBatchItemFailures): without backoff they reappear when the visibility timeout that
   * started at their receive ends; with backoff (hub) the function sets each one's visibility to
   * backoffSeconds(ApproximateReceiveCount) with ChangeMessageVisibility (lambdas/shared/topology.ts;
   * SQS API Reference, ChangeMessageVisibility: at most 12 hours).
   */
  function returnFailed(b: number, ids: number[]): void {
    const queue = batches.queue[b]!;
    const n = ids.length;
    batches.length[b] = 0;
    if (!topology.perMessageBackoff) {
      for (const id of ids) batches.append(b, id);
      batches.state[b] = RETURNING;
      const at = Math.max(clock.now, batches.receivedAt[b]! + topology.visibilityTimeoutSeconds);
      clock.push(at, RETURN_VISIBLE, b, batches.gen[b]);
      return;
    }
    totals.changeVisibilityRequests += Math.ceil(n / MESSAGES_PER_REQUEST);
    batches.release(b);
    // Messages that become visible in the same queue within the same second share one event (a message is at
    // most 1 s late, against backoffs of 30 s and more).
    for (const id of ids) {
      const at = Math.ceil(clock.now + backoffSeconds(files.receives[id]!));
      const key = at * queues + queue;
      const group = pendingReturns.get(key);
      if (group !== undefined) {
        group.push(id);
        continue;
      }
      pendingReturns.set(key, [id]);
      clock.push(at, RETURN_GROUP, queue, at);
    }
  }

  function snapshot(): Counters {
    return { ...totals, idlePollerSeconds: mappings.idlePollerSeconds(clock.now) };
  }

  function releaseToQueue(b: number): void {
    const queue = batches.queue[b]!;
    for (let i = 0; i < batches.length[b]!; i++) makeVisible(queue, batches.message(b, i));
    batches.release(b);
    tryReceive(queue);
  }

  // t = 0: the hot tenant's backlog, then the scenario's clock events.
  for (let i = 0; i < workload.hotBacklog; i++) makeVisible(hotQueue, addFile(workload.hotAccount, 0));
  tryReceive(hotQueue);
  clock.push(0, ARRIVAL);
  clock.push(60, SCALE_TICK);
  if (Number.isFinite(workload.outage.startSeconds)) {
    clock.push(workload.outage.endSeconds, OUTAGE_END);
  }
  clock.push(workload.quietWindow.startSeconds, WINDOW_START);
  clock.push(workload.quietWindow.endSeconds, WINDOW_END);
  const giveUpAt = workload.arrivalsEndSeconds + 72 * 3600;

  while (clock.pop()) {
    events++;
    const now = clock.now;
    if (now > giveUpAt) break;
    const b = clock.arg;
    const live = batches.gen[b] === clock.arg2;
    switch (clock.kind) {
      case ARRIVAL: {
        const owner = tickets[Math.floor(workRandom() * tickets.length)]!;
        const queue = topology.queueOfAccount[owner]!;
        makeVisible(queue, addFile(owner, now));
        tryReceive(queue);
        const next = now - Math.log(1 - workRandom()) / arrivalRate;
        if (next < workload.arrivalsEndSeconds) clock.push(next, ARRIVAL);
        break;
      }
      case BATCH_READY: {
        if (!live || batches.state[b] !== GATHERING) break;
        const queue = batches.queue[b]!;
        mappings.gathering[queue] = -1;
        invoke(b);
        tryReceive(queue);
        break;
      }
      case HOLD_EXPIRED:
        if (!live || batches.state[b] !== HELD) break; // it got an execution meanwhile
        removeHeld(b);
        throttleExpiries++;
        mappings.active[batches.queue[b]!]!--;
        releaseToQueue(b);
        break;
      case INVOCATION_END:
        if (!live || batches.state[b] !== RUNNING) throw new Error(`${topology.name}: stale invocation end`);
        finish(b);
        break;
      case RETURN_GROUP: {
        const queue = clock.arg;
        const key = clock.arg2 * queues + queue;
        const group = pendingReturns.get(key)!;
        pendingReturns.delete(key);
        for (const id of group) makeVisible(queue, id);
        tryReceive(queue);
        break;
      }
      case RETURN_VISIBLE:
        if (!live || batches.state[b] !== RETURNING) throw new Error(`${topology.name}: stale return`);
        releaseToQueue(b);
        break;
      case SCALE_TICK:
        mappings.tick(tryReceive);
        if (unsettled() > 0 || now < workload.arrivalsEndSeconds || mappings.watching > 0) {
          clock.push(now + 60, SCALE_TICK);
        }
        break;
      case OUTAGE_END:
        if (openBeforeOutageEnd === 0) outageClearedAt = 0;
        break;
      case WINDOW_START:
        quietStart = snapshot();
        break;
      case WINDOW_END: {
        const end = snapshot();
        const begin = quietStart ?? emptyCounters();
        for (const key of Object.keys(quiet) as (keyof Counters)[]) quiet[key] = end[key] - begin[key];
        break;
      }
    }
  }
  const final = snapshot();
  let recordsUndelivered = 0;
  for (let id = 0; id < files.count; id++) {
    const fileState = files.state[id];
    if (fileState !== DELIVERED && fileState !== DEAD_LETTERED) {
      recordsUndelivered += recordsOf(files.bytes[id]!);
    }
  }
  if (recordsDelivered + recordsDeadLettered + recordsUndelivered !== recordsCreated) {
    throw new Error(`${topology.name}: records do not add up`);
  }
  return {
    topology,
    workload,
    filesCreated: files.count,
    filesDelivered: delivered.count,
    filesDeadLettered: deadLettered,
    filesUndelivered: unsettled(),
    recordsCreated,
    recordsDelivered,
    recordsLost: recordsDeadLettered + recordsUndelivered,
    delays: delivered.delays.subarray(0, delivered.count),
    categories: delivered.categories.subarray(0, delivered.count),
    bornAt: delivered.bornAt.subarray(0, delivered.count),
    hotBacklogDrainedAt,
    totals: final,
    quietWindow: quiet,
    throttledBatches,
    throttleExpiries,
    breakerFailFastFiles: ingest.failFastFiles,
    peakConcurrentExecutions: peakRunning,
    peakUnsettledFiles: peakUnsettled,
    maxReceiveCountSeen: maxReceives,
    maxBatchesOfOneMapping: mappings.mostBatches,
    successfulFiles,
    successfulExecutionSeconds: successfulSeconds,
    outageBacklogClearedAfterSeconds: outageClearedAt,
    simulatedSeconds: clock.now,
    events,
  };
}
