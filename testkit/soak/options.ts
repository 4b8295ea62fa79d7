/** The soak's knobs, its defaults and its fault rates (testkit/soak/run.ts runs it; `npm run soak` parses them). */
import type { FaultRates } from '../downstream-receiver';

export const REGION = 'us-east-1';
export const TENANT = '111122223333';
export const FOREIGN_ACCOUNT = '999988887777';
export const TABLE = 'soak-accounts';
export const TOKEN = 'soak-token-5c1d0e7a';

export interface SoakOptions {
  messages: number;
  seed: number;
  /** Concurrent "Lambda instances", each polling the queue. */
  pollers: number;
  visibilitySeconds: number;
  maxReceiveCount: number;
  /** Plays the Lambda timeout: the deadline handed to processSqsBatch for each batch. */
  batchTimeoutMs: number;
  downstreamTimeoutMs: number;
  /** An instance is replaced (a cold start: new credential cache, new sink) after this many batches. */
  recycleEveryBatches: number;
  /** Poison messages planted (default 0.5% of the messages, at least 7: one of each kind). */
  poison?: number;
  /**
   * Messages are delivered as CloudTrail delivers them, continuously: at most this many wait in the queue at a
   * time. (moto's SQS scans every message of a queue on each receive and delete, so a 10,000-message backlog
   * would measure moto, not the collector.)
   */
  maxBacklog: number;
  /** Stops waiting for the queue to drain after this long (the report then says so). */
  timeLimitSeconds: number;
  /** Fault injection on or off (off: a baseline). */
  faults: boolean;
  /** Use this moto instead of starting one (it is reset first). */
  motoEndpoint?: string;
  /** Where the JSON report goes; default bench/out/soak-<messages>.json. */
  out?: string;
  /** No progress lines on stderr. */
  quiet?: boolean;
}

export const DEFAULT_OPTIONS: SoakOptions = {
  messages: 10_000,
  seed: 1,
  pollers: 6,
  visibilitySeconds: 8,
  maxReceiveCount: 5,
  batchTimeoutMs: 4_000,
  downstreamTimeoutMs: 800,
  recycleEveryBatches: 15,
  maxBacklog: 400,
  timeLimitSeconds: 540,
  faults: true,
};

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
  /** Two downstream outages (every request answered 500), started when 25% and 60% of the messages are done. */
  outageMs: 3_000,
  outagesAt: [0.25, 0.6],
  s3SlowDown: 0.03,
  s3CutBody: 0.005,
  stsThrottling: 0.3,
};
