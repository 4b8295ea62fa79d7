import type { LedgerFigures } from '../../testkit/soak/ledger';

/**
 * The ledger after a soak (docs/completeness.md): every file collected has its item, with the SHA-256 and the record
 * count of its bytes as generated, and nothing else is in it; one write request unit per item put and per newest-file
 * update. `newestItems`: one per tenant account and region of the run.
 */
export function expectLedgerComplete(ledger: LedgerFigures, newestItems: number): void {
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
  expect(ledger.newestItems).toBe(newestItems);
  expect(ledger.writes.puts).toBeGreaterThanOrEqual(ledger.fileItems);
  expect(ledger.itemBytes.fileMax).toBeLessThan(1024);
  expect(ledger.writes.units).toBe(ledger.writes.puts + ledger.writes.updates + ledger.writes.updatesNotNewer);
  expect(ledger.writes.usdPerMillionFiles).toBeCloseTo(ledger.writes.unitsPerFile * 0.625, 2);
}
