/**
 * The soak (testkit/soak/, which `npm run soak` runs in full) in small, so that the test suite keeps it working, on
 * the seed's customer-queue topology: random downstream, S3 and STS faults, a real queue with a short visibility
 * timeout and a redrive policy, and the same verdict as the full run. Correctness only; its timings are not
 * asserted. The hub topology, with its long outage: soak-hub.int.test.ts.
 */
import { runSoak } from '../../testkit/soak/run';
import { expectLedgerComplete } from './soak-ledger-expectations';
import { motoEndpoint } from '../../testkit/test-emulator';

test('soak in small (customer queue): nothing lost, the DLQ holds exactly the planted poison, no record accepted twice by accident', async () => {
  const report = await runSoak({
    topology: 'customer-queue',
    messages: 150,
    seed: 7,
    pollers: 3,
    visibilitySeconds: 3,
    batchTimeoutMs: 2_500,
    downstreamTimeoutMs: 500,
    recycleEveryBatches: 3,
    timeLimitSeconds: 100,
    motoEndpoint: motoEndpoint(),
    quiet: true,
  });
  expect(report.problems).toEqual([]);
  expect(report.drained).toBe(true);
  expect(report.records.lost).toBe(0);
  expect(report.records.receivedUnique).toBeGreaterThanOrEqual(report.records.generated);
  expect(report.dlq.poisonFound).toBe(report.messages.poisonPlanted);
  expect(report.dlq.unexpected).toEqual([]);
  expect(report.faults.total).toBeGreaterThan(0);
  expectLedgerComplete(report.ledger, 1);
  // Only an inconsistent 413 (random here, size-based in real intakes) can make a record be accepted twice.
  expect(Object.keys(report.duplicates.recordsAcceptedTwiceByCause).filter((cause) => cause === 'other')).toEqual([]);
}, 150_000);
