/** apply: order, skipping on failure, mode gating; the AWS executor's exact requests; costs and config. */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  CloudTrailClient,
  CreateTrailCommand,
  StartLoggingCommand,
  UpdateTrailCommand,
} from '@aws-sdk/client-cloudtrail';
import {
  CreateEventSourceMappingCommand,
  DeleteEventSourceMappingCommand,
  LambdaClient,
  UpdateEventSourceMappingCommand,
} from '@aws-sdk/client-lambda';
import {
  CreateBucketCommand,
  GetBucketPolicyCommand,
  PutBucketPolicyCommand,
  PutPublicAccessBlockCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import {
  GetTopicAttributesCommand,
  SetSubscriptionAttributesCommand,
  SetTopicAttributesCommand,
  SNSClient,
  SubscribeCommand,
  UnsubscribeCommand,
} from '@aws-sdk/client-sns';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  SetQueueAttributesCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { applyPlan as applyById, createActionExecutor, type ActionExecutor } from '../../lambdas/reconcile/apply';
import { actionCostImpact, DEFAULT_COST_ASSUMPTIONS } from '../../lambdas/reconcile/costs';
import { plannedCostImpact } from '../../lambdas/reconcile/path-costs';
import type { ActionDraft } from '../../lambdas/reconcile/rules';
import { HUB_MAX_RECEIVE_COUNT, retryWindowSeconds } from '../../lambdas/shared/topology';
import { loadReconcileConfig } from '../../lambdas/reconcile/config';
import { planAccount, reportActions } from '../../lambdas/reconcile/plan';
import { ACTION_CODES, known, type ActionSpec, type PlannedAction } from '../../lambdas/reconcile/types';
import {
  ACCT,
  BUCKET,
  DLQ_ARN,
  FUNCTION_ARN,
  HUB_QUEUE_ARN,
  HUB_QUEUE_ARNS,
  HUB_SHARD,
  QUEUE_ARN,
  RECONCILE_ROLE_ARN,
  TOPIC_ARN,
  TRAIL_ARN,
  context,
  healthy,
} from '../../testkit/reconcile-fixtures';

/** apply's results (keyed by action id) joined to the plan in plan order, as the report shows them. */
async function applyPlan(plan: PlannedAction[], executor: ActionExecutor, allowed: (a: PlannedAction) => boolean) {
  return reportActions(plan, await applyById(plan, executor, allowed));
}

function emptyAccountPlan(): PlannedAction[] {
  const state = healthy();
  state.trails = known([]);
  state.buckets = { [BUCKET]: known({ state: 'absent' }) };
  state.topics = { [TOPIC_ARN]: known(null) };
  state.queues = { outcomesqueue: known(null), 'outcomesqueue-dlq': known(null) };
  return planAccount(state, context({ recorded: {} })).actions;
}

describe('applyPlan', () => {
  test('runs every action in plan order', async () => {
    const order: string[] = [];
    const actions = await applyPlan(
      emptyAccountPlan(),
      { execute: (a) => Promise.resolve(void order.push(a.code)) },
      () => true,
    );
    expect(actions.every((a) => a.status === 'applied')).toBe(true);
    expect(order).toEqual(actions.map((a) => a.code));
  });

  test('a failure skips exactly what depends on it (transitively); independent actions still run', async () => {
    const executor: ActionExecutor = {
      execute: (a) =>
        a.code === 'CREATE_TOPIC'
          ? Promise.reject(Object.assign(new Error('Rate exceeded'), { name: 'Throttling' }))
          : Promise.resolve(),
    };
    const actions = await applyPlan(emptyAccountPlan(), executor, () => true);
    expect(actions.map((a) => [a.code, a.status])).toEqual([
      ['CREATE_BUCKET', 'applied'],
      ['PUT_BUCKET_POLICY', 'applied'],
      ['CREATE_TOPIC', 'failed'],
      ['PUT_TOPIC_POLICY', 'skipped'],
      ['CREATE_QUEUE', 'applied'],
      ['CREATE_QUEUE', 'applied'],
      ['PUT_QUEUE_POLICY', 'skipped'],
      ['SUBSCRIBE', 'skipped'],
      ['CREATE_TRAIL', 'skipped'],
      ['START_LOGGING', 'skipped'],
    ]);
    expect(actions[2]!.error).toBe('CREATE_TOPIC failed: Throttling: Rate exceeded');
    expect(actions[9]!.error).toBe(`depends on CREATE_TRAIL ${TRAIL_ARN}, which was skipped`);
  });

  test('actions that may not run stay planned, and what depends on them is skipped', async () => {
    const execute = jest.fn(() => Promise.resolve());
    const actions = await applyPlan(emptyAccountPlan(), { execute }, (a) => a.code === 'PUT_BUCKET_POLICY');
    expect(actions[0]!.status).toBe('planned');
    expect(actions[1]).toMatchObject({ status: 'skipped', error: expect.stringContaining('which was not run') });
    expect(execute).not.toHaveBeenCalled();
  });

  test('the report form is exactly section 8: code, resource, reason, costImpact, status, error', async () => {
    const [first] = await applyPlan(emptyAccountPlan(), { execute: () => Promise.resolve() }, () => false);
    expect(Object.keys(first!).sort()).toEqual(['code', 'costImpact', 'reason', 'resource', 'status']);
  });
});

describe('createActionExecutor', () => {
  const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' };
  function setup() {
    const i = {
      ct: new CloudTrailClient({ region: 'us-east-1', credentials }),
      s3: new S3Client({ region: 'us-east-1', credentials }),
      sns: new SNSClient({ region: 'us-east-1', credentials }),
      sqs: new SQSClient({ region: 'us-east-1', credentials }),
      lambda: new LambdaClient({ region: 'us-east-1', credentials }),
      /** The collector's own SNS client: it subscribes its hub queues. */
      collectorSns: new SNSClient({ region: 'us-east-1', credentials }),
    };
    const m = {
      ct: mockClient(i.ct),
      s3: mockClient(i.s3),
      sns: mockClient(i.sns),
      sqs: mockClient(i.sqs),
      lambda: mockClient(i.lambda),
      collectorSns: mockClient(i.collectorSns),
    };
    const executor = createActionExecutor(
      { cloudTrail: () => i.ct, s3: () => i.s3, sns: () => i.sns, sqs: () => i.sqs },
      { lambda: i.lambda, sns: () => i.collectorSns },
      { accountId: ACCT, queueVisibilityTimeoutSeconds: 360 },
    );
    const run = (spec: ActionSpec) =>
      executor.execute({
        ...spec,
        id: 'x',
        resource: 'r',
        reason: 'TRAIL_MISSING',
        part: 'trail',
        dependsOn: [],
        costImpact: { monthlyUsd: 0, note: '' },
      });
    return { m, run };
  }

  test('CREATE_TRAIL: multi-region, global events, log file validation; nothing about selectors, Insights or Lake', async () => {
    const { m, run } = setup();
    m.ct.on(CreateTrailCommand).resolves({});
    await run({
      code: 'CREATE_TRAIL',
      params: { trailName: 'outcomes-trail', region: 'us-east-1', bucketName: BUCKET, topicName: 'outcomestopic' },
    });
    expect(m.ct.calls().map((c) => c.args[0].input)).toEqual([
      {
        Name: 'outcomes-trail',
        S3BucketName: BUCKET,
        SnsTopicName: 'outcomestopic',
        IsMultiRegionTrail: true,
        IncludeGlobalServiceEvents: true,
        EnableLogFileValidation: true,
      },
    ]);
  });

  test('UPDATE_TRAIL sends exactly one setting; START_LOGGING goes by name', async () => {
    const { m, run } = setup();
    await run({ code: 'UPDATE_TRAIL', params: { trailName: 'acme', region: 'eu-west-1', topicName: 'outcomestopic' } });
    await run({ code: 'START_LOGGING', params: { trailName: 'acme', region: 'eu-west-1' } });
    expect(m.ct.commandCalls(UpdateTrailCommand)[0]!.args[0].input).toEqual({
      Name: 'acme',
      SnsTopicName: 'outcomestopic',
    });
    expect(m.ct.commandCalls(StartLoggingCommand)[0]!.args[0].input).toEqual({ Name: 'acme' });
  });

  test('CREATE_BUCKET: ours already is fine, another owner is a failure; every bucket call names the owner', async () => {
    const { m, run } = setup();
    m.s3.on(CreateBucketCommand).rejectsOnce(Object.assign(new Error('yours'), { name: 'BucketAlreadyOwnedByYou' }));
    await run({ code: 'CREATE_BUCKET', params: { bucketName: BUCKET, region: 'us-east-1' } });
    expect(m.s3.commandCalls(PutPublicAccessBlockCommand)[0]!.args[0].input).toMatchObject({
      Bucket: BUCKET,
      ExpectedBucketOwner: ACCT,
    });
    m.s3.on(CreateBucketCommand).rejects(Object.assign(new Error('taken'), { name: 'BucketAlreadyExists' }));
    await expect(run({ code: 'CREATE_BUCKET', params: { bucketName: BUCKET, region: 'us-east-1' } })).rejects.toThrow(
      'taken',
    );
  });

  test('PUT_BUCKET_POLICY / PUT_TOPIC_POLICY: read, merge (customer statements kept), write', async () => {
    const { m, run } = setup();
    const customer = {
      Sid: 'Acme',
      Effect: 'Allow',
      Principal: { AWS: 'arn:aws:iam::111122223333:root' },
      Action: 's3:GetObject',
      Resource: '*',
    };
    m.s3
      .on(GetBucketPolicyCommand)
      .resolves({ Policy: JSON.stringify({ Version: '2012-10-17', Statement: [customer] }) });
    await run({ code: 'PUT_BUCKET_POLICY', params: { bucketName: BUCKET, region: 'us-east-1', trailArn: TRAIL_ARN } });
    expect(m.s3.commandCalls(GetBucketPolicyCommand)[0]!.args[0].input).toEqual({
      Bucket: BUCKET,
      ExpectedBucketOwner: ACCT,
    });
    const written = m.s3.commandCalls(PutBucketPolicyCommand)[0]!.args[0].input;
    expect(written.ExpectedBucketOwner).toBe(ACCT);
    expect(JSON.parse(written.Policy!).Statement[0]).toEqual(customer);

    m.sns
      .on(GetTopicAttributesCommand)
      .resolves({ Attributes: { Policy: JSON.stringify({ Statement: [{ ...customer, Action: 'SNS:Subscribe' }] }) } });
    await run({ code: 'PUT_TOPIC_POLICY', params: { topicArn: TOPIC_ARN, trailArn: TRAIL_ARN } });
    const topicPolicy = JSON.parse(m.sns.commandCalls(SetTopicAttributesCommand)[0]!.args[0].input.AttributeValue!) as {
      Statement: { Sid: string }[];
    };
    expect(topicPolicy.Statement.map((s) => s.Sid)).toEqual([
      'Acme',
      'CloudTrailCollectorCloudTrailPublish',
      'CloudTrailCollectorDenyInsecureTransport',
    ]);
  });

  test('CREATE_QUEUE: SSE-SQS, redrive to the DLQ after HUB_MAX_RECEIVE_COUNT receives, visibility timeout from the ingest timeout', async () => {
    const { m, run } = setup();
    await run({
      code: 'CREATE_QUEUE',
      params: { queueName: 'outcomesqueue', region: 'us-east-1', deadLetterQueueArn: DLQ_ARN },
    });
    expect(m.sqs.commandCalls(CreateQueueCommand)[0]!.args[0].input).toEqual({
      QueueName: 'outcomesqueue',
      Attributes: {
        SqsManagedSseEnabled: 'true',
        MessageRetentionPeriod: String(4 * 24 * 3600),
        VisibilityTimeout: '360',
        RedrivePolicy: JSON.stringify({ deadLetterTargetArn: DLQ_ARN, maxReceiveCount: HUB_MAX_RECEIVE_COUNT }),
      },
    });
    // Ingest's backoff schedule over those receives outlasts the promised outage, inside the queue's retention.
    expect(retryWindowSeconds(HUB_MAX_RECEIVE_COUNT)).toBeLessThan(4 * 24 * 3600);
    expect(retryWindowSeconds(HUB_MAX_RECEIVE_COUNT)).toBeGreaterThan(24 * 3600);
  });

  test("PUT_BUCKET_POLICY: the trail's key prefix is in the PutObject resource", async () => {
    const { m, run } = setup();
    m.s3.on(GetBucketPolicyCommand).rejects(Object.assign(new Error('none'), { name: 'NoSuchBucketPolicy' }));
    await run({
      code: 'PUT_BUCKET_POLICY',
      params: { bucketName: BUCKET, region: 'us-east-1', trailArn: TRAIL_ARN, keyPrefix: 'acme/ct' },
    });
    const written = JSON.parse(m.s3.commandCalls(PutBucketPolicyCommand)[0]!.args[0].input.Policy!) as {
      Statement: { Sid: string; Resource: string }[];
    };
    expect(written.Statement.find((s) => s.Sid === 'CloudTrailCollectorCloudTrailWrite')!.Resource).toBe(
      `arn:aws:s3:::${BUCKET}/acme/ct/AWSLogs/${ACCT}/*`,
    );
  });

  test('SUBSCRIBE with a dead-letter queue: its policy merged first, then Subscribe with the RedrivePolicy', async () => {
    const { m, run } = setup();
    m.sqs.on(GetQueueUrlCommand).resolves({ QueueUrl: 'https://sqs/outcomesqueue-dlq' });
    m.sqs.on(GetQueueAttributesCommand).resolves({ Attributes: {} });
    await run({ code: 'SUBSCRIBE', params: { topicArn: TOPIC_ARN, queueArn: QUEUE_ARN, deadLetterQueueArn: DLQ_ARN } });
    expect(m.sqs.commandCalls(GetQueueUrlCommand)[0]!.args[0].input).toEqual({ QueueName: 'outcomesqueue-dlq' });
    const policy = m.sqs.commandCalls(SetQueueAttributesCommand)[0]!.args[0].input.Attributes!.Policy!;
    expect((JSON.parse(policy) as { Statement: { Sid: string }[] }).Statement.map((s) => s.Sid)).toEqual([
      'CloudTrailCollectorTopicSend',
      'CloudTrailCollectorDenyInsecureTransport',
    ]);
    expect(m.sns.commandCalls(SubscribeCommand)[0]!.args[0].input).toEqual({
      TopicArn: TOPIC_ARN,
      Protocol: 'sqs',
      Endpoint: QUEUE_ARN,
      ReturnSubscriptionArn: true,
      Attributes: { RedrivePolicy: JSON.stringify({ deadLetterTargetArn: DLQ_ARN }) },
    });
  });

  test('CREATE_ESM: in the collector account, BatchSize 10, ReportBatchItemFailures, MaximumConcurrency; an existing mapping is accepted', async () => {
    const { m, run } = setup();
    m.lambda
      .on(CreateEventSourceMappingCommand)
      .rejects(Object.assign(new Error('exists'), { name: 'ResourceConflictException' }));
    await run({
      code: 'CREATE_ESM',
      params: { queueArn: QUEUE_ARN, functionArn: FUNCTION_ARN, maximumConcurrency: 4 },
    });
    expect(m.lambda.commandCalls(CreateEventSourceMappingCommand)[0]!.args[0].input).toEqual({
      EventSourceArn: QUEUE_ARN,
      FunctionName: FUNCTION_ARN,
      BatchSize: 10,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: 4 },
      Enabled: true,
    });
  });

  test('SUBSCRIBE (hub): by the collector, its own credentials, in the topic Region, envelope delivery (no Attributes)', async () => {
    const { m, run } = setup();
    m.collectorSns.on(SubscribeCommand).resolves({ SubscriptionArn: `${TOPIC_ARN}:hub` });
    await run({ code: 'SUBSCRIBE', params: { topicArn: TOPIC_ARN, queueArn: HUB_QUEUE_ARN, hubShard: HUB_SHARD } });
    expect(m.collectorSns.commandCalls(SubscribeCommand).map((c) => c.args[0].input)).toEqual([
      { TopicArn: TOPIC_ARN, Protocol: 'sqs', Endpoint: HUB_QUEUE_ARN, ReturnSubscriptionArn: true },
    ]);
    expect(m.sns.commandCalls(SubscribeCommand)).toEqual([]);
  });

  test('PUT_TOPIC_POLICY (hub): the statement letting the collector subscribe its hub queue is merged in', async () => {
    const { m, run } = setup();
    m.sns.on(GetTopicAttributesCommand).resolves({ Attributes: {} });
    await run({
      code: 'PUT_TOPIC_POLICY',
      params: {
        topicArn: TOPIC_ARN,
        trailArn: TRAIL_ARN,
        hubSubscriber: { principalArn: RECONCILE_ROLE_ARN, endpoint: HUB_QUEUE_ARN },
      },
    });
    const written = JSON.parse(m.sns.commandCalls(SetTopicAttributesCommand)[0]!.args[0].input.AttributeValue!) as {
      Statement: { Sid: string }[];
    };
    expect(written.Statement).toContainEqual({
      Sid: 'CloudTrailCollectorHubSubscribe',
      Effect: 'Allow',
      Principal: { AWS: RECONCILE_ROLE_ARN },
      Action: 'sns:Subscribe',
      Resource: TOPIC_ARN,
      Condition: { StringEquals: { 'sns:Protocol': 'sqs', 'sns:Endpoint': HUB_QUEUE_ARN } },
    });
  });

  test('SET_SUBSCRIPTION_ATTRIBUTES: by the collector, the hub subscription owner', async () => {
    const { m, run } = setup();
    m.collectorSns.on(SetSubscriptionAttributesCommand).resolves({});
    await run({
      code: 'SET_SUBSCRIPTION_ATTRIBUTES',
      params: {
        topicArn: TOPIC_ARN,
        subscriptionArn: `${TOPIC_ARN}:hub`,
        attributeName: 'RawMessageDelivery',
        attributeValue: 'false',
      },
    });
    expect(m.collectorSns.commandCalls(SetSubscriptionAttributesCommand)[0]!.args[0].input).toEqual({
      SubscriptionArn: `${TOPIC_ARN}:hub`,
      AttributeName: 'RawMessageDelivery',
      AttributeValue: 'false',
    });
  });

  test('UNSUBSCRIBE: as the owner the plan names; a subscription gone already counts as removed', async () => {
    const { m, run } = setup();
    m.sns.on(UnsubscribeCommand).resolves({});
    m.collectorSns.on(UnsubscribeCommand).rejects(Object.assign(new Error('gone'), { name: 'NotFoundException' }));
    await run({ code: 'UNSUBSCRIBE', params: { topicArn: TOPIC_ARN, subscriptionArn: 'arn:s1', by: 'customer' } });
    await run({ code: 'UNSUBSCRIBE', params: { topicArn: TOPIC_ARN, subscriptionArn: 'arn:s2', by: 'collector' } });
    expect(m.sns.commandCalls(UnsubscribeCommand).map((c) => c.args[0].input)).toEqual([{ SubscriptionArn: 'arn:s1' }]);
    expect(m.collectorSns.commandCalls(UnsubscribeCommand).map((c) => c.args[0].input)).toEqual([
      { SubscriptionArn: 'arn:s2' },
    ]);
    m.sns.on(UnsubscribeCommand).rejects(Object.assign(new Error('no'), { name: 'AuthorizationError' }));
    await expect(
      run({ code: 'UNSUBSCRIBE', params: { topicArn: TOPIC_ARN, subscriptionArn: 'arn:s3', by: 'customer' } }),
    ).rejects.toThrow('no');
  });

  test('ENABLE_ESM / UPDATE_ESM / DELETE_ESM: one UpdateEventSourceMapping each; a mapping gone already counts as deleted', async () => {
    const { m, run } = setup();
    m.lambda.on(UpdateEventSourceMappingCommand).resolves({});
    m.lambda
      .on(DeleteEventSourceMappingCommand)
      .rejects(Object.assign(new Error('gone'), { name: 'ResourceNotFoundException' }));
    await run({ code: 'ENABLE_ESM', params: { uuid: 'e-1', maximumConcurrency: 2 } });
    await run({ code: 'ENABLE_ESM', params: { uuid: 'e-2' } });
    await run({ code: 'UPDATE_ESM', params: { uuid: 'e-3', maximumConcurrency: 3 } });
    await run({ code: 'DELETE_ESM', params: { uuid: 'e-4', queueArn: QUEUE_ARN } });
    expect(m.lambda.commandCalls(UpdateEventSourceMappingCommand).map((c) => c.args[0].input)).toEqual([
      { UUID: 'e-1', Enabled: true, ScalingConfig: { MaximumConcurrency: 2 } },
      { UUID: 'e-2', Enabled: true },
      { UUID: 'e-3', ScalingConfig: { MaximumConcurrency: 3 } },
    ]);
    expect(m.lambda.commandCalls(DeleteEventSourceMappingCommand).map((c) => c.args[0].input)).toEqual([
      { UUID: 'e-4' },
    ]);
  });

  test('the reconcile code never calls PutEventSelectors, PutInsightSelectors or CloudTrail Lake', () => {
    const dir = join(__dirname, '../../lambdas/reconcile');
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
      const source = readFileSync(join(dir, file), 'utf8');
      expect(source).not.toMatch(
        /PutEventSelectorsCommand|PutInsightSelectorsCommand|EventDataStore|client-cloudtrail-data/,
      );
    }
  });
});

describe('costs', () => {
  test('every action code states its cost impact', () => {
    for (const code of ACTION_CODES) {
      const impact = plannedCostImpact({ code, params: {} } as unknown as ActionDraft, DEFAULT_COST_ASSUMPTIONS);
      expect(impact.monthlyUsd).toBeGreaterThanOrEqual(0);
      expect(impact.note).toMatch(/^\$/);
    }
    expect(actionCostImpact('CREATE_TRAIL', DEFAULT_COST_ASSUMPTIONS)).toEqual({
      monthlyUsd: 0,
      note: expect.stringContaining('$0 — first copy of management events is free'),
    });
  });

  test('the bucket storage estimate comes from the stated event volume', () => {
    const impact = actionCostImpact('CREATE_BUCKET', {
      ...DEFAULT_COST_ASSUMPTIONS,
      monthlyManagementEvents: 100_000_000,
    });
    expect(impact.monthlyUsd).toBeCloseTo(0.32, 2);
    expect(impact.note).toContain('100,000,000 management events a month');
  });
});

describe('loadReconcileConfig', () => {
  const base = { AWS_REGION: 'us-east-1', ACCOUNTS_TABLE: 't' };
  test('defaults', () => {
    expect(loadReconcileConfig(base)).toMatchObject({
      concurrency: 10,
      queueVisibilityTimeoutSeconds: 360,
      costs: DEFAULT_COST_ASSUMPTIONS,
    });
  });
  test('settings, and the estimate source named in every cost note', () => {
    const config = loadReconcileConfig({
      ...base,
      INGEST_FUNCTION_ARN: FUNCTION_ARN,
      INGEST_ROLE_ARN: 'arn:aws:iam::123456789012:role/ingest',
      RECONCILE_CONCURRENCY: '50',
      RECONCILE_MONTHLY_MANAGEMENT_EVENTS: '5000000',
      INGEST_TIMEOUT_SECONDS: '120',
    });
    expect(config).toMatchObject({
      ingestFunctionArn: FUNCTION_ARN,
      concurrency: 50,
      queueVisibilityTimeoutSeconds: 720,
    });
    expect(config.costs).toMatchObject({
      monthlyManagementEvents: 5_000_000,
      source: expect.stringContaining('RECONCILE_MONTHLY_'),
    });
  });
  test.each([
    ['INGEST_FUNCTION_ARN', 'collector-ingest'],
    ['INGEST_ROLE_ARN', 'ingest'],
    ['RECONCILE_CONCURRENCY', '0'],
    ['RECONCILE_MONTHLY_MANAGEMENT_EVENTS', 'lots'],
    ['INGEST_TOPOLOGY', 'star'],
    ['RECONCILE_ROLE_ARN', 'reconcile'],
    ['ESM_MAXIMUM_CONCURRENCY', '1'],
    ['ESM_MAXIMUM_CONCURRENCY', '1001'],
    ['INGEST_RESERVED_CONCURRENCY', '0'],
    ['HUB_QUEUE_ARNS', 'arn:aws:sqs:us-east-1:123456789012:some-queue'],
  ])('a malformed %s fails naming it', (name, value) => {
    expect(() => loadReconcileConfig({ ...base, [name]: value })).toThrow(name);
  });

  test('the topology: customer-queue unless set; ESM_MAXIMUM_CONCURRENCY 2 by default (Lambda allows 2-1000)', () => {
    expect(loadReconcileConfig(base)).toMatchObject({
      ingestTopology: 'customer-queue',
      hubQueueArns: [],
      esmMaximumConcurrency: 2,
    });
    expect(loadReconcileConfig(base).ingestReservedConcurrency).toBeUndefined();
    expect(
      loadReconcileConfig({ ...base, ESM_MAXIMUM_CONCURRENCY: '1000', INGEST_RESERVED_CONCURRENCY: '20' }),
    ).toMatchObject({ esmMaximumConcurrency: 1000, ingestReservedConcurrency: 20 });
  });

  test('hub: HUB_QUEUE_ARNS (index = shard) and RECONCILE_ROLE_ARN are required', () => {
    const hub = {
      ...base,
      INGEST_TOPOLOGY: 'hub',
      HUB_QUEUE_ARNS: HUB_QUEUE_ARNS.join(','),
      RECONCILE_ROLE_ARN: RECONCILE_ROLE_ARN,
    };
    expect(loadReconcileConfig(hub)).toMatchObject({
      ingestTopology: 'hub',
      hubQueueArns: HUB_QUEUE_ARNS,
      reconcileRoleArn: RECONCILE_ROLE_ARN,
    });
    expect(() => loadReconcileConfig({ ...hub, RECONCILE_ROLE_ARN: '' })).toThrow('RECONCILE_ROLE_ARN is required');
    expect(() => loadReconcileConfig({ ...hub, HUB_QUEUE_ARNS: '' })).toThrow('HUB_QUEUE_ARNS is required');
  });
});
