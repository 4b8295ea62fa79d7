/** The soak's report: its shape, and the table `npm run soak` prints. */
import { formatTable } from '../../bin/commands/output';
import type { PollTotals } from '../../lambdas/ingest/source/queue-poller';
import type { FAULT_RATES, SoakOptions } from './options';

export interface SoakReport {
  options: SoakOptions;
  faultRates: typeof FAULT_RATES | null;
  startedAt: string;
  seconds: { setup: number; drain: number; total: number };
  drained: boolean;
  messages: {
    sent: number;
    byKind: Record<string, number>;
    poisonPlanted: number;
    poisonByKind: Record<string, number>;
  };
  records: {
    generated: number;
    receivedUnique: number;
    lost: number;
    lostSample: string[];
    unexpected: number;
    fromPoisonObjects: number;
  };
  dlq: {
    messages: number;
    poisonFound: number;
    poisonMissing: string[];
    unexpected: { messageId: string; body: string }[];
  };
  duplicates: {
    recordsAcceptedTwice: number;
    recordsAcceptedTwiceByCause: Record<string, number>;
    batchesDroppedByKey: number;
    recordsInDroppedBatches: number;
  };
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
    /** Processed to the end twice: redelivered (visibility timeout) while a first delivery was still running. */
    messagesAcknowledgedTwice: number;
    /** Received by a second poller while a first was still processing it (SQS delivers at least once). */
    messagesDeliveredConcurrently: number;
    /** How long processSqsBatch took; `overDeadline`: batches that ran past batchTimeoutMs. */
    batchSeconds: { median: number; p99: number; max: number; overDeadline: number };
  };
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

export function formatReport(report: SoakReport): string {
  const kinds = (record: Record<string, number>) =>
    Object.entries(record)
      .map(([kind, count]) => `${kind} ${count}`)
      .join(', ') || 'none';
  const rows: string[][] = [
    ['messages sent', String(report.messages.sent), kinds(report.messages.byKind)],
    ['poison planted', String(report.messages.poisonPlanted), kinds(report.messages.poisonByKind)],
    [
      'faults injected',
      String(report.faults.total),
      `downstream: ${kinds(report.faults.downstream)}; aws: ${kinds(report.faults.aws)}`,
    ],
    [
      'downstream outages',
      String(report.faults.downstreamOutages),
      `${report.faults.downstreamRequestsDuringOutages} requests answered 500 during them`,
    ],
    ['records generated', String(report.records.generated), 'eventIDs that must arrive'],
    [
      'records received (unique)',
      String(report.records.receivedUnique - report.records.fromPoisonObjects),
      `plus ${report.records.fromPoisonObjects} from planted poison objects, sent before their failure point`,
    ],
    ['records lost', String(report.records.lost), report.records.lostSample.join(', ')],
    ['unexpected records', String(report.records.unexpected), 'records nobody generated'],
    [
      'DLQ messages',
      String(report.dlq.messages),
      `${report.dlq.poisonFound} planted poison, ${report.dlq.unexpected.length} others`,
    ],
    ['poison not in the DLQ', String(report.dlq.poisonMissing.length), report.dlq.poisonMissing.slice(0, 5).join(', ')],
    [
      'records accepted twice',
      String(report.duplicates.recordsAcceptedTwice),
      kinds(report.duplicates.recordsAcceptedTwiceByCause),
    ],
    [
      'batches dropped by key',
      String(report.duplicates.batchesDroppedByKey),
      `${report.duplicates.recordsInDroppedBatches} records resent and dropped downstream`,
    ],
    [
      'messages received',
      String(report.polling.received),
      `${report.polling.messagesReceivedMoreThanOnce} messages more than once; ${report.polling.deleted} acknowledged, ${report.polling.failed} failed attempts`,
    ],
    [
      'batch duration (s)',
      `${report.polling.batchSeconds.median} / ${report.polling.batchSeconds.p99} / ${report.polling.batchSeconds.max}`,
      `median / p99 / max; ${report.polling.batchSeconds.overDeadline} batches ran past the ${report.options.batchTimeoutMs} ms deadline, ` +
        `${report.polling.messagesAcknowledgedTwice} messages were processed to the end twice ` +
        `(${report.polling.messagesDeliveredConcurrently} handed to two pollers at once)`,
    ],
    [
      'lambda instances',
      String(report.polling.coldStarts),
      `${report.options.pollers} at a time, ${report.polling.batches} batches, ${report.polling.pollerErrors} poller errors`,
    ],
    [
      'downstream requests',
      String(report.traffic.downstreamRequests),
      `${report.traffic.downstreamBatchesAccepted} batches accepted`,
    ],
    [
      'S3 GetObject / STS AssumeRole',
      `${report.traffic.s3GetObject} / ${report.traffic.stsAssumeRole}`,
      'requests, retries included',
    ],
    ['seconds', String(report.seconds.total), `set-up ${report.seconds.setup}, drain ${report.seconds.drain}`],
    ['verdict', report.ok ? 'OK' : 'FAILED', report.problems.join('; ') || 'nothing lost, DLQ = planted poison'],
  ];
  return formatTable(['', 'value', 'detail'], rows);
}
