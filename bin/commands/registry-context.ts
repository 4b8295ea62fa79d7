/** The registry and the collector account, as every command finds them: ACCOUNTS_TABLE, AWS_REGION and STS. */
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { awsClients } from '../../lambdas/shared/aws-clients';
import { loadCommonConfig } from '../../lambdas/shared/config';
import { OrganizationsRegistry } from '../../lambdas/shared/organization-registry';
import { AccountsRegistry } from '../../lambdas/shared/registry';

export function registryFromEnv(): AccountsRegistry {
  const config = loadCommonConfig();
  return new AccountsRegistry(awsClients.dynamoDocument({ region: config.region }), config.accountsTable);
}

/** The organization items of the same table (ACCOUNTS_TABLE alone is enough). */
export function organizationsRegistryFromEnv(registry: AccountsRegistry = registryFromEnv()): OrganizationsRegistry {
  return new OrganizationsRegistry(registry.db, registry.tableName);
}

export async function collectorAccountId(explicit?: string): Promise<string> {
  if (explicit) return explicit;
  if (process.env.COLLECTOR_ACCOUNT_ID) return process.env.COLLECTOR_ACCOUNT_ID;
  const config = loadCommonConfig();
  const identity = await awsClients.sts({ region: config.region }).send(new GetCallerIdentityCommand({}));
  if (!identity.Account) throw new Error('STS did not return the collector account id');
  return identity.Account;
}
