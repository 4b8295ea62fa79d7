import { Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import { AttributeType, BillingMode, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { CollectorFunction } from './collector-function.construct';

export interface CollectorStackProps extends StackProps {
  /** The downstream log intake (HTTPS). */
  downstreamUrl: string;
  /** Secrets Manager ARN of the downstream bearer token (never a plain environment value). */
  downstreamTokenSecretArn?: string;
  customerRoleName?: string;
}

/**
 * The collector account: the accounts registry and the ingest function. The reconcile function, schedule,
 * alarms and dashboard are added by the stacks issue.
 */
export class CollectorStack extends Stack {
  readonly registry: Table;
  readonly ingest: CollectorFunction;

  constructor(scope: Construct, id: string, props: CollectorStackProps) {
    super(scope, id, props);

    this.registry = new Table(this, 'AccountsRegistry', {
      partitionKey: { name: 'accountId', type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      encryption: TableEncryption.AWS_MANAGED,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.ingest = new CollectorFunction(this, 'Ingest', {
      entry: 'ingest/handler.ts',
      description: 'Reads CloudTrail log files announced on customer queues and forwards every record downstream',
      memorySize: 1024,
      timeout: Duration.minutes(5),
      environment: {
        ACCOUNTS_TABLE: this.registry.tableName,
        DOWNSTREAM_URL: props.downstreamUrl,
        CUSTOMER_ROLE_NAME: props.customerRoleName ?? 'CloudTrailCollectorRole',
        ...(props.downstreamTokenSecretArn ? { DOWNSTREAM_TOKEN_SECRET_ARN: props.downstreamTokenSecretArn } : {}),
      },
    });
    this.registry.grantReadData(this.ingest.function);
  }
}
