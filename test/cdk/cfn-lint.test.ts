/**
 * cfn-lint over every synthesized template and every committed template, clean (no error, no warning). The app is
 * synthesized once into a temporary directory exactly as `npm run synth` does it: the functions are bundled by the
 * local esbuild (no Docker), and nothing needs AWS credentials.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { GENERATED_FILES } from '../../lib/names';
import { PYTHON_TOOLS_HINT, cfnLintCommand } from '../../testkit/python-tools';
import { ROOT } from './code-scan';
import { synthApp } from './support';

const INSTALL_HINT = `cfn-lint is not installed: ${PYTHON_TOOLS_HINT}`;

function cfnLint(args: string[]) {
  return spawnSync(cfnLintCommand(), args, { encoding: 'utf8', timeout: 120_000 });
}

describe('cfn-lint', () => {
  let outdir: string;
  let templates: string[];

  beforeAll(() => {
    const probe = cfnLint(['--version']);
    if (probe.error !== undefined || probe.status !== 0) {
      throw new Error(`${INSTALL_HINT}\n${probe.error?.message ?? probe.stderr}`);
    }
    outdir = mkdtempSync(path.join(tmpdir(), 'cdk-synth-'));
    const { app } = synthApp({ bundle: true, outdir });
    app.synth();
    templates = readdirSync(outdir)
      .filter((file) => file.endsWith('.template.json'))
      .map((file) => path.join(outdir, file));
  }, 120_000);

  afterAll(() => {
    if (outdir) rmSync(outdir, { recursive: true, force: true });
  });

  test('the app synthesizes all three stacks, with the functions bundled locally', () => {
    expect(templates.map((file) => path.basename(file)).sort()).toEqual([
      'CloudTrailCollector.template.json',
      'CloudTrailCollectorCustomerRole.template.json',
      'CloudTrailCollectorLogArchiveRole.template.json',
    ]);
    const assets = readdirSync(outdir).filter((entry) => entry.startsWith('asset.'));
    const bundles = assets.filter((entry) => existsSync(path.join(outdir, entry, 'index.js')));
    // ingest, the reconcile sweep and the reconcile worker.
    expect(bundles).toHaveLength(3);
    for (const bundle of bundles) {
      expect(existsSync(path.join(outdir, bundle, 'index.js.map'))).toBe(true);
    }
    // The others publish the templates (lib/template-bucket.construct.ts): the generated files themselves, and
    // CDK's BucketDeployment handler with its AWS CLI layer (shipped in aws-cdk-lib, nothing built here).
    const others = assets.filter((entry) => !bundles.includes(entry));
    expect(others).toHaveLength(3);
    expect(
      others.filter((entry) => existsSync(path.join(outdir, entry, path.basename(GENERATED_FILES.customerTemplate)))),
    ).toHaveLength(1);
  });

  test('every synthesized and committed template is clean', () => {
    const committed = [
      GENERATED_FILES.customerTemplate,
      GENERATED_FILES.logArchiveTemplate,
      GENERATED_FILES.organizationManagementTemplate,
    ].map((file) => path.join(ROOT, file));
    const result = cfnLint([...templates, ...committed]);
    if (result.error !== undefined) throw new Error(`${INSTALL_HINT}\n${result.error.message}`);
    // Exit code 0: no error, no warning (cfn-lint shows informational findings only when asked).
    expect({ status: result.status, output: `${result.stdout}${result.stderr}` }).toEqual({ status: 0, output: '' });
  });
});
