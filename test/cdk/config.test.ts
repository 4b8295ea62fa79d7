import { App } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { buildCollectorApp } from '../../lib/app';
import { secretResourceArn } from '../../lib/collector.stack';
import { CONFIG_CONTEXT_KEY, CollectorConfigError, DEFAULT_CONFIG, parseCollectorConfig } from '../../lib/config';
import { COLLECTOR_ROLE_NAMES, FUNCTION_NAMES } from '../../lib/names';
import { ROOT } from './code-scan';
import { TOKEN_SECRET_ARN, cdkJsonConfig, synthApp } from './support';

describe('configuration from cdk.json context', () => {
  test("cdk.json's settings are valid and spell out the defaults", () => {
    expect(parseCollectorConfig(cdkJsonConfig())).toEqual(DEFAULT_CONFIG);
    expect(parseCollectorConfig(undefined)).toEqual(DEFAULT_CONFIG);
  });

  test('accepts the JSON string `cdk synth -c cloudtrailCollector=...` passes', () => {
    const config = parseCollectorConfig(JSON.stringify({ ingest: { memoryMb: 2048 } }));
    expect(config.ingest.memoryMb).toBe(2048);
    expect(config.ingest.timeoutSeconds).toBe(300);
  });

  test.each([
    [{ downstreamUrl: 'http://logs.example.com' }, 'cloudtrailCollector.downstreamUrl', /https/],
    [{ downstreamUrl: 'not a url' }, 'cloudtrailCollector.downstreamUrl', /URL/],
    [{ downstreamTokenSecretArn: 'my-secret' }, 'cloudtrailCollector.downstreamTokenSecretArn', /Secrets Manager/],
    [{ logRetentionDays: 42 }, 'cloudtrailCollector.logRetentionDays', /one of/],
    [{ ingest: { memoryMb: 'big' } }, 'cloudtrailCollector.ingest.memoryMb', /whole number from 128 to 10240/],
    [{ ingest: { timeoutSeconds: 901 } }, 'cloudtrailCollector.ingest.timeoutSeconds', /30 to 900/],
    [{ ingest: { reservedConcurrency: 0 } }, 'cloudtrailCollector.ingest.reservedConcurrency', /from 1/],
    [{ ingest: { topology: 'fan-out' } }, 'cloudtrailCollector.ingest.topology', /one of hub, customer-queue/],
    [{ ingest: { hubShards: 0 } }, 'cloudtrailCollector.ingest.hubShards', /from 1 to 48/],
    [{ ingest: { hubShards: 49 } }, 'cloudtrailCollector.ingest.hubShards', /from 1 to 48/],
    [{ ingest: { maximumConcurrency: 1 } }, 'cloudtrailCollector.ingest.maximumConcurrency', /from 2 to 1000/],
    [{ ingest: { maximumConcurrency: 1001 } }, 'cloudtrailCollector.ingest.maximumConcurrency', /from 2 to 1000/],
    [{ ingest: { hubShard: 8 } }, 'cloudtrailCollector.ingest.hubShard', /unknown key/],
    [
      { ingest: { filters: { dropEventNames: ['a,b'] } } },
      'cloudtrailCollector.ingest.filters.dropEventNames[0]',
      /commas/,
    ],
    [
      { ingest: { filters: { dropReadOnly: 'yes' } } },
      'cloudtrailCollector.ingest.filters.dropReadOnly',
      /true or false/,
    ],
    [{ reconcile: { schedule: 'every 15 minutes' } }, 'cloudtrailCollector.reconcile.schedule', /schedule expression/],
    [
      { reconcile: { schedule: 'rate(5 minutes)' } },
      'cloudtrailCollector.reconcile.timeoutSeconds',
      /shorter than the schedule period/,
    ],
    [{ reconcile: { concurrency: 1000 } }, 'cloudtrailCollector.reconcile.concurrency', /1 to 500/],
    [{ reconcile: { healthyEvery: 0 } }, 'cloudtrailCollector.reconcile.healthyEvery', /from 1 to 96/],
    [{ reconcile: { workerConcurrency: 1 } }, 'cloudtrailCollector.reconcile.workerConcurrency', /from 2 to 1000/],
    [{ reconcile: { workerTimeoutSeconds: 30 } }, 'cloudtrailCollector.reconcile.workerTimeoutSeconds', /60 to 900/],
    [{ alarms: { emails: ['ops'] } }, 'cloudtrailCollector.alarms.emails[0]', /e-mail/],
    [{ alarms: { staleAfterMinutes: 5 } }, 'cloudtrailCollector.alarms.staleAfterMinutes', /60 to/],
    [
      { ledger: { pointInTimeRecovery: 'no' } },
      'cloudtrailCollector.ledger.pointInTimeRecovery',
      /true or false|boolean/,
    ],
    [{ ledger: { pitr: false } }, 'cloudtrailCollector.ledger.pitr', /unknown key/],
    [{ operatorPrincipalArns: ['alice'] }, 'cloudtrailCollector.operatorPrincipalArns[0]', /IAM role or user ARN/],
    [{ ingest: { memorySize: 1024 } }, 'cloudtrailCollector.ingest.memorySize', /unknown key/],
    [{ downstreamURL: 'https://x' }, 'cloudtrailCollector.downstreamURL', /unknown key/],
    [[], 'cloudtrailCollector', /must be an object/],
  ])('%j fails naming %s', (raw, key, problem) => {
    let error: unknown;
    try {
      parseCollectorConfig(raw);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(CollectorConfigError);
    expect((error as CollectorConfigError).key).toBe(key);
    expect((error as Error).message).toMatch(new RegExp(`^cdk.json context ${key.replace(/[.[\]]/g, '\\$&')}: `));
    expect((error as Error).message).toMatch(problem);
  });

  describe("the concurrency rule: reserved concurrency covers the mappings' MaximumConcurrency", () => {
    const failure = (ingest: Record<string, unknown>): CollectorConfigError | undefined => {
      try {
        parseCollectorConfig({ ingest });
      } catch (error) {
        if (error instanceof CollectorConfigError) return error;
        throw error;
      }
      return undefined;
    };

    test('hub: hubShards x maximumConcurrency + the backfill mapping above reservedConcurrency fails, naming the keys and the figures', () => {
      const error = failure({ reservedConcurrency: 33 });
      expect(error?.key).toBe('cloudtrailCollector.ingest.reservedConcurrency');
      expect(error?.message).toContain(
        'cdk.json context cloudtrailCollector.ingest.reservedConcurrency: must be at least ' +
          "cloudtrailCollector.ingest.hubShards x cloudtrailCollector.ingest.maximumConcurrency + 2 (the backfill queue's mapping) = 8 x 4 + 2 = 34, got 33",
      );
      expect(error?.message).toMatch(/Configuring scaling behavior for SQS event source mappings/);
      expect(failure({ hubShards: 16, maximumConcurrency: 3, reservedConcurrency: 40 })?.message).toContain(
        '= 16 x 3 + 2 = 50, got 40',
      );
    });

    test('hub: a configuration that fits passes, the boundary included', () => {
      expect(failure({ reservedConcurrency: 34 })).toBeUndefined();
      expect(failure({ hubShards: 48, maximumConcurrency: 2, reservedConcurrency: 98 })).toBeUndefined();
      expect(
        parseCollectorConfig({ ingest: { hubShards: 1, maximumConcurrency: 2, reservedConcurrency: 4 } }).ingest,
      ).toMatchObject({ topology: 'hub', hubShards: 1, maximumConcurrency: 2, reservedConcurrency: 4 });
    });

    test('customer-queue: one mapping must fit (reconcile keeps the sum within it at run time)', () => {
      const error = failure({ topology: 'customer-queue', maximumConcurrency: 30, reservedConcurrency: 20 });
      expect(error?.key).toBe('cloudtrailCollector.ingest.reservedConcurrency');
      expect(error?.message).toMatch(/at least cloudtrailCollector\.ingest\.maximumConcurrency \(30\).*got 20/);
      // The hub product does not apply: 8 x 4 = 32 > 20, but only one mapping of 4 must fit.
      expect(failure({ topology: 'customer-queue', reservedConcurrency: 20 })).toBeUndefined();
    });
  });

  test('a bad value fails the synth before any stack is built', () => {
    const app = new App({ context: { [CONFIG_CONTEXT_KEY]: { ingest: { timeoutSeconds: 5 } } } });
    expect(() => buildCollectorApp(app, { nag: false })).toThrow(/cloudtrailCollector\.ingest\.timeoutSeconds/);
    expect(app.node.children).toHaveLength(0);
  });

  /** `cdk synth`'s app (bin/app.ts) with this `cloudtrailCollector` context, in a temporary output directory. */
  const runApp = (config: Record<string, unknown>) => {
    const outdir = mkdtempSync(path.join(tmpdir(), 'cdk-bad-config-'));
    try {
      return spawnSync(process.execPath, [require.resolve('tsx/cli'), 'bin/app.ts'], {
        cwd: ROOT,
        encoding: 'utf8',
        env: { ...process.env, CDK_OUTDIR: outdir, CDK_CONTEXT_JSON: JSON.stringify({ [CONFIG_CONTEXT_KEY]: config }) },
        timeout: 60_000,
      });
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  };

  test('`cdk synth` (bin/app.ts) exits 2 with the key named, no stack trace', () => {
    const result = runApp({ reconcile: { concurrency: 0 } });
    expect(result.status).toBe(2);
    expect(result.stderr.trim()).toBe(
      'cloudtrail-collector: cdk.json context cloudtrailCollector.reconcile.concurrency: must be a whole number from 1 to 500, got 0',
    );
  });

  test('`cdk synth` exits 2 on a configuration that breaks the concurrency rule, with the figures', () => {
    const result = runApp({ ingest: { reservedConcurrency: 10 } });
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(
      /^cloudtrail-collector: cdk\.json context cloudtrailCollector\.ingest\.reservedConcurrency: must be at least cloudtrailCollector\.ingest\.hubShards x cloudtrailCollector\.ingest\.maximumConcurrency \+ 2 \(the backfill queue's mapping\) = 8 x 4 \+ 2 = 34, got 10/,
    );
  });

  test('the secret ARN as an IAM resource: a partial ARN gets the six-character suffix wildcard', () => {
    expect(secretResourceArn(TOKEN_SECRET_ARN)).toBe(TOKEN_SECRET_ARN);
    expect(secretResourceArn('arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/token')).toBe(
      'arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/token-??????',
    );
  });
});

describe('CollectorStack with a customized configuration', () => {
  const operator = 'arn:aws:iam::123456789012:role/collector-operators';
  const built = synthApp({
    nag: false,
    config: {
      downstreamUrl: 'https://intake.example.net/v1/cloudtrail',
      downstreamTokenSecretArn: TOKEN_SECRET_ARN,
      logRetentionDays: 365,
      ingest: {
        memoryMb: 2048,
        timeoutSeconds: 600,
        reservedConcurrency: 50,
        filters: {
          dropEventSources: ['kms.amazonaws.com', 'sts.amazonaws.com'],
          dropEventNames: [],
          dropReadOnly: true,
        },
      },
      reconcile: { schedule: 'rate(1 hour)', concurrency: 25, memoryMb: 1024, timeoutSeconds: 900 },
      alarms: { emails: ['ops@example.com'], staleAfterMinutes: 120 },
      operatorPrincipalArns: [operator],
    },
  });
  const template = built.template(built.collector);

  test('an existing token secret is referenced by its ARN, and only that secret is readable', () => {
    template.resourceCountIs('AWS::SecretsManager::Secret', 0);
    template.hasResourceProperties('AWS::Lambda::Function', {
      FunctionName: FUNCTION_NAMES.ingest,
      Environment: { Variables: Match.objectLike({ DOWNSTREAM_TOKEN_SECRET_ARN: TOKEN_SECRET_ARN }) },
    });
    template.hasResourceProperties('AWS::IAM::Role', {
      RoleName: COLLECTOR_ROLE_NAMES.ingest,
      Policies: Match.arrayWith([
        {
          PolicyName: 'downstream-token',
          PolicyDocument: {
            Version: '2012-10-17',
            Statement: [Match.objectLike({ Action: 'secretsmanager:GetSecretValue', Resource: TOKEN_SECRET_ARN })],
          },
        },
      ]),
    });
  });

  test('sizing, filters, retention and schedule follow the configuration', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      FunctionName: FUNCTION_NAMES.ingest,
      MemorySize: 2048,
      Timeout: 600,
      ReservedConcurrentExecutions: 50,
      Environment: {
        Variables: Match.objectLike({
          DOWNSTREAM_URL: 'https://intake.example.net/v1/cloudtrail',
          FILTER_DROP_EVENT_SOURCES: 'kms.amazonaws.com,sts.amazonaws.com',
          FILTER_DROP_READ_ONLY: 'true',
        }),
      },
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      FunctionName: FUNCTION_NAMES.reconcile,
      Timeout: 900,
      Environment: {
        Variables: Match.objectLike({
          INGEST_TIMEOUT_SECONDS: '600',
          RECONCILE_CONCURRENCY: '25',
          STALE_AFTER_MINUTES: '120',
        }),
      },
    });
    template.allResourcesProperties('AWS::Logs::LogGroup', { RetentionInDays: 365 });
    template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(1 hour)' });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'cloudtrail-collector-accounts-not-healthy',
      Period: 3600,
    });
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com' });
  });

  test('listed operators may assume the collector roles (to run the command-line tool as them)', () => {
    for (const name of Object.values(COLLECTOR_ROLE_NAMES)) {
      template.hasResourceProperties('AWS::IAM::Role', {
        RoleName: name,
        AssumeRolePolicyDocument: {
          Version: '2012-10-17',
          Statement: Match.arrayWith([
            { Effect: 'Allow', Action: 'sts:AssumeRole', Principal: { Service: 'lambda.amazonaws.com' } },
            { Effect: 'Allow', Action: 'sts:AssumeRole', Principal: { AWS: operator } },
          ]),
        },
      });
    }
  });
});
