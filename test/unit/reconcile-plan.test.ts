/**
 * The planner as a whole: the healthy chain plans nothing, the REPAIR_LOOP guard, unknown state across parts,
 * and what every plan holds. The per-part rules have their tests in test/unit/rules/<part>.test.ts.
 */
import { planAccount } from '../../lambdas/reconcile/plan';
import { known, unknown } from '../../lambdas/reconcile/types';
import {
  BUCKET,
  FUNCTION_ARN,
  QUEUE_ARN,
  TOPIC_ARN,
  TRAIL_ARN,
  bucketPolicy,
  context,
  healthy,
  trail,
} from '../../testkit/reconcile-fixtures';
import { codes, findingCodes, with_, CUSTOMER_TRAIL } from './rules/helpers';

describe('compliant: the healthy chain', () => {
  test('plans no finding and no action, and targets the chain as it is', () => {
    const plan = planAccount(healthy(), context());
    expect(plan.findings).toEqual([]);
    expect(plan.actions).toEqual([]);
    expect(plan.target).toMatchObject({
      trailArn: TRAIL_ARN,
      bucketName: BUCKET,
      topicArn: TOPIC_ARN,
      queueArn: QUEUE_ARN,
    });
  });
});

describe('REPAIR_LOOP', () => {
  const recreated = (times: string[]) =>
    context({ recorded: { ...context().recorded, recreations: { [`topic:${TOPIC_ARN}`]: times } } });
  const topicGone = () => with_((s) => (s.topics[TOPIC_ARN] = known(null)));

  test('three re-creations within 24 hours: not re-created, nothing built on it', () => {
    const plan = planAccount(
      topicGone(),
      recreated(['2026-11-01T01:00:00Z', '2026-11-01T05:00:00Z', '2026-11-01T11:00:00Z']),
    );
    expect(plan.actions).toEqual([]);
    expect(findingCodes(plan)).toEqual(['TOPIC_MISSING', 'REPAIR_LOOP']);
    expect(plan.target.topicArn).toBeUndefined();
  });

  test.each([
    ['two re-creations', ['2026-11-01T05:00:00Z', '2026-11-01T11:00:00Z']],
    ['three, one older than 24 hours', ['2026-10-31T11:00:00Z', '2026-11-01T05:00:00Z', '2026-11-01T11:00:00Z']],
  ])('compliant: %s', (_name, times) => {
    expect(codes(planAccount(topicGone(), recreated(times)))).toEqual([
      'CREATE_TOPIC',
      'PUT_TOPIC_POLICY',
      'SUBSCRIBE',
    ]);
  });
});

describe('unknown state (OBSERVE_INCOMPLETE)', () => {
  test('the trail list cannot be read (AccessDenied is not "no trail"): no action at all', () => {
    const state = with_((s) => {
      s.trails = unknown('DescribeTrails failed: AccessDeniedException');
      s.queues = { outcomesqueue: known(null), 'outcomesqueue-dlq': known(null) };
    });
    const plan = planAccount(state, context());
    expect(plan.actions).toEqual([]);
    expect(plan.findings).toEqual([expect.objectContaining({ code: 'OBSERVE_INCOMPLETE', severity: 'high' })]);
  });

  test("a trail's logging is unknown and none is known to log: no trail is created", () => {
    const plan = planAccount(
      with_((s) => (s.trails = known([trail({ arn: CUSTOMER_TRAIL, status: unknown('denied') })]))),
      context(),
    );
    expect(codes(plan)).not.toContain('CREATE_TRAIL');
    expect(findingCodes(plan)).toContain('OBSERVE_INCOMPLETE');
  });

  test('the topic cannot be read: nothing on the topic, its subscription or the trail', () => {
    const plan = planAccount(
      with_((s) => (s.topics[TOPIC_ARN] = unknown('GetTopicAttributes failed: Throttling'))),
      context(),
    );
    expect(plan.actions).toEqual([]);
    expect(findingCodes(plan)).toEqual(['OBSERVE_INCOMPLETE']);
  });
});

describe('every plan', () => {
  test('orders dependencies first and gives every action a cost impact', () => {
    const state = with_((s) => {
      s.trails = known([]);
      s.buckets = { [BUCKET]: known({ state: 'absent' }) };
      s.topics = { [TOPIC_ARN]: known(null) };
      s.queues = { outcomesqueue: known(null), 'outcomesqueue-dlq': known(null) };
      s.eventSourceMappings = known([]);
    });
    const plan = planAccount(state, context({ recorded: {}, ingestFunctionArn: FUNCTION_ARN }));
    expect(codes(plan)).toEqual([
      'CREATE_BUCKET',
      'PUT_BUCKET_POLICY',
      'CREATE_TOPIC',
      'PUT_TOPIC_POLICY',
      'CREATE_QUEUE',
      'CREATE_QUEUE',
      'PUT_QUEUE_POLICY',
      'SUBSCRIBE',
      'CREATE_TRAIL',
      'START_LOGGING',
      'CREATE_ESM',
    ]);
    plan.actions.forEach((action, index) => {
      for (const dependency of action.dependsOn) {
        expect(plan.actions.findIndex((a) => a.id === dependency)).toBeLessThan(index);
      }
      expect(action.costImpact.note.length).toBeGreaterThan(10);
      expect(action.costImpact.monthlyUsd).toBeGreaterThanOrEqual(0);
    });
    const createTrail = plan.actions.find((a) => a.code === 'CREATE_TRAIL')!;
    expect(createTrail.dependsOn).toEqual([
      `CREATE_BUCKET:${BUCKET}`,
      `PUT_BUCKET_POLICY:${BUCKET}`,
      `CREATE_TOPIC:${TOPIC_ARN}`,
      `PUT_TOPIC_POLICY:${TOPIC_ARN}`,
    ]);
    expect(plan.findings.map((f) => f.code)).toEqual(['TRAIL_MISSING', 'QUEUE_MISSING', 'ESM_MISSING']);
    expect(bucketPolicy()).toContain('CloudTrailCollectorCloudTrailWrite');
  });
});

describe('run decisions', () => {
  const reuse = () => with_((s) => (s.trails = known([trail({ arn: CUSTOMER_TRAIL, name: 'acme-audit' })])));
  const gone = () =>
    with_((s) => (s.queues = { outcomesqueue: known(null), 'outcomesqueue-dlq': known(null) }), reuse());

  test('a plan run executes nothing and records no chain', () => {
    const plan = planAccount(gone(), context({ runMode: 'plan', accountMode: 'apply' }));
    expect(plan.actions.length).toBeGreaterThan(0);
    expect(plan).toMatchObject({ execute: [], recordsChain: false });
  });

  test('an apply run executes every action of an apply-mode account and records the chain', () => {
    const plan = planAccount(gone(), context({ runMode: 'apply', accountMode: 'apply' }));
    expect(plan.execute).toEqual(plan.actions.map((a) => a.id));
    expect(plan.recordsChain).toBe(true);
  });

  test('a report-mode account gets REUSE_TRAIL only (it changes nothing in the account)', () => {
    const plan = planAccount(gone(), context({ runMode: 'apply', accountMode: 'report' }));
    expect(plan.actions.map((a) => a.code)).toEqual(expect.arrayContaining(['CREATE_QUEUE', 'REUSE_TRAIL']));
    expect(plan.execute).toEqual([`REUSE_TRAIL:${CUSTOMER_TRAIL}`]);
  });

  test('the dead-letter depth is carried when read; nothing observed at all is unobserved', () => {
    const state = healthy();
    state.queues['outcomesqueue-dlq'] = known({ name: 'outcomesqueue-dlq', url: 'u', arn: 'a', messages: 0 });
    expect(planAccount(state, context())).toMatchObject({ deadLetterMessages: 0, unobserved: false });
    const blind = with_((s) => {
      s.trails = unknown('denied');
      s.queues = { outcomesqueue: unknown('denied') };
    });
    expect(planAccount(blind, context()).unobserved).toBe(true);
  });
});
