/**
 * The collector's deployment settings: `context.cloudtrailCollector` in cdk.json, read and validated once at synth.
 * A bad value fails the synth with a message naming the key (`cloudtrailCollector.ingest.memoryMb: ...`); an
 * unknown key fails too, because a misspelt key silently falling back to its default is the commonest config bug.
 */

import {
  BACKFILL_MAXIMUM_CONCURRENCY,
  INGEST_TOPOLOGIES,
  MAX_HUB_SHARDS,
  type IngestTopology,
} from '../lambdas/shared/topology';

import { loadSinkSettings } from '../lambdas/ingest/sinks/config';
import { invalidIndexName } from '../lambdas/ingest/sinks/elasticsearch-bulk';
import { SINK_TYPES, type ElasticsearchAuth, type SinkType } from '../lambdas/ingest/sinks';

export const CONFIG_CONTEXT_KEY = 'cloudtrailCollector';

/**
 * Lambda's range for an SQS event source mapping's ScalingConfig.MaximumConcurrency (Lambda API Reference,
 * "ScalingConfig"; Lambda Developer Guide, "Configuring maximum concurrency for Amazon SQS event sources").
 */
export const MAXIMUM_CONCURRENCY_RANGE = { min: 2, max: 1000 } as const;

export interface IngestFilters {
  /** Records whose eventSource is in this list are dropped (FILTER_DROP_EVENT_SOURCES). */
  dropEventSources: string[];
  /** Records whose eventName is in this list are dropped (FILTER_DROP_EVENT_NAMES). */
  dropEventNames: string[];
  /** Drop records with readOnly: true (FILTER_DROP_READ_ONLY). */
  dropReadOnly: boolean;
}

/**
 * Where ingest sends the records (docs/sinks.md): `cloudtrailCollector.sink`, rendered into the ingest function's
 * SINK_TYPE, HEC_*, ELASTICSEARCH_* and FIREHOSE_STREAM_NAME (sinkEnvironment). Secrets only by ARN
 * (`downstreamTokenSecretArn`).
 */
export interface SinkDeployment {
  type: SinkType;
  hec?: { index?: string; host?: string; ack: boolean; ackTimeoutMs?: number };
  elasticsearch?: { index?: string; dataStream?: string; auth: ElasticsearchAuth };
  /** The stream, in the collector's account and region: the only one ingest may put records into. */
  firehose?: { streamName: string };
  /**
   * The syslog sink's settings (SYSLOG_*: docs/sinks.md, "syslog and RELP"). The TLS material by Secrets Manager
   * ARN only (the function may read exactly these); `hostname` defaults to `cloudtrail-collector` (a Lambda's own
   * hostname names nothing an operator knows).
   */
  syslog?: {
    hostname: string;
    appName?: string;
    maxMessageBytes?: number;
    tlsCaSecretArn?: string;
    tlsCertSecretArn?: string;
    tlsKeySecretArn?: string;
    tlsServername?: string;
  };
}

export interface CollectorConfig {
  /**
   * The sink's endpoint (docs/sinks.md): the intake URL, the HEC base URL or the cluster URL (https only once
   * deployed: the token travels with every request), or for syslog `relp+tls://` or `syslog+tls://`. Not used by
   * the firehose sink.
   */
  downstreamUrl: string;
  sink: SinkDeployment;
  /**
   * Secrets Manager ARN of the downstream bearer token. Omitted: the stack creates an empty-valued secret
   * (`cloudtrail-collector/downstream-token`) for the operator to fill in; either way the function only gets the ARN.
   */
  downstreamTokenSecretArn?: string;
  /** Retention of every log group the stack creates, in days (one of CloudWatch Logs' allowed values). */
  logRetentionDays: number;
  ingest: {
    memoryMb: number;
    timeoutSeconds: number;
    /**
     * Caps the ingest function's concurrency across every event source mapping (and reserves it). At least the sum
     * of the mappings' maximumConcurrency, or Lambda throttles their batches (checked at synth for the hub).
     */
    reservedConcurrency: number;
    /** How announced log files reach ingest (docs/stacks.md, "Ingest topologies"). */
    topology: IngestTopology;
    /** The hub queues (shards) the stack creates, each with its DLQ and mapping; `hub` only. */
    hubShards: number;
    /** MaximumConcurrency of every SQS event source mapping: each hub queue's, and each customer queue's. */
    maximumConcurrency: number;
    filters: IngestFilters;
  };
  reconcile: {
    /** EventBridge schedule expression: `rate(...)` or `cron(...)`. */
    schedule: string;
    /** Accounts reconciled at once by one worker invocation (RECONCILE_CONCURRENCY), and its batch size. */
    concurrency: number;
    memoryMb: number;
    timeoutSeconds: number;
    /** A healthy account is reconciled every this many schedule periods (RECONCILE_HEALTHY_EVERY); others every period. */
    healthyEvery: number;
    /**
     * Worker invocations at once: the job queue mapping's MaximumConcurrency and the worker's reserved concurrency
     * (docs/operations.md, "Sweep and jobs"). Accounts in flight = this x concurrency.
     */
    workerConcurrency: number;
    /** The worker's timeout; the job queue's visibility timeout is 6 x this. */
    workerTimeoutSeconds: number;
  };
  alarms: {
    /** Addresses subscribed to the alarm topic (each confirms by e-mail). */
    emails: string[];
    /** An account is stale when no record of it was ingested for this long. */
    staleAfterMinutes: number;
  };
  ledger: {
    /**
     * Point-in-time recovery of the ledger table (docs/completeness.md, "Sizing and cost"): on by default, since the
     * ledger is the evidence that every file was collected; at 10,000 accounts it costs about as much as the storage.
     * Without it a lost table means the next backfills and `verify` see files as not collected and enqueue them again
     * (the downstream drops them by idempotency key) within BACKFILL_MAX_DAYS.
     */
    pointInTimeRecovery: boolean;
  };
  /**
   * Principals in the collector account (roles or users) allowed to assume the reconcile and ingest roles, so that
   * the command-line tool (`plan`, `apply`, `ingest --queue-url`) can act as them: customer roles trust only those
   * two roles.
   */
  operatorPrincipalArns: string[];
}

export const DEFAULT_CONFIG: CollectorConfig = {
  downstreamUrl: 'https://logs.example.com/intake',
  sink: { type: 'ndjson' },
  logRetentionDays: 90,
  ingest: {
    memoryMb: 1024,
    timeoutSeconds: 300,
    // 8 hub queues x 4 = 32 and the backfill queue's 2, plus room for a customer-queue mapping of 4 while accounts
    // migrate.
    reservedConcurrency: 40,
    topology: 'hub',
    hubShards: 8,
    maximumConcurrency: 4,
    filters: { dropEventSources: [], dropEventNames: [], dropReadOnly: false },
  },
  reconcile: {
    schedule: 'rate(15 minutes)',
    concurrency: 10,
    memoryMb: 512,
    timeoutSeconds: 600,
    healthyEvery: 4,
    workerConcurrency: 10,
    workerTimeoutSeconds: 300,
  },
  alarms: { emails: [], staleAfterMinutes: 360 },
  ledger: { pointInTimeRecovery: true },
  operatorPrincipalArns: [],
};

/** CloudWatch Logs accepts only these retention periods. */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

export class CollectorConfigError extends Error {
  constructor(
    readonly key: string,
    problem: string,
  ) {
    super(`cdk.json context ${key}: ${problem}`);
    this.name = 'CollectorConfigError';
  }
}

type Json = Record<string, unknown>;

const SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[\w/+=.@-]+$/;
const PRINCIPAL_ARN = /^arn:aws[a-z-]*:iam::\d{12}:(role|user)\/[\w+=,.@/-]+$/;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const RATE = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/;
const CRON = /^cron\((\S+ ){5}\S+\)$/;

function describe(value: unknown): string {
  return JSON.stringify(value) ?? String(value);
}

class Reader {
  constructor(private readonly base: string) {}

  key(name: string): string {
    return `${this.base}.${name}`;
  }

  object(value: unknown, key: string, allowed: readonly string[]): Json {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new CollectorConfigError(key, `must be an object, got ${describe(value)}`);
    }
    for (const name of Object.keys(value)) {
      if (!allowed.includes(name)) {
        throw new CollectorConfigError(`${key}.${name}`, `unknown key (known: ${allowed.join(', ')})`);
      }
    }
    return value as Json;
  }

  int(value: unknown, key: string, fallback: number, min: number, max: number): number {
    if (value === undefined) return fallback;
    const number = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
    if (typeof number !== 'number' || !Number.isInteger(number) || number < min || number > max) {
      throw new CollectorConfigError(key, `must be a whole number from ${min} to ${max}, got ${describe(value)}`);
    }
    return number;
  }

  bool(value: unknown, key: string, fallback: boolean): boolean {
    if (value === undefined) return fallback;
    if (typeof value !== 'boolean')
      throw new CollectorConfigError(key, `must be true or false, got ${describe(value)}`);
    return value;
  }

  string(value: unknown, key: string, check?: { pattern: RegExp; expected: string }): string {
    if (typeof value !== 'string' || value.trim() === '') {
      throw new CollectorConfigError(key, `must be a non-empty string, got ${describe(value)}`);
    }
    if (check && !check.pattern.test(value)) {
      throw new CollectorConfigError(key, `must be ${check.expected}, got ${describe(value)}`);
    }
    return value;
  }

  strings(value: unknown, key: string, check?: { pattern: RegExp; expected: string }): string[] {
    if (value === undefined) return [];
    if (!Array.isArray(value)) throw new CollectorConfigError(key, `must be a list of strings, got ${describe(value)}`);
    return value.map((item, index) => this.string(item, `${key}[${index}]`, check));
  }
}

function readTopology(value: unknown, key: string, fallback: IngestTopology): IngestTopology {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !(INGEST_TOPOLOGIES as readonly string[]).includes(value)) {
    throw new CollectorConfigError(key, `must be one of ${INGEST_TOPOLOGIES.join(', ')}, got ${describe(value)}`);
  }
  return value as IngestTopology;
}

/**
 * The concurrency rule. Lambda Developer Guide, "Configuring scaling behavior for SQS event source mappings"
 * (maximum concurrency): reserved concurrency should be at least the sum of the function's SQS mappings'
 * MaximumConcurrency, or Lambda throttles their batches, and a throttled batch returns to its queue and counts as a
 * receive towards maxReceiveCount. Hub: every one of the K mappings is in the stack, so their sum is checked here.
 * customer-queue: one mapping must fit; the reconcile keeps the sum over the accounts' mappings within it at run
 * time (INGEST_CAPACITY_EXCEEDED).
 */
function checkIngestConcurrency(ingest: CollectorConfig['ingest'], ingestKey: string): void {
  const { hubShards, maximumConcurrency, reservedConcurrency, topology } = ingest;
  const reserved = `${ingestKey}.reservedConcurrency`;
  const shards = `${ingestKey}.hubShards`;
  const perMapping = `${ingestKey}.maximumConcurrency`;
  const why =
    'reserved concurrency must be at least the sum of the SQS event source mappings\' MaximumConcurrency, or Lambda throttles their batches towards the DLQs (Lambda Developer Guide, "Configuring scaling behavior for SQS event source mappings")';
  // Hub: the backfill queue's mapping (lib/backfill-queue.construct.ts) counts too.
  const hubSum = hubShards * maximumConcurrency + BACKFILL_MAXIMUM_CONCURRENCY;
  if (topology === 'hub' && hubSum > reservedConcurrency) {
    throw new CollectorConfigError(
      reserved,
      `must be at least ${shards} x ${perMapping} + ${BACKFILL_MAXIMUM_CONCURRENCY} (the backfill queue's mapping) = ${hubShards} x ${maximumConcurrency} + ${BACKFILL_MAXIMUM_CONCURRENCY} = ${hubSum}, got ${reservedConcurrency}: ${why}. Raise ${reserved} or lower ${shards} or ${perMapping}`,
    );
  }
  if (topology === 'customer-queue' && maximumConcurrency > reservedConcurrency) {
    throw new CollectorConfigError(
      reserved,
      `must be at least ${perMapping} (${maximumConcurrency}) so that one customer queue's mapping fits, got ${reservedConcurrency}: ${why}`,
    );
  }
}

/** `rate(15 minutes)` in seconds; undefined for cron expressions. */
export function ratePeriodSeconds(schedule: string): number | undefined {
  const match = RATE.exec(schedule);
  if (!match) return undefined;
  const amount = Number(match[1]);
  const unit = match[2]!.replace(/s$/, '');
  return amount * (unit === 'minute' ? 60 : unit === 'hour' ? 3600 : 86400);
}

/**
 * Validates the raw context value (an object from cdk.json, or a JSON string from `cdk synth -c`), filling in
 * defaults. Throws CollectorConfigError naming the first bad key.
 */
export function parseCollectorConfig(raw: unknown): CollectorConfig {
  const root = CONFIG_CONTEXT_KEY;
  const r = new Reader(root);
  let input: unknown = raw ?? {};
  if (typeof input === 'string') {
    try {
      input = JSON.parse(input) as unknown;
    } catch {
      throw new CollectorConfigError(root, `must be an object (or its JSON), got ${describe(raw)}`);
    }
  }
  const top = r.object(input, root, [
    'downstreamUrl',
    'sink',
    'downstreamTokenSecretArn',
    'logRetentionDays',
    'ingest',
    'reconcile',
    'alarms',
    'ledger',
    'operatorPrincipalArns',
  ]);
  const d = DEFAULT_CONFIG;

  const downstreamUrl =
    top.downstreamUrl === undefined ? d.downstreamUrl : r.string(top.downstreamUrl, r.key('downstreamUrl'));
  let url: URL;
  try {
    url = new URL(downstreamUrl);
  } catch {
    throw new CollectorConfigError(r.key('downstreamUrl'), `must be a URL, got ${describe(downstreamUrl)}`);
  }
  const sink = readSink(r, top.sink);
  if (sink.type === 'syslog') {
    if (url.protocol !== 'relp+tls:' && url.protocol !== 'syslog+tls:') {
      throw new CollectorConfigError(
        r.key('downstreamUrl'),
        `must use relp+tls: or syslog+tls: with sink.type syslog (CloudTrail records never travel in clear once deployed), got ${describe(downstreamUrl)}`,
      );
    }
  } else if (sink.type !== 'firehose' && url.protocol !== 'https:') {
    throw new CollectorConfigError(
      r.key('downstreamUrl'),
      `must use https: (the token is sent with every batch), got ${describe(downstreamUrl)}`,
    );
  }
  if (sink.type === 'splunk-hec' && url.pathname !== '/') {
    throw new CollectorConfigError(
      r.key('downstreamUrl'),
      `must be the HEC base URL (https://host:8088) with sink.type splunk-hec: the sink adds /services/collector/event; got ${describe(downstreamUrl)}`,
    );
  }

  const downstreamTokenSecretArn =
    top.downstreamTokenSecretArn === undefined || top.downstreamTokenSecretArn === null
      ? undefined
      : r.string(top.downstreamTokenSecretArn, r.key('downstreamTokenSecretArn'), {
          pattern: SECRET_ARN,
          expected: 'a Secrets Manager secret ARN (arn:aws:secretsmanager:<region>:<account>:secret:<name>)',
        });

  const logRetentionDays = r.int(top.logRetentionDays, r.key('logRetentionDays'), d.logRetentionDays, 1, 3653);
  if (!(LOG_RETENTION_DAYS as readonly number[]).includes(logRetentionDays)) {
    throw new CollectorConfigError(
      r.key('logRetentionDays'),
      `must be one of ${LOG_RETENTION_DAYS.join(', ')} (CloudWatch Logs retention periods), got ${logRetentionDays}`,
    );
  }

  const ingestKey = r.key('ingest');
  const ingestRaw = r.object(top.ingest ?? {}, ingestKey, [
    'memoryMb',
    'timeoutSeconds',
    'reservedConcurrency',
    'topology',
    'hubShards',
    'maximumConcurrency',
    'filters',
  ]);
  const filtersKey = `${ingestKey}.filters`;
  const filtersRaw = r.object(ingestRaw.filters ?? {}, filtersKey, [
    'dropEventSources',
    'dropEventNames',
    'dropReadOnly',
  ]);
  const commaFree = { pattern: /^[^,\s]+$/, expected: 'a single value without commas or spaces' };
  const ingest: CollectorConfig['ingest'] = {
    memoryMb: r.int(ingestRaw.memoryMb, `${ingestKey}.memoryMb`, d.ingest.memoryMb, 128, 10240),
    // At least 30 s: the handler stops starting downstream attempts DEADLINE_MARGIN_MS (5 s) before the deadline.
    timeoutSeconds: r.int(ingestRaw.timeoutSeconds, `${ingestKey}.timeoutSeconds`, d.ingest.timeoutSeconds, 30, 900),
    reservedConcurrency: r.int(
      ingestRaw.reservedConcurrency,
      `${ingestKey}.reservedConcurrency`,
      d.ingest.reservedConcurrency,
      1,
      10000,
    ),
    topology: readTopology(ingestRaw.topology, `${ingestKey}.topology`, d.ingest.topology),
    hubShards: r.int(ingestRaw.hubShards, `${ingestKey}.hubShards`, d.ingest.hubShards, 1, MAX_HUB_SHARDS),
    maximumConcurrency: r.int(
      ingestRaw.maximumConcurrency,
      `${ingestKey}.maximumConcurrency`,
      d.ingest.maximumConcurrency,
      MAXIMUM_CONCURRENCY_RANGE.min,
      MAXIMUM_CONCURRENCY_RANGE.max,
    ),
    filters: {
      dropEventSources: r.strings(filtersRaw.dropEventSources, `${filtersKey}.dropEventSources`, commaFree),
      dropEventNames: r.strings(filtersRaw.dropEventNames, `${filtersKey}.dropEventNames`, commaFree),
      dropReadOnly: r.bool(filtersRaw.dropReadOnly, `${filtersKey}.dropReadOnly`, d.ingest.filters.dropReadOnly),
    },
  };

  checkIngestConcurrency(ingest, ingestKey);

  const reconcileKey = r.key('reconcile');
  const reconcileRaw = r.object(top.reconcile ?? {}, reconcileKey, [
    'schedule',
    'concurrency',
    'memoryMb',
    'timeoutSeconds',
    'healthyEvery',
    'workerConcurrency',
    'workerTimeoutSeconds',
  ]);
  const schedule =
    reconcileRaw.schedule === undefined
      ? d.reconcile.schedule
      : r.string(reconcileRaw.schedule, `${reconcileKey}.schedule`, {
          pattern: new RegExp(`${RATE.source}|${CRON.source}`),
          expected: 'an EventBridge schedule expression such as "rate(15 minutes)" or "cron(0/15 * * * ? *)"',
        });
  const reconcile: CollectorConfig['reconcile'] = {
    schedule,
    concurrency: r.int(reconcileRaw.concurrency, `${reconcileKey}.concurrency`, d.reconcile.concurrency, 1, 500),
    memoryMb: r.int(reconcileRaw.memoryMb, `${reconcileKey}.memoryMb`, d.reconcile.memoryMb, 128, 10240),
    timeoutSeconds: r.int(
      reconcileRaw.timeoutSeconds,
      `${reconcileKey}.timeoutSeconds`,
      d.reconcile.timeoutSeconds,
      60,
      900,
    ),
    healthyEvery: r.int(reconcileRaw.healthyEvery, `${reconcileKey}.healthyEvery`, d.reconcile.healthyEvery, 1, 96),
    // Lambda's range for an SQS mapping's MaximumConcurrency is 2-1000 (ScalingConfig, Lambda API Reference).
    workerConcurrency: r.int(
      reconcileRaw.workerConcurrency,
      `${reconcileKey}.workerConcurrency`,
      d.reconcile.workerConcurrency,
      2,
      1000,
    ),
    workerTimeoutSeconds: r.int(
      reconcileRaw.workerTimeoutSeconds,
      `${reconcileKey}.workerTimeoutSeconds`,
      d.reconcile.workerTimeoutSeconds,
      60,
      900,
    ),
  };
  const period = ratePeriodSeconds(schedule);
  if (period !== undefined && period < 60) {
    throw new CollectorConfigError(`${reconcileKey}.schedule`, `must be at least 1 minute, got ${describe(schedule)}`);
  }
  if (period !== undefined && reconcile.timeoutSeconds >= period) {
    throw new CollectorConfigError(
      `${reconcileKey}.timeoutSeconds`,
      `must be shorter than the schedule period (${period} s for ${describe(schedule)}), so that runs never overlap; got ${reconcile.timeoutSeconds}`,
    );
  }

  const alarmsKey = r.key('alarms');
  const alarmsRaw = r.object(top.alarms ?? {}, alarmsKey, ['emails', 'staleAfterMinutes']);
  const alarms: CollectorConfig['alarms'] = {
    emails: r.strings(alarmsRaw.emails, `${alarmsKey}.emails`, { pattern: EMAIL, expected: 'an e-mail address' }),
    // CloudTrail delivers a file about every 5 minutes while there is activity; below an hour quiet accounts flap.
    staleAfterMinutes: r.int(
      alarmsRaw.staleAfterMinutes,
      `${alarmsKey}.staleAfterMinutes`,
      d.alarms.staleAfterMinutes,
      60,
      7 * 24 * 60,
    ),
  };

  const ledgerKey = r.key('ledger');
  const ledgerRaw = r.object(top.ledger ?? {}, ledgerKey, ['pointInTimeRecovery']);
  const ledger: CollectorConfig['ledger'] = {
    pointInTimeRecovery: r.bool(
      ledgerRaw.pointInTimeRecovery,
      `${ledgerKey}.pointInTimeRecovery`,
      d.ledger.pointInTimeRecovery,
    ),
  };

  const operatorPrincipalArns = r.strings(top.operatorPrincipalArns, r.key('operatorPrincipalArns'), {
    pattern: PRINCIPAL_ARN,
    expected: 'an IAM role or user ARN (arn:aws:iam::<account>:role/<name>)',
  });

  if (sink.type === 'firehose' && downstreamTokenSecretArn !== undefined) {
    throw new CollectorConfigError(
      r.key('downstreamTokenSecretArn'),
      "is not used with sink.type firehose (ingest writes with the collector's own role): remove it",
    );
  }
  // The Lambda reads the same settings at start: what it would refuse fails the synth instead.
  try {
    loadSinkSettings({
      ...sinkEnvironment(sink),
      ...(sink.type === 'firehose' ? {} : { DOWNSTREAM_URL: downstreamUrl }),
      ...(sink.type === 'splunk-hec' ? { DOWNSTREAM_TOKEN_SECRET_ARN: 'arn:aws:secretsmanager:synth' } : {}),
    });
  } catch (error) {
    throw new CollectorConfigError(r.key('sink'), (error as Error).message);
  }

  return {
    downstreamUrl,
    sink,
    ...(downstreamTokenSecretArn !== undefined ? { downstreamTokenSecretArn } : {}),
    logRetentionDays,
    ingest,
    reconcile,
    alarms,
    ledger,
    operatorPrincipalArns,
  };
}

/** Firehose stream names (CreateDeliveryStream, DeliveryStreamName): 1-64 of [a-zA-Z0-9_.-]. */
const FIREHOSE_STREAM_NAME = /^[a-zA-Z0-9_.-]{1,64}$/;

/** `cloudtrailCollector.sink`: the type and only that type's own section. */
function readSink(r: Reader, raw: unknown): SinkDeployment {
  const key = r.key('sink');
  const input = r.object(raw ?? {}, key, ['type', 'hec', 'elasticsearch', 'firehose', 'syslog']);
  const type = input.type === undefined ? 'ndjson' : input.type;
  if (typeof type !== 'string' || !(SINK_TYPES as readonly string[]).includes(type)) {
    throw new CollectorConfigError(`${key}.type`, `must be one of ${SINK_TYPES.join(', ')}, got ${describe(type)}`);
  }
  for (const section of ['hec', 'elasticsearch', 'firehose', 'syslog'] as const) {
    const owner = section === 'hec' ? 'splunk-hec' : section;
    if (input[section] !== undefined && type !== owner) {
      throw new CollectorConfigError(`${key}.${section}`, `is only for sink.type ${owner}, and sink.type is ${type}`);
    }
  }
  const sinkType = type as SinkType;
  switch (sinkType) {
    case 'splunk-hec': {
      const k = `${key}.hec`;
      const hec = r.object(input.hec ?? {}, k, ['index', 'host', 'ack', 'ackTimeoutMs']);
      return {
        type: sinkType,
        hec: {
          ...(hec.index !== undefined ? { index: r.string(hec.index, `${k}.index`) } : {}),
          ...(hec.host !== undefined ? { host: r.string(hec.host, `${k}.host`) } : {}),
          ack: r.bool(hec.ack, `${k}.ack`, false),
          ...(hec.ackTimeoutMs !== undefined
            ? { ackTimeoutMs: r.int(hec.ackTimeoutMs, `${k}.ackTimeoutMs`, 60_000, 100, 900_000) }
            : {}),
        },
      };
    }
    case 'elasticsearch': {
      const k = `${key}.elasticsearch`;
      const es = r.object(input.elasticsearch ?? {}, k, ['index', 'dataStream', 'auth']);
      if (es.index !== undefined && es.dataStream !== undefined) {
        throw new CollectorConfigError(`${k}.dataStream`, 'set index or dataStream, not both');
      }
      const name = (field: 'index' | 'dataStream'): string | undefined => {
        if (es[field] === undefined) return undefined;
        const value = r.string(es[field], `${k}.${field}`);
        const invalid = invalidIndexName(value);
        if (invalid) throw new CollectorConfigError(`${k}.${field}`, `is not a valid index name: ${invalid}`);
        return value;
      };
      const index = name('index');
      const dataStream = name('dataStream');
      const auth = es.auth === undefined ? 'api-key' : es.auth;
      if (auth !== 'api-key' && auth !== 'basic') {
        throw new CollectorConfigError(`${k}.auth`, `must be api-key or basic, got ${describe(auth)}`);
      }
      return {
        type: sinkType,
        elasticsearch: {
          ...(index !== undefined ? { index } : {}),
          ...(dataStream !== undefined ? { dataStream } : {}),
          auth,
        },
      };
    }
    case 'firehose': {
      const k = `${key}.firehose`;
      if (input.firehose === undefined) throw new CollectorConfigError(k, 'is required with sink.type firehose');
      const firehose = r.object(input.firehose, k, ['streamName']);
      return {
        type: sinkType,
        firehose: {
          streamName: r.string(firehose.streamName, `${k}.streamName`, {
            pattern: FIREHOSE_STREAM_NAME,
            expected: 'a Firehose stream name (1-64 letters, digits, _ . -)',
          }),
        },
      };
    }
    case 'syslog': {
      const k = `${key}.syslog`;
      const syslog = r.object(input.syslog ?? {}, k, [
        'hostname',
        'appName',
        'maxMessageBytes',
        'tlsCaSecretArn',
        'tlsCertSecretArn',
        'tlsKeySecretArn',
        'tlsServername',
      ]);
      const secretArn = (field: 'tlsCaSecretArn' | 'tlsCertSecretArn' | 'tlsKeySecretArn') => {
        if (syslog[field] === undefined) return {};
        const value = r.string(syslog[field], `${k}.${field}`);
        if (!value.startsWith('arn:') || !value.includes(':secretsmanager:')) {
          throw new CollectorConfigError(
            `${k}.${field}`,
            `must be a Secrets Manager secret ARN, got ${describe(value)}`,
          );
        }
        return { [field]: value };
      };
      if ((syslog.tlsCertSecretArn === undefined) !== (syslog.tlsKeySecretArn === undefined)) {
        throw new CollectorConfigError(
          `${k}.tlsKeySecretArn`,
          'tlsCertSecretArn and tlsKeySecretArn go together: a client certificate needs its private key',
        );
      }
      return {
        type: sinkType,
        syslog: {
          hostname: syslog.hostname === undefined ? 'cloudtrail-collector' : r.string(syslog.hostname, `${k}.hostname`),
          ...(syslog.appName !== undefined ? { appName: r.string(syslog.appName, `${k}.appName`) } : {}),
          ...(syslog.maxMessageBytes !== undefined
            ? { maxMessageBytes: r.int(syslog.maxMessageBytes, `${k}.maxMessageBytes`, 8192, 480, 16 * 1024 * 1024) }
            : {}),
          ...secretArn('tlsCaSecretArn'),
          ...secretArn('tlsCertSecretArn'),
          ...secretArn('tlsKeySecretArn'),
          ...(syslog.tlsServername !== undefined
            ? { tlsServername: r.string(syslog.tlsServername, `${k}.tlsServername`) }
            : {}),
        },
      };
    }
    default:
      return { type: sinkType };
  }
}

/** The syslog sink's TLS secrets, which the ingest role may read (and nothing else of Secrets Manager for it). */
export function syslogSecretArns(sink: SinkDeployment): string[] {
  const s = sink.syslog;
  return [s?.tlsCaSecretArn, s?.tlsCertSecretArn, s?.tlsKeySecretArn].filter((arn): arn is string => arn !== undefined);
}

/** The ingest function's sink variables for this configuration (docs/sinks.md, "Configuration"). */
export function sinkEnvironment(sink: SinkDeployment): Record<string, string> {
  const env: Record<string, string> = { SINK_TYPE: sink.type };
  if (sink.hec?.index !== undefined) env.HEC_INDEX = sink.hec.index;
  if (sink.hec?.host !== undefined) env.HEC_HOST = sink.hec.host;
  if (sink.hec?.ack) env.HEC_ACK = 'true';
  if (sink.hec?.ackTimeoutMs !== undefined) env.HEC_ACK_TIMEOUT_MS = String(sink.hec.ackTimeoutMs);
  if (sink.elasticsearch?.index !== undefined) env.ELASTICSEARCH_INDEX = sink.elasticsearch.index;
  if (sink.elasticsearch?.dataStream !== undefined) env.ELASTICSEARCH_DATA_STREAM = sink.elasticsearch.dataStream;
  if (sink.elasticsearch !== undefined) env.ELASTICSEARCH_AUTH = sink.elasticsearch.auth;
  if (sink.firehose !== undefined) env.FIREHOSE_STREAM_NAME = sink.firehose.streamName;
  const syslog = sink.syslog;
  if (syslog !== undefined) {
    env.SYSLOG_HOSTNAME = syslog.hostname;
    if (syslog.appName !== undefined) env.SYSLOG_APP_NAME = syslog.appName;
    if (syslog.maxMessageBytes !== undefined) env.SYSLOG_MAX_MESSAGE_BYTES = String(syslog.maxMessageBytes);
    if (syslog.tlsCaSecretArn !== undefined) env.SYSLOG_TLS_CA_SECRET_ARN = syslog.tlsCaSecretArn;
    if (syslog.tlsCertSecretArn !== undefined) env.SYSLOG_TLS_CERT_SECRET_ARN = syslog.tlsCertSecretArn;
    if (syslog.tlsKeySecretArn !== undefined) env.SYSLOG_TLS_KEY_SECRET_ARN = syslog.tlsKeySecretArn;
    if (syslog.tlsServername !== undefined) env.SYSLOG_TLS_SERVERNAME = syslog.tlsServername;
  }
  return env;
}
