/**
 * One end-to-end run in a fresh process (started by bench/e2e.ts): the command-line tool's
 * `ingest --queue-url URL --until-empty` code path (`ingestFromQueue`, unchanged) against moto and a local
 * receiver, configured through the same environment variables. Timing is added from outside: a middleware
 * on every AWS client the factory builds (ReceiveMessage, GetObject, DeleteMessageBatch, GetItem, AssumeRole...)
 * and a wrapper around HttpSink.send (gzip + POST). Prints one JSON line on stdout, after the command's own output.
 *
 *   node bench/out/dist/e2e-child.js --queue-url URL
 */
import { parseArgs } from 'node:util';
import { ingestFromQueue } from '../bin/commands/ingest';
import { awsClients } from '../lambdas/shared/aws-clients';
import { HttpSink, type SendContext } from '../lambdas/ingest/http-sink';

export interface Span {
  name: string;
  start: number;
  end: number;
  /** For ReceiveMessage: messages returned. */
  messages?: number;
}

export interface E2eChildResult {
  ok: boolean;
  exitCode: number;
  spans: Span[];
  /** Process CPU seconds over the whole run, and from the first receive to the last delete. */
  cpuSeconds: number;
  steadyCpuSeconds: number;
  peakRssBytes: number;
  /** ms since the process's time origin at which ingestFromQueue was called. */
  started: number;
  finished: number;
}

const spans: Span[] = [];
const now = () => performance.now();
/** CPU clock at the first receive and at the end of the last delete: the steady part, start-up and the final
 * empty receive left out. */
let firstReceiveCpu: NodeJS.CpuUsage | undefined;
let lastDeleteCpu: NodeJS.CpuUsage | undefined;

/** The part of an SDK v3 client's middleware stack used here. */
type Handler = (args: unknown) => Promise<{ output: unknown }>;
interface WithMiddleware {
  middlewareStack: {
    add(
      middleware: (next: Handler, context: { commandName?: string }) => Handler,
      options: { step: 'initialize'; name: string; override: boolean },
    ): void;
  };
}

// Every client the factory builds gets a timing middleware around the whole command (retries included).
function instrument<T>(client: T): T {
  (client as unknown as WithMiddleware).middlewareStack.add(
    (next, context) => async (args) => {
      const name = String(context.commandName ?? 'unknown');
      if (name === 'ReceiveMessageCommand' && !firstReceiveCpu) firstReceiveCpu = process.cpuUsage();
      const start = now();
      const result = await next(args);
      const span: Span = { name, start, end: now() };
      if (name === 'DeleteMessageBatchCommand') lastDeleteCpu = process.cpuUsage();
      const output = result.output as { Messages?: unknown[] };
      if (span.name === 'ReceiveMessageCommand') span.messages = output.Messages?.length ?? 0;
      spans.push(span);
      return result;
    },
    { step: 'initialize', name: 'benchTiming', override: true },
  );
  return client;
}
const factory = awsClients as unknown as Record<string, (options: unknown) => unknown>;
for (const name of Object.keys(factory)) {
  const original = factory[name]!;
  factory[name] = (options: unknown) => instrument(original(options));
}

const originalSend = HttpSink.prototype.send;
HttpSink.prototype.send = async function send(this: HttpSink, ndjson: Buffer, ctx: SendContext) {
  const start = now();
  try {
    return await originalSend.call(this, ndjson, ctx);
  } finally {
    spans.push({ name: 'downstream', start, end: now() });
  }
};

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { 'queue-url': { type: 'string' } } });
  if (!values['queue-url']) throw new Error('--queue-url is required');
  const cpu = process.cpuUsage();
  const started = now();
  const exitCode = await ingestFromQueue({
    queueUrl: values['queue-url'],
    timeoutSeconds: 900,
    waitSeconds: 1,
    untilEmpty: true,
  });
  const finished = now();
  const total = process.cpuUsage(cpu);
  const seconds = (usage: NodeJS.CpuUsage) => (usage.user + usage.system) / 1e6;
  const result: E2eChildResult = {
    ok: exitCode === 0,
    exitCode,
    spans,
    cpuSeconds: seconds(total),
    steadyCpuSeconds: firstReceiveCpu && lastDeleteCpu ? seconds(lastDeleteCpu) - seconds(firstReceiveCpu) : 0,
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
    started,
    finished,
  };
  process.stdout.write(`\n${JSON.stringify(result)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
