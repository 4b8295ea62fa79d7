import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { AssumeRoleCommand } from '@aws-sdk/client-sts';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { awsClients } from '../../lambdas/shared/aws-clients';
import { createStderrLogger } from '../../lambdas/shared/logger';
import { AccountsRegistry, generateExternalId } from '../../lambdas/shared/registry';
import { loadIngestConfig } from '../../lambdas/ingest/config';
import { processSqsBatch } from '../../lambdas/ingest/ingest-batch';
import { pollQueue } from '../../lambdas/ingest/queue-poller';
import { CountTally, createIngestDeps } from '../../lambdas/ingest/runtime';
import { customerDeployCommand } from '../commands/accounts';
import { EXIT, formatTable, printResult } from '../commands/output';
import {
  createChain,
  createRegistryTable,
  eventBridgeObjectCreated,
  publishCloudTrailNotification,
  putLogFile,
  s3EventNotification,
  sendRaw,
  snsEnvelope,
} from './demo-chain';
import { DownstreamReceiver } from './downstream-receiver';
import { startMoto, type MotoServer } from './emulator';

export const SANDBOX = {
  region: 'us-east-1',
  collectorAccount: '123456789012',
  customerAccount: '111122223333',
  table: 'cloudtrail-collector-accounts',
} as const;

function step(message: string): void {
  process.stderr.write(`\u001b[1m==>\u001b[0m ${message}\n`);
}

/** Credentials of the customer's role, as the collector gets them (the emulator does not check the ExternalId). */
async function customerCredentials(accountId: string, externalId: string) {
  const sts = awsClients.sts({ region: SANDBOX.region });
  const assumed = await sts.send(
    new AssumeRoleCommand({
      RoleArn: `arn:aws:iam::${accountId}:role/CloudTrailCollectorRole`,
      RoleSessionName: 'sandbox-setup',
      ExternalId: externalId,
    }),
  );
  const c = assumed.Credentials!;
  return { accessKeyId: c.AccessKeyId!, secretAccessKey: c.SecretAccessKey!, sessionToken: c.SessionToken! };
}

export interface SandboxOptions {
  files: number;
  keepRunning: boolean;
}

/**
 * `npm start`: the data path on one machine. Emulator up, a demo account registered, its chain in place,
 * realistic CloudTrail files delivered with CloudTrail's own notifications (plus every other input shape),
 * ingest to a local downstream receiver, and a summary. Exit 0 only if every record arrived.
 */
export async function runSandbox(options: SandboxOptions): Promise<number> {
  const started = Date.now();
  let moto: MotoServer | undefined;
  const receiver = new DownstreamReceiver({ token: 'sandbox-token' });
  try {
    step('starting the local AWS emulator (moto_server)');
    moto = await startMoto();
    const downstreamUrl = await receiver.start();
    Object.assign(process.env, {
      AWS_ENDPOINT_URL: moto.endpoint,
      AWS_REGION: SANDBOX.region,
      AWS_ACCESS_KEY_ID: 'sandbox',
      AWS_SECRET_ACCESS_KEY: 'sandbox',
      ACCOUNTS_TABLE: SANDBOX.table,
      DOWNSTREAM_URL: downstreamUrl,
      DOWNSTREAM_TOKEN: 'sandbox-token',
    });
    delete process.env.AWS_SESSION_TOKEN;
    delete process.env.AWS_PROFILE;
    process.stderr.write(`    emulator ${moto.endpoint}, downstream receiver ${downstreamUrl}\n`);

    step(`creating the accounts registry and registering demo account ${SANDBOX.customerAccount}`);
    await createRegistryTable(new DynamoDBClient({ region: SANDBOX.region, endpoint: moto.endpoint }), SANDBOX.table);
    const registry = new AccountsRegistry(awsClients.dynamoDocument({ region: SANDBOX.region }), SANDBOX.table);
    const externalId = generateExternalId();
    await registry.add({
      accountId: SANDBOX.customerAccount,
      externalId,
      mode: 'apply',
      logArchiveFor: [],
      registeredAt: new Date().toISOString(),
      status: 'new',
    });
    process.stderr.write(
      `    the customer would deploy the role with:\n    ${customerDeployCommand({
        collectorAccountId: SANDBOX.collectorAccount,
        externalId,
        mode: 'apply',
        region: SANDBOX.region,
      })}\n`,
    );

    step('building the customer chain: bucket -> topic -> queue (+DLQ), queue subscribed');
    const credentials = await customerCredentials(SANDBOX.customerAccount, externalId);
    const clients = {
      s3: awsClients.s3({ region: SANDBOX.region, credentials }),
      sns: awsClients.sns({ region: SANDBOX.region, credentials }),
      sqs: awsClients.sqs({ region: SANDBOX.region, credentials }),
    };
    const chain = await createChain(clients, SANDBOX.customerAccount);
    await registry.update(SANDBOX.customerAccount, {
      bucketName: chain.bucket,
      topicArn: chain.topicArn,
      queueArn: chain.queueArn,
    });

    step(`delivering ${options.files} CloudTrail log files with CloudTrail's SNS notifications`);
    const expected = new Set<string>();
    const time = new Date(Date.UTC(2026, 10, 24, 0, 0));
    const keys: string[] = [];
    for (let index = 0; index < options.files; index += 1) {
      const file = await putLogFile(clients.s3, {
        bucket: chain.bucket,
        accountId: SANDBOX.customerAccount,
        region: SANDBOX.region,
        seed: index + 1,
        records: 20 + ((index * 37) % 280),
        time: new Date(time.getTime() + index * 5 * 60_000),
      });
      file.eventIds.forEach((id) => expected.add(id));
      keys.push(file.key);
      await publishCloudTrailNotification(clients.sns, chain.topicArn, chain.bucket, [file.key]);
    }
    step('delivering the other input shapes: S3 event, EventBridge event, raw delivery, test and validation messages');
    const shapes: [string, string][] = [];
    for (const [shape, seed] of [
      ['s3-event', 9001],
      ['eventbridge', 9002],
      ['raw-cloudtrail', 9003],
      ['sns-s3-event', 9004],
    ] as const) {
      const file = await putLogFile(clients.s3, {
        bucket: chain.bucket,
        accountId: SANDBOX.customerAccount,
        region: SANDBOX.region,
        seed,
        records: 50,
        time: new Date(time.getTime() + seed * 1000),
      });
      file.eventIds.forEach((id) => expected.add(id));
      const body =
        shape === 's3-event'
          ? s3EventNotification(chain.bucket, file.key)
          : shape === 'eventbridge'
            ? eventBridgeObjectCreated(chain.bucket, file.key)
            : shape === 'raw-cloudtrail'
              ? JSON.stringify({ s3Bucket: chain.bucket, s3ObjectKey: [file.key] })
              : snsEnvelope(s3EventNotification(chain.bucket, file.key));
      shapes.push([shape, body]);
    }
    shapes.push([
      's3-test-event',
      JSON.stringify({
        Service: 'Amazon S3',
        Event: 's3:TestEvent',
        Time: '2026-11-24T00:00:00.000Z',
        Bucket: chain.bucket,
        RequestId: 'X',
        HostId: 'Y',
      }),
    ]);
    shapes.push(['cloudtrail-validation', snsEnvelope('CloudTrail validation message.')]);
    for (const [, body] of shapes) await sendRaw(clients.sqs, chain.queueUrl, body);

    step('running ingest (the event-source poller) until the queue is empty');
    const logger = createStderrLogger('warn');
    const tally = new CountTally();
    const deps = await createIngestDeps(loadIngestConfig(), logger, tally);
    const ingestStarted = Date.now();
    const totals = await pollQueue(
      clients.sqs,
      (records, deadline) => processSqsBatch(records, deps, deadline),
      { queueUrl: chain.queueUrl, batchTimeoutMs: 60_000, waitTimeSeconds: 0, stopAfterEmptyReceives: 2 },
      logger,
    );
    const ingestSeconds = (Date.now() - ingestStarted) / 1000;
    const dlq = await clients.sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: chain.dlqUrl, AttributeNames: ['ApproximateNumberOfMessages'] }),
    );

    const missing = [...expected].filter((id) => !receiver.eventIds.has(id)).length;
    const ok = missing === 0 && totals.failed === 0 && receiver.duplicateRecords === 0;
    printResult(
      '\nSummary\n' +
        formatTable(
          ['WHAT', 'COUNT'],
          [
            ['log files delivered', String(options.files + 4)],
            ['messages received', String(totals.received)],
            ['messages acknowledged without forwarding', String(tally.get('MessagesIgnored'))],
            ['messages failed', String(totals.failed)],
            ['records written to S3', String(expected.size)],
            ['records received downstream (unique eventID)', String(receiver.uniqueRecords)],
            ['records missing', String(missing)],
            ['records duplicated', String(receiver.duplicateRecords)],
            ['downstream requests', String(receiver.requests)],
            ['bytes read from S3 (compressed)', String(tally.get('BytesIn'))],
            ['dead-letter queue depth', dlq.Attributes?.ApproximateNumberOfMessages ?? '?'],
            ['ingest time (s)', ingestSeconds.toFixed(2)],
            ['total time (s)', ((Date.now() - started) / 1000).toFixed(2)],
          ],
        ) +
        `\n\n${ok ? 'PASS: every record reached the downstream exactly once.' : 'FAIL: see the counts above.'}\n`,
    );
    return ok ? EXIT.ok : EXIT.failures;
  } finally {
    if (options.keepRunning && moto) {
      process.stderr.write(`emulator left running at ${moto.endpoint} (pid ${moto.process.pid}); receiver stopped\n`);
      moto.process.unref();
    } else {
      await moto?.stop();
    }
    await receiver.stop();
  }
}
