/**
 * The soak (testkit/soak/, which `npm run soak` runs in full) in small, so that the test suite keeps it working, on
 * the seed's customer-queue topology: random downstream, S3 and STS faults, a real queue with a short visibility
 * timeout and a redrive policy, and the same verdict as the full run. Correctness only; its timings are not
 * asserted. The hub topology, with its long outage: soak-hub.int.test.ts.
 */
import { runSoak } from '../../testkit/soak/run';
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
  // The ledger (docs/completeness.md): every file collected has its item, with the SHA-256 and the record count of
  // its bytes as generated, and nothing else is in it; one write request unit per item put and per newest-file update.
  const ledger = report.ledger;
  expect(ledger.writeFailed).toBe(0);
  expect(ledger.filesDelivered).toBeGreaterThan(100);
  expect(ledger.filesCollected).toBe(ledger.filesDelivered);
  expect(ledger.fileItems).toBe(ledger.filesDelivered);
  expect({
    collectedNotInLedger: ledger.collectedNotInLedger,
    hashMismatch: ledger.hashMismatch,
    recordsMismatch: ledger.recordsMismatch,
    bytesMismatch: ledger.bytesMismatch,
    unexpectedItems: ledger.unexpectedItems,
  }).toEqual({ collectedNotInLedger: 0, hashMismatch: 0, recordsMismatch: 0, bytesMismatch: 0, unexpectedItems: 0 });
  expect(ledger.newestItems).toBe(1);
  expect(ledger.writes.puts).toBeGreaterThanOrEqual(ledger.fileItems);
  expect(ledger.itemBytes.fileMax).toBeLessThan(1024);
  expect(ledger.writes.units).toBe(ledger.writes.puts + ledger.writes.updates + ledger.writes.updatesNotNewer);
  expect(ledger.writes.usdPerMillionFiles).toBeCloseTo(ledger.writes.unitsPerFile * 0.625, 2);
  // Only an inconsistent 413 (random here, size-based in real intakes) can make a record be accepted twice.
  expect(Object.keys(report.duplicates.recordsAcceptedTwiceByCause).filter((cause) => cause === 'other')).toEqual([]);
}, 150_000);
