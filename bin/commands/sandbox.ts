import {
  CreateTrailCommand,
  DescribeTrailsCommand,
  GetTrailStatusCommand,
  StartLoggingCommand,
  StopLoggingCommand,
} from '@aws-sdk/client-cloudtrail';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { CreateQueueCommand, DeleteMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { ListSubscriptionsByTopicCommand, UnsubscribeCommand } from '@aws-sdk/client-sns';
import { isIngestTopology } from '../../lambdas/shared/topology';
import { awsClients } from '../../lambdas/shared/aws-clients';
import { isComplete } from '../../lambdas/shared/completeness';
import { LedgerTable } from '../../lambdas/shared/ledger';
import { deliveryTimeOf } from '../../lambdas/shared/object-key';
import { createStderrLogger } from '../../lambdas/shared/logger';
import { AccountsRegistry, generateExternalId } from '../../lambdas/shared/registry';
import { loadIngestConfig } from '../../lambdas/ingest/config';
import { CountTally, createIngestDeps } from '../../lambdas/ingest/runtime';
import { createReconcileClients } from '../../lambdas/reconcile/clients';
import { CADENCE_DEFAULTS, loadReconcileConfig } from '../../lambdas/reconcile/config';
import { RegistryLease } from '../../lambdas/reconcile/lease';
import type { WorkerDeps } from '../../lambdas/reconcile/worker';
import { generateRecords, logFileBody, logFileKey } from '../../testkit/cloudtrail-generator';
import { receiveJobs, runJobMessages, tamperRecord } from '../../testkit/tamper';
import { reconcileAll, type ReconcileDeps } from '../../lambdas/reconcile/reconcile';
import type { AccountReport, RunMode } from '../../lambdas/reconcile/types';
import { customerDeployCommand } from '../../lib/customer-deploy-command';
import { EXIT, formatTable, printResult } from './output';
import { prepareLedgerTable } from './ingest';
import { OUTPUT_VARIABLES } from './deployment';
import { runVerify, verifyDepsFromEnv } from './verify';
import type { ChainClients } from '../../testkit/chain-check';
import {
  cloudTrailNotification,
  eventBridgeObjectCreated,
  putLogFile,
  s3EventNotification,
  snsEnvelope,
} from '../../testkit/demo-chain';
import { snsNotificationBody } from '../../testkit/hub';
import {
  DigestChainWriter,
  listedLogFile,
  publicKeysClient,
  putDigest,
  testSigningKey,
  type ListedLogFile,
} from '../../testkit/digest';
import { DRIFT_SCENARIOS } from '../../testkit/drift-scenarios';
import { startMoto, type MotoServer } from '../../testkit/emulator';
import { accountRecord } from '../../testkit/registry';
import { createEmulatorCollectorStack } from '../../testkit/emulator-stack';
import { RECONCILE_JOB_QUEUE_NAMES, STACK_IDS } from '../../lib/names';
import { isSandboxSink, startSandboxDownstream, type SandboxDownstream } from './sandbox-downstream';
import { customerQueueTopology, hubTopology, type SandboxTopology } from './sandbox-topology';

export const SANDBOX = {
  region: 'us-east-1',
  collectorAccount: '123456789012',
  customerAccount: '111122223333',
  /** A second customer who already has a trail: the cost guard must reuse it. */
  trailOwnerAccount: '222233334444',
  table: 'cloudtrail-collector-accounts',
  trailName: 'outcomes-trail',
} as const;

export interface SandboxOptions {
  files: number;
  keepRunning: boolean;
  /** Seed rows of the drift table to break and repair (default: all). */
  rows?: string[];
  /** The ingest topology, checked here (default INGEST_TOPOLOGY, else customer-queue: docs/stacks.md). */
  topology?: string;
  /** Where records go: `ndjson` (the local receiver, default) or `syslog` (the real rsyslog over RELP+TLS). */
  sink?: string;
}

/** Hub queues in the sandbox: two, so that its two accounts land in different shards. */
const SANDBOX_HUB_SHARDS = 2;

const bold = (text: string) => (process.stderr.isTTY ? `\u001b[1m${text}\u001b[0m` : text);
function step(message: string): void {
  process.stderr.write(`${bold('==>')} ${message}\n`);
}
function detail(message: string): void {
  process.stderr.write(`    ${message}\n`);
}

function showReport(account: AccountReport): void {
  for (const finding of account.findings) detail(`finding ${finding.code} [${finding.severity}] ${finding.message}`);
  for (const action of account.actions) {
    const cost = `$${action.costImpact.monthlyUsd}/month: ${action.costImpact.note}`;
    detail(
      `action  ${action.code} ${action.status} ${action.resource} (${cost})${action.error ? ` ${action.error}` : ''}`,
    );
  }
  detail(`status  ${account.status}`);
}

interface RowResult {
  row: string;
  findings: string;
  actions: string;
  held: boolean;
  note: string;
}

/**
 * `npm start`: the whole system on one machine. Emulator up; a demo account registered; reconcile builds its
 * default chain; realistic CloudTrail files delivered with CloudTrail-format notifications (and every other input
 * shape); ingest to a local downstream receiver; the chain broken row by row and repaired; the cost guard shown on
 * an account that already has a trail; a summary. Exit 0 only if every record arrived and every repair held.
 */
export async function runSandbox(options: SandboxOptions): Promise<number> {
  const started = Date.now();
  const rows = options.rows ?? DRIFT_SCENARIOS.map((scenario) => scenario.code);
  const unknownRows = rows.filter((row) => !DRIFT_SCENARIOS.some((scenario) => scenario.code === row));
  if (unknownRows.length > 0) {
    process.stderr.write(
      `unknown --rows: ${unknownRows.join(', ')} (known: ${DRIFT_SCENARIOS.map((s) => s.code).join(', ')})\n`,
    );
    return EXIT.usage;
  }
  const topologyName = options.topology ?? process.env.INGEST_TOPOLOGY ?? 'customer-queue';
  if (!isIngestTopology(topologyName)) {
    process.stderr.write(`unknown topology "${topologyName}" (known: hub, customer-queue)\n`);
    return EXIT.usage;
  }
  const sink = options.sink ?? 'ndjson';
  if (!isSandboxSink(sink)) {
    process.stderr.write(`unknown sink "${sink}" for the sandbox (known: ndjson, syslog)\n`);
    return EXIT.usage;
  }
  let moto: MotoServer | undefined;
  let sinkProcess: SandboxDownstream | undefined;
  try {
    step(`starting the local AWS emulator (moto_server) and the downstream (${sink})`);
    moto = await startMoto();
    sinkProcess = await startSandboxDownstream(sink);
    const downstream = sinkProcess;
    Object.assign(process.env, {
      AWS_ENDPOINT_URL: moto.endpoint,
      AWS_REGION: SANDBOX.region,
      AWS_ACCESS_KEY_ID: 'sandbox',
      AWS_SECRET_ACCESS_KEY: 'sandbox',
      ACCOUNTS_TABLE: SANDBOX.table,
      ...downstream.env,
    });
    delete process.env.AWS_SESSION_TOKEN;
    delete process.env.AWS_PROFILE;
    detail(`emulator ${moto.endpoint}, ${downstream.description}`);
    const topology: SandboxTopology =
      topologyName === 'hub'
        ? await hubTopology({
            region: SANDBOX.region,
            collectorAccount: SANDBOX.collectorAccount,
            shards: SANDBOX_HUB_SHARDS,
          })
        : customerQueueTopology(SANDBOX.region);
    Object.assign(process.env, topology.env);
    detail(
      topology.topology === 'hub'
        ? `topology hub: ${SANDBOX_HUB_SHARDS} collector queues (${topology.env.HUB_QUEUE_ARNS}), no queue in the customer accounts`
        : 'topology customer-queue: a queue in each customer account (the seed layout)',
    );
    const customerClients = (accountId: string) => topology.customerClients(accountId);

    step(`creating the accounts registry and registering demo account ${SANDBOX.customerAccount}`);
    // The collector's stack as the emulator holds it (its registry table and outputs), so that the command-line
    // tool finds this deployment by --stack-name as it finds a real one (bin/commands/deployment.ts).
    await createEmulatorCollectorStack({
      endpoint: moto.endpoint,
      region: SANDBOX.region,
      accountsTable: SANDBOX.table,
      outputs: {
        ...stackOutputsOf({ ...topology.env, INGEST_TOPOLOGY: topology.topology }),
      },
    });
    const registry = new AccountsRegistry(
      awsClients.dynamoDocument({ region: SANDBOX.region, endpoint: moto.endpoint }),
      SANDBOX.table,
    );
    const register = async (accountId: string) => {
      const externalId = generateExternalId();
      await registry.add(accountRecord({ accountId, externalId }));
      return externalId;
    };
    const externalId = await register(SANDBOX.customerAccount);
    detail('the customer would deploy the role with:');
    detail(
      customerDeployCommand({
        collectorAccountId: SANDBOX.collectorAccount,
        externalId,
        mode: 'apply',
        region: SANDBOX.region,
      }),
    );

    const reconcileLogger = createStderrLogger('error');
    // The collector's reconcile job queue (lib/reconcile-jobs.construct.ts): tamper triggers send their jobs there.
    const collectorSqs = awsClients.sqs({ region: SANDBOX.region });
    const jobQueueUrl = (
      await collectorSqs.send(new CreateQueueCommand({ QueueName: RECONCILE_JOB_QUEUE_NAMES.queue }))
    ).QueueUrl!;
    // One second of debounce instead of the deployed 60 (TAMPER_TRIGGER_DELAY_SECONDS), to keep the demo short.
    Object.assign(process.env, { RECONCILE_JOB_QUEUE_URL: jobQueueUrl, TAMPER_TRIGGER_DELAY_SECONDS: '1' });
    const reconcileConfig = loadReconcileConfig();
    const ingestConfig = loadIngestConfig();
    // The ledger beside the registry, as the stack creates it (docs/completeness.md).
    await prepareLedgerTable(ingestConfig, awsClients, reconcileLogger);
    const ledger = new LedgerTable(registry.db, ingestConfig.ledgerTable);
    const reconcileDeps: Omit<ReconcileDeps, 'registry'> = {
      clients: topology.reconcileClients(createReconcileClients({ region: SANDBOX.region })),
      config: reconcileConfig,
      logger: reconcileLogger,
      ledger,
    };
    const reconcile = async (mode: RunMode, accountId: string): Promise<AccountReport> => {
      const report = await reconcileAll(registry, reconcileDeps, { mode, accountId });
      return report.accounts[0]!;
    };

    step('reconcile apply on the empty account: the default chain is created');
    const bootstrap = await reconcile('apply', SANDBOX.customerAccount);
    showReport(bootstrap);
    const customer = await customerClients(SANDBOX.customerAccount);
    const trailArn = `arn:aws:cloudtrail:${SANDBOX.region}:${SANDBOX.customerAccount}:trail/${SANDBOX.trailName}`;
    const firstCheck = await topology.checkChain(customer, SANDBOX.customerAccount, trailArn);
    const results: RowResult[] = [
      {
        row: 'empty account',
        findings: bootstrap.findings.map((f) => f.code).join(','),
        actions: bootstrap.actions.map((a) => a.code).join(','),
        held: bootstrap.status === 'repaired' && firstCheck.problems.length === 0,
        note: firstCheck.problems.join('; ') || 'default chain built',
      },
    ];
    detail(
      `chain check: ${firstCheck.problems.length === 0 ? 'trail -> bucket -> topic -> queue holds' : firstCheck.problems.join('; ')}`,
    );

    const ingestLogger = createStderrLogger('warn');
    const tally = new CountTally();
    const ingestDeps = await createIngestDeps(ingestConfig, ingestLogger, tally);
    const expected = new Set<string>();
    let fileSeed = 0;
    let failedMessages = 0;
    /** Poison planted on purpose: each must be in a dead-letter queue at the end, with ingest's reason. */
    let plantedPoison = 0;
    const drain = async () => {
      const totals = await topology.drain(customer, SANDBOX.customerAccount, ingestDeps, ingestLogger);
      await downstream.refresh();
      return totals;
    };

    /** Writes log files into the trail's bucket and announces them as CloudTrail does, then drains the queue. */
    const deliverAndIngest = async (files: number, otherShapes: boolean) => {
      const chain = await topology.checkChain(customer, SANDBOX.customerAccount, trailArn);
      if (!chain.bucket || !chain.topicArn) throw new Error(`chain not usable: ${chain.problems.join('; ')}`);
      const { bucket, topicArn } = chain;
      const send = (body: string) => topology.sendRawTo(customer, SANDBOX.customerAccount, body);
      /**
       * One more log file in the trail's bucket, its records expected downstream. Delivered now, as CloudTrail
       * delivers: freshness (COLLECTION_LAGGING) compares the newest file collected with CloudTrail's latest delivery.
       */
      const putNextFile = async (records: number) => {
        fileSeed += 1;
        const file = await putLogFile(customer.s3, {
          bucket,
          accountId: SANDBOX.customerAccount,
          region: SANDBOX.region,
          seed: fileSeed,
          records,
          time: new Date(),
        });
        file.eventIds.forEach((id) => expected.add(id));
        return file;
      };
      for (let index = 0; index < files; index += 1) {
        const file = await putNextFile(20 + (((fileSeed + 1) * 37) % 280));
        await topology.announce(customer, topicArn, bucket, [file.key]);
      }
      if (otherShapes && topology.topology === 'customer-queue') {
        const shapes: [string, (key: string) => string][] = [
          ['S3 event notification', (key) => s3EventNotification(bucket, key)],
          ['EventBridge Object Created', (key) => eventBridgeObjectCreated(bucket, key)],
          ['raw CloudTrail notification', (key) => JSON.stringify({ s3Bucket: bucket, s3ObjectKey: [key] })],
          ['S3 event inside SNS', (key) => snsEnvelope(s3EventNotification(bucket, key))],
        ];
        for (const [shape, envelope] of shapes) {
          const body = envelope((await putNextFile(50)).key);
          detail(`also sent: ${shape}`);
          await send(body);
        }
        await send(JSON.stringify({ Service: 'Amazon S3', Event: 's3:TestEvent', Bucket: bucket }));
        await send(snsEnvelope('CloudTrail validation message.'));
        detail('also sent: s3:TestEvent and CloudTrail validation message (acknowledged, nothing forwarded)');
      }
      if (otherShapes && topology.topology === 'hub') {
        // A hub queue takes only SNS envelopes, bound to their tenant by the TopicArn SNS sets (docs/reliability.md).
        const fromTopic = (message: string, from = topicArn) => snsNotificationBody({ topicArn: from, message });
        await send(fromTopic(s3EventNotification(bucket, (await putNextFile(50)).key)));
        detail("also sent: S3 event inside SNS from the account's topic");
        await send(fromTopic(JSON.stringify({ Service: 'Amazon S3', Event: 's3:TestEvent', Bucket: bucket })));
        await send(fromTopic('CloudTrail validation message.'));
        detail(
          'also sent: s3:TestEvent and CloudTrail validation message inside SNS (acknowledged, nothing forwarded)',
        );
        const unforwarded = await putNextFile(10);
        unforwarded.eventIds.forEach((id) => expected.delete(id));
        await send(cloudTrailNotification(bucket, [unforwarded.key]));
        const stranger = `arn:aws:sns:${SANDBOX.region}:999988887777:outcomestopic`;
        await send(fromTopic(cloudTrailNotification(bucket, [unforwarded.key]), stranger));
        plantedPoison += 2;
        detail(
          'planted: a raw-delivery body and an envelope from an unregistered topic (poison: dead-lettered, not read)',
        );
      }
      const totals = await drain();
      failedMessages += totals.failed;
      detail(
        `ingest: ${totals.received} messages in ${totals.batches} batches, ${totals.failed} failed; downstream has ${downstream.uniqueRecords} unique records`,
      );
    };

    step(
      `delivering ${options.files} CloudTrail log files with CloudTrail's SNS notifications, plus every other input shape`,
    );
    await deliverAndIngest(options.files, true);

    for (const scenario of DRIFT_SCENARIOS.filter((s) => rows.includes(s.code))) {
      if (topology.notApplicable.has(scenario.code)) {
        step(
          `${scenario.code}: not applicable in the ${topology.topology} topology (no queue in the customer account)`,
        );
        continue;
      }
      step(`${scenario.code}: ${scenario.breaks}`);
      await scenario.apply(customer, {
        accountId: SANDBOX.customerAccount,
        trailName: SANDBOX.trailName,
        region: SANDBOX.region,
      });
      const repaired = await reconcile('apply', SANDBOX.customerAccount);
      showReport(repaired);
      const check = await topology.checkChain(customer, SANDBOX.customerAccount, trailArn);
      const next = await reconcile('plan', SANDBOX.customerAccount);
      const found = repaired.findings.some((finding) => finding.code === scenario.code);
      const allApplied = repaired.actions.every((action) => action.status === 'applied');
      const acted = repaired.actions.length > 0;
      const held =
        found &&
        allApplied &&
        acted === scenario.expectsActions &&
        check.problems.length === 0 &&
        next.actions.length === 0;
      detail(
        `chain check: ${check.problems.length === 0 ? 'holds' : check.problems.join('; ')}; next plan: ${next.actions.length === 0 ? 'no action' : next.actions.map((a) => a.code).join(',')}`,
      );
      results.push({
        row: scenario.code,
        findings: repaired.findings.map((f) => f.code).join(','),
        actions: repaired.actions.map((a) => a.code).join(',') || '-',
        held,
        note: !found
          ? `${scenario.code} not reported`
          : check.problems.join('; ') || (next.actions.length > 0 ? 'next plan not empty' : ''),
      });
    }

    step('tamper: the trail is stopped; its StopLogging record reaches ingest, whose trigger repairs it at once');
    results.push(
      await tamperRepairedByTrigger(customer, trailArn, {
        topology,
        drain,
        expected,
        collectorSqs,
        jobQueueUrl,
        registry,
        worker: {
          ...reconcileDeps,
          registry,
          config: { ...reconcileConfig, cadence: CADENCE_DEFAULTS },
          lease: new RegistryLease(registry.db, registry.tableName),
          publish: () => undefined,
        },
      }),
    );

    step('delivering more files through the repaired chain');
    await deliverAndIngest(Math.max(2, Math.ceil(options.files / 4)), false);

    step('completeness: the subscription removed, files delivered in the gap, the repair, its backfill, the digest');
    results.push(
      await gapAndBackfill(customer, trailArn, { reconcile, expected, topology, drain, ledger, downstream }),
    );

    step(
      `cost guard: account ${SANDBOX.trailOwnerAccount} already has a multi-region trail; no second trail may be created`,
    );
    const owner = await customerClients(SANDBOX.trailOwnerAccount);
    await owner.s3.send(new CreateBucketCommand({ Bucket: `acme-audit-${SANDBOX.trailOwnerAccount}` }));
    await owner.cloudTrail.send(
      new CreateTrailCommand({
        Name: 'acme-audit',
        S3BucketName: `acme-audit-${SANDBOX.trailOwnerAccount}`,
        IsMultiRegionTrail: true,
      }),
    );
    await owner.cloudTrail.send(new StartLoggingCommand({ Name: 'acme-audit' }));
    await register(SANDBOX.trailOwnerAccount);
    const guarded = await reconcile('apply', SANDBOX.trailOwnerAccount);
    showReport(guarded);
    const ownerTrails = (await owner.cloudTrail.send(new DescribeTrailsCommand({}))).trailList ?? [];
    const ownerTrailArn = `arn:aws:cloudtrail:${SANDBOX.region}:${SANDBOX.trailOwnerAccount}:trail/acme-audit`;
    const ownerCheck = await topology.checkChain(owner, SANDBOX.trailOwnerAccount, ownerTrailArn);
    const noSecondTrail = ownerTrails.length === 1 && !guarded.actions.some((action) => action.code === 'CREATE_TRAIL');
    detail(
      `trails in the account after apply: ${ownerTrails.map((t) => t.Name).join(', ')}; chain check: ${ownerCheck.problems.join('; ') || 'holds'}`,
    );
    results.push({
      row: 'cost guard (existing trail)',
      findings: guarded.findings.map((f) => f.code).join(','),
      actions: guarded.actions.map((a) => a.code).join(','),
      held: noSecondTrail && ownerCheck.problems.length === 0,
      note: noSecondTrail ? 'trail reused, no second trail' : 'a second trail was created',
    });

    if (topology.topology === 'hub') {
      step(`a notification on ${SANDBOX.customerAccount}'s topic naming ${SANDBOX.trailOwnerAccount}'s bucket`);
      const foreign = await putLogFile(owner.s3, {
        bucket: `acme-audit-${SANDBOX.trailOwnerAccount}`,
        accountId: SANDBOX.trailOwnerAccount,
        region: SANDBOX.region,
        seed: 7001,
        records: 5,
        time: new Date(),
      });
      const ownTopic = (await topology.checkChain(customer, SANDBOX.customerAccount, trailArn)).topicArn!;
      const message = cloudTrailNotification(`acme-audit-${SANDBOX.trailOwnerAccount}`, [foreign.key]);
      await topology.sendRawTo(customer, SANDBOX.customerAccount, snsNotificationBody({ topicArn: ownTopic, message }));
      plantedPoison += 1;
      const before = downstream.uniqueRecords;
      failedMessages += (await drain()).failed;
      const leaked = foreign.eventIds.filter((id) => downstream.eventIds.has(id)).length;
      detail(`records of the other tenant forwarded: ${leaked} (ingest refuses the key before assuming any role)`);
      results.push({
        row: 'cross-tenant notification',
        findings: '-',
        actions: '-',
        held: leaked === 0 && downstream.uniqueRecords === before,
        note: leaked === 0 ? "refused as poison: the key is not the tenant's" : 'another tenant was read',
      });
    }

    const deadLetters = await topology.deadLetters(customer, SANDBOX.customerAccount);
    for (const reason of deadLetters.reasons) detail(`dead-lettered: ${reason}`);
    const missing = [...expected].filter((id) => !downstream.eventIds.has(id)).length;
    const repairsHeld = results.every((result) => result.held);
    const ok =
      missing === 0 &&
      failedMessages === 0 &&
      downstream.duplicateRecords === 0 &&
      repairsHeld &&
      deadLetters.count === plantedPoison &&
      deadLetters.reasons.length === plantedPoison;
    printResult(
      '\nDrift and repairs\n' +
        formatTable(
          ['ROW', 'FINDINGS', 'ACTIONS', 'HELD', 'NOTE'],
          results.map((result) => [
            result.row,
            result.findings || '-',
            result.actions || '-',
            result.held ? 'yes' : 'NO',
            result.note,
          ]),
        ) +
        '\n\nRecords\n' +
        formatTable(
          ['WHAT', 'COUNT'],
          [
            ['records written to S3', String(expected.size)],
            ['records received downstream (unique eventID)', String(downstream.uniqueRecords)],
            ['records missing', String(missing)],
            ['records duplicated', String(downstream.duplicateRecords)],
            ['messages acknowledged without forwarding', String(tally.get('MessagesIgnored'))],
            ['messages failed', String(failedMessages)],
            [downstream.deliveries.name, String(downstream.deliveries.count)],
            ['dead-letter queue depth (planted poison)', `${deadLetters.count} (${plantedPoison})`],
            ['repairs held', `${results.filter((r) => r.held).length} of ${results.length}`],
            ['total time (s)', ((Date.now() - started) / 1000).toFixed(1)],
          ],
        ) +
        `\n\n${ok ? 'PASS: every record reached the downstream exactly once and every repair held.' : 'FAIL: see the tables above.'}\n`,
    );
    return ok ? EXIT.ok : EXIT.failures;
  } finally {
    if (options.keepRunning && moto) {
      process.stderr.write(
        `emulator left running at ${moto.endpoint} (pid ${moto.process.pid}); stop it with: kill ${moto.process.pid}\n` +
          `the command-line tool finds it by its stack: AWS_ENDPOINT_URL=${moto.endpoint} AWS_REGION=${SANDBOX.region} ` +
          `AWS_ACCESS_KEY_ID=sandbox AWS_SECRET_ACCESS_KEY=sandbox npx cloudtrail-collector status --stack-name ${STACK_IDS.collector}\n`,
      );
      // Let this process exit while the emulator runs on: drop our end of its pipe and stop waiting for it.
      moto.process.stderr?.destroy();
      moto.process.unref();
    } else {
      await moto?.stop();
    }
    await sinkProcess?.stop();
  }
}

interface GapDeps {
  reconcile(mode: RunMode, accountId: string): Promise<AccountReport>;
  expected: Set<string>;
  topology: SandboxTopology;
  drain: () => Promise<{ received: number }>;
  ledger: LedgerTable;
  downstream: SandboxDownstream;
}

/**
 * Issue 15 in the sandbox: the subscription is removed, CloudTrail delivers two files whose notifications reach
 * nobody, reconcile repairs the subscription and backfills the gap, ingest collects the two files, and CloudTrail's
 * signed digest of the hour (written here as CloudTrail would, signed with the test key that the CloudTrail client
 * hands out as ListPublicKeys does: moto has neither) proves every file of the hour collected with its hash.
 */
async function gapAndBackfill(customer: ChainClients, trailArn: string, deps: GapDeps): Promise<RowResult> {
  const chain = await deps.topology.checkChain(customer, SANDBOX.customerAccount, trailArn);
  if (!chain.bucket || !chain.topicArn) throw new Error(`chain not usable: ${chain.problems.join('; ')}`);
  const { bucket, topicArn } = chain;
  const subscriptions = await customer.sns.send(new ListSubscriptionsByTopicCommand({ TopicArn: topicArn }));
  for (const subscription of subscriptions.Subscriptions ?? []) {
    await customer.sns.send(new UnsubscribeCommand({ SubscriptionArn: subscription.SubscriptionArn }));
  }
  const gap: string[] = [];
  for (const seed of [9001, 9002]) {
    const file = await putLogFile(customer.s3, {
      bucket,
      accountId: SANDBOX.customerAccount,
      region: SANDBOX.region,
      seed,
      records: 40,
      time: new Date(),
    });
    file.eventIds.forEach((id) => deps.expected.add(id));
    gap.push(file.key);
    await deps.topology.announce(customer, topicArn, bucket, [file.key]);
  }
  const drain = deps.drain;
  const during = await drain();
  detail(`subscription removed; 2 files delivered, their notifications reached nobody (${during.received} messages)`);

  const repaired = await deps.reconcile('apply', SANDBOX.customerAccount);
  showReport(repaired);
  const backfilled = repaired.actions.some((a) => a.code === 'BACKFILL' && a.status === 'applied');
  const before = deps.downstream.uniqueRecords;
  const after = await drain();
  detail(
    `ingest after the backfill: ${after.received} message(s), ${deps.downstream.uniqueRecords - before} records of the gap`,
  );

  // CloudTrail's digest of this hour: every log file delivered in it, with the SHA-256 of its uncompressed bytes.
  const hourStart = new Date();
  hourStart.setUTCMinutes(0, 0, 0);
  const hourEnd = new Date(hourStart.getTime() + 3_600_000);
  const listed: ListedLogFile[] = [];
  const prefix = `AWSLogs/${SANDBOX.customerAccount}/CloudTrail/${SANDBOX.region}/`;
  let token: string | undefined;
  do {
    const page = await customer.s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
    );
    for (const object of page.Contents ?? []) {
      const delivered = deliveryTimeOf(object.Key!);
      if (delivered === undefined || delivered < hourStart || delivered >= hourEnd) continue;
      const body = await customer.s3.send(new GetObjectCommand({ Bucket: bucket, Key: object.Key! }));
      listed.push(listedLogFile(bucket, object.Key!, await body.Body!.transformToByteArray()));
    }
    token = page.NextContinuationToken;
  } while (token);
  const writer = new DigestChainWriter({ bucket, accountId: SANDBOX.customerAccount, region: SANDBOX.region });
  await putDigest(customer.s3, writer.next(new Date(hourEnd.getTime() + 90_000), listed));

  const verifyDeps = await verifyDepsFromEnv();
  const report = await runVerify(
    { accountId: SANDBOX.customerAccount, since: hourStart.toISOString(), until: hourEnd.toISOString(), json: true },
    {
      ...verifyDeps,
      async clientsFor(record) {
        const inner = await verifyDeps.clientsFor(record);
        return { ...inner, cloudTrail: (region) => publicKeysClient([testSigningKey()], inner.cloudTrail(region)) };
      },
    },
  );
  const { logFiles, digests } = report;
  const proven = isComplete(report) && digests.read > 0 && logFiles.collected === logFiles.listedInDigests;
  detail(
    `verify ${hourStart.toISOString()}..${hourEnd.toISOString()}: ${logFiles.collected} of ${logFiles.listedInDigests} ` +
      `listed files collected with their hash (${logFiles.listedInDigests === 0 ? 0 : Math.round((100 * logFiles.collected) / logFiles.listedInDigests)}%), ` +
      `${logFiles.notCollected.length} not collected, ${logFiles.hashMismatch.length} hash mismatches; ` +
      `${digests.signatureValid} of ${digests.read} digest signature(s) valid`,
  );
  const gapCollected = gap.every((key) => listed.some((file) => file.key === key));
  return {
    row: 'gap backfill + verify',
    findings: repaired.findings.map((f) => f.code).join(','),
    actions: repaired.actions.map((a) => a.code).join(','),
    held: backfilled && proven && gapCollected,
    note: !backfilled
      ? 'no BACKFILL applied'
      : proven
        ? `verify: ${logFiles.collected} of ${logFiles.listedInDigests} files, 100%`
        : 'verify found files missing',
  };
}

/** The stack outputs (lib/collector.stack.ts names) for the settings the sandbox gives its topology. */
function stackOutputsOf(env: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(OUTPUT_VARIABLES).flatMap(([output, variable]) =>
      env[variable] !== undefined ? [[output, env[variable]]] : [],
    ),
  );
}

interface TamperDeps {
  topology: SandboxTopology;
  drain: () => Promise<{ received: number }>;
  expected: Set<string>;
  collectorSqs: SQSClient;
  jobQueueUrl: string;
  worker: WorkerDeps;
  registry: Pick<AccountsRegistry, 'get'>;
}

/**
 * Issue 14 in the sandbox: the customer stops the trail; CloudTrail's next log file holds the StopLogging record
 * (written here as CloudTrail would: moto delivers no log files); ingest forwards it and its tamper trigger sends
 * the account's job (lambdas/ingest/source/tamper-triggers.ts); the reconcile worker runs the job as the job
 * queue's mapping would (lambdas/reconcile/worker.ts) and logging is on again, with no scheduled run in between.
 */
async function tamperRepairedByTrigger(customer: ChainClients, trailArn: string, deps: TamperDeps): Promise<RowResult> {
  const started = Date.now();
  const chain = await deps.topology.checkChain(customer, SANDBOX.customerAccount, trailArn);
  if (!chain.bucket || !chain.topicArn) throw new Error(`chain not usable: ${chain.problems.join('; ')}`);
  // By name: moto 5.2.1 ignores StopLogging given a trail ARN, while CloudTrail accepts either.
  await customer.cloudTrail.send(new StopLoggingCommand({ Name: SANDBOX.trailName }));
  const records = [
    ...generateRecords(4, { accountId: SANDBOX.customerAccount, region: SANDBOX.region, seed: 1414 }),
    tamperRecord({
      accountId: SANDBOX.customerAccount,
      region: SANDBOX.region,
      eventSource: 'cloudtrail.amazonaws.com',
      eventName: 'StopLogging',
      requestParameters: { name: SANDBOX.trailName },
    }),
  ];
  const key = logFileKey({
    accountId: SANDBOX.customerAccount,
    region: SANDBOX.region,
    time: new Date(),
    unique: 'tamper-stoplogging',
  });
  await customer.s3.send(new PutObjectCommand({ Bucket: chain.bucket, Key: key, Body: logFileBody(records) }));
  records.forEach((record) => deps.expected.add(record.eventID as string));
  await deps.topology.announce(customer, chain.topicArn, chain.bucket, [key]);
  await deps.drain();

  // The job, once its debounce delay is over (long polling).
  const received = await receiveJobs(deps.collectorSqs, deps.jobQueueUrl, { attempts: 5, waitSeconds: 2 });
  const messages = received.map(({ message }) => message);
  const jobs = received.map(({ job }) => job);
  detail(
    `jobs sent by the trigger: ${jobs.map((job) => `${job.accountId} ${job.reason} (${job.trigger?.eventName ?? '-'} via ${job.trigger?.via ?? '-'})`).join(', ') || 'none'}`,
  );
  const result = await runJobMessages(messages, deps.worker, 'sandbox-worker');
  for (const message of messages) {
    await deps.collectorSqs.send(
      new DeleteMessageCommand({ QueueUrl: deps.jobQueueUrl, ReceiptHandle: message.ReceiptHandle! }),
    );
  }
  const logging = (await customer.cloudTrail.send(new GetTrailStatusCommand({ Name: trailArn }))).IsLogging === true;
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  detail(`trail logging again: ${logging ? 'yes' : 'NO'}, ${seconds} s after StopLogging, no scheduled run in between`);
  const triggered = jobs.some((job) => job.reason === 'trigger' && job.trigger?.eventName === 'StopLogging');
  // What the job's run found and did, as it recorded them on the account.
  const recorded = await deps.registry.get(SANDBOX.customerAccount);
  const codes = (items: unknown[] | undefined) =>
    (items ?? []).map((item) => (item as { code?: string }).code ?? '?').join(',') || '-';
  return {
    row: 'tamper -> trigger -> repair',
    findings: codes(recorded?.findings),
    actions: codes(recorded?.actions),
    held: triggered && logging && result.batchItemFailures.length === 0,
    note: logging ? `repaired ${seconds} s after the StopLogging call` : 'logging is still off',
  };
}
