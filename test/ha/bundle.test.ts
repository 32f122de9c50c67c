// Home Assistant discovery in the gateway bundle, run as `node broker.min.js -c FILE` (no onoff here:
// the pins are announced from the config, their states never come): SIGHUP re-reads the config and
// clears a removed pin's entity, SIGTERM publishes `offline` to the connected client, and a kill -9
// is seen as the connection loss (what Home Assistant shows as unavailable for every MQTT entity);
// with persistence, the restart sets `online` again and clears what left the config meanwhile. The
// minimal bundle refuses the options, naming the profiles that have them.
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Inbox } from '../helpers/inbox.ts';
import { freePort } from '../helpers/ports.ts';
import { killAll, run, spawnProc, type Proc } from '../helpers/proc.ts';
import { discoveryErrors } from './schema.ts';

interface Got {
  topic: string;
  payload: string;
  retain: boolean;
}

const BUTTON = 'homeassistant/binary_sensor/bnode/gpio529/config';
const RELAY = 'homeassistant/switch/bnode/gpio535/config';

describe('Home Assistant discovery in the bundles', () => {
  let dir: string;
  const bundles: Record<string, string> = {};
  const clients: MqttClient[] = [];

  beforeAll(async () => {
    const { buildBundle, loadProfile } = await import('../../scripts/build.mjs');
    dir = mkdtempSync(join(tmpdir(), 'midge-ha-bundle-'));
    for (const profile of ['gateway', 'minimal']) {
      await buildBundle({ outfile: join(dir, profile, 'broker.min.js'), flags: loadProfile(profile).flags });
      bundles[profile] = join(dir, `${profile}.min.js`);
      copyFileSync(join(dir, profile, 'broker.min.js'), bundles[profile]);
    }
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) await c.endAsync(true);
    await killAll();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function config(port: number, pins: string): string {
    const conf = join(dir, 'ha.conf');
    writeFileSync(
      conf,
      `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence true\npersistence_location ${join(dir, 'db')}\n` +
        `persistence_sync always\nha_discovery true\nha_node_id bnode\n${pins}`,
    );
    return conf;
  }
  const button = 'gpio GPIO17 in topic=home/button board=pi-zero name="Hall button" format=onoff\n';
  const relay = 'gpio GPIO23 out topic=home/relay board=pi-zero name="Hall light" format=onoff\n';

  async function midge(conf: string): Promise<Proc> {
    const p = spawnProc(process.execPath, [bundles.gateway, '-c', conf], { cwd: dir });
    await p.waitFor(/Home Assistant discovery: \d+ entit/, 10_000, 'stderr');
    return p;
  }

  async function homeAssistant(port: number): Promise<{ c: MqttClient; next: (t: string, p?: string) => Promise<Got> }> {
    const c = await mqtt.connectAsync({ host: '127.0.0.1', port, reconnectPeriod: 0 });
    clients.push(c);
    const inbox = new Inbox<Got>();
    c.on('message', (topic, payload, packet) => inbox.add({ topic, payload: payload.toString(), retain: packet.retain }));
    await c.subscribeAsync(['homeassistant/#', 'bnode/status'], { qos: 1 });
    return { c, next: (t, p) => inbox.next((g) => g.topic === t && (p === undefined || g.payload === p), `${t} ${p ?? ''}`, 10_000) };
  }

  it('gateway: valid configs and online; SIGHUP after removing a pin clears its entity; SIGTERM sends offline to the connected client', async () => {
    rmSync(join(dir, 'db'), { recursive: true, force: true });
    const port = await freePort();
    const conf = config(port, button + relay);
    const p = await midge(conf);
    const ha = await homeAssistant(port);
    for (const t of [BUTTON, RELAY]) expect(discoveryErrors(t, (await ha.next(t)).payload)).toEqual([]);
    await ha.next('bnode/status', 'online');
    config(port, button);
    p.kill('SIGHUP');
    expect((await ha.next(RELAY)).payload).toBe('');
    p.kill('SIGTERM');
    await ha.next('bnode/status', 'offline');
    expect((await p.waitExit(10_000)).code).toBe(0);
  });

  it('gateway: after kill -9 the client loses its connection; the restart with persistence says online again and clears what left the config', async () => {
    rmSync(join(dir, 'db'), { recursive: true, force: true });
    const port = await freePort();
    const p = await midge(config(port, button + relay));
    const ha = await homeAssistant(port);
    await ha.next(RELAY);
    await ha.next('bnode/status', 'online');
    const lost = new Promise<void>((r) => ha.c.once('close', () => r()));
    p.kill('SIGKILL');
    await lost;
    await p.waitExit(10_000);
    // Restarted with the relay gone from the config.
    await midge(config(port, button));
    const ha2 = await homeAssistant(port);
    expect((await ha2.next(BUTTON)).retain).toBe(true);
    expect(await ha2.next('bnode/status')).toEqual({ topic: 'bnode/status', payload: 'online', retain: true });
    // The relay's retained config was on disk before the kill; it is gone now. Retained messages
    // come in the order of the subscriptions: the relay's would arrive before the status.
    const probe = await homeAssistantProbe(port);
    await probe.c.subscribeAsync(RELAY, { qos: 1 });
    await probe.c.subscribeAsync('bnode/status', { qos: 1 });
    await probe.inbox.next((g) => g.topic === 'bnode/status', 'status', 10_000);
    expect(probe.inbox.items).toEqual([]);
  });

  async function homeAssistantProbe(port: number): Promise<{ c: MqttClient; inbox: Inbox<Got> }> {
    const c = await mqtt.connectAsync({ host: '127.0.0.1', port, reconnectPeriod: 0 });
    clients.push(c);
    const inbox = new Inbox<Got>();
    c.on('message', (topic, payload, packet) => inbox.add({ topic, payload: payload.toString(), retain: packet.retain }));
    return { c, inbox };
  }

  it('minimal: ha_discovery is refused as needing feature GPIO, naming the profiles', async () => {
    const conf = join(dir, 'min.conf');
    writeFileSync(conf, 'ha_discovery true\n');
    const r = await run(process.execPath, [bundles.minimal, '-c', conf], 10_000, { cwd: dir });
    expect(r.exit.code).toBe(3);
    expect(r.stderr.join('\n')).toContain("min.conf:1: option 'ha_discovery' needs feature GPIO, which is not built into this bundle; build profile 'gateway' or 'full'");
  });
});
