import { RecordSplitter, type FieldValue } from '../records/record-splitter';

const OPEN = Buffer.from('{"Records":[');
const COMMA = Buffer.from(',');
const CLOSE = Buffer.from(']}');

/**
 * Top-level string members of each record (`eventTime`, `eventID`), read by the splitter's own field reader
 * (records/record-splitter.ts) over the batch framed as a log file: the envelope sinks need them per record
 * (HEC's `time`, `_bulk`'s `_id` and index) and a nested member of the same name (in `requestParameters`, say)
 * is never taken for the record's. One scan and one copy of the batch, no JSON.parse per record.
 */
export function topLevelFields(records: readonly Buffer[], names: readonly string[]): readonly FieldValue[][] {
  if (records.length === 0) return [];
  const parts: Buffer[] = [OPEN];
  records.forEach((record, i) => {
    if (i > 0) parts.push(COMMA);
    parts.push(record);
  });
  parts.push(CLOSE);
  // The records were split (and bounded) already: no second limit here.
  const splitter = new RecordSplitter({ maxRecordBytes: Number.MAX_SAFE_INTEGER, fields: names });
  splitter.write(Buffer.concat(parts));
  splitter.end();
  return splitter.fields;
}

/** An ISO 8601 `eventTime` as epoch milliseconds; undefined when absent or not a time. */
export function eventTimeMs(value: FieldValue): number | undefined {
  if (typeof value !== 'string') return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}
