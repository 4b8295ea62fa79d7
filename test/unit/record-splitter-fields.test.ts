import fc from 'fast-check';
import { FILTER_FIELDS } from '../../lambdas/ingest/records/filters';
import { RecordSplitter, type FieldValue } from '../../lambdas/ingest/records/record-splitter';

/** What JSON.parse says a record's requested fields are (the splitter must agree without parsing). */
function parsedFields(record: string, names: readonly string[]): FieldValue[] {
  const parsed = JSON.parse(record) as Record<string, unknown>;
  return names.map((name) => {
    if (!Object.hasOwn(parsed, name)) return undefined;
    const value = parsed[name];
    return typeof value === 'string' || typeof value === 'boolean' || value === null ? value : undefined;
  });
}

/** Splits `document` fed in chunks of the given sizes; returns each record's text and fields. */
function split(document: Buffer, chunkSizes: number[], names: readonly string[]) {
  const splitter = new RecordSplitter({ fields: names });
  const records: string[] = [];
  const fields: FieldValue[][] = [];
  for (let at = 0, k = 0; at < document.length; k++) {
    const size = Math.max(1, chunkSizes[k % chunkSizes.length] ?? document.length);
    const out = splitter.write(document.subarray(at, at + size));
    expect(splitter.fields).toHaveLength(out.length);
    records.push(...out.map(String));
    fields.push(...splitter.fields.map((f) => names.map((_, i) => f[i])));
    at += size;
  }
  splitter.end();
  return { records, fields };
}

describe('RecordSplitter fields', () => {
  it("reads the values of a record's top-level members, as JSON.parse would", () => {
    const doc = Buffer.from(
      '{"Records":[{"eventSource":"s3.amazonaws.com","eventName":"GetObject","readOnly":true},' +
        '{"readOnly":"true","nested":{"eventName":"Inner"},"eventName":"Outer"},' +
        '{"eventName":5,"eventSource":null,"readOnly":false},' +
        '{"eventName":"first","eventName":"last"},' +
        '{"\\u0065ventName":"esc\\"aped \\u00e9","eventSource":{"a":[1,"x"]}},{}]}',
    );
    const { fields } = split(doc, [1], FILTER_FIELDS);
    expect(fields).toEqual([
      ['s3.amazonaws.com', 'GetObject', true],
      [undefined, 'Outer', 'true'],
      [null, undefined, false],
      [undefined, 'last', undefined],
      [undefined, 'esc"aped é', undefined],
      [undefined, undefined, undefined],
    ]);
  });

  it('agrees with JSON.parse for any records, pretty-printed or not, in any chunking', () => {
    const names = ['eventSource', 'eventName', 'readOnly', ''];
    const key = fc.oneof(fc.constantFrom(...names, 'other', 'eventNam', 'eventNamee'), fc.string({ unit: 'grapheme' }));
    const value = fc.oneof(
      fc.string({ unit: 'grapheme' }),
      fc.boolean(),
      fc.constant(null),
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.jsonValue({ maxDepth: 3 }),
    );
    const record = fc.dictionary(key, value, { maxKeys: 8 });
    fc.assert(
      fc.property(
        fc.array(record, { maxLength: 12 }),
        fc.constantFrom(undefined, 2, '\t'),
        fc.array(fc.integer({ min: 1, max: 300 }), { minLength: 1, maxLength: 5 }),
        (records, indent, chunkSizes) => {
          const doc = Buffer.from(JSON.stringify({ before: 1, Records: records, after: [true] }, null, indent));
          const out = split(doc, chunkSizes, names);
          expect(out.records.map((r) => JSON.parse(r) as unknown)).toEqual(JSON.parse(JSON.stringify(records)));
          expect(out.fields).toEqual(out.records.map((r) => parsedFields(r, names)));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('changes nothing about the records themselves', () => {
    const doc = Buffer.from(
      JSON.stringify({ Records: [{ eventName: 'A', x: [1, { y: 'z' }] }, { readOnly: true }] }, null, 2),
    );
    const withFields = split(doc, [7], FILTER_FIELDS).records;
    const splitter = new RecordSplitter();
    const without = splitter.write(doc).map(String);
    splitter.end();
    expect(withFields).toEqual(without);
    expect(splitter.fields).toEqual([]);
  });
});
