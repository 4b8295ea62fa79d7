/**
 * The queue and subscription rules: `outcomesqueue` (with its dead-letter queue) exists, its policy lets the
 * topic send (and the ingest role receive), and it is subscribed to the trail's topic without a filter.
 */
import { arnParts, queueArn as buildQueueArn } from '../../shared/arn';
import { CHAIN_NAMES } from '../names';
import { checkQueuePolicy } from '../policy-validation';
import { NOT_OBSERVED, type FindingCode, type ObservedState } from '../types';
import {
  draft,
  finding,
  incomplete,
  keys,
  none,
  type ActionDraft,
  type QueueDecision,
  type Rule,
  type RuleOutput,
} from './kit';

/** The depth of outcomesqueue-dlq when observe could read it (reported as deadLetterMessages). */
export function deadLetterMessages(observed: ObservedState): number | undefined {
  const deadLetters = observed.queues[CHAIN_NAMES.dlq];
  return deadLetters?.known ? deadLetters.value?.messages : undefined;
}

/**
 * QUEUE_MISSING -> CREATE_QUEUE (DLQ first) + PUT_QUEUE_POLICY; QUEUE_POLICY_INVALID -> PUT_QUEUE_POLICY (merged);
 * an explicit Deny of the customer's -> POLICY_DENY_CONFLICT. The policy is only judged against a known topic.
 * DLQ_NOT_EMPTY is reported, never purged.
 */
export const queueRule: Rule = {
  name: 'queue',
  part: 'queue',
  phase: 'chain',
  codes: ['DLQ_NOT_EMPTY', 'QUEUE_MISSING', 'QUEUE_POLICY_INVALID', 'POLICY_DENY_CONFLICT', 'OBSERVE_INCOMPLETE'],
  description: 'outcomesqueue and its dead-letter queue exist and the queue policy lets the chain work',
  check({ observed, ctx, decided }) {
    const topicArn = decided.topic?.topicArn;
    const arn = buildQueueArn(ctx.region, ctx.accountId, CHAIN_NAMES.queue);
    const dlqArn = buildQueueArn(ctx.region, ctx.accountId, CHAIN_NAMES.dlq);
    const out = none();
    const decide = (queue: QueueDecision): RuleOutput => ({ ...out, decided: { queue } });
    const waiting = deadLetterMessages(observed);
    if (waiting) {
      // Reported, never purged: each message names log files whose records did not all reach the downstream.
      out.findings.push(
        finding(
          'DLQ_NOT_EMPTY',
          'medium',
          dlqArn,
          `${waiting} message(s) in ${CHAIN_NAMES.dlq}: their log files were not fully delivered; ` +
            'fix the cause (see the ingest logs), then redrive them to the queue',
        ),
      );
    }
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

function putQueuePolicy(arn: string, topicArn: string, reason: FindingCode): ActionDraft {
  return draft(
    'PUT_QUEUE_POLICY',
    { queueName: arnParts(arn).name, queueArn: arn, topicArn },
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
  codes: ['SUBSCRIPTION_PENDING', 'SUBSCRIPTION_MISSING', 'SUBSCRIPTION_FILTERED', 'OBSERVE_INCOMPLETE'],
  description: 'the queue is subscribed to the trail topic, confirmed and without a filter policy',
  check({ observed, decided }) {
    const out = none();
    const topic = decided.topic;
    const queue = decided.queue;
    const topicArn = topic?.topicArn;
    const queueArn = queue?.queueArn;
    if (topicArn === undefined || queueArn === undefined) return out;
    const subscribe = (reason: FindingCode): ActionDraft =>
      draft(
        'SUBSCRIBE',
        { topicArn, queueArn },
        {
          resource: topicArn,
          reason,
          part: 'topic',
          needs: [keys.topic(topicArn), keys.queue(queueArn), keys.queuePolicy(queueArn)],
          provides: [keys.subscription(topicArn, queueArn)],
        },
      );
    if (topic?.created) {
      out.actions.push(subscribe(topic.topicReason ?? 'TOPIC_MISSING'));
      return out;
    }
    const probe = observed.topics[topicArn] ?? NOT_OBSERVED;
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
  },
};
