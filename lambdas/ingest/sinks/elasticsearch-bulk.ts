import type { RecordObject } from '../log-object';
import { statusVerdict, type ResponseInterpreter, type Verdict } from './http-delivery';
import type { HttpResponse } from './http-transport';
import { eventTimeMs, topLevelFields } from './record-fields';
import type { Allocate, Encoding } from './sink';

/**
 * Elasticsearch and OpenSearch `_bulk` (docs/sinks.md, "elasticsearch"), following the Bulk API reference
 * (https://www.elastic.co/guide/en/elasticsearch/reference/current/docs-bulk.html; OpenSearch's "Bulk" page
 * says the same): an NDJSON body of action/document pairs, the last line ending in '\n',
 * `Content-Type: application/x-ndjson`; `create` fails with 409 when a document with that `_id` exists, so
 * `_id` = the record's `eventID` makes a redelivered batch (a 413 half, a retried batch, an SQS redelivery)
 * index nothing twice. The answer is 200 even when items failed: `errors: true` and one item per action, in
 * the order of the actions, each with its own `status` (and `error.type`, `error.reason`).
 */
export const BULK_PATH = '/_bulk';
/** Only what the verdict reads: a 5,000-item answer stays small (`filter_path` is a common option of both). */
export const BULK_QUERY = '?filter_path=errors,items.*.status,items.*.error.type,items.*.error.reason';
export const DEFAULT_INDEX_TEMPLATE = 'cloudtrail-%Y.%m.%d';

export interface ElasticsearchSettings {
  /**
   * An index name, with `%Y`, `%m`, `%d` taken from the record's `eventTime` (UTC), or the data stream's name
   * when `dataStream`.
   */
  index: string;
  /** Write to a data stream: `create` only (what data streams accept), and an `@timestamp` from `eventTime`. */
  dataStream: boolean;
}

/** Why an index or data stream name is not one Elasticsearch accepts; undefined when it is. */
export function invalidIndexName(template: string): string | undefined {
  // As it will be once the date is filled in (a year, a month, a day).
  const name = template.replace(/%[Ymd]/g, '00');
  if (name === '') return 'it is empty';
  if (name !== name.toLowerCase()) return 'it has upper-case letters';
  if (/[\\/*?"<>| ,#:]/.test(name)) return 'it contains one of \\ / * ? " < > | space , # :';
  if (/^[-_+]/.test(name)) return 'it starts with -, _ or +';
  if (name === '.' || name === '..') return 'it is . or ..';
  if (Buffer.byteLength(template.replace(/%[Ymd]/g, '0000')) > 255) return 'it is longer than 255 bytes';
  return undefined;
}

function indexFor(template: string, ms: number | undefined): string {
  if (!template.includes('%')) return template;
  // A record without eventTime (never seen in CloudTrail) goes to the index of the day it is sent.
  const date = new Date(ms ?? Date.now());
  return template
    .replaceAll('%Y', String(date.getUTCFullYear()).padStart(4, '0'))
    .replaceAll('%m', String(date.getUTCMonth() + 1).padStart(2, '0'))
    .replaceAll('%d', String(date.getUTCDate()).padStart(2, '0'));
}

/**
 * `{"create":{"_index":...,"_id":<eventID>}}\n<record>\n` per record. The record's bytes are the document
 * untouched, except in a data stream, where `"@timestamp":<eventTime>` is put first (data streams require it).
 * `recordOverheadBytes` counts the action line of a 36-character eventID and a dated index name.
 */
export function bulkEncoding(settings: ElasticsearchSettings): Encoding {
  const newline = Buffer.from('\n');
  const typicalAction = `{"create":{"_index":${JSON.stringify(indexFor(settings.index, 0))},"_id":"${'0'.repeat(36)}"}}\n`;
  return {
    contentType: 'application/x-ndjson',
    recordOverheadBytes: Buffer.byteLength(typicalAction) + 1 + (settings.dataStream ? 40 : 0),
    encode(records: readonly Buffer[], allocate: Allocate): Buffer {
      const fields = topLevelFields(records, ['eventTime', 'eventID']);
      const actions: Buffer[] = [];
      const stamps: (Buffer | undefined)[] = [];
      let size = 0;
      records.forEach((record, i) => {
        const [eventTime, eventId] = fields[i] ?? [];
        const ms = eventTimeMs(eventTime);
        // Without an eventID (never seen in CloudTrail) Elasticsearch picks the _id: no dedupe for that record.
        const id = typeof eventId === 'string' && eventId !== '' ? `,"_id":${JSON.stringify(eventId)}` : '';
        const action = Buffer.from(`{"create":{"_index":${JSON.stringify(indexFor(settings.index, ms))}${id}}}\n`);
        actions.push(action);
        const stamp =
          settings.dataStream && typeof eventTime === 'string' && record.length > 2
            ? Buffer.from(`{"@timestamp":${JSON.stringify(eventTime)},`)
            : undefined;
        stamps.push(stamp);
        size += action.length + record.length + 1 + (stamp === undefined ? 0 : stamp.length - 1);
      });
      const body = allocate(size);
      let offset = 0;
      records.forEach((record, i) => {
        offset += actions[i]!.copy(body, offset);
        const stamp = stamps[i];
        if (stamp === undefined) {
          offset += record.copy(body, offset);
        } else {
          // `{"@timestamp":"...",` then the record after its opening brace.
          offset += stamp.copy(body, offset);
          offset += record.copy(body, offset, 1);
        }
        offset += newline.copy(body, offset);
      });
      return body;
    },
    headers(_object: RecordObject, _idempotencyKey: string, _records: number): Record<string, string | number> {
      // The idempotency is in the documents' _id; the body's key travels only in logs.
      return {};
    },
  };
}

interface BulkItem {
  status?: unknown;
  error?: { type?: unknown; reason?: unknown };
}

/**
 * `_bulk`'s answer read item by item: 201 (and 200) created, 409 already there (success: this is what makes a
 * redelivery harmless), 429 and 5xx retried alone, anything else (400 mapping and parsing errors) refused for
 * good and reported. A non-200 status is the whole request's (413 splits, 429/5xx retries, 401/403 refused).
 */
export const BULK_INTERPRETER: ResponseInterpreter = {
  readsBody: true,
  interpret(response: HttpResponse, records: readonly Buffer[]): Verdict {
    if (response.status !== 200) return statusVerdict(response);
    let answer: { errors?: unknown; items?: unknown };
    try {
      answer = JSON.parse((response.body ?? Buffer.alloc(0)).toString('utf8')) as typeof answer;
    } catch {
      // Cut off or not JSON (a proxy's page): nothing says which records were taken. Sending all again is safe.
      return {
        kind: 'retryable',
        status: 200,
        detail: `HTTP 200 with an unreadable _bulk answer: ${response.snippet}`,
      };
    }
    if (answer.errors === false) return { kind: 'accepted' };
    const items = Array.isArray(answer.items) ? (answer.items as Record<string, BulkItem>[]) : [];
    if (items.length !== records.length) {
      return {
        kind: 'retryable',
        status: 200,
        detail: `_bulk answered ${items.length} items for ${records.length} actions`,
      };
    }
    const retry: number[] = [];
    const rejected: { index: number; detail: string }[] = [];
    let firstRetryDetail = '';
    items.forEach((item, index) => {
      const result = item.create ?? Object.values(item)[0] ?? {};
      const status = typeof result.status === 'number' ? result.status : 0;
      if ((status >= 200 && status < 300) || status === 409) return;
      const type = typeof result.error?.type === 'string' ? result.error.type : 'unknown';
      const reason = typeof result.error?.reason === 'string' ? result.error.reason.slice(0, 300) : '';
      const detail = `item ${index}: ${status} ${type}${reason === '' ? '' : `: ${reason}`}`;
      if (status === 429 || status >= 500 || status === 0) {
        if (retry.length === 0) firstRetryDetail = detail;
        retry.push(index);
      } else {
        rejected.push({ index, detail });
      }
    });
    if (retry.length === 0 && rejected.length === 0) return { kind: 'accepted' };
    return {
      kind: 'partial',
      status: 200,
      retry,
      rejected,
      detail: `_bulk: ${retry.length} items to retry (${firstRetryDetail}), ${rejected.length} refused`,
    };
  },
};
