/**
 * The soak on the hub topology in small (`npm run soak` runs it in full: 10,000 messages, a real 30-minute outage):
 * two tenants on two of the collector's hub queues in moto, every message what SNS delivers from a tenant's topic
 * (moto does not deliver SNS across accounts, so the soak writes SNS's envelope itself, testkit/hub.ts), the same
 * random downstream, S3 and STS faults as the customer-queue soak, planted poison (the hub's own kinds too: a
 * raw-delivery body, an unregistered topic, another tenant's keys), and a downstream outage of 5 minutes on a
 * clock 60 times faster (5 s of wall time; testkit/soak/schedule.ts scales the hub retry schedule and the circuit
 * breaker alike, so the receive counts are those of a real 5-minute outage). Correctness only: no timing is
 * asserted.
 */
import { DEFAULT_BREAKER_SETTINGS } from '../../lambdas/ingest/source/circuit-breaker';
import { HUB_MAX_RECEIVE_COUNT, retryVisibilitySeconds } from '../../lambdas/shared/topology';
import { resolveOptions } from '../../testkit/soak/options';
import { runSoak } from '../../testkit/soak/run';
import { expectLedgerComplete } from './soak-ledger-expectations';
import { describeSchedule, soakSchedule } from '../../testkit/soak/schedule';
import { motoEndpoint } from '../../testkit/test-emulator';

test('soak in small (hub, 5-minute outage): nothing lost, the hub DLQs hold the planted poison and nothing else', async () => {
  const report = await runSoak({
    topology: 'hub',
    shards: 8,
    tenants: 2,
    messages: 150,
    seed: 7,
    pollers: 4,
    batchTimeoutMs: 2_500,
    downstreamTimeoutMs: 500,
    recycleEveryBatches: 10,
    outageMinutes: 5,
    outageStart: { percentDone: 10 },
    timeScale: 60,
    timeLimitSeconds: 100,
    motoEndpoint: motoEndpoint(),
    quiet: true,
  });
  expect(report.problems).toEqual([]);
  expect(report.drained).toBe(true);
  expect(report.records.lost).toBe(0);
  expect(report.records.unexpected).toBe(0);
  expect(report.records.receivedUnique).toBeGreaterThanOrEqual(report.records.generated);
  // Every poison kind, the hub's own included, was planted, and each went to its shard's DLQ at once.
  expect(Object.keys(report.messages.poisonByKind)).toEqual(
    expect.arrayContaining(['raw-delivery-body', 'unregistered-topic', 'foreign-account-key']),
  );
  expect(report.dlq.poisonFound).toBe(report.messages.poisonPlanted);
  expect(report.dlq.unexpected).toEqual([]);
  expect(report.dlq.messages).toBe(report.dlq.poisonFound + report.dlq.poisonCopies);
  expect(report.counts.MessagesDeadLettered).toBeGreaterThanOrEqual(report.messages.poisonPlanted);
  expect(report.world.tenants.map((tenant) => tenant.queue)).toEqual(['hub shard 6', 'hub shard 5']);

  // The outage happened, messages were received and failed through it, and none came near the DLQ.
  const outage = report.outage!;
  expect(outage.requestsRefused).toBeGreaterThan(0);
  expect(outage.phases.during.receives).toBeGreaterThan(0);
  expect(outage.phases.during.acknowledged).toBeLessThan(outage.phases.during.receives);
  expect(outage.phases.after.acknowledged).toBeGreaterThan(0);
  expect(report.polling.maxReceiveCount).toBeLessThan(HUB_MAX_RECEIVE_COUNT);
  // The circuit breaker opened and deferred messages unread instead of reading each from S3 again.
  expect(report.counts.DownstreamBreakerOpened).toBeGreaterThan(0);
  expect(outage.phases.during.deferred).toBeGreaterThan(0);
  expect(report.faults.total).toBeGreaterThan(0);
  expectLedgerComplete(report.ledger, 2);
  expect(Object.keys(report.duplicates.recordsAcceptedTwiceByCause).filter((cause) => cause === 'other')).toEqual([]);
}, 150_000);

test('the time scale divides the outage, the hub retry schedule and the breaker times, and nothing else', () => {
  const real = soakSchedule(1, 30);
  expect(real.outageMs).toBe(30 * 60_000);
  expect([1, 2, 8, 40].map(real.retrySeconds)).toEqual([1, 2, 8, 40].map(retryVisibilitySeconds));
  expect(real.breaker).toEqual(DEFAULT_BREAKER_SETTINGS);

  const fast = soakSchedule(30, 30);
  expect(fast.outageMs).toBe(60_000);
  // 30 s, 60 s, ... 3600 s become 1 s, 2 s, ... 120 s: whole seconds, as SQS takes them.
  expect([1, 2, 3, 8, 40].map(fast.retrySeconds)).toEqual([1, 2, 4, 120, 120]);
  expect(fast.breaker).toEqual({ failureThreshold: 5, failureWindowMs: 1_000, openMs: 1_000, maxOpenMs: 10_000 });
  // The receive counts are not scaled: the same 40 receives span the window divided by the scale.
  expect(describeSchedule(fast, HUB_MAX_RECEIVE_COUNT).retryWindowSeconds * 30).toBeCloseTo(
    describeSchedule(real, HUB_MAX_RECEIVE_COUNT).retryWindowSeconds,
    -3,
  );
  expect(resolveOptions({ topology: 'hub' })).toMatchObject({
    maxReceiveCount: HUB_MAX_RECEIVE_COUNT,
    outageMinutes: 30,
    timeLimitSeconds: 540 + 1_800 + 3_600,
  });
  expect(() => resolveOptions({ timeScale: 0.5 })).toThrow(/timeScale/);
  expect(() => resolveOptions({ tenants: 5 })).toThrow(/tenants must be 1 to 4/);
});
