/**
 * The layout rules (testkit/README.md): production code (lambdas/, lib/) never imports the test kit, the tests
 * or the bench; no test imports the bench; the bench imports no test.
 */
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');

function sourceFiles(folder: string): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== 'node_modules' && entry.name !== 'out' && !entry.name.startsWith('.')) walk(full);
      } else if (/\.(ts|mts|cts|js|mjs|cjs)$/.test(entry.name) && !entry.name.endsWith('.d.ts')) {
        found.push(full);
      }
    }
  };
  walk(path.join(ROOT, folder));
  return found;
}

/** Every module a file names in import/export ... from, import(), require() or jest.mock(), resolved to a root folder. */
function importedFolders(file: string): { specifier: string; folder: string }[] {
  const text = readFileSync(file, 'utf8');
  const specifiers = [
    ...text.matchAll(/\b(?:import|export)\s[^'"`;]*?\bfrom\s*['"]([^'"]+)['"]/g),
    ...text.matchAll(/\bimport\s*['"]([^'"]+)['"]/g),
    ...text.matchAll(/\b(?:import|require|jest\.mock)\s*\(\s*['"]([^'"]+)['"]/g),
  ].map((match) => match[1]!);
  return specifiers
    .filter((specifier) => specifier.startsWith('.'))
    .map((specifier) => {
      const relative = path.relative(ROOT, path.resolve(path.dirname(file), specifier));
      return { specifier, folder: relative.split(path.sep)[0]! };
    });
}

function violations(folders: string[], forbidden: string[]): string[] {
  return folders.flatMap((folder) =>
    sourceFiles(folder).flatMap((file) =>
      importedFolders(file)
        .filter((target) => forbidden.includes(target.folder))
        .map((target) => `${path.relative(ROOT, file)} imports ${target.specifier}`),
    ),
  );
}

test('production code (lambdas/, lib/) imports neither testkit/, test/ nor bench/', () => {
  expect(violations(['lambdas', 'lib'], ['testkit', 'test', 'bench'])).toEqual([]);
});

test('no test imports bench/', () => {
  expect(violations(['test'], ['bench'])).toEqual([]);
});

test('no bench file imports test/', () => {
  expect(violations(['bench'], ['test'])).toEqual([]);
});

test('the checks see imports at all (a file that imports testkit/ is found)', () => {
  expect(importedFolders(path.join(ROOT, 'test', 'reliability', 'soak.int.test.ts')).map((t) => t.folder)).toContain(
    'testkit',
  );
});
