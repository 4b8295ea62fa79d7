import { readFileSync } from 'node:fs';
import { createSyslogSink } from '../../../lambdas/ingest/sinks/syslog';
import { DEFAULT_MAX_MESSAGE_BYTES, loadSyslogSettings } from '../../../lambdas/ingest/sinks/syslog/config';
import { startRsyslog, type RsyslogInput } from '../../../testkit/rsyslog';
import { TcpFaultProxy } from '../../../testkit/tcp-fault-proxy';
import type { ConformanceFault, ConformanceWorld, SinkConformanceAdapter } from '../sink-conformance';

/**
 * The syslog sink against the real rsyslog (testkit/rsyslog.ts) behind a TCP fault proxy (testkit/tcp-fault-
 * proxy.ts), one rsyslogd per world. Faults sit below TLS, where a syslog sender meets them: `transient` resets
 * the next connections (an rsyslog restart looks the same to the sender), `unavailable` accepts connections and
 * never answers, and `reject-echo` answers every connection with the client's own private key in clear text
 * (the only credential a syslog sink holds) until clear(). The protocol has no request size to refuse
 * (`limitRequestBytes` is absent); the sink's own limit is SYSLOG_MAX_MESSAGE_BYTES, left at its default.
 */
export function syslogAdapter(transport: 'relp+tls' | 'syslog+tls'): SinkConformanceAdapter {
  const input: RsyslogInput = transport === 'relp+tls' ? 'relpTls' : 'tcpTls';
  return {
    name: `syslog (${transport})`,
    // A message is the record plus its header: a record of the limit's size can never fit.
    recordLimitBytes: DEFAULT_MAX_MESSAGE_BYTES,
    async create(inject): Promise<ConformanceWorld> {
      const rsyslog = await startRsyslog();
      const proxy = await new TcpFaultProxy(rsyslog.ports[input]).start();
      const c = rsyslog.certificates;
      const clientKey = readFileSync(c.clientKeyFile, 'utf8');
      const settings = loadSyslogSettings(
        {
          SYSLOG_TLS_CA_FILE: c.caFile,
          SYSLOG_TLS_CERT_FILE: c.clientCertFile,
          SYSLOG_TLS_KEY_FILE: c.clientKeyFile,
          // Short, so that a stalled receiver is given up on well within the deadline cases' 1.5 s.
          DOWNSTREAM_TIMEOUT_MS: '1000',
        },
        `${transport}://localhost:${proxy.port}`,
      );
      const sink = createSyslogSink(settings, inject);
      return {
        sink,
        secrets: [clientKey.replace(/-----[A-Z ]+-----/g, '').trim()],
        // imrelp answers once the message is written (direct queues); plain TCP has no such signal.
        received: () => rsyslog.settledLines(input, 150),
        attempts: () => proxy.accepted,
        inject(fault: ConformanceFault) {
          if (fault.kind === 'transient') proxy.inject({ kind: 'reset', count: fault.count });
          else if (fault.kind === 'unavailable') proxy.inject({ kind: 'stall' });
          else proxy.inject({ kind: 'answer', bytes: Buffer.from(clientKey) });
        },
        clear: () => proxy.clear(),
        close: async () => {
          sink.close();
          await proxy.stop();
          await rsyslog.dispose();
        },
      };
    },
  };
}
