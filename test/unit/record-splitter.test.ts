import fc from 'fast-check';
import {
  DEFAULT_MAX_RECORD_BYTES,
  MAX_NESTING_DEPTH,
  MalformedObjectError,
  RecordSplitter,
  type RecordSplitterOptions,
} from '../../lambdas/ingest/records/record-splitter';
import { PermanentInputError } from '../../lambdas/shared/errors';

interface SplitResult {
  lines: string[];
  buffers: Buffer[];
  splitter: RecordSplitter;
}

/** Feeds `doc` cut at `cuts` (offsets, any order, duplicates allowed) and ends the input. */
function split(doc: string | Buffer, cuts: number[] = [], options?: RecordSplitterOptions): SplitResult {
  const bytes = typeof doc === 'string' ? Buffer.from(doc) : doc;
  const bounds = [...new Set([0, ...cuts.map((cut) => Math.min(cut, bytes.length)), bytes.length])].sort(
    (a, b) => a - b,
  );
  const splitter = new RecordSplitter(options);
  const buffers: Buffer[] = [];
  for (let k = 0; k + 1 < bounds.length; k++) buffers.push(...splitter.write(bytes.subarray(bounds[k], bounds[k + 1])));
  if (bytes.length === 0) buffers.push(...splitter.write(bytes));
  splitter.end();
  return { lines: buffers.map((buffer) => buffer.toString('utf8')), buffers, splitter };
}

function splitBytewise(doc: string | Buffer): string[] {
  const bytes = typeof doc === 'string' ? Buffer.from(doc) : doc;
  return split(
    bytes,
    Array.from({ length: bytes.length }, (_, i) => i),
  ).lines;
}

function recordsOf(doc: string): unknown[] {
  return (JSON.parse(doc) as { Records: unknown[] }).Records;
}

/** The error `split` throws, failing the test when there is none or it is of another class. */
function splitError(doc: string | Buffer, cuts: number[] = [], options?: RecordSplitterOptions): MalformedObjectError {
  try {
    split(doc, cuts, options);
  } catch (error) {
    expect(error).toBeInstanceOf(MalformedObjectError);
    return error as MalformedObjectError;
  }
  throw new Error(`no error for ${JSON.stringify(doc.toString())}`);
}

function splitBytewiseError(doc: string | Buffer, options?: RecordSplitterOptions): MalformedObjectError {
  const bytes = typeof doc === 'string' ? Buffer.from(doc) : doc;
  return splitError(
    bytes,
    Array.from({ length: bytes.length }, (_, i) => i),
    options,
  );
}

/** A small document using every construct of the grammar, multi-byte characters and escapes included. */
const KITCHEN_SINK = [
  '{"eventVersion":"1.0","Records":[',
  '{"a":"x y\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\uD83D\\uDE00","é€😀":["ü",true,false,null],',
  '"n":[0,-0,12,-3.25,1e5,1E+2,2e-3,-0.0e0],"o":{"p":{}},"q":[[]],"s":""},',
  '{"b":[{"c":null}]}',
  '],"digest":{"x":[1,{"Records":[{"not":"split"}]}]}}',
].join('');

/** A log file as CloudTrail writes it, pretty-printed the way a human would save it. */
const CLOUDTRAIL_DOC = JSON.stringify(
  {
    Records: [
      {
        eventVersion: '1.09',
        userIdentity: { type: 'IAMUser', arn: 'arn:aws:iam::123456789012:user/alice', accountId: '123456789012' },
        eventTime: '2024-05-01T12:34:56Z',
        eventSource: 's3.amazonaws.com',
        eventName: 'GetObject',
        requestParameters: { bucketName: 'b', key: 'a key with spaces\nand a newline' },
        responseElements: null,
        readOnly: true,
        resources: [{ type: 'AWS::S3::Object', ARN: 'arn:aws:s3:::b/k' }],
        additionalEventData: { bytesTransferredOut: 123.5 },
      },
      { eventVersion: '1.09', eventName: 'PutPolicy', requestParameters: { policyDocument: '{"Version":"2012"}' } },
    ],
  },
  null,
  2,
);

describe('RecordSplitter: valid documents', () => {
  it('returns each record of a compact document as its exact bytes', () => {
    const records = [{ a: 1 }, { b: 'two', c: [true, null] }, {}];
    const doc = JSON.stringify({ Records: records });
    const { lines, splitter } = split(doc);
    expect(lines).toEqual(records.map((record) => JSON.stringify(record)));
    expect(splitter.sawRecords).toBe(true);
    expect(splitter.recordCount).toBe(3);
    expect(splitter.bytesRead).toBe(Buffer.byteLength(doc));
  });

  it.each([
    ['two spaces', 2],
    ['a tab', '\t'],
    ['CRLF and tabs', '\r\n\t'],
  ])('removes whitespace outside strings from a document indented with %s', (_name, indent) => {
    const parsed = JSON.parse(CLOUDTRAIL_DOC) as { Records: unknown[] };
    let doc = JSON.stringify(parsed, null, indent);
    if (indent === '\r\n\t') doc = doc.replace(/\n/g, '\r\n');
    const { lines, buffers } = split(doc);
    expect(lines).toEqual(parsed.Records.map((record) => JSON.stringify(record)));
    for (const buffer of buffers) {
      expect(buffer.includes(0x0a)).toBe(false);
      expect(buffer.includes(0x0d)).toBe(false);
    }
  });

  it('keeps whitespace and escaped newlines inside strings', () => {
    const { lines } = split('{"Records":[ { "k" : "a b\\n\\t c" , "l" : [ 1 , 2 ] } ]}');
    expect(lines).toEqual(['{"k":"a b\\n\\t c","l":[1,2]}']);
  });

  it('splits every construct of the grammar like JSON.parse', () => {
    const { lines } = split(KITCHEN_SINK);
    expect(lines.map((line) => JSON.parse(line) as unknown)).toEqual(recordsOf(KITCHEN_SINK));
    expect(lines[0]).toContain('\\uD83D\\uDE00'); // escapes are passed through, not decoded
  });

  it('gives the same records when fed one byte at a time', () => {
    expect(splitBytewise(KITCHEN_SINK)).toEqual(split(KITCHEN_SINK).lines);
    const pretty = JSON.stringify(JSON.parse(KITCHEN_SINK), null, '\t');
    expect(splitBytewise(pretty)).toEqual(recordsOf(KITCHEN_SINK).map((record) => JSON.stringify(record)));
  });

  it('gives the same records whatever the two chunk boundaries', () => {
    const doc = Buffer.from('{"Records":[{"a":"é\\u00e9😀","b":-1.5e+3},\n {"c" : [true,null]}]}');
    const expected = split(doc).lines;
    for (let first = 0; first <= doc.length; first++) {
      for (let second = first; second <= doc.length; second++) {
        expect(split(doc, [first, second]).lines).toEqual(expected);
      }
    }
  });

  it('returns a record lying inside one chunk as a view of that chunk, without copying', () => {
    const chunk = Buffer.from('{"Records":[{"a":1},{"b":2}]}');
    const records = new RecordSplitter().write(chunk);
    expect(records).toHaveLength(2);
    for (const record of records) expect(record.buffer).toBe(chunk.buffer);
  });

  it('accepts a Uint8Array that is not a Buffer', () => {
    const splitter = new RecordSplitter();
    const records = splitter.write(new TextEncoder().encode('{"Records":[{"a":1}]}'));
    splitter.end();
    expect(records.map(String)).toEqual(['{"a":1}']);
  });

  it('accepts a leading UTF-8 byte order mark, also split across chunks', () => {
    const doc = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"Records":[{"a":1}]}')]);
    expect(split(doc).lines).toEqual(['{"a":1}']);
    expect(splitBytewise(doc)).toEqual(['{"a":1}']);
  });

  it('reads a digest file, which has no Records, as zero records', () => {
    const digest = JSON.stringify({
      awsAccountId: '123456789012',
      digestStartTime: '2024-05-01T12:00:00Z',
      digestEndTime: '2024-05-01T13:00:00Z',
      digestS3Bucket: 'trail-bucket',
      digestSignatureAlgorithm: 'SHA256withRSA',
      previousDigestSignature: null,
      logFiles: [{ s3Bucket: 'trail-bucket', s3Object: 'AWSLogs/x.json.gz', hashValue: 'ab', newestEventTime: 'x' }],
    });
    const { lines, splitter } = split(digest);
    expect(lines).toEqual([]);
    expect(splitter.sawRecords).toBe(false);
    expect(splitter.recordCount).toBe(0);
  });

  it('reads an empty Records array', () => {
    const { lines, splitter } = split('{ "Records" : [ ] }');
    expect(lines).toEqual([]);
    expect(splitter.sawRecords).toBe(true);
  });

  it('splits only the top-level Records, wherever it is among the other keys', () => {
    const doc = '{"a":{"Records":[{"x":1}]},"Records":[{"y":2}],"b":[{"Records":[{"z":3}]}],"c":"Records"}';
    expect(split(doc).lines).toEqual(['{"y":2}']);
  });

  it('recognises a "Records" key spelt with escapes, as JSON.parse does', () => {
    const doc = '{"Rec\\u006frds":[{"a":1}]}';
    expect(split(doc).lines.map((line) => JSON.parse(line) as unknown)).toEqual(recordsOf(doc));
    expect(split('{"Records2":[{"a":1}],"Record":[{"b":1}]}').splitter.sawRecords).toBe(false);
  });

  it('skips long top-level keys, split across chunks too', () => {
    const doc = `{"${'k'.repeat(300)}":1,"Records":[{"a":1}]}`;
    expect(splitBytewise(doc)).toEqual(['{"a":1}']);
  });

  it('accepts nesting up to the limit inside records', () => {
    const depth = 2000;
    const doc = `{"Records":[{"a":${'['.repeat(depth)}${']'.repeat(depth)}}]}`;
    expect(split(doc, [100, 3000]).lines).toEqual([`{"a":${'['.repeat(depth)}${']'.repeat(depth)}}`]);
  });

  it('accepts a record of exactly maxRecordBytes, whitespace not counted', () => {
    const record = '{"a":"xxxxxxxxxx"}';
    const options = { maxRecordBytes: record.length };
    expect(split(`{"Records":[${record}]}`, [], options).lines).toEqual([record]);
    expect(split(`{"Records":[${record}]}`, [15], options).lines).toEqual([record]);
    expect(split(`{"Records":[ {\n  "a" : "xxxxxxxxxx"\n} ]}`, [], options).lines).toEqual([record]);
  });

  it('captures a top-level key longer than maxRecordBytes across chunks', () => {
    const doc = '{"digestPublicKeyFingerprint":"x","Records":[{"a":1}]}';
    expect(split(doc, [10, 20, 40], { maxRecordBytes: 8 }).lines).toEqual(['{"a":1}']);
    expect(split(`{"Rec\\u006frds":[{"a":1}]}`, [3, 8, 12], { maxRecordBytes: 8 }).lines).toEqual(['{"a":1}']);
  });

  it('defaults maxRecordBytes to 2 MiB', () => {
    expect(DEFAULT_MAX_RECORD_BYTES).toBe(2 * 1024 * 1024);
    const big = `{"a":"${'x'.repeat(DEFAULT_MAX_RECORD_BYTES - 8)}"}`;
    expect(split(`{"Records":[${big}]}`, [1000]).lines[0]).toHaveLength(DEFAULT_MAX_RECORD_BYTES);
  });
});

describe('RecordSplitter: malformed documents', () => {
  it.each([
    ['empty input', '', /byte 0: empty input/],
    ['only whitespace', '  \n', /unexpected end of input/],
    ['a top-level array', '[{"Records":[]}]', /byte 0: the top-level value is not an object/],
    ['a top-level string', '"Records"', /the top-level value is not an object/],
    ['Records not an array', '{"Records":{"a":1}}', /byte 11: "Records" is not an array/],
    ['Records null', '{"Records":null}', /"Records" is not an array/],
    ['a Records element not an object', '{"Records":[{},{},[]]}', /byte 18: Records\[2\] is not an object/],
    ['a string Records element', '{"Records":["x"]}', /Records\[0\] is not an object/],
    ['a duplicate Records key', '{"Records":[],"Records":[]}', /duplicate top-level "Records" key/],
    ['trailing garbage', '{"Records":[]} x', /byte 15: trailing data after the top-level object/],
    ['a second document', '{"Records":[]}{}', /trailing data/],
    ['an extra bracket', '{"Records":[]}]', /trailing data/],
    ['a bad literal', '{"Records":[{"a":tru}]}', /byte 20: invalid literal \(expected "true"\)/],
    ['a misspelt literal', '{"Records":[{"a":nul1}]}', /invalid literal/],
    ['a capitalised literal', '{"Records":[{"a":True}]}', /byte 17: expected a value, found "T"/],
    ['a leading zero', '{"Records":[{"a":01}]}', /byte 18: leading zero in number/],
    ['a bare minus', '{"Records":[{"a":-}]}', /byte 18: expected a digit after "-"/],
    ['a trailing dot', '{"Records":[{"a":1.}]}', /byte 19: expected a digit after "."/],
    ['a leading dot', '{"Records":[{"a":.5}]}', /expected a value/],
    ['a plus sign', '{"Records":[{"a":+1}]}', /expected a value/],
    ['an empty exponent', '{"Records":[{"a":1e}]}', /exponent/],
    ['an exponent sign without digits', '{"Records":[{"a":1e+}]}', /exponent/],
    ['a hex number', '{"Records":[{"a":0x1}]}', /expected "," or "}" after object member, found "x"/],
    ['an unescaped newline', '{"Records":[{"a":"x\ny"}]}', /byte 19: unescaped control character 0x0a/],
    ['an unescaped tab', '{"Records":[{"a":"\t"}]}', /unescaped control character 0x09/],
    ['a NUL in a key', '{"a\u0000":1}', /unescaped control character 0x00/],
    ['an unknown escape', '{"Records":[{"a":"\\x"}]}', /invalid escape "\\x"/],
    ['a non-hex digit in a unicode escape', '{"Records":[{"a":"\\u00g1"}]}', /byte 22: expected 4 hex digits/],
    ['a short unicode escape', '{"Records":[{"a":"\\u12"}]}', /expected 4 hex digits/],
    ['a missing comma', '{"Records":[{"a":1} {"b":2}]}', /byte 20: expected "," or "]" in Records array, found "{"/],
    ['a trailing comma in Records', '{"Records":[{"a":1},]}', /byte 20: expected a value, found "]"/],
    ['a trailing comma in an object', '{"Records":[{"a":1,}]}', /expected a string key, found "}"/],
    ['a trailing comma in an array', '{"Records":[{"a":[1,]}]}', /expected a value, found "]"/],
    ['a missing colon', '{"Records":[{"a" 1}]}', /expected ":" after object key/],
    ['a non-string key', '{"Records":[{a:1}]}', /expected a string key or "}"/],
    ['mismatched brackets', '{"Records":[{"a":[1}]}', /expected "," or "]" after array element, found "}"/],
    ['a single-quoted string', "{'Records':[]}", /expected a string key or "}"/],
    ['a comment', '{"Records":[]} // done', /trailing data/],
    ['a BOM that is not at the start', ' \ufeff{"Records":[]}', /byte 1: expected "\{" at the start/],
    [
      'a BOM in the middle',
      '{"Records":[]\ufeff}',
      /byte 13: expected "," or "}" after object member, found byte 0xef/,
    ],
    ['unclosed Records', '{"Records":[{"a":1}', /unexpected end of input inside Records\[1\]/],
    ['an unclosed string', '{"Records":[{"a":"xyz', /unexpected end of input inside a string/],
  ])('rejects %s', (_name, doc, message) => {
    const error = splitError(doc);
    expect(error.message).toMatch(message);
    expect(error).toBeInstanceOf(PermanentInputError);
    expect(splitBytewiseError(doc).message).toBe(error.message);
  });

  it.each([
    ['a lone continuation byte', [0x80], 19],
    ['an overlong two-byte sequence', [0xc0, 0x80], 19],
    ['an overlong three-byte sequence', [0xe0, 0x80, 0x80], 20],
    ['an encoded UTF-16 surrogate', [0xed, 0xa0, 0x80], 20],
    ['a code point above U+10FFFF', [0xf4, 0x90, 0x80, 0x80], 20],
    ['a byte that never occurs in UTF-8', [0xff], 19],
    ['a truncated sequence', [0xe2, 0x82], 21],
  ])('rejects invalid UTF-8 in a string: %s', (_name, bytes, offset) => {
    const doc = Buffer.concat([Buffer.from('{"Records":[{"a":"x'), Buffer.from(bytes), Buffer.from('"}]}')]);
    expect(splitError(doc).message).toBe(`malformed JSON at byte ${offset}: invalid UTF-8 sequence in string`);
    expect(splitBytewiseError(doc).message).toBe(`malformed JSON at byte ${offset}: invalid UTF-8 sequence in string`);
  });

  it('rejects a non-ASCII byte outside strings', () => {
    expect(splitError('{"Records":[{"a":é}]}').message).toMatch(/expected a value, found byte 0xc3/);
  });

  it('rejects every truncation of a valid document, at end() and not before', () => {
    for (const doc of [Buffer.from(KITCHEN_SINK), Buffer.from(CLOUDTRAIL_DOC)]) {
      for (let length = 0; length < doc.length; length++) {
        const splitter = new RecordSplitter();
        splitter.write(doc.subarray(0, length));
        expect(() => splitter.end()).toThrow(MalformedObjectError);
      }
    }
  });

  it('rejects a truncated byte order mark', () => {
    expect(splitError(Buffer.from([0xef, 0xbb])).message).toMatch(/inside the byte order mark/);
    expect(splitError(Buffer.from([0xef, 0xbb, 0x7b])).message).toMatch(/byte 2: invalid byte order mark/);
  });

  it('rejects a record larger than maxRecordBytes, in one chunk or across many', () => {
    const doc = '{"Records":[{"a":1},{"a":"xxxxxxxxxxx"}]}';
    const options = { maxRecordBytes: 18 };
    const message = /Records\[1\] is larger than 18 bytes \(maxRecordBytes\)/;
    expect(splitError(doc, [], options).message).toMatch(message);
    expect(splitError(doc, [25, 30], options).message).toMatch(message);
    expect(splitBytewiseError(doc, options).message).toMatch(message);
    expect(splitError('{"Records":[{"a" : "xxxxxxxxxxx"}]}', [], options).message).toMatch(/Records\[0\] is larger/);
  });

  it('stops holding an oversized record as soon as it passes the limit', () => {
    const splitter = new RecordSplitter({ maxRecordBytes: 1024 });
    splitter.write(Buffer.from('{"Records":[{"a":"'));
    splitter.write(Buffer.from('x'.repeat(1000)));
    expect(() => splitter.write(Buffer.from('x'.repeat(1000)))).toThrow(/larger than 1024 bytes/);
  });

  it('rejects nesting deeper than the limit', () => {
    const depth = MAX_NESTING_DEPTH + 10;
    const doc = `{"other":${'['.repeat(depth)}${']'.repeat(depth)}}`;
    expect(splitError(doc).message).toMatch(/nesting deeper than 10000 levels/);
  });

  it('keeps failing with the same error once it has failed', () => {
    const splitter = new RecordSplitter();
    let first: unknown;
    try {
      splitter.write(Buffer.from('{"Records":[1]}'));
    } catch (error) {
      first = error;
    }
    expect(first).toBeInstanceOf(MalformedObjectError);
    expect(() => splitter.write(Buffer.from('{}'))).toThrow(first as Error);
    expect(() => splitter.end()).toThrow(first as Error);
  });

  it('reports the offset of the offending byte across chunks', () => {
    const error = splitError('{"Records":[{"a":1}x]}', [5, 13, 19]);
    expect(error.byteOffset).toBe(19);
    expect(error.message).toBe('malformed JSON at byte 19: expected "," or "]" in Records array, found "x"');
  });
});

/** Deterministic pseudo-random whitespace (space, tab, CR, LF), often none, from a seed. */
function whitespaceSource(seed: number): () => string {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    const roll = (state >>> 0) % 16;
    if (roll < 9) return '';
    return [' ', '\t', '\n', '\r', '  ', '\r\n', '\n    ', ' \t '][roll - 9] ?? '';
  };
}

/** JSON text of `value` with whitespace from `ws` between every pair of tokens. */
function serializeWithWhitespace(value: unknown, ws: () => string): string {
  if (Array.isArray(value)) {
    if (value.length === 0) return `[${ws()}]`;
    return `[${ws()}${value.map((item) => serializeWithWhitespace(item, ws)).join(`${ws()},${ws()}`)}${ws()}]`;
  }
  if (value !== null && typeof value === 'object') {
    const members = Object.entries(value).map(
      ([key, item]) => `${JSON.stringify(key)}${ws()}:${ws()}${serializeWithWhitespace(item, ws)}`,
    );
    if (members.length === 0) return `{${ws()}}`;
    return `{${ws()}${members.join(`${ws()},${ws()}`)}${ws()}}`;
  }
  return JSON.stringify(value);
}

const stringUnit = fc.constantFrom('grapheme-ascii', 'grapheme', 'binary');
const jsonRecord = stringUnit.chain((unit) =>
  fc.dictionary(fc.string({ unit }), fc.jsonValue({ stringUnit: unit, maxDepth: 4 }), { maxKeys: 6 }),
);
const cloudTrailDocument = fc.record({
  records: fc.array(jsonRecord, { maxLength: 8 }),
  before: fc.option(fc.jsonValue({ maxDepth: 3 }), { nil: undefined }),
  after: fc.option(fc.jsonValue({ maxDepth: 3 }), { nil: undefined }),
  whitespaceSeed: fc.integer(),
  bom: fc.boolean(),
});

type GeneratedDocument = typeof cloudTrailDocument extends fc.Arbitrary<infer T> ? T : never;

function renderDocument(generated: GeneratedDocument): Buffer {
  const document: Record<string, unknown> = {};
  if (generated.before !== undefined) document.digestPublicKeyFingerprint = generated.before;
  document.Records = generated.records;
  if (generated.after !== undefined) document.previousDigestHashValue = generated.after;
  const text = serializeWithWhitespace(document, whitespaceSource(generated.whitespaceSeed));
  return Buffer.concat([Buffer.from(generated.bom ? [0xef, 0xbb, 0xbf] : []), Buffer.from(text)]);
}

const cutPoints = fc.array(fc.nat({ max: 100_000 }), { maxLength: 12 });

describe('RecordSplitter: properties', () => {
  it('returns the records of any document, whitespace removed, however it is chunked', () => {
    fc.assert(
      fc.property(cloudTrailDocument, cutPoints, (generated, cuts) => {
        const doc = renderDocument(generated);
        const { lines, buffers, splitter } = split(
          doc,
          cuts.map((cut) => cut % (doc.length + 1)),
        );
        const expected = recordsOf(doc.toString('utf8').replace(/^\ufeff/, ''));
        expect(lines.map((line) => JSON.parse(line) as unknown)).toEqual(expected);
        expect(lines).toEqual(expected.map((record) => JSON.stringify(record)));
        for (const buffer of buffers) expect(buffer.includes(0x0a) || buffer.includes(0x0d)).toBe(false);
        expect(splitter.recordCount).toBe(expected.length);
        expect(splitter.sawRecords).toBe(true);
      }),
      { numRuns: 400 },
    );
  });

  const interestingByte = fc.oneof(
    fc.constantFrom(...Buffer.from('{}[],:"\\ \n\t0123456789-+.eEtrufalsn/bu')),
    fc.constantFrom(0x00, 0x1f, 0x7f, 0x80, 0xbf, 0xc3, 0xe2, 0xed, 0xef, 0xf0, 0xf4, 0xff),
    fc.integer({ min: 0, max: 255 }),
  );
  const mutation = fc.record({
    kind: fc.constantFrom('replace', 'insert', 'delete', 'truncate'),
    position: fc.nat(),
    byte: interestingByte,
  });

  function mutate(doc: Buffer, mutations: { kind: string; position: number; byte: number }[]): Buffer {
    let bytes = doc;
    for (const { kind, position, byte } of mutations) {
      const at = position % (bytes.length + 1);
      const before = bytes.subarray(0, at);
      const after = bytes.subarray(at);
      if (kind === 'replace') bytes = Buffer.concat([before, Buffer.from([byte]), after.subarray(1)]);
      else if (kind === 'insert') bytes = Buffer.concat([before, Buffer.from([byte]), after]);
      else if (kind === 'delete') bytes = Buffer.concat([before, after.subarray(1)]);
      else bytes = before;
    }
    return bytes;
  }

  /** What a correct splitter must do with `bytes`: the records, or undefined when it must reject them. */
  function oracle(bytes: Buffer): { records: unknown[]; sawRecords: boolean } | undefined {
    let parsed: unknown;
    try {
      parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
    } catch {
      return undefined;
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return undefined;
    if (!Object.hasOwn(parsed, 'Records')) return { records: [], sawRecords: false };
    const records = (parsed as { Records: unknown }).Records;
    if (!Array.isArray(records)) return undefined;
    if (records.some((record) => record === null || typeof record !== 'object' || Array.isArray(record))) {
      return undefined;
    }
    return { records, sawRecords: true };
  }

  it('accepts a mutated document exactly when JSON.parse does, and then agrees with it', () => {
    let rejected = 0;
    fc.assert(
      fc.property(
        cloudTrailDocument,
        fc.array(mutation, { minLength: 1, maxLength: 3 }),
        cutPoints,
        (generated, mutations, cuts) => {
          const bytes = mutate(renderDocument(generated), mutations);
          const expected = oracle(bytes);
          let result: SplitResult | undefined;
          try {
            result = split(
              bytes,
              cuts.map((cut) => cut % (bytes.length + 1)),
            );
          } catch (error) {
            if (!(error instanceof MalformedObjectError)) throw error;
            expect(expected).toBeUndefined();
            rejected++;
            return;
          }
          expect(expected).toBeDefined();
          expect(result.lines.map((line) => JSON.parse(line) as unknown)).toEqual(expected?.records);
          expect(result.splitter.sawRecords).toBe(expected?.sawRecords);
        },
      ),
      { numRuns: 3000 },
    );
    expect(rejected).toBeGreaterThan(300); // the mutations do exercise the error paths
  });

  it('agrees with JSON.parse on values made of JSON-significant characters', () => {
    // Dense in the grammar's edge cases (numbers, literals, escapes, nesting) that random mutations rarely hit.
    const chars = (alphabet: string | string[], maxLength: number): fc.Arbitrary<string> =>
      fc.string({ unit: fc.constantFrom(...alphabet), minLength: 1, maxLength });
    const token = fc.oneof(
      chars('0123456789-+.eE', 8),
      chars('truefalsn', 6),
      chars(['\\', 'u', 'a', 'b', 'n', '0', 'F', 'g', '"', '/', ' ', '\u0001', '\u001f', '\u007f', 'é'], 8).map(
        (content) => `"${content}"`,
      ),
      chars('[]{},:"0 ', 10),
    );
    let accepted = 0;
    fc.assert(
      fc.property(token, fc.nat({ max: 40 }), (value, cut) => {
        const bytes = Buffer.from(`{"Records":[{"v":${value}}]}`);
        const expected = oracle(bytes);
        try {
          const { lines } = split(bytes, [cut]);
          expect(expected).toBeDefined();
          expect(lines.map((line) => JSON.parse(line) as unknown)).toEqual(expected?.records);
          accepted++;
        } catch (error) {
          if (!(error instanceof MalformedObjectError)) throw error;
          expect(expected).toBeUndefined();
        }
      }),
      { numRuns: 5000 },
    );
    expect(accepted).toBeGreaterThan(100);
  });
});
