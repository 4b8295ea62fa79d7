/** What one simulated topology reports: counters, delivered files by tenant and phase, the scenario's figures. */
import type { TopologyConfig, Workload } from './model';

/** Tenant classes of a delivered file, for the fairness figures; phases: born before, during, after the outage. */
export const TENANT_HOT = 0;
export const TENANT_CO_SHARD = 1;
export const TENANT_OTHER = 2;
export const PHASE_BEFORE_OUTAGE = 0;
export const PHASE_DURING_OUTAGE = 1;
export const PHASE_AFTER_OUTAGE = 2;

/** Request and work counters; the quiet window's share is kept separately for the per-month figures. */
export interface Counters {
  /** SNS deliveries to the queues: SendMessage requests billed by SQS to the queue owner. */
  sendRequests: number;
  /** ReceiveMessage requests that returned messages (or moved them to the DLQ). */
  receiveRequests: number;
  /** Poller-seconds spent long-polling an empty queue: / 20 s = empty ReceiveMessage requests. */
  idlePollerSeconds: number;
  deleteRequests: number;
  changeVisibilityRequests: number;
  invocations: number;
  executionSeconds: number;
  filesDelivered: number;
}

export interface SimulationResult {
  topology: TopologyConfig;
  workload: Workload;
  filesCreated: number;
  filesDelivered: number;
  filesDeadLettered: number;
  filesUndelivered: number;
  recordsCreated: number;
  recordsDelivered: number;
  recordsLost: number;
  delays: Float32Array;
  /** phase * 3 + tenant class, per delivered file (same order as delays). */
  categories: Uint8Array;
  /** When each delivered file was born (same order as delays). */
  bornAt: Float32Array;
  /** When the last file of the hot tenant's initial backlog was settled (0 without a backlog). */
  hotBacklogDrainedAt: number;
  totals: Counters;
  quietWindow: Counters;
  throttledBatches: number;
  throttleExpiries: number;
  breakerFailFastFiles: number;
  peakConcurrentExecutions: number;
  /** Most files announced but not yet delivered or dead-lettered at any one time. */
  peakUnsettledFiles: number;
  maxReceiveCountSeen: number;
  maxBatchesOfOneMapping: number;
  successfulFiles: number;
  successfulExecutionSeconds: number;
  /** Seconds after the outage's end when every file born before it was delivered or dead-lettered. */
  outageBacklogClearedAfterSeconds: number | undefined;
  simulatedSeconds: number;
  events: number;
}

export function emptyCounters(): Counters {
  return {
    sendRequests: 0,
    receiveRequests: 0,
    idlePollerSeconds: 0,
    deleteRequests: 0,
    changeVisibilityRequests: 0,
    invocations: 0,
    executionSeconds: 0,
    filesDelivered: 0,
  };
}
