import type { ConditionElement, PolicyStatement, PrincipalElement } from '../../lambdas/reconcile/policies';
import {
  checkQueuePolicy,
  checkTopicPolicy,
  evaluateResourcePolicy,
  parsePolicyDocument,
  PolicyParseError,
  type PolicyVerdict,
  type SimulatedRequest,
} from '../../lambdas/reconcile/policy-validation';
import { CollectorError } from '../../lambdas/shared/errors';

const ACCOUNT = '111122223333';
const COLLECTOR_ACCOUNT = '999988887777';
const OTHER_ACCOUNT = '444455556666';
const TOPIC_ARN = `arn:aws:sns:us-east-1:${ACCOUNT}:outcomestopic`;
const TRAIL_ARN = `arn:aws:cloudtrail:us-east-1:${ACCOUNT}:trail/outcomes-trail`;
const QUEUE_ARN = `arn:aws:sqs:us-east-1:${ACCOUNT}:outcomesqueue`;
const INGEST_ROLE_ARN = `arn:aws:iam::${COLLECTOR_ACCOUNT}:role/collector-ingest`;
const SAME_ACCOUNT_ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/collector-ingest`;

const topicCtx = { topicArn: TOPIC_ARN, trailArn: TRAIL_ARN, accountId: ACCOUNT };
const queueCtx = { queueArn: QUEUE_ARN, topicArn: TOPIC_ARN, accountId: ACCOUNT, ingestRoleArn: INGEST_ROLE_ARN };

const ALLOWED: PolicyVerdict = { allowed: true, explicitDeny: false, reasons: [] };

const policy = (...statements: PolicyStatement[]): string =>
  JSON.stringify({ Version: '2012-10-17', Statement: statements });

/** CloudTrail's documented topic statement (AWS docs spell the key `AWS:SourceArn`). */
const cloudTrailPublish = (overrides: Partial<PolicyStatement> = {}): PolicyStatement => ({
  Sid: 'AWSCloudTrailSNSPolicy20150319',
  Effect: 'Allow',
  Principal: { Service: 'cloudtrail.amazonaws.com' },
  Action: 'SNS:Publish',
  Resource: TOPIC_ARN,
  Condition: { StringEquals: { 'AWS:SourceArn': TRAIL_ARN } },
  ...overrides,
});

/** SNS's documented queue statement for a topic subscription. */
const snsSend = (overrides: Partial<PolicyStatement> = {}): PolicyStatement => ({
  Sid: 'AllowTopic',
  Effect: 'Allow',
  Principal: { Service: 'sns.amazonaws.com' },
  Action: 'sqs:SendMessage',
  Resource: QUEUE_ARN,
  Condition: { ArnEquals: { 'aws:SourceArn': TOPIC_ARN } },
  ...overrides,
});

const deny = (overrides: Partial<PolicyStatement>): PolicyStatement => ({
  Sid: 'CustomerDeny',
  Effect: 'Deny',
  Principal: '*',
  Action: '*',
  Resource: '*',
  ...overrides,
});

const checkTopic = (...statements: PolicyStatement[]): PolicyVerdict =>
  checkTopicPolicy(policy(...statements), topicCtx);
const checkQueue = (...statements: PolicyStatement[]) => checkQueuePolicy(policy(...statements), queueCtx);

/** A copy of the statement without these elements (even required ones, to build malformed policies). */
const without = (statement: PolicyStatement, ...keys: (keyof PolicyStatement)[]): PolicyStatement => {
  const copy: Partial<PolicyStatement> = { ...statement };
  for (const key of keys) delete copy[key];
  return copy as PolicyStatement;
};

describe('checkTopicPolicy: what allows CloudTrail to publish', () => {
  it("passes CloudTrail's documented statement", () => {
    expect(checkTopic(cloudTrailPublish())).toEqual(ALLOWED);
  });

  it('fails when the statement names another trail, saying which condition and values', () => {
    const otherTrail = `arn:aws:cloudtrail:us-east-1:${ACCOUNT}:trail/old-trail`;
    const verdict = checkTopic(cloudTrailPublish({ Condition: { StringEquals: { 'aws:SourceArn': otherTrail } } }));
    expect(verdict.allowed).toBe(false);
    expect(verdict.explicitDeny).toBe(false);
    expect(verdict.reasons[0]).toBe(`no statement allows sns:Publish by cloudtrail.amazonaws.com on ${TOPIC_ARN}`);
    expect(verdict.reasons[1]).toContain('statement #1 (Sid "AWSCloudTrailSNSPolicy20150319") would allow it');
    expect(verdict.reasons[1]).toContain(otherTrail);
    expect(verdict.reasons[1]).toContain(TRAIL_ARN);
  });

  it('fails with no policy at all, or an empty one', () => {
    for (const missing of [undefined, '', '  ']) {
      const verdict = checkTopicPolicy(missing, topicCtx);
      expect(verdict).toMatchObject({ allowed: false, explicitDeny: false });
      expect(verdict.reasons[0]).toMatch(/no resource policy/);
    }
  });

  it("fails with only SNS's default owner statement: CloudTrail needs its own", () => {
    const verdict = checkTopic({
      Sid: '__default_statement_ID',
      Effect: 'Allow',
      Principal: { AWS: '*' },
      Action: ['SNS:GetTopicAttributes', 'SNS:Subscribe', 'SNS:Publish'],
      Resource: TOPIC_ARN,
      Condition: { StringEquals: { 'AWS:SourceOwner': ACCOUNT } },
    });
    expect(verdict.allowed).toBe(false);
    expect(verdict.reasons[1]).toContain('AWS:SourceOwner');
  });

  it('fails when an Allow condition does not match the request (aws:SourceAccount)', () => {
    const verdict = checkTopic(
      cloudTrailPublish({ Condition: { StringEquals: { 'aws:SourceAccount': OTHER_ACCOUNT } } }),
    );
    expect(verdict).toMatchObject({ allowed: false, explicitDeny: false });
    expect(verdict.reasons[1]).toContain(`StringEquals aws:SourceAccount "${OTHER_ACCOUNT}"`);
  });

  it('needs every condition of a statement to hold', () => {
    const both: ConditionElement = {
      StringEquals: { 'aws:SourceArn': TRAIL_ARN, 'aws:SourceAccount': ACCOUNT },
      Bool: { 'aws:SecureTransport': 'true' },
    };
    expect(checkTopic(cloudTrailPublish({ Condition: both })).allowed).toBe(true);
    const oneWrong: ConditionElement = { ...both, Bool: { 'aws:SecureTransport': 'false' } };
    expect(checkTopic(cloudTrailPublish({ Condition: oneWrong })).allowed).toBe(false);
  });

  it('accepts any one of several condition values', () => {
    const values = {
      StringEquals: { 'aws:SourceArn': [`arn:aws:cloudtrail:us-east-1:${ACCOUNT}:trail/x`, TRAIL_ARN] },
    };
    expect(checkTopic(cloudTrailPublish({ Condition: values })).allowed).toBe(true);
  });

  describe('principals', () => {
    it.each<[string, PrincipalElement]>([
      ['"*"', '*'],
      ['{"AWS": "*"}', { AWS: '*' }],
      ['{"Service": [...]} array form', { Service: ['s3.amazonaws.com', 'cloudtrail.amazonaws.com'] }],
    ])('passes Principal %s with the SourceArn condition', (_name, principal) => {
      expect(checkTopic(cloudTrailPublish({ Principal: principal }))).toEqual(ALLOWED);
    });

    it.each<[string, PrincipalElement]>([
      ['another service', { Service: 's3.amazonaws.com' }],
      ['the owner account', { AWS: ACCOUNT }],
      ['the owner account root ARN', { AWS: `arn:aws:iam::${ACCOUNT}:root` }],
      ['a federated principal', { Federated: 'cognito-identity.amazonaws.com' }],
    ])('does not let %s stand for CloudTrail', (_name, principal) => {
      expect(checkTopic(cloudTrailPublish({ Principal: principal })).allowed).toBe(false);
    });
  });

  describe('actions', () => {
    it.each(['SNS:*', 'sns:Pub*', 'sns:publish', 'SNS:PUBLISH', 'sns:Publ?sh', '*'])(
      'passes Action %s (case-insensitive, * and ? wildcards)',
      (action) => {
        expect(checkTopic(cloudTrailPublish({ Action: action })).allowed).toBe(true);
      },
    );

    it.each(['sns:Subscribe', 'sqs:*', 'sns:Publish?', 'Publish'])('fails Action %s', (action) => {
      expect(checkTopic(cloudTrailPublish({ Action: action })).allowed).toBe(false);
    });

    it('passes an action list containing the action', () => {
      expect(checkTopic(cloudTrailPublish({ Action: ['sns:Subscribe', 'sns:Publish'] })).allowed).toBe(true);
    });

    it('treats NotAction as every action but those listed', () => {
      const allowAllBut = (notAction: string | string[]): PolicyStatement => ({
        ...without(cloudTrailPublish(), 'Action'),
        NotAction: notAction,
      });
      expect(checkTopic(allowAllBut('sns:Subscribe')).allowed).toBe(true);
      expect(checkTopic(allowAllBut(['sns:Subscribe', 'SNS:PUB*'])).allowed).toBe(false);
    });
  });

  describe('resources', () => {
    it.each(['*', `arn:aws:sns:*:${ACCOUNT}:*`, `arn:aws:sns:us-east-1:${ACCOUNT}:outcomes*`, 'arn:aws:sns:*'])(
      'passes Resource %s',
      (resource) => {
        expect(checkTopic(cloudTrailPublish({ Resource: resource })).allowed).toBe(true);
      },
    );

    it('fails a Resource naming another topic, and says so', () => {
      const verdict = checkTopic(cloudTrailPublish({ Resource: `arn:aws:sns:us-east-1:${ACCOUNT}:old-topic` }));
      expect(verdict.allowed).toBe(false);
      expect(verdict.reasons[1]).toContain(`its Resource does not cover ${TOPIC_ARN}`);
    });

    it('matches resources case-sensitively', () => {
      expect(checkTopic(cloudTrailPublish({ Resource: TOPIC_ARN.toUpperCase() })).allowed).toBe(false);
    });

    it('treats NotResource as every resource but those listed, and no Resource as this one', () => {
      const base = without(cloudTrailPublish(), 'Resource');
      expect(checkTopic({ ...base, NotResource: `arn:aws:sns:*:*:other` }).allowed).toBe(true);
      expect(checkTopic({ ...base, NotResource: `arn:aws:sns:*:*:outcomes*` }).allowed).toBe(false);
      expect(checkTopic(base).allowed).toBe(true);
    });
  });

  describe('explicit Deny', () => {
    it('is reported (explicitDeny) when it names CloudTrail, and wins over the Allow', () => {
      const verdict = checkTopic(
        cloudTrailPublish(),
        deny({ Principal: { Service: 'cloudtrail.amazonaws.com' }, Action: 'sns:Publish' }),
      );
      expect(verdict.allowed).toBe(false);
      expect(verdict.explicitDeny).toBe(true);
      expect(verdict.reasons).toEqual([
        `statement #2 (Sid "CustomerDeny") explicitly denies sns:Publish by cloudtrail.amazonaws.com on ${TOPIC_ARN}`,
      ]);
    });

    it('applies through NotPrincipal that does not exempt CloudTrail', () => {
      const verdict = checkTopic(
        cloudTrailPublish(),
        deny({ Principal: undefined, NotPrincipal: { AWS: `arn:aws:iam::${ACCOUNT}:root` } }),
      );
      expect(verdict).toMatchObject({ allowed: false, explicitDeny: true });
      expect(verdict.reasons[0]).toContain('its NotPrincipal does not exempt the caller');
    });

    it('does not apply when NotPrincipal exempts CloudTrail', () => {
      const exempting = without(deny({ NotPrincipal: { Service: ['cloudtrail.amazonaws.com'] } }), 'Principal');
      expect(checkTopic(cloudTrailPublish(), exempting)).toEqual(ALLOWED);
    });

    it('applies when its aws:SourceAccount condition does not match the trail account', () => {
      const verdict = checkTopic(
        cloudTrailPublish(),
        deny({ Condition: { StringNotEquals: { 'aws:SourceAccount': OTHER_ACCOUNT } } }),
      );
      expect(verdict).toMatchObject({ allowed: false, explicitDeny: true });
      expect(verdict.reasons[0]).toContain(
        `condition StringNotEquals aws:SourceAccount "${OTHER_ACCOUNT}" (request: "${ACCOUNT}")`,
      );
      expect(
        checkTopic(cloudTrailPublish(), deny({ Condition: { StringNotEquals: { 'aws:SourceAccount': ACCOUNT } } })),
      ).toEqual(ALLOWED);
    });

    it('applies as a StringNotEquals aws:SourceArn Deny naming only another trail', () => {
      const onlyOther = { StringNotEquals: { 'aws:SourceArn': `arn:aws:cloudtrail:us-east-1:${ACCOUNT}:trail/x` } };
      expect(checkTopic(cloudTrailPublish(), deny({ Condition: onlyOther })).explicitDeny).toBe(true);
      const ours = { StringNotEquals: { 'aws:SourceArn': [TRAIL_ARN, 'arn:aws:cloudtrail:*:*:trail/x'] } };
      expect(checkTopic(cloudTrailPublish(), deny({ Condition: ours }))).toEqual(ALLOWED);
    });

    it('catches CloudTrail with a negated condition on a key a service request lacks (aws:PrincipalOrgID)', () => {
      const orgOnly = deny({ Condition: { StringNotEquals: { 'aws:PrincipalOrgID': 'o-abc123' } } });
      expect(checkTopic(cloudTrailPublish(), orgOnly).explicitDeny).toBe(true);
      // IfExists does not help: an absent key makes the condition hold, so the Deny still applies.
      const orgOnlyIfExists = deny({ Condition: { StringNotEqualsIfExists: { 'aws:PrincipalOrgID': 'o-abc123' } } });
      expect(checkTopic(cloudTrailPublish(), orgOnlyIfExists).explicitDeny).toBe(true);
    });

    it('lets the AWS-recommended service exception through (aws:PrincipalIsAWSService)', () => {
      const orgOnlyExceptServices = deny({
        Condition: {
          StringNotEquals: { 'aws:PrincipalOrgID': 'o-abc123' },
          BoolIfExists: { 'aws:PrincipalIsAWSService': 'false' },
        },
      });
      expect(checkTopic(cloudTrailPublish(), orgOnlyExceptServices)).toEqual(ALLOWED);
    });

    it('does not apply a TLS-only Deny to CloudTrail', () => {
      const tlsOnly = deny({ Condition: { Bool: { 'aws:SecureTransport': 'false' } } });
      expect(checkTopic(cloudTrailPublish(), tlsOnly)).toEqual(ALLOWED);
    });

    it('catches CloudTrail with a NotIpAddress Deny: service requests carry no aws:SourceIp', () => {
      const corporateOnly = deny({ Condition: { NotIpAddress: { 'aws:SourceIp': '203.0.113.0/24' } } });
      expect(checkTopic(cloudTrailPublish(), corporateOnly).explicitDeny).toBe(true);
    });

    it("is not a conflict when only the collector's own statement denies: a repair replaces it", () => {
      const verdict = checkTopic(cloudTrailPublish(), deny({ Sid: 'CloudTrailCollectorBroken' }));
      expect(verdict.allowed).toBe(false);
      expect(verdict.explicitDeny).toBe(false);
      expect(verdict.reasons[0]).toContain('CloudTrailCollectorBroken');
    });

    it('is a conflict when a customer Deny blocks alongside a collector one', () => {
      const verdict = checkTopic(cloudTrailPublish(), deny({ Sid: 'CloudTrailCollectorBroken' }), deny({}));
      expect(verdict.explicitDeny).toBe(true);
      expect(verdict.reasons).toHaveLength(2);
    });

    it('lists a Deny without Sid by its position', () => {
      const verdict = checkTopic(cloudTrailPublish(), without(deny({}), 'Sid'));
      expect(verdict.reasons[0]).toMatch(/^statement #2 explicitly denies/);
    });
  });

  it('reads Statement given as a single object', () => {
    expect(
      checkTopicPolicy(JSON.stringify({ Version: '2012-10-17', Statement: cloudTrailPublish() }), topicCtx),
    ).toEqual(ALLOWED);
  });
});

describe('checkQueuePolicy: what lets the topic send and the ingest role receive', () => {
  const receive: PolicyStatement = {
    Sid: 'Ingest',
    Effect: 'Allow',
    Principal: { AWS: INGEST_ROLE_ARN },
    Action: ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:ChangeMessageVisibility'],
    Resource: QUEUE_ARN,
  };

  it("passes SNS's documented statement and a cross-account role named in the policy", () => {
    expect(checkQueue(snsSend(), receive)).toEqual({ topicSend: ALLOWED, ingestReceive: ALLOWED });
  });

  it('passes the older console form: Principal {"AWS": "*"} with ArnEquals aws:SourceArn', () => {
    expect(checkQueue(snsSend({ Principal: { AWS: '*' } })).topicSend).toEqual(ALLOWED);
  });

  it('matches ArnLike part by part, wildcards allowed', () => {
    const like = (pattern: string) => checkQueue(snsSend({ Condition: { ArnLike: { 'aws:SourceArn': pattern } } }));
    expect(like(`arn:aws:sns:*:${ACCOUNT}:*`).topicSend.allowed).toBe(true);
    expect(like('arn:aws:sns:us-east-1:*:outcomes?opic').topicSend.allowed).toBe(true);
    expect(like(`arn:aws:sns:*:${OTHER_ACCOUNT}:*`).topicSend.allowed).toBe(false);
    // `*` stays within its part: it cannot stand for several colon-separated parts.
    expect(like(`arn:aws:*:outcomestopic`).topicSend.allowed).toBe(false);
  });

  it('fails topic-send with no policy, or for another topic', () => {
    const missing = checkQueuePolicy(undefined, queueCtx);
    expect(missing.topicSend).toMatchObject({ allowed: false, explicitDeny: false });
    expect(missing.topicSend.reasons[0]).toMatch(/no resource policy/);
    const otherTopic = checkQueuePolicy(policy(snsSend()), { ...queueCtx, topicArn: `${TOPIC_ARN}-2` });
    expect(otherTopic.topicSend.allowed).toBe(false);
  });

  it('simulates a topic in another account with that account as aws:SourceAccount', () => {
    const archiveTopic = `arn:aws:sns:us-east-1:${OTHER_ACCOUNT}:outcomestopic`;
    const statements = policy(
      snsSend({ Condition: { ArnEquals: { 'aws:SourceArn': archiveTopic } } }),
      deny({ Condition: { StringNotEquals: { 'aws:SourceAccount': OTHER_ACCOUNT } } }),
    );
    expect(checkQueuePolicy(statements, { ...queueCtx, topicArn: archiveTopic }).topicSend).toEqual(ALLOWED);
  });

  it('reports a Deny of SendMessage as a conflict', () => {
    const verdict = checkQueue(snsSend(), deny({ Action: 'SQS:Send*' })).topicSend;
    expect(verdict).toMatchObject({ allowed: false, explicitDeny: true });
  });

  it('leaves ingestReceive out when no ingest role is given', () => {
    const { queueArn, topicArn, accountId } = queueCtx;
    expect(checkQueuePolicy(policy(snsSend()), { queueArn, topicArn, accountId })).toEqual({ topicSend: ALLOWED });
  });

  describe('the ingest role', () => {
    it('is refused cross-account when nothing allows it, or no policy exists', () => {
      const verdict = checkQueue(snsSend()).ingestReceive;
      expect(verdict).toMatchObject({ allowed: false, explicitDeny: false });
      expect(verdict?.reasons).toContain(
        `no statement allows sqs:ReceiveMessage by ${INGEST_ROLE_ARN} on ${QUEUE_ARN}`,
      );
      expect(checkQueuePolicy(undefined, queueCtx).ingestReceive?.allowed).toBe(false);
    });

    it('needs ReceiveMessage, DeleteMessage, GetQueueAttributes and ChangeMessageVisibility (ingest backs failures off), and names what is missing', () => {
      const verdict = checkQueue(snsSend(), { ...receive, Action: 'sqs:ReceiveMessage' }).ingestReceive;
      expect(verdict?.allowed).toBe(false);
      expect(verdict?.reasons.join('\n')).toContain('sqs:DeleteMessage');
      expect(verdict?.reasons.join('\n')).toContain('sqs:GetQueueAttributes');
      expect(verdict?.reasons.join('\n')).toContain('sqs:ChangeMessageVisibility');
      expect(verdict?.reasons.join('\n')).not.toContain('no statement allows sqs:ReceiveMessage');
    });

    it.each<[string, PolicyStatement]>([
      ['its account id', { ...receive, Principal: { AWS: COLLECTOR_ACCOUNT } }],
      ['its account root ARN', { ...receive, Principal: { AWS: `arn:aws:iam::${COLLECTOR_ACCOUNT}:root` } }],
      ['sqs:* in an action list', { ...receive, Action: ['sqs:*'] }],
      [
        'Principal "*" with ArnEquals aws:PrincipalArn',
        { ...receive, Principal: '*', Condition: { ArnEquals: { 'aws:PrincipalArn': INGEST_ROLE_ARN } } },
      ],
      [
        'Principal "*" with StringEquals aws:PrincipalAccount',
        { ...receive, Principal: '*', Condition: { StringEquals: { 'aws:PrincipalAccount': COLLECTOR_ACCOUNT } } },
      ],
    ])('is allowed cross-account by %s', (_name, statement) => {
      expect(checkQueue(snsSend(), statement).ingestReceive).toEqual(ALLOWED);
    });

    it('is not allowed by another role of its account', () => {
      const other = { ...receive, Principal: { AWS: `arn:aws:iam::${COLLECTOR_ACCOUNT}:role/other` } };
      expect(checkQueue(snsSend(), other).ingestReceive?.allowed).toBe(false);
    });

    it('in the queue account needs no statement (identity policy) but is stopped by an explicit Deny', () => {
      const sameAccount = { ...queueCtx, ingestRoleArn: SAME_ACCOUNT_ROLE_ARN };
      expect(checkQueuePolicy(policy(snsSend()), sameAccount).ingestReceive).toEqual(ALLOWED);
      expect(checkQueuePolicy(undefined, sameAccount).ingestReceive).toEqual(ALLOWED);
      const denied = checkQueuePolicy(policy(snsSend(), deny({ Action: 'sqs:DeleteMessage' })), sameAccount);
      expect(denied.ingestReceive).toMatchObject({ allowed: false, explicitDeny: true });
      expect(denied.topicSend).toEqual(ALLOWED);
    });

    it('is denied by NotPrincipal naming the role and account but no session: AWS checks the session too', () => {
      const notPrincipal = (arns: string[]) =>
        without(deny({ NotPrincipal: { AWS: arns }, Action: 'sqs:*' }), 'Principal');
      const roleAndAccount = [INGEST_ROLE_ARN, `arn:aws:iam::${COLLECTOR_ACCOUNT}:root`];
      expect(checkQueue(snsSend(), receive, notPrincipal(roleAndAccount)).ingestReceive).toMatchObject({
        allowed: false,
        explicitDeny: true,
      });
      const withSession = [
        ...roleAndAccount,
        `arn:aws:sts::${COLLECTOR_ACCOUNT}:assumed-role/collector-ingest/ingest-session`,
      ];
      expect(checkQueue(snsSend(), receive, notPrincipal(withSession)).ingestReceive).toEqual(ALLOWED);
    });

    it('is not caught by a TLS-only Deny', () => {
      const tlsOnly = deny({ Action: 'sqs:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } });
      expect(checkQueue(snsSend(), receive, tlsOnly)).toEqual({ topicSend: ALLOWED, ingestReceive: ALLOWED });
    });
  });
});

describe('malformed policies: a verdict, not a throw', () => {
  it.each<[string, string, RegExp]>([
    ['not JSON', '{"Version": "2012-10-17", "Statement": [', /not valid JSON/],
    ['a JSON array', '[]', /not a JSON object/],
    ['no Statement', '{"Version": "2012-10-17"}', /no Statement/],
    ['a statement without Effect', policy(without(cloudTrailPublish(), 'Effect')), /statement #1 has no Effect/],
    ['a statement without Principal', policy(without(cloudTrailPublish(), 'Principal')), /Principal and NotPrincipal/],
    ['a statement without Action', policy(without(cloudTrailPublish(), 'Action')), /Action and NotAction/],
    ['a Principal string other than "*"', policy(cloudTrailPublish({ Principal: 'cloudtrail' as '*' })), /Principal/],
    [
      'both Resource and NotResource',
      policy({ ...cloudTrailPublish(), NotResource: 'arn:aws:sns:*:*:other' }),
      /both Resource and NotResource/,
    ],
    [
      'an Action that is not a string',
      JSON.stringify({ Statement: [{ ...cloudTrailPublish(), Action: 42 }] }),
      /Action that is not a string/,
    ],
    [
      'a Condition that is not a map of maps',
      JSON.stringify({ Statement: [{ ...cloudTrailPublish(), Condition: { StringEquals: 'x' } }] }),
      /Condition/,
    ],
  ])('reports %s', (_name, json, reason) => {
    const topic = checkTopicPolicy(json, topicCtx);
    expect(topic.allowed).toBe(false);
    expect(topic.explicitDeny).toBe(false);
    expect(topic.reasons).toHaveLength(1);
    expect(topic.reasons[0]).toMatch(reason);
    const queue = checkQueuePolicy(json, queueCtx);
    expect(queue.topicSend).toEqual(topic);
    expect(queue.ingestReceive).toEqual(topic);
  });

  it('parsePolicyDocument throws a PolicyParseError, which is a CollectorError', () => {
    expect(() => parsePolicyDocument('nope')).toThrow(PolicyParseError);
    expect(() => parsePolicyDocument('nope')).toThrow(CollectorError);
    expect(parsePolicyDocument(policy(cloudTrailPublish())).Statement).toEqual([cloudTrailPublish()]);
  });
});

describe('evaluateResourcePolicy: condition operators', () => {
  const request = (context: Record<string, string>): SimulatedRequest => ({
    principal: { service: 'cloudtrail.amazonaws.com' },
    action: 'sns:Publish',
    resourceArn: TOPIC_ARN,
    resourceAccountId: ACCOUNT,
    context,
  });
  const allowsWhen = (condition: ConditionElement, context: Record<string, string> = {}): boolean =>
    evaluateResourcePolicy(
      { Statement: [{ Effect: 'Allow', Principal: '*', Action: '*', Resource: '*', Condition: condition }] },
      request(context),
    ).allowed;

  it('matches condition key names case-insensitively, values case-sensitively', () => {
    expect(allowsWhen({ StringEquals: { 'AWS:SOURCEACCOUNT': ACCOUNT } }, { 'aws:SourceAccount': ACCOUNT })).toBe(true);
    expect(allowsWhen({ StringEquals: { 'aws:x': 'Value' } }, { 'aws:x': 'value' })).toBe(false);
    expect(allowsWhen({ StringEqualsIgnoreCase: { 'aws:x': 'Value' } }, { 'aws:x': 'value' })).toBe(true);
    expect(allowsWhen({ StringNotEqualsIgnoreCase: { 'aws:x': 'Value' } }, { 'aws:x': 'value' })).toBe(false);
  });

  it('StringLike and StringNotLike take * and ? wildcards', () => {
    expect(allowsWhen({ StringLike: { 'aws:x': 'arn:*:trail/?' } }, { 'aws:x': 'arn:a:b:trail/t' })).toBe(true);
    expect(allowsWhen({ StringLike: { 'aws:x': 'arn:*:trail/?' } }, { 'aws:x': 'arn:a:b:trail/tt' })).toBe(false);
    expect(allowsWhen({ StringLike: { 'aws:x': 'a.c' } }, { 'aws:x': 'abc' })).toBe(false);
    expect(allowsWhen({ StringNotLike: { 'aws:x': ['x*', 'y*'] } }, { 'aws:x': 'zed' })).toBe(true);
    expect(allowsWhen({ StringNotLike: { 'aws:x': ['x*', 'y*'] } }, { 'aws:x': 'yes' })).toBe(false);
  });

  it('ArnEquals, ArnNotEquals and ArnNotLike compare the six ARN parts', () => {
    const context = { 'aws:SourceArn': TRAIL_ARN };
    expect(allowsWhen({ ArnEquals: { 'aws:SourceArn': 'arn:aws:cloudtrail:*:*:trail/*' } }, context)).toBe(true);
    expect(allowsWhen({ ArnNotEquals: { 'aws:SourceArn': TRAIL_ARN } }, context)).toBe(false);
    expect(allowsWhen({ ArnNotLike: { 'aws:SourceArn': 'arn:aws:sns:*:*:*' } }, context)).toBe(true);
    // A pattern that is not six parts matches nothing, so its negation holds.
    expect(allowsWhen({ ArnLike: { 'aws:SourceArn': '*' } }, context)).toBe(false);
    expect(allowsWhen({ ArnNotLike: { 'aws:SourceArn': 'arn:aws:sns:*' } }, context)).toBe(true);
  });

  it('numeric operators compare numbers, and fail on non-numbers', () => {
    const context = { 'aws:n': '10' };
    expect(allowsWhen({ NumericEquals: { 'aws:n': 10 } }, context)).toBe(true);
    expect(allowsWhen({ NumericNotEquals: { 'aws:n': '10.0' } }, context)).toBe(false);
    expect(allowsWhen({ NumericLessThan: { 'aws:n': '11' } }, context)).toBe(true);
    expect(allowsWhen({ NumericLessThanEquals: { 'aws:n': '10' } }, context)).toBe(true);
    expect(allowsWhen({ NumericGreaterThan: { 'aws:n': '10' } }, context)).toBe(false);
    expect(allowsWhen({ NumericGreaterThanEquals: { 'aws:n': '9' } }, context)).toBe(true);
    expect(allowsWhen({ NumericEquals: { 'aws:n': 'ten' } }, context)).toBe(false);
  });

  it('date operators take ISO 8601 and epoch seconds', () => {
    const context = { 'aws:CurrentTime': '2024-05-01T12:00:00Z' };
    expect(allowsWhen({ DateGreaterThan: { 'aws:CurrentTime': '2024-01-01T00:00:00Z' } }, context)).toBe(true);
    expect(allowsWhen({ DateLessThan: { 'aws:CurrentTime': '2024-01-01T00:00:00Z' } }, context)).toBe(false);
    expect(allowsWhen({ DateEquals: { 'aws:CurrentTime': '1714564800' } }, context)).toBe(true);
    expect(allowsWhen({ DateNotEquals: { 'aws:CurrentTime': '1714564800' } }, context)).toBe(false);
    expect(allowsWhen({ DateLessThanEquals: { 'aws:CurrentTime': '2024-05-01T12:00:00Z' } }, context)).toBe(true);
    expect(allowsWhen({ DateGreaterThanEquals: { 'aws:CurrentTime': '2024-05-01T12:00:00Z' } }, context)).toBe(true);
    expect(allowsWhen({ DateGreaterThanEquals: { 'aws:CurrentTime': 'not a date' } }, context)).toBe(false);
  });

  it('the checks supply the current time, so an expired Allow fails', () => {
    const until = (date: string) => cloudTrailPublish({ Condition: { DateLessThan: { 'aws:CurrentTime': date } } });
    expect(checkTopic(until('2999-01-01T00:00:00Z')).allowed).toBe(true);
    expect(checkTopic(until('2001-01-01T00:00:00Z')).allowed).toBe(false);
  });

  it('Bool compares true/false case-insensitively and accepts JSON booleans', () => {
    expect(allowsWhen({ Bool: { 'aws:SecureTransport': true } }, { 'aws:SecureTransport': 'TRUE' })).toBe(true);
    expect(allowsWhen({ Bool: { 'aws:SecureTransport': 'false' } }, { 'aws:SecureTransport': 'true' })).toBe(false);
    expect(allowsWhen({ Bool: { 'aws:SecureTransport': 'false' } }, {})).toBe(false);
    expect(allowsWhen({ BoolIfExists: { 'aws:SecureTransport': 'false' } }, {})).toBe(true);
  });

  it('IpAddress and NotIpAddress take IPv4 and IPv6 ranges and single addresses', () => {
    expect(allowsWhen({ IpAddress: { 'aws:SourceIp': '10.0.0.0/8' } }, { 'aws:SourceIp': '10.1.2.3' })).toBe(true);
    expect(allowsWhen({ IpAddress: { 'aws:SourceIp': '10.0.0.0/8' } }, { 'aws:SourceIp': '11.1.2.3' })).toBe(false);
    expect(allowsWhen({ IpAddress: { 'aws:SourceIp': '2001:db8::/32' } }, { 'aws:SourceIp': '2001:db8::1' })).toBe(
      true,
    );
    expect(allowsWhen({ IpAddress: { 'aws:SourceIp': '192.0.2.7' } }, { 'aws:SourceIp': '192.0.2.7' })).toBe(true);
    expect(allowsWhen({ IpAddress: { 'aws:SourceIp': '10.0.0.0/99' } }, { 'aws:SourceIp': '10.1.2.3' })).toBe(false);
    expect(allowsWhen({ NotIpAddress: { 'aws:SourceIp': '10.0.0.0/8' } }, { 'aws:SourceIp': '11.1.2.3' })).toBe(true);
  });

  it('BinaryEquals compares the base64 text', () => {
    expect(allowsWhen({ BinaryEquals: { 'aws:b': 'QmluYXJ5' } }, { 'aws:b': 'QmluYXJ5' })).toBe(true);
    expect(allowsWhen({ BinaryEquals: { 'aws:b': 'QmluYXJ5' } }, { 'aws:b': 'QmluYXJ6' })).toBe(false);
  });

  it('Null tests whether a key is absent', () => {
    expect(allowsWhen({ Null: { 'aws:PrincipalOrgID': 'true' } })).toBe(true);
    expect(allowsWhen({ Null: { 'aws:SourceArn': 'false' } }, { 'aws:SourceArn': TRAIL_ARN })).toBe(true);
    expect(allowsWhen({ Null: { 'aws:SourceArn': true } }, { 'aws:SourceArn': TRAIL_ARN })).toBe(false);
  });

  it('an absent key: positive operators fail, negated ones hold, IfExists holds', () => {
    expect(allowsWhen({ StringEquals: { 'aws:absent': 'x' } })).toBe(false);
    expect(allowsWhen({ StringNotEquals: { 'aws:absent': 'x' } })).toBe(true);
    expect(allowsWhen({ ArnNotLike: { 'aws:absent': 'arn:*:*:*:*:*' } })).toBe(true);
    expect(allowsWhen({ StringEqualsIfExists: { 'aws:absent': 'x' } })).toBe(true);
    expect(allowsWhen({ StringEqualsIfExists: { 'aws:present': 'x' } }, { 'aws:present': 'y' })).toBe(false);
  });

  it('an absent key: ForAllValues holds, ForAnyValue fails, whatever the operator', () => {
    expect(allowsWhen({ 'ForAllValues:StringEquals': { 'aws:absent': 'x' } })).toBe(true);
    expect(allowsWhen({ 'ForAnyValue:StringEquals': { 'aws:absent': 'x' } })).toBe(false);
    expect(allowsWhen({ 'ForAnyValue:StringNotEquals': { 'aws:absent': 'x' } })).toBe(false);
    expect(allowsWhen({ 'ForAnyValue:StringLike': { 'aws:present': 'x*' } }, { 'aws:present': 'xy' })).toBe(true);
  });

  it('accepts operator names in any case', () => {
    expect(allowsWhen({ stringequals: { 'aws:x': 'a' } }, { 'aws:x': 'a' })).toBe(true);
  });

  it('an unknown operator never lets an Allow grant, and says so', () => {
    const verdict = evaluateResourcePolicy(
      {
        Statement: [
          { Sid: 'Typo', Effect: 'Allow', Principal: '*', Action: '*', Condition: { StringEqual: { 'aws:x': 'a' } } },
        ],
      },
      request({ 'aws:x': 'a' }),
    );
    expect(verdict).toMatchObject({ allowed: false, explicitDeny: false });
    expect(verdict.reasons[1]).toContain('condition operator StringEqual (on aws:x)');
  });

  it('an unknown operator in a Deny is assumed to apply, unless another of its conditions fails', () => {
    const allowAll: PolicyStatement = { Effect: 'Allow', Principal: '*', Action: '*' };
    const typoDeny: PolicyStatement = { Sid: 'Typo', Effect: 'Deny', Principal: '*', Action: '*' };
    const assumed = evaluateResourcePolicy(
      { Statement: [allowAll, { ...typoDeny, Condition: { StringEqualz: { 'aws:x': 'a' } } }] },
      request({}),
    );
    expect(assumed).toMatchObject({ allowed: false, explicitDeny: true });
    expect(assumed.reasons[0]).toMatch(/may deny .* so it is assumed to apply/);
    const ruledOut = evaluateResourcePolicy(
      {
        Statement: [
          allowAll,
          { ...typoDeny, Condition: { StringEqualz: { 'aws:x': 'a' }, StringEquals: { 'aws:y': 'no' } } },
        ],
      },
      request({ 'aws:y': 'yes' }),
    );
    expect(ruledOut).toEqual(ALLOWED);
  });

  it('derives the aws:Principal* keys from the principal', () => {
    const service = request({});
    expect(allowsWhen({ StringEquals: { 'aws:PrincipalServiceName': 'cloudtrail.amazonaws.com' } })).toBe(true);
    expect(allowsWhen({ Bool: { 'aws:PrincipalIsAWSService': 'true' } })).toBe(true);
    const roleRequest: SimulatedRequest = { ...service, principal: { roleArn: INGEST_ROLE_ARN } };
    const roleAllowedWhen = (condition: ConditionElement) =>
      evaluateResourcePolicy(
        { Statement: [{ Effect: 'Allow', Principal: '*', Action: '*', Condition: condition }] },
        roleRequest,
      ).allowed;
    expect(roleAllowedWhen({ StringEquals: { 'aws:PrincipalType': 'AssumedRole' } })).toBe(true);
    expect(roleAllowedWhen({ Bool: { 'aws:PrincipalIsAWSService': 'false' } })).toBe(true);
    expect(roleAllowedWhen({ StringEquals: { 'aws:PrincipalAccount': COLLECTOR_ACCOUNT } })).toBe(true);
  });
});

/** SNS Developer Guide, "Sending Amazon SNS messages to an Amazon SQS queue ... in a different Region". */
describe('checkQueuePolicy simulates the principal SNS uses between the two Regions', () => {
  const queueArn = 'arn:aws:sqs:us-east-1:111122223333:outcomesqueue';
  const hkTopic = 'arn:aws:sns:ap-east-1:111122223333:outcomestopic';
  const sendBy = (service: string | string[]) =>
    JSON.stringify({
      Statement: [
        {
          Effect: 'Allow',
          Principal: { Service: service },
          Action: 'sqs:SendMessage',
          Resource: queueArn,
          Condition: { ArnEquals: { 'aws:SourceArn': hkTopic } },
        },
      ],
    });
  const ctx = { queueArn, topicArn: hkTopic, accountId: '111122223333' };

  test('compliant: a Hong Kong topic, the queue policy naming sns.ap-east-1.amazonaws.com', () => {
    expect(checkQueuePolicy(sendBy('sns.ap-east-1.amazonaws.com'), ctx).topicSend.allowed).toBe(true);
  });

  test('non-compliant: sns.amazonaws.com is not the principal a Hong Kong topic sends as', () => {
    const verdict = checkQueuePolicy(sendBy('sns.amazonaws.com'), ctx).topicSend;
    expect(verdict.allowed).toBe(false);
    expect(verdict.reasons[0]).toContain('sqs:SendMessage by sns.ap-east-1.amazonaws.com');
  });

  test('non-compliant: opt-in -> opt-in cannot deliver, whatever the policy says', () => {
    const uaeQueue = 'arn:aws:sqs:me-central-1:111122223333:outcomesqueue';
    const verdict = checkQueuePolicy('{"Statement":[{"Effect":"Allow","Principal":"*","Action":"sqs:*"}]}', {
      ...ctx,
      queueArn: uaeQueue,
    }).topicSend;
    expect(verdict).toEqual({ allowed: false, explicitDeny: false, reasons: [expect.stringContaining('opt-in')] });
  });

  test('the ambiguous Osaka Region needs both principals allowed', () => {
    const osakaTopic = 'arn:aws:sns:ap-northeast-3:111122223333:outcomestopic';
    const both = (service: string | string[]) => sendBy(service).replace(hkTopic, osakaTopic);
    const osaka = { ...ctx, topicArn: osakaTopic };
    expect(checkQueuePolicy(both('sns.amazonaws.com'), osaka).topicSend.allowed).toBe(false);
    expect(
      checkQueuePolicy(both(['sns.amazonaws.com', 'sns.ap-northeast-3.amazonaws.com']), osaka).topicSend.allowed,
    ).toBe(true);
  });
});
