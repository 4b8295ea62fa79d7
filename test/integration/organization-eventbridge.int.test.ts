/**
 * Issue 12, the EventBridge path: the log archive's central bucket already sends its events to Amazon EventBridge
 * (EventBridgeConfiguration), so the collector leaves the bucket's notification configuration exactly as it is and
 * adds its own rule on the archive's default bus instead (rules/archive-notifications.ts, apply-archive.ts
 * putArchiveEventRule). The organization's accounts are registered as `organizations add` registers them, `plan` and
 * `apply` run on the log archive; the test writes every member's log files as the organization trail would; moto's
 * S3 sends the Object Created events to EventBridge, whose rule delivers them to the archive's queue (moto does this
 * for real within one account); ingest delivers every member's records exactly once. A rule someone disabled is
 * written again.
 *
 * Where moto differs from AWS (AWS wins; the test says so):
 * - moto acts on EventBridgeConfiguration (it sends the bucket's events to EventBridge) but leaves it out of
 *   GetBucketNotificationConfiguration's answer, where S3 returns `<EventBridgeConfiguration/>` (S3 API Reference,
 *   GetBucketNotificationConfiguration). The reconcile's S3 view of the bucket adds it back (withEventBridgeShown).
 * - moto shows the organization trail only to the management account: the archive's DescribeTrails is given it,
 *   as AWS shows it (testkit/organization-trail-view.ts).
 * - moto does not evaluate the queue policy that lets EventBridge send: the statement is checked here.
 */
import type { Trail } from '@aws-sdk/client-cloudtrail';
import { DescribeRuleCommand, DisableRuleCommand, ListTargetsByRuleCommand } from '@aws-sdk/client-eventbridge';
import {
  GetBucketNotificationConfigurationCommand,
  PutBucketNotificationConfigurationCommand,
  PutObjectCommand,
  type GetBucketNotificationConfigurationCommandOutput,
} from '@aws-sdk/client-s3';
import { GetQueueAttributesCommand, GetQueueUrlCommand } from '@aws-sdk/client-sqs';
import { processSqsBatch } from '../../lambdas/ingest/source/sqs-batch';
import type { CustomerClients, ReconcileClients } from '../../lambdas/reconcile/clients';
import { putLogFile } from '../../testkit/demo-chain';
import { DownstreamReceiver } from '../../testkit/downstream-receiver';
import { receiveAll } from '../../testkit/ingest-env';
import {
  createOrganizationWorld,
  organizationAccountClients,
  ownTrailArns,
  registerOrganizationAccounts,
  type OrganizationWorld,
} from '../../testkit/organization';
import { organizationTrailOf, withOrganizationTrail } from '../../testkit/organization-trail-view';
import { reconcileWorld, reconcileWorldIngestDeps } from '../../testkit/reconcile-env';
import { REGION } from '../../testkit/test-emulator';

const PREFIX = 'central';
const RULE = 'cloudtrail-collector-archive';

let receiver: DownstreamReceiver;
beforeEach(async () => {
  receiver = new DownstreamReceiver({ token: 'org-token' });
  await receiver.start();
});
afterEach(async () => receiver.stop());

const clientsIn = (world: OrganizationWorld, accountId: string) => organizationAccountClients(world, accountId, REGION);

/** GetBucketNotificationConfiguration of `bucket` as S3 answers it when EventBridge is on (moto leaves it out). */
function withEventBridgeShown(bucket: () => string | undefined) {
  return (real: ReconcileClients): ReconcileClients => ({
    ...real,
    async customer(target) {
      const clients = await real.customer(target);
      const wrapped: CustomerClients = {
        ...clients,
        s3: (region) => {
          const inner = clients.s3(region);
          return {
            send: (async (command: GetBucketNotificationConfigurationCommand) => {
              const answer: GetBucketNotificationConfigurationCommandOutput = await inner.send(command);
              if (!(command instanceof GetBucketNotificationConfigurationCommand) || command.input.Bucket !== bucket())
                return answer;
              return { ...answer, EventBridgeConfiguration: answer.EventBridgeConfiguration ?? {} };
            }) as CustomerClients['s3'] extends (r: string) => { send: infer S } ? S : never,
          };
        },
      };
      return wrapped;
    },
  });
}

test('the bucket sends its events to EventBridge: a rule to the archive queue, the configuration untouched', async () => {
  const seeing = new Set<string>();
  const shown: { trail?: Trail; bucket?: string } = {};
  const world = await reconcileWorld([], {
    clients: (real) =>
      withEventBridgeShown(() => shown.bucket)(
        withOrganizationTrail({ accounts: () => seeing, trail: () => shown.trail })(real),
      ),
  });
  const org = await createOrganizationWorld({ region: REGION, members: 3, s3KeyPrefix: PREFIX });
  shown.trail = await organizationTrailOf(org, REGION);
  shown.bucket = org.bucket;
  seeing.add(org.logArchiveAccountId);
  await registerOrganizationAccounts(world.registry, org);
  const archive = await clientsIn(org, org.logArchiveAccountId);
  await archive.s3.send(
    new PutBucketNotificationConfigurationCommand({
      Bucket: org.bucket,
      NotificationConfiguration: { EventBridgeConfiguration: {} },
    }),
  );
  const before = await archive.s3.send(new GetBucketNotificationConfigurationCommand({ Bucket: org.bucket }));
  const run = async (mode: 'plan' | 'apply') =>
    world.account(await world.run(mode, org.logArchiveAccountId), org.logArchiveAccountId);

  const planned = await run('plan');
  expect(planned.findings.map((f) => f.code)).toEqual(
    expect.arrayContaining(['QUEUE_MISSING', 'ARCHIVE_EVENTBRIDGE_RULE_NEEDED']),
  );
  expect(planned.actions.map((a) => a.code)).not.toContain('PUT_BUCKET_NOTIFICATION');

  const applied = await run('apply');
  expect(applied.actions.map((a) => [a.code, a.status])).toEqual([
    ['CREATE_QUEUE', 'applied'],
    ['CREATE_QUEUE', 'applied'],
    ['PUT_ARCHIVE_EVENT_RULE', 'applied'],
  ]);
  expect(applied.status).toBe('repaired');

  // The bucket's notification configuration is exactly as it was.
  const after = await archive.s3.send(new GetBucketNotificationConfigurationCommand({ Bucket: org.bucket }));
  expect({ ...after, $metadata: undefined }).toEqual({ ...before, $metadata: undefined });

  // The rule: enabled, the bucket's Object Created events under the trail's prefix, one target, no role.
  const queueArn = `arn:aws:sqs:${REGION}:${org.logArchiveAccountId}:outcomesqueue`;
  const rule = await archive.events.send(new DescribeRuleCommand({ Name: RULE }));
  expect(rule.State).toBe('ENABLED');
  expect(JSON.parse(rule.EventPattern!)).toEqual({
    source: ['aws.s3'],
    'detail-type': ['Object Created'],
    detail: { bucket: { name: [org.bucket] }, object: { key: [{ prefix: `${PREFIX}/AWSLogs/` }] } },
  });
  const targets = await archive.events.send(new ListTargetsByRuleCommand({ Rule: RULE }));
  expect(targets.Targets).toEqual([expect.objectContaining({ Id: 'cloudtrail-collector', Arn: queueArn })]);
  expect(targets.Targets![0]!.RoleArn).toBeUndefined();
  // EventBridge may send to the queue only from that rule (moto does not evaluate it; AWS does).
  const queueUrl = (await archive.sqs.send(new GetQueueUrlCommand({ QueueName: 'outcomesqueue' }))).QueueUrl!;
  const policy = JSON.parse(
    (await archive.sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['Policy'] })))
      .Attributes!.Policy!,
  ) as { Statement: { Sid: string }[] };
  expect(policy.Statement.find((s) => s.Sid === 'CloudTrailCollectorArchiveEventsSend')).toEqual({
    Sid: 'CloudTrailCollectorArchiveEventsSend',
    Effect: 'Allow',
    Principal: { Service: 'events.amazonaws.com' },
    Action: 'sqs:SendMessage',
    Resource: queueArn,
    Condition: { ArnEquals: { 'aws:SourceArn': rule.Arn } },
  });

  // A second apply finds nothing to do.
  expect((await run('apply')).actions).toEqual([]);

  // The organization trail writes every member's files; S3 -> EventBridge -> the rule -> outcomesqueue.
  const expected: string[] = [];
  const now = new Date();
  for (const [index, member] of org.memberAccountIds.entries()) {
    const file = await putLogFile(archive.s3, {
      bucket: org.bucket,
      accountId: member,
      region: REGION,
      seed: 300 + index,
      records: 4 + index,
      time: now,
      prefix: PREFIX,
      orgId: org.organizationId,
    });
    expected.push(...file.eventIds);
  }
  // Outside the prefix: the rule does not match it.
  await archive.s3.send(new PutObjectCommand({ Bucket: org.bucket, Key: 'exports/report.csv', Body: 'a,b\n' }));

  const messages = await receiveAll(archive.sqs, queueUrl, queueArn);
  expect(messages).toHaveLength(3);
  expect(
    messages.every((m) => (JSON.parse(m.body) as { 'detail-type'?: string })['detail-type'] === 'Object Created'),
  ).toBe(true);
  const deps = await reconcileWorldIngestDeps(receiver, 'org-token');
  const result = await processSqsBatch(messages, deps, Date.now() + 60_000);
  expect(result.batchItemFailures).toEqual([]);
  expect([...receiver.eventIds.keys()].sort()).toEqual([...expected].sort());
  expect([...receiver.eventIds.values()].every((count) => count === 1)).toBe(true);

  // Someone disables the rule: reported, and written again by apply.
  await archive.events.send(new DisableRuleCommand({ Name: RULE }));
  const tampered = await run('apply');
  expect(tampered.findings.map((f) => f.code)).toContain('ARCHIVE_EVENTBRIDGE_RULE_NEEDED');
  expect(tampered.actions.map((a) => [a.code, a.status])).toEqual([['PUT_ARCHIVE_EVENT_RULE', 'applied']]);
  expect((await archive.events.send(new DescribeRuleCommand({ Name: RULE }))).State).toBe('ENABLED');

  // No trail was created anywhere.
  for (const accountId of [org.logArchiveAccountId, ...org.memberAccountIds]) {
    expect(await ownTrailArns(org, accountId, REGION)).toEqual([]);
  }
});
