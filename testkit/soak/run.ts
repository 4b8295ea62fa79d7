/**
 * The reliability soak: thousands of SQS messages through the `ingest --queue-url` code path (pollQueue +
 * processSqsBatch, in process, with Lambda's partial-batch semantics) while the downstream, S3 and STS fail at
 * random and the downstream goes down for a long outage, against moto with real queues: the hub topology's
 * queues in the collector account (the default) or the seed's queue per customer (world.ts).
 * At the end it counts what matters: every generated record reached the downstream at least once (unique
 * eventIDs), the DLQs hold exactly the poison messages planted, and how many duplicates there were; and, from the
 * ledger table ingest wrote meanwhile, that every collected file has its item with the hash of its bytes, and what
 * those writes cost (ledger.ts).
 *
 * `npm run soak` (bench/soak/soak.ts) runs it in full; test/reliability/soak.int.test.ts runs it in small.
 */
import type { SQSRecord } from 'aws-lambda';
import { loadIngestConfig } from '../../lambdas/ingest/config';
import { CountTally, createIngestDeps } from '../../lambdas/ingest/runtime';
import { pollQueue } from '../../lambdas/ingest/source/queue-poller';
import { processSqsBatch, type IngestDeps } from '../../lambdas/ingest/source/sqs-batch';
import { awsClients } from '../../lambdas/shared/aws-clients';
import { errorMessage } from '../../lambdas/shared/errors';
import { AwsFaultProxy, type AwsFault, type AwsRequestInfo } from '../aws-fault-proxy';
import { seededRandom } from '../cloudtrail-generator';
import { DownstreamReceiver, randomFaultPolicy, type Fault } from '../downstream-receiver';
import { resetMoto, startMoto, type MotoServer } from '../emulator';
import { queueCounts } from '../queues';
import { TallyLogger } from '../tally-logger';
import { LedgerWriteMeter, readLedger } from './ledger';
import { SoakObserver } from './observe';
import { FAULT_RATES, REGION, TABLE, TOKEN, resolveOptions, type SoakOptions } from './options';
import { OutagePlan } from './outages';
import { planMessages } from './plan';
import { readDeadLetters, sendMessages, upload, type DeadLetter } from './queue';
import { buildReport, type SoakReport } from './report';
import { soakSchedule } from './schedule';
import { createSoakWorld, type SoakQueue, type SoakWorld } from './world';

function progress(options: SoakOptions, text: string): void {
  if (!options.quiet) process.stderr.write(`[soak] ${text}\n`);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The emulator this process started, stopped on Ctrl-C too. */
let startedMoto: MotoServer | undefined;

/** Kills the emulator a running soak started (for a Ctrl-C handler; a normal run stops it itself). */
export function killStartedMoto(): void {
  startedMoto?.process.kill('SIGKILL');
}

async function startOwnMoto(): Promise<MotoServer> {
  const moto = await startMoto();
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
  return moto;
}

/**
 * Messages visible, and in flight (ApproximateNumberOfMessagesNotVisible: received and not yet deleted, or not yet
 * at the end of their visibility window, hence also those ingest hid for their backoff; SQS Developer Guide,
 * "Resources required to process Amazon SQS messages"), over the queues that carry messages.
 */
async function backlog(world: SoakWorld): Promise<{ visible: number; inFlight: number }> {
  const counts = await Promise.all(world.activeQueues.map((queue) => queueCounts(queue.sqs, queue.url)));
  return counts.reduce(
    (sum, count) => ({ visible: sum.visible + count.visible, inFlight: sum.inFlight + count.inFlight }),
    {
      visible: 0,
      inFlight: 0,
    },
  );
}

export async function runSoak(input: Partial<SoakOptions> = {}): Promise<SoakReport> {
  const options = resolveOptions(input);
  const schedule = soakSchedule(options.timeScale, options.outageMinutes);
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
      moto = await startOwnMoto();
      endpoint = moto.endpoint;
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

    // ---- set-up: registry, the tenants, the queues, the workload (straight to moto, no faults) ----
    const world = await createSoakWorld(options, endpoint);
    progress(
      options,
      `${options.topology}: ${world.tenants.length} tenant(s) on ${world.activeQueues.map((q) => q.name).join(', ')}; ` +
        `planning ${options.messages} messages (seed ${options.seed})`,
    );
    const planned = planMessages(options, world.tenants);
    const setupSeconds = (Date.now() - started) / 1000;
    progress(options, `set-up done in ${setupSeconds.toFixed(1)} s`);

    // ---- faults: random ones on every request, and the outages ----
    const outages = new OutagePlan(options, schedule);
    const observer = new SoakObserver();
    proxy = new AwsFaultProxy(endpoint, { maxRecorded: 0, bucketOwners: world.bucketOwners });
    await proxy.start();
    const drainStarted = Date.now();
    if (options.faults) {
      const randomDownstream = randomFaultPolicy(FAULT_RATES.downstream, random);
      receiver.setFaultPolicy((): Fault | undefined =>
        outages.refuses(Date.now())
          ? { kind: 'status', status: 500 }
          : randomDownstream({ requestNumber: 0, idempotencyKey: '', recordCount: 0, bytes: 0 }),
      );
    }
    proxy.setPolicy((request: AwsRequestInfo): AwsFault | undefined => {
      if (request.operation === 'GetObject') observer.phases[outages.phase(Date.now())].s3Reads += 1;
      if (!options.faults) return undefined;
      if (request.operation === 'GetObject') {
        const roll = random();
        if (roll < FAULT_RATES.s3SlowDown) return { kind: 's3-slowdown' };
        if (roll < FAULT_RATES.s3SlowDown + FAULT_RATES.s3CutBody) {
          return { kind: 'cut-body', afterBytes: 200 + Math.floor(random() * 3_000) };
        }
      }
      if (request.operation === 'AssumeRole' && random() < FAULT_RATES.stsThrottling) return { kind: 'sts-throttling' };
      return undefined;
    });

    // ---- ingest: N pollers over the queues, like N concurrent Lambda instances, each replaced now and then ----
    process.env.AWS_ENDPOINT_URL = proxy.endpoint; // the ingest side talks to moto through the fault proxy
    const config = {
      ...loadIngestConfig({
        ...process.env,
        ...world.ingestEnv,
        ACCOUNTS_TABLE: TABLE,
        // The table world.ts created (what ingest derives from ACCOUNTS_TABLE anyway; a LEDGER_TABLE of the caller's
        // environment must not send the writes elsewhere).
        LEDGER_TABLE: world.ledgerTable,
        DOWNSTREAM_URL: receiver.url,
        DOWNSTREAM_TOKEN: TOKEN,
        DOWNSTREAM_TIMEOUT_MS: String(options.downstreamTimeoutMs),
        MAX_BATCH_RECORDS: '500',
      }),
      breaker: schedule.breaker,
    };
    const ledgerWrites = new LedgerWriteMeter(world.ledgerTable);
    const ingestClients = ledgerWrites.clients();
    const logger = new TallyLogger();
    const tally = new CountTally();
    let coldStarts = 0;
    let pollerErrors = 0;
    const controller = new AbortController();
    const timeLimit = setTimeout(() => controller.abort(), options.timeLimitSeconds * 1000);

    const handle = (deps: IngestDeps) => async (records: SQSRecord[], deadline: number) => {
      const phase = outages.phase(Date.now());
      const batchStarted = Date.now();
      observer.started(records, phase);
      try {
        const result = await processSqsBatch(records, deps, deadline);
        observer.finished(records, result, batchStarted, phase);
        return result;
      } catch (error) {
        observer.finished(records, undefined, batchStarted, phase);
        throw error;
      }
    };
    const instance = async (queue: SoakQueue): Promise<void> => {
      while (!controller.signal.aborted) {
        let deps: IngestDeps | undefined;
        try {
          coldStarts++;
          deps = await createIngestDeps(config, logger, tally, {
            retrySeconds: schedule.retrySeconds,
            clients: ingestClients,
          });
          await pollQueue(
            queue.sqs,
            handle(deps),
            {
              queueUrl: queue.url,
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
          await sleep(500);
        } finally {
          deps?.sink.close();
        }
      }
    };

    /**
     * Delivers the messages as CloudTrail (and, on a hub, SNS) would, continuously: writes the objects a message
     * names, then sends it to its queue, keeping at most maxBacklog messages waiting or in process (those hidden
     * for their backoff not counted) and at most maxQueued in all.
     */
    let sent = 0;
    const producer = async (): Promise<void> => {
      while (!controller.signal.aborted && sent < planned.length) {
        const counts = await backlog(world);
        const held = counts.visible + counts.inFlight;
        const room = Math.min(100, options.maxBacklog - (held - observer.hidden(Date.now())), options.maxQueued - held);
        if (room < 20 && sent > 0) {
          await sleep(250);
          continue;
        }
        const next = planned.slice(sent, sent + Math.max(room, 20));
        for (const tenant of world.tenants) {
          const own = next.filter((message) => message.tenant === tenant.accountId);
          if (own.length === 0) continue;
          await upload(tenant.s3, tenant.bucket, own);
          const queue = world.queueOf(tenant.accountId);
          await sendMessages(queue.sqs, queue.url, own);
        }
        sent += next.length;
      }
    };

    /** Reports progress, starts the outages, and stops everything once every message is done. */
    const monitor = async (): Promise<boolean> => {
      let quiet = 0;
      let lastReport = 0;
      while (!controller.signal.aborted) {
        await sleep(500);
        const now = Date.now();
        const outage = outages.maybeStart(now, drainStarted, observer.acknowledged, options.messages);
        if (outage) {
          const seconds = (outage.endsAt - outage.startedAt) / 1000;
          progress(options, `downstream outage (${outage.kind}): every request answered 500 for ${seconds} s`);
        }
        const counts = await backlog(world);
        if (now - lastReport >= 10_000) {
          lastReport = now;
          const down = outages.active(now) ? ' [downstream down]' : '';
          progress(
            options,
            `${Math.round((now - drainStarted) / 1000)} s${down}: ${sent} sent, ${observer.acknowledged} acknowledged, ` +
              `${counts.visible} visible, ${counts.inFlight} in flight (${observer.hidden(now)} backing off), ` +
              `${receiver.uniqueRecords} records downstream, max receive count ${observer.maxReceiveCount}, ` +
              `${tally.get('DownstreamBreakerOpened')} breaker openings`,
          );
        }
        const pendingLong = outages.plannedLong && (outages.long === undefined || now < outages.long.endsAt);
        quiet = sent === planned.length && counts.visible + counts.inFlight === 0 && !pendingLong ? quiet + 1 : 0;
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
      ...Array.from({ length: options.pollers }, (_, index) =>
        instance(world.activeQueues[index % world.activeQueues.length]!),
      ),
    ]);
    clearTimeout(timeLimit);
    const drainSeconds = (Date.now() - drainStarted) / 1000;
    progress(
      options,
      `${drained ? 'queues drained' : 'time limit reached'} after ${drainSeconds.toFixed(1)} s; reading the DLQs`,
    );
    process.env.AWS_ENDPOINT_URL = endpoint;

    const deadLetters: (DeadLetter & { queue: string })[] = [];
    for (const queue of world.queues) {
      for (const letter of await readDeadLetters(queue.sqs, queue.dlqUrl))
        deadLetters.push({ ...letter, queue: queue.name });
    }
    const left = await backlog(world);
    const ledgerItems = await readLedger(awsClients.dynamoDocument({ region: REGION, endpoint }), world.ledgerTable);
    return buildReport({
      options,
      schedule,
      world,
      planned,
      receiver,
      proxy,
      observer,
      outages,
      tally,
      logger,
      deadLetters,
      ledgerItems,
      ledgerWrites: ledgerWrites.counts,
      left,
      drained,
      started,
      drainStarted,
      setupSeconds,
      coldStarts,
      pollerErrors,
    });
  } finally {
    process.env = savedEnv;
    await receiver.stop();
    await proxy?.stop();
    startedMoto = undefined; // a normal stop: no "moto_server exited" message
    await moto?.stop();
  }
}
