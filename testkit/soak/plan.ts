/** The soak's workload: message bodies of every notification shape, the objects they name, planted poison. */
import { gzipSync } from 'node:zlib';
import { generateRecords, logFileBody, logFileKey, seededRandom } from '../cloudtrail-generator';
import {
  cloudTrailNotification,
  eventBridgeObjectCreated,
  s3EventNotification,
  snsEnvelope,
  type DemoChain,
} from '../demo-chain';
import { FOREIGN_ACCOUNT, REGION, TENANT, type SoakOptions } from './options';

type Shape = 'sns-cloudtrail' | 'raw-cloudtrail' | 's3-event' | 's3-event-sns' | 'eventbridge' | 'eventbridge-sns';
const SHAPES: [Shape, number][] = [
  ['sns-cloudtrail', 0.55],
  ['raw-cloudtrail', 0.1],
  ['s3-event', 0.1],
  ['s3-event-sns', 0.05],
  ['eventbridge', 0.15],
  ['eventbridge-sns', 0.05],
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
type PoisonKind = (typeof POISON_KINDS)[number];

export interface PlannedMessage {
  index: number;
  kind: 'file' | 'large-file' | 'multi-key' | 'ignored' | 'not-read' | 'deleted-object' | 'poison';
  detail: string;
  body: string;
  /** Objects to upload before the message is sent (bodies made on upload, so memory stays small). */
  objects: { key: string; make: () => Buffer }[];
  /** eventIDs that must reach the downstream (filled in as the objects are made). */
  eventIds: string[];
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

function bodyFor(shape: Shape, bucket: string, key: string, topicArn: string): string {
  switch (shape) {
    case 'sns-cloudtrail':
      return snsEnvelope(cloudTrailNotification(bucket, [key]), topicArn);
    case 'raw-cloudtrail':
      return cloudTrailNotification(bucket, [key]);
    case 's3-event':
      return s3EventNotification(bucket, key);
    case 's3-event-sns':
      return snsEnvelope(s3EventNotification(bucket, key), topicArn);
    case 'eventbridge':
      return eventBridgeObjectCreated(bucket, key);
    case 'eventbridge-sns':
      return snsEnvelope(eventBridgeObjectCreated(bucket, key), topicArn);
  }
}

/** The whole workload, deterministic for a seed: message bodies, the objects they name, the records expected. */
export function planMessages(options: SoakOptions, chain: DemoChain): PlannedMessage[] {
  const random = seededRandom(options.seed);
  const poisonCount = options.poison ?? Math.max(POISON_KINDS.length, Math.round(options.messages * 0.005));
  const poisonAt = new Set<number>();
  while (poisonAt.size < Math.min(poisonCount, options.messages)) poisonAt.add(Math.floor(random() * options.messages));
  const start = Date.UTC(2026, 10, 1);
  let fileSeed = options.seed * 1_000_003;
  let poisonIndex = 0;

  /** A log file, generated only when it is uploaded; its eventIDs then go to `into`. */
  const logFile = (index: number, part: number, records: number, into: string[]) => {
    fileSeed += 1;
    const seed = fileSeed;
    const time = new Date(start + index * 60_000);
    const key = logFileKey({ accountId: TENANT, region: REGION, time, unique: `soak${options.seed}-${index}-${part}` });
    const make = () => {
      const generated = generateRecords(records, { accountId: TENANT, region: REGION, seed, start: time });
      into.push(...generated.map((record) => record.eventID as string));
      return logFileBody(generated);
    };
    return { key, make };
  };

  const messages: PlannedMessage[] = [];
  for (let index = 0; index < options.messages; index++) {
    if (poisonAt.has(index)) {
      const what: PoisonKind = POISON_KINDS[poisonIndex++ % POISON_KINDS.length]!;
      const marker = `soak-poison-${index}`;
      let body: string;
      const objects: { key: string; make: () => Buffer }[] = [];
      switch (what) {
        case 'not-json':
          body = `not a notification: ${marker}`;
          break;
        case 'unknown-shape':
          body = JSON.stringify({ hello: marker });
          break;
        case 'foreign-account-key': {
          const key = logFileKey({ accountId: FOREIGN_ACCOUNT, region: REGION, time: new Date(start), unique: marker });
          body = snsEnvelope(cloudTrailNotification(chain.bucket, [key]), chain.topicArn);
          break;
        }
        case 's3-event-v3':
          body = s3EventNotification(chain.bucket, `AWSLogs/${TENANT}/${marker}.json.gz`).replace(
            '"eventVersion":"2.1"',
            '"eventVersion":"3.0"',
          );
          break;
        case 'nested-sns':
          body = snsEnvelope(snsEnvelope(cloudTrailNotification(chain.bucket, [marker])));
          break;
        case 'truncated-gzip-object':
        case 'malformed-json-object': {
          // Records before the failure point may reach the downstream (their IDs start with the marker).
          const records = Array.from({ length: 30 }, (_, n) => ({ eventID: `${marker}-${n}`, eventName: 'Poison' }));
          const text = JSON.stringify({ Records: records });
          const key = logFileKey({ accountId: TENANT, region: REGION, time: new Date(start), unique: marker });
          const gz = gzipSync(text);
          const object =
            what === 'truncated-gzip-object'
              ? gz.subarray(0, Math.floor(gz.length * 0.6))
              : gzipSync(`${text.slice(0, Math.floor(text.length * 0.6))}}}garbage`);
          objects.push({ key, make: () => object });
          body = snsEnvelope(cloudTrailNotification(chain.bucket, [key]), chain.topicArn);
          break;
        }
      }
      messages.push({ index, kind: 'poison', detail: what, body, objects, eventIds: [] });
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
      const key = logFileKey({ accountId: TENANT, region: REGION, time: new Date(start), unique: `removed-${index}` });
      const body =
        what === 's3:TestEvent'
          ? JSON.stringify({
              Service: 'Amazon S3',
              Event: 's3:TestEvent',
              Bucket: chain.bucket,
              RequestId: `r${index}`,
            })
          : what === 'validation message'
            ? snsEnvelope('CloudTrail validation message.', chain.topicArn)
            : what === 'subscription confirmation'
              ? JSON.stringify({
                  Type: 'SubscriptionConfirmation',
                  TopicArn: chain.topicArn,
                  Message: `m${index}`,
                  Token: 't',
                })
              : s3EventNotification(chain.bucket, key, 'ObjectRemoved:Delete');
      messages.push({ index, kind: 'ignored', detail: what, body, objects: [], eventIds: [] });
    } else if (roll < 0.035) {
      const digest = random() < 0.5;
      const key = digest
        ? logFileKey({ accountId: TENANT, region: REGION, time: new Date(start), unique: `digest-${index}` }).replace(
            '/CloudTrail/',
            '/CloudTrail-Digest/',
          )
        : `exports/report-${index}.csv`;
      messages.push({
        index,
        kind: 'not-read',
        detail: digest ? 'digest key' : 'other key',
        body: snsEnvelope(cloudTrailNotification(chain.bucket, [key]), chain.topicArn),
        objects: [],
        eventIds: [],
      });
    } else if (roll < 0.04) {
      const file = logFile(index, 0, 10, []); // its records can never arrive: not expected
      messages.push({
        index,
        kind: 'deleted-object',
        detail: 'object deleted before it was read',
        body: snsEnvelope(cloudTrailNotification(chain.bucket, [file.key]), chain.topicArn),
        objects: [file],
        eventIds: [],
        deleteBeforeRead: [file.key],
      });
    } else if (roll < 0.12) {
      const eventIds: string[] = [];
      const files = Array.from({ length: 2 + Math.floor(random() * 3) }, (_, part) =>
        logFile(index, part, 5 + Math.floor(random() * 30), eventIds),
      );
      messages.push({
        index,
        kind: 'multi-key',
        detail: `${files.length} keys`,
        body: snsEnvelope(
          cloudTrailNotification(
            chain.bucket,
            files.map((file) => file.key),
          ),
          chain.topicArn,
        ),
        objects: files,
        eventIds,
      });
    } else {
      const large = roll > 0.997;
      const eventIds: string[] = [];
      const file = logFile(
        index,
        0,
        large ? 1_000 + Math.floor(random() * 2_000) : 5 + Math.floor(random() * 36),
        eventIds,
      );
      const shape = pickWeighted(random, SHAPES);
      messages.push({
        index,
        kind: large ? 'large-file' : 'file',
        detail: shape,
        body: bodyFor(shape, chain.bucket, file.key, chain.topicArn),
        objects: [file],
        eventIds,
      });
    }
  }
  return messages;
}
