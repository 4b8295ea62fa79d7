import type { MotoServer } from './emulator';

export default async function globalTeardown(): Promise<void> {
  const servers = (globalThis as { __MOTO_SERVERS__?: MotoServer[] }).__MOTO_SERVERS__ ?? [];
  await Promise.all(servers.map((server) => server.stop()));
}
