/**
 * The ledger's size and price at 10,000 accounts (docs/completeness.md, "Sizing and cost at 10,000 accounts"),
 * measured on a run over 10,000 ledger items as LedgerTable.recordBatch writes them (realistic keys, bucket names,
 * version ids, ETags and hashes), with DynamoDB's item size rules ("DynamoDB item sizes and formats", DynamoDB
 * Developer Guide: names and values in UTF-8 bytes, a number 1 byte per two significant digits plus 1, and 100
 * bytes of storage overhead per item). The page quotes what this test computes; the test fails when they differ.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { LEDGER_TTL_DAYS_DEFAULT, fileRef, filePartition, type LedgerEntry } from '../../lambdas/shared/ledger';
import { logFileKey } from '../../testkit/cloudtrail-generator';
import { itemSize } from '../../testkit/dynamodb-item-size';

const REGIONS = ['us-east-1', 'us-east-2', 'us-west-2', 'eu-west-1', 'eu-central-1', 'ap-southeast-2'] as const;
const hex = (seed: string, length: number) => createHash('sha256').update(seed).digest('hex').slice(0, length);

/** 10,000 files of 40 accounts, each active in up to 6 regions, 5 minutes apart: the items ingest writes. */
function tenThousandItems(): Record<string, unknown>[] {
  const items: Record<string, unknown>[] = [];
  const start = Date.parse('2026-11-24T00:00:00Z');
  for (let index = 0; index < 10_000; index += 1) {
    const accountId = String(111_100_000_000 + (index % 40));
    const region = REGIONS[index % REGIONS.length]!;
    const time = new Date(start + Math.floor(index / 40) * 5 * 60_000);
    const key = logFileKey({ accountId, region, time, unique: hex(`u${index}`, 16) });
    const collectedAt = new Date(time.getTime() + 90_000).toISOString();
    const entry: LedgerEntry = {
      accountId,
      region,
      day: time.toISOString().slice(0, 10),
      bucket: `aws-cloudtrail-logs-${accountId}-${hex(accountId, 8)}`,
      key,
      versionId: hex(`v${index}`, 32),
      etag: `"${hex(`e${index}`, 32)}"`,
      kind: 'log',
      records: 1 + (index % 500),
      bytes: 2_000 + ((index * 7919) % 2_000_000),
      sha256: hex(`h${index}`, 64),
      collectedAt,
    };
    // As LedgerTable.recordBatch puts it.
    items.push({
      pk: filePartition(entry.accountId, entry.region, entry.day),
      sk: fileRef(entry.bucket, entry.key),
      ...entry,
      expiresAt: Math.floor(Date.parse(collectedAt) / 1000) + LEDGER_TTL_DAYS_DEFAULT * 86_400,
    });
  }
  return items;
}

/** On-demand, us-east-1 (https://aws.amazon.com/dynamodb/pricing/on-demand/). */
const DYNAMODB = { perMillionWrites: 0.625, perMillionReads: 0.125, perGbMonth: 0.25, pitrPerGbMonth: 0.2 };
/** The bench's steady traffic (docs/costs.md, "Ingest topologies"): files per account and month. */
const FILES_PER_ACCOUNT_MONTH = 38_880;
const ACCOUNTS = 10_000;
const GB = 1024 ** 3;

export interface Sizing {
  meanBytes: number;
  maxBytes: number;
  /** Write request units per file: the item (1 KB each) and the newest-file update (at most one per file). */
  writeUnitsPerFile: number;
  writeUsdPerMillionFiles: number;
  storedGbPerMillionFiles: number;
  filesPerMonth: number;
  itemsKept: number;
  storedGb: number;
  writeUsdPerMonth: number;
  storageUsdPerMonth: number;
  pitrUsdPerMonth: number;
  /** One region's day of one account (288 files: one every 5 minutes), read by one eventually consistent Query. */
  readUnitsPerRegionDay: number;
}

function sizing(): Sizing {
  const sizes = tenThousandItems().map(itemSize);
  const meanBytes = sizes.reduce((a, b) => a + b, 0) / sizes.length;
  const maxBytes = Math.max(...sizes);
  const writeUnitsPerFile = Math.max(...sizes.map((s) => Math.ceil(s / 1024))) + 1;
  const storedGbPerMillionFiles = ((meanBytes + 100) * 1_000_000) / GB;
  const filesPerMonth = ACCOUNTS * FILES_PER_ACCOUNT_MONTH;
  const itemsKept = (filesPerMonth * LEDGER_TTL_DAYS_DEFAULT) / 30;
  const storedGb = ((meanBytes + 100) * itemsKept) / GB;
  return {
    meanBytes: Math.round(meanBytes),
    maxBytes,
    writeUnitsPerFile,
    writeUsdPerMillionFiles: writeUnitsPerFile * DYNAMODB.perMillionWrites,
    storedGbPerMillionFiles,
    filesPerMonth,
    itemsKept,
    storedGb,
    writeUsdPerMonth: (filesPerMonth / 1_000_000) * writeUnitsPerFile * DYNAMODB.perMillionWrites,
    storageUsdPerMonth: storedGb * DYNAMODB.perGbMonth,
    pitrUsdPerMonth: storedGb * DYNAMODB.pitrPerGbMonth,
    // Query reads the items' sizes summed, 4 KB per unit, half a unit eventually consistent.
    readUnitsPerRegionDay: Math.ceil((288 * meanBytes) / 4096) / 2,
  };
}

const usd = (amount: number) =>
  `$${amount.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
const count = (n: number) => Math.round(n).toLocaleString('en-US');

describe('the ledger at 10,000 accounts', () => {
  const s = sizing();
  const doc = readFileSync(path.join(__dirname, '../../docs/completeness.md'), 'utf8');
  const section = doc.slice(doc.indexOf('<!-- sizing -->'));

  test('an item is well under 1 KB: one write request unit per file, and one for the newest-file update', () => {
    expect(s.maxBytes).toBeLessThan(1024);
    expect(s.meanBytes).toBeGreaterThan(400);
    expect(s.writeUnitsPerFile).toBe(2);
    expect(s.writeUsdPerMillionFiles).toBe(1.25);
  });

  test('docs/completeness.md quotes the figures of this run', () => {
    for (const quoted of [
      `${s.meanBytes} bytes`,
      `${s.maxBytes} bytes`,
      `${usd(s.writeUsdPerMillionFiles)} per million files`,
      `${s.storedGbPerMillionFiles.toFixed(2)} GB per million files`,
      `${count(s.filesPerMonth)} files a month`,
      `${count(s.itemsKept)} items`,
      `${Math.round(s.storedGb)} GB`,
      `${usd(s.writeUsdPerMonth)} a month`,
      `${usd(s.storageUsdPerMonth)} a month`,
      `${usd(s.pitrUsdPerMonth)} a month`,
      `${s.readUnitsPerRegionDay} read request units`,
    ]) {
      expect({ quoted, found: section.includes(quoted) }).toEqual({ quoted, found: true });
    }
  });
});

// Printed for the page when it is updated: `npx jest test/unit/backfill-sizing.test.ts --verbose=false`.
if (process.env.PRINT_SIZING === '1') console.log(sizing());
