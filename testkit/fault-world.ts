import { SetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { DownstreamReceiver } from './downstream-receiver';
import { createStderrLogger, type LoggerLike } from '../lambdas/shared/logger';
import type { AccountRecord } from '../lambdas/shared/registry';
import { motoEndpoint } from './test-emulator';
import { ingestWorld, type IngestWorld } from './ingest-env';
import { AwsFaultProxy } from './aws-fault-proxy';

export interface FaultWorld extends IngestWorld {
  proxy: AwsFaultProxy;
  /** Every log line the ingest code wrote (JSON lines, as the CLI writes them to stderr). */
  logLines: string[];
  logger: LoggerLike;
  setVisibilityTimeout(accountId: string, seconds: number): Promise<void>;
}

/**
 * `ingestWorld` with the AWS fault proxy between the ingest code and moto: the ingest side (registry, STS,
 * S3) talks to the proxy, the test's own set-up clients talk to moto directly. Each tenant's bucket is
 * registered with the proxy as owned by that tenant, so `ExpectedBucketOwner` is enforced as S3 would.
 */
export async function faultWorld(
  accounts: Partial<AccountRecord>[],
  options: { token?: string; keepLines?: boolean } = {},
): Promise<FaultWorld> {
  const token = options.token ?? 'test-token';
  const world = await ingestWorld(accounts, token);
  // A receiver of our own, so that it can keep the lines it received when asked to (the world's own stays up,
  // unused: its deps() reads its URL before our override).
  const receiver = new DownstreamReceiver({ token, keepLines: options.keepLines ?? false });
  await receiver.start();
  const proxy = new AwsFaultProxy(motoEndpoint());
  for (const [accountId, tenant] of world.tenants) proxy.setBucketOwner(tenant.chain.bucket, accountId);
  await proxy.start();
  // Read by every AWS client built from now on: the ingest deps and the per-tenant S3 clients they build lazily.
  process.env.AWS_ENDPOINT_URL = proxy.endpoint;
  const logLines: string[] = [];
  const logger = createStderrLogger('debug', (line) => logLines.push(line));
  const tenant = (accountId: string) => {
    const found = world.tenants.get(accountId);
    if (!found) throw new Error(`no tenant ${accountId} in this world`);
    return found;
  };
  return {
    ...world,
    receiver,
    proxy,
    logLines,
    logger,
    deps: (overrides, log = logger) => world.deps({ DOWNSTREAM_URL: receiver.url, ...overrides }, log),
    async setVisibilityTimeout(accountId, seconds) {
      const { clients, chain } = tenant(accountId);
      await clients.sqs.send(
        new SetQueueAttributesCommand({
          QueueUrl: chain.queueUrl,
          Attributes: { VisibilityTimeout: String(seconds) },
        }),
      );
    },
    async stop() {
      await receiver.stop();
      await world.stop();
      await proxy.stop();
    },
  };
}
