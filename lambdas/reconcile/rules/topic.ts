/**
 * The topic rule: the trail announces every log file on a topic of the account, whose policy lets CloudTrail
 * publish; a trail without a topic (or with a deleted one) is pointed at `outcomestopic` in its home region.
 */
import { arnParts, topicArn as buildTopicArn } from '../../shared/arn';
import { CHAIN_NAMES } from '../names';
import { checkTopicPolicy } from '../policy-validation';
import { NOT_OBSERVED, type FindingCode, type ObservedTopic, type PlanContext } from '../types';
import {
  draft,
  finding,
  hubSubscriber,
  incomplete,
  keys,
  none,
  updateTrail,
  type ActionDraft,
  type Rule,
  type RuleInput,
  type RuleOutput,
  type TopicDecision,
  type TrailTarget,
} from './kit';

type TopicOutput = RuleOutput & { decided: { topic: TopicDecision } };

/**
 * TRAIL_NO_TOPIC / TOPIC_MISSING -> `outcomestopic` in the trail's home region (created if absent) and the
 * trail pointed at it; TOPIC_CHANGED -> follow the new topic; then the topic policy (TOPIC_POLICY_INVALID ->
 * PUT_TOPIC_POLICY, merged; an explicit Deny of the customer's -> POLICY_DENY_CONFLICT).
 */
export const topicRule: Rule = {
  name: 'topic',
  part: 'topic',
  phase: 'chain',
  codes: [
    'TRAIL_NO_TOPIC',
    'TOPIC_MISSING',
    'TOPIC_CHANGED',
    'TOPIC_POLICY_INVALID',
    'POLICY_DENY_CONFLICT',
    'OBSERVE_INCOMPLETE',
  ],
  description: 'the trail notifies a topic of the account whose policy lets CloudTrail publish',
  check(input) {
    const { observed, ctx, decided } = input;
    const chain = decided.trail;
    if (chain === undefined) return none();
    const trail = chain.target;
    if (chain.creating) return useDefaultTopic(input, trail, 'TRAIL_MISSING', false);
    const current = trail.observed?.topicArn;
    if (current === undefined) {
      const decision = useDefaultTopic(input, trail, 'TRAIL_NO_TOPIC', true);
      decision.findings.unshift(
        finding(
          'TRAIL_NO_TOPIC',
          'high',
          trail.arn,
          'the trail has no SNS topic: delivered log files are not announced',
        ),
      );
      return decision;
    }
    const probe = observed.topics[current] ?? NOT_OBSERVED;
    if (!probe.known) {
      return {
        findings: [incomplete(current, 'the trail topic', probe.error)],
        actions: [],
        decided: { topic: { created: false } },
      };
    }
    if (probe.value === null) {
      const missing = finding('TOPIC_MISSING', 'high', current, 'the trail topic no longer exists (deleted)');
      const decision = useDefaultTopic(input, trail, 'TOPIC_MISSING', current !== defaultTopicArn(trail, ctx));
      decision.findings.unshift(missing);
      return decision;
    }
    const out = none();
    const topic: TopicDecision = { created: false, topicArn: current };
    if (ctx.recorded.topicArn !== undefined && ctx.recorded.topicArn !== current) {
      out.findings.push(
        finding(
          'TOPIC_CHANGED',
          'medium',
          current,
          `the trail now notifies ${current} instead of ${ctx.recorded.topicArn}; the queue follows the new topic`,
        ),
      );
      topic.topicReason = 'TOPIC_CHANGED';
    }
    const policy = topicPolicy(probe.value, trail.arn, ctx);
    out.findings.push(...policy.findings);
    out.actions.push(...policy.actions);
    return { ...out, decided: { topic } };
  },
};

function defaultTopicArn(trail: TrailTarget, ctx: PlanContext): string {
  // CloudTrail only publishes to a topic in the trail's home region.
  return buildTopicArn(trail.homeRegion, ctx.accountId, CHAIN_NAMES.topic);
}

function useDefaultTopic(
  { observed, ctx }: RuleInput,
  trail: TrailTarget,
  reason: FindingCode,
  pointTrail: boolean,
): TopicOutput {
  const arn = defaultTopicArn(trail, ctx);
  const out = none();
  const probe = observed.topics[arn] ?? NOT_OBSERVED;
  if (!probe.known) {
    out.findings.push(incomplete(arn, 'the collector topic', probe.error));
    return { ...out, decided: { topic: { created: false } } };
  }
  const created = probe.value === null;
  if (probe.value === null) {
    out.actions.push(
      draft(
        'CREATE_TOPIC',
        { topicName: CHAIN_NAMES.topic, region: trail.homeRegion },
        {
          resource: arn,
          reason,
          part: 'topic',
          provides: [keys.topic(arn)],
          recreates: ctx.recorded.topicArn === arn,
        },
      ),
      putTopicPolicy(arn, trail.arn, reason, ctx),
    );
  } else {
    const policy = topicPolicy(probe.value, trail.arn, ctx);
    out.findings.push(...policy.findings);
    out.actions.push(...policy.actions);
  }
  if (pointTrail) {
    out.actions.push(
      updateTrail(trail, { topicName: CHAIN_NAMES.topic }, reason, 'topic', [keys.topic(arn), keys.topicPolicy(arn)]),
    );
  }
  return { ...out, decided: { topic: { created, topicArn: arn, topicReason: reason } } };
}

/**
 * The collector's topic statements, merged: CloudTrail's publish statement, and in the hub topology the one
 * letting the collector subscribe its hub queue (every write carries both, since a merge replaces all the
 * collector's statements).
 */
export function putTopicPolicy(arn: string, trailArn: string, reason: FindingCode, ctx: PlanContext): ActionDraft {
  const subscriber = hubSubscriber(ctx);
  return draft(
    'PUT_TOPIC_POLICY',
    { topicArn: arn, trailArn, ...(subscriber !== undefined ? { hubSubscriber: subscriber } : {}) },
    { resource: arn, reason, part: 'topic', needs: [keys.topic(arn)], provides: [keys.topicPolicy(arn)] },
  );
}

/** TOPIC_POLICY_INVALID -> PUT_TOPIC_POLICY (merged); an explicit Deny of the customer's -> POLICY_DENY_CONFLICT. */
function topicPolicy(topic: ObservedTopic, trailArn: string, ctx: PlanContext): RuleOutput {
  const out = none();
  // A topic of another account is not the collector's to repair (and the role could not).
  if (arnParts(topic.arn).accountId !== ctx.accountId) return out;
  const verdict = checkTopicPolicy(topic.policy, { topicArn: topic.arn, trailArn, accountId: ctx.accountId });
  if (verdict.allowed) return out;
  if (verdict.explicitDeny) {
    out.findings.push(
      finding(
        'POLICY_DENY_CONFLICT',
        'high',
        topic.arn,
        `the topic policy explicitly denies CloudTrail publishing for ${trailArn}: ${verdict.reasons.join('; ')}. ` +
          'The collector does not remove a customer Deny',
      ),
    );
    return out;
  }
  out.findings.push(
    finding(
      'TOPIC_POLICY_INVALID',
      'high',
      topic.arn,
      `CloudTrail cannot publish to the topic for ${trailArn}: ${verdict.reasons.join('; ')}`,
    ),
  );
  out.actions.push(putTopicPolicy(topic.arn, trailArn, 'TOPIC_POLICY_INVALID', ctx));
  return out;
}
