import { Aws, BootstraplessSynthesizer, CfnOutput, CfnParameter, Stack, type StackProps } from 'aws-cdk-lib';
import { ArnPrincipal, Policy, PolicyStatement, Role } from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import { ACCOUNT_ID_PATTERN, roleArn } from '../lambdas/shared/arn';
import { EXTERNAL_ID_PATTERN } from '../lambdas/shared/registry';
import { COLLECTOR_ROLE_NAMES, ORGANIZATION_ROLE_NAME } from './names';
import { suppressWildcards } from './nag';
import { customerScopes } from './permission-scopes';
import { MANAGEMENT_GROUPS, statementsFor, type PermissionGroup, type ScopeResolver } from './permissions';

export const MANAGEMENT_STACK_DESCRIPTION =
  'cloudtrail-collector organization role: lets the collector list the accounts of this organization and find its organization trail (read-only); deployed in the management account';

/**
 * The read-only role an organization's management account deploys for `organizations add|sync`
 * (docs/customer-setup.md, "An organization with its own trail"): a plain CloudFormation template like the customer
 * role's (no assets, no bootstrap). It trusts only the collector's reconcile role, and only with the organization's
 * ExternalId; its permissions come from the permission map (principal `management`), one policy per group, all of
 * them reads. It creates nothing else: the StackSet, the members' roles and the log archive's role are separate.
 */
export class ManagementAccountStack extends Stack {
  readonly role: Role;

  constructor(scope: Construct, id: string, props: StackProps = {}) {
    super(scope, id, {
      description: MANAGEMENT_STACK_DESCRIPTION,
      ...props,
      synthesizer: new BootstraplessSynthesizer(),
      analyticsReporting: false,
    });
    this.node.setContext('aws:cdk:enable-path-metadata', false);

    const collectorAccountId = new CfnParameter(this, 'CollectorAccountId', {
      type: 'String',
      description: 'The AWS account id where cloudtrail-collector runs (12 digits)',
      allowedPattern: ACCOUNT_ID_PATTERN.source,
      constraintDescription: 'must be a 12-digit AWS account id',
    });
    const externalId = new CfnParameter(this, 'ExternalId', {
      type: 'String',
      description:
        "The organization's ExternalId, printed by `organizations add` (the same one the members' StackSet and the log archive's stack use)",
      allowedPattern: EXTERNAL_ID_PATTERN.source,
      constraintDescription: 'must be 2-1224 characters of letters, digits and +=,.@:/-_',
      noEcho: true,
    });
    this.templateOptions.metadata = {
      'AWS::CloudFormation::Interface': {
        ParameterGroups: [
          { Label: { default: 'cloudtrail-collector' }, Parameters: ['CollectorAccountId', 'ExternalId'] },
        ],
      },
    };

    // Only the reconcile role (which `organizations add|sync` runs as), never the ingest role: ingest reads log
    // files, it has nothing to ask the organization.
    this.role = new Role(this, 'Role', {
      roleName: ORGANIZATION_ROLE_NAME,
      description:
        'cloudtrail-collector: lists the accounts of this organization and reads its organization trail (read-only)',
      assumedBy: new ArnPrincipal(
        roleArn(Aws.PARTITION, collectorAccountId.valueAsString, COLLECTOR_ROLE_NAMES.reconcile),
      ),
      externalIds: [externalId.valueAsString],
    });

    const scopes = customerScopes({ partition: Aws.PARTITION, account: Aws.ACCOUNT_ID });
    for (const group of MANAGEMENT_GROUPS) this.groupPolicy(group, scopes);

    new CfnOutput(this, 'RoleArn', {
      description: 'The collector derives it from the management account id; give it to the operator if asked',
      value: this.role.roleArn,
    });
  }

  private groupPolicy(group: PermissionGroup, scopes: ScopeResolver): Policy {
    const statements = statementsFor('management', [group]);
    const policy = new Policy(
      this,
      group
        .split('-')
        .map((word) => word[0]!.toUpperCase() + word.slice(1))
        .join(''),
      {
        policyName: `cloudtrail-collector-${group}`,
        roles: [this.role],
        statements: statements.map((spec) => {
          const scope = scopes[spec.scope];
          if (scope === undefined) throw new Error(`no resources for scope ${spec.scope} in the management template`);
          return new PolicyStatement({
            sid: spec.sid,
            actions: spec.actions,
            resources: scope.resources,
            ...(scope.conditions ? { conditions: scope.conditions } : {}),
          });
        }),
      },
    );
    suppressWildcards(policy, statements, scopes);
    return policy;
  }
}
