import { FirehoseClient } from '@aws-sdk/client-firehose';
import { S3Client } from '@aws-sdk/client-s3';
import { createSink } from '../../../lambdas/ingest/sinks';
import { FIREHOSE_MAX_RECORD_BYTES } from '../../../lambdas/ingest/sinks/firehose';
import { createFirehoseToS3, deliveredLines, FlakyFirehose } from '../../../testkit/firehose-world';
import { COLLECTOR_ACCOUNT, REGION, useEmulator } from '../../../testkit/test-emulator';
import type { SinkConformanceAdapter } from '../sink-conformance';

/** Not a real key: moto takes any. The suite checks it never shows in a log line or an error. */
const SECRET_ACCESS_KEY = 'firehose-conformance-SECRET-a41c7e';

/**
 * Firehose against moto's Firehose with an S3 destination, the records read back from moto's S3. moto never
 * answers with a partial failure (it takes every record): the transient fault is FlakyFirehose's FailedPutCount
 * (a third of the records of each call), and the echo a permanent AccessDeniedException. Firehose's size limit is
 * fixed (1,000 KiB per record), so there is no request limit to set.
 */
export const firehoseAdapter: SinkConformanceAdapter = {
  name: 'firehose',
  recordLimitBytes: FIREHOSE_MAX_RECORD_BYTES,
  async create(inject) {
    const endpoint = await useEmulator();
    const credentials = { accessKeyId: 'AKIDCONFORMANCE', secretAccessKey: SECRET_ACCESS_KEY };
    const client = new FirehoseClient({ region: REGION, endpoint, credentials });
    const s3 = new S3Client({ region: REGION, endpoint, credentials, forcePathStyle: true });
    const names = { stream: 'conformance-stream', bucket: 'conformance-delivery', account: COLLECTOR_ACCOUNT };
    await createFirehoseToS3(client, s3, names);
    const flaky = new FlakyFirehose(client);
    const sink = createSink(
      { type: 'firehose', streamName: names.stream, region: REGION, timeoutMs: 5_000 },
      { ...inject, firehose: flaky },
    );
    return {
      sink,
      secrets: [SECRET_ACCESS_KEY],
      received: () => deliveredLines(s3, names.bucket),
      attempts: () => flaky.callTimes,
      inject(fault) {
        if (fault.kind === 'transient') {
          // Whole calls refused first, then calls where a third of the records fail.
          flaky.throwNext = fault.count;
          flaky.failFraction = 1 / 3;
          flaky.failCallsLeft = fault.count;
        } else if (fault.kind === 'unavailable') {
          flaky.unavailable = true;
        } else {
          flaky.nextError = Object.assign(
            new Error('User is not authorized to perform: firehose:PutRecordBatch (injected)'),
            { name: 'AccessDeniedException' },
          );
        }
      },
      clear() {
        flaky.unavailable = false;
        flaky.throwNext = 0;
        flaky.failFraction = 0;
        flaky.failCallsLeft = undefined;
        flaky.nextError = undefined;
      },
      close() {
        sink.close();
        client.destroy();
        s3.destroy();
        return Promise.resolve();
      },
    };
  },
};
