/**
 * Where the Python tools are: the emulator's Python and cfn-lint. `npm run setup` builds .venv/ in the project
 * (scripts/setup-python.mjs); when it exists it is used without being asked. MOTO_PYTHON still wins, and
 * otherwise python3 and cfn-lint come from the PATH.
 */
import { existsSync } from 'node:fs';
import * as path from 'node:path';

const VENV_BIN = path.resolve(__dirname, '..', '.venv', 'bin');

/** The exact commands that make the Python tools available, for every "not found" message. */
export const PYTHON_TOOLS_HINT =
  '`npm run setup` (a project-local .venv/ from requirements-dev.txt; needs Python 3 with venv and a package index), ' +
  'or `pip install "moto[server]" cfn-lint` into a Python of your own (MOTO_PYTHON=/path/to/python picks it)';

export function motoPython(env: NodeJS.ProcessEnv = process.env): string {
  if (env.MOTO_PYTHON) return env.MOTO_PYTHON;
  const venvPython = path.join(VENV_BIN, 'python');
  return existsSync(venvPython) ? venvPython : 'python3';
}

export function cfnLintCommand(): string {
  const venvCfnLint = path.join(VENV_BIN, 'cfn-lint');
  return existsSync(venvCfnLint) ? venvCfnLint : 'cfn-lint';
}
