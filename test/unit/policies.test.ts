import {
  COLLECTOR_SID_PREFIX,
  defaultBucketPolicy,
  defaultQueueStatements,
  defaultTopicStatements,
  isOptInRegion,
  mergeCollectorStatements,
  snsDeliveryPrincipals,
  snsDeliveryUnsupported,
  trailLogKeyPrefix,
  type PolicyDocument,
  type PolicyStatement,
} from '../../lambdas/reconcile/policies';
import {
  checkQueuePolicy,
  checkTopicPolicy,
  evaluateResourcePolicy,
  type SimulatedRequest,
} from '../../lambdas/reconcile/policy-validation';
import { CollectorError } from '../../lambdas/shared/errors';

const ACCOUNT = '111122223333';
const COLLECTOR_ACCOUNT = '999988887777';
const TOPIC_ARN = `arn:aws:sns:us-east-1:${ACCOUNT}:outcomestopic`;
const TRAIL_ARN = `arn:aws:cloudtrail:us-east-1:${ACCOUNT}:trail/outcomes-trail`;
const QUEUE_ARN = `arn:aws:sqs:us-east-1:${ACCOUNT}:outcomesqueue`;
const INGEST_ROLE_ARN = `arn:aws:iam::${COLLECTOR_ACCOUNT}:role/collector-ingest`;
const BUCKET = `outcomes-${ACCOUNT}`;

const topicCtx = { topicArn: TOPIC_ARN, trailArn: TRAIL_ARN, accountId: ACCOUNT };
const queueCtx = { queueArn: QUEUE_ARN, topicArn: TOPIC_ARN, accountId: ACCOUNT, ingestRoleArn: INGEST_ROLE_ARN };

const topicPolicyJson = (statements: PolicyStatement[]): string =>
  JSON.stringify(mergeCollectorStatements(undefined, statements));

/** The policy SNS gives every new topic: the owner account may manage and publish. */
const snsDefaultTopicPolicy: PolicyDocument = {
  Version: '2008-10-17',
  Id: '__default_policy_ID',
  Statement: [
    {
      Sid: '__default_statement_ID',
      Effect: 'Allow',
      Principal: { AWS: '*' },
      Action: ['SNS:GetTopicAttributes', 'SNS:SetTopicAttributes', 'SNS:Subscribe', 'SNS:Publish'],
      Resource: TOPIC_ARN,
      Condition: { StringEquals: { 'AWS:SourceOwner': ACCOUNT } },
    },
  ],
};

describe('defaultTopicStatements', () => {
  const statements = defaultTopicStatements(topicCtx);

  it('prefixes every Sid with CloudTrailCollector', () => {
    expect(statements.map((statement) => statement.Sid)).toEqual([
      'CloudTrailCollectorCloudTrailPublish',
      'CloudTrailCollectorDenyInsecureTransport',
    ]);
  });

  it("is CloudTrail's documented publish statement, pinned to the trail", () => {
    expect(statements[0]).toEqual({
      Sid: 'CloudTrailCollectorCloudTrailPublish',
      Effect: 'Allow',
      Principal: { Service: 'cloudtrail.amazonaws.com' },
      Action: 'SNS:Publish',
      Resource: TOPIC_ARN,
      Condition: { StringEquals: { 'aws:SourceArn': TRAIL_ARN } },
    });
  });

  it('passes its own check', () => {
    expect(checkTopicPolicy(topicPolicyJson(statements), topicCtx)).toEqual({
      allowed: true,
      explicitDeny: false,
      reasons: [],
    });
  });

  it('does not let another trail publish', () => {
    const verdict = checkTopicPolicy(topicPolicyJson(statements), {
      ...topicCtx,
      trailArn: `arn:aws:cloudtrail:us-east-1:${ACCOUNT}:trail/someone-elses-trail`,
    });
    expect(verdict.allowed).toBe(false);
    expect(verdict.explicitDeny).toBe(false);
    expect(verdict.reasons.join('\n')).toContain('CloudTrailCollectorCloudTrailPublish');
  });

  it('denies publishing over plain HTTP with Bool (not BoolIfExists), which never matches CloudTrail', () => {
    const tlsDeny = statements[1]!;
    expect(tlsDeny).toMatchObject({ Effect: 'Deny', Principal: '*', Action: 'SNS:Publish' });
    expect(tlsDeny.Condition).toEqual({ Bool: { 'aws:SecureTransport': 'false' } });

    const policy = mergeCollectorStatements(undefined, statements);
    const cloudTrailPublish = (context: Record<string, string>): SimulatedRequest => ({
      principal: { service: 'cloudtrail.amazonaws.com' },
      action: 'sns:Publish',
      resourceArn: TOPIC_ARN,
      resourceAccountId: ACCOUNT,
      context: { 'aws:SourceArn': TRAIL_ARN, ...context },
    });
    // Even a service request carrying no aws:SecureTransport key at all is not denied.
    expect(evaluateResourcePolicy(policy, cloudTrailPublish({})).allowed).toBe(true);
    expect(evaluateResourcePolicy(policy, cloudTrailPublish({ 'aws:SecureTransport': 'true' })).allowed).toBe(true);
    // A publisher that does arrive over plain HTTP is denied.
    const plainHttp = evaluateResourcePolicy(policy, {
      principal: { roleArn: `arn:aws:iam::${ACCOUNT}:role/app` },
      action: 'sns:Publish',
      resourceArn: TOPIC_ARN,
      resourceAccountId: ACCOUNT,
      context: { 'aws:SecureTransport': 'false' },
    });
    expect(plainHttp).toMatchObject({ allowed: false, explicitDeny: false });
    expect(plainHttp.reasons[0]).toContain('CloudTrailCollectorDenyInsecureTransport');
  });
});

describe('defaultQueueStatements', () => {
  const statements = defaultQueueStatements(queueCtx);
  const policyJson = JSON.stringify(mergeCollectorStatements(undefined, statements));

  it('prefixes every Sid with CloudTrailCollector', () => {
    expect(statements.every((statement) => statement.Sid?.startsWith(COLLECTOR_SID_PREFIX))).toBe(true);
    expect(statements.map((statement) => statement.Sid)).toEqual([
      'CloudTrailCollectorTopicSend',
      'CloudTrailCollectorIngestReceive',
      'CloudTrailCollectorDenyInsecureTransport',
    ]);
  });

  it('lets the topic send and the ingest role receive', () => {
    const verdicts = checkQueuePolicy(policyJson, queueCtx);
    expect(verdicts.topicSend).toEqual({ allowed: true, explicitDeny: false, reasons: [] });
    expect(verdicts.ingestReceive).toEqual({ allowed: true, explicitDeny: false, reasons: [] });
  });

  it('grants the ingest role exactly the event source mapping actions and visibility changes', () => {
    expect(statements[1]).toEqual({
      Sid: 'CloudTrailCollectorIngestReceive',
      Effect: 'Allow',
      Principal: { AWS: INGEST_ROLE_ARN },
      Action: ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:ChangeMessageVisibility'],
      Resource: QUEUE_ARN,
    });
  });

  it('does not let another topic send', () => {
    const verdicts = checkQueuePolicy(policyJson, { ...queueCtx, topicArn: `arn:aws:sns:us-east-1:${ACCOUNT}:other` });
    expect(verdicts.topicSend.allowed).toBe(false);
    expect(verdicts.topicSend.reasons.join('\n')).toContain('ArnEquals aws:SourceArn');
  });

  it('has no ingest statement without an ingest role, so a cross-account role is not let in', () => {
    const withoutRole = defaultQueueStatements({ queueArn: QUEUE_ARN, topicArn: TOPIC_ARN });
    expect(withoutRole.map((statement) => statement.Sid)).toEqual([
      'CloudTrailCollectorTopicSend',
      'CloudTrailCollectorDenyInsecureTransport',
    ]);
    const verdicts = checkQueuePolicy(JSON.stringify(mergeCollectorStatements(undefined, withoutRole)), queueCtx);
    expect(verdicts.topicSend.allowed).toBe(true);
    expect(verdicts.ingestReceive).toMatchObject({ allowed: false, explicitDeny: false });
  });

  it('denies every SQS action over plain HTTP', () => {
    expect(statements[2]).toEqual({
      Sid: 'CloudTrailCollectorDenyInsecureTransport',
      Effect: 'Deny',
      Principal: '*',
      Action: 'sqs:*',
      Resource: QUEUE_ARN,
      Condition: { Bool: { 'aws:SecureTransport': 'false' } },
    });
  });
});

describe('defaultBucketPolicy', () => {
  const policy = defaultBucketPolicy({ bucketName: BUCKET, accountId: ACCOUNT, trailArn: TRAIL_ARN });
  const cloudTrail = (action: string, resourceArn: string, context: Record<string, string>): SimulatedRequest => ({
    principal: { service: 'cloudtrail.amazonaws.com' },
    action,
    resourceArn,
    resourceAccountId: ACCOUNT,
    context: { 'aws:SourceArn': TRAIL_ARN, 'aws:SourceAccount': ACCOUNT, 'aws:SecureTransport': 'true', ...context },
  });
  const logKey = `arn:aws:s3:::${BUCKET}/AWSLogs/${ACCOUNT}/CloudTrail/us-east-1/2024/05/01/file.json.gz`;
  const ownerFullControl = { 's3:x-amz-acl': 'bucket-owner-full-control' };

  it('is a full document whose statements are all the collector’s', () => {
    expect(policy.Version).toBe('2012-10-17');
    expect(policy.Statement.map((statement) => statement.Sid)).toEqual([
      'CloudTrailCollectorCloudTrailAclCheck',
      'CloudTrailCollectorCloudTrailWrite',
      'CloudTrailCollectorDenyInsecureTransport',
    ]);
  });

  it('lets CloudTrail check the ACL and write log files with bucket-owner-full-control', () => {
    expect(evaluateResourcePolicy(policy, cloudTrail('s3:GetBucketAcl', `arn:aws:s3:::${BUCKET}`, {})).allowed).toBe(
      true,
    );
    expect(evaluateResourcePolicy(policy, cloudTrail('s3:PutObject', logKey, ownerFullControl)).allowed).toBe(true);
  });

  it('refuses writes without the ACL, outside AWSLogs/<account>/, or from another trail', () => {
    expect(evaluateResourcePolicy(policy, cloudTrail('s3:PutObject', logKey, {})).allowed).toBe(false);
    const otherAccountKey = `arn:aws:s3:::${BUCKET}/AWSLogs/444455556666/CloudTrail/x.json.gz`;
    expect(evaluateResourcePolicy(policy, cloudTrail('s3:PutObject', otherAccountKey, ownerFullControl)).allowed).toBe(
      false,
    );
    const otherTrail = { ...ownerFullControl, 'aws:SourceArn': `arn:aws:cloudtrail:us-east-1:${ACCOUNT}:trail/x` };
    expect(evaluateResourcePolicy(policy, cloudTrail('s3:PutObject', logKey, otherTrail)).allowed).toBe(false);
  });

  it('denies plain HTTP on the bucket and its objects', () => {
    expect(policy.Statement[2]).toMatchObject({
      Effect: 'Deny',
      Action: 's3:*',
      Resource: [`arn:aws:s3:::${BUCKET}`, `arn:aws:s3:::${BUCKET}/*`],
      Condition: { Bool: { 'aws:SecureTransport': 'false' } },
    });
    const verdict = evaluateResourcePolicy(
      policy,
      cloudTrail('s3:PutObject', logKey, { 'aws:SecureTransport': 'false' }),
    );
    expect(verdict.allowed).toBe(false);
  });

  it('takes the partition from the trail ARN unless one is given', () => {
    const china = defaultBucketPolicy({
      bucketName: BUCKET,
      accountId: ACCOUNT,
      trailArn: `arn:aws-cn:cloudtrail:cn-north-1:${ACCOUNT}:trail/outcomes-trail`,
    });
    expect(china.Statement[0]?.Resource).toBe(`arn:aws-cn:s3:::${BUCKET}`);
    const govCloud = defaultBucketPolicy({
      bucketName: BUCKET,
      accountId: ACCOUNT,
      trailArn: TRAIL_ARN,
      partition: 'aws-us-gov',
    });
    expect(govCloud.Statement[1]?.Resource).toBe(`arn:aws-us-gov:s3:::${BUCKET}/AWSLogs/${ACCOUNT}/*`);
  });
});

describe('mergeCollectorStatements', () => {
  const customerAllow: PolicyStatement = {
    Sid: 'AppPublish',
    Effect: 'Allow',
    Principal: { AWS: `arn:aws:iam::${ACCOUNT}:role/app` },
    Action: 'sns:Publish',
    Resource: TOPIC_ARN,
  };
  const customerNoSid: PolicyStatement = {
    Effect: 'Deny',
    Principal: '*',
    Action: 'sns:Subscribe',
    Resource: TOPIC_ARN,
    Condition: { StringNotEquals: { 'aws:PrincipalAccount': ACCOUNT } },
  };
  const oldCollector: PolicyStatement = {
    Sid: 'CloudTrailCollectorSomethingOld',
    Effect: 'Allow',
    Principal: '*',
    Action: 'sns:*',
    Resource: '*',
  };
  const collectorStatements = defaultTopicStatements(topicCtx);

  it('builds a 2012-10-17 document from the collector statements when there is no policy', () => {
    expect(mergeCollectorStatements(undefined, collectorStatements)).toEqual({
      Version: '2012-10-17',
      Statement: collectorStatements,
    });
  });

  it("keeps the customer's statements exactly, in order, and replaces every collector statement", () => {
    const existing: PolicyDocument = {
      Version: '2012-10-17',
      Id: 'customer-policy',
      Statement: [customerAllow, oldCollector, customerNoSid],
    };
    const merged = mergeCollectorStatements(existing, collectorStatements);
    expect(merged).toEqual({
      Version: '2012-10-17',
      Id: 'customer-policy',
      Statement: [customerAllow, customerNoSid, ...collectorStatements],
    });
  });

  it('keeps a Sid that only contains the prefix later on', () => {
    const lookalike: PolicyStatement = { ...customerAllow, Sid: 'NotCloudTrailCollector' };
    const merged = mergeCollectorStatements({ Statement: [lookalike] }, collectorStatements);
    expect(merged.Statement[0]).toEqual(lookalike);
  });

  it('accepts Statement as a single object and keeps an existing Version', () => {
    const merged = mergeCollectorStatements({ Version: '2008-10-17', Statement: customerAllow }, collectorStatements);
    expect(merged.Version).toBe('2008-10-17');
    expect(merged.Statement).toEqual([customerAllow, ...collectorStatements]);
  });

  it('sets Version when the existing policy has none', () => {
    expect(mergeCollectorStatements({ Statement: [customerAllow] }, collectorStatements).Version).toBe('2012-10-17');
  });

  it('treats a document without Statement as empty', () => {
    const noStatement = { Version: '2012-10-17' } as unknown as PolicyDocument;
    expect(mergeCollectorStatements(noStatement, collectorStatements).Statement).toEqual(collectorStatements);
  });

  it('is idempotent, so a second repair changes nothing', () => {
    const once = mergeCollectorStatements(snsDefaultTopicPolicy, collectorStatements);
    expect(mergeCollectorStatements(once, collectorStatements)).toEqual(once);
  });

  it('does not modify its inputs or share objects with them', () => {
    const existing: PolicyDocument = { Statement: [customerAllow, oldCollector] };
    const snapshot = structuredClone(existing);
    const merged = mergeCollectorStatements(existing, collectorStatements);
    expect(existing).toEqual(snapshot);
    expect(merged.Statement[0]).not.toBe(customerAllow);
    expect(merged.Statement[1]).not.toBe(collectorStatements[0]);
  });

  it('refuses a collector statement without the prefix, which would be duplicated on every repair', () => {
    expect(() => mergeCollectorStatements(undefined, [customerAllow])).toThrow(CollectorError);
    expect(() => mergeCollectorStatements(undefined, [{ ...oldCollector, Sid: undefined }])).toThrow(/Sid prefix/);
  });

  it('repairs the SNS default policy into one CloudTrail can publish through, keeping the default statement', () => {
    expect(checkTopicPolicy(JSON.stringify(snsDefaultTopicPolicy), topicCtx).allowed).toBe(false);
    const repaired = mergeCollectorStatements(snsDefaultTopicPolicy, collectorStatements);
    expect(repaired.Statement[0]).toEqual((snsDefaultTopicPolicy.Statement as PolicyStatement[])[0]);
    expect(checkTopicPolicy(JSON.stringify(repaired), topicCtx).allowed).toBe(true);
  });

  it('repairs a queue policy whose customer statements allow nothing, without touching them', () => {
    const existing: PolicyDocument = {
      Statement: [customerNoSid, { ...oldCollector, Resource: 'arn:aws:sqs:*:*:old' }],
    };
    expect(checkQueuePolicy(JSON.stringify(existing), queueCtx).topicSend.allowed).toBe(false);
    const repaired = mergeCollectorStatements(existing, defaultQueueStatements(queueCtx));
    const verdicts = checkQueuePolicy(JSON.stringify(repaired), queueCtx);
    expect(verdicts.topicSend.allowed).toBe(true);
    expect(verdicts.ingestReceive?.allowed).toBe(true);
    expect(repaired.Statement[0]).toEqual(customerNoSid);
  });
});

describe('the Region rules of SNS -> SQS delivery (SNS Developer Guide, cross-Region delivery)', () => {
  test('same Region, or from a Region enabled by default: sns.amazonaws.com', () => {
    expect(snsDeliveryPrincipals('us-east-1', 'us-east-1')).toEqual(['sns.amazonaws.com']);
    expect(snsDeliveryPrincipals('ap-east-1', 'ap-east-1')).toEqual(['sns.amazonaws.com']);
    expect(snsDeliveryPrincipals('us-east-1', 'me-central-1')).toEqual(['sns.amazonaws.com']);
  });

  test('from an opt-in Region to another Region: the regional principal', () => {
    expect(snsDeliveryPrincipals('ap-east-1', 'us-east-1')).toEqual(['sns.ap-east-1.amazonaws.com']);
    expect(snsDeliveryPrincipals('me-central-1', 'eu-west-1')).toEqual(['sns.me-central-1.amazonaws.com']);
  });

  test('Osaka, opt-in for the SNS guide but enabled by default for Account Management: both', () => {
    expect(snsDeliveryPrincipals('ap-northeast-3', 'us-east-1')).toEqual([
      'sns.amazonaws.com',
      'sns.ap-northeast-3.amazonaws.com',
    ]);
  });

  test('opt-in -> another opt-in Region is unsupported; every other pair is supported', () => {
    expect(snsDeliveryUnsupported('ap-east-1', 'me-central-1')).toContain('does not deliver');
    expect(snsDeliveryUnsupported('ap-east-1', 'ap-east-1')).toBeUndefined();
    expect(snsDeliveryUnsupported('ap-east-1', 'us-east-1')).toBeUndefined();
    expect(snsDeliveryUnsupported('us-east-1', 'me-central-1')).toBeUndefined();
    expect(isOptInRegion('us-east-1')).toBe(false);
    expect(isOptInRegion('af-south-1')).toBe(true);
  });

  test('the queue statement the collector writes names the principal SNS will use', () => {
    const queueArn = 'arn:aws:sqs:us-east-1:111122223333:outcomesqueue';
    const [send] = defaultQueueStatements({ queueArn, topicArn: 'arn:aws:sns:ap-east-1:111122223333:outcomestopic' });
    expect(send).toMatchObject({
      Sid: 'CloudTrailCollectorTopicSend',
      Principal: { Service: 'sns.ap-east-1.amazonaws.com' },
    });
    const [same] = defaultQueueStatements({ queueArn, topicArn: 'arn:aws:sns:us-east-1:111122223333:outcomestopic' });
    expect(same!.Principal).toEqual({ Service: 'sns.amazonaws.com' });
  });
});

describe('the bucket policy with a trail key prefix (CloudTrail User Guide, bucket policy for CloudTrail)', () => {
  test('the PutObject resource is <bucket>/<prefix>/AWSLogs/<account>/*', () => {
    const policy = defaultBucketPolicy({
      bucketName: 'b',
      accountId: '111122223333',
      trailArn: 'arn:aws:cloudtrail:us-east-1:111122223333:trail/t',
      keyPrefix: 'logs/ct',
    });
    expect(policy.Statement[1]!.Resource).toBe('arn:aws:s3:::b/logs/ct/AWSLogs/111122223333/*');
    const plain = defaultBucketPolicy({
      bucketName: 'b',
      accountId: '111122223333',
      trailArn: 'arn:aws:cloudtrail:us-east-1:111122223333:trail/t',
    });
    expect(plain.Statement[1]!.Resource).toBe('arn:aws:s3:::b/AWSLogs/111122223333/*');
    expect(trailLogKeyPrefix('111122223333', 'x')).toBe('x/AWSLogs/111122223333/');
  });
});
