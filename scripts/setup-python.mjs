#!/usr/bin/env node
// `npm run setup`: a project-local Python virtual environment (.venv/) with the emulator and cfn-lint pinned in
// requirements-dev.txt. The tests and the sandbox find .venv/ on their own (testkit/python-tools.ts). It needs a
// Python 3 with the venv module and a package index pip can reach; without either it fails saying which, and
// leaves no half-made .venv/ behind (a venv cannot be moved once built, so it is built in place and removed on
// failure).
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const venv = join(root, '.venv');
const python = process.env.SETUP_PYTHON ?? 'python3';

function fail(message) {
  rmSync(venv, { recursive: true, force: true });
  process.stderr.write(`setup: ${message}\n`);
  process.exit(1);
}

function run(command, args) {
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit' });
  return result.error ? -1 : (result.status ?? 1);
}

if (existsSync(join(venv, 'bin', 'python'))) {
  process.stderr.write(`setup: ${venv} exists already; delete it to build it again\n`);
  process.exit(0);
}
const probe = spawnSync(python, ['-c', 'import sys, venv, ensurepip; assert sys.version_info >= (3, 9)'], {
  stdio: 'ignore',
});
if (probe.error || probe.status !== 0) {
  process.stderr.write(
    `setup: ${python} is missing, older than 3.9, or lacks the venv module (Debian: apt-get install python3-venv); ` +
      'SETUP_PYTHON=/path/to/python3 picks another one\n',
  );
  process.exit(1);
}
process.stderr.write(`setup: creating ${venv} with ${python} and installing requirements-dev.txt\n`);
if (run(python, ['-m', 'venv', venv]) !== 0) fail(`${python} -m venv ${venv} failed (see above)`);
const pip = ['-m', 'pip', 'install', '--disable-pip-version-check', '-r', join(root, 'requirements-dev.txt')];
if (run(join(venv, 'bin', 'python'), pip) !== 0) {
  fail(
    'pip could not install requirements-dev.txt (see above), so .venv/ was removed: it needs a package index ' +
      'that has moto and cfn-lint (`pip config list` shows the configured ones). Without one, install them into ' +
      'any Python, then set MOTO_PYTHON=/path/to/that/python and put its cfn-lint on the PATH',
  );
}
process.stderr.write('setup: done; the tests and `npm start` now use .venv/bin/python and .venv/bin/cfn-lint\n');
