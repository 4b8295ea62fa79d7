import { readFile } from 'node:fs/promises';
import { isAccountId } from '../../lambdas/shared/arn';
import { loadCommonConfig } from '../../lambdas/shared/config';
import { createReconcileClients, type ReconcileClients } from '../../lambdas/reconcile/clients';
import { loadReconcileConfig } from '../../lambdas/reconcile/config';
import { PermanentInputError, errorMessage } from '../../lambdas/shared/errors';
import {
  EXTERNAL_ID_PATTERN,
  generateExternalId,
  validateRegistration,
  type AccountMode,
  type AccountRecord,
} from '../../lambdas/shared/registry';
import { customerDeployCommand, publishedTemplateUrl, quickCreateLink } from '../../lib/customer-deploy-command';
import { S3_BUCKET_NAME_PATTERN } from '../../lib/names';
import { parseImportCsv, type ImportRow } from './accounts-csv';
import { excludeFromOrganization } from './organizations';
import {
  leftInCustomerAccount,
  removalSucceeded,
  removeIngestPath,
  type IngestPathItem,
  type RemovalConfig,
} from './ingest-path-removal';
import { EXIT, formatTable, printJson, printResult } from './output';
import { collectorAccountId, registryFromEnv } from './registry-context';

export { collectorAccountId, registryFromEnv };

function accountIdFlag(value: string): string {
  if (!isAccountId(value)) throw new PermanentInputError(`--account-id must be 12 digits, got "${value}"`);
  return value;
}

/**
 * What the customer runs for one account: the deploy command, and a console quick-create link when the template's
 * URL is known (`--template-url`, or the collector stack's TemplateBucketUrl output as TEMPLATE_BUCKET_URL).
 */
export interface DeployInstructions {
  customerDeployCommand: string;
  quickCreateLink?: string;
}

function deployInstructions(
  account: Pick<AccountRecord, 'externalId' | 'mode' | 'logArchiveBucket'>,
  collectorAccount: string,
  templateUrl?: string,
  oneLine = false,
): DeployInstructions {
  const region = loadCommonConfig().region;
  const params = {
    collectorAccountId: collectorAccount,
    mode: account.mode,
    region,
    ...(account.logArchiveBucket !== undefined ? { logArchiveBucketName: account.logArchiveBucket } : {}),
  };
  const bucketUrl = process.env.TEMPLATE_BUCKET_URL;
  const url =
    templateUrl ?? (bucketUrl ? publishedTemplateUrl(bucketUrl, account.logArchiveBucket !== undefined) : undefined);
  return {
    customerDeployCommand: customerDeployCommand({ ...params, externalId: account.externalId }, { oneLine }),
    ...(url !== undefined ? { quickCreateLink: quickCreateLink({ ...params, templateUrl: url }) } : {}),
  };
}

function instructionsText(accountId: string, deploy: DeployInstructions): string {
  return (
    `The customer deploys the role stack in account ${accountId} with:\n\n    ${deploy.customerDeployCommand}\n\n` +
    (deploy.quickCreateLink !== undefined
      ? `or in the CloudFormation console (paste the ExternalId into its field: the console does not fill in a NoEcho parameter):\n\n    ${deploy.quickCreateLink}\n`
      : 'A console quick-create link needs the template URL: --template-url, or TEMPLATE_BUCKET_URL (the collector stack output TemplateBucketUrl).\n')
  );
}

export async function accountsAdd(options: {
  accountId: string;
  externalId?: string;
  mode?: string;
  logArchiveFor?: string;
  logArchiveBucket?: string;
  collectorAccountId?: string;
  templateUrl?: string;
  json?: boolean;
}): Promise<number> {
  if ((options.logArchiveFor === undefined) !== (options.logArchiveBucket === undefined)) {
    throw new PermanentInputError(
      '--log-archive-for and --log-archive-bucket go together: the accounts whose logs this account holds, and the bucket that holds them',
    );
  }
  if (options.logArchiveBucket !== undefined && !S3_BUCKET_NAME_PATTERN.test(options.logArchiveBucket)) {
    throw new PermanentInputError(`--log-archive-bucket is not a valid S3 bucket name: "${options.logArchiveBucket}"`);
  }
  const registration = validateRegistration({
    accountId: options.accountId,
    ...(options.externalId !== undefined ? { externalId: options.externalId } : {}),
    ...(options.mode !== undefined ? { mode: options.mode } : {}),
    logArchiveFor: options.logArchiveFor
      ? options.logArchiveFor
          .split(',')
          .map((id) => id.trim())
          .filter(Boolean)
      : [],
  });
  const registry = registryFromEnv();
  const record: AccountRecord = {
    ...registration,
    registeredAt: new Date().toISOString(),
    status: 'new',
    ...(options.logArchiveBucket !== undefined ? { logArchiveBucket: options.logArchiveBucket } : {}),
  };
  await registry.add(record);
  const deploy = deployInstructions(record, await collectorAccountId(options.collectorAccountId), options.templateUrl);
  if (options.json) {
    printJson({ account: record, ...deploy });
  } else {
    printResult(
      `Registered account ${record.accountId} (mode ${record.mode}).\n` +
        `ExternalId: ${record.externalId}\n\n` +
        instructionsText(record.accountId, deploy),
    );
  }
  return EXIT.ok;
}

/**
 * Changes an account's mode and/or ExternalId in one command (no remove and add). The customer's stack must carry
 * the same values: its Mode decides whether the role has the repair policy, and until its ExternalId matches the
 * account reports ROLE_UNASSUMABLE. So the command prints the stack update with the new values.
 */
export async function accountsUpdate(options: {
  accountId: string;
  mode?: string;
  externalId?: string;
  collectorAccountId?: string;
  templateUrl?: string;
  json?: boolean;
}): Promise<number> {
  const accountId = accountIdFlag(options.accountId);
  if (options.mode === undefined && options.externalId === undefined) {
    throw new PermanentInputError('accounts update changes --mode, --external-id or both: give at least one');
  }
  if (options.mode !== undefined && options.mode !== 'apply' && options.mode !== 'report') {
    throw new PermanentInputError(`--mode must be "apply" or "report", got "${options.mode}"`);
  }
  if (options.externalId !== undefined && !EXTERNAL_ID_PATTERN.test(options.externalId)) {
    throw new PermanentInputError('--external-id must be 2-1224 characters of letters, digits and +=,.@:/-_');
  }
  const registry = registryFromEnv();
  const before = await registry.require(accountId);
  const changes: Partial<Pick<AccountRecord, 'mode' | 'externalId'>> = {
    ...(options.mode !== undefined && options.mode !== before.mode ? { mode: options.mode } : {}),
    ...(options.externalId !== undefined && options.externalId !== before.externalId
      ? { externalId: options.externalId }
      : {}),
  };
  const after = { ...before, ...changes };
  if (Object.keys(changes).length === 0) {
    if (options.json) printJson({ account: after, changed: [] });
    else printResult(`Account ${accountId} already has mode ${before.mode} and this ExternalId: nothing changed.`);
    return EXIT.ok;
  }
  await registry.update(accountId, changes);
  const deploy = deployInstructions(after, await collectorAccountId(options.collectorAccountId), options.templateUrl);
  const changed = Object.keys(changes);
  if (options.json) {
    printJson({ account: after, changed, ...deploy });
    return EXIT.ok;
  }
  const lines = [
    `Updated account ${accountId}: ${[
      ...(changes.mode !== undefined ? [`mode ${before.mode} -> ${changes.mode}`] : []),
      ...(changes.externalId !== undefined ? ['new ExternalId'] : []),
    ].join(', ')}.`,
    ...(changes.externalId !== undefined
      ? [
          `ExternalId: ${changes.externalId}`,
          'Until the customer updates the stack with it, the collector cannot assume the role (ROLE_UNASSUMABLE).',
        ]
      : []),
    ...(before.organizationId !== undefined && changes.externalId !== undefined
      ? [
          `This account no longer shares the ExternalId of ${before.organizationId}: organizations sync --external-id leaves it alone.`,
        ]
      : []),
    '',
    instructionsText(accountId, deploy).replace('deploys the role stack', 'updates the role stack'),
  ];
  printResult(lines.join('\n'));
  return EXIT.ok;
}

/**
 * Registers every account of a CSV file (accounts-csv.ts), or none: each row is checked first, then each against
 * the registry. An account already registered with the same mode (and the same ExternalId, when the row gives one)
 * is skipped, so a repeated import is harmless; one registered differently is refused, naming its line: that is
 * `accounts update`'s job, never a silent overwrite.
 */
export async function accountsImport(options: {
  file: string;
  mode?: string;
  collectorAccountId?: string;
  templateUrl?: string;
  json?: boolean;
}): Promise<number> {
  if (options.mode !== undefined && options.mode !== 'apply' && options.mode !== 'report') {
    throw new PermanentInputError(`--mode must be "apply" or "report", got "${options.mode}"`);
  }
  const defaultMode: AccountMode = options.mode ?? 'apply';
  let content: string;
  try {
    content = await readFile(options.file, 'utf8');
  } catch (error) {
    throw new PermanentInputError(`--file ${options.file}: ${errorMessage(error)}`, { cause: error });
  }
  const rows = parseImportCsv(options.file, content);
  const registry = registryFromEnv();
  const registered = new Map((await registry.list()).map((account) => [account.accountId, account]));
  const conflicts: string[] = [];
  const skipped: ImportRow[] = [];
  const fresh: ImportRow[] = [];
  for (const row of rows) {
    const existing = registered.get(row.accountId);
    if (existing === undefined) fresh.push(row);
    else if (
      existing.mode === (row.mode ?? defaultMode) &&
      (row.externalId ?? existing.externalId) === existing.externalId
    )
      skipped.push(row);
    else {
      conflicts.push(
        `line ${row.line}: account ${row.accountId} is already registered with ${existing.mode !== (row.mode ?? defaultMode) ? `mode ${existing.mode}` : 'another ExternalId'}: change it with accounts update --account-id ${row.accountId}`,
      );
    }
  }
  if (conflicts.length > 0) {
    throw new PermanentInputError(
      `${options.file}: nothing was imported:\n${conflicts.map((c) => `  ${c}`).join('\n')}`,
    );
  }
  const now = new Date().toISOString();
  const collectorAccount = await collectorAccountId(options.collectorAccountId);
  const imported: { account: AccountRecord; deploy: DeployInstructions }[] = [];
  for (const row of fresh) {
    const account: AccountRecord = {
      accountId: row.accountId,
      externalId: row.externalId ?? generateExternalId(),
      mode: row.mode ?? defaultMode,
      logArchiveFor: [],
      registeredAt: now,
      status: 'new',
    };
    try {
      await registry.add(account);
    } catch (error) {
      throw new PermanentInputError(
        `line ${row.line}: account ${row.accountId} could not be registered (${errorMessage(error)}); registered before it: ${imported.map((i) => i.account.accountId).join(', ') || 'none'}`,
        { cause: error },
      );
    }
    imported.push({ account, deploy: deployInstructions(account, collectorAccount, options.templateUrl, true) });
  }
  if (options.json) {
    printJson({
      imported: imported.map(({ account, deploy }) => ({ account, ...deploy })),
      skipped: skipped.map((row) => row.accountId),
    });
    return EXIT.ok;
  }
  printResult(
    [
      `Imported ${imported.length} account(s) from ${options.file}${skipped.length > 0 ? `; ${skipped.length} already registered the same way, skipped (${skipped.map((r) => r.accountId).join(', ')})` : ''}.`,
      ...(imported.length > 0
        ? [
            '',
            formatTable(
              ['ACCOUNT', 'MODE', 'EXTERNAL ID'],
              imported.map(({ account }) => [account.accountId, account.mode, account.externalId]),
            ),
            '',
            'Each customer deploys the role stack in its account:',
            ...imported.flatMap(({ account, deploy }) => [
              '',
              `# ${account.accountId}`,
              deploy.customerDeployCommand,
              ...(deploy.quickCreateLink ? [deploy.quickCreateLink] : []),
            ]),
          ]
        : []),
    ].join('\n'),
  );
  return EXIT.ok;
}

export async function accountsList(options: { json?: boolean }): Promise<number> {
  const accounts = await registryFromEnv().list();
  if (options.json) {
    printJson(accounts);
    return EXIT.ok;
  }
  printResult(
    formatTable(
      ['ACCOUNT', 'MODE', 'STATUS', 'LOG ARCHIVE FOR', 'ORGANIZATION', 'REGISTERED'],
      accounts.map((account) => [
        account.accountId,
        account.mode,
        account.status,
        (account.logArchiveFor ?? []).join(',') || '-',
        account.organizationId === undefined
          ? '-'
          : `${account.organizationId}${account.organizationMembership === 'left' ? ' (left)' : ''}`,
        account.registeredAt,
      ]),
    ),
  );
  return EXIT.ok;
}

/** What `accounts remove` needs to delete the ingest path; tests and the CLI build it from the environment. */
export interface RemoveDeps {
  config(): RemovalConfig;
  clients(config: RemovalConfig): ReconcileClients;
}

const REMOVE_DEPS: RemoveDeps = {
  config: () => loadReconcileConfig(),
  clients: (config) => createReconcileClients({ region: config.region, sessionName: 'cloudtrail-collector-cli' }),
};

function describeItem(item: IngestPathItem): string {
  const what =
    item.kind === 'event-source-mapping'
      ? `event source mapping ${item.id} (polling ${item.source})`
      : `hub subscription ${item.id} (of ${item.source})`;
  return item.status === 'deleted' ? what : `${what}: ${item.error ?? 'failed'}`;
}

/**
 * Unregisters an account, after deleting what reconcile created for it in the collector account: its event source
 * mapping (customer-queue topology) and the collector's hub subscription of its topic (hub topology;
 * ingest-path-removal.ts). The account stays registered when a deletion failed or a lookup could not be made, so
 * that no mapping keeps polling a deregistered account unnoticed: the error names what failed, and the command can be
 * run again. `--keep-ingest-path` unregisters without deleting anything (the behaviour before). What stays in the
 * customer account is printed with the commands that delete it. A member of a registered organization is also
 * excluded from it, so `organizations sync` does not register it again (`organizations sync --include` brings it
 * back).
 */
export async function accountsRemove(
  options: { accountId: string; keepIngestPath?: boolean },
  deps: RemoveDeps = REMOVE_DEPS,
): Promise<number> {
  const accountId = accountIdFlag(options.accountId);
  const registry = registryFromEnv();
  const record = await registry.get(accountId);
  if (!record) {
    process.stderr.write(`account ${accountId} is not registered\n`);
    return EXIT.failures;
  }
  const recordsAPath =
    record.eventSourceMappingUuid !== undefined || record.queueArn !== undefined || record.topicArn !== undefined;
  let config: RemovalConfig | undefined;
  let deleted: IngestPathItem[] = [];
  if (!options.keepIngestPath && recordsAPath) {
    config = deps.config();
    const removal = await removeIngestPath(record, config, deps.clients(config));
    if (!removalSucceeded(removal)) {
      process.stderr.write(
        [
          `account ${accountId} stays registered: what the collector created for it could not all be removed.`,
          ...removal.items.filter((item) => item.status === 'failed').map((item) => `  failed: ${describeItem(item)}`),
          ...removal.unknown.map((what) => `  could not look up ${what}`),
          ...removal.items
            .filter((item) => item.status === 'deleted')
            .map((item) => `  deleted: ${describeItem(item)}`),
          `Fix the cause and run accounts remove --account-id ${accountId} again, or unregister it with --keep-ingest-path ` +
            'and delete them by hand (docs/customer-setup.md, "Leaving").',
        ].join('\n') + '\n',
      );
      return EXIT.failures;
    }
    deleted = removal.items;
  }
  if (!(await registry.remove(accountId))) {
    process.stderr.write(`account ${accountId} is not registered\n`);
    return EXIT.failures;
  }
  const excludedFrom = await excludeFromOrganization(record);
  const region = config?.region ?? loadCommonConfig().region;
  const collectorPart = options.keepIngestPath
    ? [
        'Its event source mapping (customer-queue topology) or hub subscription was left in the collector account (--keep-ingest-path):',
        'delete it by hand (docs/customer-setup.md, "Leaving"), or the mapping keeps polling its queue.',
      ]
    : deleted.length > 0
      ? ['Deleted in the collector account:', ...deleted.map((item) => `  ${describeItem(item)}`)]
      : [
          'Nothing of its ingest path was left in the collector account (no event source mapping, no hub subscription).',
        ];
  printResult(
    [
      `Removed account ${accountId}.`,
      ...collectorPart,
      ...(excludedFrom
        ? [
            `It is excluded from ${excludedFrom}: organizations sync leaves it out (organizations sync --organization-id ${excludedFrom} --include ${accountId} brings it back).`,
          ]
        : []),
      `Left in the customer account, as they are (the customer deletes what they no longer want, in account ${accountId}):`,
      '',
      ...leftInCustomerAccount(record, region).map((line) => `    ${line}`),
    ].join('\n'),
  );
  return EXIT.ok;
}
