/**
 * The trail rules: which trail the chain is kept around (reuse before create: the cost guard), what it covers,
 * whether it logs, what CloudTrail reports delivering with it, and creating `outcomes-trail` once its bucket and
 * topic are known. Organization trails and log archives: organization.ts.
 */
import { trailArn as buildTrailArn } from '../../shared/arn';
import { isCollectorBucketName } from '../names';
import { CHAIN_NAMES } from '../names';
import { coverageGaps, trailCoverage, type TrailCoverage } from '../coverage';
import { missingCoverageCost } from '../costs';
import { isOwnedBy, logsManagementEvents, presumedLogging, startingWouldAddCost } from '../trail-selection';
import type { FindingCode, ObservedTrail } from '../types';
import { bucketStatements, putBucketPolicy } from './bucket';
import {
  draft,
  finding,
  hasStatements,
  incomplete,
  keys,
  none,
  type ActionDraft,
  type Rule,
  type RuleOutput,
  type TrailTarget,
} from './kit';

/**
 * TRAIL_MISSING, REUSE_TRAIL, CREATE_TRAIL (cost guard: only on `create`), TRAIL_NOT_COLLECTABLE and
 * COLLECTED_BY_LOG_ARCHIVE. CREATE_TRAIL itself is drafted by `createTrailRule` once bucket and topic are known.
 * Decides `trail`; without a trail to repair around, no chain rule after it runs.
 */
export const trailRule: Rule = {
  name: 'trail',
  part: 'trail',
  phase: 'chain',
  codes: [
    'TRAIL_MISSING',
    'TRAIL_NOT_LOGGING',
    'TRAIL_NOT_COLLECTABLE',
    'COLLECTED_BY_LOG_ARCHIVE',
    'OBSERVE_INCOMPLETE',
  ],
  description: 'which trail is collected: the recorded one, else one that logs management events, else a new one',
  check({ trails, ctx, probes }) {
    const out = none();
    const selection = probes.selection;
    const recordedArn = ctx.recorded.trailArn;
    const recordedTrail = trails.find((trail) => trail.arn === recordedArn);
    const recordedDeleted = recordedArn !== undefined && recordedTrail === undefined;
    if (recordedDeleted) {
      out.findings.push(
        finding('TRAIL_MISSING', 'high', recordedArn, 'the trail used for collection no longer exists (deleted)'),
      );
    }
    const stop = (): RuleOutput => ({ ...out, stop: 'chain' });

    switch (selection.kind) {
      case 'undecided':
        out.findings.push(incomplete(ctx.accountId, 'whether a trail logs management events', selection.reason));
        return stop();
      case 'external': {
        const archive = probes.archive;
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
                  `${selection.trail.ownerAccountId}, which this account cannot change` +
                  (selection.presumed
                    ? ' (an organization trail: its logging cannot be read from this account and is presumed on)'
                    : '') +
                  `; no trail is created (it would be a paid second copy). Register the account owning bucket ` +
                  `${selection.trail.bucketName ?? '?'} as log archive for ${ctx.accountId}`,
              ),
        );
        return stop();
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
        const target: TrailTarget = {
          arn: buildTrailArn(ctx.region, ctx.accountId, CHAIN_NAMES.trail),
          name: CHAIN_NAMES.trail,
          homeRegion: ctx.region,
        };
        return { ...out, decided: { trail: { target, creating: true } } };
      }
      case 'existing': {
        const trail = selection.trail;
        const target: TrailTarget = { arn: trail.arn, name: trail.name, homeRegion: trail.homeRegion, observed: trail };
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
          out.actions.push(
            draft('REUSE_TRAIL', { trailArn: trail.arn }, { resource: trail.arn, reason, part: 'trail' }),
          );
        }
        return { ...out, decided: { trail: { target, creating: false } } };
      }
    }
  },
};

/**
 * TRAIL_PARTIAL_COVERAGE: the collected trail does not log every management event of the account (read or
 * write events, excluded event sources, global service events, other regions; coverage.ts). Report only: the
 * collector never adds a complementary trail. CreateTrail takes no event selectors, so a new trail would log
 * every management event again (a paid second copy of what this trail logs); narrowing it to the missing part
 * needs PutEventSelectors, which the customer role denies (lib/permissions.ts: the collector never changes
 * event selectors, so it can never turn on data events). The finding names each missing part, whether another
 * trail logs it, and what adding it costs (a first copy is free).
 */
export const trailCoverageRule: Rule = {
  name: 'trail-coverage',
  part: 'trail',
  phase: 'chain',
  codes: ['TRAIL_PARTIAL_COVERAGE', 'OBSERVE_INCOMPLETE'],
  description: 'the collected trail does not log every management event of the account (read/write, sources, regions)',
  check({ trails, ctx, decided }) {
    const trail = decided.trail?.target.observed;
    // A trail the collector creates (outcomes-trail: multi-region, default selectors) logs every one.
    if (trail === undefined) return none();
    const coverage = trailCoverage(trail);
    if (coverage === undefined) {
      if (trail.selectors.known) return none();
      return {
        findings: [incomplete(trail.arn, 'which management events the trail logs', trail.selectors.error)],
        actions: [],
      };
    }
    const others = trails
      .filter(
        (other) =>
          other.arn !== trail.arn && (logsManagementEvents(other) === 'yes' || presumedLogging(other, ctx.accountId)),
      )
      .map(trailCoverage)
      .filter((other): other is TrailCoverage => other !== undefined);
    const gaps = coverageGaps(coverage, others);
    if (gaps.length === 0) return none();
    const parts = gaps.map((gap) => {
      const cost = missingCoverageCost(gap.loggedBy.length > 0, ctx.costs);
      const where =
        gap.loggedBy.length > 0
          ? `logged by ${gap.loggedBy.join(', ')}, which the collector does not collect`
          : 'logged by no trail';
      return `${gap.description} (${where}; logging it on this trail: ${cost.note})`;
    });
    return {
      findings: [
        finding(
          'TRAIL_PARTIAL_COVERAGE',
          'medium',
          trail.arn,
          `the collected trail does not log: ${parts.join('; ')}. The collector adds no trail for the missing part ` +
            '(CreateTrail takes no event selectors, so a new trail would bill a second copy of what this one logs, ' +
            'and the collector never changes event selectors): set this trail to log read and write management ' +
            'events of every source in every region (multi-region), or tell the operator that the rest is not collected',
        ),
      ],
      actions: [],
    };
  },
};

/**
 * TRAIL_NOT_LOGGING -> START_LOGGING, but only when starting is free: the selection guarantees no other trail
 * logs management events, and a trail with data events or Insights (or unreadable selectors) is not started.
 */
export const trailLoggingRule: Rule = {
  name: 'trail-logging',
  part: 'trail',
  phase: 'chain',
  codes: ['TRAIL_NOT_LOGGING', 'OBSERVE_INCOMPLETE'],
  description: 'the collected trail is stopped: started only when that bills nothing',
  check({ trails, ctx, decided }) {
    const out = none();
    const trail = decided.trail?.target.observed;
    if (trail === undefined || !isOwnedBy(trail, ctx.accountId)) return out;
    if (!trail.status.known) {
      out.findings.push(incomplete(trail.arn, 'the trail status', trail.status.error));
      return out;
    }
    if (trail.status.value.isLogging) return out;
    if (trail.isOrganization) {
      // Starting an organization trail starts logging for every member account: a paid second copy wherever a
      // member has its own trail, and not this account's decision alone.
      out.findings.push(
        finding(
          'TRAIL_NOT_LOGGING',
          'high',
          trail.arn,
          'the organization trail is stopped; the collector does not start an organization trail (it logs every ' +
            'member account: a paid second copy wherever a member has its own trail)',
        ),
      );
      return out;
    }
    const otherCopy = trails.find((other) => other.arn !== trail.arn && logsManagementEvents(other) !== 'no');
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
  },
};

function startLogging(arn: string, name: string, region: string, reason: FindingCode): ActionDraft {
  return draft(
    'START_LOGGING',
    { trailName: name, region },
    { resource: arn, reason, part: 'trail', needs: [keys.trail(arn)] },
  );
}

/**
 * TRAIL_DELIVERY_ERROR / TRAIL_NOTIFICATION_ERROR from GetTrailStatus. A delivery error into a collector-named
 * bucket whose policy lacks the collector's statements is repaired (PUT_BUCKET_POLICY, merged); any other is
 * reported: the collector does not edit a customer's bucket policy. Notification errors are repaired through
 * the topic policy rule when the policy is the cause.
 */
export const trailErrorsRule: Rule = {
  name: 'trail-errors',
  part: 'trail',
  phase: 'chain',
  codes: ['TRAIL_DELIVERY_ERROR', 'TRAIL_NOTIFICATION_ERROR'],
  description: 'CloudTrail reports failing to deliver log files or to publish notifications',
  check({ observed, ctx, decided }) {
    const out = none();
    const trail: ObservedTrail | undefined = decided.trail?.target.observed;
    if (trail === undefined || !trail.status.known) return out;
    const { latestDeliveryError, latestNotificationError } = trail.status.value;
    if (latestDeliveryError) {
      const bucket = trail.bucketName;
      const probe = bucket === undefined ? undefined : observed.buckets[bucket];
      const ours = bucket !== undefined && isCollectorBucketName(ctx.accountId, bucket);
      const policy = probe?.known && probe.value.state === 'owned' ? probe.value.policy : undefined;
      // An organization trail's bucket policy must allow AWSLogs/o-<org id>/*: never replaced by the default.
      const repairable =
        !trail.isOrganization &&
        ours &&
        policy?.known === true &&
        !hasStatements(policy.value, bucketStatements(bucket, trail.arn, ctx, trail.s3KeyPrefix));
      out.findings.push(
        finding(
          'TRAIL_DELIVERY_ERROR',
          'high',
          trail.arn,
          `CloudTrail reports "${latestDeliveryError}" delivering to ${bucket ?? 'its bucket'}` +
            (repairable ? '' : '; the collector does not change this bucket policy') +
            (trail.isOrganization
              ? ' (an organization trail: the policy must allow PutObject on AWSLogs/o-<organization id>/*)'
              : ''),
        ),
      );
      if (repairable) {
        out.actions.push(
          putBucketPolicy(bucket, trail.homeRegion, trail.arn, 'TRAIL_DELIVERY_ERROR', trail.s3KeyPrefix),
        );
      }
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
  },
};

/** CREATE_TRAIL `outcomes-trail` + START_LOGGING, only once its bucket and topic are known. */
export const createTrailRule: Rule = {
  name: 'create-trail',
  part: 'trail',
  phase: 'chain',
  codes: ['OBSERVE_INCOMPLETE'],
  description: 'creates outcomes-trail (when selected) once its bucket and topic are known',
  check({ ctx, decided }) {
    const out = none();
    if (decided.trail?.creating !== true) return out;
    const trail = decided.trail.target;
    const bucketName = decided.bucket?.bucketName;
    const topicArn = decided.topic?.topicArn;
    if (bucketName === undefined || topicArn === undefined) {
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
      draft(
        'CREATE_TRAIL',
        { trailName: trail.name, region: trail.homeRegion, bucketName, topicName: CHAIN_NAMES.topic },
        {
          resource: trail.arn,
          reason: 'TRAIL_MISSING',
          part: 'trail',
          needs: [
            keys.bucket(bucketName),
            keys.bucketPolicy(bucketName),
            keys.topic(topicArn),
            keys.topicPolicy(topicArn),
          ],
          provides: [keys.trail(trail.arn)],
          recreates: ctx.recorded.trailArn === trail.arn,
        },
      ),
      startLogging(trail.arn, trail.name, trail.homeRegion, 'TRAIL_MISSING'),
    );
    return out;
  },
};
