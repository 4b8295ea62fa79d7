/**
 * The cost rule: every way the account's trails bill more than one free copy of management events. Reports
 * only: the collector never deletes or narrows a customer's trail.
 */
import {
  cloudWatchLogsCost,
  dataEventsCost,
  duplicateTrailsCost,
  insightsCost,
  insightsCostForSelectors,
  networkActivityEventsCost,
} from '../costs';
import {
  describeSelection,
  intersectSelections,
  isEmptySelection,
  NO_MANAGEMENT,
  selectionIn,
  trailCoverage,
  unionSelections,
  type TrailCoverage,
} from '../coverage';
import { logsManagementEvents, presumedLogging } from '../trail-selection';
import { known, type Finding, type FindingCode, type ObservedTrail } from '../types';
import { finding, type Rule } from './kit';

/**
 * COST_DUPLICATE_TRAILS when two or more trails log some of the same management events in the collector region
 * (every copy after the first is billed: CloudTrail pricing, "the first copy of management events is free"): a
 * read-only trail and a write-only trail, or a trail leaving out KMS events beside one logging only KMS events,
 * are not duplicates (coverage.ts). One finding per trail that bills data events, Insights or CloudWatch Logs.
 * Stopped trails bill nothing and are left out.
 */
export const costRule: Rule = {
  name: 'cost',
  part: 'account',
  phase: 'chain',
  codes: ['COST_DUPLICATE_TRAILS', 'COST_DATA_EVENTS', 'COST_INSIGHTS', 'COST_CLOUDWATCH_LOGS'],
  description: 'trails that bill a second copy of management events, data events, Insights or CloudWatch Logs',
  check({ trails, ctx }) {
    const findings: Finding[] = [];
    // 'yes' implies readable selectors, so every logging trail has a coverage. An organization trail of another
    // account whose logging a member cannot read is presumed to log every management event (trail-selection.ts),
    // as for the cost guard: beside it, the member's own trail is the paid copy.
    const presumed = trails.filter((trail) => trail.isOrganization && presumedLogging(trail, ctx.accountId));
    const logging = [
      ...trails.filter((trail) => logsManagementEvents(trail) === 'yes'),
      ...presumed.map(presumedAllManagement),
    ]
      .map(trailCoverage)
      .filter((coverage): coverage is TrailCoverage => coverage !== undefined);
    const here = (coverage: TrailCoverage) => selectionIn(coverage, ctx.region);
    const isPresumed = (coverage: TrailCoverage) => presumed.some((trail) => trail.arn === coverage.arn);
    let twice = NO_MANAGEMENT;
    const copies = logging.filter((coverage) =>
      logging.some((other) => {
        // Two organization trails of other accounts bill their owner, not this member: not this account's copy.
        if (other === coverage || (isPresumed(other) && isPresumed(coverage))) return false;
        const both = intersectSelections(here(coverage), here(other));
        twice = unionSelections(twice, both);
        return !isEmptySelection(both);
      }),
    );
    const copiedPresumed = presumed.filter((trail) => copies.some((copy) => copy.arn === trail.arn)).map((t) => t.arn);
    if (copies.length >= 2) {
      const cost = duplicateTrailsCost(copies.length - 1, ctx.costs);
      findings.push(
        finding(
          'COST_DUPLICATE_TRAILS',
          'medium',
          copies.map((trail) => trail.arn).join(', '),
          `${copies.length} trails log the same management events in ${ctx.region} ` +
            `(${describeSelection(twice).join('; ')}); every copy after the first is billed: ${cost.note}` +
            `${describeSelection(twice).join() === 'read and write events' ? '' : ' (an upper bound: only that part is copied)'}. ` +
            (copiedPresumed.length > 0
              ? `${copiedPresumed.join(', ')} is an organization trail whose logging this member cannot read, presumed ` +
                "to log every management event: it is the account's free first copy, each own trail beside it is billed. "
              : '') +
            'Remove or narrow the extra trails (the collector never deletes a trail it did not create)',
        ),
      );
    }
    for (const trail of trails) {
      if (trail.status.known && !trail.status.value.isLogging) continue;
      const selectors = trail.selectors.known ? trail.selectors.value : undefined;
      // One info finding per paid feature the trail has on. Network activity events are reported under
      // COST_DATA_EVENTS: CloudTrail bills them as data events.
      const billed: [FindingCode, boolean, () => string][] = [
        [
          'COST_DATA_EVENTS',
          selectors?.dataEvents === true,
          () => `records data events: ${dataEventsCost(ctx.costs).note}`,
        ],
        [
          'COST_DATA_EVENTS',
          selectors?.networkActivityEvents === true,
          () => `records network activity events: ${networkActivityEventsCost(ctx.costs).note}`,
        ],
        [
          'COST_INSIGHTS',
          trail.hasInsightSelectors && (!trail.insightSelectors?.known || trail.insightSelectors.value.length > 0),
          () =>
            `has CloudTrail Insights on: ${
              trail.insightSelectors?.known
                ? insightsCostForSelectors(trail.insightSelectors.value, ctx.costs).note
                : insightsCost(ctx.costs).note
            }`,
        ],
        [
          'COST_CLOUDWATCH_LOGS',
          trail.cloudWatchLogsLogGroupArn !== undefined && trail.cloudWatchLogsLogGroupArn !== '',
          () => `also sends events to ${trail.cloudWatchLogsLogGroupArn}: ${cloudWatchLogsCost(ctx.costs).note}`,
        ],
      ];
      for (const [code, applies, message] of billed) {
        if (applies) findings.push(finding(code, 'info', trail.arn, `the trail ${message()}`));
      }
    }
    return { findings, actions: [] };
  },
};

/** The organization trail as presumed: logging; every management event when its selectors could not be read. */
function presumedAllManagement(trail: ObservedTrail): ObservedTrail {
  if (trail.selectors.known) return trail;
  return { ...trail, selectors: known({ managementEvents: true, dataEvents: false }) };
}
