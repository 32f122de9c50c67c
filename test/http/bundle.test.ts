// The HTTP feature in the real, mangled full bundle run with `node`: MQTT.js clients, a bridge to
// a second broker and a serial link over a socat pty; the API's keys survive property mangling,
// its numbers are what $SYS says, /metrics parses, and the page is served.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { requirePeer } from '../helpers/peers.ts';
import { killAll, spawnProc, type Proc } from '../helpers/proc.ts';
import { closePort, openPort, PtyPair } from '../serial/device.ts';
import { ask, one, parseMetrics } from './client.ts';
import { sysReader, type SysReader } from './sys.ts';
import type { SerialPort } from 'serialport';

// Inside the worktree, so the bundle finds the optional serialport package in node_modules.
const tmp = join(import.meta.dirname, '../../.tmp');

describe.skipIf(!requirePeer('socat'))('HTTP in the full bundle', () => {
  const pty = new PtyPair();
  let dir: string;
  let remote: TestBroker;
  let proc: Proc;
  let board: SerialPort;
  let mqttPort: number;
  let httpPort: number;
  let sys: SysReader;
  const clients: MqttClient[] = [];

  beforeAll(async () => {
    mkdirSync(tmp, { recursive: true });
    dir = mkdtempSync(join(tmp, 'http-bundle-'));
    const { buildBundle, loadProfile } = await import('../../scripts/build.mjs');
    const bundle = join(dir, 'broker.min.js');
    await buildBundle({ outfile: bundle, flags: loadProfile('full').flags });
    await pty.start();
    remote = await startBroker();
    const conf = join(dir, 'midge.conf');
    writeFileSync(
      conf,
      `listener 0 127.0.0.1\nlistener 0 127.0.0.1\nprotocol http\nallow_anonymous true\nsys_interval 1\nserial dev ${pty.broker} framing=line\n` +
        `connection up\naddress 127.0.0.1:${remote.port}\ntopic up/# out 1\n`,
    );
    proc = spawnProc(process.execPath, [bundle, '-c', conf], { cwd: dir });
    mqttPort = Number(/port (\d+)\.$/.exec(await proc.waitFor(/listen socket on 127\.0\.0\.1 port \d+\.$/, 20_000, 'stderr'))![1]);
    httpPort = Number(/port (\d+) \(http\)/.exec(await proc.waitFor(/port \d+ \(http\)/, 20_000, 'stderr'))![1]);
    board = await openPort(pty.board);
    sys = await sysReader(mqttPort);
    clients.push(sys.c);
  }, 60_000);
  afterAll(async () => {
    for (const c of clients) await c.endAsync(true);
    await closePort(board);
    killAll();
    await remote?.close();
    await pty.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the API and /metrics of the bundle match $SYS, with every documented key', async () => {
    for (const [id, v] of [['b4', 4], ['b5', 5]] as const) {
      clients.push(await mqtt.connectAsync({ host: '127.0.0.1', port: mqttPort, clientId: id, protocolVersion: v, reconnectPeriod: 0 }));
    }
    await clients[1].publishAsync('up/x', 'hello', { qos: 1, retain: true });
    let links, bridges;
    for (let i = 0; i < 100; i++) {
      links = (await ask(httpPort, '/api/v1/links')).json();
      bridges = (await ask(httpPort, '/api/v1/bridges')).json();
      if (links.serial[0].open && bridges.bridges[0].connected) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(links.serial).toEqual([
      { name: 'dev', device: pty.broker, framing: 'line', baud: 115200, open: true, client: 'midge-serial-dev', rx_bytes: 0, tx_bytes: 0, dropped: 0 },
    ]);
    expect(Object.keys(bridges.bridges[0]).sort()).toEqual(['addresses', 'connected', 'inflight', 'local_id', 'name', 'queued', 'remote_id', 'state']);
    expect(bridges.bridges[0]).toMatchObject({ name: 'up', state: 'connected', queued: 0 });
    const s = await sys.next();
    const b = (await ask(httpPort, '/api/v1/broker')).json();
    expect(Object.keys(b).sort()).toEqual(['bytes', 'clients', 'listeners', 'messages', 'process', 'retained', 'subscriptions', 'uptime', 'version']);
    expect(Object.keys(b.process).sort()).toEqual(['event_loop_lag', 'heap_used', 'rss']);
    expect(b.clients.connected).toBe(Number(s.get('clients/connected')));
    expect(b.messages.received).toBe(Number(s.get('messages/received')));
    expect(b.retained).toBe(Number(s.get('retained messages/count')));
    expect(b.subscriptions).toBe(Number(s.get('subscriptions/count')));
    const m = parseMetrics((await ask(httpPort, '/metrics')).text);
    expect(one(m, 'midge_clients_connected')).toBe(Number(s.get('clients/connected')));
    expect(one(m, 'midge_messages_received_total')).toBe(Number(s.get('messages/received')));
    expect(m.get('midge_bridge_connected')?.[0]).toMatchObject({ labels: { bridge: 'up', state: 'connected' }, value: 1 });
    expect(m.get('midge_serial_link_open')?.[0].value).toBe(1);
    const list = (await ask(httpPort, '/api/v1/clients')).json().clients;
    expect(list.find((c: { id: string }) => c.id === 'b5')).toMatchObject({ protocol: 'MQTT 5', connected: true });
    expect(Object.keys(list[0]).sort()).toEqual(['connected', 'id', 'inflight', 'protocol', 'queued', 'remote', 'subscriptions']);
    const page = await ask(httpPort, '/');
    expect(page.status).toBe(200);
    expect(page.text).toContain('<script>');
  });
});
