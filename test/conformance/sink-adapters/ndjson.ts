import { createSink } from '../../../lambdas/ingest/sinks';
import { DownstreamReceiver } from '../../../testkit/downstream-receiver';
import type { SinkConformanceAdapter } from '../sink-conformance';

const TOKEN = 'ndjson-conformance-SECRET-8c1f0e';

/** The NDJSON intake against the test kit's DownstreamReceiver (which drops batches whose key it has). */
export const ndjsonAdapter: SinkConformanceAdapter = {
  name: 'ndjson',
  async create(inject) {
    const receiver = new DownstreamReceiver({ token: TOKEN, keepLines: true });
    const url = await receiver.start();
    const sink = createSink({ type: 'ndjson', url, token: TOKEN, timeoutMs: 5_000 }, inject);
    return {
      sink,
      secrets: [TOKEN],
      received: () =>
        Promise.resolve(receiver.batches.filter((batch) => !batch.duplicateKey).flatMap((batch) => batch.lines ?? [])),
      attempts: () => receiver.requestTimes,
      inject(fault) {
        if (fault.kind === 'transient') {
          for (let i = 0; i < fault.count; i++) receiver.inject({ kind: 'status', status: 503 });
        } else if (fault.kind === 'unavailable') {
          receiver.setFaultPolicy(() => ({ kind: 'status', status: 503 }));
        } else {
          receiver.inject({ kind: 'status', status: 400, echoHeaders: true });
        }
      },
      clear() {
        receiver.setFaultPolicy(undefined);
        receiver.maxBodyBytes = undefined;
      },
      limitRequestBytes(bytes) {
        receiver.maxBodyBytes = bytes;
      },
      async close() {
        sink.close();
        await receiver.stop();
      },
    };
  },
};
