import { Duration } from 'aws-cdk-lib';
import {
  Alarm,
  AlarmStatusWidget,
  ComparisonOperator,
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
import { METRICS } from './names';

export interface MonitoringProps {
  ingest: IFunction;
  reconcile: IFunction;
  reconcileFailureQueue: IQueue;
  alarmTopic: ITopic;
  /** The reconcile schedule's period, when it is a rate; cron schedules use an hour. */
  reconcilePeriod: Duration;
}

/**
 * The alarms and the dashboard. Metrics come from three places: Lambda's own (Errors, Throttles, Invocations),
 * the functions' EMF metrics (namespace CloudTrailCollector, dimension `service` = ingest | reconcile, written by
 * Powertools Metrics), and the reconcile failure queue. The customer queues and their DLQs live in the customer
 * accounts, where the collector account cannot alarm on them: the reconcile run reads each account's
 * outcomesqueue-dlq depth and its last ingested record, and emits `DeadLetterMessages` and `AccountsStale`.
 */
export class Monitoring extends Construct {
  readonly alarms: Alarm[] = [];
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
    const ingestMetric = (metricName: string, statistic = 'Sum') =>
      new Metric({
        namespace: METRICS.namespace,
        metricName,
        dimensionsMap: { service: METRICS.ingestService },
        statistic,
        period: Duration.minutes(5),
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
        'Messages are waiting in some customer outcomesqueue-dlq: log files that could not be ingested after 5 attempts. ' +
        'Find the account in the reconcile report (deadLetterMessages), read the ingest logs for the messageIds, fix, then redrive the DLQ.',
    });

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

    this.dashboard = new Dashboard(this, 'Dashboard', {
      dashboardName: 'cloudtrail-collector',
      defaultInterval: Duration.hours(24),
    });
    const graph = (title: string, metrics: IMetric[], right: IMetric[] = []) =>
      new GraphWidget({ title, left: metrics, right, width: 12, height: 6 });
    this.dashboard.addWidgets(
      new TextWidget({
        markdown:
          '# cloudtrail-collector\nIngest: SQS event source mappings on every customer `outcomesqueue`. ' +
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
      graph('Reconcile: accounts', [
        reconcileMetric('AccountsHealthy'),
        reconcileMetric('AccountsRepaired'),
        reconcileMetric('AccountsDegraded'),
        reconcileMetric('AccountsError'),
        reconcileMetric('AccountsStale'),
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
}
