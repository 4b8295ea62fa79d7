/**
 * Properties of the planner over generated observed states (fast-check): the cost guard (no CREATE_TRAIL, and
 * no START_LOGGING, while any trail logs or may log management events for the account) and "nothing is
 * created, changed or subscribed on unknown state". The oracles below re-derive the rules from the raw
 * observations, independently of trail-selection.ts.
 */
import fc from 'fast-check';
import { planAccount } from '../../lambdas/reconcile/plan';
import {
  ACTION_CODES,
  known,
  unknown,
  type BucketProbe,
  type Observation,
  type ObservedState,
  type ObservedTopic,
  type ObservedTrail,
  type PlanContext,
  type PlannedAction,
} from '../../lambdas/reconcile/types';
import { allExcept, only, type SourceSet } from '../../lambdas/reconcile/coverage';
import {
  ACCT,
  BUCKET,
  FUNCTION_ARN,
  GENERATED,
  QUEUE_ARN,
  REGION,
  TOPIC_ARN,
  context,
  queuePolicy,
  topicPolicy,
  HUB,
  HUB_QUEUE_ARNS,
} from '../../testkit/reconcile-fixtures';

const ORG_OWNER = '999900001111';
const REGIONS = [REGION, 'eu-west-1'];
const BUCKETS = [BUCKET, 'acme-logs', GENERATED, 'central-logs'];
const TOPICS = [TOPIC_ARN, `arn:aws:sns:${REGION}:${ACCT}:acme-topic`, `arn:aws:sns:eu-west-1:${ACCT}:outcomestopic`];
const TRAIL_NAMES = ['outcomes-trail', 'acme-audit', 'org-trail'];

function observation<T>(value: fc.Arbitrary<T>): fc.Arbitrary<Observation<T>> {
  return fc.oneof(
    { weight: 4, arbitrary: value.map((v) => known(v)) },
    { weight: 1, arbitrary: fc.constant(unknown<T>('AccessDenied')) },
  );
}

const SOURCES = ['kms.amazonaws.com', 'iam.amazonaws.com', 'ec2.amazonaws.com'];
/** Never named by a generated selection: they stand for every other event source, regional and global. */
const POINT_SOURCES = [...SOURCES, 'sqs.amazonaws.com', 'sts.amazonaws.com'];
const sourceSetArb: fc.Arbitrary<SourceSet> = fc
  .tuple(fc.boolean(), fc.subarray(SOURCES))
  .map(([all, sources]) => (all ? allExcept(sources) : only(sources)));
/** Exactly which management events (absent: all of them), as summarizeSelectors reports a partial selection. */
const managementArb = fc.option(fc.record({ read: sourceSetArb, write: sourceSetArb }), { nil: undefined });

const trailArb: fc.Arbitrary<ObservedTrail> = fc
  .record({
    name: fc.constantFrom(...TRAIL_NAMES),
    homeRegion: fc.constantFrom(...REGIONS),
    owner: fc.constantFrom(ACCT, ACCT, ORG_OWNER),
    /** An organization trail of the account itself (the management account). */
    ownOrganization: fc.boolean(),
    includeGlobal: fc.boolean(),
    management: managementArb,
    isMultiRegion: fc.boolean(),
    bucketName: fc.option(fc.constantFrom(...BUCKETS), { nil: undefined }),
    topicArn: fc.option(fc.constantFrom(...TOPICS), { nil: undefined }),
    hasInsightSelectors: fc.boolean(),
    cloudWatch: fc.boolean(),
    status: observation(
      fc.record({
        isLogging: fc.boolean(),
        latestDeliveryError: fc.option(fc.constant('AccessDenied'), { nil: undefined }),
      }),
    ),
    selectors: observation(fc.record({ managementEvents: fc.boolean(), dataEvents: fc.boolean() })),
  })
  .map((t) => {
    const { owner, cloudWatch, status, ownOrganization, includeGlobal, management, ...rest } = t;
    const selectors =
      rest.selectors.known && rest.selectors.value.managementEvents && management !== undefined
        ? known({ ...rest.selectors.value, management })
        : rest.selectors;
    const cleanStatus = status.known
      ? known({
          isLogging: status.value.isLogging,
          ...(status.value.latestDeliveryError ? { latestDeliveryError: status.value.latestDeliveryError } : {}),
        })
      : status;
    return {
      ...rest,
      arn: `arn:aws:cloudtrail:${t.homeRegion}:${owner}:trail/${t.name}`,
      ownerAccountId: owner,
      isOrganization: owner !== ACCT || ownOrganization,
      ...(includeGlobal ? {} : { includeGlobalServiceEvents: false }),
      status: cleanStatus,
      selectors,
      ...(rest.bucketName === undefined ? { bucketName: undefined } : {}),
      ...(cloudWatch ? { cloudWatchLogsLogGroupArn: 'arn:aws:logs:us-east-1:111122223333:log-group:ct' } : {}),
    };
  })
  .map((t) => Object.fromEntries(Object.entries(t).filter(([, v]) => v !== undefined)) as unknown as ObservedTrail);

const bucketProbeArb: fc.Arbitrary<BucketProbe> = fc.oneof(
  fc.constant<BucketProbe>({ state: 'absent' }),
  fc.constant<BucketProbe>({ state: 'foreign' }),
  fc.constant<BucketProbe>({ state: 'forbidden' }),
  observation(fc.constantFrom<string | null>(null, '{"Statement":[]}')).map((policy): BucketProbe => ({
    state: 'owned',
    policy,
  })),
);

const topicArb = (arn: string): fc.Arbitrary<ObservedTopic | null> =>
  fc.option(
    fc
      .record({
        policy: fc.constantFrom(
          topicPolicy(arn),
          undefined,
          '{"Statement":[{"Effect":"Deny","Principal":"*","Action":"SNS:Publish","Resource":"*"}]}',
        ),
        subscriptions: observation(
          fc.array(
            fc.record({
              arn: fc.constantFrom(`${arn}:s1`, 'PendingConfirmation'),
              protocol: fc.constant('sqs'),
              endpoint: fc.constantFrom(QUEUE_ARN, 'arn:aws:sqs:us-east-1:111122223333:other'),
              pending: fc.boolean(),
              filterPolicy: observation(fc.constantFrom<string | null>(null, '{"a":["b"]}')),
            }),
            { maxLength: 2 },
          ),
        ),
      })
      .map((t) => ({ arn, ...t, ...(t.policy === undefined ? { policy: undefined } : {}) })),
    { nil: null },
  );

function optionalRecord<K extends string, V>(
  keys: readonly K[],
  value: (key: K) => fc.Arbitrary<V>,
): fc.Arbitrary<Partial<Record<K, V>>> {
  return fc
    .tuple(...keys.map((key) => fc.option(value(key), { nil: undefined })))
    .map(
      (values) =>
        Object.fromEntries(keys.flatMap((key, i) => (values[i] === undefined ? [] : [[key, values[i]]]))) as Partial<
          Record<K, V>
        >,
    );
}

const stateArb: fc.Arbitrary<ObservedState> = fc
  .record({
    trails: observation(fc.uniqueArray(trailArb, { maxLength: 4, selector: (t) => t.arn })),
    buckets: optionalRecord(BUCKETS, () => observation(bucketProbeArb)),
    topics: optionalRecord(TOPICS, (arn) => observation(topicArb(arn))),
    queue: fc.option(
      observation(
        fc.option(
          fc
            .constantFrom(queuePolicy(), undefined)
            .map((policy) => ({ name: 'outcomesqueue', url: 'u', arn: QUEUE_ARN, ...(policy ? { policy } : {}) })),
          { nil: null },
        ),
      ),
      { nil: undefined },
    ),
    dlq: fc.option(
      observation(fc.option(fc.constant({ name: 'outcomesqueue-dlq', url: 'u', arn: '' }), { nil: null })),
      { nil: undefined },
    ),
    esm: fc.option(
      observation(
        fc.array(
          fc.record({
            uuid: fc.constant('e-1'),
            functionArn: fc.constant(FUNCTION_ARN),
            state: fc.constantFrom('Enabled', 'Disabled'),
          }),
          { maxLength: 1 },
        ),
      ),
      { nil: undefined },
    ),
  })
  .map(({ trails, buckets, topics, queue, dlq, esm }) => ({
    accountId: ACCT,
    region: REGION,
    trails,
    buckets: buckets as Record<string, Observation<BucketProbe>>,
    topics: topics as Record<string, Observation<ObservedTopic | null>>,
    queues: {
      ...(queue !== undefined ? { outcomesqueue: queue } : {}),
      ...(dlq !== undefined ? { 'outcomesqueue-dlq': dlq } : {}),
    },
    ...(esm !== undefined ? { eventSourceMappings: esm } : {}),
  }));

const contextArb: fc.Arbitrary<PlanContext> = fc
  .record({
    recordedTrail: fc.option(
      fc.constantFrom(...TRAIL_NAMES.map((n) => `arn:aws:cloudtrail:${REGION}:${ACCT}:trail/${n}`)),
      { nil: undefined },
    ),
    recordedBucket: fc.option(fc.constantFrom(...BUCKETS), { nil: undefined }),
    recordedTopic: fc.option(fc.constantFrom(...TOPICS), { nil: undefined }),
    generated: fc.option(fc.constant(GENERATED), { nil: undefined }),
    ingest: fc.boolean(),
    loops: fc.nat({ max: 4 }),
    archive: fc.boolean(),
  })
  .map((c) => {
    const base = context();
    return {
      ...base,
      recorded: {
        ...(c.recordedTrail ? { trailArn: c.recordedTrail } : {}),
        ...(c.recordedBucket ? { bucketName: c.recordedBucket } : {}),
        ...(c.recordedTopic ? { topicArn: c.recordedTopic } : {}),
        ...(c.generated ? { generatedBucketName: c.generated } : {}),
        queueArn: QUEUE_ARN,
        recreations: { [`topic:${TOPIC_ARN}`]: Array.from({ length: c.loops }, () => '2026-11-01T11:00:00Z') },
      },
      ...(c.ingest ? { ingestFunctionArn: FUNCTION_ARN } : {}),
      ...(c.archive ? { logArchives: [{ accountId: '444455556666', bucketNames: ['central-logs'] }] } : {}),
    };
  });

/** Independent oracle: may this trail log management events right now? (unknown counts as "may") */
function mayLogManagementEvents(trail: ObservedTrail): boolean {
  const stopped = trail.status.known && !trail.status.value.isLogging;
  const noManagement = trail.selectors.known && !trail.selectors.value.managementEvents;
  return !stopped && !noManagement;
}

const isKnown = <T>(o: Observation<T> | undefined): o is { known: true; value: T } => o?.known === true;

/** The observation each action reads or builds on must be known (and say "absent" for a creation). */
function basedOnKnownState(action: PlannedAction, state: ObservedState): boolean {
  switch (action.code) {
    case 'CREATE_BUCKET': {
      const probe = state.buckets[action.params.bucketName];
      return isKnown(probe) && probe.value.state === 'absent';
    }
    case 'PUT_BUCKET_POLICY': {
      const probe = state.buckets[action.params.bucketName];
      return isKnown(probe) && (probe.value.state === 'absent' || probe.value.state === 'owned');
    }
    case 'CREATE_TOPIC': {
      const arn = `arn:aws:sns:${action.params.region}:${ACCT}:${action.params.topicName}`;
      const probe = state.topics[arn];
      return isKnown(probe) && probe.value === null;
    }
    case 'PUT_TOPIC_POLICY':
      return isKnown(state.topics[action.params.topicArn]);
    case 'CREATE_QUEUE': {
      const probe = state.queues[action.params.queueName];
      return isKnown(probe) && probe.value === null;
    }
    case 'PUT_QUEUE_POLICY':
      return isKnown(state.queues.outcomesqueue) && isKnown(state.topics[action.params.topicArn]);
    case 'SUBSCRIBE':
      // A hub subscription needs no queue in the account.
      return (
        (action.params.hubShard !== undefined || isKnown(state.queues.outcomesqueue)) &&
        isKnown(state.topics[action.params.topicArn])
      );
    case 'SET_SUBSCRIPTION_ATTRIBUTES':
    case 'UNSUBSCRIBE':
      return isKnown(state.topics[action.params.topicArn]);
    case 'UPDATE_TRAIL':
      if ('bucketName' in action.params) {
        const probe = state.buckets[action.params.bucketName];
        return isKnown(probe) && (probe.value.state === 'absent' || probe.value.state === 'owned');
      }
      // Turning on log file validation rests on the trail list alone (DescribeTrails' LogFileValidationEnabled).
      if (!('topicName' in action.params)) return state.trails.known;
      return isKnown(state.topics[`arn:aws:sns:${action.params.region}:${ACCT}:${action.params.topicName}`]);
    case 'CREATE_ESM':
    case 'ENABLE_ESM':
    case 'UPDATE_ESM':
      return isKnown(state.eventSourceMappings) && isKnown(state.queues.outcomesqueue);
    case 'DELETE_ESM':
      // Only for a drained (or deleted) queue: its depth was read.
      return isKnown(state.queues.outcomesqueue);
    case 'CREATE_TRAIL':
    case 'REUSE_TRAIL':
    case 'START_LOGGING':
      return state.trails.known;
    case 'RETIRE_TRAIL':
      // Only once the ledger was read and shows the organization path delivering the account's files.
      return state.trails.known && isKnown(state.collected);
    case 'PUT_BUCKET_NOTIFICATION':
      // A log archive's bucket: its notification configuration and the queue were read.
      return (
        isKnown(state.archive) &&
        (action.params.topicArn !== undefined
          ? isKnown(state.topics[action.params.topicArn]) // hub: the archive's topic was read
          : isKnown(state.queues.outcomesqueue))
      );
    case 'PUT_ARCHIVE_EVENT_RULE':
      // The EventBridge path: the rule was read too.
      return (
        isKnown(state.archive) &&
        state.archive.value.eventRule?.known === true &&
        (action.params.topicArn !== undefined
          ? isKnown(state.topics[action.params.topicArn])
          : isKnown(state.queues.outcomesqueue))
      );
    case 'BACKFILL': {
      // It lists the trail's bucket: known to be the account's.
      const probe = state.buckets[action.params.bucketName];
      return isKnown(probe) && probe.value.state === 'owned';
    }
  }
}

/** Independent oracle: does this trail log this one management event in `region` (from the raw fields)? */
function logsEvent(trail: ObservedTrail, region: string, readOnly: boolean, source: string): boolean {
  if (!trail.status.known || !trail.status.value.isLogging || !trail.selectors.known) return false;
  if (!trail.selectors.value.managementEvents) return false;
  if (!trail.isMultiRegion && trail.homeRegion !== region) return false;
  // Global service events are recorded in us-east-1 only (CloudTrail User Guide, update-trail).
  const global = (source === 'iam.amazonaws.com' || source === 'sts.amazonaws.com') && region === 'us-east-1';
  if (global && !trail.isMultiRegion && trail.includeGlobalServiceEvents === false) return false;
  const management = trail.selectors.value.management;
  if (management === undefined) return true;
  const set = readOnly ? management.read : management.write;
  return set.all ? !set.sources.includes(source) : set.sources.includes(source);
}

/** Oracle: an organization trail of another account, logging unreadable, presumed to log (selectors as read, else all). */
function presumedLogsEvent(trail: ObservedTrail, ctx: PlanContext, readOnly: boolean, source: string): boolean {
  if (!trail.isOrganization || trail.ownerAccountId === ctx.accountId) return false;
  if (trail.status.known && !trail.status.value.isLogging) return false;
  if (trail.selectors.known && !trail.selectors.value.managementEvents) return false;
  if (trail.status.known && trail.selectors.known) return false; // readable: logsEvent decides
  const selectors = trail.selectors.known
    ? trail.selectors.value
    : { managementEvents: true as const, dataEvents: false as const };
  return logsEvent(
    { ...trail, status: known({ isLogging: true }), selectors: known(selectors) },
    ctx.region,
    readOnly,
    source,
  );
}

describe('planner properties', () => {
  const runs = { numRuns: 3000 };

  test('COST_DUPLICATE_TRAILS exactly when one management event in the collector region is logged by two trails', () => {
    fc.assert(
      fc.property(stateArb, contextArb, (state, ctx) => {
        if (!state.trails.known) return true;
        const trails = state.trails.value;
        // An organization trail of another account whose logging is unreadable is presumed to log (issue 12): beside
        // an own copy it counts; two such trails alone bill their owner, not this account.
        const twice = [true, false].some((readOnly) =>
          POINT_SOURCES.some((source) => {
            const logged = trails.filter((t) => logsEvent(t, ctx.region, readOnly, source)).length;
            const presumed = trails.filter((t) => presumedLogsEvent(t, ctx, readOnly, source)).length;
            return logged >= 2 || (logged >= 1 && presumed >= 1);
          }),
        );
        const plan = planAccount(state, ctx);
        return plan.findings.some((f) => f.code === 'COST_DUPLICATE_TRAILS') === twice;
      }),
      runs,
    );
  });

  test('an organization trail is never re-pointed, started, or given the default bucket policy', () => {
    fc.assert(
      fc.property(stateArb, contextArb, (state, ctx) => {
        if (!state.trails.known) return true;
        const org = new Set(state.trails.value.filter((t) => t.isOrganization).map((t) => t.arn));
        const plan = planAccount(state, ctx);
        return plan.actions.every((action) => {
          if (action.code === 'UPDATE_TRAIL' || action.code === 'START_LOGGING') return !org.has(action.resource);
          if (action.code === 'PUT_BUCKET_POLICY') return !org.has(action.params.trailArn);
          return true;
        });
      }),
      runs,
    );
  });

  test('an organization trail of another account whose logging is unreadable never leaves the account undecided', () => {
    fc.assert(
      fc.property(stateArb, contextArb, (state, ctx) => {
        if (!state.trails.known) return true;
        const trails = state.trails.value;
        const ownMayLog = trails.some((t) => t.ownerAccountId === ACCT && mayLogManagementEvents(t));
        const foreignUnreadable = trails.some(
          (t) => t.ownerAccountId !== ACCT && (!t.status.known || !t.selectors.known) && mayLogManagementEvents(t),
        );
        if (ownMayLog || !foreignUnreadable) return true;
        const plan = planAccount(state, ctx);
        const undecided = plan.findings.some(
          (f) => f.code === 'OBSERVE_INCOMPLETE' && f.message.startsWith('whether a trail logs management events'),
        );
        return !undecided && !plan.actions.some((a) => a.code === 'CREATE_TRAIL');
      }),
      runs,
    );
  });

  test('no CREATE_TRAIL while any trail (organization and shadow trails included) logs or may log management events', () => {
    fc.assert(
      fc.property(stateArb, contextArb, (state, ctx) => {
        const plan = planAccount(state, ctx);
        if (!plan.actions.some((a) => a.code === 'CREATE_TRAIL')) return true;
        return state.trails.known && state.trails.value.every((trail) => !mayLogManagementEvents(trail));
      }),
      runs,
    );
  });

  test('no START_LOGGING while another trail logs or may log management events (a paid second copy)', () => {
    fc.assert(
      fc.property(stateArb, contextArb, (state, ctx) => {
        const plan = planAccount(state, ctx);
        const starts = plan.actions.filter((a) => a.code === 'START_LOGGING');
        if (starts.length === 0 || !state.trails.known) return state.trails.known || starts.length === 0;
        const trails = state.trails.value;
        return starts.every((start) =>
          trails.filter((t) => t.arn !== start.resource).every((t) => !mayLogManagementEvents(t)),
        );
      }),
      runs,
    );
  });

  test('nothing is created or changed from unknown state', () => {
    fc.assert(
      fc.property(stateArb, contextArb, (state, ctx) => {
        const plan = planAccount(state, ctx);
        if (!state.trails.known) return plan.actions.length === 0;
        return plan.actions.every((action) => basedOnKnownState(action, state));
      }),
      runs,
    );
  });

  test('plans are well-formed: known codes, unique ids, dependencies first, at most one of each creation, deterministic', () => {
    fc.assert(
      fc.property(stateArb, contextArb, (state, ctx) => {
        const plan = planAccount(state, ctx);
        const ids = plan.actions.map((a) => a.id);
        expect(new Set(ids).size).toBe(ids.length);
        plan.actions.forEach((action, index) => {
          expect(ACTION_CODES).toContain(action.code);
          for (const dep of action.dependsOn) expect(ids.indexOf(dep)).toBeLessThan(index);
          expect(action.costImpact.monthlyUsd).toBeGreaterThanOrEqual(0);
        });
        // No repair multiplies resources: at most one bucket, one topic, one trail per plan.
        for (const code of ['CREATE_BUCKET', 'CREATE_TOPIC', 'CREATE_TRAIL']) {
          expect(plan.actions.filter((a) => a.code === code).length).toBeLessThanOrEqual(1);
        }
        expect(planAccount(state, ctx)).toEqual(plan);
      }),
      { numRuns: 1000 },
    );
  });

  test('hub topology: no queue, queue policy or mapping is ever created for the account; every subscribe is the hub one, and the old path is unsubscribed only after it', () => {
    const hubArb = fc.tuple(contextArb, fc.boolean()).map(([ctx, recordedHub]) => ({
      ...ctx,
      ingestTopology: 'hub' as const,
      hub: HUB,
      hubQueueArns: HUB_QUEUE_ARNS,
      ...(recordedHub ? { recorded: { ...ctx.recorded, ingestTopology: 'hub' as const, ingestShard: HUB.shard } } : {}),
    }));
    fc.assert(
      fc.property(stateArb, hubArb, (state, ctx) => {
        const plan = planAccount(state, ctx);
        for (const action of plan.actions) {
          expect(['CREATE_QUEUE', 'PUT_QUEUE_POLICY', 'CREATE_ESM', 'ENABLE_ESM', 'UPDATE_ESM']).not.toContain(
            action.code,
          );
          if (action.code === 'SUBSCRIBE') {
            expect(action.params).toMatchObject({ queueArn: HUB.queueArn, hubShard: HUB.shard });
            expect(action.costImpact.monthlyUsd).toBe(0);
          }
          // Retiring the old path never comes before the hub subscription it waits for.
          if (action.code === 'UNSUBSCRIBE') {
            const subscribe = plan.actions.find((a) => a.code === 'SUBSCRIBE');
            if (subscribe !== undefined) expect(action.dependsOn).toContain(subscribe.id);
          }
        }
        if (!state.trails.known) expect(plan.actions).toEqual([]);
        expect(plan.actions.every((action) => basedOnKnownState(action, state))).toBe(true);
      }),
      runs,
    );
  });

  test('a resource re-created three times within 24 hours is never planned for creation again', () => {
    fc.assert(
      fc.property(stateArb, contextArb, (state, ctx) => {
        const plan = planAccount(state, ctx);
        const loops = ctx.recorded.recreations?.[`topic:${TOPIC_ARN}`]?.length ?? 0;
        const createsTopic = plan.actions.some(
          (a) => a.code === 'CREATE_TOPIC' && a.resource === TOPIC_ARN && a.recreationKey !== undefined,
        );
        return loops < 3 || !createsTopic;
      }),
      runs,
    );
  });
});
