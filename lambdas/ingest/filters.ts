import { getListFromEnv, getOptionalStringFromEnv } from '../shared/config';
import { ConfigError } from '../shared/errors';

/** Which records to drop before forwarding. Empty lists mean "keep everything" (the default). */
export interface RecordFilter {
  dropEventSources: ReadonlySet<string>;
  dropEventNames: ReadonlySet<string>;
  dropReadOnly: boolean;
}

export const KEEP_ALL: RecordFilter = { dropEventSources: new Set(), dropEventNames: new Set(), dropReadOnly: false };

export function loadRecordFilter(env: Record<string, string | undefined> = process.env): RecordFilter {
  const readOnly = getOptionalStringFromEnv('FILTER_DROP_READ_ONLY', env) ?? 'false';
  if (readOnly !== 'true' && readOnly !== 'false') {
    throw new ConfigError(`FILTER_DROP_READ_ONLY must be "true" or "false", got "${readOnly}"`);
  }
  return {
    dropEventSources: new Set(getListFromEnv('FILTER_DROP_EVENT_SOURCES', env)),
    dropEventNames: new Set(getListFromEnv('FILTER_DROP_EVENT_NAMES', env)),
    dropReadOnly: readOnly === 'true',
  };
}

export function filterIsActive(filter: RecordFilter): boolean {
  return filter.dropReadOnly || filter.dropEventSources.size > 0 || filter.dropEventNames.size > 0;
}

/**
 * Whether a record is dropped. Records are only parsed when a filter is active, so the default path forwards
 * bytes untouched. `readOnly` is a boolean in CloudTrail records, but older files carry it as a string.
 */
export function isFilteredOut(record: Buffer, filter: RecordFilter): boolean {
  const parsed = JSON.parse(record.toString('utf8')) as {
    eventSource?: unknown;
    eventName?: unknown;
    readOnly?: unknown;
  };
  if (typeof parsed.eventSource === 'string' && filter.dropEventSources.has(parsed.eventSource)) return true;
  if (typeof parsed.eventName === 'string' && filter.dropEventNames.has(parsed.eventName)) return true;
  return filter.dropReadOnly && (parsed.readOnly === true || parsed.readOnly === 'true');
}
