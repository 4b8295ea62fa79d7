import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Architecture, Runtime } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import * as path from 'node:path';

export interface CollectorFunctionProps {
  /** Path of the handler module under `lambdas/`, e.g. `ingest/handler.ts`. */
  entry: string;
  description: string;
  memorySize: number;
  timeout: Duration;
  environment: Record<string, string>;
  logRetention?: RetentionDays;
  reservedConcurrentExecutions?: number;
}

/**
 * Every collector Lambda the same way: Node.js 24 on arm64, bundled by the local esbuild (never Docker),
 * source maps on, an explicit log group with retention. No business logic here.
 */
export class CollectorFunction extends Construct {
  readonly function: NodejsFunction;
  readonly logGroup: LogGroup;

  constructor(scope: Construct, id: string, props: CollectorFunctionProps) {
    super(scope, id);
    this.logGroup = new LogGroup(this, 'Logs', {
      retention: props.logRetention ?? RetentionDays.THREE_MONTHS,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.function = new NodejsFunction(this, 'Function', {
      entry: path.join(__dirname, '..', 'lambdas', props.entry),
      handler: 'handler',
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      description: props.description,
      memorySize: props.memorySize,
      timeout: props.timeout,
      logGroup: this.logGroup,
      ...(props.reservedConcurrentExecutions !== undefined
        ? { reservedConcurrentExecutions: props.reservedConcurrentExecutions }
        : {}),
      environment: {
        NODE_OPTIONS: '--enable-source-maps',
        POWERTOOLS_SERVICE_NAME: 'cloudtrail-collector',
        ...props.environment,
      },
      bundling: {
        forceDockerBundling: false,
        minify: true,
        sourceMap: true,
        target: 'node24',
        format: OutputFormat.CJS,
        // The Node.js 24 runtime ships no SDK v2 and an SDK v3 we do not pin; bundle ours for repeatable builds.
        externalModules: [],
      },
    });
  }
}
