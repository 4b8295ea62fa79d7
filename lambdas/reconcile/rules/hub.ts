/**
 * The hub subscription rule (hub topology, lambdas/shared/topology.ts): the trail's topic is subscribed to the hub
 * queue of the account's shard, by the collector (the queue owner: no confirmation needed), delivering the SNS
 * envelope, without a filter policy. No queue, no mapping and no polling cost stay in the customer account.
 */
import { arnParts } from '../../shared/arn';
import { checkHubSubscribePolicy } from '../hub-policy';
import { CHAIN_NAMES } from '../names';
import { hubSubscribeStatement, snsDeliveryUnsupported } from '../policies';
import { NOT_OBSERVED, type FindingCode, type ObservedSubscription, type PlanContext } from '../types';
import {
  customerQueueArn,
  draft,
  finding,
  hubSubscriber,
  incomplete,
  isHubQueue,
  keys,
  none,
  type ActionDraft,
  type Rule,
  type RuleInput,
  type RuleOutput,
  type SubscriptionDecision,
  type TopicDecision,
} from './kit';
import { putTopicPolicy } from './topic';

/** The subscription of `endpoint` on the topic that delivers (neither pending nor `Deleted`). */
export function liveSubscription(subscriptions: readonly ObservedSubscription[], endpoint: string) {
  return subscriptions.find((s) => s.protocol === 'sqs' && s.endpoint === endpoint && !s.pending && !s.deleted);
}

/**
 * SUBSCRIPTION_MISSING (or TOPOLOGY_MIGRATING, when the customer queue still carries the account's
 * notifications) -> SUBSCRIBE by the collector, after PUT_TOPIC_POLICY when the topic policy does not let it
 * subscribe; SUBSCRIPTION_PENDING -> SUBSCRIBE again (the queue owner's Subscribe needs no confirmation);
 * SUBSCRIPTION_RAW -> SET_SUBSCRIPTION_ATTRIBUTES; SUBSCRIPTION_FILTERED and SUBSCRIPTION_DELETED are reported.
 * A topic of another account is never subscribed (ingest binds a message to the account owning its topic), nor
 * one SNS cannot deliver from (opt-in Region -> another opt-in Region).
 */
export const hubSubscriptionRule: Rule = {
  name: 'hub-subscription',
  part: 'topic',
  phase: 'chain',
  codes: [
    'TRAIL_NOT_COLLECTABLE',
    'DELIVERY_REGION_UNSUPPORTED',
    'SUBSCRIPTION_DELETED',
    'SUBSCRIPTION_PENDING',
    'SUBSCRIPTION_MISSING',
    'TOPOLOGY_MIGRATING',
    'POLICY_DENY_CONFLICT',
    'SUBSCRIPTION_RAW',
    'SUBSCRIPTION_FILTERED',
    'OBSERVE_INCOMPLETE',
  ],
  description: "the trail topic is subscribed to the hub queue of the account's shard, delivering the SNS envelope",
  check(input) {
    const { ctx, decided } = input;
    const topic = decided.topic;
    const topicArn = topic?.topicArn;
    const trailArn = decided.trail?.target.arn;
    if (ctx.hub === undefined || topic === undefined || topicArn === undefined || trailArn === undefined) return none();
    return planHubSubscription(input, { ...topic, topicArn }, (reason) =>
      putTopicPolicy(topicArn, trailArn, reason, ctx),
    );
  },
};

/**
 * The hub subscription of `topic` (the trail's topic, or a log archive's topic: rules/archive-notifications.ts).
 * `writePolicy` drafts the write of the topic's collector statements, with the hub subscribe statement, when
 * the policy does not let the collector subscribe.
 */
export function planHubSubscription(
  { observed, ctx }: Pick<RuleInput, 'observed' | 'ctx'>,
  topic: TopicDecision & { topicArn: string },
  writePolicy: (reason: FindingCode) => ActionDraft,
): RuleOutput {
  const out = none();
  const hub = ctx.hub;
  const topicArn = topic.topicArn;
  if (hub === undefined) return out;
  const decide = (hubSubscription: SubscriptionDecision): RuleOutput => ({ ...out, decided: { hubSubscription } });
  const topicAccount = arnParts(topicArn).accountId;
  if (topicAccount !== ctx.accountId) {
    out.findings.push(
      finding(
        'TRAIL_NOT_COLLECTABLE',
        'high',
        topicArn,
        `the trail notifies a topic of account ${topicAccount}: in the hub topology a notification is bound to the ` +
          'registered account that owns its topic, so the collector subscribes only topics of the account itself; ' +
          'point the trail at a topic of this account',
      ),
    );
    return decide({ confirmed: false });
  }
  const unsupported = snsDeliveryUnsupported(arnParts(topicArn).region, arnParts(hub.queueArn).region);
  if (unsupported !== undefined) {
    out.findings.push(
      finding(
        'DELIVERY_REGION_UNSUPPORTED',
        'high',
        topicArn,
        `${unsupported}: the trail's notifications cannot reach ${hub.queueArn}, so the collector does not ` +
          'subscribe it. Run the hub queues in a Region enabled by default, or home the trail in their Region',
      ),
    );
    return decide({ confirmed: false });
  }
  const subscribe = (reason: FindingCode, policy: 'write' | 'in-place'): SubscriptionDecision => {
    const action = subscribeDraft(topicArn, reason, ctx);
    if (policy === 'write') out.actions.push(writePolicy(reason));
    out.actions.push(action);
    return { confirmed: false, subscribe: action };
  };
  // A topic created (or first used) by this plan gets its policy, with the hub statement, from the topic rule.
  if (topic.created) return decide(subscribe(topic.topicReason ?? 'TOPIC_MISSING', 'in-place'));
  const probe = observed.topics[topicArn] ?? NOT_OBSERVED;
  if (!probe.known || probe.value === null) return decide({ confirmed: false }); // the topic rule reported it
  const subscriptions = probe.value.subscriptions;
  if (!subscriptions.known) {
    out.findings.push(incomplete(topicArn, 'the topic subscriptions', subscriptions.error));
    return decide({ confirmed: false });
  }
  const mine = subscriptions.value.filter((s) => s.protocol === 'sqs' && s.endpoint === hub.queueArn);
  const live = liveSubscription(mine, hub.queueArn);
  if (live !== undefined) {
    out.actions.push(...attributeRepairs(live, topicArn, out));
    return decide({ confirmed: true });
  }
  if (mine.some((s) => s.deleted === true)) {
    out.findings.push(
      finding(
        'SUBSCRIPTION_DELETED',
        'high',
        topicArn,
        `the subscription of ${hub.queueArn} is "Deleted": it was unsubscribed by another account than its owner ` +
          '(the collector), and SNS keeps it so for 72 hours, during which it refuses to subscribe the queue again ' +
          "(AWS Knowledge Center, \"How do I recreate a 'Deleted' Amazon SNS topic subscription for an Amazon SQS " +
          'queue in another AWS account?"). Nothing arrives meanwhile; the collector subscribes again once SNS has ' +
          'cleared it. Do not unsubscribe the hub queue from your topic',
      ),
    );
    return decide({ confirmed: false });
  }
  const verdict = checkHubSubscribePolicy(probe.value.policy, { topicArn, subscriber: hubSubscriber(ctx)! });
  if (verdict.explicitDeny) {
    out.findings.push(
      finding(
        'POLICY_DENY_CONFLICT',
        'high',
        topicArn,
        `the topic policy explicitly denies the collector subscribing ${hub.queueArn}: ${verdict.reasons.join('; ')}. ` +
          'The collector does not remove a customer Deny',
      ),
    );
    return decide({ confirmed: false });
  }
  const policy = verdict.allowed ? 'in-place' : 'write';
  const hint = policy === 'write' ? statementHint(topicArn, ctx) : '';
  if (mine.length > 0) {
    out.findings.push(
      finding(
        'SUBSCRIPTION_PENDING',
        'medium',
        topicArn,
        `the subscription of ${hub.queueArn} is not confirmed${hint}`,
      ),
    );
    return decide(subscribe('SUBSCRIPTION_PENDING', policy));
  }
  if (topic.topicReason !== undefined) return decide(subscribe(topic.topicReason, policy));
  const oldQueue = customerQueueArn(ctx);
  const migrating =
    liveSubscription(subscriptions.value, oldQueue) !== undefined ||
    subscriptions.value.some((s) => isHubQueue(s.endpoint, ctx) && !s.deleted);
  if (migrating) {
    out.findings.push(
      finding(
        'TOPOLOGY_MIGRATING',
        'info',
        topicArn,
        `moving the account to the hub topology: subscribes ${hub.queueArn} (shard ${hub.shard}) first, then ` +
          `retires the path that carries its notifications now${hint}`,
      ),
    );
    return decide(subscribe('TOPOLOGY_MIGRATING', policy));
  }
  const yet = ctx.recorded.topicArn === undefined ? ' yet' : '';
  out.findings.push(
    finding('SUBSCRIPTION_MISSING', 'high', topicArn, `${hub.queueArn} is not subscribed to the topic${yet}${hint}`),
  );
  return decide(subscribe('SUBSCRIPTION_MISSING', policy));
}

/**
 * The customer role may change the policy of `outcomestopic` only (lib/permissions.ts): on a topic of the
 * customer's the statement is theirs to add, so the finding carries it.
 */
function statementHint(topicArn: string, ctx: PlanContext): string {
  if (arnParts(topicArn).name === CHAIN_NAMES.topic) return '';
  const statement = hubSubscribeStatement(topicArn, hubSubscriber(ctx)!);
  return (
    '. The collector may only write the policy of its own topic: if PUT_TOPIC_POLICY fails, add this statement ' +
    `to the topic policy: ${JSON.stringify(statement)}`
  );
}

/**
 * A hub subscription by the collector: the registry binds the topic to the account before it is made (reconcile.ts),
 * since ingest rejects an envelope whose TopicArn is not the registered topic of its account.
 */
function subscribeDraft(topicArn: string, reason: FindingCode, ctx: PlanContext): ActionDraft {
  const hub = ctx.hub!;
  return draft(
    'SUBSCRIBE',
    { topicArn, queueArn: hub.queueArn, hubShard: hub.shard },
    {
      resource: topicArn,
      reason,
      part: 'topic',
      needs: [keys.topic(topicArn), keys.topicPolicy(topicArn)],
      provides: [keys.subscription(topicArn, hub.queueArn)],
    },
  );
}

/**
 * SUBSCRIPTION_RAW -> SET_SUBSCRIPTION_ATTRIBUTES RawMessageDelivery=false: ingest reads the tenant from the
 * envelope's TopicArn and rejects a raw body on a hub queue as poison. SUBSCRIPTION_FILTERED is reported.
 */
function attributeRepairs(live: ObservedSubscription, topicArn: string, out: RuleOutput): ActionDraft[] {
  const filter = live.filterPolicy;
  if (filter !== undefined && !filter.known) {
    out.findings.push(incomplete(live.arn, 'the hub subscription attributes', filter.error));
    return [];
  }
  if (filter?.known && filter.value !== null && filter.value.trim() !== '' && filter.value.trim() !== '{}') {
    out.findings.push(
      finding(
        'SUBSCRIPTION_FILTERED',
        'medium',
        live.arn,
        `the hub subscription has a filter policy (${filter.value}); CloudTrail notifications carry no message ` +
          'attributes, so it can drop them. The collector does not remove it',
      ),
    );
  }
  if (live.rawMessageDelivery !== true) return [];
  out.findings.push(
    finding(
      'SUBSCRIPTION_RAW',
      'high',
      live.arn,
      'the hub subscription delivers raw messages (RawMessageDelivery true): ingest binds a hub message to its ' +
        "account by the SNS envelope's TopicArn and rejects a raw body as poison",
    ),
  );
  return [
    draft(
      'SET_SUBSCRIPTION_ATTRIBUTES',
      { topicArn, subscriptionArn: live.arn, attributeName: 'RawMessageDelivery', attributeValue: 'false' },
      {
        resource: live.arn,
        reason: 'SUBSCRIPTION_RAW',
        part: 'topic',
        provides: [keys.subscription(topicArn, live.endpoint)],
      },
    ),
  ];
}
