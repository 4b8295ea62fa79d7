/**
 * The reconcile functions' dependencies, built once per cold start and shared by the sweep (handler.ts) and the
 * worker (worker-handler.ts): the registry, the ledger, the organizations, the AWS clients, the lease and the
 * metrics. Both functions run as the reconcile role, which customer roles trust by name.
 */
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { awsClients } from '../shared/aws-clients';
import { ConfigError } from '../shared/errors';
import { LedgerTable } from '../shared/ledger';
import { logger } from '../shared/logger';
import { OrganizationsRegistry } from '../shared/organization-registry';
import { ReconcileJobQueue } from '../shared/reconcile-job';
import { AccountsRegistry } from '../shared/registry';
import { createReconcileClients } from './clients';
import type { ReconcileConfig } from './config';
import { RegistryLease } from './lease';
import type { WorkerDeps, WorkerMetric } from './worker';

export interface ReconcileRuntime {
  config: ReconcileConfig;
  worker: WorkerDeps;
  metrics: Metrics;
  /** The job queue (RECONCILE_JOB_QUEUE_URL): a ConfigError naming the variable when it is not set. */
  jobQueue(): ReconcileJobQueue;
}

export function createReconcileRuntime(config: ReconcileConfig): ReconcileRuntime {
  const metrics = new Metrics({ namespace: 'CloudTrailCollector', serviceName: 'reconcile' });
  const registry = new AccountsRegistry(awsClients.dynamoDocument({ region: config.region }), config.accountsTable);
  const clients = createReconcileClients({ region: config.region });
  const publish = (values: readonly WorkerMetric[]) => {
    for (const { name, value, unit } of values) {
      metrics.addMetric(name, unit === 'Seconds' ? MetricUnit.Seconds : MetricUnit.Count, value);
    }
    metrics.publishStoredMetrics();
  };
  let queue: ReconcileJobQueue | undefined;
  return {
    config,
    metrics,
    worker: {
      clients,
      config,
      logger,
      registry,
      // Freshness reads the ledger's newest files (LEDGER_TABLE, else <ACCOUNTS_TABLE>-ledger; docs/completeness.md).
      ledger: new LedgerTable(registry.db, config.ledgerTable),
      // A log archive's organization trail (its key prefix): the organization items of the registry table.
      organizations: new OrganizationsRegistry(registry.db, config.accountsTable),
      lease: new RegistryLease(registry.db, config.accountsTable),
      publish,
    },
    jobQueue() {
      if (config.jobQueueUrl === undefined)
        throw new ConfigError('RECONCILE_JOB_QUEUE_URL is required to send reconcile jobs');
      queue ??= new ReconcileJobQueue(awsClients.sqs({ region: config.region }), config.jobQueueUrl);
      return queue;
    },
  };
}
