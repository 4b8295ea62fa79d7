import { Duration } from 'aws-cdk-lib';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { NagSuppressions } from 'cdk-nag';
import type { Construct } from 'constructs';
import { CollectorFunction, type CollectorFunctionProps } from './collector-function.construct';
import { ratePeriodSeconds } from './config';

export interface ScheduledFunctionProps extends CollectorFunctionProps {
  /** The EventBridge rule that invokes the function. */
  schedule: {
    ruleName: string;
    description: string;
    /** An EventBridge schedule expression: `rate(...)` or `cron(...)`. */
    expression: string;
  };
  /**
   * Where a failed run (the asynchronous on-failure destination) and an event EventBridge could not deliver (the
   * rule target's dead-letter queue) land. The caller creates it, since the function's role must be allowed to
   * send to it; an alarm on its depth belongs to the caller too.
   */
  failureQueue: IQueue;
}

/**
 * A collector function run on a schedule, in the manner of the `EventsToLambda` constructs of AWS Solutions: the
 * function (a CollectorFunction: same runtime, log group and permission-map role), the EventBridge rule that
 * invokes it, the asynchronous-invoke failure destination, and the cdk-nag suppression those justify. No business
 * logic: what the function does and how often comes from the props.
 *
 * The rule is created next to the construct (`<id>Schedule` in the same scope), not inside it, so the resources
 * keep the logical ids they had before this construct existed: a new logical id would replace the deployed rule.
 */
export class ScheduledFunction extends CollectorFunction {
  readonly rule: Rule;
  /** The period of a `rate(...)` schedule; undefined for `cron(...)`. */
  readonly period: Duration | undefined;

  constructor(scope: Construct, id: string, props: ScheduledFunctionProps) {
    super(scope, id, props);
    const periodSeconds = ratePeriodSeconds(props.schedule.expression);
    this.period = periodSeconds === undefined ? undefined : Duration.seconds(periodSeconds);

    // A failed scheduled run is not retried by Lambda (the next scheduled run is the retry, and a reserved
    // concurrency of 1 would only queue retries behind it); it goes to the failure queue. A run still waiting for
    // the running one after a full period (an hour for cron schedules; Lambda allows at most 6 hours) is dropped
    // there too, instead of piling up.
    this.function.configureAsyncInvoke({
      retryAttempts: 0,
      maxEventAge: Duration.seconds(Math.min(periodSeconds ?? 3600, 6 * 3600)),
      onFailure: new SqsDestination(props.failureQueue),
    });
    NagSuppressions.addResourceSuppressions(this.function, [
      {
        id: 'Serverless-LambdaDLQ',
        reason: `The asynchronous on-failure destination (the ${'shared' in props.role ? 'function' : props.role.principal} failure queue) is configured instead of a DLQ: it receives the same events plus the error and the response context.`,
      },
    ]);

    this.rule = new Rule(scope, `${id}Schedule`, {
      ruleName: props.schedule.ruleName,
      description: props.schedule.description,
      schedule: Schedule.expression(props.schedule.expression),
      targets: [
        new LambdaFunction(this.function, {
          retryAttempts: 2,
          maxEventAge: Duration.minutes(10),
          deadLetterQueue: props.failureQueue,
        }),
      ],
    });
  }
}
