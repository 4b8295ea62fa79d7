/** The soak's knobs, its defaults and its fault rates (testkit/soak/run.ts runs it; `npm run soak` parses them). */
import { HUB_MAX_RECEIVE_COUNT, type IngestTopology } from '../../lambdas/shared/topology';
import type { FaultRates } from '../downstream-receiver';

export const REGION = 'us-east-1';
/** The registered tenants, in order: the soak uses the first `tenants` of them. */
export const TENANTS = ['111122223333', '444455556666', '555566667777', '222233334444'] as const;
export const TENANT = TENANTS[0];
/** An account nobody registered: its keys and its topic are poison. */
export const FOREIGN_ACCOUNT = '999988887777';
export const TABLE = 'soak-accounts';
export const TOKEN = 'soak-token-5c1d0e7a';

/** When the long downstream outage starts: once this share of the messages is acknowledged, or after this long. */
export type OutageStart = { percentDone: number } | { afterSeconds: number };

export interface SoakOptions {
  /**
   * `hub`: the collector's hub queues (testkit/hub.ts) in the collector account, each tenant's notifications in
   * its shard's queue as SNS envelopes; `customer-queue`: one queue in each tenant's account, as the seed had.
   */
  topology: IngestTopology;
  /** Hub queues created (`hub`); the tenants land on the shard `shardOf` gives them. */
  shards: number;
  /** Registered tenants, each with its bucket and topic (and, on `customer-queue`, its queue): 1 to 4. */
  tenants: number;
  messages: number;
  seed: number;
  /** Concurrent "Lambda instances", spread over the queues that carry messages (one mapping per queue). */
  pollers: number;
  /** The queues' VisibilityTimeout: what a message not explicitly backed off waits (a batch past its deadline). */
  visibilitySeconds: number;
  /** The queues' redrive policy: the customer queue's 5, the hub queues' HUB_MAX_RECEIVE_COUNT (40). */
  maxReceiveCount: number;
  /** Plays the Lambda timeout: the deadline handed to processSqsBatch for each batch. */
  batchTimeoutMs: number;
  downstreamTimeoutMs: number;
  /** An instance is replaced (a cold start: new credential cache, new sink, new breaker) after this many batches. */
  recycleEveryBatches: number;
  /** Poison messages planted (default 0.5% of the messages, at least one of each kind). */
  poison?: number;
  /**
   * Messages are delivered as CloudTrail delivers them, continuously: at most this many wait in the queues or are
   * being processed at a time, not counting those hidden for their backoff. (moto's SQS scans every message of a
   * queue on each receive, ~1 ms a message here, so a 10,000-message backlog would measure moto, not the collector.)
   */
  maxBacklog: number;
  /** At most this many in the queues, those hidden for their backoff included (the bound on moto's scans). */
  maxQueued: number;
  /** The long downstream outage (every request answered 500), in minutes of the soak's clock; 0: none. */
  outageMinutes: number;
  outageStart: OutageStart;
  /**
   * 1: real time. N > 1: the clock runs N times faster for what waits on it: the long outage lasts
   * outageMinutes / N, the hub retry schedule (RETRY_BACKOFF) and the circuit breaker's window and open times are
   * divided by N (schedule.ts). Receive counts, and so how close the outage comes to the DLQ, stay the same.
   */
  timeScale: number;
  /** Stops waiting for the queues to drain after this long (the report then says so). */
  timeLimitSeconds: number;
  /** Fault injection on or off (off: a baseline; the long outage too). */
  faults: boolean;
  /** Use this moto instead of starting one (it is reset first). */
  motoEndpoint?: string;
  /** Where the JSON report goes; default bench/out/soak-<topology>-<messages>.json. */
  out?: string;
  /** No progress lines on stderr. */
  quiet?: boolean;
}

const COMMON = {
  shards: 8,
  messages: 10_000,
  seed: 1,
  pollers: 6,
  visibilitySeconds: 8,
  batchTimeoutMs: 4_000,
  downstreamTimeoutMs: 800,
  recycleEveryBatches: 15,
  maxBacklog: 400,
  maxQueued: 800,
  outageStart: { percentDone: 10 },
  timeScale: 1,
  faults: true,
} satisfies Partial<SoakOptions>;

/**
 * The defaults of each topology. Hub: two tenants on two of 8 shards, the hub queues' real maxReceiveCount, a
 * 30-minute outage, and time for it (the outage, then the retry schedule's one-hour cap, then the rest).
 * Customer queue: the seed's soak (one tenant, maxReceiveCount 5 on an 8 s queue, no long outage: its promise
 * rests on an 1800 s visibility timeout the soak's queue does not have).
 */
export function defaultOptions(topology: IngestTopology = 'hub'): SoakOptions {
  return topology === 'hub'
    ? {
        ...COMMON,
        topology,
        tenants: 2,
        maxReceiveCount: HUB_MAX_RECEIVE_COUNT,
        outageMinutes: 30,
        timeLimitSeconds: 0,
      }
    : { ...COMMON, topology, tenants: 1, maxReceiveCount: 5, outageMinutes: 0, timeLimitSeconds: 540 };
}

/** The time limit when none is given: 9 minutes, plus the outage and the retry cap after it (both scaled). */
export function defaultTimeLimitSeconds(options: Pick<SoakOptions, 'outageMinutes' | 'timeScale'>): number {
  if (options.outageMinutes === 0) return 540;
  return Math.ceil(540 + (options.outageMinutes * 60 + 3_600) / options.timeScale);
}

/** The defaults of `topology` with `input` on top; checks what a caller could get wrong. */
export function resolveOptions(input: Partial<SoakOptions> = {}): SoakOptions {
  const options: SoakOptions = { ...defaultOptions(input.topology), ...input };
  if (!(options.tenants >= 1 && options.tenants <= TENANTS.length)) {
    throw new RangeError(`soak: tenants must be 1 to ${TENANTS.length}, got ${options.tenants}`);
  }
  if (!(options.timeScale >= 1)) throw new RangeError(`soak: timeScale must be at least 1, got ${options.timeScale}`);
  if (options.maxQueued < options.maxBacklog) {
    throw new RangeError(`soak: maxQueued (${options.maxQueued}) must be at least maxBacklog (${options.maxBacklog})`);
  }
  const start = options.outageStart;
  if ('percentDone' in start ? !(start.percentDone >= 0 && start.percentDone < 100) : !(start.afterSeconds >= 0)) {
    throw new RangeError(`soak: outageStart must be 0-99 % done or >= 0 seconds, got ${JSON.stringify(start)}`);
  }
  if (!options.timeLimitSeconds) options.timeLimitSeconds = defaultTimeLimitSeconds(options);
  return options;
}

/** Per-request fault probabilities (the downstream's at most one per request). */
export const FAULT_RATES = {
  downstream: {
    status500: 0.03,
    status429: 0.02,
    status413: 0.01,
    reset: 0.01,
    hang: 0.005,
    acceptThenReset: 0.01,
    retryAfter: '1',
  } satisfies FaultRates,
  /** Two short downstream outages (every request answered 500), started when 25% and 60% of the messages are done. */
  outageMs: 3_000,
  outagesAt: [0.25, 0.6],
  s3SlowDown: 0.03,
  s3CutBody: 0.005,
  stsThrottling: 0.3,
};
