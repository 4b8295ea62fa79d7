import { CfnResource } from 'aws-cdk-lib';
import type {
  INagLogger,
  NagLoggerErrorData,
  NagLoggerNonComplianceData,
  NagLoggerSuppressedData,
  NagLoggerSuppressedErrorData,
} from 'cdk-nag';
import { configWithIngest, synthApp } from './support';

/** Records what the AwsSolutions and Serverless packs found on every stack of the app. */
class Recorder implements INagLogger {
  readonly unsuppressed: string[] = [];
  readonly errors: string[] = [];
  readonly suppressed: { path: string; ruleId: string; findingId: string; reason: string }[] = [];
  onCompliance(): void {}
  onNotApplicable(): void {}
  onNonCompliance(data: NagLoggerNonComplianceData): void {
    this.unsuppressed.push(
      `${data.ruleId}${data.findingId ? `[${data.findingId}]` : ''} on ${data.resource.node.path}`,
    );
  }
  onSuppressed(data: NagLoggerSuppressedData): void {
    this.suppressed.push({
      path: data.resource.node.path,
      ruleId: data.ruleId,
      findingId: data.findingId,
      reason: data.suppressionReason,
    });
  }
  onError(data: NagLoggerErrorData): void {
    this.errors.push(`${data.ruleId} on ${data.resource.node.path}: ${data.errorMessage}`);
  }
  onSuppressedError(data: NagLoggerSuppressedErrorData): void {
    this.errors.push(`${data.ruleId} (suppressed) on ${data.resource.node.path}: ${data.errorMessage}`);
  }
}

type Suppression = { id: string; reason: string; applies_to?: unknown[] };

/** CDK's singleton handler of BucketDeployment (256 MiB), which publishes the templates. */
const BUCKET_DEPLOYMENT_HANDLER =
  'CloudTrailCollector/Custom::CDKBucketDeployment8693BB64968944B69AAFB0CC9EB8756C256MiB/Resource';

/**
 * What the hub topology (8 shards, cdk.json) adds: each mapping and each DLQ explains its failure path, the backfill
 * queue's (lib/backfill-queue.construct.ts) as well.
 */
const HUB_SUPPRESSIONS = [
  ...Array.from({ length: 8 }, (_, shard) => String(shard).padStart(2, '0')).flatMap((nn) => [
    `Serverless-LambdaEventSourceMappingDestination CloudTrailCollector/Hub/Shard${nn}Mapping/Resource`,
    `Serverless-SQSRedrivePolicy CloudTrailCollector/Hub/Shard${nn}/DeadLetterQueue/Resource`,
  ]),
  'Serverless-LambdaEventSourceMappingDestination CloudTrailCollector/Backfill/Mapping/Resource',
  'Serverless-SQSRedrivePolicy CloudTrailCollector/Backfill/DeadLetterQueue/Resource',
];

describe.each([
  { topology: 'hub', config: undefined, extra: HUB_SUPPRESSIONS },
  { topology: 'customer-queue', config: configWithIngest({ topology: 'customer-queue' }), extra: [] },
])('cdk-nag: AwsSolutions and Serverless packs over every stack ($topology topology)', ({ config, extra }) => {
  const recorder = new Recorder();
  let declared: { path: string; rule: Suppression }[];

  beforeAll(() => {
    const { app } = synthApp({
      nag: { reports: false, additionalLoggers: [recorder] },
      ...(config !== undefined ? { config } : {}),
    });
    app.synth();
    declared = app.node
      .findAll()
      .filter((node): node is CfnResource => node instanceof CfnResource)
      .flatMap((resource) =>
        (
          (resource.getMetadata('cdk_nag') as { rules_to_suppress?: Suppression[] } | undefined)?.rules_to_suppress ??
          []
        ).map((rule) => ({ path: resource.node.path, rule })),
      );
  });

  test('zero unsuppressed findings and no rule errors', () => {
    expect(recorder.unsuppressed).toEqual([]);
    expect(recorder.errors).toEqual([]);
  });

  test('every suppression carries a real reason', () => {
    expect(declared.length).toBeGreaterThan(0);
    for (const { path, rule } of declared) {
      expect({ path, id: rule.id, long: rule.reason.length >= 60 }).toEqual({ path, id: rule.id, long: true });
    }
  });

  test('every suppression is used: no stale suppression, no suppression wider than its findings', () => {
    const stale: string[] = [];
    for (const { path, rule } of declared) {
      const hits = recorder.suppressed.filter((s) => s.path === path && s.ruleId === rule.id);
      if (hits.length === 0) stale.push(`${rule.id} on ${path}`);
      for (const applies of rule.applies_to ?? []) {
        if (typeof applies !== 'string') continue;
        if (!hits.some((hit) => hit.findingId === applies)) stale.push(`${rule.id}[${applies}] on ${path}`);
      }
    }
    expect(stale).toEqual([]);
  });

  test('the suppressed rules, by resource (a new suppression must be reviewed here)', () => {
    const summary = [...new Set(recorder.suppressed.map((s) => `${s.ruleId} ${s.path}`))].sort();
    expect(summary).toEqual(
      [
        'AwsSolutions-IAM5 CloudTrailCollector/Ingest/Role/Resource',
        'AwsSolutions-IAM5 CloudTrailCollector/Reconcile/Role/Resource',
        // The template bucket (lib/template-bucket.construct.ts): its publisher role's templates/* and log group,
        // the public-read bucket itself, and the CDK-owned BucketDeployment handler.
        'AwsSolutions-IAM5 CloudTrailCollector/TemplateBucket/PublisherRole/Resource',
        'AwsSolutions-S1 CloudTrailCollector/TemplateBucket/Bucket/Resource',
        'AwsSolutions-S2 CloudTrailCollector/TemplateBucket/Bucket/Resource',
        `AwsSolutions-L1 ${BUCKET_DEPLOYMENT_HANDLER}`,
        `Serverless-LambdaDLQ ${BUCKET_DEPLOYMENT_HANDLER}`,
        `Serverless-LambdaLatestVersion ${BUCKET_DEPLOYMENT_HANDLER}`,
        `Serverless-LambdaTracing ${BUCKET_DEPLOYMENT_HANDLER}`,
        'AwsSolutions-IAM5 CloudTrailCollectorCustomerRole/DecryptLogFiles/Resource',
        'AwsSolutions-IAM5 CloudTrailCollectorCustomerRole/Observe/Resource',
        'AwsSolutions-IAM5 CloudTrailCollectorCustomerRole/Queue/Resource',
        'AwsSolutions-IAM5 CloudTrailCollectorCustomerRole/ReadLogFiles/Resource',
        'AwsSolutions-IAM5 CloudTrailCollectorCustomerRole/Repair/Resource',
        'AwsSolutions-IAM5 CloudTrailCollectorLogArchiveRole/DecryptLogFiles/Resource',
        'AwsSolutions-IAM5 CloudTrailCollectorLogArchiveRole/Observe/Resource',
        'AwsSolutions-IAM5 CloudTrailCollectorLogArchiveRole/Queue/Resource',
        'AwsSolutions-IAM5 CloudTrailCollectorLogArchiveRole/ReadLogFiles/Resource',
        'AwsSolutions-IAM5 CloudTrailCollectorLogArchiveRole/Repair/Resource',
        'AwsSolutions-SMG4 CloudTrailCollector/DownstreamToken/Resource',
        'AwsSolutions-SQS3 CloudTrailCollector/ReconcileFailures/Resource',
        'Serverless-LambdaDLQ CloudTrailCollector/Ingest/Function/Resource',
        'Serverless-LambdaDLQ CloudTrailCollector/Reconcile/Function/Resource',
        'Serverless-LambdaStarPermissions CloudTrailCollector/Reconcile/Role/Resource',
        'Serverless-LambdaTracing CloudTrailCollector/Ingest/Function/Resource',
        'Serverless-LambdaTracing CloudTrailCollector/Reconcile/Function/Resource',
        'Serverless-SQSRedrivePolicy CloudTrailCollector/ReconcileFailures/Resource',
        // The reconcile worker and its job queue (lib/reconcile-jobs.construct.ts, issue 14).
        'Serverless-LambdaDLQ CloudTrailCollector/ReconcileWorker/Function/Resource',
        'Serverless-LambdaTracing CloudTrailCollector/ReconcileWorker/Function/Resource',
        'Serverless-LambdaEventSourceMappingDestination CloudTrailCollector/ReconcileJobs/Mapping/Resource',
        'Serverless-SQSRedrivePolicy CloudTrailCollector/ReconcileJobs/DeadLetterQueue/Resource',
        // The customer's TamperEvents rule (lib/customer-account.stack.ts): a missed trigger needs no customer DLQ.
        'Serverless-EventBusDLQ CloudTrailCollectorCustomerRole/TamperCallsRule',
        'Serverless-EventBusDLQ CloudTrailCollectorLogArchiveRole/TamperCallsRule',
        ...extra,
      ].sort(),
    );
  });

  test('IAM5 is suppressed only for named wildcard resources, never for a wildcard action', () => {
    const iam5 = recorder.suppressed.filter((s) => s.ruleId === 'AwsSolutions-IAM5');
    expect(iam5.length).toBeGreaterThan(0);
    for (const hit of iam5) expect(hit.findingId).toMatch(/^Resource::/);
    for (const { rule } of declared.filter((d) => d.rule.id === 'AwsSolutions-IAM5')) {
      expect(rule.applies_to?.length).toBeGreaterThan(0);
    }
  });
});
