import { DownstreamError } from '../http-delivery';
import type { SinkInjections } from '../index';
import type { DeliveryContext, RecordBatch, SendResult, Sink } from '../sink';
import type { SyslogSettings } from './config';
import { connector, type Connect, type ReadSecret } from './connection';
import { eventIdOf, octetCountedFrames, SyslogFormatter } from './message';
import { RelpClient } from './relp';
import { StreamClient } from './stream';

/**
 * The syslog sink (docs/sinks.md, "syslog and RELP"): each CloudTrail record becomes one RFC 5424 message, sent
 * over RELP (acknowledged, `relp:` and `relp+tls:`) or octet-counted over TCP (`syslog+tcp:`) or TLS
 * (`syslog+tls:`, RFC 5425). A record whose message exceeds SYSLOG_MAX_MESSAGE_BYTES fails its batch before
 * anything of the batch is sent: a permanent error naming the record's eventID, never a truncated message.
 */
export interface SyslogSinkOptions {
  /** Tests: how a *_SECRET_ARN is read (default Secrets Manager) or how connections are opened. */
  readSecret?: ReadSecret;
  connect?: Connect;
  random?: () => number;
  baseDelayMs?: number;
  maxDelayMs?: number;
}

export function createSyslogSink(
  settings: SyslogSettings,
  inject: SinkInjections,
  options: SyslogSinkOptions = {},
): Sink {
  return new SyslogSink(settings, inject, options);
}

export function describeSyslogTarget(settings: Pick<SyslogSettings, 'transport' | 'tls' | 'host' | 'port'>): string {
  const scheme = settings.transport === 'relp' ? 'relp' : 'syslog';
  const host = settings.host.includes(':') ? `[${settings.host}]` : settings.host;
  return `${scheme}${settings.tls ? '+tls' : settings.transport === 'tcp' ? '+tcp' : ''}://${host}:${settings.port}`;
}

class SyslogSink implements Sink {
  readonly recordOverheadBytes: number;
  private readonly formatter: SyslogFormatter;
  private readonly describe: string;
  private readonly relp: RelpClient | undefined;
  private readonly stream: StreamClient | undefined;

  constructor(
    private readonly settings: SyslogSettings,
    inject: SinkInjections,
    options: SyslogSinkOptions,
  ) {
    this.formatter = new SyslogFormatter(settings);
    this.recordOverheadBytes = this.formatter.overheadBytes;
    this.describe = describeSyslogTarget(settings);
    const common = {
      connect: options.connect ?? connector(settings, options.readSecret),
      describe: this.describe,
      timeoutMs: settings.timeoutMs,
      logger: inject.logger,
      ...((options.random ?? inject.random) ? { random: options.random ?? inject.random } : {}),
      ...(options.baseDelayMs !== undefined ? { baseDelayMs: options.baseDelayMs } : {}),
      ...(options.maxDelayMs !== undefined ? { maxDelayMs: options.maxDelayMs } : {}),
    };
    if (settings.transport === 'relp') this.relp = new RelpClient({ ...common, window: settings.relpWindow });
    else this.stream = new StreamClient(common);
  }

  async send(batch: RecordBatch, ctx: DeliveryContext): Promise<SendResult> {
    const messages = this.formatter.messages(batch.records, this.formatter.structuredDataFor(batch.object));
    this.checkSizes(batch, messages, ctx.idempotencyKey);
    if (this.relp) {
      const done = await this.relp.deliver(messages, ctx.idempotencyKey, ctx.deadline);
      return { requests: done.commands, bytesSent: done.bytes };
    }
    const done = await this.stream!.deliver(octetCountedFrames(messages), ctx.idempotencyKey, ctx.deadline);
    return { requests: done.writes, bytesSent: done.bytes };
  }

  close(): void {
    this.relp?.close();
    this.stream?.close();
  }

  /** Every record over the limit is named (eventID, size), so that one look at the error shows them all. */
  private checkSizes(batch: RecordBatch, messages: readonly Buffer[], key: string): void {
    const limit = this.settings.maxMessageBytes;
    const over: string[] = [];
    messages.forEach((message, i) => {
      if (message.length > limit) {
        const id = eventIdOf(batch.records[i]!);
        over.push(`${id === undefined ? `record ${i} (no eventID)` : `eventID ${id}`}: ${message.length} bytes`);
      }
    });
    if (over.length === 0) return;
    throw new DownstreamError(
      `batch ${key} of s3://${batch.object.bucket}/${batch.object.key} has ${over.length} record(s) whose syslog message exceeds SYSLOG_MAX_MESSAGE_BYTES (${limit}); nothing of the batch was sent, nothing is truncated: ${over.slice(0, 10).join(', ')}${over.length > 10 ? ', ...' : ''}. Raise the limit here and on the receiver (rsyslog: maxMessageSize), then redrive`,
      { permanent: true, attempts: 0 },
    );
  }
}

export type { SyslogSettings } from './config';
export { loadSyslogSettings } from './config';
