import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import type { S3Client } from '@aws-sdk/client-s3';
import { awsClients } from '../shared/aws-clients';
import { AssumedRoleCredentialCache } from '../shared/credentials';
import { ConfigError } from '../shared/errors';
import type { LoggerLike } from '../shared/logger';
import { AccountsRegistry } from '../shared/registry';
import type { IngestConfig } from './config';
import { createSink, type SinkConfig, type SinkInjections } from './sinks';
import type { Sink } from './sinks/sink';
import type { CountSink, IngestDeps } from './source/sqs-batch';
import type { TenantBinding } from './source/tenant';

/** The AWS clients ingest builds; the default is the one factory, benchmarks wrap it to time every call. */
export type IngestClients = Pick<typeof awsClients, 'dynamoDocument' | 's3' | 'secretsManager' | 'sqs' | 'sts'>;

/** What callers may inject instead of what the configuration builds (docs/architecture.md, "Test kit"). */
export interface IngestInjections extends Omit<SinkInjections, 'logger'> {
  /** Used instead of the sink the configuration describes. */
  sink?: Sink;
  clients?: IngestClients;
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

/** The sink the configuration describes. */
export function sinkConfigOf(config: IngestConfig, token: string | undefined): SinkConfig {
  return {
    kind: config.sinkKind,
    url: config.downstreamUrl.toString(),
    ...(token ? { token } : {}),
    timeoutMs: config.downstreamTimeoutMs,
  };
}

/**
 * Builds everything the ingest core needs from configuration: one registry client, one STS-backed credential
 * cache, one S3 client per tenant (each signing only with that tenant's role), one sink (sinks/index.ts).
 */
export async function createIngestDeps(
  config: IngestConfig,
  logger: LoggerLike,
  counts: CountSink,
  inject: IngestInjections = {},
): Promise<IngestDeps> {
  const { sink: injectedSink, clients = awsClients, ...sinkInjections } = inject;
  const sink =
    injectedSink ??
    createSink(sinkConfigOf(config, await resolveToken(config, clients)), { logger, ...sinkInjections });
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
  return {
    registry: new AccountsRegistry(clients.dynamoDocument({ region: config.region }), config.accountsTable),
    credentials,
    deliveryMarks: new Map(),
    readErrorMarks: new Map(),
    s3ForTenant,
    sink,
    logger,
    counts,
    customerRoleName: config.customerRoleName,
    forward: {
      maxDecompressedBytes: config.maxDecompressedBytes,
      maxRecordBytes: config.maxRecordBytes,
      batchLimits: { maxBatchBytes: config.maxBatchBytes, maxBatchRecords: config.maxBatchRecords },
      maxInFlightBatches: config.maxInFlightBatches,
      filter: config.filter,
    },
    messageConcurrency: config.messageConcurrency,
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
