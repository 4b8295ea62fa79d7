/**
 * The reliability soak: thousands of SQS messages through the `ingest --queue-url` code path (pollQueue +
 * processSqsBatch, in process, with Lambda's partial-batch semantics) while the downstream, S3 and STS fail at
 * random, against moto with a real queue (short visibility timeout, redrive to a DLQ after maxReceiveCount).
 * At the end it counts what matters: every generated record reached the downstream at least once (unique
 * eventIDs), the DLQ holds exactly the poison messages planted, and how many duplicates there were.
 *
 *   npm run soak                          # 10,000 messages (about 4-6 minutes here)
 *   npm run soak -- --messages 1000       # smaller
 *   npm run soak -- --help
 *
 * Prints a table on stdout, progress on stderr, writes the full report to bench/out/soak-<messages>.json and
 * exits 0 only if nothing was lost and the DLQ holds exactly the planted poison. Loopback traffic only.
 */
import { DeleteObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { AssumeRoleCommand } from '@aws-sdk/client-sts';
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { generateRecords, logFileBody, logFileKey, seededRandom } from '../../testkit/cloudtrail-generator';
import {
  cloudTrailNotification,
  createChain,
  createRegistryTable,
  eventBridgeObjectCreated,
  s3EventNotification,
  snsEnvelope,
  type DemoChain,
} from '../../testkit/demo-chain';
import { DownstreamReceiver, randomFaultPolicy, type Fault, type FaultRates } from '../../testkit/downstream-receiver';
import { resetMoto, startMoto, type MotoServer } from '../../testkit/emulator';
import { formatTable } from '../../bin/commands/output';
import { loadIngestConfig } from '../../lambdas/ingest/config';
import type { HttpSink } from '../../lambdas/ingest/http-sink';
import { processSqsBatch, type BatchResult, type IngestDeps } from '../../lambdas/ingest/ingest-batch';
import { pollQueue, type PollTotals } from '../../lambdas/ingest/queue-poller';
import { CountTally, createIngestDeps } from '../../lambdas/ingest/runtime';
import { awsClients } from '../../lambdas/shared/aws-clients';
import { mapSettled } from '../../lambdas/shared/concurrency';
import { errorMessage } from '../../lambdas/shared/errors';
import type { LogAttributes, LoggerLike } from '../../lambdas/shared/logger';
import { AccountsRegistry } from '../../lambdas/shared/registry';
import { AwsFaultProxy, type AwsFault, type AwsRequestInfo } from '../../testkit/aws-fault-proxy';

const REGION = 'us-east-1';
const TENANT = '111122223333';
const FOREIGN_ACCOUNT = '999988887777';
const TABLE = 'soak-accounts';
const TOKEN = 'soak-token-5c1d0e7a';

export interface SoakOptions {
  messages: number;
  seed: number;
  /** Concurrent "Lambda instances", each polling the queue. */
  pollers: number;
  visibilitySeconds: number;
  maxReceiveCount: number;
  /** Plays the Lambda timeout: the deadline handed to processSqsBatch for each batch. */
  batchTimeoutMs: number;
  downstreamTimeoutMs: number;
  /** An instance is replaced (a cold start: new credential cache, new sink) after this many batches. */
  recycleEveryBatches: number;
  /** Poison messages planted (default 0.5% of the messages, at least 7: one of each kind). */
  poison?: number;
  /**
   * Messages are delivered as CloudTrail delivers them, continuously: at most this many wait in the queue at a
   * time. (moto's SQS scans every message of a queue on each receive and delete, so a 10,000-message backlog
   * would measure moto, not the collector.)
   */
  maxBacklog: number;
  /** Stops waiting for the queue to drain after this long (the report then says so). */
  timeLimitSeconds: number;
  /** Fault injection on or off (off: a baseline). */
  faults: boolean;
  /** Use this moto instead of starting one (it is reset first). */
  motoEndpoint?: string;
  /** Where the JSON report goes; default bench/out/soak-<messages>.json. */
  out?: string;
  /** No progress lines on stderr. */
  quiet?: boolean;
}

export const DEFAULT_OPTIONS: SoakOptions = {
  messages: 10_000,
  seed: 1,
  pollers: 6,
  visibilitySeconds: 8,
  maxReceiveCount: 5,
  batchTimeoutMs: 4_000,
  downstreamTimeoutMs: 800,
  recycleEveryBatches: 15,
  maxBacklog: 400,
  timeLimitSeconds: 540,
  faults: true,
};

/** Per-request fault probabilities (the downstream's at most one per request). */
export const FAULT_RATES = {
  downstream: {
    status500: 0.03,
    status429: 0.02,
    status413: 0.01,
    reset: 0.01,
    hang: 0.005,
    acceptThenReset: 0.01,
    retryAfter: '1',
  } satisfies FaultRates,
  /** Two downstream outages (every request answered 500), started when 25% and 60% of the messages are done. */
  outageMs: 3_000,
  outagesAt: [0.25, 0.6],
  s3SlowDown: 0.03,
  s3CutBody: 0.005,
  stsThrottling: 0.3,
};

type Shape = 'sns-cloudtrail' | 'raw-cloudtrail' | 's3-event' | 's3-event-sns' | 'eventbridge' | 'eventbridge-sns';
const SHAPES: [Shape, number][] = [
  ['sns-cloudtrail', 0.55],
  ['raw-cloudtrail', 0.1],
  ['s3-event', 0.1],
  ['s3-event-sns', 0.05],
  ['eventbridge', 0.15],
  ['eventbridge-sns', 0.05],
];
const POISON_KINDS = [
  'not-json',
  'unknown-shape',
  'foreign-account-key',
  's3-event-v3',
  'nested-sns',
  'truncated-gzip-object',
  'malformed-json-object',
] as const;
type PoisonKind = (typeof POISON_KINDS)[number];

interface PlannedMessage {
  index: number;
  kind: 'file' | 'large-file' | 'multi-key' | 'ignored' | 'not-read' | 'deleted-object' | 'poison';
  detail: string;
  body: string;
  /** Objects to upload before the message is sent (bodies made on upload, so memory stays small). */
  objects: { key: string; make: () => Buffer }[];
  /** eventIDs that must reach the downstream (filled in as the objects are made). */
  eventIds: string[];
  /** Objects deleted after they were announced and before the ingest reads them. */
  deleteBeforeRead?: string[];
  messageId?: string;
}

function pickWeighted<T>(random: () => number, table: [T, number][]): T {
  let roll = random();
  for (const [value, weight] of table) {
    if (roll < weight) return value;
    roll -= weight;
  }
  return table[table.length - 1]![0];
}

function bodyFor(shape: Shape, bucket: string, key: string, topicArn: string): string {
  switch (shape) {
    case 'sns-cloudtrail':
      return snsEnvelope(cloudTrailNotification(bucket, [key]), topicArn);
    case 'raw-cloudtrail':
      return cloudTrailNotification(bucket, [key]);
    case 's3-event':
      return s3EventNotification(bucket, key);
    case 's3-event-sns':
      return snsEnvelope(s3EventNotification(bucket, key), topicArn);
    case 'eventbridge':
      return eventBridgeObjectCreated(bucket, key);
    case 'eventbridge-sns':
      return snsEnvelope(eventBridgeObjectCreated(bucket, key), topicArn);
  }
}

/** The whole workload, deterministic for a seed: message bodies, the objects they name, the records expected. */
export function planMessages(options: SoakOptions, chain: DemoChain): PlannedMessage[] {
  const random = seededRandom(options.seed);
  const poisonCount = options.poison ?? Math.max(POISON_KINDS.length, Math.round(options.messages * 0.005));
  const poisonAt = new Set<number>();
  while (poisonAt.size < Math.min(poisonCount, options.messages)) poisonAt.add(Math.floor(random() * options.messages));
  const start = Date.UTC(2026, 10, 1);
  let fileSeed = options.seed * 1_000_003;
  let poisonIndex = 0;

  /** A log file, generated only when it is uploaded; its eventIDs then go to `into`. */
  const logFile = (index: number, part: number, records: number, into: string[]) => {
    fileSeed += 1;
    const seed = fileSeed;
    const time = new Date(start + index * 60_000);
    const key = logFileKey({ accountId: TENANT, region: REGION, time, unique: `soak${options.seed}-${index}-${part}` });
    const make = () => {
      const generated = generateRecords(records, { accountId: TENANT, region: REGION, seed, start: time });
      into.push(...generated.map((record) => record.eventID as string));
      return logFileBody(generated);
    };
    return { key, make };
  };

  const messages: PlannedMessage[] = [];
  for (let index = 0; index < options.messages; index++) {
    if (poisonAt.has(index)) {
      const what: PoisonKind = POISON_KINDS[poisonIndex++ % POISON_KINDS.length]!;
      const marker = `soak-poison-${index}`;
      let body: string;
      const objects: { key: string; make: () => Buffer }[] = [];
      switch (what) {
        case 'not-json':
          body = `not a notification: ${marker}`;
          break;
        case 'unknown-shape':
          body = JSON.stringify({ hello: marker });
          break;
        case 'foreign-account-key': {
          const key = logFileKey({ accountId: FOREIGN_ACCOUNT, region: REGION, time: new Date(start), unique: marker });
          body = snsEnvelope(cloudTrailNotification(chain.bucket, [key]), chain.topicArn);
          break;
        }
        case 's3-event-v3':
          body = s3EventNotification(chain.bucket, `AWSLogs/${TENANT}/${marker}.json.gz`).replace(
            '"eventVersion":"2.1"',
            '"eventVersion":"3.0"',
          );
          break;
        case 'nested-sns':
          body = snsEnvelope(snsEnvelope(cloudTrailNotification(chain.bucket, [marker])));
          break;
        case 'truncated-gzip-object':
        case 'malformed-json-object': {
          // Records before the failure point may reach the downstream (their IDs start with the marker).
          const records = Array.from({ length: 30 }, (_, n) => ({ eventID: `${marker}-${n}`, eventName: 'Poison' }));
          const text = JSON.stringify({ Records: records });
          const key = logFileKey({ accountId: TENANT, region: REGION, time: new Date(start), unique: marker });
          const gz = gzipSync(text);
          const object =
            what === 'truncated-gzip-object'
              ? gz.subarray(0, Math.floor(gz.length * 0.6))
              : gzipSync(`${text.slice(0, Math.floor(text.length * 0.6))}}}garbage`);
          objects.push({ key, make: () => object });
          body = snsEnvelope(cloudTrailNotification(chain.bucket, [key]), chain.topicArn);
          break;
        }
      }
      messages.push({ index, kind: 'poison', detail: what, body, objects, eventIds: [] });
      continue;
    }

    const roll = random();
    if (roll < 0.02) {
      const what = pickWeighted<string>(random, [
        ['s3:TestEvent', 0.3],
        ['validation message', 0.2],
        ['subscription confirmation', 0.2],
        ['ObjectRemoved event', 0.3],
      ]);
      const key = logFileKey({ accountId: TENANT, region: REGION, time: new Date(start), unique: `removed-${index}` });
      const body =
        what === 's3:TestEvent'
          ? JSON.stringify({
              Service: 'Amazon S3',
              Event: 's3:TestEvent',
              Bucket: chain.bucket,
              RequestId: `r${index}`,
            })
          : what === 'validation message'
            ? snsEnvelope('CloudTrail validation message.', chain.topicArn)
            : what === 'subscription confirmation'
              ? JSON.stringify({
                  Type: 'SubscriptionConfirmation',
                  TopicArn: chain.topicArn,
                  Message: `m${index}`,
                  Token: 't',
                })
              : s3EventNotification(chain.bucket, key, 'ObjectRemoved:Delete');
      messages.push({ index, kind: 'ignored', detail: what, body, objects: [], eventIds: [] });
    } else if (roll < 0.035) {
      const digest = random() < 0.5;
      const key = digest
        ? logFileKey({ accountId: TENANT, region: REGION, time: new Date(start), unique: `digest-${index}` }).replace(
            '/CloudTrail/',
            '/CloudTrail-Digest/',
          )
        : `exports/report-${index}.csv`;
      messages.push({
        index,
        kind: 'not-read',
        detail: digest ? 'digest key' : 'other key',
        body: snsEnvelope(cloudTrailNotification(chain.bucket, [key]), chain.topicArn),
        objects: [],
        eventIds: [],
      });
    } else if (roll < 0.04) {
      const file = logFile(index, 0, 10, []); // its records can never arrive: not expected
      messages.push({
        index,
        kind: 'deleted-object',
        detail: 'object deleted before it was read',
        body: snsEnvelope(cloudTrailNotification(chain.bucket, [file.key]), chain.topicArn),
        objects: [file],
        eventIds: [],
        deleteBeforeRead: [file.key],
      });
    } else if (roll < 0.12) {
      const eventIds: string[] = [];
      const files = Array.from({ length: 2 + Math.floor(random() * 3) }, (_, part) =>
        logFile(index, part, 5 + Math.floor(random() * 30), eventIds),
      );
      messages.push({
        index,
        kind: 'multi-key',
        detail: `${files.length} keys`,
        body: snsEnvelope(
          cloudTrailNotification(
            chain.bucket,
            files.map((file) => file.key),
          ),
          chain.topicArn,
        ),
        objects: files,
        eventIds,
      });
    } else {
      const large = roll > 0.997;
      const eventIds: string[] = [];
      const file = logFile(
        index,
        0,
        large ? 1_000 + Math.floor(random() * 2_000) : 5 + Math.floor(random() * 36),
        eventIds,
      );
      const shape = pickWeighted(random, SHAPES);
      messages.push({
        index,
        kind: large ? 'large-file' : 'file',
        detail: shape,
        body: bodyFor(shape, chain.bucket, file.key, chain.topicArn),
        objects: [file],
        eventIds,
      });
    }
  }
  return messages;
}

/** Counts log lines by message and keeps a few examples of each warning and error. */
class TallyLogger implements LoggerLike {
  readonly counts = new Map<string, number>();
  readonly samples = new Map<string, string[]>();
  debug(): void {}
  info(message: string): void {
    this.bump(`INFO ${message}`);
  }
  warn(message: string, ...extra: LogAttributes[]): void {
    this.keep(`WARN ${message}`, extra);
  }
  error(message: string, ...extra: LogAttributes[]): void {
    this.keep(`ERROR ${message}`, extra);
  }
  private bump(key: string): void {
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }
  private keep(key: string, extra: LogAttributes[]): void {
    this.bump(key);
    const samples = this.samples.get(key) ?? [];
    if (samples.length < 3) {
      const attributes = Object.assign({}, ...extra) as Record<string, unknown>;
      const error = attributes.error;
      samples.push((typeof error === 'string' ? error : JSON.stringify(attributes)).slice(0, 300));
      this.samples.set(key, samples);
    }
  }
}

export interface SoakReport {
  options: SoakOptions;
  faultRates: typeof FAULT_RATES | null;
  startedAt: string;
  seconds: { setup: number; drain: number; total: number };
  drained: boolean;
  messages: {
    sent: number;
    byKind: Record<string, number>;
    poisonPlanted: number;
    poisonByKind: Record<string, number>;
  };
  records: {
    generated: number;
    receivedUnique: number;
    lost: number;
    lostSample: string[];
    unexpected: number;
    fromPoisonObjects: number;
  };
  dlq: {
    messages: number;
    poisonFound: number;
    poisonMissing: string[];
    unexpected: { messageId: string; body: string }[];
  };
  duplicates: {
    recordsAcceptedTwice: number;
    recordsAcceptedTwiceByCause: Record<string, number>;
    batchesDroppedByKey: number;
    recordsInDroppedBatches: number;
  };
  faults: {
    downstream: Record<string, number>;
    downstreamOutages: number;
    downstreamRequestsDuringOutages: number;
    aws: Record<string, number>;
    total: number;
  };
  traffic: {
    downstreamRequests: number;
    downstreamBatchesAccepted: number;
    s3GetObject: number;
    stsAssumeRole: number;
  };
  polling: PollTotals & {
    coldStarts: number;
    pollerErrors: number;
    messagesReceivedMoreThanOnce: number;
    /** Processed to the end twice: redelivered (visibility timeout) while a first delivery was still running. */
    messagesAcknowledgedTwice: number;
    /** Received by a second poller while a first was still processing it (SQS delivers at least once). */
    messagesDeliveredConcurrently: number;
    /** How long processSqsBatch took; `overDeadline`: batches that ran past batchTimeoutMs. */
    batchSeconds: { median: number; p99: number; max: number; overDeadline: number };
  };
  counts: Record<string, number>;
  logs: Record<string, number>;
  logSamples: Record<string, string[]>;
  ok: boolean;
  problems: string[];
}

function progress(options: SoakOptions, text: string): void {
  if (!options.quiet) process.stderr.write(`[soak] ${text}\n`);
}

async function customerCredentials(accountId: string) {
  const assumed = await awsClients.sts({ region: REGION }).send(
    new AssumeRoleCommand({
      RoleArn: `arn:aws:iam::${accountId}:role/CloudTrailCollectorRole`,
      RoleSessionName: 'soak-setup',
      ExternalId: `ext-${accountId}`,
    }),
  );
  const c = assumed.Credentials!;
  return { accessKeyId: c.AccessKeyId!, secretAccessKey: c.SecretAccessKey!, sessionToken: c.SessionToken! };
}

async function queueCounts(sqs: SQSClient, queueUrl: string): Promise<{ visible: number; inFlight: number }> {
  const attributes = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return {
    visible: Number(attributes.Attributes?.ApproximateNumberOfMessages ?? 0),
    inFlight: Number(attributes.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0),
  };
}

/** Uploads the objects of these messages (then deletes those to be deleted before they are read). */
async function upload(s3: S3Client, bucket: string, messages: PlannedMessage[]): Promise<void> {
  const objects = messages.flatMap((message) => message.objects);
  const settled = await mapSettled(objects, 8, (object) =>
    s3.send(new PutObjectCommand({ Bucket: bucket, Key: object.key, Body: object.make() })),
  );
  const failed = settled.filter((result) => result.status === 'rejected');
  if (failed.length > 0) throw new Error(`${failed.length} uploads failed: ${errorMessage(failed[0]!.reason)}`);
  // Deleted now, announced next: from the reader's side, deleted between notification and read.
  for (const key of messages.flatMap((message) => message.deleteBeforeRead ?? [])) {
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
  }
  for (const message of messages) message.objects = [];
}

async function sendMessages(sqs: SQSClient, queueUrl: string, messages: PlannedMessage[]): Promise<void> {
  const chunks: PlannedMessage[][] = [];
  for (let at = 0; at < messages.length; at += 10) chunks.push(messages.slice(at, at + 10));
  const settled = await mapSettled(chunks, 4, async (chunk) => {
    const sent = await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: chunk.map((message) => ({ Id: String(message.index), MessageBody: message.body })),
      }),
    );
    if (sent.Failed?.length) throw new Error(`SendMessageBatch failed: ${JSON.stringify(sent.Failed[0])}`);
    for (const entry of sent.Successful ?? []) {
      const message = chunk.find((m) => String(m.index) === entry.Id);
      if (message) message.messageId = entry.MessageId;
    }
  });
  const failed = settled.find((result) => result.status === 'rejected');
  if (failed?.status === 'rejected') throw failed.reason;
}

async function drainDlq(sqs: SQSClient, dlqUrl: string): Promise<{ messageId: string; body: string }[]> {
  const found = new Map<string, string>();
  let empty = 0;
  for (let round = 0; round < 10_000 && empty < 3; round++) {
    const received = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: dlqUrl,
        MaxNumberOfMessages: 10,
        VisibilityTimeout: 900,
        WaitTimeSeconds: 0,
      }),
    );
    const messages = received.Messages ?? [];
    if (messages.length === 0) empty++;
    for (const message of messages) found.set(message.MessageId ?? '', message.Body ?? '');
  }
  return [...found].map(([messageId, body]) => ({ messageId, body }));
}

/** The emulator this process started, stopped on Ctrl-C too. */
let startedMoto: MotoServer | undefined;

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
    await createRegistryTable(new DynamoDBClient({ region: REGION, endpoint }), TABLE);
    const registry = new AccountsRegistry(awsClients.dynamoDocument({ region: REGION }), TABLE);
    await registry.add({
      accountId: TENANT,
      externalId: `ext-${TENANT}`,
      mode: 'apply',
      logArchiveFor: [],
      registeredAt: new Date().toISOString(),
      status: 'new',
    });
    const credentials = await customerCredentials(TENANT);
    const s3 = awsClients.s3({ region: REGION, credentials });
    const sqs = awsClients.sqs({ region: REGION, credentials });
    const sns = awsClients.sns({ region: REGION, credentials });
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
          (deps?.sink as HttpSink | undefined)?.close?.();
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
    const dlq = await drainDlq(sqs, chain.dlqUrl);
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

function batchStats(ms: number[], timeoutMs: number): SoakReport['polling']['batchSeconds'] {
  const sorted = [...ms].sort((a, b) => a - b);
  const at = (q: number) => round((sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0) / 1000);
  return { median: at(0.5), p99: at(0.99), max: at(1), overDeadline: ms.filter((value) => value > timeoutMs).length };
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}

function sumValues(map: Map<string, number>): number {
  let total = 0;
  for (const value of map.values()) total += value;
  return total;
}

export function formatReport(report: SoakReport): string {
  const kinds = (record: Record<string, number>) =>
    Object.entries(record)
      .map(([kind, count]) => `${kind} ${count}`)
      .join(', ') || 'none';
  const rows: string[][] = [
    ['messages sent', String(report.messages.sent), kinds(report.messages.byKind)],
    ['poison planted', String(report.messages.poisonPlanted), kinds(report.messages.poisonByKind)],
    [
      'faults injected',
      String(report.faults.total),
      `downstream: ${kinds(report.faults.downstream)}; aws: ${kinds(report.faults.aws)}`,
    ],
    [
      'downstream outages',
      String(report.faults.downstreamOutages),
      `${report.faults.downstreamRequestsDuringOutages} requests answered 500 during them`,
    ],
    ['records generated', String(report.records.generated), 'eventIDs that must arrive'],
    [
      'records received (unique)',
      String(report.records.receivedUnique - report.records.fromPoisonObjects),
      `plus ${report.records.fromPoisonObjects} from planted poison objects, sent before their failure point`,
    ],
    ['records lost', String(report.records.lost), report.records.lostSample.join(', ')],
    ['unexpected records', String(report.records.unexpected), 'records nobody generated'],
    [
      'DLQ messages',
      String(report.dlq.messages),
      `${report.dlq.poisonFound} planted poison, ${report.dlq.unexpected.length} others`,
    ],
    ['poison not in the DLQ', String(report.dlq.poisonMissing.length), report.dlq.poisonMissing.slice(0, 5).join(', ')],
    [
      'records accepted twice',
      String(report.duplicates.recordsAcceptedTwice),
      kinds(report.duplicates.recordsAcceptedTwiceByCause),
    ],
    [
      'batches dropped by key',
      String(report.duplicates.batchesDroppedByKey),
      `${report.duplicates.recordsInDroppedBatches} records resent and dropped downstream`,
    ],
    [
      'messages received',
      String(report.polling.received),
      `${report.polling.messagesReceivedMoreThanOnce} messages more than once; ${report.polling.deleted} acknowledged, ${report.polling.failed} failed attempts`,
    ],
    [
      'batch duration (s)',
      `${report.polling.batchSeconds.median} / ${report.polling.batchSeconds.p99} / ${report.polling.batchSeconds.max}`,
      `median / p99 / max; ${report.polling.batchSeconds.overDeadline} batches ran past the ${report.options.batchTimeoutMs} ms deadline, ` +
        `${report.polling.messagesAcknowledgedTwice} messages were processed to the end twice ` +
        `(${report.polling.messagesDeliveredConcurrently} handed to two pollers at once)`,
    ],
    [
      'lambda instances',
      String(report.polling.coldStarts),
      `${report.options.pollers} at a time, ${report.polling.batches} batches, ${report.polling.pollerErrors} poller errors`,
    ],
    [
      'downstream requests',
      String(report.traffic.downstreamRequests),
      `${report.traffic.downstreamBatchesAccepted} batches accepted`,
    ],
    [
      'S3 GetObject / STS AssumeRole',
      `${report.traffic.s3GetObject} / ${report.traffic.stsAssumeRole}`,
      'requests, retries included',
    ],
    ['seconds', String(report.seconds.total), `set-up ${report.seconds.setup}, drain ${report.seconds.drain}`],
    ['verdict', report.ok ? 'OK' : 'FAILED', report.problems.join('; ') || 'nothing lost, DLQ = planted poison'],
  ];
  return formatTable(['', 'value', 'detail'], rows);
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      messages: { type: 'string' },
      seed: { type: 'string' },
      pollers: { type: 'string' },
      'visibility-seconds': { type: 'string' },
      'max-receive-count': { type: 'string' },
      'batch-timeout-ms': { type: 'string' },
      'time-limit-seconds': { type: 'string' },
      'max-backlog': { type: 'string' },
      poison: { type: 'string' },
      'no-faults': { type: 'boolean' },
      out: { type: 'string' },
      quiet: { type: 'boolean' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    process.stdout.write(
      'npm run soak -- [--messages 10000] [--seed 1] [--pollers 6] [--visibility-seconds 8] [--max-receive-count 5]\n' +
        '                [--batch-timeout-ms 4000] [--max-backlog 400] [--time-limit-seconds 540] [--poison N] [--no-faults]\n' +
        '                [--out FILE] [--quiet]\n',
    );
    return 0;
  }
  const int = (name: string, value: string | undefined, fallback: number, min = 1): number => {
    if (value === undefined) return fallback;
    if (!/^\d+$/.test(value) || Number(value) < min) throw new Error(`--${name} must be a whole number >= ${min}`);
    return Number(value);
  };
  const options: SoakOptions = {
    ...DEFAULT_OPTIONS,
    messages: int('messages', values.messages, DEFAULT_OPTIONS.messages),
    seed: int('seed', values.seed, DEFAULT_OPTIONS.seed, 0),
    pollers: int('pollers', values.pollers, DEFAULT_OPTIONS.pollers),
    visibilitySeconds: int('visibility-seconds', values['visibility-seconds'], DEFAULT_OPTIONS.visibilitySeconds),
    maxReceiveCount: int('max-receive-count', values['max-receive-count'], DEFAULT_OPTIONS.maxReceiveCount),
    batchTimeoutMs: int('batch-timeout-ms', values['batch-timeout-ms'], DEFAULT_OPTIONS.batchTimeoutMs),
    timeLimitSeconds: int('time-limit-seconds', values['time-limit-seconds'], DEFAULT_OPTIONS.timeLimitSeconds),
    maxBacklog: int('max-backlog', values['max-backlog'], DEFAULT_OPTIONS.maxBacklog),
    ...(values.poison !== undefined ? { poison: int('poison', values.poison, 0, 0) } : {}),
    faults: !values['no-faults'],
    ...(values.quiet ? { quiet: true } : {}),
  };
  const report = await runSoak(options);
  const out =
    values.out ??
    path.resolve(__dirname, '..', 'out', `soak-${options.messages}${options.faults ? '' : '-nofaults'}.json`);
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(`${formatReport(report)}\n\nreport: ${path.relative(process.cwd(), out)}\n`);
  return report.ok ? 0 : 1;
}

if (require.main === module) {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      startedMoto?.process.kill('SIGKILL');
      process.exit(130);
    });
  }
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`soak failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exit(2);
    },
  );
}
