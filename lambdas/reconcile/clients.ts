/**
 * The seam between the reconcile domain and AWS. Domain code only ever calls `send` on these, so tests and the
 * benchmark inject fakes (in-memory, with latency) and the Lambda/CLI inject real SDK clients built by
 * `awsClients` (which honours AWS_ENDPOINT_URL and path-style S3).
 *
 * The real clients (`createReconcileClients`) carry the quotas as code (docs/operations.md, "Quotas and cost at
 * 10,000 accounts"): a rate limiter per (service, account, region) quota (lambdas/shared/rate-limiter.ts) and the
 * SDK's adaptive retry, so a throttled call waits and is retried instead of failing its observation (which would
 * be an OBSERVE_INCOMPLETE finding). Clients and credentials are held in bounded LRU caches.
 */
import type { CloudTrailClient } from '@aws-sdk/client-cloudtrail';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { LambdaClient } from '@aws-sdk/client-lambda';
import type { S3Client } from '@aws-sdk/client-s3';
import type { SNSClient } from '@aws-sdk/client-sns';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { MiddlewareStack } from '@aws-sdk/types';
import { awsClients, type ClientOptions } from '../shared/aws-clients';
import { getIntFromEnv } from '../shared/config';
import { AssumedRoleCredentialCache, DEFAULT_CREDENTIAL_CACHE_SIZE, type RoleTarget } from '../shared/credentials';
import { LruCache } from '../shared/lru-cache';
import { RateLimiters, applyRateLimits, type Clock, type QuotaScope } from '../shared/rate-limiter';

/** Clients acting inside one customer account (its assumed role), per region. */
export interface CustomerClients {
  cloudTrail(region: string): Pick<CloudTrailClient, 'send'>;
  s3(region: string): Pick<S3Client, 'send'>;
  sns(region: string): Pick<SNSClient, 'send'>;
  sqs(region: string): Pick<SQSClient, 'send'>;
  /** A log archive's default event bus (the EventBridge path of rules/archive-notifications.ts); optional for fakes. */
  events?(region: string): Pick<EventBridgeClient, 'send'>;
}

/**
 * Clients acting in the collector account with its own credentials: the event source mappings live here, and
 * the hub topology's subscriptions are the collector's (the queue owner subscribes, in the topic's Region).
 */
export interface CollectorClients {
  lambda: Pick<LambdaClient, 'send'>;
  sns(region: string): Pick<SNSClient, 'send'>;
  /** The collector's own SQS (BACKFILL to its backfill queue, hub topology); optional for fakes without it. */
  sqs?(region: string): Pick<SQSClient, 'send'>;
}

export interface ReconcileClients {
  /**
   * Assumes the customer role (throws RoleAssumptionError when it cannot: ROLE_UNASSUMABLE) and returns clients
   * signing with it. Assuming first, instead of on the first call, keeps "the role is broken" apart from
   * "this call was denied".
   */
  customer(target: RoleTarget): Promise<CustomerClients>;
  collector: CollectorClients;
}

/** Any SDK client, as far as the middleware hook needs one. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- every client's stack has its own input/output types
export type SdkClient = { middlewareStack: MiddlewareStack<any, any> };

/** The label of the collector's own account in quota scopes (one collector per process). */
export const COLLECTOR_SCOPE = 'collector';

/** Default clients kept: ~20 KiB of heap each (issue 14), so ~5 MiB; 64 accounts of four clients each. */
export const DEFAULT_CLIENT_CACHE_SIZE = 256;

/**
 * A throttled call is retried up to 8 attempts in all (the SDK's default is 3; the collector's other clients 4):
 * with the throttling backoff (0.5 s base, doubling, at most 20 s, jittered) that is up to ~40 s of waiting,
 * which the adaptive mode's own limiter shortens by slowing the client after the first throttle.
 */
export const RECONCILE_MAX_ATTEMPTS = 8;

export interface ReconcileClientsOptions {
  region: string;
  sessionName?: string;
  /** SDK clients kept (least recently used dropped first); default RECONCILE_CLIENT_CACHE_SIZE, else 256. */
  clientCacheSize?: number;
  /** Roles whose credentials are kept; default RECONCILE_CREDENTIAL_CACHE_SIZE, else 256. */
  credentialCacheSize?: number;
  /**
   * The fraction of the collector account's Lambda control-plane and STS quotas this process may use: 1 / the
   * number of reconcile processes that can run at once. Default: 1 / (RECONCILE_WORKER_CONCURRENCY + 1), the
   * worker's reserved concurrency and the sweep; 1 when the variable is unset (the CLI, a single process).
   */
  collectorQuotaShare?: number;
  /**
   * The fraction of each customer account's CloudTrail quotas the reconcile may use; the rest is left to the
   * customer's own tools, which share the same 10 TPS and 1 TPS. Default 0.5.
   */
  customerQuotaShare?: number;
  /** The limiters' clock (tests and the benchmark run on a virtual one). */
  clock?: Clock;
  /** Every client built, after the rate limiter is added: the benchmark's and tests' transport. Unset in Lambda. */
  onClientBuilt?: (client: SdkClient, scope: QuotaScope) => void;
  endpoint?: string;
}

/** The real clients, and what their caches and limiters hold (logs, tests, the benchmark). */
export interface RealReconcileClients extends ReconcileClients {
  readonly limiters: RateLimiters;
  stats(): { clients: number; clientEvictions: number; credentials: number; assumeRoleCalls: number };
}

/**
 * RECONCILE_CLIENT_CACHE_SIZE, RECONCILE_CREDENTIAL_CACHE_SIZE and RECONCILE_WORKER_CONCURRENCY (read once at
 * cold start; a bad value fails naming the variable).
 */
export function clientCacheSettings(env: Record<string, string | undefined> = process.env) {
  const workers = getIntFromEnv('RECONCILE_WORKER_CONCURRENCY', 0, { min: 0, max: 1_000 }, env);
  return {
    clientCacheSize: getIntFromEnv(
      'RECONCILE_CLIENT_CACHE_SIZE',
      DEFAULT_CLIENT_CACHE_SIZE,
      { min: 8, max: 100_000 },
      env,
    ),
    credentialCacheSize: getIntFromEnv(
      'RECONCILE_CREDENTIAL_CACHE_SIZE',
      DEFAULT_CREDENTIAL_CACHE_SIZE,
      { min: 1, max: 100_000 },
      env,
    ),
    collectorQuotaShare: workers === 0 ? 1 : 1 / (workers + 1),
  };
}

/**
 * Real clients: one STS-backed credential cache and one client per (role, service, region), both bounded, every
 * client rate-limited and retrying adaptively.
 *
 * An evicted client is dropped, not `destroy()`ed: destroy() destroys the client's request handler, and every
 * client of the process shares one keep-alive handler (aws-clients.ts; the reconcile's calls go to the same
 * regional endpoints whatever the account), so it would cut the sockets of other clients' calls in flight. The
 * evicted client owns no socket; once unreferenced it is garbage.
 */
export function createReconcileClients(options: ReconcileClientsOptions): RealReconcileClients {
  const fromEnv = clientCacheSettings();
  const limiters = new RateLimiters(options.clock ? { clock: options.clock } : {});
  const collectorShare = options.collectorQuotaShare ?? fromEnv.collectorQuotaShare;
  const customerShare = options.customerQuotaShare ?? 0.5;
  const retry = { mode: 'adaptive', maxAttempts: RECONCILE_MAX_ATTEMPTS } as const;
  const base = (region: string): ClientOptions => ({
    region,
    retry,
    ...(options.endpoint !== undefined ? { endpoint: options.endpoint } : {}),
  });
  function limited<T extends SdkClient>(client: T, scope: QuotaScope): T {
    applyRateLimits(client, limiters, scope);
    options.onClientBuilt?.(client, scope);
    return client;
  }
  const collectorScope = (service: string, region: string): QuotaScope => ({
    service,
    account: COLLECTOR_SCOPE,
    region,
    share: collectorShare,
  });

  const credentials = new AssumedRoleCredentialCache(
    limited(awsClients.sts(base(options.region)), collectorScope('sts', options.region)),
    {
      sessionName: options.sessionName ?? 'cloudtrail-collector-reconcile',
      maxEntries: options.credentialCacheSize ?? fromEnv.credentialCacheSize,
    },
  );
  const cache = new LruCache<string, unknown>(options.clientCacheSize ?? fromEnv.clientCacheSize);
  function cached<T>(key: string, build: () => T): T {
    return cache.getOrCreate(key, build) as T;
  }
  const lambda = limited(awsClients.lambda(base(options.region)), collectorScope('lambda', options.region));
  return {
    limiters,
    stats: () => ({
      clients: cache.size,
      clientEvictions: cache.evictions,
      credentials: credentials.size,
      assumeRoleCalls: credentials.assumeRoleCalls,
    }),
    async customer(target) {
      await credentials.credentialsFor(target);
      const provider = credentials.providerFor(target);
      const key = (service: string, region: string) => `${target.roleArn}\u0000${service}\u0000${region}`;
      const scope = (service: string, region: string): QuotaScope => ({
        service,
        account: target.accountId,
        region,
        share: customerShare,
      });
      const build = <T extends SdkClient>(service: string, region: string, make: (o: ClientOptions) => T): T =>
        cached(key(service, region), () =>
          limited(make({ ...base(region), credentials: provider }), scope(service, region)),
        );
      return {
        cloudTrail: (region) => build('cloudtrail', region, awsClients.cloudTrail),
        s3: (region) => build('s3', region, (o) => awsClients.s3(o)),
        sns: (region) => build('sns', region, awsClients.sns),
        sqs: (region) => build('sqs', region, awsClients.sqs),
        events: (region) => build('events', region, awsClients.eventBridge),
      };
    },
    collector: {
      lambda,
      sns: (region) =>
        cached(`collector\u0000sns\u0000${region}`, () =>
          limited(awsClients.sns(base(region)), collectorScope('sns', region)),
        ),
      sqs: (region) =>
        cached(`collector\u0000sqs\u0000${region}`, () =>
          limited(awsClients.sqs(base(region)), collectorScope('sqs', region)),
        ),
    },
  };
}
