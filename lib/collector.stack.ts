import { Aws, CfnOutput, Duration, Fn, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import { AttributeType, BillingMode, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import { ArnPrincipal } from 'aws-cdk-lib/aws-iam';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { NagSuppressions } from 'cdk-nag';
import type { Construct } from 'constructs';
import { tryParseArn } from '../lambdas/shared/arn';
import { CollectorFunction } from './collector-function.construct';
import { ratePeriodSeconds, sinkEnvironment, syslogSecretArns, type CollectorConfig } from './config';
import { customerDeployCommand, type CustomerDeployParams } from './customer-deploy-command';
import { BackfillQueue } from './backfill-queue.construct';
import { HubQueues } from './hub-queues.construct';
import { Monitoring } from './monitoring.construct';
import { ReconcileJobs } from './reconcile-jobs.construct';
import {
  COLLECTOR_ROLE_NAMES,
  CUSTOMER_ROLE_NAME,
  FUNCTION_NAMES,
  RECONCILE_FAILURE_QUEUE_NAME,
  RECONCILE_JOB_QUEUE_NAMES,
} from './names';
import { collectorScopes } from './permission-scopes';
import { ScheduledFunction } from './scheduled-function.construct';
import { TamperEvents } from './tamper-events.construct';
import { TemplateBucket } from './template-bucket.construct';

export interface CollectorStackProps extends StackProps {
  config: CollectorConfig;
}

/** The secret's ARN as an IAM resource: a partial ARN (no `-xxxxxx` suffix) needs the suffix wildcard. */
export function secretResourceArn(arn: string): string {
  const resource = tryParseArn(arn)?.resource ?? '';
  const name = resource.startsWith('secret:') ? resource.slice('secret:'.length) : '';
  return /-[A-Za-z0-9]{6}$/.test(name) ? arn : `${arn}-??????`;
}

/**
 * The collector account (docs/architecture.md, "The stacks"; docs/stacks.md): the accounts registry, the ingest
 * function, in the hub topology its K hub queues with their DLQs and mappings (otherwise the customer queues'
 * mappings, created by reconcile, invoke it), the reconcile function and its schedule, the downstream token secret
 * reference, alarms and a dashboard. No business logic: handlers live in lambdas/.
 */
export class CollectorStack extends Stack {
  readonly registry: Table;
  readonly ingest: CollectorFunction;
  /** The sweep on the schedule (and direct runs of one account): sends the due accounts' jobs. */
  readonly reconcile: ScheduledFunction;
  /** Takes the jobs, one account each, as the reconcile role. */
  readonly reconcileWorker: CollectorFunction;
  readonly reconcileJobs: ReconcileJobs;
  readonly reconcileFailures: Queue;
  readonly alarmTopic: Topic;
  readonly monitoring: Monitoring;
  /** The hub queues, in the hub topology only. */
  readonly hub?: HubQueues;
  /** The ledger of collected log files (`<registry table>-ledger`; lambdas/shared/ledger.ts). */
  readonly ledger: Table;
  /** The backfill queue (gap backfill of hub accounts), in the hub topology only. */
  readonly backfill?: BackfillQueue;
  /** The customer templates, published for quick-create links and StackSets. */
  readonly templates: TemplateBucket;
  /** The event bus customers forward chain-changing API calls to, and its rule to ingest (docs/operations.md, "Triggers"). */
  readonly tamperEvents: TamperEvents;

  constructor(scope: Construct, id: string, props: CollectorStackProps) {
    super(scope, id, props);
    const { config } = props;
    const logRetention = config.logRetentionDays as RetentionDays;

    this.registry = new Table(this, 'AccountsRegistry', {
      partitionKey: { name: 'accountId', type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      // Holds each account's ExternalId: encrypted with the AWS managed KMS key, restorable to any second of the
      // last 35 days, protected from deletion, kept when the stack goes.
      encryption: TableEncryption.AWS_MANAGED,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    // The ledger (docs/completeness.md): one item per collected log file, with its SHA-256, and the newest file per
    // account and region. Named after the registry (`<registry table>-ledger`, ledgerTableName) so that the command
    // line finds it from ACCOUNTS_TABLE alone. Items expire after LEDGER_TTL_DAYS (TTL on `expiresAt`). Protected as
    // the registry is: it is the evidence that every file was collected.
    this.ledger = new Table(this, 'Ledger', {
      tableName: Fn.join('', [this.registry.tableName, '-ledger']),
      partitionKey: { name: 'pk', type: AttributeType.STRING },
      sortKey: { name: 'sk', type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: 'expiresAt',
      encryption: TableEncryption.AWS_MANAGED,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: config.ledger.pointInTimeRecovery },
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    if (!config.ledger.pointInTimeRecovery) {
      NagSuppressions.addResourceSuppressions(this.ledger, [
        {
          id: 'AwsSolutions-DDB3',
          reason:
            'Point-in-time recovery turned off by the operator (cloudtrailCollector.ledger.pointInTimeRecovery): a lost ledger makes the next backfills enqueue the files of their window again, which the downstream drops by idempotency key (docs/completeness.md).',
        },
      ]);
    }

    // The downstream token (bearer, HEC or Elasticsearch credential): referenced by ARN (DOWNSTREAM_TOKEN_SECRET_ARN)
    // and read by the function at cold start; it never appears in the environment, the template or the logs. The
    // firehose sink writes with the role and syslog authenticates with TLS: neither has a token (docs/sinks.md).
    const usesToken = config.sink.type !== 'firehose' && config.sink.type !== 'syslog';
    let downstreamSecretArn: string | undefined;
    // What the ingest policy grants: a configured ARN may lack the 6-character suffix Secrets Manager appends
    // (then `-??????` matches it); a secret created here is referenced by its full ARN, suffix included.
    let downstreamSecretPolicyArn: string | undefined;
    if (!usesToken) {
      downstreamSecretArn = undefined;
    } else if (config.downstreamTokenSecretArn !== undefined) {
      downstreamSecretArn = config.downstreamTokenSecretArn;
      downstreamSecretPolicyArn = secretResourceArn(downstreamSecretArn);
    } else {
      const secret = new Secret(this, 'DownstreamToken', {
        secretName: 'cloudtrail-collector/downstream-token',
        description:
          'Token of the downstream (bearer token, HEC token, or Elasticsearch API key or user:password). Put the real value with `aws secretsmanager put-secret-value` before registering accounts.',
        removalPolicy: RemovalPolicy.RETAIN,
      });
      NagSuppressions.addResourceSuppressions(secret, [
        {
          id: 'AwsSolutions-SMG4',
          reason:
            'The token is issued by the downstream intake, not by AWS: it is rotated there and written here by the operator; a Secrets Manager rotation Lambda could not obtain a new one.',
        },
      ]);
      downstreamSecretArn = secret.secretArn;
      downstreamSecretPolicyArn = secret.secretArn;
    }

    // Alarm notifications carry alarm names and states only (no log data), so the topic is not KMS-encrypted:
    // CloudWatch cannot publish to a topic under the AWS managed SNS key, and a customer managed key would only add
    // a monthly charge. Publishing requires TLS.
    this.alarmTopic = new Topic(this, 'AlarmTopic', {
      topicName: 'cloudtrail-collector-alarms',
      displayName: 'cloudtrail-collector alarms',
      enforceSSL: true,
    });
    for (const email of config.alarms.emails) this.alarmTopic.addSubscription(new EmailSubscription(email));

    // Failed scheduled reconcile runs (asynchronous on-failure destination) and events EventBridge could not
    // deliver (the rule target's dead-letter queue) land here; an alarm watches its depth.
    this.reconcileFailures = new Queue(this, 'ReconcileFailures', {
      queueName: RECONCILE_FAILURE_QUEUE_NAME,
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    NagSuppressions.addResourceSuppressions(this.reconcileFailures, [
      {
        id: 'AwsSolutions-SQS3',
        reason:
          'This queue is itself the dead-letter target of the reconcile function and of its schedule rule; nothing consumes it automatically, so it needs no DLQ of its own.',
      },
      {
        id: 'Serverless-SQSRedrivePolicy',
        reason:
          'A dead-letter queue has no consumer to fail: operators read it after the ReconcileFailuresQueued alarm, so a redrive policy would only move the evidence elsewhere.',
      },
    ]);

    const operators = config.operatorPrincipalArns.map((arn) => new ArnPrincipal(arn));
    const base = { partition: Aws.PARTITION, region: Aws.REGION, account: Aws.ACCOUNT_ID };
    const { topology } = config.ingest;

    if (topology === 'hub') {
      this.hub = new HubQueues(this, 'Hub', {
        shards: config.ingest.hubShards,
        ingestTimeout: Duration.seconds(config.ingest.timeoutSeconds),
      });
      this.backfill = new BackfillQueue(this, 'Backfill', {
        ingestTimeout: Duration.seconds(config.ingest.timeoutSeconds),
      });
    }
    // What both functions (and the CLI, from the outputs) are told about the topology (lambdas/shared/topology.ts).
    const topologyEnvironment: Record<string, string> = {
      INGEST_TOPOLOGY: topology,
      ...(this.hub ? { HUB_QUEUE_ARNS: Fn.join(',', this.hub.queueArns) } : {}),
    };

    // Ingest sizing, from the streaming design and the ingest benchmark (bench/README.md): the core decodes about
    // 100 MB/s of uncompressed CloudTrail per vCPU with a flat 100-200 MB RSS, even for 1 GiB files.
    // - memory 1024 MB on arm64: Lambda gives CPU in proportion to memory (1769 MB = 1 vCPU), so ~0.58 vCPU,
    //   ~55-60 MB/s per invocation, and proportionally more network bandwidth for GetObject and the downstream POSTs;
    //   memory itself is 2-5x the peak need (4 messages at once x 4 in-flight 4 MiB batches, plus gunzip and runtime).
    // - timeout 5 min: a worst-case batch of 10 messages naming 1 GiB (uncompressed) files each is ~10 GiB / 58 MB/s
    //   = ~185 s; typical files (< 10 MB uncompressed) take well under a second. The customer queue's visibility
    //   timeout is 6 x this (reconcile's INGEST_TIMEOUT_SECONDS), as AWS recommends for SQS event sources.
    // - reserved concurrency: caps the fan-out over every mapping (downstream protection, and a bound on cost if a
    //   customer floods its topic); 40 x ~58 MB/s is ~2 GB/s, far above the CloudTrail volume of 10,000 accounts.
    //   It must cover the mappings' MaximumConcurrency (hub: hubShards x maximumConcurrency, checked at synth), or
    //   Lambda throttles batches back to their queue; the IngestThrottles alarm says when it does.
    const filters = config.ingest.filters;
    this.ingest = new CollectorFunction(this, 'Ingest', {
      entry: 'ingest/handler.ts',
      functionName: FUNCTION_NAMES.ingest,
      description:
        topology === 'hub'
          ? 'Reads CloudTrail log files announced on the hub queues (and customer queues) and forwards every record downstream'
          : 'Reads CloudTrail log files announced on customer queues and forwards every record downstream',
      memorySize: config.ingest.memoryMb,
      timeout: Duration.seconds(config.ingest.timeoutSeconds),
      reservedConcurrentExecutions: config.ingest.reservedConcurrency,
      logRetention,
      role: {
        name: COLLECTOR_ROLE_NAMES.ingest,
        principal: 'ingest',
        topology,
        sinkType: config.sink.type,
        scopes: collectorScopes({
          ...base,
          registryTableArn: this.registry.tableArn,
          ...(downstreamSecretPolicyArn !== undefined ? { downstreamSecretArn: downstreamSecretPolicyArn } : {}),
          ...(config.sink.firehose !== undefined
            ? {
                firehoseStreamArn: `arn:${Aws.PARTITION}:firehose:${Aws.REGION}:${Aws.ACCOUNT_ID}:deliverystream/${config.sink.firehose.streamName}`,
              }
            : {}),
          // A configured ARN may lack Secrets Manager's 6-character suffix: the policy matches it (secretResourceArn).
          syslogTlsSecretArns: syslogSecretArns(config.sink).map(secretResourceArn),
          ledgerTableArn: this.ledger.tableArn,
          // A tamper event whose invocation failed (the asynchronous on-failure destination).
          reconcileFailureQueueArn: this.reconcileFailures.queueArn,
          // Tamper triggers send jobs to it; the queue is created below, under its fixed name.
          reconcileJobQueueArn: `arn:${Aws.PARTITION}:sqs:${Aws.REGION}:${Aws.ACCOUNT_ID}:${RECONCILE_JOB_QUEUE_NAMES.queue}`,
          ...(this.backfill ? { backfillQueueArn: this.backfill.queue.queueArn } : {}),
        }),
        alsoTrusted: operators,
      },
      environment: {
        ACCOUNTS_TABLE: this.registry.tableName,
        LEDGER_TABLE: this.ledger.tableName,
        ...(this.backfill ? { BACKFILL_QUEUE_ARN: this.backfill.queue.queueArn } : {}),
        ...sinkEnvironment(config.sink),
        ...(config.sink.type !== 'firehose' ? { DOWNSTREAM_URL: config.downstreamUrl } : {}),
        ...(downstreamSecretArn !== undefined ? { DOWNSTREAM_TOKEN_SECRET_ARN: downstreamSecretArn } : {}),
        CUSTOMER_ROLE_NAME,
        ...topologyEnvironment,
        ...(filters.dropEventSources.length > 0
          ? { FILTER_DROP_EVENT_SOURCES: filters.dropEventSources.join(',') }
          : {}),
        ...(filters.dropEventNames.length > 0 ? { FILTER_DROP_EVENT_NAMES: filters.dropEventNames.join(',') } : {}),
        ...(filters.dropReadOnly ? { FILTER_DROP_READ_ONLY: 'true' } : {}),
      },
    });
    // SQS event source mappings invoke synchronously: Lambda's DLQ and on-failure destinations do not apply to
    // them. Failure handling is each queue's redrive policy (a hub queue's DLQ after HUB_MAX_RECEIVE_COUNT
    // receives; a customer queue's outcomesqueue-dlq after the receives reconcile sets) with ReportBatchItemFailures on the
    // mapping.
    this.hub?.connect(this.ingest.function, config.ingest.maximumConcurrency);
    this.backfill?.connect(this.ingest.function);
    this.tamperEvents = new TamperEvents(this, 'TamperEvents', {
      ingest: this.ingest.function,
      failureQueue: this.reconcileFailures,
    });
    NagSuppressions.addResourceSuppressions(this.ingest.function, [
      {
        id: 'Serverless-LambdaDLQ',
        reason:
          "Invoked by SQS event source mappings (synchronous: a function DLQ would never receive anything; failed messages stay in their queue, ReportBatchItemFailures on, and move to that queue's DLQ, a hub queue's or the customer outcomesqueue-dlq; ingest moves poison from a hub queue to its DLQ itself) and asynchronously by the tamper-calls rule only, whose failed invocations go to the asynchronous on-failure destination (the reconcile failure queue) instead of a DLQ.",
      },
      {
        id: 'Serverless-LambdaTracing',
        reason:
          'X-Ray would sample one trace per SQS batch at a per-trace charge, for a function whose every stage is already counted and timed in its logs and metrics (RecordsRead, BytesIn, ObjectDuration, ...).',
      },
    ]);

    // The reconcile function's plain settings, also a stack output (ReconcileSettings): the command-line tool reads
    // them and refuses to write with others (bin/commands/deployment.ts).
    const reconcileSettings: Record<string, string> = {
      CUSTOMER_ROLE_NAME,
      // reconcile sets each customer queue's visibility timeout to 6 x this.
      INGEST_TIMEOUT_SECONDS: String(config.ingest.timeoutSeconds),
      RECONCILE_CONCURRENCY: String(config.reconcile.concurrency),
      STALE_AFTER_MINUTES: String(config.alarms.staleAfterMinutes),
      // The concurrency rule at run time: each customer-queue mapping reconcile creates gets this
      // MaximumConcurrency, and none is created once the mappings' sum would pass the reserved concurrency
      // (INGEST_CAPACITY_EXCEEDED; in the hub, the K hub mappings count too).
      ESM_MAXIMUM_CONCURRENCY: String(config.ingest.maximumConcurrency),
      INGEST_RESERVED_CONCURRENCY: String(config.ingest.reservedConcurrency),
      // The sweep's cadence (lambdas/reconcile/sweep.ts); a cron schedule counts as hourly.
      RECONCILE_PERIOD_SECONDS: String(ratePeriodSeconds(config.reconcile.schedule) ?? 3600),
      RECONCILE_HEALTHY_EVERY: String(config.reconcile.healthyEvery),
      // How many reconcile processes share the collector's quotas at once (the sweep and up to this many workers):
      // each client-side rate limiter takes 1 / (this + 1) of a shared quota (lambdas/reconcile/clients.ts).
      RECONCILE_WORKER_CONCURRENCY: String(config.reconcile.workerConcurrency),
    };
    // Reconcile is a sweep and a worker (docs/operations.md, "Sweep, jobs and triggers"): the scheduled function
    // sends one job per due account to the job queue; the worker reconciles one account per job under the
    // account's lease. Both run as the reconcile role (customer roles trust it by name), so the role's log
    // permission lists the worker's log group too.
    this.reconcileJobs = new ReconcileJobs(this, 'ReconcileJobs', {
      workerTimeout: Duration.seconds(config.reconcile.workerTimeoutSeconds),
    });
    // Where ingest's tamper triggers send jobs (docs/operations.md, "Triggers").
    this.ingest.function.addEnvironment('RECONCILE_JOB_QUEUE_URL', this.reconcileJobs.queue.queueUrl);
    const workerLogs = new LogGroup(this, 'ReconcileWorkerLogs', {
      retention: logRetention,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // The sweep's and the worker's (the same code's) environment.
    const reconcileEnvironment: Record<string, string> = {
      ACCOUNTS_TABLE: this.registry.tableName,
      LEDGER_TABLE: this.ledger.tableName,
      ...(this.backfill ? { BACKFILL_QUEUE_URL: this.backfill.queue.queueUrl } : {}),
      INGEST_FUNCTION_ARN: this.ingest.function.functionArn,
      INGEST_ROLE_ARN: this.ingest.role.roleArn,
      ...reconcileSettings,
      ...topologyEnvironment,
      RECONCILE_JOB_QUEUE_URL: this.reconcileJobs.queue.queueUrl,
    };
    this.reconcile = new ScheduledFunction(this, 'Reconcile', {
      entry: 'reconcile/handler.ts',
      functionName: FUNCTION_NAMES.reconcile,
      description:
        'Sweeps the registry on a schedule and sends a reconcile job per due account; reconciles one account when invoked with it',
      memorySize: config.reconcile.memoryMb,
      timeout: Duration.seconds(config.reconcile.timeoutSeconds),
      // One sweep at a time: overlapping sweeps would send the same accounts twice.
      reservedConcurrentExecutions: 1,
      logRetention,
      role: {
        name: COLLECTOR_ROLE_NAMES.reconcile,
        principal: 'reconcile',
        topology,
        scopes: collectorScopes({
          ...base,
          registryTableArn: this.registry.tableArn,
          ingestFunctionArn: this.ingest.function.functionArn,
          reconcileFailureQueueArn: this.reconcileFailures.queueArn,
          ledgerTableArn: this.ledger.tableArn,
          ...(this.backfill ? { backfillQueueArn: this.backfill.queue.queueArn } : {}),
          reconcileJobQueueArn: this.reconcileJobs.queue.queueArn,
        }),
        alsoTrusted: operators,
        otherLogGroups: [workerLogs],
      },
      environment: reconcileEnvironment,
      schedule: {
        ruleName: 'cloudtrail-collector-reconcile',
        description: 'Runs the reconcile sweep: one job per registered account that is due',
        expression: config.reconcile.schedule,
      },
      failureQueue: this.reconcileFailures,
    });
    // Its own role: the principal customer topic policies let call sns:Subscribe on the hub queues.
    this.reconcile.function.addEnvironment('RECONCILE_ROLE_ARN', this.reconcile.role.roleArn);
    const reconcileTracing = {
      id: 'Serverless-LambdaTracing',
      reason:
        'Each run logs a structured report (per account: findings, actions, status) and emits health metrics; X-Ray segments would add a per-trace charge and no information the report lacks.',
    };
    NagSuppressions.addResourceSuppressions(this.reconcile.function, [reconcileTracing]);

    // The worker, capped: reserved concurrency = the mapping's MaximumConcurrency (Lambda Developer Guide,
    // "Configuring maximum concurrency for Amazon SQS event sources": reserved concurrency below it throttles).
    this.reconcileWorker = new CollectorFunction(this, 'ReconcileWorker', {
      entry: 'reconcile/worker-handler.ts',
      functionName: FUNCTION_NAMES.reconcileWorker,
      description: 'Reconciles one registered account per job of the reconcile job queue, under the account lease',
      memorySize: config.reconcile.memoryMb,
      timeout: Duration.seconds(config.reconcile.workerTimeoutSeconds),
      reservedConcurrentExecutions: config.reconcile.workerConcurrency,
      logRetention,
      logGroup: workerLogs,
      role: { shared: this.reconcile.role },
      environment: {
        ...reconcileEnvironment,
        RECONCILE_ROLE_ARN: this.reconcile.role.roleArn,
      },
    });
    this.reconcileJobs.connect(this.reconcileWorker.function, {
      // An SQS mapping takes more than 10 messages only with a batching window; a batch's jobs run at once.
      batchSize: Math.min(10, config.reconcile.concurrency),
      maximumConcurrency: config.reconcile.workerConcurrency,
    });
    NagSuppressions.addResourceSuppressions(this.reconcileWorker.function, [
      {
        id: 'Serverless-LambdaDLQ',
        reason:
          'Invoked only by the job queue event source mapping (synchronous): a function DLQ never receives anything. Failed jobs stay in the queue (ReportBatchItemFailures) and move to the job DLQ after their receives.',
      },
      reconcileTracing,
    ]);

    this.monitoring = new Monitoring(this, 'Monitoring', {
      ingest: this.ingest.function,
      reconcile: this.reconcile.function,
      reconcileFailureQueue: this.reconcileFailures,
      reconcileWorker: this.reconcileWorker.function,
      reconcileJobDeadLetterQueue: this.reconcileJobs.deadLetterQueue,
      alarmTopic: this.alarmTopic,
      hubShards: this.hub?.shards ?? [],
      reconcilePeriod: Duration.seconds(Math.min(this.reconcile.period?.toSeconds() ?? 3600, 12 * 3600)),
      ...(this.backfill ? { backfillDeadLetterQueue: this.backfill.deadLetterQueue } : {}),
    });

    this.templates = new TemplateBucket(this, 'TemplateBucket', { logRetention });

    // What a customer runs, with this collector's account and region and placeholders for the rest.
    const deployParams: CustomerDeployParams = {
      collectorAccountId: Aws.ACCOUNT_ID,
      externalId: '<external-id-from-accounts-add>',
      mode: 'apply',
      region: Aws.REGION,
    };
    new CfnOutput(this, 'IngestRoleArn', {
      description: 'Trusted by every customer CloudTrailCollectorRole (by this exact ARN)',
      value: this.ingest.role.roleArn,
    });
    new CfnOutput(this, 'ReconcileRoleArn', {
      description: 'Trusted by every customer CloudTrailCollectorRole (by this exact ARN)',
      value: this.reconcile.role.roleArn,
    });
    new CfnOutput(this, 'IngestFunctionArn', { value: this.ingest.function.functionArn });
    new CfnOutput(this, 'ReconcileFunctionArn', { value: this.reconcile.function.functionArn });
    new CfnOutput(this, 'ReconcileSettings', {
      description:
        "The reconcile function's settings (JSON, variable -> value): the command-line tool uses them and refuses to write with others",
      value: JSON.stringify(reconcileSettings),
    });
    new CfnOutput(this, 'IngestTopology', {
      description: 'INGEST_TOPOLOGY for the command-line tool (hub or customer-queue)',
      value: topology,
    });
    if (this.hub) {
      new CfnOutput(this, 'HubQueueArns', {
        description:
          'HUB_QUEUE_ARNS for the command-line tool (dlq list|redrive, ingest): the hub queues, in shard order',
        value: Fn.join(',', this.hub.queueArns),
      });
    }
    new CfnOutput(this, 'AccountsTableName', {
      description: 'ACCOUNTS_TABLE for the command-line tool',
      value: this.registry.tableName,
    });
    new CfnOutput(this, 'LedgerTableName', {
      description:
        'The ledger of collected log files: <ACCOUNTS_TABLE>-ledger, which the command-line tool derives (LEDGER_TABLE overrides it)',
      value: this.ledger.tableName,
    });
    if (this.backfill) {
      new CfnOutput(this, 'BackfillQueueUrl', {
        description: "BACKFILL_QUEUE_URL for the command-line tool (reconcile sends hub accounts' gaps here)",
        value: this.backfill.queue.queueUrl,
      });
      new CfnOutput(this, 'BackfillQueueArn', {
        description: 'BACKFILL_QUEUE_ARN for the command-line tool (ingest --queue-url on the backfill queue)',
        value: this.backfill.queue.queueArn,
      });
    }
    new CfnOutput(this, 'ReconcileJobQueueUrl', {
      description: 'RECONCILE_JOB_QUEUE_URL: where the sweep and the tamper triggers send reconcile jobs',
      value: this.reconcileJobs.queue.queueUrl,
    });
    new CfnOutput(this, 'ReconcileJobQueueArn', { value: this.reconcileJobs.queue.queueArn });
    if (downstreamSecretArn !== undefined) {
      new CfnOutput(this, 'DownstreamTokenSecretArn', { value: downstreamSecretArn });
    }
    new CfnOutput(this, 'TemplateBucketUrl', {
      description:
        'TEMPLATE_BUCKET_URL for the command-line tool: the customer templates are published under it (templates/...), for quick-create links and StackSets',
      value: this.templates.url,
    });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.alarmTopic.topicArn });
    new CfnOutput(this, 'CustomerDeployCommand', {
      description:
        'What a customer runs in each account (Mode=apply or report; the ExternalId is printed by `cloudtrail-collector accounts add`)',
      value: customerDeployCommand(deployParams, { oneLine: true }),
    });
    new CfnOutput(this, 'LogArchiveDeployCommand', {
      description: 'The same for a log archive account (centralized collection): the log-archive role template',
      value: customerDeployCommand({ ...deployParams, logArchiveBucketName: '<archive-bucket>' }, { oneLine: true }),
    });
  }
}
