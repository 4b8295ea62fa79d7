/** The soak's report: what it counts at the end, its shape and its verdict (format.ts prints it). */
import type { CountTally } from '../../lambdas/ingest/runtime';
import type { BreakerSettings } from '../../lambdas/ingest/source/circuit-breaker';
import type { PollTotals } from '../../lambdas/ingest/source/queue-poller';
import type { AwsFaultProxy } from '../aws-fault-proxy';
import type { DownstreamReceiver } from '../downstream-receiver';
import type { TallyLogger } from '../tally-logger';
import { ledgerFigures, ledgerProblems, type LedgerFigures, type LedgerWriteCounts } from './ledger';
import type { PhaseFigures, SoakObserver } from './observe';
import { FAULT_RATES, type SoakOptions } from './options';
import type { OutagePlan, Phase } from './outages';
import type { PlannedMessage } from './plan';
import type { DeadLetter } from './queue';
import { describeSchedule, type SoakSchedule } from './schedule';
import type { SoakWorld } from './world';

export interface SoakReport {
  options: SoakOptions;
  faultRates: typeof FAULT_RATES | null;
  schedule: {
    timeScale: number;
    /** Seconds hidden after receive 1, 2, 3, ... (the hub schedule; real seconds). */
    firstRetrySeconds: number[];
    /** Real seconds of retrying before the last receive allowed: the longest outage without a DLQ entry. */
    retryWindowSeconds: number;
    breaker: BreakerSettings;
  };
  startedAt: string;
  seconds: { setup: number; drain: number; total: number };
  drained: boolean;
  world: { topology: string; queues: number; tenants: { accountId: string; queue: string; messages: number }[] };
  messages: {
    sent: number;
    byKind: Record<string, number>;
    poisonPlanted: number;
    poisonByKind: Record<string, number>;
  };
  records: {
    generated: number;
    receivedUnique: number;
    /** Generated records that never reached the downstream, whatever lost them. */
    lost: number;
    /**
     * Of them, records of messages SQS never handed to ingest: sent, never received, not left in any queue, not in
     * a DLQ. Only a receive gives the receipt handle a delete needs, so ingest cannot have removed them: the
     * emulator dropped them (moto 5.2.1 rebinds a queue's message list in DeleteMessage without the lock that
     * SendMessage takes, so a message sent during a concurrent delete can vanish; bench/README.md, "Soak").
     */
    lostBeforeAnyReceive: number;
    lostSample: string[];
    unexpected: number;
    fromPoisonObjects: number;
    /** The messages that announced lost records: what happened on each receive (at most 20). */
    lostFrom: {
      index: number;
      kind: string;
      tenant: string;
      messageId: string;
      lost: number;
      received: number;
      outcomes: string[];
    }[];
  };
  dlq: {
    messages: number;
    poisonFound: number;
    /** A planted poison message dead-lettered more than once (SQS delivers at least once). */
    poisonCopies: number;
    poisonMissing: string[];
    unexpected: { queue: string; messageId: string; body: string; reason?: string }[];
    byQueue: Record<string, number>;
  };
  duplicates: {
    recordsAcceptedTwice: number;
    recordsAcceptedTwiceByCause: Record<string, number>;
    batchesDroppedByKey: number;
    recordsInDroppedBatches: number;
  };
  /** The long outage, when there was one. */
  outage: {
    minutes: number;
    realSeconds: number;
    startedAtSeconds: number;
    endedAtSeconds: number;
    requestsRefused: number;
    /** From the end of the outage to the last acknowledgement. */
    recoverySeconds: number;
    phases: Record<Phase, PhaseFigures>;
  } | null;
  faults: {
    downstream: Record<string, number>;
    downstreamOutages: number;
    downstreamRequestsDuringOutages: number;
    aws: Record<string, number>;
    total: number;
  };
  traffic: {
    downstreamRequests: number;
    downstreamBatchesAccepted: number;
    s3GetObject: number;
    stsAssumeRole: number;
  };
  polling: PollTotals & {
    coldStarts: number;
    pollerErrors: number;
    messagesReceivedMoreThanOnce: number;
    /** The highest ApproximateReceiveCount seen (the DLQ is at options.maxReceiveCount). */
    maxReceiveCount: number;
    /** Processed to the end twice: redelivered (visibility timeout) while a first delivery was still running. */
    messagesAcknowledgedTwice: number;
    /** Received by a second poller while a first was still processing it (SQS delivers at least once). */
    messagesDeliveredConcurrently: number;
    /** How long processSqsBatch took; `overDeadline`: batches that ran past batchTimeoutMs. */
    batchSeconds: { median: number; p99: number; max: number; overDeadline: number };
  };
  /** The ledger table ingest wrote, against the files generated, and what its writes cost (ledger.ts). */
  ledger: LedgerFigures;
  /** Messages still in the queues at the end (0 when drained). */
  left: { visible: number; inFlight: number };
  counts: Record<string, number>;
  logs: Record<string, number>;
  logSamples: Record<string, string[]>;
  ok: boolean;
  problems: string[];
}

export function batchStats(ms: number[], timeoutMs: number): SoakReport['polling']['batchSeconds'] {
  const sorted = [...ms].sort((a, b) => a - b);
  const at = (q: number) => round((sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0) / 1000);
  return { median: at(0.5), p99: at(0.99), max: at(1), overDeadline: ms.filter((value) => value > timeoutMs).length };
}

export function round(value: number): number {
  return Math.round(value * 10) / 10;
}

export function sumValues(map: Map<string, number>): number {
  let total = 0;
  for (const value of map.values()) total += value;
  return total;
}

const countBy = <T>(items: readonly T[], key: (item: T) => string): Record<string, number> => {
  const counts: Record<string, number> = {};
  for (const item of items) counts[key(item)] = (counts[key(item)] ?? 0) + 1;
  return counts;
};

/** Why a record was accepted under two keys: the idempotency keys of its batches say. */
function duplicatesOf(receiver: DownstreamReceiver): SoakReport['duplicates'] {
  const acceptedUnder = new Map<string, string[]>();
  let droppedBatches = 0;
  let droppedRecords = 0;
  for (const batch of receiver.batches) {
    if (batch.duplicateKey) {
      droppedBatches++;
      droppedRecords += batch.eventIds.length;
      continue;
    }
    for (const id of batch.eventIds) {
      const keys = acceptedUnder.get(id);
      if (keys) keys.push(batch.idempotencyKey);
      else acceptedUnder.set(id, [batch.idempotencyKey]);
    }
  }
  const byCause: Record<string, number> = {};
  for (const keys of acceptedUnder.values()) {
    if (keys.length < 2) continue;
    const base = (key: string) => key.split('.')[0];
    const cause = keys.every((key) => base(key) === base(keys[0]!))
      ? 'the same batch accepted whole and as 413 halves (the random 413 was not repeated on redelivery)'
      : 'other';
    byCause[cause] = (byCause[cause] ?? 0) + keys.length - 1;
  }
  return {
    recordsAcceptedTwice: receiver.duplicateRecords,
    recordsAcceptedTwiceByCause: byCause,
    batchesDroppedByKey: droppedBatches,
    recordsInDroppedBatches: droppedRecords,
  };
}

function lostFrom(
  planned: readonly PlannedMessage[],
  lost: ReadonlySet<string>,
  observer: SoakObserver,
): SoakReport['records']['lostFrom'] {
  if (lost.size === 0) return [];
  return planned
    .map((message) => ({ message, lost: message.eventIds.filter((id) => lost.has(id)).length }))
    .filter(({ lost: count }) => count > 0)
    .slice(0, 20)
    .map(({ message, lost: count }) => ({
      index: message.index,
      kind: `${message.kind} (${message.detail})`,
      tenant: message.tenant,
      messageId: message.messageId ?? '(never sent)',
      lost: count,
      received: observer.receives.get(message.messageId ?? '') ?? 0,
      outcomes: observer.history.get(message.messageId ?? '') ?? [],
    }));
}

export interface ReportInput {
  options: SoakOptions;
  schedule: SoakSchedule;
  world: SoakWorld;
  planned: readonly PlannedMessage[];
  receiver: DownstreamReceiver;
  proxy: AwsFaultProxy;
  observer: SoakObserver;
  outages: OutagePlan;
  tally: CountTally;
  logger: TallyLogger;
  deadLetters: readonly (DeadLetter & { queue: string })[];
  /** Every item of the ledger table at the end, and the ledger writes ingest sent. */
  ledgerItems: readonly Record<string, unknown>[];
  ledgerWrites: LedgerWriteCounts;
  left: { visible: number; inFlight: number };
  drained: boolean;
  started: number;
  drainStarted: number;
  setupSeconds: number;
  coldStarts: number;
  pollerErrors: number;
}

export function buildReport(input: ReportInput): SoakReport {
  const { options, planned, receiver, proxy, observer, outages, deadLetters } = input;
  const poison = planned.filter((message) => message.kind === 'poison');
  const poisonIds = new Set(poison.map((message) => message.messageId));
  const poisonLetters = deadLetters.filter((letter) => poisonIds.has(letter.sourceMessageId));
  const lettered = new Set(poisonLetters.map((letter) => letter.sourceMessageId));
  const expected = new Set(planned.flatMap((message) => message.eventIds));
  const lost = [...expected].filter((id) => !receiver.eventIds.has(id));
  const lostIds = new Set(lost);
  let fromPoisonObjects = 0;
  let unexpected = 0;
  for (const id of receiver.eventIds.keys()) {
    if (expected.has(id)) continue;
    if (id.startsWith('soak-poison-')) fromPoisonObjects++;
    else unexpected++;
  }
  const long = outages.long;
  const seconds = (at: number) => round((at - input.drainStarted) / 1000);
  const described = describeSchedule(input.schedule, options.maxReceiveCount);

  const report: SoakReport = {
    options,
    faultRates: options.faults ? FAULT_RATES : null,
    schedule: {
      timeScale: options.timeScale,
      firstRetrySeconds: described.firstRetrySeconds,
      retryWindowSeconds: described.retryWindowSeconds,
      breaker: input.schedule.breaker,
    },
    startedAt: new Date(input.started).toISOString(),
    seconds: {
      setup: round(input.setupSeconds),
      drain: round((Date.now() - input.drainStarted) / 1000),
      total: round((Date.now() - input.started) / 1000),
    },
    drained: input.drained,
    world: {
      topology: options.topology,
      queues: input.world.queues.length,
      tenants: input.world.tenants.map((tenant) => ({
        accountId: tenant.accountId,
        queue: input.world.queueOf(tenant.accountId).name,
        messages: planned.filter((message) => message.tenant === tenant.accountId).length,
      })),
    },
    messages: {
      sent: planned.length,
      byKind: countBy(planned, (message) => message.kind),
      poisonPlanted: poison.length,
      poisonByKind: countBy(poison, (message) => message.detail),
    },
    records: {
      generated: expected.size,
      receivedUnique: receiver.uniqueRecords,
      lost: lost.length,
      lostBeforeAnyReceive: planned
        .filter((message) => (observer.receives.get(message.messageId ?? '') ?? 0) === 0)
        .reduce((sum, message) => sum + message.eventIds.filter((id) => lostIds.has(id)).length, 0),
      lostSample: lost.slice(0, 5),
      unexpected,
      fromPoisonObjects,
      lostFrom: lostFrom(planned, lostIds, observer),
    },
    dlq: {
      messages: deadLetters.length,
      poisonFound: lettered.size,
      poisonCopies: poisonLetters.length - lettered.size,
      poisonMissing: poison
        .filter((message) => !lettered.has(message.messageId!))
        .map((m) => `${m.detail} #${m.index}`),
      unexpected: deadLetters
        .filter((letter) => !poisonIds.has(letter.sourceMessageId))
        .slice(0, 20)
        .map(({ queue, messageId, body, reason }) => ({
          queue,
          messageId,
          body: body.slice(0, 500),
          ...(reason !== undefined ? { reason } : {}),
        })),
      byQueue: countBy(deadLetters, (letter) => letter.queue),
    },
    duplicates: duplicatesOf(receiver),
    outage: long
      ? {
          minutes: options.outageMinutes,
          realSeconds: round((long.endsAt - long.startedAt) / 1000),
          startedAtSeconds: seconds(long.startedAt),
          endedAtSeconds: seconds(long.endsAt),
          requestsRefused: outages.requestsRefused.long,
          recoverySeconds: round(Math.max(0, observer.lastAcknowledgedAt - long.endsAt) / 1000),
          phases: observer.phases,
        }
      : null,
    faults: {
      downstream: Object.fromEntries(receiver.faultsServed),
      downstreamOutages: outages.windows.length,
      downstreamRequestsDuringOutages: outages.requestsRefused.short + outages.requestsRefused.long,
      aws: Object.fromEntries(proxy.faultsServed),
      total: sumValues(receiver.faultsServed) + sumValues(proxy.faultsServed),
    },
    traffic: {
      downstreamRequests: receiver.requests,
      downstreamBatchesAccepted: receiver.batches.filter((batch) => !batch.duplicateKey).length,
      s3GetObject: proxy.count('s3', 'GetObject'),
      stsAssumeRole: proxy.count('sts', 'AssumeRole'),
    },
    polling: {
      ...observer.totals,
      coldStarts: input.coldStarts,
      pollerErrors: input.pollerErrors,
      messagesReceivedMoreThanOnce: [...observer.receives.values()].filter((count) => count > 1).length,
      maxReceiveCount: observer.maxReceiveCount,
      messagesAcknowledgedTwice: [...observer.acknowledgements.values()].filter((count) => count > 1).length,
      messagesDeliveredConcurrently: observer.deliveredConcurrently.size,
      batchSeconds: batchStats(observer.batchMs, options.batchTimeoutMs),
    },
    ledger: ledgerFigures({
      table: input.world.ledgerTable,
      items: input.ledgerItems,
      files: planned.flatMap((message) => message.files),
      received: receiver.eventIds,
      writes: input.ledgerWrites,
      writeFailed: input.tally.get('LedgerWriteFailed'),
    }),
    left: input.left,
    counts: input.tally.toJSON(),
    logs: Object.fromEntries([...input.logger.counts].sort()),
    logSamples: Object.fromEntries(input.logger.samples),
    ok: false,
    problems: [],
  };
  const problems = report.problems;
  if (!report.drained) {
    problems.push(
      `the queues did not drain within ${options.timeLimitSeconds} s (${report.left.visible} visible, ${report.left.inFlight} in flight)`,
    );
  }
  const { lost: lostRecords, lostBeforeAnyReceive } = report.records;
  if (lostRecords > lostBeforeAnyReceive) {
    problems.push(
      `${lostRecords - lostBeforeAnyReceive} records of messages ingest received never reached the downstream`,
    );
  }
  if (lostBeforeAnyReceive > 0) {
    problems.push(
      `${lostBeforeAnyReceive} records of messages the emulator never delivered were lost (sent, never received, in no queue)`,
    );
  }
  if (report.records.unexpected > 0) problems.push(`${report.records.unexpected} records nobody generated arrived`);
  if (report.dlq.poisonMissing.length > 0)
    problems.push(`${report.dlq.poisonMissing.length} poison messages not in the DLQ`);
  if (report.dlq.unexpected.length > 0) problems.push(`${report.dlq.unexpected.length} non-poison messages in the DLQ`);
  problems.push(...ledgerProblems(report.ledger));
  report.ok = problems.length === 0;
  return report;
}
