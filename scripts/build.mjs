// Bundles src/main.ts into one minified file with esbuild, with compile-time feature flags.
//   npm run build                                  → dist/broker.min.js (profile full, linux-x64)
//   npm run build -- --profile P --board B         → dist/B-P/broker.min.js + launcher dist/B-P/midge
//   node scripts/build.mjs --outfile F --flags SYS,AUTH [--target node18]   (tests, experiments)
// The output is CommonJS so `node broker.min.js` runs anywhere, copied alone, on old Node too;
// a package.json beside it marks its folder as CommonJS inside this ESM package.
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { mangleable } from './mangle.mjs';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');
/** Every compile-time flag (src/flags.d.ts). */
export const ALL_FLAGS = ['BRIDGE', 'TLS', 'AUTH', 'SN', 'SERIAL', 'GPIO', 'PERSIST', 'WS', 'SYS', 'MQTT5', 'HTTP'];

const readJson = (p) => JSON.parse(readFileSync(p, 'utf8'));
const names = (dir) => readdirSync(join(root, dir)).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5)).sort();
export const profileNames = () => names('profiles');
export const boardNames = () => names('boards');

export function loadProfile(name) {
  if (!profileNames().includes(name)) throw new Error(`unknown profile '${name}' (have: ${profileNames().join(', ')})`);
  const p = readJson(join(root, 'profiles', `${name}.json`));
  for (const f of p.flags) if (!ALL_FLAGS.includes(f)) throw new Error(`profiles/${name}.json: unknown flag ${f}`);
  return p;
}

export function loadBoard(name) {
  if (!boardNames().includes(name)) throw new Error(`unknown board '${name}' (have: ${boardNames().join(', ')})`);
  return readJson(join(root, 'boards', `${name}.json`));
}

export async function buildBundle({ outfile = join(root, 'dist/broker.min.js'), flags = loadProfile('full').flags, target = 'node20', metafile = false, logLevel = 'warning', board } = {}) {
  const pkg = readJson(join(root, 'package.json'));
  const define = { MIDGE_VERSION: JSON.stringify(pkg.version) };
  // The board a build is for (buildTarget): features take their defaults from its file (GPIO pins).
  if (board) define.MIDGE_BOARD = JSON.stringify(board);
  for (const f of ALL_FLAGS) define[f] = flags.includes(f) ? 'true' : 'false';
  mkdirSync(dirname(outfile), { recursive: true });
  writeFileSync(join(dirname(outfile), 'package.json'), '{ "type": "commonjs" }\n');
  return build({
    entryPoints: [join(root, 'src/main.ts')],
    outfile,
    bundle: true,
    minify: true,
    platform: 'node',
    format: 'cjs',
    // The board's oldest Node: esbuild fails the build on syntax that Node can't run.
    target,
    define,
    // Native add-ons are loaded at run time only when their feature is configured.
    external: ['serialport', '@serialport/*', 'onoff', 'epoll'],
    plugins: [absentOptionals, boardGpio, ...(flags.includes('AUTH') ? [] : [noClient])],
    banner: { js: '#!/usr/bin/env node' },
    legalComments: 'none',
    // Midge's own internal property names, shortened (scripts/mangle.mjs says which and why).
    mangleProps: mangleable(root),
    metafile,
    logLevel,
  });
}

// ws (bundled with WS) tries to require two optional native speed-ups inside try/catch and falls
// back to JavaScript without them. Resolve them to a module that throws, so the bundle stays one
// self-contained file that never looks outside itself.
const absentOptionals = {
  name: 'absent-optionals',
  setup(b) {
    b.onResolve({ filter: /^(bufferutil|utf-8-validate)$/ }, (a) => ({ path: a.path, namespace: 'absent' }));
    b.onLoad({ filter: /.*/, namespace: 'absent' }, (a) => ({ contents: `throw new Error('${a.path} is not bundled');`, loader: 'js' }));
  },
};

// `midge pub` / `midge sub` (src/client/) come with AUTH. Without it, their entry resolves to an
// empty module: dead code would vanish anyway, but esbuild's property-name statistics (for
// mangleProps) would still count the client's code and shift the names of a broker-only bundle.
const noClient = {
  name: 'no-client',
  setup(b) {
    b.onResolve({ filter: /\/client\/run\.ts$/ }, () => ({ path: 'client', namespace: 'no-client' }));
    b.onLoad({ filter: /.*/, namespace: 'no-client' }, () => ({ contents: 'export let runClient;', loader: 'js' }));
  },
};

// GPIO's config (src/features/gpio/config.ts) imports board files for their pin maps only. Bundle
// just their `gpio` section, and boards with the same section (Pi Zero and Zero 2: one header)
// as one module: esbuild keeps one copy per resolved path.
const boardGpio = {
  name: 'board-gpio',
  setup(b) {
    b.onResolve({ filter: /boards\/[^/]+\.json$/ }, (a) => {
      const { gpio } = readJson(join(a.resolveDir, a.path));
      const json = JSON.stringify({ gpio: gpio && { sysfsBase: gpio.sysfsBase, pins: gpio.pins } });
      return { path: `gpio-${createHash('sha1').update(json).digest('hex').slice(0, 8)}.json`, namespace: 'board', pluginData: json };
    });
    b.onLoad({ filter: /.*/, namespace: 'board' }, (a) => ({ contents: a.pluginData, loader: 'json' }));
  },
};

/**
 * A POSIX sh launcher: refuses a Node older than the board's, then execs it with its flags.
 * `bundle` is where broker.min.js is: beside the launcher by default, or an absolute path (the
 * .deb and .ipk packages: /usr/lib/midge/broker.min.js).
 */
export function launcherScript(board, profile, bundle) {
  const flags = board.nodeFlags.map((f) => `'${f}'`).join(' ');
  return `#!/bin/sh
# Midge launcher for board ${board.name}, profile ${profile.name}: runs broker.min.js with Node
# flags that fit ${board.memoryMB} MB. Plain \`node broker.min.js\` works too, without the flags.
${bundle ? '' : 'here=$(dirname "$0")\n'}NODE=\${NODE:-node}
v=$("$NODE" --version 2>/dev/null) || { echo "midge: '$NODE' not found; install Node.js ${board.minNode} or newer" >&2; exit 127; }
major=\${v#v}; major=\${major%%.*}
if [ "$major" -lt ${board.minNode} ]; then
  echo "midge: this build for ${board.name} needs Node.js ${board.minNode} or newer, found $v" >&2
  exit 1
fi
${board.serial?.length ? `# Serial links with DEVICE auto try these first (SERIAL).\nexport MIDGE_SERIAL_DEFAULTS='${board.serial.join(' ')}'\n` : ''}exec "$NODE" ${flags} "${bundle ?? '$here/broker.min.js'}" "$@"
`;
}

/** Builds dist/<board>-<profile>/ with the bundle and its launcher; returns the folder. */
export async function buildTarget({ profile: profileName = 'full', board: boardName = 'linux-x64', outDir } = {}) {
  const profile = loadProfile(profileName);
  const board = loadBoard(boardName);
  const dir = outDir ?? join(root, 'dist', `${board.name}-${profile.name}`);
  const result = await buildBundle({ outfile: join(dir, 'broker.min.js'), flags: profile.flags, target: board.target, metafile: true, board: board.name });
  writeFileSync(join(dir, 'midge'), launcherScript(board, profile));
  chmodSync(join(dir, 'midge'), 0o755);
  return { dir, profile, board, metafile: result.metafile };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: {
      profile: { type: 'string' },
      board: { type: 'string' },
      outfile: { type: 'string' },
      flags: { type: 'string' },
      target: { type: 'string' },
    },
  });
  try {
    if (values.profile || values.board) {
      const { dir } = await buildTarget({ profile: values.profile, board: values.board });
      const size = readFileSync(join(dir, 'broker.min.js')).length;
      console.log(`built ${dir}/broker.min.js (${size} bytes) and ${dir}/midge`);
    } else {
      const outfile = values.outfile ?? join(root, 'dist/broker.min.js');
      const flags = values.flags !== undefined ? values.flags.split(',').filter(Boolean) : undefined;
      await buildBundle({ outfile, flags, target: values.target });
      console.log(`built ${outfile} (${readFileSync(outfile).length} bytes)`);
    }
  } catch (err) {
    console.error(`build: ${err.message}`);
    process.exit(1);
  }
}
