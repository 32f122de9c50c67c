// No import cycle passes through src/config, and the config imports no feature: the parser reaches
// the features' option parsers (src/features/FEATURE/config.ts, which import only the leaf modules
// of src/config) through src/config/registry.ts, filled by src/features/options.ts. `import type` lines count: a type-only cycle is still a circle in
// the design. Cycles elsewhere (docs/architecture.md) are counted for information only.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** The modules of src/config that the features' option parsers may import. */
const LEAVES = ['values.ts', 'files.ts', 'features.ts', 'lines.ts', 'types.ts'].map((f) => `src/config/${f}`);

/** src/**\/*.ts → the src/ files each imports (relative specifiers only: packages and node: are leaves). */
function importGraph(types = true): Map<string, string[]> {
  const files = (readdirSync(join(root, 'src'), { recursive: true }) as string[])
    .filter((f) => f.endsWith('.ts'))
    .map((f) => `src/${f.split('\\').join('/')}`);
  const known = new Set(files);
  const spec = /^\s*(import|export)\b(\s+type\b)?[^'";]*?['"](\.{1,2}\/[^'"]+)['"]|\bimport\(\s*['"](\.{1,2}\/[^'"]+)['"]/gm;
  return new Map(
    files.map((f) => {
      const text = readFileSync(join(root, f), 'utf8');
      const to = [...text.matchAll(spec)]
        .filter((m) => types || !m[2])
        .map((m) => relative(root, resolve(root, dirname(f), m[3] ?? m[4])).split('\\').join('/'))
        .filter((t) => known.has(t));
      return [f, [...new Set(to)]];
    }),
  );
}

/** Strongly connected components with more than one file (Tarjan). */
function cycles(graph: Map<string, string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  let next = 0;
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1) out.push(scc.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return out;
}

describe('imports', () => {
  const graph = importGraph();

  it('sees the config parser and its imports', () => {
    expect(graph.get('src/config/parse.ts')).toContain('src/config/features.ts');
    expect(graph.size).toBeGreaterThan(50);
  });

  it('no import cycle includes a file of src/config', () => {
    const all = cycles(graph);
    console.log(`[imports] ${all.length} import cycle(s) in src/ (strongly connected components), ${all.filter((c) => c.some((f) => f.startsWith('src/config/'))).length} touching src/config`);
    expect(all.filter((c) => c.some((f) => f.startsWith('src/config/')))).toEqual([]);
  });

  it("a feature's option parser imports only the leaf modules of src/config", () => {
    const parsers = [...graph.keys()].filter((f) => /^src\/features\/[^/]+\/config\.ts$/.test(f));
    expect(parsers.length).toBeGreaterThanOrEqual(7);
    for (const f of parsers) {
      expect(graph.get(f)!.filter((t) => t.startsWith('src/config/') && !LEAVES.includes(t)), f).toEqual([]);
    }
    // And the leaves import no parser of src/config either.
    for (const f of LEAVES) expect(graph.get(f)!.filter((t) => t.startsWith('src/config/') && !LEAVES.includes(t)), f).toEqual([]);
  });

  it('src/config imports no value from src/features: the option parsers come through registry.ts', () => {
    const values = importGraph(false);
    for (const [f, to] of values) {
      if (!f.startsWith('src/config/')) continue;
      expect(to.filter((t) => t.startsWith('src/features/')), f).toEqual([]);
    }
    expect(values.get('src/features/options.ts')).toContain('src/config/registry.ts');
  });

  it('finds a cycle when there is one', () => {
    expect(cycles(new Map([['a', ['b']], ['b', ['c']], ['c', ['a']], ['d', ['a']]]))).toEqual([['a', 'b', 'c']]);
  });
});
