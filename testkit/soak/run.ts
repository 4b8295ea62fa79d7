/**
 * The reliability soak: thousands of SQS messages through the `ingest --queue-url` code path (pollQueue +
 * processSqsBatch, in process, with Lambda's partial-batch semantics) while the downstream, S3 and STS fail at
 * random, against moto with a real queue (short visibility timeout, redrive to a DLQ after maxReceiveCount).
 * At the end it counts what matters: every generated record reached the downstream at least once (unique
 * eventIDs), the DLQ holds exactly the poison messages planted, and how many duplicates there were.
 *
 * `npm run soak` (bench/soak/soak.ts) runs it in full; test/reliability/soak.int.test.ts runs it in small.
 */
import { seededRandom } from '../cloudtrail-generator';
import { customerAdminClients } from '../customer-clients';
import { createChain } from '../demo-chain';
import { DownstreamReceiver, randomFaultPolicy, type Fault } from '../downstream-receiver';
import { resetMoto, startMoto, type MotoServer } from '../emulator';
import { accountRecord, createRegistry } from '../registry';
import { TallyLogger } from '../tally-logger';
import { loadIngestConfig } from '../../lambdas/ingest/config';
import { processSqsBatch, type BatchResult, type IngestDeps } from '../../lambdas/ingest/source/sqs-batch';
import { pollQueue, type PollTotals } from '../../lambdas/ingest/source/queue-poller';
import { CountTally, createIngestDeps } from '../../lambdas/ingest/runtime';
import { errorMessage } from '../../lambdas/shared/errors';
import { AwsFaultProxy, type AwsFault, type AwsRequestInfo } from '../aws-fault-proxy';
import { DEFAULT_OPTIONS, FAULT_RATES, REGION, TABLE, TENANT, TOKEN, type SoakOptions } from './options';
import { planMessages } from './plan';
import { drainQueue, queueCounts } from '../queues';
import { sendMessages, upload } from './queue';
import { batchStats, round, sumValues, type SoakReport } from './report';

function progress(options: SoakOptions, text: string): void {
  if (!options.quiet) process.stderr.write(`[soak] ${text}\n`);
}

/** The emulator this process started, stopped on Ctrl-C too. */
let startedMoto: MotoServer | undefined;

/** Kills the emulator a running soak started (for a Ctrl-C handler; a normal run stops it itself). */
export function killStartedMoto(): void {
  startedMoto?.process.kill('SIGKILL');
}

export async function runSoak(input: Partial<SoakOptions> = {}): Promise<SoakReport> {
  const options: SoakOptions = { ...DEFAULT_OPTIONS, ...input };
  const started = Date.now();
  const random = seededRandom(options.seed ^ 0x5eed);
  let moto: MotoServer | undefined;
  const receiver = new DownstreamReceiver({ token: TOKEN });
  let proxy: AwsFaultProxy | undefined;
  const savedEnv = { ...process.env };
  try {
    let endpoint = options.motoEndpoint;
    if (endpoint) {
      await resetMoto(endpoint);
    } else {
      progress(options, 'starting moto_server');
      moto = await startMoto();
      endpoint = moto.endpoint;
      startedMoto = moto;
      // If the emulator dies mid-run, say how: everything after it fails with ECONNREFUSED.
      let motoStderr = '';
      moto.process.stderr?.on('data', (chunk: Buffer) => {
        motoStderr = (motoStderr + chunk.toString()).slice(-4_000);
      });
      moto.process.once('exit', (code, signal) => {
        if (startedMoto) {
          process.stderr.write(
            `[soak] moto_server exited (code ${code}, signal ${signal}); its last output:\n${motoStderr}\n`,
          );
        }
      });
    }
    Object.assign(process.env, {
      AWS_ENDPOINT_URL: endpoint,
      AWS_REGION: REGION,
      AWS_ACCESS_KEY_ID: 'soak',
      AWS_SECRET_ACCESS_KEY: 'soak',
    });
    delete process.env.AWS_SESSION_TOKEN;
    delete process.env.AWS_PROFILE;
    await receiver.start();

    // ---- set-up: registry, the tenant's chain, objects, messages (straight to moto, no faults) ----
    const registry = await createRegistry(TABLE, { region: REGION, endpoint });
    await registry.add(accountRecord({ accountId: TENANT }));
    const { s3, sqs, sns } = await customerAdminClients(TENANT, REGION, 'soak-setup');
    const chain = await createChain({ s3, sns, sqs }, TENANT, {
      maxReceiveCount: options.maxReceiveCount,
      visibilityTimeoutSeconds: options.visibilitySeconds,
    });
    progress(options, `planning ${options.messages} messages (seed ${options.seed})`);
    const planned = planMessages(options, chain);
    const objectCount = planned.reduce((sum, message) => sum + message.objects.length, 0);
    const setupSeconds = (Date.now() - started) / 1000;
    progress(
      options,
      `set-up done in ${setupSeconds.toFixed(1)} s; delivering ${planned.length} messages naming ${objectCount} objects`,
    );

    // ---- faults ----
    proxy = new AwsFaultProxy(endpoint, { maxRecorded: 0, bucketOwners: new Map([[chain.bucket, TENANT]]) });
    await proxy.start();
    let outageUntil = 0;
    let outages = 0;
    let requestsDuringOutages = 0;
    if (options.faults) {
      const randomDownstream = randomFaultPolicy(FAULT_RATES.downstream, random);
      receiver.setFaultPolicy((): Fault | undefined => {
        if (Date.now() < outageUntil) {
          requestsDuringOutages++;
          return { kind: 'status', status: 500 };
        }
        return randomDownstream({ requestNumber: 0, idempotencyKey: '', recordCount: 0, bytes: 0 });
      });
      proxy.setPolicy((request: AwsRequestInfo): AwsFault | undefined => {
        if (request.operation === 'GetObject') {
          const roll = random();
          if (roll < FAULT_RATES.s3SlowDown) return { kind: 's3-slowdown' };
          if (roll < FAULT_RATES.s3SlowDown + FAULT_RATES.s3CutBody) {
            return { kind: 'cut-body', afterBytes: 200 + Math.floor(random() * 3_000) };
          }
        }
        if (request.operation === 'AssumeRole' && random() < FAULT_RATES.stsThrottling)
          return { kind: 'sts-throttling' };
        return undefined;
      });
    }

    // ---- ingest: N pollers, like N concurrent Lambda instances, each replaced now and then ----
    process.env.AWS_ENDPOINT_URL = proxy.endpoint; // the ingest side talks to moto through the fault proxy
    const config = loadIngestConfig({
      ...process.env,
      ACCOUNTS_TABLE: TABLE,
      DOWNSTREAM_URL: receiver.url,
      DOWNSTREAM_TOKEN: TOKEN,
      DOWNSTREAM_TIMEOUT_MS: String(options.downstreamTimeoutMs),
      MAX_BATCH_RECORDS: '500',
    });
    const logger = new TallyLogger();
    const tally = new CountTally();
    const totals: PollTotals = { batches: 0, received: 0, deleted: 0, failed: 0 };
    const receivedIds = new Map<string, number>();
    const acknowledgedIds = new Map<string, number>();
    const batchMs: number[] = [];
    /** Messages being processed right now, and those handed to a second poller while a first still had them. */
    const inProgress = new Map<string, number>();
    const deliveredConcurrently = new Set<string>();
    let acknowledged = 0;
    let coldStarts = 0;
    let pollerErrors = 0;
    const controller = new AbortController();
    const drainStarted = Date.now();
    const timeLimit = setTimeout(() => controller.abort(), options.timeLimitSeconds * 1000);

    // Counted here rather than from pollQueue's totals, which a poller stopped mid-receive never returns.
    const handle = (deps: IngestDeps) => async (records: Parameters<typeof processSqsBatch>[0], deadline: number) => {
      for (const record of records) receivedIds.set(record.messageId, (receivedIds.get(record.messageId) ?? 0) + 1);
      const batchStarted = Date.now();
      for (const record of records) {
        if ((inProgress.get(record.messageId) ?? 0) > 0) deliveredConcurrently.add(record.messageId);
        inProgress.set(record.messageId, (inProgress.get(record.messageId) ?? 0) + 1);
      }
      const result: BatchResult = await processSqsBatch(records, deps, deadline).finally(() => {
        for (const record of records) inProgress.set(record.messageId, (inProgress.get(record.messageId) ?? 1) - 1);
      });
      batchMs.push(Date.now() - batchStarted);
      for (const [messageId, outcome] of result.outcomes) {
        if (outcome.status !== 'failed') acknowledgedIds.set(messageId, (acknowledgedIds.get(messageId) ?? 0) + 1);
      }
      totals.batches += 1;
      totals.received += records.length;
      totals.failed += result.batchItemFailures.length;
      totals.deleted += records.length - result.batchItemFailures.length;
      acknowledged += records.length - result.batchItemFailures.length;
      return result;
    };
    const instance = async (): Promise<void> => {
      while (!controller.signal.aborted) {
        let deps: IngestDeps | undefined;
        try {
          coldStarts++;
          deps = await createIngestDeps(config, logger, tally);
          await pollQueue(
            sqs,
            handle(deps),
            {
              queueUrl: chain.queueUrl,
              batchTimeoutMs: options.batchTimeoutMs,
              waitTimeSeconds: 1,
              maxBatches: options.recycleEveryBatches,
              signal: controller.signal,
            },
            logger,
          );
        } catch (error) {
          if (controller.signal.aborted) break;
          pollerErrors++;
          logger.error('poller error', { error: errorMessage(error) });
          await new Promise((resolve) => setTimeout(resolve, 500));
        } finally {
          deps?.sink.close();
        }
      }
    };

    /**
     * Delivers the messages as CloudTrail would, continuously: writes the objects a message names, then sends it,
     * keeping at most maxBacklog messages in the queue.
     */
    let sent = 0;
    const producer = async (): Promise<void> => {
      while (!controller.signal.aborted && sent < planned.length) {
        const counts = await queueCounts(sqs, chain.queueUrl);
        const room = Math.min(100, options.maxBacklog - counts.visible - counts.inFlight);
        if (room < 20 && sent > 0) {
          await new Promise((resolve) => setTimeout(resolve, 250));
          continue;
        }
        const next = planned.slice(sent, sent + Math.max(room, 20));
        await upload(s3, chain.bucket, next);
        await sendMessages(sqs, chain.queueUrl, next);
        sent += next.length;
      }
    };

    /** Reports progress, starts the downstream outages, and stops everything once every message is done. */
    const monitor = async (): Promise<boolean> => {
      let quiet = 0;
      let lastReport = 0;
      const outagePlan = options.faults ? [...FAULT_RATES.outagesAt] : [];
      while (!controller.signal.aborted) {
        await new Promise((resolve) => setTimeout(resolve, 500));
        const outageOver = Date.now() > outageUntil + FAULT_RATES.outageMs;
        if (outagePlan.length > 0 && outageOver && acknowledged >= outagePlan[0]! * options.messages) {
          outagePlan.shift();
          outages++;
          outageUntil = Date.now() + FAULT_RATES.outageMs;
          progress(options, `downstream outage: every request answered 500 for ${FAULT_RATES.outageMs} ms`);
        }
        const counts = await queueCounts(sqs, chain.queueUrl);
        if (Date.now() - lastReport >= 10_000) {
          lastReport = Date.now();
          progress(
            options,
            `${Math.round((Date.now() - drainStarted) / 1000)} s: ${sent} sent, ${acknowledged} acknowledged, ${counts.visible} visible, ` +
              `${counts.inFlight} in flight, ${receiver.uniqueRecords} records downstream, ` +
              `${receiver.faultsServedTotal + sumValues(proxy!.faultsServed)} faults injected`,
          );
        }
        quiet = sent === planned.length && counts.visible + counts.inFlight === 0 ? quiet + 1 : 0;
        if (quiet >= 4) {
          controller.abort();
          return true;
        }
      }
      return false;
    };

    const [drained] = await Promise.all([
      monitor(),
      producer(),
      ...Array.from({ length: options.pollers }, () => instance()),
    ]);
    clearTimeout(timeLimit);
    const drainSeconds = (Date.now() - drainStarted) / 1000;
    progress(
      options,
      `${drained ? 'queue drained' : 'time limit reached'} after ${drainSeconds.toFixed(1)} s; reading the DLQ`,
    );
    process.env.AWS_ENDPOINT_URL = endpoint;

    // ---- the counts ----
    const dlq = await drainQueue(sqs, chain.dlqUrl);
    const poison = planned.filter((message) => message.kind === 'poison');
    const poisonIds = new Set(poison.map((message) => message.messageId));
    const dlqIds = new Set(dlq.map((message) => message.messageId));
    const expected = new Set(planned.flatMap((message) => message.eventIds));
    const lost = [...expected].filter((id) => !receiver.eventIds.has(id));
    let fromPoisonObjects = 0;
    let unexpected = 0;
    for (const id of receiver.eventIds.keys()) {
      if (expected.has(id)) continue;
      if (id.startsWith('soak-poison-')) fromPoisonObjects++;
      else unexpected++;
    }

    // Duplicates: the keys under which each record was accepted tell why it was accepted twice.
    const acceptedUnder = new Map<string, string[]>();
    let droppedBatches = 0;
    let droppedRecords = 0;
    for (const batch of receiver.batches) {
      if (batch.duplicateKey) {
        droppedBatches++;
        droppedRecords += batch.eventIds.length;
        continue;
      }
      for (const id of batch.eventIds) {
        const keys = acceptedUnder.get(id);
        if (keys) keys.push(batch.idempotencyKey);
        else acceptedUnder.set(id, [batch.idempotencyKey]);
      }
    }
    const byCause: Record<string, number> = {};
    for (const keys of acceptedUnder.values()) {
      if (keys.length < 2) continue;
      const base = (key: string) => key.split('.')[0];
      const cause = keys.every((key) => base(key) === base(keys[0]!))
        ? 'the same batch accepted whole and as 413 halves (the random 413 was not repeated on redelivery)'
        : 'other';
      byCause[cause] = (byCause[cause] ?? 0) + keys.length - 1;
    }

    const byKind: Record<string, number> = {};
    const poisonByKind: Record<string, number> = {};
    for (const message of planned) {
      byKind[message.kind] = (byKind[message.kind] ?? 0) + 1;
      if (message.kind === 'poison') poisonByKind[message.detail] = (poisonByKind[message.detail] ?? 0) + 1;
    }
    const downstreamFaults = Object.fromEntries(receiver.faultsServed);
    const awsFaults = Object.fromEntries(proxy.faultsServed);
    const report: SoakReport = {
      options,
      faultRates: options.faults ? FAULT_RATES : null,
      startedAt: new Date(started).toISOString(),
      seconds: { setup: round(setupSeconds), drain: round(drainSeconds), total: round((Date.now() - started) / 1000) },
      drained,
      messages: { sent: planned.length, byKind, poisonPlanted: poison.length, poisonByKind },
      records: {
        generated: expected.size,
        receivedUnique: receiver.uniqueRecords,
        lost: lost.length,
        lostSample: lost.slice(0, 5),
        unexpected,
        fromPoisonObjects,
      },
      dlq: {
        messages: dlq.length,
        poisonFound: dlq.filter((message) => poisonIds.has(message.messageId)).length,
        poisonMissing: poison
          .filter((message) => !dlqIds.has(message.messageId!))
          .map((m) => `${m.detail} #${m.index}`),
        unexpected: dlq.filter((message) => !poisonIds.has(message.messageId)).slice(0, 20),
      },
      duplicates: {
        recordsAcceptedTwice: receiver.duplicateRecords,
        recordsAcceptedTwiceByCause: byCause,
        batchesDroppedByKey: droppedBatches,
        recordsInDroppedBatches: droppedRecords,
      },
      faults: {
        downstream: downstreamFaults,
        downstreamOutages: outages,
        downstreamRequestsDuringOutages: requestsDuringOutages,
        aws: awsFaults,
        total: sumValues(receiver.faultsServed) + sumValues(proxy.faultsServed),
      },
      traffic: {
        downstreamRequests: receiver.requests,
        downstreamBatchesAccepted: receiver.batches.length - droppedBatches,
        s3GetObject: proxy.count('s3', 'GetObject'),
        stsAssumeRole: proxy.count('sts', 'AssumeRole'),
      },
      polling: {
        ...totals,
        coldStarts,
        pollerErrors,
        messagesReceivedMoreThanOnce: [...receivedIds.values()].filter((count) => count > 1).length,
        messagesAcknowledgedTwice: [...acknowledgedIds.values()].filter((count) => count > 1).length,
        messagesDeliveredConcurrently: deliveredConcurrently.size,
        batchSeconds: batchStats(batchMs, options.batchTimeoutMs),
      },
      counts: tally.toJSON(),
      logs: Object.fromEntries([...logger.counts].sort()),
      logSamples: Object.fromEntries(logger.samples),
      ok: false,
      problems: [],
    };
    const problems = report.problems;
    if (!drained) problems.push(`the queue did not drain within ${options.timeLimitSeconds} s`);
    if (report.records.lost > 0) problems.push(`${report.records.lost} records never reached the downstream`);
    if (report.records.unexpected > 0) problems.push(`${report.records.unexpected} records nobody generated arrived`);
    if (report.dlq.poisonMissing.length > 0)
      problems.push(`${report.dlq.poisonMissing.length} poison messages not in the DLQ`);
    if (report.dlq.unexpected.length > 0)
      problems.push(`${report.dlq.unexpected.length} non-poison messages in the DLQ`);
    report.ok = problems.length === 0;
    return report;
  } finally {
    process.env = savedEnv;
    await receiver.stop();
    await proxy?.stop();
    startedMoto = undefined; // a normal stop: no "moto_server exited" message
    await moto?.stop();
  }
}
