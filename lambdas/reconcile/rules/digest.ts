/**
 * The findings of digest verification (observe-digests.ts runs it; docs/completeness.md, "Digest verification",
 * "In reconcile"): one account rule per concern, judging `observed.digests`, the run's window of CloudTrail's
 * signed digests against the ledger. They run before the backfill rule, which backfills the files of
 * LOG_FILES_NOT_COLLECTED (rules/backfill.ts).
 *
 * DIGEST_MISSING encodes what AWS documents: CloudTrail "creates and delivers" a digest "every hour", listing the
 * log files delivered during that hour (CloudTrail User Guide, "Validating CloudTrail log file integrity" and
 * "CloudTrail digest file structure"), so an hour of a logging, validating trail without a digest is one that is
 * missing (deleted, or never delivered). The exception AWS names: while log file validation is off, or logging is
 * stopped, no digest is created, and the chain starts again afterwards (AWS CLI reference, `cloudtrail
 * validate-logs`: "When you disable Log File Validation, the chain of digest files is broken after one hour ...
 * The same applies whenever you stop CloudTrail logging"). So a gap followed by a digest that starts a new chain
 * (previous fields null) is not DIGEST_MISSING: DIGEST_CHAIN_BROKEN reports the restart.
 */
import { deliveryTimeOf } from '../../shared/object-key';
import type { ObjectProblem, ObjectRef } from '../../shared/completeness';
import type { DigestObservation } from '../observe-digests';
import type { Finding, ObservedState } from '../types';
import { finding, incomplete, none, type Rule, type RuleOutput } from './kit';

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
/** Digests of one Region follow each other end to start; a gap shorter than this is delivery jitter. */
export const GAP_TOLERANCE_MINUTES = 10;
/** Keys named in a message at most. */
const EXAMPLES = 3;
/** completeness.ts's reason for a digest whose Region's public keys could not be listed: not a bad signature. */
const KEYS_UNLISTED = 'ListPublicKeys failed in ';

/** An hour (or more) of a Region with no digest. */
export interface DigestGap {
  region: string;
  from: string;
  to: string;
}

function verified(observed: ObservedState): DigestObservation | undefined {
  return observed.digests?.known ? observed.digests.value : undefined;
}

function examples(refs: readonly ObjectRef[]): string {
  const named = refs.slice(0, EXAMPLES).map((ref) => `s3://${ref.bucket}/${ref.key}`);
  return named.join(', ') + (refs.length > EXAMPLES ? `, and ${refs.length - EXAMPLES} more` : '');
}

function reasons(problems: readonly ObjectProblem[]): string {
  const named = problems.slice(0, EXAMPLES).map((p) => `s3://${p.bucket}/${p.key}: ${p.reason}`);
  return named.join('; ') + (problems.length > EXAMPLES ? `; and ${problems.length - EXAMPLES} more` : '');
}

function window(observation: DigestObservation): string {
  return `between ${observation.since} and ${observation.until}`;
}

function only(code: Finding): RuleOutput {
  return { findings: [code], actions: [] };
}

/**
 * The oldest delivery time (ISO) of a listed file the ledger lacks, for the backfill window; undefined when none
 * (rules/backfill.ts reaches back to it).
 */
export function notCollectedSince(observed: ObservedState): string | undefined {
  const times = (verified(observed)?.report.logFiles.notCollected ?? [])
    .map((file) => deliveryTimeOf(file.key)?.getTime())
    .filter((time): time is number => time !== undefined);
  return times.length === 0 ? undefined : new Date(Math.min(...times)).toISOString();
}

/**
 * The stretches of the window that no digest of a Region covers: longer than GAP_TOLERANCE_MINUTES, not ended by a
 * digest that starts a new chain (logging or validation was off), and at the window's end only when longer than an
 * hour (the digest of a shorter stretch may not be due yet). A Region with no digest in the window is judged only
 * when an earlier run verified digests (the trail may have just turned validation on).
 */
export function digestGaps(observation: DigestObservation): DigestGap[] {
  const since = Date.parse(observation.since);
  const until = Date.parse(observation.until);
  const tolerance = GAP_TOLERANCE_MINUTES * MINUTE_MS;
  const gaps: DigestGap[] = [];
  const gap = (region: string, from: number, to: number) =>
    gaps.push({ region, from: new Date(from).toISOString(), to: new Date(to).toISOString() });
  for (const region of observation.regions) {
    const spans = observation.report.details.spans
      .filter((span) => span.region === region)
      .map((span) => ({ start: Date.parse(span.start), end: Date.parse(span.end), chainStart: span.chainStart }))
      .sort((a, b) => a.start - b.start);
    if (spans.length === 0) {
      if (!observation.firstRun && until - since > HOUR_MS + tolerance) gap(region, since, until);
      continue;
    }
    let covered = since;
    for (const span of spans) {
      if (covered < until && span.start - covered > tolerance && !span.chainStart) {
        gap(region, covered, Math.min(span.start, until));
      }
      covered = Math.max(covered, span.end);
    }
    if (until - covered > HOUR_MS + tolerance) gap(region, covered, until);
  }
  return gaps;
}

/** The step could not verify (a call failed), or a Region's public keys could not be listed. */
export const digestVerificationRule: Rule = {
  name: 'digest-verification',
  part: 'account',
  phase: 'account',
  codes: ['OBSERVE_INCOMPLETE'],
  description: "the run's digest verification could not be done: nothing is concluded from the digests",
  check({ observed, ctx }) {
    const digests = observed.digests;
    if (digests === undefined) return none();
    if (!digests.known) {
      return only(incomplete(ctx.accountId, "the trail's CloudTrail digests", digests.error));
    }
    const failures = digests.value.report.details.publicKeyErrors;
    if (failures.length === 0) return none();
    return only(
      incomplete(
        digests.value.trailArn,
        `CloudTrail's public keys (ListPublicKeys in ${failures.map((f) => f.region).join(', ')})`,
        failures.map((f) => `${f.region}: ${f.error}`).join('; '),
      ),
    );
  },
};

export const logFilesNotCollectedRule: Rule = {
  name: 'log-files-not-collected',
  part: 'account',
  phase: 'account',
  codes: ['LOG_FILES_NOT_COLLECTED'],
  description: 'a signed digest lists log files that the ledger does not hold: they are backfilled',
  check({ observed }) {
    const observation = verified(observed);
    if (observation === undefined) return none();
    const { notCollected, missingFromBucket } = observation.report.logFiles;
    const findings: Finding[] = [];
    if (notCollected.length > 0) {
      findings.push(
        finding(
          'LOG_FILES_NOT_COLLECTED',
          'medium',
          observation.trailArn,
          `${notCollected.length} log file(s) CloudTrail delivered ${window(observation)} are listed in its signed ` +
            `digests but were never collected: ${examples(notCollected)}. They are still in the bucket: a backfill ` +
            'enqueues them again (apply runs; report-mode accounts only plan it)',
        ),
      );
    }
    if (missingFromBucket.length > 0) {
      findings.push(
        finding(
          'LOG_FILES_NOT_COLLECTED',
          'high',
          observation.trailArn,
          `${missingFromBucket.length} log file(s) CloudTrail delivered ${window(observation)} are listed in its ` +
            `signed digests, were never collected and are gone from the bucket (deleted after delivery): ` +
            `${examples(missingFromBucket)}. Their records cannot be collected; find out who deleted them ` +
            '(S3 server access logs or CloudTrail data events on the bucket)',
        ),
      );
    }
    return { findings, actions: [] };
  },
};

export const logFileHashMismatchRule: Rule = {
  name: 'log-file-hash-mismatch',
  part: 'account',
  phase: 'account',
  codes: ['LOG_FILE_HASH_MISMATCH'],
  description: 'a collected log file has another SHA-256 than its signed digest lists',
  check({ observed }) {
    const observation = verified(observed);
    const mismatched = observation?.report.logFiles.hashMismatch ?? [];
    if (observation === undefined || mismatched.length === 0) return none();
    return only(
      finding(
        'LOG_FILE_HASH_MISMATCH',
        'high',
        observation.trailArn,
        `${mismatched.length} log file(s) were collected with other content than CloudTrail delivered ` +
          `(the SHA-256 of what ingest read is not the one the signed digest lists): ${examples(mismatched)}. ` +
          'The file was changed in the bucket before it was read, or replaced: treat its records as untrusted',
      ),
    );
  },
};

export const digestSignatureInvalidRule: Rule = {
  name: 'digest-signature-invalid',
  part: 'account',
  phase: 'account',
  codes: ['DIGEST_SIGNATURE_INVALID'],
  description: "a digest's signature does not verify, or it is malformed or names another account's objects",
  check({ observed }) {
    const observation = verified(observed);
    if (observation === undefined) return none();
    // A Region whose keys could not be listed is OBSERVE_INCOMPLETE (digestVerificationRule), not a bad signature.
    const invalid = observation.report.details.signatureInvalid.filter((p) => !p.reason.startsWith(KEYS_UNLISTED));
    if (invalid.length === 0) return none();
    return only(
      finding(
        'DIGEST_SIGNATURE_INVALID',
        'high',
        observation.trailArn,
        `${invalid.length} digest(s) ${window(observation)} cannot be trusted, so the log files they list were not ` +
          `checked: ${reasons(invalid)}`,
      ),
    );
  },
};

export const digestChainBrokenRule: Rule = {
  name: 'digest-chain-broken',
  part: 'account',
  phase: 'account',
  codes: ['DIGEST_CHAIN_BROKEN'],
  description: 'a digest does not name the digest before it (missing, replaced, or a new chain after a stop)',
  check({ observed }) {
    const observation = verified(observed);
    const breaks = observation?.report.details.chainBreaks ?? [];
    if (observation === undefined || breaks.length === 0) return none();
    return only(
      finding(
        'DIGEST_CHAIN_BROKEN',
        'medium',
        observation.trailArn,
        `${breaks.length} break(s) in the chain of digests ${window(observation)}: ${reasons(breaks)}`,
      ),
    );
  },
};

export const digestMissingRule: Rule = {
  name: 'digest-missing',
  part: 'account',
  phase: 'account',
  codes: ['DIGEST_MISSING'],
  description: 'an hour of the window has no digest while the trail logs with log file validation on',
  check({ observed, probes }) {
    const observation = verified(observed);
    if (observation === undefined) return none();
    const selection = probes.selection;
    const trail = selection.kind === 'existing' || selection.kind === 'external' ? selection.trail : undefined;
    // Only a trail known to be logging now: a stopped trail writes no digest (TRAIL_NOT_LOGGING says so).
    if (trail?.arn !== observation.trailArn || !(trail.status.known && trail.status.value.isLogging)) return none();
    const gaps = digestGaps(observation);
    if (gaps.length === 0) return none();
    const named = gaps
      .slice(0, EXAMPLES)
      .map((g) => `${g.region} from ${g.from} to ${g.to}`)
      .join('; ');
    return only(
      finding(
        'DIGEST_MISSING',
        'medium',
        observation.trailArn,
        `no digest covers ${gaps.length} stretch(es) of the window while the trail logs with log file validation ` +
          `on: ${named}${gaps.length > EXAMPLES ? `; and ${gaps.length - EXAMPLES} more` : ''}. CloudTrail delivers ` +
          'a digest every hour: a digest was deleted, or CloudTrail could not deliver it (GetTrailStatus ' +
          'LatestDigestDeliveryError); the log files of that time cannot be proved complete',
      ),
    );
  },
};
