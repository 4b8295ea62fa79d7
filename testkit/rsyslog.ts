import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { freePort } from './emulator';

/**
 * The real rsyslog for the syslog sink's tests (docs/sinks.md, "syslog and RELP"): `rsyslogd -n` in the
 * foreground with a temporary configuration on free loopback ports, one input per transport of the sink, each
 * writing MSG byte for byte (`%msg%`, RFC 5424's MSG part) to its own file, one record a line. Certificates are
 * made for the run with openssl: a CA, a server certificate for localhost and 127.0.0.1, and a client one.
 *
 * When rsyslog or its RELP or TLS module is missing, start fails with the install command (the rule for moto,
 * testkit/emulator.ts); `.ci/run` installs them.
 */
export const RSYSLOG_INSTALL_HINT =
  'rsyslog with RELP and TLS was not found: install it with `sudo apt-get install rsyslog rsyslog-relp rsyslog-gnutls`, and run again';

const RSYSLOGD = process.env.RSYSLOGD ?? '/usr/sbin/rsyslogd';
const MODULE_DIRS = ['/usr/lib/x86_64-linux-gnu/rsyslog', '/usr/lib/aarch64-linux-gnu/rsyslog', '/usr/lib/rsyslog'];
const REQUIRED_MODULES = ['imrelp.so', 'imtcp.so', 'lmnsd_gtls.so'];

/** The client certificate's name: relpTls requires a client certificate, and permits this one. */
export const CLIENT_NAME = 'cloudtrail-collector.test';

export function rsyslogAvailable(): boolean {
  if (!existsSync(RSYSLOGD)) return false;
  return MODULE_DIRS.some((dir) => REQUIRED_MODULES.every((m) => existsSync(path.join(dir, m))));
}

/** The inputs: each is one transport of the sink, with its own output file. */
export type RsyslogInput = 'relpTls' | 'relp' | 'tcpTls' | 'tcp';

export interface TestCertificates {
  dir: string;
  caFile: string;
  serverCertFile: string;
  serverKeyFile: string;
  clientCertFile: string;
  clientKeyFile: string;
}

/** A CA, a server certificate (localhost, 127.0.0.1) and a client certificate, EC P-256, valid for a day. */
export function makeTestCertificates(dir: string): TestCertificates {
  const file = (name: string) => path.join(dir, name);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const key = (name: string) =>
    openssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', name);
  key('ca-key.pem');
  openssl(
    'req',
    '-x509',
    '-new',
    '-key',
    'ca-key.pem',
    '-days',
    '1',
    '-subj',
    '/CN=cloudtrail-collector test CA',
    '-out',
    'ca.pem',
  );
  const issue = (name: string, cn: string, extensions: string) => {
    key(`${name}-key.pem`);
    openssl('req', '-new', '-key', `${name}-key.pem`, '-subj', `/CN=${cn}`, '-out', `${name}.csr`);
    writeFileSync(file(`${name}.ext`), extensions);
    openssl(
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca-key.pem',
      '-CAcreateserial',
      '-days',
      '1',
      '-extfile',
      `${name}.ext`,
      '-out',
      `${name}.pem`,
    );
  };
  issue('server', 'localhost', 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  issue('client', CLIENT_NAME, `subjectAltName=DNS:${CLIENT_NAME}\nextendedKeyUsage=clientAuth\n`);
  return {
    dir,
    caFile: file('ca.pem'),
    serverCertFile: file('server.pem'),
    serverKeyFile: file('server-key.pem'),
    clientCertFile: file('client.pem'),
    clientKeyFile: file('client-key.pem'),
  };
}

export interface RsyslogOptions {
  /** rsyslog's maxMessageSize (bytes); also imtcp's MaxFrameSize and imrelp's MaxDataSize. Default 300 KiB. */
  maxMessageBytes?: number;
}

export interface Rsyslog {
  readonly ports: Readonly<Record<RsyslogInput, number>>;
  readonly certificates: TestCertificates;
  /** The lines written for an input so far (each the MSG of one message). */
  lines(input: RsyslogInput): Promise<string[]>;
  /**
   * The lines once the file stopped growing for `quietMs`: plain TCP has no acknowledgement, so what a sender
   * handed to its kernel may still be on its way into rsyslogd when the sender is done.
   */
  settledLines(input: RsyslogInput, quietMs?: number): Promise<string[]>;
  /** SIGTERM, wait for the exit, start again on the same ports and config. */
  restart(): Promise<void>;
  /** Starts it again after stop(), on the same ports and config. */
  start(): Promise<void>;
  /** Stops it and, once stopped, keeps the files until dispose(). */
  stop(): Promise<void>;
  /** Stops it and removes the directory. */
  dispose(): Promise<void>;
  /** rsyslogd's stderr so far (its own errors). */
  stderr(): string;
}

export async function startRsyslog(options: RsyslogOptions = {}): Promise<Rsyslog> {
  if (!rsyslogAvailable()) throw new Error(RSYSLOG_INSTALL_HINT);
  const dir = await mkdtemp(path.join(tmpdir(), 'rsyslog-'));
  const certificates = makeTestCertificates(dir);
  await mkdir(path.join(dir, 'work'));
  const ports: Record<RsyslogInput, number> = {
    relpTls: await freePort(),
    relp: await freePort(),
    tcpTls: await freePort(),
    tcp: await freePort(),
  };
  const max = options.maxMessageBytes ?? 300 * 1024;
  const output = (input: RsyslogInput) => path.join(dir, `${input}.log`);
  const conf = path.join(dir, 'rsyslog.conf');
  const c = certificates;
  await writeFile(
    conf,
    [
      `global(workDirectory="${dir}/work" maxMessageSize="${max}"`,
      `  defaultNetstreamDriverCAFile="${c.caFile}" defaultNetstreamDriverCertFile="${c.serverCertFile}"`,
      `  defaultNetstreamDriverKeyFile="${c.serverKeyFile}")`,
      // Direct: a message is written by the input's own thread before imrelp acknowledges it, so that the
      // restart tests measure the sender's protocol, not rsyslog's in-memory queue (docs/sinks.md).
      'main_queue(queue.type="direct")',
      'module(load="imrelp")',
      `module(load="imtcp" maxFrameSize="${max + 64}")`,
      // %msg%: the MSG part of an RFC 5424 message, as received (rsyslog's property reference).
      'template(name="raw" type="string" string="%msg%\\n")',
      ...(['relpTls', 'relp', 'tcpTls', 'tcp'] as const).map(
        (input) =>
          `ruleset(name="${input}" queue.type="direct") { action(type="omfile" file="${output(input)}" template="raw") }`,
      ),
      `input(type="imrelp" port="${ports.relpTls}" address="127.0.0.1" ruleset="relpTls" maxDataSize="${max}" tls="on"`,
      `  tls.caCert="${c.caFile}" tls.myCert="${c.serverCertFile}" tls.myPrivKey="${c.serverKeyFile}"`,
      // librelp (gnutls) given a certificate always requires the client's too: "name" accepts the test client's.
      `  tls.authMode="name" tls.permittedPeer=["${CLIENT_NAME}"])`,
      `input(type="imrelp" port="${ports.relp}" address="127.0.0.1" ruleset="relp" maxDataSize="${max}")`,
      `input(type="imtcp" port="${ports.tcpTls}" address="127.0.0.1" ruleset="tcpTls" streamDriver.name="gtls"`,
      '  streamDriver.mode="1" streamDriver.authMode="anon")',
      `input(type="imtcp" port="${ports.tcp}" address="127.0.0.1" ruleset="tcp" streamDriver.name="ptcp")`,
      '',
    ].join('\n'),
  );

  let child: ChildProcess | undefined;
  let stderr = '';
  const start = async () => {
    const proc = spawn(RSYSLOGD, ['-n', '-f', conf, '-i', path.join(dir, 'rsyslogd.pid')], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    proc.stdout?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    proc.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child = proc;
    const until = Date.now() + 15_000;
    for (const port of Object.values(ports)) {
      while (!(await answers(port))) {
        if (proc.exitCode !== null) throw new Error(`rsyslogd exited with ${proc.exitCode}: ${stderr}`);
        if (Date.now() > until) throw new Error(`rsyslogd did not listen on port ${port} within 15 s: ${stderr}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  };
  const stop = async () => {
    const proc = child;
    child = undefined;
    if (proc === undefined || proc.exitCode !== null) return;
    const exited = new Promise((resolve) => proc.once('exit', resolve));
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };
  const lines = async (input: RsyslogInput) => {
    const text = await readFile(output(input), 'utf8').catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return '';
      throw error;
    });
    return text === '' ? [] : text.replace(/\n$/, '').split('\n');
  };
  await start();
  return {
    ports,
    certificates,
    lines,
    settledLines: async (input, quietMs = 200) => {
      let previous = -1;
      let current = await lines(input);
      while (current.length !== previous) {
        previous = current.length;
        await new Promise((resolve) => setTimeout(resolve, quietMs));
        current = await lines(input);
      }
      return current;
    },
    restart: async () => {
      await stop();
      await start();
    },
    start,
    stop,
    dispose: async () => {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
    stderr: () => stderr,
  };
}

/** Whether something accepts TCP connections on the loopback port. */
function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
