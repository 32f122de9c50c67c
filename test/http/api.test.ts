// The HTTP feature's JSON API and /metrics against a running broker with real peers: MQTT.js
// clients of each protocol version, a bridge to a second broker, a serial link over a socat pty,
// and GPIO pins through the in-memory pin double. The numbers must be what $SYS says.
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/parse.ts';
import { startServer, type Running } from '../../src/server.ts';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { requirePeer } from '../helpers/peers.ts';
import { FakeDriver } from '../gpio/fake-pin.ts';
import { SnTestClient } from '../sn/sn-client.ts';
import { UdpForwarder } from '../sn/forwarder.ts';
import { closePort, openPort, PtyPair } from '../serial/device.ts';
import { ask, one, parseMetrics, post } from './client.ts';
import { sysReader, type SysReader } from './sys.ts';
import type { SerialPort } from 'serialport';

const haveSocat = requirePeer('socat');

describe.skipIf(!haveSocat)('HTTP API and /metrics', () => {
  const pty = new PtyPair();
  const driver = new FakeDriver({ 6: 0 });
  let remote: TestBroker;
  let running: Running;
  let mqttPort: number;
  let httpPort: number;
  let snPort: number;
  let board: SerialPort;
  let sys: SysReader;
  const clients: MqttClient[] = [];
  const connect = async (clientId: string, protocolVersion: 3 | 4 | 5, clean = true): Promise<MqttClient> => {
    const protocolId = protocolVersion === 3 ? 'MQIsdp' : 'MQTT';
    const c = await mqtt.connectAsync({ host: '127.0.0.1', port: mqttPort, clientId, protocolId, protocolVersion, clean, reconnectPeriod: 0 });
    clients.push(c);
    return c;
  };
  const get = async <T = any>(path: string): Promise<T> => { // eslint-disable-line @typescript-eslint/no-explicit-any
    const r = await ask(httpPort, path);
    expect(r.status, `${path}: ${r.text}`).toBe(200);
    return r.json<T>();
  };
  const until = async (what: string, ok: () => Promise<boolean>): Promise<void> => {
    for (let i = 0; i < 100; i++) {
      if (await ok()) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`timed out waiting for ${what}`);
  };

  beforeAll(async () => {
    await pty.start();
    remote = await startBroker();
    const cfg = parseConfigText(
      [
        'listener 0 127.0.0.1',
        'listener 0 127.0.0.1',
        'protocol http',
        'listener 0 127.0.0.1',
        'protocol mqttsn',
        'allow_anonymous true',
        'sys_interval 1',
        `serial dev ${pty.broker} framing=line prefix=board/`,
        'gpio 5 out topic=relay',
        'gpio 6 in topic=button',
        'connection up',
        `address 127.0.0.1:${remote.port}`,
        'topic up/# out 1',
        'notifications false',
        '',
      ].join('\n'),
      'http.conf',
    );
    running = await startServer({ ...cfg, gpioDriver: driver });
    [mqttPort, httpPort, snPort] = running.addresses.map((a) => a.port);
    board = await openPort(pty.board);
    sys = await sysReader(mqttPort);
    clients.push(sys.c);
    await until('the serial link and the bridge', async () => {
      const l = await get('/api/v1/links');
      const b = await get('/api/v1/bridges');
      return l.serial[0]?.open === true && b.bridges[0]?.connected === true;
    });
  });
  afterAll(async () => {
    for (const c of clients) await c.endAsync(true);
    await closePort(board);
    await running?.close();
    await remote?.close();
    await pty.cleanup();
  });

  it('GET /api/v1/broker and /metrics say what $SYS says', async () => {
    const a = await connect('v31', 3);
    await connect('v311', 4);
    await connect('v5', 5);
    await a.subscribeAsync('t/#', { qos: 1 });
    for (let i = 0; i < 5; i++) await a.publishAsync(`t/${i}`, 'x', { qos: 1, retain: i < 2 });
    const s = await sys.next();
    const b = await get('/api/v1/broker');
    const m = parseMetrics((await ask(httpPort, '/metrics')).text);
    const n = (k: string): number => Number(s.get(k));
    expect(b.clients).toEqual({ connected: n('clients/connected'), total: n('clients/total'), disconnected: n('clients/disconnected') });
    expect(b.messages.received).toBe(n('messages/received'));
    expect(b.messages.dropped).toBe(n('messages/dropped'));
    expect(b.messages.paced).toBe(n('messages/paced'));
    expect(b.retained).toBe(n('retained messages/count'));
    expect(b.subscriptions).toBe(n('subscriptions/count'));
    // The $SYS reader is sent messages in between: sent counters only grow.
    expect(b.messages.sent).toBeGreaterThanOrEqual(n('messages/sent'));
    expect(b.version).toBe(s.get('version')!.replace('midge version ', ''));
    expect(one(m, 'midge_clients_connected')).toBe(n('clients/connected'));
    expect(one(m, 'midge_clients')).toBe(n('clients/total'));
    expect(one(m, 'midge_messages_received_total')).toBe(n('messages/received'));
    expect(one(m, 'midge_messages_dropped_total')).toBe(n('messages/dropped'));
    expect(one(m, 'midge_publishers_paced_total')).toBe(n('messages/paced'));
    expect(one(m, 'midge_retained_messages')).toBe(n('retained messages/count'));
    expect(one(m, 'midge_subscriptions')).toBe(n('subscriptions/count'));
    expect(one(m, 'midge_messages_sent_total')).toBeGreaterThanOrEqual(n('messages/sent'));
    expect(one(m, 'midge_received_bytes_total')).toBeGreaterThanOrEqual(n('bytes/received'));
    expect(one(m, 'midge_process_resident_memory_bytes')).toBeGreaterThan(1e6);
    expect(one(m, 'midge_event_loop_lag_seconds')).toBeGreaterThanOrEqual(0);
    // Conventions: counters end in _total, every family has a type.
    for (const [name, samples] of m) {
      expect(name).toMatch(/^midge_[a-z_]+$/);
      if (samples[0]?.type === 'COUNTER') expect(name).toMatch(/_total$/);
    }
    // Per listener: the MQTT listener counts its clients (the reader, three here, none on http).
    expect(b.listeners.map((l: { protocol: string; port: number }) => [l.protocol, l.port])).toEqual([['mqtt', mqttPort], ['http', httpPort], ['mqttsn', snPort]]);
    expect(b.listeners.map((l: { connections: number | null }) => l.connections)).toEqual([clients.length, null, 0]);
    expect(m.get('midge_listener_connections')).toEqual([
      { labels: { listener: `127.0.0.1:${mqttPort}`, protocol: 'mqtt' }, value: clients.length, type: 'GAUGE' },
      { labels: { listener: `127.0.0.1:${snPort}`, protocol: 'mqttsn' }, value: 0, type: 'GAUGE' },
    ]);
  });

  it('GET /api/v1/clients lists each client with its protocol; bridges, serial links and GPIO too', async () => {
    await until('three clients', async () => (await get('/api/v1/clients')).total >= 6);
    const { clients: list, total } = await get('/api/v1/clients');
    const byId = new Map(list.map((c: { id: string }) => [c.id, c]));
    expect(total).toBe(list.length);
    expect(byId.get('v31')).toMatchObject({ protocol: 'MQTT 3.1', connected: true, subscriptions: 1 });
    expect(byId.get('v311')).toMatchObject({ protocol: 'MQTT 3.1.1', connected: true });
    expect(byId.get('v5')).toMatchObject({ protocol: 'MQTT 5', connected: true });
    expect((byId.get('v5') as { remote: string }).remote).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(byId.get('midge-serial-dev')).toMatchObject({ protocol: 'serial line', connected: true });
    expect(byId.get('midge-gpio')).toMatchObject({ protocol: 'GPIO', connected: true, subscriptions: 1 });
    const bridge = (await get('/api/v1/bridges')).bridges[0];
    expect(bridge).toMatchObject({ name: 'up', state: 'connected', connected: true, addresses: [`127.0.0.1:${remote.port}`], queued: 0 });
    expect(byId.get(bridge.local_id)).toMatchObject({ protocol: 'bridge', connected: true });
    const links = await get('/api/v1/links');
    expect(links.serial).toEqual([
      { name: 'dev', device: pty.broker, framing: 'line', baud: 115200, open: true, client: 'midge-serial-dev', rx_bytes: 0, tx_bytes: 0, dropped: 0 },
    ]);
    expect(links.gpio).toEqual([
      { pin: '5', number: 5, direction: 'out', topic: 'relay', set_topic: 'relay/set', level: 0 },
      { pin: '6', number: 6, direction: 'in', topic: 'button', set_topic: null, level: 0 },
    ]);
    const m = parseMetrics((await ask(httpPort, '/metrics')).text);
    expect(m.get('midge_bridge_connected')).toEqual([{ labels: { bridge: 'up', state: 'connected' }, value: 1, type: 'GAUGE' }]);
    expect(m.get('midge_bridge_queued_messages')?.[0].value).toBe(0);
    expect(m.get('midge_serial_link_open')).toEqual([{ labels: { link: 'dev', device: pty.broker }, value: 1, type: 'GAUGE' }]);
    expect(m.get('midge_serial_link_client_connected')?.[0].value).toBe(1);
    expect(m.get('midge_gpio_pin_level')?.map((x) => [x.labels.pin, x.labels.direction, x.value])).toEqual([['5', 'out', 0], ['6', 'in', 0]]);
  });

  it('an MQTT-SN client over UDP is listed with its protocol, counted on its listener, and can be disconnected', async () => {
    const sn = await SnTestClient.open(snPort);
    try {
      expect(await sn.connect('sn-sensor')).toBe(0);
      const c = (await get('/api/v1/clients')).clients.find((x: { id: string }) => x.id === 'sn-sensor');
      expect(c).toMatchObject({ protocol: 'MQTT-SN UDP', connected: true, remote: `127.0.0.1:${sn.localPort}` });
      expect((await get('/api/v1/broker')).listeners[2].connections).toBe(1);
      const m = parseMetrics((await ask(httpPort, '/metrics')).text);
      expect(m.get('midge_listener_connections')?.find((x) => x.labels.protocol === 'mqttsn')?.value).toBe(1);
      expect((await post(httpPort, '/api/v1/clients/sn-sensor/disconnect', {})).status).toBe(200);
      expect((await get('/api/v1/clients')).clients.map((x: { id: string }) => x.id)).not.toContain('sn-sensor');
    } finally {
      sn.close();
    }
  });

  it('MQTT-SN nodes behind a radio forwarder (issue 20) are listed as such, and /metrics has the gateway counters of $SYS', async () => {
    const fwd = await UdpForwarder.open(snPort);
    try {
      expect(await fwd.node('0a01').connect('sn-node-1')).toBe(0);
      expect(await fwd.node('0a02').connect('sn-node-2')).toBe(0);
      const list = (await get('/api/v1/clients')).clients.filter((x: { id: string }) => x.id.startsWith('sn-node-'));
      expect(list.map((x: { id: string; protocol: string; remote: string }) => [x.id, x.protocol, x.remote]).sort()).toEqual([
        ['sn-node-1', 'MQTT-SN UDP via forwarder', `127.0.0.1:${fwd.localPort}/0a01`],
        ['sn-node-2', 'MQTT-SN UDP via forwarder', `127.0.0.1:${fwd.localPort}/0a02`],
      ]);
      const m = parseMetrics((await ask(httpPort, '/metrics')).text);
      const g = { gateway: `udp/${snPort}` };
      expect(m.get('midge_mqttsn_nodes')).toEqual([{ labels: g, value: 2, type: 'GAUGE' }]);
      expect(m.get('midge_mqttsn_forwarders')).toEqual([{ labels: g, value: 1, type: 'GAUGE' }]);
      expect(m.get('midge_mqttsn_encapsulated_received_total')?.[0].value).toBeGreaterThanOrEqual(2);
      expect(m.get('midge_mqttsn_encapsulated_malformed_total')?.[0]).toMatchObject({ labels: g, value: 0, type: 'COUNTER' });
    } finally {
      fwd.close();
    }
  });

  it('the serial link counts bytes both ways and dropped lines', async () => {
    const c = await connect('serial-watch', 4);
    await c.subscribeAsync('board/#');
    const got = new Promise<string>((r) => c.once('message', (t, p) => r(`${t} ${p}`)));
    // The board subscribes, publishes a reading and sends a line that is not one.
    board.write('+sub cmd/#\nt 21.5\nnonsense\n');
    expect(await got).toBe('board/t 21.5');
    await until('the subscription', async () => (await get('/api/v1/subscriptions')).subscriptions.some((s: { filter: string }) => s.filter === 'cmd/#'));
    await c.publishAsync('cmd/led', 'on');
    await until('the write to the board', async () => (await get('/api/v1/links')).serial[0].tx_bytes > 0);
    const [s] = (await get('/api/v1/links')).serial;
    expect(s).toMatchObject({ rx_bytes: '+sub cmd/#\nt 21.5\nnonsense\n'.length, tx_bytes: 'cmd/led on\n'.length, dropped: 1 });
    const m = parseMetrics((await ask(httpPort, '/metrics')).text);
    expect(m.get('midge_serial_link_received_bytes_total')?.[0]).toMatchObject({ labels: { link: 'dev' }, value: s.rx_bytes, type: 'COUNTER' });
    expect(m.get('midge_serial_link_sent_bytes_total')?.[0].value).toBe(s.tx_bytes);
    expect(m.get('midge_serial_link_dropped_total')?.[0].value).toBe(1);
  });

  it('an input edge shows in /links and /metrics', async () => {
    driver.pin(6).edge(1);
    expect((await get('/api/v1/links')).gpio[1].level).toBe(1);
    const m = parseMetrics((await ask(httpPort, '/metrics')).text);
    expect(m.get('midge_gpio_pin_level')?.[1].value).toBe(1);
  });

  it('POST /api/v1/gpio/{pin} sets an output: the pin changes and its state is published', async () => {
    const c = await connect('watcher', 4);
    await c.subscribeAsync('relay');
    const seen = new Promise<string>((r) => c.once('message', (_t, p) => r(p.toString())));
    const r = await post(httpPort, '/api/v1/gpio/5', { value: 1 });
    expect(r.status, r.text).toBe(200);
    expect(r.json()).toEqual({ pin: '5', level: 1 });
    expect(driver.pin(5).level).toBe(1);
    expect(await seen).toBe('1');
    expect((await post(httpPort, '/api/v1/gpio/5', { value: 'toggle' })).json()).toEqual({ pin: '5', level: 0 });
    expect(driver.pin(5).writes).toEqual([1, 0]);
    expect((await post(httpPort, '/api/v1/gpio/6', { value: 1 })).status).toBe(409);
    expect((await post(httpPort, '/api/v1/gpio/99', { value: 1 })).status).toBe(404);
    expect((await post(httpPort, '/api/v1/gpio/5', { value: 'on please' })).status).toBe(400);
  });

  it('POST /api/v1/clients/{id}/disconnect ends that client; not the broker\'s own', async () => {
    const c = await connect('to/be gone', 5);
    const closed = new Promise<void>((r) => c.once('close', () => r()));
    const r = await post(httpPort, `/api/v1/clients/${encodeURIComponent('to/be gone')}/disconnect`, {});
    expect(r.status, r.text).toBe(200);
    await closed;
    expect((await get('/api/v1/clients')).clients.map((x: { id: string }) => x.id)).not.toContain('to/be gone');
    expect((await post(httpPort, '/api/v1/clients/nobody/disconnect', {})).status).toBe(404);
    expect((await post(httpPort, '/api/v1/clients/midge-gpio/disconnect', {})).status).toBe(409);
  });

  it('lists are paged: subscriptions and retained topics', async () => {
    const all = await get('/api/v1/subscriptions?limit=1000');
    expect(all.subscriptions).toContainEqual({ client: 'v31', filter: 't/#', qos: 1 });
    expect(all.subscriptions).toContainEqual({ client: 'midge-gpio', filter: 'relay/set', qos: 0 });
    const p1 = await get('/api/v1/subscriptions?offset=1&limit=1');
    expect(p1).toMatchObject({ total: all.total, offset: 1, limit: 1 });
    expect(p1.subscriptions).toEqual([all.subscriptions[1]]);
    const r = await get('/api/v1/retained?limit=1000');
    expect(r.total).toBe((await get('/api/v1/broker')).retained);
    expect(r.topics).toContainEqual({ topic: 't/0', bytes: 1, qos: 1 });
    expect(r.topics.map((t: { topic: string }) => t.topic)).toContain('$SYS/broker/uptime');
    for (const bad of ['limit=0', 'limit=1001', 'offset=-1', 'limit=abc', 'offset=1e3']) {
      expect((await ask(httpPort, `/api/v1/retained?${bad}`)).status, bad).toBe(400);
    }
  });

  it('bad requests get a clear 4xx', async () => {
    expect((await ask(httpPort, '/nope')).status).toBe(404);
    expect((await ask(httpPort, '/api/v1/broker', { method: 'POST', body: '{}' })).status).toBe(405);
    expect((await ask(httpPort, '/api/v1/gpio/5')).headers.allow).toBe('POST');
    const json = { 'content-type': 'application/json' };
    expect((await ask(httpPort, '/api/v1/gpio/5', { method: 'POST', body: '{"value":1}' })).status).toBe(415);
    expect((await ask(httpPort, '/api/v1/gpio/5', { method: 'POST', body: '{"value":1}', headers: { 'content-type': 'text/plain' } })).status).toBe(415);
    expect((await ask(httpPort, '/api/v1/gpio/5', { method: 'POST', body: '{"value":', headers: json })).status).toBe(400);
    expect((await ask(httpPort, '/api/v1/gpio/5', { method: 'POST', body: '[1]', headers: json })).status).toBe(400);
    expect((await ask(httpPort, '/api/v1/gpio/5', { method: 'POST', body: `{"value":"${'x'.repeat(2000)}"}`, headers: json })).status).toBe(413);
    expect((await ask(httpPort, '/api/v1/clients/%E0%A4%A/disconnect', { method: 'POST', body: '{}', headers: json })).status).toBe(400);
    // CSRF: a browser on another site says so, in Origin and Sec-Fetch-Site.
    const cross = await post(httpPort, '/api/v1/gpio/5', { value: 1 }, { headers: { origin: 'http://evil.example' } });
    expect(cross.status).toBe(403);
    expect((await post(httpPort, '/api/v1/gpio/5', { value: 1 }, { headers: { 'sec-fetch-site': 'cross-site' } })).status).toBe(403);
    expect(driver.pin(5).writes).toEqual([1, 0]);
    const same = await post(httpPort, '/api/v1/gpio/5', { value: 0 }, { headers: { origin: `http://127.0.0.1:${httpPort}`, 'sec-fetch-site': 'same-origin' } });
    expect(same.status).toBe(200);
    // HEAD answers like GET, without a body.
    const head = await ask(httpPort, '/api/v1/broker', { method: 'HEAD' });
    expect([head.status, head.text]).toEqual([200, '']);
  });

  it('GET / is the status page: one self-contained HTML document', async () => {
    const r = await ask(httpPort, '/');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(r.headers['content-security-policy']).toContain("default-src 'none'");
    expect(r.text).toMatch(/^<!doctype html>/i);
    // Nothing fetched from elsewhere: no URL but data: in src or href.
    expect(r.text).not.toMatch(/(src|href)=["']?(https?:|\/\/)/i);
    expect(r.text).toContain('<script>');
  });
});
