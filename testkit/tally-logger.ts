import type { LogAttributes, LoggerLike } from '../lambdas/shared/logger';

/** Counts log lines by message and keeps a few examples of each warning and error. */
export class TallyLogger implements LoggerLike {
  readonly counts = new Map<string, number>();
  readonly samples = new Map<string, string[]>();
  debug(): void {}
  info(message: string): void {
    this.bump(`INFO ${message}`);
  }
  warn(message: string, ...extra: LogAttributes[]): void {
    this.keep(`WARN ${message}`, extra);
  }
  error(message: string, ...extra: LogAttributes[]): void {
    this.keep(`ERROR ${message}`, extra);
  }
  private bump(key: string): void {
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }
  private keep(key: string, extra: LogAttributes[]): void {
    this.bump(key);
    const samples = this.samples.get(key) ?? [];
    if (samples.length < 3) {
      const attributes = Object.assign({}, ...extra) as Record<string, unknown>;
      const error = attributes.error;
      samples.push((typeof error === 'string' ? error : JSON.stringify(attributes)).slice(0, 300));
      this.samples.set(key, samples);
    }
  }
}
