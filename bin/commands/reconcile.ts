import { readFile } from 'node:fs/promises';
import { awsClients } from '../../lambdas/shared/aws-clients';
import { LedgerTable } from '../../lambdas/shared/ledger';
import { OrganizationsRegistry } from '../../lambdas/shared/organization-registry';
import { createStderrLogger } from '../../lambdas/shared/logger';
import { PermanentInputError, errorMessage } from '../../lambdas/shared/errors';
import { createReconcileClients } from '../../lambdas/reconcile/clients';
import { loadReconcileConfig } from '../../lambdas/reconcile/config';
import { reconcileAll } from '../../lambdas/reconcile/reconcile';
import { requestFromEvent } from '../../lambdas/reconcile/run-request';
import type { AccountReport, ReconcileReport, RunMode } from '../../lambdas/reconcile/types';
import { registryFromEnv } from './accounts';
import { prepareLedgerTable } from './ingest';
import { EXIT, printJson, printResult } from './output';
import { progressLine } from './progress';

async function runReconcile(mode: RunMode, accountId?: string): Promise<ReconcileReport> {
  const config = loadReconcileConfig();
  const registry = registryFromEnv();
  // The ledger beside the registry (LEDGER_TABLE, else <ACCOUNTS_TABLE>-ledger): freshness only reads it, and a
  // missing table leaves freshness unjudged (docs/completeness.md).
  const ledger = new LedgerTable(registry.db, config.ledgerTable);
  // Against the emulator the table is created when missing, as for `ingest`: BACKFILL compares with it.
  const logger = createStderrLogger();
  await prepareLedgerTable(config, awsClients, logger);
  // Over many accounts (and their backfills) this takes a while: a progress line on a terminal.
  const progress = progressLine(mode, 'accounts');
  try {
    return await reconcileAll(
      registry,
      {
        clients: createReconcileClients({ region: config.region }),
        config,
        logger,
        ledger,
        // A log archive's organization trail (its key prefix), from the organization items of the same table.
        organizations: new OrganizationsRegistry(registry.db, registry.tableName),
      },
      {
        mode,
        concurrency: config.concurrency,
        ...(accountId !== undefined ? { accountId } : {}),
        onProgress: (counts) => progress.update(counts),
      },
    );
  } finally {
    progress.finish();
  }
}

/** Exit 0 only when every account ends healthy or repaired (1 = findings left unrepaired; docs/operations.md). */
export function exitCodeFor(report: ReconcileReport): number {
  return report.accounts.every((account) => account.status === 'healthy' || account.status === 'repaired')
    ? EXIT.ok
    : EXIT.failures;
}

function money(usd: number): string {
  return usd === 0 ? '$0' : `$${usd.toLocaleString('en-US', { maximumFractionDigits: 2 })}`;
}

/** The report for people: one block per account, findings then actions with their cost impact. */
export function formatReport(report: ReconcileReport): string {
  const blocks = report.accounts.map((account: AccountReport) => {
    const lines = [`account ${account.accountId}: ${account.status}`];
    for (const finding of account.findings) {
      lines.push(`  [${finding.severity}] ${finding.code} ${finding.resource}`, `      ${finding.message}`);
    }
    for (const action of account.actions) {
      lines.push(
        `  ${action.status.padEnd(7)} ${action.code} ${action.resource} (for ${action.reason}; ${money(action.costImpact.monthlyUsd)}/month: ${action.costImpact.note})` +
          (action.error ? `\n      ${action.error}` : ''),
      );
    }
    if (account.findings.length === 0 && account.actions.length === 0) lines.push('  no findings, no action');
    return lines.join('\n');
  });
  return [`${report.mode} at ${report.runAt}`, ...blocks].join('\n\n');
}

export async function reconcileCommand(
  mode: RunMode,
  options: { accountId?: string; json?: boolean },
): Promise<number> {
  const report = await runReconcile(mode, options.accountId);
  if (options.json) printJson(report);
  else printResult(formatReport(report));
  return exitCodeFor(report);
}

/** `invoke reconcile --event FILE`: the handler's request parsing and run, on an event file. */
export async function invokeReconcile(options: { event: string }): Promise<number> {
  let event: unknown;
  try {
    event = JSON.parse(await readFile(options.event, 'utf8'));
  } catch (error) {
    throw new PermanentInputError(`cannot read --event ${options.event} as JSON: ${errorMessage(error)}`, {
      cause: error,
    });
  }
  const request = requestFromEvent(event);
  const report = await runReconcile(request.mode, request.accountId);
  printJson(report);
  return exitCodeFor(report);
}
