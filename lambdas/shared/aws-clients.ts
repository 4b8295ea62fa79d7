import { CloudTrailClient } from '@aws-sdk/client-cloudtrail';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { FirehoseClient } from '@aws-sdk/client-firehose';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { OrganizationsClient } from '@aws-sdk/client-organizations';
import { S3Client } from '@aws-sdk/client-s3';
import { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { STSClient } from '@aws-sdk/client-sts';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@aws-sdk/types';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { Agent } from 'node:https';

export type Credentials = AwsCredentialIdentity | AwsCredentialIdentityProvider;

export interface ClientOptions {
  region: string;
  /** Omitted: the default provider chain (the Lambda's own role, or the caller's profile in the CLI). */
  credentials?: Credentials;
  /** Emulator or VPC endpoint; when set, S3 uses path-style addressing. Defaults to AWS_ENDPOINT_URL. */
  endpoint?: string;
  /** The SDK's retry mode and attempts (default: standard, 4); the reconcile's clients use adaptive (clients.ts). */
  retry?: { mode: 'standard' | 'adaptive'; maxAttempts: number };
}

/** Keep-alive sockets reused across clients: streaming GetObject and the many small control-plane calls. */
const sharedHttpHandler = new NodeHttpHandler({
  httpsAgent: new Agent({ keepAlive: true, maxSockets: 50 }),
  connectionTimeout: 5_000,
  requestTimeout: 60_000,
});

function baseConfig(options: ClientOptions) {
  const endpoint = options.endpoint ?? process.env.AWS_ENDPOINT_URL;
  return {
    region: options.region,
    ...(options.credentials ? { credentials: options.credentials } : {}),
    ...(endpoint ? { endpoint } : {}),
    requestHandler: sharedHttpHandler,
    maxAttempts: options.retry?.maxAttempts ?? 4,
    ...(options.retry ? { retryMode: options.retry.mode } : {}),
  };
}

/**
 * The one place every AWS client is built: the same code runs in Lambda, on a laptop and against the
 * emulator, and a customer's clients can only be built from that customer's credentials.
 */
export const awsClients = {
  s3(options: ClientOptions): S3Client {
    const config = baseConfig(options);
    // Buckets may live in another region than the client's (a trail's bucket, a log archive): follow S3's redirect.
    // Responses are not checked against S3's CRC64NVME in JavaScript (a CPU cost on every GetObject body, ~0.5 ms
    // of a small file's ~3 ms: bench/README.md): a log file is gzip, whose CRC-32 and length zlib checks, and its
    // SHA-256 is recorded in the ledger and checked against CloudTrail's signed digest (docs/completeness.md).
    // Requests still carry checksums where S3 requires them (the SDK's default for requestChecksumCalculation).
    return new S3Client({
      ...config,
      forcePathStyle: 'endpoint' in config,
      followRegionRedirects: true,
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  },
  sqs: (options: ClientOptions) => new SQSClient(baseConfig(options)),
  sns: (options: ClientOptions) => new SNSClient(baseConfig(options)),
  cloudTrail: (options: ClientOptions) => new CloudTrailClient(baseConfig(options)),
  sts: (options: ClientOptions) => new STSClient(baseConfig(options)),
  lambda: (options: ClientOptions) => new LambdaClient(baseConfig(options)),
  organizations: (options: ClientOptions) => new OrganizationsClient(baseConfig(options)),
  secretsManager: (options: ClientOptions) => new SecretsManagerClient(baseConfig(options)),
  firehose: (options: ClientOptions) => new FirehoseClient(baseConfig(options)),
  eventBridge: (options: ClientOptions) => new EventBridgeClient(baseConfig(options)),
  dynamoDocument: (options: ClientOptions) =>
    DynamoDBDocumentClient.from(new DynamoDBClient(baseConfig(options)), {
      marshallOptions: { removeUndefinedValues: true },
    }),
};
