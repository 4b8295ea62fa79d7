/**
 * The file `accounts import` reads: CSV (RFC 4180 quoting: a field in double quotes may hold commas, `""` is a
 * quote), a header naming the columns, then one account per line. Columns: `accountId` (required), `mode` and
 * `externalId` (optional, in any order; an empty cell takes the default). Blank lines and lines starting with `#`
 * are skipped. Every row is checked before anything is written, and each error names its line.
 */
import { isAccountId } from '../../lambdas/shared/arn';
import { PermanentInputError } from '../../lambdas/shared/errors';
import { EXTERNAL_ID_PATTERN, type AccountMode } from '../../lambdas/shared/registry';

export const CSV_COLUMNS = ['accountId', 'mode', 'externalId'] as const;
type Column = (typeof CSV_COLUMNS)[number];

export interface ImportRow {
  /** 1-based line in the file. */
  line: number;
  accountId: string;
  /** Absent: the default mode (`--mode`). */
  mode?: AccountMode;
  /** Absent: generated. */
  externalId?: string;
}

/** The file had rows that can never be imported: every one of them, by line. */
export class ImportFileError extends PermanentInputError {
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(`${file}: nothing was imported:\n${problems.map((problem) => `  ${problem}`).join('\n')}`);
  }
}

/** Splits one CSV line into fields; throws a message (without the line number) when a quote is left open. */
export function splitCsvLine(text: string): string[] {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  let wasQuoted = false;
  for (let index = 0; index < text.length; index += 1) {
    const char = text[index]!;
    if (quoted) {
      if (char === '"' && text[index + 1] === '"') {
        field += '"';
        index += 1;
      } else if (char === '"') quoted = false;
      else field += char;
    } else if (char === '"' && field.trim() === '') {
      quoted = true;
      wasQuoted = true;
      field = '';
    } else if (char === ',') {
      fields.push(wasQuoted ? field : field.trim());
      field = '';
      wasQuoted = false;
    } else field += char;
  }
  if (quoted) throw new Error('a quoted field is not closed');
  fields.push(wasQuoted ? field : field.trim());
  return fields;
}

/** Parses and checks the whole file: the rows, or an ImportFileError listing every problem by line. */
export function parseImportCsv(file: string, content: string): ImportRow[] {
  const problems: string[] = [];
  const rows: ImportRow[] = [];
  let columns: Column[] | undefined;
  const seen = new Map<string, number>();
  content.split(/\r?\n/).forEach((text, index) => {
    const line = index + 1;
    if (text.trim() === '' || text.trimStart().startsWith('#')) return;
    let fields: string[];
    try {
      fields = splitCsvLine(text);
    } catch (error) {
      problems.push(`line ${line}: ${(error as Error).message}`);
      return;
    }
    if (columns === undefined) {
      const unknown = fields.filter((name) => !(CSV_COLUMNS as readonly string[]).includes(name));
      const repeated = fields.filter((name, at) => fields.indexOf(name) !== at);
      if (unknown.length > 0 || repeated.length > 0 || !fields.includes('accountId')) {
        problems.push(
          `line ${line}: the header must name the columns: accountId, and optionally mode and externalId (got "${text.trim()}"${unknown.length > 0 ? `; unknown: ${unknown.join(', ')}` : ''}${repeated.length > 0 ? `; repeated: ${repeated.join(', ')}` : ''})`,
        );
        columns = [];
        return;
      }
      columns = fields as Column[];
      return;
    }
    if (columns.length === 0) return; // the header was bad: its rows cannot be read
    if (fields.length !== columns.length) {
      problems.push(`line ${line}: ${fields.length} fields, the header names ${columns.length} (${columns.join(',')})`);
      return;
    }
    const cell = (name: Column) => fields[columns!.indexOf(name)] ?? '';
    const accountId = cell('accountId');
    const mode = columns.includes('mode') ? cell('mode') : '';
    const externalId = columns.includes('externalId') ? cell('externalId') : '';
    const before = problems.length;
    if (!isAccountId(accountId)) problems.push(`line ${line}: accountId must be 12 digits, got "${accountId}"`);
    if (mode !== '' && mode !== 'apply' && mode !== 'report') {
      problems.push(`line ${line}: mode must be "apply" or "report" (or empty for the default), got "${mode}"`);
    }
    if (externalId !== '' && !EXTERNAL_ID_PATTERN.test(externalId)) {
      problems.push(
        `line ${line}: externalId must be 2-1224 characters of letters, digits and +=,.@:/-_ (or empty to generate one)`,
      );
    }
    const first = seen.get(accountId);
    if (first !== undefined) problems.push(`line ${line}: account ${accountId} is already on line ${first}`);
    else seen.set(accountId, line);
    if (problems.length > before) return;
    rows.push({
      line,
      accountId,
      ...(mode !== '' ? { mode: mode as AccountMode } : {}),
      ...(externalId !== '' ? { externalId } : {}),
    });
  });
  if (columns === undefined) problems.push('the file has no header line (accountId[,mode][,externalId]) and no rows');
  else if (columns.length > 0 && rows.length === 0 && problems.length === 0)
    problems.push('the file has a header but no rows');
  if (problems.length > 0) throw new ImportFileError(file, problems);
  return rows;
}
