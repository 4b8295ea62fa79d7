/**
 * The bucket rule: the trail's bucket exists, is the account's and is the one recorded; when it is gone (or its
 * collector name was claimed by another account) a bucket is created under the first free candidate name from
 * the probe targets, and the trail pointed at it.
 */
import { defaultBucketName, isCollectorBucketName } from '../names';
import { defaultBucketPolicy, type PolicyStatement } from '../policies';
import { NOT_OBSERVED, type FindingCode, type PlanContext } from '../types';
import {
  draft,
  finding,
  hasStatements,
  incomplete,
  keys,
  sha256,
  updateTrail,
  type ActionDraft,
  type BucketDecision,
  type Rule,
  type RuleInput,
  type RuleOutput,
  type TrailTarget,
} from './kit';

/** Recorded instead of a bucket policy fingerprint when this run changes the bucket or its policy. */
export const POLICY_FINGERPRINT_PENDING = 'pending';

/** The collector's statements for this trail's bucket, with the trail's S3KeyPrefix in the PutObject resource. */
export function bucketStatements(
  bucket: string,
  trailArn: string,
  ctx: PlanContext,
  keyPrefix?: string,
): PolicyStatement[] {
  return defaultBucketPolicy({
    bucketName: bucket,
    accountId: ctx.accountId,
    trailArn,
    ...(keyPrefix ? { keyPrefix } : {}),
  }).Statement;
}

export function putBucketPolicy(
  bucket: string,
  region: string,
  trailArn: string,
  reason: FindingCode,
  keyPrefix?: string,
): ActionDraft {
  return draft(
    'PUT_BUCKET_POLICY',
    { bucketName: bucket, region, trailArn, ...(keyPrefix ? { keyPrefix } : {}) },
    { resource: bucket, reason, part: 'bucket', needs: [keys.bucket(bucket)], provides: [keys.bucketPolicy(bucket)] },
  );
}

type BucketOutput = RuleOutput & { decided: { bucket: BucketDecision } };

const decide = (out: RuleOutput, bucket: BucketDecision = {}): BucketOutput => ({ ...out, decided: { bucket } });

/**
 * BUCKET_CHANGED (info: followed by recording it), BUCKET_POLICY_CHANGED (info: never validated),
 * BUCKET_MISSING -> CREATE_BUCKET + PUT_BUCKET_POLICY (+ UPDATE_TRAIL when the name differs), and
 * BUCKET_NAME_TAKEN -> the generated name. A trail bucket answering 403 whose owner is undetermined is not touched.
 */
export const bucketRule: Rule = {
  name: 'bucket',
  part: 'bucket',
  phase: 'chain',
  codes: [
    'BUCKET_CHANGED',
    'BUCKET_POLICY_CHANGED',
    'BUCKET_MISSING',
    'BUCKET_NAME_TAKEN',
    'TRAIL_NOT_COLLECTABLE',
    'OBSERVE_INCOMPLETE',
  ],
  description: "the trail's bucket exists, is the account's and is the one recorded; else one is created",
  check(input) {
    const { observed, ctx, decided } = input;
    const chain = decided.trail;
    if (chain === undefined) return { findings: [], actions: [] };
    const trail = chain.target;
    if (chain.creating || trail.observed?.bucketName === undefined) {
      return bucketCreation(input, trail, chain.creating ? 'TRAIL_MISSING' : 'BUCKET_MISSING', !chain.creating);
    }
    const current = trail.observed.bucketName;
    const probe = observed.buckets[current] ?? NOT_OBSERVED;
    if (!probe.known) return decide({ findings: [incomplete(current, 'the trail bucket', probe.error)], actions: [] });
    switch (probe.value.state) {
      case 'forbidden':
        return decide({
          findings: [
            incomplete(
              current,
              'the trail bucket',
              `HeadBucket with ExpectedBucketOwner ${ctx.accountId} was denied: another account owns it, or it denies the role`,
            ),
          ],
          actions: [],
        });
      case 'foreign': {
        if (isCollectorBucketName(ctx.accountId, current)) {
          // The collector's own name now belongs to someone else (deleted, then claimed): the trail writes the
          // customer's logs into a stranger's bucket. Move it to the reserved generated name.
          return bucketCreation(input, trail, 'BUCKET_NAME_TAKEN', true);
        }
        // A customer's central bucket in another account that is not a registered log archive (those are
        // handled before this rule): the collector cannot read it.
        return decide({
          findings: [
            finding(
              'TRAIL_NOT_COLLECTABLE',
              'high',
              current,
              `the trail delivers into ${current}, owned by another account that is not registered as log archive ` +
                `for ${ctx.accountId}; register that account with --log-archive-for ${ctx.accountId}`,
            ),
          ],
          actions: [],
        });
      }
      case 'absent': {
        const missing = finding('BUCKET_MISSING', 'high', current, 'the trail bucket no longer exists (deleted)');
        const created = bucketCreation(input, trail, 'BUCKET_MISSING', true);
        return { ...created, findings: [missing, ...created.findings] };
      }
      case 'owned': {
        const out: RuleOutput = { findings: [], actions: [] };
        const bucket: BucketDecision = { bucketName: current };
        if (ctx.recorded.bucketName !== undefined && ctx.recorded.bucketName !== current) {
          out.findings.push(
            finding(
              'BUCKET_CHANGED',
              'info',
              current,
              `the trail now delivers to ${current} instead of ${ctx.recorded.bucketName}; log files are read from the new bucket`,
            ),
          );
        }
        const policy = probe.value.policy;
        if (policy?.known) {
          bucket.bucketPolicySha256 = sha256(policy.value ?? '');
          const recordedSha = ctx.recorded.bucketPolicySha256;
          // 'pending': the last run changed this bucket or its policy itself; there is nothing to compare with yet.
          const comparable = recordedSha !== undefined && recordedSha !== POLICY_FINGERPRINT_PENDING;
          if (ctx.recorded.bucketName === current && comparable && recordedSha !== bucket.bucketPolicySha256) {
            out.findings.push(
              finding(
                'BUCKET_POLICY_CHANGED',
                'info',
                current,
                'the bucket policy changed since the last run; the collector does not validate an existing bucket policy',
              ),
            );
          }
        }
        if (ctx.recorded.generatedBucketName !== undefined)
          bucket.generatedBucketName = ctx.recorded.generatedBucketName;
        return decide(out, bucket);
      }
    }
  },
};

function bucketCreation(
  { observed, ctx, probes }: RuleInput,
  trail: TrailTarget,
  reason: FindingCode,
  pointTrail: boolean,
): BucketOutput {
  const out: RuleOutput = { findings: [], actions: [] };
  const candidates = probes.bucketCandidates;
  let name = candidates.first;
  let actionReason = reason;
  let probe = observed.buckets[name] ?? NOT_OBSERVED;
  const unusable = probe.known && (probe.value.state === 'foreign' || probe.value.state === 'forbidden');
  if (unusable && candidates.fallback !== undefined) {
    // A forbidden (undetermined) default name is given up too: the cost is one bucket under a reserved
    // name, kept for good, never a stream of new ones.
    out.findings.push(
      finding(
        'BUCKET_NAME_TAKEN',
        'high',
        name,
        `${name} belongs to another account (or denies this account); the collector uses ${candidates.fallback} ` +
          'instead and keeps that name for good',
      ),
    );
    name = candidates.fallback;
    actionReason = 'BUCKET_NAME_TAKEN';
    probe = observed.buckets[name] ?? NOT_OBSERVED;
  }
  if (!probe.known) {
    out.findings.push(incomplete(name, 'whether the bucket name is free', probe.error));
    return decide(out);
  }
  if (probe.value.state === 'forbidden' || probe.value.state === 'foreign') {
    out.findings.push(
      incomplete(name, 'the bucket', `HeadBucket with ExpectedBucketOwner ${ctx.accountId} was denied for ${name}`),
    );
    return decide(out);
  }
  if (probe.value.state === 'absent') {
    out.actions.push(
      draft(
        'CREATE_BUCKET',
        { bucketName: name, region: ctx.region },
        {
          resource: name,
          reason: actionReason,
          part: 'bucket',
          provides: [keys.bucket(name)],
          recreates: ctx.recorded.bucketName === name,
        },
      ),
    );
  }
  // Only a collector-named bucket gets the default policy (merged): one the collector created or reserved.
  // An existing one that already holds the statements for this trail (its key prefix included) needs nothing.
  // The trail keeps its S3KeyPrefix when UpdateTrail points it at this bucket, so the policy must name it.
  const keyPrefix = trail.observed?.s3KeyPrefix;
  const policy = probe.value.state === 'owned' ? probe.value.policy : undefined;
  const wanted = bucketStatements(name, trail.arn, ctx, keyPrefix);
  const complete = policy?.known === true && hasStatements(policy.value, wanted);
  if (!complete) out.actions.push(putBucketPolicy(name, ctx.region, trail.arn, actionReason, keyPrefix));
  if (pointTrail && trail.observed?.bucketName !== name) {
    out.actions.push(
      updateTrail(trail, { bucketName: name }, reason, 'bucket', [keys.bucket(name), keys.bucketPolicy(name)]),
    );
  }
  return decide(out, {
    bucketName: name,
    ...(name !== defaultBucketName(ctx.accountId) ? { generatedBucketName: name } : {}),
  });
}
