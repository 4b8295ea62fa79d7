/**
 * Every command a reader is told to run works as written: each ```sh block of README.md and docs/*.md is taken
 * apart into commands, and every command runs, in document order, through bash, against the local emulator:
 *
 * - each document starts from an empty emulator (`useEmulator()`) with a stand-in for the collector stack
 *   (`CloudTrailCollector`, testkit/emulator-stack.ts), whose registry table `cloudtrail-collector-accounts` the
 *   command-line tool finds from its outputs as in AWS; a table an `export ACCOUNTS_TABLE=...` names is created too;
 * - `export NAME=value` lines set the environment of the document's later commands (plain values only);
 * - `npx cloudtrail-collector ...` runs `node bin/cli.js ...` (a shim first on PATH; any other npx passes through);
 * - what points at the real world is pointed at this machine instead: the AWS endpoint and credentials (the
 *   emulator's), `DOWNSTREAM_URL` and `DOWNSTREAM_TOKEN` (a local receiver), `DOWNSTREAM_TOKEN_SECRET_ARN` (unset);
 * - commands run in a scratch copy of the project (node_modules linked), so `npm run synth` writing cdk.out/,
 *   templates/ and docs/permissions.md never touches the working tree;
 * - the exit code must be 0, or the one a trailing comment states: `# exits 1: why`.
 *
 * Only `npm test` (this very suite) and the bare `npm start` (the full sandbox, covered by sandbox.int.test.ts)
 * are not run. Commands that cannot run here belong in ```text blocks marked "run in your AWS account".
 */
import { spawn, spawnSync } from 'node:child_process';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { readFileSync, readdirSync } from 'node:fs';
import { chmod, cp, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { createRegistryTable } from '../../testkit/demo-chain';
import { createEmulatorCollectorStack } from '../../testkit/emulator-stack';
import { DownstreamReceiver } from '../../testkit/downstream-receiver';
import { useEmulator } from '../../testkit/test-emulator';

const ROOT = path.resolve(__dirname, '../..');
const DEFAULT_TABLE = 'cloudtrail-collector-accounts';
const RECEIVER_TOKEN = 'docs-commands-token';

/** What a scratch copy needs to run every documented command (node_modules is linked, not copied). */
const PROJECT_ENTRIES = [
  'bin',
  'lib',
  'lambdas',
  'testkit',
  'scripts',
  'templates',
  'docs',
  'README.md',
  'package.json',
  'package-lock.json',
  'cdk.json',
  'tsconfig.json',
  '.prettierrc.json',
  '.prettierignore',
];

/** Not run, with the reason: everything else in a sh block is. */
const NOT_RUN: Record<string, string> = {
  'npm test': 'this test suite itself',
  'npm start': 'the full sandbox run: test/integration/sandbox.int.test.ts runs it',
};

interface DocCommand {
  doc: string;
  /** 1-based line of the command's first line. */
  line: number;
  /** As written, continuation lines included. */
  text: string;
  expectedExit: number;
}

/** The commands of every ```sh block, in order: blank and comment-only lines dropped, `\` continuations joined. */
function shCommands(markdown: string, doc: string): DocCommand[] {
  const commands: DocCommand[] = [];
  const lines = markdown.split('\n');
  let fence: string | undefined;
  let isSh = false;
  let pending: { line: number; parts: string[] } | undefined;
  lines.forEach((raw, index) => {
    const opening = /^(`{3,}|~{3,})\s*([\w-]*)/.exec(raw);
    if (fence === undefined) {
      if (opening) {
        fence = opening[1];
        isSh = opening[2] === 'sh';
      }
      return;
    }
    if (raw.trim() === fence || (raw.startsWith(fence) && raw.slice(fence.length).trim() === '')) {
      if (pending) throw new Error(`${doc}:${pending.line}: a command continues past the end of its block`);
      fence = undefined;
      isSh = false;
      return;
    }
    if (!isSh) return;
    if (pending === undefined) {
      if (raw.trim() === '' || raw.trim().startsWith('#')) return;
      pending = { line: index + 1, parts: [] };
    }
    pending.parts.push(raw);
    if (!raw.trimEnd().endsWith('\\')) {
      const text = pending.parts.join('\n');
      const exits = /#\s*exits\s+(\d+)\b/.exec(text);
      commands.push({ doc, line: pending.line, text, expectedExit: exits ? Number(exits[1]) : 0 });
      pending = undefined;
    }
  });
  if (fence !== undefined) throw new Error(`${doc}: a code block is not closed`);
  return commands;
}

/** The command without its trailing comment, on one line. */
function bare(command: DocCommand): string {
  return command.text
    .replace(/\\\n\s*/g, ' ')
    .replace(/\s+#.*$/, '')
    .trim();
}

const DOC_FILES = [
  'README.md',
  ...readdirSync(path.join(ROOT, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .sort()
    .map((name) => `docs/${name}`),
];
const COMMANDS = new Map(
  DOC_FILES.map((doc) => [doc, shCommands(readFileSync(path.join(ROOT, doc), 'utf8'), doc)] as const),
);
const ALL = [...COMMANDS.values()].flat();
const RUN = ALL.filter((command) => NOT_RUN[bare(command)] === undefined);

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

function runInShell(text: string, cwd: string, env: NodeJS.ProcessEnv, timeoutMs: number): Promise<Ran> {
  return new Promise((resolve, reject) => {
    // Its own process group, so that a timeout can stop bash and everything it started.
    const child = spawn('bash', ['-c', text], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
    }, timeoutMs);
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, timedOut });
    });
  });
}

const tail = (text: string, lines = 25) => text.trimEnd().split('\n').slice(-lines).join('\n');

describe('the documented commands', () => {
  test('every sh block holds commands, and no placeholder a reader would have to replace', () => {
    expect(ALL.length).toBeGreaterThan(20);
    for (const command of ALL) {
      const text = bare(command);
      expect({ at: `${command.doc}:${command.line}`, text, placeholder: /<[^<>\s]+>|\[--/.test(text) }).toEqual({
        at: `${command.doc}:${command.line}`,
        text,
        placeholder: false,
      });
    }
  });

  test('they cover the whole tool, the sandbox and the synth', () => {
    const run = RUN.map(bare);
    const wanted: [string, RegExp][] = [
      ['accounts add', /^npx cloudtrail-collector accounts add /],
      ['accounts list', /^npx cloudtrail-collector accounts list\b/],
      ['accounts remove', /^npx cloudtrail-collector accounts remove /],
      ['plan', /^npx cloudtrail-collector plan\b/],
      ['apply', /^npx cloudtrail-collector apply\b/],
      ['status', /^npx cloudtrail-collector status\b/],
      ['invoke ingest', /^npx cloudtrail-collector invoke ingest --event /],
      ['invoke reconcile', /^npx cloudtrail-collector invoke reconcile --event /],
      ['ingest --queue-url', /^npx cloudtrail-collector ingest --queue-url /],
      ['npm start -- --help', /^npm start -- --help$/],
      ['npm start with options', /^npm start -- --(rows|files) /],
      ['npm run synth', /^npm run synth$/],
    ];
    expect(wanted.filter(([, pattern]) => !run.some((command) => pattern.test(command))).map(([name]) => name)).toEqual(
      [],
    );
    // Exit codes other than 0 are stated, never guessed: a plan over an empty account must say it exits 1.
    expect(RUN.some((command) => command.expectedExit === 1)).toBe(true);
  });

  describe('run as written against the emulator', () => {
    let workdir: string;
    let receiver: DownstreamReceiver;

    beforeAll(async () => {
      workdir = await mkdtemp(path.join(tmpdir(), 'ctc-docs-'));
      for (const entry of PROJECT_ENTRIES) {
        await cp(path.join(ROOT, entry), path.join(workdir, entry), { recursive: true });
      }
      await symlink(path.join(ROOT, 'node_modules'), path.join(workdir, 'node_modules'), 'dir');
      const realNpx = spawnSync('bash', ['-c', 'command -v npx'], { encoding: 'utf8' }).stdout.trim();
      if (!realNpx) throw new Error('npx not found on PATH');
      const shims = path.join(workdir, '.docs-shims');
      await mkdir(shims);
      await writeFile(
        path.join(shims, 'npx'),
        [
          '#!/usr/bin/env bash',
          '# `npx cloudtrail-collector` is the package bin, bin/cli.js: run it directly, without npm resolving it.',
          `if [ "$1" = cloudtrail-collector ]; then shift; exec node ${JSON.stringify(path.join(workdir, 'bin/cli.js'))} "$@"; fi`,
          `exec ${JSON.stringify(realNpx)} "$@"`,
          '',
        ].join('\n'),
      );
      await chmod(path.join(shims, 'npx'), 0o755);
      receiver = new DownstreamReceiver({ token: RECEIVER_TOKEN });
      await receiver.start();
    }, 120_000);

    afterAll(async () => {
      await receiver?.stop();
      if (workdir) await rm(workdir, { recursive: true, force: true });
    });

    const docsWithCommands = DOC_FILES.filter((doc) => (COMMANDS.get(doc) ?? []).length > 0);

    test.each(docsWithCommands)(
      '%s',
      async (doc) => {
        const endpoint = await useEmulator();
        const dynamo = new DynamoDBClient({ region: 'us-east-1', endpoint });
        const tables = new Set<string>();
        const ensureTable = async (name: string) => {
          if (tables.has(name)) return;
          await createRegistryTable(dynamo, name);
          tables.add(name);
        };
        // The emulator's stand-in for the collector stack: the documents' commands find the registry from the stack's
        // outputs, as they do in AWS, with no variable set.
        await createEmulatorCollectorStack({ endpoint, region: 'us-east-1', accountsTable: DEFAULT_TABLE });
        tables.add(DEFAULT_TABLE);
        const documented: Record<string, string> = {};

        for (const command of COMMANDS.get(doc) ?? []) {
          const where = `${doc}:${command.line}`;
          const text = bare(command);
          if (NOT_RUN[text] !== undefined) continue;
          const assignment = /^export\s+([A-Z_][A-Z0-9_]*)=(.*)$/.exec(text);
          if (assignment) {
            const value = assignment[2]!.replace(/^'(.*)'$|^"(.*)"$/, '$1$2');
            expect({ where, value, plain: !/[$`\\]/.test(value) }).toEqual({ where, value, plain: true });
            documented[assignment[1]!] = value;
            if (assignment[1] === 'ACCOUNTS_TABLE') await ensureTable(value);
            continue;
          }
          const env: NodeJS.ProcessEnv = {
            ...process.env,
            ...documented,
            // The real world, replaced by this machine:
            AWS_ENDPOINT_URL: endpoint,
            AWS_ACCESS_KEY_ID: 'testing',
            AWS_SECRET_ACCESS_KEY: 'testing',
            DOWNSTREAM_URL: receiver.url,
            DOWNSTREAM_TOKEN: RECEIVER_TOKEN,
            PATH: `${path.join(workdir, '.docs-shims')}:${process.env.PATH ?? ''}`,
            NODE_NO_WARNINGS: '1',
          };
          for (const name of ['DOWNSTREAM_TOKEN_SECRET_ARN', 'AWS_SESSION_TOKEN', 'AWS_PROFILE']) delete env[name];
          const timeoutMs = /^npm run synth\b/.test(text) ? 300_000 : 120_000;
          const result = await runInShell(command.text, workdir, env, timeoutMs);
          const outcome = {
            where,
            command: command.text,
            exit: result.timedOut ? `timed out after ${timeoutMs / 1000} s` : result.code,
          };
          const failed = outcome.exit !== command.expectedExit;
          expect(failed ? { ...outcome, stdout: tail(result.stdout), stderr: tail(result.stderr) } : outcome).toEqual({
            ...outcome,
            exit: command.expectedExit,
          });
        }
      },
      600_000,
    );
  });
});
