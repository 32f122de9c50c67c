// The documentation holds together: README.md is a front page (under 300 lines, opening with the
// two commands) whose "Where to read next" list links every file of docs/; each docs file opens
// with a one-line statement of what it covers; every relative link and #anchor in README.md and
// docs/*.md points at an existing file and heading; `npm run bench` finds its markers in
// docs/benchmarks.md.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const docsDir = join(root, 'docs');
const docs = readdirSync(docsDir)
  .filter((f) => f.endsWith('.md'))
  .sort()
  .map((f) => join(docsDir, f));
const pages = [join(root, 'README.md'), ...docs];
const read = (file: string): string => readFileSync(file, 'utf8');

/** The text outside fenced code blocks, line by line (fence lines and their content blanked). */
function prose(text: string): string[] {
  let fence: string | undefined;
  return text.split('\n').map((line) => {
    const m = /^\s*(```+|~~~+)/.exec(line);
    if (fence) {
      if (m && m[1][0] === fence[0] && m[1].length >= fence.length) fence = undefined;
      return '';
    }
    if (m) {
      fence = m[1];
      return '';
    }
    return line;
  });
}

/** GitHub's anchor for a heading: lowercase, punctuation but '-' and '_' dropped, spaces → '-'. */
function slug(heading: string): string {
  return heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1') // links and images: their text
    .replace(/[`*]/g, '')
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** The anchors of a Markdown file, with GitHub's -1, -2 ... for repeated headings. */
function anchors(file: string): Set<string> {
  const out = new Set<string>();
  const seen = new Map<string, number>();
  for (const line of prose(read(file))) {
    const m = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!m) continue;
    const base = slug(m[1]);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

interface Link {
  line: number;
  target: string;
}

/** Inline links and images outside code (fenced blocks and `code spans`). */
function links(file: string): Link[] {
  const out: Link[] = [];
  prose(read(file)).forEach((text, i) => {
    const line = text.replace(/`[^`]*`/g, '');
    for (const m of line.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
      out.push({ line: i + 1, target: m[1] });
    }
  });
  return out;
}

const external = (target: string): boolean => /^[a-z][a-z0-9+.-]*:/i.test(target);

describe('documentation', () => {
  it('README.md is a front page under 300 lines that opens with the two commands', () => {
    const text = read(join(root, 'README.md'));
    expect(text.split('\n').length).toBeLessThan(300);
    const firstBlock = /```\n([\s\S]*?)```/.exec(text)?.[1];
    expect(firstBlock).toBe('npm install && npm start\nnpm test\n');
  });

  it('README.md links every file of docs/', () => {
    const linked = new Set(
      links(join(root, 'README.md'))
        .filter((l) => !external(l.target))
        .map((l) => resolve(root, l.target.split('#')[0])),
    );
    const unlinked = docs.filter((d) => !linked.has(d)).map((d) => relative(root, d));
    expect(unlinked, 'add these to "Where to read next" in README.md').toEqual([]);
  });

  it('each docs file opens with its title and a one-line statement of what it covers', () => {
    for (const file of docs) {
      const [title, blank, statement, after] = read(file).split('\n');
      const where = relative(root, file);
      expect(title, where).toMatch(/^# \S/);
      expect(blank, where).toBe('');
      expect(statement.trim().length, `${where}: the line after the title`).toBeGreaterThan(20);
      expect(after, `${where}: the statement is one line, followed by a blank line`).toBe('');
    }
  });

  it('every relative link and #anchor in README.md and docs/*.md resolves', () => {
    const broken: string[] = [];
    for (const file of pages) {
      for (const { line, target } of links(file)) {
        if (external(target)) continue;
        const hash = target.indexOf('#');
        const path = hash < 0 ? target : target.slice(0, hash);
        const anchor = hash < 0 ? undefined : decodeURIComponent(target.slice(hash + 1));
        const dest = path ? resolve(dirname(file), decodeURIComponent(path)) : file;
        const at = `${relative(root, file)}:${line}: ${target}`;
        if (!existsSync(dest)) broken.push(`${at} (no such file)`);
        else if (anchor !== undefined && dest.endsWith('.md') && !anchors(dest).has(anchor)) {
          broken.push(`${at} (no heading with that anchor in ${relative(root, dest)})`);
        }
      }
    }
    expect(broken).toEqual([]);
  });

  it('docs/benchmarks.md holds the markers that npm run bench writes between', () => {
    const text = read(join(docsDir, 'benchmarks.md'));
    expect(text.split('<!-- bench:start -->').length).toBe(2);
    expect(text.split('<!-- bench:end -->').length).toBe(2);
    expect(text.indexOf('<!-- bench:start -->')).toBeLessThan(text.indexOf('<!-- bench:end -->'));
    expect(read(join(root, 'README.md'))).not.toContain('<!-- bench:');
  });

  it('slug() follows GitHub', () => {
    expect(slug('MQTT 5 enhanced authentication (SCRAM-SHA-256)')).toBe('mqtt-5-enhanced-authentication-scram-sha-256');
    expect(slug('Logging, `$SYS` and included files')).toBe('logging-sys-and-included-files');
    expect(slug('Arduino/ESP sensor over MQTT-SN')).toBe('arduinoesp-sensor-over-mqtt-sn');
    expect(slug('How `npm run bench` works')).toBe('how-npm-run-bench-works');
  });
});
