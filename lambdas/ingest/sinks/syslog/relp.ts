import type { Socket } from 'node:net';
import { setTimeout as sleepMs } from 'node:timers/promises';
import { errorMessage } from '../../../shared/errors';
import type { LoggerLike } from '../../../shared/logger';
import { DownstreamError } from '../http-delivery';
import type { Connect } from './connection';
import { RetryPolicy, type RetryOptions } from './retry';

/**
 * A RELP client (librelp's protocol, https://www.rsyslog.com/doc/relp.html and librelp's doc/relp.html): frames
 * `TXNR SP COMMAND SP DATALEN [SP DATA] LF`; the session starts with `open` (offers `relp_version=0`,
 * `commands=syslog`) and the server's `rsp` `200 OK`; each message is a `syslog` command the server answers
 * with `rsp` `200 OK` or `500 <reason>`; `close` ends it and the server may announce `serverclose` (txnr 0).
 *
 * At most `window` messages are unacknowledged at once. A message counts as delivered only once its `200` came
 * back. When the connection breaks, every unacknowledged message is sent again on a new connection: the receiver
 * may then hold some of them twice (RELP promises no loss, not no duplicates). One client per sink: every batch
 * in flight shares its connection and window.
 */
/** `maxAttempts` counts consecutive failed connections, and `500` answers to one message, before batches fail. */
export interface RelpClientOptions extends RetryOptions {
  connect: Connect;
  /** For messages: `relp+tls://host:port`. */
  describe: string;
  window: number;
  /** Connecting, and the longest wait for the next acknowledgement while messages are unacknowledged. */
  timeoutMs: number;
  logger: LoggerLike;
}

export interface RelpDelivery {
  /** `syslog` commands sent, resends included. */
  commands: number;
  /** Bytes of those frames (before TLS). */
  bytes: number;
  /** Commands sent again after a broken connection or a 500. */
  resent: number;
}

interface Batch {
  key: string;
  total: number;
  acked: number;
  deadline: number;
  settled: boolean;
  stats: RelpDelivery;
  resolve: (stats: RelpDelivery) => void;
  reject: (error: Error) => void;
  timer?: NodeJS.Timeout;
}

interface Message {
  data: Buffer;
  batch: Batch;
  /** 500 answers so far. */
  refusals: number;
}

interface Session {
  socket: Socket;
  /** Set once the server answered `open` with 200. */
  open: boolean;
  nextTxnr: number;
  inFlight: Map<number, Message>;
  parser: RelpFrameParser;
}

/** librelp wraps transaction numbers after 999,999,999 back to 1 (0 is the server's). */
const MAX_TXNR = 999_999_999;
const OPEN_OFFERS = 'relp_version=0\nrelp_software=cloudtrail-collector\ncommands=syslog';

export class RelpClient {
  private readonly queue: Message[] = [];
  private session: Session | undefined;
  private connecting = false;
  private failedConnects = 0;
  private lastError = '';
  private closed = false;
  private readonly retry: RetryPolicy;
  private readonly maxAttempts: number;

  constructor(private readonly options: RelpClientOptions) {
    this.retry = new RetryPolicy(options);
    this.maxAttempts = this.retry.maxAttempts;
  }

  /** Resolves once the receiver acknowledged every message; rejects with DownstreamError otherwise. */
  deliver(messages: readonly Buffer[], key: string, deadline: number): Promise<RelpDelivery> {
    if (this.closed)
      return Promise.reject(new DownstreamError(`the syslog sink was closed`, { permanent: false, attempts: 0 }));
    if (messages.length === 0) return Promise.resolve({ commands: 0, bytes: 0, resent: 0 });
    return new Promise((resolve, reject) => {
      const batch: Batch = {
        key,
        total: messages.length,
        acked: 0,
        deadline,
        settled: false,
        stats: { commands: 0, bytes: 0, resent: 0 },
        resolve,
        reject,
      };
      const remainingMs = deadline - Date.now();
      if (remainingMs <= 0) {
        this.fail(batch, this.deadlineError(batch));
        return;
      }
      batch.timer = setTimeout(() => this.fail(batch, this.deadlineError(batch)), remainingMs);
      for (const data of messages) this.queue.push({ data, batch, refusals: 0 });
      this.pump();
    });
  }

  /** Ends the session (`close`) and fails whatever is still waiting. */
  close(): void {
    this.closed = true;
    const session = this.session;
    this.session = undefined;
    if (session !== undefined) {
      if (session.open && session.inFlight.size === 0) {
        session.socket.end(frame(session.nextTxnr, 'close', Buffer.alloc(0)));
        session.socket.destroySoon();
      } else {
        session.socket.destroy();
      }
    }
    for (const message of this.queue.splice(0)) {
      this.fail(message.batch, new DownstreamError('the syslog sink was closed', { permanent: false, attempts: 0 }));
    }
  }

  private pump(): void {
    this.dropSettled();
    if (this.queue.length === 0 || this.closed) return;
    const session = this.session;
    if (session === undefined) {
      if (!this.connecting) void this.connectLoop();
      return;
    }
    if (!session.open) return;
    if (this.queue.length > 0) session.socket.ref();
    while (session.inFlight.size < this.options.window && this.queue.length > 0) {
      const message = this.queue.shift()!;
      if (message.batch.settled) continue;
      const txnr = session.nextTxnr;
      session.nextTxnr = txnr >= MAX_TXNR ? 1 : txnr + 1;
      session.inFlight.set(txnr, message);
      const bytes = frame(txnr, 'syslog', message.data);
      message.batch.stats.commands++;
      message.batch.stats.bytes += bytes.length;
      session.socket.write(bytes);
    }
  }

  /** Fails the batches whose deadline passed (no connection may start for them) and drops settled messages. */
  private dropSettled(): void {
    const now = Date.now();
    for (const message of this.queue) {
      if (!message.batch.settled && message.batch.deadline <= now)
        this.fail(message.batch, this.deadlineError(message.batch));
    }
    if (this.queue.some((m) => m.batch.settled)) {
      const keep = this.queue.filter((m) => !m.batch.settled);
      this.queue.splice(0, this.queue.length, ...keep);
    }
  }

  /** Connects (with full-jitter backoff between failures) until a session is open or nothing waits any more. */
  private async connectLoop(): Promise<void> {
    this.connecting = true;
    try {
      while (!this.closed && this.session === undefined) {
        this.dropSettled();
        if (this.queue.length === 0) return;
        const deadline = Math.min(...this.queue.map((m) => m.batch.deadline));
        const timeoutMs = Math.max(1, Math.min(this.options.timeoutMs, deadline - Date.now()));
        try {
          this.session = await this.openSession(timeoutMs);
          this.failedConnects = 0;
        } catch (error) {
          this.failedConnects++;
          this.lastError = errorMessage(error);
          if (this.failedConnects >= this.maxAttempts) {
            this.failedConnects = 0;
            for (const message of this.queue.splice(0)) {
              this.fail(
                message.batch,
                new DownstreamError(
                  `downstream ${this.options.describe} did not accept batch ${message.batch.key}: ${this.maxAttempts} connections failed in a row; last error: ${this.lastError}`,
                  { permanent: false, attempts: this.maxAttempts, cause: error },
                ),
              );
            }
            return;
          }
          const waitMs = this.retry.delayMs(this.failedConnects);
          this.options.logger.warn('syslog receiver unreachable; reconnecting', {
            downstream: this.options.describe,
            attempt: this.failedConnects,
            error: this.lastError,
            retryInMs: waitMs,
          });
          await sleepMs(waitMs);
        }
      }
    } finally {
      this.connecting = false;
    }
    this.pump();
  }

  private async openSession(timeoutMs: number): Promise<Session> {
    const socket = await this.options.connect(timeoutMs);
    const session: Session = { socket, open: false, nextTxnr: 2, inFlight: new Map(), parser: new RelpFrameParser() };
    return new Promise<Session>((resolve, reject) => {
      const timer = setTimeout(() => lost(new Error(`no answer to RELP open within ${timeoutMs} ms`)), timeoutMs);
      let opened = false;
      const lost = (error: Error) => {
        clearTimeout(timer);
        socket.destroy();
        if (!opened) reject(error);
        else this.sessionLost(session, error);
      };
      socket.on('error', (error) => lost(error));
      socket.on('close', () => lost(new Error('the receiver closed the connection')));
      socket.on('end', () => socket.destroy());
      // An idle session is fine; one with messages unacknowledged for timeoutMs is not.
      socket.setTimeout(this.options.timeoutMs, () => {
        if (session.inFlight.size > 0) {
          lost(new Error(`no RELP acknowledgement within ${this.options.timeoutMs} ms`));
        }
      });
      socket.on('data', (chunk: Buffer) => {
        let frames: RelpFrame[];
        try {
          frames = session.parser.push(chunk);
        } catch (error) {
          lost(error as Error);
          return;
        }
        for (const f of frames) {
          if (!opened) {
            if (f.txnr !== 1 || f.command !== 'rsp') {
              lost(new Error(`expected the answer to RELP open, got ${f.txnr} ${f.command}`));
              return;
            }
            const answer = f.data.toString('utf8');
            if (!answer.startsWith('200')) {
              lost(new Error(`the receiver refused the RELP session: ${firstLine(answer)}`));
              return;
            }
            if (!/^commands=(?:.*,)?syslog(?:,.*)?$/m.test(answer)) {
              lost(new Error('the receiver does not offer the RELP syslog command'));
              return;
            }
            opened = true;
            session.open = true;
            clearTimeout(timer);
            resolve(session);
            continue;
          }
          if (!this.handleFrame(session, f)) {
            lost(new Error(`RELP protocol error: unexpected ${f.command} with txnr ${f.txnr}`));
            return;
          }
        }
        this.pump();
        // An idle session does not keep the process alive (the CLI exits when its work is done).
        if (session.inFlight.size === 0 && this.queue.length === 0) socket.unref();
      });
      socket.write(frame(1, 'open', Buffer.from(OPEN_OFFERS, 'latin1')));
    });
  }

  /** One frame on an open session; false on a protocol error (the session is then dropped). */
  private handleFrame(session: Session, f: RelpFrame): boolean {
    if (f.command === 'serverclose') {
      // The server ends the session (shutting down): what it did not acknowledge is resent elsewhere or later.
      this.sessionLost(session, new Error('the receiver sent serverclose'));
      session.socket.destroy();
      return true;
    }
    if (f.command !== 'rsp') return false;
    const message = session.inFlight.get(f.txnr);
    if (message === undefined) return false;
    session.inFlight.delete(f.txnr);
    const answer = f.data.toString('utf8');
    if (answer.startsWith('200')) {
      const batch = message.batch;
      if (batch.settled) return true;
      batch.acked++;
      if (batch.acked === batch.total) {
        batch.settled = true;
        clearTimeout(batch.timer);
        batch.resolve(batch.stats);
      }
      return true;
    }
    // 500 (or any other code): the receiver refused this message; another attempt after a pause, up to a limit.
    message.refusals++;
    this.lastError = `RELP ${firstLine(answer)}`;
    if (message.refusals >= this.maxAttempts) {
      this.fail(
        message.batch,
        new DownstreamError(
          `downstream ${this.options.describe} refused a message of batch ${message.batch.key} ${message.refusals} times: ${firstLine(answer)}`,
          { permanent: false, attempts: message.refusals },
        ),
      );
      return true;
    }
    const waitMs = this.retry.delayMs(message.refusals);
    this.options.logger.warn('syslog receiver refused a message; retrying', {
      downstream: this.options.describe,
      idempotencyKey: message.batch.key,
      answer: firstLine(answer),
      retryInMs: waitMs,
    });
    message.batch.stats.resent++;
    setTimeout(() => {
      this.queue.unshift(message);
      this.pump();
    }, waitMs).unref();
    return true;
  }

  /** The connection broke: its unacknowledged messages go back to the front of the queue, in their order. */
  private sessionLost(session: Session, error: Error): void {
    if (this.session !== session) return;
    this.session = undefined;
    this.lastError = errorMessage(error);
    const unacked = [...session.inFlight.values()].filter((m) => !m.batch.settled);
    session.inFlight.clear();
    for (const message of unacked) message.batch.stats.resent++;
    this.queue.unshift(...unacked);
    if (unacked.length > 0 || this.queue.length > 0) {
      this.options.logger.warn('syslog connection lost; resending what was not acknowledged', {
        downstream: this.options.describe,
        unacknowledged: unacked.length,
        error: this.lastError,
      });
    }
    this.pump();
  }

  private fail(batch: Batch, error: Error): void {
    if (batch.settled) return;
    batch.settled = true;
    clearTimeout(batch.timer);
    batch.reject(error);
  }

  private deadlineError(batch: Batch): DownstreamError {
    const why = this.lastError === '' ? '' : `; last error: ${this.lastError}`;
    return new DownstreamError(
      `deadline reached sending batch ${batch.key} to downstream ${this.options.describe}: ${batch.acked} of ${batch.total} records acknowledged${why}`,
      { permanent: false, attempts: batch.stats.commands },
    );
  }
}

function firstLine(text: string): string {
  const line = text.split('\n', 1)[0] ?? '';
  return line.length > 200 ? `${line.slice(0, 200)}...` : line;
}

/** `TXNR SP COMMAND SP DATALEN [SP DATA] LF` (DATA and its space only when DATALEN > 0). */
export function frame(txnr: number, command: string, data: Buffer): Buffer {
  if (data.length === 0) return Buffer.from(`${txnr} ${command} 0\n`, 'latin1');
  const head = Buffer.from(`${txnr} ${command} ${data.length} `, 'latin1');
  const out = Buffer.allocUnsafe(head.length + data.length + 1);
  head.copy(out, 0);
  data.copy(out, head.length);
  out[out.length - 1] = 0x0a;
  return out;
}

export interface RelpFrame {
  txnr: number;
  command: string;
  data: Buffer;
}

/** Largest frame header accepted: 9-digit txnr, 32-letter command, 9-digit length and their spaces. */
const MAX_HEADER_BYTES = 9 + 1 + 32 + 1 + 9 + 1;
/** Answers are short; anything larger from a receiver is a protocol error, not something to buffer. */
const MAX_RESPONSE_DATA_BYTES = 1024 * 1024;

/** Splits the bytes a RELP peer sends into frames, across chunks of any size. */
export class RelpFrameParser {
  private buffer: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): RelpFrame[] {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    const frames: RelpFrame[] = [];
    for (;;) {
      const parsed = this.next();
      if (parsed === undefined) break;
      frames.push(parsed);
    }
    return frames;
  }

  private next(): RelpFrame | undefined {
    const buf = this.buffer;
    // Header: up to the space after DATALEN, or the LF right after a DATALEN of 0.
    let spaces = 0;
    let end = -1;
    for (let i = 0; i < buf.length && i <= MAX_HEADER_BYTES; i++) {
      const c = buf[i]!;
      if (c === 0x20) {
        spaces++;
        if (spaces === 3) {
          end = i;
          break;
        }
      } else if (c === 0x0a && spaces === 2) {
        end = i;
        break;
      }
    }
    if (end < 0) {
      if (buf.length > MAX_HEADER_BYTES) throw new Error('RELP protocol error: malformed frame header');
      return undefined;
    }
    const header = buf.subarray(0, end).toString('latin1');
    const match = /^(\d{1,9}) ([A-Za-z]{1,32}) (\d{1,9})$/.exec(header);
    if (match === null) throw new Error(`RELP protocol error: malformed frame header "${header.slice(0, 60)}"`);
    const txnr = Number(match[1]);
    const command = match[2]!;
    const length = Number(match[3]);
    if (length > MAX_RESPONSE_DATA_BYTES) throw new Error(`RELP protocol error: a frame of ${length} bytes`);
    if (length === 0) {
      if (buf[end] !== 0x0a) throw new Error('RELP protocol error: data after a DATALEN of 0');
      this.buffer = buf.subarray(end + 1);
      return { txnr, command, data: Buffer.alloc(0) };
    }
    const dataStart = end + 1;
    const trailer = dataStart + length;
    if (buf.length <= trailer) return undefined;
    if (buf[trailer] !== 0x0a) throw new Error('RELP protocol error: frame not ended by LF');
    const data = Buffer.from(buf.subarray(dataStart, trailer));
    this.buffer = buf.subarray(trailer + 1);
    return { txnr, command, data };
  }
}
