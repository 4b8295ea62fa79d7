import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { defaultBucketPolicy, defaultQueueStatements, defaultTopicStatements } from '../../lambdas/reconcile/policies';

/**
 * Security checks over what customers deploy and what reconcile creates: every role another account can assume
 * requires an ExternalId, no Allow names a wildcard principal without a condition, and every bucket, queue and
 * topic policy the collector writes refuses plain HTTP. (The collector stack's own queues and topics are held to
 * TLS-only by cdk-nag's AwsSolutions-SQS4/SNS3, asserted in test/cdk/nag.test.ts.)
 */
type Statement = {
  Effect: string;
  Principal?: unknown;
  Action?: unknown;
  Condition?: Record<string, Record<string, unknown>>;
};

const ROOT = path.resolve(__dirname, '../..');
const TEMPLATES = ['templates/customer-account-role.template.json', 'templates/log-archive-role.template.json'];

function resourcesOf(file: string): Record<string, { Type: string; Properties: Record<string, unknown> }> {
  return (JSON.parse(readFileSync(path.join(ROOT, file), 'utf8')) as { Resources: Record<string, never> }).Resources;
}

function denyInsecureTransport(statements: Statement[]): boolean {
  return statements.some(
    (s) =>
      s.Effect === 'Deny' &&
      JSON.stringify(s.Principal) === '"*"' &&
      String(s.Condition?.Bool?.['aws:SecureTransport']) === 'false',
  );
}

describe.each(TEMPLATES)('%s', (file) => {
  const resources = resourcesOf(file);
  const roles = Object.values(resources).filter((resource) => resource.Type === 'AWS::IAM::Role');

  test('every role trusts named principals only: other accounts with the ExternalId, a service for one source', () => {
    expect(roles.length).toBeGreaterThan(0);
    for (const role of roles) {
      const trust = (role.Properties.AssumeRolePolicyDocument as { Statement: Statement[] }).Statement;
      for (const statement of trust.filter((s) => s.Effect === 'Allow')) {
        expect(JSON.stringify(statement.Principal)).not.toContain('"*"');
        expect(JSON.stringify(statement.Principal)).not.toMatch(/:root"/);
        if ((statement.Principal as { Service?: unknown }).Service !== undefined) {
          // A service principal (EventBridge, for the TamperEvents rule) takes no ExternalId: the confused-deputy
          // guard is the source's ARN and account (IAM User Guide, "Cross-service confused deputy prevention").
          expect(statement.Condition?.StringEquals).toHaveProperty(['aws:SourceArn']);
          expect(statement.Condition?.StringEquals).toHaveProperty(['aws:SourceAccount']);
        } else {
          expect(statement.Condition?.StringEquals).toHaveProperty(['sts:ExternalId']);
        }
      }
    }
  });

  test('no policy allows a wildcard principal', () => {
    expect(JSON.stringify(resources)).not.toMatch(/"Principal":\s*"\*"/);
  });
});

describe('what reconcile creates refuses plain HTTP and names its principals', () => {
  const topicArn = 'arn:aws:sns:us-east-1:111122223333:outcomestopic';
  const queueArn = 'arn:aws:sqs:us-east-1:111122223333:outcomesqueue';
  const trailArn = 'arn:aws:cloudtrail:us-east-1:111122223333:trail/outcomes-trail';
  const policies: [string, Statement[]][] = [
    [
      'bucket',
      defaultBucketPolicy({ bucketName: 'outcomes-111122223333', accountId: '111122223333', trailArn }).Statement,
    ],
    ['topic', defaultTopicStatements({ topicArn, trailArn, accountId: '111122223333' })],
    [
      'queue',
      defaultQueueStatements({
        queueArn,
        topicArn,
        ingestRoleArn: 'arn:aws:iam::123456789012:role/cloudtrail-collector-ingest',
      }),
    ],
  ];

  test.each(policies)(
    '%s policy: TLS-only, and every Allow to a service is bound to the chain by aws:SourceArn',
    (_name, statements) => {
      expect(denyInsecureTransport(statements)).toBe(true);
      for (const statement of statements.filter((s) => s.Effect === 'Allow')) {
        expect(JSON.stringify(statement.Principal)).not.toBe('"*"');
        if (JSON.stringify(statement.Principal).includes('Service')) {
          expect(JSON.stringify(statement.Condition)).toContain('aws:SourceArn');
        }
      }
    },
  );
});
