/**
 * The one shape of an S3 object on its way through ingest (docs/architecture.md, "Ingest"): announced by a
 * notification (source/notifications.ts), classified by its key (lambdas/shared/object-key.ts), read (pipeline.ts, where
 * GetObject's answer replaces the version id and ETag), and named by the idempotency key of each of its batches.
 */

import type { ObjectKind } from '../shared/object-key';

/** What a key names: CloudTrail log and Insight files hold records; digests prove integrity; anything else is
 * not a CloudTrail file (classified in lambdas/shared/object-key.ts). */
export type { ObjectKind };

/** The kinds whose records are forwarded. */
export type RecordKind = Extract<ObjectKind, 'log' | 'insight'>;

export interface LogObject {
  bucket: string;
  /** The decoded object key, as passed to GetObject (not the URL-encoded form of S3 event notifications). */
  key: string;
  versionId?: string;
  /** Quoted (GetObject) or not (event notifications): the idempotency key strips the quotes. */
  etag?: string;
  size?: number;
  kind: ObjectKind;
  /**
   * Which notification shape announced it (`backfill`: a collector backfill message, from the backfill queue),
   * and whether inside an SNS envelope: for logs only.
   */
  via?: 'cloudtrail' | 's3' | 'eventbridge' | 'backfill';
  sns?: boolean;
}

/** A LogObject as a notification announces it: its kind is not known until its key is classified. */
export type AnnouncedObject = Omit<LogObject, 'kind'> & Required<Pick<LogObject, 'via' | 'sns'>>;

/** A LogObject whose records are forwarded. */
export type RecordObject = LogObject & { kind: RecordKind };

export function describeObject(object: Pick<LogObject, 'bucket' | 'key'>): string {
  return `s3://${object.bucket}/${object.key}`;
}
