import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import { CollectorError } from '../shared/errors';
import { logger } from '../shared/logger';
import { AccountNotRegisteredError } from '../shared/registry';
import { loadReconcileConfig } from './config';
import { isScheduledEvent, requestFromEvent } from './run-request';
import { createReconcileRuntime } from './runtime';
import { sweep, sweepMetrics, type SweepResult } from './sweep';
import type { ReconcileReport } from './types';
import { runJob } from './worker';

// Read once at cold start: a bad variable fails the first invocation naming it.
const runtime = createReconcileRuntime(loadReconcileConfig());

/** Kept back from the deadline for a direct run's lease, so that the lease never outlives the invocation. */
const MARGIN_MS = 5_000;

/**
 * The reconcile function: the schedule runs the sweep (sweep.ts), which sends the due accounts' jobs to the job
 * queue; a direct invocation `{"mode","accountId"}` reconciles that account here and returns its report (under
 * the account's lease, like a worker); `{"mode"}` alone sends every account a job in that mode.
 */
export const handler = async (event: unknown, context: Context): Promise<ReconcileReport | SweepResult> => {
  logger.addContext(context);
  const request = requestFromEvent(event);
  const { worker } = runtime;
  if (request.accountId !== undefined) {
    const now = new Date();
    const outcome = await runJob(
      {
        kind: 'reconcile-account',
        accountId: request.accountId,
        mode: request.mode,
        reason: 'manual',
        requestedAt: now.toISOString(),
      },
      worker,
      {
        owner: context.awsRequestId,
        deadline: new Date(now.getTime() + Math.max(0, context.getRemainingTimeInMillis() - MARGIN_MS)),
      },
    );
    if (outcome.kind === 'not-registered') throw new AccountNotRegisteredError(request.accountId);
    if (outcome.kind === 'lease-held') {
      throw new CollectorError(
        `account ${request.accountId} is being reconciled by ${outcome.owner}; try again in ${outcome.retryInSeconds} s`,
      );
    }
    if (outcome.kind !== 'reconciled') throw new CollectorError(`unexpected outcome ${outcome.kind}`);
    const report: ReconcileReport = { mode: request.mode, runAt: now.toISOString(), accounts: [outcome.report] };
    logger.info('reconcile report', { report });
    return report;
  }
  try {
    const result = await sweep(
      {
        registry: worker.registry,
        queue: runtime.jobQueue(),
        lambda: worker.clients.collector.lambda,
        config: runtime.config,
        logger,
      },
      { mode: request.mode, reason: isScheduledEvent(event) ? 'schedule' : 'manual' },
    );
    sweepMetrics(result, (name, value) => runtime.metrics.addMetric(name, MetricUnit.Count, value));
    return result;
  } finally {
    runtime.metrics.publishStoredMetrics();
  }
};
