/**
 * scripts/ensure-deps.mjs, the `prestart`/`pretest` step: `npm ci` runs exactly when node_modules is missing or
 * differs from package-lock.json, with one line saying why, and never otherwise. The script runs on a copy in a
 * temporary project whose "npm" only records that it was called.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

const SCRIPT = path.resolve(__dirname, '../../scripts/ensure-deps.mjs');

interface Lock {
  packages: Record<string, { version: string; optional?: boolean }>;
}

const LOCK: Lock = {
  packages: {
    '': { version: '0.1.0' },
    'node_modules/commander': { version: '14.0.3' },
    'node_modules/@esbuild/darwin-arm64': { version: '0.28.2', optional: true },
  },
};

let project: string;

beforeEach(() => {
  project = mkdtempSync(path.join(tmpdir(), 'ensure-deps-'));
  mkdirSync(path.join(project, 'scripts'));
  copyFileSync(SCRIPT, path.join(project, 'scripts', 'ensure-deps.mjs'));
  writeFileSync(path.join(project, 'package-lock.json'), JSON.stringify(LOCK));
  // Stands in for npm-cli.js: records its arguments, as `npm ci` would be run by the npm that runs the script.
  writeFileSync(
    path.join(project, 'fake-npm.js'),
    "require('fs').writeFileSync(require('path').join(__dirname, 'npm-ran'), process.argv.slice(2).join(' '));",
  );
});

afterEach(() => rmSync(project, { recursive: true, force: true }));

function installed(packages: Lock['packages']): void {
  mkdirSync(path.join(project, 'node_modules'), { recursive: true });
  writeFileSync(path.join(project, 'node_modules', '.package-lock.json'), JSON.stringify({ packages }));
}

function ensureDeps() {
  const result = spawnSync(process.execPath, [path.join(project, 'scripts', 'ensure-deps.mjs')], {
    encoding: 'utf8',
    env: { ...process.env, npm_execpath: path.join(project, 'fake-npm.js') },
  });
  const npmRan = path.join(project, 'npm-ran');
  return { ...result, npmArgs: existsSync(npmRan) ? readFileSync(npmRan, 'utf8') : undefined };
}

it('runs npm ci on a fresh clone (no node_modules), saying so in one line', () => {
  const result = ensureDeps();
  expect(result.status).toBe(0);
  expect(result.npmArgs).toBe('ci --no-audit --no-fund');
  expect(result.stderr.trim().split('\n')).toEqual([
    'ensure-deps: node_modules is missing: running `npm ci` (installs package-lock.json exactly)',
  ]);
});

it('does nothing when node_modules matches the lock (another platform’s optional binaries may be absent)', () => {
  installed({ 'node_modules/commander': { version: '14.0.3' } });
  const result = ensureDeps();
  expect(result.status).toBe(0);
  expect(result.npmArgs).toBeUndefined();
  expect(result.stderr).toBe('');
});

it.each([
  [
    'a version differs',
    { 'node_modules/commander': { version: '13.1.0' } },
    'node_modules/commander is 13.1.0, the lock says 14.0.3',
  ],
  ['a package is missing', {}, 'node_modules/commander is not installed'],
  [
    'a package is extraneous',
    { 'node_modules/commander': { version: '14.0.3' }, 'node_modules/left-pad': { version: '1.3.0' } },
    'node_modules/left-pad is installed but not in the lock',
  ],
])('runs npm ci when %s, naming it', (_case, packages, reason) => {
  installed(packages);
  const result = ensureDeps();
  expect(result.npmArgs).toBe('ci --no-audit --no-fund');
  expect(result.stderr).toContain(`ensure-deps: ${reason}: running \`npm ci\``);
});

it('passes on the exit code of a failed npm ci', () => {
  writeFileSync(path.join(project, 'fake-npm.js'), 'process.exit(7);');
  expect(ensureDeps().status).toBe(7);
});
