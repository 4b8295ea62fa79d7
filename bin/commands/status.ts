/**
 * `status`: every account's health from the registry, the worst first, optionally filtered (--unhealthy,
 * --finding CODE), as a table, JSON, or one self-contained HTML page (--html FILE; docs/operations.md#status).
 */
import { writeFile } from 'node:fs/promises';
import { FINDING_CODES, type FindingCode } from '../../lambdas/reconcile/report-types';
import type { Action, Finding } from '../../lambdas/reconcile/types';
import { PermanentInputError, errorMessage } from '../../lambdas/shared/errors';
import type { AccountRecord, AccountStatus } from '../../lambdas/shared/registry';
import { registryFromEnv } from './accounts';
import { EXIT, formatTable, printJson, printResult } from './output';

/** A COST_* finding with the estimate it states ("... about $1,000/month ..."), in dollars a month, when it states one. */
export type CostWarning = Finding & { monthlyUsd?: number };

export interface StatusRow {
  accountId: string;
  mode: string;
  health: AccountStatus;
  lastRunAt: string | null;
  /** When records of this account last reached the downstream (written by ingest). */
  lastRecordAt: string | null;
  openFindings: string[];
  /** Every finding of the last run (open or answered), for --finding and the page's findings by code. */
  findings: Finding[];
  costWarnings: CostWarning[];
  ingestTopology: string;
  ingestShard?: number;
}

const SEVERITY_RANK: Record<string, number> = { high: 0, medium: 1, low: 2, info: 3 };
/** Worst first: an error, then degraded, then never run, then repaired, then healthy. */
const HEALTH_RANK: Record<AccountStatus, number> = { error: 0, degraded: 1, new: 2, repaired: 3, healthy: 4 };

const healthy = (health: AccountStatus) => health === 'healthy' || health === 'repaired';

function monthlyUsd(message: string): number | undefined {
  const amount = /\$([\d,]+(?:\.\d+)?)/.exec(message)?.[1];
  return amount === undefined ? undefined : Number(amount.replace(/,/g, ''));
}

export function statusRow(account: AccountRecord): StatusRow {
  const findings = (account.findings ?? []) as Finding[];
  const applied = new Set(
    ((account.actions ?? []) as Action[]).filter((a) => a.status === 'applied').map((a) => a.reason),
  );
  // Open: found, not informational, and not answered by an action the same run applied.
  const open = findings.filter(
    (finding) => finding.severity !== 'info' && !finding.code.startsWith('COST_') && !applied.has(finding.code),
  );
  const cost = findings.filter((finding) => finding.code.startsWith('COST_'));
  return {
    accountId: account.accountId,
    mode: account.mode,
    health: account.status,
    lastRunAt: account.lastRunAt ?? null,
    lastRecordAt: account.lastRecordAt ?? null,
    openFindings: open.map((finding) => finding.code),
    findings,
    costWarnings: cost.map((finding) => {
      const usd = monthlyUsd(finding.message);
      return { ...finding, ...(usd !== undefined ? { monthlyUsd: usd } : {}) };
    }),
    // Absent on records written before topologies existed: those are customer-queue (registry.ts).
    ingestTopology: account.ingestTopology ?? 'customer-queue',
    ...(account.ingestShard !== undefined ? { ingestShard: account.ingestShard } : {}),
  };
}

function worstSeverity(row: StatusRow): number {
  const open = new Set(row.openFindings);
  return Math.min(4, ...row.findings.filter((f) => open.has(f.code)).map((f) => SEVERITY_RANK[f.severity] ?? 4));
}

/**
 * Worst first: by health, then the most severe open finding, then the number of open findings, then the
 * account whose records arrived longest ago (never before any), then by account id.
 */
export function worstFirst(rows: readonly StatusRow[]): StatusRow[] {
  return [...rows].sort(
    (a, b) =>
      HEALTH_RANK[a.health] - HEALTH_RANK[b.health] ||
      worstSeverity(a) - worstSeverity(b) ||
      b.openFindings.length - a.openFindings.length ||
      (a.lastRecordAt ?? '').localeCompare(b.lastRecordAt ?? '') ||
      a.accountId.localeCompare(b.accountId),
  );
}

export interface StatusFilter {
  unhealthy?: boolean;
  finding?: string;
}

/** The --finding code, checked against the codes the collector emits. */
export function findingCode(value: string): FindingCode {
  const code = value.trim().toUpperCase();
  if (!(FINDING_CODES as readonly string[]).includes(code)) {
    throw new PermanentInputError(
      `--finding ${value}: not a finding code (docs/drift-remediation.md lists them: ${FINDING_CODES.join(', ')})`,
    );
  }
  return code as FindingCode;
}

export function filterRows(rows: readonly StatusRow[], filter: StatusFilter): StatusRow[] {
  const code = filter.finding !== undefined ? findingCode(filter.finding) : undefined;
  return rows.filter(
    (row) =>
      (filter.unhealthy !== true || !healthy(row.health)) &&
      (code === undefined || row.findings.some((finding) => finding.code === code)),
  );
}

function money(usd: number): string {
  const cents = Number.isInteger(usd) ? 0 : 2;
  return `$${usd.toLocaleString('en-US', { minimumFractionDigits: cents, maximumFractionDigits: 2 })}`;
}

function costSummary(warnings: CostWarning[]): string {
  if (warnings.length === 0) return '-';
  return warnings
    .map((w) => (w.monthlyUsd !== undefined ? `${w.code} ${money(w.monthlyUsd)}/month` : w.code))
    .join(', ');
}

export function formatStatusTable(rows: readonly StatusRow[]): string {
  return formatTable(
    ['ACCOUNT', 'MODE', 'HEALTH', 'LAST RUN', 'OPEN FINDINGS', 'COST WARNINGS', 'TOPOLOGY', 'LAST RECORD'],
    rows.map((row) => [
      row.accountId,
      row.mode,
      row.health,
      row.lastRunAt ?? 'never',
      row.openFindings.length === 0 ? '-' : row.openFindings.join(','),
      costSummary(row.costWarnings),
      row.ingestShard !== undefined ? `${row.ingestTopology} (shard ${row.ingestShard})` : row.ingestTopology,
      row.lastRecordAt ?? 'never',
    ]),
  );
}

const escapeHtml = (text: string) =>
  text.replace(
    /[&<>"']/g,
    (char) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[char] ?? char,
  );

/** "3 h ago", for the freshness column; `never` without a time. */
function age(iso: string | null, now: Date): string {
  if (iso === null) return 'never';
  const minutes = Math.max(0, Math.round((now.getTime() - Date.parse(iso)) / 60_000));
  if (minutes < 120) return `${minutes} min ago`;
  if (minutes < 48 * 60) return `${Math.round(minutes / 60)} h ago`;
  return `${Math.round(minutes / 1440)} days ago`;
}

/**
 * One self-contained page: inline CSS, no script, no image, no link to anything, and a Content-Security-Policy
 * that lets the browser load nothing else either (default-src 'none'), so opening it makes no request.
 */
export function renderStatusHtml(rows: readonly StatusRow[], options: { now: Date; title?: string }): string {
  const { now } = options;
  const counts = new Map<AccountStatus, number>();
  for (const row of rows) counts.set(row.health, (counts.get(row.health) ?? 0) + 1);
  const byCode = new Map<string, { severity: string; accounts: string[] }>();
  for (const row of rows) {
    for (const finding of row.findings) {
      const entry = byCode.get(finding.code) ?? { severity: finding.severity, accounts: [] };
      if (!entry.accounts.includes(row.accountId)) entry.accounts.push(row.accountId);
      if ((SEVERITY_RANK[finding.severity] ?? 4) < (SEVERITY_RANK[entry.severity] ?? 4))
        entry.severity = finding.severity;
      byCode.set(finding.code, entry);
    }
  }
  const codes = [...byCode.entries()].sort(
    ([a, x], [b, y]) =>
      (SEVERITY_RANK[x.severity] ?? 4) - (SEVERITY_RANK[y.severity] ?? 4) ||
      y.accounts.length - x.accounts.length ||
      a.localeCompare(b),
  );
  const costs = rows.flatMap((row) => row.costWarnings.map((warning) => ({ accountId: row.accountId, ...warning })));
  costs.sort((a, b) => (b.monthlyUsd ?? 0) - (a.monthlyUsd ?? 0));
  const totalCost = costs.reduce((sum, warning) => sum + (warning.monthlyUsd ?? 0), 0);
  const e = escapeHtml;
  const tiles = (['error', 'degraded', 'new', 'repaired', 'healthy'] as const)
    .map((health) => `<div class="tile ${health}"><b>${counts.get(health) ?? 0}</b>${health}</div>`)
    .join('');
  const list = (accounts: string[]) =>
    e(accounts.slice(0, 8).join(', ') + (accounts.length > 8 ? ` and ${accounts.length - 8} more` : ''));
  const section = (title: string, body: string) => `<section><h2>${e(title)}</h2>${body}</section>`;
  const table = (headers: string[], body: string[]) =>
    body.length === 0
      ? '<p class="none">none</p>'
      : `<table><thead><tr>${headers.map((h) => `<th>${e(h)}</th>`).join('')}</tr></thead><tbody>${body.join('')}</tbody></table>`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${e(options.title ?? 'cloudtrail-collector status')}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#1d2330;background:#fff}
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:24px 0 8px}
.meta{color:#5b6475;margin:0 0 16px}
.tiles{display:flex;gap:12px;flex-wrap:wrap}
.tile{border-radius:6px;padding:10px 16px;min-width:90px;color:#1d2330;background:#eef1f5}
.tile b{display:block;font-size:24px}
.error{background:#f8d7da}.degraded{background:#ffe8c2}.new{background:#e4e7ee}.repaired{background:#d6ecff}.healthy{background:#d4f0dc}
table{border-collapse:collapse;width:100%;max-width:1200px}
th,td{text-align:left;padding:4px 10px;border-bottom:1px solid #dde1e8;vertical-align:top}
th{background:#f4f6f9;font-weight:600}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.sev-high{color:#a4161a;font-weight:600}.sev-medium{color:#b35c00}.sev-low{color:#4a5568}.sev-info{color:#718096}
span.health{border-radius:4px;padding:1px 6px}
.none{color:#5b6475}
</style>
</head>
<body>
<h1>${e(options.title ?? 'cloudtrail-collector status')}</h1>
<p class="meta">${rows.length} account${rows.length === 1 ? '' : 's'}, generated ${e(now.toISOString())}</p>
<div class="tiles">${tiles}</div>
${section(
  'Findings by code',
  table(
    ['code', 'severity', 'accounts', 'which'],
    codes.map(
      ([code, entry]) =>
        `<tr><td>${e(code)}</td><td class="sev-${e(entry.severity)}">${e(entry.severity)}</td><td class="num">${entry.accounts.length}</td><td>${list(entry.accounts)}</td></tr>`,
    ),
  ),
)}
${section(
  `Cost warnings${totalCost > 0 ? ` (about ${money(totalCost)}/month in all)` : ''}`,
  table(
    ['account', 'code', 'per month', 'estimate'],
    costs.map(
      (warning) =>
        `<tr><td>${e(warning.accountId)}</td><td>${e(warning.code)}</td><td class="num">${warning.monthlyUsd !== undefined ? e(money(warning.monthlyUsd)) : '-'}</td><td>${e(warning.message)}</td></tr>`,
    ),
  ),
)}
${section(
  'Accounts, worst first: health and freshness',
  table(
    ['account', 'health', 'mode', 'last record', 'last run', 'open findings'],
    rows.map(
      (row) =>
        `<tr><td>${e(row.accountId)}</td><td><span class="health ${e(row.health)}">${e(row.health)}</span></td><td>${e(row.mode)}</td><td title="${e(row.lastRecordAt ?? '')}">${e(age(row.lastRecordAt, now))}</td><td>${e(row.lastRunAt ?? 'never')}</td><td>${row.openFindings.length === 0 ? '-' : e(row.openFindings.join(', '))}</td></tr>`,
    ),
  ),
)}
</body>
</html>
`;
}

export async function statusCommand(
  options: { json?: boolean; html?: string; unhealthy?: boolean; finding?: string },
  now: () => Date = () => new Date(),
): Promise<number> {
  const filter = {
    ...(options.unhealthy ? { unhealthy: true } : {}),
    ...(options.finding ? { finding: options.finding } : {}),
  };
  // Checked before the registry is read: a typo in --finding is a usage error, not an empty list.
  if (filter.finding !== undefined) findingCode(filter.finding);
  const accounts = await registryFromEnv().list();
  const rows = filterRows(worstFirst(accounts.map(statusRow)), filter);
  if (options.html !== undefined) {
    try {
      await writeFile(options.html, renderStatusHtml(rows, { now: now() }));
    } catch (error) {
      throw new PermanentInputError(`cannot write --html ${options.html}: ${errorMessage(error)}`, { cause: error });
    }
    printResult(`wrote ${options.html}: ${rows.length} accounts`);
  } else if (options.json) {
    printJson(rows.map(({ findings: _findings, ...row }) => row));
  } else {
    printResult(formatStatusTable(rows));
  }
  return rows.every((row) => healthy(row.health)) ? EXIT.ok : EXIT.failures;
}
