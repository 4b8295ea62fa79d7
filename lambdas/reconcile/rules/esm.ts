/**
 * The event source mapping rule (customer-queue topology): the account's queue feeds the ingest function, enabled,
 * with MaximumConcurrency = ESM_MAXIMUM_CONCURRENCY, and a new mapping only while the function's reserved
 * concurrency covers every mapping's maximum.
 */
import { NOT_OBSERVED, type Finding, type IngestCapacity, type PlanContext } from '../types';
import { collectorMappings, draft, esmMaximumConcurrency, finding, incomplete, keys, none, type Rule } from './kit';

/**
 * ESM_MISSING -> CREATE_ESM (with MaximumConcurrency), unless it would not fit in the reserved concurrency
 * (INGEST_CAPACITY_EXCEEDED, reported); ESM_DISABLED -> ENABLE_ESM (setting MaximumConcurrency in the same call
 * when it differs); ESM_CONCURRENCY_MISMATCH -> UPDATE_ESM. Only when an ingest function is configured; the hub
 * topology has no mapping per account (the stack owns the hub queues' mappings).
 */
export const eventSourceMappingRule: Rule = {
  name: 'event-source-mapping',
  part: 'esm',
  phase: 'chain',
  codes: ['ESM_MISSING', 'ESM_DISABLED', 'ESM_CONCURRENCY_MISMATCH', 'INGEST_CAPACITY_EXCEEDED', 'OBSERVE_INCOMPLETE'],
  description: 'an enabled event source mapping with MaximumConcurrency feeds the queue to the ingest function',
  check({ observed, ctx, decided }) {
    const out = none();
    const functionArn = ctx.ingestFunctionArn;
    const queueArn = decided.queue?.queueArn;
    if (ctx.hub !== undefined || functionArn === undefined || queueArn === undefined) {
      return { ...out, decided: { esm: {} } };
    }
    const probe = observed.eventSourceMappings ?? NOT_OBSERVED;
    if (!probe.known) {
      out.findings.push(incomplete(queueArn, 'the event source mappings', probe.error));
      return { ...out, decided: { esm: {} } };
    }
    const maximumConcurrency = esmMaximumConcurrency(ctx);
    const mapping = collectorMappings(probe.value, ctx)[0];
    const needs = [keys.queue(queueArn), keys.queuePolicy(queueArn)];
    const provides = [keys.esm(queueArn)];
    if (mapping === undefined) {
      const exceeded = capacityExceeded(queueArn, maximumConcurrency, ctx);
      if (exceeded !== undefined) {
        out.findings.push(exceeded);
        return { ...out, decided: { esm: {} } };
      }
      out.findings.push(
        finding('ESM_MISSING', 'high', queueArn, `no event source mapping from the queue to ${functionArn}`),
      );
      out.actions.push(
        draft(
          'CREATE_ESM',
          { queueArn, functionArn, maximumConcurrency },
          {
            resource: queueArn,
            reason: 'ESM_MISSING',
            part: 'esm',
            needs,
            provides,
            recreates: ctx.recorded.eventSourceMappingUuid !== undefined,
          },
        ),
      );
      return { ...out, decided: { esm: { ready: true } } };
    }
    const concurrencyDiffers = mapping.maximumConcurrency !== maximumConcurrency;
    const current =
      mapping.maximumConcurrency === undefined ? 'none' : `MaximumConcurrency ${mapping.maximumConcurrency}`;
    if (mapping.state === 'Disabled' || mapping.state === 'Disabling') {
      out.findings.push(
        finding(
          'ESM_DISABLED',
          'high',
          queueArn,
          `the event source mapping ${mapping.uuid} is ${mapping.state}` +
            (concurrencyDiffers
              ? `; enabled again with MaximumConcurrency ${maximumConcurrency} (it has ${current})`
              : ''),
        ),
      );
      out.actions.push(
        draft(
          'ENABLE_ESM',
          { uuid: mapping.uuid, ...(concurrencyDiffers ? { maximumConcurrency } : {}) },
          { resource: queueArn, reason: 'ESM_DISABLED', part: 'esm', needs, provides },
        ),
      );
    } else if (concurrencyDiffers) {
      // Lambda Developer Guide, "Configuring scaling behavior for SQS event source mappings": without a maximum a
      // mapping scales to 1,250 concurrent invokes, and reserved concurrency below the sum of the mappings'
      // maximums throttles batches, whose receives count towards maxReceiveCount.
      out.findings.push(
        finding(
          'ESM_CONCURRENCY_MISMATCH',
          'high',
          queueArn,
          `the event source mapping ${mapping.uuid} has ${current}, not ESM_MAXIMUM_CONCURRENCY ${maximumConcurrency}: ` +
            "without the collector's maximum one queue can take the ingest function's whole reserved concurrency, " +
            "and Lambda throttles the other mappings' batches",
        ),
      );
      out.actions.push(
        draft(
          'UPDATE_ESM',
          { uuid: mapping.uuid, maximumConcurrency },
          { resource: queueArn, reason: 'ESM_CONCURRENCY_MISMATCH', part: 'esm', needs, provides },
        ),
      );
    }
    return { ...out, decided: { esm: { uuid: mapping.uuid, ready: true } } };
  },
};

/**
 * INGEST_CAPACITY_EXCEEDED when one more mapping would make the mappings' MaximumConcurrency sum exceed the
 * function's reserved concurrency (Lambda Developer Guide, "Configuring scaling behavior for SQS event source
 * mappings": the reserved concurrency should be at least the sum of the maximum concurrency of all the function's
 * SQS mappings, or Lambda throttles their batches). The figures come from the plan context, counted from the
 * registry, never from per-account Lambda calls (Lambda's control plane allows 15 requests a second per account).
 */
function capacityExceeded(queueArn: string, perMapping: number, ctx: PlanContext): Finding | undefined {
  const capacity: IngestCapacity | undefined = ctx.ingestCapacity;
  if (capacity === undefined) return undefined;
  const mappings = capacity.otherMappings + 1;
  const needed = mappings * perMapping;
  if (needed <= capacity.reservedConcurrency) return undefined;
  return finding(
    'INGEST_CAPACITY_EXCEEDED',
    'high',
    queueArn,
    `no event source mapping is created for the queue: with it the ingest function would have ${mappings} ` +
      `mapping(s) x MaximumConcurrency ${perMapping} = ${needed} concurrent batches, more than its reserved ` +
      `concurrency ${capacity.reservedConcurrency} (INGEST_RESERVED_CONCURRENCY), and Lambda would throttle batches ` +
      'until their messages reach the dead-letter queues. The queue keeps its messages meanwhile: raise the reserved ' +
      'concurrency, lower ESM_MAXIMUM_CONCURRENCY, or move accounts to the hub topology',
  );
}
