import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { PYTHON_TOOLS_HINT, motoPython } from './python-tools';

/** How to get the emulator on a machine that lacks it; printed instead of skipping tests. */
export const MOTO_INSTALL_HINT = `the local AWS emulator (moto server) was not found in ${motoPython()}: install it with ${PYTHON_TOOLS_HINT}, and run again`;

export interface MotoServer {
  endpoint: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

/** A free loopback TCP port, picked by the kernel. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

/**
 * moto_server, started through Python with one change: S3 bucket-policy enforcement is turned off. moto 5.2.1
 * enforces bucket policies on object reads and writes but ignores their Condition blocks and service
 * principals, so CloudTrail's own documented bucket policy (Allow with `aws:SourceArn`) and a TLS-only Deny
 * (`aws:SecureTransport`) each block every PutObject and GetObject. The project already treats resource
 * policies as not evaluated by the emulator: policies are validated in-process (policy-validation.ts).
 */
const MOTO_SERVER = [
  'import sys',
  'from moto.iam.access_control import PermissionResult',
  'from moto.s3.models import FakeBucket',
  'FakeBucket.get_permission = lambda self, action, resource: PermissionResult.NEUTRAL',
  'from moto.server import main',
  'main(sys.argv[1:])',
].join('\n');

const PYTHON = motoPython();

export function motoAvailable(): boolean {
  const probe = spawnSync(PYTHON, ['-c', 'import moto.server, flask'], { stdio: 'ignore' });
  return probe.error === undefined && probe.status === 0;
}

/** Starts moto_server on a free loopback port and waits until it answers. */
export async function startMoto(options: { timeoutMs?: number } = {}): Promise<MotoServer> {
  if (!motoAvailable()) throw new Error(MOTO_INSTALL_HINT);
  const port = await freePort();
  const child = spawn(PYTHON, ['-c', MOTO_SERVER, '-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, MOTO_ALLOW_NONEXISTENT_REGION: 'false' },
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    if (stderr.length < 8192) stderr += chunk.toString();
  });
  const endpoint = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`moto_server exited with ${child.exitCode}: ${stderr}`);
    try {
      const response = await fetch(`${endpoint}/moto-api/data.json`);
      if (response.ok) {
        await response.arrayBuffer();
        return { endpoint, process: child, stop: () => stopProcess(child) };
      }
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  child.kill('SIGKILL');
  throw new Error(`moto_server did not answer on ${endpoint} within the timeout: ${stderr}`);
}

function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** Drops every resource in the emulator: each test starts from an empty cloud. */
export async function resetMoto(endpoint: string): Promise<void> {
  const response = await fetch(`${endpoint}/moto-api/reset`, { method: 'POST' });
  if (!response.ok) throw new Error(`moto reset failed: HTTP ${response.status}`);
  await response.arrayBuffer();
}
