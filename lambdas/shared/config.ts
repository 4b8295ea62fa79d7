import { ConfigError } from './errors';

type Env = Record<string, string | undefined>;

/** A required string variable; fails fast naming the variable. */
export function getStringFromEnv(name: string, env: Env = process.env): string {
  const value = env[name]?.trim();
  if (!value) throw new ConfigError(`${name} is required but not set`);
  return value;
}

/** An optional string variable (empty counts as unset). */
export function getOptionalStringFromEnv(name: string, env: Env = process.env): string | undefined {
  const value = env[name]?.trim();
  return value ? value : undefined;
}

/** An optional integer variable within [min, max]; a malformed value fails naming the variable. */
export function getIntFromEnv(
  name: string,
  defaultValue: number,
  bounds: { min: number; max: number },
  env: Env = process.env,
): number {
  const raw = getOptionalStringFromEnv(name, env);
  if (raw === undefined) return defaultValue;
  if (!/^\d+$/.test(raw)) throw new ConfigError(`${name} must be a whole number, got "${raw}"`);
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < bounds.min || value > bounds.max) {
    throw new ConfigError(`${name} must be between ${bounds.min} and ${bounds.max}, got ${raw}`);
  }
  return value;
}

/** An optional comma-separated list variable; blanks dropped. */
export function getListFromEnv(name: string, env: Env = process.env): string[] {
  const raw = getOptionalStringFromEnv(name, env);
  if (raw === undefined) return [];
  return raw
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item.length > 0);
}

/**
 * An optional URL variable restricted to the given protocols. With `secret: true` (a URL that may carry
 * credentials, such as DOWNSTREAM_URL with `user:password@` or a `?token=` query) no error quotes the value or
 * any part of it beyond the scheme: each says what is wrong instead.
 */
export function getUrlFromEnv(
  name: string,
  protocols: string[],
  env: Env = process.env,
  options: { secret?: boolean } = {},
): URL | undefined {
  const raw = getOptionalStringFromEnv(name, env);
  if (raw === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch (error) {
    if (options.secret) {
      throw new ConfigError(`${name} is not a valid URL (${whyNotAUrl(raw)}); the value is not shown`);
    }
    throw new ConfigError(`${name} is not a valid URL: "${raw}"`, { cause: error });
  }
  if (!protocols.includes(url.protocol)) {
    // A secret URL's scheme is named only when it is a well-known one: in `user:password@host` (no scheme at
    // all) the parser takes `user:` for the scheme.
    const scheme = !options.secret || KNOWN_SCHEMES.has(url.protocol) ? `"${url.protocol}"` : 'another scheme';
    throw new ConfigError(`${name} must use ${protocols.join(' or ')}, got ${scheme}`);
  }
  return url;
}

const KNOWN_SCHEMES = new Set(['http:', 'https:', 'ftp:', 'ftps:', 'file:', 'ws:', 'wss:', 'mailto:', 'data:', 'tcp:']);

/**
 * Why a value does not parse as a URL, in words that quote nothing of it. The parse error itself is not kept
 * as the cause either: Node's `Invalid URL` error carries the input.
 */
function whyNotAUrl(raw: string): string {
  // eslint-disable-next-line no-control-regex
  if (/[\s\x00-\x1f\x7f]/.test(raw)) return 'it contains whitespace or control characters';
  if (!/^[a-z][a-z0-9+.-]*:/i.test(raw)) return 'it has no scheme: expected https://host/path';
  if (/^[a-z][a-z0-9+.-]*:\/\/(?:[^/?#]*@)?(?:[/?#:]|$)/i.test(raw)) return 'it has no host';
  return 'the URL parser rejects it: check the host, the port and percent-encoding';
}

/** Settings every function and the CLI share. */
export interface CommonConfig {
  region: string;
  accountsTable: string;
  customerRoleName: string;
  /** Set when the SDK talks to an emulator: S3 then uses path-style addressing. */
  endpointUrl?: string;
}

export function loadCommonConfig(env: Env = process.env): CommonConfig {
  const region = getOptionalStringFromEnv('AWS_REGION', env) ?? getOptionalStringFromEnv('AWS_DEFAULT_REGION', env);
  if (!region) throw new ConfigError('AWS_REGION is required but not set');
  const endpointUrl = getUrlFromEnv('AWS_ENDPOINT_URL', ['http:', 'https:'], env)?.toString();
  return {
    region,
    accountsTable: getStringFromEnv('ACCOUNTS_TABLE', env),
    customerRoleName: getOptionalStringFromEnv('CUSTOMER_ROLE_NAME', env) ?? 'CloudTrailCollectorRole',
    ...(endpointUrl ? { endpointUrl } : {}),
  };
}
