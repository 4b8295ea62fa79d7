/**
 * The quotas as code (lambdas/shared/rate-limiter.ts) and the bounded cache (lambdas/shared/lru-cache.ts): token
 * buckets on a fake clock, which AWS quota each call draws from, the limiter as a middleware on a real SDK
 * client, and LRU eviction.
 */
import { CloudTrailClient, DescribeTrailsCommand, StartLoggingCommand } from '@aws-sdk/client-cloudtrail';
import { LruCache } from '../../lambdas/shared/lru-cache';
import {
  RateLimiters,
  TokenBucket,
  applyRateLimits,
  isThrottling,
  quotaFor,
  type Clock,
  type QuotaScope,
} from '../../lambdas/shared/rate-limiter';
import { sdkTransport } from '../../testkit/sdk-transport';

/** Lets pending promise chains (the SDK's middleware steps) run before time moves. */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
}

/**
 * Lets the event loop run until `done()` holds (bounded): how many turns an SDK call takes to reach its
 * middleware differs between Node versions (Node 24 takes more than 22), so a fixed count is not enough.
 */
async function settleUntil(done: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 2_000 && !done(); i++) await new Promise((resolve) => setImmediate(resolve));
  if (!done()) throw new Error(`the event loop settled without ${what}`);
}

/** A clock that only moves when told; sleepers wake in order of their deadline. */
function fakeClock(start = 0) {
  let now = start;
  const sleepers: { until: number; wake: () => void }[] = [];
  const clock: Clock = {
    now: () => now,
    sleep: (ms) => new Promise<void>((resolve) => sleepers.push({ until: now + ms, wake: resolve })),
  };
  return {
    clock,
    now: () => now,
    sleeping: () => sleepers.length,
    /** Moves time forward, waking (and letting run) every sleeper due by then. */
    async advance(ms: number) {
      const target = now + ms;
      for (;;) {
        sleepers.sort((a, b) => a.until - b.until);
        const next = sleepers[0];
        if (next === undefined || next.until > target) break;
        sleepers.shift();
        now = next.until;
        next.wake();
        await settle();
      }
      now = target;
    },
  };
}

const CUSTOMER: QuotaScope = { service: 'cloudtrail', account: '111122223333', region: 'us-east-1', share: 1 };

describe('TokenBucket', () => {
  test('gives the burst at once, then one token per 1/rate seconds, in arrival order', () => {
    const time = fakeClock();
    const bucket = new TokenBucket(2, 3, time.clock);
    expect([bucket.reserve(), bucket.reserve(), bucket.reserve()]).toEqual([0, 0, 0]);
    // Beyond the burst, the n-th waiter is told n / rate seconds.
    expect([bucket.reserve(), bucket.reserve()]).toEqual([500, 1000]);
  });

  test('refills with time, never above the burst', async () => {
    const time = fakeClock();
    const bucket = new TokenBucket(1, 2, time.clock);
    bucket.reserve();
    bucket.reserve();
    expect(bucket.tryTake()).toBe(false);
    await time.advance(10_000);
    expect(bucket.isFull()).toBe(true);
    expect([bucket.tryTake(), bucket.tryTake(), bucket.tryTake()]).toEqual([true, true, false]);
  });

  test('tryTake never goes into debt (a service throttles instead)', async () => {
    const time = fakeClock();
    const bucket = new TokenBucket(10, 1, time.clock);
    expect(bucket.tryTake()).toBe(true);
    for (let i = 0; i < 5; i++) expect(bucket.tryTake()).toBe(false);
    await time.advance(100);
    expect(bucket.tryTake()).toBe(true);
  });

  test('take() sleeps for its reservation on the injected clock', async () => {
    const time = fakeClock();
    const bucket = new TokenBucket(1, 1, time.clock);
    await bucket.take();
    let done = false;
    const second = bucket.take().then(() => (done = true));
    await time.advance(999);
    expect(done).toBe(false);
    await time.advance(1);
    await second;
    expect(done).toBe(true);
  });

  test('a rate or burst that cannot work is refused, naming it', () => {
    expect(() => new TokenBucket(0, 1)).toThrow('ratePerSecond must be a positive number, got 0');
    expect(() => new TokenBucket(1, 0.5)).toThrow('burst must be at least 1, got 0.5');
  });
});

describe('the quotas each call draws from (AWS: Lambda quotas; Quotas in AWS CloudTrail)', () => {
  test("CloudTrail's Get, Describe and List calls share 10 TPS; every other call shares 1 TPS", () => {
    for (const read of ['DescribeTrails', 'GetTrailStatus', 'GetEventSelectors', 'GetInsightSelectors', 'ListTrails']) {
      expect(quotaFor('cloudtrail', read)).toEqual({ bucket: 'read', ratePerSecond: 10 });
    }
    for (const write of ['CreateTrail', 'UpdateTrail', 'StartLogging', 'StopLogging', 'PutEventSelectors', 'AddTags']) {
      expect(quotaFor('cloudtrail', write)).toEqual({ bucket: 'other', ratePerSecond: 1 });
    }
    expect(quotaFor('cloudtrail', 'LookupEvents')).toEqual({ bucket: 'LookupEvents', ratePerSecond: 2 });
  });

  test("Lambda's event source mapping calls share the 15 requests/s control plane; GetFunction has its own", () => {
    for (const call of ['ListEventSourceMappings', 'CreateEventSourceMapping', 'UpdateEventSourceMapping']) {
      expect(quotaFor('lambda', call)).toEqual({ bucket: 'control-plane', ratePerSecond: 15 });
    }
    expect(quotaFor('lambda', 'GetFunction')).toEqual({ bucket: 'GetFunction', ratePerSecond: 100 });
    expect(quotaFor('lambda', 'Invoke')).toBeUndefined();
    expect(quotaFor('s3', 'GetBucketPolicy')).toBeUndefined();
  });
});

describe('RateLimiters', () => {
  test('one bucket per (service, account, region, quota): reads and writes apart, accounts apart', () => {
    const limiters = new RateLimiters();
    const reads = limiters.bucketFor(CUSTOMER, 'DescribeTrails');
    expect(limiters.bucketFor(CUSTOMER, 'GetTrailStatus')).toBe(reads);
    expect(limiters.bucketFor(CUSTOMER, 'StartLogging')).not.toBe(reads);
    expect(limiters.bucketFor({ ...CUSTOMER, account: '222233334444' }, 'DescribeTrails')).not.toBe(reads);
    expect(limiters.bucketFor({ ...CUSTOMER, region: 'eu-west-1' }, 'DescribeTrails')).not.toBe(reads);
  });

  test("a share gives this process that fraction of the quota (the collector's 15/s over 4 workers)", () => {
    const limiters = new RateLimiters();
    const bucket = limiters.bucketFor(
      { service: 'lambda', account: 'collector', region: 'us-east-1', share: 0.25 },
      'ListEventSourceMappings',
    );
    expect(bucket?.ratePerSecond).toBe(3.75);
    expect(bucket?.burst).toBe(3);
    expect(() => limiters.bucketFor({ ...CUSTOMER, share: 0 }, 'DescribeTrails')).toThrow(
      'share for cloudtrail in 111122223333 must be in (0, 1]',
    );
  });

  test('buckets stay bounded: full ones are forgotten (a fresh bucket is the same)', async () => {
    const time = fakeClock();
    const limiters = new RateLimiters({ clock: time.clock, maxBuckets: 10 });
    for (let i = 0; i < 10; i++) await limiters.acquire({ ...CUSTOMER, account: String(i) }, 'DescribeTrails');
    await time.advance(1000);
    await limiters.acquire({ ...CUSTOMER, account: 'eleventh' }, 'DescribeTrails');
    expect(limiters.size).toBe(1);
  });

  test('as a middleware on a real CloudTrail client, the 11th read in a second waits, the writes go 1 a second', async () => {
    const time = fakeClock(Date.parse('2026-12-04T00:00:00Z'));
    const limiters = new RateLimiters({ clock: time.clock });
    const client = new CloudTrailClient({
      region: 'us-east-1',
      credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
    });
    applyRateLimits(client, limiters, CUSTOMER);
    const sent: { operation: string; at: number }[] = [];
    sdkTransport((call) => {
      sent.push({ operation: call.operation, at: time.now() });
      return Promise.resolve({});
    })(client, CUSTOMER);
    const start = time.now();
    const reads = Array.from({ length: 12 }, () => client.send(new DescribeTrailsCommand({})));
    const writes = Array.from({ length: 3 }, () => client.send(new StartLoggingCommand({ Name: 't' })));
    // Every call has either gone out at once or is waiting on the limiter before the clock moves.
    await settleUntil(() => sent.length + time.sleeping() >= 15, 'every call reaching the rate limiter');
    await settle();
    await time.advance(3000);
    await Promise.all([...reads, ...writes]);
    const offsets = (operation: string) => sent.filter((s) => s.operation === operation).map((s) => s.at - start);
    expect(offsets('DescribeTrails')).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 100, 200]);
    expect(offsets('StartLogging')).toEqual([0, 1000, 2000]);
    expect(limiters.delayedCalls).toBe(4);
  });
});

describe('isThrottling', () => {
  test('knows the names AWS throttles with, and says no to what is about the account', () => {
    expect(isThrottling({ name: 'ThrottlingException' })).toBe(true);
    expect(isThrottling({ name: 'TooManyRequestsException', $metadata: { httpStatusCode: 429 } })).toBe(true);
    expect(isThrottling({ name: 'Throttling' })).toBe(true);
    expect(isThrottling({ name: 'Whatever', $metadata: { httpStatusCode: 429 } })).toBe(true);
    expect(isThrottling({ name: 'AccessDeniedException', $metadata: { httpStatusCode: 400 } })).toBe(false);
    expect(isThrottling('DescribeTrails failed: Throttling: Rate exceeded')).toBe(true);
    expect(isThrottling('DescribeTrails failed: AccessDeniedException: denied')).toBe(false);
  });
});

describe('LruCache', () => {
  test('evicts the least recently used entry, telling onEvict; a get makes an entry recent', () => {
    const evicted: string[] = [];
    const cache = new LruCache<string, number>(2, (value, key) => evicted.push(`${key}=${value}`));
    cache.set('a', 1);
    cache.set('b', 2);
    expect(cache.get('a')).toBe(1);
    cache.set('c', 3);
    expect(evicted).toEqual(['b=2']);
    expect([cache.has('a'), cache.has('b'), cache.has('c')]).toEqual([true, false, true]);
    expect(cache.evictions).toBe(1);
  });

  test('getOrCreate builds once per key while it stays; delete is not an eviction', () => {
    const evicted: number[] = [];
    const cache = new LruCache<string, number>(1, (value) => evicted.push(value));
    let builds = 0;
    expect(cache.getOrCreate('a', () => ++builds)).toBe(1);
    expect(cache.getOrCreate('a', () => ++builds)).toBe(1);
    expect(cache.delete('a')).toBe(true);
    expect(evicted).toEqual([]);
    expect(cache.getOrCreate('a', () => ++builds)).toBe(2);
  });

  test('a size that cannot hold anything is refused, naming it', () => {
    expect(() => new LruCache(0)).toThrow('maxEntries must be a whole number of at least 1, got 0');
  });
});
