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
