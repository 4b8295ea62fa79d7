/**
 * The reconcile lease: at most one worker reconciles an account at a time (docs/operations.md, "Sweep and jobs").
 * The lease is two attributes of the account's registry item, its owner (one worker invocation's id) and its
 * expiry, taken by a conditional UpdateItem: the write succeeds only when no lease is held, the held one has
 * expired, or the owner is the same. DynamoDB evaluates the condition and applies the update atomically, so two
 * workers taking the same account's lease at once cannot both succeed (Amazon DynamoDB Developer Guide,
 * "Condition expressions"; API Reference, UpdateItem). A crashed worker's lease simply expires: it is taken for
 * the worker's remaining time, and the job queue's visibility timeout is longer than the worker's timeout, so a
 * redelivered job never finds a live lease of the invocation that died.
 *
 * Taking the lease returns the whole item (ReturnValues ALL_NEW), so a job costs no separate read; a refused one
 * returns the item as it was (ReturnValuesOnConditionCheckFailure ALL_OLD), which tells a held lease from an
 * account that is not registered any more.
 */
import { UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ITEM_TYPE_ATTRIBUTE, type AccountRecord } from '../shared/registry';

export type LeaseResult =
  | { kind: 'acquired'; record: AccountRecord }
  | { kind: 'held'; owner: string; expiresAt: string }
  | { kind: 'not-registered' };

export interface ReconcileLease {
  /** Takes the account's lease for `owner` until `expiresAt`; never throws for a held lease. */
  acquire(accountId: string, owner: string, now: Date, expiresAt: Date): Promise<LeaseResult>;
  /**
   * Gives the lease back, writing `fields` (the next due time) in the same UpdateItem; false when the lease was
   * no longer this owner's (it expired and another worker took it), and then nothing is written.
   */
  release(accountId: string, owner: string, fields?: Pick<AccountRecord, 'reconcileDueAt'>): Promise<boolean>;
}

const OWNER = 'reconcileLeaseOwner';
const EXPIRES = 'reconcileLeaseExpiresAt';

function conditionFailed(error: unknown): error is { name: string; Item?: Record<string, unknown> } {
  return (error as { name?: string } | undefined)?.name === 'ConditionalCheckFailedException';
}

/** A string attribute of the item on the exception: in DynamoDB's wire format (`{S}`), the document client leaves it so. */
function wireString(value: unknown): string {
  if (typeof value === 'string') return value;
  const wire = (value as { S?: unknown } | undefined)?.S;
  return typeof wire === 'string' ? wire : '';
}

/** The lease on the accounts registry table (AccountsRegistry's table and document client). */
export class RegistryLease implements ReconcileLease {
  constructor(
    private readonly db: Pick<DynamoDBDocumentClient, 'send'>,
    private readonly tableName: string,
  ) {}

  async acquire(accountId: string, owner: string, now: Date, expiresAt: Date): Promise<LeaseResult> {
    try {
      const result = await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { accountId },
          UpdateExpression: 'SET #owner = :owner, #expires = :expires',
          // ISO times in UTC with milliseconds (toISOString) compare as strings in time order.
          ConditionExpression:
            'attribute_exists(accountId) AND attribute_not_exists(#itemType) AND ' +
            '(attribute_not_exists(#expires) OR #expires <= :now OR #owner = :owner)',
          ExpressionAttributeNames: { '#owner': OWNER, '#expires': EXPIRES, '#itemType': ITEM_TYPE_ATTRIBUTE },
          ExpressionAttributeValues: {
            ':owner': owner,
            ':expires': expiresAt.toISOString(),
            ':now': now.toISOString(),
          },
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { kind: 'acquired', record: result.Attributes as AccountRecord };
    } catch (error) {
      if (!conditionFailed(error)) throw error;
      const item = error.Item;
      if (item === undefined || item.accountId === undefined || item[ITEM_TYPE_ATTRIBUTE] !== undefined) {
        return { kind: 'not-registered' };
      }
      return { kind: 'held', owner: wireString(item[OWNER]), expiresAt: wireString(item[EXPIRES]) };
    }
  }

  async release(
    accountId: string,
    owner: string,
    fields: Pick<AccountRecord, 'reconcileDueAt'> = {},
  ): Promise<boolean> {
    const due = fields.reconcileDueAt;
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { accountId },
          UpdateExpression: `${due !== undefined ? 'SET #due = :due ' : ''}REMOVE #owner, #expires`,
          ConditionExpression: '#owner = :owner',
          ExpressionAttributeNames: {
            '#owner': OWNER,
            '#expires': EXPIRES,
            ...(due !== undefined ? { '#due': 'reconcileDueAt' } : {}),
          },
          ExpressionAttributeValues: { ':owner': owner, ...(due !== undefined ? { ':due': due } : {}) },
        }),
      );
      return true;
    } catch (error) {
      if (conditionFailed(error)) return false;
      throw error;
    }
  }
}
