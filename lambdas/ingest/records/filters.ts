import { getListFromEnv, getOptionalStringFromEnv } from '../../shared/config';
import { ConfigError } from '../../shared/errors';
import type { FieldValue } from './record-splitter';

/** Which records to drop before forwarding. Empty lists mean "keep everything" (the default). */
export interface RecordFilter {
  dropEventSources: ReadonlySet<string>;
  dropEventNames: ReadonlySet<string>;
  dropReadOnly: boolean;
}

export const KEEP_ALL: RecordFilter = { dropEventSources: new Set(), dropEventNames: new Set(), dropReadOnly: false };

/**
 * The record members filters decide on, in this order. The splitter reads their values while it scans
 * (RecordSplitterOptions.fields), so a filtered record is never parsed again.
 */
export const FILTER_FIELDS = ['eventSource', 'eventName', 'readOnly'] as const;

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
 * Whether a record is dropped, from its FILTER_FIELDS values as the splitter read them. Only called when a
 * filter is active, so the default path forwards bytes untouched. `readOnly` is a boolean in CloudTrail records,
 * but older files carry it as a string.
 */
export function dropsRecord(fields: readonly FieldValue[], filter: RecordFilter): boolean {
  const [eventSource, eventName, readOnly] = fields;
  if (typeof eventSource === 'string' && filter.dropEventSources.has(eventSource)) return true;
  if (typeof eventName === 'string' && filter.dropEventNames.has(eventName)) return true;
  return filter.dropReadOnly && (readOnly === true || readOnly === 'true');
}

/** Keeps the records the filter does not drop; `fields[i]` are the FILTER_FIELDS values of `records[i]`. */
export function keepRecords(
  records: Buffer[],
  fields: readonly (readonly FieldValue[])[],
  filter: RecordFilter,
): Buffer[] {
  return records.filter((_, index) => !dropsRecord(fields[index] ?? [], filter));
}

/** For a record held only as bytes (outside the splitter): one parse, then the same decision. */
export function isFilteredOut(record: Buffer, filter: RecordFilter): boolean {
  const parsed = JSON.parse(record.toString('utf8')) as Record<string, unknown>;
  return dropsRecord(
    FILTER_FIELDS.map((name) => scalar(parsed[name])),
    filter,
  );
}

function scalar(value: unknown): FieldValue {
  return typeof value === 'string' || typeof value === 'boolean' || value === null ? value : undefined;
}
