/**
 * plan: a pure function from the observed state to findings and actions, and every decision of a reconcile
 * run. It runs the rule pack (rules/index.ts) in chain order, each rule seeing the decisions of the parts
 * before it; applies the REPAIR_LOOP guard; orders the actions by dependency and attaches their cost impact;
 * decides which actions this run executes (report-mode accounts only get REUSE_TRAIL, which changes nothing),
 * whether the chain is recorded, and, from apply's results, the account's status and report.
 * The data flow of a run is described in docs/architecture.md.
 */
import { CHAIN_FIELDS } from '../shared/registry';
import { plannedCostImpact } from './path-costs';
import {
  POLICY_FINGERPRINT_PENDING,
  RULES,
  collectionLagMinutes,
  deadLetterMessages,
  finding,
  type ActionDraft,
  type ChainDecisions,
  type Rule,
  type RuleOutput,
} from './rules';
import { probeTargets } from './targets';
import {
  CHAIN_FIELD_PART,
  type AccountHealth,
  type AccountReport,
  type Action,
  type ActionCode,
  type ActionResults,
  type ActionStatus,
  type ChainPart,
  type ChainTarget,
  type Finding,
  type ObservedState,
  type Plan,
  type PlanContext,
  type PlannedAction,
  type TopologyRecord,
} from './types';
import type { ChainField } from '../shared/registry';

export { POLICY_FINGERPRINT_PENDING };

/**
 * Execution order. Dependencies: bucket before trail, topic before subscription, queue policy before
 * subscription, topic and bucket policies before the trail (CloudTrail validates them on Create/UpdateTrail).
 * Beyond that, the queue and its subscription come before the trail is pointed at the topic or started, so the
 * first notifications of a repaired chain are not published to a topic nobody listens to. Every policy is written
 * before the call that depends on it, as early as the order allows, so it has the most time to propagate; what
 * is not in force yet when CloudTrail or Lambda checks it is retried by apply (PROPAGATION_ERRORS in apply.ts).
 * A path being retired goes last (rules/migration.ts): the new subscription and mapping first, then UNSUBSCRIBE
 * of the old subscription, then DELETE_ESM of a drained queue's mapping.
 */
export const ACTION_ORDER: readonly ActionCode[] = [
  'CREATE_BUCKET',
  'PUT_BUCKET_POLICY',
  'CREATE_TOPIC',
  'PUT_TOPIC_POLICY',
  'CREATE_QUEUE',
  'PUT_QUEUE_POLICY',
  // The archive queue's policy (written by the same action) must let S3 send before S3's test message.
  'PUT_BUCKET_NOTIFICATION',
  'PUT_ARCHIVE_EVENT_RULE',
  'SUBSCRIBE',
  'SET_SUBSCRIPTION_ATTRIBUTES',
  'REUSE_TRAIL',
  'CREATE_TRAIL',
  'UPDATE_TRAIL',
  'START_LOGGING',
  'CREATE_ESM',
  'ENABLE_ESM',
  'UPDATE_ESM',
  'UNSUBSCRIBE',
  'DELETE_ESM',
  // The collector's own trail, once an organization trail delivers the account's files (rules/organization.ts).
  'RETIRE_TRAIL',
  // After every repair: the files of the gap go out through the repaired path (rules/backfill.ts).
  'BACKFILL',
];

/** Re-creations of one resource within this window that stop further re-creation. */
export const REPAIR_LOOP_LIMIT = 3;
export const REPAIR_LOOP_WINDOW_MS = 24 * 60 * 60 * 1000;

/** The registry fields each chain part owns (from CHAIN_FIELD_PART, in CHAIN_FIELDS order). */
export const PART_FIELDS: Readonly<Record<ChainPart, readonly ChainField[]>> = partFields();

function partFields(): Record<ChainPart, ChainField[]> {
  const fields: Record<ChainPart, ChainField[]> = {
    trail: [],
    bucket: [],
    topic: [],
    queue: [],
    esm: [],
    backfill: [],
  };
  for (const field of CHAIN_FIELDS) fields[CHAIN_FIELD_PART[field]].push(field);
  return fields;
}

export function planAccount(observed: ObservedState, ctx: PlanContext, rules: readonly Rule[] = RULES): Plan {
  const trails = observed.trails.known ? observed.trails.value : [];
  const probes = observed.probes ?? probeTargets(observed.trails, observed, ctx);
  const findings: Finding[] = [];
  const drafts: ActionDraft[] = [];
  const decided: ChainDecisions = {};
  const run = (rule: Rule): RuleOutput => {
    const output = rule.check({ observed, trails, ctx, probes, decided });
    Object.assign(decided, output.decided);
    return output;
  };

  for (const rule of rules.filter((r) => r.phase === 'chain')) {
    const output = run(rule);
    findings.push(...output.findings);
    drafts.push(...output.actions);
    if (output.stop === 'plan') {
      // The role could not be assumed: nothing was observed, so nothing else is said or recorded.
      return { findings, actions: [], target: {}, execute: [], unobserved: true, recordsChain: false };
    }
    if (output.stop === 'chain') break;
  }
  const {
    findings: chainFindings,
    actions: chainActions,
    target,
  } = finalize(findings, drafts, chainTarget(decided, drafts), ctx);
  const topology = topologyRecord(decided, chainActions);
  // Account rules follow the chain: their findings come after the chain's (and the REPAIR_LOOP guard's), and an
  // action of theirs (BACKFILL) runs after the chain actions it names.
  const actions = [...chainActions];
  for (const rule of rules.filter((r) => r.phase === 'account')) {
    const output = rule.check({
      observed,
      trails,
      ctx,
      probes,
      decided,
      planned: { findings: chainFindings, actions: chainActions },
    });
    chainFindings.push(...output.findings);
    for (const draft of output.actions) actions.push(linkFollowUp(draft, chainActions, ctx));
  }
  const waiting = deadLetterMessages(observed);
  const lag = collectionLagMinutes(observed, ctx, probes);
  return {
    findings: chainFindings,
    actions,
    target,
    execute: actions.filter((action) => executes(action, ctx)).map((action) => action.id),
    unobserved: observedWhollyFailed(observed),
    recordsChain: ctx.runMode === 'apply',
    ...(waiting !== undefined ? { deadLetterMessages: waiting } : {}),
    ...(lag !== undefined ? { collectionLagMinutes: lag } : {}),
    ...(topology !== undefined ? { topology } : {}),
    ...(decided.previousTopic?.forget === true ? { forgetPreviousTopic: true as const } : {}),
  };
}

/** The topology the rules decided to record, unless the REPAIR_LOOP guard dropped an action it waits for. */
function topologyRecord(decided: ChainDecisions, actions: readonly PlannedAction[]): TopologyRecord | undefined {
  const topology = decided.topology;
  if (topology === undefined) return undefined;
  const after = topology.after.map(actionId);
  if (!after.every((id) => actions.some((action) => action.id === id))) return undefined;
  return {
    ingestTopology: topology.ingestTopology,
    ...(topology.ingestShard !== undefined ? { ingestShard: topology.ingestShard } : {}),
    remove: topology.remove,
    after,
  };
}

/** Apply runs execute what the account's mode allows; REUSE_TRAIL only records, so report-mode accounts get it. */
function executes(action: PlannedAction, ctx: PlanContext): boolean {
  return ctx.runMode === 'apply' && (ctx.accountMode === 'apply' || action.code === 'REUSE_TRAIL');
}

function observedWhollyFailed(observed: ObservedState): boolean {
  const parts = [
    observed.trails,
    ...Object.values(observed.queues),
    ...(observed.eventSourceMappings ? [observed.eventSourceMappings] : []),
  ];
  return parts.every((part) => !part.known);
}

/** The chain the registry records once the plan applied: the trail, and the parts decided around it. */
function chainTarget(decided: ChainDecisions, drafts: ActionDraft[]): ChainTarget {
  const target: ChainTarget = {};
  if (decided.trail !== undefined) target.trailArn = decided.trail.target.arn;
  const bucket = decided.bucket;
  if (bucket === undefined) return target; // a log archive collects the trail: no chain is kept here
  const values: ChainTarget = {
    bucketName: bucket.bucketName,
    generatedBucketName: bucket.generatedBucketName,
    bucketPolicySha256: bucket.bucketPolicySha256,
    topicArn: decided.topic?.topicArn,
    queueArn: decided.queue?.queueArn,
    eventSourceMappingUuid: decided.esm?.uuid,
  };
  for (const [key, value] of Object.entries(values) as [ChainField, string | undefined][]) {
    if (value !== undefined) target[key] = value;
  }
  // The policy is about to change (or the bucket is new): fingerprint it next run, do not report our own change.
  if (drafts.some((draft) => draft.part === 'bucket')) target.bucketPolicySha256 = POLICY_FINGERPRINT_PENDING;
  return target;
}

function finalize(
  findings: Finding[],
  drafts: ActionDraft[],
  target: ChainTarget,
  ctx: PlanContext,
): Pick<Plan, 'findings' | 'actions' | 'target'> {
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
  if (draft.code === 'UPDATE_TRAIL') {
    const setting =
      'bucketName' in draft.params ? 'bucket' : 'topicName' in draft.params ? 'topic' : 'log-file-validation';
    return `UPDATE_TRAIL:${draft.resource}:${setting}`;
  }
  // A queue may have several mappings to retire.
  if (draft.code === 'DELETE_ESM') return `DELETE_ESM:${draft.resource}:${draft.params.uuid}`;
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
    const { needs: _needs, provides: _provides, costImpact, ...rest } = draft;
    return { ...rest, id, dependsOn, costImpact: costImpact ?? plannedCostImpact(draft, ctx.costs) };
  });
}

/** An account rule's action: after the chain's; its `needs` are the ids of the chain actions it waits for. */
function linkFollowUp(draft: ActionDraft, chain: readonly PlannedAction[], ctx: PlanContext): PlannedAction {
  const id = actionId(draft);
  const dependsOn = draft.needs.filter((need) => chain.some((action) => action.id === need));
  const { needs: _needs, provides: _provides, costImpact, ...rest } = draft;
  return { ...rest, id, dependsOn, costImpact: costImpact ?? plannedCostImpact(draft, ctx.costs) };
}

// ---- after apply: the report ------------------------------------------------------------------------------

/** The report form of a planned action: no inputs, no links. */
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

/** apply's results joined to the plan by action id, in plan order. */
export function reportActions(actions: readonly PlannedAction[], results: ActionResults): Action[] {
  return actions.map((action) => {
    const result = results.get(action.id);
    if (result === undefined) throw new Error(`no result for action ${action.id}`);
    return result;
  });
}

/** The account's report: the plan's findings, apply's results and the status they make. */
export function accountReport(accountId: string, plan: Plan, results: ActionResults): AccountReport {
  const actions = reportActions(plan.actions, results);
  return {
    accountId,
    status: accountStatus(plan.findings, actions, plan.unobserved),
    findings: plan.findings,
    actions,
    ...(plan.deadLetterMessages !== undefined ? { deadLetterMessages: plan.deadLetterMessages } : {}),
    ...(plan.collectionLagMinutes !== undefined ? { collectionLagMinutes: plan.collectionLagMinutes } : {}),
  };
}

/**
 * healthy: no finding of severity low or above and no action; repaired: actions, all applied, and every such
 * finding answered by an applied action; error: the role could not be assumed or nothing could be observed;
 * degraded: anything else (findings left unrepaired, or actions only planned).
 */
export function accountStatus(findings: Finding[], actions: Action[], observeFailedWholly = false): AccountHealth {
  if (observeFailedWholly || findings.some((f) => f.code === 'ROLE_UNASSUMABLE')) return 'error';
  const significant = findings.filter((f) => f.severity !== 'info');
  if (actions.length === 0 && significant.length === 0) return 'healthy';
  const unrepaired = significant.filter((f) => !actions.some((a) => a.reason === f.code && a.status === 'applied'));
  if (actions.length > 0 && actions.every((a) => a.status === 'applied') && unrepaired.length === 0) return 'repaired';
  return 'degraded';
}
