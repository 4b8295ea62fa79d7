/**
 * Where the sandbox forwards to (`npm start -- --sink ndjson|syslog`): the local NDJSON receiver (the default), or
 * the real rsyslog, started in the foreground on free loopback ports (testkit/rsyslog.ts), which the syslog sink
 * reaches over RELP with TLS: the documented choice for "nothing lost" (docs/sinks.md, "syslog and RELP"). Both
 * are read back the same way: each record's eventID, counted, so the sandbox's "exactly once" holds for either.
 */
import { DownstreamReceiver } from '../../testkit/downstream-receiver';
import { startRsyslog, type Rsyslog } from '../../testkit/rsyslog';

export const SANDBOX_SINKS = ['ndjson', 'syslog'] as const;
export type SandboxSink = (typeof SANDBOX_SINKS)[number];

export function isSandboxSink(value: string): value is SandboxSink {
  return (SANDBOX_SINKS as readonly string[]).includes(value);
}

export interface SandboxDownstream {
  /** What ingest is told (SINK_TYPE, DOWNSTREAM_URL and the sink's own settings). */
  readonly env: Record<string, string>;
  /** One line for the start of the run. */
  readonly description: string;
  /** Each eventID received, and how often, as of the last refresh(). */
  readonly eventIds: ReadonlyMap<string, number>;
  readonly uniqueRecords: number;
  readonly duplicateRecords: number;
  /** What the downstream counted: HTTP requests, or syslog messages. */
  readonly deliveries: { name: string; count: number };
  /** Reads what has arrived (rsyslog writes its file after it acknowledged). */
  refresh(): Promise<void>;
  stop(): Promise<void>;
}

const SANDBOX_TOKEN = 'sandbox-token';

export async function startSandboxDownstream(sink: SandboxSink): Promise<SandboxDownstream> {
  return sink === 'syslog' ? rsyslogDownstream(await startRsyslog()) : receiverDownstream();
}

async function receiverDownstream(): Promise<SandboxDownstream> {
  const receiver = new DownstreamReceiver({ token: SANDBOX_TOKEN });
  const url = await receiver.start();
  return {
    env: { SINK_TYPE: 'ndjson', DOWNSTREAM_URL: url, DOWNSTREAM_TOKEN: SANDBOX_TOKEN },
    description: `downstream receiver ${url}`,
    get eventIds() {
      return receiver.eventIds;
    },
    get uniqueRecords() {
      return receiver.uniqueRecords;
    },
    get duplicateRecords() {
      return receiver.duplicateRecords;
    },
    get deliveries() {
      return { name: 'downstream requests', count: receiver.requests };
    },
    refresh: () => Promise.resolve(),
    stop: () => receiver.stop(),
  };
}

function rsyslogDownstream(rsyslog: Rsyslog): SandboxDownstream {
  const c = rsyslog.certificates;
  let counts = new Map<string, number>();
  let lines = 0;
  const url = `relp+tls://localhost:${rsyslog.ports.relpTls}`;
  return {
    env: {
      SINK_TYPE: 'syslog',
      DOWNSTREAM_URL: url,
      // The receiver's CA, and the client certificate its imrelp TLS input requires (testkit/rsyslog.ts).
      SYSLOG_TLS_CA_FILE: c.caFile,
      SYSLOG_TLS_CERT_FILE: c.clientCertFile,
      SYSLOG_TLS_KEY_FILE: c.clientKeyFile,
      SYSLOG_HOSTNAME: 'cloudtrail-collector-sandbox',
      // The sandbox's records are small; rsyslog is configured for 300 KiB messages, CloudTrail's largest fit.
      SYSLOG_MAX_MESSAGE_BYTES: String(256 * 1024),
    },
    description: `rsyslog (real, RELP over TLS) ${url}`,
    get eventIds() {
      return counts;
    },
    get uniqueRecords() {
      return counts.size;
    },
    get duplicateRecords() {
      let duplicates = 0;
      for (const count of counts.values()) duplicates += count - 1;
      return duplicates;
    },
    get deliveries() {
      return { name: 'syslog messages written by rsyslog', count: lines };
    },
    async refresh() {
      const written = await rsyslog.settledLines('relpTls', 300);
      const next = new Map<string, number>();
      for (const line of written) {
        // Each line is one message's MSG: the CloudTrail record exactly as the collector sent it.
        const record = JSON.parse(line) as { eventID?: unknown };
        const id = typeof record.eventID === 'string' ? record.eventID : `no-event-id:${line}`;
        next.set(id, (next.get(id) ?? 0) + 1);
      }
      counts = next;
      lines = written.length;
    },
    stop: () => rsyslog.dispose(),
  };
}
