import { isAccountId, parseArn, roleArn } from '../../shared/arn';
import { PermanentInputError } from '../../shared/errors';
import type { AccountRecord, AccountsRegistry } from '../../shared/registry';
import { describeObject, type LogObject } from '../log-object';
import type { ObjectClass } from './object-key';

/** Who a message belongs to: decided by the queue that delivered it, never by the message body. */
export interface TenantBinding {
  accountId: string;
  region: string;
  roleArn: string;
  externalId: string;
  /** Accounts and organizations whose log files this tenant's bucket may hold (itself included). */
  allowedLogAccounts: ReadonlySet<string>;
}

/** Thrown when a notification names a log file of an account the delivering tenant may not read. */
export class TenantMismatchError extends PermanentInputError {}

export function bindTenant(
  record: AccountRecord,
  queueRegion: string,
  partition: string,
  defaultRoleName: string,
): TenantBinding {
  return {
    accountId: record.accountId,
    region: queueRegion,
    roleArn: roleArn(partition, record.accountId, record.roleName ?? defaultRoleName),
    externalId: record.externalId,
    allowedLogAccounts: new Set([record.accountId, ...(record.logArchiveFor ?? [])]),
  };
}

/** Rejects a log file whose key names an account (or organization) outside the tenant's own set. */
export function checkTenantOwnsKey(tenant: TenantBinding, object: LogObject, objectClass: ObjectClass): void {
  if (objectClass.type === 'other') return;
  const orgAllowed = objectClass.orgId !== undefined && tenant.allowedLogAccounts.has(objectClass.orgId);
  if (!tenant.allowedLogAccounts.has(objectClass.accountId) && !orgAllowed) {
    throw new TenantMismatchError(
      `${describeObject(object)} holds logs of account ${objectClass.accountId}, ` +
        `which is not account ${tenant.accountId} nor one it is registered as log archive for`,
    );
  }
}

/** The tenant of a queue: the registered account that owns it. */
export async function resolveTenant(
  eventSourceArn: string,
  deps: { registry: Pick<AccountsRegistry, 'get'>; customerRoleName: string },
): Promise<TenantBinding> {
  const queue = parseArn(eventSourceArn);
  if (queue.service !== 'sqs' || !isAccountId(queue.accountId)) {
    throw new PermanentInputError(`eventSourceARN is not an SQS queue ARN: "${eventSourceArn}"`);
  }
  const record = await deps.registry.get(queue.accountId);
  if (!record) {
    throw new PermanentInputError(
      `queue ${eventSourceArn} belongs to account ${queue.accountId}, which is not registered: nothing is read for it`,
    );
  }
  return bindTenant(record, queue.region, queue.partition, deps.customerRoleName);
}
