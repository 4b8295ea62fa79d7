import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import {
  CompositePrincipal,
  PolicyDocument,
  PolicyStatement,
  Role,
  ServicePrincipal,
  type IPrincipal,
} from 'aws-cdk-lib/aws-iam';
import { Architecture, Runtime } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import * as path from 'node:path';
import { NagSuppressions } from 'cdk-nag';
import { suppressWildcards } from './nag';
import { WILDCARD_REASONS } from './permission-scopes';
import type { IngestTopology } from '../lambdas/shared/topology';
import { statementsFor, type ScopeResolver } from './permissions';

export interface CollectorFunctionProps {
  /** Path of the handler module under `lambdas/`, e.g. `ingest/handler.ts`. */
  entry: string;
  functionName: string;
  description: string;
  memorySize: number;
  timeout: Duration;
  environment: Record<string, string>;
  logRetention: RetentionDays;
  reservedConcurrentExecutions?: number;
  /** The execution role: a fixed name, and exactly the permission map's grants for this principal. */
  role: {
    name: string;
    principal: 'ingest' | 'reconcile';
    /** The stack's ingest topology: grants the map limits to another topology are left out. */
    topology: IngestTopology;
    /** Resolves the map's scopes for this role; `ownLogGroup` is added here. */
    scopes: ScopeResolver;
    /** Besides Lambda: operators allowed to run the command-line tool as this role. */
    alsoTrusted?: IPrincipal[];
  };
}

/**
 * Every collector Lambda the same way: Node.js 24 on arm64, bundled by the local esbuild (never Docker), source
 * maps on, an explicit log group with retention, and an execution role whose inline policies are built from the
 * permission map only. The function gets the role without policy updates, so no CDK `grant*` call can add an
 * action the map does not list (tests compare the role with the map).
 */
export class CollectorFunction extends Construct {
  readonly function: NodejsFunction;
  readonly logGroup: LogGroup;
  readonly role: Role;

  constructor(scope: Construct, id: string, props: CollectorFunctionProps) {
    super(scope, id);
    this.logGroup = new LogGroup(this, 'Logs', {
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    const scopes: ScopeResolver = { ...props.role.scopes, ownLogGroup: { resources: [this.logGroup.logGroupArn] } };
    const statements = statementsFor(props.role.principal, undefined, props.role.topology);
    const groups = [...new Set(statements.map((statement) => statement.group))];
    this.role = new Role(this, 'Role', {
      roleName: props.role.name,
      description: `cloudtrail-collector ${props.role.principal} function (trusted by name by every customer role)`,
      assumedBy: new CompositePrincipal(
        new ServicePrincipal('lambda.amazonaws.com'),
        ...(props.role.alsoTrusted ?? []),
      ),
      inlinePolicies: Object.fromEntries(
        groups.map((group) => [
          group,
          new PolicyDocument({
            statements: statements
              .filter((statement) => statement.group === group)
              .map((statement) => {
                const resolved = scopes[statement.scope];
                if (resolved === undefined) throw new Error(`no resources for scope ${statement.scope} in ${id}`);
                return new PolicyStatement({
                  sid: statement.sid,
                  actions: statement.actions,
                  resources: resolved.resources,
                  ...(resolved.conditions ? { conditions: resolved.conditions } : {}),
                });
              }),
          }),
        ]),
      ),
    });
    suppressWildcards(this.role, statements, scopes);
    const unscoped = statements.filter((statement) => scopes[statement.scope]?.resources.includes('*'));
    if (unscoped.length > 0) {
      NagSuppressions.addResourceSuppressions(this.role, [
        {
          id: 'Serverless-LambdaStarPermissions',
          reason: `Resource "*" only where IAM offers nothing narrower: ${unscoped
            .map(
              (statement) =>
                `${statement.actions.join(', ')} (${WILDCARD_REASONS[statement.scope] ?? 'no reason recorded'})`,
            )
            .join('; ')}.`,
        },
      ]);
    }

    this.function = new NodejsFunction(this, 'Function', {
      entry: path.join(__dirname, '..', 'lambdas', props.entry),
      handler: 'handler',
      functionName: props.functionName,
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      description: props.description,
      memorySize: props.memorySize,
      timeout: props.timeout,
      logGroup: this.logGroup,
      // Immutable: a CDK grant can never add to the role behind the map's back. Imported by ARN rather than
      // `withoutPolicyUpdates()`, whose wrapper adds a DependsOn the Role GetAtt already implies (cfn-lint W3005).
      role: Role.fromRoleArn(this, 'ExecutionRole', this.role.roleArn, { mutable: false }),
      ...(props.reservedConcurrentExecutions !== undefined
        ? { reservedConcurrentExecutions: props.reservedConcurrentExecutions }
        : {}),
      environment: {
        NODE_OPTIONS: '--enable-source-maps',
        POWERTOOLS_SERVICE_NAME: 'cloudtrail-collector',
        ...props.environment,
      },
      bundling: {
        forceDockerBundling: false,
        minify: true,
        sourceMap: true,
        target: 'node24',
        format: OutputFormat.CJS,
        // The Node.js 24 runtime ships no SDK v2 and an SDK v3 we do not pin; bundle ours for repeatable builds.
        externalModules: [],
      },
    });
  }
}
