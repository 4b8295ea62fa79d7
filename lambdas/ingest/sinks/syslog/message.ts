import { classifyObjectKey } from '../../../shared/object-key';
import type { RecordObject } from '../../log-object';
import { RecordSplitter } from '../../records/record-splitter';
import type { SyslogSettings } from './config';

/**
 * RFC 5424 messages for CloudTrail records (docs/sinks.md, "syslog and RELP"):
 *
 *     <PRI>1 TIMESTAMP HOSTNAME APP-NAME - - [SD-ID account="..." region="..."] MSG
 *
 * - TIMESTAMP is the record's eventTime when it has RFC 5424's form (CloudTrail's `2026-11-01T12:00:00Z` does),
 *   NILVALUE otherwise (section 6.2.3);
 * - the structured data carries the account and Region of the log file's key, which ingest checked against the
 *   tenant before reading it (the record's own recipientAccountId and awsRegion are what a publisher wrote);
 * - MSG is the record's compact JSON byte for byte, without a BOM: RFC 8259 section 8.1 forbids a BOM in front of
 *   networked JSON, and RFC 5424 section 6.4 allows MSG-ANY. PROCID and MSGID are NILVALUE.
 */

/** RFC 5424 section 6.2.3: FULL-DATE "T" FULL-TIME, at most 6 fraction digits, "Z" or a numeric offset. */
const TIMESTAMP =
  /^\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])T(?:[01]\d|2[0-3]):[0-5]\d:(?:[0-5]\d|60)(?:\.\d{1,6})?(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)$/;

/** Longest TIMESTAMP: 2026-11-01T12:00:00.123456+01:00. */
const MAX_TIMESTAMP_BYTES = 32;
/** A Region name as object-key.ts accepts it is far shorter; this bounds the overhead estimate only. */
const TYPICAL_REGION_BYTES = 16;
/** An octet count of up to 8 digits (64 MiB) and its space. */
const MAX_OCTET_COUNT_BYTES = 9;

/** PARAM-VALUE escaping, RFC 5424 section 6.3.3: '"', '\' and ']' are preceded by '\'. */
export function escapeParamValue(value: string): string {
  return value.replace(/["\\\]]/g, (c) => `\\${c}`);
}

/** eventTime when it is a valid RFC 5424 TIMESTAMP, else NILVALUE. */
export function syslogTimestamp(eventTime: unknown): string {
  return typeof eventTime === 'string' && TIMESTAMP.test(eventTime) ? eventTime : '-';
}

/** What every message of one sink shares, and the part that depends on the log file. */
export class SyslogFormatter {
  /** `<PRI>1 ` */
  private readonly pri: string;
  /** ` HOSTNAME APP-NAME - - ` */
  private readonly middle: string;
  /** Bytes a message adds to its record, at most, for a key in CloudTrail's layout: the batch limits count it. */
  readonly overheadBytes: number;

  constructor(private readonly settings: SyslogSettings) {
    this.pri = `<${settings.facility * 8 + settings.severity}>1 `;
    this.middle = ` ${settings.hostname} ${settings.appName} - - `;
    const sd = this.structuredData('123456789012', 'x'.repeat(TYPICAL_REGION_BYTES));
    this.overheadBytes =
      MAX_OCTET_COUNT_BYTES + this.pri.length + MAX_TIMESTAMP_BYTES + this.middle.length + sd.length + 1;
  }

  /** `[SD-ID account="..." region="..."]` for the account and Region of the object's key ("-" if not in the layout). */
  structuredDataFor(object: RecordObject): string {
    const where = classifyObjectKey(object.key);
    if (where.type === 'other') return '-';
    return this.structuredData(where.accountId, where.region);
  }

  /**
   * The SYSLOG-MSG of each record (header + record bytes). `structuredData` comes from structuredDataFor, once
   * per batch; eventTime is read from each record by the splitter's field scan, without parsing the record.
   */
  messages(records: readonly Buffer[], structuredData: string): Buffer[] {
    const times = readEventTimes(records);
    return records.map((record, i) => {
      const header = `${this.pri}${syslogTimestamp(times[i])}${this.middle}${structuredData} `;
      const headerBytes = Buffer.byteLength(header, 'latin1');
      const message = Buffer.allocUnsafe(headerBytes + record.length);
      // Every header byte is US-ASCII (checked in config.ts; the key's account and Region match their patterns).
      message.write(header, 0, headerBytes, 'latin1');
      record.copy(message, headerBytes);
      return message;
    });
  }

  private structuredData(account: string, region: string): string {
    return `[${this.settings.sdId} account="${escapeParamValue(account)}" region="${escapeParamValue(region)}"]`;
  }
}

/** RFC 6587 section 3.4.1 (and RFC 5425 section 4.3): `MSG-LEN SP SYSLOG-MSG`, MSG-LEN in octets. */
export function octetCountedFrames(messages: readonly Buffer[]): Buffer {
  const parts: Buffer[] = [];
  for (const message of messages) parts.push(Buffer.from(`${message.length} `, 'latin1'), message);
  return Buffer.concat(parts);
}

/**
 * Each record's eventTime, read by the same scanner that split it (record-splitter.ts), fed the records as one
 * `{"Records":[...]}` document: a record is scanned once more, never parsed into objects.
 */
function readEventTimes(records: readonly Buffer[]): unknown[] {
  return readTopLevelField(records, 'eventTime');
}

/** The eventID of a record (for an error message), or undefined. */
export function eventIdOf(record: Buffer): string | undefined {
  const [id] = readTopLevelField([record], 'eventID');
  return typeof id === 'string' ? id : undefined;
}

const OPEN = Buffer.from('{"Records":[');
const COMMA = Buffer.from(',');
const CLOSE = Buffer.from(']}');

function readTopLevelField(records: readonly Buffer[], field: string): unknown[] {
  try {
    return scanField(records, field);
  } catch {
    // One record that is not a JSON object (only possible when a caller other than the pipeline hands bytes in)
    // costs its own field, not the batch's: scanned one by one, it alone gets undefined (NILVALUE).
    return records.map((record) => {
      try {
        return scanField([record], field)[0];
      } catch {
        return undefined;
      }
    });
  }
}

function scanField(records: readonly Buffer[], field: string): unknown[] {
  const largest = records.reduce((max, r) => Math.max(max, r.length), 0);
  const splitter = new RecordSplitter({ fields: [field], maxRecordBytes: Math.max(1, largest) });
  const values: unknown[] = [];
  splitter.write(OPEN);
  records.forEach((record, i) => {
    if (i > 0) splitter.write(COMMA);
    const out = splitter.write(record);
    if (out.length !== 1) throw new Error('not one JSON object');
    values.push(splitter.fields[0]?.[0]);
  });
  splitter.write(CLOSE);
  splitter.end();
  return values;
}
