import { resetMoto } from './emulator';

/** Fixed identities the emulator tests use: the collector's own account and two customers. */
export const COLLECTOR_ACCOUNT = '123456789012';
export const REGION = 'us-east-1';

/** This worker's emulator endpoint (started by the global setup). */
export function motoEndpoint(): string {
  const endpoints = (process.env.MOTO_ENDPOINTS ?? '').split(',').filter(Boolean);
  if (endpoints.length === 0) throw new Error('MOTO_ENDPOINTS is not set: run the tests through jest (npm test)');
  const worker = Number(process.env.JEST_WORKER_ID ?? '1');
  return endpoints[(worker - 1) % endpoints.length]!;
}

/** Points the SDK at this worker's emulator with dummy credentials, and empties it. */
export async function useEmulator(): Promise<string> {
  const endpoint = motoEndpoint();
  process.env.AWS_ENDPOINT_URL = endpoint;
  process.env.AWS_REGION = REGION;
  process.env.AWS_ACCESS_KEY_ID = 'testing';
  process.env.AWS_SECRET_ACCESS_KEY = 'testing';
  delete process.env.AWS_SESSION_TOKEN;
  delete process.env.AWS_PROFILE;
  await resetMoto(endpoint);
  return endpoint;
}
