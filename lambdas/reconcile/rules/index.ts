/**
 * The rule pack: every planner rule, in the order plan.ts runs it (chain order: the gates, cost, trail,
 * bucket, topic, the trail's creation, queue, subscription (the customer queue's or the hub queue's), event
 * source mapping, the retirement of the other topology's path and of a previous topic's; then the account rules).
 * Each rule has one signature (`Rule.check`: RuleInput -> RuleOutput), declares its part, the finding codes it
 * can emit and a one-line description; each has compliant and non-compliant tests in
 * test/unit/rules/<part>.test.ts. Where to add a rule: docs/architecture.md.
 */
import type { FindingCode } from '../types';
import { roleRule, trailListRule } from './access';
import { archiveNotificationsRule } from './archive-notifications';
import { backfillRule } from './backfill';
import { bucketRule } from './bucket';
import {
  digestChainBrokenRule,
  digestMissingRule,
  digestSignatureInvalidRule,
  digestVerificationRule,
  logFileHashMismatchRule,
  logFilesNotCollectedRule,
} from './digest';
import { costRule } from './cost';
import { eventSourceMappingRule } from './esm';
import { freshnessRule } from './freshness';
import { hubSubscriptionRule } from './hub';
import type { Rule } from './kit';
import { kmsRule } from './kms';
import { customerQueueRetirementRule, hubRetirementRule } from './migration';
import { previousTopicRetirementRule } from './previous-topic';
import { queueRule, subscriptionRule } from './queue';
import { stalenessRule } from './staleness';
import { topicRule } from './topic';
import { collectorTrailRetirementRule, logArchiveRule, organizationTrailRule } from './organization';
import { createTrailRule, trailCoverageRule, trailErrorsRule, trailLoggingRule, trailRule } from './trail';
import { logFileValidationRule } from './validation';

export const RULES: readonly Rule[] = [
  roleRule,
  trailListRule,
  costRule,
  // A log archive: its bucket's notification path replaces the trail chain (no trail in the archive account).
  archiveNotificationsRule,
  trailRule,
  trailCoverageRule,
  organizationTrailRule,
  trailLoggingRule,
  trailErrorsRule,
  logFileValidationRule,
  logArchiveRule,
  bucketRule,
  topicRule,
  createTrailRule,
  queueRule,
  subscriptionRule,
  hubSubscriptionRule,
  eventSourceMappingRule,
  customerQueueRetirementRule,
  hubRetirementRule,
  previousTopicRetirementRule,
  freshnessRule,
  stalenessRule,
  kmsRule,
  // After the chain: outcomes-trail beside an organization trail, retired once the organization path delivers.
  collectorTrailRetirementRule,
  // Digest verification's findings (observe-digests.ts): before the backfill, which LOG_FILES_NOT_COLLECTED triggers.
  digestVerificationRule,
  logFilesNotCollectedRule,
  logFileHashMismatchRule,
  digestSignatureInvalidRule,
  digestChainBrokenRule,
  digestMissingRule,
  // Last: it follows the repairs and the lag findings of the rules before it.
  backfillRule,
];

/** Emitted by the plan's REPAIR_LOOP guard (plan.ts), which judges the drafted actions rather than the state. */
export const GUARD_CODES: readonly FindingCode[] = ['REPAIR_LOOP'];

/** The rules that can emit a finding code (the guard's codes have none). */
export function rulesEmitting(code: FindingCode, rules: readonly Rule[] = RULES): Rule[] {
  return rules.filter((rule) => rule.codes.includes(code));
}

export {
  archiveNotificationsRule,
  backfillRule,
  bucketRule,
  collectorTrailRetirementRule,
  costRule,
  createTrailRule,
  customerQueueRetirementRule,
  previousTopicRetirementRule,
  digestChainBrokenRule,
  digestMissingRule,
  digestSignatureInvalidRule,
  digestVerificationRule,
  eventSourceMappingRule,
  freshnessRule,
  hubRetirementRule,
  hubSubscriptionRule,
  kmsRule,
  logArchiveRule,
  logFileHashMismatchRule,
  logFilesNotCollectedRule,
  logFileValidationRule,
  organizationTrailRule,
  queueRule,
  roleRule,
  stalenessRule,
  subscriptionRule,
  topicRule,
  trailCoverageRule,
  trailErrorsRule,
  trailListRule,
  trailLoggingRule,
  trailRule,
};
export { deadLetterMessages } from './queue';
export { collectionLagMinutes, collectionLags, LAG_AFTER_MINUTES_DEFAULT, type RegionLag } from './freshness';
export { POLICY_FINGERPRINT_PENDING } from './bucket';
export * from './kit';
