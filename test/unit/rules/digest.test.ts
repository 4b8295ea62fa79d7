/**
 * The digest rules (rules/digest.ts) over a hand-built verification result (testkit/digest-observation.ts): a
 * compliant and a non-compliant case per rule, the gaps DIGEST_MISSING judges, and the BACKFILL that
 * LOG_FILES_NOT_COLLECTED triggers, reaching back to the oldest file the ledger lacks.
 */
import { planAccount } from '../../../lambdas/reconcile/plan';
import {
  digestChainBrokenRule,
  digestMissingRule,
  digestSignatureInvalidRule,
  digestVerificationRule,
  logFileHashMismatchRule,
  logFilesNotCollectedRule,
} from '../../../lambdas/reconcile/rules';
import { digestGaps, notCollectedSince } from '../../../lambdas/reconcile/rules/digest';
import { known, unknown, type BackfillParams, type ObservedState } from '../../../lambdas/reconcile/types';
import {
  digestObservation,
  hourlySpans,
  windowLogFile,
  type DigestObservationOptions,
} from '../../../testkit/digest-observation';
import { ACCT, BUCKET, REGION, TRAIL_ARN, context, trail } from '../../../testkit/reconcile-fixtures';
import { ruleOutput, with_ } from './helpers';

const SINCE = '2026-11-01T08:00:00.000Z';
const UNTIL = '2026-11-01T10:30:00.000Z';
const NONE = { findings: [], actions: [] };

const observation = (options: Partial<DigestObservationOptions> = {}) =>
  digestObservation({ trailArn: TRAIL_ARN, bucket: BUCKET, accountId: ACCT, since: SINCE, until: UNTIL, ...options });
const observed = (options: Partial<DigestObservationOptions> = {}): ObservedState =>
  with_((s) => {
    s.digests = known(observation(options));
  });
const file = (unique: string, at = '2026-11-01T09:20:00Z') =>
  windowLogFile({ bucket: BUCKET, accountId: ACCT, region: REGION, at }, unique);
const url = (ref: { bucket: string; key: string }) => `s3://${ref.bucket}/${ref.key}`;

describe('digest verification could not be done (OBSERVE_INCOMPLETE)', () => {
  test('compliant: verified, or not run at all', () => {
    expect(ruleOutput(digestVerificationRule, observed(), context())).toEqual(NONE);
    expect(
      ruleOutput(
        digestVerificationRule,
        with_(() => {}),
        context(),
      ),
    ).toEqual(NONE);
  });

  test('non-compliant: a failed call, or a Region whose public keys could not be listed', () => {
    const failed = with_((s) => {
      s.digests = unknown('ListObjectsV2: AccessDenied');
    });
    expect(ruleOutput(digestVerificationRule, failed, context()).findings).toEqual([
      expect.objectContaining({
        code: 'OBSERVE_INCOMPLETE',
        resource: ACCT,
        message: expect.stringContaining('AccessDenied'),
      }),
    ]);
    const keys = observed({ publicKeyErrors: [{ region: 'eu-west-1', error: 'AccessDeniedException: no' }] });
    expect(ruleOutput(digestVerificationRule, keys, context()).findings).toEqual([
      expect.objectContaining({
        code: 'OBSERVE_INCOMPLETE',
        message: expect.stringContaining('ListPublicKeys in eu-west-1'),
      }),
    ]);
  });
});

describe('LOG_FILES_NOT_COLLECTED', () => {
  test('compliant: every listed file collected', () => {
    expect(ruleOutput(logFilesNotCollectedRule, observed(), context())).toEqual(NONE);
  });

  test('non-compliant: the count and at most three keys; deleted files are high', () => {
    const missed = ['a', 'b', 'c', 'd'].map((unique) => file(unique));
    const output = ruleOutput(
      logFilesNotCollectedRule,
      observed({ notCollected: missed, missingFromBucket: [file('gone')] }),
      context(),
    );
    expect(output.findings.map((f) => [f.code, f.severity, f.resource])).toEqual([
      ['LOG_FILES_NOT_COLLECTED', 'medium', TRAIL_ARN],
      ['LOG_FILES_NOT_COLLECTED', 'high', TRAIL_ARN],
    ]);
    const [medium, high] = output.findings;
    expect(medium!.message).toContain('4 log file(s)');
    expect(medium!.message).toContain(url(missed[0]!));
    expect(medium!.message).toContain(url(missed[2]!));
    expect(medium!.message).not.toContain(url(missed[3]!));
    expect(medium!.message).toContain('and 1 more');
    expect(high!.message).toContain('gone from the bucket');
    expect(output.actions).toEqual([]);
  });

  test('triggers a BACKFILL reaching back to the oldest file the ledger lacks, in every Region', () => {
    const ctx = context({
      backfill: { maxDays: 7, maxFilesPerRun: 100, marginMinutes: 60 },
      lastRecordAt: '2026-11-01T11:50:00.000Z',
    });
    const state = observed({
      notCollected: [file('late', '2026-11-01T09:40:00Z'), file('early', '2026-11-01T08:10:00Z')],
    });
    // The ledger's newest file is recent: without the digest, the window would start at 10:50.
    state.collected = known({
      [REGION]: { deliveredAt: '2026-11-01T11:50:00.000Z' } as never,
    });
    expect(notCollectedSince(state)).toBe('2026-11-01T08:10:00.000Z');
    const plan = planAccount(state, ctx);
    const backfill = plan.actions.find((a) => a.code === 'BACKFILL') as
      { reason: string; params: BackfillParams } | undefined;
    expect(backfill?.reason).toBe('LOG_FILES_NOT_COLLECTED');
    expect(backfill?.params.since).toBe('2026-11-01T07:10:00.000Z');
    expect(backfill?.params.regionSince).toBeUndefined();
    // Without backfill configured: reported only.
    expect(planAccount(state, context()).actions.filter((a) => a.code === 'BACKFILL')).toEqual([]);
  });
});

describe('LOG_FILE_HASH_MISMATCH', () => {
  test('compliant: no mismatch', () => {
    expect(ruleOutput(logFileHashMismatchRule, observed(), context())).toEqual(NONE);
  });

  test('non-compliant: high, naming the file', () => {
    const changed = file('changed');
    expect(ruleOutput(logFileHashMismatchRule, observed({ hashMismatch: [changed] }), context()).findings).toEqual([
      expect.objectContaining({
        code: 'LOG_FILE_HASH_MISMATCH',
        severity: 'high',
        message: expect.stringContaining(url(changed)),
      }),
    ]);
  });
});

describe('DIGEST_SIGNATURE_INVALID', () => {
  const digest = { bucket: BUCKET, key: 'AWSLogs/111122223333/CloudTrail-Digest/us-east-1/x.json.gz' };

  test('compliant: every signature verified; a Region without public keys is not a bad signature', () => {
    expect(ruleOutput(digestSignatureInvalidRule, observed(), context())).toEqual(NONE);
    const unlisted = observed({
      signatureInvalid: [{ ...digest, reason: 'ListPublicKeys failed in us-east-1: AccessDeniedException: no' }],
    });
    expect(ruleOutput(digestSignatureInvalidRule, unlisted, context())).toEqual(NONE);
  });

  test('non-compliant: high, with the reason of each digest', () => {
    const bad = observed({
      signatureInvalid: [{ ...digest, reason: 'the signature does not verify with CloudTrail public key' }],
    });
    expect(ruleOutput(digestSignatureInvalidRule, bad, context()).findings).toEqual([
      expect.objectContaining({
        code: 'DIGEST_SIGNATURE_INVALID',
        severity: 'high',
        message: expect.stringContaining(`${url(digest)}: the signature does not verify`),
      }),
    ]);
  });
});

describe('DIGEST_CHAIN_BROKEN', () => {
  test('compliant: the chain holds', () => {
    expect(ruleOutput(digestChainBrokenRule, observed(), context())).toEqual(NONE);
  });

  test('non-compliant: medium, with the reason', () => {
    const broken = observed({
      chainBreaks: [{ bucket: BUCKET, key: 'd.json.gz', reason: 'previousDigestHashValue is not the SHA-256' }],
    });
    expect(ruleOutput(digestChainBrokenRule, broken, context()).findings).toEqual([
      expect.objectContaining({
        code: 'DIGEST_CHAIN_BROKEN',
        severity: 'medium',
        message: expect.stringContaining('1 break(s)'),
      }),
    ]);
  });
});

describe('DIGEST_MISSING', () => {
  // Ending 09:00, 10:00 and 11:00.
  const spans = hourlySpans(BUCKET, REGION, SINCE, UNTIL);

  test('compliant: an hourly digest throughout; a gap ended by a new chain; a stopped trail', () => {
    expect(ruleOutput(digestMissingRule, observed(), context())).toEqual(NONE);
    // 09:00-10:00 has no digest, and the next one starts a chain: logging or validation was off.
    const restarted = [spans[0]!, { ...spans[2]!, chainStart: true }];
    expect(ruleOutput(digestMissingRule, observed({ spans: restarted }), context())).toEqual(NONE);
    const stopped = observed({ spans: [] });
    stopped.trails = known([trail({ status: known({ isLogging: false }) })]);
    expect(ruleOutput(digestMissingRule, stopped, context())).toEqual(NONE);
    // First run: a Region without any digest may have just turned validation on.
    expect(ruleOutput(digestMissingRule, observed({ spans: [], firstRun: true }), context())).toEqual(NONE);
  });

  test('non-compliant: a deleted hour, and a Region without any digest', () => {
    const deleted = [spans[0]!, spans[2]!];
    expect(digestGaps(observation({ spans: deleted }))).toEqual([
      { region: REGION, from: '2026-11-01T09:00:00.000Z', to: '2026-11-01T10:00:00.000Z' },
    ]);
    expect(ruleOutput(digestMissingRule, observed({ spans: deleted }), context()).findings).toEqual([
      expect.objectContaining({
        code: 'DIGEST_MISSING',
        severity: 'medium',
        message: expect.stringContaining(`${REGION} from 2026-11-01T09:00:00.000Z to 2026-11-01T10:00:00.000Z`),
      }),
    ]);
    expect(digestGaps(observation({ spans: [], regions: [REGION, 'eu-west-1'] })).map((g) => g.region)).toEqual([
      REGION,
      'eu-west-1',
    ]);
  });

  test('the end of the window: a digest not due yet is not missing', () => {
    // The last digest ends 10:00; the window ends 10:30: the 11:00 digest may not be delivered yet.
    expect(digestGaps(observation({ spans: spans.slice(0, 2) }))).toEqual([]);
    // It ends 09:00: the 10:00 digest was due.
    expect(digestGaps(observation({ spans: spans.slice(0, 1) }))).toEqual([
      { region: REGION, from: '2026-11-01T09:00:00.000Z', to: UNTIL },
    ]);
  });
});
