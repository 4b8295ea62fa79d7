import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { renderPermissionsDoc } from '../../lib/generated-files';
import { GENERATED_FILES } from '../../lib/names';
import {
  OPERATIONS,
  actionsFor,
  statementsFor,
  type OperationName,
  type OperationSpec,
  type Principal,
} from '../../lib/permissions';
import { ROOT, reachableFrom, scanCallSites, sourceFiles, type CallSite } from './code-scan';

/** Each role's Lambda entry points: the reconcile role runs the sweep and the worker (lib/collector.stack.ts). */
const HANDLERS = {
  ingest: ['lambdas/ingest/handler.ts'],
  reconcile: ['lambdas/reconcile/handler.ts', 'lambdas/reconcile/worker-handler.ts'],
} as const;
/** The files the role's handlers reach. */
const reachableBy = (principal: keyof typeof HANDLERS): Set<string> =>
  new Set(HANDLERS[principal].flatMap((entry) => [...reachableFrom(entry)]));
const operations = Object.entries(OPERATIONS) as [OperationName, OperationSpec][];
const sdkOperations = operations.filter(([, spec]) => !spec.platform).map(([name]) => name as string);

describe('the permission map against the code', () => {
  let sites: CallSite[];
  let sent: Map<string, string[]>;
  /** What the command-line tool (bin/) sends with the operator's own credentials, such as `dlq redrive`. */
  let sentByCli: Map<string, string[]>;

  beforeAll(() => {
    sites = scanCallSites();
    sent = new Map();
    for (const site of sites) sent.set(site.operation, [...(sent.get(site.operation) ?? []), site.file]);
    sentByCli = new Map();
    for (const site of scanCallSites(sourceFiles(path.join(ROOT, 'bin')))) {
      sentByCli.set(site.operation, [...(sentByCli.get(site.operation) ?? []), site.file]);
    }
  });

  test('the scan finds the operations of both functions (sanity check of the scanner)', () => {
    for (const operation of ['S3.GetObject', 'STS.AssumeRole', 'CloudTrail.DescribeTrails', 'DynamoDB.GetItem']) {
      expect(sent.has(operation)).toBe(true);
    }
  });

  test('the scanner reads value imports of commands and paginators, and skips type-only imports', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'scan-'));
    try {
      const file = path.join(dir, 'sample.ts');
      writeFileSync(
        file,
        [
          "import { PutObjectCommand, type GetObjectCommandOutput, paginateListObjectsV2 } from '@aws-sdk/client-s3';",
          "import type { SendMessageCommand } from '@aws-sdk/client-sqs';",
          "import { QueryCommand as Q } from '@aws-sdk/lib-dynamodb';",
        ].join('\n'),
      );
      expect(scanCallSites([file]).map((site) => site.operation)).toEqual([
        'S3.PutObject',
        'S3.ListObjectsV2',
        'DynamoDB.Query',
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('every AWS command the code sends is granted by the map', () => {
    const missing = [...sent.entries()]
      .filter(([operation]) => !(operation in OPERATIONS))
      .map(([operation, files]) => `${operation} (sent from ${[...new Set(files)].join(', ')})`);
    expect(missing).toEqual([]);
  });

  test('every operation the map grants is sent by some code (platform operations aside)', () => {
    const operatorOnly = (operation: string) =>
      (OPERATIONS as Record<string, OperationSpec>)[operation]!.grants.every((grant) => grant.principal === 'operator');
    const unused = sdkOperations.filter(
      (operation) => !sent.has(operation) && !(operatorOnly(operation) && sentByCli.has(operation)),
    );
    expect(unused).toEqual([]);
  });

  test('an operation of the map that only the command-line tool sends is granted to the operator', () => {
    expect(sentByCli.has('SQS.StartMessageMoveTask')).toBe(true);
    const wrong = [...sentByCli.keys()]
      .filter((operation) => operation in OPERATIONS && !sent.has(operation))
      .filter(
        (operation) =>
          !(OPERATIONS as Record<string, OperationSpec>)[operation]!.grants.some(
            (grant) => grant.principal === 'operator',
          ),
      );
    expect(wrong).toEqual([]);
  });

  test("an operation granted to a collector role is sent from code that role's handler runs", () => {
    const wrong: string[] = [];
    for (const principal of ['ingest', 'reconcile'] as const) {
      const reachable = reachableBy(principal);
      for (const [name, spec] of operations) {
        if (spec.platform || !spec.grants.some((grant) => grant.principal === principal)) continue;
        const files = sent.get(name) ?? [];
        if (!files.some((file) => reachable.has(file)))
          wrong.push(`${name} is granted to ${principal}, sent only from ${files.join(', ')}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  test("an operation only one handler's code sends is granted to that handler's role or to the customer role", () => {
    const reach = { ingest: reachableBy('ingest'), reconcile: reachableBy('reconcile') };
    const wrong: string[] = [];
    for (const [operation, files] of sent) {
      const spec = (OPERATIONS as Record<string, OperationSpec>)[operation];
      if (spec === undefined) continue;
      for (const principal of ['ingest', 'reconcile'] as const) {
        const other = principal === 'ingest' ? 'reconcile' : 'ingest';
        const only = files.every((file) => reach[principal].has(file) && !reach[other].has(file));
        const allowed: Principal[] = [principal, 'customer'];
        if (only && !spec.grants.some((grant) => allowed.includes(grant.principal))) {
          wrong.push(
            `${operation} is sent only by ${principal} code but granted to ${spec.grants.map((g) => g.principal).join(', ')}`,
          );
        }
      }
    }
    expect(wrong).toEqual([]);
  });

  test('every operation has a reason and well-formed IAM actions', () => {
    for (const [name, spec] of operations) {
      for (const grant of spec.grants) {
        expect(grant.actions.length).toBeGreaterThan(0);
        for (const action of grant.actions) expect(action).toMatch(/^[a-z0-9-]+:[A-Z][A-Za-z]+$/);
      }
      expect(spec.why.length).toBeGreaterThan(10);
      expect(name).toMatch(/^[A-Za-z0-9]+\.[A-Z][A-Za-z0-9]+$/);
    }
  });

  test('the collector roles get only the actions they need, and never a customer-side write', () => {
    // sqs:SendMessage: ingest only to the hub DLQs; reconcile only to its failure queue, its job queue and (hub) the
    // backfill queue. reconcile's sqs:ReceiveMessage, DeleteMessage, ChangeMessageVisibility: the job queue only.
    // The sns: subscription actions of reconcile act on the hub subscriptions it owns (the customer's topic policy
    // must allow Subscribe). dynamodb:BatchWriteItem of ingest and Query of reconcile: the ledger table only.
    // firehose:PutRecordBatch: only with sink.type firehose, on its one stream (the stack leaves it out otherwise).
    expect(actionsFor('ingest')).toEqual([
      'dynamodb:BatchWriteItem',
      'dynamodb:GetItem',
      'dynamodb:UpdateItem',
      'firehose:PutRecordBatch',
      'logs:CreateLogStream',
      'logs:PutLogEvents',
      'secretsmanager:GetSecretValue',
      'sqs:ChangeMessageVisibility',
      'sqs:DeleteMessage',
      'sqs:GetQueueAttributes',
      'sqs:ReceiveMessage',
      'sqs:SendMessage',
      'sts:AssumeRole',
    ]);
    expect(actionsFor('reconcile')).toEqual([
      'dynamodb:GetItem',
      'dynamodb:Query',
      'dynamodb:Scan',
      'dynamodb:UpdateItem',
      'lambda:CreateEventSourceMapping',
      'lambda:DeleteEventSourceMapping',
      'lambda:ListEventSourceMappings',
      'lambda:UpdateEventSourceMapping',
      'logs:CreateLogStream',
      'logs:PutLogEvents',
      'sns:GetSubscriptionAttributes',
      'sns:SetSubscriptionAttributes',
      'sns:Subscribe',
      'sns:Unsubscribe',
      'sqs:ChangeMessageVisibility',
      'sqs:DeleteMessage',
      'sqs:GetQueueAttributes',
      'sqs:ReceiveMessage',
      'sqs:SendMessage',
      'sts:AssumeRole',
    ]);
    // The customer-queue topology leaves out what only the hub needs (sqs:GetQueueAttributes stays, for the job
    // queue's mapping only).
    // ingest's sqs:SendMessage there: the tamper triggers' jobs and their events' on-failure destination only.
    expect(
      statementsFor('ingest', undefined, 'customer-queue')
        .filter((statement) => statement.actions.includes('sqs:SendMessage'))
        .map((statement) => statement.scope)
        .sort(),
    ).toEqual(['reconcileFailureQueue', 'reconcileJobQueue']);
    expect(actionsFor('reconcile', undefined, 'customer-queue')).toEqual(
      expect.not.arrayContaining(['sns:Subscribe', 'sns:SetSubscriptionAttributes']),
    );
    const queueReads = statementsFor('reconcile', undefined, 'customer-queue').filter((statement) =>
      statement.actions.includes('sqs:GetQueueAttributes'),
    );
    expect(queueReads.map((statement) => statement.scope)).toEqual(['reconcileJobQueue']);
    expect(actionsFor('customer', undefined, 'hub')).toEqual(actionsFor('customer', undefined, 'customer-queue'));
  });

  test(`${GENERATED_FILES.permissionsDoc} is generated from the map (run \`npm run generate\` after changing it)`, () => {
    const committed = readFileSync(path.join(ROOT, GENERATED_FILES.permissionsDoc), 'utf8');
    expect(committed).toEqual(renderPermissionsDoc());
  });
});
