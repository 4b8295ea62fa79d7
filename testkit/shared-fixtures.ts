import fs from 'node:fs';
import path from 'node:path';

/** Other projects' public test inputs, kept beside the project in shared/ (never copied into it). */
export const SHARED_FIXTURES = process.env.CONFORMANCE_FIXTURES ?? path.resolve(__dirname, '../../shared/fixtures');

export const sharedFixturesPresent = fs.existsSync(SHARED_FIXTURES);

/** Every fixture file, relative to SHARED_FIXTURES, the index files left out. */
export function listSharedFixtures(under = ''): string[] {
  return fs.readdirSync(path.join(SHARED_FIXTURES, under), { withFileTypes: true }).flatMap((entry) => {
    const relative = under === '' ? entry.name : `${under}/${entry.name}`;
    if (entry.isDirectory()) return listSharedFixtures(relative);
    return ['README.md', 'SUMMARY.md', 'PROVENANCE.tsv'].includes(relative) ? [] : [relative];
  });
}

export function readSharedFixture(file: string): Buffer {
  return fs.readFileSync(path.join(SHARED_FIXTURES, file));
}
