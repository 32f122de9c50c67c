// Bundles src/main.ts into one minified file with esbuild.
//   npm run build            → dist/broker.min.js
//   node scripts/build.mjs --outfile F [--flags SYS,AUTH]   (used by tests)
// The output is CommonJS so that `node broker.min.js` runs anywhere, copied alone, on old Node too;
// dist/package.json marks dist/ as CommonJS inside this ESM package.
import { build } from 'esbuild';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const ALL_FLAGS = ['BRIDGE', 'TLS', 'AUTH', 'SN', 'SERIAL', 'GPIO', 'PERSIST', 'WS', 'SYS'];
/** Features built so far; the others stay off until their code exists. */
export const DEFAULT_FLAGS = ['SYS'];

export async function buildBundle({ outfile = join(root, 'dist/broker.min.js'), flags = DEFAULT_FLAGS, target = 'node20', metafile = false } = {}) {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const define = { MIDGE_VERSION: JSON.stringify(pkg.version) };
  for (const f of ALL_FLAGS) define[f] = flags.includes(f) ? 'true' : 'false';
  mkdirSync(dirname(outfile), { recursive: true });
  writeFileSync(join(dirname(outfile), 'package.json'), '{ "type": "commonjs" }\n');
  const result = await build({
    entryPoints: [join(root, 'src/main.ts')],
    outfile,
    bundle: true,
    minify: true,
    platform: 'node',
    format: 'cjs',
    target,
    define,
    banner: { js: '#!/usr/bin/env node' },
    legalComments: 'none',
    metafile,
    logLevel: 'warning',
  });
  return result;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: { outfile: { type: 'string' }, flags: { type: 'string' }, target: { type: 'string' } },
  });
  const flags = values.flags !== undefined ? values.flags.split(',').filter(Boolean) : undefined;
  const outfile = values.outfile ?? join(root, 'dist/broker.min.js');
  await buildBundle({ outfile, flags, target: values.target });
  const size = readFileSync(outfile).length;
  console.log(`built ${outfile} (${size} bytes)`);
}
