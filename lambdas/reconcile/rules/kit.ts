/**
 * What every rule shares: its one signature (`Rule`: RuleInput -> RuleOutput), the decisions the chain parts
 * hand on to the parts after them, findings, resource keys and the action-draft builder.
 *
 * A rule is pure. It reads the observed state, the plan context, the probe targets (the trail selection) and
 * the decisions of the parts before it, and returns findings, action drafts and its own part's decision.
 * Two invariants every rule keeps (and the property test checks):
 * - nothing is created, changed or subscribed on unknown state: an unknown part yields OBSERVE_INCOMPLETE;
 * - CREATE_TRAIL only comes from the trail selection returning `create` (see trail-selection.ts).
 */
import { createHash } from 'node:crypto';
import { arnParts, queueArn as buildQueueArn, tryParseArn, unqualifiedFunctionArn } from '../../shared/arn';
import { hubQueueName, type IngestTopology } from '../../shared/topology';
import { CHAIN_NAMES } from '../names';
import type { PolicyStatement } from '../policies';
import type { ProbeTargets } from '../targets';
import type {
  ActionCode,
  ActionSpec,
  ChainPart,
  CostImpact,
  Finding,
  FindingCode,
  HubSubscriber,
  ObservedState,
  ObservedSubscription,
  ObservedTrail,
  PlanContext,
  PlannedAction,
  Severity,
  TopologyRecord,
} from '../types';

/** An action before ids, dependencies and cost are attached. `needs`/`provides` are resource keys. */
export type ActionDraft = ActionSpec & {
  resource: string;
  reason: FindingCode;
  part: ChainPart;
  needs: string[];
  provides: string[];
  recreationKey?: string;
  /** Set by a rule that prices its action from the state (BACKFILL); otherwise costs.ts prices it by code. */
  costImpact?: CostImpact;
};

/** The trail the chain is repaired around, once the plan is applied. */
export interface TrailTarget {
  arn: string;
  name: string;
  homeRegion: string;
  /** undefined while the trail does not exist yet (CREATE_TRAIL). */
  observed?: ObservedTrail;
}

export interface TrailDecision {
  target: TrailTarget;
  /** The trail is created by this plan. */
  creating: boolean;
}

export interface BucketDecision {
  /** The bucket the trail delivers to once applied (undefined: unknown, nothing depends on it). */
  bucketName?: string;
  generatedBucketName?: string;
  bucketPolicySha256?: string;
}

export interface TopicDecision {
  /** The topic the trail notifies once applied (undefined: unknown). */
  topicArn?: string;
  /** Why the queue must (re)subscribe to this topic, when the topic is new to the chain. */
  topicReason?: FindingCode;
  created: boolean;
}

export interface QueueDecision {
  queueArn?: string;
  created: boolean;
}

export interface EsmDecision {
  uuid?: string;
  /** The collector's mapping feeds the queue once applied (observed enabled, or created or enabled by this plan). */
  ready?: boolean;
}

/** A subscription of the chain: in place already, or made by `subscribe` in this plan (or neither). */
export interface SubscriptionDecision {
  confirmed: boolean;
  subscribe?: ActionDraft;
}

/**
 * The registry's record of the account's path once the `after` drafts applied (plan.ts turns them into action
 * ids, and drops the record when the REPAIR_LOOP guard dropped one of them).
 */
export interface TopologyDecision {
  ingestTopology: IngestTopology;
  ingestShard?: number;
  remove: TopologyRecord['remove'];
  after: ActionDraft[];
}

/** What the parts decided so far, in chain order: trail, bucket, topic, queue, event source mapping. */
export interface ChainDecisions {
  trail?: TrailDecision;
  bucket?: BucketDecision;
  topic?: TopicDecision;
  queue?: QueueDecision;
  /** The customer queue's subscription (customer-queue topology). */
  subscription?: SubscriptionDecision;
  /** The hub queue's subscription (hub topology). */
  hubSubscription?: SubscriptionDecision;
  esm?: EsmDecision;
  topology?: TopologyDecision;
  /** The recorded previous topic carries nothing of the collector's and its retry window has passed. */
  previousTopic?: { forget: boolean };
}

export interface RuleInput {
  observed: ObservedState;
  /** The account's trails (the plan only runs rules once they are known; empty before, for the access rules). */
  trails: ObservedTrail[];
  ctx: PlanContext;
  /** The trail selection and what was probed, as observe recorded it. */
  probes: ProbeTargets;
  /** The decisions of the rules before this one. */
  decided: ChainDecisions;
  /**
   * Account rules only: the plan's findings so far and its chain actions (after the REPAIR_LOOP guard). An account
   * rule's action follows them (BACKFILL): its `needs` are the ids of the actions it waits for.
   */
  planned?: { findings: readonly Finding[]; actions: readonly PlannedAction[] };
}

export interface RuleOutput {
  findings: Finding[];
  actions: ActionDraft[];
  /** This rule's decision for its part, read by the rules after it. */
  decided?: ChainDecisions;
  /** `chain`: no further chain rule runs; `plan`: nothing else runs at all (not even the account rules). */
  stop?: 'chain' | 'plan';
}

/** Where a rule runs: `chain` rules in chain order before the REPAIR_LOOP guard, `account` rules after it. */
export type RulePhase = 'chain' | 'account';

export interface Rule {
  name: string;
  /** The chain part it judges, or `account` for the account as a whole. */
  part: ChainPart | 'account';
  phase: RulePhase;
  /** Every finding code the rule can emit. */
  codes: readonly FindingCode[];
  description: string;
  check(input: RuleInput): RuleOutput;
}

export function finding(code: FindingCode, severity: Severity, resource: string, message: string): Finding {
  return { code, severity, resource, message };
}

export function none(): RuleOutput {
  return { findings: [], actions: [] };
}

export function incomplete(resource: string, what: string, error: string): Finding {
  return finding(
    'OBSERVE_INCOMPLETE',
    'medium',
    resource,
    `${what} could not be read (${error}); the collector changes nothing that depends on it`,
  );
}

/** Resource keys: an action providing a key must be applied before any action needing it. */
export const keys = {
  bucket: (name: string) => `bucket:${name}`,
  bucketPolicy: (name: string) => `bucket-policy:${name}`,
  topic: (arn: string) => `topic:${arn}`,
  topicPolicy: (arn: string) => `topic-policy:${arn}`,
  queue: (arn: string) => `queue:${arn}`,
  queuePolicy: (arn: string) => `queue-policy:${arn}`,
  trail: (arn: string) => `trail:${arn}`,
  subscription: (topic: string, queue: string) => `subscription:${topic}|${queue}`,
  esm: (queue: string) => `esm:${queue}`,
};

// ---- the account's ingest path (lambdas/shared/topology.ts) ------------------------------------------------

/** `outcomesqueue` of the account, in the collector's region: the customer-queue topology's queue. */
export function customerQueueArn(ctx: PlanContext): string {
  return buildQueueArn(ctx.region, ctx.accountId, CHAIN_NAMES.queue);
}

/** The hub topology's topic policy statement input, or undefined in the customer-queue topology. */
export function hubSubscriber(ctx: PlanContext): HubSubscriber | undefined {
  return ctx.hub === undefined ? undefined : { principalArn: ctx.hub.subscriberArn, endpoint: ctx.hub.queueArn };
}

/** 2 unless configured: the least Lambda allows, and what ESM_MAXIMUM_CONCURRENCY defaults to (config.ts). */
export function esmMaximumConcurrency(ctx: PlanContext): number {
  return ctx.esmMaximumConcurrency ?? 2;
}

const HUB_QUEUE_NAME = new RegExp(`^${hubQueueName(0).replace(/00$/, '')}\\d{2}$`);

/**
 * Is this endpoint one of the collector's hub queues? One listed in HUB_QUEUE_ARNS; when none are configured (a
 * customer-queue collector retiring an earlier hub path), a queue named like a hub queue in the collector's own
 * account (the ingest function's), never one of the customer's.
 */
export function isHubQueue(endpoint: string, ctx: Pick<PlanContext, 'hubQueueArns' | 'ingestFunctionArn'>): boolean {
  const listed = ctx.hubQueueArns ?? [];
  if (listed.length > 0) return listed.includes(endpoint);
  const collector = ctx.ingestFunctionArn === undefined ? undefined : arnParts(ctx.ingestFunctionArn).accountId;
  const parsed = tryParseArn(endpoint);
  return (
    collector !== undefined &&
    parsed?.service === 'sqs' &&
    parsed.accountId === collector &&
    HUB_QUEUE_NAME.test(parsed.resource)
  );
}

/** The collector's mappings among those observed (the ingest function's, a qualified ARN included). */
export function collectorMappings<M extends { functionArn: string }>(
  mappings: readonly M[],
  ctx: Pick<PlanContext, 'ingestFunctionArn'>,
): M[] {
  if (ctx.ingestFunctionArn === undefined) return [];
  const wanted = unqualifiedFunctionArn(ctx.ingestFunctionArn);
  return mappings.filter((mapping) => unqualifiedFunctionArn(mapping.functionArn) === wanted);
}

export interface DraftOptions {
  resource: string;
  reason: FindingCode;
  part: ChainPart;
  needs?: string[];
  provides?: string[];
  /** This creation re-creates a resource the collector recorded: counted under its first `provides` key. */
  recreates?: boolean;
}

type ParamsOf<C extends ActionCode> = Extract<ActionSpec, { code: C }>['params'];

/** An action draft: the operation with its exact inputs, and what it repairs, needs and provides. */
export function draft<C extends ActionCode>(code: C, params: ParamsOf<C>, options: DraftOptions): ActionDraft {
  const provides = options.provides ?? [];
  const recreationKey = options.recreates === true ? provides[0] : undefined;
  return {
    code,
    params,
    resource: options.resource,
    reason: options.reason,
    part: options.part,
    needs: options.needs ?? [],
    provides,
    ...(recreationKey !== undefined ? { recreationKey } : {}),
  } as ActionDraft;
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Does the policy text already hold every one of these statements (the collector's own, unchanged)? */
export function hasStatements(policyText: string | null, statements: PolicyStatement[]): boolean {
  if (!policyText) return false;
  try {
    const parsed = JSON.parse(policyText) as { Statement?: unknown };
    const present = (Array.isArray(parsed.Statement) ? parsed.Statement : [parsed.Statement]).map((s) =>
      JSON.stringify(s),
    );
    return statements.every((statement) => present.includes(JSON.stringify(statement)));
  } catch {
    return false;
  }
}

/** Points the trail at one new bucket or topic; every other trail setting (selectors above all) stays. */
export function updateTrail(
  trail: TrailTarget,
  setting: { bucketName: string } | { topicName: string },
  reason: FindingCode,
  part: 'bucket' | 'topic',
  needs: string[],
): ActionDraft {
  return draft(
    'UPDATE_TRAIL',
    { trailName: trail.name, region: trail.homeRegion, ...setting },
    { resource: trail.arn, reason, part, needs, provides: [keys.trail(trail.arn)] },
  );
}

/** The subscriptions of an observed topic, or undefined when the topic or its subscriptions are not known. */
export function knownSubscriptions(observed: ObservedState, topicArn: string): ObservedSubscription[] | undefined {
  const probe = observed.topics[topicArn];
  if (probe?.known !== true || probe.value === null || !probe.value.subscriptions.known) return undefined;
  return probe.value.subscriptions.value;
}

/**
 * UNSUBSCRIBE as the subscription's owner: a hub queue's subscription is the collector's (the queue owner
 * subscribed it), the customer queue's is the account's. An Unsubscribe by another account than the owner would
 * leave it "Deleted" for 72 hours (AWS Knowledge Center, "How do I recreate a 'Deleted' Amazon SNS topic
 * subscription for an Amazon SQS queue in another AWS account?").
 */
export function unsubscribe(
  topicArn: string,
  s: ObservedSubscription,
  ctx: PlanContext,
  needs: string[],
  reason: FindingCode,
): ActionDraft {
  const endpointAccount = arnParts(s.endpoint).accountId;
  const owner = s.owner ?? endpointAccount;
  const by = owner !== ctx.accountId && owner === endpointAccount ? 'collector' : 'customer';
  return draft(
    'UNSUBSCRIBE',
    { topicArn, subscriptionArn: s.arn, by },
    { resource: s.arn, reason, part: 'topic', needs },
  );
}
