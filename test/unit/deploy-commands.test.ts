/**
 * What the tool prints for customers to deploy: the quick-create link (CloudFormation User Guide, "Create
 * CloudFormation stacks using quick-create links") and an organization's StackSet commands (User Guide, "Create
 * CloudFormation StackSets with service-managed permissions"; API Reference, DeploymentTargets).
 */
import { quickCreateLink, publishedTemplateUrl } from '../../lib/customer-deploy-command';
import { GENERATED_FILES } from '../../lib/names';
import {
  organizationSteps,
  stackSetCommands,
  stackSetUpdateCommand,
  type OrganizationDeployParams,
} from '../../lib/organization-deploy-commands';

const BUCKET_URL = 'https://templates-bucket.s3.eu-west-1.amazonaws.com/';

test('the quick-create link: template URL encoded, stack name, parameters, never the NoEcho ExternalId', () => {
  const templateUrl = publishedTemplateUrl(BUCKET_URL, false);
  expect(templateUrl).toBe(`${BUCKET_URL}${GENERATED_FILES.customerTemplate}`);
  const link = quickCreateLink({
    collectorAccountId: '123456789012',
    mode: 'report',
    region: 'eu-west-1',
    templateUrl,
  });
  const url = new URL(link);
  expect(url.origin).toBe('https://eu-west-1.console.aws.amazon.com');
  expect(url.pathname).toBe('/cloudformation/home');
  expect(url.searchParams.get('region')).toBe('eu-west-1');
  const [route, query] = url.hash.slice(1).split('?');
  expect(route).toBe('/stacks/create/review');
  const params = new URLSearchParams(query);
  expect(Object.fromEntries(params)).toEqual({
    templateURL: templateUrl,
    stackName: 'cloudtrail-collector-role',
    param_CollectorAccountId: '123456789012',
    param_Mode: 'report',
  });
  expect(link).not.toMatch(/ExternalId/);
  // The template URL is percent-encoded inside the fragment: its own ? and / cannot end the query early.
  expect(link).toContain(encodeURIComponent(templateUrl));
});

test('a log archive gets the log-archive template and its bucket parameter', () => {
  const templateUrl = publishedTemplateUrl(BUCKET_URL.slice(0, -1), true);
  expect(templateUrl).toBe(`${BUCKET_URL}${GENERATED_FILES.logArchiveTemplate}`);
  const params = new URLSearchParams(
    quickCreateLink({
      collectorAccountId: '123456789012',
      mode: 'apply',
      region: 'us-east-1',
      templateUrl,
      logArchiveBucketName: 'acme-org-trail',
    }).split('?')[2],
  );
  expect(params.get('param_LogArchiveBucketName')).toBe('acme-org-trail');
});

const ORG: OrganizationDeployParams = {
  collectorAccountId: '123456789012',
  externalId: 'org-secret',
  mode: 'report',
  region: 'us-east-1',
  managementAccountId: '999900001111',
  logArchiveAccountId: '444455556666',
  logArchiveBucket: 'acme-org-trail',
  targetIds: ['r-ab12'],
};

const oneLine = (command: string) => command.replace(/ \\\n\s+/g, ' ');

test('the StackSet: service-managed, automatic deployment, StackSet-level parameters, every member but the log archive', () => {
  const [create, instances] = stackSetCommands(ORG).map(oneLine);
  expect(create).toBe(
    'aws cloudformation create-stack-set --stack-set-name cloudtrail-collector-role ' +
      `--template-body file://${GENERATED_FILES.customerTemplate} --permission-model SERVICE_MANAGED ` +
      '--auto-deployment Enabled=true,RetainStacksOnAccountRemoval=false --capabilities CAPABILITY_NAMED_IAM ' +
      '--parameters ParameterKey=CollectorAccountId,ParameterValue=123456789012 ParameterKey=ExternalId,ParameterValue=org-secret ParameterKey=Mode,ParameterValue=report ' +
      '--region us-east-1',
  );
  expect(instances).toBe(
    'aws cloudformation create-stack-instances --stack-set-name cloudtrail-collector-role ' +
      '--deployment-targets OrganizationalUnitIds=r-ab12,Accounts=444455556666,AccountFilterType=DIFFERENCE ' +
      '--regions us-east-1 --operation-preferences FailureTolerancePercentage=10,MaxConcurrentPercentage=25 --region us-east-1',
  );
});

test('from a delegated administrator, with the published template, and when the archive is the management account', () => {
  const commands = stackSetCommands({
    ...ORG,
    delegatedAdmin: true,
    templateBucketUrl: BUCKET_URL,
    logArchiveAccountId: ORG.managementAccountId,
  }).map(oneLine);
  for (const command of commands) expect(command).toMatch(/ --call-as DELEGATED_ADMIN$/);
  expect(commands[0]).toContain(`--template-url ${BUCKET_URL}${GENERATED_FILES.customerTemplate}`);
  // StackSets never deploy to the management account: nothing to leave out.
  expect(commands[1]).toContain('--deployment-targets OrganizationalUnitIds=r-ab12 ');
  expect(oneLine(stackSetUpdateCommand({ ...ORG, externalId: 'rotated', mode: 'apply' }))).toContain(
    '--use-previous-template --capabilities CAPABILITY_NAMED_IAM --parameters ParameterKey=CollectorAccountId,UsePreviousValue=true ParameterKey=ExternalId,ParameterValue=rotated ParameterKey=Mode,ParameterValue=apply',
  );
});

test('the steps, in order: read role, the management account own role, the log archive role, the StackSet', () => {
  const steps = organizationSteps(ORG);
  expect(steps.map((step) => step.where)).toEqual([
    'management account 999900001111',
    'management account 999900001111',
    'log archive account 444455556666',
    'management account 999900001111 (or a delegated administrator, adding --call-as DELEGATED_ADMIN)',
  ]);
  expect(oneLine(steps[0]!.commands[0]!)).toBe(
    `aws cloudformation deploy --stack-name cloudtrail-collector-organization-role --template-file ${GENERATED_FILES.organizationManagementTemplate} --capabilities CAPABILITY_NAMED_IAM --region us-east-1 --parameter-overrides CollectorAccountId=123456789012 ExternalId=org-secret`,
  );
  expect(steps[1]!.commands[0]).toContain(`--template-file ${GENERATED_FILES.customerTemplate}`);
  expect(steps[2]!.commands[0]).toContain(`--template-file ${GENERATED_FILES.logArchiveTemplate}`);
  expect(steps[2]!.commands[0]).toContain('LogArchiveBucketName=acme-org-trail');
  // The archive is the management account: it deploys the log-archive role, and no second customer role.
  const merged = organizationSteps({ ...ORG, logArchiveAccountId: ORG.managementAccountId });
  expect(merged).toHaveLength(3);
  expect(merged[1]!.commands[0]).toContain(GENERATED_FILES.logArchiveTemplate);
});

test('linked accounts keep their own stack and ExternalId: left out of the StackSet, their commands with their own', () => {
  const params = {
    ...ORG,
    ownStackAccountIds: ['777788889999'],
    managementExternalId: 'management-own-1',
    logArchiveExternalId: 'archive-own-1',
  };
  expect(oneLine(stackSetCommands(params)[1]!)).toContain(
    '--deployment-targets OrganizationalUnitIds=r-ab12,Accounts=444455556666,777788889999,AccountFilterType=DIFFERENCE',
  );
  const steps = organizationSteps(params);
  expect(steps[0]!.commands[0]).toContain('ExternalId=org-secret');
  expect(steps[1]!.commands[0]).toContain('ExternalId=management-own-1');
  expect(steps[2]!.commands[0]).toContain('ExternalId=archive-own-1');
  expect(oneLine(steps[3]!.commands[0]!)).toContain('ParameterKey=ExternalId,ParameterValue=org-secret');
  expect(steps[3]!.what).toContain('not in 777788889999: registered before, they keep their own stack and ExternalId');
});
