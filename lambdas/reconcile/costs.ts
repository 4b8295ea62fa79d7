/**
 * CloudTrail's price model and the cost impact of every action the collector can take. The numbers are list
 * prices (us-east-1); every note says which assumption produced the amount, because the customer must be
 * able to check it, and the estimate is only as good as the event volume it starts from. docs/costs.md lists
 * every figure with the AWS page it comes from (a unit test keeps the two in agreement).
 */
import { MAX_BACKFILL_KEYS } from '../shared/ledger';
import type { ActionCode, CostAssumptions, CostImpact, InsightSelection, InsightType } from './types';

export const PRICES = {
  /** Management events: the first copy per region is free; each additional copy, per 100,000 events. */
  additionalManagementCopyPer100k: 2.0,
  dataEventsPer100k: 0.1,
  /** Network activity events (eventCategory NetworkActivity): billed like data events, no free copy. */
  networkActivityEventsPer100k: 0.1,
  /** Insights, per 100,000 events analyzed, per Insights type. */
  insightsPer100kAnalyzed: 0.35,
  cloudWatchLogsIngestionPerGb: 0.5,
  s3StandardPerGbMonth: 0.023,
  /** SQS standard queue requests (every ReceiveMessage, empty or not), per million, beyond the free tier. */
  sqsRequestsPerMillion: 0.4,
  /** SQS free tier: requests a month, for an account, or for a whole AWS Organization (consolidated billing). */
  sqsFreeRequestsPerMonth: 1_000_000,
  /**
   * S3 Standard "PUT, COPY, POST, LIST requests", per 1,000 (https://aws.amazon.com/s3/pricing/, "Requests & data
   * retrievals", us-east-1): every ListObjectsV2 page a BACKFILL lists is one, billed to the bucket owner.
   */
  s3ListRequestsPer1k: 0.005,
  /** S3 Standard "GET, SELECT, and all other requests", per 1,000 (same page): ingest's read of each file. */
  s3GetRequestsPer1k: 0.0004,
} as const;

/**
 * An idle SQS event source mapping (Lambda Developer Guide, "Configuring scaling behavior for SQS event source
 * mappings"): Lambda long-polls the queue until it is active, scales back to five concurrent batches when traffic
 * is low and can optimize to as few as two. Each long poll waits at most 20 seconds (SQS's maximum wait time), so
 * each poller sends about 3 ReceiveMessage requests a minute even when the queue is empty.
 */
export const ESM_IDLE_POLLERS = { max: 5, min: 2 } as const;
export const LONG_POLL_SECONDS = 20;
const SECONDS_PER_MONTH = 30 * 24 * 3600;

/**
 * Share of management events that are write events, for Insights' API call rate type (which analyzes write
 * events only). AWS's own Insights cost example uses 30,000 write events of 300,000 (CloudTrail User Guide,
 * "Costs for Insights events").
 */
export const DEFAULT_WRITE_MANAGEMENT_SHARE = 0.1;

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

/**
 * Logging a part of the management events that the account's trails do not log yet (TRAIL_PARTIAL_COVERAGE):
 * the first copy of management events is free (CloudTrail pricing), so $0 when no trail logs that part; when
 * another trail already logs it, one more copy is billed ($2.00 per 100,000, estimated for all management
 * events: an upper bound for a part of them).
 */
export function missingCoverageCost(alreadyLoggedElsewhere: boolean, a: CostAssumptions): CostImpact {
  if (!alreadyLoggedElsewhere) {
    return {
      monthlyUsd: 0,
      note: '$0 — no trail logs this part yet, so a trail (or selector) logging only it is the first copy: free',
    };
  }
  const copy = duplicateTrailsCost(1, a);
  return { monthlyUsd: copy.monthlyUsd, note: `up to ${copy.note} (another trail already logs this part)` };
}

export function dataEventsCost(a: CostAssumptions): CostImpact {
  const monthlyUsd = roundUsd(per100k(a.monthlyDataEvents, PRICES.dataEventsPer100k));
  return {
    monthlyUsd,
    note: `${formatUsd(monthlyUsd)}/month — data events at $0.10 per 100,000; ${assumption(a, a.monthlyDataEvents, 'data events')}`,
  };
}

/**
 * Insights on a trail whose Insights types are not observed (DescribeTrails says only HasInsightSelectors): the
 * amount is the API error rate type's (it analyzes every management event, read and write), the note also gives
 * the amount with both types on (the API call rate type adds the write events: insightsCostForTypes('unknown')).
 * The name, signature and amount are kept from before issue 11 for the cost rule.
 */
export function insightsCost(a: CostAssumptions): CostImpact {
  const monthlyUsd = insightsCostForTypes(['ApiErrorRateInsight'], a).monthlyUsd;
  const both = insightsCostForTypes('unknown', a);
  return {
    monthlyUsd,
    note:
      `${formatUsd(monthlyUsd)}/month for the API error rate Insights type, which analyzes every management event ` +
      `(read and write), ${formatUsd(both.monthlyUsd)}/month with the API call rate type on too (it analyzes the ` +
      `write events again, ${Math.round(DEFAULT_WRITE_MANAGEMENT_SHARE * 100)}% of them assumed) — $0.35 per ` +
      `100,000 events analyzed; ${assumption(a, a.monthlyManagementEvents, 'management events')}`,
  };
}

export type { InsightType };

/**
 * Insights per type, as the CloudTrail User Guide ("Costs for Insights events"; InsightSelector in the API
 * Reference) bills them: ApiCallRateInsight analyzes write management events only, ApiErrorRateInsight analyzes
 * read and write management events, so with both types the write events are analyzed twice. `'unknown'` (the
 * trail has Insights on, but which types is not observed) is priced as both types: the upper bound.
 */
export function insightsCostForTypes(
  types: readonly InsightType[] | 'unknown',
  a: CostAssumptions,
  writeShare: number = DEFAULT_WRITE_MANAGEMENT_SHARE,
): CostImpact {
  if (!(writeShare >= 0 && writeShare <= 1)) {
    throw new Error(`insightsCostForTypes: writeShare must be between 0 and 1, got ${writeShare}`);
  }
  const chosen = types === 'unknown' ? (['ApiCallRateInsight', 'ApiErrorRateInsight'] as const) : types;
  const writes = Math.round(a.monthlyManagementEvents * writeShare);
  const analyzed =
    (chosen.includes('ApiCallRateInsight') ? writes : 0) +
    (chosen.includes('ApiErrorRateInsight') ? a.monthlyManagementEvents : 0);
  const monthlyUsd = roundUsd(per100k(analyzed, PRICES.insightsPer100kAnalyzed));
  const which =
    types === 'unknown'
      ? 'both Insights types (which types are on is not observed: the upper bound)'
      : chosen.length === 0
        ? 'no Insights type'
        : chosen.join(' and ');
  return {
    monthlyUsd,
    note:
      `${formatUsd(monthlyUsd)}/month for ${which} — $0.35 per 100,000 events analyzed: ` +
      `${analyzed.toLocaleString('en-US')} events analyzed (the API call rate type analyzes write management events, ` +
      `${Math.round(writeShare * 100)}% of them assumed; the API error rate type analyzes all of them); ` +
      assumption(a, a.monthlyManagementEvents, 'management events'),
  };
}

/**
 * Insights as observed (GetInsightSelectors), per type and event category: on management events the API call
 * rate type analyzes the write events and the API error rate type all of them (insightsCostForTypes); on data
 * events (EventCategories `Data`) the API call rate type analyzes read and write data API calls and the API error
 * rate type every data API call (CloudTrail API Reference, InsightSelector; User Guide, "Costs for Insights
 * events"), so each type on data events analyzes every data event the trail logs.
 */
export function insightsCostForSelectors(selections: readonly InsightSelection[], a: CostAssumptions): CostImpact {
  const onManagement = selections.filter((s) => s.categories.includes('Management')).map((s) => s.type);
  const onData = [...new Set(selections.filter((s) => s.categories.includes('Data')).map((s) => s.type))];
  const management = insightsCostForTypes([...new Set(onManagement)], a);
  if (onData.length === 0) return management;
  const dataAnalyzed = onData.length * a.monthlyDataEvents;
  const dataUsd = roundUsd(per100k(dataAnalyzed, PRICES.insightsPer100kAnalyzed));
  const monthlyUsd = roundUsd(management.monthlyUsd + dataUsd);
  return {
    monthlyUsd,
    note:
      `${formatUsd(monthlyUsd)}/month: ${onData.join(' and ')} on data events, ` +
      `${dataAnalyzed.toLocaleString('en-US')} events analyzed (${formatUsd(dataUsd)}; ` +
      `${assumption(a, a.monthlyDataEvents, 'data events')})` +
      (onManagement.length > 0 ? `, plus on management events ${management.note}` : ''),
  };
}

/**
 * Network activity events (advanced selectors with eventCategory = NetworkActivity: API calls through VPC
 * endpoints), billed like data events on every trail that records them. The volume assumed is the data event
 * estimate: the collector cannot count them.
 */
export function networkActivityEventsCost(a: CostAssumptions): CostImpact {
  const monthlyUsd = roundUsd(per100k(a.monthlyDataEvents, PRICES.networkActivityEventsPer100k));
  return {
    monthlyUsd,
    note:
      `${formatUsd(monthlyUsd)}/month — network activity events at $0.10 per 100,000; ` +
      `${assumption(a, a.monthlyDataEvents, 'network activity events')}, the data event estimate`,
  };
}

/** ReceiveMessage requests an idle event source mapping sends to one queue in a 30-day month, per poller count. */
export function idlePollingRequestsPerMonth(pollers: number): number {
  return pollers * (SECONDS_PER_MONTH / LONG_POLL_SECONDS);
}

/**
 * The SQS requests of an event source mapping polling `queues` idle queues of one account, billed to the queue
 * owner (the customer account: SQS bills requests to a shared queue to the queue's owner). The amount is the
 * cost above the free tier with five pollers a queue (the free 1 million requests a month are shared by every
 * queue of the account, and by every account of an AWS Organization, so they may already be used up); the note
 * gives the range and says when it is $0.
 */
export function eventSourceMappingPollingCost(queues = 1): CostImpact {
  if (!(Number.isInteger(queues) && queues >= 1)) {
    throw new Error(`eventSourceMappingPollingCost: queues must be a positive integer, got ${queues}`);
  }
  const most = queues * idlePollingRequestsPerMonth(ESM_IDLE_POLLERS.max);
  const least = queues * idlePollingRequestsPerMonth(ESM_IDLE_POLLERS.min);
  const perMillion = (requests: number) => (requests / 1_000_000) * PRICES.sqsRequestsPerMillion;
  const monthlyUsd = roundUsd(perMillion(most));
  return {
    monthlyUsd,
    note:
      `${formatUsd(monthlyUsd)}/month at most, to the customer (the queue owner) — the event source mapping long-polls ` +
      `the queue even when it is empty: ${ESM_IDLE_POLLERS.min} to ${ESM_IDLE_POLLERS.max} pollers, one ` +
      `${LONG_POLL_SECONDS}-second ReceiveMessage each, ${least.toLocaleString('en-US')} to ` +
      `${most.toLocaleString('en-US')} requests a month per idle queue, at $0.40 per million beyond the SQS free tier ` +
      `of ${PRICES.sqsFreeRequestsPerMonth.toLocaleString('en-US')} requests a month; $0 while the account's SQS ` +
      'requests stay within that free tier, which an AWS Organization shares across all its accounts; the polling ' +
      'continues until the mapping is deleted (disabling it stops it too)',
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

/** Files named in one backfill message (ingest's limit), and messages in one SendMessageBatch (SQS's: 10 entries). */
export const BACKFILL_FILES_PER_MESSAGE = MAX_BACKFILL_KEYS;
export const BACKFILL_MESSAGES_PER_BATCH = 10;

export interface BackfillCostInput {
  /** ListObjectsV2 requests: one per region and day folder (a page holds 1,000 keys), plus those finding folders. */
  listRequests: number;
  regions: number;
  days: number;
  /** Whether more regions may be found by listing (a multi-region trail): each adds `days` requests. */
  regionsFound: boolean;
  /** Files enqueued at most in this run (BACKFILL_MAX_FILES_PER_RUN). */
  maxFiles: number;
  delivery: 'customer-queue' | 'backfill-queue';
}

/**
 * BACKFILL, a one-time charge (booked in the month it runs; `monthlyUsd` carries it): the S3 LIST requests of the
 * window, billed to the bucket owner, and at most `maxFiles` files enqueued: SendMessageBatch requests (10
 * messages of up to 10 files each), ingest's receive and delete of each message, and its GET of each file.
 */
export function backfillCost(input: BackfillCostInput): CostImpact {
  const messages = Math.ceil(input.maxFiles / BACKFILL_FILES_PER_MESSAGE);
  const sends = Math.ceil(messages / BACKFILL_MESSAGES_PER_BATCH);
  // Ingest receives and deletes in batches too: at most one receive and one delete request per message.
  const sqsRequests = sends + 2 * messages;
  const listUsd = (input.listRequests / 1_000) * PRICES.s3ListRequestsPer1k;
  const getUsd = (input.maxFiles / 1_000) * PRICES.s3GetRequestsPer1k;
  const sqsUsd = (sqsRequests / 1_000_000) * PRICES.sqsRequestsPerMillion;
  const total = listUsd + getUsd + sqsUsd;
  const payer =
    input.delivery === 'customer-queue'
      ? 'to the customer (the bucket and the queue owner)'
      : 'the LIST requests and GETs to the customer (the bucket owner), the SQS requests to the collector (the backfill queue)';
  return {
    monthlyUsd: roundUsd(total),
    note:
      `${formatUsd(total)} once, not monthly, ${payer} — ${input.listRequests.toLocaleString('en-US')} S3 LIST ` +
      `request(s) (${input.regions} region(s) x ${input.days} day folder(s), one per 1,000 keys` +
      `${input.regionsFound ? ', plus the listing that finds the regions; each further region found adds ' + input.days : ''}` +
      `) at $${PRICES.s3ListRequestsPer1k} per 1,000; for at most ${input.maxFiles.toLocaleString('en-US')} file(s) ` +
      `missing from the ledger this run: ${sends.toLocaleString('en-US')} SendMessageBatch and ` +
      `${(2 * messages).toLocaleString('en-US')} receive and delete requests at $0.40 per million beyond the SQS free ` +
      `tier, and one GET per file at $${PRICES.s3GetRequestsPer1k} per 1,000`,
  };
}

/**
 * Turning on log file validation (UPDATE_TRAIL for LOG_FILE_VALIDATION_DISABLED): CloudTrail charges nothing for
 * digests (its pricing page bills event copies, data events, Insights and Lake, never digest files); S3 bills
 * the digest objects as any other: one per Region per hour (CloudTrail User Guide, "Validating CloudTrail log
 * file integrity"), each one PUT request (S3's PUT/COPY/POST/LIST tier, PRICES.s3ListRequestsPer1k) and a few KB
 * (DIGEST_KB, gzip'd: a digest names the hour's dozen log files with their hashes).
 */
export const DIGEST_KB = 2;
export function logFileValidationCost(regions = 17): CostImpact {
  const digests = regions * 24 * 30;
  const putUsd = (digests / 1_000) * PRICES.s3ListRequestsPer1k;
  const storageUsd = ((digests * DIGEST_KB) / 1024 / 1024) * PRICES.s3StandardPerGbMonth;
  const total = putUsd + storageUsd;
  return {
    monthlyUsd: roundUsd(total),
    note:
      `${formatUsd(total)}/month — digest files are free from CloudTrail; S3 bills ${digests.toLocaleString('en-US')} ` +
      `digest PUTs a month (one per Region per hour, ${regions} Regions) at $${PRICES.s3ListRequestsPer1k} per 1,000 ` +
      `and ~${DIGEST_KB} KB each at $${PRICES.s3StandardPerGbMonth} per GB-month; only that setting changes`,
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
    case 'PUT_BUCKET_NOTIFICATION':
      return {
        monthlyUsd: FREE,
        note:
          '$0 — S3 event notifications are not charged; each log file becomes one SQS message for the archive ' +
          "(within the SQS free tier of 1 million requests a month, shared by an AWS Organization's accounts); in " +
          "the hub topology one SNS publish on the archive's topic (within the SNS free tier of 1 million a month; " +
          'deliveries to SQS are free)',
      };
    case 'PUT_ARCHIVE_EVENT_RULE':
      return {
        monthlyUsd: FREE,
        note:
          '$0 — events AWS services (here S3) send to the default event bus, their rule matching and delivery to ' +
          'SQS or SNS are not charged (Amazon EventBridge pricing: AWS service events are free); each log file ' +
          'becomes one SQS message for the archive (within the SQS free tier), in the hub topology one SNS publish ' +
          "on the archive's topic (within the SNS free tier; deliveries to SQS are free)",
      };
    case 'CREATE_QUEUE':
      return {
        monthlyUsd: FREE,
        note:
          '$0 — a queue costs nothing by itself; one message per log file stays within the SQS free tier ' +
          "(1 million requests a month, shared by an AWS Organization's accounts); the polling of the queue is " +
          'priced with the event source mapping (CREATE_ESM)',
      };
    case 'CREATE_ESM':
    case 'ENABLE_ESM':
      // SQS bills every ReceiveMessage, empty long polls included, to the queue owner: not $0 to the customer.
      return eventSourceMappingPollingCost(1);
    case 'SET_SUBSCRIPTION_ATTRIBUTES':
      return { monthlyUsd: FREE, note: '$0 — subscription attributes are free' };
    case 'UNSUBSCRIBE':
      return { monthlyUsd: FREE, note: '$0 — ends the deliveries of the path being retired' };
    case 'UPDATE_ESM':
      // Lambda Developer Guide, "Configuring scaling behavior for SQS event source mappings": with maximum
      // concurrency set, Lambda no longer optimizes an idle mapping down to 2 pollers; the polling estimate
      // (eventSourceMappingPollingCost) already counts 5.
      return {
        monthlyUsd: FREE,
        note:
          "$0 beyond the mapping's polling estimate — with MaximumConcurrency set, Lambda keeps about 5 pollers on an " +
          `idle queue instead of optimizing down to 2, the upper end of that estimate (${eventSourceMappingPollingCost(1).note})`,
      };
    case 'DELETE_ESM':
      return {
        monthlyUsd: FREE,
        note: `$0 — and the mapping's idle polling of the customer queue stops (${eventSourceMappingPollingCost(1).note})`,
      };
    case 'RETIRE_TRAIL': {
      // A saving, stated in the note: monthlyUsd is what an action adds to the bill (never negative), and retiring
      // adds nothing. outcomes-trail was the second copy beside an organization trail: the first copy of
      // management events is free per account and Region, each further copy is billed (CloudTrail pricing).
      const copy = duplicateTrailsCost(1, a);
      return {
        monthlyUsd: FREE,
        note:
          `$0 added, and it saves ${formatUsd(copy.monthlyUsd)}/month — outcomes-trail was the paid second copy ` +
          `beside the organization trail, which keeps logging the account's management events (${copy.note})`,
      };
    }
    case 'BACKFILL':
      // The rule prices each planned BACKFILL from its window (backfillCost); this is the code's generic line.
      return {
        monthlyUsd: FREE,
        note:
          `$0 a month — once: S3 LIST requests at $${PRICES.s3ListRequestsPer1k} per 1,000 (one per region and day ` +
          'of the window) and SQS requests for the files the ledger lacks; each planned BACKFILL states its count',
      };
  }
}
