/**
 * observe: read-only calls through the account's assumed role (and, for event source mappings, the collector's
 * own Lambda client). Every call that fails makes its part `{ known: false }`; "absent" is only ever concluded
 * from an explicit not-found answer (HeadBucket 404, NotFound, QueueDoesNotExist), never from an error.
 *
 * Calls for a healthy account (own trail, default chain, ingest function configured): 10, in 4 sequential
 * steps (branches run in parallel):
 *   DescribeTrails -> GetTrailStatus (one per trail)
 *     -> HeadBucket -> GetBucketPolicy
 *     -> GetTopicAttributes -> ListSubscriptionsByTopic -> GetSubscriptionAttributes (the queue's subscription)
 *   GetQueueUrl -> GetQueueAttributes                                  (in parallel with the trail branch)
 *   ListEventSourceMappings (collector account)                        (in parallel with the trail branch)
 * GetEventSelectors is called only for trails with custom selectors (the default selector is "all management
 * events, no data events"); buckets and topics other than the trail's are probed only when one must be created.
 * Which buckets and topics are probed is decided by `probeTargets` (targets.ts), whose answer is recorded in the
 * state for the planner; the calls for each part are in observe-resources.ts.
 * Plus one AssumeRole per account per credential lifetime (cached).
 * In the hub topology there is no queue or mapping call once the account is recorded as hub, and the hub
 * subscription's GetSubscriptionAttributes is sent by the collector, its owner (observe-resources.ts): 8 calls.
 * With a ledger (freshness): one Query of the ledger's newest files (in parallel with the trail branch), then
 * for a collected multi-region trail one GetTrailStatus in each other Region the ledger has files from
 * (GetTrailStatus "returns trail status from a single Region": CloudTrail API Reference, GetTrailStatus).
 */
import {
  DescribeTrailsCommand,
  ListTrailsCommand,
  GetEventSelectorsCommand,
  GetInsightSelectorsCommand,
  GetTrailStatusCommand,
  type GetEventSelectorsCommandOutput,
  type ListTrailsCommandInput,
  type Trail,
} from '@aws-sdk/client-cloudtrail';
import { arnParts, queueArn as buildQueueArn } from '../shared/arn';
import { errorMessage } from '../shared/errors';
import type { LedgerTable, NewestFile } from '../shared/ledger';
import type { CollectorClients, CustomerClients } from './clients';
import {
  advancedSelection,
  basicSelection,
  isAllManagement,
  selectsManagementCategory,
  type SelectionReading,
} from './coverage';
import { CHAIN_NAMES } from './names';
import {
  describeError,
  hubSubscriptionReader,
  observeQueuesAndMappings,
  observeTopic,
  pages,
  probeBucket,
  type HubSubscriptionReader,
} from './observe-resources';
import { observeArchive } from './observe-archive';
import { probeTargets } from './targets';
import {
  NOT_OBSERVED,
  known,
  unknown,
  type EventSelectorSummary,
  type InsightSelection,
  type Observation,
  type ObservedEventSourceMapping,
  type ObservedState,
  type ObservedTrail,
  type PlanContext,
  type TrailStatus,
} from './types';

export { describeError, probeBucket } from './observe-resources';

/**
 * The sweep's listing of the ingest function's mappings from this account's queue (lambdas/reconcile/sweep.ts):
 * with it, observe sends no ListEventSourceMappings (Lambda's control plane: 15 requests a second per account).
 */
export interface MappingSnapshot {
  mappings?: readonly ObservedEventSourceMapping[];
}

/** What observe reads of the ledger: the newest collected file per Region (freshness). */
export type LedgerReader = Pick<LedgerTable, 'newest'>;

/**
 * Everything observe reads for one account. `collector` is only needed when an ingest function is configured;
 * `ledger`, only for COLLECTION_LAGGING (absent: neither the ledger nor the other Regions' statuses are read).
 */
export async function observeAccount(
  clients: CustomerClients,
  ctx: PlanContext,
  collector?: CollectorClients,
  ledger?: LedgerReader,
  snapshot: MappingSnapshot = {},
): Promise<ObservedState> {
  const state = nothingObserved(ctx);
  const queueArn = buildQueueArn(ctx.region, ctx.accountId, CHAIN_NAMES.queue);
  await Promise.all([
    (async () => {
      await Promise.all([
        observeTrailChain(clients, ctx, state, queueArn, hubSubscriptionReader(ctx, collector)),
        ledger === undefined ? Promise.resolve() : observeLedger(ledger, ctx.accountId, state),
      ]);
      await observeRegionalStatuses(clients, ctx.accountId, state);
      // A log archive: its bucket's notification configuration (after the trails, which may name its prefix).
      await observeArchive(clients, ctx, state, hubSubscriptionReader(ctx, collector));
    })(),
    observeQueuesAndMappings(clients, ctx, state, collector, snapshot.mappings),
  ]);
  return state;
}

async function observeLedger(ledger: LedgerReader, accountId: string, state: ObservedState): Promise<void> {
  try {
    state.collected = known(Object.fromEntries(await ledger.newest(accountId)) as Record<string, NewestFile>);
  } catch (error) {
    state.collected = unknown(`reading the ledger's newest files: ${errorMessage(error)}`);
  }
}

/**
 * The collected trail's status in every Region the ledger has files from, besides the one already read: a
 * multi-region trail delivers per Region, and GetTrailStatus answers for one Region (by ARN, for a shadow trail).
 */
async function observeRegionalStatuses(clients: CustomerClients, accountId: string, state: ObservedState) {
  const selection = state.probes?.selection;
  if (!state.collected?.known || selection === undefined) return;
  if (selection.kind !== 'existing' && selection.kind !== 'external') return;
  const trail = selection.trail;
  if (!trail.isMultiRegion) return;
  const readIn = trail.status.known ? trail.status.value.region : undefined;
  const regions = Object.keys(state.collected.value).filter((region) => region !== readIn);
  if (regions.length === 0) return;
  const foreign = foreignNote(trail.ownerAccountId, accountId);
  const statuses = await Promise.all(
    regions.map(async (region) => [region, await trailStatus(clients, region, trail.arn, foreign)] as const),
  );
  trail.regionalStatus = Object.fromEntries(statuses);
}

/** What observe reports when the customer role could not be assumed: nothing was read. */
export function roleUnassumable(ctx: PlanContext, roleArn: string, message: string): ObservedState {
  return { ...nothingObserved(ctx), roleError: { roleArn, message } };
}

function nothingObserved(ctx: PlanContext): ObservedState {
  return { accountId: ctx.accountId, region: ctx.region, trails: NOT_OBSERVED, buckets: {}, topics: {}, queues: {} };
}

// ---- trails, and the buckets and topics the probe targets name ------------------------------------------

/**
 * The trails, then in stages what `probeTargets` asks for given what is known so far (the trail's bucket and
 * topic; then, only if needed, the bucket candidates and the default topic; then the fallback name), until it
 * asks for nothing new. Its last answer is recorded for the planner.
 */
async function observeTrailChain(
  clients: CustomerClients,
  ctx: PlanContext,
  state: ObservedState,
  queueArn: string,
  hub?: HubSubscriptionReader,
) {
  state.trails = await observeTrails(clients, ctx.region, ctx.accountId);
  if (!state.trails.known) return;
  for (;;) {
    const targets = probeTargets(state.trails, state, ctx);
    const buckets = targets.buckets.filter(
      (bucket, index) =>
        state.buckets[bucket.name] === undefined &&
        targets.buckets.findIndex((other) => other.name === bucket.name) === index,
    );
    const topics = [...new Set(targets.topics)].filter((arn) => state.topics[arn] === undefined);
    if (buckets.length === 0 && topics.length === 0) {
      state.probes = targets;
      return;
    }
    await Promise.all([
      ...buckets.map(async ({ name, region }) => {
        state.buckets[name] = await probeBucket(clients.s3(region), name, ctx.accountId, true);
      }),
      ...topics.map(async (arn) => {
        state.topics[arn] = await observeTopic(clients, arn, queueArn, hub);
      }),
    ]);
  }
}

/** Trails of the account that DescribeTrails in `region` did not show, described in their home regions. */
async function trailsHomedElsewhere(
  clients: CustomerClients,
  region: string,
  seen: Set<string | undefined>,
): Promise<Observation<Trail[]>> {
  const missing = new Map<string, string[]>();
  try {
    const cloudTrail = clients.cloudTrail(region);
    const listing = pages(
      (input: ListTrailsCommandInput) => cloudTrail.send(new ListTrailsCommand(input)),
      {},
      'NextToken',
      'NextToken',
    );
    for await (const page of listing) {
      for (const info of page.Trails ?? []) {
        if (!info.TrailARN || seen.has(info.TrailARN) || !info.HomeRegion) continue;
        missing.set(info.HomeRegion, [...(missing.get(info.HomeRegion) ?? []), info.TrailARN]);
      }
    }
  } catch (error) {
    return unknown(describeError('ListTrails', error));
  }
  const found: Trail[] = [];
  for (const [homeRegion, arns] of missing) {
    try {
      const response = await clients
        .cloudTrail(homeRegion)
        .send(new DescribeTrailsCommand({ trailNameList: arns, includeShadowTrails: false }));
      found.push(...(response.trailList ?? []));
    } catch (error) {
      return unknown(describeError('DescribeTrails', error));
    }
  }
  return known(found);
}

async function observeTrails(
  clients: CustomerClients,
  region: string,
  accountId: string,
): Promise<Observation<ObservedTrail[]>> {
  let trailList: Trail[];
  try {
    // includeShadowTrails: multi-region trails homed elsewhere and organization trails count for the cost guard.
    const response = await clients.cloudTrail(region).send(new DescribeTrailsCommand({ includeShadowTrails: true }));
    trailList = response.trailList ?? [];
  } catch (error) {
    return unknown(describeError('DescribeTrails', error));
  }
  // A single-region trail homed in another region is not a shadow trail here, yet it logs management events in
  // its region: a multi-region outcomes-trail would bill a second copy there. ListTrails sees every region.
  const elsewhere = await trailsHomedElsewhere(clients, region, new Set(trailList.map((trail) => trail.TrailARN)));
  if (!elsewhere.known) return elsewhere;
  trailList = [...trailList, ...elsewhere.value];
  const visibleHere = new Set(trailList.filter((trail) => !elsewhere.value.includes(trail)).map((t) => t.TrailARN));
  const trails = await Promise.all(
    trailList
      .filter((trail): trail is Trail & { TrailARN: string } => typeof trail.TrailARN === 'string')
      .map(async (trail): Promise<ObservedTrail> => {
        const arn = trail.TrailARN;
        const parts = arnParts(arn);
        const homeRegion = trail.HomeRegion ?? parts.region;
        const [status, selectors, insightSelectors] = await Promise.all([
          trailStatus(
            clients,
            visibleHere.has(arn) ? region : homeRegion,
            arn,
            foreignNote(parts.accountId, accountId),
          ),
          trail.HasCustomEventSelectors === false
            ? Promise.resolve(known<EventSelectorSummary>({ managementEvents: true, dataEvents: false }))
            : eventSelectors(clients, homeRegion, arn, foreignNote(parts.accountId, accountId)),
          trail.HasInsightSelectors === true
            ? insightSelections(clients, homeRegion, arn, foreignNote(parts.accountId, accountId))
            : Promise.resolve(undefined),
        ]);
        return {
          arn,
          name: trail.Name ?? parts.name,
          homeRegion,
          ownerAccountId: parts.accountId,
          isMultiRegion: trail.IsMultiRegionTrail === true,
          isOrganization: trail.IsOrganizationTrail === true,
          ...(trail.IncludeGlobalServiceEvents === false ? { includeGlobalServiceEvents: false } : {}),
          ...(trail.S3BucketName ? { bucketName: trail.S3BucketName } : {}),
          ...(trail.S3KeyPrefix ? { s3KeyPrefix: trail.S3KeyPrefix } : {}),
          ...(trail.SnsTopicARN ? { topicArn: trail.SnsTopicARN } : {}),
          hasInsightSelectors: trail.HasInsightSelectors === true,
          ...(insightSelectors ? { insightSelectors } : {}),
          ...(trail.CloudWatchLogsLogGroupArn ? { cloudWatchLogsLogGroupArn: trail.CloudWatchLogsLogGroupArn } : {}),
          ...(trail.KmsKeyId ? { kmsKeyId: trail.KmsKeyId } : {}),
          ...(typeof trail.LogFileValidationEnabled === 'boolean'
            ? { logFileValidationEnabled: trail.LogFileValidationEnabled }
            : {}),
          status,
          selectors,
        };
      }),
  );
  return known(trails);
}

async function trailStatus(
  clients: CustomerClients,
  region: string,
  arn: string,
  foreign: string,
): Promise<Observation<TrailStatus>> {
  try {
    // By ARN: CloudTrail answers for shadow trails from any region they replicate to.
    const status = await clients.cloudTrail(region).send(new GetTrailStatusCommand({ Name: arn }));
    // Seen from a member account, an organization trail's status can come back without IsLogging: that is
    // "not known", never "not logging" (a stopped trail would let the cost guard create a paid second copy).
    if (typeof status.IsLogging !== 'boolean') return unknown(`GetTrailStatus did not report IsLogging${foreign}`);
    // LatestDeliveryTime / LatestNotificationTime: when CloudTrail last delivered a log file to S3 and last
    // published its notification to SNS, in this Region (CloudTrail API Reference, GetTrailStatus).
    return known({
      isLogging: status.IsLogging,
      ...(status.LatestDeliveryError ? { latestDeliveryError: status.LatestDeliveryError } : {}),
      ...(status.LatestNotificationError ? { latestNotificationError: status.LatestNotificationError } : {}),
      ...isoTime('latestDeliveryTime', status.LatestDeliveryTime),
      ...isoTime('latestNotificationTime', status.LatestNotificationTime),
      region,
    });
  } catch (error) {
    return unknown(describeError('GetTrailStatus', error) + foreign);
  }
}

/** A GetTrailStatus time as ISO text; nothing when CloudTrail gave none (a trail that never delivered). */
function isoTime<K extends string>(name: K, value: Date | undefined): Partial<Record<K, string>> {
  if (!(value instanceof Date) || Number.isNaN(value.getTime())) return {};
  return { [name]: value.toISOString() } as Partial<Record<K, string>>;
}

/**
 * Said of a trail another account owns: an organization trail, whose status and selectors a member account may
 * not be able to read (TrailNotFoundException, CloudTrailARNInvalidException, or a status without IsLogging).
 */
function foreignNote(owner: string, accountId: string): string {
  return owner === accountId
    ? ''
    : ` (an organization trail owned by ${owner}: a member account may not be able to read its status or selectors)`;
}

async function eventSelectors(
  clients: CustomerClients,
  homeRegion: string,
  arn: string,
  foreign: string,
): Promise<Observation<EventSelectorSummary>> {
  try {
    // In the trail's home region: not every region answers for a shadow trail's selectors.
    return known(
      summarizeSelectors(await clients.cloudTrail(homeRegion).send(new GetEventSelectorsCommand({ TrailName: arn }))),
    );
  } catch (error) {
    return unknown(describeError('GetEventSelectors', error) + foreign);
  }
}

/**
 * Which Insights types a trail has on, and on which event categories, for COST_INSIGHTS. Read only for a trail
 * whose DescribeTrails says HasInsightSelectors; InsightNotEnabledException (CloudTrail API Reference,
 * GetInsightSelectors) means none after all.
 */
async function insightSelections(
  clients: CustomerClients,
  homeRegion: string,
  arn: string,
  foreign: string,
): Promise<Observation<InsightSelection[]>> {
  try {
    const response = await clients.cloudTrail(homeRegion).send(new GetInsightSelectorsCommand({ TrailName: arn }));
    return known(
      (response.InsightSelectors ?? []).flatMap((selector): InsightSelection[] =>
        selector.InsightType === 'ApiCallRateInsight' || selector.InsightType === 'ApiErrorRateInsight'
          ? [
              {
                type: selector.InsightType,
                categories:
                  (selector.EventCategories ?? []).length > 0 ? [...selector.EventCategories!] : ['Management'],
              },
            ]
          : [],
      ),
    );
  } catch (error) {
    if ((error as { name?: string }).name === 'InsightNotEnabledException') return known([]);
    return unknown(describeError('GetInsightSelectors', error) + foreign);
  }
}

/**
 * Basic or advanced selectors reduced to "logs management events", "logs data events", and exactly which
 * management events (coverage.ts: read and/or write, event sources), left out when it is all of them.
 */
export function summarizeSelectors(
  response: Pick<GetEventSelectorsCommandOutput, 'EventSelectors' | 'AdvancedEventSelectors'>,
): EventSelectorSummary {
  const advanced = response.AdvancedEventSelectors ?? [];
  if (advanced.length > 0) {
    const categories = advanced.flatMap((selector) =>
      (selector.FieldSelectors ?? [])
        .filter((field) => field.Field === 'eventCategory')
        .flatMap((field) => field.Equals ?? []),
    );
    return withSelection(
      {
        managementEvents: advanced.some(selectsManagementCategory),
        dataEvents: categories.includes('Data'),
        ...(categories.includes('NetworkActivity') ? { networkActivityEvents: true as const } : {}),
      },
      advancedSelection(advanced),
    );
  }
  const basic = response.EventSelectors ?? [];
  // No selectors at all is CloudTrail's default: all management events, no data events.
  if (basic.length === 0) return { managementEvents: true, dataEvents: false };
  return withSelection(
    {
      managementEvents: basic.some((selector) => selector.IncludeManagementEvents !== false),
      dataEvents: basic.some((selector) => (selector.DataResources ?? []).length > 0),
    },
    basicSelection(basic),
  );
}

function withSelection(summary: EventSelectorSummary, reading: SelectionReading): EventSelectorSummary {
  const exact =
    summary.managementEvents && !isAllManagement(reading.selection) ? { management: reading.selection } : {};
  return { ...summary, ...exact, ...(reading.unmodelled.length > 0 ? { unmodelled: reading.unmodelled } : {}) };
}
