import { LoopbackReceiver, type ReceivedRequest, type Reply } from './receiver-kit';

/**
 * An Elasticsearch/OpenSearch `_bulk` endpoint on loopback, following the Bulk API reference (docs/sinks.md,
 * "Receivers"; neither server is in the project's package sources):
 * - `POST /_bulk` (or `/<index>/_bulk`), `Content-Type: application/x-ndjson` (or application/json; anything
 *   else 406), gzip bodies accepted, the last line ending in '\n' (else 400 `illegal_argument_exception`);
 * - action/document pairs; `create` fails an existing `_id` with 409 `version_conflict_engine_exception`,
 *   `index` replaces; a `create` without `_id` gets a generated one;
 * - the answer: 200 `{"took","errors","items":[{"create":{"_index","_id","status","result"|"error"}}]}`, one
 *   item per action in their order; `filter_path` keeps only the listed paths (`errors`, `items.*.status`,
 *   `items.*.error.type`, `items.*.error.reason` as the sink asks);
 * - `Authorization: ApiKey <key>` or `Basic <base64 user:password>`; otherwise 401 `security_exception`;
 * - a body over `maxContentLength` is 413 with an empty body.
 * Item faults are scripted (`failItems`): 429 `es_rejected_execution_exception`, 503 `unavailable_shards_exception`;
 * a document `rejectDocument` matches gets 400 `document_parsing_exception` (a mapping error).
 */
export interface BulkReceiverOptions {
  apiKey?: string;
  basic?: { user: string; password: string };
  maxContentLength?: number;
  /** A mapping error for documents this matches (the parsed document). */
  rejectDocument?: (document: Record<string, unknown>) => boolean;
}

export type ItemFault = 429 | 503;

export interface StoredDocument {
  index: string;
  id: string;
  /** The document's source as sent (its line). */
  source: string;
}

export class BulkReceiver extends LoopbackReceiver {
  /** `<index>\u0000<_id>` -> the document. */
  readonly documents = new Map<string, StoredDocument>();
  /** Every item status answered, in order. */
  readonly itemStatuses: number[] = [];
  private readonly itemFaults: ((ItemFault | undefined)[] | ((position: number) => ItemFault | undefined))[] = [];
  private generated = 0;

  constructor(readonly options: BulkReceiverOptions = {}) {
    super();
  }

  /**
   * The items of the next `_bulk` request fail as scripted: a list by position (undefined: processed), or a
   * function of the position. One script per request, in order.
   */
  failItems(script: (ItemFault | undefined)[] | ((position: number) => ItemFault | undefined)): void {
    this.itemFaults.push(script);
  }

  setMaxContentLength(bytes: number | undefined): void {
    this.options.maxContentLength = bytes;
  }

  clearItemFaults(): void {
    this.itemFaults.length = 0;
  }

  protected handle(request: ReceivedRequest): Reply {
    const unauthorized = this.authorize(request);
    if (unauthorized) return unauthorized;
    const target = /^(?:\/([^/]+))?\/_bulk$/.exec(request.path);
    if (request.method !== 'POST' && request.method !== 'PUT')
      return error(405, 'illegal_argument_exception', 'method');
    if (!target) return error(404, 'resource_not_found_exception', `no handler for ${request.path}`);
    const type = String(request.headers['content-type'] ?? '')
      .split(';')[0]!
      .trim();
    if (type !== 'application/x-ndjson' && type !== 'application/json') {
      return error(406, 'media_type_header_exception', `Content-Type header [${type}] is not supported`);
    }
    if (this.options.maxContentLength !== undefined && (request.body?.length ?? 0) > this.options.maxContentLength) {
      return { status: 413, body: '' };
    }
    if (request.body === undefined) return error(400, 'parse_exception', 'request body is not gzip');
    const text = request.body.toString('utf8');
    if (!text.endsWith('\n')) {
      return error(400, 'illegal_argument_exception', 'The bulk request must be terminated by a newline [\\n]');
    }
    const lines = text.slice(0, -1).split('\n');
    const script = this.itemFaults.shift();
    const items: Record<string, unknown>[] = [];
    let errors = false;
    for (let i = 0, position = 0; i < lines.length; position++) {
      let action: Record<string, { _index?: string; _id?: string }>;
      try {
        action = JSON.parse(lines[i]!) as typeof action;
      } catch {
        return error(400, 'x_content_parse_exception', `line ${i + 1}: the action is not JSON`);
      }
      const op = Object.keys(action)[0];
      if (op !== 'create' && op !== 'index') {
        return error(400, 'illegal_argument_exception', `line ${i + 1}: action [${op}] not supported here`);
      }
      const meta = action[op]!;
      const index = meta._index ?? target[1];
      const source = lines[i + 1];
      i += 2;
      if (index === undefined) return error(400, 'action_request_validation_exception', 'index is missing');
      if (source === undefined) return error(400, 'illegal_argument_exception', 'action without a document');
      const id = meta._id ?? `generated-${++this.generated}`;
      const fault = Array.isArray(script) ? script[position] : script?.(position);
      let item: Record<string, unknown>;
      if (fault === 429) {
        item = failed(
          index,
          id,
          429,
          'es_rejected_execution_exception',
          'rejected execution of coordinating operation',
        );
      } else if (fault === 503) {
        item = failed(index, id, 503, 'unavailable_shards_exception', 'primary shard is not active');
      } else {
        let document: Record<string, unknown>;
        try {
          document = JSON.parse(source) as Record<string, unknown>;
        } catch {
          document = {};
        }
        const key = `${index}\u0000${id}`;
        if (this.options.rejectDocument?.(document)) {
          item = failed(index, id, 400, 'document_parsing_exception', `failed to parse document with id '${id}'`);
        } else if (op === 'create' && this.documents.has(key)) {
          item = failed(
            index,
            id,
            409,
            'version_conflict_engine_exception',
            `[${id}]: version conflict, document already exists (current version [1])`,
          );
        } else {
          this.documents.set(key, { index, id, source });
          item = { _index: index, _id: id, _version: 1, result: 'created', status: 201 };
        }
      }
      const status = item.status as number;
      this.itemStatuses.push(status);
      if (status >= 300) errors = true;
      items.push({ [op]: item });
    }
    const full = { took: 1, errors, items };
    const filter = request.query.get('filter_path');
    return { status: 200, body: JSON.stringify(filter === null ? full : filterPath(full, filter.split(','))) };
  }

  /** The documents' sources, one per stored document. */
  get sources(): string[] {
    return [...this.documents.values()].map((document) => document.source);
  }

  private authorize(request: ReceivedRequest): Reply | undefined {
    if (!this.options.apiKey && !this.options.basic) return undefined;
    const header = String(request.headers.authorization ?? '');
    if (this.options.apiKey && header === `ApiKey ${this.options.apiKey}`) return undefined;
    if (this.options.basic) {
      const expected = Buffer.from(`${this.options.basic.user}:${this.options.basic.password}`).toString('base64');
      if (header === `Basic ${expected}`) return undefined;
    }
    return error(401, 'security_exception', 'missing authentication credentials for REST request [/_bulk]');
  }
}

function failed(index: string, id: string, status: number, type: string, reason: string): Record<string, unknown> {
  return { _index: index, _id: id, status, error: { type, reason } };
}

function error(status: number, type: string, reason: string): Reply {
  return { status, body: JSON.stringify({ error: { root_cause: [{ type, reason }], type, reason }, status }) };
}

/** `filter_path` for the paths the sink uses: `errors`, and `items.*.<path>` (one level of `*` under items). */
function filterPath(full: { took: number; errors: boolean; items: Record<string, unknown>[] }, paths: string[]) {
  const out: Record<string, unknown> = {};
  if (paths.includes('took')) out.took = full.took;
  if (paths.includes('errors')) out.errors = full.errors;
  const itemPaths = paths.filter((p) => p.startsWith('items.*.')).map((p) => p.slice('items.*.'.length).split('.'));
  if (itemPaths.length > 0) {
    out.items = full.items.map((item) => {
      const [op, result] = Object.entries(item)[0]! as [string, Record<string, unknown>];
      const kept: Record<string, unknown> = {};
      for (const path of itemPaths) {
        let from: unknown = result;
        for (const part of path) from = (from as Record<string, unknown> | undefined)?.[part];
        if (from === undefined) continue;
        let into = kept;
        path.slice(0, -1).forEach((part) => {
          into = (into[part] ??= {}) as Record<string, unknown>;
        });
        into[path[path.length - 1]!] = from;
      }
      return { [op]: kept };
    });
  }
  return out;
}
