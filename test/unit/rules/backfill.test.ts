/**
 * The backfill rule, through the planner (cdk-nag style): no BACKFILL for a healthy account or when backfill is not
 * configured; a BACKFILL after a repair of the notification path and while collection lags, with its window, where
 * it lists and where it sends, priced; never for a trail this plan creates; resumed from the registry's cursor.
 */
import { planAccount } from '../../../lambdas/reconcile/plan';
import {
  BACKFILL_AFTER_REPAIR,
  BACKFILL_WHEN_LAGGING,
  LAG_BACKFILL_INTERVAL_MINUTES,
  dayFolders,
} from '../../../lambdas/reconcile/rules/backfill';
import {
  FINDING_CODES,
  known,
  unknown,
  type BackfillContext,
  type ObservedState,
  type Plan,
  type PlanContext,
} from '../../../lambdas/reconcile/types';
import {
  ACCT,
  BUCKET,
  REGION,
  TOPIC_ARN,
  context,
  healthy,
  hubContext,
  hubHealthy,
  topic,
  trail,
} from '../../../testkit/reconcile-fixtures';
import { with_ } from './helpers';

const NOW = new Date('2026-11-24T12:00:00.000Z');
const SETTINGS: BackfillContext = { maxDays: 7, maxFilesPerRun: 2_000, marginMinutes: 60 };

const ctxWith = (overrides: Partial<PlanContext> = {}, backfill: Partial<BackfillContext> = {}): PlanContext =>
  context({
    now: NOW,
    registeredAt: '2026-10-01T00:00:00.000Z',
    lastRecordAt: '2026-11-24T08:00:00.000Z',
    backfill: { ...SETTINGS, ...backfill },
    ...overrides,
  });

const subscriptionRemoved = (state = healthy()) =>
  with_((s) => (s.topics[TOPIC_ARN] = known(topic(TOPIC_ARN, { subscriptions: known([]) }))), state);

const withCollected = (state: ObservedState, regions: Record<string, string>): ObservedState => {
  state.collected = known(
    Object.fromEntries(
      Object.entries(regions).map(([region, deliveredAt]) => [
        region,
        { region, deliveredAt, key: 'k', bucket: BUCKET, collectedAt: deliveredAt },
      ]),
    ),
  );
  return state;
};

type PlannedBackfill = Extract<Plan['actions'][number], { code: 'BACKFILL' }>;

function backfillOf(plan: Plan): PlannedBackfill | undefined {
  return plan.actions.find((a): a is PlannedBackfill => a.code === 'BACKFILL');
}

describe('BACKFILL', () => {
  test('compliant: a healthy account, or backfill not configured, plans none', () => {
    expect(backfillOf(planAccount(withCollected(healthy(), {}), ctxWith()))).toBeUndefined();
    const plan = planAccount(subscriptionRemoved(), context({ now: NOW }));
    expect(plan.actions.map((a) => a.code)).toEqual(['SUBSCRIBE']);
  });

  test('non-compliant: after SUBSCRIPTION_MISSING is repaired, the gap since the newest collected file is listed', () => {
    const state = withCollected(subscriptionRemoved(), { [REGION]: '2026-11-24T09:30:00.000Z' });
    const plan = planAccount(state, ctxWith());
    expect(plan.actions.map((a) => [a.code, a.reason])).toEqual([
      ['SUBSCRIBE', 'SUBSCRIPTION_MISSING'],
      ['BACKFILL', 'SUBSCRIPTION_MISSING'],
    ]);
    const backfill = backfillOf(plan)!;
    expect(backfill.dependsOn).toEqual([plan.actions[0]!.id]);
    expect(backfill.resource).toBe(`s3://${BUCKET}/AWSLogs/${ACCT}/CloudTrail/`);
    expect(backfill.params).toEqual({
      // Regions the ledger does not know start at the account's last record, minus the margin.
      since: '2026-11-24T07:00:00.000Z',
      until: NOW.toISOString(),
      regionSince: { [REGION]: '2026-11-24T08:30:00.000Z' },
      bucketName: BUCKET,
      bucketRegion: REGION,
      logPrefix: `AWSLogs/${ACCT}/CloudTrail/`,
      delivery: {
        to: 'customer-queue',
        queueName: 'outcomesqueue',
        region: REGION,
        queueUrl: `https://sqs/${ACCT}/outcomesqueue`,
      },
      maxFiles: 2_000,
    });
    // Priced: one LIST per region and day, plus the listing that finds a multi-region trail's regions.
    expect(backfill.costImpact.note).toMatch(/^\$0\.0\d once, not monthly, to the customer/);
    expect(backfill.costImpact.note).toContain('2 S3 LIST request(s) (1 region(s) x 1 day folder(s)');
    expect(backfill.costImpact.note).toContain('20 SendMessageBatch and 400 receive and delete requests');
    // Report-mode accounts and plan runs: planned, never executed.
    expect(planAccount(state, ctxWith({ runMode: 'apply', accountMode: 'report' })).execute).toEqual([]);
    expect(planAccount(state, ctxWith({ runMode: 'apply', accountMode: 'apply' })).execute).toContain(backfill.id);
  });

  test('the window: capped at BACKFILL_MAX_DAYS, never before the last backfill, with the prefix and organization', () => {
    const state = withCollected(
      subscriptionRemoved(
        with_(
          (s) => (s.trails = known([trail({ s3KeyPrefix: 'audit/logs', isOrganization: true, isMultiRegion: false })])),
        ),
      ),
      {},
    );
    const capped = backfillOf(
      planAccount(state, ctxWith({ lastRecordAt: undefined }, { maxDays: 3, organizationId: 'o-abcdefghij' })),
    )!;
    expect(capped.params.since).toBe('2026-11-21T12:00:00.000Z');
    expect(capped.params.regions).toEqual([REGION]);
    expect(capped.params.logPrefix).toBe(`audit/logs/AWSLogs/o-abcdefghij/${ACCT}/CloudTrail/`);
    expect(capped.costImpact.note).toContain('4 S3 LIST request(s) (1 region(s) x 4 day folder(s)');
    const unknownOrg = backfillOf(planAccount(state, ctxWith()))!;
    expect(unknownOrg.params).toMatchObject({ logPrefix: 'audit/logs/AWSLogs/', findOrganization: true });
    const afterLast = backfillOf(
      planAccount(
        state,
        ctxWith({}, { last: { since: 'x', until: '2026-11-24T11:00:00.000Z', enqueued: 3, finishedAt: 'y' } }),
      ),
    )!;
    expect(afterLast.params.since).toBe('2026-11-24T10:00:00.000Z');
  });

  test('non-compliant: collection lags (COLLECTION_STALE), nothing to repair: a backfill on its own, hourly', () => {
    const plan = planAccount(withCollected(healthy(), {}), ctxWith({ staleAfterMinutes: 60 }));
    expect(plan.findings.map((f) => f.code)).toEqual(['COLLECTION_STALE']);
    expect(plan.actions.map((a) => [a.code, a.reason, a.dependsOn])).toEqual([['BACKFILL', 'COLLECTION_STALE', []]]);
    // A lag-only backfill finished 30 minutes ago: none again before LAG_BACKFILL_INTERVAL_MINUTES.
    const last = (finishedAt: string) => ({ since: 'x', until: finishedAt, enqueued: 0, finishedAt });
    const stale = (finishedAt: string) =>
      planAccount(withCollected(healthy(), {}), ctxWith({ staleAfterMinutes: 60 }, { last: last(finishedAt) }));
    expect(LAG_BACKFILL_INTERVAL_MINUTES).toBe(60);
    expect(stale('2026-11-24T11:30:00.000Z').actions).toEqual([]);
    expect(stale('2026-11-24T10:59:00.000Z').actions.map((a) => a.code)).toEqual(['BACKFILL']);
    // A repair is never held back by it.
    const repaired = planAccount(
      withCollected(subscriptionRemoved(), {}),
      ctxWith({}, { last: last('2026-11-24T11:59:00.000Z') }),
    );
    expect(repaired.actions.map((a) => a.code)).toEqual(['SUBSCRIBE', 'BACKFILL']);
  });

  test('a trail this plan creates delivered nothing: no backfill; an unreadable ledger is reported', () => {
    const empty = withCollected(
      with_((s) => {
        s.trails = known([]);
        s.buckets = { [BUCKET]: known({ state: 'absent' }) };
        s.topics = { [TOPIC_ARN]: known(null) };
        s.queues = { outcomesqueue: known(null), 'outcomesqueue-dlq': known(null) };
      }),
      {},
    );
    const bootstrap = planAccount(empty, ctxWith({ recorded: {} }));
    expect(bootstrap.actions.map((a) => a.code)).toContain('CREATE_TRAIL');
    expect(backfillOf(bootstrap)).toBeUndefined();
    const unreadable = subscriptionRemoved();
    unreadable.collected = unknown('ResourceNotFoundException: no table');
    const plan = planAccount(unreadable, ctxWith());
    expect(backfillOf(plan)).toBeUndefined();
    expect(plan.findings.at(-1)).toMatchObject({ code: 'OBSERVE_INCOMPLETE', resource: ACCT });
  });

  test('hub topology: to the backfill queue when BACKFILL_QUEUE_URL is set, else none', () => {
    const state = withCollected(
      with_((s) => (s.topics[TOPIC_ARN] = known(topic(TOPIC_ARN, { subscriptions: known([]) }))), hubHealthy()),
      {},
    );
    const url = 'https://sqs.us-east-1.amazonaws.com/123456789012/cloudtrail-collector-backfill';
    const hub = (backfill: Partial<BackfillContext>) =>
      hubContext({ now: NOW, registeredAt: '2026-11-24T00:00:00Z', backfill: { ...SETTINGS, ...backfill } });
    const plan = planAccount(state, hub({ queueUrl: url }));
    expect(backfillOf(plan)?.params.delivery).toEqual({ to: 'backfill-queue', queueUrl: url });
    expect(backfillOf(plan)?.costImpact.note).toContain('the SQS requests to the collector');
    expect(backfillOf(planAccount(state, hub({})))).toBeUndefined();
  });

  test('a cursor from an earlier run is resumed with its window and position, and its reason', () => {
    const cursor = {
      reason: 'QUEUE_MISSING',
      since: '2026-11-20T00:00:00.000Z',
      until: '2026-11-21T00:00:00.000Z',
      regions: ['eu-west-1', REGION],
      region: REGION,
      day: '2026-11-20',
      startAfter: 'AWSLogs/x',
      enqueued: 2_000,
      startedAt: '2026-11-21T00:00:00.000Z',
    };
    const resumed = backfillOf(planAccount(withCollected(healthy(), {}), ctxWith({}, { cursor })))!;
    expect(resumed.reason).toBe('QUEUE_MISSING');
    expect(resumed.params).toMatchObject({
      since: cursor.since,
      until: cursor.until,
      resume: { regions: cursor.regions, region: REGION, day: '2026-11-20', startAfter: 'AWSLogs/x', enqueued: 2_000 },
    });
    expect(resumed.params.regionSince).toBeUndefined();
    // A new gap meanwhile: one window over both, from the earlier start, listed again from the beginning.
    const merged = backfillOf(planAccount(withCollected(subscriptionRemoved(), {}), ctxWith({}, { cursor })))!;
    expect(merged.params).toMatchObject({ since: cursor.since, until: NOW.toISOString() });
    expect(merged.params.resume).toBeUndefined();
  });

  test('the triggers: the notification path and the lag codes, not a concurrency setting', () => {
    expect(BACKFILL_AFTER_REPAIR).toEqual(
      expect.arrayContaining([
        'TOPIC_MISSING',
        'SUBSCRIPTION_MISSING',
        'QUEUE_MISSING',
        'ESM_DISABLED',
        'TRAIL_NO_TOPIC',
      ]),
    );
    expect(BACKFILL_AFTER_REPAIR).toEqual(expect.arrayContaining(['TRAIL_NOTIFICATION_ERROR', 'TOPOLOGY_MIGRATING']));
    expect(BACKFILL_AFTER_REPAIR).not.toContain('ESM_CONCURRENCY_MISMATCH');
    expect(BACKFILL_AFTER_REPAIR).not.toContain('BUCKET_MISSING');
    expect(BACKFILL_WHEN_LAGGING).toContain('COLLECTION_STALE');
    if ((FINDING_CODES as readonly string[]).includes('COLLECTION_LAGGING'))
      expect(BACKFILL_WHEN_LAGGING).toContain('COLLECTION_LAGGING');
  });

  test('day folders are UTC days, both ends included, across a month end', () => {
    expect(dayFolders('2026-11-29T23:59:00.000Z', '2026-12-01T00:00:00.000Z')).toEqual([
      '2026-11-29',
      '2026-11-30',
      '2026-12-01',
    ]);
    expect(dayFolders('2026-11-24T01:00:00.000Z', '2026-11-24T02:00:00.000Z')).toEqual(['2026-11-24']);
  });
});
