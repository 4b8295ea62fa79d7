/**
 * The log file validation rule (LOG_FILE_VALIDATION_DISABLED): repaired with UPDATE_TRAIL (that one setting) only
 * on the trail the collector created; on any other trail, reported with the command for its owner.
 */
import { planAccount } from '../../../lambdas/reconcile/plan';
import { reconcileAll } from '../../../lambdas/reconcile/reconcile';
import { logFileValidationRule } from '../../../lambdas/reconcile/rules';
import { known } from '../../../lambdas/reconcile/types';
import { silentLogger } from '../../../lambdas/shared/logger';
import { FakeCloud, MemoryRegistry, seedHealthyAccount } from '../../../testkit/fake-cloud';
import {
  ACCT,
  RECONCILE_SETTINGS,
  REGION,
  TOPIC_ARN,
  TRAIL_ARN,
  context,
  topic,
  topicPolicy,
  trail,
} from '../../../testkit/reconcile-fixtures';
import { CUSTOMER_TRAIL, codes, ruleOutput, with_ } from './helpers';

const withValidation = (enabled: boolean | undefined) =>
  with_((s) => {
    s.trails = known([trail(enabled === undefined ? {} : { logFileValidationEnabled: enabled })]);
  });

describe('LOG_FILE_VALIDATION_DISABLED', () => {
  test('compliant: validation on, or not reported by DescribeTrails', () => {
    expect(ruleOutput(logFileValidationRule, withValidation(true), context())).toEqual({ findings: [], actions: [] });
    expect(ruleOutput(logFileValidationRule, withValidation(undefined), context())).toEqual({
      findings: [],
      actions: [],
    });
  });

  test('non-compliant, outcomes-trail: turned back on with UpdateTrail EnableLogFileValidation alone, priced', () => {
    const plan = planAccount(withValidation(false), context());
    expect(plan.findings).toEqual([
      expect.objectContaining({ code: 'LOG_FILE_VALIDATION_DISABLED', severity: 'medium', resource: TRAIL_ARN }),
    ]);
    expect(plan.findings[0]!.message).toMatch(/Turned back on$/);
    expect(plan.actions).toEqual([
      expect.objectContaining({
        id: `UPDATE_TRAIL:${TRAIL_ARN}:log-file-validation`,
        code: 'UPDATE_TRAIL',
        params: { trailName: 'outcomes-trail', region: REGION, enableLogFileValidation: true },
        reason: 'LOG_FILE_VALIDATION_DISABLED',
        part: 'trail',
      }),
    ]);
    // Free from CloudTrail; S3 bills one PUT and ~2 KB per Region per hour.
    expect(plan.actions[0]!.costImpact.monthlyUsd).toBe(0.06);
    expect(plan.actions[0]!.costImpact.note).toContain('digest files are free from CloudTrail');
  });

  test("non-compliant, the customer's own trail: reported with the one command, never changed", () => {
    const state = with_((s) => {
      s.trails = known([trail({ arn: CUSTOMER_TRAIL, name: 'acme-audit', logFileValidationEnabled: false })]);
      s.topics[TOPIC_ARN] = known(topic(TOPIC_ARN, { policy: topicPolicy(TOPIC_ARN, CUSTOMER_TRAIL) }));
    });
    const ctx = context({ recorded: { ...context().recorded, trailArn: CUSTOMER_TRAIL } });
    const plan = planAccount(state, ctx);
    expect(codes(plan)).toEqual([]);
    expect(plan.findings).toEqual([
      expect.objectContaining({ code: 'LOG_FILE_VALIDATION_DISABLED', severity: 'info', resource: CUSTOMER_TRAIL }),
    ]);
    expect(plan.findings[0]!.message).toContain(
      `as this account, run aws cloudtrail update-trail --name ${CUSTOMER_TRAIL} --enable-log-file-validation ` +
        `--region ${REGION}`,
    );
  });

  test('an outcomes-trail homed in another Region than the collector is not the one the collector created', () => {
    const elsewhere = `arn:aws:cloudtrail:eu-west-1:${ACCT}:trail/outcomes-trail`;
    const state = with_((s) => {
      s.trails = known([trail({ arn: elsewhere, homeRegion: 'eu-west-1', logFileValidationEnabled: false })]);
      s.topics[TOPIC_ARN] = known(topic(TOPIC_ARN, { policy: topicPolicy(TOPIC_ARN, elsewhere) }));
    });
    const output = ruleOutput(
      logFileValidationRule,
      state,
      context({ recorded: { ...context().recorded, trailArn: elsewhere } }),
    );
    expect(output.actions).toEqual([]);
    expect(output.findings[0]!.message).toContain('--region eu-west-1');
  });
});

describe('log file validation over the in-memory cloud', () => {
  const run = (cloud: FakeCloud, registry: MemoryRegistry) =>
    reconcileAll(
      registry,
      { clients: cloud.clients(), config: RECONCILE_SETTINGS, logger: silentLogger },
      { mode: 'apply' },
    );

  test('apply turns it on with exactly that setting; the next run finds nothing', async () => {
    const cloud = new FakeCloud();
    const chain = seedHealthyAccount(cloud, ACCT);
    cloud.account(ACCT).trails[0]!.logFileValidation = false;
    const registry = new MemoryRegistry([{ accountId: ACCT, ...chain, bucketName: chain.bucket }]);
    const first = (await run(cloud, registry)).accounts[0]!;
    expect(first.actions.map((a) => [a.code, a.reason, a.status])).toEqual([
      ['UPDATE_TRAIL', 'LOG_FILE_VALIDATION_DISABLED', 'applied'],
    ]);
    expect(first.status).toBe('repaired');
    expect(cloud.calls.filter((c) => c.command === 'UpdateTrail').map((c) => c.input)).toEqual([
      { Name: 'outcomes-trail', EnableLogFileValidation: true },
    ]);
    const second = (await run(cloud, registry)).accounts[0]!;
    expect(second.findings).toEqual([]);
    expect(second.actions).toEqual([]);
  });

  test('CREATE_TRAIL creates outcomes-trail with validation on: no finding afterwards', async () => {
    const cloud = new FakeCloud();
    cloud.account(ACCT);
    const registry = new MemoryRegistry([{ accountId: ACCT }]);
    await run(cloud, registry);
    expect(cloud.calls.find((c) => c.command === 'CreateTrail')?.input).toMatchObject({
      EnableLogFileValidation: true,
    });
    expect(cloud.account(ACCT).trails[0]!.logFileValidation).toBe(true);
    const next = (await run(cloud, registry)).accounts[0]!;
    expect(next.findings.map((f) => f.code)).not.toContain('LOG_FILE_VALIDATION_DISABLED');
  });
});
