// A bundle with SERIAL but without SN, copied alone to a directory without node_modules: the
// MQTT-SN framings are refused at start-up, and a line link without the serialport package logs
// how to install it while the broker keeps serving MQTT.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/ports.ts';
import { killAll, run, spawnProc } from '../helpers/proc.ts';

describe('SERIAL bundle without SN and without serialport installed', () => {
  let dir: string;
  let bundle: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'midge-serial-bundle-'));
    bundle = join(dir, 'broker.min.js');
    const { buildBundle } = await import('../../scripts/build.mjs');
    await buildBundle({ outfile: bundle, flags: ['SERIAL'] });
  }, 60_000);
  afterEach(killAll);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('refuses framing=mqttsn (and the default mqttsn-slip) naming feature SN, as file:line: reason', async () => {
    for (const [words, framing] of [['framing=mqttsn', 'mqttsn'], ['', 'mqttsn-slip']]) {
      const conf = join(dir, 'sn.conf');
      writeFileSync(conf, `listener 0 127.0.0.1\nserial nano /dev/ttyACM0 ${words}\n`);
      const p = await run(process.execPath, [bundle, '-c', conf]);
      expect(p.exit.code).toBe(3);
      expect(p.stderr.join('\n')).toContain(`${conf}:2: serial framing '${framing}' needs feature SN, which is not built into this bundle`);
    }
  });

  it('line mode without the serialport package: logs how to install it, keeps serving MQTT', async () => {
    const port = await freePort();
    const conf = join(dir, 'line.conf');
    writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\nserial board /dev/ttyACM0 framing=line\n`);
    const p = spawnProc(process.execPath, [bundle, '-c', conf]);
    await p.waitFor(/Serial links not started: cannot load the serialport package .*npm install serialport@12/, 10_000, 'stderr');
    const c = await mqtt.connectAsync({ host: '127.0.0.1', port, reconnectPeriod: 0 });
    await c.subscribeAsync('t');
    const got = new Promise<string>((r) => c.once('message', (_t, m) => r(m.toString())));
    await c.publishAsync('t', 'still up');
    expect(await got).toBe('still up');
    await c.endAsync();
  });
});
