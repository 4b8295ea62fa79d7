/**
 * The soak's workload: message bodies of every notification shape, the objects they name, planted poison.
 * On a customer queue bodies come raw or in SNS envelopes, as the seed's queues receive them. On a hub queue every
 * body is what SNS delivers from the tenant's topic (snsNotificationBody: SNS's JSON, byte for byte), since raw
 * delivery is poison there; the hub adds two poison kinds of its own: a raw-delivery body and an envelope from a
 * topic nobody registered.
 */
import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { IngestTopology } from '../../lambdas/shared/topology';
import { generateRecords, logFileBody, logFileKey, seededRandom } from '../cloudtrail-generator';
import { cloudTrailNotification, eventBridgeObjectCreated, s3EventNotification, snsEnvelope } from '../demo-chain';
import { demoTopicArn, snsConfirmationBody, snsNotificationBody } from '../hub';
import { FOREIGN_ACCOUNT, REGION, type SoakOptions } from './options';

type Shape = 'sns-cloudtrail' | 'raw-cloudtrail' | 's3-event' | 's3-event-sns' | 'eventbridge' | 'eventbridge-sns';
const SHAPES: [Shape, number][] = [
  ['sns-cloudtrail', 0.55],
  ['raw-cloudtrail', 0.1],
  ['s3-event', 0.1],
  ['s3-event-sns', 0.05],
  ['eventbridge', 0.15],
  ['eventbridge-sns', 0.05],
];
/** A hub queue receives only what SNS delivers: CloudTrail's notification, or S3's and EventBridge's via the topic. */
const HUB_SHAPES: [Shape, number][] = [
  ['sns-cloudtrail', 0.8],
  ['s3-event-sns', 0.1],
  ['eventbridge-sns', 0.1],
];
const POISON_KINDS = [
  'not-json',
  'unknown-shape',
  'foreign-account-key',
  's3-event-v3',
  'nested-sns',
  'truncated-gzip-object',
  'malformed-json-object',
] as const;
const HUB_POISON_KINDS = [...POISON_KINDS, 'raw-delivery-body', 'unregistered-topic'] as const;
type PoisonKind = (typeof HUB_POISON_KINDS)[number];

/** S3 publishes its event notifications to SNS with this Subject. */
const S3_SUBJECT = 'Amazon S3 Notification';

/** A registered tenant, as the workload needs it. */
export interface PlanTenant {
  accountId: string;
  bucket: string;
  topicArn: string;
}

/** A readable log file the workload delivered, as generated: what the ledger must hold for it once collected. */
export interface GeneratedFile {
  accountId: string;
  bucket: string;
  key: string;
  records: number;
  /** Its records' eventIDs: the file was collected once all of them reached the downstream. */
  eventIds: string[];
  /** Uncompressed bytes, and their SHA-256 in lower-case hex (what ingest records, and a digest lists). */
  bytes: number;
  sha256: string;
}

export interface PlannedMessage {
  index: number;
  /** The tenant whose topic (hub) or queue (customer queue) delivers it. */
  tenant: string;
  kind: 'file' | 'large-file' | 'multi-key' | 'ignored' | 'not-read' | 'deleted-object' | 'poison';
  detail: string;
  body: string;
  /** Objects to upload before the message is sent (bodies made on upload, so memory stays small). */
  objects: { key: string; make: () => Buffer }[];
  /** eventIDs that must reach the downstream (filled in as the objects are made). */
  eventIds: string[];
  /** The readable log files it announces, which the ledger must record (filled in as the objects are made). */
  files: GeneratedFile[];
  /** Objects deleted after they were announced and before the ingest reads them. */
  deleteBeforeRead?: string[];
  messageId?: string;
}

function pickWeighted<T>(random: () => number, table: [T, number][]): T {
  let roll = random();
  for (const [value, weight] of table) {
    if (roll < weight) return value;
    roll -= weight;
  }
  return table[table.length - 1]![0];
}

/** A UUID-shaped id from a seed (an SNS MessageId: unique per publish, the same on every run). */
function stableUuid(seed: string): string {
  const hex = createHash('sha256').update(seed).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** How a tenant's published message reaches the queue: SNS's own bytes on a hub, the seed's envelope otherwise. */
type Envelope = (tenant: PlanTenant, message: string, index: number, subject?: string) => string;

function envelopeFor(topology: IngestTopology, seed: number): Envelope {
  if (topology === 'customer-queue') return (tenant, message) => snsEnvelope(message, tenant.topicArn);
  return (tenant, message, index, subject) =>
    snsNotificationBody({
      topicArn: tenant.topicArn,
      message,
      messageId: stableUuid(`soak ${seed} ${index}`),
      ...(subject !== undefined ? { subject } : {}),
    });
}

function bodyFor(shape: Shape, tenant: PlanTenant, key: string, index: number, envelope: Envelope): string {
  const bucket = tenant.bucket;
  switch (shape) {
    case 'sns-cloudtrail':
      return envelope(tenant, cloudTrailNotification(bucket, [key]), index);
    case 'raw-cloudtrail':
      return cloudTrailNotification(bucket, [key]);
    case 's3-event':
      return s3EventNotification(bucket, key);
    case 's3-event-sns':
      return envelope(tenant, s3EventNotification(bucket, key), index, S3_SUBJECT);
    case 'eventbridge':
      return eventBridgeObjectCreated(bucket, key);
    case 'eventbridge-sns':
      return envelope(tenant, eventBridgeObjectCreated(bucket, key), index);
  }
}

/**
 * The whole workload, deterministic for a seed: message bodies, the objects they name, the records expected.
 * Messages go to the tenants in turn. (One tenant on a customer queue gives the seed's workload, message for
 * message.)
 */
export function planMessages(
  options: Pick<SoakOptions, 'seed' | 'messages' | 'poison' | 'topology'>,
  tenants: readonly PlanTenant[],
): PlannedMessage[] {
  if (tenants.length === 0) throw new Error('soak: planMessages needs at least one tenant');
  const hub = options.topology === 'hub';
  const kinds: readonly PoisonKind[] = hub ? HUB_POISON_KINDS : POISON_KINDS;
  const envelope = envelopeFor(options.topology, options.seed);
  const random = seededRandom(options.seed);
  const poisonCount = options.poison ?? Math.max(kinds.length, Math.round(options.messages * 0.005));
  const poisonAt = new Set<number>();
  while (poisonAt.size < Math.min(poisonCount, options.messages)) poisonAt.add(Math.floor(random() * options.messages));
  const start = Date.UTC(2026, 10, 1);
  let fileSeed = options.seed * 1_000_003;
  let poisonIndex = 0;

  /**
   * A log file, generated only when it is uploaded; its eventIDs then go to `into`, and, for a file that stays
   * readable, what the ledger must record of it to `files`.
   */
  const logFile = (
    tenant: PlanTenant,
    index: number,
    part: number,
    records: number,
    into: string[],
    files?: GeneratedFile[],
  ) => {
    fileSeed += 1;
    const seed = fileSeed;
    const time = new Date(start + index * 60_000);
    const accountId = tenant.accountId;
    const key = logFileKey({ accountId, region: REGION, time, unique: `soak${options.seed}-${index}-${part}` });
    const make = () => {
      const generated = generateRecords(records, { accountId, region: REGION, seed, start: time });
      into.push(...generated.map((record) => record.eventID as string));
      const body = logFileBody(generated);
      if (files) {
        const raw = gunzipSync(body);
        const sha256 = createHash('sha256').update(raw).digest('hex');
        files.push({
          accountId,
          bucket: tenant.bucket,
          key,
          records: generated.length,
          eventIds: generated.map((record) => record.eventID as string),
          bytes: raw.length,
          sha256,
        });
      }
      return body;
    };
    return { key, make };
  };

  const messages: PlannedMessage[] = [];
  for (let index = 0; index < options.messages; index++) {
    const tenant = tenants[index % tenants.length]!;
    const { accountId, bucket } = tenant;
    const wrap = (message: string, subject?: string) => envelope(tenant, message, index, subject);
    if (poisonAt.has(index)) {
      const what: PoisonKind = kinds[poisonIndex++ % kinds.length]!;
      const marker = `soak-poison-${index}`;
      let body: string;
      const objects: { key: string; make: () => Buffer }[] = [];
      switch (what) {
        case 'not-json':
          // On a hub queue a raw body is poison before its shape is looked at: these come through the topic.
          body = hub ? wrap(`not a notification: ${marker}`) : `not a notification: ${marker}`;
          break;
        case 'unknown-shape':
          body = hub ? wrap(JSON.stringify({ hello: marker })) : JSON.stringify({ hello: marker });
          break;
        case 'foreign-account-key': {
          // With a second tenant: the hostile case, another registered tenant's bucket and keys.
          const other = tenants.length > 1 ? tenants[(index + 1) % tenants.length]! : undefined;
          const time = new Date(start);
          const key = logFileKey({
            accountId: other?.accountId ?? FOREIGN_ACCOUNT,
            region: REGION,
            time,
            unique: marker,
          });
          body = wrap(cloudTrailNotification(other?.bucket ?? bucket, [key]));
          break;
        }
        case 's3-event-v3': {
          const event = s3EventNotification(bucket, `AWSLogs/${accountId}/${marker}.json.gz`).replace(
            '"eventVersion":"2.1"',
            '"eventVersion":"3.0"',
          );
          body = hub ? wrap(event, S3_SUBJECT) : event;
          break;
        }
        case 'nested-sns':
          body = wrap(snsEnvelope(cloudTrailNotification(bucket, [marker]), tenant.topicArn));
          break;
        case 'truncated-gzip-object':
        case 'malformed-json-object': {
          // Records before the failure point may reach the downstream (their IDs start with the marker).
          const records = Array.from({ length: 30 }, (_, n) => ({ eventID: `${marker}-${n}`, eventName: 'Poison' }));
          const text = JSON.stringify({ Records: records });
          const key = logFileKey({ accountId, region: REGION, time: new Date(start), unique: marker });
          const gz = gzipSync(text);
          const object =
            what === 'truncated-gzip-object'
              ? gz.subarray(0, Math.floor(gz.length * 0.6))
              : gzipSync(`${text.slice(0, Math.floor(text.length * 0.6))}}}garbage`);
          objects.push({ key, make: () => object });
          body = wrap(cloudTrailNotification(bucket, [key]));
          break;
        }
        case 'raw-delivery-body': {
          // A well-formed notification without SNS's envelope: nothing says which topic it came from.
          const key = logFileKey({ accountId, region: REGION, time: new Date(start), unique: marker });
          body = cloudTrailNotification(bucket, [key]);
          break;
        }
        case 'unregistered-topic': {
          const key = logFileKey({ accountId, region: REGION, time: new Date(start), unique: marker });
          body = envelope(
            { ...tenant, topicArn: demoTopicArn(FOREIGN_ACCOUNT, REGION) },
            cloudTrailNotification(bucket, [key]),
            index,
          );
          break;
        }
      }
      messages.push({ index, tenant: accountId, kind: 'poison', detail: what, body, objects, eventIds: [], files: [] });
      continue;
    }

    const roll = random();
    if (roll < 0.02) {
      const what = pickWeighted<string>(random, [
        ['s3:TestEvent', 0.3],
        ['validation message', 0.2],
        ['subscription confirmation', 0.2],
        ['ObjectRemoved event', 0.3],
      ]);
      const key = logFileKey({ accountId, region: REGION, time: new Date(start), unique: `removed-${index}` });
      let body: string;
      if (what === 's3:TestEvent') {
        const test = JSON.stringify({
          Service: 'Amazon S3',
          Event: 's3:TestEvent',
          Bucket: bucket,
          RequestId: `r${index}`,
        });
        body = hub ? wrap(test, S3_SUBJECT) : test;
      } else if (what === 'validation message') {
        body = wrap('CloudTrail validation message.');
      } else if (what === 'subscription confirmation') {
        body = hub
          ? snsConfirmationBody('SubscriptionConfirmation', { topicArn: tenant.topicArn })
          : JSON.stringify({
              Type: 'SubscriptionConfirmation',
              TopicArn: tenant.topicArn,
              Message: `m${index}`,
              Token: 't',
            });
      } else {
        const removed = s3EventNotification(bucket, key, 'ObjectRemoved:Delete');
        body = hub ? wrap(removed, S3_SUBJECT) : removed;
      }
      messages.push({
        index,
        tenant: accountId,
        kind: 'ignored',
        detail: what,
        body,
        objects: [],
        eventIds: [],
        files: [],
      });
    } else if (roll < 0.035) {
      const digest = random() < 0.5;
      const key = digest
        ? logFileKey({ accountId, region: REGION, time: new Date(start), unique: `digest-${index}` }).replace(
            '/CloudTrail/',
            '/CloudTrail-Digest/',
          )
        : `exports/report-${index}.csv`;
      messages.push({
        index,
        tenant: accountId,
        kind: 'not-read',
        detail: digest ? 'digest key' : 'other key',
        body: wrap(cloudTrailNotification(bucket, [key])),
        objects: [],
        eventIds: [],
        files: [],
      });
    } else if (roll < 0.04) {
      const file = logFile(tenant, index, 0, 10, []); // its records can never arrive: not expected
      messages.push({
        index,
        tenant: accountId,
        kind: 'deleted-object',
        detail: 'object deleted before it was read',
        body: wrap(cloudTrailNotification(bucket, [file.key])),
        objects: [file],
        eventIds: [],
        files: [],
        deleteBeforeRead: [file.key],
      });
    } else if (roll < 0.12) {
      const eventIds: string[] = [];
      const generated: GeneratedFile[] = [];
      const files = Array.from({ length: 2 + Math.floor(random() * 3) }, (_, part) =>
        logFile(tenant, index, part, 5 + Math.floor(random() * 30), eventIds, generated),
      );
      messages.push({
        index,
        tenant: accountId,
        kind: 'multi-key',
        detail: `${files.length} keys`,
        body: wrap(
          cloudTrailNotification(
            bucket,
            files.map((file) => file.key),
          ),
        ),
        objects: files,
        eventIds,
        files: generated,
      });
    } else {
      const large = roll > 0.997;
      const eventIds: string[] = [];
      const generated: GeneratedFile[] = [];
      const file = logFile(
        tenant,
        index,
        0,
        large ? 1_000 + Math.floor(random() * 2_000) : 5 + Math.floor(random() * 36),
        eventIds,
        generated,
      );
      const shape = pickWeighted(random, hub ? HUB_SHAPES : SHAPES);
      messages.push({
        index,
        tenant: accountId,
        kind: large ? 'large-file' : 'file',
        detail: shape,
        body: bodyFor(shape, tenant, file.key, index, envelope),
        objects: [file],
        eventIds,
        files: generated,
      });
    }
  }
  return messages;
}
