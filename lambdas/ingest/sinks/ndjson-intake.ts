import type { RecordObject } from '../log-object';
import { encodedSize, type Allocate, type Encoding } from './sink';

const NEWLINE = 0x0a;

/**
 * The downstream log intake's wire format (docs/ingest.md, "Wire format"): one record per line, each followed
 * by '\n', with the object's kind and the record count in headers. The first Encoding of the HTTP sink.
 */
export const NDJSON_INTAKE: Encoding = {
  contentType: 'application/x-ndjson',
  recordOverheadBytes: 1,

  /** A single allocation and one copy per record. */
  encode(records: readonly Buffer[], allocate: Allocate): Buffer {
    const body = allocate(encodedSize(records, 1));
    let offset = 0;
    for (const record of records) {
      offset += record.copy(body, offset);
      body[offset++] = NEWLINE;
    }
    return body;
  },

  headers(object: RecordObject, idempotencyKey: string, records: number): Record<string, string | number> {
    return {
      'x-idempotency-key': idempotencyKey,
      'x-cloudtrail-record-kind': object.kind,
      'x-record-count': records,
    };
  },
};
