import { Duration } from 'aws-cdk-lib';
import { EventBus, Rule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { AnyPrincipal, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import {
  API_CALL_DETAIL_TYPE,
  TAMPER_EVENT_BUS_NAME,
  TAMPER_RULE_NAME,
  tamperEventPattern,
  tamperEventSources,
} from '../lambdas/shared/tamper-calls';

export interface TamperEventsProps {
  /** The ingest function: it validates each event against the registry and sends the account's job. */
  ingest: IFunction;
  /** Where an event EventBridge could not deliver, or an invocation that failed after Lambda's retries, lands. */
  failureQueue: IQueue;
}

/**
 * The collector's end of the EventBridge trigger path (docs/operations.md, "Triggers"): the event bus customers'
 * `cloudtrail-collector-tamper-calls` rules forward their chain-changing API calls to, its resource policy, and a
 * rule that invokes the ingest function with each event.
 *
 * The bus policy admits any account: 10,000 account ids would not fit a resource policy (EventBridge's policy size
 * limit), and the customers belong to no one organization. What narrows it instead: only `events:PutEvents`, only
 * events whose source is one of the four services of TAMPER_CALLS with detail-type "AWS API Call via CloudTrail"
 * (`events:source`, `events:detail-type`), and only from a rule named `cloudtrail-collector-tamper-calls`
 * (`aws:SourceArn`, the ARN of the rule sending the event: "Using IAM policy conditions in Amazon EventBridge").
 * A custom event cannot claim an `aws.` source (PutEvents refuses it), so what arrives is a real CloudTrail event
 * of the sending account, whose `account` EventBridge sets. The registry check is in the handler
 * (lambdas/ingest/source/tamper-triggers.ts): an unregistered account, or a call on a resource the registry does
 * not record for that account, sends nothing. Forwarded events are charged to the sender ("Events sent from one
 * account to another are charged to the sending account"), so a stranger's events cost the collector only the
 * ingest invocations, each a registry read.
 */
export class TamperEvents extends Construct {
  readonly bus: EventBus;
  readonly rule: Rule;

  constructor(scope: Construct, id: string, props: TamperEventsProps) {
    super(scope, id);
    this.bus = new EventBus(this, 'Bus', {
      eventBusName: TAMPER_EVENT_BUS_NAME,
      description: "Customers' chain-changing API calls (cloudtrail-collector tamper triggers)",
    });
    this.bus.addToResourcePolicy(
      new PolicyStatement({
        sid: 'CustomerTamperCallRules',
        principals: [new AnyPrincipal()],
        actions: ['events:PutEvents'],
        resources: [this.bus.eventBusArn],
        conditions: {
          StringEquals: { 'events:source': tamperEventSources(), 'events:detail-type': [API_CALL_DETAIL_TYPE] },
          ArnLike: { 'aws:SourceArn': `arn:*:events:*:*:rule/${TAMPER_RULE_NAME}` },
        },
      }),
    );

    // A failed trigger is retried twice by Lambda, then goes to the failure queue (the account's next scheduled
    // run repairs the chain anyway); an event older than an hour is no longer "within minutes".
    props.ingest.configureAsyncInvoke({
      retryAttempts: 2,
      maxEventAge: Duration.hours(1),
      onFailure: new SqsDestination(props.failureQueue),
    });
    this.rule = new Rule(this, 'Rule', {
      eventBus: this.bus,
      ruleName: `${TAMPER_RULE_NAME}-to-ingest`,
      description: 'Invokes ingest with each forwarded chain-changing call: it checks the registry and sends the job',
      eventPattern: tamperEventPattern(),
      targets: [
        new LambdaFunction(props.ingest, {
          retryAttempts: 4,
          maxEventAge: Duration.hours(1),
          deadLetterQueue: props.failureQueue,
        }),
      ],
    });
  }
}
