import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { logger } from '../shared/logger';
import { loadIngestConfig } from './config';
import { processSqsBatch, type CountSink, type IngestDeps } from './source/sqs-batch';
import { createIngestDeps } from './runtime';

// Read once at cold start: a bad variable fails the first invocation with its name, before any message is touched.
const config = loadIngestConfig();
const metrics = new Metrics({ namespace: 'CloudTrailCollector', serviceName: 'ingest' });
const counts: CountSink = {
  count: (name, value, unit = 'Count') => metrics.addMetric(name, MetricUnit[unit], value),
};
// Built once per container: the downstream circuit breaker and the settler's knowledge of each queue live with it.
let deps: Promise<IngestDeps> | undefined;

export const handler = async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
  logger.addContext(context);
  // A failed start (e.g. the token secret unreadable) is retried on the next invocation, not cached.
  deps ??= createIngestDeps(config, logger, counts).catch((error: unknown) => {
    deps = undefined;
    throw error;
  });
  try {
    const deadline = Date.now() + context.getRemainingTimeInMillis() - config.deadlineMarginMs;
    const result = await processSqsBatch(event.Records, await deps, deadline);
    return { batchItemFailures: result.batchItemFailures };
  } finally {
    metrics.publishStoredMetrics();
  }
};
