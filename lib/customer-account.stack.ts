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
import { CfnRule } from 'aws-cdk-lib/aws-events';
import {
  ArnPrincipal,
  CfnPolicy,
  CfnRole,
  CompositePrincipal,
  Effect,
  Policy,
  PolicyStatement,
  Role,
} from 'aws-cdk-lib/aws-iam';
import { NagSuppressions } from 'cdk-nag';
import { Construct } from 'constructs';
import { ACCOUNT_ID_PATTERN, roleArn } from '../lambdas/shared/arn';
import { TAMPER_EVENT_BUS_NAME, TAMPER_RULE_NAME, tamperEventPattern } from '../lambdas/shared/tamper-calls';
import { COLLECTOR_ROLE_NAMES, CUSTOMER_ROLE_NAME, S3_BUCKET_NAME_PATTERN } from './names';
import { suppressWildcards } from './nag';
import { customerScopes } from './permission-scopes';
import {
  CUSTOMER_GROUPS,
  DENIED_COST_ACTIONS,
  LOG_ARCHIVE_ONLY_SCOPES,
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
    const tamperEvents = new CfnParameter(this, 'TamperEvents', {
      type: 'String',
      description:
        "on: an EventBridge rule in this Region forwards the API calls that change the collector's delivery chain (StopLogging, DeleteTrail, DeleteTopic, ...; successful calls only) to the collector's event bus, so the chain is repaired within minutes. EventBridge charges this account $1.00 per million forwarded events",
      allowedValues: ['on', 'off'],
      default: 'on',
    });
    this.templateOptions.metadata = {
      'AWS::CloudFormation::Interface': {
        ParameterGroups: [
          {
            Label: { default: 'cloudtrail-collector' },
            Parameters: [
              'CollectorAccountId',
              'ExternalId',
              'Mode',
              ...(bucket ? ['LogArchiveBucketName'] : []),
              'TamperEvents',
            ],
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

    this.tamperRule(collectorAccountId.valueAsString, tamperEvents.valueAsString);

    new CfnOutput(this, 'RoleArn', {
      description: 'Give this to the collector operator if asked; the collector derives it from your account id',
      value: this.role.roleArn,
    });
  }

  /**
   * TamperEvents=on (docs/operations.md, "Triggers"): a rule on this account's default bus matching exactly the
   * chain-changing calls (tamperEventPattern), whose target is the collector's event bus, with a role EventBridge
   * assumes to put the events there. CloudTrail delivers "AWS API Call via CloudTrail" events to the default bus of
   * the Region the call was made in ("AWS service events delivered via AWS CloudTrail", EventBridge User Guide):
   * the stack is deployed in the chain's Region, the collector's. A cross-account target needs the receiving bus
   * to allow it and, as the EventBridge User Guide recommends for every bus target, a role on the sending rule
   * ("Sending and receiving events between AWS accounts in Amazon EventBridge"). The role's trust names the rule by
   * ARN and this account, so no other rule or account can use it.
   */
  private tamperRule(collectorAccountId: string, tamperEvents: string): void {
    const on = new CfnCondition(this, 'TamperEventsOn', { expression: Fn.conditionEquals(tamperEvents, 'on') });
    const busArn = `arn:${Aws.PARTITION}:events:${Aws.REGION}:${collectorAccountId}:event-bus/${TAMPER_EVENT_BUS_NAME}`;
    const ruleArn = `arn:${Aws.PARTITION}:events:${Aws.REGION}:${Aws.ACCOUNT_ID}:rule/${TAMPER_RULE_NAME}`;
    const role = new CfnRole(this, 'TamperEventsRole', {
      description: "cloudtrail-collector: lets this account's tamper-calls rule put its events on the collector's bus",
      assumeRolePolicyDocument: {
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Principal: { Service: 'events.amazonaws.com' },
            Action: 'sts:AssumeRole',
            Condition: { StringEquals: { 'aws:SourceArn': ruleArn, 'aws:SourceAccount': Aws.ACCOUNT_ID } },
          },
        ],
      },
      policies: [
        {
          policyName: 'cloudtrail-collector-tamper-events',
          policyDocument: {
            Version: '2012-10-17',
            Statement: [{ Sid: 'PutOnCollectorBus', Effect: 'Allow', Action: 'events:PutEvents', Resource: busArn }],
          },
        },
      ],
    });
    role.cfnOptions.condition = on;
    const rule = new CfnRule(this, 'TamperCallsRule', {
      name: TAMPER_RULE_NAME,
      description:
        "cloudtrail-collector: forwards the successful API calls that change the collector's delivery chain to the collector",
      eventBusName: 'default',
      state: 'ENABLED',
      eventPattern: tamperEventPattern(),
      targets: [
        {
          id: 'collector-event-bus',
          arn: busArn,
          roleArn: role.attrArn,
          // A trigger older than an hour repairs nothing the next scheduled run would not.
          retryPolicy: { maximumEventAgeInSeconds: 3600, maximumRetryAttempts: 20 },
        },
      ],
    });
    rule.cfnOptions.condition = on;
    NagSuppressions.addResourceSuppressions(rule, [
      {
        id: 'Serverless-EventBusDLQ',
        reason:
          "An event the collector's bus did not take within an hour of retries is only a missed trigger: the call's record still reaches ingest in its log file (when the chain delivers) and the account's scheduled run repairs the chain. A dead-letter queue here would be a queue in the customer's account that nobody reads.",
      },
    ]);
  }

  /** One IAM policy for one permission group, with its cdk-nag suppressions (the wildcard reasons) beside it. */
  private groupPolicy(group: PermissionGroup, scopes: ScopeResolver): Policy {
    // The log archive bucket's statements exist in the log-archive variant only (its LogArchiveBucketName).
    const statements = statementsFor('customer', [group]).filter(
      (spec) => !LOG_ARCHIVE_ONLY_SCOPES.has(spec.scope) || scopes.logArchiveBucket !== undefined,
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
