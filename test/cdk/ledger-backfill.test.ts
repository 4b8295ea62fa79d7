/**
 * The ledger table (both topologies) and the backfill queue (hub topology) in the collector stack: the table's keys,
 * TTL, protection and name (`<registry>-ledger`, what the command line derives from ACCOUNTS_TABLE), the grants on
 * it; the backfill queue's settings, its policy (this account's principals only, no SNS, TLS only), its mapping
 * counted in the concurrency rule, the environment and outputs of both functions, which their configs accept.
 */
import { loadIngestConfig } from '../../lambdas/ingest/config';
import { loadReconcileConfig } from '../../lambdas/reconcile/config';
import { ledgerTableName } from '../../lambdas/shared/ledger';
import { BACKFILL_MAXIMUM_CONCURRENCY, HUB_MAX_RECEIVE_COUNT } from '../../lambdas/shared/topology';
import { BACKFILL_BATCH_SIZE } from '../../lib/backfill-queue.construct';
import { hubSnsPrincipals } from '../../lib/hub-queues.construct';
import { BACKFILL_QUEUE_NAMES, COLLECTOR_ROLE_NAMES, FUNCTION_NAMES } from '../../lib/names';
import {
  DEPLOYED,
  TOKEN_SECRET_ARN,
  asArray,
  configWithIngest,
  deployedValue,
  roleInlineStatements,
  synthApp,
  cdkJsonConfig,
  type Statement,
} from './support';

type Resource = { Type: string; Properties: Record<string, unknown>; DeletionPolicy?: string };
type Json = { Resources: Record<string, Resource>; Outputs: Record<string, { Value: unknown }> };

function synthCollector(ingest: Record<string, unknown>): Json {
  const built = synthApp({ nag: false, config: configWithIngest(ingest) });
  return built.template(built.collector).toJSON() as Json;
}

const byType = (json: Json, type: string): [string, Resource][] =>
  Object.entries(json.Resources).filter(([, resource]) => resource.Type === type);

function named(json: Json, type: string, key: string, name: unknown): [string, Resource] {
  const found = byType(json, type).find(([, r]) => JSON.stringify(r.Properties[key]) === JSON.stringify(name));
  if (found === undefined) throw new Error(`no ${type} with ${key} ${JSON.stringify(name)}`);
  return found;
}

function environment(json: Json, functionName: string): Record<string, string> {
  const [, fn] = named(json, 'AWS::Lambda::Function', 'FunctionName', functionName);
  const variables = (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
  const env: Record<string, string> = { AWS_REGION: DEPLOYED.region };
  for (const [key, value] of Object.entries(variables)) {
    env[key] = deployedValue(json, value) ?? (key === 'DOWNSTREAM_TOKEN_SECRET_ARN' ? TOKEN_SECRET_ARN : `x-${key}`);
  }
  return env;
}

/** The IAM actions the role is allowed on exactly this ARN (resources resolved as deployed). */
function grantsOn(json: Json, roleName: string, arn: string): string[] {
  const [, role] = named(json, 'AWS::IAM::Role', 'RoleName', roleName);
  return roleInlineStatements(role as never)
    .filter((s: Statement) => s.Effect === 'Allow')
    .filter((s) => asArray(s.Resource).some((r) => deployedValue(json, r) === arn))
    .flatMap((s) => asArray(s.Action))
    .sort();
}

describe.each(['hub', 'customer-queue'] as const)('the ledger table (%s topology)', (topology) => {
  const json = synthCollector({ topology });
  const [registryId] = byType(json, 'AWS::DynamoDB::Table').find(([, t]) =>
    JSON.stringify(t.Properties.KeySchema).includes('accountId'),
  )!;
  const [ledgerId, ledger] = named(json, 'AWS::DynamoDB::Table', 'TableName', {
    'Fn::Join': ['', [{ Ref: registryId }, '-ledger']],
  });
  const registryName = deployedValue(json, { Ref: registryId })!;
  const ledgerName = deployedValue(json, { Ref: ledgerId })!;
  const ledgerArn = `arn:aws:dynamodb:${DEPLOYED.region}:${DEPLOYED.account}:table/${ledgerName}`;

  test('pk/sk strings, on demand, TTL on expiresAt, encrypted, restorable, protected and kept like the registry', () => {
    expect(ledger.Properties).toEqual({
      TableName: { 'Fn::Join': ['', [{ Ref: registryId }, '-ledger']] },
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      SSESpecification: { SSEEnabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      DeletionProtectionEnabled: true,
    });
    expect(ledger.DeletionPolicy).toBe('Retain');
    // The name the command line derives from ACCOUNTS_TABLE alone.
    expect(ledgerName).toBe(ledgerTableName(registryName));
  });

  test('point-in-time recovery can be turned off (ledger.pointInTimeRecovery), with its nag suppression next to it', () => {
    const built = synthApp({ nag: false, config: { ...cdkJsonConfig(), ledger: { pointInTimeRecovery: false } } });
    const off = built.template(built.collector).toJSON() as Json;
    const [, table] = byType(off, 'AWS::DynamoDB::Table').find(([, t]) =>
      String(JSON.stringify(t.Properties.TableName)).includes('-ledger'),
    )!;
    expect(table.Properties.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: false });
    const metadata = (table as { Metadata?: { cdk_nag?: { rules_to_suppress?: { id: string }[] } } }).Metadata;
    expect(metadata?.cdk_nag?.rules_to_suppress?.map((rule) => rule.id)).toEqual(['AwsSolutions-DDB3']);
  });

  test('LEDGER_TABLE for both functions, accepted by their configs; an output for operators', () => {
    for (const name of [FUNCTION_NAMES.ingest, FUNCTION_NAMES.reconcile]) {
      expect(environment(json, name).LEDGER_TABLE).toBe(ledgerName);
    }
    expect(loadIngestConfig(environment(json, FUNCTION_NAMES.ingest)).ledgerTable).toBe(ledgerName);
    expect(loadReconcileConfig(environment(json, FUNCTION_NAMES.reconcile)).ledgerTable).toBe(ledgerName);
    expect(deployedValue(json, json.Outputs.LedgerTableName!.Value)).toBe(ledgerName);
  });

  test('ingest writes it (BatchWriteItem, UpdateItem), reconcile reads it (Query, GetItem), nothing more', () => {
    expect(grantsOn(json, COLLECTOR_ROLE_NAMES.ingest, ledgerArn)).toEqual([
      'dynamodb:BatchWriteItem',
      'dynamodb:UpdateItem',
    ]);
    expect(grantsOn(json, COLLECTOR_ROLE_NAMES.reconcile, ledgerArn)).toEqual(['dynamodb:GetItem', 'dynamodb:Query']);
  });
});

describe('the backfill queue (hub topology)', () => {
  const json = synthCollector({ topology: 'hub' });
  const [queueId, queue] = named(json, 'AWS::SQS::Queue', 'QueueName', BACKFILL_QUEUE_NAMES.queue);
  const [dlqId, dlq] = named(json, 'AWS::SQS::Queue', 'QueueName', BACKFILL_QUEUE_NAMES.deadLetterQueue);
  const arn = `arn:aws:sqs:${DEPLOYED.region}:${DEPLOYED.account}:${BACKFILL_QUEUE_NAMES.queue}`;
  const url = `https://sqs.${DEPLOYED.region}.amazonaws.com/${DEPLOYED.account}/${BACKFILL_QUEUE_NAMES.queue}`;

  test('SSE-SQS, 14 days, visibility 6 x the ingest timeout, its own DLQ after HUB_MAX_RECEIVE_COUNT receives', () => {
    expect(queue.Properties).toEqual({
      QueueName: BACKFILL_QUEUE_NAMES.queue,
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 14 * 24 * 3600,
      VisibilityTimeout: 6 * 300,
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [dlqId, 'Arn'] }, maxReceiveCount: HUB_MAX_RECEIVE_COUNT },
    });
    expect(dlq.Properties).toEqual({
      QueueName: BACKFILL_QUEUE_NAMES.deadLetterQueue,
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 14 * 24 * 3600,
    });
  });

  test('its policy: TLS only, principals of this account only, no SNS topic; the same on its DLQ', () => {
    for (const id of [queueId, dlqId]) {
      const [, policy] = byType(json, 'AWS::SQS::QueuePolicy').find(
        ([, p]) => JSON.stringify(p.Properties.Queues) === JSON.stringify([{ Ref: id }]),
      )!;
      const resource = { 'Fn::GetAtt': [id, 'Arn'] };
      expect((policy.Properties.PolicyDocument as { Statement: unknown[] }).Statement).toEqual([
        {
          Effect: 'Deny',
          Principal: { AWS: '*' },
          Action: 'sqs:*',
          Resource: resource,
          Condition: { Bool: { 'aws:SecureTransport': 'false' } },
        },
        {
          Sid: 'OnlyThisAccount',
          Effect: 'Deny',
          Principal: { AWS: '*' },
          Action: 'sqs:*',
          Resource: resource,
          Condition: { StringNotEquals: { 'aws:PrincipalAccount': { Ref: 'AWS::AccountId' } } },
        },
        {
          Sid: 'NoSnsTopic',
          Effect: 'Deny',
          Principal: { Service: hubSnsPrincipals() },
          Action: 'sqs:SendMessage',
          Resource: resource,
        },
      ]);
    }
  });

  test('one mapping to ingest: batches of 2 messages (20 files), MaximumConcurrency 2, ReportBatchItemFailures', () => {
    const [ingestId] = named(json, 'AWS::Lambda::Function', 'FunctionName', FUNCTION_NAMES.ingest);
    const mapping = byType(json, 'AWS::Lambda::EventSourceMapping').find(
      ([, m]) => deployedValue(json, m.Properties.EventSourceArn) === arn,
    )![1];
    expect(mapping.Properties).toEqual({
      EventSourceArn: { 'Fn::GetAtt': [queueId, 'Arn'] },
      FunctionName: { Ref: ingestId },
      BatchSize: BACKFILL_BATCH_SIZE,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: BACKFILL_MAXIMUM_CONCURRENCY },
    });
  });

  test('BACKFILL_QUEUE_ARN for ingest, BACKFILL_QUEUE_URL for reconcile (accepted by their configs), and outputs', () => {
    const ingestEnv = environment(json, FUNCTION_NAMES.ingest);
    const reconcileEnv = environment(json, FUNCTION_NAMES.reconcile);
    expect(ingestEnv.BACKFILL_QUEUE_ARN).toBe(arn);
    expect(ingestEnv.BACKFILL_QUEUE_URL).toBeUndefined();
    expect(reconcileEnv.BACKFILL_QUEUE_URL).toBe(url);
    expect(loadIngestConfig(ingestEnv).backfillQueueArn).toBe(arn);
    expect(loadReconcileConfig(reconcileEnv).backfill).toEqual({
      maxDays: 7,
      maxFilesPerRun: 2_000,
      marginMinutes: 60,
      queueUrl: url,
    });
    expect(deployedValue(json, json.Outputs.BackfillQueueUrl!.Value)).toBe(url);
    expect(deployedValue(json, json.Outputs.BackfillQueueArn!.Value)).toBe(arn);
  });

  test('reconcile may send to it, ingest may poll it; nothing else is granted on it', () => {
    expect(grantsOn(json, COLLECTOR_ROLE_NAMES.reconcile, arn)).toEqual(['sqs:SendMessage']);
    expect(grantsOn(json, COLLECTOR_ROLE_NAMES.ingest, arn)).toEqual([
      'sqs:ChangeMessageVisibility',
      'sqs:DeleteMessage',
      'sqs:GetQueueAttributes',
      'sqs:ReceiveMessage',
    ]);
  });

  test('an alarm on its DLQ notifies the alarm topic', () => {
    const [, alarm] = named(
      json,
      'AWS::CloudWatch::Alarm',
      'AlarmName',
      'cloudtrail-collector-backfill-dead-letter-messages',
    );
    expect(alarm.Properties).toMatchObject({
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Namespace: 'AWS/SQS',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [dlqId, 'QueueName'] } }],
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
    expect(alarm.Properties.AlarmActions).toHaveLength(1);
  });

  test('the customer-queue topology has none: no queue, no variables, no output, no alarm', () => {
    const plain = synthCollector({ topology: 'customer-queue' });
    expect(
      byType(plain, 'AWS::CloudWatch::Alarm').filter(([, a]) => String(a.Properties.AlarmName).includes('backfill')),
    ).toEqual([]);
    expect(
      byType(plain, 'AWS::SQS::Queue').filter(([, q]) => String(q.Properties.QueueName).includes('backfill')),
    ).toEqual([]);
    expect(environment(plain, FUNCTION_NAMES.ingest).BACKFILL_QUEUE_ARN).toBeUndefined();
    expect(environment(plain, FUNCTION_NAMES.reconcile).BACKFILL_QUEUE_URL).toBeUndefined();
    expect(plain.Outputs.BackfillQueueUrl).toBeUndefined();
  });
});
