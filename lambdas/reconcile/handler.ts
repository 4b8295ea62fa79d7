import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import { awsClients } from '../shared/aws-clients';
import { LedgerTable } from '../shared/ledger';
import { logger } from '../shared/logger';
import { OrganizationsRegistry } from '../shared/organization-registry';
import { AccountsRegistry } from '../shared/registry';
import { createReconcileClients } from './clients';
import { loadReconcileConfig } from './config';
import { reconcileAll } from './reconcile';
import { emitRunMetrics, requestFromEvent } from './run-request';
import type { ReconcileReport } from './types';

// Read once at cold start: a bad variable fails the first invocation naming it.
const config = loadReconcileConfig();
const metrics = new Metrics({ namespace: 'CloudTrailCollector', serviceName: 'reconcile' });
const registry = new AccountsRegistry(awsClients.dynamoDocument({ region: config.region }), config.accountsTable);
// Freshness reads the ledger's newest files (LEDGER_TABLE, else <ACCOUNTS_TABLE>-ledger; docs/completeness.md).
const ledger = new LedgerTable(registry.db, config.ledgerTable);
const clients = createReconcileClients({ region: config.region });
// A log archive's organization trail (its key prefix): the organization items of the registry table.
const organizations = new OrganizationsRegistry(registry.db, config.accountsTable);

export const handler = async (event: unknown, context: Context): Promise<ReconcileReport> => {
  logger.addContext(context);
  const request = requestFromEvent(event);
  try {
    const report = await reconcileAll(
      registry,
      { clients, config, logger, ledger, organizations },
      { ...request, concurrency: config.concurrency },
    );
    logger.info('reconcile report', { report });
    emitRunMetrics(report, (name, value) => metrics.addMetric(name, MetricUnit.Count, value));
    return report;
  } finally {
    metrics.publishStoredMetrics();
  }
};
