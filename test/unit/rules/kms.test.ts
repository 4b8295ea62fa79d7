/**
 * TRAIL_KMS_UNREADABLE: ingest recorded that S3 could not decrypt the account's SSE-KMS log files for the
 * collector's role; the rule names the key (the observed trail's KmsKeyId) and the key policy statement the
 * customer must add, following the CloudTrail User Guide, "Configure AWS KMS key policies for CloudTrail",
 * "Granting decrypt permissions" (kms:Decrypt with the `kms:EncryptionContext:aws:cloudtrail:arn` condition).
 */
import { planAccount } from '../../../lambdas/reconcile/plan';
import { reconcileAll } from '../../../lambdas/reconcile/reconcile';
import { kmsRule } from '../../../lambdas/reconcile/rules';
import { decryptStatement } from '../../../lambdas/reconcile/rules/kms';
import { known } from '../../../lambdas/reconcile/types';
import { silentLogger } from '../../../lambdas/shared/logger';
import type { ReadError } from '../../../lambdas/shared/registry';
import { FakeCloud, MemoryRegistry, seedHealthyAccount } from '../../../testkit/fake-cloud';
import {
  ACCT,
  BUCKET,
  RECONCILE_SETTINGS,
  TRAIL_ARN,
  context,
  healthy,
  trail,
  withDeadLetterQueue,
} from '../../../testkit/reconcile-fixtures';
import { ruleOutput } from './helpers';

const KEY_ARN = `arn:aws:kms:us-east-1:${ACCT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
const ROLE_ARN = `arn:aws:iam::${ACCT}:role/CloudTrailCollectorRole`;
const NOW = new Date('2026-11-01T12:00:00.000Z');
const OBJECT_KEY = `AWSLogs/${ACCT}/CloudTrail/us-east-1/2026/11/01/${ACCT}_CloudTrail_us-east-1_20261101T1150Z_a.json.gz`;

const readError = (overrides: Partial<ReadError> = {}): ReadError => ({
  kind: 'kms',
  at: '2026-11-01T11:55:00.000Z',
  bucket: BUCKET,
  objectKey: OBJECT_KEY,
  code: 'AccessDenied',
  keyArn: KEY_ARN,
  roleArn: ROLE_ARN,
  message: `User: ... is not authorized to perform: kms:Decrypt on resource: ${KEY_ARN}`,
  ...overrides,
});

/** A healthy chain whose trail encrypts its log files with KEY_ARN. */
const encrypted = () => {
  const state = healthy();
  state.trails = known([trail({ kmsKeyId: KEY_ARN })]);
  return state;
};

const findingsOf = (ctx: Parameters<typeof context>[0], state = encrypted()) =>
  ruleOutput(kmsRule, state, context({ now: NOW, ...ctx })).findings;

/** The statement the customer adds, as the CloudTrail guide writes it, plus S3 as the only way in. */
const STATEMENT = {
  Sid: 'CloudTrailCollectorDecryptLogFiles',
  Effect: 'Allow',
  Principal: { AWS: ROLE_ARN },
  Action: 'kms:Decrypt',
  Resource: '*',
  Condition: {
    StringLike: {
      'kms:ViaService': 's3.us-east-1.amazonaws.com',
      'kms:EncryptionContext:aws:cloudtrail:arn': `arn:aws:cloudtrail:*:${ACCT}:trail/*`,
    },
  },
};

describe('TRAIL_KMS_UNREADABLE', () => {
  test('compliant: no read error, one older than the last delivered record, or one older than 24 hours', () => {
    expect(findingsOf({})).toEqual([]);
    expect(findingsOf({ lastReadError: readError(), lastRecordAt: '2026-11-01T11:58:00.000Z' })).toEqual([]);
    expect(findingsOf({ lastReadError: readError({ at: '2026-10-31T11:59:00.000Z' }) })).toEqual([]);
    expect(findingsOf({ lastReadError: readError({ at: 'not a date' }) })).toEqual([]);
  });

  test('non-compliant: the key and the exact key policy statement for the collector role', () => {
    const findings = findingsOf({ lastReadError: readError(), lastRecordAt: '2026-11-01T10:00:00.000Z' });
    expect(findings).toHaveLength(1);
    const [found] = findings;
    expect(found).toMatchObject({ code: 'TRAIL_KMS_UNREADABLE', severity: 'high', resource: KEY_ARN });
    expect(found!.message).toBe(
      `S3 cannot decrypt log files of this account with ${KEY_ARN} for the collector's role ${ROLE_ARN} ` +
        `(AccessDenied on s3://${BUCKET}/${OBJECT_KEY} at 2026-11-01T11:55:00.000Z): ingest fails every such ` +
        'file, and they wait in outcomesqueue-dlq; add this statement to the key policy (leave its other ' +
        `statements as they are), then redrive the DLQ: ${JSON.stringify(STATEMENT)}. If the policy allows it ` +
        'already, an explicit Deny (key policy, SCP, permissions boundary) blocks it',
    );
  });

  test("the key comes from the trail's KmsKeyId even when S3's message did not name it", () => {
    const [found] = findingsOf({ lastReadError: readError({ keyArn: undefined }) });
    expect(found?.resource).toBe(KEY_ARN);
    expect(found?.message).toContain(`with ${KEY_ARN} for`);
  });

  test('a bucket-default SSE-KMS key (the trail names none): S3 only, no CloudTrail condition that could not match', () => {
    const [found] = findingsOf({ lastReadError: readError() }, healthy());
    expect(found?.message).toContain(
      JSON.stringify({
        ...STATEMENT,
        Condition: { StringLike: { 'kms:ViaService': 's3.us-east-1.amazonaws.com' } },
      }),
    );
    // No key known at all: the trail is the resource, and no key is invented.
    const [bare] = findingsOf({ lastReadError: readError({ keyArn: undefined }) }, healthy());
    expect(bare?.resource).toBe(TRAIL_ARN);
    expect(bare?.message).toContain("its KMS key (S3 did not name it: see the bucket's default encryption)");
    expect(bare?.message).toContain('"kms:ViaService":"s3.*.amazonaws.com"');
  });

  test('a disabled key or one pending deletion: the key state is reported, not a statement', () => {
    const [disabled] = findingsOf({ lastReadError: readError({ code: 'KMS.DisabledException' }) });
    expect(disabled?.message).toMatch(/; the key is disabled: enable it, then redrive the DLQ$/);
    const [pending] = findingsOf({ lastReadError: readError({ code: 'KMS.KMSInvalidStateException' }) });
    expect(pending?.message).toMatch(/pending deletion or import\): cancel its deletion, then redrive the DLQ$/);
  });

  test('the statement in another partition uses its S3 service name', () => {
    expect(
      decryptStatement(
        'arn:aws-cn:iam::111122223333:role/CloudTrailCollectorRole',
        'arn:aws-cn:kms:cn-north-1:111122223333:key/k',
        trail({ kmsKeyId: 'arn:aws-cn:kms:cn-north-1:111122223333:key/k' }),
      ),
    ).toMatchObject({
      Condition: {
        StringLike: {
          'kms:ViaService': 's3.cn-north-1.amazonaws.com.cn',
          'kms:EncryptionContext:aws:cloudtrail:arn': 'arn:aws-cn:cloudtrail:*:111122223333:trail/*',
        },
      },
    });
  });
});

describe('TRAIL_KMS_UNREADABLE in the plan and the run', () => {
  test('an account rule: it reports after the chain findings and plans nothing', () => {
    const state = encrypted();
    withDeadLetterQueue(state, 3);
    const plan = planAccount(state, context({ now: NOW, lastReadError: readError() }));
    expect(plan.findings.map((f) => f.code)).toEqual(['DLQ_NOT_EMPTY', 'TRAIL_KMS_UNREADABLE']);
    expect(plan.actions.filter((a) => a.reason === 'TRAIL_KMS_UNREADABLE')).toEqual([]);
  });

  test("end to end over the fake cloud: the registry's lastReadError and the trail's observed KmsKeyId", async () => {
    const cloud = new FakeCloud();
    const chain = seedHealthyAccount(cloud, ACCT);
    cloud.account(ACCT).trails[0]!.kmsKeyId = KEY_ARN;
    const registry = new MemoryRegistry([
      { accountId: ACCT, ...chain, bucketName: chain.bucket, lastReadError: readError({ keyArn: undefined }) },
    ]);
    const report = await reconcileAll(
      registry,
      { clients: cloud.clients(), config: RECONCILE_SETTINGS, logger: silentLogger, now: () => NOW },
      { mode: 'plan' },
    );
    const findings = report.accounts[0]!.findings.filter((f) => f.code === 'TRAIL_KMS_UNREADABLE');
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ severity: 'high', resource: KEY_ARN });
    expect(findings[0]!.message).toContain(JSON.stringify(STATEMENT));
    expect(report.accounts[0]!.status).toBe('degraded');
  });
});
