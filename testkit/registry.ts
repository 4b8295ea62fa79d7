import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { awsClients, type ClientOptions } from '../lambdas/shared/aws-clients';
import { AccountsRegistry, type AccountRecord } from '../lambdas/shared/registry';
import { createRegistryTable } from './demo-chain';

/**
 * A registry record as `accounts add` writes it (mode apply, status new, ExternalId `ext-<account>`), with
 * the given fields on top.
 */
export function accountRecord(
  fields: Partial<AccountRecord> & { accountId: string },
  registeredAt: string = new Date().toISOString(),
): AccountRecord {
  const { accountId, ...rest } = fields;
  return {
    accountId,
    externalId: `ext-${accountId}`,
    mode: 'apply',
    logArchiveFor: [],
    registeredAt,
    status: 'new',
    ...rest,
  };
}

/** Creates the registry table in the emulator and returns the registry over it. */
export async function createRegistry(table: string, where: ClientOptions): Promise<AccountsRegistry> {
  await createRegistryTable(new DynamoDBClient(where), table);
  return new AccountsRegistry(awsClients.dynamoDocument(where), table);
}
