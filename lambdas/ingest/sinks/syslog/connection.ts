import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { connect as netConnect, type Socket } from 'node:net';
import { checkServerIdentity, connect as tlsConnect } from 'node:tls';
import { tryParseArn } from '../../../shared/arn';
import { awsClients } from '../../../shared/aws-clients';
import { ConfigError, errorMessage } from '../../../shared/errors';
import type { PemSource, SyslogSettings } from './config';

/** Reads a Secrets Manager secret's string (the default asks Secrets Manager in the settings' region). */
export type ReadSecret = (arn: string) => Promise<string>;

export interface TlsMaterial {
  ca?: string;
  cert?: string;
  key?: string;
}

/** Opens one connection to the receiver: TCP, with TLS when the settings name it. */
export type Connect = (timeoutMs: number) => Promise<Socket>;

/**
 * The connection factory of a syslog sink. TLS material from files was read by config.ts; secrets are read once,
 * on the first connection, and kept for the container's life. The receiver's certificate is always verified
 * (against SYSLOG_TLS_CA_* or Node's bundled CAs) with the host name of DOWNSTREAM_URL or SYSLOG_TLS_SERVERNAME.
 */
export function connector(settings: SyslogSettings, readSecret?: ReadSecret): Connect {
  let material: Promise<TlsMaterial> | undefined;
  const read = readSecret ?? secretsManagerReader(settings.region);
  return async (timeoutMs) => {
    const tls = settings.tls;
    if (tls === undefined)
      return open(() => netConnect({ host: settings.host, port: settings.port }), 'connect', timeoutMs);
    material ??= resolveMaterial(settings, read);
    let pem: TlsMaterial;
    try {
      pem = await material;
    } catch (error) {
      material = undefined; // the next connection asks again (a throttled or briefly denied read)
      throw error;
    }
    return open(
      () =>
        tlsConnect({
          host: settings.host,
          port: settings.port,
          // SNI takes host names only (RFC 6066 section 3); the certificate is checked against the name either way,
          // an IP address against its IP SANs.
          ...(isIpAddress(tls.servername) ? {} : { servername: tls.servername }),
          checkServerIdentity: (_host, cert) => checkServerIdentity(tls.servername, cert),
          rejectUnauthorized: true,
          minVersion: 'TLSv1.2',
          ...pem,
        }),
      'secureConnect',
      timeoutMs,
    );
  };
}

async function resolveMaterial(settings: SyslogSettings, read: ReadSecret): Promise<TlsMaterial> {
  const tls = settings.tls!;
  const one = async (source: PemSource | undefined): Promise<string | undefined> => {
    if (source === undefined) return undefined;
    if (source.from === 'file') return source.pem;
    try {
      return (await read(source.arn)).trim();
    } catch (error) {
      throw new ConfigError(`cannot read ${source.variable} ${source.arn}: ${errorMessage(error)}`, { cause: error });
    }
  };
  const [ca, cert, key] = await Promise.all([one(tls.ca), one(tls.cert), one(tls.key)]);
  return { ...(ca ? { ca } : {}), ...(cert ? { cert } : {}), ...(key ? { key } : {}) };
}

/** A secret is read in the region its ARN names (config.ts checked it is a Secrets Manager ARN). */
function secretsManagerReader(fallbackRegion: string | undefined): ReadSecret {
  return async (arn) => {
    const region = tryParseArn(arn)?.region || fallbackRegion;
    if (!region) throw new Error('no region in the ARN and AWS_REGION is not set');
    const client = awsClients.secretsManager({ region });
    try {
      const secret = await client.send(new GetSecretValueCommand({ SecretId: arn }));
      if (!secret.SecretString) throw new Error('the secret has no SecretString');
      return secret.SecretString;
    } finally {
      client.destroy();
    }
  };
}

/** Resolves with the socket once `readyEvent` fired; rejects (and destroys it) on an error or the timeout. */
function open(create: () => Socket, readyEvent: 'connect' | 'secureConnect', timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = create();
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no connection within ${timeoutMs} ms`));
    }, timeoutMs);
    const onError = (error: Error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(error);
    };
    socket.once('error', onError);
    socket.once(readyEvent, () => {
      clearTimeout(timer);
      socket.off('error', onError);
      socket.setNoDelay(true);
      resolve(socket);
    });
  });
}

function isIpAddress(name: string): boolean {
  return /^\d{1,3}(?:\.\d{1,3}){3}$/.test(name) || name.includes(':');
}
