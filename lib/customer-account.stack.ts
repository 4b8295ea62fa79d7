import {
  Aws,
  BootstraplessSynthesizer,
  CfnCondition,
  CfnOutput,
  CfnParameter,
  Fn,
  Stack,
  type StackProps,
} from 'aws-cdk-lib';
import {
  ArnPrincipal,
  CfnPolicy,
  CompositePrincipal,
  Effect,
  Policy,
  PolicyStatement,
  Role,
} from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { ACCOUNT_ID_PATTERN, roleArn } from '../lambdas/shared/arn';
import { COLLECTOR_ROLE_NAMES, CUSTOMER_ROLE_NAME, S3_BUCKET_NAME_PATTERN } from './names';
import { suppressWildcards } from './nag';
import { customerScopes } from './permission-scopes';
import {
  CUSTOMER_GROUPS,
  DENIED_COST_ACTIONS,
  statementsFor,
  type PermissionGroup,
  type ScopeResolver,
} from './permissions';

/** `standard`: one customer account. `log-archive`: also reads the other accounts' log files in its archive bucket. */
export type CustomerRoleVariant = 'standard' | 'log-archive';

export interface CustomerAccountStackProps extends StackProps {
  variant: CustomerRoleVariant;
}

/**
 * The role a customer deploys in each account (docs/stacks.md), as a plain CloudFormation template: no assets,
 * no bootstrap, no CDK metadata. Parameters: the collector account, the ExternalId, the mode (and, for the
 * log-archive variant, the archive bucket). Permissions come from the one permission map (lib/permissions.ts),
 * one policy per group; the repair policy exists only in `apply` mode; cost-creating CloudTrail calls are denied.
 */
export class CustomerAccountStack extends Stack {
  readonly role: Role;

  constructor(scope: Construct, id: string, props: CustomerAccountStackProps) {
    super(scope, id, {
      ...props,
      // A template a customer deploys with `aws cloudformation deploy`: no bootstrap stack, no version rule, no
      // asset bucket, no analytics resource, no construct paths.
      synthesizer: new BootstraplessSynthesizer(),
      analyticsReporting: false,
    });
    this.node.setContext('aws:cdk:enable-path-metadata', false);
    const archive = props.variant === 'log-archive';

    const collectorAccountId = new CfnParameter(this, 'CollectorAccountId', {
      type: 'String',
      description: 'The AWS account id where cloudtrail-collector runs (12 digits)',
      allowedPattern: ACCOUNT_ID_PATTERN.source,
      constraintDescription: 'must be a 12-digit AWS account id',
    });
    const externalId = new CfnParameter(this, 'ExternalId', {
      type: 'String',
      description:
        'The ExternalId the collector operator gave you for this account (printed by "accounts add"), or for your whole organization (printed by "organizations add": the same in every member, a StackSet-level parameter)',
      allowedPattern: '^[\\w+=,.@:/-]{2,1224}$',
      constraintDescription: 'must be 2-1224 characters of letters, digits and +=,.@:/-_',
      noEcho: true,
    });
    const mode = new CfnParameter(this, 'Mode', {
      type: 'String',
      description:
        'apply: the collector may repair its own delivery chain (outcomes-* resources). report: read-only, findings only',
      allowedValues: ['apply', 'report'],
      default: 'report',
    });
    const bucket = archive
      ? new CfnParameter(this, 'LogArchiveBucketName', {
          type: 'String',
          description: 'The bucket in this account that receives the CloudTrail log files of the other accounts',
          allowedPattern: S3_BUCKET_NAME_PATTERN.source,
          constraintDescription: 'must be an S3 bucket name',
        })
      : undefined;
    this.templateOptions.metadata = {
      'AWS::CloudFormation::Interface': {
        ParameterGroups: [
          {
            Label: { default: 'cloudtrail-collector' },
            Parameters: ['CollectorAccountId', 'ExternalId', 'Mode', ...(bucket ? ['LogArchiveBucketName'] : [])],
          },
        ],
      },
    };
    const repairAllowed = new CfnCondition(this, 'RepairAllowed', {
      expression: Fn.conditionEquals(mode.valueAsString, 'apply'),
    });

    const collectorRole = (name: string) => roleArn(Aws.PARTITION, collectorAccountId.valueAsString, name);

    // Trusts exactly the collector's two execution roles (by ARN, not the account root), and only with the
    // ExternalId of this account: no other principal of the collector account, and no confused deputy.
    this.role = new Role(this, 'Role', {
      roleName: CUSTOMER_ROLE_NAME,
      description: archive
        ? 'cloudtrail-collector (log archive): reads CloudTrail log files of this account and of the accounts it archives, observes and repairs the delivery chain'
        : 'cloudtrail-collector: reads CloudTrail log files of this account, observes and repairs the delivery chain',
      assumedBy: new CompositePrincipal(
        new ArnPrincipal(collectorRole(COLLECTOR_ROLE_NAMES.ingest)),
        new ArnPrincipal(collectorRole(COLLECTOR_ROLE_NAMES.reconcile)),
      ),
      externalIds: [externalId.valueAsString],
    });

    const scopes = customerScopes({
      partition: Aws.PARTITION,
      account: Aws.ACCOUNT_ID,
      ...(bucket ? { logArchiveBucket: bucket.valueAsString } : {}),
    });

    for (const group of CUSTOMER_GROUPS) {
      const policy = this.groupPolicy(group, scopes);
      if (group === 'repair') {
        // report mode: the role has no write permission at all.
        (policy.node.defaultChild as CfnPolicy).cfnOptions.condition = repairAllowed;
      }
    }

    // Never data events, Insights, Lake, channels or imports: an explicit Deny beats every Allow, in both modes.
    new Policy(this, 'DenyCostCreatingCalls', {
      policyName: 'cloudtrail-collector-deny-cost-creating-calls',
      roles: [this.role],
      statements: [
        new PolicyStatement({
          sid: 'DenyCostCreatingCloudTrailCalls',
          effect: Effect.DENY,
          actions: [...DENIED_COST_ACTIONS],
          resources: ['*'],
        }),
      ],
    });

    new CfnOutput(this, 'RoleArn', {
      description: 'Give this to the collector operator if asked; the collector derives it from your account id',
      value: this.role.roleArn,
    });
  }

  /** One IAM policy for one permission group, with its cdk-nag suppressions (the wildcard reasons) beside it. */
  private groupPolicy(group: PermissionGroup, scopes: ScopeResolver): Policy {
    // The log archive bucket's statements exist in the log-archive variant only (its LogArchiveBucketName).
    const statements = statementsFor('customer', [group]).filter(
      (spec) => spec.scope !== 'logArchiveBucket' || scopes.logArchiveBucket !== undefined,
    );
    const policy = new Policy(this, pascalId(group), {
      policyName: `cloudtrail-collector-${group}`,
      roles: [this.role],
      statements: statements.map((spec) => {
        const scope = scopes[spec.scope];
        if (scope === undefined) throw new Error(`no resources for scope ${spec.scope} in the customer template`);
        return new PolicyStatement({
          sid: spec.sid,
          actions: spec.actions,
          resources: scope.resources,
          ...(scope.conditions ? { conditions: scope.conditions } : {}),
        });
      }),
    });
    suppressWildcards(policy, statements, scopes);
    return policy;
  }
}

function pascalId(group: string): string {
  return group
    .split('-')
    .map((word) => word[0]!.toUpperCase() + word.slice(1))
    .join('');
}
