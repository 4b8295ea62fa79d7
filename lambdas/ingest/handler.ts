import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { logger } from '../shared/logger';
import { loadIngestConfig } from './config';
import { processSqsBatch, type CountSink, type IngestDeps } from './source/sqs-batch';
import { isEventBridgeEvent, type EventOutcome } from './source/tamper-triggers';
import { createIngestDeps, createTamperTriggers } from './runtime';

// Read once at cold start: a bad variable fails the first invocation with its name, before any message is touched.
const config = loadIngestConfig();
const metrics = new Metrics({ namespace: 'CloudTrailCollector', serviceName: 'ingest' });
const counts: CountSink = {
  count: (name, value, unit = 'Count') => metrics.addMetric(name, MetricUnit[unit], value),
};
// One for both kinds of event: the records' triggers and the collector event bus's (docs/operations.md, "Triggers").
const tamper = createTamperTriggers(config, logger, counts);
// Built once per container: the downstream circuit breaker and the settler's knowledge of each queue live with it.
let deps: Promise<IngestDeps> | undefined;

/**
 * SQS batches from the event source mappings, and the collector event bus's tamper events (an EventBridge rule
 * target, invoked asynchronously): the customers' forwarded "AWS API Call via CloudTrail" events.
 */
export async function handler(event: SQSEvent, context: Context): Promise<SQSBatchResponse>;
export async function handler(event: Record<string, unknown>, context: Context): Promise<EventOutcome>;
export async function handler(
  event: SQSEvent | Record<string, unknown>,
  context: Context,
): Promise<SQSBatchResponse | EventOutcome> {
  logger.addContext(context);
  try {
    if (isEventBridgeEvent(event)) {
      if (tamper === undefined) return { status: 'rejected', reason: 'RECONCILE_JOB_QUEUE_URL is not set' };
      return await tamper.handleEvent(event);
    }
    // A failed start (e.g. the token secret unreadable) is retried on the next invocation, not cached.
    deps ??= createIngestDeps(config, logger, counts, { tamper }).catch((error: unknown) => {
      deps = undefined;
      throw error;
    });
    const deadline = Date.now() + context.getRemainingTimeInMillis() - config.deadlineMarginMs;
    const result = await processSqsBatch((event as SQSEvent).Records, await deps, deadline);
    return { batchItemFailures: result.batchItemFailures };
  } finally {
    metrics.publishStoredMetrics();
  }
}
