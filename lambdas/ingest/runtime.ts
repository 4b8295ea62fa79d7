import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import type { S3Client } from '@aws-sdk/client-s3';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { arnParts } from '../shared/arn';
import { awsClients } from '../shared/aws-clients';
import { AssumedRoleCredentialCache } from '../shared/credentials';
import { ConfigError } from '../shared/errors';
import { LedgerTable } from '../shared/ledger';
import type { LoggerLike } from '../shared/logger';
import { ByteBudget, Gate } from '../shared/concurrency';
import { OrganizationsRegistry } from '../shared/organization-registry';
import { ReconcileJobQueue } from '../shared/reconcile-job';
import { AccountsRegistry } from '../shared/registry';
import type { IngestConfig } from './config';
import { createSink, type SinkConfig, type SinkInjections } from './sinks';
import { DownstreamError } from './sinks/http-delivery';
import type { Sink } from './sinks/sink';
import { CircuitBreaker, guardSink, type BreakerSettings } from './source/circuit-breaker';
import { LedgerWrites, type LedgerStore } from './source/ledger-writes';
import { QueueSettler, type SqsSender } from './source/settle';
import type { CountSink, IngestDeps } from './source/sqs-batch';
import { RegistryTriggerClaims, TamperTriggers } from './source/tamper-triggers';
import type { TenantBinding } from './source/tenant';

/** The AWS clients ingest builds; the default is the one factory, benchmarks wrap it to time every call. */
export type IngestClients = Pick<typeof awsClients, 'dynamoDocument' | 's3' | 'secretsManager' | 'sqs' | 'sts'> &
  Partial<Pick<typeof awsClients, 'firehose'>>;

/** What callers may inject instead of what the configuration builds (docs/architecture.md, "Test kit"). */
export interface IngestInjections extends Omit<SinkInjections, 'logger'> {
  /** Used instead of the sink the configuration describes. */
  sink?: Sink;
  clients?: IngestClients;
  /** The clock of the circuit breaker and the settler (tests drive it). */
  now?: () => number;
  /**
   * The SQS client that changes visibility on, or dead-letters from, a queue. Default: the collector's own
   * credentials in the queue's region (the emulator, unlike SQS, finds a queue by the caller's account: tests
   * hand a customer queue's own client here).
   */
  sqsForQueue?: (queueArn: string) => SqsSender;
  /** The hub retry schedule (settle.ts), default `retryVisibilitySeconds`: the soak scales it with its clock. */
  retrySeconds?: (receiveCount: number) => number;
  /** Where collected files are recorded, instead of the LEDGER_TABLE table (docs/completeness.md). */
  ledger?: LedgerStore;
  /**
   * The tamper triggers, instead of those RECONCILE_JOB_QUEUE_URL describes (the handler builds them once for
   * both its SQS and its EventBridge events); undefined: none.
   */
  tamper?: TamperTriggers | undefined;
}

/**
 * A downstream failure that says the downstream is down rather than this batch refused: DownstreamError with
 * `permanent: false` (network errors, timeouts, 408, 429, 5xx, the deadline reached while retrying; http-delivery.ts).
 */
export function isDownstreamOutage(error: unknown): boolean {
  return error instanceof DownstreamError && !error.permanent;
}

/** The downstream token: given directly (local runs) or read once from Secrets Manager (Lambda). */
async function resolveToken(config: IngestConfig, clients: IngestClients): Promise<string | undefined> {
  if (!config.downstreamTokenSecretArn) return config.downstreamToken;
  const client = clients.secretsManager({ region: config.region });
  try {
    const secret = await client.send(new GetSecretValueCommand({ SecretId: config.downstreamTokenSecretArn }));
    if (!secret.SecretString) throw new ConfigError('the secret has no SecretString');
    return secret.SecretString.trim();
  } catch (error) {
    throw new ConfigError(`cannot read DOWNSTREAM_TOKEN_SECRET_ARN ${config.downstreamTokenSecretArn}`, {
      cause: error,
    });
  } finally {
    client.destroy();
  }
}

/** The sink the configuration describes (sinks/config.ts read it; docs/sinks.md). */
export function sinkConfigOf(config: IngestConfig, token: string | undefined): SinkConfig {
  const http = {
    url: config.downstreamUrl?.toString() ?? '',
    ...(token ? { token } : {}),
    timeoutMs: config.downstreamTimeoutMs,
  };
  switch (config.sinkType) {
    case 'ndjson':
      return { type: 'ndjson', ...http };
    case 'splunk-hec':
      return { type: 'splunk-hec', ...http, hec: config.hec ?? {} };
    case 'elasticsearch': {
      const { auth, ...elasticsearch } = config.elasticsearch ?? {
        index: 'cloudtrail-%Y.%m.%d',
        dataStream: false,
        auth: 'api-key',
      };
      if (auth === 'basic' && token !== undefined && !token.includes(':')) {
        // The secret's value came from Secrets Manager: checked here, named by its variable, never shown.
        throw new ConfigError(
          'the DOWNSTREAM_TOKEN_SECRET_ARN secret must be user:password when ELASTICSEARCH_AUTH=basic',
        );
      }
      return { type: 'elasticsearch', ...http, elasticsearch, auth };
    }
    case 'firehose':
      return {
        type: 'firehose',
        streamName: config.firehoseStreamName ?? '',
        region: config.region,
        timeoutMs: config.downstreamTimeoutMs,
      };
    case 'syslog':
      if (config.syslog === undefined) throw new ConfigError('SINK_TYPE=syslog without its settings');
      return { type: 'syslog', syslog: config.syslog };
  }
}

/**
 * Builds everything the ingest core needs from configuration: one registry client, one STS-backed credential
 * cache, one S3 client per tenant (each signing only with that tenant's role), one sink (sinks/index.ts) behind
 * the container's circuit breaker, and the settler that backs off failed messages with the collector's own SQS
 * client. Called once per container: the breaker's state lives as long as the deps.
 */
export async function createIngestDeps(
  config: IngestConfig,
  logger: LoggerLike,
  counts: CountSink,
  inject: IngestInjections = {},
): Promise<IngestDeps> {
  const {
    sink: injectedSink,
    clients = awsClients,
    now = Date.now,
    sqsForQueue,
    retrySeconds,
    ledger: injectedLedger,
    tamper: _tamper,
    ...sinkInjections
  } = inject;
  const tamper = 'tamper' in inject ? inject.tamper : createTamperTriggers(config, logger, counts, clients, now);
  const downstream =
    injectedSink ??
    createSink(sinkConfigOf(config, await resolveToken(config, clients)), {
      logger,
      // Firehose through the collector's own role (firehose:PutRecordBatch on the one stream: lib/permissions.ts).
      ...(config.sinkType === 'firehose'
        ? { firehose: (clients.firehose ?? awsClients.firehose)({ region: config.region }) }
        : {}),
      ...sinkInjections,
    });
  const sqsClients = new Map<string, SQSClient>();
  const ownSqs = (queueArn: string): SqsSender => {
    const region = arnParts(queueArn).region || config.region;
    let client = sqsClients.get(region);
    if (!client) {
      client = clients.sqs({ region });
      sqsClients.set(region, client);
    }
    return client;
  };
  const failures = failureHandling({
    sink: downstream,
    breaker: config.breaker,
    hubQueueArns: config.hubQueueArns,
    sqsFor: sqsForQueue ?? ownSqs,
    logger,
    counts,
    now,
    ...(retrySeconds ? { retrySeconds } : {}),
  });
  const credentials = new AssumedRoleCredentialCache(clients.sts({ region: config.region }), {
    sessionName: 'cloudtrail-collector-ingest',
  });
  const s3Clients = new Map<string, S3Client>();
  const s3ForTenant = (tenant: TenantBinding): S3Client => {
    const cacheKey = `${tenant.roleArn}\u0000${tenant.region}`;
    let client = s3Clients.get(cacheKey);
    if (!client) {
      client = clients.s3({ region: tenant.region, credentials: credentials.providerFor(tenant) });
      s3Clients.set(cacheKey, client);
    }
    return client;
  };
  const db = clients.dynamoDocument({ region: config.region });
  const ledger = injectedLedger ?? new LedgerTable(db, config.ledgerTable, config.ledgerTtlDays);
  return {
    registry: new AccountsRegistry(db, config.accountsTable),
    // The organization items share the registry table (organization-registry.ts): the same GetItem permission.
    organizations: new OrganizationsRegistry(db, config.accountsTable),
    ledger: new LedgerWrites(ledger, now),
    now,
    ...(config.backfillQueueArn !== undefined ? { backfillQueueArn: config.backfillQueueArn } : {}),
    credentials,
    deliveryMarks: new Map(),
    readErrorMarks: new Map(),
    s3ForTenant,
    logger,
    counts,
    customerRoleName: config.customerRoleName,
    forward: {
      maxDecompressedBytes: config.maxDecompressedBytes,
      maxRecordBytes: config.maxRecordBytes,
      batchLimits: { maxBatchBytes: config.maxBatchBytes, maxBatchRecords: config.maxBatchRecords },
      maxInFlightBatches: config.maxInFlightBatches,
      filter: config.filter,
      largeObjects: new Gate(config.largeObjectConcurrency),
      wholeReads: new ByteBudget(config.wholeReadBudgetBytes),
      ...(tamper !== undefined ? { tamper } : {}),
    },
    messageConcurrency: config.messageConcurrency,
    ...failures,
  };
}

/**
 * The tamper triggers RECONCILE_JOB_QUEUE_URL asks for (source/tamper-triggers.ts): the registry for each account's
 * chain and the debounce, and the collector's own SQS client for the job queue. Undefined when it is not set.
 */
export function createTamperTriggers(
  config: IngestConfig,
  logger: LoggerLike,
  counts: CountSink,
  clients: Pick<IngestClients, 'dynamoDocument' | 'sqs'> = awsClients,
  now: () => number = Date.now,
): TamperTriggers | undefined {
  if (config.reconcileJobQueueUrl === undefined) return undefined;
  const db = clients.dynamoDocument({ region: config.region });
  return new TamperTriggers({
    registry: new AccountsRegistry(db, config.accountsTable),
    claims: new RegistryTriggerClaims(db, config.accountsTable),
    jobs: new ReconcileJobQueue(clients.sqs({ region: config.region }), config.reconcileJobQueueUrl),
    logger,
    counts,
    delaySeconds: config.tamperTriggerDelaySeconds,
    now,
  });
}

/**
 * What keeps a failure from losing or dead-lettering anything (docs/reliability.md): the sink behind this
 * container's circuit breaker, the hub queues (bound by their envelopes), and the settler that backs off failed
 * messages and moves hub poison to its DLQ. createIngestDeps and the outage simulation build it the same way.
 */
export function failureHandling(options: {
  sink: Sink;
  breaker: BreakerSettings;
  hubQueueArns: readonly string[];
  sqsFor: (queueArn: string) => SqsSender;
  logger: LoggerLike;
  counts: CountSink;
  now?: () => number;
  retrySeconds?: (receiveCount: number) => number;
}): Required<Pick<IngestDeps, 'sink' | 'breaker' | 'settler' | 'hubQueueArns'>> {
  const { logger, counts, now = Date.now } = options;
  const breaker = new CircuitBreaker(options.breaker, now, (transition) => {
    const level = transition.to === 'closed' ? 'info' : 'warn';
    logger[level](`downstream circuit ${transition.to}`, { ...transition });
    if (transition.to === 'open') counts.count('DownstreamBreakerOpened', 1);
    if (transition.to === 'closed') counts.count('DownstreamBreakerClosed', 1);
  });
  const hubQueueArns = new Set(options.hubQueueArns);
  return {
    sink: guardSink(options.sink, breaker, isDownstreamOutage),
    breaker,
    hubQueueArns,
    settler: new QueueSettler({
      sqsFor: options.sqsFor,
      isHubQueue: (queueArn) => hubQueueArns.has(queueArn),
      logger,
      counts,
      now,
      ...(options.retrySeconds ? { retrySeconds: options.retrySeconds } : {}),
    }),
  };
}

/** A CountSink that just adds up, for the CLI and tests. */
export class CountTally implements CountSink {
  readonly totals = new Map<string, number>();
  count(name: string, value: number): void {
    this.totals.set(name, (this.totals.get(name) ?? 0) + value);
  }
  get(name: string): number {
    return this.totals.get(name) ?? 0;
  }
  toJSON(): Record<string, number> {
    return Object.fromEntries(this.totals);
  }
}
