import { idempotencyKey as keyOfBatch, type ObjectIdentity } from '../../lambdas/ingest/idempotency';

/** The object as read plus the batch index, the two arguments of the key. */
const idempotencyKey = (parts: ObjectIdentity & { batchIndex: number }): string => keyOfBatch(parts, parts.batchIndex);

const base = {
  bucket: 'ct-logs',
  key: 'AWSLogs/111122223333/CloudTrail/eu-west-1/2024/05/01/f.json.gz',
  etag: '"3858f62230ac3c915f300c664312c11f"',
  batchIndex: 0,
};

describe('idempotencyKey', () => {
  it('is pinned: changing the encoding would make redeliveries across a deploy look new downstream', () => {
    expect(idempotencyKey(base)).toBe('a7e8bef2d8672e1ccc77c349d93f8083591eb89dbcba2e7ce2f48c5a4935f47f');
    expect(idempotencyKey({ bucket: base.bucket, key: base.key, batchIndex: 7 })).toBe(
      'ee12300d16e55dfd9d14cba3c9ad64b664705141e304ad6590cdbf39933ec88e',
    );
  });

  it('is deterministic and 64 lowercase hex characters', () => {
    expect(idempotencyKey({ ...base })).toBe(idempotencyKey({ ...base }));
    expect(idempotencyKey(base)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('changes with each of bucket, key, object version and batch index', () => {
    const keys = [
      idempotencyKey(base),
      idempotencyKey({ ...base, bucket: 'other-bucket' }),
      idempotencyKey({ ...base, key: `${base.key}x` }),
      idempotencyKey({ ...base, etag: '"0000"' }),
      idempotencyKey({ ...base, batchIndex: 1 }),
    ];
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('treats a quoted and an unquoted ETag as the same version', () => {
    expect(idempotencyKey({ ...base, etag: '3858f62230ac3c915f300c664312c11f' })).toBe(idempotencyKey(base));
  });

  it('prefers versionId over the ETag', () => {
    const withVersion = idempotencyKey({ ...base, versionId: 'v1' });
    expect(idempotencyKey({ ...base, etag: '"changed"', versionId: 'v1' })).toBe(withVersion);
    expect(withVersion).not.toBe(idempotencyKey(base));
    // A versionId equal to the stripped ETag encodes identically: the version string is what counts.
    expect(idempotencyKey({ ...base, etag: undefined, versionId: '3858f62230ac3c915f300c664312c11f' })).toBe(
      idempotencyKey(base),
    );
  });

  it('is unambiguous where a naive concatenation would collide', () => {
    const pairs: Array<[Parameters<typeof idempotencyKey>[0], Parameters<typeof idempotencyKey>[0]]> = [
      [
        { bucket: 'ab', key: 'c', batchIndex: 0 },
        { bucket: 'a', key: 'bc', batchIndex: 0 },
      ],
      [
        { bucket: 'a', key: 'b/c', batchIndex: 0 },
        { bucket: 'a/b', key: 'c', batchIndex: 0 },
      ],
      [
        { bucket: 'a', key: 'k1', batchIndex: 1 },
        { bucket: 'a', key: 'k', batchIndex: 11 },
      ],
      [
        { bucket: 'a', key: 'k', etag: 'e', batchIndex: 0 },
        { bucket: 'a', key: 'ke', batchIndex: 0 },
      ],
      [
        { bucket: 'a', key: 'k","x', batchIndex: 0 },
        { bucket: 'a', key: 'k', etag: 'x', batchIndex: 0 },
      ],
    ];
    for (const [left, right] of pairs) expect(idempotencyKey(left)).not.toBe(idempotencyKey(right));
  });

  it('rejects a batch index that is not a non-negative integer', () => {
    expect(() => idempotencyKey({ ...base, batchIndex: -1 })).toThrow(/batchIndex/);
    expect(() => idempotencyKey({ ...base, batchIndex: 1.5 })).toThrow(/batchIndex/);
    expect(() => idempotencyKey({ ...base, batchIndex: Number.NaN })).toThrow(/batchIndex/);
  });
});
