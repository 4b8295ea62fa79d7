import fc from 'fast-check';
import { RecordBatcher, type Batch as RecordsBatch, type BatchLimits } from '../../lambdas/ingest/sinks/batcher';
import { NDJSON_INTAKE } from '../../lambdas/ingest/sinks/ndjson-intake';

/** A batch as the NDJSON sink puts it on the wire: the batcher hands over records, the encoding frames them. */
interface Batch {
  index: number;
  body: Buffer;
  recordCount: number;
}

function encoded(batch: RecordsBatch): Batch {
  const body = NDJSON_INTAKE.encode(batch.records, (size) => Buffer.allocUnsafe(size));
  // The size the limits counted is the encoded body's.
  expect(batch.bytes).toBe(body.length);
  return { index: batch.index, body, recordCount: batch.records.length };
}

const record = (text: string): Buffer => Buffer.from(text, 'utf8');
const records = (count: number, width = 9): Buffer[] =>
  Array.from({ length: count }, (_, i) => record(`r${String(i).padStart(width - 1, '0')}`));

interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
  reject: (error: Error) => void;
}
function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Lets every pending promise callback run (the batcher settles its waiters in promise callbacks). */
const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Batches everything at once, delivering instantly, and returns what was delivered. */
async function batchAll(limits: BatchLimits, chunks: Buffer[][]): Promise<Batch[]> {
  const delivered: Batch[] = [];
  const batcher = new RecordBatcher(limits, (batch) => {
    delivered.push(encoded(batch));
    return Promise.resolve();
  });
  for (const chunk of chunks) {
    batcher.add(chunk);
    await batcher.ready();
  }
  await batcher.finish();
  return delivered;
}

const lines = (batch: Batch): string[] => batch.body.toString('utf8').split('\n').slice(0, -1);

describe('RecordBatcher boundaries', () => {
  it('cuts by record count, numbering batches in order, and keeps the last partial batch', async () => {
    const input = records(7);
    const batches = await batchAll({ maxBatchBytes: 1_000_000, maxBatchRecords: 3 }, [input]);
    expect(batches.map((b) => b.index)).toEqual([0, 1, 2]);
    expect(batches.map((b) => b.recordCount)).toEqual([3, 3, 1]);
    expect(batches.flatMap(lines)).toEqual(input.map(String));
    expect(batches[0]!.body.toString()).toBe('r00000000\nr00000001\nr00000002\n');
  });

  it('cuts by bytes, counting the newline, with a batch of exactly maxBatchBytes allowed', async () => {
    // Each record is 9 bytes + newline = 10.
    const exact = await batchAll({ maxBatchBytes: 30, maxBatchRecords: 100 }, [records(7)]);
    expect(exact.map((b) => b.recordCount)).toEqual([3, 3, 1]);
    expect(exact.map((b) => b.body.length)).toEqual([30, 30, 10]);

    const under = await batchAll({ maxBatchBytes: 29, maxBatchRecords: 100 }, [records(7)]);
    expect(under.map((b) => b.recordCount)).toEqual([2, 2, 2, 1]);
    expect(under.every((b) => b.body.length <= 29)).toBe(true);
  });

  it('puts a record larger than maxBatchBytes alone in its own batch, never dropping it', async () => {
    const big = record('x'.repeat(100));
    const [a, b, c, d] = records(4);
    const batches = await batchAll({ maxBatchBytes: 25, maxBatchRecords: 100 }, [[a!, big, b!, c!, d!]]);
    expect(batches.map((batch) => batch.recordCount)).toEqual([1, 1, 2, 1]);
    expect(batches[1]!.body.equals(Buffer.concat([big, Buffer.from('\n')]))).toBe(true);
    expect(batches.flatMap(lines)).toEqual([a, big, b, c, d].map(String));
  });

  it('delivers nothing for no records', async () => {
    const deliver = jest.fn(() => Promise.resolve());
    const batcher = new RecordBatcher({ maxBatchBytes: 100, maxBatchRecords: 10 }, deliver);
    batcher.add([]);
    await expect(batcher.finish()).resolves.toEqual({ batches: 0, records: 0, bytes: 0 });
    expect(deliver).not.toHaveBeenCalled();
  });

  it('reports the totals delivered', async () => {
    const batcher = new RecordBatcher({ maxBatchBytes: 30, maxBatchRecords: 100 }, () => Promise.resolve());
    batcher.add(records(7));
    await expect(batcher.finish()).resolves.toEqual({ batches: 3, records: 7, bytes: 70 });
  });

  it('gives the same batches for the same records however they are split across add() calls', async () => {
    const recordArb = fc.string({ minLength: 0, maxLength: 40 }).map((s) => Buffer.from(JSON.stringify(s)));
    await fc.assert(
      fc.asyncProperty(
        fc.array(recordArb, { maxLength: 60 }),
        fc.array(fc.nat({ max: 60 }), { maxLength: 10 }),
        fc.integer({ min: 1, max: 200 }),
        fc.integer({ min: 1, max: 12 }),
        async (input, cuts, maxBatchBytes, maxBatchRecords) => {
          const limits = { maxBatchBytes, maxBatchRecords };
          const whole = await batchAll(limits, [input]);
          const points = [...new Set(cuts.map((c) => Math.min(c, input.length)))].sort((x, y) => x - y);
          const chunks = [0, ...points].map((start, i) => input.slice(start, points[i] ?? input.length));
          const chunked = await batchAll(limits, chunks);

          expect(chunked.map((b) => b.body.toString('base64'))).toEqual(whole.map((b) => b.body.toString('base64')));
          // Every record exactly once, in order, and every batch within limits unless it holds one record.
          expect(Buffer.concat(whole.map((b) => b.body)).toString()).toBe(
            input.map((r) => `${r.toString()}\n`).join(''),
          );
          for (const batch of whole) {
            expect(batch.recordCount).toBeLessThanOrEqual(maxBatchRecords);
            if (batch.recordCount > 1) expect(batch.body.length).toBeLessThanOrEqual(maxBatchBytes);
          }
          expect(whole.map((b) => b.index)).toEqual(whole.map((_, i) => i));
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('RecordBatcher concurrency', () => {
  it('never has more than maxInFlight deliveries outstanding', async () => {
    let inFlight = 0;
    let peak = 0;
    const delivered: number[] = [];
    const batcher = new RecordBatcher(
      { maxBatchBytes: 1_000, maxBatchRecords: 2 },
      async (batch) => {
        inFlight++;
        peak = Math.max(peak, inFlight);
        // Uneven completion order, so slots free up out of order.
        await new Promise((resolve) => setTimeout(resolve, (batch.index * 7) % 5));
        delivered.push(batch.index);
        inFlight--;
      },
      { maxInFlight: 3 },
    );
    // One big add queues many batches at once; the batcher must still start at most 3.
    batcher.add(records(30));
    for (let i = 0; i < 10; i++) {
      batcher.add(records(5));
      await batcher.ready();
    }
    const totals = await batcher.finish();
    expect(peak).toBe(3);
    expect(totals.records).toBe(80);
    expect([...delivered].sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, i) => i));
  });

  it('ready() stays pending until queued + in-flight batches drop below maxInFlight', async () => {
    const gates: Deferred[] = [];
    const batcher = new RecordBatcher(
      { maxBatchBytes: 1_000, maxBatchRecords: 1 },
      () => {
        const gate = deferred();
        gates.push(gate);
        return gate.promise;
      },
      { maxInFlight: 2 },
    );
    batcher.add(records(3)); // 2 in flight, 1 queued
    expect(gates).toHaveLength(2);

    let ready = false;
    void batcher.ready().then(() => (ready = true));
    await flush();
    expect(ready).toBe(false);

    gates[0]!.resolve(); // the queued batch starts: still 2 in flight
    await flush();
    expect(gates).toHaveLength(3);
    expect(ready).toBe(false);

    gates[1]!.resolve(); // 1 in flight, below the limit
    await flush();
    expect(ready).toBe(true);

    gates[2]!.resolve();
    await expect(batcher.finish()).resolves.toMatchObject({ batches: 3 });
  });

  it('ready() rejects with the first delivery error, whether it was waiting or is called afterwards', async () => {
    const failure = new Error('downstream said no');
    const batcher = new RecordBatcher(
      { maxBatchBytes: 1_000, maxBatchRecords: 1 },
      (batch) => (batch.index === 0 ? Promise.reject(failure) : Promise.resolve()),
      { maxInFlight: 1 },
    );
    batcher.add(records(2)); // 0 in flight, 1 queued: ready() has to wait, then sees the failure
    await expect(batcher.ready()).rejects.toBe(failure);
    await expect(batcher.ready()).rejects.toBe(failure);
    batcher.add(records(1)); // ignored once failed: nothing more is delivered
    await expect(batcher.finish()).rejects.toBe(failure);
  });

  it('finish() rejects with the first delivery error only after every outstanding delivery settled', async () => {
    const first = new Error('first failure');
    const gates = new Map<number, Deferred>();
    const started: number[] = [];
    const batcher = new RecordBatcher(
      { maxBatchBytes: 1_000, maxBatchRecords: 1 },
      (batch) => {
        started.push(batch.index);
        if (batch.index === 1) return Promise.reject(first);
        const gate = deferred();
        gates.set(batch.index, gate);
        return gate.promise;
      },
      { maxInFlight: 3 },
    );
    batcher.add(records(6)); // 0, 1, 2 start; 1 fails at once; 3, 4, 5 stay queued

    let settled = false;
    const finished = batcher.finish().finally(() => (settled = true));
    finished.catch(() => undefined); // asserted below
    await flush();
    expect(settled).toBe(false);

    gates.get(2)!.reject(new Error('second failure'));
    await flush();
    expect(settled).toBe(false);

    gates.get(0)!.resolve();
    await expect(finished).rejects.toBe(first);
    // After the failure no queued batch was started.
    expect(started).toEqual([0, 1, 2]);
  });

  it('turns a synchronous throw or a non-Error rejection of deliver into a rejection', async () => {
    const throwing = new RecordBatcher({ maxBatchBytes: 1_000, maxBatchRecords: 1 }, () => {
      throw new Error('sync boom');
    });
    throwing.add(records(1));
    await expect(throwing.finish()).rejects.toThrow('sync boom');

    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
    const stringly = new RecordBatcher({ maxBatchBytes: 1_000, maxBatchRecords: 1 }, () => Promise.reject('nope'));
    stringly.add(records(1));
    await expect(stringly.finish()).rejects.toThrow('nope');
  });

  it('refuses add() after finish()', async () => {
    const batcher = new RecordBatcher({ maxBatchBytes: 1_000, maxBatchRecords: 1 }, () => Promise.resolve());
    await batcher.finish();
    expect(() => batcher.add(records(1))).toThrow(/after finish/);
  });

  it('rejects limits that are not positive integers', () => {
    const deliver = () => Promise.resolve();
    expect(() => new RecordBatcher({ maxBatchBytes: 0, maxBatchRecords: 1 }, deliver)).toThrow(/maxBatchBytes/);
    expect(() => new RecordBatcher({ maxBatchBytes: 10, maxBatchRecords: 1.5 }, deliver)).toThrow(/maxBatchRecords/);
    expect(() => new RecordBatcher({ maxBatchBytes: 10, maxBatchRecords: 1 }, deliver, { maxInFlight: 0 })).toThrow(
      /maxInFlight/,
    );
  });
});

describe('RecordBatcher.abandon', () => {
  test('sends nothing more, waits for deliveries under way, and never rejects', async () => {
    const sent: number[] = [];
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let settled = false;
    const batcher = new RecordBatcher(
      { maxBatchBytes: 1000, maxBatchRecords: 2 },
      async (batch) => {
        sent.push(batch.index);
        await gate;
        if (batch.index === 0) throw new Error('downstream down');
        settled = true;
      },
      { maxInFlight: 2 },
    );
    batcher.add(
      ['{"a":1}', '{"a":2}', '{"a":3}', '{"a":4}', '{"a":5}', '{"a":6}', '{"a":7}'].map((r) => Buffer.from(r)),
    );
    const abandoned = batcher.abandon();
    release();
    await expect(abandoned).resolves.toBeUndefined();
    expect(sent).toEqual([0, 1]);
    expect(settled).toBe(true);
  });
});
