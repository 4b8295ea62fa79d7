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
import type { AccountReport, Action, Finding, ReconcileReport, RunMode } from '../../lambdas/reconcile/types';
import { registryFromEnv } from './accounts';
import { prepareLedgerTable } from './ingest';
import { EXIT, formatTable, printJson, printResult } from './output';

async function runReconcile(mode: RunMode, accountId?: string): Promise<ReconcileReport> {
  const config = loadReconcileConfig();
  const registry = registryFromEnv();
  // The ledger beside the registry (LEDGER_TABLE, else <ACCOUNTS_TABLE>-ledger): freshness only reads it, and a
  // missing table leaves freshness unjudged (docs/completeness.md).
  const ledger = new LedgerTable(registry.db, config.ledgerTable);
  // Against the emulator the table is created when missing, as for `ingest`: BACKFILL compares with it.
  const logger = createStderrLogger();
  await prepareLedgerTable(config, awsClients, logger);
  return reconcileAll(
    registry,
    {
      clients: createReconcileClients({ region: config.region }),
      config,
      logger,
      ledger,
      // A log archive's organization trail (its key prefix), from the organization items of the same table.
      organizations: new OrganizationsRegistry(registry.db, registry.tableName),
    },
    { mode, concurrency: config.concurrency, ...(accountId !== undefined ? { accountId } : {}) },
  );
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

function costWarnings(findings: Finding[]): string {
  const costs = findings.filter((finding) => finding.code.startsWith('COST_'));
  if (costs.length === 0) return '-';
  // Cost findings state their estimate in the message ("... about $1,000/month ..."): show code and amount.
  return costs
    .map((finding) => {
      const amount = /\$[\d,.]+/.exec(finding.message)?.[0];
      return amount ? `${finding.code} ${amount}` : finding.code;
    })
    .join(', ');
}

/** `status`: every account's health, last run, open findings and cost warnings, from the registry. */
export async function statusCommand(options: { json?: boolean }): Promise<number> {
  const accounts = await registryFromEnv().list();
  const rows = accounts.map((account) => {
    const findings = (account.findings ?? []) as Finding[];
    const applied = new Set(
      ((account.actions ?? []) as Action[]).filter((a) => a.status === 'applied').map((a) => a.reason),
    );
    // Open: found, not informational, and not answered by an action the same run applied.
    const open = findings.filter(
      (finding) => finding.severity !== 'info' && !finding.code.startsWith('COST_') && !applied.has(finding.code),
    );
    return {
      accountId: account.accountId,
      mode: account.mode,
      health: account.status,
      lastRunAt: account.lastRunAt ?? null,
      openFindings: open.map((finding) => finding.code),
      costWarnings: findings.filter((finding) => finding.code.startsWith('COST_')),
      // Absent on records written before topologies existed: those are customer-queue (registry.ts).
      ingestTopology: account.ingestTopology ?? 'customer-queue',
      ...(account.ingestShard !== undefined ? { ingestShard: account.ingestShard } : {}),
    };
  });
  if (options.json) {
    printJson(rows);
  } else {
    printResult(
      formatTable(
        ['ACCOUNT', 'MODE', 'HEALTH', 'LAST RUN', 'OPEN FINDINGS', 'COST WARNINGS', 'TOPOLOGY'],
        rows.map((row) => [
          row.accountId,
          row.mode,
          row.health,
          row.lastRunAt ?? 'never',
          row.openFindings.length === 0 ? '-' : row.openFindings.join(','),
          costWarnings(row.costWarnings),
          row.ingestShard !== undefined ? `${row.ingestTopology} (shard ${row.ingestShard})` : row.ingestTopology,
        ]),
      ),
    );
  }
  return rows.every((row) => row.health === 'healthy' || row.health === 'repaired') ? EXIT.ok : EXIT.failures;
}
