import { Logger } from '@aws-lambda-powertools/logger';

/** The narrow logger shape domain code takes, so tests can pass a fake and nothing depends on Powertools. */
export type LogAttributes = Record<string, unknown>;

export interface LoggerLike {
  debug(message: string, ...extra: LogAttributes[]): void;
  info(message: string, ...extra: LogAttributes[]): void;
  warn(message: string, ...extra: LogAttributes[]): void;
  error(message: string, ...extra: LogAttributes[]): void;
}

/** The one configured logger. Writes JSON lines to stdout in Lambda; the CLI redirects it to stderr. */
export const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'cloudtrail-collector' });

/** A logger that drops everything: for tests and benchmarks that assert on results, not on logs. */
export const silentLogger: LoggerLike = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

const LEVELS = ['debug', 'info', 'warn', 'error'] as const;
type Level = (typeof LEVELS)[number];

/**
 * JSON-lines logger on stderr for the command-line tool, whose stdout carries only results.
 * Same shape as the Lambda's log lines, so one set of log queries reads both.
 */
export function createStderrLogger(
  minLevel: Level = 'info',
  write: (line: string) => void = (line) => process.stderr.write(line),
): LoggerLike {
  const threshold = LEVELS.indexOf(minLevel);
  const emit =
    (level: Level) =>
    (message: string, ...extra: LogAttributes[]): void => {
      if (LEVELS.indexOf(level) < threshold) return;
      const entry = Object.assign(
        { level: level.toUpperCase(), message, timestamp: new Date().toISOString() },
        ...extra,
      ) as object;
      write(`${JSON.stringify(entry, errorReplacer)}\n`);
    };
  return { debug: emit('debug'), info: emit('info'), warn: emit('warn'), error: emit('error') };
}

function errorReplacer(_key: string, value: unknown): unknown {
  return value instanceof Error ? { name: value.name, message: value.message } : value;
}
