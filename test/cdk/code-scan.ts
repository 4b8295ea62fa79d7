/**
 * Finds every AWS operation the code under lambdas/ sends: each value import of an AWS SDK v3 `XxxCommand` (or
 * `paginateXxx`) from an `@aws-sdk/*` client package, read with the TypeScript parser. Type-only imports are
 * skipped. Also answers which handler reaches each file through (non-type) relative imports, so grants to an
 * execution role can be checked against the code that role actually runs.
 */
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import * as path from 'node:path';
import ts from 'typescript';

export const ROOT = path.join(__dirname, '..', '..');
export const LAMBDAS = path.join(ROOT, 'lambdas');

/** SDK package -> the service part of the map's operation names. */
const SERVICES: Record<string, string> = {
  '@aws-sdk/client-cloudtrail': 'CloudTrail',
  '@aws-sdk/client-dynamodb': 'DynamoDB',
  '@aws-sdk/client-eventbridge': 'EventBridge',
  '@aws-sdk/client-firehose': 'Firehose',
  '@aws-sdk/lib-dynamodb': 'DynamoDB',
  '@aws-sdk/client-lambda': 'Lambda',
  '@aws-sdk/client-organizations': 'Organizations',
  '@aws-sdk/client-s3': 'S3',
  '@aws-sdk/client-secrets-manager': 'SecretsManager',
  '@aws-sdk/client-sns': 'SNS',
  '@aws-sdk/client-sqs': 'SQS',
  '@aws-sdk/client-cloudformation': 'CloudFormation',
  '@aws-sdk/client-sts': 'STS',
};

/** lib-dynamodb's document commands and the DynamoDB API operation each one sends. */
const LIB_DYNAMODB: Record<string, string> = {
  Get: 'GetItem',
  Put: 'PutItem',
  Update: 'UpdateItem',
  Delete: 'DeleteItem',
  Query: 'Query',
  Scan: 'Scan',
  BatchGet: 'BatchGetItem',
  BatchWrite: 'BatchWriteItem',
  TransactGet: 'TransactGetItems',
  TransactWrite: 'TransactWriteItems',
  ExecuteStatement: 'ExecuteStatement',
  BatchExecuteStatement: 'BatchExecuteStatement',
  ExecuteTransaction: 'ExecuteTransaction',
};

export interface CallSite {
  operation: string;
  file: string;
}

export function sourceFiles(dir = LAMBDAS): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [full] : [];
  });
}

function parse(file: string): ts.SourceFile {
  return ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
}

function operationName(pkg: string, imported: string): string {
  const service = SERVICES[pkg];
  if (service === undefined) {
    throw new Error(`unknown AWS SDK package ${pkg}: add its service name to test/cdk/code-scan.ts`);
  }
  const base = imported.startsWith('paginate') ? imported.slice('paginate'.length) : imported.replace(/Command$/, '');
  if (pkg === '@aws-sdk/lib-dynamodb') {
    const api = LIB_DYNAMODB[base];
    if (api === undefined) throw new Error(`unknown lib-dynamodb command ${imported}: add it to test/cdk/code-scan.ts`);
    return `${service}.${api}`;
  }
  return `${service}.${base}`;
}

/** Every AWS operation each file under lambdas/ sends. */
export function scanCallSites(files = sourceFiles()): CallSite[] {
  const sites: CallSite[] = [];
  for (const file of files) {
    const source = parse(file);
    for (const statement of source.statements) {
      if (!ts.isImportDeclaration(statement) || !ts.isStringLiteral(statement.moduleSpecifier)) continue;
      const pkg = statement.moduleSpecifier.text;
      if (!pkg.startsWith('@aws-sdk/')) continue;
      const clause = statement.importClause;
      if (clause === undefined || clause.isTypeOnly) continue;
      const bindings = clause.namedBindings;
      if (bindings !== undefined && ts.isNamespaceImport(bindings)) {
        throw new Error(
          `${path.relative(ROOT, file)}: namespace import of ${pkg}; import commands by name so they can be scanned`,
        );
      }
      if (bindings === undefined || !ts.isNamedImports(bindings)) continue;
      for (const specifier of bindings.elements) {
        if (specifier.isTypeOnly) continue;
        const imported = (specifier.propertyName ?? specifier.name).text;
        if (!/^[A-Z]\w*Command$/.test(imported) && !/^paginate[A-Z]\w*$/.test(imported)) continue;
        sites.push({ operation: operationName(pkg, imported), file: path.relative(ROOT, file) });
      }
    }
  }
  return sites;
}

/** Files (relative to the project root) reachable from an entry through non-type relative imports. */
export function reachableFrom(entry: string): Set<string> {
  const seen = new Set<string>();
  const visit = (file: string) => {
    const relative = path.relative(ROOT, file);
    if (seen.has(relative)) return;
    seen.add(relative);
    for (const statement of parse(file).statements) {
      if (!ts.isImportDeclaration(statement) && !ts.isExportDeclaration(statement)) continue;
      const specifier = statement.moduleSpecifier;
      if (specifier === undefined || !ts.isStringLiteral(specifier) || !specifier.text.startsWith('.')) continue;
      if (ts.isImportDeclaration(statement)) {
        const clause = statement.importClause;
        if (clause?.isTypeOnly) continue;
        const bindings = clause?.namedBindings;
        const allTypes =
          clause?.name === undefined &&
          bindings !== undefined &&
          ts.isNamedImports(bindings) &&
          bindings.elements.length > 0 &&
          bindings.elements.every((element) => element.isTypeOnly);
        if (allTypes) continue;
      } else if (statement.isTypeOnly) {
        continue;
      }
      const base = path.resolve(path.dirname(file), specifier.text);
      const target = [`${base}.ts`, path.join(base, 'index.ts')].find((candidate) => existsSync(candidate));
      if (target !== undefined) visit(target);
    }
  };
  visit(path.join(ROOT, entry));
  return seen;
}
