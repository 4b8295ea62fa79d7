import { createSink } from '../../../lambdas/ingest/sinks';
import { HecReceiver } from '../../../testkit/hec-receiver';
import type { SinkConformanceAdapter } from '../sink-conformance';

const TOKEN = '5e0b9a1c-hec-SECRET-token-77d2';

/**
 * Splunk HEC with indexer acknowledgement on, against the test kit's HecReceiver. Its transient fault is HEC's
 * "server is busy" (503, code 9); the echo is a 403 "invalid token" whose text repeats the Authorization header.
 */
export const splunkHecAdapter: SinkConformanceAdapter = {
  name: 'splunk-hec',
  async create(inject) {
    const receiver = new HecReceiver({ token: TOKEN, ack: true, ackAfterPolls: 1 });
    const url = await receiver.start();
    const sink = createSink(
      {
        type: 'splunk-hec',
        url,
        token: TOKEN,
        timeoutMs: 5_000,
        hec: { index: 'cloudtrail', host: 'collector', ack: { timeoutMs: 2_000, pollMs: 20 } },
      },
      inject,
    );
    return {
      sink,
      secrets: [TOKEN],
      received: () => Promise.resolve(receiver.events.map((event) => event.event)),
      attempts: () => receiver.requestTimes,
      inject(fault) {
        const busy = () => ({ status: 503, body: JSON.stringify({ text: 'Server is busy', code: 9 }) });
        if (fault.kind === 'transient') {
          receiver.intercept(...Array.from({ length: fault.count }, () => busy));
        } else if (fault.kind === 'unavailable') {
          receiver.interceptAll(busy);
        } else {
          receiver.intercept((request) => ({
            status: 403,
            body: JSON.stringify({ text: `Invalid token: ${String(request.headers.authorization)}`, code: 4 }),
          }));
        }
      },
      clear() {
        receiver.clearInterceptions();
        receiver.setMaxContentLength(undefined);
      },
      limitRequestBytes(bytes) {
        receiver.setMaxContentLength(bytes);
      },
      async close() {
        sink.close();
        await receiver.stop();
      },
    };
  },
};
