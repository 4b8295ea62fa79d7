#!/usr/bin/env node
// Entry for `npx cloudtrail-collector`: runs the TypeScript CLI through tsx, so no build step is needed.
require('tsx/cjs');
void require('./cloudtrail-collector.ts').main(process.argv);
