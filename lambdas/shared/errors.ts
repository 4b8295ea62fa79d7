/** Base class: every error the collector raises on purpose says what is wrong and keeps its cause. */
export class CollectorError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A missing or malformed configuration value; names the variable. Exit code 2 in the CLI. */
export class ConfigError extends CollectorError {}

/** Input that can never succeed however often it is retried (poison message, malformed object). */
export class PermanentInputError extends CollectorError {}

/** Returns the message of anything thrown, without assuming it is an Error. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

/** The AWS SDK error name (`NoSuchKey`, `AccessDenied`, ...) of anything thrown, or undefined. */
export function awsErrorName(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'name' in error) {
    const name = error.name;
    return typeof name === 'string' ? name : undefined;
  }
  return undefined;
}
