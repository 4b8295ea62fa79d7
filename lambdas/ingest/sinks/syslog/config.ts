import { readFileSync } from 'node:fs';
import { hostname as osHostname } from 'node:os';
import { tryParseArn } from '../../../shared/arn';
import { getIntFromEnv, getOptionalStringFromEnv } from '../../../shared/config';
import { ConfigError, errorMessage } from '../../../shared/errors';

/**
 * The syslog sink's settings (docs/sinks.md, "syslog and RELP"): the transport from DOWNSTREAM_URL's scheme, the
 * RFC 5424 header fields, the message size limit, the RELP window and the TLS material.
 */
export type SyslogTransport =
  /** RELP (librelp's protocol): every message acknowledged by the receiver. */
  | 'relp'
  /** RFC 5424 messages with RFC 6587 octet counting over TCP, no acknowledgement. */
  | 'tcp';

/** A PEM file read at start-up (local runs), or a Secrets Manager secret read on the first connection (Lambda). */
export type PemSource =
  { from: 'file'; variable: string; path: string; pem: string } | { from: 'secret'; variable: string; arn: string };

export interface SyslogTls {
  /** Trusted CAs for the receiver's certificate; Node's bundled public CAs when absent. */
  ca?: PemSource;
  /** Client certificate and its key, for receivers that authenticate the sender (given together). */
  cert?: PemSource;
  key?: PemSource;
  /** The name the receiver's certificate must carry; default the URL's host. */
  servername: string;
}

export interface SyslogSettings {
  transport: SyslogTransport;
  host: string;
  port: number;
  /** Set for relp+tls: and syslog+tls: (RFC 5425); plain TCP otherwise. */
  tls?: SyslogTls;
  /** HOSTNAME of every message (RFC 5424 section 6.2.4): 1 to 255 printable US-ASCII characters, or "-". */
  hostname: string;
  /** APP-NAME (section 6.2.5): 1 to 48 printable US-ASCII characters. */
  appName: string;
  /** PRI = facility * 8 + severity (section 6.2.1). */
  facility: number;
  severity: number;
  /** SD-ID of the element that carries the log file's account and Region (section 6.3.2). */
  sdId: string;
  /**
   * Largest SYSLOG-MSG (header, structured data and the record; not the octet count in front) sent. A record
   * whose message is larger fails its batch as a permanent error naming its eventID; nothing is truncated.
   */
  maxMessageBytes: number;
  /** RELP: messages sent and not yet acknowledged, at most. */
  relpWindow: number;
  /** Connecting (TCP and TLS handshake), and for RELP the wait for each acknowledgement. */
  timeoutMs: number;
  /** AWS_REGION: where a *_SECRET_ARN is read when its ARN names no region. */
  region?: string;
}

/** RFC 5424 section 6.2.4; rsyslog's default maxMessageSize; RFC 5425 section 4.3.1's "SHOULD support". */
export const DEFAULT_MAX_MESSAGE_BYTES = 8192;
/** librelp's default window (RELP_DFLT_WINDOW_SIZE). */
export const DEFAULT_RELP_WINDOW = 128;
/** 13 = "log audit" (RFC 5424 table 1): CloudTrail records are an audit trail. */
export const DEFAULT_FACILITY = 13;
/** 6 = informational (RFC 5424 table 2). */
export const DEFAULT_SEVERITY = 6;
export const DEFAULT_APP_NAME = 'cloudtrail-collector';
/** 32473 is the enterprise number IANA reserves for documentation (RFC 5612): set SYSLOG_SD_ID to your own. */
export const DEFAULT_SD_ID = 'cloudtrail@32473';

const SCHEMES: Record<string, { transport: SyslogTransport; tls: boolean }> = {
  'relp:': { transport: 'relp', tls: false },
  'relp+tls:': { transport: 'relp', tls: true },
  'syslog+tcp:': { transport: 'tcp', tls: false },
  'syslog+tls:': { transport: 'tcp', tls: true },
};

const PRINTUSASCII = /^[\x21-\x7e]+$/;
/** SD-NAME (section 6.3.2): printable US-ASCII except '=', SP, ']' and '"', 1 to 32 characters. */
const SD_NAME = /^[\x21-\x7e]{1,32}$/;

/**
 * Reads DOWNSTREAM_URL (`relp://host:port`, `relp+tls://host:port`, `syslog+tls://host:port` or
 * `syslog+tcp://host:port`) and the SYSLOG_* variables; every error names the variable at fault. PEM files are
 * read here, so that a missing file fails at start-up; secrets by ARN are read on the first connection.
 */
export function loadSyslogSettings(env: Record<string, string | undefined>, url: string): SyslogSettings {
  const { transport, tls, host, port } = parseSyslogUrl(url);
  const hostname = getOptionalStringFromEnv('SYSLOG_HOSTNAME', env) ?? defaultHostname();
  if (hostname.length > 255 || !PRINTUSASCII.test(hostname)) {
    throw new ConfigError(
      `SYSLOG_HOSTNAME must be 1 to 255 printable US-ASCII characters (RFC 5424), got "${hostname}"`,
    );
  }
  const appName = getOptionalStringFromEnv('SYSLOG_APP_NAME', env) ?? DEFAULT_APP_NAME;
  if (appName.length > 48 || !PRINTUSASCII.test(appName)) {
    throw new ConfigError(`SYSLOG_APP_NAME must be 1 to 48 printable US-ASCII characters (RFC 5424), got "${appName}"`);
  }
  const sdId = getOptionalStringFromEnv('SYSLOG_SD_ID', env) ?? DEFAULT_SD_ID;
  if (!SD_NAME.test(sdId) || /[= \]"]/.test(sdId) || !/^[^@]+@\d+(?:\.\d+)*$/.test(sdId)) {
    throw new ConfigError(
      `SYSLOG_SD_ID must be name@<private enterprise number>, at most 32 printable characters without '=', ' ', ']' or '"' (RFC 5424 section 7.2.2), got "${sdId}"`,
    );
  }
  const region = getOptionalStringFromEnv('AWS_REGION', env) ?? getOptionalStringFromEnv('AWS_DEFAULT_REGION', env);
  const settings: SyslogSettings = {
    transport,
    host,
    port,
    hostname,
    appName,
    facility: getIntFromEnv('SYSLOG_FACILITY', DEFAULT_FACILITY, { min: 0, max: 23 }, env),
    severity: getIntFromEnv('SYSLOG_SEVERITY', DEFAULT_SEVERITY, { min: 0, max: 7 }, env),
    sdId,
    // 2048: RFC 5425 section 4.3.1, the size every receiver MUST accept.
    maxMessageBytes: getIntFromEnv(
      'SYSLOG_MAX_MESSAGE_BYTES',
      DEFAULT_MAX_MESSAGE_BYTES,
      { min: 2048, max: 64 * 1024 * 1024 },
      env,
    ),
    relpWindow: getIntFromEnv('SYSLOG_RELP_WINDOW', DEFAULT_RELP_WINDOW, { min: 1, max: 65_536 }, env),
    timeoutMs: getIntFromEnv('DOWNSTREAM_TIMEOUT_MS', 30_000, { min: 100, max: 900_000 }, env),
    ...(region ? { region } : {}),
  };
  const material = loadTlsMaterial(env, settings.host);
  if (tls) return { ...settings, tls: material.tls };
  if (material.named.length > 0) {
    throw new ConfigError(
      `${material.named.join(', ')} set but DOWNSTREAM_URL uses ${transport === 'relp' ? 'relp:' : 'syslog+tcp:'}, which has no TLS: use ${transport === 'relp' ? 'relp+tls:' : 'syslog+tls:'}`,
    );
  }
  return settings;
}

function parseSyslogUrl(url: string): { transport: SyslogTransport; tls: boolean; host: string; port: number } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError(
      `DOWNSTREAM_URL is not a valid URL for the syslog sink: expected relp+tls://host:port, got "${url}"`,
    );
  }
  const scheme = SCHEMES[parsed.protocol];
  if (scheme === undefined) {
    throw new ConfigError(
      `DOWNSTREAM_URL for the syslog sink must use relp:, relp+tls:, syslog+tcp: or syslog+tls:, got "${parsed.protocol}"`,
    );
  }
  if (parsed.username !== '' || parsed.password !== '') {
    throw new ConfigError('DOWNSTREAM_URL for the syslog sink cannot carry credentials: use SYSLOG_TLS_CERT_* instead');
  }
  if ((parsed.pathname !== '' && parsed.pathname !== '/') || parsed.search !== '' || parsed.hash !== '') {
    throw new ConfigError(`DOWNSTREAM_URL for the syslog sink is host:port only, got a path or query in "${url}"`);
  }
  // Non-special schemes keep IPv6 brackets in hostname; net.connect wants the bare address.
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  if (host === '') throw new ConfigError(`DOWNSTREAM_URL has no host: "${url}"`);
  if (parsed.port === '')
    throw new ConfigError(`DOWNSTREAM_URL must name the receiver's port, as in ${parsed.protocol}//${host}:6514`);
  return { ...scheme, host, port: Number(parsed.port) };
}

function loadTlsMaterial(env: Record<string, string | undefined>, host: string): { tls: SyslogTls; named: string[] } {
  const named: string[] = [];
  const source = (name: 'CA' | 'CERT' | 'KEY'): PemSource | undefined => {
    const fileVar = `SYSLOG_TLS_${name}_FILE`;
    const arnVar = `SYSLOG_TLS_${name}_SECRET_ARN`;
    const path = getOptionalStringFromEnv(fileVar, env);
    const arn = getOptionalStringFromEnv(arnVar, env);
    if (path !== undefined) named.push(fileVar);
    if (arn !== undefined) named.push(arnVar);
    if (path !== undefined && arn !== undefined) throw new ConfigError(`set ${fileVar} or ${arnVar}, not both`);
    if (arn !== undefined) {
      const parts = tryParseArn(arn);
      if (parts?.service !== 'secretsmanager') {
        throw new ConfigError(`${arnVar} must be a Secrets Manager ARN, got "${arn}"`);
      }
      return { from: 'secret', variable: arnVar, arn };
    }
    if (path === undefined) return undefined;
    let pem: string;
    try {
      pem = readFileSync(path, 'utf8');
    } catch (error) {
      throw new ConfigError(`cannot read ${fileVar} ${path}: ${errorMessage(error)}`, { cause: error });
    }
    // A key's content is never quoted: only whether it looks like PEM at all.
    if (!pem.includes('-----BEGIN ')) throw new ConfigError(`${fileVar} ${path} is not a PEM file`);
    return { from: 'file', variable: fileVar, path, pem };
  };
  const ca = source('CA');
  const cert = source('CERT');
  const key = source('KEY');
  if ((cert === undefined) !== (key === undefined)) {
    throw new ConfigError(
      'SYSLOG_TLS_CERT_* and SYSLOG_TLS_KEY_* go together: a client certificate needs its private key and vice versa',
    );
  }
  const servername = getOptionalStringFromEnv('SYSLOG_TLS_SERVERNAME', env);
  if (servername !== undefined) named.push('SYSLOG_TLS_SERVERNAME');
  return {
    tls: { servername: servername ?? host, ...(ca ? { ca } : {}), ...(cert ? { cert } : {}), ...(key ? { key } : {}) },
    named,
  };
}

/** The machine's name when it is a valid HOSTNAME, else NILVALUE ("-", RFC 5424 section 6.2.4). */
function defaultHostname(): string {
  const name = osHostname();
  return name.length > 0 && name.length <= 255 && PRINTUSASCII.test(name) ? name : '-';
}
