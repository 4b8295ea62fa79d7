/**
 * CloudTrail's price model and the cost impact of every action the collector can take. The numbers are list
 * prices (us-east-1); every note says which assumption produced the amount, because the customer must be
 * able to check it, and the estimate is only as good as the event volume it starts from.
 */
import type { ActionCode, CostAssumptions, CostImpact } from './types';

export const PRICES = {
  /** Management events: the first copy per region is free; each additional copy, per 100,000 events. */
  additionalManagementCopyPer100k: 2.0,
  dataEventsPer100k: 0.1,
  /** Insights, per 100,000 events analyzed, per Insights type. */
  insightsPer100kAnalyzed: 0.35,
  cloudWatchLogsIngestionPerGb: 0.5,
  s3StandardPerGbMonth: 0.023,
} as const;

const GB = 1024 ** 3;
/** CloudTrail log files are gzip'd JSON; about ten to one. */
const GZIP_RATIO = 10;

/** Defaults used when nothing better is configured (RECONCILE_MONTHLY_* variables override them). */
export const DEFAULT_COST_ASSUMPTIONS: CostAssumptions = {
  monthlyManagementEvents: 1_000_000,
  monthlyDataEvents: 10_000_000,
  averageEventBytes: 1_500,
  source: 'default estimate, not measured for this account',
};

export function roundUsd(amount: number): number {
  return Math.round(amount * 100) / 100;
}

export function formatUsd(amount: number): string {
  return `$${roundUsd(amount).toFixed(2)}`;
}

function per100k(events: number, price: number): number {
  return (events / 100_000) * price;
}

function assumption(a: CostAssumptions, events: number, kind: string): string {
  return `assumes ${events.toLocaleString('en-US')} ${kind} a month (${a.source})`;
}

/** `extraCopies` trails beyond the first that log the same management events. */
export function duplicateTrailsCost(extraCopies: number, a: CostAssumptions): CostImpact {
  const monthlyUsd = roundUsd(extraCopies * per100k(a.monthlyManagementEvents, PRICES.additionalManagementCopyPer100k));
  return {
    monthlyUsd,
    note:
      `${formatUsd(monthlyUsd)}/month — ${extraCopies} additional cop${extraCopies === 1 ? 'y' : 'ies'} of management ` +
      `events at $2.00 per 100,000; ${assumption(a, a.monthlyManagementEvents, 'management events')}`,
  };
}

export function dataEventsCost(a: CostAssumptions): CostImpact {
  const monthlyUsd = roundUsd(per100k(a.monthlyDataEvents, PRICES.dataEventsPer100k));
  return {
    monthlyUsd,
    note: `${formatUsd(monthlyUsd)}/month — data events at $0.10 per 100,000; ${assumption(a, a.monthlyDataEvents, 'data events')}`,
  };
}

/** One Insights type analyzing the management events (two types, API call and error rate, double it). */
export function insightsCost(a: CostAssumptions): CostImpact {
  const monthlyUsd = roundUsd(per100k(a.monthlyManagementEvents, PRICES.insightsPer100kAnalyzed));
  return {
    monthlyUsd,
    note:
      `${formatUsd(monthlyUsd)}/month per Insights type — $0.35 per 100,000 events analyzed; ` +
      assumption(a, a.monthlyManagementEvents, 'management events'),
  };
}

export function cloudWatchLogsCost(a: CostAssumptions): CostImpact {
  const gigabytes = (a.monthlyManagementEvents * a.averageEventBytes) / GB;
  const monthlyUsd = roundUsd(gigabytes * PRICES.cloudWatchLogsIngestionPerGb);
  return {
    monthlyUsd,
    note:
      `${formatUsd(monthlyUsd)}/month — CloudWatch Logs ingestion at ~$0.50/GB for ${gigabytes.toFixed(2)} GB ` +
      `(${a.averageEventBytes} bytes per event); ${assumption(a, a.monthlyManagementEvents, 'management events')}; ` +
      'storage and data events sent to the log group come on top',
  };
}

/** One month of management-event log files in S3 Standard (gzip'd), the first month's storage. */
export function bucketStorageCost(a: CostAssumptions): CostImpact {
  const gigabytes = (a.monthlyManagementEvents * a.averageEventBytes) / GZIP_RATIO / GB;
  const monthlyUsd = roundUsd(gigabytes * PRICES.s3StandardPerGbMonth);
  return {
    monthlyUsd,
    note:
      `${formatUsd(monthlyUsd)}/month for each month of log files kept — ~${gigabytes.toFixed(3)} GB gzip'd ` +
      `at $0.023/GB-month in S3 Standard; ${assumption(a, a.monthlyManagementEvents, 'management events')}`,
  };
}

const FREE = 0;

/** The cost impact every planned action carries (the cost guard: every action says what it adds to the bill). */
export function actionCostImpact(code: ActionCode, a: CostAssumptions): CostImpact {
  switch (code) {
    case 'CREATE_TRAIL':
      return {
        monthlyUsd: FREE,
        note:
          '$0 — first copy of management events is free; planned only because no trail logs management events ' +
          'for this account; management events only: no data events, no Insights, no CloudTrail Lake',
      };
    case 'REUSE_TRAIL':
      return { monthlyUsd: FREE, note: '$0 — reuses the trail that already logs management events: no second copy' };
    case 'UPDATE_TRAIL':
      return {
        monthlyUsd: FREE,
        note: '$0 — changes only where the trail delivers or notifies; its event selectors are not touched',
      };
    case 'START_LOGGING':
      return {
        monthlyUsd: FREE,
        note:
          '$0 — first copy of management events is free: no other trail logs them, and this trail records ' +
          'no data events or Insights',
      };
    case 'CREATE_BUCKET':
      return bucketStorageCost(a);
    case 'PUT_BUCKET_POLICY':
    case 'PUT_TOPIC_POLICY':
    case 'PUT_QUEUE_POLICY':
      return { monthlyUsd: FREE, note: '$0 — resource policies are free' };
    case 'CREATE_TOPIC':
      return {
        monthlyUsd: FREE,
        note: '$0 — one notification per log file stays within the SNS free tier; deliveries to SQS are free',
      };
    case 'SUBSCRIBE':
      return { monthlyUsd: FREE, note: '$0 — SNS deliveries to SQS are not charged' };
    case 'CREATE_QUEUE':
      return {
        monthlyUsd: FREE,
        note: '$0 — one message per log file stays within the SQS free tier (1 million requests a month)',
      };
    case 'CREATE_ESM':
    case 'ENABLE_ESM':
      return {
        monthlyUsd: FREE,
        note: '$0 to the customer — the event source mapping and its polling run in the collector account',
      };
  }
}
