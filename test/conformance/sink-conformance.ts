import type { LoggerLike } from '../../lambdas/shared/logger';
import { forwardRecords } from '../../lambdas/ingest/pipeline';
import { KEEP_ALL } from '../../lambdas/ingest/records/filters';
import type { RecordObject } from '../../lambdas/ingest/log-object';
import type { SinkInjections } from '../../lambdas/ingest/sinks';
import type { RecordBatch, Sink } from '../../lambdas/ingest/sinks/sink';
import { generateRecords, logFileBody } from '../../testkit/cloudtrail-generator';
import { recordingLogger, type LoggedLine } from '../../testkit/ingest-fakes';

/**
 * The shared sink conformance suite (issue 16, must show 1; docs/sinks.md, "Conformance"). Every sink type runs
 * the same cases through its adapter: `test/conformance/sink-<name>.test.ts` calls
 * `describeSinkConformance(adapter)` with the adapter of `test/conformance/sink-adapters/<name>.ts`.
 *
 * What an adapter provides, and what each case asserts:
 * - **every record exactly once**: `send` resolves and `received()` holds each record once, for batches sent in
 *   parallel and for a whole log file through `forwardRecords` (the pipeline's own batching);
 * - **retries**: after `inject({ kind: 'transient', count })` the next `count` deliveries fail in the way this
 *   downstream fails transiently (HTTP 503, HEC code 9, a `_bulk` item 429, a Firehose `FailedPutCount`, a
 *   connection reset, an rsyslog restart...); `send` still resolves, and each record is held once;
 * - **413/oversize**: after `limitRequestBytes(n)` the downstream refuses (HTTP 413, or the sink's own limit)
 *   requests over `n` bytes; a batch larger than that still arrives whole, each record once. A single record
 *   over the sink's `recordLimitBytes` makes `send` reject with `permanent: true` and the size in the message;
 * - **deadline**: with the downstream `unavailable`, `send` rejects with `permanent: false` and "deadline" in
 *   the message, and no delivery attempt reached the downstream after the deadline; a deadline already passed
 *   means no attempt at all;
 * - **secrets**: none of `world.secrets` appears in any log line or in a rejection (message, stack, cause chain),
 *   including after `inject({ kind: 'reject-echo' })`, a permanent refusal whose body echoes the request's
 *   credentials back (as some proxies do);
 * - **counts**: through `forwardRecords` with a filter, `recordsRead = recordsForwarded + recordsFiltered`, and
 *   the downstream holds exactly the forwarded records.
 *
 * Records are compared as parsed JSON (`received()` may return them re-serialised, e.g. from an HEC envelope);
 * an adapter whose downstream keeps bytes (syslog) may compare more strictly in its own tests.
 */
export interface SinkConformanceAdapter {
  /** The sink type, as in SINK_TYPE (`ndjson`, `splunk-hec`, `elasticsearch`, `firehose`, `syslog`). */
  readonly name: string;
  /** Starts what the sink talks to (a loopback receiver, moto, rsyslog), once for the suite. */
  setup?(): Promise<void>;
  /** Stops it. */
  teardown?(): Promise<void>;
  /**
   * A fresh downstream state and a sink built the production way (`createSink`, or the sink's own factory) with
   * `inject` passed through: the harness's logger (every line is checked for secrets) and a `random` that is 0
   * (no backoff waits) except in the deadline case, where it is 1 (the full backoff).
   */
  create(inject: SinkInjections): Promise<ConformanceWorld>;
  /**
   * The largest record (its JSON bytes) the sink can ever deliver, when it has such a limit (Firehose's 1,000
   * KiB record; syslog's message size). Undefined: bounded only by the receiver, which `limitRequestBytes` sets.
   */
  readonly recordLimitBytes?: number;
}

/** A fault the downstream shows for the next deliveries. */
export type ConformanceFault =
  /** The next `count` deliveries fail transiently, the way this downstream does; the sink must retry. */
  | { kind: 'transient'; count: number }
  /** Every delivery fails transiently until `clear()`. */
  | { kind: 'unavailable' }
  /** The next delivery is refused permanently with a body that echoes the request's credentials. */
  | { kind: 'reject-echo' };

export interface ConformanceWorld {
  readonly sink: Sink;
  /** Every secret the sink was configured with (token, password, API key, TLS key passphrase). */
  readonly secrets: readonly string[];
  /** Every record the downstream holds, one entry per stored copy (a duplicate shows twice), in any order. */
  received(): Promise<string[]>;
  /** Epoch ms at which each delivery attempt reached the downstream (one per request, connection or call). */
  attempts(): readonly number[];
  inject(fault: ConformanceFault): void;
  /** Removes every injected fault and request limit. */
  clear(): void;
  /**
   * Makes the downstream refuse requests over `bytes` (HTTP 413 for the HTTP sinks). Undefined when the sink's
   * limit is fixed (Firehose: 4 MiB per call, enforced by the sink itself) or the protocol has none.
   */
  limitRequestBytes?(bytes: number): void;
  /** Releases the sink and anything created for this world. */
  close(): Promise<void>;
}

const ACCOUNT = '111122223333';
const OBJECT: RecordObject = {
  bucket: 'conformance-bucket',
  key: `AWSLogs/${ACCOUNT}/CloudTrail/us-east-1/2026/11/01/${ACCOUNT}_CloudTrail_us-east-1_20261101T0000Z_conf.json.gz`,
  kind: 'log',
  versionId: 'v1',
};

function recordsOf(count: number, seed: number): Buffer[] {
  return generateRecords(count, { accountId: ACCOUNT, region: 'us-east-1', seed }).map((r) =>
    Buffer.from(JSON.stringify(r)),
  );
}

function batchOf(records: readonly Buffer[], index: number): RecordBatch {
  return { object: OBJECT, index, records };
}

function keyOf(index: number): string {
  return `conformance-${index.toString().padStart(4, '0')}`;
}

/** Canonical JSON of each record, sorted: a multiset that shows a loss and a duplicate alike. */
function canonical(records: readonly (Buffer | string)[]): string[] {
  return records.map((r) => JSON.stringify(JSON.parse(r.toString()))).sort();
}

/** Every string in an error: message, stack and the cause chain (own enumerable fields included). */
function errorText(error: unknown, depth = 0): string {
  if (depth > 5 || error === undefined || error === null) return '';
  if (!(error instanceof Error)) return typeof error === 'string' ? error : (JSON.stringify(error) ?? '');
  let fields: string;
  try {
    fields = JSON.stringify({ ...error });
  } catch {
    fields = ''; // a cycle: message, stack and cause still say enough
  }
  return `${error.message}\n${error.stack ?? ''}\n${fields}\n${errorText(error.cause, depth + 1)}`;
}

function logText(lines: readonly LoggedLine[]): string {
  return lines.map((line) => `${line.message} ${JSON.stringify(line.fields)}`).join('\n');
}

export function describeSinkConformance(adapter: SinkConformanceAdapter): void {
  describe(`sink conformance: ${adapter.name}`, () => {
    let world: ConformanceWorld;
    let log: { logger: LoggerLike; lines: LoggedLine[] };
    /** The backoff's jitter: 0 (no waits) except where a case needs the real backoff to meet the deadline. */
    let jitter = 0;

    if (adapter.setup) beforeAll(() => adapter.setup!());
    if (adapter.teardown) afterAll(() => adapter.teardown!());
    beforeEach(async () => {
      log = recordingLogger();
      jitter = 0;
      world = await adapter.create({ logger: log.logger, random: () => jitter });
    });
    afterEach(async () => {
      // Whatever a case did, nothing the sink logged may carry a secret.
      const text = logText(log.lines);
      for (const secret of world.secrets) expect(text).not.toContain(secret);
      await world.close();
    });

    const send = (records: readonly Buffer[], index: number, deadline = Date.now() + 60_000) =>
      world.sink.send(batchOf(records, index), { idempotencyKey: keyOf(index), deadline });

    test('every record arrives exactly once (8 batches of 40, 4 in parallel)', async () => {
      const batches = Array.from({ length: 8 }, (_, i) => recordsOf(40, 100 + i));
      for (let i = 0; i < batches.length; i += 4) {
        await Promise.all(batches.slice(i, i + 4).map((records, j) => send(records, i + j)));
      }
      expect(canonical(await world.received())).toEqual(canonical(batches.flat()));
    });

    test('transient failures are retried: every record still arrives exactly once', async () => {
      const records = recordsOf(60, 200);
      world.inject({ kind: 'transient', count: 3 });
      await send(records, 0);
      expect(canonical(await world.received())).toEqual(canonical(records));
      expect(world.attempts().length).toBeGreaterThanOrEqual(4);
    });

    test('a batch over the downstream size limit arrives in parts, each record once', async () => {
      const records = recordsOf(120, 300);
      const bytes = records.reduce((sum, r) => sum + r.length, 0);
      if (world.limitRequestBytes) world.limitRequestBytes(Math.ceil(bytes / 3));
      await send(records, 0);
      expect(canonical(await world.received())).toEqual(canonical(records));
      if (world.limitRequestBytes) expect(world.attempts().length).toBeGreaterThanOrEqual(3);
    });

    test('a record that can never fit is refused permanently, naming its size', async () => {
      const [template] = recordsOf(1, 400);
      const limit = adapter.recordLimitBytes ?? 64 * 1024;
      if (!adapter.recordLimitBytes) {
        if (!world.limitRequestBytes) return; // no limit of any kind: nothing can be oversized
        world.limitRequestBytes(limit);
      }
      const padding = 'x'.repeat(limit + 1024);
      const huge = Buffer.from(JSON.stringify({ ...JSON.parse(template!.toString()), padding }));
      const rejection = await send([huge], 0).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(rejection).toBeInstanceOf(Error);
      expect(rejection).toMatchObject({ permanent: true });
      expect((rejection as Error).message).toMatch(/\d+ bytes/);
    });

    test('the deadline is respected: no attempt after it, and a non-permanent rejection naming it', async () => {
      world.inject({ kind: 'unavailable' });
      jitter = 1; // 200, 400, 800 ms...: the next wait passes the deadline before the attempts run out
      const deadline = Date.now() + 1_500;
      const rejection = await send(recordsOf(5, 500), 0, deadline).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(rejection).toMatchObject({ permanent: false });
      expect((rejection as Error).message).toMatch(/deadline/);
      expect(world.attempts().length).toBeGreaterThanOrEqual(1);
      for (const at of world.attempts()) expect(at).toBeLessThanOrEqual(deadline);
    });

    test('a deadline already passed makes no attempt', async () => {
      const rejection = await send(recordsOf(5, 600), 0, Date.now() - 1).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(rejection).toMatchObject({ permanent: false });
      expect(world.attempts()).toEqual([]);
    });

    test('secrets never appear in errors or logs, even when the downstream echoes them', async () => {
      world.inject({ kind: 'reject-echo' });
      const rejection = await send(recordsOf(5, 700), 0).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(rejection).toBeInstanceOf(Error);
      const text = errorText(rejection);
      for (const secret of world.secrets) expect(text).not.toContain(secret);
      world.clear();
      world.inject({ kind: 'transient', count: 2 });
      await send(recordsOf(5, 701), 1);
      expect(log.lines.length).toBeGreaterThan(0); // the retries were logged, and the afterEach checks them
    });

    test('through the pipeline: in = forwarded + filtered, and the downstream holds the forwarded records', async () => {
      const records = generateRecords(300, { accountId: ACCOUNT, region: 'us-east-1', seed: 800 });
      const filter = { ...KEEP_ALL, dropReadOnly: true };
      const result = await forwardRecords(logFileBody(records), OBJECT, world.sink, {
        maxDecompressedBytes: 1 << 28,
        maxRecordBytes: 1 << 20,
        batchLimits: { maxBatchBytes: 64 * 1024, maxBatchRecords: 50 },
        maxInFlightBatches: 2,
        filter,
        deadline: Date.now() + 60_000,
      });
      const kept = records.filter((r) => r.readOnly !== true);
      expect(kept.length).toBeGreaterThan(0);
      expect(kept.length).toBeLessThan(records.length);
      expect(result.recordsRead).toBe(records.length);
      expect(result.recordsForwarded + result.recordsFiltered).toBe(result.recordsRead);
      expect(result.recordsForwarded).toBe(kept.length);
      expect(canonical(await world.received())).toEqual(canonical(kept.map((r) => JSON.stringify(r))));
    });
  });
}
