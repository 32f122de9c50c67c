// The gateway bundle, copied alone into an empty directory and run with `node`: a config with
// `gpio` lines is accepted (not refused as unimplemented), a machine without GPIO or onoff keeps the
// broker up, and a bad gpio line stops start-up with `file:line: reason`.
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/ports.ts';
import { killAll, spawnProc } from '../helpers/proc.ts';

describe('gpio in the gateway bundle', () => {
  let dir: string;
  let bundle: string;

  beforeAll(async () => {
    const { buildBundle, loadProfile } = await import('../../scripts/build.mjs');
    dir = mkdtempSync(join(tmpdir(), 'midge-gpio-bundle-'));
    await buildBundle({ outfile: join(dir, 'build', 'broker.min.js'), flags: loadProfile('gateway').flags });
    bundle = join(dir, 'broker.min.js');
    copyFileSync(join(dir, 'build', 'broker.min.js'), bundle);
  });
  afterEach(() => killAll());
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('runs without its pins when GPIO or onoff is missing, and says why', async () => {
    const port = await freePort();
    const conf = join(dir, 'ok.conf');
    writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\ngpio GPIO17 in topic=b board=pi-zero\ngpio PIN16 out topic=r board=pi-zero failsafe=0\n`);
    const p = spawnProc(process.execPath, [bundle, '-c', conf], { cwd: dir });
    const line = await p.waitFor(/GPIO pins not available/, 10_000, 'stderr');
    expect(line).toMatch(/no \/sys\/class\/gpio|onoff/);
    expect(line).toContain('runs without its 2 configured pin(s)');
    const c = await mqtt.connectAsync({ port, host: '127.0.0.1', reconnectPeriod: 0 });
    const got = new Promise<string>((r) => c.once('message', (_t, m) => r(m.toString())));
    await c.subscribeAsync('t');
    await c.publishAsync('t', 'still up');
    expect(await got).toBe('still up');
    await c.endAsync();
    p.kill('SIGTERM');
    expect((await p.waitExit(10_000)).code).toBe(0);
  });

  it('a build for board pi-zero takes pin names and the chip base from its board file by default', async () => {
    const { buildTarget } = await import('../../scripts/build.mjs');
    const out = join(dir, 'pi-zero-gateway');
    await buildTarget({ profile: 'gateway', board: 'pi-zero', outDir: out });
    const port = await freePort();
    const conf = join(dir, 'board.conf');
    writeFileSync(conf, `listener ${port} 127.0.0.1\ngpio GPIO17 in topic=b\ngpio 23 out topic=r\ngpio PIN12 out topic=s base=0\n`);
    const p = spawnProc(process.execPath, [join(out, 'broker.min.js'), '-c', conf], { cwd: dir });
    await p.waitFor(/GPIO pins not available/, 10_000, 'stderr');
    const pins = p.stderr.filter((l) => l.includes('GPIO pin ')).map((l) => l.replace(/^\d+: /, ''));
    expect(pins).toEqual([
      'GPIO pin GPIO17: in, number 529, topic b.',
      'GPIO pin 23: out, number 535, topic r, set topic r/set.',
      'GPIO pin PIN12: out, number 18, topic s, set topic s/set.',
    ]);
  });

  it('a bad gpio line stops start-up with file:line: reason', async () => {
    const conf = join(dir, 'bad.conf');
    writeFileSync(conf, 'listener 0 127.0.0.1\ngpio GPIO17 in topic=b\n');
    const p = spawnProc(process.execPath, [bundle, '-c', conf], { cwd: dir });
    expect((await p.waitExit(10_000)).code).toBe(3);
    expect(p.stderr.join('\n')).toContain(`${conf}:2: gpio GPIO17: a pin name needs board=NAME`);
  });
});
