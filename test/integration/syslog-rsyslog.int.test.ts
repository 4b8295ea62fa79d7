import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { RecordObject } from '../../lambdas/ingest/log-object';
import { forwardRecords } from '../../lambdas/ingest/pipeline';
import { KEEP_ALL } from '../../lambdas/ingest/records/filters';
import type { Sink } from '../../lambdas/ingest/sinks/sink';
import { createSyslogSink } from '../../lambdas/ingest/sinks/syslog';
import { loadSyslogSettings } from '../../lambdas/ingest/sinks/syslog/config';
import { generateRecords, logFileBody, logFileKey } from '../../testkit/cloudtrail-generator';
import { recordingLogger } from '../../testkit/ingest-fakes';
import { runCli } from '../../testkit/cli';
import { ingestWorld, receiveAll, TABLE } from '../../testkit/ingest-env';
import { makeTestCertificates, startRsyslog, type Rsyslog } from '../../testkit/rsyslog';
import { REGION } from '../../testkit/test-emulator';

/**
 * Issue 16, must show 2, against the real rsyslog (testkit/rsyslog.ts): 10,000 records from 20 generated
 * CloudTrail files go through the pipeline (forwardRecords, the core `invoke ingest` runs per object; the CLI
 * cannot select the syslog sink until SINK_TYPE is wired into lambdas/ingest/config.ts) and are read back from
 * rsyslog's output file byte for byte. rsyslog is restarted once half of them were delivered.
 */
const ACCOUNT = '111122223333';
const FILES = 20;
const RECORDS_PER_FILE = 500;
const WINDOW = 64;

interface Run {
  expected: string[];
  /**
   * Records of batches that resolved (RELP: acknowledged; TCP: handed to the kernel) before the restarted rsyslog
   * listened: the ones written to the connection that broke. A write can still land on that connection after
   * rsyslogd exited, until this side has processed the close.
   */
  sentOnOldConnection: string[];
  restarted: boolean;
}

function files(): { object: RecordObject; body: Buffer; lines: string[] }[] {
  return Array.from({ length: FILES }, (_, f) => {
    const records = generateRecords(RECORDS_PER_FILE, {
      accountId: ACCOUNT,
      region: 'eu-west-1',
      seed: 1600 + f,
      start: new Date(Date.UTC(2026, 10, 1, f)),
    });
    const key = logFileKey({
      accountId: ACCOUNT,
      region: 'eu-west-1',
      time: new Date(Date.UTC(2026, 10, 1, f)),
      unique: `f${f}`,
    });
    return {
      object: { bucket: 'trail-bucket', key, kind: 'log' },
      body: logFileBody(records),
      lines: records.map((r) => JSON.stringify(r)),
    };
  });
}

/** Forwards every file (4 at once) and restarts rsyslog once half the records were acknowledged. */
async function forwardAll(sink: Sink, rsyslog: Rsyslog): Promise<Run> {
  const all = files();
  const run: Run = { expected: all.flatMap((f) => f.lines), sentOnOldConnection: [], restarted: false };
  let delivered = 0;
  let restart: Promise<void> | undefined;
  let listeningAgain = false;
  const counting: Sink = {
    recordOverheadBytes: sink.recordOverheadBytes,
    send: async (batch, ctx) => {
      const result = await sink.send(batch, ctx);
      delivered += batch.records.length;
      if (!listeningAgain) for (const r of batch.records) run.sentOnOldConnection.push(r.toString());
      if (restart === undefined && delivered >= (FILES * RECORDS_PER_FILE) / 2) {
        run.restarted = true;
        restart = (async () => {
          await rsyslog.stop();
          await rsyslog.start();
          listeningAgain = true;
        })();
      }
      return result;
    },
    close: () => sink.close(),
  };
  const queue = [...all];
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
        const result = await forwardRecords(file.body, file.object, counting, {
          maxDecompressedBytes: 1 << 28,
          maxRecordBytes: 1 << 20,
          batchLimits: { maxBatchBytes: 1 << 20, maxBatchRecords: 100 },
          maxInFlightBatches: 4,
          filter: KEEP_ALL,
          deadline: Date.now() + 50_000,
        });
        expect(result.recordsForwarded).toBe(RECORDS_PER_FILE);
      }
    }),
  );
  await restart;
  return run;
}

/** How many times each line was received: the lines missing, the extra copies, and the lines nobody sent. */
function tally(expected: readonly string[], received: readonly string[]) {
  const sent = new Set(expected);
  const counts = new Map<string, number>();
  for (const line of received) counts.set(line, (counts.get(line) ?? 0) + 1);
  let duplicates = 0;
  for (const n of counts.values()) duplicates += n - 1;
  return {
    missing: expected.filter((line) => !counts.has(line)),
    duplicates,
    unexpected: [...counts.keys()].filter((line) => !sent.has(line)).length,
  };
}

describe('syslog sink against the real rsyslog', () => {
  let rsyslog: Rsyslog;
  beforeEach(async () => {
    rsyslog = await startRsyslog();
  }, 30_000);
  afterEach(async () => rsyslog.dispose());

  test('invoke ingest over RELP+TLS: 10,000 records from 20 files, rsyslog restarted halfway, all read back unchanged', async () => {
    const world = await ingestWorld([{ accountId: ACCOUNT }]);
    try {
      const { clients, chain } = world.tenants.get(ACCOUNT)!;
      const expected: string[] = [];
      const keys: string[] = [];
      for (let f = 0; f < FILES; f++) {
        const time = new Date(Date.UTC(2026, 10, 1, 0, f));
        const file = await world.logFile(ACCOUNT, 1700 + f, RECORDS_PER_FILE, { time });
        keys.push(file.key);
        // The same generator and seed as putLogFile (testkit/demo-chain.ts): the bytes the file holds.
        const records = generateRecords(RECORDS_PER_FILE, {
          accountId: ACCOUNT,
          region: REGION,
          seed: 1700 + f,
          start: time,
        });
        expected.push(...records.map((r) => JSON.stringify(r)));
      }
      // One CloudTrail notification per 5 files: 4 SQS messages in one event.
      for (let i = 0; i < FILES; i += 5) {
        await world.send(ACCOUNT, JSON.stringify({ s3Bucket: chain.bucket, s3ObjectKey: keys.slice(i, i + 5) }));
      }
      const messages = await receiveAll(clients.sqs, chain.queueUrl, chain.queueArn, FILES / 5);
      expect(messages).toHaveLength(FILES / 5);
      const eventFile = path.join(await mkdtemp(path.join(tmpdir(), 'syslog-cli-')), 'event.json');
      await writeFile(eventFile, JSON.stringify({ Records: messages }));

      const c = rsyslog.certificates;
      const cli = runCli(['invoke', 'ingest', '--event', eventFile], {
        ACCOUNTS_TABLE: TABLE,
        SINK_TYPE: 'syslog',
        DOWNSTREAM_URL: `relp+tls://localhost:${rsyslog.ports.relpTls}`,
        SYSLOG_TLS_CA_FILE: c.caFile,
        SYSLOG_TLS_CERT_FILE: c.clientCertFile,
        SYSLOG_TLS_KEY_FILE: c.clientKeyFile,
        SYSLOG_RELP_WINDOW: String(WINDOW),
        SYSLOG_MAX_MESSAGE_BYTES: String(256 * 1024),
      });
      // Restarted once rsyslog has written half the records (imrelp answers after the write: direct queues).
      let restarted = false;
      let done = false;
      void cli.finally(() => (done = true));
      while (!done && !restarted) {
        if ((await rsyslog.lines('relpTls')).length >= expected.length / 2) {
          await rsyslog.restart();
          restarted = true;
        } else {
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      }
      const result = await cli;
      expect(result.stderr).not.toContain('"level":"ERROR"');
      expect(JSON.parse(result.stdout)).toEqual({ batchItemFailures: [] });
      expect(result.code).toBe(0);
      expect(restarted).toBe(true);
      await rsyslog.stop();

      const received = await rsyslog.lines('relpTls');
      const { missing, duplicates, unexpected } = tally(expected, received);
      expect(missing).toEqual([]);
      expect(unexpected).toBe(0);
      expect(duplicates).toBeLessThanOrEqual(WINDOW);
      process.stdout.write(
        `invoke ingest, RELP+TLS restart: 0 of ${expected.length} records lost, ${duplicates} duplicated\n`,
      );
    } finally {
      await world.stop();
    }
  });

  test('RELP over TLS: 10,000 records, an rsyslog restart halfway, every record read back unchanged', async () => {
    const c = rsyslog.certificates;
    const settings = loadSyslogSettings(
      {
        SYSLOG_TLS_CA_FILE: c.caFile,
        SYSLOG_TLS_CERT_FILE: c.clientCertFile,
        SYSLOG_TLS_KEY_FILE: c.clientKeyFile,
        SYSLOG_RELP_WINDOW: String(WINDOW),
        SYSLOG_MAX_MESSAGE_BYTES: String(256 * 1024),
      },
      `relp+tls://localhost:${rsyslog.ports.relpTls}`,
    );
    const { logger, lines } = recordingLogger();
    const sink = createSyslogSink(settings, { logger });
    const run = await forwardAll(sink, rsyslog);
    sink.close();
    await rsyslog.stop();

    const received = await rsyslog.lines('relpTls');
    const { missing, duplicates, unexpected } = tally(run.expected, received);
    expect(run.restarted).toBe(true);
    // The restart was seen: the session broke and what it had not acknowledged was sent again.
    expect(lines.some((l) => /syslog (connection lost|receiver unreachable)/.test(l.message))).toBe(true);
    expect(missing).toEqual([]);
    expect(unexpected).toBe(0);
    // RELP may duplicate what was unacknowledged when the session broke: at most one window's worth.
    expect(duplicates).toBeLessThanOrEqual(WINDOW);
    expect(received.length).toBe(run.expected.length + duplicates);
    process.stdout.write(`RELP+TLS restart: 0 of ${run.expected.length} records lost, ${duplicates} duplicated\n`);
  });

  test('plain TCP: the same restart loses one stretch of what was written to the broken connection, and it is measured', async () => {
    const settings = loadSyslogSettings(
      { SYSLOG_MAX_MESSAGE_BYTES: String(256 * 1024) },
      `syslog+tcp://127.0.0.1:${rsyslog.ports.tcp}`,
    );
    const { logger } = recordingLogger();
    const sink = createSyslogSink(settings, { logger });
    const run = await forwardAll(sink, rsyslog);
    sink.close();
    // What the last writes handed to the kernel reaches rsyslogd before it is stopped: only the restart may lose.
    await rsyslog.settledLines('tcp');
    await rsyslog.stop();

    const received = await rsyslog.lines('tcp');
    const { missing, duplicates, unexpected } = tally(run.expected, received);
    expect(run.restarted).toBe(true);
    expect(unexpected).toBe(0);
    // What is lost was written to the connection that broke, nothing sent on a later one; and it is one stretch of
    // that connection's stream (the part in flight when rsyslogd went away), in the order the writes completed.
    const order = new Map(run.sentOnOldConnection.map((line, i) => [line, i]));
    const lostAt = missing.map((line) => order.get(line) ?? -1).sort((a, b) => a - b);
    expect(lostAt.filter((i) => i < 0)).toHaveLength(0);
    if (lostAt.length > 0) expect(lostAt[lostAt.length - 1]! - lostAt[0]! + 1).toBe(lostAt.length);
    const lostBytes = missing.reduce((sum, line) => sum + Buffer.byteLength(line) + sink.recordOverheadBytes, 0);
    process.stdout.write(
      `plain TCP restart: ${missing.length} of ${run.expected.length} records lost (${lostBytes} bytes), ${duplicates} duplicated\n`,
    );
  });

  test('a record over SYSLOG_MAX_MESSAGE_BYTES fails its batch permanently, naming its eventID; nothing is sent', async () => {
    const settings = loadSyslogSettings({ SYSLOG_MAX_MESSAGE_BYTES: '4096' }, `relp://127.0.0.1:${rsyslog.ports.relp}`);
    const sink = createSyslogSink(settings, { logger: recordingLogger().logger });
    const [small, large] = generateRecords(2, { accountId: ACCOUNT, region: 'eu-west-1', seed: 7 });
    const big: Record<string, unknown> = { ...large!, requestParameters: { policy: 'x'.repeat(5000) } };
    const records = [Buffer.from(JSON.stringify(small!)), Buffer.from(JSON.stringify(big))];
    const object: RecordObject = {
      bucket: 'b',
      key: logFileKey({ accountId: ACCOUNT, region: 'eu-west-1', time: new Date(), unique: 'big' }),
      kind: 'log',
    };
    await expect(
      sink.send({ object, index: 0, records }, { idempotencyKey: 'oversize', deadline: Date.now() + 10_000 }),
    ).rejects.toMatchObject({
      permanent: true,
      message: expect.stringContaining(`eventID ${String(big.eventID)}`),
    });
    // The small record of the same batch was not sent either: the batch fails as a whole, before any byte.
    await sink.send(
      { object, index: 1, records: [records[0]!] },
      { idempotencyKey: 'small', deadline: Date.now() + 10_000 },
    );
    sink.close();
    await rsyslog.stop();
    expect(await rsyslog.lines('relp')).toEqual([records[0]!.toString()]);
  });

  test('TLS: a receiver whose certificate another CA signed is refused, and nothing is sent', async () => {
    const otherCa = makeTestCertificates(await mkdtemp(path.join(tmpdir(), 'other-ca-')));
    const settings = loadSyslogSettings(
      { SYSLOG_TLS_CA_FILE: otherCa.caFile },
      `syslog+tls://localhost:${rsyslog.ports.tcpTls}`,
    );
    const sink = createSyslogSink(settings, { logger: recordingLogger().logger, random: () => 0 });
    const object: RecordObject = {
      bucket: 'b',
      key: logFileKey({ accountId: ACCOUNT, region: 'eu-west-1', time: new Date(), unique: 'tls' }),
      kind: 'log',
    };
    await expect(
      sink.send(
        { object, index: 0, records: [Buffer.from('{"eventID":"x"}')] },
        { idempotencyKey: 'tls', deadline: Date.now() + 10_000 },
      ),
    ).rejects.toMatchObject({ permanent: false, message: expect.stringMatching(/certificate/i) });
    sink.close();
    await rm(otherCa.dir, { recursive: true, force: true });
    await rsyslog.stop();
    expect(await rsyslog.lines('tcpTls')).toEqual([]);
  });
});
