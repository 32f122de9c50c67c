// Packaging: the tarball format (bundle, launcher, config, service file, INSTALL), each board's
// default format, and what the boards say about Node.js. The .deb and .ipk have their own files
// (package-deb.test.ts, package-ipk.test.ts).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { boardNames, loadBoard } from '../../scripts/build.mjs';
import { makePackage } from '../../scripts/package.mjs';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'midge-package-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const list = (tarball: string) => execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).split('\n').filter(Boolean).sort();

describe('npm run package', () => {
  it('pi-zero (gateway by default): systemd unit, and INSTALL names the native add-ons', async () => {
    const tarball = await makePackage({ board: 'pi-zero', format: 'tar', outDir: dir });
    expect(tarball).toBe(join(dir, 'midge-pi-zero-gateway.tar.gz'));
    const p = 'midge-pi-zero-gateway/';
    expect(list(tarball)).toEqual([p, `${p}INSTALL`, `${p}broker.min.js`, `${p}midge`, `${p}midge.conf`, `${p}midge.service`, `${p}package.json`]);
    execFileSync('tar', ['-xzf', tarball, '-C', dir]);
    const install = readFileSync(join(dir, p, 'INSTALL'), 'utf8');
    expect(install).toContain('npm install serialport onoff');
    expect(readFileSync(join(dir, p, 'midge.service'), 'utf8')).toContain('ExecStart=/opt/midge/midge -c /etc/midge/midge.conf');
    // The shipped bundle is one file: no native add-on inside.
    expect(readFileSync(join(dir, p, 'broker.min.js'), 'utf8')).not.toContain('bindings-cpp');
    // It runs from the unpacked folder through its launcher.
    expect(execFileSync(join(dir, p, 'midge'), ['-h'], { encoding: 'utf8' })).toContain('Usage: midge');
  });

  it('openwrt router: a procd init script, no add-ons to install', async () => {
    const tarball = await makePackage({ board: 'openwrt', profile: 'router', format: 'tar', outDir: dir });
    const files = list(tarball);
    expect(files).toContain('midge-openwrt-router/midge.init');
    execFileSync('tar', ['-xzf', tarball, '-C', dir]);
    expect(readFileSync(join(dir, 'midge-openwrt-router/midge.init'), 'utf8')).toContain('USE_PROCD=1');
    expect(readFileSync(join(dir, 'midge-openwrt-router/INSTALL'), 'utf8')).not.toContain('npm install');
  });

  it('the default midge.conf keeps the broker on loopback', async () => {
    const tarball = await makePackage({ board: 'nslu2', outDir: dir });
    execFileSync('tar', ['-xzf', tarball, '-C', dir]);
    const conf = readFileSync(join(dir, 'midge-nslu2-minimal/midge.conf'), 'utf8');
    expect(conf.split('\n').filter((l) => l.trim() && !l.startsWith('#'))).toEqual([]);
  });

  it('defaults to the board\'s native format, and refuses an unknown one', async () => {
    expect(loadBoard('linux-x64').package).toBe('deb');
    expect(loadBoard('pi-zero').package).toBe('deb');
    expect(loadBoard('pi-zero-2').package).toBe('deb');
    expect(loadBoard('openwrt').package).toBe('ipk');
    expect(loadBoard('nslu2').package).toBe('tar');
    expect(await makePackage({ board: 'nslu2', outDir: dir })).toBe(join(dir, 'midge-nslu2-minimal.tar.gz'));
    await expect(makePackage({ board: 'nslu2', format: 'rpm' as 'tar', outDir: dir })).rejects.toThrow("unknown format 'rpm' (have: deb, ipk, tar)");
  });
});

describe('boards tell the truth about Node.js', () => {
  for (const name of boardNames()) {
    it(`${name}: says which Node.js builds exist for its CPU, and where from`, () => {
      const { node, description } = loadBoard(name);
      expect(node.summary.length).toBeGreaterThan(20);
      for (const b of node.builds) {
        expect(['official', 'unofficial', 'distribution', 'openwrt-feed']).toContain(b.source);
        expect(b.versions).toMatch(/\d|none|every/);
        expect(b.from).toMatch(/^https:\/\//);
      }
      // No promise of a fit "with swap": a board without Node says so.
      expect(`${description} ${node.summary}`).not.toMatch(/swap/i);
      if (node.builds.length === 0) expect(`${description} ${node.summary}`).toMatch(/No Node\.js build exists|^None\./m);
    });
  }

  it('boards without any Node.js build are named for what they are: nslu2 (ARMv5)', () => {
    expect(boardNames().filter((b) => loadBoard(b).node.builds.length === 0)).toEqual(['nslu2']);
    expect(loadBoard('openwrt').node.summary).toMatch(/32-bit MIPS routers .* have no Node\.js/);
  });
});
