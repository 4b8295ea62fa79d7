/**
 * `verify --account-id ID [--since ISO] [--until ISO] [--json]`: CloudTrail's signed digests of the account's trail
 * over a window, checked against the ledger of collected files (docs/completeness.md, "Digest verification";
 * lambdas/shared/completeness.ts does the work). Exit 0 when every file the digests list was collected with its
 * hash, every digest signature verified and the chain held; 1 otherwise (also when the window holds no digest);
 * 2 for bad input.
 *
 * The trail (bucket, S3KeyPrefix, multi-Region or not) comes from the registry's trailArn and DescribeTrails, read
 * as the customer role (with its ExternalId). Public keys come from ListPublicKeys in each Region, as the role: the
 * CloudTrail client is injectable (`VerifyDeps.clientsFor`), because moto 5.2.1 does not implement ListPublicKeys
 * and the tests answer it with a test key (testkit/digest.ts).
 */
import { DescribeTrailsCommand, type CloudTrailClient } from '@aws-sdk/client-cloudtrail';
import type { S3Client } from '@aws-sdk/client-s3';
import { arnParts, isAccountId, partitionOf, roleArn } from '../../lambdas/shared/arn';
import { awsClients } from '../../lambdas/shared/aws-clients';
import {
  digestRegions,
  isComplete,
  publicKeyRange,
  verifyCompleteness,
  verifyJson,
  type CompletenessReport,
  type TrailLocation,
} from '../../lambdas/shared/completeness';
import { getOptionalStringFromEnv, loadCommonConfig } from '../../lambdas/shared/config';
import { AssumedRoleCredentialCache, type RoleTarget } from '../../lambdas/shared/credentials';
import { PublicKeyCache } from '../../lambdas/shared/digest';
import { PermanentInputError } from '../../lambdas/shared/errors';
import { LedgerTable, ledgerTableName } from '../../lambdas/shared/ledger';
import { createStderrLogger } from '../../lambdas/shared/logger';
import type { AccountRecord, AccountsRegistry } from '../../lambdas/shared/registry';
import { EXIT, printJson, printResult } from './output';
import { prepareLedgerTable } from './ingest';
import { registryFromEnv } from './registry-context';

const DAY_MS = 24 * 3_600_000;

export interface VerifyOptions {
  accountId: string;
  since?: string;
  until?: string;
  json?: boolean;
}

/** Clients acting in the customer account (its role). */
export interface VerifyClients {
  s3: Pick<S3Client, 'send'>;
  cloudTrail(region: string): Pick<CloudTrailClient, 'send'>;
}

export interface VerifyDeps {
  registry: Pick<AccountsRegistry, 'require'>;
  ledger: Pick<LedgerTable, 'collectedOn'>;
  clientsFor(record: AccountRecord): Promise<VerifyClients>;
  now(): Date;
}

function instant(flag: string, value: string): Date {
  const time = Date.parse(value);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(value) || Number.isNaN(time)) {
    throw new PermanentInputError(`${flag} must be an ISO 8601 time such as 2026-11-01T00:00:00Z, got "${value}"`);
  }
  return new Date(time);
}

/** The window: --since/--until, by default the 24 hours before now. */
export function verifyWindow(options: Pick<VerifyOptions, 'since' | 'until'>, now: Date): { since: Date; until: Date } {
  const until = options.until !== undefined ? instant('--until', options.until) : now;
  const since = options.since !== undefined ? instant('--since', options.since) : new Date(until.getTime() - DAY_MS);
  if (since.getTime() >= until.getTime()) {
    throw new PermanentInputError(`--since (${since.toISOString()}) must be before --until (${until.toISOString()})`);
  }
  return { since, until };
}

/** The recorded trail, and where it delivers, as DescribeTrails says in its home Region. */
export async function trailLocation(
  record: AccountRecord,
  clients: VerifyClients,
): Promise<{ location: TrailLocation; multiRegion: boolean }> {
  if (record.trailArn === undefined) {
    throw new PermanentInputError(
      `account ${record.accountId} has no trail recorded in the registry: run \`cloudtrail-collector plan --account-id ${record.accountId}\` first`,
    );
  }
  const { region: homeRegion, name } = arnParts(record.trailArn);
  const answer = await clients
    .cloudTrail(homeRegion)
    .send(new DescribeTrailsCommand({ trailNameList: [record.trailArn], includeShadowTrails: true }));
  const trail = answer.trailList?.find(
    (candidate) => candidate.TrailARN === record.trailArn || candidate.Name === name,
  );
  if (trail === undefined) {
    throw new PermanentInputError(`trail ${record.trailArn} of account ${record.accountId} does not exist any more`);
  }
  const bucket = record.bucketName ?? trail.S3BucketName;
  if (bucket === undefined) throw new PermanentInputError(`trail ${record.trailArn} names no S3 bucket`);
  if (trail.IsOrganizationTrail && record.organizationId === undefined) {
    throw new PermanentInputError(
      `trail ${record.trailArn} is an organization trail, but account ${record.accountId} has no organization recorded (organizations add|sync)`,
    );
  }
  return {
    location: {
      bucket,
      trailName: trail.Name ?? name,
      homeRegion: trail.HomeRegion ?? homeRegion,
      ...(trail.S3KeyPrefix ? { prefix: trail.S3KeyPrefix } : {}),
      ...(trail.IsOrganizationTrail && record.organizationId ? { orgId: record.organizationId } : {}),
    },
    multiRegion: trail.IsMultiRegionTrail === true,
  };
}

/** Runs the verification for one account (the command's core, also for tests). */
export async function runVerify(options: VerifyOptions, deps: VerifyDeps): Promise<CompletenessReport> {
  if (!isAccountId(options.accountId)) {
    throw new PermanentInputError(`--account-id must be 12 digits, got "${options.accountId}"`);
  }
  const { since, until } = verifyWindow(options, deps.now());
  const record = await deps.registry.require(options.accountId);
  const clients = await deps.clientsFor(record);
  const { location, multiRegion } = await trailLocation(record, clients);
  const regions = multiRegion
    ? await digestRegions(clients.s3, record.accountId, location)
    : [location.homeRegion ?? arnParts(record.trailArn!).region];
  return verifyCompleteness({
    accountId: record.accountId,
    since,
    until,
    trail: location,
    regions,
    allowedLogAccounts: new Set([record.accountId, ...(record.logArchiveFor ?? [])]),
    s3: clients.s3,
    publicKeys: new PublicKeyCache((region) => clients.cloudTrail(region), publicKeyRange(since, until)),
    ledger: deps.ledger,
  });
}

/** The report for people. */
export function formatVerifyReport(report: CompletenessReport): string {
  const { logFiles, digests, details } = report;
  const lines = [
    `account ${report.accountId}, ${report.since} to ${report.until}: ${isComplete(report) && report.digests.read > 0 ? 'complete' : 'NOT complete'}`,
    `digests: ${digests.read} read, ${digests.signatureValid} with a valid signature, ` +
      `${digests.signatureInvalid.length} invalid, ${digests.chainBreaks} chain breaks`,
    `log files listed in the digests: ${logFiles.listedInDigests}, collected with their hash: ${logFiles.collected}`,
  ];
  const list = (title: string, refs: { bucket: string; key: string; reason?: string }[]) => {
    if (refs.length === 0) return;
    lines.push(`${title} (${refs.length}):`);
    for (const ref of refs) lines.push(`  s3://${ref.bucket}/${ref.key}${ref.reason ? `\n      ${ref.reason}` : ''}`);
  };
  list('not collected (in the bucket, not in the ledger: backfill them)', logFiles.notCollected);
  list('collected with another hash than the digest lists', logFiles.hashMismatch);
  list('missing from the bucket (deleted after CloudTrail delivered them)', logFiles.missingFromBucket);
  list('invalid digests', details.signatureInvalid);
  list('chain breaks', details.chainBreaks);
  for (const failure of details.publicKeyErrors)
    lines.push(`ListPublicKeys failed in ${failure.region}: ${failure.error}`);
  if (digests.read === 0) {
    lines.push('no digest in the window: is log file validation enabled on the trail (EnableLogFileValidation)?');
  }
  return lines.join('\n');
}

/** The real dependencies: the registry and ledger of ACCOUNTS_TABLE, clients through the customer role. */
export async function verifyDepsFromEnv(): Promise<VerifyDeps> {
  const config = loadCommonConfig();
  const registry = registryFromEnv();
  const ledgerName = ledgerTableName(config.accountsTable, getOptionalStringFromEnv('LEDGER_TABLE'));
  // The stack creates the ledger table in AWS; against the emulator it may not exist yet.
  await prepareLedgerTable({ ...config, ledgerTable: ledgerName }, awsClients, createStderrLogger('warn'));
  const credentials = new AssumedRoleCredentialCache(awsClients.sts({ region: config.region }), {
    sessionName: 'cloudtrail-collector-verify',
  });
  return {
    registry,
    ledger: new LedgerTable(registry.db, ledgerName),
    now: () => new Date(),
    async clientsFor(record) {
      const target: RoleTarget = {
        accountId: record.accountId,
        roleArn: roleArn(partitionOf(config.region), record.accountId, record.roleName ?? config.customerRoleName),
        externalId: record.externalId,
      };
      await credentials.credentialsFor(target);
      const provider = credentials.providerFor(target);
      const trails = new Map<string, CloudTrailClient>();
      return {
        s3: awsClients.s3({ region: config.region, credentials: provider }),
        cloudTrail(region) {
          let client = trails.get(region);
          if (client === undefined) {
            client = awsClients.cloudTrail({ region, credentials: provider });
            trails.set(region, client);
          }
          return client;
        },
      };
    },
  };
}

export async function verifyCommand(options: VerifyOptions, deps?: VerifyDeps): Promise<number> {
  const report = await runVerify(options, deps ?? (await verifyDepsFromEnv()));
  if (options.json) printJson(verifyJson(report));
  else printResult(formatVerifyReport(report));
  // No digest in the window proves nothing (validation off, or a window younger than the hourly digest).
  return isComplete(report) && report.digests.read > 0 ? EXIT.ok : EXIT.failures;
}
