import { loadIngestConfig } from '../../lambdas/ingest/config';
import { sinkConfigOf } from '../../lambdas/ingest/runtime';

/** SINK_TYPE and each sink's variables (docs/sinks.md, "Configuration"): read at start, errors name the variable. */
const base = { AWS_REGION: 'eu-west-1', ACCOUNTS_TABLE: 'accounts' };

describe('SINK_TYPE chooses the sink; each error names its variable', () => {
  test('ndjson is the default, and its configuration is what it always was', () => {
    const config = loadIngestConfig({
      ...base,
      DOWNSTREAM_URL: 'https://intake.example.com/v1',
      DOWNSTREAM_TOKEN: 't',
    });
    expect(config.sinkType).toBe('ndjson');
    expect(sinkConfigOf(config, 't')).toEqual({
      type: 'ndjson',
      url: 'https://intake.example.com/v1',
      token: 't',
      timeoutMs: 30_000,
    });
  });

  test('an unknown SINK_TYPE lists the known ones', () => {
    expect(() => loadIngestConfig({ ...base, SINK_TYPE: 'kafka', DOWNSTREAM_URL: 'https://x' })).toThrow(
      'SINK_TYPE must be one of ndjson, splunk-hec, elasticsearch, firehose, syslog, got "kafka"',
    );
  });

  test('splunk-hec: the base URL, a token, and the HEC_* settings', () => {
    const env = { ...base, SINK_TYPE: 'splunk-hec', DOWNSTREAM_URL: 'https://splunk.example.com:8088' };
    expect(() => loadIngestConfig(env)).toThrow(/splunk-hec needs the HEC token: set DOWNSTREAM_TOKEN/);
    expect(() =>
      loadIngestConfig({ ...env, DOWNSTREAM_URL: 'https://s:8088/services/collector', DOWNSTREAM_TOKEN: 't' }),
    ).toThrow(/DOWNSTREAM_URL for SINK_TYPE=splunk-hec is the HEC base URL/);
    expect(() => loadIngestConfig({ ...env, DOWNSTREAM_TOKEN: 't', HEC_ACK: 'yes' })).toThrow(
      'HEC_ACK must be true or false, got "yes"',
    );
    expect(() => loadIngestConfig({ ...env, DOWNSTREAM_TOKEN: 't', HEC_ACK: 'true', HEC_CHANNEL: 'abc' })).toThrow(
      /HEC_CHANNEL must be a GUID/,
    );
    const config = loadIngestConfig({ ...env, DOWNSTREAM_TOKEN: 't', HEC_INDEX: 'aws', HEC_ACK: 'true' });
    expect(sinkConfigOf(config, 't')).toMatchObject({
      type: 'splunk-hec',
      hec: { index: 'aws', ack: { timeoutMs: 60_000, pollMs: 1_000 } },
    });
  });

  test('elasticsearch: index template or data stream, auth kind', () => {
    const env = { ...base, SINK_TYPE: 'elasticsearch', DOWNSTREAM_URL: 'https://es.example.com:9200' };
    expect(sinkConfigOf(loadIngestConfig(env), undefined)).toMatchObject({
      elasticsearch: { index: 'cloudtrail-%Y.%m.%d', dataStream: false },
      auth: 'api-key',
    });
    expect(() => loadIngestConfig({ ...env, ELASTICSEARCH_INDEX: 'CloudTrail' })).toThrow(
      'ELASTICSEARCH_INDEX "CloudTrail" is not a valid index name: it has upper-case letters',
    );
    expect(() => loadIngestConfig({ ...env, ELASTICSEARCH_INDEX: 'ct-%H' })).toThrow(/other than %Y, %m or %d/);
    expect(() => loadIngestConfig({ ...env, ELASTICSEARCH_INDEX: 'a', ELASTICSEARCH_DATA_STREAM: 'b' })).toThrow(
      'set ELASTICSEARCH_INDEX or ELASTICSEARCH_DATA_STREAM, not both',
    );
    expect(() => loadIngestConfig({ ...env, ELASTICSEARCH_AUTH: 'oauth' })).toThrow(
      'ELASTICSEARCH_AUTH must be api-key or basic, got "oauth"',
    );
    expect(() => loadIngestConfig({ ...env, ELASTICSEARCH_AUTH: 'basic', DOWNSTREAM_TOKEN: 'no-colon' })).toThrow(
      /DOWNSTREAM_TOKEN must be user:password when ELASTICSEARCH_AUTH=basic; the value is not shown/,
    );
    // Basic auth is base64-encoded on the wire: a password with a space is fine.
    const basic = loadIngestConfig({ ...env, ELASTICSEARCH_AUTH: 'basic', DOWNSTREAM_TOKEN: 'u:pass word' });
    expect(sinkConfigOf(basic, 'u:pass word')).toMatchObject({ auth: 'basic', token: 'u:pass word' });
    expect(() => sinkConfigOf(basic, 'from-the-secret')).toThrow(
      /DOWNSTREAM_TOKEN_SECRET_ARN secret must be user:password/,
    );
    const stream = loadIngestConfig({ ...env, ELASTICSEARCH_DATA_STREAM: 'logs-aws.cloudtrail-default' });
    expect(sinkConfigOf(stream, undefined)).toMatchObject({
      elasticsearch: { index: 'logs-aws.cloudtrail-default', dataStream: true },
    });
  });

  test('firehose: FIREHOSE_STREAM_NAME, no URL, no token', () => {
    const env = { ...base, SINK_TYPE: 'firehose' };
    expect(() => loadIngestConfig(env)).toThrow('FIREHOSE_STREAM_NAME is required when SINK_TYPE=firehose');
    expect(() => loadIngestConfig({ ...env, FIREHOSE_STREAM_NAME: 'bad name' })).toThrow(
      /FIREHOSE_STREAM_NAME must be 1-64 letters/,
    );
    expect(() => loadIngestConfig({ ...env, FIREHOSE_STREAM_NAME: 's', DOWNSTREAM_TOKEN: 't' })).toThrow(
      /DOWNSTREAM_TOKEN is not used by SINK_TYPE=firehose/,
    );
    expect(sinkConfigOf(loadIngestConfig({ ...env, FIREHOSE_STREAM_NAME: 'cloudtrail' }), undefined)).toEqual({
      type: 'firehose',
      streamName: 'cloudtrail',
      region: 'eu-west-1',
      timeoutMs: 30_000,
    });
  });

  test('syslog: DOWNSTREAM_URL takes the four syslog schemes, and only with SINK_TYPE=syslog', () => {
    for (const url of ['relp://h:2514', 'relp+tls://h:2515', 'syslog+tls://h:6514', 'syslog+tcp://h:514']) {
      expect(loadIngestConfig({ ...base, SINK_TYPE: 'syslog', DOWNSTREAM_URL: url }).sinkType).toBe('syslog');
      expect(() => loadIngestConfig({ ...base, DOWNSTREAM_URL: url })).toThrow(
        /DOWNSTREAM_URL must use https: or http:/,
      );
    }
    expect(() => loadIngestConfig({ ...base, SINK_TYPE: 'syslog', DOWNSTREAM_URL: 'https://h' })).toThrow(
      /DOWNSTREAM_URL must use relp: or relp\+tls: or syslog\+tls: or syslog\+tcp:/,
    );
  });
});
