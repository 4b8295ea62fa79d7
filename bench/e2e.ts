/**
 * End-to-end benchmark: the `ingest --queue-url` poller against moto and a local downstream receiver, small
 * files (one CloudTrail notification per file, as CloudTrail sends them), messages per second, and where a
 * message's time goes. The emulator, the receiver and the customer chain live in this (the runner's) process
 * and in moto; each measured run is a fresh child process (bench/e2e-child.ts).
 */
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { mkdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { logFileKey } from '../testkit/cloudtrail-generator';
import { customerAdminClients } from '../testkit/customer-clients';
import { cloudTrailNotification, createChain, snsEnvelope } from '../testkit/demo-chain';
import { DownstreamReceiver } from '../testkit/downstream-receiver';
import { startMoto, type MotoServer } from '../testkit/emulator';
import { accountRecord, createRegistry } from '../testkit/registry';
import { DEFAULT_MESSAGE_CONCURRENCY } from '../lambdas/ingest/config';
import { generateExternalId } from '../lambdas/shared/registry';
import type { E2eChildResult, Span } from './e2e-child';
import { INPUT_DIR, OUT_DIR, type InputManifest } from './inputs';
import { MiB, fixed, grouped, median, processCpuSeconds, runChild, table } from './lib';
import { profileTable, summarizeProfile, type ProfileRow } from './profile';

const REGION = 'us-east-1';
const COLLECTOR_ACCOUNT = '123456789012';
const TENANT = '111122223333';
const TABLE = 'cloudtrail-collector-accounts';
const TOKEN = 'bench-token';
/** The emulator accepts any key; these are the collector's own (default-account) credentials. */
const COLLECTOR_CREDENTIALS = { accessKeyId: 'bench', secretAccessKey: 'bench' };

export interface BreakdownRow {
  part: string;
  calls: number;
  msPerCall: number;
  /** Summed over all calls, divided by the messages processed. */
  msPerMessage: number;
  /** Share of the steady wall time (poller parts only; handler parts overlap each other). */
  shareOfWall?: number;
}

export interface E2eVariantSummary {
  label: string;
  messageConcurrency: number;
  runs: number;
  messages: number;
  records: number;
  messagesPerSecond: number;
  messagesPerSecondMin: number;
  messagesPerSecondMax: number;
  recordsPerSecond: number;
  mbPerSecond: number;
  wallMsPerMessage: number;
  startupSeconds: number;
  ingestCpuMsPerMessage: number;
  motoCpuMsPerMessage: number;
  receiverCpuMsPerMessage: number;
  peakRssMiB: number;
  /** From the run with the median throughput. */
  breakdown: BreakdownRow[];
}

export interface E2eSummary {
  messages: number;
  files: number;
  records: number;
  bytes: number;
  compressedBytes: number;
  variants: E2eVariantSummary[];
  runs: (RunMeasure & { label: string; round: number })[];
  /** One more run of the default poller under `node --cpu-prof`: where the ingest process's main thread goes. */
  profile?: { path: string; messages: number; rows: ProfileRow[] };
}

interface RunMeasure {
  messages: number;
  records: number;
  steadySeconds: number;
  startupSeconds: number;
  ingestCpuSeconds: number;
  motoCpuSeconds: number;
  receiverCpuSeconds: number;
  peakRssBytes: number;
  breakdown: BreakdownRow[];
}

interface CliTotals {
  batches: number;
  received: number;
  deleted: number;
  failed: number;
  counts: Record<string, number>;
}

function sum(spans: Span[]): number {
  return spans.reduce((total, span) => total + (span.end - span.start), 0);
}

/** Turns the child's spans into per-message costs. The poller loop is sequential: receive, handler, delete. */
function analyse(
  result: E2eChildResult,
  messages: number,
): Omit<RunMeasure, 'motoCpuSeconds' | 'receiverCpuSeconds' | 'records'> {
  const named = (name: string) => result.spans.filter((span) => span.name === name);
  const receives = named('ReceiveMessageCommand');
  const deletes = named('DeleteMessageBatchCommand');
  const firstReceive = Math.min(...receives.map((span) => span.start));
  const lastDelete = Math.max(...deletes.map((span) => span.end));
  const steadyMs = lastDelete - firstReceive;
  const fullReceives = receives.filter((span) => (span.messages ?? 0) > 0 && span.end <= lastDelete);
  const receiveMs = sum(fullReceives);
  const deleteMs = sum(deletes);
  const batches = fullReceives.length;
  const row = (part: string, calls: number, totalMs: number, wall: boolean): BreakdownRow => ({
    part,
    calls,
    msPerCall: calls > 0 ? totalMs / calls : 0,
    msPerMessage: totalMs / messages,
    ...(wall ? { shareOfWall: totalMs / steadyMs } : {}),
  });
  const inSteady = (spans: Span[]) => spans.filter((span) => span.start >= firstReceive && span.end <= lastDelete);
  const getObject = inSteady(named('GetObjectCommand'));
  const downstream = inSteady(named('downstream'));
  const getItem = inSteady(named('GetItemCommand'));
  const assumeRole = named('AssumeRoleCommand');
  const handlerMs = steadyMs - receiveMs - deleteMs;
  return {
    messages,
    steadySeconds: steadyMs / 1000,
    startupSeconds: (firstReceive - result.started) / 1000,
    ingestCpuSeconds: result.steadyCpuSeconds,
    peakRssBytes: result.peakRssBytes,
    breakdown: [
      row('poller: ReceiveMessage (up to 10 messages)', batches, receiveMs, true),
      row('poller: handler (processSqsBatch, MESSAGE_CONCURRENCY at a time)', batches, handlerMs, true),
      row('poller: DeleteMessageBatch', deletes.length, deleteMs, true),
      row('in the handler: registry GetItem (once per batch)', getItem.length, sum(getItem), false),
      row('in the handler: STS AssumeRole (cached; start-up included)', assumeRole.length, sum(assumeRole), false),
      row('in the handler: S3 GetObject, to the response headers', getObject.length, sum(getObject), false),
      row('in the handler: downstream send (gzip -1 + POST)', downstream.length, sum(downstream), false),
    ],
  };
}

export async function runE2e(options: {
  quick: boolean;
  runs: number;
  small: InputManifest;
  log: (line: string) => void;
}): Promise<E2eSummary> {
  const { log } = options;
  const files = options.quick ? 60 : 200;
  const index = options.small.index!.slice(0, files);
  const pack = readFileSync(join(INPUT_DIR, options.small.file));
  const expectedRecords = index.reduce((total, entry) => total + entry.records, 0);
  const bytes = index.reduce((total, entry) => total + entry.bytes, 0);
  const compressedBytes = index.reduce((total, entry) => total + entry.length, 0);

  let moto: MotoServer | undefined;
  const receiver = new DownstreamReceiver({ token: TOKEN });
  try {
    moto = await startMoto();
    const downstreamUrl = await receiver.start();
    const endpoint = moto.endpoint;
    log(`  emulator ${endpoint}, receiver ${downstreamUrl}`);

    const registry = await createRegistry(TABLE, { region: REGION, endpoint, credentials: COLLECTOR_CREDENTIALS });
    const externalId = generateExternalId();
    await registry.add(accountRecord({ accountId: TENANT, externalId }));
    const clients = await customerAdminClients(TENANT, REGION, 'bench-setup', {
      endpoint,
      credentials: COLLECTOR_CREDENTIALS,
      externalId,
    });
    const chain = await createChain(clients, TENANT, { visibilityTimeoutSeconds: 300 });
    await registry.update(TENANT, { bucketName: chain.bucket, topicArn: chain.topicArn, queueArn: chain.queueArn });

    log(`  uploading ${files} small log files to s3://${chain.bucket}`);
    const keys = index.map((_, i) =>
      logFileKey({
        accountId: TENANT,
        region: REGION,
        time: new Date(Date.UTC(2026, 10, 1) + i * 300_000),
        unique: `bench${String(i).padStart(8, '0')}`,
      }),
    );
    for (let at = 0; at < index.length; at += 8) {
      await Promise.all(
        index.slice(at, at + 8).map((entry, k) =>
          clients.s3.send(
            new PutObjectCommand({
              Bucket: chain.bucket,
              Key: keys[at + k],
              Body: pack.subarray(entry.offset, entry.offset + entry.length),
            }),
          ),
        ),
      );
    }
    const fillQueue = async () => {
      const bodies = keys.map((key) => snsEnvelope(cloudTrailNotification(chain.bucket, [key]), chain.topicArn));
      const sends: Promise<unknown>[] = [];
      for (let at = 0; at < bodies.length; at += 10) {
        sends.push(
          clients.sqs.send(
            new SendMessageBatchCommand({
              QueueUrl: chain.queueUrl,
              Entries: bodies.slice(at, at + 10).map((body, k) => ({ Id: String(k), MessageBody: body })),
            }),
          ),
        );
        if (sends.length >= 4) await Promise.all(sends.splice(0));
      }
      await Promise.all(sends);
    };

    /** The environment the command-line tool reads (docs/operations.md), pointing at the emulator and receiver. */
    const childEnv = (messageConcurrency: number): NodeJS.ProcessEnv => ({
      AWS_ENDPOINT_URL: endpoint,
      AWS_REGION: REGION,
      AWS_ACCESS_KEY_ID: COLLECTOR_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: COLLECTOR_CREDENTIALS.secretAccessKey,
      AWS_SESSION_TOKEN: undefined,
      AWS_PROFILE: undefined,
      ACCOUNTS_TABLE: TABLE,
      COLLECTOR_ACCOUNT_ID: COLLECTOR_ACCOUNT,
      DOWNSTREAM_URL: downstreamUrl,
      DOWNSTREAM_TOKEN: TOKEN,
      MESSAGE_CONCURRENCY: String(messageConcurrency),
    });
    const plans = [
      {
        label: `MESSAGE_CONCURRENCY=${DEFAULT_MESSAGE_CONCURRENCY} (default)`,
        messageConcurrency: DEFAULT_MESSAGE_CONCURRENCY,
      },
      { label: 'MESSAGE_CONCURRENCY=1', messageConcurrency: 1 },
    ];
    const runs: E2eSummary['runs'] = [];
    for (let round = 0; round < options.runs; round++) {
      for (const plan of plans) {
        await fillQueue();
        const motoCpuBefore = processCpuSeconds(moto.process.pid!) ?? Number.NaN;
        const receiverCpuBefore = process.cpuUsage();
        const logFile = join(OUT_DIR, `e2e-${plan.messageConcurrency}-${round}.log`);
        const run = await runChild('e2e-child', ['--queue-url', chain.queueUrl], {
          env: childEnv(plan.messageConcurrency),
          stderrFile: logFile,
        });
        const receiverCpu = process.cpuUsage(receiverCpuBefore);
        const motoCpu = (processCpuSeconds(moto.process.pid!) ?? Number.NaN) - motoCpuBefore;
        if (run.code !== 0) {
          throw new Error(`e2e run exited with ${run.code}; its log is ${logFile}\n${run.stdout.slice(-2000)}`);
        }
        const lines = run.stdout.trim().split('\n');
        const result = JSON.parse(lines.pop()!) as E2eChildResult;
        const totals = JSON.parse(lines.join('\n')) as CliTotals;
        const records = totals.counts.RecordsForwarded ?? 0;
        if (!result.ok || totals.received !== files || totals.deleted !== files || totals.failed !== 0) {
          throw new Error(`e2e run incomplete: ${JSON.stringify(totals)}; see ${logFile}`);
        }
        if (records !== expectedRecords || receiver.uniqueRecords !== expectedRecords || receiver.rejected.length > 0) {
          throw new Error(
            `e2e: forwarded ${records} records, the receiver holds ${receiver.uniqueRecords} ` +
              `(rejected ${receiver.rejected.length}); expected ${expectedRecords}`,
          );
        }
        const measure: RunMeasure = {
          ...analyse(result, files),
          records,
          motoCpuSeconds: motoCpu,
          receiverCpuSeconds: (receiverCpu.user + receiverCpu.system) / 1e6,
        };
        runs.push({ ...measure, label: plan.label, round });
        log(
          `  e2e ${plan.label.padEnd(32)} run ${round + 1}/${options.runs}: ` +
            `${fixed(files / measure.steadySeconds)} messages/s, ${grouped(records / measure.steadySeconds)} records/s`,
        );
      }
    }

    // One more run, profiled (not counted above: the profiler slows the process down).
    await fillQueue();
    const profileDir = join(OUT_DIR, 'profiles');
    mkdirSync(profileDir, { recursive: true });
    const profileName = `e2e-${new Date().toISOString().replace(/[:.]/g, '-')}.cpuprofile`;
    const profiled = await runChild('e2e-child', ['--queue-url', chain.queueUrl], {
      env: childEnv(4),
      stderrFile: join(OUT_DIR, 'e2e-profiled.log'),
      nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=${profileName}`],
    });
    let profile: E2eSummary['profile'];
    if (profiled.code === 0) {
      const path = join(profileDir, profileName);
      profile = { path: relative(process.cwd(), path), messages: files, rows: summarizeProfile(path) };
      log(`  e2e: CPU profile of the poller written to ${profile.path}`);
    }

    const variants = plans.map((plan): E2eVariantSummary => {
      const mine = runs.filter((run) => run.label === plan.label);
      const rates = mine.map((run) => run.messages / run.steadySeconds);
      const steady = median(mine.map((run) => run.steadySeconds));
      const middle = [...mine].sort((a, b) => a.steadySeconds - b.steadySeconds)[Math.floor((mine.length - 1) / 2)]!;
      return {
        label: plan.label,
        messageConcurrency: plan.messageConcurrency,
        runs: mine.length,
        messages: files,
        records: expectedRecords,
        messagesPerSecond: files / steady,
        messagesPerSecondMin: Math.min(...rates),
        messagesPerSecondMax: Math.max(...rates),
        recordsPerSecond: expectedRecords / steady,
        mbPerSecond: bytes / 1e6 / steady,
        wallMsPerMessage: (steady * 1000) / files,
        startupSeconds: median(mine.map((run) => run.startupSeconds)),
        ingestCpuMsPerMessage: median(mine.map((run) => (run.ingestCpuSeconds * 1000) / files)),
        motoCpuMsPerMessage: median(mine.map((run) => (run.motoCpuSeconds * 1000) / files)),
        receiverCpuMsPerMessage: median(mine.map((run) => (run.receiverCpuSeconds * 1000) / files)),
        peakRssMiB: median(mine.map((run) => run.peakRssBytes / MiB)),
        breakdown: middle.breakdown,
      };
    });
    return {
      messages: files,
      files,
      records: expectedRecords,
      bytes,
      compressedBytes,
      variants,
      runs,
      ...(profile ? { profile } : {}),
    };
  } finally {
    await receiver.stop();
    await moto?.stop();
  }
}

export function renderE2e(summary: E2eSummary, markdown: boolean): string {
  const throughput = table(
    [
      'poller',
      'messages/s (min-max)',
      'records/s',
      'MB/s',
      'wall ms/msg',
      'CPU ms/msg: ingest',
      'moto',
      'receiver',
      'start-up s',
      'peak RSS MiB',
      'runs',
    ],
    summary.variants.map((v) => [
      v.label,
      `${fixed(v.messagesPerSecond)} (${fixed(v.messagesPerSecondMin)}-${fixed(v.messagesPerSecondMax)})`,
      grouped(v.recordsPerSecond),
      fixed(v.mbPerSecond),
      fixed(v.wallMsPerMessage),
      fixed(v.ingestCpuMsPerMessage),
      fixed(v.motoCpuMsPerMessage),
      fixed(v.receiverCpuMsPerMessage),
      fixed(v.startupSeconds, 2),
      fixed(v.peakRssMiB, 0),
      String(v.runs),
    ]),
    markdown,
  );
  const breakdowns = summary.variants.map(
    (v) =>
      `${markdown ? '\n' : ''}Where a message's time goes, ${v.label} (run with the median throughput):\n${markdown ? '\n' : ''}` +
      table(
        ['part', 'calls', 'ms/call', 'ms/message', 'share of wall'],
        v.breakdown.map((row) => [
          row.part,
          String(row.calls),
          fixed(row.msPerCall),
          fixed(row.msPerMessage, 2),
          row.shareOfWall === undefined ? '-' : `${fixed(row.shareOfWall * 100, 0)}%`,
        ]),
        markdown,
      ),
  );
  const input =
    `${markdown ? '\n' : ''}Input: ${summary.files} small log files (${grouped(summary.records)} records, ` +
    `${fixed(summary.bytes / 1e6)} MB, ${fixed(summary.compressedBytes / 1e6)} MB gzip), one CloudTrail SNS ` +
    `notification per file; time from the first receive to the last delete.`;
  const profile = summary.profile
    ? [
        `${markdown ? '\n' : ''}CPU profile of the ingest process, default poller, ${summary.profile.messages} messages ` +
          `(one extra run under --cpu-prof, start-up included; ${summary.profile.path}):\n${markdown ? '\n' : ''}` +
          profileTable(summary.profile.rows, markdown, { unit: 'message', count: summary.profile.messages }),
      ]
    : [];
  return [throughput, input, ...breakdowns, ...profile].join('\n');
}
