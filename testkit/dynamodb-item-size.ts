/**
 * DynamoDB's size of an item, in bytes, by the rules of "Item sizes and formats" (DynamoDB Developer Guide,
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html): each attribute
 * name and string value in UTF-8 bytes, a number 1 byte per two significant digits plus 1. What a write request
 * unit is counted from (1 KB each, https://aws.amazon.com/dynamodb/pricing/on-demand/). Strings and numbers only:
 * what ledger items hold (test/unit/backfill-sizing.test.ts, the soak's ledger figures in testkit/soak/ledger.ts).
 */
export function itemSize(item: Record<string, unknown>): number {
  let size = 0;
  for (const [name, value] of Object.entries(item)) {
    if (value === undefined) continue;
    size += Buffer.byteLength(name);
    if (typeof value === 'string') size += Buffer.byteLength(value);
    else if (typeof value === 'number') {
      const digits = String(Math.abs(value)).replace('.', '').replace(/^0+/, '').replace(/0+$/, '').length;
      size += Math.ceil(digits / 2) + 1;
    } else throw new Error(`itemSize: unexpected ${typeof value} in ${name}`);
  }
  return size;
}

/** The write request units of writing an item of this size: one per 1 KB, rounded up (at least one). */
export function writeUnits(sizeBytes: number): number {
  return Math.max(1, Math.ceil(sizeBytes / 1024));
}
