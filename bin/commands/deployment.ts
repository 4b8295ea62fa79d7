/**
 * The deployed collector, as the command-line tool finds it: the collector stack's outputs (CloudFormation
 * DescribeStacks, "Outputs": https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DescribeStacks.html)
 * give the table names, role and function ARNs, queue URLs and the reconcile function's settings. They fill the
 * variables the commands read (lambdas/shared/config.ts); a variable set in the environment wins. A command that
 * writes refuses when a variable set here differs from the deployed value: otherwise it would create queues and
 * policies the scheduled run then changes back (issue 17). docs/operations.md#the-command-line-tool-and-its-stack.
 */
import { CloudFormationClient, DescribeStacksCommand, type Output } from '@aws-sdk/client-cloudformation';
import { STACK_IDS } from '../../lib/names';
import { ConfigError, errorMessage } from '../../lambdas/shared/errors';

/** The environment variable that names the stack when --stack-name is not given. */
export const STACK_NAME_VARIABLE = 'CLOUDTRAIL_COLLECTOR_STACK';
export const DEFAULT_STACK_NAME = STACK_IDS.collector;

/** Each output of the collector stack (lib/collector.stack.ts) the tool reads, and the variable it sets. */
export const OUTPUT_VARIABLES = {
  AccountsTableName: 'ACCOUNTS_TABLE',
  LedgerTableName: 'LEDGER_TABLE',
  IngestFunctionArn: 'INGEST_FUNCTION_ARN',
  IngestRoleArn: 'INGEST_ROLE_ARN',
  ReconcileRoleArn: 'RECONCILE_ROLE_ARN',
  IngestTopology: 'INGEST_TOPOLOGY',
  HubQueueArns: 'HUB_QUEUE_ARNS',
  BackfillQueueUrl: 'BACKFILL_QUEUE_URL',
  BackfillQueueArn: 'BACKFILL_QUEUE_ARN',
  TemplateBucketUrl: 'TEMPLATE_BUCKET_URL',
  ReconcileJobQueueUrl: 'RECONCILE_JOB_QUEUE_URL',
} as const;

/** The output holding the reconcile function's own settings as JSON ({ "INGEST_TIMEOUT_SECONDS": "300", ... }). */
export const SETTINGS_OUTPUT = 'ReconcileSettings';

/** What a setting that differs changes, for the refusal message. */
const CONSEQUENCES: Record<string, (here: string, deployed: string) => string> = {
  INGEST_TIMEOUT_SECONDS: (here, deployed) =>
    `customer queues would get a visibility timeout of ${6 * Number(here)} s instead of ${6 * Number(deployed)} s`,
  ESM_MAXIMUM_CONCURRENCY: (here, deployed) =>
    `event source mappings would get MaximumConcurrency ${here} instead of ${deployed}`,
  INGEST_TOPOLOGY: (here, deployed) =>
    `accounts would be moved to the ${here} topology, the deployment uses ${deployed}`,
};

export interface Deployment {
  stackName: string;
  region: string;
  /** Variable -> deployed value. */
  variables: Record<string, string>;
}

export interface StackOutputsReader {
  outputs(stackName: string, region: string): Promise<Output[]>;
}

/** DescribeStacks with the caller's credentials (AWS_ENDPOINT_URL: the emulator). */
export const cloudFormationOutputs: StackOutputsReader = {
  async outputs(stackName, region) {
    // Built here and not in lambdas/shared/aws-clients.ts: only the command-line tool reads its stack, and the
    // Lambda bundles would otherwise carry the CloudFormation client.
    const endpoint = process.env.AWS_ENDPOINT_URL;
    const client = new CloudFormationClient({ region, maxAttempts: 4, ...(endpoint ? { endpoint } : {}) });
    try {
      const answer = await client.send(new DescribeStacksCommand({ StackName: stackName }));
      const stack = answer.Stacks?.[0];
      if (!stack) throw new ConfigError(`stack ${stackName} not found in ${region}`);
      return stack.Outputs ?? [];
    } catch (error) {
      if (error instanceof ConfigError) throw error;
      // A missing stack is a ValidationError "Stack with id X does not exist" (DescribeStacks, Errors).
      if (/does not exist/i.test(errorMessage(error))) {
        throw new ConfigError(
          `stack ${stackName} not found in ${region}: deploy the collector (docs/operations.md#deploy), name your stack ` +
            `with --stack-name NAME or ${STACK_NAME_VARIABLE}, or set ACCOUNTS_TABLE and the other variables yourself`,
        );
      }
      throw new ConfigError(
        `cannot read the outputs of stack ${stackName} in ${region} (cloudformation:DescribeStacks): ${errorMessage(error)}. ` +
          'Credentials that may not read the stack (the reconcile role, for one) can be given its outputs instead: ' +
          'eval "$(npx cloudtrail-collector deployment)" with your own credentials first',
        { cause: error },
      );
    } finally {
      client.destroy();
    }
  },
};

/** The deployment's variables from its stack outputs. */
export function deploymentFromOutputs(stackName: string, region: string, outputs: Output[]): Deployment {
  const variables: Record<string, string> = {};
  const byKey = new Map(outputs.map((output) => [output.OutputKey, output.OutputValue]));
  for (const [key, variable] of Object.entries(OUTPUT_VARIABLES)) {
    const value = byKey.get(key)?.trim();
    if (value) variables[variable] = value;
  }
  if (variables.ACCOUNTS_TABLE === undefined) {
    throw new ConfigError(
      `stack ${stackName} in ${region} has no output AccountsTableName: is it the collector stack, and did its deployment complete?`,
    );
  }
  const settings = byKey.get(SETTINGS_OUTPUT);
  if (settings !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(settings);
    } catch (error) {
      throw new ConfigError(`stack ${stackName}: output ${SETTINGS_OUTPUT} is not JSON: ${errorMessage(error)}`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new ConfigError(`stack ${stackName}: output ${SETTINGS_OUTPUT} must be a JSON object of variables`);
    }
    for (const [variable, value] of Object.entries(parsed)) {
      if (typeof value !== 'string') {
        throw new ConfigError(`stack ${stackName}: output ${SETTINGS_OUTPUT}: ${variable} must be a string`);
      }
      variables[variable] = value;
    }
  }
  return { stackName, region, variables };
}

const cache = new Map<string, Promise<Deployment>>();

/** The deployment of one stack, read once per process. */
export function readDeployment(
  stackName: string,
  region: string,
  reader: StackOutputsReader = cloudFormationOutputs,
): Promise<Deployment> {
  const key = `${region}/${stackName}`;
  let deployment = cache.get(key);
  if (!deployment) {
    deployment = reader.outputs(stackName, region).then((outputs) => deploymentFromOutputs(stackName, region, outputs));
    // A failed read is not cached: the next command in the same process asks again.
    deployment.catch(() => cache.delete(key));
    cache.set(key, deployment);
  }
  return deployment;
}

/** Compared as the commands read them: lists item by item, numbers by value. */
function sameSetting(here: string, deployed: string): boolean {
  const items = (value: string) =>
    value
      .split(',')
      .map((item) => item.trim())
      .filter(Boolean);
  if (/^\d+$/.test(here) && /^\d+$/.test(deployed)) return Number(here) === Number(deployed);
  return items(here).join(',') === items(deployed).join(',');
}

export interface SettingDifference {
  variable: string;
  here: string;
  deployed: string;
}

/** The variables set in `env` whose value differs from the deployment's. */
export function differences(env: NodeJS.ProcessEnv, deployment: Deployment): SettingDifference[] {
  return Object.entries(deployment.variables).flatMap(([variable, deployed]) => {
    const here = env[variable]?.trim();
    return here && !sameSetting(here, deployed) ? [{ variable, here, deployed }] : [];
  });
}

export function describeDifferences(list: SettingDifference[], deployment: Deployment): string {
  return list
    .map(({ variable, here, deployed }) => {
      const consequence = CONSEQUENCES[variable]?.(here, deployed);
      return `${variable} is "${here}" here but "${deployed}" in stack ${deployment.stackName}${consequence ? ` (${consequence})` : ''}`;
    })
    .join('; ');
}

/**
 * Fills the variables `env` lacks from the deployment. With `writes`, a variable set in `env` that differs from
 * the deployed value is refused (ConfigError, exit 2); a read-only command gets a warning and goes on with it.
 */
export function useDeployment(
  env: NodeJS.ProcessEnv,
  deployment: Deployment,
  options: { writes: boolean; warn: (line: string) => void },
): void {
  const differing = differences(env, deployment);
  if (differing.length > 0) {
    const what = describeDifferences(differing, deployment);
    if (options.writes) {
      throw new ConfigError(
        `refusing to write with settings that differ from the deployed collector: ${what}. Unset them to use the ` +
          `deployed values, or deploy the change first`,
      );
    }
    options.warn(`cloudtrail-collector: note: ${what}; this command only reads, so it goes on with them`);
  }
  for (const [variable, value] of Object.entries(deployment.variables)) {
    if (!env[variable]?.trim()) env[variable] = value;
  }
}

/**
 * The deployment that configures this run, if any: the stack named by --stack-name, else by
 * CLOUDTRAIL_COLLECTOR_STACK, else the default stack, unless ACCOUNTS_TABLE is set and no stack is named (then the
 * environment alone configures the tool: the emulator's way, and the documented variables).
 */
export async function deploymentFor(
  explicitStack: string | undefined,
  env: NodeJS.ProcessEnv,
  reader: StackOutputsReader = cloudFormationOutputs,
): Promise<Deployment | undefined> {
  const named = explicitStack?.trim() || env[STACK_NAME_VARIABLE]?.trim();
  if (!named && env.ACCOUNTS_TABLE?.trim()) return undefined;
  const region = deploymentRegion(env);
  try {
    return await readDeployment(named || DEFAULT_STACK_NAME, region, reader);
  } catch (error) {
    if (named || !(error instanceof ConfigError)) throw error;
    throw new ConfigError(`ACCOUNTS_TABLE is required but not set, and the default stack: ${error.message}`, {
      cause: error,
    });
  }
}

/** The region the stack is read in: AWS_REGION or AWS_DEFAULT_REGION, as for every other call. */
export function deploymentRegion(env: NodeJS.ProcessEnv): string {
  const region = env.AWS_REGION?.trim() || env.AWS_DEFAULT_REGION?.trim();
  if (!region) throw new ConfigError('AWS_REGION is required but not set (the region of the collector stack)');
  return region;
}

/** A value in single quotes for a POSIX shell (a ' inside becomes '\''). */
function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/**
 * `deployment`: what the tool reads from the stack, as `export NAME='value'` lines (or JSON). For a command run
 * with credentials that may not read the stack, such as the reconcile role's: `eval "$(... deployment)"` first.
 */
export async function deploymentCommand(
  explicitStack: string | undefined,
  options: { json?: boolean },
  print: (text: string) => void,
  reader: StackOutputsReader = cloudFormationOutputs,
): Promise<number> {
  const named = explicitStack?.trim() || process.env[STACK_NAME_VARIABLE]?.trim() || DEFAULT_STACK_NAME;
  const deployment = await readDeployment(named, deploymentRegion(process.env), reader);
  if (options.json) print(JSON.stringify(deployment, null, 2));
  else {
    print(
      Object.entries(deployment.variables)
        .map(([variable, value]) => `export ${variable}=${shellQuote(value)}`)
        .join('\n'),
    );
  }
  return 0;
}
