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

/** An optional URL variable restricted to the given protocols. */
export function getUrlFromEnv(name: string, protocols: string[], env: Env = process.env): URL | undefined {
  const raw = getOptionalStringFromEnv(name, env);
  if (raw === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch (error) {
    throw new ConfigError(`${name} is not a valid URL: "${raw}"`, { cause: error });
  }
  if (!protocols.includes(url.protocol)) {
    throw new ConfigError(`${name} must use ${protocols.join(' or ')}, got "${url.protocol}"`);
  }
  return url;
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
