/**
 * The commands an organization's administrator runs, printed by `organizations add|sync` and shown in
 * docs/customer-setup.md: the management account's read-only role, and the customer role in every member through a
 * CloudFormation StackSet with service-managed permissions (CloudFormation User Guide, "Create CloudFormation
 * StackSets with service-managed permissions", "Account-level targets for service-managed StackSets"):
 *
 * - the StackSet deploys the standard customer template, which has no per-account parameter: CollectorAccountId,
 *   the organization's ExternalId and Mode are StackSet-level parameters;
 * - automatic deployment gives every account that joins a targeted OU the role, and deletes it from an account that
 *   leaves (RetainStacksOnAccountRemoval=false: a departed account keeps no role trusting the collector);
 * - one region only: the role is a global IAM resource, a second region's stack instance would fail on the name;
 * - StackSets never deploy to the management account (API Reference, DeploymentTargets), which deploys its stacks
 *   itself, and the log archive is left out (AccountFilterType=DIFFERENCE): it deploys the log-archive template;
 * - a delegated administrator runs the same commands with `--call-as DELEGATED_ADMIN` (User Guide, "Register a
 *   delegated administrator member account").
 */
import { customerDeployCommand } from './customer-deploy-command';
import { GENERATED_FILES } from './names';

export const STACK_SET_NAME = 'cloudtrail-collector-role';
export const MANAGEMENT_ROLE_STACK_NAME = 'cloudtrail-collector-organization-role';

export interface OrganizationDeployParams {
  collectorAccountId: string;
  externalId: string;
  mode: string;
  region: string;
  managementAccountId: string;
  logArchiveAccountId: string;
  logArchiveBucket: string;
  /** Deployment targets: the organization root (every account) or OU ids. */
  targetIds: string[];
  /** The template bucket's URL (collector stack output TemplateBucketUrl): `--template-url`; else `--template-body`. */
  templateBucketUrl?: string;
  /** Run from a delegated administrator account rather than the management account. */
  delegatedAdmin?: boolean;
  /**
   * Members that keep a stack of their own (registered before the organization, so linked with their own
   * ExternalId): left out of the StackSet, whose instance would collide with their role's name.
   */
  ownStackAccountIds?: string[];
  /** The ExternalIds registered for the management account and the log archive, when not the organization's (linked). */
  managementExternalId?: string;
  logArchiveExternalId?: string;
}

const joinLines = (parts: string[]) => parts.join(' \\\n    ');

/** `aws cloudformation deploy` of the read-only role, in the management account. */
export function managementRoleDeployCommand(
  p: Pick<OrganizationDeployParams, 'collectorAccountId' | 'externalId' | 'region'>,
): string {
  return joinLines([
    'aws cloudformation deploy',
    `--stack-name ${MANAGEMENT_ROLE_STACK_NAME}`,
    `--template-file ${GENERATED_FILES.organizationManagementTemplate}`,
    '--capabilities CAPABILITY_NAMED_IAM',
    `--region ${p.region}`,
    `--parameter-overrides CollectorAccountId=${p.collectorAccountId} ExternalId=${p.externalId}`,
  ]);
}

function templateSource(p: OrganizationDeployParams): string {
  return p.templateBucketUrl !== undefined
    ? `--template-url ${p.templateBucketUrl.replace(/\/?$/, '/')}${GENERATED_FILES.customerTemplate}`
    : `--template-body file://${GENERATED_FILES.customerTemplate}`;
}

/** create-stack-set and create-stack-instances for every member but the management account and the log archive. */
export function stackSetCommands(p: OrganizationDeployParams): string[] {
  const callAs = p.delegatedAdmin ? ['--call-as DELEGATED_ADMIN'] : [];
  const excluded = [...new Set([p.logArchiveAccountId, ...(p.ownStackAccountIds ?? [])])]
    .filter((id) => id !== p.managementAccountId)
    .sort();
  const targets =
    `OrganizationalUnitIds=${p.targetIds.join(',')}` +
    (excluded.length > 0 ? `,Accounts=${excluded.join(',')},AccountFilterType=DIFFERENCE` : '');
  return [
    joinLines([
      'aws cloudformation create-stack-set',
      `--stack-set-name ${STACK_SET_NAME}`,
      templateSource(p),
      '--permission-model SERVICE_MANAGED',
      '--auto-deployment Enabled=true,RetainStacksOnAccountRemoval=false',
      '--capabilities CAPABILITY_NAMED_IAM',
      `--parameters ParameterKey=CollectorAccountId,ParameterValue=${p.collectorAccountId} ParameterKey=ExternalId,ParameterValue=${p.externalId} ParameterKey=Mode,ParameterValue=${p.mode}`,
      `--region ${p.region}`,
      ...callAs,
    ]),
    joinLines([
      'aws cloudformation create-stack-instances',
      `--stack-set-name ${STACK_SET_NAME}`,
      `--deployment-targets ${targets}`,
      `--regions ${p.region}`,
      '--operation-preferences FailureTolerancePercentage=10,MaxConcurrentPercentage=25',
      `--region ${p.region}`,
      ...callAs,
    ]),
  ];
}

/** update-stack-set after the organization's ExternalId or mode changed (the template and the other values kept). */
export function stackSetUpdateCommand(p: OrganizationDeployParams): string {
  return joinLines([
    'aws cloudformation update-stack-set',
    `--stack-set-name ${STACK_SET_NAME}`,
    '--use-previous-template',
    '--capabilities CAPABILITY_NAMED_IAM',
    `--parameters ParameterKey=CollectorAccountId,UsePreviousValue=true ParameterKey=ExternalId,ParameterValue=${p.externalId} ParameterKey=Mode,ParameterValue=${p.mode}`,
    `--region ${p.region}`,
    ...(p.delegatedAdmin ? ['--call-as DELEGATED_ADMIN'] : []),
  ]);
}

export interface OrganizationStep {
  /** Where it runs: `management account 111122223333`, ... */
  where: string;
  what: string;
  commands: string[];
}

/**
 * Everything the organization's administrator deploys, in order: the read role (first: `organizations add`
 * needs it), the management account's own customer role (StackSets skip it), the log archive's role (the
 * log-archive template, reading the trail's bucket) and the StackSet for every other member.
 */
export function organizationSteps(p: OrganizationDeployParams): OrganizationStep[] {
  const customer = { collectorAccountId: p.collectorAccountId, mode: p.mode, region: p.region };
  const archiveIsManagement = p.logArchiveAccountId === p.managementAccountId;
  const managementExternalId = p.managementExternalId ?? p.externalId;
  const archiveExternalId = p.logArchiveExternalId ?? p.externalId;
  return [
    {
      where: `management account ${p.managementAccountId}`,
      what: 'the read-only organization role (lists the accounts, reads the organization trail)',
      commands: [managementRoleDeployCommand(p)],
    },
    ...(archiveIsManagement
      ? []
      : [
          {
            where: `management account ${p.managementAccountId}`,
            what: 'its own customer role (a StackSet never deploys to the management account)',
            commands: [customerDeployCommand({ ...customer, externalId: managementExternalId })],
          },
        ]),
    {
      where: `log archive account ${p.logArchiveAccountId}`,
      what: `the log-archive role, which reads every member's log files in ${p.logArchiveBucket}`,
      commands: [
        customerDeployCommand({ ...customer, externalId: archiveExternalId, logArchiveBucketName: p.logArchiveBucket }),
      ],
    },
    {
      where: `management account ${p.managementAccountId} (or a delegated administrator, adding --call-as DELEGATED_ADMIN)`,
      what:
        'the customer role in every other member, now and in every account that joins a targeted OU' +
        ((p.ownStackAccountIds ?? []).length > 0
          ? ` (not in ${p.ownStackAccountIds!.join(', ')}: registered before, they keep their own stack and ExternalId)`
          : ''),
      commands: stackSetCommands(p),
    },
  ];
}
