import { AssumeRoleCommand, type STSClient } from '@aws-sdk/client-sts';
import type { AwsCredentialIdentity } from '@aws-sdk/types';
import { CollectorError, awsErrorName, errorMessage } from './errors';
import { LruCache } from './lru-cache';

/** AssumeRole into a customer account failed: the role is missing, the ExternalId is wrong, or STS throttled. */
export class RoleAssumptionError extends CollectorError {
  constructor(
    readonly roleArn: string,
    readonly errorName: string | undefined,
    cause: unknown,
  ) {
    super(`cannot assume ${roleArn}: ${errorMessage(cause)}`, { cause });
  }
}

export interface RoleTarget {
  accountId: string;
  roleArn: string;
  externalId: string;
}

export interface CredentialCacheOptions {
  sessionName: string;
  /** Credentials are refreshed this long before they expire, so no call starts with nearly-dead keys. */
  refreshMarginMs?: number;
  durationSeconds?: number;
  now?: () => number;
  /**
   * Roles whose credentials are kept (least recently used dropped first; default 256). A dropped role is assumed
   * again on its next use, so the bound costs AssumeRole calls, never correctness.
   */
  maxEntries?: number;
}

export const DEFAULT_CREDENTIAL_CACHE_SIZE = 256;

/**
 * Assumed-role credentials per customer role, cached until shortly before they expire, for at most `maxEntries`
 * roles (a warm function sees every account over time: issue 14). Concurrent callers for the same role share one
 * AssumeRole call. The ExternalId is always sent: a role without one is never assumed.
 */
export class AssumedRoleCredentialCache {
  private readonly entries: LruCache<string, Promise<AwsCredentialIdentity>>;
  private readonly refreshMarginMs: number;
  private readonly durationSeconds: number;
  private readonly now: () => number;
  assumeRoleCalls = 0;

  constructor(
    private readonly sts: STSClient,
    private readonly options: CredentialCacheOptions,
  ) {
    this.refreshMarginMs = options.refreshMarginMs ?? 5 * 60_000;
    this.durationSeconds = options.durationSeconds ?? 3600;
    this.now = options.now ?? Date.now;
    this.entries = new LruCache(options.maxEntries ?? DEFAULT_CREDENTIAL_CACHE_SIZE);
  }

  /** Roles whose credentials are held now. */
  get size(): number {
    return this.entries.size;
  }

  async credentialsFor(target: RoleTarget): Promise<AwsCredentialIdentity> {
    const cacheKey = `${target.roleArn}\u0000${target.externalId}`;
    const cached = this.entries.get(cacheKey);
    if (cached) {
      const credentials = await cached.catch(() => undefined);
      if (credentials && !this.isStale(credentials)) return credentials;
      // Only the caller that sees the stale entry replaces it; others now find the fresh promise.
      if (this.entries.get(cacheKey) !== cached) return this.credentialsFor(target);
    }
    const pending = this.assume(target);
    this.entries.set(cacheKey, pending);
    pending.catch(() => {
      if (this.entries.get(cacheKey) === pending) this.entries.delete(cacheKey);
    });
    return pending;
  }

  /** A credential provider for SDK clients: asks the cache on every signing, so long runs never use expired keys. */
  providerFor(target: RoleTarget): () => Promise<AwsCredentialIdentity> {
    return () => this.credentialsFor(target);
  }

  private isStale(credentials: AwsCredentialIdentity): boolean {
    return (
      credentials.expiration !== undefined && credentials.expiration.getTime() - this.refreshMarginMs <= this.now()
    );
  }

  private async assume(target: RoleTarget): Promise<AwsCredentialIdentity> {
    if (!target.externalId)
      throw new RoleAssumptionError(target.roleArn, 'MissingExternalId', 'no ExternalId registered');
    this.assumeRoleCalls += 1;
    try {
      const response = await this.sts.send(
        new AssumeRoleCommand({
          RoleArn: target.roleArn,
          ExternalId: target.externalId,
          RoleSessionName: this.options.sessionName,
          DurationSeconds: this.durationSeconds,
        }),
      );
      const c = response.Credentials;
      if (!c?.AccessKeyId || !c.SecretAccessKey) throw new Error('STS returned no credentials');
      return {
        accessKeyId: c.AccessKeyId,
        secretAccessKey: c.SecretAccessKey,
        ...(c.SessionToken ? { sessionToken: c.SessionToken } : {}),
        ...(c.Expiration ? { expiration: c.Expiration } : {}),
      };
    } catch (error) {
      throw new RoleAssumptionError(target.roleArn, awsErrorName(error), error);
    }
  }
}
