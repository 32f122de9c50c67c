// The config parser bundled by esbuild with chosen feature flags, to test a build other than the
// test build (test/vitest.config.ts): every feature on (profile full), or one feature compiled out.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export type ParseModule = typeof import('../../src/config/parse.ts');

/** Builds and imports the parser with `define` (flag name → 'true' | 'false'); then removes the file. */
export async function buildParser(define: Record<string, string>): Promise<ParseModule> {
  const { build } = await import('esbuild');
  const dir = mkdtempSync(join(tmpdir(), 'midge-parser-'));
  try {
    const outfile = join(dir, 'parse.mjs');
    await build({
      entryPoints: [fileURLToPath(new URL('../../src/config/parse.ts', import.meta.url))],
      outfile,
      bundle: true,
      format: 'esm',
      platform: 'node',
      define,
      logLevel: 'silent',
    });
    return (await import(pathToFileURL(outfile).href)) as ParseModule;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
