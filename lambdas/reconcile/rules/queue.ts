/**
 * The queue and subscription rules: `outcomesqueue` (with its dead-letter queue) exists, its policy lets the
 * topic send (and the ingest role receive), and it is subscribed to the trail's topic without a filter.
 */
import { arnParts, queueArn as buildQueueArn } from '../../shared/arn';
import { CHAIN_NAMES } from '../names';
import { snsDeliveryUnsupported } from '../policies';
import { checkQueuePolicy } from '../policy-validation';
import { NOT_OBSERVED, type Finding, type FindingCode, type ObservedState, type PlanContext } from '../types';
import {
  draft,
  finding,
  incomplete,
  keys,
  none,
  type ActionDraft,
  type QueueDecision,
  type Rule,
  type RuleInput,
  type RuleOutput,
} from './kit';

/** The depth of outcomesqueue-dlq when observe could read it (reported as deadLetterMessages). */
export function deadLetterMessages(observed: ObservedState): number | undefined {
  const deadLetters = observed.queues[CHAIN_NAMES.dlq];
  return deadLetters?.known ? deadLetters.value?.messages : undefined;
}

/** Why SNS cannot deliver from the topic to the account's queue (opt-in -> another opt-in Region), if so. */
function deliveryUnsupported(topicArn: string, ctx: PlanContext): string | undefined {
  return snsDeliveryUnsupported(arnParts(topicArn).region, ctx.region);
}

/**
 * The SNS dead-letter queue a subscription of this topic can use: outcomesqueue-dlq, when the topic is in the
 * account and in the queue's Region. SNS Developer Guide, "Amazon SNS dead-letter queues (DLQs)": the DLQ must
 * be an SQS queue in the same account and Region as the subscription, and a subscription lives in its topic's
 * Region. A topic homed elsewhere (a trail in another Region) or of another account gets none: see
 * docs/drift-remediation.md.
 */
export function subscriptionDeadLetterQueue(topicArn: string, ctx: PlanContext): string | undefined {
  const topic = arnParts(topicArn);
  if (topic.region !== ctx.region || topic.accountId !== ctx.accountId) return undefined;
  return buildQueueArn(ctx.region, ctx.accountId, CHAIN_NAMES.dlq);
}

/** DLQ_NOT_EMPTY: reported, never purged: each message names log files whose records did not all reach the downstream. */
function deadLetterFindings(observed: ObservedState, ctx: PlanContext): Finding[] {
  const waiting = deadLetterMessages(observed);
  if (!waiting) return [];
  return [
    finding(
      'DLQ_NOT_EMPTY',
      'medium',
      buildQueueArn(ctx.region, ctx.accountId, CHAIN_NAMES.dlq),
      `${waiting} message(s) in ${CHAIN_NAMES.dlq}: their log files were not fully delivered; ` +
        'fix the cause (see the ingest logs), then redrive them to the queue',
    ),
  ];
}

/**
 * QUEUE_MISSING -> CREATE_QUEUE (DLQ first) + PUT_QUEUE_POLICY; QUEUE_POLICY_INVALID -> PUT_QUEUE_POLICY (merged);
 * an explicit Deny of the customer's -> POLICY_DENY_CONFLICT. The policy is only judged against a known topic.
 * DLQ_NOT_EMPTY is reported, never purged. DELIVERY_REGION_UNSUPPORTED: SNS cannot deliver from the topic's
 * Region to the queue's, so no policy is written for that topic (and nothing is subscribed). The DLQ's policy
 * is judged when the queue's subscription names it as its SNS dead-letter queue.
 */
export const queueRule: Rule = {
  name: 'queue',
  part: 'queue',
  phase: 'chain',
  codes: [
    'DLQ_NOT_EMPTY',
    'DELIVERY_REGION_UNSUPPORTED',
    'QUEUE_MISSING',
    'QUEUE_POLICY_INVALID',
    'POLICY_DENY_CONFLICT',
    'OBSERVE_INCOMPLETE',
  ],
  description: 'outcomesqueue and its dead-letter queue exist and the queue policy lets the chain work',
  check({ observed, ctx, decided }) {
    // The hub topology keeps no queue in the account: only a migration's leftover dead letters are reported,
    // while the old queue is still being retired (migration.ts).
    if (ctx.hub !== undefined) {
      const out = none();
      if (ctx.recorded.queueArn !== undefined) out.findings.push(...deadLetterFindings(observed, ctx));
      return { ...out, decided: { queue: { created: false } } };
    }
    const decidedTopic = decided.topic?.topicArn;
    const arn = buildQueueArn(ctx.region, ctx.accountId, CHAIN_NAMES.queue);
    const dlqArn = buildQueueArn(ctx.region, ctx.accountId, CHAIN_NAMES.dlq);
    const out = none();
    const decide = (queue: QueueDecision): RuleOutput => ({ ...out, decided: { queue } });
    const unsupported = decidedTopic === undefined ? undefined : deliveryUnsupported(decidedTopic, ctx);
    if (decidedTopic !== undefined && unsupported !== undefined) {
      out.findings.push(
        finding(
          'DELIVERY_REGION_UNSUPPORTED',
          'high',
          decidedTopic,
          `${unsupported}: the trail's notifications cannot reach ${arn}, so the collector neither writes a queue ` +
            `policy for this topic nor subscribes the queue. Run the collector in a Region enabled by default, or ` +
            `home the trail in ${ctx.region}`,
        ),
      );
    }
    // A topic SNS cannot deliver from is not judged against the queue policy.
    const topicArn = unsupported === undefined ? decidedTopic : undefined;
    out.findings.push(...deadLetterFindings(observed, ctx));
    const probe = observed.queues[CHAIN_NAMES.queue] ?? NOT_OBSERVED;
    if (!probe.known) {
      out.findings.push(incomplete(arn, 'the queue', probe.error));
      return decide({ created: false });
    }
    if (probe.value === null) {
      const wasRecorded = ctx.recorded.queueArn !== undefined;
      out.findings.push(
        finding(
          'QUEUE_MISSING',
          'high',
          arn,
          wasRecorded ? 'the queue no longer exists (deleted)' : 'the queue does not exist yet',
        ),
      );
      const dlq = observed.queues[CHAIN_NAMES.dlq] ?? NOT_OBSERVED;
      if (!dlq.known) {
        out.findings.push(incomplete(dlqArn, 'the dead-letter queue', dlq.error));
        return decide({ created: false });
      }
      if (dlq.value === null) {
        out.actions.push(
          draft(
            'CREATE_QUEUE',
            { queueName: CHAIN_NAMES.dlq, region: ctx.region },
            { resource: dlqArn, reason: 'QUEUE_MISSING', part: 'queue', provides: [keys.queue(dlqArn)] },
          ),
        );
      }
      out.actions.push(
        draft(
          'CREATE_QUEUE',
          { queueName: CHAIN_NAMES.queue, region: ctx.region, deadLetterQueueArn: dlqArn },
          {
            resource: arn,
            reason: 'QUEUE_MISSING',
            part: 'queue',
            needs: [keys.queue(dlqArn)],
            provides: [keys.queue(arn)],
            recreates: ctx.recorded.queueArn === arn,
          },
        ),
      );
      if (topicArn !== undefined) out.actions.push(putQueuePolicy(arn, topicArn, 'QUEUE_MISSING'));
      return decide({ created: true, queueArn: arn });
    }
    const queue = probe.value;
    if (topicArn === undefined) return decide({ created: false, queueArn: queue.arn });
    out.actions.push(...deadLetterPolicy(observed, ctx, topicArn, queue.arn, out));
    const verdict = checkQueuePolicy(queue.policy, {
      queueArn: queue.arn,
      topicArn,
      accountId: ctx.accountId,
      ...(ctx.ingestRoleArn ? { ingestRoleArn: ctx.ingestRoleArn } : {}),
    });
    const verdicts = [verdict.topicSend, ...(verdict.ingestReceive ? [verdict.ingestReceive] : [])];
    if (verdicts.every((v) => v.allowed)) return decide({ created: false, queueArn: queue.arn });
    const reasons = verdicts.flatMap((v) => v.reasons).join('; ');
    if (verdicts.some((v) => v.explicitDeny)) {
      out.findings.push(
        finding(
          'POLICY_DENY_CONFLICT',
          'high',
          queue.arn,
          `the queue policy explicitly denies the delivery chain: ${reasons}. The collector does not remove a customer Deny`,
        ),
      );
      return decide({ created: false, queueArn: queue.arn });
    }
    out.findings.push(
      finding('QUEUE_POLICY_INVALID', 'high', queue.arn, `the queue policy does not let the chain work: ${reasons}`),
    );
    out.actions.push(putQueuePolicy(queue.arn, topicArn, 'QUEUE_POLICY_INVALID'));
    return decide({ created: false, queueArn: queue.arn });
  },
};

/**
 * The queue's confirmed subscription names outcomesqueue-dlq as its SNS dead-letter queue, but the DLQ's
 * policy does not let the topic send: SNS could not park a failed notification there, and it would be lost.
 * QUEUE_POLICY_INVALID (on the DLQ) -> PUT_QUEUE_POLICY (merged); a customer Deny -> POLICY_DENY_CONFLICT.
 */
function deadLetterPolicy(
  observed: ObservedState,
  ctx: PlanContext,
  topicArn: string,
  queueArn: string,
  out: RuleOutput,
): ActionDraft[] {
  const dlqArn = subscriptionDeadLetterQueue(topicArn, ctx);
  if (dlqArn === undefined) return [];
  const topic = observed.topics[topicArn];
  const subscriptions = topic?.known && topic.value !== null ? topic.value.subscriptions : undefined;
  if (!subscriptions?.known) return [];
  const mine = subscriptions.value.find((s) => s.protocol === 'sqs' && s.endpoint === queueArn && !s.pending);
  if (mine?.redrivePolicy === undefined || !redriveTargets(mine.redrivePolicy, dlqArn)) return [];
  const dlq = observed.queues[CHAIN_NAMES.dlq] ?? NOT_OBSERVED;
  if (!dlq.known) {
    out.findings.push(incomplete(dlqArn, 'the dead-letter queue', dlq.error));
    return [];
  }
  if (dlq.value === null) return []; // the subscription's DLQ is gone: re-created with the queue (QUEUE_MISSING)
  const verdict = checkQueuePolicy(dlq.value.policy, { queueArn: dlqArn, topicArn, accountId: ctx.accountId });
  if (verdict.topicSend.allowed) return [];
  const reasons = verdict.topicSend.reasons.join('; ');
  if (verdict.topicSend.explicitDeny) {
    out.findings.push(
      finding(
        'POLICY_DENY_CONFLICT',
        'high',
        dlqArn,
        `the dead-letter queue's policy explicitly denies SNS: ${reasons}. The collector does not remove a customer Deny`,
      ),
    );
    return [];
  }
  out.findings.push(
    finding(
      'QUEUE_POLICY_INVALID',
      'high',
      dlqArn,
      `the subscription's dead-letter queue does not let the topic send, so a notification SNS fails to deliver is lost: ${reasons}`,
    ),
  );
  return [putQueuePolicy(dlqArn, topicArn, 'QUEUE_POLICY_INVALID', true)];
}

function redriveTargets(redrivePolicy: string, dlqArn: string): boolean {
  try {
    return (JSON.parse(redrivePolicy) as { deadLetterTargetArn?: unknown }).deadLetterTargetArn === dlqArn;
  } catch {
    return false;
  }
}

function putQueuePolicy(arn: string, topicArn: string, reason: FindingCode, deadLetter = false): ActionDraft {
  return draft(
    'PUT_QUEUE_POLICY',
    { queueName: arnParts(arn).name, queueArn: arn, topicArn, ...(deadLetter ? { deadLetter } : {}) },
    {
      resource: arn,
      reason,
      part: 'queue',
      needs: [keys.queue(arn), keys.topic(topicArn)],
      provides: [keys.queuePolicy(arn)],
    },
  );
}

/**
 * SUBSCRIPTION_MISSING (detected with ListSubscriptionsByTopic) -> SUBSCRIBE; SUBSCRIPTION_PENDING -> SUBSCRIBE
 * again (same-account SQS subscriptions confirm at once); SUBSCRIPTION_FILTERED is reported: a filter policy can
 * drop CloudTrail's notifications, and only the customer knows why it is there.
 */
export const subscriptionRule: Rule = {
  name: 'subscription',
  part: 'topic',
  phase: 'chain',
  codes: [
    'SUBSCRIPTION_PENDING',
    'SUBSCRIPTION_MISSING',
    'SUBSCRIPTION_FILTERED',
    'SUBSCRIPTION_NO_DEAD_LETTER',
    'OBSERVE_INCOMPLETE',
  ],
  description: 'the queue is subscribed to the trail topic, confirmed and without a filter policy',
  check(input) {
    const output = checkSubscription(input);
    const subscribe = output.actions.find((action) => action.code === 'SUBSCRIBE');
    const confirmed = input.decided.queue?.queueArn !== undefined && subscribe === undefined && confirmedNow(input);
    return {
      ...output,
      decided: { subscription: { confirmed, ...(subscribe !== undefined ? { subscribe } : {}) } },
    };
  },
};

/** The queue's subscription is confirmed in the observed state. */
function confirmedNow({ observed, decided }: RuleInput): boolean {
  const topicArn = decided.topic?.topicArn;
  const queueArn = decided.queue?.queueArn;
  const probe = topicArn === undefined ? undefined : observed.topics[topicArn];
  if (probe?.known !== true || probe.value === null || !probe.value.subscriptions.known) return false;
  return probe.value.subscriptions.value.some(
    (s) => s.protocol === 'sqs' && s.endpoint === queueArn && !s.pending && s.deleted !== true,
  );
}

function checkSubscription({ observed, ctx, decided }: RuleInput): RuleOutput {
  const out = none();
  const topic = decided.topic;
  const queue = decided.queue;
  const topicArn = topic?.topicArn;
  const queueArn = queue?.queueArn;
  if (topicArn === undefined || queueArn === undefined) return out;
  // The queue rule reported DELIVERY_REGION_UNSUPPORTED: a subscription could never deliver.
  if (deliveryUnsupported(topicArn, ctx) !== undefined) return out;
  const probe = observed.topics[topicArn] ?? NOT_OBSERVED;
  const existing =
    probe.known && probe.value !== null && probe.value.subscriptions.known
      ? probe.value.subscriptions.value.filter((s) => s.protocol === 'sqs' && s.endpoint === queueArn)
      : [];
  // A new subscription gets outcomesqueue-dlq as its SNS dead-letter queue when SNS allows it (same account and
  // Region) and the DLQ exists or is created in this plan. Not for one that exists already: Subscribe with other
  // attributes than the existing subscription's fails.
  const dlqArn = subscriptionDeadLetterQueue(topicArn, ctx);
  const dlq = observed.queues[CHAIN_NAMES.dlq];
  const dlqExists = queue?.created === true || (dlq?.known === true && dlq.value !== null);
  const deadLetter = dlqArn !== undefined && existing.length === 0 && dlqExists;
  const subscribe = (reason: FindingCode): ActionDraft =>
    draft(
      'SUBSCRIBE',
      { topicArn, queueArn, ...(deadLetter && dlqArn !== undefined ? { deadLetterQueueArn: dlqArn } : {}) },
      {
        resource: topicArn,
        reason,
        part: 'topic',
        needs: [
          keys.topic(topicArn),
          keys.queue(queueArn),
          keys.queuePolicy(queueArn),
          ...(deadLetter && dlqArn !== undefined ? [keys.queue(dlqArn)] : []),
        ],
        provides: [keys.subscription(topicArn, queueArn)],
      },
    );
  if (topic?.created) {
    out.actions.push(subscribe(topic.topicReason ?? 'TOPIC_MISSING'));
    return out;
  }
  if (!probe.known || probe.value === null) return out; // the topic rule already reported it
  const subscriptions = probe.value.subscriptions;
  if (!subscriptions.known) {
    out.findings.push(incomplete(topicArn, 'the topic subscriptions', subscriptions.error));
    return out;
  }
  const mine = subscriptions.value.filter((s) => s.protocol === 'sqs' && s.endpoint === queueArn);
  const confirmed = mine.find((s) => !s.pending);
  if (confirmed === undefined) {
    if (mine.length > 0) {
      out.findings.push(
        finding('SUBSCRIPTION_PENDING', 'medium', topicArn, `the subscription of ${queueArn} is not confirmed`),
      );
      out.actions.push(subscribe('SUBSCRIPTION_PENDING'));
    } else if (topic?.topicReason !== undefined) {
      out.actions.push(subscribe(topic.topicReason));
    } else if (queue?.created) {
      out.actions.push(subscribe('QUEUE_MISSING'));
    } else {
      out.findings.push(
        finding('SUBSCRIPTION_MISSING', 'high', topicArn, `${queueArn} is not subscribed to the topic`),
      );
      out.actions.push(subscribe('SUBSCRIPTION_MISSING'));
    }
    return out;
  }
  const filter = confirmed.filterPolicy;
  if (filter === undefined) return out;
  // Its attributes were read (filterPolicy is set only then): a subscription made before the collector gave its
  // subscriptions a dead-letter queue, or by someone else, has no RedrivePolicy, and SNS drops what it cannot
  // deliver (it does not retry client errors: SNS Developer Guide, "Amazon SNS message delivery retries").
  // Not while the queue is re-created in this plan: the next run sets it on the surviving subscription.
  if (
    filter.known &&
    confirmed.redrivePolicy === undefined &&
    dlqArn !== undefined &&
    dlqExists &&
    queue?.created !== true
  ) {
    out.findings.push(
      finding(
        'SUBSCRIPTION_NO_DEAD_LETTER',
        'low',
        confirmed.arn,
        `the subscription of ${queueArn} has no dead-letter queue: a notification SNS cannot deliver (a queue ` +
          'policy not yet in force, a deleted queue) is dropped',
      ),
    );
    out.actions.push(
      draft(
        'SET_SUBSCRIPTION_ATTRIBUTES',
        {
          topicArn,
          subscriptionArn: confirmed.arn,
          attributeName: 'RedrivePolicy',
          attributeValue: JSON.stringify({ deadLetterTargetArn: dlqArn }),
          by: 'customer',
        },
        {
          resource: confirmed.arn,
          reason: 'SUBSCRIPTION_NO_DEAD_LETTER',
          part: 'topic',
          needs: [keys.subscription(topicArn, queueArn), keys.queue(dlqArn)],
          provides: [],
        },
      ),
    );
  }
  if (!filter.known) {
    out.findings.push(incomplete(confirmed.arn, 'the subscription filter policy', filter.error));
  } else if (filter.value !== null && filter.value.trim() !== '' && filter.value.trim() !== '{}') {
    out.findings.push(
      finding(
        'SUBSCRIPTION_FILTERED',
        'medium',
        confirmed.arn,
        `the subscription has a filter policy (${filter.value}); CloudTrail notifications carry no message ` +
          'attributes, so it can drop them. The collector does not remove it',
      ),
    );
  }
  return out;
}
