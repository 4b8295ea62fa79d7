/**
 * The drift table's seed rows (docs/drift-remediation.md), row by row, against the emulator: build the healthy chain with plain SDK calls, break it
 * as the row says, run apply, check the chain with plain SDK calls, then a plan shows no action.
 */
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  GetBucketPolicyCommand,
  PutBucketPolicyCommand,
} from '@aws-sdk/client-s3';
import {
  CreateTrailCommand,
  DeleteTrailCommand,
  DescribeTrailsCommand,
  StartLoggingCommand,
  UpdateTrailCommand,
} from '@aws-sdk/client-cloudtrail';
import {
  CreateTopicCommand,
  DeleteTopicCommand,
  GetSubscriptionAttributesCommand,
  GetTopicAttributesCommand,
  ListSubscriptionsByTopicCommand,
  SetTopicAttributesCommand,
  UnsubscribeCommand,
} from '@aws-sdk/client-sns';
import { DeleteQueueCommand, GetQueueAttributesCommand, SetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import {
  CUSTOMER,
  buildHealthyChain,
  expectWorkingChain,
  reconcileWorld,
  tenantClients,
  trailArns,
  type HealthyChain,
  type ReconcileWorld,
  type TenantClients,
} from '../../testkit/reconcile-env';
import type { AccountReport } from '../../lambdas/reconcile/types';
import { classifyObjectKey } from '../../lambdas/shared/object-key';
import { retryWindowSeconds } from '../../lambdas/shared/topology';
import { parseNotification } from '../../lambdas/ingest/source/notifications';
import { defaultBucketPolicy } from '../../lambdas/reconcile/policies';
import { checkBucketPolicy } from '../../lambdas/reconcile/policy-validation';
import { publishCloudTrailNotification, putLogFile } from '../../testkit/demo-chain';
import { drainQueue } from '../../testkit/queues';

const CUSTOMER_STATEMENT = {
  Sid: 'AcmeAuditRead',
  Effect: 'Allow',
  Principal: { AWS: `arn:aws:iam::${CUSTOMER}:role/acme-auditor` },
  Action: 'sqs:GetQueueAttributes',
  Resource: '*',
};

describe('reconcile repairs each seed row of the drift table', () => {
  let world: ReconcileWorld;
  let clients: TenantClients;
  let chain: HealthyChain;

  beforeEach(async () => {
    world = await reconcileWorld();
    clients = await tenantClients(CUSTOMER);
    chain = await buildHealthyChain(clients, CUSTOMER);
    // The first run adopts the healthy chain (REUSE_TRAIL records it); from then on it is healthy.
    const adopted = world.account(await world.run('apply'));
    expect(adopted.actions.map((a) => [a.code, a.status])).toEqual([['REUSE_TRAIL', 'applied']]);
    expect(world.account(await world.run('plan')).status).toBe('healthy');
  });

  async function repair(): Promise<AccountReport> {
    const report = world.account(await world.run('apply'));
    expect(report.actions.filter((a) => a.status !== 'applied')).toEqual([]);
    return report;
  }

  async function expectNoFurtherAction(): Promise<void> {
    const plan = world.account(await world.run('plan'));
    expect(plan.actions).toEqual([]);
    expect(plan.status).toBe('healthy');
  }

  const codes = (report: AccountReport) => report.actions.map((a) => a.code);
  const findingCodes = (report: AccountReport) => report.findings.map((f) => f.code);

  test('TRAIL_MISSING: no other trail logs management events, so outcomes-trail is created again', async () => {
    await clients.cloudTrail.send(new DeleteTrailCommand({ Name: 'outcomes-trail' }));
    const report = await repair();
    expect(findingCodes(report)).toContain('TRAIL_MISSING');
    expect(codes(report)).toEqual(['CREATE_TRAIL', 'START_LOGGING']);
    await expectWorkingChain(clients, CUSTOMER, chain.trailArn);
    await expectNoFurtherAction();
  });

  test('TRAIL_MISSING: an existing trail that logs management events is reused, never a second one created', async () => {
    await clients.cloudTrail.send(new DeleteTrailCommand({ Name: 'outcomes-trail' }));
    await clients.cloudTrail.send(
      new CreateTrailCommand({ Name: 'acme-audit', S3BucketName: chain.bucket, IsMultiRegionTrail: true }),
    );
    await clients.cloudTrail.send(new StartLoggingCommand({ Name: 'acme-audit' }));
    const acme = `arn:aws:cloudtrail:us-east-1:${CUSTOMER}:trail/acme-audit`;
    const report = await repair();
    expect(codes(report)).not.toContain('CREATE_TRAIL');
    // The customer's trail has no topic: it is pointed at outcomestopic, whose policy now names this trail.
    expect(codes(report)).toEqual(['PUT_TOPIC_POLICY', 'REUSE_TRAIL', 'UPDATE_TRAIL']);
    expect(await trailArns(clients)).toEqual([acme]);
    await expectWorkingChain(clients, CUSTOMER, acme);
    // CreateTrail leaves log file validation off (as in AWS): reported for the customer's trail, never changed.
    expect(report.findings).toContainEqual(
      expect.objectContaining({ code: 'LOG_FILE_VALIDATION_DISABLED', severity: 'info', resource: acme }),
    );
    expect(report.actions.filter((a) => a.reason === 'LOG_FILE_VALIDATION_DISABLED')).toEqual([]);
    await expectNoFurtherAction();
  });

  test('BUCKET_CHANGED: the collector follows the new bucket and records it', async () => {
    await clients.s3.send(new CreateBucketCommand({ Bucket: 'acme-new-trail-bucket' }));
    await clients.cloudTrail.send(
      new UpdateTrailCommand({ Name: 'outcomes-trail', S3BucketName: 'acme-new-trail-bucket' }),
    );
    const report = await repair();
    expect(findingCodes(report)).toEqual(['BUCKET_CHANGED']);
    expect(report.actions).toEqual([]);
    const checked = await expectWorkingChain(clients, CUSTOMER, chain.trailArn);
    expect(checked.bucket).toBe('acme-new-trail-bucket');
    expect((await world.registry.require(CUSTOMER)).bucketName).toBe('acme-new-trail-bucket');
    await expectNoFurtherAction();
  });

  test('BUCKET_POLICY_CHANGED: reported as info, the customer policy is left as it is', async () => {
    const customerPolicy = JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ ...CUSTOMER_STATEMENT, Action: 's3:GetObject', Resource: `arn:aws:s3:::${chain.bucket}/*` }],
    });
    await clients.s3.send(new PutBucketPolicyCommand({ Bucket: chain.bucket, Policy: customerPolicy }));
    const report = await repair();
    expect(report.findings).toEqual([expect.objectContaining({ code: 'BUCKET_POLICY_CHANGED', severity: 'info' })]);
    expect(report.actions).toEqual([]);
    expect(report.status).toBe('healthy');
    const policy = await clients.s3.send(new GetBucketPolicyCommand({ Bucket: chain.bucket }));
    expect(JSON.parse(policy.Policy!)).toEqual(JSON.parse(customerPolicy));
    await expectWorkingChain(clients, CUSTOMER, chain.trailArn);
    await expectNoFurtherAction();
  });

  test('BUCKET_MISSING: outcomes-<account id> is created with the default policy', async () => {
    await clients.s3.send(new DeleteBucketCommand({ Bucket: chain.bucket }));
    const report = await repair();
    expect(findingCodes(report)).toEqual(['BUCKET_MISSING']);
    expect(codes(report)).toEqual(['CREATE_BUCKET', 'PUT_BUCKET_POLICY']);
    const policy = await clients.s3.send(
      new GetBucketPolicyCommand({ Bucket: chain.bucket, ExpectedBucketOwner: CUSTOMER }),
    );
    expect(policy.Policy).toContain('CloudTrailCollectorCloudTrailWrite');
    await expectWorkingChain(clients, CUSTOMER, chain.trailArn);
    await expectNoFurtherAction();
  });

  test('BUCKET_MISSING with an S3KeyPrefix: the re-created bucket names the prefix in its policy, the chain works again', async () => {
    // CloudTrail User Guide, "Amazon S3 bucket policy for CloudTrail": PutObject on bucket/[prefix]/AWSLogs/<id>/*.
    // The emulator never checks it (real CloudTrail fails UpdateTrail with InsufficientS3BucketPolicyException),
    // so the policy is checked here with the same simulation the planner uses.
    const prefix = 'acme/audit';
    const prefixed = defaultBucketPolicy({
      bucketName: chain.bucket,
      accountId: CUSTOMER,
      trailArn: chain.trailArn,
      keyPrefix: prefix,
    });
    await clients.s3.send(new PutBucketPolicyCommand({ Bucket: chain.bucket, Policy: JSON.stringify(prefixed) }));
    await clients.cloudTrail.send(new UpdateTrailCommand({ Name: 'outcomes-trail', S3KeyPrefix: prefix }));
    await world.run('apply'); // the customer's own policy change is reported (info) and recorded
    await clients.s3.send(new DeleteBucketCommand({ Bucket: chain.bucket }));

    const report = await repair();
    expect(findingCodes(report)).toEqual(['BUCKET_MISSING']);
    expect(codes(report)).toEqual(['CREATE_BUCKET', 'PUT_BUCKET_POLICY']);
    const written = await clients.s3.send(
      new GetBucketPolicyCommand({ Bucket: chain.bucket, ExpectedBucketOwner: CUSTOMER }),
    );
    const check = { bucketName: chain.bucket, trailArn: chain.trailArn, accountId: CUSTOMER };
    expect(checkBucketPolicy(written.Policy, { ...check, keyPrefix: prefix })).toEqual({
      allowed: true,
      explicitDeny: false,
      reasons: [],
    });
    expect(JSON.parse(written.Policy!).Statement).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          Sid: 'CloudTrailCollectorCloudTrailWrite',
          Resource: `arn:aws:s3:::${chain.bucket}/${prefix}/AWSLogs/${CUSTOMER}/*`,
        }),
      ]),
    );
    // The trail kept its prefix; the unprefixed policy of before would not have let it write there.
    const described = await clients.cloudTrail.send(new DescribeTrailsCommand({ trailNameList: ['outcomes-trail'] }));
    expect(described.trailList![0]!.S3KeyPrefix).toBe(prefix);
    expect(checkBucketPolicy(JSON.stringify(defaultBucketPolicy(check)), { ...check, keyPrefix: prefix }).allowed).toBe(
      false,
    );
    await expectWorkingChain(clients, CUSTOMER, chain.trailArn);

    // A log file delivered under the prefix, announced as CloudTrail does, reaches the queue and is collectable.
    const file = await putLogFile(clients.s3, {
      bucket: chain.bucket,
      accountId: CUSTOMER,
      region: 'us-east-1',
      seed: 11,
      records: 2,
      time: new Date('2026-11-01T12:00:00Z'),
      prefix,
    });
    await publishCloudTrailNotification(clients.sns, chain.topicArn, chain.bucket, [file.key]);
    const [message] = await drainQueue(clients.sqs, chain.queueUrl);
    const parsed = parseNotification(message!.body);
    expect(parsed).toMatchObject({ kind: 'objects', objects: [expect.objectContaining({ key: file.key })] });
    expect(classifyObjectKey(file.key)).toMatchObject({ type: 'log', accountId: CUSTOMER, prefix });
    await expectNoFurtherAction();
  });

  test("BUCKET_MISSING on a customer's bucket: the trail is pointed at outcomes-<account id>", async () => {
    await clients.s3.send(new CreateBucketCommand({ Bucket: 'acme-trail-bucket' }));
    await clients.cloudTrail.send(
      new UpdateTrailCommand({ Name: 'outcomes-trail', S3BucketName: 'acme-trail-bucket' }),
    );
    await world.run('apply'); // follows the customer's bucket (BUCKET_CHANGED)
    await clients.s3.send(new DeleteBucketCommand({ Bucket: 'acme-trail-bucket' }));
    const report = await repair();
    // outcomes-<id> still exists with the statements for this trail: reused as it is.
    expect(codes(report)).toEqual(['UPDATE_TRAIL']);
    const checked = await expectWorkingChain(clients, CUSTOMER, chain.trailArn);
    expect(checked.bucket).toBe(`outcomes-${CUSTOMER}`);
    await expectNoFurtherAction();
  });

  test('TOPIC_CHANGED: the queue follows the new topic', async () => {
    const { TopicArn } = await clients.sns.send(new CreateTopicCommand({ Name: 'acme-trail-topic' }));
    await clients.cloudTrail.send(new UpdateTrailCommand({ Name: 'outcomes-trail', SnsTopicName: 'acme-trail-topic' }));
    const report = await repair();
    expect(findingCodes(report)).toEqual(expect.arrayContaining(['TOPIC_CHANGED']));
    expect(report.actions).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ code: 'SUBSCRIBE', resource: TopicArn, reason: 'TOPIC_CHANGED' }),
      ]),
    );
    const checked = await expectWorkingChain(clients, CUSTOMER, chain.trailArn);
    expect(checked.topicArn).toBe(TopicArn);
    const recorded = await world.registry.require(CUSTOMER);
    expect(recorded.topicArn).toBe(TopicArn);
    // The old topic stays the account's for the notifications already delivered from it (hub binding, tenant.ts).
    expect(recorded.previousTopicArn).toBe(chain.topicArn);
    expect(Date.parse(recorded.topicChangedAt!)).toBeGreaterThan(Date.now() - 60_000);
    // ...but the trail no longer notifies it: outcomesqueue was unsubscribed from it, after the new subscription.
    expect(report.actions).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ code: 'UNSUBSCRIBE', reason: 'TOPIC_CHANGED', status: 'applied' }),
      ]),
    );
    const left = await clients.sns.send(new ListSubscriptionsByTopicCommand({ TopicArn: chain.topicArn }));
    expect(left.Subscriptions ?? []).toEqual([]);
    await expectNoFurtherAction();
    // Once the retry window has passed, the registry forgets the old topic (and later runs stop reading it).
    const longAgo = new Date(Date.now() - (retryWindowSeconds() + 60) * 1000).toISOString();
    await world.registry.update(CUSTOMER, { topicChangedAt: longAgo });
    await world.run('apply');
    const forgotten = await world.registry.require(CUSTOMER);
    expect(forgotten.previousTopicArn).toBeUndefined();
    expect(forgotten.topicChangedAt).toBeUndefined();
    expect(forgotten.topicArn).toBe(TopicArn);
  });

  test('TOPIC_POLICY_INVALID: the default statements are merged in, the customer statements kept', async () => {
    const customerPolicy = {
      Version: '2012-10-17',
      Statement: [{ ...CUSTOMER_STATEMENT, Action: 'SNS:Subscribe', Resource: chain.topicArn }],
    };
    await clients.sns.send(
      new SetTopicAttributesCommand({
        TopicArn: chain.topicArn,
        AttributeName: 'Policy',
        AttributeValue: JSON.stringify(customerPolicy),
      }),
    );
    const report = await repair();
    expect(findingCodes(report)).toEqual(['TOPIC_POLICY_INVALID']);
    expect(codes(report)).toEqual(['PUT_TOPIC_POLICY']);
    const attributes = await clients.sns.send(new GetTopicAttributesCommand({ TopicArn: chain.topicArn }));
    expect(JSON.parse(attributes.Attributes!.Policy!).Statement).toEqual(
      expect.arrayContaining([
        customerPolicy.Statement[0],
        expect.objectContaining({ Sid: 'CloudTrailCollectorCloudTrailPublish' }),
      ]),
    );
    await expectWorkingChain(clients, CUSTOMER, chain.trailArn);
    await expectNoFurtherAction();
  });

  test('TOPIC_MISSING: outcomestopic is re-created, given its policy, and the queue re-subscribed', async () => {
    await clients.sns.send(new DeleteTopicCommand({ TopicArn: chain.topicArn }));
    const report = await repair();
    expect(findingCodes(report)).toEqual(['TOPIC_MISSING']);
    expect(codes(report)).toEqual(['CREATE_TOPIC', 'PUT_TOPIC_POLICY', 'SUBSCRIBE']);
    await expectWorkingChain(clients, CUSTOMER, chain.trailArn);
    await expectNoFurtherAction();
  });

  test('SUBSCRIPTION_MISSING: detected with ListSubscriptionsByTopic and re-subscribed', async () => {
    const subscriptions = await clients.sns.send(new ListSubscriptionsByTopicCommand({ TopicArn: chain.topicArn }));
    await clients.sns.send(
      new UnsubscribeCommand({ SubscriptionArn: subscriptions.Subscriptions![0]!.SubscriptionArn }),
    );
    const report = await repair();
    expect(findingCodes(report)).toEqual(['SUBSCRIPTION_MISSING']);
    expect(codes(report)).toEqual(['SUBSCRIBE']);
    // SNS Developer Guide, "Amazon SNS dead-letter queues (DLQs)": the new subscription parks what SNS cannot deliver.
    const [subscription] = (await clients.sns.send(new ListSubscriptionsByTopicCommand({ TopicArn: chain.topicArn })))
      .Subscriptions!;
    const attributes = await clients.sns.send(
      new GetSubscriptionAttributesCommand({ SubscriptionArn: subscription!.SubscriptionArn }),
    );
    expect(JSON.parse(attributes.Attributes!.RedrivePolicy!)).toEqual({
      deadLetterTargetArn: chain.queueArn.replace(/outcomesqueue$/, 'outcomesqueue-dlq'),
    });
    await expectWorkingChain(clients, CUSTOMER, chain.trailArn);
    await expectNoFurtherAction();
  });

  test('QUEUE_POLICY_INVALID: the default statements are merged in, the customer statements kept', async () => {
    const customerPolicy = { Version: '2012-10-17', Statement: [{ ...CUSTOMER_STATEMENT, Resource: chain.queueArn }] };
    await clients.sqs.send(
      new SetQueueAttributesCommand({
        QueueUrl: chain.queueUrl,
        Attributes: { Policy: JSON.stringify(customerPolicy) },
      }),
    );
    const report = await repair();
    expect(findingCodes(report)).toEqual(['QUEUE_POLICY_INVALID']);
    expect(codes(report)).toEqual(['PUT_QUEUE_POLICY']);
    const attributes = await clients.sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: chain.queueUrl, AttributeNames: ['Policy'] }),
    );
    expect(JSON.parse(attributes.Attributes!.Policy!).Statement).toEqual(
      expect.arrayContaining([
        customerPolicy.Statement[0],
        expect.objectContaining({ Sid: 'CloudTrailCollectorTopicSend' }),
      ]),
    );
    await expectWorkingChain(clients, CUSTOMER, chain.trailArn);
    await expectNoFurtherAction();
  });

  test('QUEUE_MISSING: the queue is re-created with its policy; the subscription by ARN still holds', async () => {
    await clients.sqs.send(new DeleteQueueCommand({ QueueUrl: chain.queueUrl }));
    const report = await repair();
    expect(findingCodes(report)).toEqual(['QUEUE_MISSING']);
    expect(codes(report)).toEqual(['CREATE_QUEUE', 'PUT_QUEUE_POLICY']);
    const checked = await expectWorkingChain(clients, CUSTOMER, chain.trailArn);
    expect(checked.queueArn).toBe(chain.queueArn);
    await expectNoFurtherAction();
  });
});
