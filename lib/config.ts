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

export interface CollectorConfig {
  /** The downstream log intake; https only once deployed (the bearer token must never travel in clear). */
  downstreamUrl: string;
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
    /** Accounts reconciled at once (RECONCILE_CONCURRENCY). */
    concurrency: number;
    memoryMb: number;
    timeoutSeconds: number;
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
  reconcile: { schedule: 'rate(15 minutes)', concurrency: 10, memoryMb: 512, timeoutSeconds: 600 },
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
  if (url.protocol !== 'https:') {
    throw new CollectorConfigError(
      r.key('downstreamUrl'),
      `must use https: (the bearer token is sent with every batch), got ${describe(downstreamUrl)}`,
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

  return {
    downstreamUrl,
    ...(downstreamTokenSecretArn !== undefined ? { downstreamTokenSecretArn } : {}),
    logRetentionDays,
    ingest,
    reconcile,
    alarms,
    ledger,
    operatorPrincipalArns,
  };
}
