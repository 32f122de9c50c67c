// A source module bundled with chosen feature flags, for tests of what a build with other flags
// than test/vitest.config.ts's does (e.g. the parser with every feature built, or with one out).
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const FLAGS = ['BRIDGE', 'TLS', 'AUTH', 'SN', 'SERIAL', 'GPIO', 'PERSIST', 'WS', 'SYS', 'MQTT5', 'HTTP'];

/** Bundles `src` (a file URL) into `dir` with the flags in `on` true and the others false. */
export async function importWithFlags<T>(src: URL, on: string[], dir: string): Promise<T> {
  const { build } = await import('esbuild');
  const outfile = join(dir, `bundled-${on.join('-') || 'none'}.mjs`);
  await build({
    entryPoints: [fileURLToPath(src)],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'node',
    define: Object.fromEntries(FLAGS.map((f) => [f, String(on.includes(f))])),
    logLevel: 'silent',
  });
  return (await import(pathToFileURL(outfile).href)) as T;
}
