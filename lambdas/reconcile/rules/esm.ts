/** The event source mapping rule: the account's queue feeds the ingest function, enabled. */
import { unqualifiedFunctionArn } from '../../shared/arn';
import { NOT_OBSERVED } from '../types';
import { draft, finding, incomplete, keys, none, type Rule } from './kit';

/** ESM_MISSING -> CREATE_ESM; ESM_DISABLED -> ENABLE_ESM. Only when an ingest function is configured. */
export const eventSourceMappingRule: Rule = {
  name: 'event-source-mapping',
  part: 'esm',
  phase: 'chain',
  codes: ['ESM_MISSING', 'ESM_DISABLED', 'OBSERVE_INCOMPLETE'],
  description: 'an enabled event source mapping feeds the queue to the ingest function',
  check({ observed, ctx, decided }) {
    const out = none();
    const functionArn = ctx.ingestFunctionArn;
    const queueArn = decided.queue?.queueArn;
    if (functionArn === undefined || queueArn === undefined) return { ...out, decided: { esm: {} } };
    const probe = observed.eventSourceMappings ?? NOT_OBSERVED;
    if (!probe.known) {
      out.findings.push(incomplete(queueArn, 'the event source mappings', probe.error));
      return { ...out, decided: { esm: {} } };
    }
    const wanted = unqualifiedFunctionArn(functionArn);
    const mapping = probe.value.find((m) => unqualifiedFunctionArn(m.functionArn) === wanted);
    const needs = [keys.queue(queueArn), keys.queuePolicy(queueArn)];
    const provides = [keys.esm(queueArn)];
    if (mapping === undefined) {
      out.findings.push(
        finding('ESM_MISSING', 'high', queueArn, `no event source mapping from the queue to ${functionArn}`),
      );
      out.actions.push(
        draft(
          'CREATE_ESM',
          { queueArn, functionArn },
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
      return { ...out, decided: { esm: {} } };
    }
    if (mapping.state === 'Disabled' || mapping.state === 'Disabling') {
      out.findings.push(
        finding('ESM_DISABLED', 'high', queueArn, `the event source mapping ${mapping.uuid} is ${mapping.state}`),
      );
      out.actions.push(
        draft(
          'ENABLE_ESM',
          { uuid: mapping.uuid },
          { resource: queueArn, reason: 'ESM_DISABLED', part: 'esm', needs, provides },
        ),
      );
    }
    return { ...out, decided: { esm: { uuid: mapping.uuid } } };
  },
};
