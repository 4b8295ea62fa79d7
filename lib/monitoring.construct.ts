import { Duration } from 'aws-cdk-lib';
import {
  Alarm,
  AlarmRule,
  AlarmStatusWidget,
  ComparisonOperator,
  CompositeAlarm,
  Dashboard,
  GraphWidget,
  MathExpression,
  Metric,
  TextWidget,
  TreatMissingData,
  type IMetric,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import type { HubShard } from './hub-queues.construct';
import { hubQueueName } from '../lambdas/shared/topology';
import { METRICS } from './names';

/**
 * A hub queue whose oldest message is older than this is falling behind: normally a message waits seconds (the
 * batching window and one invocation). 30 minutes means the shard is saturated (a hot tenant, too little
 * maximumConcurrency) or its messages are being retried (downstream failing).
 */
export const HUB_MESSAGE_AGE_ALARM_SECONDS = 30 * 60;

/**
 * How long some container's downstream circuit must stay open before the operator hears of it: the breaker needs
 * 30 s of failures to open and reopens for at most 5 minutes between probes, so 15 minutes is an outage, not a blip.
 */
export const DOWNSTREAM_UNAVAILABLE_ALARM_MINUTES = 15;

export interface MonitoringProps {
  ingest: IFunction;
  /** The sweep (the scheduled reconcile function). */
  reconcile: IFunction;
  reconcileFailureQueue: IQueue;
  /** The reconcile worker and its job queue's DLQ (lib/reconcile-jobs.construct.ts). */
  reconcileWorker: IFunction;
  reconcileJobDeadLetterQueue: IQueue;
  alarmTopic: ITopic;
  /** The hub queues and their DLQs (hub topology; empty otherwise). */
  hubShards: readonly HubShard[];
  /** The reconcile schedule's period, when it is a rate; cron schedules use an hour. */
  reconcilePeriod: Duration;
  /** The backfill queue's DLQ (hub topology: lib/backfill-queue.construct.ts). */
  backfillDeadLetterQueue?: IQueue;
}

/**
 * The alarms and the dashboard. Metrics come from three places: Lambda's own (Errors, Throttles, Invocations),
 * the functions' EMF metrics (namespace CloudTrailCollector, dimension `service` = ingest | reconcile, written by
 * Powertools Metrics), and the reconcile failure queue. The customer queues and their DLQs live in the customer
 * accounts, where the collector account cannot alarm on them: the reconcile run reads each account's
 * outcomesqueue-dlq depth and its last ingested record, and emits `DeadLetterMessages` and `AccountsStale`; with
 * the ledger, the fleet's collection lag (`AccountsLagging`, `CollectionLagMaxMinutes`, `CollectionLagP99Minutes`).
 */
export class Monitoring extends Construct {
  /** The alarms that notify the alarm topic (the per-shard hub alarms notify through their composite alarms). */
  readonly alarms: (Alarm | CompositeAlarm)[] = [];
  /** One DLQ-depth and one message-age alarm per hub shard, without actions of their own. */
  readonly hubAlarms: Alarm[] = [];
  readonly dashboard: Dashboard;

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    const period = props.reconcilePeriod;
    const reconcileMetric = (metricName: string, statistic = 'Maximum') =>
      new Metric({
        namespace: METRICS.namespace,
        metricName,
        dimensionsMap: { service: METRICS.reconcileService },
        statistic,
        period,
      });
    const ingestMetric = (metricName: string, statistic = 'Sum', metricPeriod = Duration.minutes(5)) =>
      new Metric({
        namespace: METRICS.namespace,
        metricName,
        dimensionsMap: { service: METRICS.ingestService },
        statistic,
        period: metricPeriod,
      });

    const alarm = (
      alarmId: string,
      metric: IMetric,
      options: {
        description: string;
        threshold?: number;
        evaluationPeriods?: number;
        datapointsToAlarm?: number;
        comparison?: ComparisonOperator;
        missing?: TreatMissingData;
      },
    ): Alarm => {
      const created = new Alarm(this, alarmId, {
        alarmName: `cloudtrail-collector-${alarmId.replace(/[A-Z]/g, (c, i: number) => (i ? '-' : '') + c.toLowerCase())}`,
        alarmDescription: options.description,
        metric,
        threshold: options.threshold ?? 1,
        evaluationPeriods: options.evaluationPeriods ?? 1,
        datapointsToAlarm: options.datapointsToAlarm ?? options.evaluationPeriods ?? 1,
        comparisonOperator: options.comparison ?? ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: options.missing ?? TreatMissingData.NOT_BREACHING,
      });
      created.addAlarmAction(new SnsAction(props.alarmTopic));
      created.addOkAction(new SnsAction(props.alarmTopic));
      this.alarms.push(created);
      return created;
    };

    // ---- DLQ depth: messages parked in any customer's outcomesqueue-dlq (read by reconcile each run) ---------
    alarm('DeadLetterMessages', reconcileMetric('DeadLetterMessages'), {
      description:
        'Messages are waiting in some customer outcomesqueue-dlq: log files that could not be ingested within the maxReceiveCount of their queue. ' +
        'Find the account in the reconcile report (deadLetterMessages), read the ingest logs for the messageIds, fix, then redrive the DLQ.',
    });

    // ---- backfill DLQ: files a backfill enqueued that ingest could not collect within maxReceiveCount --------
    if (props.backfillDeadLetterQueue) {
      alarm(
        'BackfillDeadLetterMessages',
        props.backfillDeadLetterQueue.metricApproximateNumberOfMessagesVisible({
          period: Duration.minutes(5),
          statistic: 'Maximum',
        }),
        {
          description:
            'cloudtrail-collector-backfill-dlq holds messages: backfilled log files that ingest could not collect (poison: ingest logs the reason; or ~33 hours of retries). ' +
            'The next backfill lists them again while they are in its window; read them with `aws sqs receive-message`, fix, then `aws sqs start-message-move-task --source-arn <its ARN>` (docs/operations.md).',
        },
      );
    }

    // ---- ingest errors --------------------------------------------------------------------------------------
    alarm('IngestErrors', props.ingest.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' }), {
      description:
        'The ingest handler failed whole batches (configuration, secret or registry unreadable): every message of those batches is redelivered.',
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
    });
    alarm(
      'IngestMessagesFailing',
      new MathExpression({
        expression: 'failed + poison',
        usingMetrics: { failed: ingestMetric('MessagesFailed'), poison: ingestMetric('MessagesPoison') },
        period: Duration.minutes(5),
        label: 'messages failed or poison',
      }),
      {
        description:
          'Messages keep failing (downstream errors, unreadable objects, poison messages) for 15 minutes: they are retried and end in the customer DLQ.',
        evaluationPeriods: 3,
      },
    );
    alarm('IngestThrottles', props.ingest.metricThrottles({ period: Duration.minutes(5), statistic: 'Sum' }), {
      description:
        'The ingest function hits its reserved concurrency: SQS messages are returned and their receive count grows towards the DLQ. Raise ingest.reservedConcurrency.',
      evaluationPeriods: 3,
    });

    // ---- ingest retries: the downstream circuit, poison moves, visibility backoff (docs/reliability.md) -------
    // DownstreamBreakerOpen is 1 for each batch a container handles while its circuit is not closed, 0 otherwise.
    // Missing data keeps the state (`ignore`: "the current alarm state is maintained", CloudWatch User Guide,
    // "Configuring how CloudWatch alarms treat missing data"): late in a long outage a small deployment may go a
    // period without any batch.
    alarm('IngestDownstreamUnavailable', ingestMetric('DownstreamBreakerOpen', 'Maximum'), {
      description:
        `The downstream circuit has been open in some ingest container for ${DOWNSTREAM_UNAVAILABLE_ALARM_MINUTES} minutes: the intake is down or refusing (5xx, 429, timeouts) ` +
        'and ingest defers messages unread (MessagesDeferred), each hidden for its backoff. Nothing is lost within the retry window: 24 hours on hub queues, ' +
        '6 hours on customer queues whose policy grants sqs:ChangeMessageVisibility (docs/reliability.md). Fix the intake; delivery resumes within the backoff (at most an hour) after it recovers.',
      evaluationPeriods: DOWNSTREAM_UNAVAILABLE_ALARM_MINUTES / 5,
      missing: TreatMissingData.IGNORE,
    });
    if (props.hubShards.length > 0) {
      alarm('IngestDeadLetterMoveFailed', ingestMetric('DeadLetterMoveFailed'), {
        description:
          'Ingest could not copy poison messages to their hub DLQ (SendMessage failed: the DLQ deleted, its policy or KMS key refusing the ingest role, throttling). ' +
          'Nothing is lost: each stays in its hub queue, is retried with backoff, and SQS moves it to the DLQ itself after 40 receives (~33 hours). ' +
          'The ingest log line "could not move a poison message to the hub dead-letter queue" carries the error.',
        evaluationPeriods: 3,
        datapointsToAlarm: 2,
      });
    }
    // Counted when a queue first refuses; it is then not asked for 15 minutes (lambdas/ingest/source/settle.ts).
    alarm('IngestVisibilityChangeDenied', ingestMetric('VisibilityChangeDenied', 'Sum', Duration.hours(1)), {
      description:
        "Some customer queue's policy does not let the ingest role call sqs:ChangeMessageVisibility: failed messages there keep the queue's own 30-minute timeout, " +
        'so a downstream outage longer than 2 hours (instead of 6) dead-letters files. Reconcile repairs the policy on its next run (QUEUE_POLICY_INVALID -> PUT_QUEUE_POLICY) ' +
        'unless the account is in report mode or a customer Deny conflicts (POLICY_DENY_CONFLICT). The ingest log line "ingest may not change visibility on this queue" names the queue.',
    });

    // ---- reconcile failures ---------------------------------------------------------------------------------
    alarm('ReconcileErrors', props.reconcile.metricErrors({ period, statistic: 'Sum' }), {
      description:
        'A reconcile run failed as a whole (registry unreadable, timeout): no account was checked or repaired.',
    });
    alarm(
      'ReconcileFailuresQueued',
      props.reconcileFailureQueue.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(5),
        statistic: 'Maximum',
      }),
      {
        description:
          'Failed or expired scheduled reconcile runs are in the reconcile failure queue: read them (they carry the error), then purge.',
      },
    );
    alarm('ReconcileNotRunning', props.reconcile.metricInvocations({ period: period.plus(period), statistic: 'Sum' }), {
      description: 'The reconcile schedule has not invoked the function for two periods.',
      comparison: ComparisonOperator.LESS_THAN_THRESHOLD,
      missing: TreatMissingData.BREACHING,
    });

    // ---- reconcile jobs: dead-lettered jobs, and coverage (docs/operations.md, "Sweep and jobs") --------------
    alarm(
      'ReconcileJobsDeadLettered',
      props.reconcileJobDeadLetterQueue.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(5),
        statistic: 'Maximum',
      }),
      {
        description:
          'cloudtrail-collector-reconcile-jobs-dlq holds jobs that failed on every receive (the worker logs each failure with the account): read them and fix the cause; the next sweep sends those accounts new jobs, so purge it afterwards.',
      },
    );
    alarm('AccountsNotReconciledInTime', reconcileMetric('AccountsNotReconciledInTime'), {
      description:
        'Some account was not reconciled within two of its periods (one period when unhealthy, RECONCILE_HEALTHY_EVERY periods when healthy): jobs failing or timing out, or too few workers for the fleet. See ReconcileJobsTimedOut, ReconcileJobsFailed and ReconcileJobAgeSeconds on the dashboard.',
    });

    // ---- accounts not healthy, stale accounts ---------------------------------------------------------------
    alarm('AccountsNotHealthy', reconcileMetric('AccountsNotHealthy'), {
      description:
        'Accounts stayed degraded or in error for two reconcile runs: findings the collector cannot repair (report mode, denied, REPAIR_LOOP). Run `cloudtrail-collector status`.',
      evaluationPeriods: 2,
    });
    alarm('AccountsStale', reconcileMetric('AccountsStale'), {
      description:
        'No record was ingested from some registered account for longer than alarms.staleAfterMinutes. Run `cloudtrail-collector status`.',
    });
    // Two runs in a row: a quiet Region's first file after a long pause can be in flight during one run.
    alarm('AccountsLagging', reconcileMetric('AccountsLagging'), {
      description:
        "For two reconcile runs, some account's collection was more than LAG_AFTER_MINUTES behind CloudTrail's latest delivery in a Region (COLLECTION_LAGGING; " +
        'CollectionLagMaxMinutes and CollectionLagP99Minutes show how far). Run `cloudtrail-collector status`; the finding names the Regions and where to look.',
      evaluationPeriods: 2,
    });

    if (props.hubShards.length > 0) this.addHubAlarms(props.hubShards, props.alarmTopic);

    this.dashboard = new Dashboard(this, 'Dashboard', {
      dashboardName: 'cloudtrail-collector',
      defaultInterval: Duration.hours(24),
    });
    const graph = (title: string, metrics: IMetric[], right: IMetric[] = []) =>
      new GraphWidget({ title, left: metrics, right, width: 12, height: 6 });
    this.dashboard.addWidgets(
      new TextWidget({
        markdown:
          (props.hubShards.length > 0
            ? `# cloudtrail-collector\nIngest: ${props.hubShards.length} hub queues (and any customer \`outcomesqueue\` still mapped). `
            : '# cloudtrail-collector\nIngest: SQS event source mappings on every customer `outcomesqueue`. ') +
          'Reconcile: observe, plan, repair on a schedule. See docs/stacks.md and docs/permissions.md.',
        width: 24,
        height: 2,
      }),
    );
    this.dashboard.addWidgets(new AlarmStatusWidget({ title: 'Alarms', alarms: this.alarms, width: 24, height: 4 }));
    this.dashboard.addWidgets(
      graph('Ingest: records', [
        ingestMetric('RecordsRead'),
        ingestMetric('RecordsForwarded'),
        ingestMetric('RecordsFiltered'),
      ]),
      graph('Ingest: bytes', [ingestMetric('BytesIn'), ingestMetric('BytesOut')]),
    );
    this.dashboard.addWidgets(
      graph('Ingest: messages', [
        ingestMetric('MessagesProcessed'),
        ingestMetric('MessagesIgnored'),
        ingestMetric('MessagesFailed'),
        ingestMetric('MessagesPoison'),
        ingestMetric('ObjectsMissing'),
      ]),
      graph(
        'Ingest: function',
        [
          props.ingest.metricInvocations({ statistic: 'Sum' }),
          props.ingest.metricErrors({ statistic: 'Sum' }),
          props.ingest.metricThrottles({ statistic: 'Sum' }),
        ],
        [props.ingest.metricDuration({ statistic: 'p99' }), props.ingest.metricDuration({ statistic: 'Maximum' })],
      ),
    );
    this.dashboard.addWidgets(
      graph('Ingest: retries and dead letters', [
        ingestMetric('MessagesDeferred'),
        ingestMetric('VisibilityBackoffApplied'),
        ingestMetric('VisibilityChangeDenied'),
        ingestMetric('MessagesDeadLettered'),
        ingestMetric('DeadLetterMoveFailed'),
      ]),
      graph(
        'Ingest: downstream circuit',
        [ingestMetric('DownstreamBreakerOpened'), ingestMetric('DownstreamBreakerClosed')],
        [ingestMetric('DownstreamBreakerOpen', 'Average')],
      ),
    );
    if (props.hubShards.length > 0) this.addHubWidgets(props.hubShards);
    this.dashboard.addWidgets(
      // Each account's run publishes its own counts (0 or 1 each): their Sum is the account runs in the period.
      graph('Reconcile: account runs by outcome', [
        reconcileMetric('AccountsHealthy', 'Sum'),
        reconcileMetric('AccountsRepaired', 'Sum'),
        reconcileMetric('AccountsDegraded', 'Sum'),
        reconcileMetric('AccountsError', 'Sum'),
        reconcileMetric('AccountsStale', 'Sum'),
        reconcileMetric('AccountsLagging', 'Sum'),
      ]),
      graph(
        'Reconcile: sweep and jobs',
        [
          reconcileMetric('AccountsDue'),
          reconcileMetric('ReconcileJobsSent'),
          reconcileMetric('AccountsNotReconciledInTime'),
          reconcileMetric('ReconcileJobsFailed', 'Sum'),
          reconcileMetric('ReconcileJobsTimedOut', 'Sum'),
          props.reconcileJobDeadLetterQueue.metricApproximateNumberOfMessagesVisible({ period, statistic: 'Maximum' }),
        ],
        [
          reconcileMetric('ReconcileJobAgeSeconds'),
          reconcileMetric('TriggeredJobAgeSeconds'),
          props.reconcileWorker.metricDuration({ statistic: 'Maximum', period }),
        ],
      ),
      graph('Reconcile: collection lag (minutes)', [
        reconcileMetric('CollectionLagMaxMinutes'),
        reconcileMetric('CollectionLagP99Minutes'),
      ]),
      graph(
        'Reconcile: failures',
        [
          reconcileMetric('ActionsFailed', 'Sum'),
          reconcileMetric('DeadLetterMessages'),
          props.reconcile.metricErrors({ statistic: 'Sum', period }),
        ],
        [props.reconcile.metricDuration({ statistic: 'Maximum', period })],
      ),
    );
  }

  /**
   * Per hub shard: its DLQ holds messages, its oldest message is older than HUB_MESSAGE_AGE_ALARM_SECONDS. With up to
   * 48 shards these notify only through two composite alarms (any shard in alarm), so that an outage that delays
   * every shard sends two notifications, not 128.
   */
  private addHubAlarms(shards: readonly HubShard[], topic: ITopic): void {
    const deadLetters: Alarm[] = [];
    const ages: Alarm[] = [];
    for (const { shard, queue, deadLetterQueue } of shards) {
      const id = `Shard${String(shard).padStart(2, '0')}`;
      deadLetters.push(
        new Alarm(this, `${id}DeadLetterMessages`, {
          alarmName: `${hubQueueName(shard)}-dead-letter-messages`,
          alarmDescription:
            "Messages are waiting in this hub queue's DLQ: poison (moved at once by ingest) or retried past maxReceiveCount. Notifies through cloudtrail-collector-hub-dead-letter-messages.",
          metric: deadLetterQueue.metricApproximateNumberOfMessagesVisible({
            period: Duration.minutes(5),
            statistic: 'Maximum',
          }),
          threshold: 1,
          evaluationPeriods: 1,
          comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          treatMissingData: TreatMissingData.NOT_BREACHING,
        }),
      );
      ages.push(
        new Alarm(this, `${id}OldestMessage`, {
          alarmName: `${hubQueueName(shard)}-oldest-message`,
          alarmDescription: `The oldest message of this hub queue is older than ${HUB_MESSAGE_AGE_ALARM_SECONDS / 60} minutes for 10 minutes. Notifies through cloudtrail-collector-hub-messages-delayed.`,
          metric: queue.metricApproximateAgeOfOldestMessage({ period: Duration.minutes(5), statistic: 'Maximum' }),
          threshold: HUB_MESSAGE_AGE_ALARM_SECONDS,
          evaluationPeriods: 2,
          datapointsToAlarm: 2,
          comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
          treatMissingData: TreatMissingData.NOT_BREACHING,
        }),
      );
    }
    this.hubAlarms.push(...deadLetters, ...ages);
    const composite = (id: string, children: Alarm[], description: string) => {
      const created = new CompositeAlarm(this, id, {
        compositeAlarmName: `cloudtrail-collector-${id.replace(/[A-Z]/g, (c, i: number) => (i ? '-' : '') + c.toLowerCase())}`,
        alarmDescription: description,
        alarmRule: AlarmRule.anyOf(...children),
      });
      created.addAlarmAction(new SnsAction(topic));
      created.addOkAction(new SnsAction(topic));
      this.alarms.push(created);
    };
    composite(
      'HubDeadLetterMessages',
      deadLetters,
      'Some hub DLQ (cloudtrail-collector-ingest-NN-dlq) holds messages: poison messages (ingest logs the reason) or files retried for ~33 hours. Read them with `cloudtrail-collector dlq list`, fix, then `dlq redrive`.',
    );
    composite(
      'HubMessagesDelayed',
      ages,
      `Some hub queue's oldest message is older than ${HUB_MESSAGE_AGE_ALARM_SECONDS / 60} minutes: the shard is saturated (a tenant's backlog, or ingest.maximumConcurrency too low) or the downstream is failing and messages are being retried. The per-shard alarms cloudtrail-collector-ingest-NN-oldest-message say which.`,
    );
  }

  /** Two widgets whatever the shard count: the hub backlog and age, and the hub DLQs, each one line over all shards. */
  private addHubWidgets(shards: readonly HubShard[]): void {
    const period = Duration.minutes(5);
    const over = (prefix: string, metrics: IMetric[]) =>
      Object.fromEntries(metrics.map((metric, index) => [`${prefix}${index}`, metric]));
    const visible = shards.map(({ queue }) =>
      queue.metricApproximateNumberOfMessagesVisible({ period, statistic: 'Maximum' }),
    );
    const age = shards.map(({ queue }) => queue.metricApproximateAgeOfOldestMessage({ period, statistic: 'Maximum' }));
    const dead = shards.map(({ deadLetterQueue }) =>
      deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period, statistic: 'Maximum' }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: `Hub queues (${shards.length}): messages waiting, oldest message`,
        left: [
          new MathExpression({
            expression: `SUM([${visible.map((_, i) => `v${i}`).join(',')}])`,
            usingMetrics: over('v', visible),
            period,
            label: 'messages waiting, all hub queues',
          }),
        ],
        right: [
          new MathExpression({
            expression: `MAX([${age.map((_, i) => `a${i}`).join(',')}])`,
            usingMetrics: over('a', age),
            period,
            label: 'oldest message (s), worst hub queue',
          }),
        ],
        width: 12,
        height: 6,
      }),
      new GraphWidget({
        title: `Hub DLQs (${shards.length}): messages`,
        left: [
          new MathExpression({
            expression: `SUM([${dead.map((_, i) => `d${i}`).join(',')}])`,
            usingMetrics: over('d', dead),
            period,
            label: 'messages in hub DLQs',
          }),
        ],
        width: 12,
        height: 6,
      }),
    );
  }
}
