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
 *
 * `lines` is in batch order (the order `send` was called), not in the order requests completed: with several
 * batches in flight their compression finishes in any order, as it does in production.
 */
export function capturingSink(): Sink & { requests: CapturedRequest[]; lines: string[]; records: unknown[] } {
  const requests: CapturedRequest[] = [];
  const bodies = new Map<string, string>();
  const sent: string[] = [];
  const sink = new HttpSink({
    url: 'http://in-process.invalid/intake',
    timeoutMs: 60_000,
    logger: silentLogger,
    transport: {
      post: (body, headers) => {
        const text = gunzipSync(body).toString('utf8');
        requests.push({ headers, text });
        expect(text.endsWith('\n')).toBe(true);
        bodies.set(String(headers['x-idempotency-key']), text);
        return Promise.resolve({ status: 200, headers: {}, snippet: '', truncated: false });
      },
      close: () => undefined,
    },
  });
  /** The bodies sent for one batch: its own key, or the `<key>.0`, `<key>.1`, ... parts of a 413 split, in order. */
  const linesOf = (key: string): string[] =>
    [...bodies.keys()]
      .filter((sentKey) => sentKey === key || sentKey.startsWith(`${key}.`))
      .sort()
      .flatMap((sentKey) => bodies.get(sentKey)!.slice(0, -1).split('\n'));
  return {
    recordOverheadBytes: sink.recordOverheadBytes,
    send: (batch, ctx) => {
      sent.push(ctx.idempotencyKey);
      return sink.send(batch, ctx);
    },
    close: () => sink.close(),
    requests,
    get lines(): string[] {
      return sent.flatMap(linesOf);
    },
    get records(): unknown[] {
      return this.lines.map((line) => JSON.parse(line) as unknown);
    },
  };
}
