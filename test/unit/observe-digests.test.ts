/**
 * Reconcile's digest verification step (lambdas/reconcile/observe-digests.ts) over an in-memory bucket and ledger,
 * with digests signed by the test key (testkit/digest.ts): the window (first run, cursor, the 90-minute settle
 * time, the per-run bound), the cursor held by a file the ledger lacks, the cases where the step does not run, a
 * failure that never fails the run, and a reconcile run that records the cursor and reports the findings.
 */
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { gzipSync } from 'node:zlib';
import {
  MAX_DIGESTS_PER_RUN,
  digestWindow,
  observeDigests,
  windowHours,
  type DigestStepInput,
} from '../../lambdas/reconcile/observe-digests';
import { reconcileAll } from '../../lambdas/reconcile/reconcile';
import type { CustomerClients } from '../../lambdas/reconcile/clients';
import { known, type ObservedState } from '../../lambdas/reconcile/types';
import { fileRef, type LedgerEntry, type LedgerTable, type NewestFile } from '../../lambdas/shared/ledger';
import { silentLogger } from '../../lambdas/shared/logger';
import { classifyObjectKey } from '../../lambdas/shared/object-key';
import { logFileKey } from '../../testkit/cloudtrail-generator';
import { DigestChainWriter, publicKeysClient, testSigningKey, type ListedLogFile } from '../../testkit/digest';
import { FakeCloud, MemoryRegistry, seedHealthyAccount } from '../../testkit/fake-cloud';
import { probeTargets } from '../../lambdas/reconcile/targets';
import { ACCT, BUCKET, RECONCILE_SETTINGS, REGION, context, healthy, trail } from '../../testkit/reconcile-fixtures';

const NOW = new Date('2026-11-02T12:00:00.000Z');
const HOUR_MS = 3_600_000;

/** S3 as ListObjectsV2 (with Delimiter), GetObject and HeadObject answer it. */
class MemoryBucket {
  readonly objects = new Map<string, { body: Buffer; metadata?: Record<string, string> }>();
  failWith?: Error;
  readonly client = {
    send: (command: unknown): Promise<unknown> => {
      if (this.failWith) return Promise.reject(this.failWith);
      if (command instanceof ListObjectsV2Command) {
        const { Bucket, Prefix = '', Delimiter } = command.input;
        const keys = [...this.objects.keys()]
          .filter((id) => id.startsWith(`${Bucket}/${Prefix}`))
          .map((id) => id.slice(Bucket!.length + 1))
          .sort();
        if (Delimiter === undefined) return Promise.resolve({ Contents: keys.map((Key) => ({ Key })) });
        const common = new Set(keys.map((key) => key.slice(0, key.indexOf('/', Prefix.length) + 1)));
        return Promise.resolve({ CommonPrefixes: [...common].map((p) => ({ Prefix: p })) });
      }
      if (command instanceof GetObjectCommand || command instanceof HeadObjectCommand) {
        const object = this.objects.get(`${command.input.Bucket}/${command.input.Key}`);
        if (object === undefined) {
          return Promise.reject(
            Object.assign(new Error('NotFound'), { name: 'NotFound', $metadata: { httpStatusCode: 404 } }),
          );
        }
        return Promise.resolve({
          Body: { transformToByteArray: () => Promise.resolve(new Uint8Array(object.body)) },
          Metadata: object.metadata ?? {},
        });
      }
      return Promise.reject(new Error(`unexpected ${(command as object).constructor.name}`));
    },
  } as unknown as Pick<S3Client, 'send'>;
}

class MemoryLedger implements Pick<LedgerTable, 'collectedOn' | 'newest'> {
  readonly entries: LedgerEntry[] = [];
  record(key: string, sha256: string) {
    const where = classifyObjectKey(key);
    if (where.type === 'other') throw new Error(`not a log key: ${key}`);
    this.entries.push({
      accountId: ACCT,
      region: where.region,
      day: where.day,
      bucket: BUCKET,
      key,
      kind: 'log',
      records: 1,
      bytes: 1,
      sha256,
      collectedAt: NOW.toISOString(),
    });
  }
  collectedOn(accountId: string, region: string, day: string): Promise<Map<string, LedgerEntry>> {
    return Promise.resolve(
      new Map(
        this.entries
          .filter((e) => e.accountId === accountId && e.region === region && e.day === day)
          .map((e) => [fileRef(e.bucket, e.key), e]),
      ),
    );
  }
  newest(): Promise<Map<string, NewestFile>> {
    return Promise.resolve(new Map<string, NewestFile>());
  }
}

/** A bucket with one signed digest per hour (and one log file per hour) from `from` to `to`, all collected. */
function world(from: Date, to: Date, options: { uncollected?: number[] } = {}) {
  const bucket = new MemoryBucket();
  const ledger = new MemoryLedger();
  const writer = new DigestChainWriter({ bucket: BUCKET, accountId: ACCT, region: REGION });
  const keys = [testSigningKey()];
  for (let end = from.getTime(), hour = 0; end <= to.getTime(); end += HOUR_MS, hour += 1) {
    const key = logFileKey({ accountId: ACCT, region: REGION, time: new Date(end - 30 * 60_000), unique: `f${hour}` });
    const body = gzipSync(JSON.stringify({ Records: [{ hour }] }));
    bucket.objects.set(`${BUCKET}/${key}`, { body });
    const listed: ListedLogFile = { bucket: BUCKET, key, sha256: `${hour}`.padStart(64, 'a') };
    if (!(options.uncollected ?? []).includes(hour)) ledger.record(key, listed.sha256);
    const digest = writer.next(new Date(end), [listed]);
    bucket.objects.set(`${BUCKET}/${digest.key}`, { body: digest.body, metadata: digest.metadata });
  }
  const clients: DigestStepInput['clients'] = { s3: () => bucket.client, cloudTrail: () => publicKeysClient(keys) };
  return { bucket, ledger, clients, writer };
}

/** The healthy account's observed state, its trail validating (a single-Region trail: one digest folder). */
function state(overrides: Parameters<typeof trail>[0] = {}): Pick<ObservedState, 'buckets' | 'probes'> {
  const observed = healthy();
  observed.trails = known([trail({ logFileValidationEnabled: true, isMultiRegion: false, ...overrides })]);
  observed.probes = probeTargets(observed.trails, observed, context());
  return observed;
}

const record = (digestsVerifiedUntil?: string) => ({
  accountId: ACCT,
  logArchiveFor: [],
  ...(digestsVerifiedUntil !== undefined ? { digestsVerifiedUntil } : {}),
});

describe('the window of a run', () => {
  test('first run: the last 24 hours, up to 90 minutes ago; then from the cursor', () => {
    expect(digestWindow(undefined, NOW, 1)).toEqual({
      since: new Date('2026-11-01T12:00:00.000Z'),
      until: new Date('2026-11-02T10:30:00.000Z'),
      behind: false,
      firstRun: true,
    });
    expect(digestWindow('2026-11-02T09:00:00.000Z', NOW, 1)).toMatchObject({
      since: new Date('2026-11-02T09:00:00.000Z'),
      until: new Date('2026-11-02T10:30:00.000Z'),
      firstRun: false,
    });
    // Nothing settled since the cursor.
    expect(digestWindow('2026-11-02T10:40:00.000Z', NOW, 1)).toBeUndefined();
  });

  test(`bounded to about ${MAX_DIGESTS_PER_RUN} digests: hours per run shrink with the Regions, never below one`, () => {
    expect(windowHours(1)).toBe(47);
    expect(windowHours(4)).toBe(11);
    expect(windowHours(17)).toBe(1);
    expect(windowHours(40)).toBe(1);
    expect(digestWindow('2026-11-01T00:00:00.000Z', NOW, 4)).toEqual({
      since: new Date('2026-11-01T00:00:00.000Z'),
      until: new Date('2026-11-01T11:00:00.000Z'),
      behind: true,
      firstRun: false,
    });
  });
});

describe('observeDigests', () => {
  test('verifies the signed digests of the window against the ledger; the cursor moves to its end', async () => {
    const { ledger, clients } = world(new Date('2026-11-02T02:00:00Z'), new Date('2026-11-02T11:00:00Z'));
    const result = await observeDigests({
      record: record('2026-11-02T03:00:00.000Z'),
      state: state(),
      clients,
      ledger,
      now: NOW,
    });
    expect(result?.known).toBe(true);
    if (!result?.known) return;
    const { report, verifiedUntil, since, until } = result.value;
    expect([since, until, verifiedUntil]).toEqual([
      '2026-11-02T03:00:00.000Z',
      '2026-11-02T10:30:00.000Z',
      '2026-11-02T10:30:00.000Z',
    ]);
    // Files delivered 03:30 ... 10:30 (the window's end included), every one collected.
    expect(report.logFiles).toMatchObject({ listedInDigests: 8, collected: 8, notCollected: [], hashMismatch: [] });
    expect(report.digests.signatureInvalid).toEqual([]);
    expect(report.digests.chainBreaks).toBe(0);
    expect(report.details.spans.map((span) => span.end)).toContain('2026-11-02T11:00:00Z');
  });

  test('a listed file the ledger lacks holds the cursor before it (verified again after the backfill)', async () => {
    const { ledger, clients } = world(new Date('2026-11-02T02:00:00Z'), new Date('2026-11-02T11:00:00Z'), {
      uncollected: [4], // the file delivered 05:30
    });
    const result = await observeDigests({
      record: record('2026-11-02T03:00:00.000Z'),
      state: state(),
      clients,
      ledger,
      now: NOW,
    });
    if (!result?.known) throw new Error('not verified');
    expect(result.value.report.logFiles.notCollected.map((f) => f.key)).toEqual([expect.stringContaining('T0530Z')]);
    expect(result.value.verifiedUntil).toBe('2026-11-02T05:29:00.000Z');
  });

  test('bounded: a cursor 3 days back verifies 47 hours this run, the rest next run', async () => {
    const { ledger, clients } = world(new Date('2026-10-30T12:00:00Z'), new Date('2026-11-02T11:00:00Z'));
    const result = await observeDigests({
      record: record('2026-10-30T12:00:00.000Z'),
      state: state(),
      clients,
      ledger,
      now: NOW,
    });
    if (!result?.known) throw new Error('not verified');
    expect(result.value).toMatchObject({ until: '2026-11-01T11:00:00.000Z', behind: true });
    expect(result.value.report.digests.read).toBeLessThanOrEqual(MAX_DIGESTS_PER_RUN + 1);
    expect(result.value.verifiedUntil).toBe('2026-11-01T11:00:00.000Z');
  });

  test('skipped without a ledger that lists days, with validation off, or in a bucket the account does not own', async () => {
    const { ledger, clients, bucket } = world(new Date('2026-11-02T02:00:00Z'), new Date('2026-11-02T11:00:00Z'));
    bucket.failWith = new Error('no call expected');
    const input = { record: record(), clients, now: NOW };
    expect(await observeDigests({ ...input, state: state() })).toBeUndefined();
    expect(
      await observeDigests({ ...input, state: state(), ledger: { newest: ledger.newest } as never }),
    ).toBeUndefined();
    expect(
      await observeDigests({ ...input, state: state({ logFileValidationEnabled: false }), ledger }),
    ).toBeUndefined();
    expect(
      await observeDigests({ ...input, state: state({ logFileValidationEnabled: undefined }), ledger }),
    ).toBeUndefined();
    const archived = state({ bucketName: 'archive-bucket' });
    expect(await observeDigests({ ...input, state: archived, ledger })).toBeUndefined();
  });

  test('a failure makes the observation unknown, never an error', async () => {
    const { ledger, clients, bucket } = world(new Date('2026-11-02T02:00:00Z'), new Date('2026-11-02T11:00:00Z'));
    bucket.failWith = Object.assign(new Error('Access Denied'), { name: 'AccessDenied' });
    const result = await observeDigests({ record: record(), state: state(), clients, ledger, now: NOW });
    expect(result).toEqual({ known: false, error: expect.stringContaining('Access Denied') });
  });
});

describe('in a reconcile run', () => {
  test('the cursor is recorded, the findings reported, and a run without a ledger reads nothing', async () => {
    const cloud = new FakeCloud();
    const chain = seedHealthyAccount(cloud, ACCT);
    cloud.account(ACCT).trails[0]!.logFileValidation = true;
    const { ledger, bucket, writer } = world(new Date('2026-11-02T08:00:00Z'), new Date('2026-11-02T11:00:00Z'));
    // A digest whose signature was made with another key.
    const forged = writer.next(new Date('2026-11-02T12:00:00Z'), [], { key: testSigningKey(1) });
    bucket.objects.set(`${BUCKET}/${forged.key}`, { body: forged.body, metadata: forged.metadata });
    const base = cloud.clients();
    const clients = {
      ...base,
      async customer(target: Parameters<typeof base.customer>[0]): Promise<CustomerClients> {
        const inner = await base.customer(target);
        // The digest folder and the log files are in the memory bucket; HeadBucket and the rest in the fake cloud.
        const objectCall = (command: unknown) =>
          command instanceof ListObjectsV2Command ||
          command instanceof GetObjectCommand ||
          command instanceof HeadObjectCommand;
        return {
          ...inner,
          s3: (region) => ({
            send: ((command: unknown) =>
              objectCall(command)
                ? bucket.client.send(command as never)
                : inner.s3(region).send(command as never)) as never,
          }),
          cloudTrail: (region) => publicKeysClient([testSigningKey()], inner.cloudTrail(region)),
        };
      },
    };
    const registry = new MemoryRegistry([
      { accountId: ACCT, ...chain, bucketName: chain.bucket, digestsVerifiedUntil: '2026-11-02T08:00:00.000Z' },
    ]);
    const later = new Date(NOW.getTime() + HOUR_MS);
    const run = (withLedger: boolean) =>
      reconcileAll(
        registry,
        {
          clients,
          config: RECONCILE_SETTINGS,
          logger: silentLogger,
          now: () => later,
          ...(withLedger ? { ledger } : {}),
        },
        { mode: 'plan', accountId: ACCT },
      );
    const without = await run(false);
    expect(registry.get(ACCT).digestsVerifiedUntil).toBe('2026-11-02T08:00:00.000Z');
    expect(without.accounts[0]!.findings.map((f) => f.code)).not.toContain('DIGEST_SIGNATURE_INVALID');

    const report = await run(true);
    expect(
      report.accounts[0]!.findings.filter((f) => f.code.startsWith('DIGEST_') || f.code.startsWith('LOG_FILE')),
    ).toEqual([
      expect.objectContaining({
        code: 'DIGEST_SIGNATURE_INVALID',
        severity: 'high',
        message: expect.stringContaining(forged.key),
      }),
    ]);
    expect(registry.get(ACCT).digestsVerifiedUntil).toBe('2026-11-02T11:30:00.000Z');
  });
});
