/**
 * `npm run bench -- --only sinks`: one row per sink type (docs/sinks.md): records per second and bytes sent for
 * the same generated log file through `forwardRecords`, each sink against its local receiver (the NDJSON
 * DownstreamReceiver, the HEC receiver with indexer acknowledgement, the `_bulk` receiver, moto's Firehose with an
 * S3 destination, rsyslog over RELP with TLS). Receivers run in this process (rsyslog and moto in their own), so
 * the figures compare the sinks' own costs on one machine, not a downstream's capacity.
 */
import { FirehoseClient } from '@aws-sdk/client-firehose';
import { S3Client } from '@aws-sdk/client-s3';
import { forwardRecords } from '../lambdas/ingest/pipeline';
import { KEEP_ALL } from '../lambdas/ingest/records/filters';
import { createSink, type SendResult, type Sink } from '../lambdas/ingest/sinks';
import { createSyslogSink } from '../lambdas/ingest/sinks/syslog';
import { loadSyslogSettings } from '../lambdas/ingest/sinks/syslog/config';
import type { RecordObject } from '../lambdas/ingest/log-object';
import { silentLogger } from '../lambdas/shared/logger';
import { BulkReceiver } from '../testkit/bulk-receiver';
import { generateRecords, logFileBody } from '../testkit/cloudtrail-generator';
import { DownstreamReceiver } from '../testkit/downstream-receiver';
import { motoAvailable, startMoto } from '../testkit/emulator';
import { createFirehoseToS3 } from '../testkit/firehose-world';
import { HecReceiver } from '../testkit/hec-receiver';
import { rsyslogAvailable, startRsyslog } from '../testkit/rsyslog';
import { fixed, grouped, median, table } from './lib';

export interface SinkRow {
  sink: string;
  records: number;
  /** Median of the runs. */
  recordsPerSecond: number;
  /** What the sink put on the wire for the file (compressed for the HTTP sinks), one run. */
  bytesSent: number;
  requests: number;
  /** Why a sink was not measured (its receiver is not installed). */
  skipped?: string;
}

interface World {
  sink: Sink;
  close(): Promise<void>;
}

const OBJECT: RecordObject = {
  bucket: 'bench',
  key: 'AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/01/111122223333_CloudTrail_us-east-1_20261101T0000Z_bench.json.gz',
  kind: 'log',
  versionId: 'v1',
};

const HEC_TOKEN = 'bench-hec-token';
const ES_KEY = 'bench-es-key';

/** Each sink type's world: a fresh receiver per run, so that `_bulk`'s 409s never make a run cheaper. */
const WORLDS: { name: string; available?: () => string | undefined; open: () => Promise<World> }[] = [
  {
    name: 'ndjson',
    async open() {
      const receiver = new DownstreamReceiver();
      const url = await receiver.start();
      const sink = createSink({ type: 'ndjson', url, timeoutMs: 30_000 }, { logger: silentLogger });
      return { sink, close: () => receiver.stop() };
    },
  },
  {
    name: 'splunk-hec (indexer ack)',
    async open() {
      const receiver = new HecReceiver({ token: HEC_TOKEN, ack: true });
      await receiver.start();
      const sink = createSink(
        {
          type: 'splunk-hec',
          url: receiver.url,
          token: HEC_TOKEN,
          timeoutMs: 30_000,
          hec: { index: 'aws', ack: { timeoutMs: 30_000, pollMs: 5 } },
        },
        { logger: silentLogger },
      );
      return { sink, close: () => receiver.stop() };
    },
  },
  {
    name: 'elasticsearch',
    async open() {
      const receiver = new BulkReceiver({ apiKey: ES_KEY });
      await receiver.start();
      const sink = createSink(
        {
          type: 'elasticsearch',
          url: receiver.url,
          token: ES_KEY,
          timeoutMs: 30_000,
          auth: 'api-key',
          elasticsearch: { index: 'cloudtrail-%Y.%m.%d', dataStream: false },
        },
        { logger: silentLogger },
      );
      return { sink, close: () => receiver.stop() };
    },
  },
  {
    name: 'firehose (moto)',
    available: () => (motoAvailable() ? undefined : 'moto is not installed'),
    async open() {
      const moto = await startMoto();
      const credentials = { accessKeyId: 'bench', secretAccessKey: 'bench' };
      const firehose = new FirehoseClient({ region: 'us-east-1', endpoint: moto.endpoint, credentials });
      const s3 = new S3Client({ region: 'us-east-1', endpoint: moto.endpoint, credentials, forcePathStyle: true });
      await createFirehoseToS3(firehose, s3, { stream: 'bench', bucket: 'bench-delivery', account: '123456789012' });
      const sink = createSink(
        { type: 'firehose', streamName: 'bench', region: 'us-east-1', timeoutMs: 30_000 },
        { logger: silentLogger, firehose },
      );
      return {
        sink,
        close: async () => {
          firehose.destroy();
          s3.destroy();
          await moto.stop();
        },
      };
    },
  },
  {
    name: 'syslog (relp+tls, rsyslog)',
    available: () => (rsyslogAvailable() ? undefined : 'rsyslog is not installed'),
    async open() {
      const rsyslog = await startRsyslog();
      const c = rsyslog.certificates;
      const settings = loadSyslogSettings(
        { SYSLOG_TLS_CA_FILE: c.caFile, SYSLOG_TLS_CERT_FILE: c.clientCertFile, SYSLOG_TLS_KEY_FILE: c.clientKeyFile },
        `relp+tls://localhost:${rsyslog.ports.relpTls}`,
      );
      const sink = createSyslogSink(settings, { logger: silentLogger });
      return { sink, close: () => rsyslog.dispose() };
    },
  },
];

/** Sums what the sink reports for every batch. */
function counting(sink: Sink): Sink & { totals: SendResult } {
  const totals: SendResult = { requests: 0, bytesSent: 0 };
  return {
    recordOverheadBytes: sink.recordOverheadBytes,
    totals,
    async send(batch, ctx) {
      const result = await sink.send(batch, ctx);
      totals.requests += result.requests;
      totals.bytesSent += result.bytesSent;
      return result;
    },
    close: () => sink.close(),
  };
}

export async function measureSinks(options: { quick: boolean; runs: number; log: (line: string) => void }) {
  const count = options.quick ? 5_000 : 20_000;
  const body = logFileBody(generateRecords(count, { accountId: '111122223333', region: 'us-east-1', seed: 16 }));
  const rows: SinkRow[] = [];
  for (const world of WORLDS) {
    const skipped = world.available?.();
    if (skipped !== undefined) {
      rows.push({ sink: world.name, records: count, recordsPerSecond: 0, bytesSent: 0, requests: 0, skipped });
      continue;
    }
    const rates: number[] = [];
    let last: SendResult = { requests: 0, bytesSent: 0 };
    for (let run = 0; run < options.runs; run++) {
      const opened = await world.open();
      const sink = counting(opened.sink);
      const started = process.hrtime.bigint();
      const result = await forwardRecords(body, OBJECT, sink, {
        maxDecompressedBytes: 1 << 30,
        maxRecordBytes: 1 << 20,
        // The Lambda's defaults (lambdas/ingest/config.ts).
        batchLimits: { maxBatchBytes: 4 * 1024 * 1024, maxBatchRecords: 5000 },
        maxInFlightBatches: 4,
        filter: KEEP_ALL,
        deadline: Date.now() + 600_000,
      });
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      if (result.recordsForwarded !== count)
        throw new Error(`${world.name}: forwarded ${result.recordsForwarded} of ${count}`);
      rates.push(count / seconds);
      last = { ...sink.totals };
      sink.close();
      await opened.close();
    }
    const row = { sink: world.name, records: count, recordsPerSecond: median(rates), ...last };
    options.log(`  ${row.sink}: ${fixed(row.recordsPerSecond, 0)} records/s, ${grouped(row.bytesSent)} bytes sent`);
    rows.push(row);
  }
  return rows;
}

export function renderSinks(rows: readonly SinkRow[], markdown: boolean): string {
  return table(
    ['sink', 'records', 'records/s', 'bytes sent', 'requests'],
    rows.map((row) =>
      row.skipped !== undefined
        ? [row.sink, grouped(row.records), `not run: ${row.skipped}`, '', '']
        : [
            row.sink,
            grouped(row.records),
            fixed(row.recordsPerSecond, 0),
            grouped(row.bytesSent),
            grouped(row.requests),
          ],
    ),
    markdown,
  );
}
