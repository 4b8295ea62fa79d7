import type { Socket } from 'node:net';
import { setTimeout as sleepMs } from 'node:timers/promises';
import { errorMessage } from '../../../shared/errors';
import type { LoggerLike } from '../../../shared/logger';
import { DownstreamError } from '../http-delivery';
import type { Connect } from './connection';
import { RetryPolicy, type RetryOptions } from './retry';

/**
 * Octet-counted syslog over one TCP or TLS connection (RFC 6587 section 3.4.1, RFC 5425 section 4.3). The
 * protocol has no acknowledgement: a batch counts as sent once its bytes are handed to the kernel (the write's
 * callback). What sits in this side's send buffer, in the network, or in the receiver's receive buffer and
 * input when the connection resets is lost without anyone knowing (docs/sinks.md, "What plain TCP can lose").
 * A write that fails is sent again, whole, on a new connection: the receiver may then hold part of it twice.
 */
/** `maxAttempts` counts the attempts (connection plus write) per batch. */
export interface StreamClientOptions extends RetryOptions {
  connect: Connect;
  describe: string;
  timeoutMs: number;
  logger: LoggerLike;
}

export interface StreamDelivery {
  writes: number;
  bytes: number;
}

export class StreamClient {
  private socket: Promise<Socket> | undefined;
  private closed = false;
  private readonly retry: RetryPolicy;
  private readonly maxAttempts: number;

  constructor(private readonly options: StreamClientOptions) {
    this.retry = new RetryPolicy(options);
    this.maxAttempts = this.retry.maxAttempts;
  }

  /** Writes `frames` (whole messages, octet-counted) and resolves once the kernel took them. */
  async deliver(frames: Buffer, key: string, deadline: number): Promise<StreamDelivery> {
    const stats: StreamDelivery = { writes: 0, bytes: 0 };
    let lastError = '';
    for (let attempt = 1; ; attempt++) {
      const remainingMs = deadline - Date.now();
      if (this.closed)
        throw new DownstreamError('the syslog sink was closed', { permanent: false, attempts: attempt - 1 });
      if (remainingMs <= 0) {
        throw new DownstreamError(
          `deadline reached sending batch ${key} to downstream ${this.options.describe} after ${attempt - 1} attempts${lastError === '' ? '' : `; last error: ${lastError}`}`,
          { permanent: false, attempts: attempt - 1 },
        );
      }
      try {
        const socket = await this.connection(Math.min(this.options.timeoutMs, remainingMs));
        stats.writes++;
        stats.bytes += frames.length;
        await write(socket, frames);
        return stats;
      } catch (error) {
        lastError = errorMessage(error);
        this.socket = undefined;
        if (attempt >= this.maxAttempts) {
          throw new DownstreamError(
            `downstream ${this.options.describe} did not take batch ${key} after ${attempt} attempts: ${lastError}`,
            { permanent: false, attempts: attempt, cause: error },
          );
        }
        const waitMs = this.retry.delayMs(attempt);
        if (Date.now() + waitMs >= deadline) {
          throw new DownstreamError(
            `deadline reached sending batch ${key} to downstream ${this.options.describe} (the next attempt, in ${waitMs} ms, would pass it) after ${attempt} attempts; last error: ${lastError}`,
            { permanent: false, attempts: attempt, cause: error },
          );
        }
        this.options.logger.warn('syslog write failed; reconnecting and sending the batch again', {
          downstream: this.options.describe,
          idempotencyKey: key,
          attempt,
          error: lastError,
          retryInMs: waitMs,
        });
        await sleepMs(waitMs);
      }
    }
  }

  close(): void {
    this.closed = true;
    const socket = this.socket;
    this.socket = undefined;
    void socket?.then(
      (s) => s.end(),
      () => undefined,
    );
  }

  /** The open connection, or a new one; a connection the receiver ended is dropped at once, not written to. */
  private connection(timeoutMs: number): Promise<Socket> {
    if (this.socket === undefined) {
      const opening = this.options.connect(timeoutMs).then((socket) => {
        const drop = () => {
          if (this.socket === opening) this.socket = undefined;
        };
        socket.on('error', drop);
        socket.on('close', drop);
        // The receiver closed its side (a restart, an idle timeout): nothing more it would read.
        socket.on('end', () => {
          drop();
          socket.destroy();
        });
        // A receiver never sends on this protocol; reading keeps 'end' visible.
        socket.resume();
        return socket;
      });
      this.socket = opening;
      opening.catch(() => {
        if (this.socket === opening) this.socket = undefined;
      });
    }
    return this.socket;
  }
}

/** Resolves once the kernel took the bytes; a connection destroyed meanwhile fails the write (ERR_STREAM_DESTROYED). */
function write(socket: Socket, bytes: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    if (socket.destroyed || !socket.writable) {
      reject(new Error('the connection is closed'));
      return;
    }
    socket.ref();
    socket.write(bytes, (error) => {
      // An idle connection does not keep the process alive (the CLI exits when its work is done).
      if (socket.writableLength === 0) socket.unref();
      if (error) reject(error);
      else resolve();
    });
  });
}
