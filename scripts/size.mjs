// `npm run size`: builds every profile (for linux-x64), prints minified and gzip bytes and the
// largest contributing modules, and exits 1 when a profile is over its budget (profiles/*.json).
// `--json` prints the table as JSON instead. `--per-flag` prints what each flag adds to minimal
// (minimal plus that one flag, minus minimal).
//
// Budgets count Midge's own code: the bundle minus the third-party libraries inlined into it (ws,
// in WS builds). Issue 3 sets the full budget "excluding third-party libraries"; their bytes are
// reported in their own column so they stay visible.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { gzipSync } from 'node:zlib';
import { ALL_FLAGS, buildBundle, loadProfile, profileNames, root } from './build.mjs';

export async function measure(name, dir) {
  const profile = loadProfile(name);
  const m = await measureFlags(name, profile.flags, dir);
  return { profile: name, ...m, budget: profile.budget.minified, over: m.own > profile.budget.minified };
}

/** Sizes of a bundle built with `flags` in dir/NAME: own code, third-party, the largest modules. */
export async function measureFlags(name, flags, dir) {
  const outfile = join(dir, name, 'broker.min.js');
  const { metafile } = await buildBundle({ outfile, flags, metafile: true });
  const code = readFileSync(outfile);
  const inputs = Object.entries(metafile.outputs[Object.keys(metafile.outputs)[0]].inputs)
    .map(([file, info]) => ({ file: relative(root, join(root, file)), bytes: info.bytesInOutput }))
    .sort((a, b) => b.bytes - a.bytes);
  const thirdParty = inputs.filter((i) => i.file.includes('node_modules/')).reduce((n, i) => n + i.bytes, 0);
  return {
    flags,
    minified: code.length,
    gzip: gzipSync(code, { level: 9 }).length,
    thirdParty,
    own: code.length - thirdParty,
    largest: inputs.slice(0, 5),
  };
}

/** What each flag adds to minimal on its own: bytes of minimal + FLAG minus minimal's. */
async function perFlag(dir) {
  const base = await measureFlags('none', [], dir);
  console.log('| flag | own code | third-party | gzip |');
  console.log('|---|---:|---:|---:|');
  for (const f of ALL_FLAGS) {
    const m = await measureFlags(f, [f], dir);
    console.log(`| ${f} | +${m.own - base.own} | +${m.thirdParty} | +${m.gzip - base.gzip} |`);
  }
  console.log(`\nminimal (no flag): own code ${base.own}, gzip ${base.gzip}`);
}

/** The profiles against their budgets; exit code 1 when one is over. */
async function report(dir) {
  const rows = [];
  for (const name of profileNames()) rows.push(await measure(name, dir));
  if (process.argv.includes('--json')) console.log(JSON.stringify(rows, null, 2));
  else {
    console.log('| profile | minified | gzip | of which third-party | own code | budget (own) | status |');
    console.log('|---|---:|---:|---:|---:|---:|---|');
    for (const r of rows) {
      console.log(`| ${r.profile} | ${r.minified} | ${r.gzip} | ${r.thirdParty} | ${r.own} | ${r.budget} | ${r.over ? 'OVER' : 'ok'} |`);
    }
    for (const r of rows) {
      console.log(`\n${r.profile}: largest modules`);
      for (const m of r.largest) console.log(`  ${String(m.bytes).padStart(7)}  ${m.file}`);
    }
  }
  const over = rows.filter((r) => r.over);
  if (over.length) {
    console.error(`\nsize: over budget: ${over.map((r) => `${r.profile} ${r.own} > ${r.budget}`).join(', ')}`);
    process.exitCode = 1;
  }
}

if (process.argv[1] === new URL(import.meta.url).pathname) {
  const dir = mkdtempSync(join(tmpdir(), 'midge-size-'));
  try {
    await (process.argv.includes('--per-flag') ? perFlag(dir) : report(dir));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
