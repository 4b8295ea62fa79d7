/**
 * One end-to-end run in a fresh process (started by bench/e2e.ts): the command-line tool's
 * `ingest --queue-url URL --until-empty` code path (`ingestFromQueue`) against moto and a local receiver,
 * configured through the same environment variables. Timing is injected, nothing is patched: a client factory
 * that adds a middleware to every AWS client it builds (ReceiveMessage, GetObject, DeleteMessageBatch, GetItem,
 * AssumeRole...) and a sink that times the configured one's send (encode + gzip + POST). Prints one JSON line on
 * stdout, after the command's own output.
 *
 *   node bench/out/dist/e2e-child.js --queue-url URL
 */
import { parseArgs } from 'node:util';
import { ingestFromQueue } from '../bin/commands/ingest';
import { awsClients } from '../lambdas/shared/aws-clients';
import { loadIngestConfig } from '../lambdas/ingest/config';
import { sinkConfigOf, type IngestClients } from '../lambdas/ingest/runtime';
import { createSink } from '../lambdas/ingest/sinks';
import type { Sink } from '../lambdas/ingest/sinks/sink';
import { createStderrLogger } from '../lambdas/shared/logger';

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
const clients: IngestClients = {
  dynamoDocument: (options) => instrument(awsClients.dynamoDocument(options)),
  s3: (options) => instrument(awsClients.s3(options)),
  secretsManager: (options) => instrument(awsClients.secretsManager(options)),
  sqs: (options) => instrument(awsClients.sqs(options)),
  sts: (options) => instrument(awsClients.sts(options)),
};

/** The configured sink (as createIngestDeps builds it), each send timed. */
function timedSink(): Sink {
  const config = loadIngestConfig();
  const sink = createSink(sinkConfigOf(config, config.downstreamToken), { logger: createStderrLogger() });
  return {
    recordOverheadBytes: sink.recordOverheadBytes,
    close: () => sink.close(),
    async send(batch, ctx) {
      const start = now();
      try {
        return await sink.send(batch, ctx);
      } finally {
        spans.push({ name: 'downstream', start, end: now() });
      }
    },
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { 'queue-url': { type: 'string' } } });
  if (!values['queue-url']) throw new Error('--queue-url is required');
  const cpu = process.cpuUsage();
  const started = now();
  const exitCode = await ingestFromQueue(
    { queueUrl: values['queue-url'], timeoutSeconds: 900, waitSeconds: 1, untilEmpty: true },
    { sink: timedSink(), clients },
  );
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
