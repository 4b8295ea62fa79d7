import { createSink } from '../../../lambdas/ingest/sinks';
import { BulkReceiver } from '../../../testkit/bulk-receiver';
import type { SinkConformanceAdapter } from '../sink-conformance';

const API_KEY = 'VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw-SECRET';

/**
 * `_bulk` with an API key against the test kit's BulkReceiver. Its transient fault is every item of a request
 * answered 429 (`es_rejected_execution_exception`), the way a busy cluster sheds load; the echo is a 401 whose
 * reason repeats the Authorization header.
 */
export const elasticsearchAdapter: SinkConformanceAdapter = {
  name: 'elasticsearch',
  async create(inject) {
    const receiver = new BulkReceiver({ apiKey: API_KEY });
    const url = await receiver.start();
    const sink = createSink(
      {
        type: 'elasticsearch',
        url,
        token: API_KEY,
        timeoutMs: 5_000,
        auth: 'api-key',
        elasticsearch: { index: 'cloudtrail-%Y.%m.%d', dataStream: false },
      },
      inject,
    );
    return {
      sink,
      secrets: [API_KEY],
      received: () => Promise.resolve(receiver.sources),
      attempts: () => receiver.requestTimes,
      inject(fault) {
        if (fault.kind === 'transient') {
          for (let i = 0; i < fault.count; i++) receiver.failItems(() => 429);
        } else if (fault.kind === 'unavailable') {
          receiver.interceptAll(() => ({ status: 503, body: '{"error":"unavailable"}' }));
        } else {
          receiver.intercept((request) => ({
            status: 401,
            body: JSON.stringify({
              error: {
                type: 'security_exception',
                reason: `unable to authenticate ${String(request.headers.authorization)}`,
              },
            }),
          }));
        }
      },
      clear() {
        receiver.clearInterceptions();
        receiver.clearItemFaults();
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
