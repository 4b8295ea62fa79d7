/**
 * The trail rules (trail, trail-logging, trail-errors, log-archive, create-trail), through the planner: for each finding, a compliant state and a non-compliant one with its
 * finding and actions (cdk-nag style). Moved from reconcile-plan.test.ts; the rule-level cases are at the end.
 */
import { planAccount } from '../../../lambdas/reconcile/plan';
import {
  createTrailRule,
  logArchiveRule,
  organizationTrailRule,
  trailCoverageRule,
  trailErrorsRule,
  trailLoggingRule,
  trailRule,
} from '../../../lambdas/reconcile/rules';
import { EVERY_SOURCE, NO_SOURCE, allExcept, type ManagementSelection } from '../../../lambdas/reconcile/coverage';
import { known, unknown, type ObservedState } from '../../../lambdas/reconcile/types';
import {
  BUCKET,
  REGION,
  TOPIC_ARN,
  TRAIL_ARN,
  context,
  healthy,
  topic,
  topicPolicy,
  trail,
} from '../../../testkit/reconcile-fixtures';
import { CUSTOMER_TRAIL, codes, findingCodes, ruleOutput, summary, with_ } from './helpers';

describe('TRAIL_MISSING', () => {
  test('no trail at all: outcomes-trail is created into the chain, then started', () => {
    const plan = planAccount(
      with_((s) => (s.trails = known([]))),
      context(),
    );
    expect(plan.findings).toEqual([
      expect.objectContaining({ code: 'TRAIL_MISSING', severity: 'high', resource: TRAIL_ARN }),
    ]);
    expect(summary(plan)).toEqual([
      ['CREATE_TRAIL', TRAIL_ARN, 'TRAIL_MISSING'],
      ['START_LOGGING', TRAIL_ARN, 'TRAIL_MISSING'],
    ]);
    const create = plan.actions[0]!;
    expect(create.params).toEqual({
      trailName: 'outcomes-trail',
      region: REGION,
      bucketName: BUCKET,
      topicName: 'outcomestopic',
    });
    expect(create.costImpact).toEqual({
      monthlyUsd: 0,
      note: expect.stringContaining('first copy of management events is free'),
    });
    expect(plan.actions[1]!.dependsOn).toEqual([create.id]);
  });

  test('another trail logs management events: it is reused (REUSE_TRAIL), never a second one created', () => {
    const customer = trail({ arn: CUSTOMER_TRAIL, name: 'acme-audit', bucketName: 'acme-logs', topicArn: undefined });
    const state = with_((s) => {
      s.trails = known([customer]);
      s.buckets['acme-logs'] = known({ state: 'owned', policy: known(null) });
      s.topics[TOPIC_ARN] = known(topic(TOPIC_ARN, { policy: topicPolicy(TOPIC_ARN, CUSTOMER_TRAIL) }));
    });
    const plan = planAccount(state, context());
    expect(codes(plan)).toEqual(['REUSE_TRAIL', 'UPDATE_TRAIL']);
    expect(plan.actions[1]!.params).toEqual({ trailName: 'acme-audit', region: REGION, topicName: 'outcomestopic' });
    // The customer's trail delivers to its own bucket: followed (info).
    expect(findingCodes(plan)).toEqual(['TRAIL_MISSING', 'BUCKET_CHANGED', 'TRAIL_NO_TOPIC']);
  });

  test('an organization trail of another account logs management events: nothing is created', () => {
    const org = trail({
      arn: 'arn:aws:cloudtrail:us-east-1:999900001111:trail/org',
      name: 'org',
      ownerAccountId: '999900001111',
      isOrganization: true,
      bucketName: 'org-logs',
    });
    const plan = planAccount(
      with_((s) => (s.trails = known([org]))),
      context(),
    );
    expect(plan.actions).toEqual([]);
    expect(findingCodes(plan)).toEqual(['TRAIL_MISSING', 'TRAIL_NOT_COLLECTABLE']);
  });

  test('a new account (nothing recorded) with no trail: medium, same repair', () => {
    const plan = planAccount(
      with_((s) => (s.trails = known([]))),
      context({ recorded: {} }),
    );
    expect(plan.findings[0]).toMatchObject({ code: 'TRAIL_MISSING', severity: 'medium' });
    expect(codes(plan)).toContain('CREATE_TRAIL');
  });
});

describe('TRAIL_NOT_LOGGING', () => {
  test('the collection trail is stopped and starting it is free: START_LOGGING', () => {
    const plan = planAccount(
      with_((s) => (s.trails = known([trail({ status: known({ isLogging: false }) })]))),
      context(),
    );
    expect(findingCodes(plan)).toEqual(['TRAIL_NOT_LOGGING']);
    expect(summary(plan)).toEqual([['START_LOGGING', TRAIL_ARN, 'TRAIL_NOT_LOGGING']]);
    expect(plan.actions[0]!.params).toEqual({ trailName: 'outcomes-trail', region: REGION });
  });

  test.each([
    ['it records data events', { selectors: known({ managementEvents: true, dataEvents: true }) }],
    ['it has Insights', { hasInsightSelectors: true }],
    ['its selectors cannot be read', { selectors: unknown('GetEventSelectors failed') }],
  ])('not started when %s (that would be billed)', (_name, overrides) => {
    const plan = planAccount(
      with_((s) => (s.trails = known([trail({ status: known({ isLogging: false }), ...overrides })]))),
      context(),
    );
    expect(findingCodes(plan)).toContain('TRAIL_NOT_LOGGING');
    expect(codes(plan)).not.toContain('START_LOGGING');
  });

  test('stopped while another trail logs: that one is reused instead (no second copy)', () => {
    const other = trail({ arn: CUSTOMER_TRAIL, name: 'acme-audit' });
    const plan = planAccount(
      with_((s) => (s.trails = known([trail({ status: known({ isLogging: false }) }), other]))),
      context(),
    );
    expect(summary(plan)).toEqual([
      // outcomestopic's policy names the old trail: CloudTrail could not publish for the reused one.
      ['PUT_TOPIC_POLICY', TOPIC_ARN, 'TOPIC_POLICY_INVALID'],
      ['REUSE_TRAIL', CUSTOMER_TRAIL, 'TRAIL_NOT_LOGGING'],
    ]);
  });

  test("stopped while another trail's logging is unknown: reported, not started", () => {
    const other = trail({ arn: CUSTOMER_TRAIL, name: 'acme-audit', status: unknown('AccessDenied') });
    const plan = planAccount(
      with_((s) => (s.trails = known([trail({ status: known({ isLogging: false }) }), other]))),
      context(),
    );
    expect(codes(plan)).toEqual([]);
    expect(findingCodes(plan)).toEqual(['TRAIL_NOT_LOGGING']);
  });
});

describe('TRAIL_DELIVERY_ERROR / TRAIL_NOTIFICATION_ERROR', () => {
  const erroring = { status: known({ isLogging: true, latestDeliveryError: 'AccessDenied' }) };

  test('into a collector bucket without the collector statements: PUT_BUCKET_POLICY (merged)', () => {
    const state = with_((s) => {
      s.trails = known([trail(erroring)]);
      s.buckets[BUCKET] = known({ state: 'owned', policy: known(null) });
    });
    const plan = planAccount(state, context({ recorded: { ...context().recorded, bucketPolicySha256: undefined } }));
    expect(findingCodes(plan)).toEqual(['TRAIL_DELIVERY_ERROR']);
    expect(summary(plan)).toEqual([['PUT_BUCKET_POLICY', BUCKET, 'TRAIL_DELIVERY_ERROR']]);
  });

  test('compliant repair-wise: the collector statements are already there, nothing more to do', () => {
    const plan = planAccount(
      with_((s) => (s.trails = known([trail(erroring)]))),
      context(),
    );
    expect(findingCodes(plan)).toEqual(['TRAIL_DELIVERY_ERROR']);
    expect(plan.actions).toEqual([]);
  });

  test("into a customer's bucket: reported, the customer's policy is not touched", () => {
    const state = with_((s) => {
      s.trails = known([trail({ ...erroring, bucketName: 'acme-logs' })]);
      s.buckets = { 'acme-logs': known({ state: 'owned', policy: known(null) }) };
    });
    const plan = planAccount(
      state,
      context({ recorded: { ...context().recorded, bucketName: 'acme-logs', bucketPolicySha256: undefined } }),
    );
    expect(findingCodes(plan)).toEqual(['TRAIL_DELIVERY_ERROR']);
    expect(plan.actions).toEqual([]);
  });

  test('a notification error is reported', () => {
    const state = with_(
      (s) =>
        (s.trails = known([
          trail({ status: known({ isLogging: true, latestNotificationError: 'AuthorizationError' }) }),
        ])),
    );
    expect(planAccount(state, context()).findings).toEqual([
      expect.objectContaining({
        code: 'TRAIL_NOTIFICATION_ERROR',
        message: expect.stringContaining('AuthorizationError'),
      }),
    ]);
  });
});

describe('log archive', () => {
  test("an own trail delivering into a registered archive's bucket: collected there, no chain in this account", () => {
    const state = with_((s) => {
      s.trails = known([trail({ bucketName: 'central-logs', topicArn: undefined })]);
      s.queues = { outcomesqueue: known(null), 'outcomesqueue-dlq': known(null) };
    });
    const plan = planAccount(
      state,
      context({ recorded: {}, logArchives: [{ accountId: '444455556666', bucketNames: ['central-logs'] }] }),
    );
    expect(findingCodes(plan)).toEqual(['TRAIL_MISSING', 'COLLECTED_BY_LOG_ARCHIVE']);
    expect(codes(plan)).toEqual(['REUSE_TRAIL']);
  });
});

describe('the trail rules on their own', () => {
  const stopped = () => with_((s) => (s.trails = known([trail({ status: known({ isLogging: false }) })])));
  const empty = () =>
    with_((s) => {
      s.trails = known([]);
      s.buckets = { [BUCKET]: known({ state: 'absent' }) };
      s.topics = { [TOPIC_ARN]: known(null) };
    });

  test('trail: compliant keeps the recorded trail; non-compliant selects outcomes-trail to create', () => {
    expect(ruleOutput(trailRule, healthy(), context())).toMatchObject({
      findings: [],
      actions: [],
      decided: { trail: { creating: false, target: { arn: TRAIL_ARN } } },
    });
    const created = ruleOutput(trailRule, empty(), context({ recorded: {} }));
    expect(created.findings.map((f) => f.code)).toEqual(['TRAIL_MISSING']);
    expect(created.decided?.trail).toMatchObject({ creating: true, target: { arn: TRAIL_ARN } });
  });

  test('trail-logging: compliant for a logging trail; non-compliant drafts START_LOGGING', () => {
    expect(ruleOutput(trailLoggingRule, healthy(), context())).toEqual({ findings: [], actions: [] });
    const output = ruleOutput(trailLoggingRule, stopped(), context());
    expect(output.findings.map((f) => f.code)).toEqual(['TRAIL_NOT_LOGGING']);
    expect(output.actions.map((a) => a.code)).toEqual(['START_LOGGING']);
  });

  test('trail-errors: compliant without errors; non-compliant reports a notification error', () => {
    expect(ruleOutput(trailErrorsRule, healthy(), context())).toEqual({ findings: [], actions: [] });
    const failing = with_(
      (s) =>
        (s.trails = known([trail({ status: known({ isLogging: true, latestNotificationError: 'AccessDenied' }) })])),
    );
    expect(ruleOutput(trailErrorsRule, failing, context()).findings.map((f) => f.code)).toEqual([
      'TRAIL_NOTIFICATION_ERROR',
    ]);
  });

  test("log-archive: compliant without archives; non-compliant when the trail delivers into an archive's bucket", () => {
    expect(ruleOutput(logArchiveRule, healthy(), context())).toEqual({ findings: [], actions: [] });
    const archived = ruleOutput(
      logArchiveRule,
      healthy(),
      context({ logArchives: [{ accountId: '444455556666', bucketNames: [BUCKET] }] }),
    );
    expect(archived.stop).toBe('chain');
    expect(archived.findings.map((f) => f.code)).toEqual(['COLLECTED_BY_LOG_ARCHIVE']);
  });

  test('create-trail: compliant while a trail exists; non-compliant creates the trail once bucket and topic are known', () => {
    expect(ruleOutput(createTrailRule, healthy(), context())).toEqual({ findings: [], actions: [] });
    const output = ruleOutput(createTrailRule, empty(), context({ recorded: {} }));
    expect(output.actions.map((a) => a.code)).toEqual(['CREATE_TRAIL', 'START_LOGGING']);
    const unknownBucket = with_((s) => (s.buckets = { [BUCKET]: unknown('HeadBucket failed') }), empty());
    expect(ruleOutput(createTrailRule, unknownBucket, context({ recorded: {} })).findings.map((f) => f.code)).toEqual([
      'OBSERVE_INCOMPLETE',
    ]);
  });
});

const readOnly = { read: EVERY_SOURCE, write: NO_SOURCE };
const writeOnly = { read: NO_SOURCE, write: EVERY_SOURCE };
const selecting = (management: ManagementSelection) => known({ managementEvents: true, dataEvents: false, management });

describe('TRAIL_PARTIAL_COVERAGE (coverage.ts; CloudTrail User Guide, "Logging management events")', () => {
  test('compliant: a multi-region trail of every management event has no partial coverage', () => {
    expect(ruleOutput(trailCoverageRule, healthy(), context())).toEqual({ findings: [], actions: [] });
  });

  test('a ReadOnly trail: write events are named, no trail logs them, adding them is a free first copy; no trail is created', () => {
    const plan = planAccount(
      with_((s) => (s.trails = known([trail({ selectors: selecting(readOnly) })]))),
      context(),
    );
    expect(plan.findings).toEqual([
      expect.objectContaining({
        code: 'TRAIL_PARTIAL_COVERAGE',
        severity: 'medium',
        resource: TRAIL_ARN,
        message: expect.stringMatching(
          /does not log: write events \(logged by no trail; .*\$0 — no trail logs this part yet/,
        ),
      }),
    ]);
    expect(codes(plan)).toEqual([]);
  });

  test('a ReadOnly trail beside a WriteOnly trail: the write events are logged by that trail (a copy would be billed)', () => {
    const other = trail({ arn: CUSTOMER_TRAIL, name: 'acme-audit', selectors: selecting(writeOnly) });
    const plan = planAccount(
      with_((s) => (s.trails = known([trail({ selectors: selecting(readOnly) }), other]))),
      context(),
    );
    expect(findingCodes(plan)).toEqual(['TRAIL_PARTIAL_COVERAGE']);
    expect(plan.findings[0]!.message).toContain(`write events (logged by ${CUSTOMER_TRAIL}`);
    expect(plan.findings[0]!.message).toContain('up to $20.00/month');
    expect(codes(plan)).not.toContain('CREATE_TRAIL');
  });

  test('a single-region trail homed elsewhere: the other regions and the global service events are named', () => {
    const arn = `arn:aws:cloudtrail:eu-west-1:111122223333:trail/outcomes-trail`;
    const output = ruleOutput(
      trailCoverageRule,
      with_((s) => (s.trails = known([trail({ arn, homeRegion: 'eu-west-1', isMultiRegion: false })]))),
      context({ recorded: { ...context().recorded, trailArn: arn } }),
    );
    expect(output.findings).toHaveLength(1);
    expect(output.findings[0]!.message).toContain('global service events');
    expect(output.findings[0]!.message).toContain('every region other than eu-west-1');
  });

  test('excluded event sources are named', () => {
    const noKms = allExcept(['kms.amazonaws.com']);
    const output = ruleOutput(
      trailCoverageRule,
      with_((s) => (s.trails = known([trail({ selectors: selecting({ read: noKms, write: noKms }) })]))),
      context(),
    );
    expect(output.findings[0]!.message).toContain('read and write events from kms.amazonaws.com');
  });

  test('the recorded trail whose selectors cannot be read: OBSERVE_INCOMPLETE, not a guess', () => {
    const output = ruleOutput(
      trailCoverageRule,
      with_((s) => (s.trails = known([trail({ selectors: unknown('GetEventSelectors failed: AccessDenied') })]))),
      context(),
    );
    expect(output.findings.map((f) => f.code)).toEqual(['OBSERVE_INCOMPLETE']);
  });

  test('selection prefers a trail of every management event over a ReadOnly one', () => {
    const partial = trail({ arn: CUSTOMER_TRAIL, name: 'acme-audit', selectors: selecting(readOnly) });
    const full = trail({ arn: `arn:aws:cloudtrail:${REGION}:111122223333:trail/zz-full`, name: 'zz-full' });
    const plan = planAccount(
      with_((s) => (s.trails = known([partial, full]))),
      context({ recorded: {} }),
    );
    expect(plan.actions.find((a) => a.code === 'REUSE_TRAIL')?.resource).toBe(full.arn);
  });
});

describe('organization trails of another account, seen from a member (sparse answers)', () => {
  const org = (overrides: Parameters<typeof trail>[0] = {}) =>
    trail({
      arn: 'arn:aws:cloudtrail:us-east-1:999900001111:trail/org',
      name: 'org',
      ownerAccountId: '999900001111',
      isOrganization: true,
      bucketName: 'org-logs',
      ...overrides,
    });

  test.each([
    ['GetTrailStatus without IsLogging', { status: unknown('GetTrailStatus did not report IsLogging') }],
    [
      'TrailNotFoundException for status and selectors',
      { status: unknown('TrailNotFoundException'), selectors: unknown('TrailNotFoundException') },
    ],
    ['CloudTrailARNInvalidException for the selectors', { selectors: unknown('CloudTrailARNInvalidException') }],
  ])('%s: presumed to log, TRAIL_NOT_COLLECTABLE, never CREATE_TRAIL, never undecided', (_name, overrides) => {
    const plan = planAccount(
      with_((s) => (s.trails = known([org(overrides)]))),
      context({ recorded: {} }),
    );
    expect(plan.actions).toEqual([]);
    expect(findingCodes(plan)).toEqual(['TRAIL_NOT_COLLECTABLE']);
    expect(plan.findings[0]!.message).toContain('presumed on');
  });

  test('with an own trail that logs: the own trail is collected, and reported as the paid copy (issue 12)', () => {
    const plan = planAccount(
      with_((s) => (s.trails = known([trail(), org({ status: unknown('TrailNotFoundException') })]))),
      context(),
    );
    // Nothing is repaired around it; the cost findings are test/unit/rules/organization.test.ts's.
    expect(plan.actions).toEqual([]);
    expect(findingCodes(plan)).toEqual(['COST_DUPLICATE_TRAILS', 'COLLECTOR_TRAIL_REDUNDANT']);
  });

  test('with an own trail whose logging is unknown: undecided (OBSERVE_INCOMPLETE), nothing created', () => {
    const plan = planAccount(
      with_(
        (s) =>
          (s.trails = known([
            trail({ status: unknown('ThrottlingException') }),
            org({ status: unknown('TrailNotFoundException') }),
          ])),
      ),
      context({ recorded: {} }),
    );
    expect(plan.actions).toEqual([]);
    expect(findingCodes(plan)).toEqual(['OBSERVE_INCOMPLETE']);
  });
});

describe('ORGANIZATION_TRAIL_OWNED: an organization trail of this (management) account', () => {
  const owned = (overrides: Parameters<typeof trail>[0] = {}) => trail({ isOrganization: true, ...overrides });

  test('compliant: an ordinary trail is not reported', () => {
    expect(ruleOutput(organizationTrailRule, healthy(), context())).toEqual({ findings: [], actions: [] });
  });

  test('healthy chain: collected as it is, medium finding with what the operator does', () => {
    const plan = planAccount(
      with_((s) => (s.trails = known([owned()]))),
      context(),
    );
    expect(plan.actions).toEqual([]);
    expect(plan.findings).toEqual([
      expect.objectContaining({
        code: 'ORGANIZATION_TRAIL_OWNED',
        severity: 'medium',
        message: expect.stringContaining('AWSLogs/o-<organization id>/*'),
      }),
    ]);
  });

  test.each([
    ['its bucket deleted', (s: ObservedState) => (s.buckets[BUCKET] = known({ state: 'absent' }))],
    ['its topic deleted', (s: ObservedState) => (s.topics[TOPIC_ARN] = known(null))],
    ['no topic at all', (s: ObservedState) => (s.trails = known([owned({ topicArn: undefined })]))],
  ])('%s: high, the chain stops, no UPDATE_TRAIL (never re-pointed)', (_name, change) => {
    const plan = planAccount(
      with_((s) => {
        s.trails = known([owned()]);
        change(s);
      }),
      context(),
    );
    expect(plan.findings).toEqual([expect.objectContaining({ code: 'ORGANIZATION_TRAIL_OWNED', severity: 'high' })]);
    expect(plan.actions).toEqual([]);
  });

  test('it delivers into a registered log archive: COLLECTED_BY_LOG_ARCHIVE, no ORGANIZATION_TRAIL_OWNED, no repair', () => {
    const central = 'acme-org-trail-555566667777';
    const plan = planAccount(
      with_((s) => (s.trails = known([owned({ bucketName: central, topicArn: undefined })]))),
      context({ logArchives: [{ accountId: '555566667777', bucketNames: [central] }] }),
    );
    expect(findingCodes(plan)).toContain('COLLECTED_BY_LOG_ARCHIVE');
    expect(findingCodes(plan)).not.toContain('ORGANIZATION_TRAIL_OWNED');
    expect(plan.findings.filter((f) => f.severity === 'high')).toEqual([]);
    expect(codes(plan).filter((code) => code !== 'REUSE_TRAIL')).toEqual([]);
  });

  test('stopped: TRAIL_NOT_LOGGING, never START_LOGGING', () => {
    const plan = planAccount(
      with_((s) => (s.trails = known([owned({ status: known({ isLogging: false }) })]))),
      context(),
    );
    expect(findingCodes(plan)).toContain('TRAIL_NOT_LOGGING');
    expect(codes(plan)).not.toContain('START_LOGGING');
  });

  test("a delivery error into its collector-named bucket: reported, the collector's default policy is not written", () => {
    const state = with_((s) => {
      s.trails = known([owned({ status: known({ isLogging: true, latestDeliveryError: 'AccessDenied' }) })]);
      s.buckets[BUCKET] = known({ state: 'owned', policy: known(null) });
    });
    const plan = planAccount(state, context({ recorded: { ...context().recorded, bucketPolicySha256: undefined } }));
    expect(codes(plan)).not.toContain('PUT_BUCKET_POLICY');
    expect(plan.findings.find((f) => f.code === 'TRAIL_DELIVERY_ERROR')?.message).toContain(
      'AWSLogs/o-<organization id>/*',
    );
  });
});
