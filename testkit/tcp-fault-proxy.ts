import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A loopback TCP proxy in front of a real receiver (rsyslog, testkit/rsyslog.ts) that shows the faults a
 * network and a receiver show a syslog sender, below TLS: connections reset as soon as they are accepted,
 * connections accepted and never answered (a stalled receiver), and garbage sent back instead of the receiver's
 * answer. Every accepted connection is one delivery attempt, timestamped.
 */
export type TcpFault =
  /** The next `count` connections are reset at once (and the open ones now). */
  | { kind: 'reset'; count: number }
  /** Every connection is accepted and never forwarded nor answered, until clear(). */
  | { kind: 'stall' }
  /** Every connection gets these bytes back and is closed, until clear(). */
  | { kind: 'answer'; bytes: Buffer };

export class TcpFaultProxy {
  private server: Server | undefined;
  private fault: TcpFault | undefined;
  private readonly sockets = new Set<Socket>();
  readonly accepted: number[] = [];
  port = 0;

  constructor(private readonly targetPort: number) {}

  async start(): Promise<this> {
    const server = createServer((client) => this.accept(client));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const address = server.address();
    if (typeof address !== 'object' || address === null) throw new Error('the proxy has no port');
    this.port = address.port;
    return this;
  }

  inject(fault: TcpFault): void {
    this.fault = fault;
    if (fault.kind === 'reset') for (const socket of this.sockets) socket.resetAndDestroy();
  }

  clear(): void {
    this.fault = undefined;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private accept(client: Socket): void {
    this.accepted.push(Date.now());
    this.track(client);
    client.on('error', () => client.destroy());
    const fault = this.fault;
    if (fault?.kind === 'reset' && fault.count > 0) {
      fault.count--;
      if (fault.count === 0) this.fault = undefined;
      client.resetAndDestroy();
      return;
    }
    if (fault?.kind === 'stall') {
      client.resume(); // read and drop what the client sends; never answer
      return;
    }
    if (fault?.kind === 'answer') {
      client.end(fault.bytes);
      return;
    }
    const upstream = connect({ host: '127.0.0.1', port: this.targetPort });
    this.track(upstream);
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.pipe(upstream);
    upstream.pipe(client);
  }

  private track(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
  }
}
