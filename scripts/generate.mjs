// Writes the generated, committed files: templates/*.template.json (the customer role stacks and the management
// account's read-only role, freshly synthesized; lib/generated-files.ts lists them)
// and docs/permissions.md (from the permission map). Run through tsx: `npm run generate` (also part of `npm run synth`).
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { writeGeneratedFiles } = require('../lib/generated-files.ts');

const written = await writeGeneratedFiles();
for (const file of written) process.stdout.write(`wrote ${file}\n`);
