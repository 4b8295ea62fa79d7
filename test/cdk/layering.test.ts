/**
 * The CDK code under lib/ is what `cdk synth` loads: it may use lambdas/ (shared names, the ARN module) but never
 * the command-line tool (bin/), the test kit or the tests, so a stack never pulls in the CLI or test code.
 */
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import ts from 'typescript';

const ROOT = path.join(__dirname, '..', '..');
const LIB = path.join(ROOT, 'lib');
const FORBIDDEN = ['bin', 'testkit', 'test', 'bench'];

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return tsFiles(full);
    return entry.name.endsWith('.ts') ? [full] : [];
  });
}

/** Every module specifier of a file: imports and re-exports (type-only too), `require(...)` and `import(...)`. */
function moduleSpecifiers(file: string): string[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const visit = (node: ts.Node) => {
    if (
      (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) &&
      node.moduleSpecifier !== undefined &&
      ts.isStringLiteral(node.moduleSpecifier)
    ) {
      found.push(node.moduleSpecifier.text);
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      const expression = node.moduleReference.expression;
      if (ts.isStringLiteral(expression)) found.push(expression.text);
    } else if (
      ts.isCallExpression(node) &&
      (node.expression.kind === ts.SyntaxKind.ImportKeyword ||
        (ts.isIdentifier(node.expression) && node.expression.text === 'require')) &&
      node.arguments[0] !== undefined &&
      ts.isStringLiteral(node.arguments[0])
    ) {
      found.push(node.arguments[0].text);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/** The top-level project folder a relative specifier resolves into, or undefined for a package. */
function projectFolder(file: string, specifier: string): string | undefined {
  if (!specifier.startsWith('.')) return undefined;
  const relative = path.relative(ROOT, path.resolve(path.dirname(file), specifier));
  return relative.split(path.sep)[0];
}

describe('lib/ layering', () => {
  const files = tsFiles(LIB);

  test('finds the CDK sources and their imports', () => {
    expect(files.map((file) => path.relative(ROOT, file))).toContain(path.join('lib', 'collector.stack.ts'));
    expect(moduleSpecifiers(path.join(LIB, 'collector.stack.ts'))).toContain('./customer-deploy-command');
  });

  test(`no file under lib/ imports from ${FORBIDDEN.map((folder) => `${folder}/`).join(', ')}`, () => {
    const offending = files.flatMap((file) =>
      moduleSpecifiers(file)
        .filter((specifier) => FORBIDDEN.includes(projectFolder(file, specifier) ?? ''))
        .map((specifier) => `${path.relative(ROOT, file)} imports ${specifier}`),
    );
    expect(offending).toEqual([]);
  });

  test('the check sees a forbidden import', () => {
    expect(projectFolder(path.join(LIB, 'x.ts'), '../bin/commands/accounts')).toBe('bin');
    expect(projectFolder(path.join(LIB, 'x.ts'), '../testkit/emulator')).toBe('testkit');
    expect(projectFolder(path.join(LIB, 'x.ts'), '../lambdas/shared/arn')).toBe('lambdas');
    expect(projectFolder(path.join(LIB, 'x.ts'), 'aws-cdk-lib')).toBeUndefined();
  });
});
