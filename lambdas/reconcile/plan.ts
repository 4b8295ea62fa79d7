/**
 * plan: a pure function from the observed state to findings and actions. The rules live in rules.ts; this file
 * composes them in chain order, applies the REPAIR_LOOP guard, orders the actions by dependency and attaches
 * every action's cost impact.
 */
import { actionCostImpact } from './costs';
import {
  bucketRule,
  costRule,
  createTrailRule,
  eventSourceMappingRule,
  finding,
  ownTrailArchiveRule,
  queueRule,
  subscriptionRule,
  topicRule,
  trailErrorsRule,
  trailLoggingRule,
  trailRule,
  type ActionDraft,
  type RuleOutput,
} from './rules';
import { selectCollectionTrail } from './trail-selection';
import type {
  Action,
  ActionCode,
  ActionStatus,
  ChainPart,
  ChainTarget,
  Finding,
  ObservedState,
  Plan,
  PlanContext,
  PlannedAction,
} from './types';

/**
 * Execution order. Dependencies: bucket before trail, topic before subscription, queue policy before
 * subscription, topic and bucket policies before the trail (CloudTrail validates them on Create/UpdateTrail).
 * Beyond that, the queue and its subscription come before the trail is pointed at the topic or started, so the
 * first notifications of a repaired chain are not published to a topic nobody listens to.
 */
export const ACTION_ORDER: readonly ActionCode[] = [
  'CREATE_BUCKET',
  'PUT_BUCKET_POLICY',
  'CREATE_TOPIC',
  'PUT_TOPIC_POLICY',
  'CREATE_QUEUE',
  'PUT_QUEUE_POLICY',
  'SUBSCRIBE',
  'REUSE_TRAIL',
  'CREATE_TRAIL',
  'UPDATE_TRAIL',
  'START_LOGGING',
  'CREATE_ESM',
  'ENABLE_ESM',
];

/** Recorded instead of a bucket policy fingerprint when this run changes the bucket or its policy. */
export const POLICY_FINGERPRINT_PENDING = 'pending';

/** Re-creations of one resource within this window that stop further re-creation. */
export const REPAIR_LOOP_LIMIT = 3;
export const REPAIR_LOOP_WINDOW_MS = 24 * 60 * 60 * 1000;

export function planAccount(observed: ObservedState, ctx: PlanContext): Plan {
  if (!observed.trails.known) {
    // Without the trail list nothing can be decided safely: AccessDenied is not "no trail".
    return {
      findings: [
        finding(
          'OBSERVE_INCOMPLETE',
          'high',
          ctx.accountId,
          `the account's trails could not be read (${observed.trails.error}); nothing is changed`,
        ),
      ],
      actions: [],
      target: {},
    };
  }
  const trails = observed.trails.value;
  const findings: Finding[] = [];
  const drafts: ActionDraft[] = [];
  const add = (output: RuleOutput): void => {
    findings.push(...output.findings);
    drafts.push(...output.actions);
  };

  findings.push(...costRule(trails, ctx));
  const selection = selectCollectionTrail(trails, {
    accountId: ctx.accountId,
    region: ctx.region,
    ...(ctx.recorded.trailArn !== undefined ? { recordedTrailArn: ctx.recorded.trailArn } : {}),
  });
  const decision = trailRule(trails, selection, ctx);
  add(decision);
  const target: ChainTarget = {};
  const trail = decision.target;
  if (trail !== undefined) {
    target.trailArn = trail.arn;
    if (trail.observed !== undefined) {
      const others = trails.filter((other) => other.arn !== trail.arn);
      add(trailLoggingRule(trail.observed, ctx, others));
      add(trailErrorsRule(trail.observed, observed, ctx));
    }
    const archived = trail.observed === undefined ? undefined : ownTrailArchiveRule(trail.observed, ctx);
    if (archived !== undefined) {
      findings.push(archived);
    } else {
      const bucket = bucketRule(trail, decision.creating, observed, ctx);
      add(bucket);
      const topic = topicRule(trail, decision.creating, observed, ctx);
      add(topic);
      if (decision.creating) add(createTrailRule(trail, bucket, topic, ctx));
      const queue = queueRule(topic.topicArn, observed, ctx);
      add(queue);
      add(subscriptionRule(topic, queue, observed, ctx));
      const esm = eventSourceMappingRule(queue, observed, ctx);
      add(esm);
      assignDefined(target, {
        bucketName: bucket.bucketName,
        generatedBucketName: bucket.generatedBucketName,
        bucketPolicySha256: bucket.bucketPolicySha256,
        topicArn: topic.topicArn,
        queueArn: queue.queueArn,
        eventSourceMappingUuid: esm.uuid,
      });
      // The policy is about to change (or the bucket is new): fingerprint it next run, do not report our own change.
      if (drafts.some((draft) => draft.part === 'bucket')) target.bucketPolicySha256 = POLICY_FINGERPRINT_PENDING;
    }
  }
  return finalize(findings, drafts, target, ctx);
}

function assignDefined(target: ChainTarget, values: ChainTarget): void {
  for (const [key, value] of Object.entries(values) as [keyof ChainTarget, string | undefined][]) {
    if (value !== undefined) target[key] = value;
  }
}

/** The registry fields each chain part owns. */
export const PART_FIELDS: Record<ChainPart, (keyof ChainTarget)[]> = {
  trail: ['trailArn'],
  bucket: ['bucketName', 'generatedBucketName', 'bucketPolicySha256'],
  topic: ['topicArn'],
  queue: ['queueArn'],
  esm: ['eventSourceMappingUuid'],
};

export function finalize(findings: Finding[], drafts: ActionDraft[], target: ChainTarget, ctx: PlanContext): Plan {
  const unique = dedupe(drafts);
  const { kept, blocked } = repairLoopGuard(unique, ctx);
  for (const draft of blocked.filter((d) => d.recreationKey !== undefined)) {
    findings.push(
      finding(
        'REPAIR_LOOP',
        'high',
        draft.resource,
        `re-created ${REPAIR_LOOP_LIMIT} times within 24 hours; not re-created again (someone keeps deleting it, ` +
          'or detection is wrong): investigate, then clear its entry in the registry',
      ),
    );
  }
  for (const draft of blocked) for (const field of PART_FIELDS[draft.part]) delete target[field];
  const ordered = [...kept].sort((a, b) => ACTION_ORDER.indexOf(a.code) - ACTION_ORDER.indexOf(b.code));
  return { findings: dedupeFindings(findings), actions: link(ordered, ctx), target };
}

function actionId(draft: ActionDraft): string {
  if (draft.code === 'UPDATE_TRAIL')
    return `UPDATE_TRAIL:${draft.resource}:${'bucketName' in draft.params ? 'bucket' : 'topic'}`;
  return `${draft.code}:${draft.resource}`;
}

function dedupe(drafts: ActionDraft[]): ActionDraft[] {
  const seen = new Set<string>();
  return drafts.filter((draft) => {
    const id = actionId(draft);
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}

function dedupeFindings(findings: Finding[]): Finding[] {
  const seen = new Set<string>();
  return findings.filter((f) => {
    const id = `${f.code}\u0000${f.resource}\u0000${f.message}`;
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}

/**
 * A resource re-created REPAIR_LOOP_LIMIT times within 24 hours is not re-created again, and every action that
 * needs it is dropped with it (no policy on a topic that will not exist, no trail pointed at it).
 */
export function repairLoopGuard(
  drafts: ActionDraft[],
  ctx: PlanContext,
): { kept: ActionDraft[]; blocked: ActionDraft[] } {
  const since = ctx.now.getTime() - REPAIR_LOOP_WINDOW_MS;
  const looping = (draft: ActionDraft): boolean => {
    if (draft.recreationKey === undefined) return false;
    const times = ctx.recorded.recreations?.[draft.recreationKey] ?? [];
    return times.filter((time) => Date.parse(time) > since).length >= REPAIR_LOOP_LIMIT;
  };
  const blocked = drafts.filter(looping);
  const removedKeys = new Set(blocked.flatMap((draft) => draft.provides));
  let kept = drafts.filter((draft) => !blocked.includes(draft));
  let changed = blocked.length > 0;
  while (changed) {
    changed = false;
    for (const draft of kept) {
      if (draft.needs.some((key) => removedKeys.has(key))) {
        blocked.push(draft);
        draft.provides.forEach((key) => removedKeys.add(key));
        changed = true;
      }
    }
    kept = kept.filter((draft) => !blocked.includes(draft));
  }
  return { kept, blocked };
}

function link(ordered: ActionDraft[], ctx: PlanContext): PlannedAction[] {
  const providers = new Map<string, number[]>();
  ordered.forEach((draft, index) => {
    for (const key of draft.provides) providers.set(key, [...(providers.get(key) ?? []), index]);
  });
  return ordered.map((draft, index) => {
    const id = actionId(draft);
    const sources = [...new Set(draft.needs.flatMap((key) => providers.get(key) ?? []))].filter((i) => i !== index);
    if (sources.some((source) => source > index)) {
      // ACTION_ORDER and the rules' needs disagree: a bug, never something an account can cause.
      throw new Error(`action ${id} would run before an action it depends on`);
    }
    const dependsOn = sources.map((source) => actionId(ordered[source]!));
    const { needs: _needs, provides: _provides, ...rest } = draft;
    return { ...rest, id, dependsOn, costImpact: actionCostImpact(draft.code, ctx.costs) };
  });
}

/** The report form of a planned action (section 8): no inputs, no links. */
export function toReportAction(action: PlannedAction, status: ActionStatus, error?: string): Action {
  return {
    code: action.code,
    resource: action.resource,
    reason: action.reason,
    costImpact: action.costImpact,
    status,
    ...(error !== undefined ? { error } : {}),
  };
}
