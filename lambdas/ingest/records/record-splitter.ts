/* eslint-disable @typescript-eslint/no-unsafe-enum-comparison -- bytes read from buffers are numbers compared
   with the Byte const enum, whose members the compiler inlines as literals in the hot loop. */
import { PermanentInputError } from '../../shared/errors';

/** The object is not valid JSON, or not the shape of a CloudTrail log file. Says what and at which byte. */
export class MalformedObjectError extends PermanentInputError {
  constructor(
    message: string,
    /** Offset in the (decompressed) object of the byte that was rejected, or of the end of input. */
    readonly byteOffset?: number,
  ) {
    super(message);
  }
}

export interface RecordSplitterOptions {
  /** A record larger than this (whitespace removed) fails the object. Bounds the splitter's memory. */
  maxRecordBytes?: number;
  /**
   * Top-level members of each record whose values the splitter reads while it scans (for filters): after each
   * write(), `fields` holds one entry per record returned, the values in this order. None by default, and then
   * the scan does no extra work.
   */
  fields?: readonly string[];
}

/**
 * A record's value for one of the requested fields, as JSON.parse would give it (the last one of duplicate
 * members): a string, a boolean or null; undefined when absent or a number, object or array (not decoded).
 */
export type FieldValue = string | boolean | null | undefined;

export const DEFAULT_MAX_RECORD_BYTES = 2 * 1024 * 1024;

/** Deeper nesting fails the object: bounds the bracket stack for values that are validated but not kept. */
export const MAX_NESTING_DEPTH = 10_000;

/**
 * Parser states. `Start` to `Done` sit between tokens: a byte they do not expect is handled after the switch
 * (whitespace is skipped, anything else is an error). The others are inside a token.
 */
const enum State {
  Start,
  Value,
  ArrayFirst,
  ObjectFirst,
  Key,
  Colon,
  AfterValue,
  Done,
  String,
  Escape,
  Hex,
  Utf8,
  NumMinus,
  NumZero,
  NumInt,
  NumFracStart,
  NumFrac,
  NumExpStart,
  NumExpSign,
  NumExp,
  Literal,
  Bom1,
  Bom2,
  /** After a record member named in `fields`: like Colon and Value, but the value is read. */
  FieldColon,
  FieldValue,
}

/** What the string being scanned is, i.e. where its closing quote leads. */
const enum StringKind {
  Value,
  Key,
  /** A key of the top-level object: its bytes are kept to recognise "Records". */
  TopLevelKey,
  /** A key of a record, when fields are requested: compared with their names. */
  RecordKey,
  /** The string value of a requested field. */
  FieldValue,
}

const enum Capture {
  None,
  Record,
  /** Only short keys can be "Records", so a longer one is not kept. */
  TopLevelKey,
}

const enum Container {
  Object = 1,
  Array = 2,
}

/** Byte values the grammar names (a const enum: inlined as literals, which the hot loop needs). */
const enum Byte {
  Tab = 0x09,
  LineFeed = 0x0a,
  CarriageReturn = 0x0d,
  Space = 0x20,
  Quote = 0x22,
  Plus = 0x2b,
  Comma = 0x2c,
  Minus = 0x2d,
  Dot = 0x2e,
  Zero = 0x30,
  Nine = 0x39,
  Colon = 0x3a,
  UpperE = 0x45,
  LeftBracket = 0x5b,
  Backslash = 0x5c,
  RightBracket = 0x5d,
  LowerE = 0x65,
  LowerF = 0x66,
  LowerN = 0x6e,
  LowerT = 0x74,
  LowerU = 0x75,
  LeftBrace = 0x7b,
  RightBrace = 0x7d,
}

/** Bytes allowed after a backslash, other than `u`. */
const SIMPLE_ESCAPE = new Uint8Array(256);
for (const c of '"\\/bfnrt') SIMPLE_ESCAPE[c.charCodeAt(0)] = 1;

const HEX_DIGIT = new Uint8Array(256);
for (const c of '0123456789abcdefABCDEF') HEX_DIGIT[c.charCodeAt(0)] = 1;

const LITERAL_TRUE = Buffer.from('true');
const LITERAL_FALSE = Buffer.from('false');
const LITERAL_NULL = Buffer.from('null');

const RECORDS_KEY = Buffer.from('"Records"');
/** Segments up to this length are copied byte by byte. */
const SHORT_COPY_BYTES = 64;
/** Longest top-level key kept for comparison: enough for "Records" spelt entirely with \u escapes. */
const KEY_CAPTURE_LIMIT = 64;

function isWhitespace(c: number): boolean {
  return c === Byte.Space || c === Byte.LineFeed || c === Byte.CarriageReturn || c === Byte.Tab;
}

/** After the digits of a number's integer part: fraction, exponent, or the end of the number. */
function afterIntegerPart(c: number): State {
  if (c === Byte.Dot) return State.NumFracStart;
  if (c === Byte.LowerE || c === Byte.UpperE) return State.NumExpStart;
  return State.AfterValue;
}

function isValueStart(c: number): boolean {
  return (
    c === Byte.LeftBrace ||
    c === Byte.LeftBracket ||
    c === Byte.Quote ||
    c === Byte.Minus ||
    (c >= Byte.Zero && c <= Byte.Nine) ||
    c === Byte.LowerT ||
    c === Byte.LowerF ||
    c === Byte.LowerN
  );
}

function describeByte(c: number): string {
  if (c >= 0x21 && c < 0x7f) return `"${String.fromCharCode(c)}"`;
  return `byte 0x${c.toString(16).padStart(2, '0')}`;
}

/**
 * The records step of ingest (docs/architecture.md, "Ingest"). Splits a CloudTrail log object `{"Records":[{...},{...}], ...}` into its records while validating the
 * whole document against the JSON grammar, in one pass over bytes fed in chunks of any size.
 *
 * Each record comes out as its own JSON exactly as in the file, minus whitespace outside strings, so that it
 * is one NDJSON line. A record lying entirely inside one chunk without such whitespace is returned as a
 * view of that chunk (no copy): callers must not reuse chunk buffers they have written. Memory is bounded by
 * the largest record; only the value of the top-level key "Records" is split, other keys are validated and
 * dropped.
 */
export class RecordSplitter {
  private readonly maxRecordBytes: number;

  private state = State.Start;
  private stringKind = StringKind.Value;
  private depth = 0;
  private stack: Uint8Array = new Uint8Array(64);

  /** Hex digits still expected in a \u escape, or continuation bytes still expected in a UTF-8 sequence. */
  private pending = 0;
  /** Range allowed for the next UTF-8 continuation byte (narrower after E0, ED, F0, F4). */
  private utf8Low = 0x80;
  private utf8High = 0xbf;
  private literal: Buffer = LITERAL_TRUE;
  private literalPos = 0;

  /** What is being captured; its bytes from earlier chunks (or before whitespace) are in `held`. */
  private capture = Capture.None;
  private held: Buffer = Buffer.alloc(0);
  private heldLength = 0;
  private keyTooLong = false;

  private recordsPending = false;
  private inRecords = false;
  private sawRecordsKey = false;
  private records = 0;
  private bytes = 0;
  private failure: MalformedObjectError | undefined;

  /** The requested field names as JSON string contents (no quotes), and the values read for the current record. */
  private readonly fieldNames: readonly Buffer[];
  private current: FieldValue[] = [];
  private outFields: FieldValue[][] = [];
  /** Index of the field whose value comes next; where the key or string value being read starts in the record. */
  private field = -1;
  private tokenStart = 0;

  constructor(options: RecordSplitterOptions = {}) {
    this.maxRecordBytes = options.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES;
    this.fieldNames = (options.fields ?? []).map((name) => Buffer.from(JSON.stringify(name).slice(1, -1)));
  }

  /** With `fields` requested: per record returned by the last write(), its values of those fields. */
  get fields(): readonly FieldValue[][] {
    return this.outFields;
  }

  /** Whether the top-level key "Records" was seen (digest files have none). */
  get sawRecords(): boolean {
    return this.sawRecordsKey;
  }

  get recordCount(): number {
    return this.records;
  }

  get bytesRead(): number {
    return this.bytes;
  }

  /** Feeds the next chunk; returns the records completed inside it. */
  write(chunk: Uint8Array): Buffer[] {
    if (this.failure) throw this.failure;
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const out: Buffer[] = [];
    if (this.fieldNames.length > 0) this.outFields = [];
    try {
      this.scan(buf, out);
    } catch (error) {
      if (error instanceof MalformedObjectError) this.failure = error;
      throw error;
    }
    this.bytes += buf.length;
    return out;
  }

  /** End of input: throws if the document is incomplete or was never started. */
  end(): void {
    if (this.failure) throw this.failure;
    if (this.state === State.Done) return;
    const reason = this.bytes === 0 ? 'empty input' : `unexpected end of input ${this.describeContext()}`;
    this.failure = new MalformedObjectError(`malformed JSON at byte ${this.bytes}: ${reason}`, this.bytes);
    throw this.failure;
  }

  /**
   * The hot loop. Keeps the parser state in locals and writes it back at the end of the chunk; everything
   * rare (nesting changes near the top level, whitespace inside records, errors) goes through methods.
   */
  private scan(buf: Buffer, out: Buffer[]): void {
    const n = buf.length;
    let state = this.state;
    let depth = this.depth;
    let stack = this.stack;
    let stringKind = this.stringKind;
    const readsFields = this.fieldNames.length > 0;
    /** Start in `buf` of the captured bytes not yet copied to `held`; -1 when not capturing. */
    let segStart = this.capture === Capture.None ? -1 : 0;
    let i = 0;

    while (i < n) {
      const c = buf[i]!;
      switch (state) {
        case State.String: {
          let b = c;
          while (b >= 0x20 && b !== Byte.Quote && b !== Byte.Backslash && b < 0x80) {
            if (++i === n) break;
            b = buf[i]!;
          }
          if (i === n) continue;
          if (b === Byte.Quote) {
            i++;
            if (stringKind === StringKind.Value) {
              state = State.AfterValue;
              // Shortcut for the usual compact `"value","key"` inside a record: straight into the next key (the
              // key of a record, depth 3, goes the long way when fields are read from it).
              if (
                (depth > 3 || (depth === 3 && !readsFields)) &&
                i + 1 < n &&
                buf[i] === Byte.Comma &&
                buf[i + 1] === Byte.Quote &&
                stack[depth] === Container.Object
              ) {
                i += 2;
                stringKind = StringKind.Key;
                state = State.String;
              }
            } else if (stringKind === StringKind.FieldValue) {
              state = State.AfterValue;
              this.fieldValueEnd(buf, segStart, i - 1);
            } else {
              state = State.Colon;
              if (stringKind === StringKind.TopLevelKey) {
                this.topLevelKeyEnd(buf, segStart, i);
                segStart = -1;
              } else if (stringKind === StringKind.RecordKey && this.recordKeyEnd(buf, segStart, i - 1)) {
                state = State.FieldColon;
              } else if (i < n && buf[i] === Byte.Colon) {
                // Shortcut for the usual compact `"key":`, saving a trip through the switch, and inside a record
                // (below depth 2, where values need no shape check) for `"key":"value"`, into the value.
                i++;
                state = State.Value;
                if (depth > 2 && i < n && buf[i] === Byte.Quote) {
                  i++;
                  stringKind = StringKind.Value;
                  state = State.String;
                }
              }
            }
          } else if (b === Byte.Backslash) {
            i++;
            state = State.Escape;
          } else if (b < 0x20) {
            throw this.error(i, `unescaped control character 0x${b.toString(16).padStart(2, '0')} in string`);
          } else {
            this.utf8Lead(b, i);
            i++;
            state = State.Utf8;
          }
          continue;
        }

        case State.Utf8:
          if (c < this.utf8Low || c > this.utf8High) throw this.error(i, 'invalid UTF-8 sequence in string');
          i++;
          this.utf8Low = 0x80;
          this.utf8High = 0xbf;
          if (--this.pending === 0) state = State.String;
          continue;

        case State.Escape:
          if (SIMPLE_ESCAPE[c] === 1) {
            state = State.String;
          } else if (c === Byte.LowerU) {
            this.pending = 4;
            state = State.Hex;
          } else {
            throw this.error(i, `invalid escape "\\${String.fromCharCode(c)}" in string`);
          }
          i++;
          continue;

        case State.Hex:
          if (HEX_DIGIT[c] !== 1) throw this.error(i, 'expected 4 hex digits after "\\u" in string');
          i++;
          if (--this.pending === 0) state = State.String;
          continue;

        case State.Key:
        case State.ObjectFirst:
          if (c === Byte.Quote) {
            if (depth === 1) {
              stringKind = StringKind.TopLevelKey;
              this.startCapture(Capture.TopLevelKey);
              segStart = i;
            } else if (depth === 3 && readsFields && this.inRecords) {
              stringKind = StringKind.RecordKey;
              this.tokenStart = this.heldLength + i + 1 - segStart;
            } else {
              stringKind = StringKind.Key;
            }
            i++;
            state = State.String;
            continue;
          }
          if (c === Byte.RightBrace && state === State.ObjectFirst) {
            state = this.close(buf, i, depth, segStart, out);
            if (depth <= 3 && this.capture === Capture.None) segStart = -1;
            depth--;
            i++;
            continue;
          }
          break;

        case State.Colon:
          if (c === Byte.Colon) {
            i++;
            state = State.Value;
            continue;
          }
          break;

        case State.AfterValue:
          if (c === Byte.Comma) {
            i++;
            state = stack[depth] === Container.Object ? State.Key : State.Value;
            continue;
          }
          if (
            (c === Byte.RightBrace && stack[depth] === Container.Object) ||
            (c === Byte.RightBracket && stack[depth] === Container.Array)
          ) {
            state = this.close(buf, i, depth, segStart, out);
            if (depth <= 3 && this.capture === Capture.None) segStart = -1;
            depth--;
            i++;
            continue;
          }
          break;

        case State.ArrayFirst:
          if (c === Byte.RightBracket) {
            state = this.close(buf, i, depth, segStart, out);
            if (depth <= 3 && this.capture === Capture.None) segStart = -1;
            depth--;
            i++;
            continue;
          }
          if (isWhitespace(c)) break;
          state = State.Value; // anything else starts the first element
          continue;

        case State.Value:
        case State.Start:
          if (depth <= 2) {
            // A value of the top-level object, an element of Records, or the document itself.
            if (isWhitespace(c)) break;
            if (state === State.Start && c === 0xef && this.bytes + i === 0) {
              state = State.Bom1;
              i++;
              continue;
            }
            this.checkShallowValue(c, i, depth, state);
            if (depth === 2 && this.inRecords) {
              this.startCapture(Capture.Record);
              segStart = i;
            }
          }
          if (c === Byte.Quote) {
            stringKind = StringKind.Value;
            state = State.String;
          } else if (c === Byte.LeftBrace || c === Byte.LeftBracket) {
            if (++depth === stack.length) stack = this.growStack(i, depth);
            stack[depth] = c === Byte.LeftBrace ? Container.Object : Container.Array;
            state = c === Byte.LeftBrace ? State.ObjectFirst : State.ArrayFirst;
            if (depth === 2 && this.recordsPending) {
              this.recordsPending = false;
              this.inRecords = true;
            }
          } else if (c >= Byte.Zero && c <= Byte.Nine) {
            state = c === Byte.Zero ? State.NumZero : State.NumInt;
          } else if (c === Byte.Minus) {
            state = State.NumMinus;
          } else if (c === Byte.LowerT || c === Byte.LowerF || c === Byte.LowerN) {
            this.literal = c === Byte.LowerT ? LITERAL_TRUE : c === Byte.LowerF ? LITERAL_FALSE : LITERAL_NULL;
            this.literalPos = 1;
            state = State.Literal;
          } else {
            break; // whitespace or an error, below
          }
          i++;
          continue;

        case State.Literal:
          if (c !== this.literal[this.literalPos]) {
            throw this.error(i, `invalid literal (expected "${this.literal.toString()}")`);
          }
          i++;
          if (++this.literalPos === this.literal.length) state = State.AfterValue;
          continue;

        case State.NumMinus:
          if (c < Byte.Zero || c > Byte.Nine) throw this.error(i, 'expected a digit after "-" in number');
          state = c === Byte.Zero ? State.NumZero : State.NumInt;
          i++;
          continue;

        case State.NumInt:
          while (i < n && buf[i]! >= Byte.Zero && buf[i]! <= Byte.Nine) i++;
          if (i === n) continue;
          state = afterIntegerPart(buf[i]!);
          if (state !== State.AfterValue) i++;
          continue;

        case State.NumZero:
          if (c >= Byte.Zero && c <= Byte.Nine) throw this.error(i, 'leading zero in number');
          state = afterIntegerPart(c);
          if (state !== State.AfterValue) i++;
          continue;

        case State.NumFracStart:
          if (c < Byte.Zero || c > Byte.Nine) throw this.error(i, 'expected a digit after "." in number');
          state = State.NumFrac;
          i++;
          continue;

        case State.NumFrac:
          while (i < n && buf[i]! >= Byte.Zero && buf[i]! <= Byte.Nine) i++;
          if (i === n) continue;
          if (buf[i] === Byte.LowerE || buf[i] === Byte.UpperE) {
            state = State.NumExpStart;
            i++;
          } else {
            state = State.AfterValue;
          }
          continue;

        case State.NumExpStart:
          if (c === Byte.Plus || c === Byte.Minus) {
            state = State.NumExpSign;
          } else if (c >= Byte.Zero && c <= Byte.Nine) {
            state = State.NumExp;
          } else {
            throw this.error(i, 'expected a sign or digit in number exponent');
          }
          i++;
          continue;

        case State.NumExpSign:
          if (c < Byte.Zero || c > Byte.Nine) throw this.error(i, 'expected a digit in number exponent');
          state = State.NumExp;
          i++;
          continue;

        case State.NumExp:
          while (i < n && buf[i]! >= Byte.Zero && buf[i]! <= Byte.Nine) i++;
          if (i < n) state = State.AfterValue;
          continue;

        case State.Done:
          break;

        case State.Bom1:
          if (c !== 0xbb) throw this.error(i, 'invalid byte order mark');
          state = State.Bom2;
          i++;
          continue;

        case State.Bom2:
          if (c !== 0xbf) throw this.error(i, 'invalid byte order mark');
          state = State.Start;
          i++;
          continue;

        case State.FieldColon:
          if (c === Byte.Colon) {
            i++;
            state = State.FieldValue;
            continue;
          }
          break;

        case State.FieldValue:
          if (isWhitespace(c)) break;
          if (c === Byte.Quote) {
            stringKind = StringKind.FieldValue;
            this.tokenStart = this.heldLength + i + 1 - segStart;
            state = State.String;
            i++;
            continue;
          }
          // A literal is known by its first byte (and checked by the Value state); anything else is not decoded.
          this.current[this.field] =
            c === Byte.LowerT ? true : c === Byte.LowerF ? false : c === Byte.LowerN ? null : undefined;
          state = State.Value;
          continue;
      }

      // A whitespace-skipping state met a byte it does not expect: whitespace, or an error.
      if (!isWhitespace(c)) throw this.error(i, this.unexpectedMessage(c, state, depth));
      if (segStart >= 0) this.hold(buf, segStart, i);
      do i++;
      while (i < n && isWhitespace(buf[i]!));
      if (segStart >= 0) segStart = i;
    }

    if (segStart >= 0) this.hold(buf, segStart, n);
    this.state = state;
    this.depth = depth;
    this.stack = stack;
    this.stringKind = stringKind;
  }

  /**
   * Checks a value at depth 0 to 2, where the CloudTrail shape applies: the document must be an object,
   * "Records" an array, and each of its elements an object.
   */
  private checkShallowValue(c: number, i: number, depth: number, state: State): void {
    // Bytes that cannot start any value get the grammar's error message instead.
    if (!isValueStart(c)) return;
    if (state === State.Start) {
      if (c !== Byte.LeftBrace) throw this.error(i, 'the top-level value is not an object', 'malformed CloudTrail log');
    } else if (depth === 1 && this.recordsPending) {
      if (c !== Byte.LeftBracket) throw this.error(i, '"Records" is not an array', 'malformed CloudTrail log');
    } else if (depth === 2 && this.inRecords) {
      if (c !== Byte.LeftBrace) {
        throw this.error(i, `Records[${this.records}] is not an object`, 'malformed CloudTrail log');
      }
    }
  }

  /**
   * Closes the container at `depth` whose closing bracket is at `i`; returns the next state. Completes a
   * record when it closes an element of Records.
   */
  private close(buf: Buffer, i: number, depth: number, segStart: number, out: Buffer[]): State {
    if (depth > 3) return State.AfterValue;
    if (depth === 3 && this.inRecords) {
      out.push(this.takeRecord(buf, segStart, i + 1));
      this.records++;
      if (this.fieldNames.length > 0) {
        this.outFields.push(this.current);
        this.current = [];
      }
    } else if (depth === 2 && this.inRecords) {
      this.inRecords = false;
    } else if (depth === 1) {
      return State.Done;
    }
    return State.AfterValue;
  }

  private startCapture(kind: Capture): void {
    this.capture = kind;
    this.heldLength = 0;
    this.keyTooLong = false;
  }

  private takeRecord(buf: Buffer, segStart: number, end: number): Buffer {
    this.capture = Capture.None;
    const size = this.heldLength + end - segStart;
    if (size > this.maxRecordBytes) throw this.tooLarge(end - 1);
    // The whole record is in this chunk and had no whitespace to remove: a view, no copy.
    if (this.heldLength === 0) return buf.subarray(segStart, end);
    this.hold(buf, segStart, end);
    const record = Buffer.allocUnsafe(this.heldLength);
    this.held.copy(record, 0, 0, this.heldLength);
    this.heldLength = 0;
    return record;
  }

  /** Copies captured bytes `buf[from, to)` to `held`, enforcing the record size limit as they arrive. */
  private hold(buf: Buffer, from: number, to: number): void {
    const length = to - from;
    if (length === 0) return;
    const needed = this.heldLength + length;
    if (this.capture === Capture.TopLevelKey) {
      if (needed > KEY_CAPTURE_LIMIT) {
        this.keyTooLong = true;
        return;
      }
    } else if (needed > this.maxRecordBytes) {
      throw this.tooLarge(to - 1);
    }
    if (needed > this.held.length) {
      const doubled = Math.min(Math.max(this.held.length * 2, 64 * 1024), this.maxRecordBytes);
      const grown = Buffer.allocUnsafe(Math.max(needed, doubled));
      this.held.copy(grown, 0, 0, this.heldLength);
      this.held = grown;
    }
    const held = this.held;
    if (length <= SHORT_COPY_BYTES) {
      // Segments between whitespace in pretty-printed records are short: a loop beats Buffer#copy's overhead.
      for (let k = 0, at = this.heldLength; k < length; k++) held[at + k] = buf[from + k]!;
    } else {
      buf.copy(held, this.heldLength, from, to);
    }
    this.heldLength = needed;
  }

  /** A top-level key ended just before `end`: notes whether it is "Records". */
  private topLevelKeyEnd(buf: Buffer, segStart: number, end: number): void {
    let key: Buffer;
    if (this.heldLength === 0 && !this.keyTooLong) {
      key = buf.subarray(segStart, end);
    } else {
      this.hold(buf, segStart, end);
      key = this.held.subarray(0, this.heldLength);
    }
    this.capture = Capture.None;
    this.heldLength = 0;
    if (this.keyTooLong || !isRecordsKey(key)) return;
    if (this.sawRecordsKey) throw this.error(end - 1, 'duplicate top-level "Records" key', 'malformed CloudTrail log');
    this.sawRecordsKey = true;
    this.recordsPending = true;
  }

  /** The bytes of the current record from `from` (an offset in the record) up to `buf[end]`, exclusive. */
  private recordBytes(buf: Buffer, segStart: number, from: number, end: number): Buffer {
    if (from >= this.heldLength) return buf.subarray(segStart + from - this.heldLength, end);
    return Buffer.concat([this.held.subarray(from, this.heldLength), buf.subarray(segStart, end)]);
  }

  /** A record key ended at `buf[end]` (its closing quote): whether it names a requested field (then noted). */
  private recordKeyEnd(buf: Buffer, segStart: number, end: number): boolean {
    const key = this.recordBytes(buf, segStart, this.tokenStart, end);
    let index = this.fieldNames.findIndex((name) => name.equals(key));
    if (index < 0 && key.includes(Byte.Backslash)) {
      const decoded = Buffer.from(JSON.stringify(JSON.parse(`"${key.toString('utf8')}"`)).slice(1, -1));
      index = this.fieldNames.findIndex((name) => name.equals(decoded));
    }
    this.field = index;
    return index >= 0;
  }

  /** A requested field's string value ended at `buf[end]` (its closing quote). */
  private fieldValueEnd(buf: Buffer, segStart: number, end: number): void {
    const raw = this.recordBytes(buf, segStart, this.tokenStart, end);
    this.current[this.field] = raw.includes(Byte.Backslash)
      ? (JSON.parse(`"${raw.toString('utf8')}"`) as string)
      : raw.toString('utf8');
  }

  private utf8Lead(c: number, i: number): void {
    if (c >= 0xc2 && c <= 0xdf) {
      this.pending = 1;
    } else if (c >= 0xe0 && c <= 0xef) {
      this.pending = 2;
      if (c === 0xe0) this.utf8Low = 0xa0; // overlong
      if (c === 0xed) this.utf8High = 0x9f; // UTF-16 surrogates
    } else if (c >= 0xf0 && c <= 0xf4) {
      this.pending = 3;
      if (c === 0xf0) this.utf8Low = 0x90; // overlong
      if (c === 0xf4) this.utf8High = 0x8f; // above U+10FFFF
    } else {
      throw this.error(i, 'invalid UTF-8 sequence in string');
    }
  }

  /** Called when `depth` reaches the stack's length. */
  private growStack(i: number, depth: number): Uint8Array {
    if (depth > MAX_NESTING_DEPTH) {
      throw this.error(i, `nesting deeper than ${MAX_NESTING_DEPTH} levels`, 'malformed CloudTrail log');
    }
    const grown = new Uint8Array(Math.min(this.stack.length * 2, MAX_NESTING_DEPTH + 1));
    grown.set(this.stack);
    this.stack = grown;
    return grown;
  }

  private unexpectedMessage(c: number, state: State, depth: number): string {
    const found = describeByte(c);
    switch (state) {
      case State.Start:
        return `expected "{" at the start of the document, found ${found}`;
      case State.Value:
      case State.FieldValue:
      case State.ArrayFirst:
        return `expected a value, found ${found}`;
      case State.ObjectFirst:
        return `expected a string key or "}", found ${found}`;
      case State.Key:
        return `expected a string key, found ${found}`;
      case State.Colon:
      case State.FieldColon:
        return `expected ":" after object key, found ${found}`;
      case State.AfterValue:
        if (this.stack[depth] === Container.Object) return `expected "," or "}" after object member, found ${found}`;
        if (depth === 2 && this.inRecords) return `expected "," or "]" in Records array, found ${found}`;
        return `expected "," or "]" after array element, found ${found}`;
      case State.Done:
        return `trailing data after the top-level object: ${found}`;
      default:
        return `unexpected ${found}`;
    }
  }

  private describeContext(): string {
    switch (this.state) {
      case State.String:
      case State.Escape:
      case State.Hex:
      case State.Utf8:
        return 'inside a string (truncated object?)';
      case State.Literal:
        return 'inside a literal (truncated object?)';
      case State.Bom1:
      case State.Bom2:
        return 'inside the byte order mark';
      case State.Start:
        return 'before the top-level object';
      default:
        return this.inRecords
          ? `inside Records[${this.records}] (truncated object?)`
          : `at nesting depth ${this.depth} (truncated object?)`;
    }
  }

  private tooLarge(i: number): MalformedObjectError {
    return this.error(
      i,
      `Records[${this.records}] is larger than ${this.maxRecordBytes} bytes (maxRecordBytes)`,
      'oversized CloudTrail record',
    );
  }

  private error(i: number, reason: string, what = 'malformed JSON'): MalformedObjectError {
    const offset = this.bytes + i;
    return new MalformedObjectError(`${what} at byte ${offset}: ${reason}`, offset);
  }
}

/** Whether a top-level key (with its quotes, already validated) is "Records", escapes included. */
function isRecordsKey(key: Buffer): boolean {
  if (key.equals(RECORDS_KEY)) return true;
  if (!key.includes(Byte.Backslash)) return false;
  return JSON.parse(key.toString('utf8')) === 'Records';
}
