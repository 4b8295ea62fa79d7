import { ByteBudget, Gate, mapSettled } from '../../lambdas/shared/concurrency';
import { parseArn, parseQueueUrl } from '../../lambdas/shared/arn';
import { createStderrLogger } from '../../lambdas/shared/logger';
import { validateRegistration, generateExternalId } from '../../lambdas/shared/registry';
import { isFilteredOut, KEEP_ALL } from '../../lambdas/ingest/records/filters';

describe('Gate', () => {
  test('admits at most its limit, then hands each released slot to the next waiter in arrival order', async () => {
    const gate = new Gate(2);
    const order: string[] = [];
    const releaseA = await gate.acquire();
    const releaseB = await gate.acquire();
    const c = gate.acquire().then((release) => (order.push('c'), release));
    const d = gate.acquire().then((release) => (order.push('d'), release));
    await new Promise((resolve) => setImmediate(resolve));
    expect(order).toEqual([]);
    expect(gate.holders).toBe(2);
    releaseA();
    releaseA(); // twice: still one slot
    const releaseC = await c;
    await new Promise((resolve) => setImmediate(resolve));
    expect(order).toEqual(['c']);
    releaseB();
    const releaseD = await d;
    expect(order).toEqual(['c', 'd']);
    releaseC();
    releaseD();
    expect(gate.holders).toBe(0);
  });

  test('refuses a limit below 1', () => {
    expect(() => new Gate(0)).toThrow('at least 1');
  });
});

describe('ByteBudget', () => {
  const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

  test('grants while the reservations fit, then in arrival order: a small request never overtakes a large one', async () => {
    const budget = new ByteBudget(100);
    const order: string[] = [];
    const releaseA = await budget.acquire(60);
    const b = budget.acquire(50).then((release) => (order.push('b'), release));
    // Would fit next to A, but B came first.
    const c = budget.acquire(10).then((release) => (order.push('c'), release));
    await tick();
    expect(order).toEqual([]);
    expect(budget.reserved).toBe(60);
    releaseA();
    releaseA(); // twice: released once
    const releaseB = await b;
    const releaseC = await c;
    expect(order).toEqual(['b', 'c']);
    expect(budget.reserved).toBe(60);
    releaseB();
    releaseC();
    expect(budget.reserved).toBe(0);
  });

  test('a request larger than the whole budget runs alone instead of waiting forever', async () => {
    const budget = new ByteBudget(100);
    const releaseSmall = await budget.acquire(10);
    let granted = false;
    const huge = budget.acquire(500).then((release) => ((granted = true), release));
    await tick();
    expect(granted).toBe(false);
    releaseSmall();
    const releaseHuge = await huge;
    expect(budget.reserved).toBe(500);
    let next = false;
    const after = budget.acquire(1).then((release) => ((next = true), release));
    await tick();
    expect(next).toBe(false);
    releaseHuge();
    (await after)();
    expect(budget.reserved).toBe(0);
  });

  test('a request whose signal aborts while it waits is dropped: it rejects, and the ones behind it go on', async () => {
    const budget = new ByteBudget(100);
    const releaseA = await budget.acquire(90);
    const controller = new AbortController();
    const big = budget.acquire(50, controller.signal);
    let smallGranted = false;
    const small = budget.acquire(10).then((release) => ((smallGranted = true), release));
    await tick();
    expect(smallGranted).toBe(false); // behind the big one
    controller.abort(new Error('deadline'));
    await expect(big).rejects.toThrow('deadline');
    (await small)();
    expect(smallGranted).toBe(true);
    releaseA();
    expect(budget.reserved).toBe(0);
    await expect(budget.acquire(1, controller.signal)).rejects.toThrow('deadline');
  });

  test('refuses a capacity below 1 and a negative request', async () => {
    expect(() => new ByteBudget(0)).toThrow('at least 1');
    await expect(new ByteBudget(10).acquire(-1)).rejects.toThrow('cannot reserve -1 bytes');
  });
});

describe('mapSettled', () => {
  test('bounds concurrency and keeps going past failures, results in input order', async () => {
    let running = 0;
    let peak = 0;
    const results = await mapSettled([1, 2, 3, 4, 5, 6], 2, async (n) => {
      running += 1;
      peak = Math.max(peak, running);
      await new Promise((resolve) => setTimeout(resolve, 5));
      running -= 1;
      if (n === 3) throw new Error('three');
      return n * 10;
    });
    expect(peak).toBe(2);
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message))).toEqual([
      10,
      20,
      'three',
      40,
      50,
      60,
    ]);
  });
});

describe('ARNs and queue URLs', () => {
  test('parse', () => {
    expect(parseArn('arn:aws:sqs:us-east-1:111122223333:outcomesqueue')).toEqual({
      partition: 'aws',
      service: 'sqs',
      region: 'us-east-1',
      accountId: '111122223333',
      resource: 'outcomesqueue',
    });
    expect(parseQueueUrl('https://sqs.us-east-1.amazonaws.com/111122223333/outcomesqueue')).toEqual({
      accountId: '111122223333',
      queueName: 'outcomesqueue',
    });
  });
  test('say what is wrong', () => {
    expect(() => parseArn('sqs:queue')).toThrow('not an ARN: "sqs:queue"');
    expect(() => parseQueueUrl('https://sqs.example/abc/q')).toThrow(/12-digit account/);
    expect(() => parseQueueUrl('nope')).toThrow('not a queue URL: "nope"');
  });
});

describe('registration', () => {
  test('generates an unguessable ExternalId when none is given', () => {
    const a = validateRegistration({ accountId: '111122223333' });
    const b = validateRegistration({ accountId: '111122223333' });
    expect(a.externalId).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(a.externalId).not.toBe(b.externalId);
    expect(a.mode).toBe('apply');
    expect(generateExternalId()).toHaveLength(43);
  });
  test('rejects bad fields by name', () => {
    expect(() => validateRegistration({ accountId: '1234' })).toThrow('--account-id must be 12 digits, got "1234"');
    expect(() => validateRegistration({ accountId: '111122223333', mode: 'fix' })).toThrow(/--mode must be/);
    expect(() => validateRegistration({ accountId: '111122223333', externalId: 'has space' })).toThrow(/--external-id/);
    expect(() => validateRegistration({ accountId: '111122223333', logArchiveFor: ['12'] })).toThrow(
      /--log-archive-for/,
    );
    expect(
      validateRegistration({ accountId: '111122223333', logArchiveFor: ['o-abcdefghij', '444455556666'] })
        .logArchiveFor,
    ).toEqual(['o-abcdefghij', '444455556666']);
  });
});

describe('stderr logger', () => {
  test('writes JSON lines at or above its level, errors as name and message', () => {
    const lines: string[] = [];
    const logger = createStderrLogger('info', (line) => lines.push(line));
    logger.debug('hidden');
    logger.warn('shown', { error: new TypeError('boom'), n: 1 });
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({
      level: 'WARN',
      message: 'shown',
      n: 1,
      error: { name: 'TypeError', message: 'boom' },
    });
  });
});

describe('record filter', () => {
  const record = (fields: object) => Buffer.from(JSON.stringify({ eventID: 'x', ...fields }));
  test('drops by source, name and readOnly (boolean or legacy string)', () => {
    const filter = {
      dropEventSources: new Set(['kms.amazonaws.com']),
      dropEventNames: new Set(['Decrypt', 'ListRoles']),
      dropReadOnly: false,
    };
    expect(isFilteredOut(record({ eventSource: 'kms.amazonaws.com' }), filter)).toBe(true);
    expect(isFilteredOut(record({ eventSource: 'iam.amazonaws.com', eventName: 'ListRoles' }), filter)).toBe(true);
    expect(isFilteredOut(record({ eventSource: 'iam.amazonaws.com', eventName: 'CreateRole' }), filter)).toBe(false);
    const readOnly = { ...KEEP_ALL, dropReadOnly: true };
    expect(isFilteredOut(record({ readOnly: true }), readOnly)).toBe(true);
    expect(isFilteredOut(record({ readOnly: 'true' }), readOnly)).toBe(true);
    expect(isFilteredOut(record({ readOnly: false }), readOnly)).toBe(false);
    expect(isFilteredOut(record({}), readOnly)).toBe(false);
  });
});
