import { concatenatedJsonValues, LoopbackReceiver, type ReceivedRequest, type Reply } from './receiver-kit';

/**
 * A Splunk HTTP Event Collector on loopback, following Splunk's published protocol (docs/sinks.md, "Receivers";
 * there is no Splunk in the project's package sources):
 * - `POST /services/collector/event` (and `/services/collector`): a body of concatenated JSON event envelopes,
 *   gzip when `Content-Encoding: gzip`; each needs a non-blank `event` (codes 12, 13); `index` must be one the
 *   token may write to (code 7); a body that is not JSON is code 6 ("Invalid data format");
 * - `Authorization: Splunk <token>`: missing 401 code 2, not of that form 401 code 3, unknown 403 code 4;
 * - with indexer acknowledgement on (`ack`): a channel is required (`X-Splunk-Request-Channel` header or
 *   `channel` query; code 10 when missing, 11 when not a GUID), each accepted request gets the channel's next
 *   `ackId` (from 0), and `POST /services/collector/ack` with `{"acks":[...]}` answers `{"acks":{"<id>":bool}}`;
 *   ack off: the ack endpoint answers 400 code 14;
 * - a body over `maxContentLength` is 413.
 * Events are stored when accepted; with acks they are reported indexed after `ackAfterPolls` polls.
 */
export interface HecEvent {
  time?: number;
  host?: string;
  source?: string;
  sourcetype?: string;
  index?: string;
  /** The `event` value re-serialised (JSON.stringify of the parsed value). */
  event: string;
  channel?: string;
}

export interface HecReceiverOptions {
  token: string;
  ack?: boolean;
  /** The indexes the token may write to; default any. */
  allowedIndexes?: string[];
  /** Polls of an ackId that answer false before it is true. Default 0. */
  ackAfterPolls?: number;
  maxContentLength?: number;
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function answer(status: number, code: number, text: string, extra: Record<string, unknown> = {}): Reply {
  return { status, body: JSON.stringify({ text, code, ...extra }) };
}

export class HecReceiver extends LoopbackReceiver {
  readonly events: HecEvent[] = [];
  /** Per channel: the next ackId, and the polls seen of each ackId. */
  private readonly channels = new Map<string, { next: number; polls: Map<number, number>; lost: Set<number> }>();
  /** ackIds (per channel) that will never be reported indexed: a lost acknowledgement. */
  private loseNextAcks = 0;

  constructor(readonly options: HecReceiverOptions) {
    super();
  }

  /** The next `count` accepted requests' acknowledgements never come (the sink must send their events again). */
  loseAcks(count: number): void {
    this.loseNextAcks += count;
  }

  setMaxContentLength(bytes: number | undefined): void {
    this.options.maxContentLength = bytes;
  }

  protected handle(request: ReceivedRequest): Reply {
    if (request.method !== 'POST') return answer(400, 6, 'Invalid data format');
    const auth = this.authorize(request);
    if (auth) return auth;
    if (request.path === '/services/collector/ack') return this.ack(request);
    if (request.path !== '/services/collector/event' && request.path !== '/services/collector') {
      return {
        status: 404,
        body: JSON.stringify({ text: 'The requested URL was not found on this server.', code: 404 }),
      };
    }
    if (this.options.maxContentLength !== undefined && (request.body?.length ?? 0) > this.options.maxContentLength) {
      // Only the status is relied on (docs/sinks.md, "Receivers"): the body's wording is not from Splunk's pages.
      return { status: 413, body: `Content-Length of ${request.body?.length} too large` };
    }
    let channel: string | undefined;
    if (this.options.ack) {
      channel = String(request.headers['x-splunk-request-channel'] ?? request.query.get('channel') ?? '');
      if (channel === '') return answer(400, 10, 'Data channel is missing');
      if (!GUID.test(channel)) return answer(400, 11, 'Invalid data channel');
    }
    if (request.body === undefined) return answer(400, 6, 'Invalid data format');
    const values = concatenatedJsonValues(request.body.toString('utf8'));
    if (values === undefined || values.length === 0) {
      return values === undefined ? answer(400, 6, 'Invalid data format') : answer(400, 5, 'No data');
    }
    const events: HecEvent[] = [];
    for (let i = 0; i < values.length; i++) {
      let envelope: Record<string, unknown>;
      try {
        envelope = JSON.parse(values[i]!) as Record<string, unknown>;
      } catch {
        return answer(400, 6, 'Invalid data format', { 'invalid-event-number': i });
      }
      if (!('event' in envelope)) return answer(400, 12, 'Event field is required', { 'invalid-event-number': i });
      if (envelope.event === '' || envelope.event === null) {
        return answer(400, 13, 'Event field cannot be blank', { 'invalid-event-number': i });
      }
      const index = typeof envelope.index === 'string' ? envelope.index : undefined;
      if (index !== undefined && this.options.allowedIndexes && !this.options.allowedIndexes.includes(index)) {
        return answer(400, 7, 'Incorrect index', { 'invalid-event-number': i });
      }
      events.push({
        ...(typeof envelope.time === 'number' ? { time: envelope.time } : {}),
        ...(typeof envelope.host === 'string' ? { host: envelope.host } : {}),
        ...(typeof envelope.source === 'string' ? { source: envelope.source } : {}),
        ...(typeof envelope.sourcetype === 'string' ? { sourcetype: envelope.sourcetype } : {}),
        ...(index !== undefined ? { index } : {}),
        event: JSON.stringify(envelope.event),
        ...(channel !== undefined ? { channel } : {}),
      });
    }
    // A request is all or nothing: HEC refuses the whole body on its first bad event.
    this.events.push(...events);
    if (channel === undefined) return answer(200, 0, 'Success');
    const state = this.channel(channel);
    const ackId = state.next++;
    if (this.loseNextAcks > 0) {
      this.loseNextAcks--;
      state.lost.add(ackId);
    }
    return answer(200, 0, 'Success', { ackId });
  }

  private channel(id: string): { next: number; polls: Map<number, number>; lost: Set<number> } {
    let state = this.channels.get(id);
    if (!state) {
      state = { next: 0, polls: new Map(), lost: new Set() };
      this.channels.set(id, state);
    }
    return state;
  }

  private ack(request: ReceivedRequest): Reply {
    if (!this.options.ack) return answer(400, 14, 'ACK is disabled');
    const channel = String(request.headers['x-splunk-request-channel'] ?? request.query.get('channel') ?? '');
    if (channel === '') return answer(400, 10, 'Data channel is missing');
    if (!GUID.test(channel)) return answer(400, 11, 'Invalid data channel');
    let ids: unknown;
    try {
      ids = (JSON.parse(request.body?.toString('utf8') ?? '') as { acks?: unknown }).acks;
    } catch {
      return answer(400, 6, 'Invalid data format');
    }
    if (!Array.isArray(ids)) return answer(400, 6, 'Invalid data format');
    const state = this.channel(channel);
    const acks: Record<string, boolean> = {};
    for (const id of ids) {
      if (typeof id !== 'number') return answer(400, 6, 'Invalid data format');
      const polls = (state.polls.get(id) ?? 0) + 1;
      state.polls.set(id, polls);
      acks[String(id)] = id < state.next && !state.lost.has(id) && polls > (this.options.ackAfterPolls ?? 0);
    }
    return { status: 200, body: JSON.stringify({ acks }) };
  }

  private authorize(request: ReceivedRequest): Reply | undefined {
    const header = request.headers.authorization;
    if (header === undefined) return answer(401, 2, 'Token is required');
    const match = /^Splunk (\S+)$/.exec(header);
    if (!match) return answer(401, 3, 'Invalid authorization');
    if (match[1] !== this.options.token) return answer(403, 4, 'Invalid token');
    return undefined;
  }
}
