#!/usr/bin/env node
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { CollectorError, ConfigError, PermanentInputError, errorMessage } from '../lambdas/shared/errors';
import { AccountNotRegisteredError } from '../lambdas/shared/registry';
import { accountsAdd, accountsImport, accountsList, accountsRemove, accountsUpdate } from './commands/accounts';
import { dlqList, dlqRedrive } from './commands/dlq';
import { ingestFromQueue, invokeIngest } from './commands/ingest';
import { EXIT, printResult } from './commands/output';
import { deploymentCommand, deploymentFor, useDeployment } from './commands/deployment';
import {
  organizationsAdd,
  organizationsList,
  organizationsRemove,
  organizationsShow,
  organizationsSync,
} from './commands/organizations';
import { OrganizationNotRegisteredError } from '../lambdas/shared/organization-registry';
import { invokeReconcile, reconcileCommand } from './commands/reconcile';
import { runSandbox } from './commands/sandbox';
import { statusCommand } from './commands/status';
import { verifyCommand } from './commands/verify';

function positiveInt(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new InvalidArgumentError('must be a whole number of 1 or more');
  return Number(value);
}

/** Prints a command's error and returns its exit code (2 usage or configuration, 1 anything else). */
function reportError(error: unknown): number {
  const usage =
    error instanceof ConfigError ||
    error instanceof PermanentInputError ||
    error instanceof AccountNotRegisteredError ||
    error instanceof OrganizationNotRegisteredError;
  process.stderr.write(`cloudtrail-collector: ${errorMessage(error)}\n`);
  if (!usage && !(error instanceof CollectorError) && error instanceof Error && error.stack) {
    process.stderr.write(`${error.stack}\n`);
  }
  return usage ? EXIT.usage : EXIT.failures;
}

/** Runs a command body and turns its outcome into the exit code contract (0 ok, 1 failures, 2 usage/config). */
function run(body: () => Promise<number>): () => Promise<void> {
  return async () => {
    try {
      process.exitCode = await body();
    } catch (error) {
      process.exitCode = reportError(error);
    }
  };
}

/** A CommanderError code: the error was printed already and its exit code is the one to keep. */
const REPORTED = 'cloudtrail-collector.reported';

/**
 * The commands that write to the registry, a customer account or a queue: they refuse settings that differ from
 * the deployed collector's. The others only read and are warned. The sandbox sets up its own emulator.
 */
const WRITING_COMMANDS = new Set([
  'accounts add',
  'accounts update',
  'accounts import',
  'accounts remove',
  'organizations add',
  'organizations sync',
  'organizations remove',
  'apply',
  'invoke ingest',
  'invoke reconcile',
  'ingest',
  'dlq redrive',
]);
const WITHOUT_DEPLOYMENT = new Set(['sandbox', 'deployment']);

function commandPath(command: Command): string {
  const names: string[] = [];
  for (let current: Command | null = command; current?.parent; current = current.parent) names.unshift(current.name());
  return names.join(' ');
}

/** Before every command: the deployment's settings from the stack's outputs (bin/commands/deployment.ts). */
async function resolveDeployment(program: Command, action: Command): Promise<void> {
  const path = commandPath(action);
  if (WITHOUT_DEPLOYMENT.has(path)) return;
  try {
    const deployment = await deploymentFor(program.opts<{ stackName?: string }>().stackName, process.env);
    if (deployment === undefined) return;
    const writes = WRITING_COMMANDS.has(path) && action.opts<{ dryRun?: boolean }>().dryRun !== true;
    useDeployment(process.env, deployment, { writes, warn: (line) => process.stderr.write(`${line}\n`) });
  } catch (error) {
    throw new CommanderError(reportError(error), REPORTED, errorMessage(error));
  }
}

export function buildProgram(): Command {
  const program = new Command('cloudtrail-collector')
    .description('Collect CloudTrail logs from customer accounts and keep their delivery chains healthy.')
    .exitOverride()
    .showHelpAfterError()
    .option(
      '--stack-name <name>',
      `the collector stack whose outputs configure the tool (default: $CLOUDTRAIL_COLLECTOR_STACK, else CloudTrailCollector unless ACCOUNTS_TABLE is set)`,
    );
  program.hook('preAction', (_program, action) => resolveDeployment(program, action));

  const accounts = program.command('accounts').description('manage the accounts registry');
  accounts
    .command('add')
    .description('register a customer account and print the command the customer runs to deploy the role')
    .requiredOption('--account-id <id>', 'the customer AWS account id (12 digits)')
    .option('--external-id <id>', 'the ExternalId the role requires (default: generated, 256 random bits)')
    .option('--mode <mode>', 'apply (repair drift) or report (findings only)', 'apply')
    .option('--log-archive-for <ids>', 'comma-separated account or organization ids whose logs this account holds')
    .option('--log-archive-bucket <name>', 'with --log-archive-for: the bucket in this account that holds their logs')
    .option('--collector-account-id <id>', 'the collector account id (default: from STS)')
    .option(
      '--template-url <url>',
      'the published role template, for the quick-create link (default: from TEMPLATE_BUCKET_URL)',
    )
    .option('--json', 'machine-readable output')
    .action((opts: Parameters<typeof accountsAdd>[0]) => run(() => accountsAdd(opts))());
  accounts
    .command('update')
    .description("change an account's mode and/or ExternalId; prints the customer's stack update")
    .requiredOption('--account-id <id>', 'the registered account')
    .option('--mode <mode>', 'apply (repair drift) or report (findings only)')
    .option('--external-id <id>', 'the new ExternalId the role requires')
    .option('--collector-account-id <id>', 'the collector account id (default: from STS)')
    .option(
      '--template-url <url>',
      'the published role template, for the quick-create link (default: from TEMPLATE_BUCKET_URL)',
    )
    .option('--json', 'machine-readable output')
    .action((opts: Parameters<typeof accountsUpdate>[0]) => run(() => accountsUpdate(opts))());
  accounts
    .command('import')
    .description('register every account of a CSV file (accountId[,mode][,externalId]), or none if a row is bad')
    .requiredOption('--file <csv>', 'the CSV file; its header names the columns')
    .option('--mode <mode>', 'the mode of rows without one', 'apply')
    .option('--collector-account-id <id>', 'the collector account id (default: from STS)')
    .option(
      '--template-url <url>',
      'the published role template, for the quick-create links (default: from TEMPLATE_BUCKET_URL)',
    )
    .option('--json', 'machine-readable output')
    .action((opts: Parameters<typeof accountsImport>[0]) => run(() => accountsImport(opts))());
  accounts
    .command('list')
    .description('list registered accounts')
    .option('--json', 'machine-readable output')
    .action((opts: { json?: boolean }) => run(() => accountsList(opts))());
  accounts
    .command('remove')
    .description(
      'unregister an account: its event source mapping or hub subscription in the collector account is deleted first; prints what stays in the customer account',
    )
    .requiredOption('--account-id <id>', 'the account to remove')
    .option('--keep-ingest-path', 'leave the event source mapping or hub subscription in place (delete it by hand)')
    .action((opts: { accountId: string; keepIngestPath?: boolean }) => run(() => accountsRemove(opts))());

  const organizations = program
    .command('organizations')
    .description('register an AWS Organization as a whole: its members, its log archive, its organization trail');
  organizations
    .command('add')
    .description(
      'read the organization through its management account role; register every ACTIVE member and the log archive',
    )
    .requiredOption('--management-account-id <id>', 'the management account (12 digits), where the read-only role is')
    .requiredOption('--log-archive-account-id <id>', "the account holding the organization trail's bucket")
    .option('--log-archive-bucket <name>', 'the organization trail bucket, when there are several organization trails')
    .option('--external-id <id>', "the organization's ExternalId (default: generated, 256 random bits)")
    .option('--mode <mode>', 'apply (repair drift) or report (findings only), for every member', 'apply')
    .option('--collector-account-id <id>', 'the collector account id (default: from STS)')
    .option('--json', 'machine-readable output')
    .action((opts: Parameters<typeof organizationsAdd>[0]) => run(() => organizationsAdd(opts))());
  organizations
    .command('sync')
    .description('pick up accounts that joined or left, and trail changes; optionally change the ExternalId or mode')
    .option('--organization-id <id>', 'only this organization (required with --external-id, --mode, --include)')
    .option('--external-id <id>', "a new ExternalId for the organization and every member using the organization's")
    .option('--mode <mode>', 'a new mode for the organization and every member it registered')
    .option('--include <ids>', 'comma-separated accounts removed before (accounts remove) to register again')
    .option('--collector-account-id <id>', 'the collector account id (default: from STS)')
    .option('--json', 'machine-readable output')
    .action((opts: Parameters<typeof organizationsSync>[0]) => run(() => organizationsSync(opts))());
  organizations
    .command('list')
    .description('list registered organizations')
    .option('--json', 'machine-readable output')
    .action((opts: { json?: boolean }) => run(() => organizationsList(opts))());
  organizations
    .command('show')
    .description('an organization: its trail, its accounts and what its administrator deploys')
    .requiredOption('--organization-id <id>', 'the organization (o-...)')
    .option('--collector-account-id <id>', 'the collector account id (default: from STS)')
    .option('--json', 'machine-readable output')
    .action((opts: Parameters<typeof organizationsShow>[0]) => run(() => organizationsShow(opts))());
  organizations
    .command('remove')
    .description('unregister an organization and the accounts it registered (accounts registered on their own stay)')
    .requiredOption('--organization-id <id>', 'the organization (o-...)')
    .action((opts: { organizationId: string }) => run(() => organizationsRemove(opts))());

  const invoke = program.command('invoke').description('run a Lambda handler locally on an event file');
  invoke
    .command('ingest')
    .description('run the ingest handler on an SQS event; prints {"batchItemFailures": [...]}')
    .requiredOption('--event <file>', 'an SQS event JSON file')
    .option('--timeout-seconds <n>', 'the time budget, like the Lambda timeout', positiveInt, 900)
    .action((opts: { event: string; timeoutSeconds: number }) => run(() => invokeIngest(opts))());

  invoke
    .command('reconcile')
    .description('run the reconcile handler on an event (EventBridge event or {"mode","accountId"}); prints the report')
    .requiredOption('--event <file>', 'an event JSON file')
    .action((opts: { event: string }) => run(() => invokeReconcile(opts))());

  for (const mode of ['plan', 'apply'] as const) {
    program
      .command(mode)
      .description(
        mode === 'plan'
          ? 'observe every account (or one) and print findings and the actions a repair would take'
          : 'observe and repair every account (or one) whose mode allows it; print findings and actions',
      )
      .option('--account-id <id>', 'only this account')
      .option('--json', 'machine-readable report (docs/operations.md)')
      .action((opts: { accountId?: string; json?: boolean }) => run(() => reconcileCommand(mode, opts))());
  }

  program
    .command('verify')
    .description(
      "check CloudTrail's signed digests of the account's trail against the collected files (exit 1 when any is missing)",
    )
    .requiredOption('--account-id <id>', 'the registered account')
    .option('--since <iso>', 'start of the window (default: 24 hours before --until)')
    .option('--until <iso>', 'end of the window (default: now)')
    .option('--json', 'machine-readable report (docs/operations.md)')
    .action((opts: { accountId: string; since?: string; until?: string; json?: boolean }) =>
      run(() => verifyCommand(opts))(),
    );

  program
    .command('deployment')
    .description(
      "print what the tool reads from the collector stack's outputs, as export lines for a shell (eval them to run as a role that cannot read the stack)",
    )
    .option('--json', 'machine-readable output')
    .action((opts: { json?: boolean }) =>
      run(() => deploymentCommand(program.opts<{ stackName?: string }>().stackName, opts, printResult))(),
    );

  program
    .command('status')
    .description(
      'accounts with health, last run, open findings, cost warnings and freshness, the worst first (exit 1 when one shown is unhealthy)',
    )
    .option('--unhealthy', 'only accounts that are not healthy or repaired')
    .option('--finding <code>', 'only accounts whose last run found this code (docs/drift-remediation.md)')
    .option('--html <file>', "write one self-contained page (no script, no request) of the fleet's health")
    .option('--json', 'machine-readable output')
    .action((opts: Parameters<typeof statusCommand>[0]) => run(() => statusCommand(opts))());

  program
    .command('ingest')
    .description("poll a customer queue with Lambda's event-source semantics (batches of 10, failures left)")
    .requiredOption('--queue-url <url>', 'the customer queue URL')
    .option('--timeout-seconds <n>', 'time budget per batch, like the Lambda timeout', positiveInt, 900)
    .option('--wait-seconds <n>', 'long-poll wait per receive', (v) => (v === '0' ? 0 : positiveInt(v)), 5)
    .option('--until-empty', 'stop when a receive returns no message')
    .option('--max-batches <n>', 'stop after this many batches', positiveInt)
    .action((opts: Parameters<typeof ingestFromQueue>[0]) =>
      run(() => ingestFromQueue({ ...opts, untilEmpty: opts.untilEmpty === true }))(),
    );

  const dlq = program
    .command('dlq')
    .description('dead-letter queues of both ingest topologies: list them, move their messages back');
  dlq
    .command('list')
    .description('every dead-letter queue (hub DLQs, then each customer-queue account) with its depth and move task')
    .option('--account-id <id>', 'only this account')
    .option('--json', 'machine-readable output')
    .action((opts: { accountId?: string; json?: boolean }) => run(() => dlqList(opts))());
  dlq
    .command('redrive')
    .description('move dead-lettered messages back to their queue (SQS StartMessageMoveTask), rate-limited')
    .option('--queue-arn <arn>', 'only this dead-letter queue')
    .option('--account-id <id>', 'only the dead-letter queues of this account')
    .option('--all', 'every non-empty dead-letter queue')
    .option('--max-per-second <n>', 'messages moved per second per queue (1-500)', positiveInt, 50)
    .option('--dry-run', 'say what would be moved, move nothing')
    .option('--json', 'machine-readable output')
    .action((opts: Parameters<typeof dlqRedrive>[0]) => run(() => dlqRedrive(opts))());

  program
    .command('sandbox')
    .description('run the whole system on this machine against the local AWS emulator (moto)')
    .option('--files <n>', 'CloudTrail log files to deliver', positiveInt, 12)
    .option('--keep-running', 'leave the emulator running at the end (the receiver stops)')
    .option(
      '--rows <codes>',
      'seed rows of the drift table to break and repair, comma-separated, or "none" (default: all)',
    )
    .option(
      '--topology <name>',
      'ingest topology: hub or customer-queue (default: INGEST_TOPOLOGY, else customer-queue)',
    )
    .option(
      '--sink <name>',
      'where records go: ndjson (a local receiver, default) or syslog (the real rsyslog, RELP+TLS)',
    )
    .action((opts: { files: number; keepRunning?: boolean; rows?: string; topology?: string; sink?: string }) =>
      run(() =>
        runSandbox({
          files: opts.files,
          keepRunning: opts.keepRunning === true,
          ...(opts.topology !== undefined ? { topology: opts.topology } : {}),
          ...(opts.sink !== undefined ? { sink: opts.sink } : {}),
          ...(opts.rows !== undefined
            ? { rows: opts.rows === 'none' ? [] : opts.rows.split(',').map((row) => row.trim().toUpperCase()) }
            : {}),
        }),
      )(),
    );

  return program;
}

export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version exit 0; every other parse error is a usage error.
      process.exitCode = error.code === REPORTED ? error.exitCode : error.exitCode === 0 ? EXIT.ok : EXIT.usage;
      return;
    }
    throw error;
  }
}

if (require.main === module) {
  void main(process.argv);
}
