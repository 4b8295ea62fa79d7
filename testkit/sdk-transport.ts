/**
 * A transport for real SDK clients that answers from an in-process fake instead of the network: a middleware at
 * the top of the deserialize step, so each attempt still goes through the client's own middleware (the rate
 * limiter, serialization, SigV4 signing with the assumed-role credentials, the SDK's retry) and only the HTTP
 * round trip and the response parsing are replaced. Errors thrown by the fake reach the SDK's retry exactly as a
 * parsed AWS error would (name, $metadata.httpStatusCode). Used by the reconcile-clients tests and
 * bench/reconcile-scale, through `createReconcileClients({ onClientBuilt })`.
 */
import type { QuotaScope } from '../lambdas/shared/rate-limiter';
import type { ReconcileClients, SdkClient } from '../lambdas/reconcile/clients';
import type { FakeCloud } from './fake-cloud';
import { COLLECTOR_SCOPE } from '../lambdas/reconcile/clients';
import { arnParts } from '../lambdas/shared/arn';

export interface SdkCall {
  service: string;
  /** The scope's account: a customer account id, or COLLECTOR_SCOPE. */
  account: string;
  region: string;
  /** `DescribeTrails`, `AssumeRole`, ... */
  operation: string;
  input: Record<string, unknown>;
}

export type SdkCallHandler = (call: SdkCall) => Promise<unknown>;

export const FAKE_TRANSPORT_MIDDLEWARE = 'fakeTransport';

/** `onClientBuilt` for createReconcileClients: every attempt of every call goes to `handle`. */
export function sdkTransport(handle: SdkCallHandler): (client: SdkClient, scope: QuotaScope) => void {
  return (client, scope) => {
    client.middlewareStack.add(
      (_next, context) => async (args) => {
        const commandName = (context as { commandName?: string }).commandName ?? '';
        const output = await handle({
          service: scope.service,
          account: scope.account,
          region: scope.region,
          operation: commandName.replace(/Command$/, ''),
          input: args.input as Record<string, unknown>,
        });
        return { output: { $metadata: {}, ...(output as object) }, response: {} };
      },
      { step: 'deserialize', name: FAKE_TRANSPORT_MIDDLEWARE, priority: 'high' },
    );
  };
}

/** An AWS-shaped error, as the SDK's deserializer would raise it. */
export function awsServiceError(name: string, status: number, message: string): Error {
  return Object.assign(new Error(message), { name, $fault: 'client', $metadata: { httpStatusCode: status } });
}

/**
 * Answers from a FakeCloud: AssumeRole as STS would (AccessDenied for the fake's unassumable accounts), customer
 * calls from the account's state, collector calls from the collector's. `now` dates the issued credentials.
 */
export function fakeCloudHandler(cloud: FakeCloud, now: () => number = Date.now): SdkCallHandler {
  const fake: ReconcileClients = cloud.clients();
  const command = (operation: string, input: Record<string, unknown>) => ({
    constructor: { name: `${operation}Command` },
    input,
  });
  return async ({ service, account, region, operation, input }) => {
    if (service === 'sts') {
      const roleArn = String(input.RoleArn);
      const accountId = arnParts(roleArn).accountId;
      if (cloud.unassumable.has(accountId)) {
        throw awsServiceError('AccessDenied', 403, `not authorized to perform sts:AssumeRole on ${roleArn}`);
      }
      return {
        Credentials: {
          AccessKeyId: `ASIA${accountId}`,
          SecretAccessKey: 'fake-secret',
          SessionToken: 'fake-token',
          Expiration: new Date(now() + 3600_000),
        },
      };
    }
    if (account === COLLECTOR_SCOPE) {
      const sender = service === 'lambda' ? fake.collector.lambda : fake.collector.sns(region);
      return sender.send(command(operation, input) as never);
    }
    const customer = await fake.customer({ accountId: account, roleArn: '', externalId: 'x' });
    const clients: Record<string, (region: string) => { send(c: never): Promise<unknown> }> = {
      cloudtrail: customer.cloudTrail,
      s3: customer.s3,
      sns: customer.sns,
      sqs: customer.sqs,
    };
    const client = clients[service];
    if (client === undefined) throw new Error(`fakeCloudHandler: no fake for service ${service}`);
    return client(region).send(command(operation, input) as never);
  };
}
