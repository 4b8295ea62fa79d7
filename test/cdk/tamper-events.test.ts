import { synthCustomerTemplate } from '../../lib/generated-files';
import {
  TAMPER_CALLS,
  TAMPER_EVENT_BUS_NAME,
  TAMPER_RULE_NAME,
  tamperEventPattern,
} from '../../lambdas/shared/tamper-calls';
import { deployedValue, synthApp } from './support';

type Resource = { Type: string; Properties: Record<string, unknown>; Condition?: string };
type Json = {
  Parameters: Record<string, Record<string, unknown>>;
  Conditions?: Record<string, unknown>;
  Resources: Record<string, Resource>;
};

/** Whether an EventBridge pattern of the shape tamperEventPattern builds matches an event (its subset in use). */
function matches(pattern: Record<string, unknown>, event: Record<string, unknown>): boolean {
  const field = (value: unknown, allowed: unknown): boolean => {
    if (!Array.isArray(allowed)) {
      return (
        typeof value === 'object' &&
        value !== null &&
        Object.entries(allowed as object).every(([key, sub]) => field((value as Record<string, unknown>)[key], sub))
      );
    }
    return allowed.some((option: unknown) =>
      typeof option === 'object' && option !== null && 'exists' in option
        ? (value !== undefined) === (option as { exists: boolean }).exists
        : option === value,
    );
  };
  const { $or, ...rest } = pattern as { $or?: Record<string, unknown>[] };
  return (
    Object.entries(rest).every(([key, allowed]) => field(event[key], allowed)) &&
    ($or === undefined || $or.some((branch) => matches(branch, event)))
  );
}

function apiCall(source: string, eventSource: string, eventName: string, extra: Record<string, unknown> = {}) {
  return {
    'detail-type': 'AWS API Call via CloudTrail',
    source,
    account: '111122223333',
    region: 'us-east-1',
    detail: { eventSource, eventName, ...extra },
  };
}

describe('the tamper-calls event pattern', () => {
  const pattern = tamperEventPattern();

  test.each(TAMPER_CALLS.map((c) => [`${c.eventSource} ${c.eventName}`, c] as const))('matches %s', (_name, c) => {
    expect(matches(pattern, apiCall(`aws.${c.eventSource.split('.')[0]!}`, c.eventSource, c.eventName))).toBe(true);
  });

  test.each([
    [
      'a failed call',
      apiCall('aws.cloudtrail', 'cloudtrail.amazonaws.com', 'StopLogging', { errorCode: 'AccessDenied' }),
    ],
    ['a call of the list made to another service', apiCall('aws.lambda', 'lambda.amazonaws.com', 'RemovePermission')],
    ["another service's name under a listed source", apiCall('aws.s3', 's3.amazonaws.com', 'DeleteTopic')],
    ['a read of a listed service', apiCall('aws.cloudtrail', 'cloudtrail.amazonaws.com', 'DescribeTrails')],
    [
      'another detail-type',
      { ...apiCall('aws.s3', 's3.amazonaws.com', 'DeleteBucket'), 'detail-type': 'Object Deleted' },
    ],
  ])('does not match %s', (_name, event) => {
    expect(matches(pattern, event)).toBe(false);
  });
});

describe('the customer template (TamperEvents)', () => {
  for (const variant of ['standard', 'log-archive'] as const) {
    const template = synthCustomerTemplate(variant) as Json;
    const rule = Object.values(template.Resources).find((r) => r.Type === 'AWS::Events::Rule')!;
    const role = template.Resources.TamperEventsRole!;

    test(`${variant}: a parameter, on by default, creates the rule and its role`, () => {
      expect(template.Parameters.TamperEvents).toMatchObject({ Default: 'on', AllowedValues: ['on', 'off'] });
      expect(rule.Condition).toBe('TamperEventsOn');
      expect(role.Condition).toBe('TamperEventsOn');
    });

    test(`${variant}: the rule on the default bus matches exactly the tamper calls and targets the collector's bus`, () => {
      expect(rule.Properties).toMatchObject({ Name: TAMPER_RULE_NAME, EventBusName: 'default', State: 'ENABLED' });
      expect(rule.Properties.EventPattern).toEqual(tamperEventPattern());
      const [target] = rule.Properties.Targets as { Arn: unknown; RoleArn: unknown }[];
      expect(JSON.stringify(target!.Arn)).toContain(`:event-bus/${TAMPER_EVENT_BUS_NAME}`);
      expect(JSON.stringify(target!.Arn)).toContain('"Ref":"CollectorAccountId"');
      expect(target!.RoleArn).toEqual({ 'Fn::GetAtt': ['TamperEventsRole', 'Arn'] });
    });

    test(`${variant}: the role is EventBridge's for that rule of this account only, and may only put on that bus`, () => {
      const trust = JSON.stringify(role.Properties.AssumeRolePolicyDocument);
      expect(trust).toContain('"Service":"events.amazonaws.com"');
      expect(trust).toContain(`:rule/${TAMPER_RULE_NAME}`);
      expect(trust).toContain('"aws:SourceAccount":{"Ref":"AWS::AccountId"}');
      const [policy] = role.Properties.Policies as { PolicyDocument: { Statement: Record<string, unknown>[] } }[];
      expect(policy!.PolicyDocument.Statement).toEqual([
        expect.objectContaining({ Effect: 'Allow', Action: 'events:PutEvents', Resource: expect.anything() }),
      ]);
    });
  }
});

describe('the collector event bus', () => {
  const built = synthApp();
  const template = built.template(built.collector);
  const json = template.toJSON() as Json;
  const ofType = (type: string) => Object.entries(json.Resources).filter(([, r]) => r.Type === type);

  test('a bus whose policy admits only the tamper rules of any account, for the four services’ API-call events', () => {
    const [[, bus]] = ofType('AWS::Events::EventBus') as [[string, Resource]];
    expect(bus.Properties.Name).toBe(TAMPER_EVENT_BUS_NAME);
    const policies = ofType('AWS::Events::EventBusPolicy').map(([, r]) => r.Properties.Statement);
    expect(policies).toEqual([
      {
        Sid: 'cdk-CustomerTamperCallRules',
        Effect: 'Allow',
        Principal: { AWS: '*' },
        Action: 'events:PutEvents',
        Resource: expect.anything(),
        Condition: {
          StringEquals: {
            'events:source': ['aws.cloudtrail', 'aws.s3', 'aws.sns', 'aws.sqs'],
            'events:detail-type': ['AWS API Call via CloudTrail'],
          },
          ArnLike: { 'aws:SourceArn': `arn:*:events:*:*:rule/${TAMPER_RULE_NAME}` },
        },
      },
    ]);
  });

  test('a rule on that bus with the same pattern invokes ingest, with a dead-letter queue', () => {
    const rules = ofType('AWS::Events::Rule').filter(([, r]) => r.Properties.EventBusName !== undefined);
    expect(rules).toHaveLength(1);
    const [[, rule]] = rules as [[string, Resource]];
    expect(rule.Properties.EventPattern).toEqual(tamperEventPattern());
    const [target] = rule.Properties.Targets as { Arn: unknown; DeadLetterConfig?: unknown }[];
    expect(deployedValue(json as never, target!.Arn)).toContain(':function:cloudtrail-collector-ingest');
    expect(target!.DeadLetterConfig).toBeDefined();
    // Lambda lets only that rule invoke ingest.
    const permissions = ofType('AWS::Lambda::Permission').map(([, r]) => r.Properties);
    expect(permissions).toContainEqual(
      expect.objectContaining({ Principal: 'events.amazonaws.com', SourceArn: expect.anything() }),
    );
  });
});
