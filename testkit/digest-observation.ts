/**
 * A reconcile run's digest verification result (`ObservedState.digests`, lambdas/reconcile/observe-digests.ts)
 * built by hand, for planner tests: a window whose every hour has a digest, and nothing wrong, unless told.
 * To produce one from real signed digests, run observeDigests over testkit/digest.ts instead.
 */
import type { CompletenessReport, DigestSpan, ObjectProblem, ObjectRef } from '../lambdas/shared/completeness';
import type { DigestObservation } from '../lambdas/reconcile/observe-digests';
import { logFileKey } from './cloudtrail-generator';

const HOUR_MS = 3_600_000;

export interface DigestObservationOptions {
  trailArn: string;
  bucket: string;
  accountId: string;
  since?: string;
  until?: string;
  regions?: string[];
  firstRun?: boolean;
  /** Default: one digest per Region and hour, ending on the hour after `since`, through the hour after `until`. */
  spans?: DigestSpan[];
  notCollected?: ObjectRef[];
  hashMismatch?: ObjectRef[];
  missingFromBucket?: ObjectRef[];
  signatureInvalid?: ObjectProblem[];
  chainBreaks?: ObjectProblem[];
  publicKeyErrors?: { region: string; error: string }[];
}

/** Hourly digests of one Region: each covers the hour before its end, the first ends an hour after `since`. */
export function hourlySpans(bucket: string, region: string, since: string, until: string): DigestSpan[] {
  const spans: DigestSpan[] = [];
  for (let end = Date.parse(since) + HOUR_MS; end <= Date.parse(until) + HOUR_MS; end += HOUR_MS) {
    spans.push({
      bucket,
      key: `AWSLogs/digest/${region}/${new Date(end).toISOString()}.json.gz`,
      region,
      start: new Date(end - HOUR_MS).toISOString(),
      end: new Date(end).toISOString(),
      chainStart: false,
    });
  }
  return spans;
}

/** A log file delivered at `at`, as a digest lists it. */
export function windowLogFile(
  options: Pick<DigestObservationOptions, 'bucket' | 'accountId'> & { region: string; at: string },
  unique: string,
): ObjectRef {
  return {
    bucket: options.bucket,
    key: logFileKey({ accountId: options.accountId, region: options.region, time: new Date(options.at), unique }),
  };
}

export function digestObservation(options: DigestObservationOptions): DigestObservation {
  const since = options.since ?? '2026-11-01T08:00:00.000Z';
  const until = options.until ?? '2026-11-01T10:30:00.000Z';
  const regions = options.regions ?? ['us-east-1'];
  const signatureInvalid = options.signatureInvalid ?? [];
  const report: CompletenessReport = {
    accountId: options.accountId,
    since,
    until,
    logFiles: {
      listedInDigests: 0,
      collected: 0,
      notCollected: options.notCollected ?? [],
      hashMismatch: options.hashMismatch ?? [],
      missingFromBucket: options.missingFromBucket ?? [],
    },
    digests: {
      read: 0,
      signatureValid: 0,
      signatureInvalid: signatureInvalid.map(({ bucket, key }) => ({ bucket, key })),
      chainBreaks: (options.chainBreaks ?? []).length,
    },
    details: {
      signatureInvalid,
      chainBreaks: options.chainBreaks ?? [],
      publicKeyErrors: options.publicKeyErrors ?? [],
      spans: options.spans ?? regions.flatMap((region) => hourlySpans(options.bucket, region, since, until)),
    },
  };
  report.digests.read = report.details.spans.length;
  report.digests.signatureValid = report.digests.read - signatureInvalid.length;
  report.logFiles.listedInDigests =
    report.logFiles.notCollected.length +
    report.logFiles.hashMismatch.length +
    report.logFiles.missingFromBucket.length;
  return {
    trailArn: options.trailArn,
    since,
    until,
    regions,
    firstRun: options.firstRun ?? false,
    behind: false,
    report,
    verifiedUntil: until,
  };
}
