import { Match, type Template } from 'aws-cdk-lib/assertions';
import { CreateEventSourceMappingCommand } from '@aws-sdk/client-lambda';
import { CreateQueueCommand } from '@aws-sdk/client-sqs';
import { loadIngestConfig } from '../../lambdas/ingest/config';
import { createActionExecutor } from '../../lambdas/reconcile/apply';
import type { CollectorClients, CustomerClients } from '../../lambdas/reconcile/clients';
import { loadReconcileConfig } from '../../lambdas/reconcile/config';
import type { PlannedAction } from '../../lambdas/reconcile/types';
import { HUB_MAX_RECEIVE_COUNT } from '../../lambdas/shared/topology';
import { COLLECTOR_ROLE_NAMES, CUSTOMER_ROLE_NAME, FUNCTION_NAMES, GENERATED_FILES, METRICS } from '../../lib/names';
import { actionsFor } from '../../lib/permissions';
import { allowedActions, configWithIngest, deployedValue, roleInlineStatements, synthApp } from './support';

type Resource = { Type: string; Properties: Record<string, unknown>; DeletionPolicy?: string; DependsOn?: unknown };

const INGEST_ARN = `arn:aws:lambda:us-east-1:123456789012:function:${FUNCTION_NAMES.ingest}`;
const INGEST_ROLE_ARN = `arn:aws:iam::123456789012:role/${COLLECTOR_ROLE_NAMES.ingest}`;

/**
 * The seed's layout: cdk.json's configuration with `ingest.topology: customer-queue`, whose resources the hub
 * topology (the default, test/cdk/hub-topology.test.ts) leaves as they were.
 */
describe('CollectorStack (cdk.json configuration, customer-queue topology)', () => {
  let template: Template;
  let json: { Resources: Record<string, Resource>; Outputs: Record<string, { Value: unknown }> };

  const byType = (type: string): [string, Resource][] =>
    Object.entries(json.Resources).filter(([, resource]) => resource.Type === type);
  const fn = (name: string): [string, Resource] => {
    const found = byType('AWS::Lambda::Function').find(([, r]) => r.Properties.FunctionName === name);
    if (!found) throw new Error(`no function ${name}`);
    return found;
  };
  const role = (name: string): [string, Resource] => {
    const found = byType('AWS::IAM::Role').find(([, r]) => r.Properties.RoleName === name);
    if (!found) throw new Error(`no role ${name}`);
    return found;
  };
  /** The function's environment with CloudFormation references replaced by plausible deployed values. */
  const deployedEnv = (name: string): Record<string, string> => {
    const variables = (fn(name)[1].Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    const resolved: Record<string, string> = { AWS_REGION: 'us-east-1' };
    for (const [key, value] of Object.entries(variables)) {
      const deployed = deployedValue(json, value);
      if (deployed !== undefined) resolved[key] = deployed;
      else if (key === 'DOWNSTREAM_TOKEN_SECRET_ARN')
        resolved[key] = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:t-AbCdEf';
      else resolved[key] = `resolved-${key.toLowerCase()}`;
    }
    return resolved;
  };

  beforeAll(() => {
    const built = synthApp({ config: configWithIngest({ topology: 'customer-queue' }) });
    template = built.template(built.collector);
    json = template.toJSON() as typeof json;
  });

  test('the registry is keyed by accountId, encrypted, with point-in-time recovery, protected and kept on delete', () => {
    template.hasResource('AWS::DynamoDB::Table', {
      Properties: Match.objectLike({
        KeySchema: [{ AttributeName: 'accountId', KeyType: 'HASH' }],
        AttributeDefinitions: [{ AttributeName: 'accountId', AttributeType: 'S' }],
        BillingMode: 'PAY_PER_REQUEST',
        SSESpecification: { SSEEnabled: true },
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        DeletionProtectionEnabled: true,
      }),
      DeletionPolicy: 'Retain',
    });
  });

  test('both functions run Node.js 24 on arm64 with source maps', () => {
    for (const name of Object.values(FUNCTION_NAMES)) {
      expect(fn(name)[1].Properties).toMatchObject({
        Runtime: 'nodejs24.x',
        Architectures: ['arm64'],
        Handler: 'index.handler',
        Environment: { Variables: expect.objectContaining({ NODE_OPTIONS: '--enable-source-maps' }) },
      });
    }
  });

  test('ingest: memory, timeout and reserved concurrency from the configuration, the token only by ARN', () => {
    const props = fn(FUNCTION_NAMES.ingest)[1].Properties;
    // Reserved concurrency 40: the default rose from 20 so that the hub defaults fit it (8 shards x 4).
    expect(props).toMatchObject({ MemorySize: 1024, Timeout: 300, ReservedConcurrentExecutions: 40 });
    const variables = (props.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(variables).toMatchObject({
      DOWNSTREAM_URL: 'https://logs.example.com/intake',
      CUSTOMER_ROLE_NAME,
      ACCOUNTS_TABLE: { Ref: expect.any(String) },
      DOWNSTREAM_TOKEN_SECRET_ARN: { Ref: expect.stringMatching(/^DownstreamToken/) },
    });
    for (const [, resource] of byType('AWS::Lambda::Function')) {
      expect((resource.Properties.Environment as { Variables: object }).Variables).not.toHaveProperty(
        'DOWNSTREAM_TOKEN',
      );
    }
    // The handler accepts the environment the stack gives it.
    expect(() => loadIngestConfig(deployedEnv(FUNCTION_NAMES.ingest))).not.toThrow();
  });

  test('the downstream token secret is created for the operator to fill in, and kept', () => {
    template.hasResource('AWS::SecretsManager::Secret', {
      Properties: Match.objectLike({ Name: 'cloudtrail-collector/downstream-token' }),
      DeletionPolicy: 'Retain',
    });
  });

  test('the ingest role may read the secret the stack created: its full ARN (Ref), not a "-??????" pattern', () => {
    // The Ref of a created secret is already the ARN with its random suffix; appending "-??????" matched nothing.
    const [secretId] = byType('AWS::SecretsManager::Secret')[0]!;
    template.hasResourceProperties('AWS::IAM::Role', {
      RoleName: COLLECTOR_ROLE_NAMES.ingest,
      Policies: Match.arrayWith([
        {
          PolicyName: 'downstream-token',
          PolicyDocument: {
            Version: '2012-10-17',
            Statement: [Match.objectLike({ Action: 'secretsmanager:GetSecretValue', Resource: { Ref: secretId } })],
          },
        },
      ]),
    });
  });

  test('reconcile: its environment, one run at a time, failures to the failure queue without retry', () => {
    const [logicalId, reconcile] = fn(FUNCTION_NAMES.reconcile);
    expect(reconcile.Properties).toMatchObject({ ReservedConcurrentExecutions: 1, Timeout: 600, MemorySize: 512 });
    const env = deployedEnv(FUNCTION_NAMES.reconcile);
    expect(env).toMatchObject({
      INGEST_FUNCTION_ARN: INGEST_ARN,
      INGEST_ROLE_ARN,
      INGEST_TIMEOUT_SECONDS: '300',
      RECONCILE_CONCURRENCY: '10',
      CUSTOMER_ROLE_NAME,
      INGEST_TOPOLOGY: 'customer-queue',
      ESM_MAXIMUM_CONCURRENCY: '4',
      INGEST_RESERVED_CONCURRENCY: '40',
      RECONCILE_ROLE_ARN: `arn:aws:iam::123456789012:role/${COLLECTOR_ROLE_NAMES.reconcile}`,
    });
    // No hub queue, so no HUB_QUEUE_ARNS (unset reads as none, lambdas/shared/topology.ts).
    expect(env).not.toHaveProperty('HUB_QUEUE_ARNS');
    const config = loadReconcileConfig(env);
    expect(config.queueVisibilityTimeoutSeconds).toBe(6 * 300);
    expect(config).toMatchObject({ ingestTopology: 'customer-queue', hubQueueArns: [], esmMaximumConcurrency: 4 });
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: logicalId },
      MaximumRetryAttempts: 0,
      MaximumEventAgeInSeconds: 900,
      DestinationConfig: {
        OnFailure: { Destination: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ReconcileFailures'), 'Arn'] } },
      },
    });
  });

  test('the scheduled reconcile keeps its deployed logical ids (a new id would replace the resource)', () => {
    const reconcileIds = Object.keys(json.Resources).filter((id) => /^Reconcile/.test(id));
    expect(reconcileIds.sort()).toEqual(
      [
        'ReconcileFailures21194B08',
        'ReconcileFailuresPolicy1FE2E95F',
        'ReconcileLogsDE13217A',
        'ReconcileRole286C6F45',
        'ReconcileFunction585E26B3',
        'ReconcileFunctionEventInvokeConfigE10D2BD2',
        'ReconcileSchedule3E7728F7',
        'ReconcileScheduleAllowEventRuleCloudTrailCollectorReconcileFunction4BBE3BDC4912A539',
        // New with the sweep and its worker (issue 14): the job queue, its DLQ and mapping, the worker.
        'ReconcileJobsDeadLetterQueue2989EAB5',
        'ReconcileJobsDeadLetterQueuePolicy4A5FE673',
        'ReconcileJobsMapping4969F89B',
        'ReconcileJobsQueue28C0B619',
        'ReconcileJobsQueuePolicy7C94419E',
        'ReconcileWorkerFunction406EB7A1',
        'ReconcileWorkerLogs39F7BE64',
      ].sort(),
    );
  });

  describe('reconcile jobs: the sweep sends one job per due account, the worker takes them', () => {
    const queue = () => {
      const found = byType('AWS::SQS::Queue').find(
        ([, r]) => r.Properties.QueueName === 'cloudtrail-collector-reconcile-jobs',
      );
      if (!found) throw new Error('no job queue');
      return found;
    };

    test('the job queue: SSE, TLS only, this account only, visibility 6 x the worker timeout, a DLQ after 5 receives', () => {
      const [queueId, jobs] = queue();
      expect(jobs.Properties).toMatchObject({
        SqsManagedSseEnabled: true,
        VisibilityTimeout: 6 * 300,
        RedrivePolicy: {
          deadLetterTargetArn: { 'Fn::GetAtt': [expect.stringMatching(/^ReconcileJobsDeadLetterQueue/), 'Arn'] },
          maxReceiveCount: 5,
        },
      });
      const policy = byType('AWS::SQS::QueuePolicy').find(([, r]) =>
        JSON.stringify(r.Properties.Queues).includes(queueId),
      );
      const statements = (policy?.[1].Properties.PolicyDocument as { Statement: Record<string, unknown>[] }).Statement;
      expect(statements).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          expect.objectContaining({
            Sid: 'OnlyThisAccount',
            Effect: 'Deny',
            Condition: { StringNotEquals: { 'aws:PrincipalAccount': { Ref: 'AWS::AccountId' } } },
          }),
        ]),
      );
    });

    test('the worker: capped concurrency, its mapping with MaximumConcurrency and ReportBatchItemFailures, the reconcile role', () => {
      const [workerId, worker] = fn(FUNCTION_NAMES.reconcileWorker);
      const [, sweep] = fn(FUNCTION_NAMES.reconcile);
      expect(worker.Properties).toMatchObject({ ReservedConcurrentExecutions: 10, Timeout: 300, MemorySize: 512 });
      // The customer roles trust the reconcile role by name: the worker runs as it.
      expect(worker.Properties.Role).toEqual(sweep.Properties.Role);
      template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        FunctionName: { Ref: workerId },
        EventSourceArn: { 'Fn::GetAtt': [queue()[0], 'Arn'] },
        BatchSize: 10,
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        ScalingConfig: { MaximumConcurrency: 10 },
      });
      const env = deployedEnv(FUNCTION_NAMES.reconcileWorker);
      expect(env).toMatchObject({
        RECONCILE_PERIOD_SECONDS: '900',
        RECONCILE_HEALTHY_EVERY: '4',
        RECONCILE_ROLE_ARN: `arn:aws:iam::123456789012:role/${COLLECTOR_ROLE_NAMES.reconcile}`,
      });
      expect(env.RECONCILE_JOB_QUEUE_URL).toBe(deployedEnv(FUNCTION_NAMES.reconcile).RECONCILE_JOB_QUEUE_URL);
      expect(loadReconcileConfig(env).cadence).toEqual({ periodSeconds: 900, healthyEvery: 4 });
    });

    test('the reconcile role may send to, and poll, only the job queue; and write to both log groups', () => {
      const statements = roleInlineStatements(role(COLLECTOR_ROLE_NAMES.reconcile)[1]);
      const [queueId] = queue();
      const onQueue = statements.filter((statement) => JSON.stringify(statement.Resource).includes(queueId));
      expect(onQueue.flatMap((statement) => statement.Action as string[]).sort()).toEqual([
        'sqs:ChangeMessageVisibility',
        'sqs:DeleteMessage',
        'sqs:GetQueueAttributes',
        'sqs:ReceiveMessage',
        'sqs:SendMessage',
      ]);
      const logs = statements.find((statement) => (statement.Action as string[]).includes('logs:PutLogEvents'));
      expect(JSON.stringify(logs?.Resource)).toContain('ReconcileLogs');
      expect(JSON.stringify(logs?.Resource)).toContain('ReconcileWorkerLogs');
    });

    test('outputs: the job queue URL and ARN for the senders', () => {
      expect(json.Outputs.ReconcileJobQueueUrl!.Value).toEqual({ Ref: queue()[0] });
      expect(json.Outputs.ReconcileJobQueueArn!.Value).toEqual({ 'Fn::GetAtt': [queue()[0], 'Arn'] });
    });
  });

  test('the EventBridge schedule runs reconcile every 15 minutes, with retries and a dead-letter queue', () => {
    const [logicalId] = fn(FUNCTION_NAMES.reconcile);
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(15 minutes)',
      State: 'ENABLED',
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [logicalId, 'Arn'] },
          RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 600 },
          DeadLetterConfig: { Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ReconcileFailures'), 'Arn'] } },
        }),
      ],
    });
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      Principal: 'events.amazonaws.com',
      FunctionName: { 'Fn::GetAtt': [logicalId, 'Arn'] },
    });
  });

  describe('event source: mappings are created at run time by reconcile, on the customer queues', () => {
    test('no static mapping to ingest in the stack; the ingest role may poll only queues named outcomesqueue in this region', () => {
      // The one mapping is the reconcile job queue's, to the worker.
      const [ingestId] = fn(FUNCTION_NAMES.ingest);
      expect(
        byType('AWS::Lambda::EventSourceMapping').filter(([, m]) => JSON.stringify(m.Properties).includes(ingestId)),
      ).toEqual([]);
      const statements = roleInlineStatements(role(COLLECTOR_ROLE_NAMES.ingest)[1]);
      const polling = statements.find((statement) => statement.Sid === 'EventSourcePollingCustomerQueuesInRegion');
      expect(polling).toMatchObject({
        Action: ['sqs:ChangeMessageVisibility', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:ReceiveMessage'],
        Resource: {
          'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':sqs:', { Ref: 'AWS::Region' }, ':*:outcomesqueue']],
        },
      });
    });

    test('reconcile may create, update and delete mappings only for the ingest function', () => {
      const [ingestId] = fn(FUNCTION_NAMES.ingest);
      const statements = roleInlineStatements(role(COLLECTOR_ROLE_NAMES.reconcile)[1]);
      for (const action of [
        'lambda:CreateEventSourceMapping',
        'lambda:UpdateEventSourceMapping',
        'lambda:DeleteEventSourceMapping',
      ]) {
        const statement = statements.find((s) => ([] as string[]).concat(s.Action).includes(action));
        expect(statement?.Condition).toEqual({
          ArnLike: {
            'lambda:FunctionArn': [
              { 'Fn::GetAtt': [ingestId, 'Arn'] },
              { 'Fn::Join': ['', [{ 'Fn::GetAtt': [ingestId, 'Arn'] }, ':*']] },
            ],
          },
        });
      }
    });

    test('the mapping and queue reconcile creates: ReportBatchItemFailures, batches of 10, visibility 6 x timeout, redrive to the DLQ, MaximumConcurrency', async () => {
      const sent: unknown[] = [];
      const client = { send: (command: unknown) => (sent.push(command), Promise.resolve({})) };
      const customer = { sqs: () => client } as unknown as CustomerClients;
      const collector = { lambda: client } as unknown as CollectorClients;
      const config = loadReconcileConfig(deployedEnv(FUNCTION_NAMES.reconcile));
      const executor = createActionExecutor(customer, collector, {
        accountId: '111122223333',
        queueVisibilityTimeoutSeconds: config.queueVisibilityTimeoutSeconds,
        ingestRoleArn: INGEST_ROLE_ARN,
      });
      const queueArn = 'arn:aws:sqs:us-east-1:111122223333:outcomesqueue';
      const action = (spec: Pick<PlannedAction, 'code' | 'params'>): PlannedAction =>
        ({
          id: 'a',
          resource: 'r',
          reason: 'QUEUE_MISSING',
          part: 'queue',
          dependsOn: [],
          costImpact: { monthlyUsd: 0, note: '' },
          ...spec,
        }) as PlannedAction;
      await executor.execute(
        action({
          code: 'CREATE_ESM',
          params: {
            queueArn,
            functionArn: config.ingestFunctionArn!,
            maximumConcurrency: config.esmMaximumConcurrency,
          },
        }),
      );
      await executor.execute(
        action({
          code: 'CREATE_QUEUE',
          params: { queueName: 'outcomesqueue', region: 'us-east-1', deadLetterQueueArn: `${queueArn}-dlq` },
        }),
      );
      const esm = sent.find((c) => c instanceof CreateEventSourceMappingCommand) as CreateEventSourceMappingCommand;
      expect(esm.input).toMatchObject({
        EventSourceArn: queueArn,
        FunctionName: INGEST_ARN,
        BatchSize: 10,
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        Enabled: true,
        ScalingConfig: { MaximumConcurrency: 4 },
      });
      const queue = sent.find((c) => c instanceof CreateQueueCommand) as CreateQueueCommand;
      expect(queue.input.Attributes).toMatchObject({ VisibilityTimeout: '1800', SqsManagedSseEnabled: 'true' });
      expect(JSON.parse(queue.input.Attributes!.RedrivePolicy!)).toEqual({
        deadLetterTargetArn: `${queueArn}-dlq`,
        // The retry budget of the hub queues: a customer queue rides out the same outage (lambdas/reconcile/apply.ts).
        maxReceiveCount: HUB_MAX_RECEIVE_COUNT,
      });
    });
  });

  test("execution roles: fixed names, trusted by Lambda only, holding exactly the permission map's actions", () => {
    for (const principal of ['ingest', 'reconcile'] as const) {
      const [, resource] = role(COLLECTOR_ROLE_NAMES[principal]);
      expect(resource.Properties.AssumeRolePolicyDocument).toEqual({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: 'sts:AssumeRole', Principal: { Service: 'lambda.amazonaws.com' } }],
      });
      expect(resource.Properties.ManagedPolicyArns).toBeUndefined();
      expect(allowedActions(roleInlineStatements(resource))).toEqual(
        // cdk.json's sink is the NDJSON intake: the Firehose grant is for sink.type firehose only.
        actionsFor(principal, undefined, 'customer-queue', 'ndjson'),
      );
    }
    // Nothing else grants to them: no separate policies, no managed policies.
    template.resourceCountIs('AWS::IAM::Policy', 0);
    template.resourceCountIs('AWS::IAM::ManagedPolicy', 0);
    // The third: the template bucket's publisher (BucketDeployment's handler), also built from the map.
    template.resourceCountIs('AWS::IAM::Role', 3);
    const publisher = byType('AWS::IAM::Role').find(([id]) => id.startsWith('TemplateBucketPublisherRole'));
    expect(publisher?.[1].Properties.AssumeRolePolicyDocument).toEqual({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: 'sts:AssumeRole', Principal: { Service: 'lambda.amazonaws.com' } }],
    });
    expect(allowedActions(roleInlineStatements(publisher![1] as never))).toEqual(actionsFor('template-publisher'));
  });

  test('every function has its own log group with the configured retention, kept on delete', () => {
    const groups = byType('AWS::Logs::LogGroup');
    // The three functions' and the template publisher's (BucketDeployment's handler).
    expect(groups).toHaveLength(4);
    for (const [, group] of groups) {
      expect(group.Properties.RetentionInDays).toBe(90);
      expect(group.DeletionPolicy).toBe('Retain');
    }
    for (const name of Object.values(FUNCTION_NAMES)) {
      const logGroup = (fn(name)[1].Properties.LoggingConfig as { LogGroup: { Ref: string } }).LogGroup.Ref;
      expect(groups.map(([id]) => id)).toContain(logGroup);
    }
  });

  test('alarms: DLQ depth, ingest errors, reconcile failures, accounts not healthy, stale accounts; all notify the topic', () => {
    const alarms = byType('AWS::CloudWatch::Alarm').map(([, alarm]) => alarm.Properties);
    expect(alarms.map((alarm) => alarm.AlarmName).sort()).toEqual([
      'cloudtrail-collector-accounts-lagging',
      'cloudtrail-collector-accounts-not-healthy',
      'cloudtrail-collector-accounts-not-reconciled-in-time',
      'cloudtrail-collector-accounts-stale',
      'cloudtrail-collector-dead-letter-messages',
      'cloudtrail-collector-ingest-downstream-unavailable',
      'cloudtrail-collector-ingest-errors',
      'cloudtrail-collector-ingest-messages-failing',
      'cloudtrail-collector-ingest-throttles',
      'cloudtrail-collector-ingest-visibility-change-denied',
      'cloudtrail-collector-reconcile-errors',
      'cloudtrail-collector-reconcile-failures-queued',
      'cloudtrail-collector-reconcile-jobs-dead-lettered',
      'cloudtrail-collector-reconcile-not-running',
    ]);
    const [topicId] = byType('AWS::SNS::Topic')[0]!;
    for (const alarm of alarms) {
      expect(alarm.AlarmActions).toEqual([{ Ref: topicId }]);
      expect(alarm.OKActions).toEqual([{ Ref: topicId }]);
      expect(typeof alarm.AlarmDescription).toBe('string');
    }
    const reconcileMetric = {
      Namespace: METRICS.namespace,
      Dimensions: [{ Name: 'service', Value: METRICS.reconcileService }],
    };
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'cloudtrail-collector-dead-letter-messages',
      MetricName: 'DeadLetterMessages',
      ...reconcileMetric,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'cloudtrail-collector-accounts-not-healthy',
      MetricName: 'AccountsNotHealthy',
      ...reconcileMetric,
      EvaluationPeriods: 2,
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'cloudtrail-collector-accounts-stale',
      MetricName: 'AccountsStale',
      ...reconcileMetric,
    });
    // COLLECTION_LAGGING in two runs in a row (a file in flight during one run is not an alarm).
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'cloudtrail-collector-accounts-lagging',
      MetricName: 'AccountsLagging',
      ...reconcileMetric,
      EvaluationPeriods: 2,
      DatapointsToAlarm: 2,
    });
    // The downstream circuit open for 15 minutes; missing data (no batch in a period) keeps the state.
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'cloudtrail-collector-ingest-downstream-unavailable',
      MetricName: 'DownstreamBreakerOpen',
      Namespace: METRICS.namespace,
      Dimensions: [{ Name: 'service', Value: METRICS.ingestService }],
      Statistic: 'Maximum',
      Period: 300,
      EvaluationPeriods: 3,
      DatapointsToAlarm: 3,
      Threshold: 1,
      TreatMissingData: 'ignore',
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'cloudtrail-collector-ingest-visibility-change-denied',
      MetricName: 'VisibilityChangeDenied',
      Namespace: METRICS.namespace,
      Dimensions: [{ Name: 'service', Value: METRICS.ingestService }],
      Statistic: 'Sum',
      Period: 3600,
      Threshold: 1,
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'cloudtrail-collector-ingest-errors',
      MetricName: 'Errors',
      Namespace: 'AWS/Lambda',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: fn(FUNCTION_NAMES.ingest)[0] } }],
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'cloudtrail-collector-reconcile-not-running',
      MetricName: 'Invocations',
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'breaching',
      Period: 1800,
    });
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
  });

  test('the failure queue and the alarm topic require TLS; the failure queue is encrypted', () => {
    template.hasResourceProperties('AWS::SQS::Queue', {
      QueueName: 'cloudtrail-collector-reconcile-failures',
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 14 * 24 * 3600,
    });
    for (const type of ['AWS::SQS::QueuePolicy', 'AWS::SNS::TopicPolicy']) {
      template.hasResourceProperties(type, {
        PolicyDocument: Match.objectLike({
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          ]),
        }),
      });
    }
  });

  test('outputs: the topology for the CLI, and no hub queues', () => {
    expect(json.Outputs.IngestTopology!.Value).toBe('customer-queue');
    expect(json.Outputs).not.toHaveProperty('HubQueueArns');
    // The reconcile failure queue, and the reconcile job queue with its DLQ.
    template.resourceCountIs('AWS::SQS::Queue', 3);
    template.resourceCountIs('AWS::CloudWatch::CompositeAlarm', 0);
  });

  test('outputs: both role ARNs and the exact customer deploy commands', () => {
    const [ingestRoleId] = role(COLLECTOR_ROLE_NAMES.ingest);
    const [reconcileRoleId] = role(COLLECTOR_ROLE_NAMES.reconcile);
    expect(json.Outputs.IngestRoleArn!.Value).toEqual({ 'Fn::GetAtt': [ingestRoleId, 'Arn'] });
    expect(json.Outputs.ReconcileRoleArn!.Value).toEqual({ 'Fn::GetAtt': [reconcileRoleId, 'Arn'] });
    const joined = (output: string) =>
      (json.Outputs[output]!.Value as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1]
        .map((part) => (typeof part === 'string' ? part : `<${(part as { Ref: string }).Ref}>`))
        .join('');
    expect(joined('CustomerDeployCommand')).toBe(
      'aws cloudformation deploy --stack-name cloudtrail-collector-role ' +
        `--template-file ${GENERATED_FILES.customerTemplate} --capabilities CAPABILITY_NAMED_IAM --region <AWS::Region> ` +
        '--parameter-overrides CollectorAccountId=<AWS::AccountId> ExternalId=<external-id-from-accounts-add> Mode=apply',
    );
    expect(joined('LogArchiveDeployCommand')).toContain(`--template-file ${GENERATED_FILES.logArchiveTemplate}`);
    expect(joined('LogArchiveDeployCommand')).toMatch(/ LogArchiveBucketName=<archive-bucket>$/);
  });
});
