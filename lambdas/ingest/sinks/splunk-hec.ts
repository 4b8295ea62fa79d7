import { randomUUID } from 'node:crypto';
import { errorMessage } from '../../shared/errors';
import type { RecordObject } from '../log-object';
import { statusVerdict, type Acknowledger, type ResponseInterpreter, type Verdict } from './http-delivery';
import type { HttpResponse } from './http-transport';
import { eventTimeMs, topLevelFields } from './record-fields';
import type { Allocate, Encoding } from './sink';

/**
 * Splunk HTTP Event Collector (docs/sinks.md, "splunk-hec"), following Splunk's documentation:
 * - "HTTP Event Collector REST API endpoints" and "Format events for HTTP Event Collector"
 *   (https://help.splunk.com/en/splunk-enterprise/get-data-in/collect-http-event-data/http-event-collector-rest-api-endpoints):
 *   `POST /services/collector/event`, `Authorization: Splunk <token>`, events concatenated in one body, each a
 *   JSON envelope `{"time": <epoch seconds>, "host", "source", "sourcetype", "index", "event": <the record>}`;
 * - "Troubleshoot HTTP Event Collector" (its table of status codes): every answer carries `{"text", "code"}`;
 * - "About HTTP Event Collector Indexer Acknowledgment"
 *   (https://help.splunk.com/splunk-enterprise/get-data-in/collect-http-event-data/about-http-event-collector-indexer-acknowledgment):
 *   with acknowledgement on, each request names a channel (`X-Splunk-Request-Channel`, a GUID), the answer
 *   carries an `ackId`, and `POST /services/collector/ack` with `{"acks":[id]}` answers `{"acks":{"id":true}}`
 *   once the events are indexed.
 */
export const HEC_EVENT_PATH = '/services/collector/event';
export const HEC_ACK_PATH = '/services/collector/ack';
export const HEC_SOURCE = 'aws:cloudtrail';
export const HEC_SOURCETYPE = 'aws:cloudtrail';

export interface HecSettings {
  /** The `index` of every event; omitted: the token's default index. */
  index?: string;
  /** The `host` of every event; omitted: HEC fills in its own. */
  host?: string;
  /** Indexer acknowledgement: a record counts as delivered only once Splunk says it is indexed. */
  ack?: HecAckSettings;
}

export interface HecAckSettings {
  /** The channel GUID; default a random one per process (Splunk keeps ack ids per channel). */
  channel?: string;
  /** How long to wait for one request's ackId before sending its events again. */
  timeoutMs: number;
  /** Between two polls of the ack endpoint. */
  pollMs: number;
}

/** HEC codes (Troubleshoot HTTP Event Collector) that mean "try again later": internal error, busy, unhealthy. */
const RETRYABLE_CODES = new Set([8, 9, 18, 19, 20]);
/** Codes that no retry of the same request can cure: the token, the index, the data, the channel, acks off. */
const PERMANENT_CODES = new Map<number, string>([
  [1, 'the token is disabled'],
  [2, 'a token is required'],
  [3, 'invalid authorization'],
  [4, 'invalid token'],
  [5, 'no data'],
  [6, 'invalid data format'],
  [7, 'incorrect index (HEC_INDEX is not allowed for this token)'],
  [10, 'data channel is missing'],
  [11, 'invalid data channel'],
  [12, 'event field is required'],
  [13, 'event field cannot be blank'],
  [14, 'indexer acknowledgement is disabled for this token (unset HEC_ACK or enable it on the token)'],
  [15, 'error in handling indexed fields'],
]);

/** The envelope's fixed members, after `time`. */
function envelopeTail(settings: HecSettings): string {
  let tail = '';
  if (settings.host !== undefined) tail += `,"host":${JSON.stringify(settings.host)}`;
  tail += `,"source":${JSON.stringify(HEC_SOURCE)},"sourcetype":${JSON.stringify(HEC_SOURCETYPE)}`;
  if (settings.index !== undefined) tail += `,"index":${JSON.stringify(settings.index)}`;
  return `${tail},"event":`;
}

/** `time` in epoch seconds with milliseconds, as HEC takes it ("1730419200.123"). */
function hecTime(ms: number): string {
  return (ms / 1000).toFixed(3);
}

/**
 * One HEC event per record: the record's bytes are the `event` value untouched. The framing is ~110 bytes plus
 * host and index; `recordOverheadBytes` counts it with a 13-digit `time`.
 */
export function hecEncoding(settings: HecSettings, channel: string | undefined): Encoding {
  const tail = Buffer.from(envelopeTail(settings));
  const close = Buffer.from('}\n');
  const overhead = '{"time":1730419200.123'.length + tail.length + close.length;
  return {
    contentType: 'application/json',
    recordOverheadBytes: overhead,
    encode(records: readonly Buffer[], allocate: Allocate): Buffer {
      const fields = topLevelFields(records, ['eventTime']);
      // A record without a readable eventTime gets no `time`: HEC then stamps it with its arrival time.
      const heads = records.map((_, i) => {
        const ms = eventTimeMs(fields[i]?.[0]);
        return Buffer.from(ms === undefined ? '{' : `{"time":${hecTime(ms)}`);
      });
      const firstMember = Buffer.from(tail.subarray(1)); // without its comma, after a bare '{'
      let size = 0;
      records.forEach((record, i) => {
        const head = heads[i]!;
        size += head.length + (head.length === 1 ? firstMember.length : tail.length) + record.length + close.length;
      });
      const body = allocate(size);
      let offset = 0;
      records.forEach((record, i) => {
        const head = heads[i]!;
        offset += head.copy(body, offset);
        offset += (head.length === 1 ? firstMember : tail).copy(body, offset);
        offset += record.copy(body, offset);
        offset += close.copy(body, offset);
      });
      return body;
    },
    headers(_object: RecordObject, _idempotencyKey: string, _records: number): Record<string, string | number> {
      // HEC has no idempotency key: a batch sent again is indexed again (docs/sinks.md, "Duplicates").
      return channel === undefined ? {} : { 'x-splunk-request-channel': channel };
    },
  };
}

interface HecAnswer {
  text?: unknown;
  code?: unknown;
  ackId?: unknown;
  acks?: unknown;
}

function parseAnswer(response: HttpResponse): HecAnswer | undefined {
  const text = (response.body ?? Buffer.from(response.snippet)).toString('utf8');
  try {
    const parsed = JSON.parse(text) as unknown;
    return typeof parsed === 'object' && parsed !== null ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** HEC's answers: HTTP status and the JSON `code` together. */
export function hecInterpreter(ackRequired: boolean): ResponseInterpreter {
  return {
    readsBody: true,
    interpret(response: HttpResponse): Verdict {
      const answer = parseAnswer(response);
      const code = typeof answer?.code === 'number' ? answer.code : undefined;
      const text = typeof answer?.text === 'string' ? answer.text : response.snippet;
      const detail = `HTTP ${response.status}, HEC code ${code ?? 'none'}: ${text}`.slice(0, 600);
      if (response.status === 413) return { kind: 'too-large' };
      if (response.status === 200 && (code === 0 || code === undefined)) {
        if (!ackRequired) return { kind: 'accepted' };
        if (typeof answer?.ackId === 'number') return { kind: 'accepted', ackId: answer.ackId };
        return {
          kind: 'rejected',
          status: response.status,
          detail: `${detail}: no ackId although HEC_ACK is set (is indexer acknowledgement enabled on the token?)`,
        };
      }
      if (code !== undefined && RETRYABLE_CODES.has(code)) {
        const generic = statusVerdict(response);
        return {
          kind: 'retryable',
          status: response.status,
          detail,
          ...(generic.kind === 'retryable' && generic.retryAfterMs !== undefined
            ? { retryAfterMs: generic.retryAfterMs }
            : {}),
        };
      }
      if (code !== undefined && PERMANENT_CODES.has(code)) {
        return { kind: 'rejected', status: response.status, detail: `${detail} (${PERMANENT_CODES.get(code)!})` };
      }
      const generic = statusVerdict(response);
      return generic.kind === 'rejected' || generic.kind === 'retryable' ? { ...generic, detail } : generic;
    },
  };
}

/** Polls `/services/collector/ack` for one ackId until it is true, the ack timeout passes or the deadline comes. */
export function hecAcknowledger(ack: HecAckSettings, channel: string): Acknowledger {
  return {
    async confirm(ackId, ctx): Promise<Verdict> {
      const giveUpAt = Math.min(ctx.deadline, Date.now() + ack.timeoutMs);
      const body = Buffer.from(JSON.stringify({ acks: [ackId] }));
      let lastDetail = 'no answer yet';
      for (;;) {
        const remainingMs = giveUpAt - Date.now();
        if (remainingMs <= 0) break;
        ctx.counted();
        try {
          const response = await ctx.post(
            body,
            {
              'content-type': 'application/json',
              'content-length': body.length,
              'x-splunk-request-channel': channel,
              'user-agent': 'cloudtrail-collector',
            },
            remainingMs,
            { path: `${HEC_ACK_PATH}?channel=${encodeURIComponent(channel)}`, readBody: true },
          );
          const answer = parseAnswer(response);
          const code = typeof answer?.code === 'number' ? answer.code : undefined;
          if (response.status === 200 && answer?.acks !== undefined) {
            const acks = answer.acks as Record<string, unknown>;
            if (acks[String(ackId)] === true) return { kind: 'accepted' };
            lastDetail = `ackId ${ackId} not yet indexed`;
          } else if (code !== undefined && PERMANENT_CODES.has(code)) {
            return {
              kind: 'rejected',
              status: response.status,
              detail: `HEC ack endpoint: HTTP ${response.status}, code ${code} (${PERMANENT_CODES.get(code)!})`,
            };
          } else {
            lastDetail = `HEC ack endpoint: HTTP ${response.status}: ${response.snippet}`.slice(0, 600);
          }
        } catch (error) {
          lastDetail = `HEC ack endpoint: ${errorMessage(error)}`;
        }
        const waitMs = Math.min(ack.pollMs, giveUpAt - Date.now());
        if (waitMs <= 0) break;
        await ctx.sleep(waitMs);
      }
      // Never confirmed: Splunk's advice is to send the events again (they may be indexed twice).
      return {
        kind: 'retryable',
        detail: `no indexer acknowledgement for ackId ${ackId} of ${ctx.idempotencyKey} within ${ack.timeoutMs} ms or before the deadline (${lastDetail}); sending again`,
      };
    },
  };
}

/** The channel of this process: the configured one, or a fresh GUID. */
export function hecChannel(settings: HecSettings): string | undefined {
  return settings.ack === undefined ? undefined : (settings.ack.channel ?? randomUUID());
}
