/**
 * Issue 17, must show 2: the command-line tool configured by nothing but --stack-name (or CLOUDTRAIL_COLLECTOR_STACK).
 * A CloudFormation stack in the emulator stands in for the collector stack: it creates the registry table (whose
 * name CloudFormation generates, as in AWS) and has the outputs the CLI reads (lib/collector.stack.ts). `accounts
 * add`, `plan`, `apply` and `status` then run without ACCOUNTS_TABLE or any other variable, and `apply` writes with
 * the deployed settings (the customer queue's visibility timeout is 6 x the stack's INGEST_TIMEOUT_SECONDS), while a
 * differing INGEST_TIMEOUT_SECONDS in the environment makes `apply` refuse and `plan` only warn.
 */
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { runCli } from '../../testkit/cli';
import { createEmulatorCollectorStack } from '../../testkit/emulator-stack';
import { CUSTOMER, tenantClients } from '../../testkit/reconcile-env';
import { REGION, useEmulator } from '../../testkit/test-emulator';

const STACK = 'CollectorUnderTest';
const INGEST_TIMEOUT_SECONDS = 300;

/** The outputs the emulator's stand-in for the collector stack has besides AccountsTableName. */
const OUTPUTS = {
  IngestTopology: 'customer-queue',
  IngestRoleArn: 'arn:aws:iam::123456789012:role/cloudtrail-collector-ingest',
  ReconcileRoleArn: 'arn:aws:iam::123456789012:role/cloudtrail-collector-reconcile',
  TemplateBucketUrl: 'https://templates.example.test/cloudtrail-collector',
  ReconcileSettings: JSON.stringify({
    CUSTOMER_ROLE_NAME: 'CloudTrailCollectorRole',
    INGEST_TIMEOUT_SECONDS: String(INGEST_TIMEOUT_SECONDS),
    RECONCILE_CONCURRENCY: '4',
    ESM_MAXIMUM_CONCURRENCY: '2',
  }),
};

/** Only the emulator's endpoint, region and dummy credentials: no collector variable at all. */
const NOTHING_BUT_AWS = {
  ACCOUNTS_TABLE: undefined,
  LEDGER_TABLE: undefined,
  INGEST_TIMEOUT_SECONDS: undefined,
  INGEST_TOPOLOGY: undefined,
  CLOUDTRAIL_COLLECTOR_STACK: undefined,
  COLLECTOR_ACCOUNT_ID: undefined,
  TEMPLATE_BUCKET_URL: undefined,
};

async function queueVisibilityTimeout(): Promise<string | undefined> {
  const customer = await tenantClients(CUSTOMER);
  const url = `${process.env.AWS_ENDPOINT_URL}/${CUSTOMER}/outcomesqueue`;
  const answer = await customer.sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['VisibilityTimeout'] }),
  );
  return answer.Attributes?.VisibilityTimeout;
}

describe('the command-line tool reads its deployment from the stack', () => {
  let tableName: string;

  beforeEach(async () => {
    const endpoint = await useEmulator();
    const outputs = await createEmulatorCollectorStack({
      endpoint,
      region: REGION,
      stackName: STACK,
      outputs: OUTPUTS,
    });
    tableName = outputs.AccountsTableName!;
  });

  test('accounts add, plan, apply and status with only --stack-name; apply writes the deployed settings', async () => {
    // A generated name, as in AWS: nobody could have exported it as a fixed ACCOUNTS_TABLE.
    expect(tableName).not.toBe('cloudtrail-collector-accounts');

    const add = await runCli(
      ['accounts', 'add', '--account-id', CUSTOMER, '--stack-name', STACK, '--json'],
      NOTHING_BUT_AWS,
    );
    expect(add.stderr).not.toContain('cloudtrail-collector:');
    expect(add.code).toBe(0);
    // The quick-create link is built on the stack's TemplateBucketUrl output.
    expect(add.stdout).toContain('templates.example.test');

    const plan = await runCli(['plan', '--stack-name', STACK, '--json'], NOTHING_BUT_AWS);
    expect(plan.code).toBe(1); // the empty account has findings a plan leaves open
    expect(JSON.parse(plan.stdout)).toMatchObject({ mode: 'plan', accounts: [{ accountId: CUSTOMER }] });

    // The stack named by the environment variable instead of the option: the same deployment.
    const apply = await runCli(['apply', '--json'], { ...NOTHING_BUT_AWS, CLOUDTRAIL_COLLECTOR_STACK: STACK });
    expect(JSON.parse(apply.stdout)).toMatchObject({ accounts: [{ accountId: CUSTOMER, status: 'repaired' }] });
    // reconcile sets 6 x INGEST_TIMEOUT_SECONDS: the stack's 300 s, not the CLI's default of 60 s.
    expect(await queueVisibilityTimeout()).toBe(String(6 * INGEST_TIMEOUT_SECONDS));

    const status = await runCli(['status', '--stack-name', STACK], NOTHING_BUT_AWS);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(new RegExp(`${CUSTOMER}\\s+apply\\s+repaired`));

    // What it read, as shell lines for a run whose credentials cannot read the stack.
    const deployment = await runCli(['deployment', '--stack-name', STACK], NOTHING_BUT_AWS);
    expect(deployment.stdout.split('\n')).toEqual(
      expect.arrayContaining([`export ACCOUNTS_TABLE='${tableName}'`, "export INGEST_TIMEOUT_SECONDS='300'"]),
    );
  });

  test('a write with a setting that differs from the deployed one is refused, naming it; a read warns', async () => {
    await runCli(['accounts', 'add', '--account-id', CUSTOMER, '--stack-name', STACK], NOTHING_BUT_AWS);
    const differing = { ...NOTHING_BUT_AWS, INGEST_TIMEOUT_SECONDS: '30' };

    const apply = await runCli(['apply', '--stack-name', STACK], differing);
    expect(apply.code).toBe(2);
    expect(apply.stderr).toContain(
      `refusing to write with settings that differ from the deployed collector: INGEST_TIMEOUT_SECONDS is "30" here but "300" in stack ${STACK} (customer queues would get a visibility timeout of 180 s instead of 1800 s)`,
    );
    expect(apply.stdout).toBe('');
    // Nothing was written: the account's queue does not exist yet.
    await expect(queueVisibilityTimeout()).rejects.toThrow();

    const plan = await runCli(['plan', '--stack-name', STACK, '--json'], differing);
    expect(plan.stderr).toContain('note: INGEST_TIMEOUT_SECONDS is "30" here but "300"');
    expect(JSON.parse(plan.stdout)).toMatchObject({ mode: 'plan' });

    // The same value as deployed is no difference.
    const same = await runCli(['apply', '--stack-name', STACK, '--json'], {
      ...differing,
      INGEST_TIMEOUT_SECONDS: '300',
    });
    expect(JSON.parse(same.stdout)).toMatchObject({ accounts: [{ status: 'repaired' }] });
  });

  test('a stack that does not exist is a configuration error naming it (exit 2)', async () => {
    const missing = await runCli(['status', '--stack-name', 'NoSuchStack'], NOTHING_BUT_AWS);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(`stack NoSuchStack not found in ${REGION}`);
    // No stack named and no ACCOUNTS_TABLE: the default stack is looked for, and its absence explained.
    const none = await runCli(['status'], NOTHING_BUT_AWS);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain(
      'ACCOUNTS_TABLE is required but not set, and the default stack: stack CloudTrailCollector not found',
    );
  });
});
