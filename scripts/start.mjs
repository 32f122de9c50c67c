// `npm start`: build dist/broker.min.js if it is missing or older than a source file, then run it
// with the given arguments (npm start -- -c midge.conf), passing signals through.
import { spawn } from 'node:child_process';
import { readdirSync, statSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildBundle, loadBoard } from './build.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bundle = join(root, 'dist/broker.min.js');

function newestSource(dir) {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestSource(p) : statSync(p).mtimeMs);
  }
  return newest;
}

if (!existsSync(bundle) || statSync(bundle).mtimeMs < newestSource(join(root, 'src'))) {
  console.error('midge: building dist/broker.min.js');
  await buildBundle({ outfile: bundle });
}
// Run with the linux-x64 board's Node flags, as its launcher would (a small young generation keeps
// memory per connection low at no measurable cost in throughput).
const flags = loadBoard('linux-x64').nodeFlags;
const child = spawn(process.execPath, [...flags, bundle, ...process.argv.slice(2)], { stdio: 'inherit' });
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => child.kill(sig));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
