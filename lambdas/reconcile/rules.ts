/**
 * The planner's rules, one small pure function per concern. Each takes the observed facts it needs and returns
 * findings and action drafts; `plan.ts` composes them, links dependencies and applies the REPAIR_LOOP guard.
 *
 * Two invariants every rule keeps (and the property test checks):
 * - nothing is created, changed or subscribed on unknown state: an unknown part yields OBSERVE_INCOMPLETE;
 * - CREATE_TRAIL only comes from `selectCollectionTrail` returning `create` (see trail-selection.ts).
 */
import { createHash } from 'node:crypto';
import { checkQueuePolicy, checkTopicPolicy } from './policy-validation';
import { defaultBucketPolicy, type PolicyStatement } from './policies';
import {
  arnParts,
  queueArn as buildQueueArn,
  topicArn as buildTopicArn,
  trailArn as buildTrailArn,
  unqualifiedFunctionArn,
} from '../shared/arn';
import { CHAIN_NAMES, defaultBucketName, isCollectorBucketName } from './names';
import {
  archiveCollecting,
  bucketCreationCandidates,
  isOwnedBy,
  logsManagementEvents,
  startingWouldAddCost,
  type TrailSelection,
} from './trail-selection';
import { cloudWatchLogsCost, dataEventsCost, duplicateTrailsCost, insightsCost } from './costs';
import {
  NOT_OBSERVED,
  type ActionSpec,
  type ChainPart,
  type Finding,
  type FindingCode,
  type ObservedState,
  type ObservedTopic,
  type ObservedTrail,
  type PlanContext,
  type Severity,
} from './types';

/** An action before ids, dependencies and cost are attached. `needs`/`provides` are resource keys. */
export type ActionDraft = ActionSpec & {
  resource: string;
  reason: FindingCode;
  part: ChainPart;
  needs: string[];
  provides: string[];
  recreationKey?: string;
};

export interface RuleOutput {
  findings: Finding[];
  actions: ActionDraft[];
}

/** Resource keys: an action providing a key must be applied before any action needing it. */
export const keys = {
  bucket: (name: string) => `bucket:${name}`,
  bucketPolicy: (name: string) => `bucket-policy:${name}`,
  topic: (arn: string) => `topic:${arn}`,
  topicPolicy: (arn: string) => `topic-policy:${arn}`,
  queue: (arn: string) => `queue:${arn}`,
  queuePolicy: (arn: string) => `queue-policy:${arn}`,
  trail: (arn: string) => `trail:${arn}`,
  subscription: (topic: string, queue: string) => `subscription:${topic}|${queue}`,
  esm: (queue: string) => `esm:${queue}`,
};

export function finding(code: FindingCode, severity: Severity, resource: string, message: string): Finding {
  return { code, severity, resource, message };
}

function empty(): RuleOutput {
  return { findings: [], actions: [] };
}

function incomplete(resource: string, what: string, error: string): Finding {
  return finding(
    'OBSERVE_INCOMPLETE',
    'medium',
    resource,
    `${what} could not be read (${error}); the collector changes nothing that depends on it`,
  );
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

// ---- cost findings ----------------------------------------------------------------------------------------

/**
 * COST_DUPLICATE_TRAILS when two or more trails log management events in the collector region (every copy
 * after the first is billed), and one finding per trail that bills data events, Insights or CloudWatch Logs.
 * Stopped trails bill nothing and are left out.
 */
export function costRule(trails: ObservedTrail[], ctx: PlanContext): Finding[] {
  const findings: Finding[] = [];
  const copies = trails.filter(
    (trail) => logsManagementEvents(trail) === 'yes' && (trail.isMultiRegion || trail.homeRegion === ctx.region),
  );
  if (copies.length >= 2) {
    const cost = duplicateTrailsCost(copies.length - 1, ctx.costs);
    findings.push(
      finding(
        'COST_DUPLICATE_TRAILS',
        'medium',
        copies.map((trail) => trail.arn).join(', '),
        `${copies.length} trails log the same management events in ${ctx.region}; every copy after the first is ` +
          `billed: ${cost.note}. Remove or narrow the extra trails (the collector never deletes a trail)`,
      ),
    );
  }
  for (const trail of trails) {
    if (trail.status.known && !trail.status.value.isLogging) continue;
    if (trail.selectors.known && trail.selectors.value.dataEvents) {
      findings.push(
        finding(
          'COST_DATA_EVENTS',
          'info',
          trail.arn,
          `the trail records data events: ${dataEventsCost(ctx.costs).note}`,
        ),
      );
    }
    if (trail.hasInsightSelectors) {
      findings.push(
        finding(
          'COST_INSIGHTS',
          'info',
          trail.arn,
          `the trail has CloudTrail Insights on: ${insightsCost(ctx.costs).note}`,
        ),
      );
    }
    if (trail.cloudWatchLogsLogGroupArn) {
      findings.push(
        finding(
          'COST_CLOUDWATCH_LOGS',
          'info',
          trail.arn,
          `the trail also sends events to ${trail.cloudWatchLogsLogGroupArn}: ${cloudWatchLogsCost(ctx.costs).note}`,
        ),
      );
    }
  }
  return findings;
}

// ---- which trail ------------------------------------------------------------------------------------------

/** The trail the chain is repaired around, once the plan is applied. */
export interface TrailTarget {
  arn: string;
  name: string;
  homeRegion: string;
  /** undefined while the trail does not exist yet (CREATE_TRAIL). */
  observed?: ObservedTrail;
}

export type TrailDecision = RuleOutput & {
  /** Repair the chain around this trail (undefined: no chain work in this account). */
  target?: TrailTarget;
  /** The trail is created by this plan. */
  creating: boolean;
};

/**
 * TRAIL_MISSING, REUSE_TRAIL, CREATE_TRAIL (cost guard: only on `create`), TRAIL_NOT_COLLECTABLE and
 * COLLECTED_BY_LOG_ARCHIVE. CREATE_TRAIL itself is drafted by `createTrailRule` once bucket and topic are known.
 */
export function trailRule(trails: ObservedTrail[], selection: TrailSelection, ctx: PlanContext): TrailDecision {
  const out: TrailDecision = { ...empty(), creating: false };
  const recordedArn = ctx.recorded.trailArn;
  const recordedTrail = trails.find((trail) => trail.arn === recordedArn);
  const recordedDeleted = recordedArn !== undefined && recordedTrail === undefined;
  if (recordedDeleted) {
    out.findings.push(
      finding('TRAIL_MISSING', 'high', recordedArn, 'the trail used for collection no longer exists (deleted)'),
    );
  }

  switch (selection.kind) {
    case 'undecided':
      out.findings.push(incomplete(ctx.accountId, 'whether a trail logs management events', selection.reason));
      return out;
    case 'external': {
      const archive = archiveCollecting(selection.trail, ctx.logArchives);
      out.findings.push(
        archive
          ? finding(
              'COLLECTED_BY_LOG_ARCHIVE',
              'info',
              selection.trail.arn,
              `management events are logged by ${selection.trail.arn} (owned by ${selection.trail.ownerAccountId}) ` +
                `into ${selection.trail.bucketName}, which log archive ${archive.accountId} collects`,
            )
          : finding(
              'TRAIL_NOT_COLLECTABLE',
              'high',
              selection.trail.arn,
              `management events are logged only by ${selection.trail.arn}, owned by account ` +
                `${selection.trail.ownerAccountId}, which this account cannot change; no trail is created (it would ` +
                `be a paid second copy). Register the account owning bucket ${selection.trail.bucketName ?? '?'} as ` +
                `log archive for ${ctx.accountId}`,
            ),
      );
      return out;
    }
    case 'create': {
      if (!recordedDeleted) {
        out.findings.push(
          finding(
            'TRAIL_MISSING',
            recordedArn === undefined ? 'medium' : 'high',
            ctx.accountId,
            recordedArn === undefined
              ? `no trail logs management events for account ${ctx.accountId}`
              : `no trail logs management events any more (the recorded trail ${recordedArn} does not)`,
          ),
        );
      }
      out.creating = true;
      out.target = {
        arn: buildTrailArn(ctx.region, ctx.accountId, CHAIN_NAMES.trail),
        name: CHAIN_NAMES.trail,
        homeRegion: ctx.region,
      };
      return out;
    }
    case 'existing': {
      const trail = selection.trail;
      out.target = { arn: trail.arn, name: trail.name, homeRegion: trail.homeRegion, observed: trail };
      if (!selection.recorded) {
        let reason: FindingCode = 'TRAIL_MISSING';
        if (recordedTrail !== undefined) {
          reason = 'TRAIL_NOT_LOGGING';
          out.findings.push(
            finding(
              'TRAIL_NOT_LOGGING',
              'high',
              recordedTrail.arn,
              `the recorded trail does not log management events; ${trail.arn} does and is reused instead ` +
                '(starting the recorded one would bill a second copy)',
            ),
          );
        } else if (!recordedDeleted) {
          out.findings.push(
            finding(
              'TRAIL_MISSING',
              'medium',
              trail.arn,
              'no trail is recorded for collection yet; this existing trail logs management events and is reused',
            ),
          );
        }
        out.actions.push({
          code: 'REUSE_TRAIL',
          params: { trailArn: trail.arn },
          resource: trail.arn,
          reason,
          part: 'trail',
          needs: [],
          provides: [],
        });
      }
      return out;
    }
  }
}

/** COLLECTED_BY_LOG_ARCHIVE for an own trail that delivers into a registered log archive's bucket. */
export function ownTrailArchiveRule(trail: ObservedTrail, ctx: PlanContext): Finding | undefined {
  const archive = archiveCollecting(trail, ctx.logArchives);
  if (!archive || archive.accountId === ctx.accountId) return undefined;
  return finding(
    'COLLECTED_BY_LOG_ARCHIVE',
    'info',
    trail.arn,
    `the trail delivers into ${trail.bucketName}, which log archive ${archive.accountId} collects; no chain is ` +
      'kept in this account',
  );
}

/**
 * TRAIL_NOT_LOGGING -> START_LOGGING, but only when starting is free: the selection guarantees no other trail
 * logs management events, and a trail with data events or Insights (or unreadable selectors) is not started.
 */
export function trailLoggingRule(
  trail: ObservedTrail,
  ctx: PlanContext,
  otherTrails: ObservedTrail[] = [],
): RuleOutput {
  const out = empty();
  if (!isOwnedBy(trail, ctx.accountId)) return out;
  if (!trail.status.known) {
    out.findings.push(incomplete(trail.arn, 'the trail status', trail.status.error));
    return out;
  }
  if (trail.status.value.isLogging) return out;
  const otherCopy = otherTrails.find((other) => logsManagementEvents(other) !== 'no');
  if (otherCopy !== undefined) {
    // Starting this trail while another may log management events could bill a second copy.
    out.findings.push(
      finding(
        'TRAIL_NOT_LOGGING',
        'high',
        trail.arn,
        `the trail is stopped; the collector does not start it while ${otherCopy.arn} may log management events ` +
          '(a second copy is billed)',
      ),
    );
    return out;
  }
  if (startingWouldAddCost(trail)) {
    out.findings.push(
      finding(
        'TRAIL_NOT_LOGGING',
        'high',
        trail.arn,
        'the trail is stopped; the collector does not start it because it records data events or Insights ' +
          '(or its event selectors could not be read), which would be billed',
      ),
    );
    return out;
  }
  out.findings.push(
    finding('TRAIL_NOT_LOGGING', 'high', trail.arn, 'the trail is stopped: no log files are delivered'),
  );
  out.actions.push(startLogging(trail.arn, trail.name, trail.homeRegion, 'TRAIL_NOT_LOGGING'));
  return out;
}

function startLogging(arn: string, name: string, region: string, reason: FindingCode): ActionDraft {
  return {
    code: 'START_LOGGING',
    params: { trailName: name, region },
    resource: arn,
    reason,
    part: 'trail',
    needs: [keys.trail(arn)],
    provides: [],
  };
}

/**
 * TRAIL_DELIVERY_ERROR / TRAIL_NOTIFICATION_ERROR from GetTrailStatus. A delivery error into a collector-named
 * bucket whose policy lacks the collector's statements is repaired (PUT_BUCKET_POLICY, merged); any other is
 * reported: the collector does not edit a customer's bucket policy. Notification errors are repaired through
 * the topic policy rule when the policy is the cause.
 */
export function trailErrorsRule(trail: ObservedTrail, observed: ObservedState, ctx: PlanContext): RuleOutput {
  const out = empty();
  if (!trail.status.known) return out;
  const { latestDeliveryError, latestNotificationError } = trail.status.value;
  if (latestDeliveryError) {
    const bucket = trail.bucketName;
    const probe = bucket === undefined ? undefined : observed.buckets[bucket];
    const ours = bucket !== undefined && isCollectorBucketName(ctx.accountId, bucket);
    const policy = probe?.known && probe.value.state === 'owned' ? probe.value.policy : undefined;
    const repairable =
      ours && policy?.known === true && !hasStatements(policy.value, bucketStatements(bucket, trail.arn, ctx));
    out.findings.push(
      finding(
        'TRAIL_DELIVERY_ERROR',
        'high',
        trail.arn,
        `CloudTrail reports "${latestDeliveryError}" delivering to ${bucket ?? 'its bucket'}` +
          (repairable ? '' : '; the collector does not change this bucket policy'),
      ),
    );
    if (repairable) out.actions.push(putBucketPolicy(bucket, trail.homeRegion, trail.arn, 'TRAIL_DELIVERY_ERROR'));
  }
  if (latestNotificationError) {
    out.findings.push(
      finding(
        'TRAIL_NOTIFICATION_ERROR',
        'high',
        trail.arn,
        `CloudTrail reports "${latestNotificationError}" publishing to ${trail.topicArn ?? 'its topic'}`,
      ),
    );
  }
  return out;
}

function bucketStatements(bucket: string, trailArn: string, ctx: PlanContext): PolicyStatement[] {
  return defaultBucketPolicy({ bucketName: bucket, accountId: ctx.accountId, trailArn }).Statement;
}

/** Does the policy text already hold every one of these statements (the collector's own, unchanged)? */
export function hasStatements(policyText: string | null, statements: PolicyStatement[]): boolean {
  if (!policyText) return false;
  try {
    const parsed = JSON.parse(policyText) as { Statement?: unknown };
    const present = (Array.isArray(parsed.Statement) ? parsed.Statement : [parsed.Statement]).map((s) =>
      JSON.stringify(s),
    );
    return statements.every((statement) => present.includes(JSON.stringify(statement)));
  } catch {
    return false;
  }
}

function putBucketPolicy(bucket: string, region: string, trailArn: string, reason: FindingCode): ActionDraft {
  return {
    code: 'PUT_BUCKET_POLICY',
    params: { bucketName: bucket, region, trailArn },
    resource: bucket,
    reason,
    part: 'bucket',
    needs: [keys.bucket(bucket)],
    provides: [keys.bucketPolicy(bucket)],
  };
}

/** Points the trail at one new bucket or topic; every other trail setting (selectors above all) stays. */
function updateTrailAction(
  trail: TrailTarget,
  setting: { bucketName: string } | { topicName: string },
  reason: FindingCode,
  part: 'bucket' | 'topic',
  needs: string[],
): ActionDraft {
  return {
    code: 'UPDATE_TRAIL',
    params: { trailName: trail.name, region: trail.homeRegion, ...setting },
    resource: trail.arn,
    reason,
    part,
    needs,
    provides: [keys.trail(trail.arn)],
  };
}

// ---- bucket -----------------------------------------------------------------------------------------------

export type BucketDecision = RuleOutput & {
  /** The bucket the trail delivers to once applied (undefined: unknown, nothing depends on it). */
  bucketName?: string;
  generatedBucketName?: string;
  bucketPolicySha256?: string;
};

/**
 * BUCKET_CHANGED (info: followed by recording it), BUCKET_POLICY_CHANGED (info: never validated),
 * BUCKET_MISSING -> CREATE_BUCKET + PUT_BUCKET_POLICY (+ UPDATE_TRAIL when the name differs), and
 * BUCKET_NAME_TAKEN -> the generated name. A trail bucket answering 403 whose owner is undetermined is not touched.
 */
export function bucketRule(
  trail: TrailTarget,
  creating: boolean,
  observed: ObservedState,
  ctx: PlanContext,
): BucketDecision {
  if (creating || trail.observed?.bucketName === undefined) {
    return bucketCreation(trail, creating ? 'TRAIL_MISSING' : 'BUCKET_MISSING', observed, ctx, !creating);
  }
  const current = trail.observed.bucketName;
  const probe = observed.buckets[current] ?? NOT_OBSERVED;
  if (!probe.known) return { ...empty(), findings: [incomplete(current, 'the trail bucket', probe.error)] };
  switch (probe.value.state) {
    case 'forbidden':
      return {
        ...empty(),
        findings: [
          incomplete(
            current,
            'the trail bucket',
            `HeadBucket with ExpectedBucketOwner ${ctx.accountId} was denied: another account owns it, or it denies the role`,
          ),
        ],
      };
    case 'foreign': {
      if (isCollectorBucketName(ctx.accountId, current)) {
        // The collector's own name now belongs to someone else (deleted, then claimed): the trail writes the
        // customer's logs into a stranger's bucket. Move it to the reserved generated name.
        return bucketCreation(trail, 'BUCKET_NAME_TAKEN', observed, ctx, true);
      }
      // A customer's central bucket in another account that is not a registered log archive (those are
      // handled before this rule): the collector cannot read it.
      return {
        ...empty(),
        findings: [
          finding(
            'TRAIL_NOT_COLLECTABLE',
            'high',
            current,
            `the trail delivers into ${current}, owned by another account that is not registered as log archive ` +
              `for ${ctx.accountId}; register that account with --log-archive-for ${ctx.accountId}`,
          ),
        ],
      };
    }
    case 'absent': {
      const missing = finding('BUCKET_MISSING', 'high', current, 'the trail bucket no longer exists (deleted)');
      const created = bucketCreation(trail, 'BUCKET_MISSING', observed, ctx, true);
      return { ...created, findings: [missing, ...created.findings] };
    }
    case 'owned': {
      const out: BucketDecision = { ...empty(), bucketName: current };
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
        out.bucketPolicySha256 = sha256(policy.value ?? '');
        const recordedSha = ctx.recorded.bucketPolicySha256;
        // 'pending': the last run changed this bucket or its policy itself; there is nothing to compare with yet.
        const comparable = recordedSha !== undefined && recordedSha !== 'pending';
        if (ctx.recorded.bucketName === current && comparable && recordedSha !== out.bucketPolicySha256) {
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
      if (ctx.recorded.generatedBucketName !== undefined) out.generatedBucketName = ctx.recorded.generatedBucketName;
      return out;
    }
  }
}

function bucketCreation(
  trail: TrailTarget,
  reason: FindingCode,
  observed: ObservedState,
  ctx: PlanContext,
  updateTrail: boolean,
): BucketDecision {
  const out: BucketDecision = empty();
  const candidates = bucketCreationCandidates(ctx.accountId, ctx.recorded.generatedBucketName, ctx.freshBucketName);
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
    return out;
  }
  if (probe.value.state === 'forbidden' || probe.value.state === 'foreign') {
    out.findings.push(
      incomplete(name, 'the bucket', `HeadBucket with ExpectedBucketOwner ${ctx.accountId} was denied for ${name}`),
    );
    return out;
  }
  if (probe.value.state === 'absent') {
    out.actions.push({
      code: 'CREATE_BUCKET',
      params: { bucketName: name, region: ctx.region },
      resource: name,
      reason: actionReason,
      part: 'bucket',
      needs: [],
      provides: [keys.bucket(name)],
      ...(ctx.recorded.bucketName === name ? { recreationKey: keys.bucket(name) } : {}),
    });
  }
  // Only a collector-named bucket gets the default policy (merged): one the collector created or reserved.
  // An existing one that already holds the statements for this trail needs nothing.
  const policy = probe.value.state === 'owned' ? probe.value.policy : undefined;
  const complete = policy?.known === true && hasStatements(policy.value, bucketStatements(name, trail.arn, ctx));
  if (!complete) out.actions.push(putBucketPolicy(name, ctx.region, trail.arn, actionReason));
  if (updateTrail && trail.observed?.bucketName !== name) {
    out.actions.push(
      updateTrailAction(trail, { bucketName: name }, reason, 'bucket', [keys.bucket(name), keys.bucketPolicy(name)]),
    );
  }
  out.bucketName = name;
  if (name !== defaultBucketName(ctx.accountId)) out.generatedBucketName = name;
  return out;
}

// ---- topic ------------------------------------------------------------------------------------------------

export type TopicDecision = RuleOutput & {
  /** The topic the trail notifies once applied (undefined: unknown). */
  topicArn?: string;
  /** Why the queue must (re)subscribe to this topic, when the topic is new to the chain. */
  topicReason?: FindingCode;
  created: boolean;
};

/**
 * TRAIL_NO_TOPIC / TOPIC_MISSING -> `outcomestopic` in the trail's home region (created if absent) and the
 * trail pointed at it; TOPIC_CHANGED -> follow the new topic; then the topic policy rule.
 */
export function topicRule(
  trail: TrailTarget,
  creating: boolean,
  observed: ObservedState,
  ctx: PlanContext,
): TopicDecision {
  const current = creating ? undefined : trail.observed?.topicArn;
  if (creating) return useDefaultTopic(trail, 'TRAIL_MISSING', false, observed, ctx);
  if (current === undefined) {
    const decision = useDefaultTopic(trail, 'TRAIL_NO_TOPIC', true, observed, ctx);
    decision.findings.unshift(
      finding('TRAIL_NO_TOPIC', 'high', trail.arn, 'the trail has no SNS topic: delivered log files are not announced'),
    );
    return decision;
  }
  const probe = observed.topics[current] ?? NOT_OBSERVED;
  if (!probe.known)
    return { ...empty(), created: false, findings: [incomplete(current, 'the trail topic', probe.error)] };
  if (probe.value === null) {
    const missing = finding('TOPIC_MISSING', 'high', current, 'the trail topic no longer exists (deleted)');
    const defaultArn = defaultTopicArn(trail, ctx);
    const decision = useDefaultTopic(trail, 'TOPIC_MISSING', current !== defaultArn, observed, ctx);
    decision.findings.unshift(missing);
    return decision;
  }
  const out: TopicDecision = { ...empty(), created: false, topicArn: current };
  if (ctx.recorded.topicArn !== undefined && ctx.recorded.topicArn !== current) {
    out.findings.push(
      finding(
        'TOPIC_CHANGED',
        'medium',
        current,
        `the trail now notifies ${current} instead of ${ctx.recorded.topicArn}; the queue follows the new topic`,
      ),
    );
    out.topicReason = 'TOPIC_CHANGED';
  }
  const policy = topicPolicyRule(probe.value, trail.arn, ctx);
  out.findings.push(...policy.findings);
  out.actions.push(...policy.actions);
  return out;
}

function defaultTopicArn(trail: TrailTarget, ctx: PlanContext): string {
  // CloudTrail only publishes to a topic in the trail's home region.
  return buildTopicArn(trail.homeRegion, ctx.accountId, CHAIN_NAMES.topic);
}

function useDefaultTopic(
  trail: TrailTarget,
  reason: FindingCode,
  updateTrail: boolean,
  observed: ObservedState,
  ctx: PlanContext,
): TopicDecision {
  const arn = defaultTopicArn(trail, ctx);
  const out: TopicDecision = { ...empty(), created: false };
  const probe = observed.topics[arn] ?? NOT_OBSERVED;
  if (!probe.known) {
    out.findings.push(incomplete(arn, 'the collector topic', probe.error));
    return out;
  }
  if (probe.value === null) {
    out.created = true;
    out.actions.push(
      {
        code: 'CREATE_TOPIC',
        params: { topicName: CHAIN_NAMES.topic, region: trail.homeRegion },
        resource: arn,
        reason,
        part: 'topic',
        needs: [],
        provides: [keys.topic(arn)],
        ...(ctx.recorded.topicArn === arn ? { recreationKey: keys.topic(arn) } : {}),
      },
      putTopicPolicy(arn, trail.arn, reason),
    );
  } else {
    const policy = topicPolicyRule(probe.value, trail.arn, ctx);
    out.findings.push(...policy.findings);
    out.actions.push(...policy.actions);
  }
  if (updateTrail) {
    out.actions.push(
      updateTrailAction(trail, { topicName: CHAIN_NAMES.topic }, reason, 'topic', [
        keys.topic(arn),
        keys.topicPolicy(arn),
      ]),
    );
  }
  out.topicArn = arn;
  out.topicReason = reason;
  return out;
}

function putTopicPolicy(arn: string, trailArn: string, reason: FindingCode): ActionDraft {
  return {
    code: 'PUT_TOPIC_POLICY',
    params: { topicArn: arn, trailArn },
    resource: arn,
    reason,
    part: 'topic',
    needs: [keys.topic(arn)],
    provides: [keys.topicPolicy(arn)],
  };
}

/** TOPIC_POLICY_INVALID -> PUT_TOPIC_POLICY (merged); an explicit Deny of the customer's -> POLICY_DENY_CONFLICT. */
export function topicPolicyRule(topic: ObservedTopic, trailArn: string, ctx: PlanContext): RuleOutput {
  const out = empty();
  // A topic of another account is not the collector's to repair (and the role could not).
  if (arnParts(topic.arn).accountId !== ctx.accountId) return out;
  const verdict = checkTopicPolicy(topic.policy, { topicArn: topic.arn, trailArn, accountId: ctx.accountId });
  if (verdict.allowed) return out;
  if (verdict.explicitDeny) {
    out.findings.push(
      finding(
        'POLICY_DENY_CONFLICT',
        'high',
        topic.arn,
        `the topic policy explicitly denies CloudTrail publishing for ${trailArn}: ${verdict.reasons.join('; ')}. ` +
          'The collector does not remove a customer Deny',
      ),
    );
    return out;
  }
  out.findings.push(
    finding(
      'TOPIC_POLICY_INVALID',
      'high',
      topic.arn,
      `CloudTrail cannot publish to the topic for ${trailArn}: ${verdict.reasons.join('; ')}`,
    ),
  );
  out.actions.push(putTopicPolicy(topic.arn, trailArn, 'TOPIC_POLICY_INVALID'));
  return out;
}

// ---- queue ------------------------------------------------------------------------------------------------

export type QueueDecision = RuleOutput & { queueArn?: string; created: boolean };

/**
 * QUEUE_MISSING -> CREATE_QUEUE (DLQ first) + PUT_QUEUE_POLICY; QUEUE_POLICY_INVALID -> PUT_QUEUE_POLICY (merged);
 * an explicit Deny of the customer's -> POLICY_DENY_CONFLICT. The policy is only judged against a known topic.
 */
export function queueRule(topicArn: string | undefined, observed: ObservedState, ctx: PlanContext): QueueDecision {
  const arn = buildQueueArn(ctx.region, ctx.accountId, CHAIN_NAMES.queue);
  const dlqArn = buildQueueArn(ctx.region, ctx.accountId, CHAIN_NAMES.dlq);
  const out: QueueDecision = { ...empty(), created: false };
  const deadLetters = observed.queues[CHAIN_NAMES.dlq];
  if (deadLetters?.known && deadLetters.value?.messages) {
    // Reported, never purged: each message names log files whose records did not all reach the downstream.
    out.findings.push(
      finding(
        'DLQ_NOT_EMPTY',
        'medium',
        dlqArn,
        `${deadLetters.value.messages} message(s) in ${CHAIN_NAMES.dlq}: their log files were not fully delivered; ` +
          'fix the cause (see the ingest logs), then redrive them to the queue',
      ),
    );
  }
  const probe = observed.queues[CHAIN_NAMES.queue] ?? NOT_OBSERVED;
  if (!probe.known) {
    out.findings.push(incomplete(arn, 'the queue', probe.error));
    return out;
  }
  if (probe.value === null) {
    const wasRecorded = ctx.recorded.queueArn !== undefined;
    out.findings.push(
      finding(
        'QUEUE_MISSING',
        'high',
        arn,
        wasRecorded ? 'the queue no longer exists (deleted)' : 'the queue does not exist yet',
      ),
    );
    const dlq = observed.queues[CHAIN_NAMES.dlq] ?? NOT_OBSERVED;
    if (!dlq.known) {
      out.findings.push(incomplete(dlqArn, 'the dead-letter queue', dlq.error));
      return out;
    }
    if (dlq.value === null) {
      out.actions.push({
        code: 'CREATE_QUEUE',
        params: { queueName: CHAIN_NAMES.dlq, region: ctx.region },
        resource: dlqArn,
        reason: 'QUEUE_MISSING',
        part: 'queue',
        needs: [],
        provides: [keys.queue(dlqArn)],
      });
    }
    out.actions.push({
      code: 'CREATE_QUEUE',
      params: { queueName: CHAIN_NAMES.queue, region: ctx.region, deadLetterQueueArn: dlqArn },
      resource: arn,
      reason: 'QUEUE_MISSING',
      part: 'queue',
      needs: [keys.queue(dlqArn)],
      provides: [keys.queue(arn)],
      ...(ctx.recorded.queueArn === arn ? { recreationKey: keys.queue(arn) } : {}),
    });
    if (topicArn !== undefined) out.actions.push(putQueuePolicy(arn, topicArn, 'QUEUE_MISSING'));
    out.created = true;
    out.queueArn = arn;
    return out;
  }
  out.queueArn = probe.value.arn;
  if (topicArn === undefined) return out;
  const verdict = checkQueuePolicy(probe.value.policy, {
    queueArn: probe.value.arn,
    topicArn,
    accountId: ctx.accountId,
    ...(ctx.ingestRoleArn ? { ingestRoleArn: ctx.ingestRoleArn } : {}),
  });
  const verdicts = [verdict.topicSend, ...(verdict.ingestReceive ? [verdict.ingestReceive] : [])];
  if (verdicts.every((v) => v.allowed)) return out;
  const reasons = verdicts.flatMap((v) => v.reasons).join('; ');
  if (verdicts.some((v) => v.explicitDeny)) {
    out.findings.push(
      finding(
        'POLICY_DENY_CONFLICT',
        'high',
        probe.value.arn,
        `the queue policy explicitly denies the delivery chain: ${reasons}. The collector does not remove a customer Deny`,
      ),
    );
    return out;
  }
  out.findings.push(
    finding(
      'QUEUE_POLICY_INVALID',
      'high',
      probe.value.arn,
      `the queue policy does not let the chain work: ${reasons}`,
    ),
  );
  out.actions.push(putQueuePolicy(probe.value.arn, topicArn, 'QUEUE_POLICY_INVALID'));
  return out;
}

function putQueuePolicy(arn: string, topicArn: string, reason: FindingCode): ActionDraft {
  return {
    code: 'PUT_QUEUE_POLICY',
    params: { queueName: arnParts(arn).name, queueArn: arn, topicArn },
    resource: arn,
    reason,
    part: 'queue',
    needs: [keys.queue(arn), keys.topic(topicArn)],
    provides: [keys.queuePolicy(arn)],
  };
}

// ---- subscription -----------------------------------------------------------------------------------------

/**
 * SUBSCRIPTION_MISSING (detected with ListSubscriptionsByTopic) -> SUBSCRIBE; SUBSCRIPTION_PENDING -> SUBSCRIBE
 * again (same-account SQS subscriptions confirm at once); SUBSCRIPTION_FILTERED is reported: a filter policy can
 * drop CloudTrail's notifications, and only the customer knows why it is there.
 */
export function subscriptionRule(
  topic: TopicDecision,
  queue: QueueDecision,
  observed: ObservedState,
  _ctx: PlanContext,
): RuleOutput {
  const out = empty();
  const topicArn = topic.topicArn;
  const queueArn = queue.queueArn;
  if (topicArn === undefined || queueArn === undefined) return out;
  const subscribe = (reason: FindingCode): ActionDraft => ({
    code: 'SUBSCRIBE',
    params: { topicArn, queueArn },
    resource: topicArn,
    reason,
    part: 'topic',
    needs: [keys.topic(topicArn), keys.queue(queueArn), keys.queuePolicy(queueArn)],
    provides: [keys.subscription(topicArn, queueArn)],
  });
  if (topic.created) {
    out.actions.push(subscribe(topic.topicReason ?? 'TOPIC_MISSING'));
    return out;
  }
  const probe = observed.topics[topicArn] ?? NOT_OBSERVED;
  if (!probe.known || probe.value === null) return out; // the topic rule already reported it
  const subscriptions = probe.value.subscriptions;
  if (!subscriptions.known) {
    out.findings.push(incomplete(topicArn, 'the topic subscriptions', subscriptions.error));
    return out;
  }
  const mine = subscriptions.value.filter((s) => s.protocol === 'sqs' && s.endpoint === queueArn);
  const confirmed = mine.find((s) => !s.pending);
  if (confirmed === undefined) {
    if (mine.length > 0) {
      out.findings.push(
        finding('SUBSCRIPTION_PENDING', 'medium', topicArn, `the subscription of ${queueArn} is not confirmed`),
      );
      out.actions.push(subscribe('SUBSCRIPTION_PENDING'));
    } else if (topic.topicReason !== undefined) {
      out.actions.push(subscribe(topic.topicReason));
    } else if (queue.created) {
      out.actions.push(subscribe('QUEUE_MISSING'));
    } else {
      out.findings.push(
        finding('SUBSCRIPTION_MISSING', 'high', topicArn, `${queueArn} is not subscribed to the topic`),
      );
      out.actions.push(subscribe('SUBSCRIPTION_MISSING'));
    }
    return out;
  }
  const filter = confirmed.filterPolicy;
  if (filter === undefined) return out;
  if (!filter.known) {
    out.findings.push(incomplete(confirmed.arn, 'the subscription filter policy', filter.error));
  } else if (filter.value !== null && filter.value.trim() !== '' && filter.value.trim() !== '{}') {
    out.findings.push(
      finding(
        'SUBSCRIPTION_FILTERED',
        'medium',
        confirmed.arn,
        `the subscription has a filter policy (${filter.value}); CloudTrail notifications carry no message ` +
          'attributes, so it can drop them. The collector does not remove it',
      ),
    );
  }
  return out;
}

// ---- event source mapping ---------------------------------------------------------------------------------

export type EsmDecision = RuleOutput & { uuid?: string };

/** ESM_MISSING -> CREATE_ESM; ESM_DISABLED -> ENABLE_ESM. Only when an ingest function is configured. */
export function eventSourceMappingRule(queue: QueueDecision, observed: ObservedState, ctx: PlanContext): EsmDecision {
  const out: EsmDecision = empty();
  const functionArn = ctx.ingestFunctionArn;
  const queueArn = queue.queueArn;
  if (functionArn === undefined || queueArn === undefined) return out;
  const probe = observed.eventSourceMappings ?? NOT_OBSERVED;
  if (!probe.known) {
    out.findings.push(incomplete(queueArn, 'the event source mappings', probe.error));
    return out;
  }
  const wanted = unqualifiedFunctionArn(functionArn);
  const mapping = probe.value.find((m) => unqualifiedFunctionArn(m.functionArn) === wanted);
  if (mapping === undefined) {
    out.findings.push(
      finding('ESM_MISSING', 'high', queueArn, `no event source mapping from the queue to ${functionArn}`),
    );
    out.actions.push({
      code: 'CREATE_ESM',
      params: { queueArn, functionArn },
      resource: queueArn,
      reason: 'ESM_MISSING',
      part: 'esm',
      needs: [keys.queue(queueArn), keys.queuePolicy(queueArn)],
      provides: [keys.esm(queueArn)],
      ...(ctx.recorded.eventSourceMappingUuid !== undefined ? { recreationKey: keys.esm(queueArn) } : {}),
    });
    return out;
  }
  out.uuid = mapping.uuid;
  if (mapping.state === 'Disabled' || mapping.state === 'Disabling') {
    out.findings.push(
      finding('ESM_DISABLED', 'high', queueArn, `the event source mapping ${mapping.uuid} is ${mapping.state}`),
    );
    out.actions.push({
      code: 'ENABLE_ESM',
      params: { uuid: mapping.uuid },
      resource: queueArn,
      reason: 'ESM_DISABLED',
      part: 'esm',
      needs: [keys.queue(queueArn), keys.queuePolicy(queueArn)],
      provides: [keys.esm(queueArn)],
    });
  }
  return out;
}

// ---- creating the trail -----------------------------------------------------------------------------------

/** CREATE_TRAIL `outcomes-trail` + START_LOGGING, only once its bucket and topic are known. */
export function createTrailRule(
  trail: TrailTarget,
  bucket: BucketDecision,
  topic: TopicDecision,
  ctx: PlanContext,
): RuleOutput {
  const out = empty();
  if (bucket.bucketName === undefined || topic.topicArn === undefined) {
    out.findings.push(
      finding(
        'OBSERVE_INCOMPLETE',
        'medium',
        trail.arn,
        `${CHAIN_NAMES.trail} is not created while its bucket or topic is unknown`,
      ),
    );
    return out;
  }
  out.actions.push(
    {
      code: 'CREATE_TRAIL',
      params: {
        trailName: trail.name,
        region: trail.homeRegion,
        bucketName: bucket.bucketName,
        topicName: CHAIN_NAMES.topic,
      },
      resource: trail.arn,
      reason: 'TRAIL_MISSING',
      part: 'trail',
      needs: [
        keys.bucket(bucket.bucketName),
        keys.bucketPolicy(bucket.bucketName),
        keys.topic(topic.topicArn),
        keys.topicPolicy(topic.topicArn),
      ],
      provides: [keys.trail(trail.arn)],
      ...(ctx.recorded.trailArn === trail.arn ? { recreationKey: keys.trail(trail.arn) } : {}),
    },
    startLogging(trail.arn, trail.name, trail.homeRegion, 'TRAIL_MISSING'),
  );
  return out;
}

// ---- collection freshness ---------------------------------------------------------------------------------

/**
 * COLLECTION_STALE when no record from the account reached the downstream for longer than the limit (counted
 * from registration when none ever did). CloudTrail delivers every few minutes while anything happens in an
 * account, so hours of silence mean the chain or the ingest is broken somewhere the observe step cannot see.
 */
export function stalenessRule(
  record: { accountId: string; registeredAt: string; lastRecordAt?: string },
  now: Date,
  staleAfterMinutes: number | undefined,
): Finding | undefined {
  if (staleAfterMinutes === undefined) return undefined;
  const since = record.lastRecordAt ?? record.registeredAt;
  const silentMinutes = (now.getTime() - Date.parse(since)) / 60_000;
  if (!(silentMinutes > staleAfterMinutes)) return undefined;
  const what = record.lastRecordAt
    ? `the last record arrived at ${record.lastRecordAt}`
    : `no record has arrived since registration (${record.registeredAt})`;
  return finding(
    'COLLECTION_STALE',
    'medium',
    record.accountId,
    `${what}: more than ${staleAfterMinutes} minutes without data from this account`,
  );
}
