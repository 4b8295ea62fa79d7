/**
 * cdk-nag: the AwsSolutions and Serverless packs run over every stack of the app (at `cdk synth` and in the tests).
 * Suppressions are written next to the resource they concern, each with its reason; the wildcard ones (IAM5)
 * name exactly the resources they allow, computed from the permission map's scopes.
 */
import { Aspects, Stack, type IAspect } from 'aws-cdk-lib';
import { AwsSolutionsChecks, NagSuppressions, ServerlessChecks, type INagLogger } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { WILDCARD_REASONS } from './permission-scopes';
import type { Scope, ScopeResolver, StatementSpec } from './permissions';

export interface NagOptions {
  /** Write the CSV/JSON reports into the cloud assembly (on for `cdk synth`, off in tests). */
  reports?: boolean;
  /** Extra loggers (tests record every finding and suppression). */
  additionalLoggers?: INagLogger[];
}

export function nagPacks(options: NagOptions = {}): IAspect[] {
  const props = {
    verbose: true,
    reports: options.reports ?? true,
    ...(options.additionalLoggers ? { additionalLoggers: options.additionalLoggers } : {}),
  };
  return [new AwsSolutionsChecks(props), new ServerlessChecks(props)];
}

export function applyNagChecks(scope: IConstruct, options: NagOptions = {}): void {
  for (const pack of nagPacks(options)) Aspects.of(scope).add(pack);
}

/**
 * How cdk-nag names a resource in an IAM5 finding: `Resource::<arn>`, each pseudo parameter or parameter written
 * `<AWS::Partition>` / `<Name>`, each GetAtt `<LogicalId.Attribute>`.
 */
export function nagResourceName(scope: IConstruct, resource: string): string {
  return `Resource::${flatten(Stack.of(scope).resolve(resource))}`;
}

function flatten(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && value !== null) {
    const object = value as Record<string, unknown>;
    if ('Ref' in object) return `<${String(object.Ref)}>`;
    if ('Fn::GetAtt' in object) return `<${(object['Fn::GetAtt'] as string[]).join('.')}>`;
    if ('Fn::Join' in object) {
      const [separator, parts] = object['Fn::Join'] as [string, unknown[]];
      return parts.map(flatten).join(separator);
    }
  }
  return JSON.stringify(value);
}

/**
 * Suppresses AwsSolutions-IAM5 on `construct` for exactly the wildcard resources of the given statements: one
 * suppression per scope, with that scope's reason from WILDCARD_REASONS. A wildcard scope without a recorded
 * reason gets no suppression, so a new wildcard fails the nag test until someone writes down why.
 */
export function suppressWildcards(
  construct: IConstruct,
  statements: readonly Pick<StatementSpec, 'scope'>[],
  scopes: ScopeResolver,
): void {
  const wildcard: Scope[] = [...new Set(statements.map((statement) => statement.scope))].filter((scope) =>
    (scopes[scope]?.resources ?? []).some((resource) => resource.includes('*')),
  );
  const suppressions = wildcard
    .filter((scope) => WILDCARD_REASONS[scope] !== undefined)
    .map((scope) => ({
      id: 'AwsSolutions-IAM5',
      reason: `${scope}: ${WILDCARD_REASONS[scope]}`,
      appliesTo: (scopes[scope]?.resources ?? [])
        .filter((resource) => resource.includes('*'))
        .map((resource) => nagResourceName(construct, resource)),
    }));
  if (suppressions.length > 0) NagSuppressions.addResourceSuppressions(construct, suppressions);
}
