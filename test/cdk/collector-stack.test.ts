import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { CollectorStack } from '../../lib/collector.stack';

describe('CollectorStack', () => {
  let template: Template;

  beforeAll(() => {
    const app = new App();
    const stack = new CollectorStack(app, 'Test', {
      downstreamUrl: 'https://logs.example.com/intake',
      downstreamTokenSecretArn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:downstream-token-AbCdEf',
    });
    template = Template.fromStack(stack);
  });

  test('the registry is keyed by accountId, encrypted, with point-in-time recovery, and kept on delete', () => {
    template.hasResource('AWS::DynamoDB::Table', {
      Properties: Match.objectLike({
        KeySchema: [{ AttributeName: 'accountId', KeyType: 'HASH' }],
        AttributeDefinitions: [{ AttributeName: 'accountId', AttributeType: 'S' }],
        BillingMode: 'PAY_PER_REQUEST',
        SSESpecification: { SSEEnabled: true },
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      }),
      DeletionPolicy: 'Retain',
    });
  });

  test('the ingest function runs Node.js 24 on arm64 with source maps and its settings', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
      Environment: {
        Variables: Match.objectLike({
          NODE_OPTIONS: '--enable-source-maps',
          DOWNSTREAM_URL: 'https://logs.example.com/intake',
          CUSTOMER_ROLE_NAME: 'CloudTrailCollectorRole',
          ACCOUNTS_TABLE: Match.anyValue(),
          // The token is referenced by ARN, never placed in the environment.
          DOWNSTREAM_TOKEN_SECRET_ARN: Match.stringLikeRegexp('^arn:aws:secretsmanager:'),
        }),
      },
    });
    const variables = Object.values(template.findResources('AWS::Lambda::Function')).map(
      (fn) => (fn as { Properties: { Environment?: { Variables?: Record<string, unknown> } } }).Properties.Environment?.Variables ?? {},
    );
    for (const vars of variables) expect(vars).not.toHaveProperty('DOWNSTREAM_TOKEN');
  });

  test('every function has an explicit log group with retention', () => {
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 90 });
    template.hasResourceProperties('AWS::Lambda::Function', {
      LoggingConfig: { LogGroup: Match.anyValue() },
    });
  });
});
