import { CollectorError } from '../../shared/errors';
import type { LoggerLike } from '../../shared/logger';
import { HttpSink } from './http-delivery';
import type { Transport } from './http-transport';
import { NDJSON_INTAKE } from './ndjson-intake';
import type { Allocate, Encoding, Release, Sink } from './sink';

/**
 * Builds the configured sink (docs/architecture.md, "Adding a sink"). One kind today: the NDJSON log intake over
 * HTTP. A Splunk HEC or OpenSearch `_bulk` sink is one more kind here, an Encoding beside ndjson-intake.ts, and
 * its settings in config.ts: batching, delivery and retries are shared.
 */
export type SinkKind = 'ndjson-http';

export interface SinkConfig {
  kind: SinkKind;
  url: string;
  token?: string;
  timeoutMs: number;
}

/** What the caller may inject: benchmarks a buffer pool and an in-process transport, tests a fake clock. */
export interface SinkInjections {
  logger: LoggerLike;
  allocate?: Allocate;
  release?: Release;
  transport?: Transport;
}

const ENCODINGS: Record<SinkKind, Encoding> = { 'ndjson-http': NDJSON_INTAKE };

export function createSink(config: SinkConfig, inject: SinkInjections): Sink {
  const encoding = ENCODINGS[config.kind];
  if (!encoding) throw new CollectorError(`unknown sink kind "${String(config.kind)}"`);
  return new HttpSink({
    url: config.url,
    ...(config.token ? { token: config.token } : {}),
    timeoutMs: config.timeoutMs,
    encoding,
    ...inject,
  });
}

export type { Allocate, DeliveryContext, Encoding, RecordBatch, Release, SendResult, Sink } from './sink';
