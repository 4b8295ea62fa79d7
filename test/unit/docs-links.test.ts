/**
 * Every relative link in the project's Markdown (README.md, docs/, bench/, testkit/) points at a file that exists,
 * and every `#anchor` into a Markdown file names one of its headings: files move, and a doc that sends a newcomer
 * to a path that is gone is wrong.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');
const DOC_DIRS = ['docs', 'bench', 'testkit'];

function markdownFiles(): string[] {
  const files = ['README.md'];
  const walk = (dir: string): void => {
    if (!existsSync(path.join(ROOT, dir))) return;
    for (const entry of readdirSync(path.join(ROOT, dir))) {
      const relative = path.join(dir, entry);
      if (entry === 'out' || entry === 'node_modules') continue;
      if (statSync(path.join(ROOT, relative)).isDirectory()) walk(relative);
      else if (entry.endsWith('.md')) files.push(relative);
    }
  };
  DOC_DIRS.forEach(walk);
  return files;
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens. */
function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  for (const line of markdown.replace(/```[\s\S]*?```/g, '').split('\n')) {
    const heading = /^#{1,6}\s+(.*)$/.exec(line);
    if (!heading) continue;
    const text = heading[1]!.replace(/`/g, '').trim().toLowerCase();
    anchors.add(text.replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-'));
  }
  return anchors;
}

/** [text](target) links outside code blocks and inline code; external and mail links are not checked. */
function relativeLinks(markdown: string): string[] {
  const prose = markdown.replace(/```[\s\S]*?```/g, '').replace(/`[^`\n]*`/g, '');
  return [...prose.matchAll(/\]\(([^)\s]+)\)/g)]
    .map((match) => match[1]!)
    .filter((target) => !/^[a-z]+:/i.test(target));
}

describe('documentation links', () => {
  const files = markdownFiles();

  test('the project has Markdown to check', () => {
    expect(files).toEqual(expect.arrayContaining(['README.md', 'docs/architecture.md']));
  });

  test.each(files)('every relative link in %s resolves', (file) => {
    const text = readFileSync(path.join(ROOT, file), 'utf8');
    const broken: string[] = [];
    for (const link of relativeLinks(text)) {
      const [target = '', anchor] = link.split('#');
      const resolved =
        target === '' ? path.join(ROOT, file) : path.resolve(path.dirname(path.join(ROOT, file)), target);
      if (!existsSync(resolved)) {
        broken.push(`${link} (no such file)`);
        continue;
      }
      if (anchor !== undefined && resolved.endsWith('.md') && !anchorsOf(readFileSync(resolved, 'utf8')).has(anchor)) {
        broken.push(`${link} (no heading #${anchor})`);
      }
    }
    expect(broken).toEqual([]);
  });
});
