/**
 * The rule pack: every planner rule, in the order plan.ts runs it (chain order: the gates, cost, trail,
 * bucket, topic, the trail's creation, queue, subscription (the customer queue's or the hub queue's), event
 * source mapping, the retirement of the other topology's path; then the account rules).
 * Each rule has one signature (`Rule.check`: RuleInput -> RuleOutput), declares its part, the finding codes it
 * can emit and a one-line description; each has compliant and non-compliant tests in
 * test/unit/rules/<part>.test.ts. Where to add a rule: docs/architecture.md.
 */
import type { FindingCode } from '../types';
import { roleRule, trailListRule } from './access';
import { bucketRule } from './bucket';
import { costRule } from './cost';
import { eventSourceMappingRule } from './esm';
import { hubSubscriptionRule } from './hub';
import type { Rule } from './kit';
import { kmsRule } from './kms';
import { customerQueueRetirementRule, hubRetirementRule } from './migration';
import { queueRule, subscriptionRule } from './queue';
import { stalenessRule } from './staleness';
import { topicRule } from './topic';
import { logArchiveRule, organizationTrailRule } from './organization';
import { createTrailRule, trailCoverageRule, trailErrorsRule, trailLoggingRule, trailRule } from './trail';

export const RULES: readonly Rule[] = [
  roleRule,
  trailListRule,
  costRule,
  trailRule,
  trailCoverageRule,
  organizationTrailRule,
  trailLoggingRule,
  trailErrorsRule,
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
  stalenessRule,
  kmsRule,
];

/** Emitted by the plan's REPAIR_LOOP guard (plan.ts), which judges the drafted actions rather than the state. */
export const GUARD_CODES: readonly FindingCode[] = ['REPAIR_LOOP'];

/** The rules that can emit a finding code (the guard's codes have none). */
export function rulesEmitting(code: FindingCode, rules: readonly Rule[] = RULES): Rule[] {
  return rules.filter((rule) => rule.codes.includes(code));
}

export {
  bucketRule,
  costRule,
  createTrailRule,
  customerQueueRetirementRule,
  eventSourceMappingRule,
  hubRetirementRule,
  hubSubscriptionRule,
  kmsRule,
  logArchiveRule,
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
export { POLICY_FINGERPRINT_PENDING } from './bucket';
export * from './kit';
