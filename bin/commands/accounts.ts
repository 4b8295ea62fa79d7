import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { awsClients } from '../../lambdas/shared/aws-clients';
import { loadCommonConfig } from '../../lambdas/shared/config';
import { PermanentInputError } from '../../lambdas/shared/errors';
import { AccountsRegistry, validateRegistration, type AccountRecord } from '../../lambdas/shared/registry';
import { customerDeployCommand } from '../../lib/customer-deploy-command';
import { S3_BUCKET_NAME_PATTERN } from '../../lib/names';
import { EXIT, formatTable, printJson, printResult } from './output';

export function registryFromEnv(): AccountsRegistry {
  const config = loadCommonConfig();
  return new AccountsRegistry(awsClients.dynamoDocument({ region: config.region }), config.accountsTable);
}

async function collectorAccountId(explicit?: string): Promise<string> {
  if (explicit) return explicit;
  if (process.env.COLLECTOR_ACCOUNT_ID) return process.env.COLLECTOR_ACCOUNT_ID;
  const config = loadCommonConfig();
  const identity = await awsClients.sts({ region: config.region }).send(new GetCallerIdentityCommand({}));
  if (!identity.Account) throw new Error('STS did not return the collector account id');
  return identity.Account;
}

export async function accountsAdd(options: {
  accountId: string;
  externalId?: string;
  mode?: string;
  logArchiveFor?: string;
  logArchiveBucket?: string;
  collectorAccountId?: string;
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
  const record: AccountRecord = { ...registration, registeredAt: new Date().toISOString(), status: 'new' };
  await registry.add(record);
  const deploy = customerDeployCommand({
    collectorAccountId: await collectorAccountId(options.collectorAccountId),
    externalId: record.externalId,
    mode: record.mode,
    region: loadCommonConfig().region,
    ...(options.logArchiveBucket !== undefined ? { logArchiveBucketName: options.logArchiveBucket } : {}),
  });
  if (options.json) {
    printJson({ account: record, customerDeployCommand: deploy });
  } else {
    printResult(
      `Registered account ${record.accountId} (mode ${record.mode}).\n` +
        `ExternalId: ${record.externalId}\n\n` +
        `The customer deploys the role stack in account ${record.accountId} with:\n\n    ${deploy}\n`,
    );
  }
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
      ['ACCOUNT', 'MODE', 'STATUS', 'LOG ARCHIVE FOR', 'REGISTERED'],
      accounts.map((account) => [
        account.accountId,
        account.mode,
        account.status,
        (account.logArchiveFor ?? []).join(',') || '-',
        account.registeredAt,
      ]),
    ),
  );
  return EXIT.ok;
}

export async function accountsRemove(options: { accountId: string }): Promise<number> {
  const removed = await registryFromEnv().remove(options.accountId);
  if (!removed) {
    process.stderr.write(`account ${options.accountId} is not registered\n`);
    return EXIT.failures;
  }
  printResult(`Removed account ${options.accountId}. Its resources in the customer account were left as they are.`);
  return EXIT.ok;
}
