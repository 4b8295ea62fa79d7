import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { AnyPrincipal, PolicyDocument, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectOwnership } from 'aws-cdk-lib/aws-s3';
import { Asset } from 'aws-cdk-lib/aws-s3-assets';
import { BucketDeployment, Source } from 'aws-cdk-lib/aws-s3-deployment';
import { NagSuppressions } from 'cdk-nag';
import { Construct, type IConstruct } from 'constructs';
import * as path from 'node:path';
import { GENERATED_FILES } from './names';
import { suppressWildcards } from './nag';
import { statementsFor, type ScopeResolver } from './permissions';

/** The key prefix of the published templates: the same paths as in the repository (`templates/...`). */
export const TEMPLATE_PREFIX = `${path.posix.dirname(GENERATED_FILES.customerTemplate)}/`;

export interface TemplateBucketProps {
  logRetention: RetentionDays;
}

/**
 * The customer templates (templates/, generated from lib/), published in a bucket of the collector stack so that a
 * quick-create link or a StackSet can name them by URL (`accounts add` prints the link, `organizations add` the
 * StackSet commands). Decided: **readable by everyone** (s3:GetObject on `templates/*` only; no listing, nothing
 * else). CloudFormation reads a TemplateURL with the deploying principal's own access ("stored in an S3 bucket
 * that you have read permissions to", CloudFormation User Guide, "Selecting a stack template"), and the
 * collector's customers are AWS accounts of any organization, so aws:PrincipalOrgID cannot name them; the templates
 * hold no secret and no operator-specific value (everything arrives as a parameter) and are public in this
 * repository anyway. TLS only, versioned (a stack update can name the version it was reviewed at), SSE-S3, ACLs
 * off; old versions expire after 90 days. BucketDeployment copies the files at each deploy and prunes removed ones.
 */
export class TemplateBucket extends Construct {
  readonly bucket: Bucket;
  /** `https://<bucket>.s3.<region>.amazonaws.com/`: a template's URL is this plus its repository path. */
  readonly url: string;

  constructor(scope: Construct, id: string, props: TemplateBucketProps) {
    super(scope, id);
    this.bucket = new Bucket(this, 'Bucket', {
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      versioned: true,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      // Public reads come from the bucket policy below; ACLs stay blocked (and unused: ownership enforced).
      blockPublicAccess: new BlockPublicAccess({
        blockPublicAcls: true,
        ignorePublicAcls: true,
        blockPublicPolicy: false,
        restrictPublicBuckets: false,
      }),
      lifecycleRules: [{ noncurrentVersionExpiration: Duration.days(90) }],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.bucket.addToResourcePolicy(
      new PolicyStatement({
        sid: 'PublicReadOfTheCustomerTemplates',
        principals: [new AnyPrincipal()],
        actions: ['s3:GetObject'],
        resources: [this.bucket.arnForObjects(`${TEMPLATE_PREFIX}*`)],
      }),
    );
    NagSuppressions.addResourceSuppressions(this.bucket, [
      {
        id: 'AwsSolutions-S1',
        reason:
          'Static, public CloudFormation templates with no data: server access logs would need a second bucket and record only anonymous GetObject calls of files that are public in the repository.',
      },
      {
        id: 'AwsSolutions-S2',
        reason:
          'Customers of any organization must read the templates through CloudFormation with their own principal, so the bucket policy allows s3:GetObject on templates/* to everyone; public ACLs stay blocked and ignored.',
      },
    ]);

    // The deployment's handler (a CDK-owned custom resource Lambda) gets a role built from the permission map
    // (principal template-publisher): exact actions on the asset object, the bucket and templates/*, instead of the
    // wildcard actions BucketDeployment would grant a role of its own.
    const logGroup = new LogGroup(this, 'PublisherLogs', {
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const asset = new Asset(this, 'Files', { path: path.join(__dirname, '..', TEMPLATE_PREFIX) });
    const scopes: ScopeResolver = {
      templateAsset: { resources: [asset.bucket.arnForObjects(asset.s3ObjectKey)] },
      templateBucket: { resources: [this.bucket.bucketArn] },
      templateObjects: { resources: [this.bucket.arnForObjects(`${TEMPLATE_PREFIX}*`)] },
      ownLogGroup: { resources: [logGroup.logGroupArn] },
    };
    const statements = statementsFor('template-publisher');
    const role = new Role(this, 'PublisherRole', {
      description:
        'cloudtrail-collector: copies the generated customer templates into the template bucket at deploy time',
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      inlinePolicies: Object.fromEntries(
        [...new Set(statements.map((statement) => statement.group))].map((group) => [
          group,
          new PolicyDocument({
            statements: statements
              .filter((statement) => statement.group === group)
              .map((statement) => {
                const resolved = scopes[statement.scope];
                if (resolved === undefined) throw new Error(`no resources for scope ${statement.scope} in ${id}`);
                return new PolicyStatement({
                  sid: statement.sid,
                  actions: statement.actions,
                  resources: resolved.resources,
                });
              }),
          }),
        ]),
      ),
    });
    suppressWildcards(role, statements, scopes);
    new BucketDeployment(this, 'Templates', {
      sources: [Source.bucket(asset.bucket, asset.s3ObjectKey)],
      destinationBucket: this.bucket,
      destinationKeyPrefix: TEMPLATE_PREFIX,
      memoryLimit: 256,
      logGroup,
      // Immutable: BucketDeployment's own grants cannot add to it.
      role: Role.fromRoleArn(this, 'PublisherExecutionRole', role.roleArn, { mutable: false }),
    });
    this.url = `https://${this.bucket.bucketRegionalDomainName}/`;
    const handler = Stack.of(this)
      .node.findAll()
      .find((node) => node.node.id.startsWith('Custom::CDKBucketDeployment') && node.node.scope === Stack.of(this));
    if (handler) suppressHandlerFindings(handler);
  }
}

/** BucketDeployment's handler is CDK's (runtime, invocation by CloudFormation): its findings, with the reasons. */
function suppressHandlerFindings(handler: IConstruct): void {
  NagSuppressions.addResourceSuppressions(handler, [
    {
      id: 'AwsSolutions-L1',
      reason: "The BucketDeployment handler's Python runtime is chosen by aws-cdk-lib and moves with its releases.",
    },
    {
      id: 'Serverless-LambdaLatestVersion',
      reason: "The BucketDeployment handler's Python runtime is chosen by aws-cdk-lib and moves with its releases.",
    },
    {
      id: 'Serverless-LambdaDLQ',
      reason:
        'Invoked synchronously by CloudFormation as a custom resource: a failure fails the deployment, so a DLQ would never receive anything.',
    },
    {
      id: 'Serverless-LambdaTracing',
      reason:
        'A deploy-time copy of a few template files: its log group (PublisherLogs) says everything an X-Ray trace would.',
    },
  ]);
}
