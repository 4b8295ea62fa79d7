import type { INagLogger, NagLoggerErrorData, NagLoggerNonComplianceData } from 'cdk-nag';
import { loadSinkSettings } from '../../lambdas/ingest/sinks/config';
import { parseCollectorConfig } from '../../lib/config';
import { COLLECTOR_ROLE_NAMES, FUNCTION_NAMES } from '../../lib/names';
import { allowedActions, asArray, cdkJsonConfig, roleInlineStatements, synthApp } from './support';

/** `cloudtrailCollector.sink` (docs/sinks.md): validated at synth naming the key; the stack grants only what it needs. */
type Resource = { Type: string; Properties: Record<string, unknown> };

class Findings implements INagLogger {
  readonly unsuppressed: string[] = [];
  onCompliance(): void {}
  onNotApplicable(): void {}
  onSuppressed(): void {}
  onSuppressedError(): void {}
  onNonCompliance(data: NagLoggerNonComplianceData): void {
    // The collector stack only: the sink changes nothing in the customer templates.
    if (data.resource.node.path.startsWith('CloudTrailCollector/')) {
      this.unsuppressed.push(`${data.ruleId} on ${data.resource.node.path}`);
    }
  }
  onError(data: NagLoggerErrorData): void {
    this.unsuppressed.push(`error ${data.ruleId} on ${data.resource.node.path}`);
  }
}

function synthWith(sink: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  const findings = new Findings();
  const built = synthApp({
    config: { ...cdkJsonConfig(), sink, ...extra },
    nag: { reports: false, additionalLoggers: [findings] },
  });
  built.app.synth();
  const json = built.template(built.collector).toJSON() as { Resources: Record<string, Resource> };
  const resources = Object.values(json.Resources);
  const ingestRole = resources.find(
    (r) => r.Type === 'AWS::IAM::Role' && r.Properties.RoleName === COLLECTOR_ROLE_NAMES.ingest,
  )!;
  const ingestFunction = resources.find(
    (r) => r.Type === 'AWS::Lambda::Function' && r.Properties.FunctionName === FUNCTION_NAMES.ingest,
  )!;
  const env = (ingestFunction.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
  return {
    findings,
    statements: roleInlineStatements(ingestRole),
    env,
    secrets: resources.filter((r) => r.Type === 'AWS::SecretsManager::Secret'),
  };
}

describe('sink.type firehose', () => {
  let world: ReturnType<typeof synthWith>;
  beforeAll(() => {
    world = synthWith({ type: 'firehose', firehose: { streamName: 'cloudtrail-to-siem' } });
  });

  test('ingest may PutRecordBatch on the one stream and read no downstream secret', () => {
    const actions = allowedActions(world.statements);
    expect(actions).toContain('firehose:PutRecordBatch');
    expect(actions).not.toContain('secretsmanager:GetSecretValue');
    const firehose = world.statements.filter((s) => asArray(s.Action).includes('firehose:PutRecordBatch'));
    expect(firehose).toHaveLength(1);
    expect(asArray(firehose[0]!.Action)).toEqual(['firehose:PutRecordBatch']);
    expect(JSON.stringify(firehose[0]!.Resource)).toContain(':deliverystream/cloudtrail-to-siem');
    expect(JSON.stringify(firehose[0]!.Resource)).not.toContain('*');
    expect(world.secrets).toEqual([]);
  });

  test('the function gets SINK_TYPE and FIREHOSE_STREAM_NAME, no URL and no token, which its config accepts', () => {
    expect(world.env).toMatchObject({ SINK_TYPE: 'firehose', FIREHOSE_STREAM_NAME: 'cloudtrail-to-siem' });
    expect(world.env.DOWNSTREAM_URL).toBeUndefined();
    expect(world.env.DOWNSTREAM_TOKEN_SECRET_ARN).toBeUndefined();
    const env = Object.fromEntries(
      Object.entries(world.env).map(([k, v]) => [k, typeof v === 'string' ? v : `resolved-${k.toLowerCase()}`]),
    );
    expect(loadSinkSettings(env).firehoseStreamName).toBe('cloudtrail-to-siem');
  });

  test('cdk-nag: zero unsuppressed findings', () => {
    expect(world.findings.unsuppressed).toEqual([]);
  });
});

test('sink.type splunk-hec: HEC settings reach the function, the token by ARN; no Firehose grant', () => {
  const world = synthWith(
    { type: 'splunk-hec', hec: { index: 'aws', ack: true } },
    { downstreamUrl: 'https://splunk.example.com:8088' },
  );
  expect(world.env).toMatchObject({ SINK_TYPE: 'splunk-hec', HEC_INDEX: 'aws', HEC_ACK: 'true' });
  expect(world.env.DOWNSTREAM_TOKEN_SECRET_ARN).toBeDefined();
  expect(allowedActions(world.statements)).toContain('secretsmanager:GetSecretValue');
  expect(allowedActions(world.statements)).not.toContain('firehose:PutRecordBatch');
  expect(world.findings.unsuppressed).toEqual([]);
});

describe('bad sink settings fail the synth naming the key', () => {
  const base = cdkJsonConfig();
  test.each([
    [{ sink: { type: 'kafka' } }, 'cloudtrailCollector.sink.type', /must be one of ndjson, splunk-hec/],
    [{ sink: { type: 'firehose' } }, 'cloudtrailCollector.sink.firehose', /is required with sink.type firehose/],
    [
      { sink: { type: 'firehose', firehose: { streamName: 'a b' } } },
      'cloudtrailCollector.sink.firehose.streamName',
      /Firehose stream name/,
    ],
    [{ sink: { type: 'ndjson', hec: {} } }, 'cloudtrailCollector.sink.hec', /only for sink.type splunk-hec/],
    [
      { sink: { type: 'elasticsearch', elasticsearch: { index: 'CT-%Y' } } },
      'cloudtrailCollector.sink.elasticsearch.index',
      /upper-case/,
    ],
    [
      { sink: { type: 'elasticsearch', elasticsearch: { auth: 'token' } } },
      'cloudtrailCollector.sink.elasticsearch.auth',
      /api-key or basic/,
    ],
    [
      { sink: { type: 'splunk-hec' }, downstreamUrl: 'https://splunk.example.com:8088/services/collector' },
      'cloudtrailCollector.downstreamUrl',
      /HEC base URL/,
    ],
    [
      { sink: { type: 'syslog' }, downstreamUrl: 'relp://siem.example.com:2514' },
      'cloudtrailCollector.downstreamUrl',
      /relp\+tls: or syslog\+tls:/,
    ],
    [
      {
        sink: { type: 'syslog', syslog: { tlsCaSecretArn: '/etc/ssl/ca.pem' } },
        downstreamUrl: 'relp+tls://siem.example.com:2514',
      },
      'cloudtrailCollector.sink.syslog.tlsCaSecretArn',
      /must be a Secrets Manager secret ARN/,
    ],
    [
      {
        sink: {
          type: 'syslog',
          syslog: { tlsCertSecretArn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:c' },
        },
        downstreamUrl: 'relp+tls://siem.example.com:2514',
      },
      'cloudtrailCollector.sink.syslog.tlsKeySecretArn',
      /go together/,
    ],
    [{ sink: { type: 'ndjson', syslog: {} } }, 'cloudtrailCollector.sink.syslog', /is only for sink.type syslog/],
    [
      {
        sink: { type: 'firehose', firehose: { streamName: 's' } },
        downstreamTokenSecretArn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:t',
      },
      'cloudtrailCollector.downstreamTokenSecretArn',
      /not used with sink.type firehose/,
    ],
  ])('%j -> %s', (override, key, problem) => {
    let message = '';
    try {
      parseCollectorConfig({ ...base, ...override });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain(`cdk.json context ${key}:`);
    expect(message).toMatch(problem);
  });
});

describe('sink.type syslog', () => {
  const SECRET = (name: string) => `arn:aws:secretsmanager:us-east-1:123456789012:secret:${name}`;

  test('the TLS secrets by ARN only: ingest may read exactly those, SYSLOG_* rendered, no downstream token', () => {
    const world = synthWith(
      {
        type: 'syslog',
        syslog: {
          appName: 'ct',
          tlsCaSecretArn: SECRET('syslog-ca'),
          tlsCertSecretArn: SECRET('syslog-cert'),
          tlsKeySecretArn: SECRET('syslog-key'),
        },
      },
      { downstreamUrl: 'relp+tls://siem.example.com:2514' },
    );
    const reads = world.statements.filter((s) => asArray(s.Action).includes('secretsmanager:GetSecretValue'));
    expect(reads.flatMap((s) => asArray(s.Resource)).sort()).toEqual(
      ['syslog-ca', 'syslog-cert', 'syslog-key'].map((name) => `${SECRET(name)}-??????`),
    );
    expect(world.env).toMatchObject({
      SINK_TYPE: 'syslog',
      DOWNSTREAM_URL: 'relp+tls://siem.example.com:2514',
      SYSLOG_HOSTNAME: 'cloudtrail-collector',
      SYSLOG_APP_NAME: 'ct',
      SYSLOG_TLS_CA_SECRET_ARN: SECRET('syslog-ca'),
      SYSLOG_TLS_CERT_SECRET_ARN: SECRET('syslog-cert'),
      SYSLOG_TLS_KEY_SECRET_ARN: SECRET('syslog-key'),
    });
    expect(world.env.DOWNSTREAM_TOKEN_SECRET_ARN).toBeUndefined();
    expect(world.secrets).toEqual([]);
    expect(world.findings.unsuppressed).toEqual([]);
  });

  test('no TLS secret configured (a receiver with a public certificate): no Secrets Manager read at all', () => {
    const world = synthWith({ type: 'syslog' }, { downstreamUrl: 'syslog+tls://siem.example.com:6514' });
    expect(allowedActions(world.statements)).not.toContain('secretsmanager:GetSecretValue');
    expect(world.env.SYSLOG_TLS_CA_SECRET_ARN).toBeUndefined();
    expect(world.findings.unsuppressed).toEqual([]);
  });
});
