/**
 * Organization trails over the fake cloud, one scenario per AWS answer (CloudTrail User Guide, "Creating a trail
 * for an organization" / "Organization trails": member accounts can see an organization trail but cannot change
 * it, and their GetTrailStatus / GetEventSelectors calls for it answer sparsely or fail):
 * - seen from a member account: GetTrailStatus without IsLogging, TrailNotFoundException,
 *   CloudTrailARNInvalidException. Never CREATE_TRAIL (a paid second copy), never stuck undecided: the account
 *   takes the log-archive path (TRAIL_NOT_COLLECTABLE, or COLLECTED_BY_LOG_ARCHIVE);
 * - owned by the registered account (the management account): collected, never re-pointed (ORGANIZATION_TRAIL_OWNED).
 */
import { silentLogger } from '../../lambdas/shared/logger';
import { reconcileAll, type ReconcileDeps } from '../../lambdas/reconcile/reconcile';
import type { AccountReport, ReconcileReport } from '../../lambdas/reconcile/types';
import { FakeCloud, MemoryRegistry, seedHealthyAccount, type FakeTrail } from '../../testkit/fake-cloud';
import { RECONCILE_SETTINGS } from '../../testkit/reconcile-fixtures';

const MEMBER = '111122223333';
const MANAGEMENT = '999900001111';
const ARCHIVE = '444455556666';
const ORG_TRAIL = `arn:aws:cloudtrail:us-east-1:${MANAGEMENT}:trail/org-trail`;

function deps(cloud: FakeCloud): Omit<ReconcileDeps, 'registry'> {
  return {
    clients: cloud.clients(),
    config: RECONCILE_SETTINGS,
    logger: silentLogger,
    now: () => new Date('2026-11-01T00:00:00.000Z'),
    randomSuffix: () => 'a1b2c3d4',
  };
}

const account = (report: ReconcileReport, id = MEMBER): AccountReport =>
  report.accounts.find((a) => a.accountId === id)!;

function orgTrailSeenByMember(answers: FakeTrail['memberAnswers']): FakeTrail {
  return {
    name: 'org-trail',
    region: 'us-east-1',
    owner: MANAGEMENT,
    organization: true,
    bucket: 'acme-org-cloudtrail',
    topicName: 'org-topic',
    multiRegion: true,
    logging: true,
    // Custom selectors, so that observe asks GetEventSelectors (and gets the member's answer).
    selectors: { management: true, data: false },
    ...(answers !== undefined ? { memberAnswers: answers } : {}),
  };
}

describe('an organization trail seen from a member account', () => {
  test.each([
    ['GetTrailStatus answers without IsLogging', 'sparse-status'],
    ['GetTrailStatus and GetEventSelectors fail with TrailNotFoundException', 'TrailNotFoundException'],
    ['GetTrailStatus and GetEventSelectors fail with CloudTrailARNInvalidException', 'CloudTrailARNInvalidException'],
  ] as const)('%s: TRAIL_NOT_COLLECTABLE, nothing created, not undecided', async (_name, answers) => {
    const cloud = new FakeCloud();
    cloud.account(MEMBER).trails.push(orgTrailSeenByMember(answers));
    const report = await reconcileAll(new MemoryRegistry([{ accountId: MEMBER }]), deps(cloud), { mode: 'apply' });
    const member = account(report);
    expect(member.actions).toEqual([]);
    expect(member.findings.map((f) => f.code)).toEqual(['TRAIL_NOT_COLLECTABLE']);
    expect(member.findings[0]).toMatchObject({
      resource: ORG_TRAIL,
      message: expect.stringContaining('presumed on'),
    });
    expect(cloud.callsOf(MEMBER)).not.toContain('CreateTrail');
    expect(cloud.callsOf(MEMBER)).not.toContain('CreateBucket');
  });

  test('compliant: answered in full (logging), the same path without the presumption', async () => {
    const cloud = new FakeCloud();
    cloud.account(MEMBER).trails.push(orgTrailSeenByMember(undefined));
    const member = account(
      await reconcileAll(new MemoryRegistry([{ accountId: MEMBER }]), deps(cloud), { mode: 'apply' }),
    );
    expect(member.actions).toEqual([]);
    expect(member.findings.map((f) => f.code)).toEqual(['TRAIL_NOT_COLLECTABLE']);
    expect(member.findings[0]!.message).not.toContain('presumed');
  });

  test('a registered log archive collecting its bucket: COLLECTED_BY_LOG_ARCHIVE, even with a sparse status', async () => {
    const cloud = new FakeCloud();
    cloud.account(MEMBER).trails.push(orgTrailSeenByMember('sparse-status'));
    const registry = new MemoryRegistry([
      { accountId: MEMBER },
      { accountId: ARCHIVE, logArchiveFor: [MEMBER], bucketName: 'acme-org-cloudtrail' },
    ]);
    const report = await reconcileAll(registry, deps(cloud), { mode: 'plan', accountId: MEMBER });
    const member = account(report);
    expect(member.actions).toEqual([]);
    expect(member.findings.map((f) => f.code)).toContain('COLLECTED_BY_LOG_ARCHIVE');
    expect(member.findings.map((f) => f.code)).not.toContain('OBSERVE_INCOMPLETE');
  });

  test("the member's own trail, unreadable, still blocks the decision: undecided, nothing created", async () => {
    const cloud = new FakeCloud();
    cloud.account(MEMBER).trails.push(orgTrailSeenByMember('TrailNotFoundException'), {
      name: 'acme-audit',
      region: 'us-east-1',
      bucket: 'acme-logs',
      multiRegion: true,
      logging: true,
    });
    cloud.fail(MEMBER, 'GetTrailStatus', { name: 'ThrottlingException' });
    const member = account(
      await reconcileAll(new MemoryRegistry([{ accountId: MEMBER }]), deps(cloud), { mode: 'apply' }),
    );
    expect(member.actions).toEqual([]);
    expect(member.findings.map((f) => f.code)).toContain('OBSERVE_INCOMPLETE');
    expect(member.findings.map((f) => f.code)).not.toContain('TRAIL_NOT_COLLECTABLE');
  });
});

describe('an organization trail owned by the registered (management) account', () => {
  function managementWithOrgTrail(cloud: FakeCloud) {
    const chain = seedHealthyAccount(cloud, MANAGEMENT);
    const trail = cloud.account(MANAGEMENT).trails[0]!;
    trail.organization = true;
    return chain;
  }

  test('healthy: collected as it is, ORGANIZATION_TRAIL_OWNED says what the operator does, no action', async () => {
    const cloud = new FakeCloud();
    const chain = managementWithOrgTrail(cloud);
    const registry = new MemoryRegistry([{ accountId: MANAGEMENT, ...chain, bucketName: chain.bucket }]);
    const report = account(await reconcileAll(registry, deps(cloud), { mode: 'apply' }), MANAGEMENT);
    expect(report.actions).toEqual([]);
    expect(report.findings).toEqual([
      expect.objectContaining({
        code: 'ORGANIZATION_TRAIL_OWNED',
        severity: 'medium',
        message: expect.stringContaining(`--log-archive-for o-<organization id>`),
      }),
    ]);
  });

  test("its topic deleted: high, and no UpdateTrail, no CreateTopic (re-pointing is not the collector's call)", async () => {
    const cloud = new FakeCloud();
    const chain = managementWithOrgTrail(cloud);
    cloud.account(MANAGEMENT).topics.delete(chain.topicArn);
    const registry = new MemoryRegistry([{ accountId: MANAGEMENT, ...chain, bucketName: chain.bucket }]);
    const report = account(await reconcileAll(registry, deps(cloud), { mode: 'apply' }), MANAGEMENT);
    expect(report.actions).toEqual([]);
    expect(report.findings).toEqual([expect.objectContaining({ code: 'ORGANIZATION_TRAIL_OWNED', severity: 'high' })]);
    expect(cloud.callsOf(MANAGEMENT)).not.toContain('UpdateTrail');
  });

  test('stopped: never started (it would start logging for every member account)', async () => {
    const cloud = new FakeCloud();
    const chain = managementWithOrgTrail(cloud);
    cloud.account(MANAGEMENT).trails[0]!.logging = false;
    const registry = new MemoryRegistry([{ accountId: MANAGEMENT, ...chain, bucketName: chain.bucket }]);
    const report = account(await reconcileAll(registry, deps(cloud), { mode: 'apply' }), MANAGEMENT);
    expect(report.actions.map((a) => a.code)).not.toContain('START_LOGGING');
    expect(report.findings.map((f) => f.code)).toContain('TRAIL_NOT_LOGGING');
    expect(cloud.callsOf(MANAGEMENT)).not.toContain('StartLogging');
  });
});
