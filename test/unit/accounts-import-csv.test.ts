/**
 * The `accounts import` file (bin/commands/accounts-csv.ts): a header naming the columns, RFC 4180 quoting, and
 * every bad row reported by its line before anything is written.
 */
import { ImportFileError, parseImportCsv, splitCsvLine } from '../../bin/commands/accounts-csv';

function problems(content: string): string[] {
  try {
    parseImportCsv('accounts.csv', content);
  } catch (error) {
    if (error instanceof ImportFileError) return error.problems;
    throw error;
  }
  throw new Error('the file was accepted');
}

test('rows in any column order, optional cells empty, blank and # lines skipped', () => {
  const rows = parseImportCsv(
    'accounts.csv',
    [
      '# exported 2026-11-01',
      'mode,accountId,externalId',
      'report,111122223333,',
      '',
      ',444455556666,"ext,with,commas"',
      '',
    ].join('\r\n'),
  );
  expect(rows).toEqual([
    { line: 3, accountId: '111122223333', mode: 'report' },
    { line: 5, accountId: '444455556666', externalId: 'ext,with,commas' },
  ]);
});

test('accountId alone is a valid header', () => {
  expect(parseImportCsv('a.csv', 'accountId\n111122223333\n')).toEqual([{ line: 2, accountId: '111122223333' }]);
});

test('every bad row is named by its line, and a duplicate names the first line too', () => {
  expect(
    problems(
      [
        'accountId,mode,externalId',
        '1111,apply,',
        '111122223333,fix,',
        '444455556666,report,x',
        '111122223333,report',
        '555566667777,report,"open',
        '444455556666,,',
      ].join('\n'),
    ),
  ).toEqual([
    'line 2: accountId must be 12 digits, got "1111"',
    'line 3: mode must be "apply" or "report" (or empty for the default), got "fix"',
    'line 4: externalId must be 2-1224 characters of letters, digits and +=,.@:/-_ (or empty to generate one)',
    'line 5: 2 fields, the header names 3 (accountId,mode,externalId)',
    'line 6: a quoted field is not closed',
    'line 7: account 444455556666 is already on line 4',
  ]);
});

test('a header that is not one, or no rows at all', () => {
  expect(problems('111122223333,apply\n')).toEqual([
    'line 1: the header must name the columns: accountId, and optionally mode and externalId (got "111122223333,apply"; unknown: 111122223333, apply)',
  ]);
  expect(problems('accountId,mode,mode\n111122223333,apply,apply')).toEqual([
    'line 1: the header must name the columns: accountId, and optionally mode and externalId (got "accountId,mode,mode"; repeated: mode)',
  ]);
  expect(problems('')).toEqual(['the file has no header line (accountId[,mode][,externalId]) and no rows']);
  expect(problems('accountId,mode\n\n')).toEqual(['the file has a header but no rows']);
});

test('the error message lists every problem under the file name', () => {
  expect(() => parseImportCsv('team.csv', 'accountId\n12\n34\n')).toThrow(
    'team.csv: nothing was imported:\n  line 2: accountId must be 12 digits, got "12"\n  line 3: accountId must be 12 digits, got "34"',
  );
});

test('splitCsvLine: quotes, doubled quotes, spaces around unquoted fields', () => {
  expect(splitCsvLine(' a , "b ""c"" d",,e ')).toEqual(['a', 'b "c" d', '', 'e']);
});
