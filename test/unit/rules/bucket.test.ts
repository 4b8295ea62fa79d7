/**
 * The bucket rule, through the planner: for each finding, a compliant state and a non-compliant one with its
 * finding and actions (cdk-nag style). Moved from reconcile-plan.test.ts; the rule-level cases are at the end.
 */
import { planAccount } from '../../../lambdas/reconcile/plan';
import { defaultBucketPolicy } from '../../../lambdas/reconcile/policies';
import { checkBucketPolicy } from '../../../lambdas/reconcile/policy-validation';
import { bucketRule } from '../../../lambdas/reconcile/rules';
import { known, unknown } from '../../../lambdas/reconcile/types';
import {
  ACCT,
  BUCKET,
  GENERATED,
  REGION,
  TRAIL_ARN,
  bucketPolicy,
  context,
  healthy,
  trail,
} from '../../../testkit/reconcile-fixtures';
import { codes, findingCodes, ruleOutput, summary, with_ } from './helpers';

describe('BUCKET_CHANGED', () => {
  test('the trail delivers to another bucket of the account: followed (info), nothing to repair', () => {
    const state = with_((s) => {
      s.trails = known([trail({ bucketName: 'acme-new' })]);
      s.buckets['acme-new'] = known({ state: 'owned', policy: known('{}') });
    });
    const plan = planAccount(state, context());
    expect(plan.findings).toEqual([
      expect.objectContaining({ code: 'BUCKET_CHANGED', severity: 'info', resource: 'acme-new' }),
    ]);
    expect(plan.actions).toEqual([]);
    expect(plan.target.bucketName).toBe('acme-new');
  });
});

describe('BUCKET_POLICY_CHANGED', () => {
  test('a different policy than last run: info only, never validated or rewritten', () => {
    const state = with_((s) => (s.buckets[BUCKET] = known({ state: 'owned', policy: known('{"Statement":[]}') })));
    const plan = planAccount(state, context());
    expect(plan.findings).toEqual([expect.objectContaining({ code: 'BUCKET_POLICY_CHANGED', severity: 'info' })]);
    expect(plan.actions).toEqual([]);
  });

  test("compliant: after the collector's own change ('pending') there is nothing to compare", () => {
    const state = with_((s) => (s.buckets[BUCKET] = known({ state: 'owned', policy: known('{"Statement":[]}') })));
    const ctx = context();
    ctx.recorded.bucketPolicySha256 = 'pending';
    expect(planAccount(state, ctx).findings).toEqual([]);
  });
});

describe('BUCKET_MISSING', () => {
  test('outcomes-<id> deleted: re-created with the default policy; the trail already names it', () => {
    const plan = planAccount(
      with_((s) => (s.buckets[BUCKET] = known({ state: 'absent' }))),
      context(),
    );
    expect(findingCodes(plan)).toEqual(['BUCKET_MISSING']);
    expect(summary(plan)).toEqual([
      ['CREATE_BUCKET', BUCKET, 'BUCKET_MISSING'],
      ['PUT_BUCKET_POLICY', BUCKET, 'BUCKET_MISSING'],
    ]);
    expect(plan.actions[0]!.recreationKey).toBe(`bucket:${BUCKET}`);
  });

  test("a customer's bucket deleted: outcomes-<id> is created and the trail pointed at it (bucket before trail)", () => {
    const state = with_((s) => {
      s.trails = known([trail({ bucketName: 'acme-logs' })]);
      s.buckets = { 'acme-logs': known({ state: 'absent' }), [BUCKET]: known({ state: 'absent' }) };
    });
    const plan = planAccount(state, context({ recorded: { ...context().recorded, bucketName: 'acme-logs' } }));
    expect(codes(plan)).toEqual(['CREATE_BUCKET', 'PUT_BUCKET_POLICY', 'UPDATE_TRAIL']);
    const [create, policy, update] = plan.actions;
    expect(update!.params).toEqual({ trailName: 'outcomes-trail', region: REGION, bucketName: BUCKET });
    expect(update!.dependsOn).toEqual([create!.id, policy!.id]);
  });

  test('the replacement name is unknown (probe failed): nothing is created', () => {
    const state = with_((s) => {
      s.trails = known([trail({ bucketName: 'acme-logs' })]);
      s.buckets = { 'acme-logs': known({ state: 'absent' }), [BUCKET]: unknown('HeadBucket failed: SlowDown') };
    });
    const plan = planAccount(state, context());
    expect(plan.actions).toEqual([]);
    expect(findingCodes(plan)).toEqual(['BUCKET_MISSING', 'OBSERVE_INCOMPLETE']);
  });
});

describe('BUCKET_NAME_TAKEN', () => {
  test("the trail's outcomes-<id> now belongs to another account: a generated name, the trail moved to it", () => {
    const state = with_((s) => {
      s.buckets = { [BUCKET]: known({ state: 'foreign' }), [GENERATED]: known({ state: 'absent' }) };
    });
    const plan = planAccount(state, context());
    expect(plan.findings).toEqual([
      expect.objectContaining({ code: 'BUCKET_NAME_TAKEN', severity: 'high', resource: BUCKET }),
    ]);
    expect(summary(plan)).toEqual([
      ['CREATE_BUCKET', GENERATED, 'BUCKET_NAME_TAKEN'],
      ['PUT_BUCKET_POLICY', GENERATED, 'BUCKET_NAME_TAKEN'],
      ['UPDATE_TRAIL', TRAIL_ARN, 'BUCKET_NAME_TAKEN'],
    ]);
    expect(plan.target.generatedBucketName).toBe(GENERATED);
  });

  test('a recorded generated name is reused, the default never tried again', () => {
    const reserved = `outcomes-${ACCT}-old00001`;
    const state = with_((s) => {
      s.trails = known([trail({ bucketName: reserved })]);
      s.buckets = { [reserved]: known({ state: 'absent' }) };
    });
    const plan = planAccount(
      state,
      context({ recorded: { ...context().recorded, bucketName: reserved, generatedBucketName: reserved } }),
    );
    expect(summary(plan)).toEqual([
      ['CREATE_BUCKET', reserved, 'BUCKET_MISSING'],
      ['PUT_BUCKET_POLICY', reserved, 'BUCKET_MISSING'],
    ]);
  });

  test("compliant: a customer's bucket in another account is never 'taken', only reported", () => {
    const state = with_((s) => {
      s.trails = known([trail({ bucketName: 'acme-central-logs' })]);
      s.buckets = { 'acme-central-logs': known({ state: 'foreign' }) };
    });
    const plan = planAccount(state, context({ recorded: { ...context().recorded, bucketName: 'acme-central-logs' } }));
    expect(plan.actions).toEqual([]);
    expect(findingCodes(plan)).toEqual(['TRAIL_NOT_COLLECTABLE']);
  });

  test('an undetermined 403 on the trail bucket changes nothing', () => {
    const plan = planAccount(
      with_((s) => (s.buckets[BUCKET] = known({ state: 'forbidden' }))),
      context(),
    );
    expect(plan.actions).toEqual([]);
    expect(findingCodes(plan)).toEqual(['OBSERVE_INCOMPLETE']);
  });
});

describe('the bucket rule on its own', () => {
  test('compliant: the recorded bucket, its policy unchanged; non-compliant: a deleted bucket is re-created', () => {
    expect(ruleOutput(bucketRule, healthy(), context())).toMatchObject({
      findings: [],
      actions: [],
      decided: { bucket: { bucketName: BUCKET } },
    });
    const gone = with_((s) => (s.buckets[BUCKET] = known({ state: 'absent' })));
    const output = ruleOutput(bucketRule, gone, context());
    expect(output.findings.map((f) => f.code)).toEqual(['BUCKET_MISSING']);
    expect(output.actions.map((a) => a.code)).toEqual(['CREATE_BUCKET', 'PUT_BUCKET_POLICY']);
    expect(output.actions[0]!.recreationKey).toBe(`bucket:${BUCKET}`);
  });
});

/**
 * CloudTrail User Guide, "Amazon S3 bucket policy for CloudTrail": the PutObject resource is
 * arn:aws:s3:::bucket/[optionalPrefix]/AWSLogs/accountId/*; without the trail's prefix CreateTrail/UpdateTrail fail
 * with InsufficientS3BucketPolicyException.
 */
describe("the trail's S3KeyPrefix", () => {
  const PREFIX = 'org/audit';
  const prefixed = (bucket = BUCKET) =>
    JSON.stringify(
      defaultBucketPolicy({ bucketName: bucket, accountId: ACCT, trailArn: TRAIL_ARN, keyPrefix: PREFIX }),
    );

  test('a re-created bucket gets a policy whose PutObject resource holds the prefix', () => {
    const state = with_((s) => {
      s.trails = known([trail({ s3KeyPrefix: PREFIX })]);
      s.buckets[BUCKET] = known({ state: 'absent' });
    });
    const plan = planAccount(state, context());
    expect(summary(plan)).toEqual([
      ['CREATE_BUCKET', BUCKET, 'BUCKET_MISSING'],
      ['PUT_BUCKET_POLICY', BUCKET, 'BUCKET_MISSING'],
    ]);
    expect(plan.actions[1]!.params).toEqual({
      bucketName: BUCKET,
      region: REGION,
      trailArn: TRAIL_ARN,
      keyPrefix: PREFIX,
    });
  });

  test("a customer's deleted bucket: outcomes-<id> is given the prefixed policy before the trail is moved to it", () => {
    const state = with_((s) => {
      s.trails = known([trail({ bucketName: 'acme-logs', s3KeyPrefix: PREFIX })]);
      s.buckets = {
        'acme-logs': known({ state: 'absent' }),
        [BUCKET]: known({ state: 'owned', policy: known(bucketPolicy()) }),
      };
    });
    const plan = planAccount(state, context({ recorded: { ...context().recorded, bucketName: 'acme-logs' } }));
    // outcomes-<id> exists with the statements for an unprefixed trail: not enough for this one.
    expect(codes(plan)).toEqual(['PUT_BUCKET_POLICY', 'UPDATE_TRAIL']);
    expect(plan.actions[0]!.params).toMatchObject({ keyPrefix: PREFIX });
    expect(plan.actions[1]!.dependsOn).toEqual([plan.actions[0]!.id]);
  });

  test('compliant: outcomes-<id> already holds the prefixed statements, so the trail is only moved', () => {
    const state = with_((s) => {
      s.trails = known([trail({ bucketName: 'acme-logs', s3KeyPrefix: PREFIX })]);
      s.buckets = {
        'acme-logs': known({ state: 'absent' }),
        [BUCKET]: known({ state: 'owned', policy: known(prefixed()) }),
      };
    });
    const plan = planAccount(state, context({ recorded: { ...context().recorded, bucketName: 'acme-logs' } }));
    expect(codes(plan)).toEqual(['UPDATE_TRAIL']);
  });

  test('the prefixed policy lets CloudTrail write under the prefix, the unprefixed one does not', () => {
    const ctx = { bucketName: BUCKET, trailArn: TRAIL_ARN, accountId: ACCT, keyPrefix: PREFIX };
    expect(checkBucketPolicy(prefixed(), ctx)).toEqual({ allowed: true, explicitDeny: false, reasons: [] });
    const without = checkBucketPolicy(bucketPolicy(), ctx);
    expect(without.allowed).toBe(false);
    expect(without.reasons.join(' ')).toContain(`${BUCKET}/${PREFIX}/AWSLogs/${ACCT}/CloudTrail/`);
  });
});
