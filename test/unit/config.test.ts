import {
  getIntFromEnv,
  getListFromEnv,
  getStringFromEnv,
  getUrlFromEnv,
  loadCommonConfig,
} from '../../lambdas/shared/config';
import { ConfigError } from '../../lambdas/shared/errors';
import { loadIngestConfig } from '../../lambdas/ingest/config';
import { loadRecordFilter } from '../../lambdas/ingest/records/filters';

const base = { AWS_REGION: 'eu-west-1', ACCOUNTS_TABLE: 'accounts', DOWNSTREAM_URL: 'https://intake.example.com/v1' };

describe('configuration is read once and fails naming the variable', () => {
  test('a missing required variable names itself', () => {
    expect(() => getStringFromEnv('ACCOUNTS_TABLE', {})).toThrow(
      new ConfigError('ACCOUNTS_TABLE is required but not set'),
    );
    expect(() => loadIngestConfig({ ...base, DOWNSTREAM_URL: '' })).toThrow(/DOWNSTREAM_URL is required/);
    expect(() => loadCommonConfig({ ACCOUNTS_TABLE: 'x' })).toThrow(/AWS_REGION is required/);
  });

  test('integers are checked for shape and range', () => {
    expect(getIntFromEnv('N', 5, { min: 1, max: 10 }, {})).toBe(5);
    expect(getIntFromEnv('N', 5, { min: 1, max: 10 }, { N: '7' })).toBe(7);
    expect(() => getIntFromEnv('N', 5, { min: 1, max: 10 }, { N: '7.5' })).toThrow(
      'N must be a whole number, got "7.5"',
    );
    expect(() => getIntFromEnv('N', 5, { min: 1, max: 10 }, { N: '11' })).toThrow('N must be between 1 and 10, got 11');
  });

  test('URLs must parse and use an allowed protocol', () => {
    expect(getUrlFromEnv('U', ['https:'], { U: 'https://x.example/a' })?.host).toBe('x.example');
    expect(() => getUrlFromEnv('U', ['https:'], { U: 'not a url' })).toThrow('U is not a valid URL: "not a url"');
    expect(() => getUrlFromEnv('U', ['https:'], { U: 'ftp://x' })).toThrow('U must use https:, got "ftp:"');
  });

  test('DOWNSTREAM_URL errors say what is wrong and never quote the value (it can hold credentials)', () => {
    const PASSWORD = 'pw-S3CRET-9d8c7b';
    const messageOf = (value: string): string => {
      try {
        loadIngestConfig({ ...base, DOWNSTREAM_URL: value });
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigError);
        // Nothing of the value travels with the error: not in its message, not in a cause.
        expect((error as Error).cause).toBeUndefined();
        return (error as Error).message;
      }
      throw new Error(`accepted ${value}`);
    };
    const cases: [string, RegExp][] = [
      [
        `https://intake:${PASSWORD}@exa mple.com/v1`,
        /not a valid URL \(it contains whitespace or control characters\)/,
      ],
      [
        `intake.example.com/v1?token=${PASSWORD}`,
        /not a valid URL \(it has no scheme: expected https:\/\/host\/path\)/,
      ],
      [`https://intake:${PASSWORD}@/v1`, /not a valid URL \(it has no host\)/],
      [`https://intake:${PASSWORD}@intake.example.com:99999/v1`, /not a valid URL \(the URL parser rejects it/],
      [`ftp://intake:${PASSWORD}@intake.example.com/v1`, /must use https: or http:, got "ftp:"$/],
      // No scheme at all: the parser takes the user name for the scheme, so the error does not name it.
      [`intake:${PASSWORD}@intake.example.com/v1`, /must use https: or http:, got another scheme$/],
    ];
    for (const [value, expected] of cases) {
      const message = messageOf(value);
      expect(message).toMatch(/^DOWNSTREAM_URL /);
      expect(message).toMatch(expected);
      expect(message).not.toContain(PASSWORD);
      expect(message).not.toContain('intake.example.com');
      expect(message).not.toContain('intake:');
    }
    // A well-formed URL with credentials is accepted (Node sends them as Basic auth); only errors are guarded.
    expect(
      loadIngestConfig({ ...base, DOWNSTREAM_URL: `https://intake:${PASSWORD}@intake.example.com/v1` }).downstreamUrl
        ?.host,
    ).toBe('intake.example.com');
  });

  test('lists drop blanks', () => {
    expect(getListFromEnv('L', { L: ' a, ,b ,' })).toEqual(['a', 'b']);
  });

  test('ingest config: defaults, both token sources refused, batch smaller than a record refused', () => {
    const config = loadIngestConfig(base);
    expect(config).toMatchObject({
      region: 'eu-west-1',
      customerRoleName: 'CloudTrailCollectorRole',
      maxBatchBytes: 4 * 1024 * 1024,
      maxBatchRecords: 5000,
      messageConcurrency: 40,
      largeObjectConcurrency: 4,
      // A quarter of a 1,024 MB function where Lambda does not say.
      wholeReadBudgetBytes: 256 * 1024 * 1024,
    });
    // A quarter of the memory Lambda says the function has, unless set.
    expect(loadIngestConfig({ ...base, AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '2048' }).wholeReadBudgetBytes).toBe(
      512 * 1024 * 1024,
    );
    expect(loadIngestConfig({ ...base, WHOLE_READ_BUDGET_MB: '64' }).wholeReadBudgetBytes).toBe(64 * 1024 * 1024);
    expect(() => loadIngestConfig({ ...base, WHOLE_READ_BUDGET_MB: '8' })).toThrow(/WHOLE_READ_BUDGET_MB/);
    // Never more large objects at once than messages.
    expect(loadIngestConfig({ ...base, MESSAGE_CONCURRENCY: '2' }).largeObjectConcurrency).toBe(2);
    expect(() => loadIngestConfig({ ...base, LARGE_OBJECT_CONCURRENCY: '0' })).toThrow(/LARGE_OBJECT_CONCURRENCY/);
    expect(() =>
      loadIngestConfig({ ...base, DOWNSTREAM_TOKEN: 't', DOWNSTREAM_TOKEN_SECRET_ARN: 'arn:aws:secretsmanager:x' }),
    ).toThrow(/not both/);
    expect(() => loadIngestConfig({ ...base, DOWNSTREAM_TOKEN_SECRET_ARN: 'my-secret' })).toThrow(
      /must be a Secrets Manager ARN/,
    );
    expect(() => loadIngestConfig({ ...base, MAX_BATCH_BYTES: '2048', MAX_RECORD_BYTES: '4096' })).toThrow(
      'MAX_BATCH_BYTES (2048) must be at least MAX_RECORD_BYTES (4096)',
    );
    expect(() => loadIngestConfig({ ...base, DOWNSTREAM_URL: 'file:///etc/passwd' })).toThrow(
      /DOWNSTREAM_URL must use/,
    );
  });

  test('filters: lists and a strict boolean', () => {
    const filter = loadRecordFilter({ FILTER_DROP_EVENT_SOURCES: 'kms.amazonaws.com', FILTER_DROP_READ_ONLY: 'true' });
    expect([...filter.dropEventSources]).toEqual(['kms.amazonaws.com']);
    expect(filter.dropReadOnly).toBe(true);
    expect(() => loadRecordFilter({ FILTER_DROP_READ_ONLY: 'yes' })).toThrow(
      'FILTER_DROP_READ_ONLY must be "true" or "false", got "yes"',
    );
  });
});
