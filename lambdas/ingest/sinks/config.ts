import { getIntFromEnv, getOptionalStringFromEnv, getUrlFromEnv } from '../../shared/config';
import { ConfigError } from '../../shared/errors';
import { DEFAULT_INDEX_TEMPLATE, invalidIndexName, type ElasticsearchSettings } from './elasticsearch-bulk';
import type { HecSettings } from './splunk-hec';
import { loadSyslogSettings, type SyslogSettings } from './syslog/config';
import { isSinkType, SINK_TYPES, type ElasticsearchAuth, type SinkType } from './index';

type Env = Record<string, string | undefined>;

/**
 * The sink's settings from the environment (docs/sinks.md, "Configuration"), the same for the Lambda, the CLI
 * and the sandbox: SINK_TYPE chooses the sink, DOWNSTREAM_URL is its endpoint (its scheme checked per type),
 * and each type's own variables are read only for that type. Every error names the variable; the URL and the
 * token are never quoted (they can carry credentials).
 */
export interface SinkSettings {
  sinkType: SinkType;
  /** Undefined only for `firehose`, which names a stream instead. */
  downstreamUrl?: URL;
  hec?: HecSettings;
  elasticsearch?: ElasticsearchSettings & { auth: ElasticsearchAuth };
  firehoseStreamName?: string;
  syslog?: SyslogSettings;
}

/** The schemes DOWNSTREAM_URL may use, per sink type. */
export const DOWNSTREAM_SCHEMES: Record<SinkType, readonly string[]> = {
  ndjson: ['https:', 'http:'],
  'splunk-hec': ['https:', 'http:'],
  elasticsearch: ['https:', 'http:'],
  firehose: [],
  syslog: ['relp:', 'relp+tls:', 'syslog+tls:', 'syslog+tcp:'],
};

/** Firehose stream names (CreateDeliveryStream, DeliveryStreamName): 1-64 of [a-zA-Z0-9_.-]. */
const STREAM_NAME = /^[a-zA-Z0-9_.-]{1,64}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function loadSinkType(env: Env): SinkType {
  const raw = getOptionalStringFromEnv('SINK_TYPE', env) ?? 'ndjson';
  if (!isSinkType(raw)) throw new ConfigError(`SINK_TYPE must be one of ${SINK_TYPES.join(', ')}, got "${raw}"`);
  return raw;
}

export function loadSinkSettings(env: Env): SinkSettings {
  const sinkType = loadSinkType(env);
  if (sinkType === 'firehose') {
    const name = getOptionalStringFromEnv('FIREHOSE_STREAM_NAME', env);
    if (name === undefined) throw new ConfigError('FIREHOSE_STREAM_NAME is required when SINK_TYPE=firehose');
    if (!STREAM_NAME.test(name)) {
      throw new ConfigError(`FIREHOSE_STREAM_NAME must be 1-64 letters, digits, _ . or -, got "${name}"`);
    }
    for (const unused of ['DOWNSTREAM_TOKEN', 'DOWNSTREAM_TOKEN_SECRET_ARN']) {
      if (getOptionalStringFromEnv(unused, env) !== undefined) {
        throw new ConfigError(`${unused} is not used by SINK_TYPE=firehose (it writes with the collector's own role)`);
      }
    }
    return { sinkType, firehoseStreamName: name };
  }
  const schemes = [...DOWNSTREAM_SCHEMES[sinkType]];
  // The URL can carry credentials (`user:password@`, a `?token=` query): no error quotes it.
  const downstreamUrl = getUrlFromEnv('DOWNSTREAM_URL', schemes, env, { secret: true });
  if (!downstreamUrl) throw new ConfigError(`DOWNSTREAM_URL is required when SINK_TYPE=${sinkType}`);
  const hasToken =
    getOptionalStringFromEnv('DOWNSTREAM_TOKEN', env) !== undefined ||
    getOptionalStringFromEnv('DOWNSTREAM_TOKEN_SECRET_ARN', env) !== undefined;
  switch (sinkType) {
    case 'ndjson':
      return { sinkType, downstreamUrl };
    case 'splunk-hec':
      if (!hasToken) {
        throw new ConfigError(
          'SINK_TYPE=splunk-hec needs the HEC token: set DOWNSTREAM_TOKEN or DOWNSTREAM_TOKEN_SECRET_ARN',
        );
      }
      if (downstreamUrl.pathname !== '/' && downstreamUrl.pathname !== '') {
        throw new ConfigError(
          'DOWNSTREAM_URL for SINK_TYPE=splunk-hec is the HEC base URL (https://host:8088): the sink adds /services/collector/event; remove the path',
        );
      }
      return { sinkType, downstreamUrl, hec: loadHecSettings(env) };
    case 'elasticsearch':
      return { sinkType, downstreamUrl, elasticsearch: loadElasticsearchSettings(env) };
    case 'syslog':
      return { sinkType, downstreamUrl, syslog: loadSyslogSettings(env, downstreamUrl.toString()) };
  }
}

function loadHecSettings(env: Env): HecSettings {
  const index = getOptionalStringFromEnv('HEC_INDEX', env);
  const host = getOptionalStringFromEnv('HEC_HOST', env);
  const ack = loadBoolean('HEC_ACK', env);
  const channel = getOptionalStringFromEnv('HEC_CHANNEL', env);
  if (channel !== undefined && !UUID.test(channel)) {
    throw new ConfigError(`HEC_CHANNEL must be a GUID (Splunk's channel identifier), got "${channel}"`);
  }
  if (channel !== undefined && !ack) throw new ConfigError('HEC_CHANNEL is set but HEC_ACK is not true');
  return {
    ...(index !== undefined ? { index } : {}),
    ...(host !== undefined ? { host } : {}),
    ...(ack
      ? {
          ack: {
            ...(channel !== undefined ? { channel } : {}),
            timeoutMs: getIntFromEnv('HEC_ACK_TIMEOUT_MS', 60_000, { min: 100, max: 900_000 }, env),
            pollMs: getIntFromEnv('HEC_ACK_POLL_MS', 1_000, { min: 10, max: 60_000 }, env),
          },
        }
      : {}),
  };
}

function loadElasticsearchSettings(env: Env): ElasticsearchSettings & { auth: ElasticsearchAuth } {
  const template = getOptionalStringFromEnv('ELASTICSEARCH_INDEX', env);
  const dataStream = getOptionalStringFromEnv('ELASTICSEARCH_DATA_STREAM', env);
  if (template !== undefined && dataStream !== undefined) {
    throw new ConfigError('set ELASTICSEARCH_INDEX or ELASTICSEARCH_DATA_STREAM, not both');
  }
  const name = dataStream ?? template ?? DEFAULT_INDEX_TEMPLATE;
  const key = dataStream !== undefined ? 'ELASTICSEARCH_DATA_STREAM' : 'ELASTICSEARCH_INDEX';
  if (/%(?![Ymd])/.test(name)) {
    throw new ConfigError(`${key} "${name}" has a % pattern other than %Y, %m or %d`);
  }
  const invalid = invalidIndexName(name);
  if (invalid) throw new ConfigError(`${key} "${name}" is not a valid index name: ${invalid}`);
  if (dataStream !== undefined && dataStream.includes('%')) {
    throw new ConfigError(
      `ELASTICSEARCH_DATA_STREAM "${dataStream}" is one name; date patterns are for ELASTICSEARCH_INDEX`,
    );
  }
  const auth = getOptionalStringFromEnv('ELASTICSEARCH_AUTH', env) ?? 'api-key';
  if (auth !== 'api-key' && auth !== 'basic') {
    throw new ConfigError(`ELASTICSEARCH_AUTH must be api-key or basic, got "${auth}"`);
  }
  const token = getOptionalStringFromEnv('DOWNSTREAM_TOKEN', env);
  if (auth === 'basic' && token !== undefined && !token.includes(':')) {
    throw new ConfigError(
      'DOWNSTREAM_TOKEN must be user:password when ELASTICSEARCH_AUTH=basic; the value is not shown',
    );
  }
  return { index: name, dataStream: dataStream !== undefined, auth };
}

function loadBoolean(name: string, env: Env): boolean {
  const raw = getOptionalStringFromEnv(name, env);
  if (raw === undefined) return false;
  if (raw === 'true') return true;
  if (raw === 'false') return false;
  throw new ConfigError(`${name} must be true or false, got "${raw}"`);
}
