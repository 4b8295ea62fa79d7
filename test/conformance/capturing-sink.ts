import type { OutgoingHttpHeaders } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { silentLogger } from '../../lambdas/shared/logger';
import { HttpSink } from '../../lambdas/ingest/sinks/http-delivery';
import type { Sink } from '../../lambdas/ingest/sinks/sink';

export interface CapturedRequest {
  headers: OutgoingHttpHeaders;
  /** The gunzipped body. */
  text: string;
}

/**
 * The production sink (NDJSON encoding, gzip, headers, delivery) with an in-process transport in place of the
 * socket: every request is accepted and kept, so tests see exactly what the downstream would receive.
 */
export function capturingSink(): Sink & { requests: CapturedRequest[]; lines: string[]; records: unknown[] } {
  const requests: CapturedRequest[] = [];
  const lines: string[] = [];
  const sink = new HttpSink({
    url: 'http://in-process.invalid/intake',
    timeoutMs: 60_000,
    logger: silentLogger,
    transport: {
      post: (body, headers) => {
        const text = gunzipSync(body).toString('utf8');
        requests.push({ headers, text });
        expect(text.endsWith('\n')).toBe(true);
        lines.push(...text.slice(0, -1).split('\n'));
        return Promise.resolve({ status: 200, headers: {}, snippet: '', truncated: false });
      },
      close: () => undefined,
    },
  });
  return {
    recordOverheadBytes: sink.recordOverheadBytes,
    send: (batch, ctx) => sink.send(batch, ctx),
    close: () => sink.close(),
    requests,
    lines,
    get records(): unknown[] {
      return lines.map((line) => JSON.parse(line) as unknown);
    },
  };
}
