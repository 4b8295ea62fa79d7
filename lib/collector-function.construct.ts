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
import type { SinkType } from '../lambdas/ingest/sinks';
import { OPTIONAL_SCOPES, statementsFor, type ScopeResolver } from './permissions';

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
  /**
   * The execution role: a fixed name, and exactly the permission map's grants for this principal; or the role of
   * another CollectorFunction (`shared`), whose `ownLogGroup` scope must then list this function's log group
   * (`logGroup`, created by the caller before that role).
   */
  role: CollectorRoleProps | { shared: Role };
  /** The function's log group, when the caller creates it (a shared role's policy names it); else created here. */
  logGroup?: LogGroup;
}

export interface CollectorRoleProps {
  name: string;
  principal: 'ingest' | 'reconcile';
  /** The stack's ingest topology: grants the map limits to another topology are left out. */
  topology: IngestTopology;
  /** The stack's sink type (`cloudtrailCollector.sink.type`): grants the map limits to other sinks are left out. */
  sinkType?: SinkType;
  /** Resolves the map's scopes for this role; `ownLogGroup` is added here. */
  scopes: ScopeResolver;
  /** Besides Lambda: operators allowed to run the command-line tool as this role. */
  alsoTrusted?: IPrincipal[];
  /** Log groups of other functions that run as this role (`role: { shared }`): in its `ownLogGroup` scope. */
  otherLogGroups?: LogGroup[];
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
    this.logGroup =
      props.logGroup ??
      new LogGroup(this, 'Logs', {
        retention: props.logRetention,
        removalPolicy: RemovalPolicy.RETAIN,
      });
    this.role = 'shared' in props.role ? props.role.shared : this.buildRole(id, props.role);
    this.function = this.buildFunction(props);
  }

  private buildRole(id: string, props: CollectorRoleProps): Role {
    const ownLogGroup = { resources: [this.logGroup, ...(props.otherLogGroups ?? [])].map((g) => g.logGroupArn) };
    const scopes: ScopeResolver = { ...props.scopes, ownLogGroup };
    // A statement on an optional scope the stack did not resolve (no syslog TLS secret configured) is left out.
    const statements = statementsFor(props.principal, undefined, props.topology, props.sinkType).filter(
      (statement) => !OPTIONAL_SCOPES.has(statement.scope) || scopes[statement.scope] !== undefined,
    );
    const groups = [...new Set(statements.map((statement) => statement.group))];
    const role = new Role(this, 'Role', {
      roleName: props.name,
      description: `cloudtrail-collector ${props.principal} function (trusted by name by every customer role)`,
      assumedBy: new CompositePrincipal(new ServicePrincipal('lambda.amazonaws.com'), ...(props.alsoTrusted ?? [])),
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
    suppressWildcards(role, statements, scopes);
    const unscoped = statements.filter((statement) => scopes[statement.scope]?.resources.includes('*'));
    if (unscoped.length > 0) {
      NagSuppressions.addResourceSuppressions(role, [
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
    return role;
  }

  private buildFunction(props: CollectorFunctionProps): NodejsFunction {
    return new NodejsFunction(this, 'Function', {
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
