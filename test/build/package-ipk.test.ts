// The .ipk for OpenWrt (issue 19): unpacked with tar, as opkg does; control fields, the OpenWrt
// layout of the data tree, the procd init script (sh -n and shellcheck), and the packaged
// config starting Midge on loopback only, as it must on first boot.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildTarget, root } from '../../scripts/build.mjs';
import { makePackage } from '../../scripts/package.mjs';
import { requirePeer } from '../helpers/peers.ts';
import { freePort } from '../helpers/ports.ts';
import { killAll, spawnProc } from '../helpers/proc.ts';

const VERSION = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
// Outside CI a missing shellcheck skips its test, printing why; with CI=true it fails.
const shellcheck = requirePeer('shellcheck');

let dir: string;
let ipk: string;
/** Where the three members and the two inner archives are unpacked. */
let outer: string;
let control: string;
let data: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'midge-ipk-'));
  // openwrt's default format is ipk and its default profile router.
  ipk = await makePackage({ board: 'openwrt', outDir: dir });
  outer = join(dir, 'outer');
  control = join(dir, 'control');
  data = join(dir, 'data');
  for (const d of [outer, control, data]) mkdirSync(d);
  execFileSync('tar', ['-xzf', ipk, '-C', outer]);
  execFileSync('tar', ['-xzf', join(outer, 'control.tar.gz'), '-C', control]);
  execFileSync('tar', ['-xzf', join(outer, 'data.tar.gz'), '-C', data]);
}, 120_000);
afterEach(killAll);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** `tar -tvzf` of an archive: [mode, owner, path] per entry. */
function listing(archive: string): [string, string, string][] {
  return execFileSync('tar', ['--numeric-owner', '-tvzf', archive], { encoding: 'utf8' })
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const f = l.split(/\s+/);
      return [f[0], f[1], f[f.length - 1]];
    });
}

function fields(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  let last = '';
  for (const line of text.split('\n')) {
    if (line.startsWith(' ')) out[last] += `\n${line}`;
    else if (line) {
      const i = line.indexOf(': ');
      last = line.slice(0, i);
      out[last] = line.slice(i + 2);
    }
  }
  return out;
}

describe('the .ipk (openwrt, profile router)', () => {
  it('is a gzipped tar of debian-binary, data.tar.gz and control.tar.gz, as OpenWrt writes them', () => {
    expect(ipk).toBe(join(dir, `midge-openwrt-router_${VERSION}_all.ipk`));
    expect(listing(ipk).map(([, , p]) => p)).toEqual(['./debian-binary', './data.tar.gz', './control.tar.gz']);
    expect(readFileSync(join(outer, 'debian-binary'), 'utf8')).toBe('2.0\n');
  });

  it('control: package midge, the package.json version, Depends: node, Architecture: all', () => {
    const c = fields(readFileSync(join(control, 'control'), 'utf8'));
    expect(c.Package).toBe('midge');
    expect(c.Version).toBe(VERSION);
    expect(c.Depends).toBe('node');
    expect(c.Architecture).toBe('all');
    expect(c.License).toBe('EPL-2.0');
    expect(c.Section).toBe('net');
    expect(c.Maintainer).toMatch(/<.+@.+>/);
    expect(c.Description).toMatch(/^small, fast MQTT broker/);
    for (const l of c.Description.split('\n')) expect(l.length).toBeLessThanOrEqual(80);
    // Installed-Size (bytes, as OpenWrt counts) is what the data tree holds.
    const bytes = listing(join(outer, 'data.tar.gz'))
      .filter(([m]) => m.startsWith('-'))
      .reduce((n, [, , p]) => n + statSync(join(data, p)).size, 0);
    expect(Number(c['Installed-Size'])).toBe(bytes);
    expect(readFileSync(join(control, 'conffiles'), 'utf8')).toBe('/etc/midge/midge.conf\n');
    expect(listing(join(outer, 'control.tar.gz')).map(([m, , p]) => `${m} ${p}`)).toEqual([
      'drwxr-xr-x ./',
      '-rw-r--r-- ./conffiles',
      '-rw-r--r-- ./control',
      '-rwxr-xr-x ./postinst',
      '-rwxr-xr-x ./prerm',
    ]);
  });

  it('data: the OpenWrt layout, owned by root', () => {
    const entries = listing(join(outer, 'data.tar.gz'));
    for (const [, owner] of entries) expect(owner).toBe('0/0');
    expect(entries.map(([m, , p]) => `${m} ${p}`)).toEqual([
      'drwxr-xr-x ./',
      'drwxr-xr-x ./etc/',
      'drwxr-xr-x ./etc/init.d/',
      '-rwxr-xr-x ./etc/init.d/midge',
      'drwxr-xr-x ./etc/midge/',
      '-rw-r--r-- ./etc/midge/midge.conf',
      'drwxr-xr-x ./usr/',
      'drwxr-xr-x ./usr/bin/',
      '-rwxr-xr-x ./usr/bin/midge',
      'drwxr-xr-x ./usr/lib/',
      'drwxr-xr-x ./usr/lib/midge/',
      '-rw-r--r-- ./usr/lib/midge/broker.min.js',
    ]);
  });

  it('carries the bundle `npm run build -- --board openwrt --profile router` makes', async () => {
    const built = await buildTarget({ board: 'openwrt', profile: 'router', outDir: join(dir, 'built') });
    expect(readFileSync(join(data, 'usr/lib/midge/broker.min.js')).equals(readFileSync(join(built.dir, 'broker.min.js')))).toBe(true);
    const launcher = readFileSync(join(data, 'usr/bin/midge'), 'utf8');
    expect(launcher).toContain('"/usr/lib/midge/broker.min.js"');
    expect(launcher).toContain("'--jitless'");
  }, 60_000);

  it('the procd init script: rc.common, USE_PROCD, respawn, the config as a watched file', () => {
    const init = readFileSync(join(data, 'etc/init.d/midge'), 'utf8');
    expect(init.split('\n')[0]).toBe('#!/bin/sh /etc/rc.common');
    expect(init).toMatch(/^USE_PROCD=1$/m);
    expect(init).toMatch(/^START=\d+$/m);
    expect(init).toContain('procd_set_param command /usr/bin/midge -c "$CONF"');
    expect(init).toContain('CONF=/etc/midge/midge.conf');
    expect(init).toMatch(/procd_set_param respawn( \d+){3}/);
    expect(init).toContain('procd_set_param file "$CONF"');
  });

  it.skipIf(!shellcheck)('every shell script passes sh -n and shellcheck', () => {
    const scripts = [join(data, 'etc/init.d/midge'), join(data, 'usr/bin/midge'), join(control, 'postinst'), join(control, 'prerm')];
    for (const s of scripts) {
      execFileSync('sh', ['-n', s]);
      const r = spawnSync('shellcheck', ['-s', 'sh', s], { encoding: 'utf8' });
      expect(r.status, `${s}: ${r.stdout}${r.stderr}`).toBe(0);
    }
    // Nothing runs while an image is being assembled (IPKG_INSTROOT set).
    for (const s of ['postinst', 'prerm']) expect(readFileSync(join(control, s), 'utf8')).toContain('[ -n "$IPKG_INSTROOT" ] && exit 0');
  });

  it('the packaged config starts Midge on loopback only, as on first boot', async () => {
    const conf = readFileSync(join(data, 'etc/midge/midge.conf'), 'utf8');
    // No uci, no listener: every line is a comment or blank.
    expect(conf.split('\n').filter((l) => l.trim() && !l.startsWith('#'))).toEqual([]);
    // -p moves the loopback listeners off 1883 (other tests use it); nothing else changes.
    const port = await freePort();
    const broker = spawnProc(process.execPath, [join(data, 'usr/lib/midge/broker.min.js'), '-c', join(data, 'etc/midge/midge.conf'), '-p', String(port)]);
    await broker.waitFor(`Opening ipv4 listen socket on 127.0.0.1 port ${port}.`, 15_000, 'stderr');
    await broker.waitFor(`Opening ipv6 listen socket on ::1 port ${port}.`, 15_000, 'stderr');
    expect(broker.stderr.join('\n')).toContain('No listener configured: listening on loopback only');
    expect(broker.stderr.join('\n')).not.toMatch(/0\.0\.0\.0|listen socket on ::(?!1)/);
    broker.kill('SIGTERM');
    await broker.waitExit(10_000);
  }, 30_000);

  it('midge --version prints the package version', () => {
    expect(execFileSync(process.execPath, [join(data, 'usr/lib/midge/broker.min.js'), '--version'], { encoding: 'utf8' })).toBe(`midge ${VERSION}\n`);
  });
});
