import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { createServer as createTlsServer } from 'node:tls';
import * as path from 'node:path';
import { ConfigError } from '../../lambdas/shared/errors';
import type { RecordObject } from '../../lambdas/ingest/log-object';
import { createSyslogSink } from '../../lambdas/ingest/sinks/syslog';
import { loadSyslogSettings, type SyslogSettings } from '../../lambdas/ingest/sinks/syslog/config';
import {
  escapeParamValue,
  octetCountedFrames,
  SyslogFormatter,
  syslogTimestamp,
} from '../../lambdas/ingest/sinks/syslog/message';
import { frame, RelpFrameParser } from '../../lambdas/ingest/sinks/syslog/relp';
import { recordingLogger } from '../../testkit/ingest-fakes';
import { CLIENT_NAME, makeTestCertificates } from '../../testkit/rsyslog';

const OBJECT: RecordObject = {
  bucket: 'trail-bucket',
  key: 'AWSLogs/111122223333/CloudTrail/eu-west-1/2026/11/01/111122223333_CloudTrail_eu-west-1_20261101T0000Z_a.json.gz',
  kind: 'log',
};

function settings(env: Record<string, string> = {}, url = 'relp://127.0.0.1:2514'): SyslogSettings {
  return loadSyslogSettings({ SYSLOG_HOSTNAME: 'collector.example', ...env }, url);
}

function pemFile(content = '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'): string {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'syslog-unit-')), 'x.pem');
  writeFileSync(file, content);
  return file;
}

describe('loadSyslogSettings', () => {
  test.each([
    ['relp://host.example:2514', 'relp', false],
    ['relp+tls://host.example:2515', 'relp', true],
    ['syslog+tcp://host.example:514', 'tcp', false],
    ['syslog+tls://host.example:6514', 'tcp', true],
  ])('%s -> %s, TLS %s', (url, transport, tls) => {
    const s = settings({}, url);
    expect(s.transport).toBe(transport);
    expect(s.tls !== undefined).toBe(tls);
    expect(s.host).toBe('host.example');
    if (tls) expect(s.tls?.servername).toBe('host.example');
  });

  test('defaults: facility 13 (log audit), severity 6, 8192-byte messages, a window of 128', () => {
    expect(settings()).toMatchObject({
      facility: 13,
      severity: 6,
      maxMessageBytes: 8192,
      relpWindow: 128,
      appName: 'cloudtrail-collector',
      sdId: 'cloudtrail@32473',
    });
  });

  test.each([
    [{}, 'https://host:443', /DOWNSTREAM_URL .*relp:, relp\+tls:, syslog\+tcp: or syslog\+tls:/],
    [{}, 'relp://host', /DOWNSTREAM_URL must name the receiver's port/],
    [{}, 'relp://host:2514/path', /DOWNSTREAM_URL .*host:port only/],
    [{ SYSLOG_FACILITY: '24' }, 'relp://h:1', /SYSLOG_FACILITY must be between 0 and 23/],
    [{ SYSLOG_MAX_MESSAGE_BYTES: '1000' }, 'relp://h:1', /SYSLOG_MAX_MESSAGE_BYTES must be between 2048/],
    [{ SYSLOG_APP_NAME: 'has space' }, 'relp://h:1', /SYSLOG_APP_NAME/],
    [{ SYSLOG_SD_ID: 'cloudtrail' }, 'relp://h:1', /SYSLOG_SD_ID must be name@<private enterprise number>/],
    [{ SYSLOG_TLS_CA_FILE: '/nonexistent/ca.pem' }, 'relp+tls://h:1', /cannot read SYSLOG_TLS_CA_FILE/],
    [{ SYSLOG_TLS_KEY_SECRET_ARN: 'key' }, 'relp+tls://h:1', /SYSLOG_TLS_KEY_SECRET_ARN must be a Secrets Manager ARN/],
  ])('%j with %s fails naming the variable', (env, url, message) => {
    expect(() => settings(env as Record<string, string>, url)).toThrow(ConfigError);
    expect(() => settings(env as Record<string, string>, url)).toThrow(message);
  });

  test('TLS settings on a scheme without TLS are refused, naming them and the scheme to use', () => {
    expect(() => settings({ SYSLOG_TLS_CA_FILE: pemFile() }, 'syslog+tcp://h:514')).toThrow(
      /SYSLOG_TLS_CA_FILE set but DOWNSTREAM_URL uses syslog\+tcp:, which has no TLS: use syslog\+tls:/,
    );
  });

  test('a client certificate needs its key; a file and an ARN for the same thing are refused', () => {
    expect(() => settings({ SYSLOG_TLS_CERT_FILE: pemFile() }, 'relp+tls://h:1')).toThrow(/go together/);
    expect(() =>
      settings(
        {
          SYSLOG_TLS_CA_FILE: pemFile(),
          SYSLOG_TLS_CA_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:ca-AbCdEf',
        },
        'relp+tls://h:1',
      ),
    ).toThrow('set SYSLOG_TLS_CA_FILE or SYSLOG_TLS_CA_SECRET_ARN, not both');
  });

  test('a key file that is not PEM is refused without quoting it', () => {
    const file = pemFile('secret-material');
    expect(() => settings({ SYSLOG_TLS_CERT_FILE: pemFile(), SYSLOG_TLS_KEY_FILE: file }, 'relp+tls://h:1')).toThrow(
      new ConfigError(`SYSLOG_TLS_KEY_FILE ${file} is not a PEM file`),
    );
  });
});

describe('RFC 5424 messages', () => {
  const formatter = new SyslogFormatter(settings());

  test("one record: PRI, version, eventTime, HOSTNAME, APP-NAME, the key's account and Region, the record bytes", () => {
    const record = Buffer.from('{"eventVersion":"1.10","eventTime":"2026-11-01T12:34:56Z","eventID":"e1","x":"é"}');
    const [message] = formatter.messages([record], formatter.structuredDataFor(OBJECT));
    expect(message!.toString('utf8')).toBe(
      '<110>1 2026-11-01T12:34:56Z collector.example cloudtrail-collector - - ' +
        `[cloudtrail@32473 account="111122223333" region="eu-west-1"] ${record.toString('utf8')}`,
    );
    // MSG is the record byte for byte: no BOM, nothing re-encoded.
    expect(message!.subarray(message!.length - record.length).equals(record)).toBe(true);
  });

  test('eventTime not in RFC 5424 form, or absent, gives NILVALUE; an eventTime inside a nested object is not taken', () => {
    const records = ['{"eventTime":"yesterday"}', '{"userIdentity":{"eventTime":"2026-11-01T00:00:00Z"}}', '{}'].map(
      (r) => Buffer.from(r),
    );
    const messages = formatter.messages(records, '-');
    for (const m of messages) expect(m.toString()).toMatch(/^<110>1 - collector\.example /);
  });

  test('TIMESTAMP grammar: fractions up to 6 digits and numeric offsets pass, others do not', () => {
    expect(syslogTimestamp('2026-11-01T00:00:00.123456+05:30')).toBe('2026-11-01T00:00:00.123456+05:30');
    expect(syslogTimestamp('2026-11-01T00:00:00.1234567Z')).toBe('-');
    expect(syslogTimestamp('2026-11-01 00:00:00Z')).toBe('-');
    expect(syslogTimestamp(12)).toBe('-');
  });

  test('PARAM-VALUE escaping (RFC 5424 section 6.3.3): ", \\ and ] get a backslash', () => {
    expect(escapeParamValue('a"b\\c]d')).toBe('a\\"b\\\\c\\]d');
  });

  test("a key outside CloudTrail's layout carries no structured data (NILVALUE)", () => {
    expect(formatter.structuredDataFor({ ...OBJECT, key: 'elsewhere/file.json.gz' })).toBe('-');
  });

  test('RFC 6587 octet counting: MSG-LEN in octets (not characters), a space, the message', () => {
    const messages = [Buffer.from('é1'), Buffer.from('abc')];
    expect(octetCountedFrames(messages).toString('utf8')).toBe('3 é13 abc');
  });

  test('the overhead the batch limits count covers a real message', () => {
    const record = Buffer.from('{"eventTime":"2026-11-01T00:00:00.123456+01:00"}');
    const [message] = formatter.messages([record], formatter.structuredDataFor(OBJECT));
    const framed = octetCountedFrames([message!]);
    expect(framed.length - record.length).toBeLessThanOrEqual(formatter.overheadBytes);
  });
});

describe('RELP frames', () => {
  test('frame(): TXNR SP COMMAND SP DATALEN SP DATA LF, and no data space for DATALEN 0', () => {
    expect(frame(7, 'syslog', Buffer.from('abc')).toString()).toBe('7 syslog 3 abc\n');
    expect(frame(9, 'close', Buffer.alloc(0)).toString()).toBe('9 close 0\n');
  });

  test('the parser reassembles frames split anywhere, data with LFs inside included', () => {
    const bytes = Buffer.from('1 rsp 6 200 OK\n2 rsp 12 500 error\nxy\n0 serverclose 0\n');
    for (let cut = 1; cut < bytes.length; cut++) {
      const parser = new RelpFrameParser();
      const frames = [...parser.push(bytes.subarray(0, cut)), ...parser.push(bytes.subarray(cut))];
      expect(frames.map((f) => [f.txnr, f.command, f.data.toString()])).toEqual([
        [1, 'rsp', '200 OK'],
        [2, 'rsp', '500 error\nxy'],
        [0, 'serverclose', ''],
      ]);
    }
  });

  test('a malformed header is a protocol error', () => {
    expect(() => new RelpFrameParser().push(Buffer.from('x rsp 6 200 OK\n'))).toThrow(/RELP protocol error/);
  });
});

/**
 * A scripted RELP server: answers `open` with 200, then each `syslog` command with what `answer` says for it
 * (its 1-based arrival number), or drops the connection.
 */
async function relpServer(answer: (n: number, data: string) => '200' | '500' | 'drop' | 'serverclose') {
  const messages: string[] = [];
  const sockets = new Set<Socket>();
  let connections = 0;
  const server: Server = createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    const parser = new RelpFrameParser();
    socket.on('data', (chunk: Buffer) => {
      for (const f of parser.push(chunk)) {
        if (f.command === 'open') {
          socket.write(frame(f.txnr, 'rsp', Buffer.from('200 OK\nrelp_version=0\ncommands=syslog')));
          continue;
        }
        if (f.command === 'close') {
          socket.end(frame(f.txnr, 'rsp', Buffer.alloc(0)));
          continue;
        }
        const data = f.data.toString();
        const what = answer(messages.length + 1, data);
        if (what === 'drop') {
          messages.push(`(dropped) ${data}`);
          socket.destroy();
          return;
        }
        if (what === 'serverclose') {
          socket.end(frame(0, 'serverclose', Buffer.alloc(0)));
          messages.push(`(unanswered) ${data}`);
          return;
        }
        messages.push(what === '200' ? data : `(refused) ${data}`);
        socket.write(frame(f.txnr, 'rsp', Buffer.from(what === '200' ? '200 OK' : '500 queue full')));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    port,
    messages,
    connections: () => connections,
    stop: () => {
      for (const s of sockets) s.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('RELP client', () => {
  const records = ['{"eventID":"a"}', '{"eventID":"b"}', '{"eventID":"c"}'].map((r) => Buffer.from(r));
  const send = (sink: ReturnType<typeof createSyslogSink>) =>
    sink.send({ object: OBJECT, index: 0, records }, { idempotencyKey: 'k', deadline: Date.now() + 10_000 });
  const msgOf = (line: string) => line.slice(line.indexOf('] ') + 2);

  test('a 500 answer is retried: the batch resolves once every message got 200', async () => {
    const server = await relpServer((n) => (n === 2 ? '500' : '200'));
    const sink = createSyslogSink(settings({}, `relp://127.0.0.1:${server.port}`), {
      logger: recordingLogger().logger,
      random: () => 0,
    });
    await send(sink);
    sink.close();
    await server.stop();
    const accepted = server.messages.filter((m) => !m.startsWith('(')).map(msgOf);
    expect(accepted.sort()).toEqual(records.map(String).sort());
  });

  test('a dropped connection or a serverclose: what was not acknowledged is sent again on a new connection', async () => {
    const server = await relpServer((n) => (n === 1 ? 'drop' : n === 3 ? 'serverclose' : '200'));
    const { logger, lines } = recordingLogger();
    const sink = createSyslogSink(settings({ SYSLOG_RELP_WINDOW: '1' }, `relp://127.0.0.1:${server.port}`), {
      logger,
      random: () => 0,
    });
    await send(sink);
    sink.close();
    await server.stop();
    expect(server.connections()).toBe(3);
    const accepted = server.messages.filter((m) => !m.startsWith('(')).map(msgOf);
    expect(accepted.sort()).toEqual(records.map(String).sort());
    expect(lines.filter((l) => l.message.startsWith('syslog connection lost'))).toHaveLength(2);
  });

  test('every answer a 500: the batch fails, not permanently, after the attempts', async () => {
    const server = await relpServer(() => '500');
    const sink = createSyslogSink(settings({}, `relp://127.0.0.1:${server.port}`), {
      logger: recordingLogger().logger,
      random: () => 0,
    });
    await expect(send(sink)).rejects.toMatchObject({
      permanent: false,
      message: expect.stringContaining('refused a message of batch k 8 times: 500 queue full'),
    });
    sink.close();
    await server.stop();
  });
});

describe('TLS material from Secrets Manager (the Lambda)', () => {
  const CA_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:syslog-ca-AbCdEf';
  const CERT_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:syslog-cert-AbCdEf';
  const KEY_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:syslog-key-AbCdEf';

  test('read once, on the first connection; the receiver sees a client certificate from them', async () => {
    const certs = makeTestCertificates(mkdtempSync(path.join(tmpdir(), 'syslog-tls-')));
    const pem = (file: string) => readFileSync(file, 'utf8');
    const peers: string[] = [];
    const received: Buffer[] = [];
    const server = createTlsServer(
      {
        cert: pem(certs.serverCertFile),
        key: pem(certs.serverKeyFile),
        ca: pem(certs.caFile),
        requestCert: true,
        rejectUnauthorized: true,
      },
      (socket) => {
        peers.push(String(socket.getPeerCertificate().subject?.CN));
        socket.on('data', (chunk: Buffer) => received.push(chunk));
      },
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const reads: string[] = [];
    const secrets: Record<string, string> = {
      [CA_ARN]: pem(certs.caFile),
      [CERT_ARN]: pem(certs.clientCertFile),
      [KEY_ARN]: pem(certs.clientKeyFile),
    };
    const sink = createSyslogSink(
      settings(
        { SYSLOG_TLS_CA_SECRET_ARN: CA_ARN, SYSLOG_TLS_CERT_SECRET_ARN: CERT_ARN, SYSLOG_TLS_KEY_SECRET_ARN: KEY_ARN },
        `syslog+tls://localhost:${port}`,
      ),
      { logger: recordingLogger().logger },
      {
        readSecret: (arn) => {
          reads.push(arn);
          return Promise.resolve(secrets[arn]!);
        },
      },
    );
    const batch = (index: number) => ({ object: OBJECT, index, records: [Buffer.from(`{"eventID":"${index}"}`)] });
    await sink.send(batch(0), { idempotencyKey: 'a', deadline: Date.now() + 10_000 });
    await sink.send(batch(1), { idempotencyKey: 'b', deadline: Date.now() + 10_000 });
    sink.close();
    await new Promise((resolve) => setTimeout(resolve, 100));
    await new Promise<void>((resolve) => server.close(() => resolve()));
    expect(reads.sort()).toEqual([CA_ARN, CERT_ARN, KEY_ARN].sort());
    expect(peers).toEqual([CLIENT_NAME]);
    expect(Buffer.concat(received).toString()).toMatch(
      /^\d+ <110>1 - .*\{"eventID":"0"\}\d+ <110>1 - .*\{"eventID":"1"\}$/,
    );
  });

  test('a secret that cannot be read fails the attempt naming its variable, and is asked again next time', async () => {
    let reads = 0;
    const sink = createSyslogSink(
      settings({ SYSLOG_TLS_CA_SECRET_ARN: CA_ARN }, 'syslog+tls://localhost:1'),
      { logger: recordingLogger().logger, random: () => 0 },
      {
        readSecret: () => {
          reads++;
          return Promise.reject(new Error('AccessDeniedException'));
        },
      },
    );
    await expect(
      sink.send(
        { object: OBJECT, index: 0, records: [Buffer.from('{}')] },
        { idempotencyKey: 'k', deadline: Date.now() + 10_000 },
      ),
    ).rejects.toThrow(`cannot read SYSLOG_TLS_CA_SECRET_ARN ${CA_ARN}: AccessDeniedException`);
    expect(reads).toBe(8);
    sink.close();
  });
});
