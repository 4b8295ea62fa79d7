/**
 * The command-line tool reads its deployment from the collector stack's outputs (bin/commands/deployment.ts):
 * in both topologies, what it reads equals the deployed reconcile function's environment, variable by variable,
 * so a CLI run writes with the scheduled run's settings.
 */
import { deploymentFromOutputs } from '../../bin/commands/deployment';
import { FUNCTION_NAMES } from '../../lib/names';
import { configWithIngest, deployedValue, synthApp } from './support';

type Json = {
  Resources: Record<string, { Type: string; Properties: Record<string, unknown> }>;
  Outputs: Record<string, { Value: unknown }>;
};

describe.each(['customer-queue', 'hub'] as const)('the stack outputs the CLI reads (%s topology)', (topology) => {
  let json: Json;
  beforeAll(() => {
    const built = synthApp({ config: configWithIngest({ topology }) });
    json = built.template(built.collector).toJSON() as Json;
  });

  const deployedEnvironment = (functionName: string): Record<string, string | undefined> => {
    const fn = Object.values(json.Resources).find(
      (resource) => resource.Type === 'AWS::Lambda::Function' && resource.Properties.FunctionName === functionName,
    );
    const variables = (fn!.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    return Object.fromEntries(Object.entries(variables).map(([key, value]) => [key, deployedValue(json, value)]));
  };

  test("give every variable of the reconcile function's environment, with its deployed value", () => {
    const outputs = Object.entries(json.Outputs).map(([OutputKey, output]) => ({
      OutputKey,
      OutputValue: deployedValue(json, output.Value),
    }));
    const deployment = deploymentFromOutputs('CloudTrailCollector', 'us-east-1', outputs);
    // The Node.js and Powertools runtime options every function gets (collector-function.construct.ts) configure
    // the Lambda process, not the collector: the CLI has its own.
    const {
      NODE_OPTIONS: _node,
      POWERTOOLS_SERVICE_NAME: _powertools,
      ...reconcile
    } = deployedEnvironment(FUNCTION_NAMES.reconcile);
    const missing = Object.keys(reconcile).filter((variable) => !(variable in deployment.variables));
    expect(missing).toEqual([]);
    for (const [variable, value] of Object.entries(reconcile)) {
      expect({ variable, value: deployment.variables[variable] }).toEqual({ variable, value });
    }
    expect(deployment.variables.INGEST_TOPOLOGY).toBe(topology);
  });
});
