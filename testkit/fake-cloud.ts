/**
 * An in-memory stand-in for the AWS calls reconcile makes, behind the `ReconcileClients` seam: per-account
 * trails, buckets, topics, subscriptions and queues, collector-account event source mappings, optional latency
 * per call, call counting and error injection. Fast enough for 1,000 accounts; used by unit tests and bench/.
 *
 * Subscriptions as SNS keeps them across accounts (the hub topology): each has an owner, the account that called
 * Subscribe. The collector (the queue owner) subscribing its own queue to a customer topic needs the topic policy
 * to allow its role sns:Subscribe (for that endpoint) and no confirmation (SNS Developer Guide, "Sending Amazon SNS
 * messages to an Amazon SQS queue in a different account"); the topic owner lists every subscription of its topic
 * but cannot read or set the attributes of one it does not own (AuthorizationError); an Unsubscribe by another
 * account than the owner leaves the subscription "Deleted" for 72 hours, during which the owner cannot subscribe
 * the endpoint again (AWS Knowledge Center, "How do I recreate a 'Deleted' Amazon SNS topic subscription for an
 * Amazon SQS queue in another AWS account?").
 *
 * Optionally, resource-policy propagation (`propagation`): for `delayMs` after a policy write, the calls that
 * validate that policy fail as AWS's do while a new policy is not yet in force everywhere (CreateTrail /
 * UpdateTrail: InsufficientS3BucketPolicyException, InsufficientSnsTopicPolicyException; CreateEventSourceMapping:
 * InvalidParameterValueException). The clock is injected, so tests advance it instead of waiting.
 */
import type { RoleTarget } from '../lambdas/shared/credentials';
import type { AccountRecord } from '../lambdas/shared/registry';
import { accountRecord } from './registry';
import { COLLECTOR_ACCOUNT, RECONCILE_ROLE_ARN } from './reconcile-fixtures';
import { RoleAssumptionError } from '../lambdas/shared/credentials';
import type { CollectorClients, CustomerClients, ReconcileClients } from '../lambdas/reconcile/clients';
import {
  defaultBucketPolicy,
  defaultQueueStatements,
  defaultTopicStatements,
  mergeCollectorStatements,
} from '../lambdas/reconcile/policies';

export interface FakeTrail {
  name: string;
  region: string;
  /** Owner account (defaults to the account holding it); another id makes it an organization trail. */
  owner?: string;
  bucket: string;
  topicName?: string;
  multiRegion: boolean;
  organization?: boolean;
  logging: boolean;
  selectors?: { management: boolean; data: boolean; readWriteType?: 'All' | 'ReadOnly' | 'WriteOnly' };
  /**
   * How CloudTrail answers a member account about an organization trail the management account owns
   * (CloudTrail User Guide, "Organization trails": members see it but cannot manage it): `sparse-status`
   * answers GetTrailStatus without IsLogging; an exception name makes GetTrailStatus and GetEventSelectors
   * fail with it. Undefined: answered in full.
   */
  memberAnswers?: 'sparse-status' | 'TrailNotFoundException' | 'CloudTrailARNInvalidException';
  insights?: boolean;
  /** GetInsightSelectors' answer when `insights` is on (undefined: the API error rate type on management events). */
  insightSelectors?: { InsightType: string; EventCategories?: string[] }[];
  cloudWatchLogGroupArn?: string;
  /** SSE-KMS: the key ARN DescribeTrails answers as KmsKeyId. */
  kmsKeyId?: string;
  deliveryError?: string;
  notificationError?: string;
  /** DescribeTrails' LogFileValidationEnabled (undefined: not answered); CreateTrail and UpdateTrail set it. */
  logFileValidation?: boolean;
  /**
   * GetTrailStatus's LatestDeliveryTime / LatestNotificationTime (ISO) by the Region asked: GetTrailStatus
   * answers for a single Region (CloudTrail API Reference). A Region not listed answers neither.
   */
  deliveries?: Record<string, { latestDeliveryTime?: string; latestNotificationTime?: string }>;
}

export interface FakeAccount {
  trails: FakeTrail[];
  /** Bucket name -> policy text (undefined: no policy). */
  buckets: Map<string, string | undefined>;
  /** Topic ARN -> policy text. */
  topics: Map<string, string | undefined>;
  subscriptions: FakeSubscription[];
  /** Queue name -> attributes. */
  queues: Map<string, Record<string, string>>;
}

export interface FakeSubscription {
  arn: string;
  topicArn: string;
  endpoint: string;
  /** The account that subscribed it (default: the topic's account); `collector` for the collector's own. */
  owner?: string;
  pending?: boolean;
  filterPolicy?: string;
  redrivePolicy?: string;
  rawMessageDelivery?: boolean;
  /** When another account than the owner unsubscribed it (fake clock, ms): "Deleted" for 72 hours. */
  deletedAt?: number;
}

export interface FakeEsm {
  uuid: string;
  queueArn: string;
  functionArn: string;
  state: 'Enabled' | 'Disabled';
  batchSize?: number;
  responseTypes?: string[];
  maximumConcurrency?: number;
}

/** How long SNS keeps a subscription "Deleted" after another account unsubscribed it. */
export const DELETED_SUBSCRIPTION_MS = 72 * 60 * 60 * 1000;

/** The collector's identity in the fake: the account of the hub queues, and the reconcile role that subscribes. */
export const FAKE_COLLECTOR = { accountId: COLLECTOR_ACCOUNT, reconcileRoleArn: RECONCILE_ROLE_ARN } as const;

type Failure = { name: string; status?: number; message?: string };

/** Eventual consistency of resource policies: a policy is in force `delayMs` after it was written. */
export interface PropagationDelay {
  delayMs: number;
  /** Milliseconds; the same clock the code under test sleeps on. */
  now: () => number;
}

export class FakeCloud {
  readonly accounts = new Map<string, FakeAccount>();
  /** Buckets owned by accounts the collector does not manage: HeadBucket answers 403. */
  readonly foreignBuckets = new Set<string>();
  readonly esms: FakeEsm[] = [];
  readonly calls: { accountId: string; command: string; input: Record<string, unknown> }[] = [];
  /** `${accountId}:${CommandName}` or `*:${CommandName}` -> error to throw. */
  readonly failures = new Map<string, Failure>();
  readonly unassumable = new Set<string>();
  /** `bucket:<name>`, `topic:<arn>` or `queue:<arn>` -> when its policy was last written (propagation only). */
  private readonly policyWrittenAt = new Map<string, number>();
  private nextId = 1;

  constructor(
    private readonly options: {
      latencyMs?: number;
      region?: string;
      propagation?: PropagationDelay;
      /** The clock of "Deleted" subscriptions (default: the propagation clock, else Date.now). */
      now?: () => number;
    } = {},
  ) {}

  private now(): number {
    return (this.options.now ?? this.options.propagation?.now ?? Date.now)();
  }

  private policyWritten(key: string): void {
    if (this.options.propagation) this.policyWrittenAt.set(key, this.options.propagation.now());
  }

  /** Throws the AWS error a caller gets while the policy written at `key` is not in force yet. */
  private requirePropagated(key: string, name: string, message: string): void {
    const propagation = this.options.propagation;
    const writtenAt = this.policyWrittenAt.get(key);
    if (propagation === undefined || writtenAt === undefined) return;
    if (propagation.now() - writtenAt < propagation.delayMs) throw awsError(name, 400, message);
  }

  private requireTrailPolicies(accountId: string, region: string, bucket: string, topicName: string): void {
    if (bucket) {
      this.requirePropagated(
        `bucket:${bucket}`,
        'InsufficientS3BucketPolicyException',
        `Incorrect S3 bucket policy is detected for bucket: ${bucket}`,
      );
    }
    if (topicName) {
      const arn = `arn:aws:sns:${region}:${accountId}:${topicName}`;
      this.requirePropagated(
        `topic:${arn}`,
        'InsufficientSnsTopicPolicyException',
        `Incorrect SNS topic policy or KMS key policy is detected for topic: ${arn}`,
      );
    }
  }

  account(accountId: string): FakeAccount {
    let account = this.accounts.get(accountId);
    if (!account) {
      account = { trails: [], buckets: new Map(), topics: new Map(), subscriptions: [], queues: new Map() };
      this.accounts.set(accountId, account);
    }
    return account;
  }

  /** `accountId` '*' fails the command for every account. */
  fail(accountId: string, command: string, failure: Failure): void {
    this.failures.set(`${accountId}:${command}`, failure);
  }

  callsOf(accountId: string): string[] {
    return this.calls.filter((call) => call.accountId === accountId).map((call) => call.command);
  }

  clients(): ReconcileClients {
    const collector: CollectorClients = {
      lambda: this.sender('collector', 'us-east-1') as CollectorClients['lambda'],
      sns: (region) => this.sender('collector', region),
    };
    return {
      customer: async (target: RoleTarget) => {
        await this.delay();
        if (this.unassumable.has(target.accountId)) {
          throw new RoleAssumptionError(
            target.roleArn,
            'AccessDenied',
            new Error('not authorized to perform sts:AssumeRole'),
          );
        }
        const client = (region: string) => this.sender(target.accountId, region);
        return {
          cloudTrail: client as unknown as CustomerClients['cloudTrail'],
          s3: client as unknown as CustomerClients['s3'],
          sns: client as unknown as CustomerClients['sns'],
          sqs: client as unknown as CustomerClients['sqs'],
        };
      },
      collector,
    };
  }

  private async delay(): Promise<void> {
    if (this.options.latencyMs) await new Promise((resolve) => setTimeout(resolve, this.options.latencyMs));
  }

  private sender(accountId: string, region: string) {
    return {
      send: async (command: { constructor: { name: string }; input: Record<string, unknown> }) => {
        const name = command.constructor.name.replace(/Command$/, '');
        this.calls.push({ accountId, command: name, input: command.input });
        await this.delay();
        const failure = this.failures.get(`${accountId}:${name}`) ?? this.failures.get(`*:${name}`);
        if (failure) throw awsError(failure.name, failure.status ?? 400, failure.message ?? failure.name);
        return this.handle(accountId, region, name, command.input);
      },
    };
  }

  private trailArn(accountId: string, trail: FakeTrail): string {
    return `arn:aws:cloudtrail:${trail.region}:${trail.owner ?? accountId}:trail/${trail.name}`;
  }

  private findTrail(accountId: string, nameOrArn: string): FakeTrail {
    const trail = this.account(accountId).trails.find(
      (t) => t.name === nameOrArn || this.trailArn(accountId, t) === nameOrArn,
    );
    if (!trail) throw awsError('TrailNotFoundException', 400, `Unknown trail: ${nameOrArn}`);
    return trail;
  }

  /** An organization trail's failing answers to a member account (`memberAnswers`). */
  private memberAnswer(trail: FakeTrail, command: string): void {
    const failure = trail.memberAnswers;
    if (failure === 'TrailNotFoundException' || failure === 'CloudTrailARNInvalidException') {
      throw awsError(failure, 400, `${command}: the trail is owned by ${trail.owner ?? 'another account'}`);
    }
  }

  private queueArn(accountId: string, region: string, name: string): string {
    return `arn:aws:sqs:${region}:${accountId}:${name}`;
  }

  private handle(accountId: string, region: string, name: string, input: Record<string, unknown>): unknown {
    if (accountId === 'collector') {
      return COLLECTOR_SNS.has(name) ? this.handleCollectorSns(region, name, input) : this.handleLambda(name, input);
    }
    const account = this.account(accountId);
    const str = (key: string): string => {
      const value = input[key];
      return typeof value === 'string' ? value : '';
    };
    switch (name) {
      case 'DescribeTrails':
        return {
          trailList: account.trails.map((t) => ({
            Name: t.name,
            TrailARN: this.trailArn(accountId, t),
            HomeRegion: t.region,
            S3BucketName: t.bucket,
            ...(t.topicName
              ? {
                  SnsTopicName: t.topicName,
                  SnsTopicARN: `arn:aws:sns:${t.region}:${t.owner ?? accountId}:${t.topicName}`,
                }
              : {}),
            IsMultiRegionTrail: t.multiRegion,
            IsOrganizationTrail: t.organization ?? false,
            HasCustomEventSelectors: t.selectors !== undefined,
            HasInsightSelectors: t.insights ?? false,
            ...(t.cloudWatchLogGroupArn ? { CloudWatchLogsLogGroupArn: t.cloudWatchLogGroupArn } : {}),
            ...(t.kmsKeyId ? { KmsKeyId: t.kmsKeyId } : {}),
            ...(t.logFileValidation !== undefined ? { LogFileValidationEnabled: t.logFileValidation } : {}),
          })),
        };
      case 'ListTrails':
        return {
          Trails: account.trails.map((t) => ({
            TrailARN: this.trailArn(accountId, t),
            Name: t.name,
            HomeRegion: t.region,
          })),
        };
      case 'GetTrailStatus': {
        const t = this.findTrail(accountId, str('Name'));
        this.memberAnswer(t, 'GetTrailStatus');
        if (t.memberAnswers === 'sparse-status') return {};
        const delivered = t.deliveries?.[region];
        return {
          IsLogging: t.logging,
          ...(t.deliveryError ? { LatestDeliveryError: t.deliveryError } : {}),
          ...(t.notificationError ? { LatestNotificationError: t.notificationError } : {}),
          ...(delivered?.latestDeliveryTime ? { LatestDeliveryTime: new Date(delivered.latestDeliveryTime) } : {}),
          ...(delivered?.latestNotificationTime
            ? { LatestNotificationTime: new Date(delivered.latestNotificationTime) }
            : {}),
        };
      }
      case 'GetEventSelectors': {
        const t = this.findTrail(accountId, str('TrailName'));
        this.memberAnswer(t, 'GetEventSelectors');
        const s = t.selectors ?? { management: true, data: false };
        return {
          EventSelectors: [
            {
              ReadWriteType: s.readWriteType ?? 'All',
              IncludeManagementEvents: s.management,
              DataResources: s.data ? [{ Type: 'AWS::S3::Object', Values: ['arn:aws:s3'] }] : [],
            },
          ],
        };
      }
      case 'GetInsightSelectors': {
        const t = this.findTrail(accountId, str('TrailName'));
        if (!t.insights) throw awsError('InsightNotEnabledException', 400, 'Insights are not enabled on this trail');
        return {
          TrailARN: this.trailArn(accountId, t),
          InsightSelectors: t.insightSelectors ?? [{ InsightType: 'ApiErrorRateInsight' }],
        };
      }
      case 'CreateTrail': {
        if (account.trails.some((t) => t.name === str('Name') && t.region === region))
          throw awsError('TrailAlreadyExistsException', 400, 'exists');
        if (!account.buckets.has(str('S3BucketName')))
          throw awsError('S3BucketDoesNotExistException', 400, 'no bucket');
        this.requireTrailPolicies(accountId, region, str('S3BucketName'), str('SnsTopicName'));
        const trail: FakeTrail = {
          name: str('Name'),
          region,
          bucket: str('S3BucketName'),
          multiRegion: input.IsMultiRegionTrail === true,
          logging: false,
          logFileValidation: input.EnableLogFileValidation === true,
          ...(input.SnsTopicName ? { topicName: str('SnsTopicName') } : {}),
        };
        account.trails.push(trail);
        return { TrailARN: this.trailArn(accountId, trail) };
      }
      case 'UpdateTrail': {
        const t = this.findTrail(accountId, str('Name'));
        this.requireTrailPolicies(accountId, t.region, str('S3BucketName'), str('SnsTopicName'));
        if (input.S3BucketName !== undefined) t.bucket = str('S3BucketName');
        if (input.SnsTopicName !== undefined) t.topicName = str('SnsTopicName');
        if (typeof input.EnableLogFileValidation === 'boolean') t.logFileValidation = input.EnableLogFileValidation;
        return {};
      }
      case 'StartLogging':
        this.findTrail(accountId, str('Name')).logging = true;
        return {};
      case 'HeadBucket':
        if (this.foreignBuckets.has(str('Bucket'))) throw awsError('Forbidden', 403, 'Forbidden');
        if (!account.buckets.has(str('Bucket'))) throw awsError('NotFound', 404, 'Not Found');
        return {};
      case 'ListBuckets':
        return {
          Buckets: [...account.buckets.keys()].filter((b) => b.startsWith(str('Prefix'))).map((Name) => ({ Name })),
        };
      case 'GetBucketPolicy': {
        const policy = account.buckets.get(str('Bucket'));
        if (policy === undefined) throw awsError('NoSuchBucketPolicy', 404, 'The bucket policy does not exist');
        return { Policy: policy };
      }
      case 'CreateBucket':
        if (this.foreignBuckets.has(str('Bucket'))) throw awsError('BucketAlreadyExists', 409, 'taken');
        if (!account.buckets.has(str('Bucket'))) account.buckets.set(str('Bucket'), undefined);
        return {};
      case 'PutPublicAccessBlock':
        return {};
      case 'PutBucketPolicy':
        account.buckets.set(str('Bucket'), str('Policy'));
        this.policyWritten(`bucket:${str('Bucket')}`);
        return {};
      case 'GetTopicAttributes': {
        const arn = str('TopicArn');
        if (!account.topics.has(arn)) throw awsError('NotFoundException', 404, 'Topic does not exist');
        const policy = account.topics.get(arn);
        return { Attributes: { TopicArn: arn, ...(policy ? { Policy: policy } : {}) } };
      }
      case 'CreateTopic': {
        const arn = `arn:aws:sns:${region}:${accountId}:${str('Name')}`;
        if (!account.topics.has(arn)) account.topics.set(arn, undefined);
        return { TopicArn: arn };
      }
      case 'SetTopicAttributes':
        account.topics.set(str('TopicArn'), str('AttributeValue'));
        if (str('AttributeName') === 'Policy') this.policyWritten(`topic:${str('TopicArn')}`);
        return {};
      case 'ListSubscriptionsByTopic': {
        const arn = str('TopicArn');
        if (!account.topics.has(arn)) throw awsError('NotFoundException', 404, 'Topic does not exist');
        // The topic owner sees every subscription of its topic, other accounts' included.
        return {
          Subscriptions: this.liveSubscriptions(account)
            .filter((s) => s.topicArn === arn)
            .map((s) => ({
              SubscriptionArn: s.deletedAt !== undefined ? 'Deleted' : s.pending ? 'PendingConfirmation' : s.arn,
              Owner: this.ownerOf(s, accountId),
              Protocol: 'sqs',
              Endpoint: s.endpoint,
              TopicArn: arn,
            })),
        };
      }
      case 'GetSubscriptionAttributes': {
        const s = this.ownSubscription(account, accountId, str('SubscriptionArn'));
        return { Attributes: subscriptionAttributes(s) };
      }
      case 'SetSubscriptionAttributes': {
        const s = this.ownSubscription(account, accountId, str('SubscriptionArn'));
        setSubscriptionAttribute(s, str('AttributeName'), str('AttributeValue'));
        return {};
      }
      case 'Unsubscribe': {
        const s = this.liveSubscriptions(account).find((sub) => sub.arn === str('SubscriptionArn'));
        if (!s) throw awsError('NotFoundException', 404, 'no subscription');
        if (this.ownerOf(s, accountId) === accountId) account.subscriptions.splice(account.subscriptions.indexOf(s), 1);
        else s.deletedAt = this.now(); // the topic owner unsubscribed another account's subscription
        return {};
      }
      case 'Subscribe': {
        const existing = this.liveSubscriptions(account).find(
          (s) => s.topicArn === str('TopicArn') && s.endpoint === str('Endpoint'),
        );
        if (existing) {
          existing.pending = false;
          return { SubscriptionArn: existing.arn };
        }
        const arn = `${str('TopicArn')}:sub-${this.nextId++}`;
        const redrivePolicy = (input.Attributes as Record<string, string> | undefined)?.RedrivePolicy;
        account.subscriptions.push({
          arn,
          topicArn: str('TopicArn'),
          endpoint: str('Endpoint'),
          ...(redrivePolicy ? { redrivePolicy } : {}),
        });
        return { SubscriptionArn: arn };
      }
      case 'GetQueueUrl':
        if (!account.queues.has(str('QueueName')))
          throw awsError('QueueDoesNotExist', 400, 'The specified queue does not exist.');
        return { QueueUrl: `https://sqs.${region}.amazonaws.com/${accountId}/${str('QueueName')}` };
      case 'GetQueueAttributes': {
        const queueName = str('QueueUrl').split('/').pop() ?? '';
        const attributes = account.queues.get(queueName);
        if (!attributes) throw awsError('QueueDoesNotExist', 400, 'The specified queue does not exist.');
        return {
          Attributes: {
            QueueArn: this.queueArn(accountId, region, queueName),
            ApproximateNumberOfMessages: '0',
            ApproximateNumberOfMessagesNotVisible: '0',
            ...attributes,
          },
        };
      }
      case 'CreateQueue': {
        const queueName = str('QueueName');
        if (!account.queues.has(queueName))
          account.queues.set(queueName, { ...(input.Attributes as Record<string, string>) });
        return { QueueUrl: `https://sqs.${region}.amazonaws.com/${accountId}/${queueName}` };
      }
      case 'SetQueueAttributes': {
        const queueName = str('QueueUrl').split('/').pop() ?? '';
        const attributes = input.Attributes as Record<string, string>;
        Object.assign(account.queues.get(queueName) ?? {}, attributes);
        if (attributes.Policy !== undefined) this.policyWritten(`queue:${this.queueArn(accountId, region, queueName)}`);
        return {};
      }
      default:
        throw new Error(`FakeCloud: ${name} is not implemented (and reconcile should not need it)`);
    }
  }

  // ---- the collector's own SNS calls: the hub subscriptions ----------------------------------------------

  private subscriptionOwner(s: FakeSubscription, topicAccount: string): string {
    return s.owner ?? topicAccount;
  }

  private ownerOf(s: FakeSubscription, topicAccount: string): string {
    const owner = this.subscriptionOwner(s, topicAccount);
    return owner === 'collector' ? FAKE_COLLECTOR.accountId : owner;
  }

  /** Subscriptions of an account's topics, without the "Deleted" ones SNS has cleared (72 hours on). */
  private liveSubscriptions(account: FakeAccount): FakeSubscription[] {
    const now = this.now();
    for (const s of [...account.subscriptions]) {
      if (s.deletedAt !== undefined && now - s.deletedAt >= DELETED_SUBSCRIPTION_MS) {
        account.subscriptions.splice(account.subscriptions.indexOf(s), 1);
      }
    }
    return account.subscriptions;
  }

  /** A subscription the caller owns; another's is AuthorizationError, as SNS answers (the topic owner included). */
  private ownSubscription(account: FakeAccount, caller: string, arn: string): FakeSubscription {
    const s = this.liveSubscriptions(account).find((sub) => sub.arn === arn && sub.deletedAt === undefined);
    if (!s) throw awsError('NotFoundException', 404, 'Subscription does not exist');
    const topicAccount = arn.split(':')[4] ?? '';
    if (this.ownerOf(s, topicAccount) !== (caller === 'collector' ? FAKE_COLLECTOR.accountId : caller)) {
      throw awsError('AuthorizationError', 403, 'Not authorized to access this subscription');
    }
    return s;
  }

  private handleCollectorSns(region: string, name: string, input: Record<string, unknown>): unknown {
    const str = (key: string): string => {
      const value = input[key];
      return typeof value === 'string' ? value : '';
    };
    const topicOf = (arn: string): { account: FakeAccount; topicArn: string } => {
      const [, , , topicRegion = '', topicAccount = ''] = arn.split(':');
      const account = this.accounts.get(topicAccount);
      if (topicRegion !== region) throw awsError('InvalidParameter', 400, `Invalid parameter: TopicArn (${region})`);
      if (account === undefined) throw awsError('NotFoundException', 404, 'Topic does not exist');
      return { account, topicArn: arn };
    };
    switch (name) {
      case 'Subscribe': {
        const { account, topicArn } = topicOf(str('TopicArn'));
        if (!account.topics.has(topicArn)) throw awsError('NotFoundException', 404, 'Topic does not exist');
        const endpoint = str('Endpoint');
        this.requirePropagated(`topic:${topicArn}`, 'AuthorizationError', `not authorized to subscribe ${topicArn}`);
        if (!topicPolicyAllowsSubscribe(account.topics.get(topicArn), FAKE_COLLECTOR.reconcileRoleArn, endpoint)) {
          throw awsError(
            'AuthorizationError',
            403,
            `User: ${FAKE_COLLECTOR.reconcileRoleArn} is not authorized to perform: SNS:Subscribe on resource: ${topicArn}`,
          );
        }
        const existing = this.liveSubscriptions(account).find(
          (s) => s.topicArn === topicArn && s.endpoint === endpoint,
        );
        if (existing?.deletedAt !== undefined) {
          throw awsError('InvalidParameter', 400, 'Invalid parameter: the subscription is being deleted (Deleted)');
        }
        if (existing) {
          // The queue owner confirms by subscribing (a pending subscription the topic owner made).
          existing.pending = false;
          existing.owner = 'collector';
          return { SubscriptionArn: existing.arn };
        }
        const arn = `${topicArn}:sub-${this.nextId++}`;
        // A queue of another account than the caller's needs confirmation by that queue's owner.
        const ownQueue = endpoint.split(':')[4] === FAKE_COLLECTOR.accountId;
        account.subscriptions.push({
          arn,
          topicArn,
          endpoint,
          owner: 'collector',
          ...(ownQueue ? {} : { pending: true }),
        });
        return { SubscriptionArn: ownQueue ? arn : 'pending confirmation' };
      }
      case 'GetSubscriptionAttributes':
      case 'SetSubscriptionAttributes':
      case 'Unsubscribe': {
        const arn = str('SubscriptionArn');
        const { account } = topicOf(arn.split(':').slice(0, 6).join(':'));
        const s = this.ownSubscription(account, 'collector', arn);
        if (name === 'GetSubscriptionAttributes') return { Attributes: subscriptionAttributes(s) };
        if (name === 'SetSubscriptionAttributes')
          setSubscriptionAttribute(s, str('AttributeName'), str('AttributeValue'));
        else account.subscriptions.splice(account.subscriptions.indexOf(s), 1);
        return {};
      }
      default:
        throw new Error(`FakeCloud: collector sns ${name} is not implemented`);
    }
  }

  private handleLambda(name: string, input: Record<string, unknown>): unknown {
    switch (name) {
      case 'ListEventSourceMappings':
        return {
          // Either filter, as Lambda's: by queue (observe) or by function (the sweep's one listing).
          EventSourceMappings: this.esms
            .filter((m) => input.EventSourceArn === undefined || m.queueArn === input.EventSourceArn)
            .filter((m) => input.FunctionName === undefined || m.functionArn === input.FunctionName)
            .map((m) => ({
              UUID: m.uuid,
              FunctionArn: m.functionArn,
              EventSourceArn: m.queueArn,
              State: m.state,
              ...(m.maximumConcurrency !== undefined
                ? { ScalingConfig: { MaximumConcurrency: m.maximumConcurrency } }
                : {}),
            })),
        };
      case 'CreateEventSourceMapping': {
        this.requirePropagated(
          `queue:${String(input.EventSourceArn)}`,
          'InvalidParameterValueException',
          'The provided execution role does not have permissions to call ReceiveMessage on SQS',
        );
        const mapping: FakeEsm = {
          uuid: `esm-${this.nextId++}`,
          queueArn: String(input.EventSourceArn),
          functionArn: String(input.FunctionName),
          state: input.Enabled === false ? 'Disabled' : 'Enabled',
          batchSize: input.BatchSize as number,
          responseTypes: input.FunctionResponseTypes as string[],
          ...maximumConcurrencyOf(input),
        };
        this.esms.push(mapping);
        return { UUID: mapping.uuid };
      }
      case 'UpdateEventSourceMapping': {
        const mapping = this.esms.find((m) => m.uuid === input.UUID);
        if (!mapping) throw awsError('ResourceNotFoundException', 404, 'no mapping');
        if (input.Enabled !== undefined) mapping.state = input.Enabled ? 'Enabled' : 'Disabled';
        Object.assign(mapping, maximumConcurrencyOf(input));
        return {};
      }
      case 'DeleteEventSourceMapping': {
        const index = this.esms.findIndex((m) => m.uuid === input.UUID);
        if (index < 0) throw awsError('ResourceNotFoundException', 404, 'no mapping');
        this.esms.splice(index, 1);
        return {};
      }
      default:
        throw new Error(`FakeCloud: lambda ${name} is not implemented`);
    }
  }
}

function awsError(name: string, status: number, message: string): Error {
  return Object.assign(new Error(message), { name, $metadata: { httpStatusCode: status } });
}

const COLLECTOR_SNS = new Set(['Subscribe', 'GetSubscriptionAttributes', 'SetSubscriptionAttributes', 'Unsubscribe']);

function maximumConcurrencyOf(input: Record<string, unknown>): { maximumConcurrency?: number } {
  const value = (input.ScalingConfig as { MaximumConcurrency?: number } | undefined)?.MaximumConcurrency;
  return value !== undefined ? { maximumConcurrency: value } : {};
}

function subscriptionAttributes(s: FakeSubscription): Record<string, string> {
  return {
    PendingConfirmation: String(s.pending ?? false),
    RawMessageDelivery: String(s.rawMessageDelivery ?? false),
    ...(s.filterPolicy ? { FilterPolicy: s.filterPolicy } : {}),
    ...(s.redrivePolicy ? { RedrivePolicy: s.redrivePolicy } : {}),
  };
}

function setSubscriptionAttribute(s: FakeSubscription, name: string, value: string): void {
  if (name === 'RawMessageDelivery') s.rawMessageDelivery = value === 'true';
  else if (name === 'FilterPolicy') s.filterPolicy = value;
  else if (name === 'RedrivePolicy') s.redrivePolicy = value;
  else throw awsError('InvalidParameter', 400, `Invalid parameter: AttributeName ${name}`);
}

/**
 * A deliberately small reading of a topic policy, independent of the collector's own evaluator: may `principal`
 * (a role of another account) call sns:Subscribe for `endpoint` over SQS? An Allow naming the role, its account
 * (root) or `*`, for sns:Subscribe (or a wildcard), whose StringEquals conditions on sns:Protocol / sns:Endpoint
 * hold; and no Deny that would apply. Other condition operators make a statement not apply.
 */
export function topicPolicyAllowsSubscribe(
  policyText: string | undefined,
  principal: string,
  endpoint: string,
): boolean {
  if (!policyText) return false;
  const account = principal.split(':')[4] ?? '';
  const request: Record<string, string> = { 'sns:protocol': 'sqs', 'sns:endpoint': endpoint };
  const list = (value: unknown): string[] =>
    (Array.isArray(value) ? (value as unknown[]) : [value]).filter((v): v is string => typeof v === 'string');
  const applies = (statement: Record<string, unknown>): boolean => {
    const named =
      statement.Principal === '*' ? ['*'] : list((statement.Principal as { AWS?: unknown } | undefined)?.AWS);
    if (!named.some((p) => p === '*' || p === principal || p === account || p === `arn:aws:iam::${account}:root`))
      return false;
    if (!list(statement.Action).some((a) => ['sns:subscribe', 'sns:*', '*'].includes(a.toLowerCase()))) return false;
    const condition = (statement.Condition ?? {}) as Record<string, Record<string, unknown>>;
    return Object.entries(condition).every(
      ([operator, keys]) =>
        operator === 'StringEquals' &&
        Object.entries(keys).every(([key, value]) => list(value).includes(request[key.toLowerCase()] ?? '')),
    );
  };
  let statements: unknown;
  try {
    statements = (JSON.parse(policyText) as { Statement?: unknown }).Statement ?? [];
  } catch {
    return false; // SNS refuses to store a policy that is not JSON; a test that plants one gets "not allowed"
  }
  const all = (Array.isArray(statements) ? statements : [statements]) as Record<string, unknown>[];
  if (all.some((statement) => statement.Effect === 'Deny' && applies(statement))) return false;
  return all.some((statement) => statement.Effect === 'Allow' && applies(statement));
}

/** Puts a healthy default chain into the fake account (and its ESM when a function is given). */
export function seedHealthyAccount(
  cloud: FakeCloud,
  accountId: string,
  options: { region?: string; ingestFunctionArn?: string; ingestRoleArn?: string; maximumConcurrency?: number } = {},
): { trailArn: string; bucket: string; topicArn: string; queueArn: string } {
  const region = options.region ?? 'us-east-1';
  const account = cloud.account(accountId);
  const trailArn = `arn:aws:cloudtrail:${region}:${accountId}:trail/outcomes-trail`;
  const bucket = `outcomes-${accountId}`;
  const topicArn = `arn:aws:sns:${region}:${accountId}:outcomestopic`;
  const queueArn = `arn:aws:sqs:${region}:${accountId}:outcomesqueue`;
  account.buckets.set(bucket, JSON.stringify(defaultBucketPolicy({ bucketName: bucket, accountId, trailArn })));
  account.topics.set(
    topicArn,
    JSON.stringify(mergeCollectorStatements(undefined, defaultTopicStatements({ topicArn, trailArn, accountId }))),
  );
  const dlqArn = `arn:aws:sqs:${region}:${accountId}:outcomesqueue-dlq`;
  // As the collector builds it: the DLQ lets the topic send, and the subscription names it (SNS dead-letter queue).
  account.queues.set('outcomesqueue-dlq', {
    SqsManagedSseEnabled: 'true',
    Policy: JSON.stringify(mergeCollectorStatements(undefined, defaultQueueStatements({ queueArn: dlqArn, topicArn }))),
  });
  account.queues.set('outcomesqueue', {
    SqsManagedSseEnabled: 'true',
    RedrivePolicy: JSON.stringify({
      deadLetterTargetArn: `arn:aws:sqs:${region}:${accountId}:outcomesqueue-dlq`,
      maxReceiveCount: 5,
    }),
    Policy: JSON.stringify(
      mergeCollectorStatements(
        undefined,
        defaultQueueStatements({
          queueArn,
          topicArn,
          ...(options.ingestRoleArn ? { ingestRoleArn: options.ingestRoleArn } : {}),
        }),
      ),
    ),
  });
  account.subscriptions.push({
    arn: `${topicArn}:seed`,
    topicArn,
    endpoint: queueArn,
    redrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn }),
  });
  account.trails.push({
    name: 'outcomes-trail',
    region,
    bucket,
    topicName: 'outcomestopic',
    multiRegion: true,
    logging: true,
  });
  if (options.ingestFunctionArn) {
    cloud.esms.push({
      uuid: `esm-seed-${accountId}`,
      queueArn,
      functionArn: options.ingestFunctionArn,
      state: 'Enabled',
      maximumConcurrency: options.maximumConcurrency ?? 2,
    });
  }
  return { trailArn, bucket, topicArn, queueArn };
}

/**
 * A healthy account of the hub topology: trail, bucket and topic as seedHealthyAccount's, the topic policy letting
 * the collector subscribe `hubQueueArn`, the collector's subscription to it; no queue in the account.
 */
export function seedHubAccount(
  cloud: FakeCloud,
  accountId: string,
  hubQueueArn: string,
  options: { region?: string } = {},
): { trailArn: string; bucket: string; topicArn: string } {
  const { trailArn, bucket, topicArn } = seedHealthyAccount(cloud, accountId, options);
  const account = cloud.account(accountId);
  account.queues.clear();
  account.subscriptions.length = 0;
  account.topics.set(
    topicArn,
    JSON.stringify(
      mergeCollectorStatements(
        undefined,
        defaultTopicStatements({
          topicArn,
          trailArn,
          accountId,
          hubSubscriber: { principalArn: FAKE_COLLECTOR.reconcileRoleArn, endpoint: hubQueueArn },
        }),
      ),
    ),
  );
  account.subscriptions.push({ arn: `${topicArn}:hub-seed`, topicArn, endpoint: hubQueueArn, owner: 'collector' });
  return { trailArn, bucket, topicArn };
}

/** The registry calls reconcile makes, in memory (Scan order = account id, like AccountsRegistry.list). */
export class MemoryRegistry {
  readonly records = new Map<string, AccountRecord>();
  updates = 0;

  constructor(records: Partial<AccountRecord>[] = []) {
    for (const record of records) this.add(record);
  }

  add(record: Partial<AccountRecord>): AccountRecord {
    const full = accountRecord({ ...record, accountId: record.accountId! }, '2026-01-01T00:00:00.000Z');
    this.records.set(full.accountId, full);
    return full;
  }

  get(accountId: string): AccountRecord {
    return structuredClone(this.records.get(accountId)!);
  }

  list(): Promise<AccountRecord[]> {
    return Promise.resolve(
      [...this.records.values()].map((r) => structuredClone(r)).sort((a, b) => a.accountId.localeCompare(b.accountId)),
    );
  }

  update(
    accountId: string,
    fields: Partial<Omit<AccountRecord, 'accountId'>>,
    remove: readonly Exclude<keyof AccountRecord, 'accountId'>[] = [],
  ): Promise<void> {
    this.updates += 1;
    const record = this.records.get(accountId);
    if (!record) return Promise.reject(new Error(`no account ${accountId}`));
    for (const [key, value] of Object.entries(fields))
      if (value !== undefined) (record as unknown as Record<string, unknown>)[key] = structuredClone(value);
    for (const key of remove) if (fields[key] === undefined) delete (record as unknown as Record<string, unknown>)[key];
    return Promise.resolve();
  }
}
