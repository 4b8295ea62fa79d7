/**
 * The reconcile domain's data about the account's ingest path (lambdas/shared/topology.ts): the hub queue an account
 * is subscribed to, the ingest function's concurrency budget, and what the registry records of the path. Re-exported
 * by types.ts.
 */
import type { IngestTopology } from '../shared/topology';

/** The account's hub queue, in the `hub` topology: where its topic must be subscribed. */
export interface HubTarget {
  /** The hub queue of the account's shard (HUB_QUEUE_ARNS[shard]). */
  queueArn: string;
  shard: number;
  /**
   * RECONCILE_ROLE_ARN: the queue owner's principal that calls Subscribe (no confirmation needed), which the
   * customer's topic policy lets call sns:Subscribe for this endpoint only.
   */
  subscriberArn: string;
}

/**
 * The ingest function's concurrency budget (customer-queue topology): Lambda throttles the batches of SQS
 * mappings whose MaximumConcurrency sum exceeds the function's reserved concurrency (Lambda Developer Guide,
 * "Configuring scaling behavior for SQS event source mappings", maximum concurrency section).
 */
export interface IngestCapacity {
  /** INGEST_RESERVED_CONCURRENCY. */
  reservedConcurrency: number;
  /** The function's other mappings (every other account's recorded mapping, and the hub mappings). */
  otherMappings: number;
}

/** The principal the topic policy lets subscribe, and the one endpoint it may subscribe. */
export interface HubSubscriber {
  principalArn: string;
  endpoint: string;
}

/**
 * The account's notification path as the registry is to record it: `ingestTopology` and `ingestShard` are set and
 * `remove` is deleted from the item, once every action in `after` applied (all of them: a migration that did
 * not finish is recorded on a later run).
 */
export interface TopologyRecord {
  ingestTopology: IngestTopology;
  ingestShard?: number;
  /** Fields of the old path, removed once it is retired (its queue, its mapping, its shard). */
  remove: readonly ('queueArn' | 'eventSourceMappingUuid' | 'ingestShard')[];
  /** Ids of the actions that must all have applied. */
  after: readonly string[];
}
