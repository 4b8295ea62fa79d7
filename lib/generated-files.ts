/**
 * The generated, committed files: the two customer role templates, the management account's read-only role
 * template and docs/permissions.md. `npm run generate`
 * (also run by `npm run synth`) writes them; tests render them again and fail when a committed file differs, so
 * they can never drift from the stacks and the permission map.
 */
import { App } from 'aws-cdk-lib';
import { spawnSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { buildArn, roleArn } from '../lambdas/shared/arn';
import { addCustomerStack } from './app';
import type { CustomerRoleVariant } from './customer-account.stack';
import { ManagementAccountStack } from './management-account.stack';
import {
  CHAIN_NAMES,
  COLLECTOR_ROLE_NAMES,
  CUSTOMER_ROLE_NAME,
  FUNCTION_NAMES,
  GENERATED_FILES,
  ORGANIZATION_ROLE_NAME,
  RECONCILE_FAILURE_QUEUE_NAME,
  STACK_IDS,
} from './names';
import { WILDCARD_REASONS, collectorScopes, customerScopes } from './permission-scopes';
import {
  CUSTOMER_GROUPS,
  DENIED_COST_ACTIONS,
  GROUP_PURPOSE,
  MANAGEMENT_GROUPS,
  OPERATIONS,
  statementsFor,
  type OperationName,
  type OperationSpec,
  type Principal,
  type ResolvedScope,
  type Scope,
  type ScopeResolver,
} from './permissions';

export const PROJECT_ROOT = path.join(__dirname, '..');

/** The customer template of one variant, as CloudFormation JSON (a fresh synth of CustomerAccountStack). */
export function synthCustomerTemplate(variant: CustomerRoleVariant): unknown {
  // The built-in CloudFormation validation adds seconds and never changes a template; cfn-lint runs in the tests.
  const app = new App({ builtinCloudFormationValidation: false });
  const stack = addCustomerStack(app, variant);
  return app.synth().getStackByName(stack.stackName).template as unknown;
}

/**
 * JSON as prettier writes it with the project's settings, so `prettier --check .` accepts the committed files.
 * Prettier runs as its command-line tool: its API loads ES modules, which the test runner cannot.
 */
export function formatJson(value: unknown, file: string): string {
  const result = spawnSync(process.execPath, [require.resolve('prettier/bin/prettier.cjs'), '--stdin-filepath', file], {
    cwd: PROJECT_ROOT,
    input: JSON.stringify(value, null, 2),
    encoding: 'utf8',
  });
  if (result.status !== 0) throw new Error(`prettier failed on ${file}: ${result.stderr || String(result.error)}`);
  return result.stdout;
}

/** The management account's read-only role (`organizations add`), as CloudFormation JSON (a fresh synth). */
export function synthManagementTemplate(): unknown {
  const app = new App({ builtinCloudFormationValidation: false });
  const stack = new ManagementAccountStack(app, STACK_IDS.organizationManagement);
  return app.synth().getStackByName(stack.stackName).template as unknown;
}

export function renderManagementTemplate(): string {
  return formatJson(synthManagementTemplate(), GENERATED_FILES.organizationManagementTemplate);
}

export function renderCustomerTemplate(variant: CustomerRoleVariant): string {
  const file = variant === 'standard' ? GENERATED_FILES.customerTemplate : GENERATED_FILES.logArchiveTemplate;
  return formatJson(synthCustomerTemplate(variant), file);
}

// ---- docs/permissions.md ------------------------------------------------------------------------------------

const DOC_ACCOUNT = '<account>';
const DOC_COLLECTOR = '<collector-account>';
const DOC_REGION = '<collector-region>';

function docCustomerScopes(): ScopeResolver {
  return customerScopes({ partition: 'aws', account: DOC_ACCOUNT });
}

/** An ARN of a collector resource as the doc shows it: placeholders for the collector's region and account. */
const docCollectorArn = (service: string, resource: string) =>
  buildArn({ partition: 'aws', service, region: DOC_REGION, accountId: DOC_COLLECTOR, resource });

function docCollectorScopes(principal: 'ingest' | 'reconcile'): ScopeResolver {
  return collectorScopes({
    partition: 'aws',
    region: DOC_REGION,
    account: DOC_COLLECTOR,
    registryTableArn: docCollectorArn('dynamodb', 'table/<registry-table>'),
    downstreamSecretArn: docCollectorArn('secretsmanager', 'secret:<downstream-token>'),
    firehoseStreamArn: docCollectorArn('firehose', 'deliverystream/<sink.firehose.streamName>'),
    syslogTlsSecretArns: [docCollectorArn('secretsmanager', 'secret:<sink.syslog.tls*SecretArn>')],
    ingestFunctionArn: docCollectorArn('lambda', `function:${FUNCTION_NAMES.ingest}`),
    reconcileFailureQueueArn: docCollectorArn('sqs', RECONCILE_FAILURE_QUEUE_NAME),
    logGroupArn: docCollectorArn('logs', `log-group:<${principal} log group>:*`),
  });
}

/** The template publisher's resources as the doc shows them (lib/template-bucket.construct.ts resolves the real ones). */
function docPublisherScopes(): ScopeResolver {
  const bucket = 'arn:aws:s3:::<template bucket>';
  return {
    templateAsset: { resources: ['arn:aws:s3:::<cdk asset bucket>/<templates asset>.zip'] },
    templateBucket: { resources: [bucket] },
    templateObjects: { resources: [`${bucket}/templates/*`] },
    ownLogGroup: { resources: [docCollectorArn('logs', 'log-group:<publisher log group>:*')] },
  };
}

/** Escapes `<` and `>` outside code spans, so `outcomes-<account id>` is not read as an HTML tag. */
const prose = (text: string) =>
  text
    .split('`')
    .map((part, index) => (index % 2 === 0 ? part.replace(/</g, '&lt;').replace(/>/g, '&gt;') : part))
    .join('`');
/** A line break inside a table cell, kept through `prose`. */
const BR = '\u0001';
const cell = (text: string) =>
  prose(text).replace(/\|/g, '\\|').replace(/\n/g, ' ').replace(new RegExp(BR, 'g'), '<br>');
const code = (text: string) => `\`${text}\``;

function resources(scope: ResolvedScope | undefined): string {
  if (scope === undefined) return '';
  const list = scope.resources.map(code).join(BR);
  const conditions = scope.conditions ? `${BR}if ${code(JSON.stringify(scope.conditions))}` : '';
  return list + conditions;
}

function table(head: string[], rows: string[][]): string {
  return [
    `| ${head.join(' | ')} |`,
    `| ${head.map(() => '---').join(' | ')} |`,
    ...rows.map((row) => `| ${row.map(cell).join(' | ')} |`),
  ].join('\n');
}

function grantRows(principal: Principal, scopes: ScopeResolver, groups?: readonly string[]): string[][] {
  const rows: string[][] = [];
  for (const statement of statementsFor(principal)) {
    if (groups !== undefined && !groups.includes(statement.group)) continue;
    for (const operation of statement.operations) {
      const spec: OperationSpec = OPERATIONS[operation];
      const grant = spec.grants.find(
        (g) => g.principal === principal && g.group === statement.group && g.scope === statement.scope,
      );
      const only =
        (grant?.topology !== undefined ? ` (${grant.topology} topology only)` : '') +
        (grant?.sinks !== undefined ? ` (sink ${grant.sinks.join(', ')} only)` : '');
      rows.push([
        statement.group,
        `${code(operation)}${spec.platform ? ' (platform)' : ''}${only}`,
        (grant?.actions ?? []).map(code).join(', '),
        resources(scopes[statement.scope]),
        spec.why,
      ]);
    }
  }
  return rows;
}

export function renderPermissionsDoc(): string {
  const customer = docCustomerScopes();
  const operations = Object.keys(OPERATIONS) as OperationName[];
  const sdkOperations = operations.filter((name) => !(OPERATIONS[name] as OperationSpec).platform);
  const lines: string[] = [];
  const add = (...text: string[]) => lines.push(...text);

  add(
    '# Permissions',
    '',
    '<!-- Generated from lib/permissions.ts by `npm run generate` (also run by `npm run synth`). Do not edit:',
    '     test/cdk/permissions.test.ts fails when this file differs from what the map generates. -->',
    '',
    'Every permission the collector holds or asks for comes from one map, [lib/permissions.ts](../lib/permissions.ts):',
    'each AWS operation the ingest and reconcile code (and the registry code the command-line tool shares) sends, the',
    'IAM actions it needs, who needs them, on which resources, and why. The customer role templates, the collector',
    'execution roles and this page are generated from it. A test scans `lambdas/` for every AWS SDK command the code',
    'sends and fails when the map lacks one, or lists one no code sends; other tests check that each synthesized role',
    'holds exactly the actions the map gives it.',
    '',
    `The map lists ${sdkOperations.length} operations sent by the code and ${operations.length - sdkOperations.length} *platform*`,
    "operations, which AWS performs with a function's role on its behalf (no SDK call in our code).",
    '',
    '## Who holds what',
    '',
    table(
      ['principal', 'where', 'trusted by', 'used by'],
      [
        [
          code(CUSTOMER_ROLE_NAME),
          'each customer account',
          `${code(roleArn('aws', '<CollectorAccountId>', COLLECTOR_ROLE_NAMES.ingest))} and ${code(roleArn('aws', '<CollectorAccountId>', COLLECTOR_ROLE_NAMES.reconcile))}, only with ${code('sts:ExternalId')} = the account ExternalId`,
          'ingest (read log files), reconcile (observe, repair), the command-line tool acting as those roles',
        ],
        [
          code(COLLECTOR_ROLE_NAMES.ingest),
          'collector account',
          `${code('lambda.amazonaws.com')} (and operators listed in ${code('cloudtrailCollector.operatorPrincipalArns')})`,
          `the ingest function ${code(FUNCTION_NAMES.ingest)} and its event source mappings`,
        ],
        [
          code(COLLECTOR_ROLE_NAMES.reconcile),
          'collector account',
          `${code('lambda.amazonaws.com')} (and operators listed in ${code('cloudtrailCollector.operatorPrincipalArns')})`,
          `the reconcile function ${code(FUNCTION_NAMES.reconcile)}`,
        ],
        [
          code(ORGANIZATION_ROLE_NAME),
          "an organization's management account",
          `${code(roleArn('aws', '<CollectorAccountId>', COLLECTOR_ROLE_NAMES.reconcile))} only, only with ${code('sts:ExternalId')} = the organization ExternalId`,
          '`cloudtrail-collector organizations add|sync` (run as the reconcile role): read-only',
        ],
        [
          'operator',
          'collector account',
          'your own IAM',
          '`cloudtrail-collector accounts add|update|import|list|remove`, `organizations`, `status`, `dlq list|redrive`',
        ],
      ],
    ),
    '',
    'The collector roles have fixed names because every customer role trusts them by ARN, and the customer template is',
    'one committed file for every customer. IAM names are global to an account: run one collector per AWS account.',
    'If a collector role is ever deleted and re-created, IAM no longer matches it in the customer trust policies',
    "(they hold the deleted role's unique id): customers must update their stack (or re-create it) to trust it again.",
    '',
    `## Customer role: ${code(CUSTOMER_ROLE_NAME)}`,
    '',
    `Template: [${GENERATED_FILES.customerTemplate}](../${GENERATED_FILES.customerTemplate}) (stack ${code(STACK_IDS.customer)}),`,
    'a plain CloudFormation template (no CDK, no assets). Parameters: `CollectorAccountId`, `ExternalId`, `Mode`',
    '(`apply` or `report`, default `report`). One IAM policy per group below; the `repair` policy exists only when',
    '`Mode=apply`, so a `report` role has no write permission at all.',
    '',
  );
  for (const group of CUSTOMER_GROUPS) {
    add(
      `### ${group}: ${code(`cloudtrail-collector-${group}`)}`,
      '',
      `${prose(GROUP_PURPOSE[group])}.`,
      '',
      table(
        ['operation', 'IAM actions', 'resources', 'why'],
        grantRows('customer', customer, [group]).map(([, ...rest]) => rest),
      ),
      '',
    );
  }
  add(
    '### Denied in every mode: `cloudtrail-collector-deny-cost-creating-calls`',
    '',
    'An explicit Deny on `*`, which no Allow can override: data events (event selectors), Insights, CloudTrail Lake',
    '(event data stores, queries, dashboards, federation, event configuration), channels, imports and a delegated',
    'administrator; then every other CloudTrail write the collector never needs (stopping or deleting a trail, tags,',
    'Lake deletions, resource policies). The collector never calls them (lambdas/reconcile/apply.ts), the customer',
    'can see that it cannot, and a test holds every CloudTrail write of the Service Authorization Reference to this',
    'list or to the three the collector uses (CreateTrail, UpdateTrail, StartLogging).',
    '',
    ...DENIED_COST_ACTIONS.map((action) => `- ${code(action)}`),
    '',
    'No `iam:PassRole` is granted either, so the role cannot attach CloudWatch Logs delivery (a paid feature) to a trail.',
    '',
    '### What repair cannot do',
    '',
    `Repairs are limited to the collector's own names: ${code(CHAIN_NAMES.trail)}, ${code('outcomes-<account id>[-suffix]')},`,
    `${code(CHAIN_NAMES.topic)}, ${code(CHAIN_NAMES.queue)} and ${code(CHAIN_NAMES.dlq)}, plus subscribing ${code(CHAIN_NAMES.queue)} to`,
    "the trail's topic, and UpdateTrail / StartLogging on this account's trails: the cost guard reuses the customer's",
    'trail instead of creating a paid second one, so it must point that trail at its topic (the planner starts a trail',
    'only when no other trail logs management events, and selector, Insights and Lake calls stay explicitly denied).',
    'A repair on another customer-named resource (SetTopicAttributes on a customer topic) is denied by IAM: the action',
    'is reported `failed` with AccessDenied, the finding stays open (`degraded`), and the customer fixes it.',
    '',
    `### Log-archive variant: [${GENERATED_FILES.logArchiveTemplate}](../${GENERATED_FILES.logArchiveTemplate})`,
    '',
    `For centralized collection (stack ${code(STACK_IDS.logArchive)}): deployed in the log archive account instead of the`,
    'customer template (same role name, same groups), with one more parameter, `LogArchiveBucketName`. Its',
    '`read-log-files` policy also allows every CloudTrail key of that bucket, whichever account or organization wrote it:',
    '',
    ...customerScopes({ partition: 'aws', account: DOC_ACCOUNT, logArchiveBucket: '<LogArchiveBucketName>' })
      .logFiles!.resources.filter((resource) => resource.includes('<LogArchiveBucketName>'))
      .map((resource) => `- ${code(resource)}`),
    '',
    'Register the archive with `cloudtrail-collector accounts add --account-id <archive> --log-archive-for <ids>`: ingest',
    'then accepts, from its queue, log files of exactly those accounts (tenant binding).',
    '',
  );

  add(
    `## Management account role: ${code(ORGANIZATION_ROLE_NAME)}`,
    '',
    `Template: [${GENERATED_FILES.organizationManagementTemplate}](../${GENERATED_FILES.organizationManagementTemplate}) (stack`,
    `${code(STACK_IDS.organizationManagement)}), deployed once in an organization's management account for \`organizations add|sync\`.`,
    "Parameters: `CollectorAccountId`, `ExternalId` (the organization's). Read-only, one IAM policy per group; it trusts",
    'the reconcile role alone (not the ingest role, which never asks the organization anything).',
    '',
  );
  for (const group of MANAGEMENT_GROUPS) {
    add(
      `### ${group}: ${code(`cloudtrail-collector-${group}`)}`,
      '',
      `${prose(GROUP_PURPOSE[group])}.`,
      '',
      table(
        ['operation', 'IAM actions', 'resources', 'why'],
        grantRows('management', customer, [group]).map(([, ...rest]) => rest),
      ),
      '',
    );
  }

  for (const principal of ['ingest', 'reconcile'] as const) {
    add(
      `## Collector role: ${code(COLLECTOR_ROLE_NAMES[principal])}`,
      '',
      'One inline policy per group. The function gets the role as immutable: no CDK `grant*` call can add to it.',
      'A grant marked "hub topology only" is in the role only when `cloudtrailCollector.ingest.topology` is `hub`',
      '([stacks.md](stacks.md#ingest-topologies)).',
      '',
      table(
        ['policy', 'operation', 'IAM actions', 'resources', 'why'],
        grantRows(principal, docCollectorScopes(principal)),
      ),
      '',
    );
  }
  add(
    '## Operator: the command-line tool',
    '',
    'Registry operations of `accounts add|update|import|list|remove`, `organizations` and `status`, and the hub DLQs of',
    '`dlq list|redrive`, with your own credentials (not granted by any stack); `organizations add|sync` also become the',
    'reconcile role to read the organization. `plan`, `apply`, `invoke` and `ingest --queue-url` against real accounts must run as the reconcile or',
    'ingest role (list your principal in `cloudtrailCollector.operatorPrincipalArns`, then use a profile with',
    '`role_arn`): customer roles trust only those two roles.',
    '',
    table(
      ['operation', 'IAM actions', 'resources', 'why'],
      grantRows('operator', docCollectorScopes('reconcile')).map(([, ...rest]) => rest),
    ),
    '',
    '## Template publisher: the template bucket of the collector stack',
    '',
    "CDK's BucketDeployment handler copies the generated templates into the collector stack's template bucket at each",
    'deploy ([template-bucket.construct.ts](../lib/template-bucket.construct.ts)). Its role is built from this map (not',
    "the construct's own grants), trusted by `lambda.amazonaws.com` only.",
    '',
    table(
      ['policy', 'operation', 'IAM actions', 'resources', 'why'],
      grantRows('template-publisher', docPublisherScopes()),
    ),
    '',
    '## Why each wildcard',
    '',
    'Each is also the reason of the cdk-nag suppression written next to the policy that holds it.',
    '',
    table(
      ['scope', 'resources', 'reason'],
      (Object.keys(WILDCARD_REASONS) as Scope[]).map((scope) => {
        const resolved = customer[scope] ?? docCollectorScopes('reconcile')[scope] ?? docPublisherScopes()[scope];
        return [code(scope), resources(resolved), WILDCARD_REASONS[scope] ?? ''];
      }),
    ),
    '',
  );
  return lines.join('\n');
}

/** Writes every generated file under `root` (the project root by default). */
export async function writeGeneratedFiles(root = PROJECT_ROOT): Promise<string[]> {
  const files: [string, string][] = [
    [GENERATED_FILES.customerTemplate, renderCustomerTemplate('standard')],
    [GENERATED_FILES.logArchiveTemplate, renderCustomerTemplate('log-archive')],
    [GENERATED_FILES.organizationManagementTemplate, renderManagementTemplate()],
    [GENERATED_FILES.permissionsDoc, renderPermissionsDoc()],
  ];
  for (const [file, content] of files) {
    await mkdir(path.dirname(path.join(root, file)), { recursive: true });
    await writeFile(path.join(root, file), content);
  }
  return files.map(([file]) => file);
}
