import { CollectorError } from '../../shared/errors';
import type { LoggerLike } from '../../shared/logger';
import {
  BULK_INTERPRETER,
  BULK_PATH,
  BULK_QUERY,
  bulkEncoding,
  type ElasticsearchSettings,
} from './elasticsearch-bulk';
import { FirehoseSink, type FirehoseSender } from './firehose';
import { HttpSink } from './http-delivery';
import type { Transport } from './http-transport';
import { NDJSON_INTAKE } from './ndjson-intake';
import type { Allocate, Release, Sink } from './sink';
import {
  HEC_EVENT_PATH,
  hecAcknowledger,
  hecChannel,
  hecEncoding,
  hecInterpreter,
  type HecSettings,
} from './splunk-hec';
import { createSyslogSink, type SyslogSettings } from './syslog';

/**
 * Builds the configured sink (docs/sinks.md; docs/architecture.md, "A new sink type"). `SINK_TYPE` chooses one:
 * - `ndjson` (the default): the NDJSON log intake over HTTP (ndjson-intake.ts);
 * - `splunk-hec`: Splunk's HTTP Event Collector (splunk-hec.ts);
 * - `elasticsearch`: Elasticsearch or OpenSearch `_bulk` (elasticsearch-bulk.ts);
 * - `firehose`: Amazon Data Firehose PutRecordBatch (firehose.ts);
 * - `syslog`: RFC 5424 over RELP or TCP/TLS (syslog/).
 * The HTTP ones are an Encoding and a ResponseInterpreter over the one delivery (http-delivery.ts): batching,
 * gzip, retries, Retry-After, the deadline, 413 splits and redaction are shared.
 */
export const SINK_TYPES = ['ndjson', 'splunk-hec', 'elasticsearch', 'firehose', 'syslog'] as const;
export type SinkType = (typeof SINK_TYPES)[number];

export function isSinkType(value: string): value is SinkType {
  return (SINK_TYPES as readonly string[]).includes(value);
}

/** How the Elasticsearch credential is sent: `ApiKey <key>`, or basic auth from `user:password`. */
export type ElasticsearchAuth = 'api-key' | 'basic';

interface HttpSinkConfig {
  /** The endpoint as configured (DOWNSTREAM_URL): for HEC and Elasticsearch the base URL, the sink adds the path. */
  url: string;
  token?: string;
  timeoutMs: number;
}

export type SinkConfig =
  | ({ type: 'ndjson' } & HttpSinkConfig)
  | ({ type: 'splunk-hec'; hec: HecSettings } & HttpSinkConfig)
  | ({ type: 'elasticsearch'; elasticsearch: ElasticsearchSettings; auth: ElasticsearchAuth } & HttpSinkConfig)
  | { type: 'firehose'; streamName: string; region: string; timeoutMs: number }
  | { type: 'syslog'; syslog: SyslogSettings };

/** What the caller may inject: benchmarks a buffer pool and an in-process transport, tests a Firehose client. */
export interface SinkInjections {
  logger: LoggerLike;
  allocate?: Allocate;
  release?: Release;
  transport?: Transport;
  /** Backoff jitter (tests pass 0 for no waits). */
  random?: () => number;
  /** The Firehose client (default: the collector's own, aws-clients.ts). */
  firehose?: FirehoseSender;
}

/** `DOWNSTREAM_URL` plus a path, keeping any query of the configured URL's own. */
export function withPath(base: string, path: string, query = ''): string {
  const url = new URL(base);
  const prefix = url.pathname.replace(/\/+$/, '');
  url.pathname = `${prefix}${path}`;
  if (query !== '') url.search = url.search === '' ? query : `${url.search}&${query.slice(1)}`;
  return url.toString();
}

export function createSink(config: SinkConfig, inject: SinkInjections): Sink {
  const { firehose, ...httpInject } = inject;
  switch (config.type) {
    case 'ndjson':
      return new HttpSink({ ...httpOptions(config), encoding: NDJSON_INTAKE, ...httpInject });
    case 'splunk-hec': {
      const channel = hecChannel(config.hec);
      return new HttpSink({
        ...httpOptions(config),
        url: withPath(config.url, HEC_EVENT_PATH),
        authScheme: 'Splunk',
        encoding: hecEncoding(config.hec, channel),
        interpreter: hecInterpreter(config.hec.ack !== undefined),
        ...(config.hec.ack !== undefined && channel !== undefined
          ? { acknowledger: hecAcknowledger(config.hec.ack, channel) }
          : {}),
        ...httpInject,
      });
    }
    case 'elasticsearch': {
      const basic = config.auth === 'basic' && config.token !== undefined;
      return new HttpSink({
        ...httpOptions(config),
        url: withPath(config.url, BULK_PATH, BULK_QUERY),
        ...(basic
          ? { token: Buffer.from(config.token!).toString('base64'), alsoRedact: basicSecrets(config.token!) }
          : {}),
        authScheme: basic ? 'Basic' : 'ApiKey',
        encoding: bulkEncoding(config.elasticsearch),
        interpreter: BULK_INTERPRETER,
        ...httpInject,
      });
    }
    case 'firehose': {
      if (!firehose) {
        throw new CollectorError(
          'the firehose sink needs a Firehose client (runtime.ts builds it from aws-clients.ts)',
        );
      }
      return new FirehoseSink({
        client: firehose,
        streamName: config.streamName,
        timeoutMs: config.timeoutMs,
        logger: inject.logger,
        ...(inject.random ? { random: inject.random } : {}),
      });
    }
    case 'syslog':
      return createSyslogSink(config.syslog, inject);
    default:
      throw new CollectorError(`unknown sink type "${String((config as { type: unknown }).type)}"`);
  }
}

function httpOptions(config: HttpSinkConfig): { url: string; token?: string; timeoutMs: number } {
  return { url: config.url, ...(config.token ? { token: config.token } : {}), timeoutMs: config.timeoutMs };
}

/** `user:password`: the pair and the password alone are secrets as much as their base64. */
function basicSecrets(userPassword: string): string[] {
  const colon = userPassword.indexOf(':');
  const password = colon === -1 ? '' : userPassword.slice(colon + 1);
  return [userPassword, ...(password.length >= 4 ? [password] : [])];
}

export type { Allocate, DeliveryContext, Encoding, RecordBatch, Release, SendResult, Sink } from './sink';
export type { ElasticsearchSettings } from './elasticsearch-bulk';
export type { HecSettings, HecAckSettings } from './splunk-hec';
