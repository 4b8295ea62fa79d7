/**
 * LOG_FILE_VALIDATION_DISABLED: the collected trail writes no signed digests, so completeness cannot be proved
 * (docs/completeness.md: digest verification needs the hourly digest files). DescribeTrails reports it as
 * LogFileValidationEnabled; UpdateTrail's EnableLogFileValidation turns it on, and log files delivered while it
 * was off never get digests (CloudTrail API Reference, UpdateTrail).
 *
 * Repaired (UPDATE_TRAIL, that one setting) only on the trail the collector created, `outcomes-trail` owned by
 * the account in the collector's Region (as trail-selection.ts recognises it): a customer's own trail and an
 * organization trail are the customer's settings, so the finding gives the one command to run. Digests cost
 * nothing from CloudTrail; S3 bills their PUT requests and storage as for any object (costs.ts,
 * logFileValidationCost).
 */
import { logFileValidationCost } from '../costs';
import { CHAIN_NAMES } from '../names';
import { isOwnedBy } from '../trail-selection';
import type { ObservedTrail, PlanContext } from '../types';
import { draft, finding, none, type Rule } from './kit';

/** The trail the collector created and may change: `outcomes-trail` of the account, homed in the collector Region. */
export function isCollectorCreatedTrail(trail: ObservedTrail, ctx: Pick<PlanContext, 'accountId' | 'region'>): boolean {
  return (
    trail.name === CHAIN_NAMES.trail &&
    trail.homeRegion === ctx.region &&
    isOwnedBy(trail, ctx.accountId) &&
    !trail.isOrganization
  );
}

/** The command that turns validation on, run by the trail's owner in its home Region (AWS CLI, update-trail). */
export function enableValidationCommand(trail: ObservedTrail): string {
  return `aws cloudtrail update-trail --name ${trail.arn} --enable-log-file-validation --region ${trail.homeRegion}`;
}

export const logFileValidationRule: Rule = {
  name: 'log-file-validation',
  part: 'trail',
  phase: 'chain',
  codes: ['LOG_FILE_VALIDATION_DISABLED'],
  description: 'the collected trail has log file validation off: no signed digests prove that every file was collected',
  check({ ctx, decided }) {
    const trail = decided.trail?.target.observed;
    if (trail === undefined || trail.logFileValidationEnabled !== false) return none();
    const why =
      'log file validation is off: CloudTrail writes no hourly signed digest, so neither tampering nor a log file ' +
      'that was never collected can be detected, and files delivered while it is off never get a digest. Digests ' +
      'are free from CloudTrail (S3 bills their few PUT requests and kilobytes)';
    if (!isCollectorCreatedTrail(trail, ctx)) {
      const owner = isOwnedBy(trail, ctx.accountId) ? 'this account' : `account ${trail.ownerAccountId}`;
      return {
        findings: [
          // Info: the customer's own setting, reported; the account still collects everything its trail delivers, so
          // it is not degraded (plan.ts, accountReport) and `verify` says no digest proves the window.
          finding(
            'LOG_FILE_VALIDATION_DISABLED',
            'info',
            trail.arn,
            `${why}. The collector does not change a trail it did not create: as ${owner}, run ` +
              enableValidationCommand(trail),
          ),
        ],
        actions: [],
      };
    }
    return {
      findings: [finding('LOG_FILE_VALIDATION_DISABLED', 'medium', trail.arn, `${why}. Turned back on`)],
      actions: [
        {
          ...draft(
            'UPDATE_TRAIL',
            { trailName: trail.name, region: trail.homeRegion, enableLogFileValidation: true },
            // The trail exists (it was observed): nothing has to run first. Another UPDATE_TRAIL of this plan
            // (bucket or topic) changes another setting and may run before or after it.
            { resource: trail.arn, reason: 'LOG_FILE_VALIDATION_DISABLED', part: 'trail' },
          ),
          costImpact: logFileValidationCost(),
        },
      ],
    };
  },
};
