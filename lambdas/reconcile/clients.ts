/**
 * The seam between the reconcile domain and AWS. Domain code only ever calls `send` on these, so tests and the
 * benchmark inject fakes (in-memory, with latency) and the Lambda/CLI inject real SDK clients built by
 * `awsClients` (which honours AWS_ENDPOINT_URL and path-style S3).
 */
import type { CloudTrailClient } from '@aws-sdk/client-cloudtrail';
import type { LambdaClient } from '@aws-sdk/client-lambda';
import type { S3Client } from '@aws-sdk/client-s3';
import type { SNSClient } from '@aws-sdk/client-sns';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { awsClients } from '../shared/aws-clients';
import { AssumedRoleCredentialCache, type RoleTarget } from '../shared/credentials';

/** Clients acting inside one customer account (its assumed role), per region. */
export interface CustomerClients {
  cloudTrail(region: string): Pick<CloudTrailClient, 'send'>;
  s3(region: string): Pick<S3Client, 'send'>;
  sns(region: string): Pick<SNSClient, 'send'>;
  sqs(region: string): Pick<SQSClient, 'send'>;
}

/**
 * Clients acting in the collector account with its own credentials: the event source mappings live here, and
 * the hub topology's subscriptions are the collector's (the queue owner subscribes, in the topic's Region).
 */
export interface CollectorClients {
  lambda: Pick<LambdaClient, 'send'>;
  sns(region: string): Pick<SNSClient, 'send'>;
  /** The collector's own SQS (BACKFILL to its backfill queue, hub topology); optional for fakes without it. */
  sqs?(region: string): Pick<SQSClient, 'send'>;
}

export interface ReconcileClients {
  /**
   * Assumes the customer role (throws RoleAssumptionError when it cannot: ROLE_UNASSUMABLE) and returns clients
   * signing with it. Assuming first, instead of on the first call, keeps "the role is broken" apart from
   * "this call was denied".
   */
  customer(target: RoleTarget): Promise<CustomerClients>;
  collector: CollectorClients;
}

/** Real clients: one STS-backed credential cache, one client per (role, service, region), reused across runs. */
export function createReconcileClients(options: { region: string; sessionName?: string }): ReconcileClients {
  const credentials = new AssumedRoleCredentialCache(awsClients.sts({ region: options.region }), {
    sessionName: options.sessionName ?? 'cloudtrail-collector-reconcile',
  });
  const cache = new Map<string, unknown>();
  function cached<T>(key: string, build: () => T): T {
    let client = cache.get(key) as T | undefined;
    if (client === undefined) {
      client = build();
      cache.set(key, client);
    }
    return client;
  }
  return {
    async customer(target) {
      await credentials.credentialsFor(target);
      const provider = credentials.providerFor(target);
      const key = (service: string, region: string) => `${target.roleArn}\u0000${service}\u0000${region}`;
      return {
        cloudTrail: (region) =>
          cached(key('cloudtrail', region), () => awsClients.cloudTrail({ region, credentials: provider })),
        s3: (region) => cached(key('s3', region), () => awsClients.s3({ region, credentials: provider })),
        sns: (region) => cached(key('sns', region), () => awsClients.sns({ region, credentials: provider })),
        sqs: (region) => cached(key('sqs', region), () => awsClients.sqs({ region, credentials: provider })),
      };
    },
    collector: {
      lambda: awsClients.lambda({ region: options.region }),
      sns: (region) => cached(`collector\u0000sns\u0000${region}`, () => awsClients.sns({ region })),
      sqs: (region) => cached(`collector\u0000sqs\u0000${region}`, () => awsClients.sqs({ region })),
    },
  };
}
