#!/usr/bin/env node
// `prestart` / `pretest`: makes `npm start` and `npm test` work as the first commands of a fresh clone. When
// node_modules is missing or differs from package-lock.json it runs `npm ci` (one line says why); otherwise it
// does nothing. It installs nothing else: the emulator and cfn-lint are Python tools (`npm run setup`).
// Dependency-free on purpose: it runs before anything is installed.
//
// npm itself records what it installed in node_modules/.package-lock.json (the "hidden lockfile",
// https://docs.npmjs.com/cli/v11/configuring-npm/package-lock-json#hidden-lockfiles); comparing its entries with
// the lock file's answers "does node_modules match the lock" without reading every package.json.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The `packages` map of a lock file, or undefined when the file is absent. */
function readPackages(file) {
  if (!existsSync(file)) return undefined;
  const lock = JSON.parse(readFileSync(file, 'utf8'));
  if (typeof lock !== 'object' || lock === null || typeof lock.packages !== 'object') {
    throw new Error(`${file} has no "packages" map (lockfileVersion 2 or 3 expected)`);
  }
  return lock.packages;
}

/**
 * Why node_modules does not match the lock file, or undefined when it does. Entries of the lock that are
 * optional may be absent (npm skips another platform's binaries, such as esbuild's); every other entry must be
 * installed with the lock's version, and nothing may be installed that the lock does not list.
 */
export function mismatch(lockPackages, installedPackages) {
  if (installedPackages === undefined) return 'node_modules is missing';
  const differing = [];
  for (const [path, entry] of Object.entries(lockPackages)) {
    if (path === '' || !path.startsWith('node_modules/')) continue;
    const installed = installedPackages[path];
    if (installed === undefined) {
      if (!entry.optional) differing.push(`${path} is not installed`);
    } else if (installed.version !== entry.version) {
      differing.push(`${path} is ${installed.version}, the lock says ${entry.version}`);
    }
  }
  for (const path of Object.keys(installedPackages)) {
    if (path.startsWith('node_modules/') && lockPackages[path] === undefined) {
      differing.push(`${path} is installed but not in the lock`);
    }
  }
  if (differing.length === 0) return undefined;
  const more = differing.length > 1 ? ` (and ${differing.length - 1} more)` : '';
  return `${differing[0]}${more}`;
}

function main() {
  const lockPackages = readPackages(join(root, 'package-lock.json'));
  if (lockPackages === undefined) {
    process.stderr.write('ensure-deps: package-lock.json is missing: run `npm install` to create it\n');
    return 2;
  }
  const reason = mismatch(lockPackages, readPackages(join(root, 'node_modules', '.package-lock.json')));
  if (reason === undefined) return 0;
  process.stderr.write(`ensure-deps: ${reason}: running \`npm ci\` (installs package-lock.json exactly)\n`);
  // Inside an npm script npm_execpath is the npm that runs us: use the same one.
  const npmCli = process.env.npm_execpath;
  const [command, args] = npmCli
    ? [process.execPath, [npmCli, 'ci', '--no-audit', '--no-fund']]
    : ['npm', ['ci', '--no-audit', '--no-fund']];
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit' });
  if (result.error) {
    process.stderr.write(`ensure-deps: cannot run npm ci: ${result.error.message}\n`);
    return 1;
  }
  return result.status ?? 1;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) process.exitCode = main();
