/** observe with the real SDK clients, their `send` mocked (aws-sdk-client-mock): which calls, which inputs, how errors read. */
import {
  CloudTrailClient,
  DescribeTrailsCommand,
  ListTrailsCommand,
  GetEventSelectorsCommand,
  GetTrailStatusCommand,
} from '@aws-sdk/client-cloudtrail';
import { LambdaClient, ListEventSourceMappingsCommand } from '@aws-sdk/client-lambda';
import { GetBucketPolicyCommand, HeadBucketCommand, ListBucketsCommand, S3Client } from '@aws-sdk/client-s3';
import {
  GetSubscriptionAttributesCommand,
  GetTopicAttributesCommand,
  ListSubscriptionsByTopicCommand,
  SNSClient,
} from '@aws-sdk/client-sns';
import { GetQueueAttributesCommand, GetQueueUrlCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { EVERY_SOURCE, NO_SOURCE, allExcept } from '../../lambdas/reconcile/coverage';
import { observeAccount, summarizeSelectors } from '../../lambdas/reconcile/observe';
import type { CollectorClients, CustomerClients } from '../../lambdas/reconcile/clients';
import {
  ACCT,
  BUCKET,
  COLLECTOR_ACCOUNT,
  FUNCTION_ARN,
  GENERATED,
  HUB_QUEUE_ARN,
  HUB_QUEUE_ARNS,
  QUEUE_ARN,
  TOPIC_ARN,
  TRAIL_ARN,
  context,
  hubContext,
} from '../../testkit/reconcile-fixtures';

const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' };
const awsError = (name: string, status: number) =>
  Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });

function setup() {
  const instances = {
    ctHome: new CloudTrailClient({ region: 'us-east-1', credentials }),
    ctEu: new CloudTrailClient({ region: 'eu-west-1', credentials }),
    s3: new S3Client({ region: 'us-east-1', credentials }),
    sns: new SNSClient({ region: 'us-east-1', credentials }),
    sqs: new SQSClient({ region: 'us-east-1', credentials }),
    lambda: new LambdaClient({ region: 'us-east-1', credentials }),
    /** The collector's own SNS client: the hub subscriptions are its. */
    collectorSns: new SNSClient({ region: 'us-east-1', credentials }),
  };
  const mocks = {
    ctHome: mockClient(instances.ctHome),
    ctEu: mockClient(instances.ctEu),
    s3: mockClient(instances.s3),
    sns: mockClient(instances.sns),
    sqs: mockClient(instances.sqs),
    lambda: mockClient(instances.lambda),
    collectorSns: mockClient(instances.collectorSns),
  };
  const clients: CustomerClients = {
    cloudTrail: (region) => (region === 'eu-west-1' ? instances.ctEu : instances.ctHome),
    s3: () => instances.s3,
    sns: () => instances.sns,
    sqs: () => instances.sqs,
  };
  // A healthy default chain unless a test says otherwise.
  mocks.ctHome.on(DescribeTrailsCommand).resolves({
    trailList: [
      {
        Name: 'outcomes-trail',
        TrailARN: TRAIL_ARN,
        HomeRegion: 'us-east-1',
        S3BucketName: BUCKET,
        SnsTopicARN: TOPIC_ARN,
        IsMultiRegionTrail: true,
        HasCustomEventSelectors: false,
      },
    ],
  });
  mocks.ctHome.on(GetTrailStatusCommand).resolves({ IsLogging: true });
  // Trails of other regions that DescribeTrails here does not show: none unless a test says otherwise.
  mocks.ctHome.on(ListTrailsCommand).resolves({ Trails: [] });
  mocks.s3.on(HeadBucketCommand).resolves({});
  mocks.s3.on(GetBucketPolicyCommand).resolves({ Policy: '{"Statement":[]}' });
  mocks.sns.on(GetTopicAttributesCommand).resolves({ Attributes: { Policy: '{}' } });
  mocks.sns.on(ListSubscriptionsByTopicCommand).resolves({
    Subscriptions: [{ SubscriptionArn: `${TOPIC_ARN}:s1`, Protocol: 'sqs', Endpoint: QUEUE_ARN }],
  });
  mocks.sns.on(GetSubscriptionAttributesCommand).resolves({ Attributes: { PendingConfirmation: 'false' } });
  mocks.sqs.on(GetQueueUrlCommand).resolves({ QueueUrl: `https://sqs.us-east-1.amazonaws.com/${ACCT}/outcomesqueue` });
  mocks.sqs.on(GetQueueAttributesCommand).resolves({ Attributes: { QueueArn: QUEUE_ARN, Policy: '{}' } });
  mocks.lambda.on(ListEventSourceMappingsCommand).resolves({ EventSourceMappings: [] });
  const collector: CollectorClients = { lambda: instances.lambda, sns: () => instances.collectorSns };
  return { mocks, clients, collector };
}

describe('observeAccount', () => {
  test('a single-region trail homed in another region is found with ListTrails and read in its home region', async () => {
    const { mocks, clients, collector } = setup();
    const euTrail = `arn:aws:cloudtrail:eu-west-1:${ACCT}:trail/acme-eu-only`;
    mocks.ctHome.on(ListTrailsCommand).resolves({
      Trails: [
        { TrailARN: TRAIL_ARN, Name: 'outcomes-trail', HomeRegion: 'us-east-1' },
        { TrailARN: euTrail, Name: 'acme-eu-only', HomeRegion: 'eu-west-1' },
      ],
    });
    mocks.ctEu.on(DescribeTrailsCommand).resolves({
      trailList: [
        {
          Name: 'acme-eu-only',
          TrailARN: euTrail,
          HomeRegion: 'eu-west-1',
          S3BucketName: 'acme-eu',
          IsMultiRegionTrail: false,
          HasCustomEventSelectors: false,
        },
      ],
    });
    mocks.ctEu.on(GetTrailStatusCommand).resolves({ IsLogging: true });
    const state = await observeAccount(clients, context(), collector);
    expect(state.trails).toMatchObject({
      known: true,
      value: [
        { arn: TRAIL_ARN },
        {
          arn: euTrail,
          homeRegion: 'eu-west-1',
          isMultiRegion: false,
          status: { known: true, value: { isLogging: true } },
        },
      ],
    });
    expect(mocks.ctEu.commandCalls(DescribeTrailsCommand)[0]!.args[0].input).toEqual({
      trailNameList: [euTrail],
      includeShadowTrails: false,
    });
    expect(mocks.ctEu.commandCalls(GetTrailStatusCommand)[0]!.args[0].input).toEqual({ Name: euTrail });
  });

  test('ListTrails denied: the trails are unknown, so nothing can be created from them', async () => {
    const { mocks, clients, collector } = setup();
    mocks.ctHome.on(ListTrailsCommand).rejects(awsError('AccessDeniedException', 400));
    const state = await observeAccount(clients, context(), collector);
    expect(state.trails).toMatchObject({ known: false, error: expect.stringContaining('ListTrails') });
  });

  test('a healthy account: the documented calls, with includeShadowTrails and ExpectedBucketOwner', async () => {
    const { mocks, clients, collector } = setup();
    const state = await observeAccount(clients, context({ ingestFunctionArn: FUNCTION_ARN }), collector);
    expect(state.trails).toMatchObject({
      known: true,
      value: [{ arn: TRAIL_ARN, status: { known: true, value: { isLogging: true } } }],
    });
    expect(mocks.ctHome.commandCalls(DescribeTrailsCommand)[0]!.args[0].input).toEqual({ includeShadowTrails: true });
    expect(mocks.ctHome.commandCalls(GetTrailStatusCommand)[0]!.args[0].input).toEqual({ Name: TRAIL_ARN });
    expect(mocks.ctHome.commandCalls(GetEventSelectorsCommand)).toHaveLength(0);
    for (const call of [
      ...mocks.s3.commandCalls(HeadBucketCommand),
      ...mocks.s3.commandCalls(GetBucketPolicyCommand),
    ]) {
      expect(call.args[0].input).toEqual({ Bucket: BUCKET, ExpectedBucketOwner: ACCT });
    }
    expect(mocks.lambda.commandCalls(ListEventSourceMappingsCommand)[0]!.args[0].input).toEqual({
      EventSourceArn: QUEUE_ARN,
    });
    const total = [mocks.ctHome, mocks.ctEu, mocks.s3, mocks.sns, mocks.sqs, mocks.lambda].reduce(
      (n, m) => n + m.calls().length,
      0,
    );
    // 10 for the chain, 1 for trails of other regions (ListTrails), 1 for the dead-letter queue's depth.
    expect(total).toBe(12);
  });

  test('DescribeTrails denied: the trails are unknown (not "no trail"), and no bucket or topic is probed', async () => {
    const { mocks, clients } = setup();
    mocks.ctHome.on(DescribeTrailsCommand).rejects(awsError('AccessDeniedException', 400));
    const state = await observeAccount(clients, context());
    expect(state.trails).toEqual({
      known: false,
      error: expect.stringContaining('DescribeTrails failed: AccessDeniedException'),
    });
    expect(mocks.s3.calls()).toHaveLength(0);
    expect(mocks.sns.calls()).toHaveLength(0);
    expect(state.queues.outcomesqueue?.known).toBe(true);
  });

  test('event selectors are read in the trail home region, only for trails with custom selectors', async () => {
    const { mocks, clients } = setup();
    const shadow = 'arn:aws:cloudtrail:eu-west-1:111122223333:trail/acme';
    mocks.ctHome.on(DescribeTrailsCommand).resolves({
      trailList: [
        {
          Name: 'acme',
          TrailARN: shadow,
          HomeRegion: 'eu-west-1',
          S3BucketName: 'acme-logs',
          IsMultiRegionTrail: true,
          HasCustomEventSelectors: true,
        },
      ],
    });
    mocks.ctEu.on(GetEventSelectorsCommand).resolves({
      AdvancedEventSelectors: [{ FieldSelectors: [{ Field: 'eventCategory', Equals: ['Data'] }] }],
    });
    const state = await observeAccount(clients, context({ recorded: {} }));
    expect(mocks.ctEu.commandCalls(GetEventSelectorsCommand)[0]!.args[0].input).toEqual({ TrailName: shadow });
    expect(state.trails.known && state.trails.value[0]!.selectors).toEqual({
      known: true,
      value: { managementEvents: false, dataEvents: true },
    });
  });

  test.each([
    ['403 and not in the account bucket list: foreign', { Buckets: [] }, 'foreign'],
    ['403 but the account owns it: forbidden (denied), never "free"', { Buckets: [{ Name: BUCKET }] }, 'forbidden'],
  ])('HeadBucket %s', async (_name, listed, expected) => {
    const { mocks, clients } = setup();
    mocks.s3.on(HeadBucketCommand).rejects(awsError('Forbidden', 403));
    mocks.s3.on(ListBucketsCommand).resolves(listed);
    const state = await observeAccount(clients, context());
    expect(state.buckets[BUCKET]).toEqual({ known: true, value: { state: expected } });
    expect(mocks.s3.commandCalls(ListBucketsCommand)[0]!.args[0].input).toMatchObject({ Prefix: BUCKET });
  });

  test('a foreign default name makes observe probe the generated fallback name', async () => {
    const { mocks, clients } = setup();
    mocks.s3.on(HeadBucketCommand, { Bucket: BUCKET }).rejects(awsError('Forbidden', 403));
    mocks.s3.on(ListBucketsCommand).resolves({ Buckets: [] });
    mocks.s3.on(HeadBucketCommand, { Bucket: GENERATED }).rejects(awsError('NotFound', 404));
    const state = await observeAccount(clients, context());
    expect(state.buckets[GENERATED]).toEqual({ known: true, value: { state: 'absent' } });
  });

  test('HeadBucket throttled: unknown, nothing else concluded', async () => {
    const { mocks, clients } = setup();
    mocks.s3.on(HeadBucketCommand).rejects(awsError('SlowDown', 503));
    const state = await observeAccount(clients, context());
    expect(state.buckets[BUCKET]).toEqual({ known: false, error: expect.stringContaining('SlowDown') });
    expect(Object.keys(state.buckets)).toEqual([BUCKET]);
  });

  test("subscriptions are paged; only the queue's own subscription is read further", async () => {
    const { mocks, clients } = setup();
    mocks.sns
      .on(ListSubscriptionsByTopicCommand)
      .resolvesOnce({
        Subscriptions: [{ SubscriptionArn: `${TOPIC_ARN}:other`, Protocol: 'email', Endpoint: 'a@b.c' }],
        NextToken: 'p2',
      })
      .resolvesOnce({ Subscriptions: [{ SubscriptionArn: `${TOPIC_ARN}:s1`, Protocol: 'sqs', Endpoint: QUEUE_ARN }] });
    mocks.sns.on(GetSubscriptionAttributesCommand).resolves({ Attributes: { FilterPolicy: '{"a":["b"]}' } });
    const state = await observeAccount(clients, context());
    const topic = state.topics[TOPIC_ARN];
    expect(topic?.known && topic.value?.subscriptions).toEqual({
      known: true,
      value: [
        expect.objectContaining({ protocol: 'email' }),
        expect.objectContaining({
          endpoint: QUEUE_ARN,
          pending: false,
          filterPolicy: { known: true, value: '{"a":["b"]}' },
        }),
      ],
    });
    expect(mocks.sns.commandCalls(ListSubscriptionsByTopicCommand)[1]!.args[0].input).toEqual({
      TopicArn: TOPIC_ARN,
      NextToken: 'p2',
    });
    expect(mocks.sns.commandCalls(GetSubscriptionAttributesCommand)).toHaveLength(1);
  });

  test('a deleted topic is absent; a denied one is unknown', async () => {
    const { mocks, clients } = setup();
    mocks.sns.on(GetTopicAttributesCommand).rejects(awsError('NotFoundException', 404));
    expect((await observeAccount(clients, context())).topics[TOPIC_ARN]).toEqual({ known: true, value: null });
    mocks.sns.on(GetTopicAttributesCommand).rejects(awsError('AuthorizationErrorException', 403));
    expect((await observeAccount(clients, context())).topics[TOPIC_ARN]?.known).toBe(false);
  });

  test('a deleted queue is absent and only then the DLQ is looked up; a denied queue is unknown', async () => {
    const { mocks, clients } = setup();
    mocks.sqs.on(GetQueueUrlCommand, { QueueName: 'outcomesqueue' }).rejects(awsError('QueueDoesNotExist', 400));
    mocks.sqs.on(GetQueueUrlCommand, { QueueName: 'outcomesqueue-dlq' }).resolves({ QueueUrl: 'https://q/dlq' });
    const state = await observeAccount(clients, context());
    expect(state.queues.outcomesqueue).toEqual({ known: true, value: null });
    expect(state.queues['outcomesqueue-dlq']).toMatchObject({ known: true, value: { name: 'outcomesqueue-dlq' } });
    mocks.sqs.on(GetQueueUrlCommand).rejects(awsError('AccessDenied', 403));
    const denied = await observeAccount(clients, context());
    expect(denied.queues.outcomesqueue?.known).toBe(false);
    expect(denied.queues['outcomesqueue-dlq']).toBeUndefined();
  });

  test('event source mappings are paged through the collector Lambda client', async () => {
    const { mocks, clients, collector } = setup();
    mocks.lambda
      .on(ListEventSourceMappingsCommand)
      .resolvesOnce({
        EventSourceMappings: [
          { UUID: 'a', FunctionArn: 'arn:aws:lambda:us-east-1:1:function:other', State: 'Enabled' },
        ],
        NextMarker: 'm',
      })
      .resolvesOnce({ EventSourceMappings: [{ UUID: 'b', FunctionArn: FUNCTION_ARN, State: 'Disabled' }] });
    const state = await observeAccount(clients, context({ ingestFunctionArn: FUNCTION_ARN }), collector);
    expect(state.eventSourceMappings).toEqual({
      known: true,
      value: [
        { uuid: 'a', functionArn: 'arn:aws:lambda:us-east-1:1:function:other', state: 'Enabled' },
        { uuid: 'b', functionArn: FUNCTION_ARN, state: 'Disabled' },
      ],
    });
  });
});

describe('observeAccount: the hub topology and the mapping concurrency', () => {
  test("the hub subscription's attributes are read by the collector (its owner); Owner and Deleted are kept", async () => {
    const { mocks, clients, collector } = setup();
    mocks.sns.on(ListSubscriptionsByTopicCommand).resolves({
      Subscriptions: [
        { SubscriptionArn: `${TOPIC_ARN}:hub`, Owner: COLLECTOR_ACCOUNT, Protocol: 'sqs', Endpoint: HUB_QUEUE_ARN },
        { SubscriptionArn: 'Deleted', Owner: COLLECTOR_ACCOUNT, Protocol: 'sqs', Endpoint: HUB_QUEUE_ARNS[1] },
      ],
    });
    mocks.collectorSns
      .on(GetSubscriptionAttributesCommand)
      .resolves({ Attributes: { PendingConfirmation: 'false', RawMessageDelivery: 'true' } });
    const state = await observeAccount(clients, hubContext(), collector);
    const topic = state.topics[TOPIC_ARN];
    expect(topic?.known && topic.value?.subscriptions).toEqual({
      known: true,
      value: [
        {
          arn: `${TOPIC_ARN}:hub`,
          protocol: 'sqs',
          endpoint: HUB_QUEUE_ARN,
          pending: false,
          owner: COLLECTOR_ACCOUNT,
          filterPolicy: { known: true, value: null },
          rawMessageDelivery: true,
        },
        {
          arn: 'Deleted',
          protocol: 'sqs',
          endpoint: HUB_QUEUE_ARNS[1],
          pending: false,
          deleted: true,
          owner: COLLECTOR_ACCOUNT,
        },
      ],
    });
    expect(mocks.collectorSns.commandCalls(GetSubscriptionAttributesCommand).map((c) => c.args[0].input)).toEqual([
      { SubscriptionArn: `${TOPIC_ARN}:hub` },
    ]);
    // The topic owner is not asked: SNS answers it AuthorizationError for a subscription it does not own.
    expect(mocks.sns.commandCalls(GetSubscriptionAttributesCommand)).toEqual([]);
    // Recorded as hub, no queue recorded: neither the account's queues nor the mappings are read.
    expect(mocks.sqs.calls()).toEqual([]);
    expect(mocks.lambda.calls()).toEqual([]);
  });

  test('hub, a customer queue still recorded: its depth is read, and its mappings only because it exists', async () => {
    const { mocks, clients, collector } = setup();
    mocks.sqs.on(GetQueueAttributesCommand).resolves({
      Attributes: {
        QueueArn: QUEUE_ARN,
        ApproximateNumberOfMessages: '4',
        ApproximateNumberOfMessagesNotVisible: '1',
      },
    });
    mocks.lambda.on(ListEventSourceMappingsCommand).resolves({
      EventSourceMappings: [
        { UUID: 'e', FunctionArn: FUNCTION_ARN, State: 'Enabled', ScalingConfig: { MaximumConcurrency: 2 } },
      ],
    });
    const ctx = hubContext({ ingestFunctionArn: FUNCTION_ARN, recorded: { ...context().recorded } });
    const state = await observeAccount(clients, ctx, collector);
    expect(state.queues.outcomesqueue).toMatchObject({ known: true, value: { messages: 4, messagesInFlight: 1 } });
    expect(state.eventSourceMappings).toEqual({
      known: true,
      value: [{ uuid: 'e', functionArn: FUNCTION_ARN, state: 'Enabled', maximumConcurrency: 2 }],
    });
    mocks.lambda.resetHistory();
    mocks.sqs.on(GetQueueUrlCommand).rejects(awsError('QueueDoesNotExist', 400));
    await observeAccount(clients, ctx, collector);
    expect(mocks.lambda.calls()).toEqual([]);
  });
});

describe('summarizeSelectors', () => {
  test.each([
    ['no selectors: CloudTrail default', {}, { managementEvents: true, dataEvents: false }],
    [
      'basic, management only',
      { EventSelectors: [{ IncludeManagementEvents: true, DataResources: [] }] },
      { managementEvents: true, dataEvents: false },
    ],
    [
      'basic, data only',
      {
        EventSelectors: [
          { IncludeManagementEvents: false, DataResources: [{ Type: 'AWS::S3::Object', Values: ['arn:aws:s3'] }] },
        ],
      },
      { managementEvents: false, dataEvents: true },
    ],
    [
      'advanced, both',
      {
        AdvancedEventSelectors: [
          { FieldSelectors: [{ Field: 'eventCategory', Equals: ['Management'] }] },
          {
            FieldSelectors: [
              { Field: 'eventCategory', Equals: ['Data'] },
              { Field: 'resources.type', Equals: ['AWS::S3::Object'] },
            ],
          },
        ],
      },
      { managementEvents: true, dataEvents: true },
    ],
    [
      'advanced, network activity (CloudTrail User Guide, "Logging network activity events")',
      {
        AdvancedEventSelectors: [
          { FieldSelectors: [{ Field: 'eventCategory', Equals: ['Management'] }] },
          {
            FieldSelectors: [
              { Field: 'eventCategory', Equals: ['NetworkActivity'] },
              { Field: 'eventSource', Equals: ['s3.amazonaws.com'] },
            ],
          },
        ],
      },
      { managementEvents: true, dataEvents: false, networkActivityEvents: true },
    ],
  ])('%s', (_name, response, expected) => {
    expect(summarizeSelectors(response)).toEqual(expected);
  });
});

describe('summarizeSelectors: exactly which management events (CloudTrail User Guide, "Logging management events")', () => {
  test.each([
    [
      'basic ReadWriteType ReadOnly: read events only',
      { EventSelectors: [{ ReadWriteType: 'ReadOnly' as const, IncludeManagementEvents: true }] },
      { managementEvents: true, dataEvents: false, management: { read: EVERY_SOURCE, write: NO_SOURCE } },
    ],
    [
      'basic ExcludeManagementEventSources: every source but KMS and RDS Data API',
      {
        EventSelectors: [
          {
            ReadWriteType: 'All' as const,
            ExcludeManagementEventSources: ['kms.amazonaws.com', 'rdsdata.amazonaws.com'],
          },
        ],
      },
      {
        managementEvents: true,
        dataEvents: false,
        management: {
          read: allExcept(['kms.amazonaws.com', 'rdsdata.amazonaws.com']),
          write: allExcept(['kms.amazonaws.com', 'rdsdata.amazonaws.com']),
        },
      },
    ],
    [
      'advanced readOnly Equals false and eventSource NotEquals kms (AdvancedFieldSelector)',
      {
        AdvancedEventSelectors: [
          {
            FieldSelectors: [
              { Field: 'eventCategory', Equals: ['Management'] },
              { Field: 'readOnly', Equals: ['false'] },
              { Field: 'eventSource', NotEquals: ['kms.amazonaws.com'] },
            ],
          },
        ],
      },
      {
        managementEvents: true,
        dataEvents: false,
        management: { read: NO_SOURCE, write: allExcept(['kms.amazonaws.com']) },
      },
    ],
  ])('%s', (_name, response, expected) => {
    expect(summarizeSelectors(response)).toEqual(expected);
  });
});

describe('organization trails seen from a member account (CloudTrail User Guide, "Organization trails")', () => {
  const ORG_TRAIL = 'arn:aws:cloudtrail:us-east-1:999900001111:trail/org-trail';
  function withOrgTrail() {
    const context = setup();
    context.mocks.ctHome.on(DescribeTrailsCommand).resolves({
      trailList: [
        {
          Name: 'org-trail',
          TrailARN: ORG_TRAIL,
          HomeRegion: 'us-east-1',
          S3BucketName: 'acme-org-cloudtrail',
          IsMultiRegionTrail: true,
          IsOrganizationTrail: true,
          HasCustomEventSelectors: true,
        },
      ],
    });
    return context;
  }

  test('GetTrailStatus without IsLogging is "unknown", never "not logging"', async () => {
    const { mocks, clients } = withOrgTrail();
    mocks.ctHome.on(GetTrailStatusCommand).resolves({});
    mocks.ctHome.on(GetEventSelectorsCommand).resolves({ EventSelectors: [{ ReadWriteType: 'All' }] });
    const state = await observeAccount(clients, context());
    const trail = state.trails.known ? state.trails.value[0]! : undefined;
    expect(trail).toMatchObject({ ownerAccountId: '999900001111', isOrganization: true });
    expect(trail!.status).toEqual({
      known: false,
      error: expect.stringContaining('did not report IsLogging (an organization trail owned by 999900001111'),
    });
    expect(state.probes?.selection).toMatchObject({ kind: 'external', presumed: true });
  });

  test.each(['TrailNotFoundException', 'CloudTrailARNInvalidException'])(
    'GetTrailStatus and GetEventSelectors failing with %s: unknown, and the selection is external (never create)',
    async (name) => {
      const { mocks, clients } = withOrgTrail();
      mocks.ctHome.on(GetTrailStatusCommand).rejects(awsError(name, 400));
      mocks.ctHome.on(GetEventSelectorsCommand).rejects(awsError(name, 400));
      const state = await observeAccount(clients, context());
      const trail = state.trails.known ? state.trails.value[0]! : undefined;
      expect(trail!.status).toEqual({ known: false, error: expect.stringContaining(name) });
      expect(trail!.selectors).toEqual({ known: false, error: expect.stringContaining('owned by 999900001111') });
      expect(state.probes?.selection).toMatchObject({ kind: 'external', presumed: true });
    },
  );

  test("IncludeGlobalServiceEvents false is observed (a single-region trail's global service events)", async () => {
    const { mocks, clients } = setup();
    mocks.ctHome.on(DescribeTrailsCommand).resolves({
      trailList: [
        {
          Name: 'outcomes-trail',
          TrailARN: TRAIL_ARN,
          HomeRegion: 'us-east-1',
          S3BucketName: BUCKET,
          IsMultiRegionTrail: false,
          IncludeGlobalServiceEvents: false,
          HasCustomEventSelectors: false,
        },
      ],
    });
    const state = await observeAccount(clients, context());
    expect(state.trails.known && state.trails.value[0]!.includeGlobalServiceEvents).toBe(false);
  });
});
