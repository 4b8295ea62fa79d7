/**
 * The fake cloud of the 10,000-account reconcile benchmark (bench/reconcile-scale/run.ts): testkit/fake-cloud.ts's
 * accounts and answers, reached through the reconcile's real SDK clients (testkit/sdk-transport.ts), with
 *
 * - AWS's rate limits per API and account, enforced as AWS would: a call over the quota fails with the error AWS
 *   throttles with (Lambda TooManyRequestsException 429; CloudTrail ThrottlingException; STS Throttling "Rate
 *   exceeded"). The table below is the fake's own, written from the AWS pages (not imported from
 *   lambdas/shared/rate-limiter.ts), so a wrong limiter would show as throttles here:
 *   Lambda control plane 15/s per account and Region (Lambda Developer Guide, "Lambda quotas"); CloudTrail Get/
 *   Describe/List 10 TPS, other calls 1 TPS, per account and Region (CloudTrail User Guide, "Quotas in AWS
 *   CloudTrail"); STS AssumeRole 50/s per caller account (assumed: AWS publishes no figure). Buckets hold one
 *   second's worth. S3, SNS and SQS are not limited: their per-account rates are orders above a reconcile's.
 * - the customers' own tools on a share of the accounts (`noisyFraction`), using 8 of CloudTrail's 10 read TPS
 *   there, so the reconcile's reads in those accounts do get throttled and must be retried;
 * - latency per call: lognormal with 95% between 50 and 150 ms (median 87 ms), and 1% of calls taking 2 s;
 * - 2% of accounts failing in one of seven ways (FAILURES).
 *
 * Accounts are seeded when their job starts and dropped when it ends (`prepare`/`finish`), so the fake's memory
 * does not grow with the number of accounts and the worker's RSS is the worker's. ListEventSourceMappings by
 * function answers at most 100 mappings a page with NextMarker, as Lambda does ("ListEventSourceMappings returns
 * a maximum of 100 items in each response": Lambda API Reference, ListEventSourceMappings, MaxItems).
 */
import { seededRandom } from '../../testkit/cloudtrail-generator';
import { FakeCloud, seedHealthyAccount } from '../../testkit/fake-cloud';
import { awsServiceError, fakeCloudHandler, type SdkCall, type SdkCallHandler } from '../../testkit/sdk-transport';
import { TokenBucket } from '../../lambdas/shared/rate-limiter';
import { COLLECTOR_SCOPE } from '../../lambdas/reconcile/clients';

export const FUNCTION_ARN = 'arn:aws:lambda:us-east-1:123456789012:function:cloudtrail-collector-ingest';
export const INGEST_ROLE = 'arn:aws:iam::123456789012:role/cloudtrail-collector-ingest';
export const REGION = 'us-east-1';

/** How a failing account fails: what the reconcile should report or repair there. */
export const FAILURES = [
  'role-unassumable', // STS AccessDenied: ROLE_UNASSUMABLE
  'access-denied', // DescribeTrails AccessDeniedException: OBSERVE_INCOMPLETE
  'missing-trail', // no trail: created (CloudTrail writes, 1 TPS)
  'logging-stopped', // StartLogging
  'subscription-deleted', // Subscribe again
  'mapping-missing', // CreateEventSourceMapping (Lambda's control plane)
  'bucket-policy-missing', // delivery fails (AccessDenied): PutBucketPolicy
] as const;
export type Failure = (typeof FAILURES)[number];

/** The fake's rate limits (see the header): per account (and Region), rate per second. */
function serverQuota(service: string, operation: string): { bucket: string; rate: number } | undefined {
  if (service === 'lambda') return operation === 'Invoke' ? undefined : { bucket: 'control-plane', rate: 15 };
  if (service === 'cloudtrail') {
    if (operation === 'LookupEvents') return { bucket: 'LookupEvents', rate: 2 };
    return /^(Get|Describe|List)/.test(operation) ? { bucket: 'read', rate: 10 } : { bucket: 'other', rate: 1 };
  }
  if (service === 'sts' && operation === 'AssumeRole') return { bucket: 'AssumeRole', rate: 50 };
  return undefined;
}

const THROTTLE: Record<string, () => Error> = {
  lambda: () => awsServiceError('TooManyRequestsException', 429, 'Rate exceeded'),
  cloudtrail: () => awsServiceError('ThrottlingException', 400, 'Rate exceeded'),
  sts: () => awsServiceError('Throttling', 400, 'Rate exceeded'),
};

export interface WorldOptions {
  accounts: number;
  /** Fraction of accounts that fail (default 0.02). */
  failingFraction?: number;
  /** Fraction of accounts whose own tools use 8 of CloudTrail's 10 read TPS (default 0.05). */
  noisyFraction?: number;
  seed?: number;
}

export interface WorldCounts {
  calls: number;
  byService: Record<string, number>;
  /** Attempts the fake answered with a throttling error. */
  throttled: number;
  throttledByService: Record<string, number>;
  lambdaControlPlaneCalls: number;
}

export class ScaleWorld {
  readonly cloud = new FakeCloud();
  readonly ids: string[];
  private readonly failures = new Map<string, Failure>();
  private readonly noisy = new Set<string>();
  /** The fake's quota buckets, by account (collector or customer), then by service, Region and quota. */
  private readonly buckets = new Map<string, Map<string, TokenBucket>>();
  private readonly rng: () => number;
  private readonly answer: SdkCallHandler;
  readonly counts: WorldCounts = {
    calls: 0,
    byService: {},
    throttled: 0,
    throttledByService: {},
    lambdaControlPlaneCalls: 0,
  };

  constructor(options: WorldOptions) {
    this.rng = seededRandom(options.seed ?? 14);
    this.ids = Array.from({ length: options.accounts }, (_, index) => String(100000000000 + index));
    const failingEvery = Math.round(1 / (options.failingFraction ?? 0.02));
    const noisyEvery = Math.round(1 / (options.noisyFraction ?? 0.05));
    this.ids.forEach((id, index) => {
      // Spread over the id order (the sweep sends oldest-first, then by id): failures are not bunched.
      if (index % failingEvery === failingEvery - 1) {
        this.failures.set(id, FAILURES[Math.floor(index / failingEvery) % FAILURES.length]!);
      }
      if (index % noisyEvery === 3) this.noisy.add(id);
    });
    this.answer = fakeCloudHandler(this.cloud, () => Date.now());
  }

  failureOf(accountId: string): Failure | undefined {
    return this.failures.get(accountId);
  }

  get failingAccounts(): number {
    return this.failures.size;
  }

  /** The registry item of an account (what registration recorded); no fake state is created. */
  record(accountId: string) {
    const trailArn = `arn:aws:cloudtrail:${REGION}:${accountId}:trail/outcomes-trail`;
    return {
      accountId,
      trailArn,
      bucketName: `outcomes-${accountId}`,
      topicArn: `arn:aws:sns:${REGION}:${accountId}:outcomestopic`,
      queueArn: `arn:aws:sqs:${REGION}:${accountId}:outcomesqueue`,
    };
  }

  /** The ingest function's mapping of the account's queue, as the collector account holds it (none: mapping-missing). */
  addMapping(accountId: string): void {
    if (this.failures.get(accountId) === 'mapping-missing') return;
    this.cloud.esms.push({
      uuid: `esm-seed-${accountId}`,
      queueArn: this.record(accountId).queueArn,
      functionArn: FUNCTION_ARN,
      state: 'Enabled',
      maximumConcurrency: 2,
    });
  }

  removeMappings(accountId: string): void {
    const queueArn = this.record(accountId).queueArn;
    for (let i = this.cloud.esms.length - 1; i >= 0; i--) {
      if (this.cloud.esms[i]!.queueArn === queueArn) this.cloud.esms.splice(i, 1);
    }
  }

  /** Seeds the account's chain (with its failure, if any) just before its job runs. */
  prepare(accountId: string): void {
    seedHealthyAccount(this.cloud, accountId, { ingestRoleArn: INGEST_ROLE });
    const account = this.cloud.account(accountId);
    switch (this.failures.get(accountId)) {
      case 'role-unassumable':
        this.cloud.unassumable.add(accountId);
        break;
      case 'access-denied':
        this.cloud.fail(accountId, 'DescribeTrails', {
          name: 'AccessDeniedException',
          message: 'User is not authorized to perform: cloudtrail:DescribeTrails',
        });
        break;
      case 'missing-trail':
        account.trails.length = 0;
        break;
      case 'logging-stopped':
        account.trails[0]!.logging = false;
        break;
      case 'subscription-deleted':
        account.subscriptions.length = 0;
        break;
      case 'bucket-policy-missing':
        // Without the policy CloudTrail cannot write: GetTrailStatus reports the delivery error.
        account.buckets.set(`outcomes-${accountId}`, undefined);
        account.trails[0]!.deliveryError = 'AccessDenied';
        break;
      default:
        break;
    }
  }

  /** Drops the account's fake state once its job ended (the fake's memory stays flat). */
  finish(accountId: string): void {
    this.cloud.accounts.delete(accountId);
    this.cloud.unassumable.delete(accountId);
    this.cloud.failures.delete(`${accountId}:DescribeTrails`);
    this.cloud.calls.length = 0;
    this.buckets.delete(accountId);
  }

  private bucket(call: SdkCall, quota: { bucket: string; rate: number }): TokenBucket {
    const account = call.service === 'sts' ? COLLECTOR_SCOPE : call.account;
    let ofAccount = this.buckets.get(account);
    if (ofAccount === undefined) {
      ofAccount = new Map<string, TokenBucket>();
      this.buckets.set(account, ofAccount);
    }
    const key = `${call.service}\u0000${call.region}\u0000${quota.bucket}`;
    let bucket = ofAccount.get(key);
    if (bucket === undefined) {
      // The customer's tools leave 2 of the 10 read TPS in a noisy account.
      const rate = quota.bucket === 'read' && this.noisy.has(call.account) ? quota.rate - 8 : quota.rate;
      bucket = new TokenBucket(rate, rate, { now: () => Date.now(), sleep: () => Promise.resolve() });
      ofAccount.set(key, bucket);
    }
    return bucket;
  }

  /** Lognormal, 95% within 50-150 ms (median sqrt(50*150) = 87 ms); 1% of calls 2 s. */
  private latencyMs(): number {
    if (this.rng() < 0.01) return 2000;
    const normal = Math.sqrt(-2 * Math.log(1 - this.rng())) * Math.cos(2 * Math.PI * this.rng());
    return Math.exp(Math.log(Math.sqrt(50 * 150)) + normal * (Math.log(150 / 50) / (2 * 1.96)));
  }

  /** The transport's handler: quota check on arrival, latency, then the fake's answer or the throttle. */
  readonly handle: SdkCallHandler = async (call) => {
    const counts = this.counts;
    counts.calls += 1;
    counts.byService[call.service] = (counts.byService[call.service] ?? 0) + 1;
    if (call.service === 'lambda') counts.lambdaControlPlaneCalls += 1;
    const quota = serverQuota(call.service, call.operation);
    const admitted = quota === undefined || this.bucket(call, quota).tryTake();
    await new Promise((resolve) => setTimeout(resolve, this.latencyMs()));
    if (!admitted) {
      counts.throttled += 1;
      counts.throttledByService[call.service] = (counts.throttledByService[call.service] ?? 0) + 1;
      throw THROTTLE[call.service]!();
    }
    const functionName = call.input.FunctionName;
    if (call.service === 'lambda' && call.operation === 'ListEventSourceMappings' && typeof functionName === 'string') {
      return this.mappingsPage(functionName, call.input.Marker as string | undefined);
    }
    return this.answer(call);
  };

  /** ListEventSourceMappings by function: 100 a page, NextMarker the index of the next one. */
  private mappingsPage(functionArn: string, marker: string | undefined) {
    const all = this.cloud.esms.filter((m) => m.functionArn === functionArn);
    const start = marker === undefined ? 0 : Number(marker);
    const page = all.slice(start, start + 100);
    return {
      EventSourceMappings: page.map((m) => ({
        UUID: m.uuid,
        FunctionArn: m.functionArn,
        EventSourceArn: m.queueArn,
        State: m.state,
        ...(m.maximumConcurrency !== undefined ? { ScalingConfig: { MaximumConcurrency: m.maximumConcurrency } } : {}),
      })),
      ...(start + 100 < all.length ? { NextMarker: String(start + 100) } : {}),
    };
  }
}
