/**
 * `cloudtrail-collector ingest --queue-url` on a hub queue: polled with the caller's own credentials (no customer
 * role), tenants bound by their envelopes, poison moved to the hub DLQ and the queue left empty. moto cannot deliver
 * a customer topic into the collector's queue, so the test puts SNS's envelope there itself (testkit/hub.ts).
 */
import { awsClients } from '../../lambdas/shared/aws-clients';
import { cloudTrailNotification } from '../../testkit/demo-chain';
import { runCli } from '../../testkit/cli';
import {
  createHubQueues,
  deliverAsSns,
  demoTopicArn,
  hubAccount,
  hubEnv,
  snsNotificationBody,
} from '../../testkit/hub';
import { ingestWorld, TABLE, type IngestWorld } from '../../testkit/ingest-env';
import { queueCounts } from '../../testkit/queues';
import { REGION } from '../../testkit/test-emulator';

const A = '111122223333';
const B = '444455556666';

describe('ingest --queue-url on a hub queue', () => {
  let world: IngestWorld;
  afterEach(async () => world.stop());

  test('delivers both tenants, moves the poison to the hub DLQ, deletes everything from the hub queue', async () => {
    world = await ingestWorld([hubAccount(A, 1), hubAccount(B, 1)]);
    const sqs = awsClients.sqs({ region: REGION });
    const [queue] = await createHubQueues(sqs, 1);
    const expected: string[] = [];
    for (const [account, seed] of [
      [A, 1],
      [B, 2],
    ] as const) {
      const file = await world.logFile(account, seed, 9);
      expected.push(...file.eventIds);
      const message = cloudTrailNotification(world.tenants.get(account)!.chain.bucket, [file.key]);
      await deliverAsSns(sqs, queue!.url, snsNotificationBody({ topicArn: demoTopicArn(account), message }));
    }
    await deliverAsSns(sqs, queue!.url, snsNotificationBody({ topicArn: demoTopicArn('999988887777'), message: '{}' }));

    const result = await runCli(['ingest', '--queue-url', queue!.url, '--until-empty', '--wait-seconds', '0'], {
      ACCOUNTS_TABLE: TABLE,
      DOWNSTREAM_URL: world.receiver.url,
      DOWNSTREAM_TOKEN: 'test-token',
      ...hubEnv([queue!]),
    });
    const totals = JSON.parse(result.stdout);
    expect(totals).toMatchObject({ received: 3, deleted: 3, failed: 0 });
    expect(totals.counts.MessagesDeadLettered).toBe(1);
    expect(result.code).toBe(0);
    expect([...world.receiver.eventIds.keys()].sort()).toEqual(expected.sort());
    expect(await queueCounts(sqs, queue!.url)).toEqual({ visible: 0, inFlight: 0 });
    expect(await queueCounts(sqs, queue!.dlqUrl)).toEqual({ visible: 1, inFlight: 0 });
  });
});
