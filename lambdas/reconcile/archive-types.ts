/**
 * The log archive's collection path (issue 12): what reconcile knows of a registered log archive, what observe
 * reads of its bucket's notification configuration, and the PUT_BUCKET_NOTIFICATION action's inputs. The path is
 * described in docs/customer-setup.md, "Organization trails and a log archive account".
 */
import type { HubSubscriber } from './path-types';

/** The trail that delivers into the archive bucket: its prefix decides the filter of the queue configuration. */
export interface ArchiveTrail {
  trailArn: string;
  /** The trail's S3KeyPrefix: CloudTrail writes under `<prefix>/AWSLogs/...` (absent: `AWSLogs/...`). */
  s3KeyPrefix?: string;
  /** The trail's SNS topic, when it has one (reported; the S3 path is the one the collector sets up). */
  snsTopicArn?: string;
  homeRegion?: string;
  /** Where reconcile learned of it: the archive's own DescribeTrails, or the registered organization's item. */
  source: 'describe-trails' | 'organization';
}

/** PlanContext.logArchive: the account is a registered log archive (logArchiveFor / logArchiveBucket). */
export interface LogArchiveContext {
  bucketName: string;
  /** The organizations (`o-...`) it archives for. */
  organizationIds: string[];
  /** The organization trail from the organization's registry item, when reconcile has one for the bucket. */
  trail?: ArchiveTrail;
}

/** One Queue, Topic or Lambda configuration of the bucket, as S3 returned it. */
export interface NotificationTarget {
  id?: string;
  arn: string;
  events: string[];
  prefix?: string;
  suffix?: string;
}

/** GetBucketNotificationConfiguration, reduced to what the rule judges (apply re-reads the whole document). */
export interface ObservedNotificationConfiguration {
  queues: NotificationTarget[];
  topics: NotificationTarget[];
  lambdas: NotificationTarget[];
  /** EventBridgeConfiguration is present: S3 sends every event of the bucket to EventBridge. */
  eventBridge: boolean;
}

export interface ObservedArchive {
  bucketName: string;
  /** The Region the configuration was read in (the trail's home Region, else the collector's). */
  region: string;
  notification: ObservedNotificationConfiguration;
  /** The trail delivering into the bucket, when known (DescribeTrails first, else the organization's item). */
  trail?: ArchiveTrail;
  /**
   * When the bucket sends its events to EventBridge: the collector's rule on the archive's default event bus in
   * the bucket's Region (`cloudtrail-collector-archive`; null: there is none), or why it could not be read.
   * Absent when the bucket does not use EventBridge (the rule is not read).
   */
  eventRule?: { known: true; value: ObservedEventRule | null } | { known: false; error: string };
}

/** DescribeRule and ListTargetsByRule of the collector's archive rule. */
export interface ObservedEventRule {
  arn: string;
  /** ENABLED, DISABLED, ... */
  state: string;
  /** The rule's event pattern, as EventBridge returns it (a JSON string). */
  eventPattern?: string;
  targets: { id: string; arn: string; roleArn?: string }[];
}

interface ArchiveNotificationBase {
  bucketName: string;
  /** The bucket's Region (a queue or topic destination must be in the bucket's Region). */
  region: string;
  /** `<trail prefix>/AWSLogs/` (or `AWSLogs/`). */
  prefix: string;
  suffix: string;
  /** The configuration's Id: the collector's own, recognised on later runs. */
  configurationId: string;
}

/**
 * Customer-queue topology: a queue configuration to the archive's `outcomesqueue`. Hub topology: a topic
 * configuration to the archive's `outcomestopic` (in the bucket's Region), which the collector subscribes to the
 * archive's hub shard queue; `hubSubscriber` is written into the topic policy beside S3's publish statement.
 */
export type ArchiveNotificationParams = ArchiveNotificationBase &
  (
    | { queueName: string; queueArn: string; topicArn?: never; hubSubscriber?: never }
    | { topicArn: string; hubSubscriber: HubSubscriber; queueName?: never; queueArn?: never }
  );

/**
 * PUT_ARCHIVE_EVENT_RULE: when the bucket sends its events to EventBridge, the collector's rule on the archive's
 * default bus in the bucket's Region matches the bucket's Object Created events under `prefix` and targets the
 * archive's `outcomesqueue` (customer-queue topology) or `outcomestopic` (hub topology, subscribed to the hub shard
 * queue); the target's policy lets `events.amazonaws.com` send, with `aws:SourceArn` = the rule.
 */
export type ArchiveEventRuleParams = {
  bucketName: string;
  /** The bucket's Region: S3 sends its events to the default bus of its own Region. */
  region: string;
  prefix: string;
  ruleName: string;
} & (
  | { queueName: string; queueArn: string; topicArn?: never; hubSubscriber?: never }
  | { topicArn: string; hubSubscriber: HubSubscriber; queueName?: never; queueArn?: never }
);
