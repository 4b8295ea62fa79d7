/**
 * The SHA-256 ingest records in the ledger (lambdas/ingest/pipeline.ts, forwardRecords): over the uncompressed
 * bytes of the file, as a CloudTrail digest's `hashValue` is, computed while the decoded chunks pass, the same
 * whether the object is read whole or streamed. Checked against `sha256sum` of the gunzipped file.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { forwardRecords, type ForwardOptions, type ForwardResult } from '../../lambdas/ingest/pipeline';
import { KEEP_ALL } from '../../lambdas/ingest/records/filters';
import { generateRecords, logFileBody } from '../../testkit/cloudtrail-generator';
import { SwitchableSink } from '../../testkit/ingest-fakes';
import { SHARED_FIXTURES, readSharedFixture, sharedFixturesPresent } from '../../testkit/shared-fixtures';

const OPTIONS: ForwardOptions = {
  maxDecompressedBytes: 64 * 1024 * 1024,
  maxRecordBytes: 2 * 1024 * 1024,
  batchLimits: { maxBatchBytes: 64 * 1024, maxBatchRecords: 7 },
  maxInFlightBatches: 2,
  filter: KEEP_ALL,
  deadline: Number.MAX_SAFE_INTEGER,
};
const OBJECT = { bucket: 'b', key: 'k', kind: 'log', versionId: 'v1', etag: '"e1"' } as const;
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

function chunksOf(bytes: Buffer, size: number): AsyncIterable<Uint8Array> {
  const chunks: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += size) chunks.push(bytes.subarray(at, at + size));
  return Readable.from(chunks);
}

/** Forwards the bytes whole and as a stream of `size`-byte chunks; both must agree. */
async function forwardBoth(bytes: Buffer, size = 997): Promise<ForwardResult> {
  const whole = await forwardRecords(bytes, OBJECT, new SwitchableSink(), OPTIONS);
  const streamed = await forwardRecords(chunksOf(bytes, size), OBJECT, new SwitchableSink(), OPTIONS);
  expect(streamed).toEqual(whole);
  return whole;
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function hashOf(result: ForwardResult): string {
  if (result.outcome === 'missing') throw new Error('expected an object that was read');
  return result.sha256;
}

const describeFixtures = sharedFixturesPresent ? describe : describe.skip;

describeFixtures('against sha256sum of a gunzipped shared fixture', () => {
  test.each([
    'grafana__lambda-promtail/testdata/cloudtrail-log-file.json.gz',
    'real-cloudtrail/objects/trailscraper-111111111111-CloudTrail-eu-central-1-20171211T1505Z-A6kvhMoVeCsc7v8U-gz.json.gz',
  ])('%s', async (fixture) => {
    const file = path.join(SHARED_FIXTURES, fixture);
    // The shell's own tools, not Node's: `gunzip -c FILE | sha256sum`.
    const [expected] = execFileSync('sh', ['-c', 'gunzip -c "$1" | sha256sum', 'sh', file], {
      encoding: 'utf8',
    }).split(/\s+/);
    const uncompressedBytes = Number(
      execFileSync('sh', ['-c', 'gunzip -c "$1" | wc -c', 'sh', file], { encoding: 'utf8' }),
    );

    const result = await forwardBoth(readSharedFixture(fixture));
    expect(result).toMatchObject({ outcome: 'forwarded', versionId: 'v1', etag: '"e1"' });
    expect(hashOf(result)).toBe(expected);
    expect(result.bytesDecompressed).toBe(uncompressedBytes);
  });
});

describe('the hash of what was read', () => {
  const records = generateRecords(300, { accountId: '111122223333', region: 'us-east-1', seed: 7 });
  const json = Buffer.from(JSON.stringify({ Records: records }));

  test('a gzip log file: the uncompressed bytes, in any chunking', async () => {
    for (const size of [13, 4096, 1 << 20]) {
      const result = await forwardRecords(chunksOf(logFileBody(records), size), OBJECT, new SwitchableSink(), OPTIONS);
      expect(hashOf(result)).toBe(sha256(json));
      expect(result).toMatchObject({ outcome: 'forwarded', recordsRead: 300, bytesDecompressed: json.length });
    }
  });

  test('concatenated gzip members hash as the bytes they decompress to', async () => {
    const half = Math.floor(json.length / 2);
    const twoMembers = Buffer.concat([gzipSync(json.subarray(0, half)), gzipSync(json.subarray(half))]);
    expect(hashOf(await forwardBoth(twoMembers))).toBe(sha256(json));
  });

  test('a plain (uncompressed) .json file: its bytes as stored', async () => {
    expect(hashOf(await forwardBoth(json))).toBe(sha256(json));
  });

  test('a 0-byte file and a file without Records have hashes too (the ledger records both)', async () => {
    expect(await forwardBoth(Buffer.alloc(0))).toMatchObject({
      outcome: 'forwarded',
      empty: true,
      sha256: EMPTY_SHA256,
      bytesDecompressed: 0,
    });
    const digest = Buffer.from('{"awsAccountId":"111122223333","logFiles":[]}');
    expect(await forwardBoth(gzipSync(digest))).toMatchObject({ outcome: 'no-records', sha256: sha256(digest) });
  });

  test('records filtered out do not change the hash: it is the file, not what was forwarded', async () => {
    const filter = { ...KEEP_ALL, dropEventSources: new Set(records.map((r) => String(r.eventSource))) };
    const result = await forwardRecords(logFileBody(records), OBJECT, new SwitchableSink(), { ...OPTIONS, filter });
    expect(result).toMatchObject({ recordsForwarded: 0, recordsFiltered: 300 });
    expect(hashOf(result)).toBe(sha256(json));
  });
});
