/**
 * The templates of the organization topologies:
 * - the management account's read-only role (templates/organization-management-role.template.json): generated,
 *   plain CloudFormation, nag-clean, trusting the reconcile role alone with the ExternalId, read-only actions that
 *   exist in the Service Authorization Reference on the resources they allow;
 * - the customer template as a StackSet's template: nothing in it differs per account (the parameters are
 *   StackSet-level), and it fits `create-stack-set --template-body` (51,200 bytes, AWS CLI reference);
 * - the template bucket of the collector stack: public GetObject on templates/* only, TLS only, versioned, the
 *   generated files published there, and its publisher role built from the permission map.
 * cfn-lint runs over the committed management template in cfn-lint.test.ts.
 */
import { App, Aspects } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import type { INagLogger, NagLoggerNonComplianceData } from 'cdk-nag';
import { renderManagementTemplate, synthManagementTemplate } from '../../lib/generated-files';
import { ManagementAccountStack } from '../../lib/management-account.stack';
import { nagPacks } from '../../lib/nag';
import { COLLECTOR_ROLE_NAMES, GENERATED_FILES, ORGANIZATION_ROLE_NAME, STACK_IDS } from '../../lib/names';
import { actionsFor } from '../../lib/permissions';
import { ROOT } from './code-scan';
import { checkStatement, isWriteLevel, loadReference, templateStatements, type IamReference } from './iam-reference';
import { allowedActions, asArray, roleInlineStatements, synthApp, type Statement } from './support';

type TemplateJson = {
  Parameters: Record<string, { Default?: unknown }>;
  Resources: Record<string, { Type: string; Properties: Record<string, unknown>; DeletionPolicy?: string }>;
  Outputs?: Record<string, { Export?: unknown }>;
  Metadata?: Record<string, unknown>;
};

const readTemplate = (file: string) => JSON.parse(readFileSync(path.join(ROOT, file), 'utf8')) as TemplateJson;

describe('the management account role template', () => {
  const template = synthManagementTemplate() as TemplateJson;

  test(`${GENERATED_FILES.organizationManagementTemplate} is generated (run \`npx tsx scripts/generate.mjs\` after a change)`, () => {
    expect(readFileSync(path.join(ROOT, GENERATED_FILES.organizationManagementTemplate), 'utf8')).toEqual(
      renderManagementTemplate(),
    );
  });

  test('a plain CloudFormation template: two parameters, one role, its policies, no CDK metadata or assets', () => {
    expect(Object.keys(template.Parameters)).toEqual(['CollectorAccountId', 'ExternalId']);
    expect(JSON.stringify(template)).not.toMatch(
      /aws:cdk:path|aws:asset|cdk-hnb659fds|AssetParameters|BootstrapVersion/,
    );
    expect(
      Object.values(template.Resources)
        .map((r) => r.Type)
        .sort(),
    ).toEqual(['AWS::IAM::Policy', 'AWS::IAM::Policy', 'AWS::IAM::Role']);
  });

  test('trusted by the reconcile role alone, only with the ExternalId', () => {
    const [role] = Object.values(template.Resources).filter((r) => r.Type === 'AWS::IAM::Role');
    expect(role!.Properties.RoleName).toBe(ORGANIZATION_ROLE_NAME);
    const trust = (role!.Properties.AssumeRolePolicyDocument as { Statement: Statement[] }).Statement;
    expect(trust).toEqual([
      {
        Action: 'sts:AssumeRole',
        Effect: 'Allow',
        Condition: { StringEquals: { 'sts:ExternalId': { Ref: 'ExternalId' } } },
        Principal: {
          AWS: {
            'Fn::Join': [
              '',
              [
                'arn:',
                { Ref: 'AWS::Partition' },
                ':iam::',
                { Ref: 'CollectorAccountId' },
                `:role/${COLLECTOR_ROLE_NAMES.reconcile}`,
              ],
            ],
          },
        },
      },
    ]);
  });

  describe('against the Service Authorization Reference', () => {
    let reference: IamReference;
    beforeAll(async () => {
      reference = await loadReference(['organizations', 'cloudtrail']);
    });

    test("it grants exactly the map's management actions, all of them reads, on the resources they allow", () => {
      const statements = templateStatements(template, {
        'AWS::Partition': 'aws',
        'AWS::AccountId': '999900001111',
      }).map(({ statement }) => statement);
      expect(allowedActions(statements as never)).toEqual(actionsFor('management'));
      expect(actionsFor('management')).toEqual([
        'cloudtrail:DescribeTrails',
        'cloudtrail:GetEventSelectors',
        'cloudtrail:GetTrailStatus',
        'organizations:DescribeOrganization',
        'organizations:ListAccounts',
        'organizations:ListRoots',
      ]);
      expect(statements.flatMap((statement) => checkStatement(reference, statement, 'management'))).toEqual([]);
      const levels = actionsFor('management').map((action) => [
        action,
        reference.actions.get(action.toLowerCase())?.accessLevel,
      ]);
      expect(levels.filter(([, level]) => level === undefined || isWriteLevel(level))).toEqual([]);
      // The trail reads are limited to this account's trails.
      const trailReads = statements.find((s) => asArray(s.Action).includes('cloudtrail:GetTrailStatus'));
      expect(trailReads?.Resource).toBe('arn:aws:cloudtrail:*:999900001111:trail/*');
    });
  });

  test('cdk-nag: no finding left, each wildcard suppressed with its reason', () => {
    const findings: string[] = [];
    const recorder: INagLogger = {
      onCompliance: () => undefined,
      onNotApplicable: () => undefined,
      onNonCompliance: (data: NagLoggerNonComplianceData) => findings.push(`${data.ruleId} ${data.resource.node.path}`),
      onSuppressed: () => undefined,
      onError: (data) => findings.push(`error ${data.ruleId}: ${data.errorMessage}`),
      onSuppressedError: (data) => findings.push(`error ${data.ruleId}: ${data.errorMessage}`),
    };
    const app = new App({ builtinCloudFormationValidation: false });
    const stack = new ManagementAccountStack(app, STACK_IDS.organizationManagement);
    for (const pack of nagPacks({ reports: false, additionalLoggers: [recorder] })) Aspects.of(app).add(pack);
    app.synth();
    expect(findings).toEqual([]);
    expect(JSON.stringify(Template.fromStack(stack).toJSON())).toContain('AwsSolutions-IAM5');
  });
});

describe('the customer template as a StackSet template', () => {
  const template = readTemplate(GENERATED_FILES.customerTemplate);

  test('every parameter is StackSet-level: nothing names an account, a region or a stack of its own', () => {
    expect(Object.keys(template.Parameters)).toEqual(['CollectorAccountId', 'ExternalId', 'Mode', 'TamperEvents']);
    expect(Object.values(template.Outputs ?? {}).filter((output) => output.Export !== undefined)).toEqual([]);
    // The only names are the role's, global to the account, and the TamperEvents rule's on the default bus, one
    // per Region: the StackSet deploys to one region (docs/customer-setup.md).
    const named = Object.values(template.Resources).flatMap((resource) =>
      Object.keys(resource.Properties).filter((key) => /Name$/.test(key) && key !== 'PolicyName'),
    );
    expect(named.sort()).toEqual(['EventBusName', 'Name', 'RoleName']);
  });

  test('it fits create-stack-set --template-body (at most 51,200 bytes)', () => {
    expect(statSync(path.join(ROOT, GENERATED_FILES.customerTemplate)).size).toBeLessThanOrEqual(51_200);
  });
});

describe('the template bucket of the collector stack', () => {
  const { collector, template } = synthApp();
  const json = template(collector).toJSON() as TemplateJson;
  const byType = (type: string) => Object.entries(json.Resources).filter(([, r]) => r.Type === type);

  test('public s3:GetObject on templates/* only, TLS only, versioned, ACLs off, kept on delete', () => {
    const buckets = byType('AWS::S3::Bucket');
    expect(buckets).toHaveLength(1);
    const [bucketId, bucket] = buckets[0]!;
    expect(bucket.DeletionPolicy).toBe('Retain');
    expect(bucket.Properties).toMatchObject({
      VersioningConfiguration: { Status: 'Enabled' },
      OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        IgnorePublicAcls: true,
        BlockPublicPolicy: false,
        RestrictPublicBuckets: false,
      },
    });
    const policies = byType('AWS::S3::BucketPolicy');
    expect(policies).toHaveLength(1);
    const statements = (policies[0]![1].Properties.PolicyDocument as { Statement: Statement[] }).Statement;
    const publicAllows = statements.filter(
      (s) => s.Effect === 'Allow' && JSON.stringify((s as { Principal?: unknown }).Principal).includes('"*"'),
    );
    expect(publicAllows).toEqual([
      expect.objectContaining({
        Action: 's3:GetObject',
        Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucketId, 'Arn'] }, '/templates/*']] },
      }),
    ]);
    expect(statements).toContainEqual(
      expect.objectContaining({
        Effect: 'Deny',
        Action: 's3:*',
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      }),
    );
  });

  test('the generated templates are published under templates/, and the stack says where', () => {
    const deployments = byType('Custom::CDKBucketDeployment');
    expect(deployments).toHaveLength(1);
    const [, deployment] = deployments[0]!;
    expect(deployment.Properties).toMatchObject({ DestinationBucketKeyPrefix: 'templates/', Prune: true });
    expect(json.Outputs).toHaveProperty('TemplateBucketUrl');
    expect(JSON.stringify(json.Outputs!.TemplateBucketUrl)).toContain('RegionalDomainName');
  });

  test("its publisher role holds exactly the map's template-publisher actions", () => {
    const [, role] = byType('AWS::IAM::Role').find(([id]) => id.startsWith('TemplateBucketPublisherRole'))!;
    expect(allowedActions(roleInlineStatements(role as never))).toEqual(actionsFor('template-publisher'));
    expect(actionsFor('template-publisher')).toEqual([
      'logs:CreateLogStream',
      'logs:PutLogEvents',
      's3:DeleteObject',
      's3:GetBucketTagging',
      's3:GetObject',
      's3:ListBucket',
      's3:PutObject',
    ]);
  });
});
