/**
 * A topic the trail no longer notifies (TOPIC_CHANGED, TOPIC_MISSING, a re-created trail): the collector's
 * subscriptions on it are retired once the new topic's path delivers, as a topology migration retires the old
 * path (migration.ts): subscribe the new first, then unsubscribe the old in the same run, by its owner.
 *
 * Why: CloudTrail publishes each log file's notification to the trail's current topic only (SnsTopicName,
 * "UpdateTrail", AWS CloudTrail API Reference), so the old subscription carries no log file of the trail any more;
 * what it can still carry is whatever else publishes on that topic, and in the hub topology that is poison once the
 * topic's retry window has passed (lambdas/ingest/source/tenant.ts): a dead-lettered message in a hub DLQ for each
 * publish, and an endpoint subscribed to a topic the registry no longer names. Messages SNS delivered from the
 * old topic before the change stay the account's for the retry window (previousTopicArn, topicChangedAt), whether
 * or not the subscription is still there: unsubscribing removes no message already in a queue.
 *
 * Once the window has passed and the old topic carries no subscription of the collector's (or is gone), the
 * registry forgets it (`decided.previousTopic.forget`), and later runs stop reading it.
 */
import { retryWindowSeconds } from '../../shared/topology';
import { previousTopics } from '../targets';
import type { ObservedSubscription, PlanContext } from '../types';
import { customerQueueArn, finding, incomplete, isHubQueue, keys, none, unsubscribe, type Rule } from './kit';

export const previousTopicRetirementRule: Rule = {
  name: 'retire-previous-topic',
  part: 'topic',
  phase: 'chain',
  codes: ['TOPIC_CHANGED', 'OBSERVE_INCOMPLETE'],
  description: "the collector's subscriptions on a topic the trail no longer notifies are retired",
  check({ observed, ctx, decided }) {
    const current = decided.topic?.topicArn;
    const path = ctx.hub !== undefined ? decided.hubSubscription : decided.subscription;
    const endpoint = ctx.hub !== undefined ? ctx.hub.queueArn : decided.queue?.queueArn;
    if (current === undefined || path === undefined || endpoint === undefined) return none();
    const ready = path.confirmed || path.subscribe !== undefined;
    const needs = path.subscribe !== undefined ? [keys.subscription(current, endpoint)] : [];
    const out = none();
    let forget = ctx.recorded.previousTopicArn !== undefined && retryWindowPassed(ctx);
    for (const old of previousTopics(ctx, [current])) {
      const probe = observed.topics[old];
      if (probe?.known !== true) {
        forget = false;
        if (probe !== undefined) out.findings.push(incomplete(old, 'the previous trail topic', probe.error));
        continue;
      }
      // Deleted: SNS deleted its subscriptions with it.
      if (probe.value === null) continue;
      const listed = probe.value.subscriptions;
      if (!listed.known) {
        forget = false;
        out.findings.push(incomplete(old, 'the subscriptions of the previous trail topic', listed.error));
        continue;
      }
      const ours = listed.value.filter((s) => isCollectorPath(s, ctx));
      if (ours.length === 0) continue;
      forget = false;
      const endpoints = ours.map((s) => s.endpoint).join(', ');
      if (!ready) {
        out.findings.push(
          finding(
            'TOPIC_CHANGED',
            'info',
            old,
            `keeps the subscription of ${endpoints} to ${old}, which the trail no longer notifies, until ${endpoint} ` +
              `is subscribed to ${current}`,
          ),
        );
        continue;
      }
      out.findings.push(
        finding(
          'TOPIC_CHANGED',
          'info',
          old,
          `the trail no longer notifies ${old}: unsubscribes ${endpoints} from it in this run, after ${endpoint} is ` +
            `subscribed to ${current}; what it delivered before stays the account's for the queues' retry window`,
        ),
      );
      out.actions.push(...ours.map((s) => unsubscribe(old, s, ctx, needs, 'TOPIC_CHANGED')));
    }
    return { ...out, decided: { previousTopic: { forget } } };
  },
};

/** A confirmed SQS subscription of the collector's path: a hub queue, or the account's outcomesqueue. */
function isCollectorPath(s: ObservedSubscription, ctx: PlanContext): boolean {
  if (s.protocol !== 'sqs' || s.pending || s.deleted === true) return false;
  return isHubQueue(s.endpoint, ctx) || s.endpoint === customerQueueArn(ctx);
}

/** Whether the last topic change is older than the hub queues' retry window (tenant.ts binds until then). */
function retryWindowPassed(ctx: PlanContext): boolean {
  const changedAt = Date.parse(ctx.recorded.topicChangedAt ?? '');
  return !Number.isFinite(changedAt) || ctx.now.getTime() - changedAt > retryWindowSeconds() * 1000;
}
