/**
 * The hub topology (the default): K queues in the collector account, each with its DLQ and one event source
 * mapping, the queue policy SNS delivers under, the grants on them, the environment and outputs the functions and
 * the CLI read, and the alarms. The customer-queue topology's resources are test/cdk/collector-stack.test.ts.
 */
import { Template } from 'aws-cdk-lib/assertions';
import { loadIngestConfig } from '../../lambdas/ingest/config';
import { loadReconcileConfig } from '../../lambdas/reconcile/config';
import {
  HUB_MAX_RECEIVE_COUNT,
  MAX_HUB_SHARDS,
  hubDeadLetterQueueName,
  hubQueueName,
} from '../../lambdas/shared/topology';
import { HUB_BATCHING, hubSnsPrincipals } from '../../lib/hub-queues.construct';
import { checkStatement, loadReference, type PlainStatement } from './iam-reference';
import { HUB_MESSAGE_AGE_ALARM_SECONDS } from '../../lib/monitoring.construct';
import { COLLECTOR_ROLE_NAMES, FUNCTION_NAMES, STACK_IDS } from '../../lib/names';
import { actionsFor } from '../../lib/permissions';
import {
  DEPLOYED,
  allowedActions,
  asArray,
  configWithIngest,
  deployedValue,
  roleInlineStatements,
  synthApp,
  type Statement,
} from './support';

type Resource = { Type: string; Properties: Record<string, unknown> };
type Json = { Resources: Record<string, Resource>; Outputs: Record<string, { Value: unknown; Description?: string }> };

function synthCollector(ingest: Record<string, unknown> = {}): Json {
  const built = synthApp({ nag: false, config: configWithIngest(ingest) });
  return built.template(built.collector).toJSON() as Json;
}

const byType = (json: Json, type: string): [string, Resource][] =>
  Object.entries(json.Resources).filter(([, resource]) => resource.Type === type);

function named(json: Json, type: string, key: string, name: string): [string, Resource] {
  const found = byType(json, type).find(([, resource]) => resource.Properties[key] === name);
  if (found === undefined) throw new Error(`no ${type} with ${key} ${name}`);
  return found;
}

const queueArn = (name: string) => `arn:aws:sqs:${DEPLOYED.region}:${DEPLOYED.account}:${name}`;

/** Does an IAM resource pattern (`*` any run of characters, `?` one character) match this ARN? */
function iamMatches(pattern: string, arn: string): boolean {
  const regex = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${regex}$`).test(arn);
}

/** The role's statements with every CloudFormation value resolved as deployed. */
function deployedStatements(json: Json, roleName: string): Statement[] {
  const [, role] = named(json, 'AWS::IAM::Role', 'RoleName', roleName);
  const resolve = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(resolve);
    const deployed = deployedValue(json, value);
    if (deployed !== undefined) return deployed;
    if (typeof value === 'object' && value !== null) {
      return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, resolve(inner)]));
    }
    return value;
  };
  return roleInlineStatements(role as never).map((statement) => resolve(statement) as Statement);
}

function environment(json: Json, functionName: string): Record<string, string> {
  const [, fn] = named(json, 'AWS::Lambda::Function', 'FunctionName', functionName);
  const variables = (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
  const env: Record<string, string> = { AWS_REGION: DEPLOYED.region };
  for (const [key, value] of Object.entries(variables)) {
    env[key] =
      deployedValue(json, value) ??
      (key === 'DOWNSTREAM_TOKEN_SECRET_ARN'
        ? `arn:aws:secretsmanager:${DEPLOYED.region}:${DEPLOYED.account}:secret:t-AbCdEf`
        : `resolved-${key.toLowerCase()}`);
  }
  return env;
}

describe.each([
  { shards: 8, ingest: {} },
  { shards: 1, ingest: { hubShards: 1, maximumConcurrency: 2, reservedConcurrency: 4 } },
])('hub topology with $shards shard(s)', ({ shards, ingest }) => {
  const json = synthCollector(ingest);
  const perMapping = (ingest as { maximumConcurrency?: number }).maximumConcurrency ?? 4;
  const hubQueueArns = Array.from({ length: shards }, (_, shard) => queueArn(hubQueueName(shard)));

  test('K queues, each with its own DLQ: SSE-SQS, 14 days, visibility 6 x the ingest timeout, redrive after HUB_MAX_RECEIVE_COUNT', () => {
    // The reconcile failure queue, a queue and a DLQ per shard, the backfill queue and its DLQ
    // (test/cdk/ledger-backfill.test.ts), and the reconcile job queue and its DLQ (lib/reconcile-jobs.construct.ts).
    expect(byType(json, 'AWS::SQS::Queue')).toHaveLength(1 + 2 * shards + 2 + 2);
    for (let shard = 0; shard < shards; shard += 1) {
      const [dlqId, dlq] = named(json, 'AWS::SQS::Queue', 'QueueName', hubDeadLetterQueueName(shard));
      const [, queue] = named(json, 'AWS::SQS::Queue', 'QueueName', hubQueueName(shard));
      expect(dlq.Properties).toEqual({
        QueueName: hubDeadLetterQueueName(shard),
        SqsManagedSseEnabled: true,
        MessageRetentionPeriod: 14 * 24 * 3600,
      });
      expect(queue.Properties).toEqual({
        QueueName: hubQueueName(shard),
        SqsManagedSseEnabled: true,
        MessageRetentionPeriod: 14 * 24 * 3600,
        VisibilityTimeout: 6 * 300,
        RedrivePolicy: {
          deadLetterTargetArn: { 'Fn::GetAtt': [dlqId, 'Arn'] },
          maxReceiveCount: HUB_MAX_RECEIVE_COUNT,
        },
      });
    }
  });

  test('queue policies: TLS only; SNS topics of any account may send to a hub queue, nothing may send to a DLQ', () => {
    for (let shard = 0; shard < shards; shard += 1) {
      for (const name of [hubQueueName(shard), hubDeadLetterQueueName(shard)]) {
        const [queueId] = named(json, 'AWS::SQS::Queue', 'QueueName', name);
        const policies = byType(json, 'AWS::SQS::QueuePolicy').filter(
          ([, policy]) => JSON.stringify(policy.Properties.Queues) === JSON.stringify([{ Ref: queueId }]),
        );
        expect(policies).toHaveLength(1);
        const statements = (policies[0]![1].Properties.PolicyDocument as { Statement: Statement[] }).Statement;
        const resource = { 'Fn::GetAtt': [queueId, 'Arn'] };
        const tlsOnly = {
          Effect: 'Deny',
          Principal: { AWS: '*' },
          Action: 'sqs:*',
          Resource: resource,
          Condition: { Bool: { 'aws:SecureTransport': 'false' } },
        };
        if (name.endsWith('-dlq')) {
          expect(statements).toEqual([tlsOnly]);
          continue;
        }
        expect(statements).toEqual([
          tlsOnly,
          {
            Sid: 'SnsTopicsSend',
            Effect: 'Allow',
            Principal: { Service: hubSnsPrincipals() },
            Action: 'sqs:SendMessage',
            Resource: resource,
            Condition: {
              ArnLike: { 'aws:SourceArn': { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':sns:*:*:*']] } },
            },
          },
        ]);
      }
    }
  });

  test('one mapping per hub queue: MaximumConcurrency, ReportBatchItemFailures, batches of 10 within 5 seconds', () => {
    const [ingestId] = named(json, 'AWS::Lambda::Function', 'FunctionName', FUNCTION_NAMES.ingest);
    // The hub queues' mappings (the backfill queue's has its own: test/cdk/ledger-backfill.test.ts).
    const mappings = byType(json, 'AWS::Lambda::EventSourceMapping')
      .map(([, mapping]) => mapping.Properties)
      .filter((mapping) => hubQueueArns.includes(deployedValue(json, mapping.EventSourceArn) ?? ''));
    // One per hub queue, the backfill queue's, and the reconcile worker's on the job queue.
    expect(byType(json, 'AWS::Lambda::EventSourceMapping')).toHaveLength(shards + 2);
    expect(mappings.map((mapping) => deployedValue(json, mapping.EventSourceArn))).toEqual(hubQueueArns);
    for (const mapping of mappings) {
      expect(mapping).toEqual({
        EventSourceArn: expect.anything(),
        FunctionName: { Ref: ingestId },
        BatchSize: HUB_BATCHING.batchSize,
        MaximumBatchingWindowInSeconds: HUB_BATCHING.windowSeconds,
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        ScalingConfig: { MaximumConcurrency: perMapping },
      });
    }
  });

  test('both functions get the topology and the hub queues in shard order, and accept them', () => {
    const ingestEnv = environment(json, FUNCTION_NAMES.ingest);
    const reconcileEnv = environment(json, FUNCTION_NAMES.reconcile);
    for (const env of [ingestEnv, reconcileEnv]) {
      expect(env).toMatchObject({ INGEST_TOPOLOGY: 'hub', HUB_QUEUE_ARNS: hubQueueArns.join(',') });
    }
    const reserved = (ingest as { reservedConcurrency?: number }).reservedConcurrency ?? 40;
    expect(reconcileEnv).toMatchObject({
      RECONCILE_ROLE_ARN: `arn:aws:iam::${DEPLOYED.account}:role/${COLLECTOR_ROLE_NAMES.reconcile}`,
      ESM_MAXIMUM_CONCURRENCY: String(perMapping),
      INGEST_RESERVED_CONCURRENCY: String(reserved),
    });
    expect(loadIngestConfig(ingestEnv)).toMatchObject({ hubQueueArns });
    expect(loadReconcileConfig(reconcileEnv)).toMatchObject({
      ingestTopology: 'hub',
      hubQueueArns,
      reconcileRoleArn: reconcileEnv.RECONCILE_ROLE_ARN,
      esmMaximumConcurrency: perMapping,
      ingestReservedConcurrency: reserved,
    });
    const [, fn] = named(json, 'AWS::Lambda::Function', 'FunctionName', FUNCTION_NAMES.ingest);
    expect(fn.Properties.ReservedConcurrentExecutions).toBe(reserved);
  });

  test('outputs for the CLI: the topology and the hub queue ARNs in shard order', () => {
    expect(json.Outputs.IngestTopology).toMatchObject({
      Value: 'hub',
      Description: expect.stringMatching(/CLI|command-line/),
    });
    expect(deployedValue(json, json.Outputs.HubQueueArns!.Value)).toBe(hubQueueArns.join(','));
    expect(json.Outputs.HubQueueArns!.Description).toMatch(/HUB_QUEUE_ARNS for the command-line tool/);
  });

  test('ingest may poll, retry and dead-letter on the hub queues only; reconcile may subscribe only them', () => {
    const others = [queueArn('cloudtrail-collector-reconcile-failures'), queueArn('outcomesqueue')];
    const dlqArns = Array.from({ length: shards }, (_, shard) => queueArn(hubDeadLetterQueueName(shard)));
    // What names this queue: "*" (actions with no resource type, such as lambda:ListEventSourceMappings) aside.
    const grantsOn = (statements: Statement[], arn: string) =>
      statements
        .filter(
          (s) =>
            s.Effect === 'Allow' &&
            asArray(s.Resource as string | string[]).some((r) => r !== '*' && iamMatches(r, arn)),
        )
        .flatMap((s) => asArray(s.Action))
        .sort();

    const ingestStatements = deployedStatements(json, COLLECTOR_ROLE_NAMES.ingest);
    for (const arn of hubQueueArns) {
      expect(grantsOn(ingestStatements, arn)).toEqual([
        'sqs:ChangeMessageVisibility',
        'sqs:DeleteMessage',
        'sqs:GetQueueAttributes',
        'sqs:ReceiveMessage',
      ]);
    }
    for (const arn of dlqArns) expect(grantsOn(ingestStatements, arn)).toEqual(['sqs:SendMessage']);
    // The reconcile failure queue is no hub queue: ingest may only send to it (the tamper events' on-failure
    // destination, lib/tamper-events.construct.ts); outcomesqueue keeps only its own (cross-account) grant.
    expect(grantsOn(ingestStatements, others[0]!)).toEqual(['sqs:SendMessage']);

    const reconcileStatements = deployedStatements(json, COLLECTOR_ROLE_NAMES.reconcile);
    for (const arn of hubQueueArns) expect(grantsOn(reconcileStatements, arn)).toEqual(['sqs:GetQueueAttributes']);
    for (const arn of dlqArns) expect(grantsOn(reconcileStatements, arn)).toEqual([]);
    const subscribe = reconcileStatements.find((s) => asArray(s.Action).includes('sns:Subscribe'));
    expect(subscribe).toMatchObject({ Resource: 'arn:aws:sns:*:*:*' });
    const endpoint = (subscribe!.Condition as { StringLike: { 'sns:Endpoint': string } }).StringLike['sns:Endpoint'];
    expect((subscribe!.Condition as { StringEquals: unknown }).StringEquals).toEqual({ 'sns:Protocol': 'sqs' });
    for (const arn of hubQueueArns) expect(iamMatches(endpoint, arn)).toBe(true);
    for (const arn of [...dlqArns, ...others]) expect(iamMatches(endpoint, arn)).toBe(false);
    const subscriptions = reconcileStatements.find((s) => asArray(s.Action).includes('sns:Unsubscribe'));
    expect(subscriptions).toMatchObject({
      Action: ['sns:GetSubscriptionAttributes', 'sns:SetSubscriptionAttributes', 'sns:Unsubscribe'],
      Resource: 'arn:aws:sns:*:*:*',
    });

    for (const principal of ['ingest', 'reconcile'] as const) {
      const [, role] = named(json, 'AWS::IAM::Role', 'RoleName', COLLECTOR_ROLE_NAMES[principal]);
      expect(allowedActions(roleInlineStatements(role as never))).toEqual(
        actionsFor(principal, undefined, 'hub', 'ndjson'),
      );
    }
  });

  test('alarms: a DLQ-depth and a message-age alarm per shard, notifying through two composite alarms', () => {
    const alarms = byType(json, 'AWS::CloudWatch::Alarm').map(([id, alarm]) => [id, alarm.Properties] as const);
    const [topicId] = byType(json, 'AWS::SNS::Topic')[0]!;
    for (let shard = 0; shard < shards; shard += 1) {
      const [dlqId] = named(json, 'AWS::SQS::Queue', 'QueueName', hubDeadLetterQueueName(shard));
      const [queueId] = named(json, 'AWS::SQS::Queue', 'QueueName', hubQueueName(shard));
      const depth = alarms.find(([, a]) => a.AlarmName === `${hubQueueName(shard)}-dead-letter-messages`)?.[1];
      const age = alarms.find(([, a]) => a.AlarmName === `${hubQueueName(shard)}-oldest-message`)?.[1];
      expect(depth).toMatchObject({
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [dlqId, 'QueueName'] } }],
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      });
      expect(age).toMatchObject({
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateAgeOfOldestMessage',
        Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [queueId, 'QueueName'] } }],
        Threshold: HUB_MESSAGE_AGE_ALARM_SECONDS,
        ComparisonOperator: 'GreaterThanThreshold',
      });
      // Per-shard alarms notify only through their composite: an outage over every shard is two notifications.
      expect(depth?.AlarmActions).toBeUndefined();
      expect(age?.AlarmActions).toBeUndefined();
    }
    const composites = byType(json, 'AWS::CloudWatch::CompositeAlarm').map(([, alarm]) => alarm.Properties);
    expect(composites.map((alarm) => alarm.AlarmName).sort()).toEqual([
      'cloudtrail-collector-hub-dead-letter-messages',
      'cloudtrail-collector-hub-messages-delayed',
    ]);
    for (const composite of composites) {
      expect(composite.AlarmActions).toEqual([{ Ref: topicId }]);
      expect(composite.OKActions).toEqual([{ Ref: topicId }]);
      const rule = JSON.stringify(composite.AlarmRule);
      expect(rule.match(/ALARM\(/g)).toHaveLength(shards);
    }
    // Every other alarm still notifies the topic itself.
    for (const [, alarm] of alarms.filter(([, a]) => !String(a.AlarmName).startsWith('cloudtrail-collector-ingest-'))) {
      expect(alarm.AlarmActions).toEqual([{ Ref: topicId }]);
    }
  });

  test('alarms: a poison message ingest could not copy to its hub DLQ, the downstream circuit open; both notify the topic', () => {
    const alarms = byType(json, 'AWS::CloudWatch::Alarm').map(([, alarm]) => alarm.Properties);
    const ingestMetric = { Namespace: 'CloudTrailCollector', Dimensions: [{ Name: 'service', Value: 'ingest' }] };
    const [topicId] = byType(json, 'AWS::SNS::Topic')[0]!;
    const moveFailed = alarms.find((a) => a.AlarmName === 'cloudtrail-collector-ingest-dead-letter-move-failed');
    expect(moveFailed).toMatchObject({
      ...ingestMetric,
      MetricName: 'DeadLetterMoveFailed',
      Statistic: 'Sum',
      Threshold: 1,
      EvaluationPeriods: 3,
      DatapointsToAlarm: 2,
      AlarmActions: [{ Ref: topicId }],
      OKActions: [{ Ref: topicId }],
    });
    expect(alarms.find((a) => a.AlarmName === 'cloudtrail-collector-ingest-downstream-unavailable')).toMatchObject({
      ...ingestMetric,
      MetricName: 'DownstreamBreakerOpen',
      AlarmActions: [{ Ref: topicId }],
    });
  });
});

describe('hub topology at its largest (48 shards)', () => {
  const shards = MAX_HUB_SHARDS;
  const json = synthCollector({ hubShards: shards, maximumConcurrency: 2, reservedConcurrency: 2 * shards + 2 });

  test("each execution role's inline policies stay within IAM's 10,240 characters (IAM and AWS STS quotas)", () => {
    for (const name of Object.values(COLLECTOR_ROLE_NAMES)) {
      // IAM counts the documents without white space: every statement, resolved as deployed, once.
      const size = JSON.stringify(deployedStatements(json, name)).length;
      expect({ name, size, fits: size < 10_240 }).toEqual({ name, size, fits: true });
    }
  });

  test("each hub queue policy stays within SQS's quotas: 8,192 bytes, 50 principals (Amazon SQS policy quotas)", () => {
    for (const [, policy] of byType(json, 'AWS::SQS::QueuePolicy')) {
      const document = policy.Properties.PolicyDocument as { Statement: Statement[] };
      const principals = document.Statement.flatMap((s) =>
        asArray((s as { Principal?: { Service?: string[] } }).Principal?.Service),
      );
      expect(principals.length).toBeLessThanOrEqual(50);
      // Resolved as deployed (the queue ARN in place of each GetAtt), the longest it can be.
      const deployed = JSON.stringify(document, (_, value: unknown) => deployedValue(json, value) ?? value);
      expect(Buffer.byteLength(deployed)).toBeLessThan(8_192);
    }
  });

  test('the dashboard does not grow with the shard count: one hub widget per metric family', () => {
    // The body is a Fn::Join of JSON fragments: each widget is one `"type":...` in it.
    const widgets = (body: unknown) => JSON.stringify(body).match(/\\"type\\":\\"(metric|alarm|text)\\"/g)?.length ?? 0;
    const small = synthCollector({ hubShards: 1, maximumConcurrency: 2, reservedConcurrency: 4 });
    const bodyOf = (template: Json) => byType(template, 'AWS::CloudWatch::Dashboard')[0]![1].Properties.DashboardBody;
    expect(widgets(bodyOf(json))).toBe(widgets(bodyOf(small)));
    expect(widgets(bodyOf(json))).toBeGreaterThan(0);
  });
});

test('the customer role templates are the same whatever the topology (one static template for every customer)', () => {
  const hub = synthApp({ nag: false, config: configWithIngest({ topology: 'hub' }) });
  const queue = synthApp({ nag: false, config: configWithIngest({ topology: 'customer-queue' }) });
  for (const key of ['customer', 'logArchive'] as const) {
    expect(Template.fromStack(hub[key]).toJSON()).toEqual(Template.fromStack(queue[key]).toJSON());
  }
  expect(hub.customer.stackName).toBe(STACK_IDS.customer);
});

/**
 * The queue, topic, mapping, role and registry grants (the ones the hub adds or sits beside). The log-group and
 * secret statements are left out: the checker's ARN formats do not cover `log-group:<name>:*` or a secret name
 * with `/`, both of which IAM accepts.
 */
test('both execution roles (hub) grant only existing actions, on their resource types, with condition keys they know', async () => {
  const services = ['dynamodb', 'lambda', 'sns', 'sqs', 'sts'];
  const reference = await loadReference(services);
  const json = synthCollector();
  const checked = (statement: Statement) =>
    asArray(statement.Action).every((action) => services.includes(action.split(':')[0]!));
  const statements = Object.values(COLLECTOR_ROLE_NAMES).flatMap((name) =>
    deployedStatements(json, name)
      .filter(checked)
      .map((statement) => ({ name, statement })),
  );
  expect(statements.some(({ statement }) => asArray(statement.Action).includes('sns:Subscribe'))).toBe(true);
  const problems = statements.flatMap(({ name, statement }) =>
    checkStatement(reference, statement as unknown as PlainStatement, name),
  );
  expect(problems).toEqual([]);
});
