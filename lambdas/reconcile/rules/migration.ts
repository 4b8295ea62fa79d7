/**
 * Moving an account between topologies (lambdas/shared/topology.ts) without losing or duplicating a record:
 * the new path is subscribed first (hub.ts, or the queue, subscription and mapping rules), then the old one is
 * retired in the same run, and its mapping only once its queue is drained, as observed by a later run.
 *
 * Between the new path's Subscribe and the old path's Unsubscribe, SNS delivers each notification to both: the
 * log files announced in that moment are read and forwarded twice, with the same idempotency keys (bucket, key,
 * version, batch index: lambdas/ingest/idempotency.ts), so the downstream can drop the second copy. Nothing is
 * lost: a file is announced on the new path before the old one stops.
 */
import { CHAIN_NAMES } from '../names';
import type { ObservedEventSourceMapping, ObservedState, ObservedSubscription, PlanContext } from '../types';
import {
  collectorMappings,
  customerQueueArn,
  draft,
  finding,
  incomplete,
  isHubQueue,
  keys,
  knownSubscriptions,
  none,
  unsubscribe,
  type ActionDraft,
  type Rule,
  type RuleOutput,
  type TopologyDecision,
} from './kit';
import { liveSubscription } from './hub';

const DUPLICATES =
  'files announced between the two calls reach both queues and are delivered twice, with the same idempotency keys';

/**
 * Hub topology: once the hub subscription delivers (or is made by this plan), outcomesqueue is unsubscribed
 * (TOPOLOGY_MIGRATING -> UNSUBSCRIBE, as its owner, the account), and so is the subscription of another shard's
 * hub queue (a changed shard count). A later run that sees the old subscription gone deletes the collector's
 * mapping once outcomesqueue is drained (ApproximateNumberOfMessages and ...NotVisible both 0) -> DELETE_ESM.
 * outcomesqueue and outcomesqueue-dlq are left to the customer: the notice names them.
 */
export const customerQueueRetirementRule: Rule = {
  name: 'retire-customer-queue',
  part: 'esm',
  phase: 'chain',
  codes: ['TOPOLOGY_MIGRATING', 'OBSERVE_INCOMPLETE'],
  description: 'in the hub topology, the customer-queue path is retired after the hub subscription delivers',
  check({ observed, ctx, decided }) {
    const hub = ctx.hub;
    const topicArn = decided.topic?.topicArn;
    const hubSubscription = decided.hubSubscription;
    if (hub === undefined || topicArn === undefined || hubSubscription === undefined) return none();
    const out = none();
    // A topic this plan creates has no subscription yet.
    const subscriptions = decided.topic?.created === true ? [] : knownSubscriptions(observed, topicArn);
    const ready = hubSubscription.confirmed || hubSubscription.subscribe !== undefined;
    if (!ready || subscriptions === undefined) return out; // the hub rule said why
    const oldQueue = customerQueueArn(ctx);
    const old = liveSubscription(subscriptions, oldQueue);
    const otherShards = subscriptions.filter(
      (s) => isHubQueue(s.endpoint, ctx) && s.endpoint !== hub.queueArn && !s.pending && !s.deleted,
    );
    const after: ActionDraft[] = hubSubscription.subscribe !== undefined ? [hubSubscription.subscribe] : [];
    const needs = hubSubscription.subscribe !== undefined ? [keys.subscription(topicArn, hub.queueArn)] : [];
    const unsubscribes = [old, ...otherShards]
      .filter((s): s is ObservedSubscription => s !== undefined)
      .map((s) => unsubscribe(topicArn, s, ctx, needs, 'TOPOLOGY_MIGRATING'));
    if (unsubscribes.length > 0) {
      const endpoints = [old, ...otherShards].flatMap((s) => (s === undefined ? [] : [s.endpoint]));
      out.findings.push(
        finding(
          'TOPOLOGY_MIGRATING',
          'info',
          topicArn,
          `unsubscribes ${endpoints.join(', ')} from the topic in this run, after ${hub.queueArn} is subscribed: ` +
            `${DUPLICATES}` +
            (old !== undefined
              ? `; the mapping of ${oldQueue} is deleted once the queue is drained, in a later run`
              : ''),
        ),
      );
      out.actions.push(...unsubscribes);
      after.push(...unsubscribes);
    }
    const remove: ('queueArn' | 'eventSourceMappingUuid')[] = [];
    if (old === undefined) {
      const retired = retireMapping(observed, ctx, out);
      if (retired !== undefined) {
        out.actions.push(...retired);
        after.push(...retired);
        if (ctx.recorded.queueArn !== undefined) remove.push('queueArn');
        if (ctx.recorded.eventSourceMappingUuid !== undefined) remove.push('eventSourceMappingUuid');
      }
    }
    const changes = ctx.recorded.ingestTopology !== 'hub' || ctx.recorded.ingestShard !== hub.shard;
    if (!changes && remove.length === 0) return out;
    return withTopology(out, { ingestTopology: 'hub', ingestShard: hub.shard, remove, after });
  },
};

/**
 * The customer queue's mapping, retired once the queue is drained: the drafts (DELETE_ESM, none when no mapping is
 * left), or undefined while the queue still holds messages (or cannot be read).
 */
function retireMapping(observed: ObservedState, ctx: PlanContext, out: RuleOutput): ActionDraft[] | undefined {
  const queueArn = customerQueueArn(ctx);
  const mappings = mappingsOf(observed, ctx, queueArn, out);
  if (mappings === undefined) return undefined;
  const queue = observed.queues[CHAIN_NAMES.queue];
  const deadLetters = observed.queues[CHAIN_NAMES.dlq];
  const waiting = deadLetters?.known && deadLetters.value?.messages ? deadLetters.value.messages : 0;
  const leftOver =
    queue?.known && queue.value !== null
      ? `${CHAIN_NAMES.queue} and ${CHAIN_NAMES.dlq} stay in the account: the collector no longer uses them and ` +
        `leaves them to you (it does not delete them)` +
        (waiting > 0 ? `; ${CHAIN_NAMES.dlq} holds ${waiting} message(s) of log files that were not delivered` : '')
      : undefined;
  if (mappings.length === 0) {
    if (ctx.recorded.queueArn === undefined && ctx.recorded.eventSourceMappingUuid === undefined) return [];
    out.findings.push(
      finding(
        'TOPOLOGY_MIGRATING',
        'info',
        queueArn,
        `the customer-queue path is retired${leftOver ? `: ${leftOver}` : ''}`,
      ),
    );
    return [];
  }
  const uuids = mappings.map((m) => m.uuid).join(', ');
  if (queue !== undefined && !queue.known) {
    out.findings.push(incomplete(queueArn, 'the queue depth', queue.error));
    return undefined;
  }
  const value = queue?.known === true ? queue.value : undefined;
  const drained = value === null || (value !== undefined && value.messages === 0 && value.messagesInFlight === 0);
  if (!drained) {
    const depth =
      value === undefined
        ? 'its depth was not read'
        : `${value.messages ?? '?'} waiting, ${value.messagesInFlight ?? '?'} in flight`;
    out.findings.push(
      finding(
        'TOPOLOGY_MIGRATING',
        'info',
        queueArn,
        `waits for ${CHAIN_NAMES.queue} to drain (${depth}) before deleting its mapping ${uuids}: the mapping still ` +
          'delivers what the queue holds',
      ),
    );
    return undefined;
  }
  out.findings.push(
    finding(
      'TOPOLOGY_MIGRATING',
      'info',
      queueArn,
      `${CHAIN_NAMES.queue} is drained and no longer subscribed: deletes the mapping ${uuids}` +
        (leftOver ? `; ${leftOver}` : ''),
    ),
  );
  return mappings.map((mapping) =>
    draft(
      'DELETE_ESM',
      { uuid: mapping.uuid, queueArn },
      { resource: queueArn, reason: 'TOPOLOGY_MIGRATING', part: 'esm' },
    ),
  );
}

/**
 * The collector's mappings of the customer queue: as observed, or the recorded one when observe did not list them
 * (no ingest function configured). undefined when the listing failed (OBSERVE_INCOMPLETE).
 */
function mappingsOf(
  observed: ObservedState,
  ctx: PlanContext,
  queueArn: string,
  out: RuleOutput,
): Pick<ObservedEventSourceMapping, 'uuid'>[] | undefined {
  const listed = observed.eventSourceMappings;
  if (listed === undefined || ctx.ingestFunctionArn === undefined) {
    const recorded = ctx.recorded.eventSourceMappingUuid;
    return recorded === undefined ? [] : [{ uuid: recorded }];
  }
  if (!listed.known) {
    // Not listed because the queue is gone, or the listing failed.
    const queue = observed.queues[CHAIN_NAMES.queue];
    if (queue?.known === true && queue.value === null && ctx.recorded.eventSourceMappingUuid !== undefined) {
      return [{ uuid: ctx.recorded.eventSourceMappingUuid }];
    }
    if (listed.error === 'not observed') return [];
    out.findings.push(incomplete(queueArn, 'the event source mappings', listed.error));
    return undefined;
  }
  return collectorMappings(listed.value, ctx);
}

/**
 * Customer-queue topology: a hub subscription left from the hub topology is unsubscribed once outcomesqueue is
 * subscribed and mapped (TOPOLOGY_MIGRATING -> UNSUBSCRIBE, by the subscription's owner, the collector), and the
 * registry records the account as customer-queue again.
 */
export const hubRetirementRule: Rule = {
  name: 'retire-hub-subscription',
  part: 'esm',
  phase: 'chain',
  codes: ['TOPOLOGY_MIGRATING'],
  description: 'in the customer-queue topology, a hub subscription is retired after outcomesqueue delivers',
  check({ observed, ctx, decided }) {
    const out = none();
    const topicArn = decided.topic?.topicArn;
    const queueArn = decided.queue?.queueArn;
    if (ctx.hub !== undefined || topicArn === undefined || queueArn === undefined) return out;
    const subscriptions = knownSubscriptions(observed, topicArn);
    if (subscriptions === undefined) return out;
    const hubs = subscriptions.filter((s) => isHubQueue(s.endpoint, ctx) && !s.pending && !s.deleted);
    const wasHub = ctx.recorded.ingestTopology === 'hub' || ctx.recorded.ingestShard !== undefined;
    if (hubs.length === 0 && !wasHub) return out;
    const subscription = decided.subscription;
    const subscribed = subscription?.confirmed === true || subscription?.subscribe !== undefined;
    const mapped = ctx.ingestFunctionArn === undefined || decided.esm?.ready === true;
    if (!subscribed || !mapped) {
      if (hubs.length > 0) {
        out.findings.push(
          finding(
            'TOPOLOGY_MIGRATING',
            'info',
            topicArn,
            `keeps the hub subscription until ${queueArn} is subscribed and has its event source mapping: it ` +
              "carries the account's notifications until then",
          ),
        );
      }
      return out;
    }
    const needs = [keys.subscription(topicArn, queueArn), keys.esm(queueArn)];
    const unsubscribes = hubs.map((s) => unsubscribe(topicArn, s, ctx, needs, 'TOPOLOGY_MIGRATING'));
    if (unsubscribes.length > 0) {
      out.findings.push(
        finding(
          'TOPOLOGY_MIGRATING',
          'info',
          topicArn,
          `moving the account to the customer-queue topology: unsubscribes ${hubs.map((s) => s.endpoint).join(', ')} ` +
            `in this run, after ${queueArn} is subscribed and mapped: ${DUPLICATES}`,
        ),
      );
      out.actions.push(...unsubscribes);
    }
    return withTopology(out, {
      ingestTopology: 'customer-queue',
      remove: ctx.recorded.ingestShard !== undefined ? ['ingestShard'] : [],
      after: [...(subscription?.subscribe !== undefined ? [subscription.subscribe] : []), ...unsubscribes],
    });
  },
};

function withTopology(out: RuleOutput, topology: TopologyDecision): RuleOutput {
  return { ...out, decided: { topology } };
}
