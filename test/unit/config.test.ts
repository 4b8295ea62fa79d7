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
      messageConcurrency: 4,
    });
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
