/**
 * Shared by the CDK tests: one synth of the whole app per test file, without bundling (the templates are the same
 * apart from the asset hash; test/cdk/cfn-lint.test.ts is the one that bundles, as `npm run synth` does).
 */
import { App, type Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { buildCollectorApp, type CollectorApp } from '../../lib/app';
import { CONFIG_CONTEXT_KEY } from '../../lib/config';
import type { NagOptions } from '../../lib/nag';
import cdkJson from '../../cdk.json';

export const TOKEN_SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:downstream-token-AbCdEf';

export interface TestApp extends CollectorApp {
  app: App;
  template(stack: Stack): Template;
}

/** The app as bin/app.ts builds it, with `cloudtrailCollector` context (cdk.json's when omitted). */
export function synthApp(
  options: { config?: Record<string, unknown>; nag?: NagOptions | false; bundle?: boolean; outdir?: string } = {},
): TestApp {
  const context: Record<string, unknown> = {};
  if (!options.bundle) context['aws:cdk:bundling-stacks'] = [];
  if (options.config !== undefined) context[CONFIG_CONTEXT_KEY] = options.config;
  else context[CONFIG_CONTEXT_KEY] = cdkJsonConfig();
  const app = new App({
    context,
    // The built-in CloudFormation validation only slows tests down: cfn-lint runs over every template instead.
    builtinCloudFormationValidation: false,
    ...(options.outdir !== undefined ? { outdir: options.outdir } : {}),
  });
  const built = buildCollectorApp(app, { nag: options.nag ?? { reports: false } });
  const cache = new Map<Stack, Template>();
  return {
    ...built,
    app,
    template(stack) {
      let template = cache.get(stack);
      if (template === undefined) {
        template = Template.fromStack(stack);
        cache.set(stack, template);
      }
      return template;
    },
  };
}

/** The `cloudtrailCollector` context of the project's cdk.json. */
export function cdkJsonConfig(): Record<string, unknown> {
  const config: Record<string, unknown> = structuredClone(cdkJson.context[CONFIG_CONTEXT_KEY]);
  return config;
}

type Statement = { Effect: string; Action: string | string[]; Resource: unknown; Condition?: unknown; Sid?: string };

export function asArray<T>(value: T | T[] | undefined): T[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/** Every statement of every inline policy of a role resource. */
export function roleInlineStatements(role: {
  Properties: { Policies?: { PolicyDocument: { Statement: Statement[] } }[] };
}) {
  return (role.Properties.Policies ?? []).flatMap((policy) => policy.PolicyDocument.Statement);
}

export function allowedActions(statements: Statement[]): string[] {
  return [...new Set(statements.filter((s) => s.Effect === 'Allow').flatMap((s) => asArray(s.Action)))].sort();
}

export type { Statement };

/** cdk.json's configuration with some `ingest` keys replaced (the topology, the shard count, ...). */
export function configWithIngest(ingest: Record<string, unknown>): Record<string, unknown> {
  const config = cdkJsonConfig();
  return { ...config, ingest: { ...(config.ingest as Record<string, unknown>), ...ingest } };
}

export const DEPLOYED = { partition: 'aws', region: 'us-east-1', account: '123456789012' } as const;

type TemplateJson = { Resources: Record<string, { Type: string; Properties: Record<string, unknown> }> };

/**
 * A CloudFormation value as it would be once deployed: pseudo parameters, the ARN of each role, function, queue,
 * table and log group of the template (GetAtt Arn; generated names get a plausible suffix), the Ref of a table or
 * secret, with Fn::Join resolved. What no rule covers stays undefined.
 */
export function deployedValue(template: TemplateJson, value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value !== 'object' || value === null) return undefined;
  const object = value as Record<string, unknown>;
  const { partition, region, account } = DEPLOYED;
  if ('Ref' in object) {
    const pseudo: Record<string, string> = {
      'AWS::Partition': partition,
      'AWS::Region': region,
      'AWS::AccountId': account,
      'AWS::URLSuffix': 'amazonaws.com',
    };
    const ref = String(object.Ref);
    const resource = template.Resources[ref];
    // A table's Ref is its name: the one it is given (the ledger's, `<registry>-ledger`), else a generated one.
    if (resource?.Type === 'AWS::DynamoDB::Table')
      return resource.Properties.TableName !== undefined
        ? deployedValue(template, resource.Properties.TableName)
        : `${ref}-1A2B3C4D5E6F`;
    // A queue's Ref is its URL.
    if (resource?.Type === 'AWS::SQS::Queue')
      return `https://sqs.${region}.amazonaws.com/${account}/${String(resource.Properties.QueueName)}`;
    if (resource?.Type === 'AWS::SecretsManager::Secret')
      return `arn:${partition}:secretsmanager:${region}:${account}:secret:${String(resource.Properties.Name)}-AbCdEf`;
    return pseudo[ref];
  }
  if ('Fn::GetAtt' in object) {
    const [logicalId, attribute] = object['Fn::GetAtt'] as [string, string];
    const resource = template.Resources[logicalId];
    if (resource === undefined || attribute !== 'Arn') return undefined;
    const props = resource.Properties;
    if (resource.Type === 'AWS::IAM::Role') return `arn:${partition}:iam::${account}:role/${String(props.RoleName)}`;
    if (resource.Type === 'AWS::SQS::Queue')
      return `arn:${partition}:sqs:${region}:${account}:${String(props.QueueName)}`;
    if (resource.Type === 'AWS::Lambda::Function')
      return `arn:${partition}:lambda:${region}:${account}:function:${String(props.FunctionName)}`;
    if (resource.Type === 'AWS::DynamoDB::Table')
      return `arn:${partition}:dynamodb:${region}:${account}:table/${deployedValue(template, { Ref: logicalId })}`;
    if (resource.Type === 'AWS::Logs::LogGroup')
      return `arn:${partition}:logs:${region}:${account}:log-group:${logicalId}-1A2B3C4D5E6F:*`;
    return undefined;
  }
  if ('Fn::Join' in object) {
    const [separator, parts] = object['Fn::Join'] as [string, unknown[]];
    const resolved = parts.map((part) => deployedValue(template, part));
    return resolved.every((part) => part !== undefined) ? resolved.join(separator) : undefined;
  }
  return undefined;
}
