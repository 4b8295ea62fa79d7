/**
 * Issue 12, the log archive's path in the hub topology (the default), against the emulator: an organization
 * (management account, two members, a log archive holding the organization trail's central bucket) is registered;
 * `apply` runs on EVERY registered account. In the log archive it creates `outcomestopic` in the bucket's Region,
 * writes its policy (S3 may publish from the bucket of the archive account; the collector may subscribe its hub
 * queue), merges one topic configuration into the bucket's notification configuration, and subscribes the topic to
 * the archive's hub shard queue (the registry binding the topic to the archive first). No trail is created in any
 * account; the management account and the members report COLLECTED_BY_LOG_ARCHIVE and nothing is changed there. The organization trail's files of both members are then announced, as S3 -> SNS -> the hub queue
 * would, and ingest (processSqsBatch, the Lambda's core) forwards every member's records once; a log file of an
 * account outside the organization under the archive prefix is poison: nothing of it is forwarded.
 *
 * Where moto differs from AWS (AWS wins; the test says so):
 * - moto answers DescribeTrails per account, so neither the members nor the log archive see the management
 *   account's organization trail; in AWS they do (a shadow trail). The members' and the archive's DescribeTrails
 *   answers get the organization trail appended, as moto answers it in the management account
 *   (testkit/organization-trail-view.ts, shared with organization-retirement.int.test.ts).
 * - moto does not deliver SNS to a queue of another account, and keeps the collector's subscription in the
 *   collector's backend (testkit/reconcile-env.ts withTopicOwnerListing lists it to the topic owner, as SNS does).
 *   The test puts in the hub queue what SNS would put there for S3's event notification, byte for byte
 *   (testkit/hub.ts snsNotificationBody, Subject "Amazon S3 Notification"; the S3 event is testkit/demo-chain.ts
 *   s3EventNotification with the collector's configuration Id): S3 User Guide, "Event message structure".
 * - moto does not evaluate topic policies; the S3 publish statement is checked here.
 */
import type { Trail } from '@aws-sdk/client-cloudtrail';
import { GetBucketNotificationConfigurationCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { GetTopicAttributesCommand, ListSubscriptionsByTopicCommand } from '@aws-sdk/client-sns';
import { awsClients } from '../../lambdas/shared/aws-clients';
import { processSqsBatch } from '../../lambdas/ingest/source/sqs-batch';
import { shardOf } from '../../lambdas/shared/topology';
import { generateRecords, logFileBody, logFileKey } from '../../testkit/cloudtrail-generator';
import { s3EventNotification } from '../../testkit/demo-chain';
import { DownstreamReceiver } from '../../testkit/downstream-receiver';
import { createHubQueues, deliverAsSns, hubEnv, snsNotificationBody, type HubQueue } from '../../testkit/hub';
import { receiveAll } from '../../testkit/ingest-env';
import {
  createOrganizationWorld,
  ownTrailArns,
  registerOrganizationAccounts,
  type OrganizationWorld,
} from '../../testkit/organization';
import { organizationTrailOf, withOrganizationTrail } from '../../testkit/organization-trail-view';
import { queueCounts } from '../../testkit/queues';
import {
  reconcileWorldIngestDeps,
  reconcileWorld,
  withTopicOwnerListing,
  type ReconcileWorld,
} from '../../testkit/reconcile-env';
import { COLLECTOR_ACCOUNT, REGION } from '../../testkit/test-emulator';

const PREFIX = 'central';
const SHARDS = 2;
const OUTSIDER = '777788889999';
const RECONCILE_ROLE_ARN = `arn:aws:iam::${COLLECTOR_ACCOUNT}:role/cloudtrail-collector-reconcile`;

describe('a log archive in the hub topology: central bucket -> outcomestopic -> hub queue -> ingest', () => {
  let world: ReconcileWorld;
  let org: OrganizationWorld;
  let organizationTrail: Trail | undefined;
  let hub: HubQueue[];
  let receiver: DownstreamReceiver;
  const collectorSqs = () => awsClients.sqs({ region: REGION });

  beforeAll(async () => {
    const seeing = new Set<string>();
    world = await reconcileWorld([], {
      config: { ingestTopology: 'hub', hubQueueArns: [], reconcileRoleArn: RECONCILE_ROLE_ARN },
      clients: (real) =>
        withTopicOwnerListing(withOrganizationTrail({ accounts: () => seeing, trail: () => organizationTrail })(real)),
    });
    hub = await createHubQueues(collectorSqs(), SHARDS);
    world.deps.config = { ...world.deps.config, hubQueueArns: hub.map((queue) => queue.arn) };
    org = await createOrganizationWorld({ region: REGION, members: 2, s3KeyPrefix: PREFIX });
    organizationTrail = await organizationTrailOf(org, REGION);
    for (const account of [...org.memberAccountIds, org.logArchiveAccountId]) seeing.add(account);
    await registerOrganizationAccounts(world.registry, org);
    receiver = new DownstreamReceiver({ token: 'test-token' });
    await receiver.start();
  });
  afterAll(async () => receiver?.stop());

  test('apply on every account: the archive path is built, no trail anywhere; members collected, an outsider not', async () => {
    const archiveId = org.logArchiveAccountId;
    const topicArn = `arn:aws:sns:${REGION}:${archiveId}:outcomestopic`;
    const accounts = [org.managementAccountId, ...org.memberAccountIds, archiveId];

    const report = await world.run('apply');
    expect(report.accounts.map((a) => a.accountId).sort()).toEqual([...accounts].sort());
    // The management account and the members are collected from the archive: nothing is created or changed there
    // (the management account records its organization trail, REUSE_TRAIL, which calls nothing), no high finding.
    for (const accountId of [org.managementAccountId, ...org.memberAccountIds]) {
      const account = world.account(report, accountId);
      expect([accountId, account.findings.map((f) => f.code)]).toEqual([
        accountId,
        expect.arrayContaining(['COLLECTED_BY_LOG_ARCHIVE']),
      ]);
      expect([accountId, account.findings.filter((f) => f.severity === 'high')]).toEqual([accountId, []]);
      expect([accountId, account.actions.filter((a) => a.code !== 'REUSE_TRAIL')]).toEqual([accountId, []]);
    }
    const archive = world.account(report, archiveId);
    expect(archive.actions.map((a) => [a.code, a.status])).toEqual([
      ['CREATE_TOPIC', 'applied'],
      ['PUT_BUCKET_NOTIFICATION', 'applied'],
      ['SUBSCRIBE', 'applied'],
    ]);
    // No trail was created in any account: the management account has only the organization trail.
    for (const accountId of accounts) {
      expect(await ownTrailArns(org, accountId, REGION)).toEqual(
        accountId === org.managementAccountId ? [org.trailArn] : [],
      );
    }

    // The archive's record names its topic and shard (ingest binds a hub message by the envelope's TopicArn).
    const shard = shardOf(archiveId, SHARDS);
    expect(await world.registry.require(archiveId)).toMatchObject({
      topicArn,
      ingestTopology: 'hub',
      ingestShard: shard,
    });
    // The bucket announces <prefix>/AWSLogs/*.json.gz to the topic; S3 may publish only from this bucket and owner.
    const archiveCredentials = { region: REGION, credentials: await org.credentialsFor(archiveId) };
    const notification = await awsClients
      .s3(archiveCredentials)
      .send(new GetBucketNotificationConfigurationCommand({ Bucket: org.bucket }));
    const ours = (notification.TopicConfigurations ?? []).find((c) => c.Id === 'cloudtrail-collector-archive');
    expect(ours).toMatchObject({ TopicArn: topicArn, Events: ['s3:ObjectCreated:*'] });
    expect(ours!.Filter!.Key!.FilterRules!.map((r) => [r.Name!.toLowerCase(), r.Value])).toEqual([
      ['prefix', `${PREFIX}/AWSLogs/`],
      ['suffix', '.json.gz'],
    ]);
    const sns = awsClients.sns(archiveCredentials);
    const policy = JSON.parse(
      (await sns.send(new GetTopicAttributesCommand({ TopicArn: topicArn }))).Attributes!.Policy!,
    ) as { Statement: { Sid: string }[] };
    expect(policy.Statement.find((s) => s.Sid === 'CloudTrailCollectorArchiveS3Publish')).toMatchObject({
      Principal: { Service: 's3.amazonaws.com' },
      Action: 'SNS:Publish',
      Condition: {
        ArnLike: { 'aws:SourceArn': `arn:aws:s3:::${org.bucket}` },
        StringEquals: { 'aws:SourceAccount': archiveId },
      },
    });
    expect(policy.Statement.map((s) => s.Sid)).toContain('CloudTrailCollectorHubSubscribe');
    // The collector's subscription of the topic to the archive's shard (moto lists it to the collector only).
    const subscriptions = await awsClients
      .sns({ region: REGION })
      .send(new ListSubscriptionsByTopicCommand({ TopicArn: topicArn }));
    expect((subscriptions.Subscriptions ?? []).map((s) => [s.Protocol, s.Endpoint])).toEqual([
      ['sqs', hub[shard]!.arn],
    ]);

    // A second apply on every account changes nothing.
    const again = await world.run('apply');
    for (const account of again.accounts) expect([account.accountId, account.actions]).toEqual([account.accountId, []]);

    // The organization trail writes both members' files into the central bucket; a stranger's file lands under the
    // same prefix (a trail of another organization pointed at the bucket, say). S3 -> outcomestopic -> hub queue.
    const s3 = awsClients.s3(archiveCredentials);
    const now = new Date();
    const expected: string[] = [];
    const write = async (accountId: string, index: number) => {
      const records = generateRecords(4 + index, { accountId, region: REGION, seed: 300 + index, start: now });
      const key = logFileKey({
        accountId,
        region: REGION,
        time: now,
        unique: `h${index}`,
        prefix: PREFIX,
        orgId: org.organizationId,
      });
      await s3.send(new PutObjectCommand({ Bucket: org.bucket, Key: key, Body: logFileBody(records) }));
      const event = JSON.parse(s3EventNotification(org.bucket, key)) as {
        Records: { s3: { configurationId: string } }[];
      };
      event.Records[0]!.s3.configurationId = 'cloudtrail-collector-archive';
      await deliverAsSns(
        collectorSqs(),
        hub[shard]!.url,
        snsNotificationBody({ topicArn, message: JSON.stringify(event), subject: 'Amazon S3 Notification' }),
      );
      return records.map((r) => r.eventID as string);
    };
    for (const [index, member] of org.memberAccountIds.entries()) expected.push(...(await write(member, index)));
    const outsiderIds = await write(OUTSIDER, 9);

    const records = await receiveAll(collectorSqs(), hub[shard]!.url, hub[shard]!.arn, 3);
    expect(records).toHaveLength(3);
    const deps = await reconcileWorldIngestDeps(receiver, 'test-token', hubEnv(hub));
    const result = await processSqsBatch(records, deps, Date.now() + 60_000);
    const outcomes = [...result.outcomes.values()];
    // The outsider's message is poison: moved to the hub queue's DLQ with the reason, not retried.
    expect(outcomes.filter((o) => o.status !== 'forwarded')).toEqual([
      expect.objectContaining({
        status: 'dead-lettered',
        deadLetterQueueArn: hub[shard]!.dlqArn,
        error: expect.stringMatching(new RegExp(`account ${OUTSIDER} is not registered`)),
      }),
    ]);
    // Every member's records once; nothing of the outsider's file reached the receiver.
    expect([...receiver.eventIds.keys()].sort()).toEqual([...expected].sort());
    expect([...receiver.eventIds.values()].every((count) => count === 1)).toBe(true);
    expect(outsiderIds.some((id) => receiver.eventIds.has(id))).toBe(false);
    expect(result.batchItemFailures).toEqual([]);
    expect((await queueCounts(collectorSqs(), hub[shard]!.dlqUrl)).visible).toBe(1);
  });
});
