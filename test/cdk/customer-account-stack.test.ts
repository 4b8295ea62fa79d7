import { Match, Template } from 'aws-cdk-lib/assertions';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { CUSTOMER_TEMPLATE, customerDeployCommand } from '../../lib/customer-deploy-command';
import { renderCustomerTemplate, synthCustomerTemplate } from '../../lib/generated-files';
import { CHAIN_NAMES, COLLECTOR_ROLE_NAMES, CUSTOMER_ROLE_NAME, GENERATED_FILES } from '../../lib/names';
import {
  CUSTOMER_GROUPS,
  DENIED_COST_ACTIONS,
  LOG_ARCHIVE_ONLY_SCOPES,
  actionsFor,
  statementsFor,
  type PermissionGroup,
} from '../../lib/permissions';
import { ROOT } from './code-scan';
import { allowedActions, asArray, synthApp, type Statement } from './support';

type Resource = { Type: string; Properties: Record<string, unknown>; Condition?: string; Metadata?: unknown };
type CfnTemplate = {
  Parameters: Record<string, Record<string, unknown>>;
  Conditions?: Record<string, unknown>;
  Resources: Record<string, Resource>;
  Rules?: unknown;
  Outputs?: Record<string, unknown>;
};

const standard = synthCustomerTemplate('standard') as CfnTemplate;
const archive = synthCustomerTemplate('log-archive') as CfnTemplate;

function policies(template: CfnTemplate): Resource[] {
  return Object.values(template.Resources).filter((resource) => resource.Type === 'AWS::IAM::Policy');
}

function policyNamed(template: CfnTemplate, name: string): Resource {
  const found = policies(template).find((policy) => policy.Properties.PolicyName === name);
  if (!found) throw new Error(`no policy ${name}`);
  return found;
}

function statementsOf(policy: Resource): Statement[] {
  return (policy.Properties.PolicyDocument as { Statement: Statement[] }).Statement;
}

/** A resource ARN with CloudFormation's Fn::Join flattened: `arn:<AWS::Partition>:sqs:*:<AWS::AccountId>:...`. */
function flat(value: unknown): string {
  if (typeof value === 'string') return value;
  const object = value as Record<string, unknown>;
  if ('Ref' in object) return `<${String(object.Ref)}>`;
  const [separator, parts] = object['Fn::Join'] as [string, unknown[]];
  return parts.map(flat).join(separator);
}

/** The permission map's customer actions; the standard template has no log archive bucket (scope logArchiveBucket). */
function variantActions(variant: 'standard' | 'log-archive', groups?: readonly PermissionGroup[]): string[] {
  const all = actionsFor('customer', groups);
  if (variant === 'log-archive') return all;
  const archiveOnly = new Set(
    statementsFor('customer', groups)
      .filter((statement) => LOG_ARCHIVE_ONLY_SCOPES.has(statement.scope))
      .flatMap((statement) => statement.actions),
  );
  const elsewhere = new Set(
    statementsFor('customer', groups)
      .filter((statement) => !LOG_ARCHIVE_ONLY_SCOPES.has(statement.scope))
      .flatMap((statement) => statement.actions),
  );
  return all.filter((action) => !archiveOnly.has(action) || elsewhere.has(action));
}

describe.each([
  ['standard', standard],
  ['log-archive', archive],
] as const)('CustomerAccountStack (%s)', (variant, template) => {
  const assertions = Template.fromJSON(template);

  test('parameters: collector account id, ExternalId (not echoed), mode (report by default)', () => {
    expect(Object.keys(template.Parameters).sort()).toEqual(
      [
        'CollectorAccountId',
        'ExternalId',
        'Mode',
        ...(variant === 'log-archive' ? ['LogArchiveBucketName'] : []),
        'TamperEvents',
      ].sort(),
    );
    expect(template.Parameters.CollectorAccountId).toMatchObject({ Type: 'String', AllowedPattern: '^\\d{12}$' });
    expect(template.Parameters.ExternalId).toMatchObject({ Type: 'String', NoEcho: true });
    expect(new RegExp(template.Parameters.ExternalId!.AllowedPattern as string).test('abc+=,.@:/-_XYZ09')).toBe(true);
    expect(new RegExp(template.Parameters.ExternalId!.AllowedPattern as string).test('has space')).toBe(false);
    expect(template.Parameters.Mode).toMatchObject({ AllowedValues: ['apply', 'report'], Default: 'report' });
  });

  test('CloudTrailCollectorRole trusts exactly the collector ingest and reconcile roles, by ARN, with the ExternalId', () => {
    // The other role is EventBridge's for the tamper-calls rule (test/cdk/tamper-events.test.ts).
    const roles = assertions.findResources('AWS::IAM::Role');
    expect(Object.keys(roles)).toHaveLength(2);
    const role = Object.values(roles).find(
      (r) => (r as Resource).Properties.RoleName === CUSTOMER_ROLE_NAME,
    ) as Resource;
    expect(role.Properties.RoleName).toBe(CUSTOMER_ROLE_NAME);
    const trust = (role.Properties.AssumeRolePolicyDocument as { Statement: Statement[] }).Statement;
    const principals = trust.flatMap((statement) =>
      asArray((statement as unknown as { Principal: { AWS: unknown } }).Principal.AWS).map(flat),
    );
    expect(principals.sort()).toEqual([
      `arn:<AWS::Partition>:iam::<CollectorAccountId>:role/${COLLECTOR_ROLE_NAMES.ingest}`,
      `arn:<AWS::Partition>:iam::<CollectorAccountId>:role/${COLLECTOR_ROLE_NAMES.reconcile}`,
    ]);
    for (const statement of trust) {
      expect(statement).toEqual({
        Effect: 'Allow',
        Action: 'sts:AssumeRole',
        Principal: expect.anything(),
        Condition: { StringEquals: { 'sts:ExternalId': { Ref: 'ExternalId' } } },
      });
    }
    // Never the account root: no principal ends in :root, and none is a bare account id.
    expect(principals.some((principal) => principal.endsWith(':root') || /^\d+$/.test(principal))).toBe(false);
  });

  test('one policy per permission group plus the deny, all attached to the role', () => {
    const names = policies(template).map((policy) => policy.Properties.PolicyName);
    expect(names.sort()).toEqual(
      [
        ...CUSTOMER_GROUPS.map((group) => `cloudtrail-collector-${group}`),
        'cloudtrail-collector-deny-cost-creating-calls',
      ].sort(),
    );
    for (const policy of policies(template)) expect(policy.Properties.Roles).toEqual([{ Ref: expect.any(String) }]);
  });

  test('the role holds exactly the actions the permission map gives the customer role', () => {
    const granted = allowedActions(policies(template).flatMap(statementsOf));
    expect(granted).toEqual(variantActions(variant));
  });

  test('the repair policy exists only in apply mode, and nothing outside it can write', () => {
    expect(template.Conditions).toEqual({
      RepairAllowed: { 'Fn::Equals': [{ Ref: 'Mode' }, 'apply'] },
      TamperEventsOn: { 'Fn::Equals': [{ Ref: 'TamperEvents' }, 'on'] },
    });
    const repair = policyNamed(template, 'cloudtrail-collector-repair');
    expect(repair.Condition).toBe('RepairAllowed');
    for (const policy of policies(template)) {
      if (policy !== repair) expect(policy.Condition).toBeUndefined();
    }
    expect(allowedActions(statementsOf(repair))).toEqual(variantActions(variant, ['repair']));
    const readOnly = policies(template)
      .filter((policy) => policy !== repair)
      .flatMap((policy) => allowedActions(statementsOf(policy)));
    // The only state change outside repair: deleting messages already delivered (the command-line poller).
    const writes = readOnly.filter((action) => /:(Create|Put|Update|Set|Start|Subscribe|Delete|Tag)/.test(action));
    expect(writes).toEqual(['sqs:DeleteMessage']);
  });

  test("repairs are scoped to the collector's own outcomes* names, and to this account's trails", () => {
    for (const statement of statementsOf(policyNamed(template, 'cloudtrail-collector-repair'))) {
      const resources = asArray(statement.Resource).map(flat);
      if (asArray(statement.Action).includes('sns:Subscribe')) {
        // Any topic of this account (the trail's, named by the customer), but only to subscribe outcomesqueue.
        expect(resources).toEqual(['arn:<AWS::Partition>:sns:*:<AWS::AccountId>:*']);
        expect(statement.Condition).toEqual({
          StringEquals: { 'sns:Protocol': 'sqs' },
          StringLike: { 'sns:Endpoint': expect.anything() },
        });
        const endpoint = (statement.Condition as { StringLike: { 'sns:Endpoint': unknown } }).StringLike[
          'sns:Endpoint'
        ];
        expect(flat(endpoint)).toBe(`arn:<AWS::Partition>:sqs:*:<AWS::AccountId>:${CHAIN_NAMES.queue}`);
        continue;
      }
      const actions = asArray(statement.Action);
      if (actions.includes('sns:Unsubscribe')) {
        // The outcomesqueue subscription the role made, on the trail's topic, which may be the customer's own: it
        // removes it when the account moves to the hub, and gives it its SNS dead-letter queue. Neither action has
        // an endpoint condition key: this account's topics only, and no other action in the statement.
        expect([...actions].sort()).toEqual(['sns:SetSubscriptionAttributes', 'sns:Unsubscribe']);
        expect(resources).toEqual(['arn:<AWS::Partition>:sns:*:<AWS::AccountId>:*']);
        continue;
      }
      if (actions.includes('cloudtrail:UpdateTrail') || actions.includes('cloudtrail:StartLogging')) {
        // The trail reused instead of a paid second one is the customer's, whatever its name: this account only,
        // and only these two calls (selectors stay denied).
        expect([...actions].sort()).toEqual(['cloudtrail:StartLogging', 'cloudtrail:UpdateTrail']);
        expect(resources).toEqual(['arn:<AWS::Partition>:cloudtrail:*:<AWS::AccountId>:trail/*']);
        continue;
      }
      if (actions.includes('s3:PutBucketNotification')) {
        // The log archive's path: the one bucket named by LogArchiveBucketName (owned by this account), nothing else.
        expect(variant).toBe('log-archive');
        expect([...actions]).toEqual(['s3:PutBucketNotification']);
        expect(resources).toEqual(['arn:<AWS::Partition>:s3:::<LogArchiveBucketName>']);
        continue;
      }
      if (actions.includes('events:PutRule')) {
        // The log archive's EventBridge path: the collector's one rule on this account's default bus, nothing else.
        expect(variant).toBe('log-archive');
        expect([...actions].sort()).toEqual(['events:PutRule', 'events:PutTargets']);
        expect(resources).toEqual(['arn:<AWS::Partition>:events:*:<AWS::AccountId>:rule/cloudtrail-collector-archive']);
        continue;
      }
      for (const resource of resources) {
        expect(resource).toMatch(/<AWS::AccountId>/);
        expect(resource).toMatch(
          /:trail\/outcomes-trail$|:::outcomes-<AWS::AccountId>(-\*)?$|:outcomestopic$|:outcomesqueue(-dlq)?$/,
        );
      }
    }
  });

  test('an explicit Deny of every cost-creating CloudTrail call, in both modes, on every resource', () => {
    const deny = policyNamed(template, 'cloudtrail-collector-deny-cost-creating-calls');
    expect(deny.Condition).toBeUndefined();
    expect(statementsOf(deny)).toEqual([
      { Sid: 'DenyCostCreatingCloudTrailCalls', Effect: 'Deny', Action: [...DENIED_COST_ACTIONS], Resource: '*' },
    ]);
    const denied = new Set<string>(DENIED_COST_ACTIONS);
    for (const required of [
      'cloudtrail:PutEventSelectors', // data events
      'cloudtrail:PutInsightSelectors', // Insights
      'cloudtrail:CreateEventDataStore', // Lake
      'cloudtrail:StartQuery',
      'cloudtrail:CreateChannel', // channels
      'cloudtrail:StartImport', // imports
    ]) {
      expect(denied.has(required)).toBe(true);
    }
    // No Allow anywhere grants a denied action, nor any wildcard action that could.
    const allowed = allowedActions(policies(template).flatMap(statementsOf));
    expect(allowed.filter((action) => denied.has(action) || action.includes('*'))).toEqual([]);
  });

  test('log files: only CloudTrail keys of this account (and, for the log archive, every key of its bucket)', () => {
    const [statement] = statementsOf(policyNamed(template, 'cloudtrail-collector-read-log-files'));
    expect(asArray(statement!.Action)).toEqual(['s3:GetObject']);
    expect(asArray(statement!.Resource).map(flat)).toEqual([
      'arn:<AWS::Partition>:s3:::*/AWSLogs/<AWS::AccountId>/*',
      'arn:<AWS::Partition>:s3:::*/AWSLogs/o-*/<AWS::AccountId>/*',
      ...(variant === 'log-archive'
        ? [
            'arn:<AWS::Partition>:s3:::<LogArchiveBucketName>/AWSLogs/*',
            'arn:<AWS::Partition>:s3:::<LogArchiveBucketName>/*/AWSLogs/*',
          ]
        : []),
    ]);
    const [decrypt] = statementsOf(policyNamed(template, 'cloudtrail-collector-decrypt-log-files'));
    expect(decrypt).toMatchObject({
      Action: 'kms:Decrypt',
      Condition: { StringLike: { 'kms:ViaService': ['s3.*.amazonaws.com', 's3.*.amazonaws.com.cn'] } },
    });
  });

  test('a plain CloudFormation template: no bootstrap rule, no CDK metadata or paths, no assets', () => {
    expect(template.Rules).toBeUndefined();
    expect(template.Parameters.BootstrapVersion).toBeUndefined();
    expect(Object.values(template.Resources).map((resource) => resource.Type)).not.toContain('AWS::CDK::Metadata');
    const text = JSON.stringify(template);
    expect(text).not.toMatch(/aws:cdk:path|aws:asset|cdk-hnb659fds|AssetParameters/);
    assertions.hasOutput('RoleArn', { Value: { 'Fn::GetAtt': [Match.anyValue(), 'Arn'] } });
  });

  test('small enough for `aws cloudformation deploy --template-file` without an S3 bucket (51,200 bytes)', () => {
    const file = variant === 'standard' ? GENERATED_FILES.customerTemplate : GENERATED_FILES.logArchiveTemplate;
    expect(readFileSync(path.join(ROOT, file)).length).toBeLessThan(51_200);
  });

  test(`the committed template equals a fresh synth (run \`npm run generate\` after changing the stack)`, () => {
    const file = variant === 'standard' ? GENERATED_FILES.customerTemplate : GENERATED_FILES.logArchiveTemplate;
    expect(readFileSync(path.join(ROOT, file), 'utf8')).toEqual(renderCustomerTemplate(variant));
  });
});

describe('the customer deploy command', () => {
  test('the command-line tool points customers at the committed template', () => {
    expect(CUSTOMER_TEMPLATE).toBe(GENERATED_FILES.customerTemplate);
  });

  test('its parameter overrides are exactly the template parameters', () => {
    const command = customerDeployCommand({
      collectorAccountId: '123456789012',
      externalId: 'x-1',
      mode: 'report',
      region: 'eu-west-1',
    });
    const overrides = /--parameter-overrides (.*)$/
      .exec(command)![1]!
      .split(' ')
      .map((pair) => pair.split('=')[0]);
    // TamperEvents is left to its default (on): the customer who does not want the rule adds TamperEvents=off.
    expect(overrides.sort()).toEqual(
      Object.keys(standard.Parameters)
        .filter((name) => name !== 'TamperEvents')
        .sort(),
    );
    expect(standard.Parameters.TamperEvents?.Default).toBe('on');
    expect(command).toContain('CAPABILITY_NAMED_IAM'); // the role has a fixed name
  });
});

describe('the customer stacks in the CDK app', () => {
  test('are the same templates as the committed ones (the app adds only cdk-nag checks)', () => {
    const { customer, logArchive, template } = synthApp();
    expect(template(customer).toJSON()).toEqual(standard);
    expect(template(logArchive).toJSON()).toEqual(archive);
  });
});
