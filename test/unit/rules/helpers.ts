/** Shared by the rule tests: plan summaries, a state changed in place, and one rule run on its own. */
import { probeTargets } from '../../../lambdas/reconcile/targets';
import { RULES, type ChainDecisions, type Rule, type RuleOutput } from '../../../lambdas/reconcile/rules';
import type { ObservedState, Plan, PlanContext } from '../../../lambdas/reconcile/types';
import { ACCT, REGION, healthy } from '../../../testkit/reconcile-fixtures';

export const codes = (plan: Plan) => plan.actions.map((a) => a.code);
export const findingCodes = (plan: Plan) => plan.findings.map((f) => f.code);
export const summary = (plan: Plan) => plan.actions.map((a) => [a.code, a.resource, a.reason]);

export function with_(change: (state: ObservedState) => void, base = healthy()): ObservedState {
  change(base);
  return base;
}

export const CUSTOMER_TRAIL = `arn:aws:cloudtrail:${REGION}:${ACCT}:trail/acme-audit`;

/**
 * One rule's own output for a state: the rules before it in the pack run first, so it sees their decisions
 * (as in the planner), and the rule's findings and drafts are returned as it made them.
 */
export function ruleOutput(rule: Rule, state: ObservedState, ctx: PlanContext): RuleOutput {
  const probes = probeTargets(state.trails, state, ctx);
  const trails = state.trails.known ? state.trails.value : [];
  const decided: ChainDecisions = {};
  for (const candidate of RULES) {
    const output = candidate.check({ observed: state, trails, ctx, probes, decided });
    if (candidate === rule) return output;
    Object.assign(decided, output.decided);
  }
  throw new Error(`${rule.name} is not in the pack`);
}
