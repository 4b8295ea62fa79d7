import type { SQSEvent } from 'aws-lambda';
import { readFile } from 'node:fs/promises';
import { arnParts, parseQueueUrl, queueArn } from '../../lambdas/shared/arn';
import { awsClients } from '../../lambdas/shared/aws-clients';
import { PermanentInputError, errorMessage } from '../../lambdas/shared/errors';
import { createStderrLogger } from '../../lambdas/shared/logger';
import { ensureLedgerTable } from '../../lambdas/shared/ledger';
import type { LoggerLike } from '../../lambdas/shared/logger';
import { loadIngestConfig, type IngestConfig } from '../../lambdas/ingest/config';
import { processSqsBatch } from '../../lambdas/ingest/source/sqs-batch';
import { bindTenant } from '../../lambdas/ingest/source/tenant';
import { pollQueue } from '../../lambdas/ingest/source/queue-poller';
import { CountTally, createIngestDeps, type IngestInjections } from '../../lambdas/ingest/runtime';
import { EXIT, printJson } from './output';

/** Reads and checks an SQS event file; says what is wrong with it rather than failing inside the handler. */
export async function readSqsEvent(file: string): Promise<SQSEvent> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new PermanentInputError(`cannot read --event ${file}: ${errorMessage(error)}`, { cause: error });
  }
  let event: unknown;
  try {
    event = JSON.parse(text);
  } catch (error) {
    throw new PermanentInputError(`--event ${file} is not valid JSON: ${errorMessage(error)}`, { cause: error });
  }
  const records = (event as { Records?: unknown }).Records;
  if (!Array.isArray(records))
    throw new PermanentInputError(`--event ${file} has no "Records" array: not an SQS event`);
  records.forEach((record: unknown, index) => {
    const r = record as Record<string, unknown>;
    for (const field of ['messageId', 'body', 'eventSourceARN'] as const) {
      if (typeof r?.[field] !== 'string') {
        throw new PermanentInputError(`--event ${file}: Records[${index}].${field} must be a string`);
      }
    }
  });
  return event as SQSEvent;
}

/**
 * Against an emulator (AWS_ENDPOINT_URL on a loopback host) the CLI creates the ledger table when it is missing,
 * once per run, as the stack does in AWS; the Lambda never creates a table, and an AWS_ENDPOINT_URL that is not
 * loopback (a VPC endpoint) is real AWS: there a missing table is only warned about (docs/completeness.md).
 */
export async function prepareLedgerTable(
  config: Pick<IngestConfig, 'endpointUrl' | 'region' | 'ledgerTable'>,
  clients: Pick<typeof awsClients, 'dynamoDocument'>,
  logger: LoggerLike,
): Promise<void> {
  if (config.endpointUrl === undefined || !isLoopback(new URL(config.endpointUrl).hostname)) return;
  try {
    if (await ensureLedgerTable(clients.dynamoDocument({ region: config.region }), config.ledgerTable)) {
      logger.info('created the ledger table on the emulator', { table: config.ledgerTable });
    }
  } catch (error) {
    // Ingest runs without it (every write then warns once): the records matter more than the ledger.
    logger.warn('could not create the ledger table on the emulator', {
      table: config.ledgerTable,
      error: errorMessage(error),
    });
  }
}

function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127(?:\.\d{1,3}){3}$/.test(hostname);
}

/** `invoke ingest --event FILE`: runs the ingest handler's core on an SQS event, prints the handler's result. */
export async function invokeIngest(options: { event: string; timeoutSeconds: number }): Promise<number> {
  const event = await readSqsEvent(options.event);
  const config = loadIngestConfig();
  const logger = createStderrLogger();
  await prepareLedgerTable(config, awsClients, logger);
  const deps = await createIngestDeps(config, logger, new CountTally());
  const result = await processSqsBatch(event.Records, deps, Date.now() + options.timeoutSeconds * 1000);
  printJson({ batchItemFailures: result.batchItemFailures });
  return result.batchItemFailures.length === 0 ? EXIT.ok : EXIT.failures;
}

/**
 * `ingest --queue-url URL`: polls a queue like the event source mapping. A hub queue (one of HUB_QUEUE_ARNS) is
 * polled with the caller's own credentials; a customer queue through the customer's role. Visibility backoff and
 * hub DLQ moves use the polling client for the polled queue, the caller's own for the hub DLQs.
 * `inject` replaces what the configuration builds (the sink, the AWS client factory): benchmarks time it.
 */
export async function ingestFromQueue(
  options: {
    queueUrl: string;
    timeoutSeconds: number;
    waitSeconds: number;
    untilEmpty: boolean;
    maxBatches?: number;
  },
  inject: IngestInjections = {},
): Promise<number> {
  const config = loadIngestConfig();
  const logger = createStderrLogger();
  const tally = new CountTally();
  const clients = inject.clients ?? awsClients;
  const { accountId, queueName } = parseQueueUrl(options.queueUrl);
  const regionInHost = /(?:^|\.)sqs\.([a-z0-9-]+)\.amazonaws\.com/.exec(new URL(options.queueUrl).hostname)?.[1];
  const region = regionInHost ?? config.region;
  const polledArn = queueArn(region, accountId, queueName);
  const hub = config.hubQueueArns.includes(polledArn);
  const own = new Map<string, ReturnType<typeof clients.sqs>>();
  const ownSqs = (arn: string) => {
    const where = arnParts(arn).region || region;
    if (!own.has(where)) own.set(where, clients.sqs({ region: where }));
    return own.get(where)!;
  };
  let polling: ReturnType<typeof clients.sqs> | undefined;
  await prepareLedgerTable(config, clients, logger);
  const deps = await createIngestDeps(config, logger, tally, {
    sqsForQueue: (arn) => (arn === polledArn && polling ? polling : ownSqs(arn)),
    ...inject,
  });
  if (hub) {
    polling = ownSqs(polledArn);
  } else {
    const record = await deps.registry.get(accountId);
    if (!record) {
      throw new PermanentInputError(
        `queue ${options.queueUrl} belongs to account ${accountId}, which is not registered (nor is it one of HUB_QUEUE_ARNS)`,
      );
    }
    const tenant = bindTenant(record, region, 'aws', config.customerRoleName);
    polling = clients.sqs({ region, credentials: deps.credentials.providerFor(tenant) });
  }
  const sqs = polling;

  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    const totals = await pollQueue(
      sqs,
      (records, deadline) => processSqsBatch(records, deps, deadline),
      {
        queueUrl: options.queueUrl,
        batchTimeoutMs: options.timeoutSeconds * 1000,
        waitTimeSeconds: options.waitSeconds,
        stopAfterEmptyReceives: options.untilEmpty ? 1 : 0,
        ...(options.maxBatches !== undefined ? { maxBatches: options.maxBatches } : {}),
        signal: controller.signal,
      },
      logger,
    );
    printJson({ ...totals, counts: tally.toJSON() });
    return totals.failed === 0 ? EXIT.ok : EXIT.failures;
  } catch (error) {
    if (controller.signal.aborted) return EXIT.ok;
    throw error;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}
