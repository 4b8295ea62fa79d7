/**
 * `dlq list` and `dlq redrive`: the dead-letter queues of both ingest topologies (docs/reliability.md), and
 * moving their messages back with SQS's own message move task.
 *
 * - hub: each hub queue's DLQ (`<hub queue>-dlq`, lambdas/shared/topology.ts) in the collector account, read and
 *   redriven with the CLI's own credentials. The destination is always given (the DLQ's hub queue): ingest puts
 *   poison messages there itself with SendMessage, and SQS can only send a message back to "its original source
 *   queue" when SQS itself dead-lettered it (SQS API Reference, StartMessageMoveTask: DestinationArn).
 * - customer-queue: each registered account's `outcomesqueue-dlq`, through the customer role. The role template
 *   does not grant sqs:StartMessageMoveTask (the collector never moves messages in a customer account on its
 *   own), so redrive there fails with AccessDenied and says what the customer can run instead.
 *
 * StartMessageMoveTask moves messages only out of a queue that is the dead-letter queue of another SQS queue, and
 * one task per queue at a time; its rate is at most 500 messages a second (SQS API Reference). moto does not
 * implement it: the tests model it (test/unit/dlq-command.test.ts says so).
 */
import {
  GetQueueAttributesCommand,
  ListMessageMoveTasksCommand,
  StartMessageMoveTaskCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { arnParts, partitionOf, queueArn, queueUrlFromArn, roleArn } from '../../lambdas/shared/arn';
import { awsClients } from '../../lambdas/shared/aws-clients';
import { loadCommonConfig } from '../../lambdas/shared/config';
import { AssumedRoleCredentialCache, type RoleTarget } from '../../lambdas/shared/credentials';
import { PermanentInputError, errorMessage } from '../../lambdas/shared/errors';
import type { AccountRecord, AccountsRegistry } from '../../lambdas/shared/registry';
import { hubDeadLetterQueueArn, loadHubQueueArns } from '../../lambdas/shared/topology';
import { CHAIN_NAMES } from '../../lambdas/reconcile/names';
import { registryFromEnv } from './accounts';
import { EXIT, formatTable, printJson, printResult } from './output';
import { progressLine, type ProgressLine } from './progress';

type Sqs = Pick<SQSClient, 'send'>;

/** One dead-letter queue, where its messages go back to, and how to reach it. */
export interface DeadLetterQueue {
  arn: string;
  /** Where a redrive sends its messages: the hub queue, or the account's outcomesqueue. */
  destinationArn: string;
  topology: 'hub' | 'customer-queue';
  /** The customer account (customer-queue) or the collector account (hub). */
  accountId: string;
  shard?: number;
}

export interface DeadLetterQueueState extends DeadLetterQueue {
  messages?: number;
  /** The newest message move task of the queue, when SQS reports one. */
  task?: { status: string; moved: number; toMove?: number };
  /** Why the queue could not be read (AccessDenied, not found, ...). */
  error?: string;
}

export interface DlqDeps {
  /** The SQS client for a queue: the CLI's own for the hub, the customer role's for a customer queue. */
  sqsFor(queue: DeadLetterQueue, record?: AccountRecord): Promise<Sqs>;
  endpointUrl?: string;
}

/** Every dead-letter queue of the deployment: the hub DLQs, then each customer-queue account's DLQ. */
export function deadLetterQueues(
  hubQueueArns: readonly string[],
  accounts: readonly AccountRecord[],
): DeadLetterQueue[] {
  const hub = hubQueueArns.map((hubArn, shard): DeadLetterQueue => ({
    arn: hubDeadLetterQueueArn(hubArn),
    destinationArn: hubArn,
    topology: 'hub',
    accountId: arnParts(hubArn).accountId,
    shard,
  }));
  const customer = accounts
    .filter((account) => account.ingestTopology !== 'hub' && account.queueArn !== undefined)
    .map((account): DeadLetterQueue => {
      const { region, accountId } = arnParts(account.queueArn!);
      return {
        arn: queueArn(region, accountId, CHAIN_NAMES.dlq),
        destinationArn: account.queueArn!,
        topology: 'customer-queue',
        accountId: account.accountId,
      };
    });
  return [...hub, ...customer];
}

/** Depth and the newest move task of each queue; a queue that cannot be read says why and does not stop the rest. */
export async function describeDeadLetterQueues(
  queues: readonly DeadLetterQueue[],
  records: ReadonlyMap<string, AccountRecord>,
  deps: DlqDeps,
): Promise<DeadLetterQueueState[]> {
  const states: DeadLetterQueueState[] = [];
  for (const queue of queues) {
    try {
      const sqs = await deps.sqsFor(queue, records.get(queue.accountId));
      const attributes = await sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: queueUrlFromArn(queue.arn, deps.endpointUrl),
          AttributeNames: ['ApproximateNumberOfMessages'],
        }),
      );
      const task = await newestTask(sqs, queue.arn);
      states.push({
        ...queue,
        messages: Number(attributes.Attributes?.ApproximateNumberOfMessages ?? 0),
        ...(task ? { task } : {}),
      });
    } catch (error) {
      states.push({ ...queue, error: describeFailure(error) });
    }
  }
  return states;
}

async function newestTask(sqs: Sqs, sourceArn: string): Promise<DeadLetterQueueState['task']> {
  try {
    const tasks = await sqs.send(new ListMessageMoveTasksCommand({ SourceArn: sourceArn, MaxResults: 1 }));
    const task = tasks.Results?.[0];
    if (!task?.Status) return undefined;
    return {
      status: task.Status,
      moved: task.ApproximateNumberOfMessagesMoved ?? 0,
      ...(task.ApproximateNumberOfMessagesToMove !== undefined
        ? { toMove: task.ApproximateNumberOfMessagesToMove }
        : {}),
    };
  } catch {
    // Listing tasks is extra information: a role that may read the queue but not list its tasks still lists it.
    return undefined;
  }
}

export type RedriveOutcome =
  | { queue: string; result: 'started'; taskHandle: string; messages: number }
  | { queue: string; result: 'skipped'; reason: string }
  | { queue: string; result: 'failed'; error: string };

/**
 * Starts one message move task per non-empty DLQ, at `maxPerSecond` messages a second each, one queue at a time.
 * An empty queue, or one whose task is still running, is skipped; a failure is reported and the rest go on.
 */
export async function redriveDeadLetterQueues(
  states: readonly DeadLetterQueueState[],
  records: ReadonlyMap<string, AccountRecord>,
  options: { maxPerSecond: number; dryRun: boolean; progress?: ProgressLine },
  deps: DlqDeps,
): Promise<RedriveOutcome[]> {
  if (!Number.isInteger(options.maxPerSecond) || options.maxPerSecond < 1 || options.maxPerSecond > 500) {
    throw new PermanentInputError(`--max-per-second must be 1-500 (the SQS maximum), got ${options.maxPerSecond}`);
  }
  const outcomes: RedriveOutcome[] = [];
  for (const state of states) {
    options.progress?.update({
      done: outcomes.length,
      total: states.length,
      failed: outcomes.filter((outcome) => outcome.result === 'failed').length,
    });
    if (state.error !== undefined) {
      outcomes.push({ queue: state.arn, result: 'failed', error: `cannot read the queue: ${state.error}` });
      continue;
    }
    if (!state.messages) {
      outcomes.push({ queue: state.arn, result: 'skipped', reason: 'empty' });
      continue;
    }
    if (state.task?.status === 'RUNNING' || state.task?.status === 'CANCELLING') {
      outcomes.push({ queue: state.arn, result: 'skipped', reason: `a move task is ${state.task.status}` });
      continue;
    }
    if (options.dryRun) {
      outcomes.push({ queue: state.arn, result: 'skipped', reason: `dry run: would move ${state.messages}` });
      continue;
    }
    try {
      const sqs = await deps.sqsFor(state, records.get(state.accountId));
      const started = await sqs.send(
        new StartMessageMoveTaskCommand({
          SourceArn: state.arn,
          DestinationArn: state.destinationArn,
          MaxNumberOfMessagesPerSecond: options.maxPerSecond,
        }),
      );
      outcomes.push({
        queue: state.arn,
        result: 'started',
        taskHandle: started.TaskHandle ?? '',
        messages: state.messages,
      });
    } catch (error) {
      outcomes.push({ queue: state.arn, result: 'failed', error: redriveFailure(state, error) });
    }
  }
  return outcomes;
}

function describeFailure(error: unknown): string {
  const name = (error as { name?: string }).name;
  return name && name !== 'Error' ? `${name}: ${errorMessage(error)}` : errorMessage(error);
}

function redriveFailure(queue: DeadLetterQueue, error: unknown): string {
  const text = describeFailure(error);
  if (queue.topology === 'customer-queue' && /AccessDenied/i.test(text)) {
    return (
      `${text} — the customer role does not allow sqs:StartMessageMoveTask; in account ${queue.accountId} run ` +
      `aws sqs start-message-move-task --source-arn ${queue.arn} --destination-arn ${queue.destinationArn}`
    );
  }
  return text;
}

/** The real clients: the CLI's own credentials for hub queues, the customer role (with its ExternalId) otherwise. */
function dlqDepsFromEnv(): DlqDeps {
  const config = loadCommonConfig();
  const own = awsClients.sqs({ region: config.region });
  const credentials = new AssumedRoleCredentialCache(awsClients.sts({ region: config.region }), {
    sessionName: 'cloudtrail-collector-dlq',
  });
  return {
    ...(config.endpointUrl !== undefined ? { endpointUrl: config.endpointUrl } : {}),
    async sqsFor(queue, record) {
      if (queue.topology === 'hub') return own;
      if (!record) throw new PermanentInputError(`account ${queue.accountId} is not registered`);
      const { region } = arnParts(queue.arn);
      const target: RoleTarget = {
        accountId: record.accountId,
        roleArn: roleArn(partitionOf(region), record.accountId, record.roleName ?? config.customerRoleName),
        externalId: record.externalId,
      };
      await credentials.credentialsFor(target);
      return awsClients.sqs({ region, credentials: credentials.providerFor(target) });
    },
  };
}

async function loadQueues(
  registry: Pick<AccountsRegistry, 'list'>,
  filter: { accountId?: string; queueArn?: string },
): Promise<{ queues: DeadLetterQueue[]; records: Map<string, AccountRecord> }> {
  const accounts = await registry.list();
  const records = new Map(accounts.map((account) => [account.accountId, account]));
  let queues = deadLetterQueues(loadHubQueueArns(process.env), accounts);
  if (filter.accountId !== undefined) queues = queues.filter((queue) => queue.accountId === filter.accountId);
  if (filter.queueArn !== undefined) {
    queues = queues.filter((queue) => queue.arn === filter.queueArn);
    if (queues.length === 0) {
      throw new PermanentInputError(
        `--queue-arn ${filter.queueArn} is not one of this deployment's dead-letter queues`,
      );
    }
  }
  return { queues, records };
}

export async function dlqList(options: { accountId?: string; json?: boolean }): Promise<number> {
  const { queues, records } = await loadQueues(registryFromEnv(), options);
  const states = await describeDeadLetterQueues(queues, records, dlqDepsFromEnv());
  if (options.json) printJson(states);
  else {
    printResult(
      formatTable(
        ['QUEUE', 'TOPOLOGY', 'ACCOUNT', 'MESSAGES', 'MOVE TASK'],
        states.map((state) => [
          state.arn,
          state.topology + (state.shard !== undefined ? ` #${state.shard}` : ''),
          state.accountId,
          state.error !== undefined ? `error: ${state.error}` : String(state.messages ?? 0),
          state.task ? `${state.task.status} ${state.task.moved}/${state.task.toMove ?? '?'}` : '-',
        ]),
      ),
    );
  }
  return states.some((state) => state.error !== undefined) ? EXIT.failures : EXIT.ok;
}

export async function dlqRedrive(options: {
  accountId?: string;
  queueArn?: string;
  all?: boolean;
  maxPerSecond: number;
  dryRun?: boolean;
  json?: boolean;
}): Promise<number> {
  if (options.all !== true && options.accountId === undefined && options.queueArn === undefined) {
    throw new PermanentInputError('dlq redrive needs --queue-arn ARN, --account-id ID or --all');
  }
  const { queues, records } = await loadQueues(registryFromEnv(), options);
  const deps = dlqDepsFromEnv();
  const states = await describeDeadLetterQueues(queues, records, deps);
  const progress = progressLine('dlq redrive', 'queues');
  const outcomes = await redriveDeadLetterQueues(
    states,
    records,
    { maxPerSecond: options.maxPerSecond, dryRun: options.dryRun === true, progress },
    deps,
  );
  progress.update({
    done: outcomes.length,
    total: outcomes.length,
    failed: outcomes.filter((outcome) => outcome.result === 'failed').length,
  });
  progress.finish();
  if (options.json) printJson(outcomes);
  else {
    printResult(
      formatTable(
        ['QUEUE', 'RESULT', 'DETAIL'],
        outcomes.map((outcome) => [
          outcome.queue,
          outcome.result,
          outcome.result === 'started'
            ? `${outcome.messages} messages, task ${outcome.taskHandle}`
            : outcome.result === 'skipped'
              ? outcome.reason
              : outcome.error,
        ]),
      ),
    );
  }
  return outcomes.some((outcome) => outcome.result === 'failed') ? EXIT.failures : EXIT.ok;
}
