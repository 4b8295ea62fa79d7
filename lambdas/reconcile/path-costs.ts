/**
 * The cost impact of a planned action: a subscription to a hub queue is $0 to the customer (no queue, no mapping,
 * no polling in the account); every other action is priced by costs.ts (actionCostImpact).
 */
import { actionCostImpact } from './costs';
import type { ActionDraft } from './rules';
import type { CostAssumptions, CostImpact } from './types';

export function plannedCostImpact(draft: ActionDraft, a: CostAssumptions): CostImpact {
  if (draft.code === 'SUBSCRIBE' && draft.params.hubShard !== undefined) {
    return {
      monthlyUsd: 0,
      note:
        '$0 to the customer — no queue, no event source mapping and no polling in the account: the topic delivers to ' +
        "the collector's hub queue, whose requests the collector account pays; SNS deliveries to SQS are not charged",
    };
  }
  return actionCostImpact(draft.code, a);
}
