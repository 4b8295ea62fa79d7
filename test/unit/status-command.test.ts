/** `status`: the worst accounts first, the filters, and the progress line of the long commands. */
import { filterRows, statusRow, worstFirst } from '../../bin/commands/status';
import { progressLine } from '../../bin/commands/progress';
import { PermanentInputError } from '../../lambdas/shared/errors';
import { accountRecord } from '../../testkit/registry';

const high = (code: string) => ({ code, severity: 'high', resource: 'r', message: 'm' });
const low = (code: string) => ({ code, severity: 'low', resource: 'r', message: 'm' });

const fleet = [
  accountRecord({ accountId: '100000000001', status: 'healthy', lastRecordAt: '2026-12-04T10:00:00Z' }),
  accountRecord({ accountId: '100000000002', status: 'degraded', findings: [low('TRAIL_NOT_LOGGING')] }),
  accountRecord({ accountId: '100000000003', status: 'error', findings: [high('ROLE_UNASSUMABLE')] }),
  accountRecord({ accountId: '100000000004', status: 'degraded', findings: [high('TOPIC_MISSING')] }),
  accountRecord({ accountId: '100000000005', status: 'repaired' }),
  accountRecord({ accountId: '100000000006', status: 'new' }),
  accountRecord({
    accountId: '100000000007',
    status: 'healthy',
    lastRecordAt: '2026-12-01T10:00:00Z',
    findings: [{ code: 'COST_INSIGHTS', severity: 'medium', resource: 'r', message: 'about $35.00/month' }],
  }),
].map(statusRow);

test('worst first: error, degraded by the most severe open finding, new, repaired, healthy by staleness', () => {
  expect(worstFirst(fleet).map((row) => row.accountId.slice(-1))).toEqual(['3', '4', '2', '6', '5', '7', '1']);
});

test('--unhealthy keeps the accounts that are neither healthy nor repaired', () => {
  expect(filterRows(fleet, { unhealthy: true }).map((row) => row.accountId.slice(-1))).toEqual(['2', '3', '4', '6']);
});

test('--finding CODE keeps the accounts whose last run found it (cost findings too), in any case', () => {
  expect(filterRows(fleet, { finding: 'topic_missing' }).map((row) => row.accountId)).toEqual(['100000000004']);
  expect(filterRows(fleet, { finding: 'COST_INSIGHTS' }).map((row) => row.accountId)).toEqual(['100000000007']);
  expect(fleet.find((row) => row.accountId === '100000000007')!.costWarnings[0]!.monthlyUsd).toBe(35);
});

test('--finding with a code the collector never emits is a usage error naming it', () => {
  expect(() => filterRows(fleet, { finding: 'TOPIC_GONE' })).toThrow(PermanentInputError);
  expect(() => filterRows(fleet, { finding: 'TOPIC_GONE' })).toThrow(/--finding TOPIC_GONE: not a finding code/);
});

describe('the progress line', () => {
  test('on a terminal: one line rewritten in place with done/total, failures and elapsed time, then a newline', () => {
    const written: string[] = [];
    let clock = 0;
    const line = progressLine('apply', 'accounts', {
      stream: { isTTY: true, write: (text: string) => written.push(text) },
      now: () => clock,
    });
    line.update({ done: 0, total: 3, failed: 0 });
    clock = 50;
    line.update({ done: 1, total: 3, failed: 0 }); // within 100 ms of the last redraw: not drawn
    clock = 75_000;
    line.update({ done: 2, total: 3, failed: 1 });
    line.update({ done: 3, total: 3, failed: 1 }); // the last one always is
    line.finish();
    expect(written).toEqual([
      '\r\x1b[2Kapply: 0/3 accounts, 0 failed, 0s',
      '\r\x1b[2Kapply: 2/3 accounts, 1 failed, 1m15s',
      '\r\x1b[2Kapply: 3/3 accounts, 1 failed, 1m15s',
      '\r\x1b[2Kapply: 3/3 accounts, 1 failed, 1m15s',
      '\n',
    ]);
  });

  test('on a pipe: nothing at all (stderr stays JSON lines)', () => {
    const written: string[] = [];
    const line = progressLine('apply', 'accounts', { stream: { isTTY: false, write: (t: string) => written.push(t) } });
    line.update({ done: 1, total: 1, failed: 0 });
    line.finish();
    expect(written).toEqual([]);
  });
});
