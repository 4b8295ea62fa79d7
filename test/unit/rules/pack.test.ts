/** The rule pack: what it declares (names, parts, codes) holds for what the rules emit, and every code has a source. */
import { driftSources } from '../../../lambdas/reconcile/drift-table';
import { planAccount } from '../../../lambdas/reconcile/plan';
import { GUARD_CODES, RULES, type Rule } from '../../../lambdas/reconcile/rules';
import { FINDING_CODES, known, unknown, type FindingCode, type ObservedState } from '../../../lambdas/reconcile/types';
import { BUCKET, FUNCTION_ARN, TOPIC_ARN, context, healthy, topic, trail } from '../../../testkit/reconcile-fixtures';
import { CUSTOMER_TRAIL, with_ } from './helpers';

describe('the rule pack', () => {
  test('each rule has a unique name, a part, a description and codes that exist', () => {
    expect(new Set(RULES.map((rule) => rule.name)).size).toBe(RULES.length);
    for (const rule of RULES) {
      expect(rule.description.length).toBeGreaterThan(10);
      expect(rule.codes.length).toBeGreaterThan(0);
      for (const code of rule.codes) expect(FINDING_CODES).toContain(code);
    }
  });

  test('every finding code comes from a rule of the pack or from the REPAIR_LOOP guard', () => {
    expect(FINDING_CODES.filter((code) => driftSources(code).length === 0)).toEqual([]);
    expect(driftSources('REPAIR_LOOP')).toEqual(['repair-loop guard']);
    expect(GUARD_CODES).toEqual(['REPAIR_LOOP']);
    // The log archive's topic (hub topology) is the archive rule's; every other topic is the topic rule's.
    expect(driftSources('TOPIC_MISSING')).toEqual(['archive-notifications', 'topic']);
  });

  test('the chain rules run in chain order, the account rules last', () => {
    const parts = RULES.filter((rule) => rule.part !== 'account').map((rule) => rule.part);
    const order = ['trail', 'bucket', 'topic', 'queue', 'esm'];
    // create-trail (part trail) follows the topic on purpose: it needs the bucket and topic decisions; a previous
    // topic's retirement (part topic) follows the new path's subscription and mapping.
    expect(parts.filter((part, index) => part !== parts[index - 1])).toEqual([
      ...order.slice(0, 3),
      'trail',
      'queue',
      'topic',
      'esm',
      'topic',
    ]);
    expect(RULES.at(-1)?.phase).toBe('account');
  });

  test('no rule emits a finding code it does not declare', () => {
    const emitted = new Map<string, Set<FindingCode>>();
    const watched: Rule[] = RULES.map((rule) => ({
      ...rule,
      check(input) {
        const output = rule.check(input);
        const codes = emitted.get(rule.name) ?? new Set<FindingCode>();
        output.findings.forEach((f) => codes.add(f.code));
        emitted.set(rule.name, codes);
        return output;
      },
    }));
    const states: ObservedState[] = [
      healthy({ esm: true }),
      with_((s) => {
        s.trails = known([]);
        s.buckets = { [BUCKET]: known({ state: 'absent' }) };
        s.topics = { [TOPIC_ARN]: known(null) };
        s.queues = { outcomesqueue: known(null), 'outcomesqueue-dlq': known(null) };
        s.eventSourceMappings = known([]);
      }),
      with_((s) => (s.topics[TOPIC_ARN] = known(topic(TOPIC_ARN, { subscriptions: known([]), policy: undefined })))),
      with_((s) => (s.trails = known([trail({ status: known({ isLogging: false, latestDeliveryError: 'x' }) })]))),
      with_((s) => (s.trails = known([trail(), trail({ arn: CUSTOMER_TRAIL, hasInsightSelectors: true })]))),
      with_((s) => (s.buckets[BUCKET] = known({ state: 'forbidden' }))),
      with_((s) => (s.trails = unknown('denied'))),
      { ...healthy(), roleError: { roleArn: 'arn:aws:iam::1:role/r', message: 'denied' } },
    ];
    const ctx = context({
      ingestFunctionArn: FUNCTION_ARN,
      registeredAt: '2026-01-01T00:00:00Z',
      staleAfterMinutes: 60,
      recorded: { ...context().recorded, eventSourceMappingUuid: 'gone' },
    });
    for (const state of states) planAccount(state, ctx, watched);
    expect(emitted.size).toBeGreaterThan(8);
    for (const rule of RULES) {
      const undeclared = [...(emitted.get(rule.name) ?? [])].filter((code) => !rule.codes.includes(code));
      expect({ rule: rule.name, undeclared }).toEqual({ rule: rule.name, undeclared: [] });
    }
  });
});
