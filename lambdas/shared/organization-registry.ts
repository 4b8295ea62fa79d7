/**
 * Registered organizations, stored in the accounts registry table itself (ACCOUNTS_TABLE alone is enough for every
 * command): one item per organization, keyed `organization:<o-id>` (never a 12-digit account id) and marked with
 * ITEM_TYPE_ATTRIBUTE, which AccountsRegistry.list() and get() skip. Each member's own item carries the
 * organization id (AccountRecord.organizationId); this item holds what is the organization's: its management and
 * log archive accounts, the one ExternalId and mode its members share, its trail, and the member list as last seen.
 */
import { DeleteCommand, GetCommand, PutCommand, ScanCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { CollectorError } from './errors';
import type { OrganizationTrail } from './organization-discovery';
import { ITEM_TYPE_ATTRIBUTE, putNewItem, type AccountMode } from './registry';

export const ORGANIZATION_ITEM_TYPE = 'organization';

export interface OrganizationRecord {
  /** The table's key: `organization:<organizationId>`. */
  accountId: string;
  itemType: typeof ORGANIZATION_ITEM_TYPE;
  organizationId: string;
  managementAccountId: string;
  logArchiveAccountId: string;
  /**
   * One ExternalId for the whole organization (one customer, one secret): every member registered through the
   * organization, its log archive and the management account's read role use it.
   */
  externalId: string;
  mode: AccountMode;
  trail: OrganizationTrail;
  /** The organization's root ids at the last add or sync (the StackSet target for every account). */
  rootIds: string[];
  /** ACTIVE accounts at the last add or sync (registered, linked or excluded alike). */
  memberAccountIds: string[];
  /** Accounts the operator unregistered (`accounts remove`): add and sync leave them out. */
  excludedAccountIds: string[];
  registeredAt: string;
  lastSyncAt: string;
}

export class OrganizationNotRegisteredError extends CollectorError {
  constructor(readonly organizationId: string) {
    super(`organization ${organizationId} is not registered (organizations list shows the registered ones)`);
  }
}

export function organizationKey(organizationId: string): string {
  return `${ORGANIZATION_ITEM_TYPE}:${organizationId}`;
}

export class OrganizationsRegistry {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    readonly tableName: string,
  ) {}

  async get(organizationId: string): Promise<OrganizationRecord | undefined> {
    const { Item: item } = await this.db.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { accountId: organizationKey(organizationId) },
        ConsistentRead: true,
      }),
    );
    return item?.[ITEM_TYPE_ATTRIBUTE] === ORGANIZATION_ITEM_TYPE ? (item as OrganizationRecord) : undefined;
  }

  async require(organizationId: string): Promise<OrganizationRecord> {
    const record = await this.get(organizationId);
    if (!record) throw new OrganizationNotRegisteredError(organizationId);
    return record;
  }

  /** Registers an organization; refuses to overwrite one (`organizations sync` updates it). */
  async add(record: OrganizationRecord): Promise<void> {
    await putNewItem(
      this.db,
      this.tableName,
      record,
      `organization ${record.organizationId} is already registered: organizations sync picks up its changes`,
    );
  }

  /** Replaces a registered organization's item (sync, exclusions); fails if it was removed meanwhile. */
  async save(record: OrganizationRecord): Promise<void> {
    try {
      await this.db.send(
        new PutCommand({ TableName: this.tableName, Item: record, ConditionExpression: 'attribute_exists(accountId)' }),
      );
    } catch (error) {
      if ((error as { name?: string }).name === 'ConditionalCheckFailedException') {
        throw new OrganizationNotRegisteredError(record.organizationId);
      }
      throw error;
    }
  }

  /** Every registered organization, by id. Reads the whole table: organizations are few, accounts are skipped. */
  async list(): Promise<OrganizationRecord[]> {
    const items: OrganizationRecord[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.db.send(
        new ScanCommand({
          TableName: this.tableName,
          ExclusiveStartKey: startKey,
          ConsistentRead: true,
          FilterExpression: '#type = :organization',
          ExpressionAttributeNames: { '#type': ITEM_TYPE_ATTRIBUTE },
          ExpressionAttributeValues: { ':organization': ORGANIZATION_ITEM_TYPE },
        }),
      );
      items.push(...((page.Items ?? []) as OrganizationRecord[]));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return items.sort((a, b) => a.organizationId.localeCompare(b.organizationId));
  }

  /** Returns whether an item was removed. */
  async remove(organizationId: string): Promise<boolean> {
    const result = await this.db
      .send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: { accountId: organizationKey(organizationId) },
          ConditionExpression: '#type = :organization',
          ExpressionAttributeNames: { '#type': ITEM_TYPE_ATTRIBUTE },
          ExpressionAttributeValues: { ':organization': ORGANIZATION_ITEM_TYPE },
          ReturnValues: 'ALL_OLD',
        }),
      )
      .catch((error: unknown) => {
        if ((error as { name?: string }).name === 'ConditionalCheckFailedException') return { Attributes: undefined };
        throw error;
      });
    return result.Attributes !== undefined;
  }
}
