/**
 * Client-side rate limits for the AWS quotas the reconcile shares (docs/operations.md, "Quotas and cost at
 * 10,000 accounts"): token buckets keyed by (service, account, region, quota), applied as a middleware on every
 * reconcile SDK client (`applyRateLimits`), so domain code is unchanged. A call waits for its token instead of
 * being throttled; the SDK's adaptive retry (lambdas/reconcile/clients.ts) takes whatever throttling remains
 * (other callers share the same quotas).
 *
 * The quotas, as AWS documents them:
 * - Lambda, per account and Region: "Control plane API requests (excludes invocation, GetFunction, and GetPolicy
 *   requests)": 15 requests per second, cannot be increased; GetFunction 100, GetPolicy 15 (Lambda Developer
 *   Guide, "Lambda quotas", Lambda API requests: https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html).
 *   Every event source mapping call (List/Create/Update/DeleteEventSourceMapping) is in the shared 15/s. Throttled
 *   with TooManyRequestsException (HTTP 429).
 * - CloudTrail, per account and Region, none adjustable: "Get, describe, and list APIs" 10 TPS (LookupEvents and
 *   ListInsightsMetricData excluded), LookupEvents 2 TPS, ListInsightsMetricData 1 TPS, "All other APIs" 1 TPS
 *   (CloudTrail User Guide, "Quotas in AWS CloudTrail":
 *   https://docs.aws.amazon.com/awscloudtrail/latest/userguide/WhatIsCloudTrail-Limits.html). So DescribeTrails,
 *   GetTrailStatus, GetEventSelectors, GetInsightSelectors and ListTrails share 10 TPS; CreateTrail, UpdateTrail,
 *   StartLogging, StopLogging, PutEventSelectors, PutInsightSelectors and AddTags share 1 TPS.
 * - STS AssumeRole: AWS publishes no request rate on its quota pages (IAM User Guide, "IAM and AWS STS quotas",
 *   lists sizes only); the Knowledge Center ("How do I resolve API throttling or 'Rate exceeded' errors for IAM and
 *   AWS STS?", https://repost.aws/knowledge-center/iam-sts-throttling-error) says calls count against a rate per
 *   account, that regional STS endpoints each have their own, and that throttling answers `Throttling: Rate
 *   exceeded` (HTTP 400). 50 per second here is an assumption, well above what the credential cache needs (one
 *   AssumeRole per account per credential lifetime), and the adaptive retry covers it being wrong.
 */
import type { HandlerExecutionContext, InitializeHandler, InitializeMiddleware, MiddlewareStack } from '@aws-sdk/types';

/** Milliseconds and sleeping on them; injected so tests and the benchmark run on a virtual clock. */
export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/**
 * A token bucket: `ratePerSecond` tokens a second, at most `burst` saved up. `reserve` hands out tokens in
 * arrival order and may go into debt, so every waiter knows at once how long to wait (no polling, no thundering
 * herd): the n-th caller beyond the burst waits n / rate seconds.
 */
export class TokenBucket {
  private tokens: number;
  private updatedAt: number;

  constructor(
    readonly ratePerSecond: number,
    readonly burst: number,
    private readonly clock: Clock = systemClock,
  ) {
    if (!(Number.isFinite(ratePerSecond) && ratePerSecond > 0)) {
      throw new RangeError(`TokenBucket: ratePerSecond must be a positive number, got ${ratePerSecond}`);
    }
    if (!(Number.isFinite(burst) && burst >= 1)) {
      throw new RangeError(`TokenBucket: burst must be at least 1, got ${burst}`);
    }
    this.tokens = burst;
    this.updatedAt = clock.now();
  }

  private refill(): void {
    const now = this.clock.now();
    if (now > this.updatedAt) {
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.updatedAt) * this.ratePerSecond) / 1000);
      this.updatedAt = now;
    }
  }

  /** Takes one token; returns how many ms the caller must wait before using it (0: now). */
  reserve(): number {
    this.refill();
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens * 1000) / this.ratePerSecond);
  }

  /** Takes one token only if one is there now (never into debt): how a service decides to throttle. */
  tryTake(): boolean {
    this.refill();
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Waits for one token. */
  async take(): Promise<void> {
    const wait = this.reserve();
    if (wait > 0) await this.clock.sleep(wait);
  }

  /** Full and owing nothing: forgetting this bucket and making a new one later changes nothing. */
  isFull(): boolean {
    this.refill();
    return this.tokens >= this.burst;
  }
}

export interface Quota {
  /** Which of the service's shared buckets the call draws from. */
  bucket: string;
  ratePerSecond: number;
}

const LAMBDA_OWN_QUOTAS: Record<string, Quota> = {
  GetFunction: { bucket: 'GetFunction', ratePerSecond: 100 },
  GetPolicy: { bucket: 'GetPolicy', ratePerSecond: 15 },
};
const CLOUDTRAIL_OWN_QUOTAS: Record<string, Quota> = {
  LookupEvents: { bucket: 'LookupEvents', ratePerSecond: 2 },
  ListInsightsMetricData: { bucket: 'ListInsightsMetricData', ratePerSecond: 1 },
};

/**
 * The documented quota `operation` (an API name, e.g. DescribeTrails) draws from, or undefined when this module
 * does not limit it (S3, SNS, SQS: their per-account rates are in the thousands, far above a reconcile's).
 */
export function quotaFor(service: string, operation: string): Quota | undefined {
  switch (service) {
    case 'lambda':
      if (operation === 'Invoke' || operation === 'InvokeAsync') return undefined;
      return LAMBDA_OWN_QUOTAS[operation] ?? { bucket: 'control-plane', ratePerSecond: 15 };
    case 'cloudtrail':
      return (
        CLOUDTRAIL_OWN_QUOTAS[operation] ??
        (/^(Get|Describe|List)/.test(operation)
          ? { bucket: 'read', ratePerSecond: 10 }
          : { bucket: 'other', ratePerSecond: 1 })
      );
    case 'sts':
      return operation === 'AssumeRole' ? { bucket: 'AssumeRole', ratePerSecond: 50 } : undefined;
    default:
      return undefined;
  }
}

/** Whose quota a client spends: the service, the account whose credentials sign, and the Region. */
export interface QuotaScope {
  service: string;
  /** The signing account's id, or a stable label for the collector's own (e.g. 'collector'). */
  account: string;
  region: string;
  /**
   * The fraction of each quota this process may use (0-1]: the collector account's quotas are shared by every
   * concurrent reconcile instance (its worker's reserved concurrency), a customer's with the customer's own tools.
   */
  share: number;
}

export interface RateLimitersOptions {
  clock?: Clock;
  /** Buckets kept; a full bucket is evicted first (see `TokenBucket.isFull`). Default 4096. */
  maxBuckets?: number;
}

/** Every token bucket of one process, created on first use per (service, account, region, quota). */
export class RateLimiters {
  private readonly buckets = new Map<string, TokenBucket>();
  private readonly clock: Clock;
  private readonly maxBuckets: number;
  /** Calls that had to wait for a token, and the ms waited in total (for logs and the benchmark). */
  delayedCalls = 0;
  delayedMs = 0;

  constructor(options: RateLimitersOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.maxBuckets = options.maxBuckets ?? 4096;
  }

  /** The bucket a call of `operation` in `scope` draws from; undefined when the operation is not limited. */
  bucketFor(scope: QuotaScope, operation: string): TokenBucket | undefined {
    const quota = quotaFor(scope.service, operation);
    if (quota === undefined) return undefined;
    if (!(scope.share > 0 && scope.share <= 1)) {
      throw new RangeError(`RateLimiters: share for ${scope.service} in ${scope.account} must be in (0, 1]`);
    }
    const key = `${scope.service}\u0000${scope.account}\u0000${scope.region}\u0000${quota.bucket}`;
    let bucket = this.buckets.get(key);
    if (bucket === undefined) {
      const rate = quota.ratePerSecond * scope.share;
      // One second's worth saved up, and never less than one call.
      bucket = new TokenBucket(rate, Math.max(1, Math.floor(rate)), this.clock);
      // Before adding the new one, which is full too until the caller reserves from it.
      if (this.buckets.size >= this.maxBuckets) this.forgetFullBuckets();
      this.buckets.set(key, bucket);
    }
    return bucket;
  }

  /** Waits until `operation` may be sent in `scope`. */
  async acquire(scope: QuotaScope, operation: string): Promise<void> {
    const bucket = this.bucketFor(scope, operation);
    if (bucket === undefined) return;
    const wait = bucket.reserve();
    if (wait > 0) {
      this.delayedCalls += 1;
      this.delayedMs += wait;
      await this.clock.sleep(wait);
    }
  }

  get size(): number {
    return this.buckets.size;
  }

  /** Bounded memory: a full bucket is the same as a fresh one, so it can go. */
  private forgetFullBuckets(): void {
    for (const [key, bucket] of this.buckets) {
      if (bucket.isFull()) this.buckets.delete(key);
    }
  }
}

/** `DescribeTrailsCommand` -> `DescribeTrails`. */
function operationOf(context: HandlerExecutionContext): string {
  const name = (context as { commandName?: unknown }).commandName;
  return typeof name === 'string' ? name.replace(/Command$/, '') : '';
}

export const RATE_LIMIT_MIDDLEWARE = 'collectorRateLimit';

/**
 * Adds the limiter to a client, at the initialize step: once per call, before serialization, signing and the
 * SDK's retries (whose own adaptive limiter paces the retries of a throttled call).
 */
export function applyRateLimits(
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- any client's stack: input and output vary
  client: { middlewareStack: MiddlewareStack<any, any> },
  limiters: RateLimiters,
  scope: QuotaScope,
): void {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const middleware: InitializeMiddleware<any, any> =
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    (next: InitializeHandler<any, any>, context: HandlerExecutionContext) => async (args) => {
      await limiters.acquire(scope, operationOf(context));
      return next(args);
    };
  client.middlewareStack.add(middleware, { step: 'initialize', name: RATE_LIMIT_MIDDLEWARE, priority: 'high' });
}

/**
 * The error names AWS throttles with in the services the reconcile calls (Lambda TooManyRequestsException 429;
 * CloudTrail and SQS ThrottlingException; STS Throttling "Rate exceeded"; SNS Throttled; S3 SlowDown), as the
 * SDK's retry classifies them too (@smithy/core retry THROTTLING_ERROR_CODES).
 */
export const THROTTLING_ERROR_NAMES: readonly string[] = [
  'ThrottlingException',
  'TooManyRequestsException',
  'Throttling',
  'ThrottledException',
  'Throttled',
  'RequestThrottled',
  'RequestLimitExceeded',
  'SlowDown',
];

/** Whether an error (or a finding's text) is AWS saying "slow down" rather than anything about the account. */
export function isThrottling(errorOrText: unknown): boolean {
  if (typeof errorOrText === 'string') {
    return /\b(Throttl\w*|TooManyRequestsException|RequestLimitExceeded|SlowDown|Rate exceeded)\b/.test(errorOrText);
  }
  if (typeof errorOrText !== 'object' || errorOrText === null) return false;
  const error = errorOrText as { name?: unknown; $metadata?: { httpStatusCode?: number } };
  return (
    (typeof error.name === 'string' && THROTTLING_ERROR_NAMES.includes(error.name)) ||
    error.$metadata?.httpStatusCode === 429
  );
}
