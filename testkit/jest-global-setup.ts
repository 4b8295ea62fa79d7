import { startMoto, type MotoServer } from './emulator';

/**
 * One moto_server per Jest worker, started once per run: test files in different workers never reset each
 * other's emulator. A missing moto fails the run with the install command; integration tests never skip.
 */
export default async function globalSetup(config: { maxWorkers: number }): Promise<void> {
  const count = Math.max(1, config.maxWorkers);
  const servers: MotoServer[] = await Promise.all(Array.from({ length: count }, () => startMoto()));
  (globalThis as { __MOTO_SERVERS__?: MotoServer[] }).__MOTO_SERVERS__ = servers;
  process.env.MOTO_ENDPOINTS = servers.map((server) => server.endpoint).join(',');
}
