// WebSocket listeners: MQTT.js in WebSocket mode exchanges QoS 0/1/2 with a TCP client, the `mqtt`
// subprotocol is negotiated, wss works with the listener's TLS options, and plain HTTP is refused.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import WebSocket from 'ws';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { listener, startBroker, type TestBroker } from '../helpers/broker.ts';
import { makeCerts, type Certs } from '../helpers/certs.ts';
import { requirePeer } from '../helpers/peers.ts';

const brokers: TestBroker[] = [];
const clients: MqttClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
  await Promise.all(brokers.splice(0).map((b) => b.close()));
});

/** A broker with a TCP listener first and a WebSocket listener second. */
async function wsBroker(ws: Parameters<typeof listener>[0] = {}): Promise<{ tcp: number; ws: number }> {
  const b = await startBroker({ listeners: [listener(), listener({ protocol: 'websockets', ...ws })] });
  brokers.push(b);
  return { tcp: b.running.addresses[0].port, ws: b.running.addresses[1].port };
}

function client(opts: mqtt.IClientOptions): Promise<MqttClient> {
  const c = mqtt.connect({ host: '127.0.0.1', reconnectPeriod: 0, connectTimeout: 5000, ...opts });
  clients.push(c);
  return new Promise((resolve, reject) => {
    c.once('connect', () => resolve(c));
    c.once('error', reject);
  });
}

/** Subscribes `sub` to x/#, publishes QoS 0, 1, 2 from `pub`, returns what `sub` got. */
async function exchange(pub: MqttClient, sub: MqttClient): Promise<string[]> {
  await sub.subscribeAsync('x/#', { qos: 2 });
  const got: string[] = [];
  const all = new Promise<void>((resolve) =>
    sub.on('message', (topic, payload, packet) => {
      got.push(`${topic}|${packet.qos}|${payload}`);
      if (got.length === 3) resolve();
    }),
  );
  for (const qos of [0, 1, 2] as const) await pub.publishAsync(`x/${qos}`, `m${qos}`, { qos });
  await all;
  return got;
}

describe('WebSocket listeners', () => {
  it('MQTT.js over ws:// and a TCP client exchange QoS 0/1/2 both ways', async () => {
    const p = await wsBroker();
    const ws = await client({ protocol: 'ws', port: p.ws, path: '/mqtt', clientId: 'ws-client' });
    const tcp = await client({ protocol: 'mqtt', port: p.tcp, clientId: 'tcp-client' });
    expect(await exchange(tcp, ws)).toEqual(['x/0|0|m0', 'x/1|1|m1', 'x/2|2|m2']);
    ws.removeAllListeners('message');
    tcp.removeAllListeners('message');
    await ws.unsubscribeAsync('x/#');
    expect(await exchange(ws, tcp)).toEqual(['x/0|0|m0', 'x/1|1|m1', 'x/2|2|m2']);
  });

  it('negotiates the mqtt subprotocol, and mqttv3.1 for MQTT 3.1 clients', async () => {
    const p = await wsBroker();
    for (const [offered, chosen] of [[['mqtt'], 'mqtt'], [['mqttv3.1'], 'mqttv3.1'], [['chat', 'mqtt'], 'mqtt']] as const) {
      const w = new WebSocket(`ws://127.0.0.1:${p.ws}/`, [...offered]);
      await new Promise((resolve, reject) => {
        w.once('open', resolve);
        w.once('error', reject);
      });
      expect(w.protocol).toBe(chosen);
      w.close();
    }
    // A client offering only other subprotocols gets none back, so its handshake fails.
    const other = new WebSocket(`ws://127.0.0.1:${p.ws}/`, ['chat']);
    await expect(new Promise((resolve, reject) => { other.once('open', resolve); other.once('error', reject); })).rejects.toThrow();
  });

  it('a plain HTTP request gets 426 Upgrade Required', async () => {
    const p = await wsBroker();
    const status = await new Promise<number | undefined>((resolve, reject) => {
      http.get(`http://127.0.0.1:${p.ws}/`, (res) => {
        res.resume();
        resolve(res.statusCode);
      }).once('error', reject);
    });
    expect(status).toBe(426);
  });

  it('max_connections applies to a WebSocket listener', async () => {
    const p = await wsBroker({ maxConnections: 1 });
    await client({ protocol: 'ws', port: p.ws, clientId: 'first' });
    const second = mqtt.connect({ protocol: 'ws', host: '127.0.0.1', port: p.ws, reconnectPeriod: 0, connectTimeout: 3000 });
    clients.push(second);
    await new Promise<void>((resolve) => second.once('close', () => resolve()));
    expect(second.connected).toBe(false);
  });
});

const haveOpenssl = requirePeer('openssl');

describe.skipIf(!haveOpenssl)('WebSocket listeners over TLS', () => {
  let certs: Certs;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'midge-wss-'));
    certs = await makeCerts(dir);
  }, 60_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('MQTT.js over wss:// (the listener CA checked) exchanges QoS 0/1/2 with a TCP client', async () => {
    const p = await wsBroker({ tls: { certfile: certs.serverCert, keyfile: certs.serverKey } });
    const wss = await client({ protocol: 'wss', port: p.ws, ca: readFileSync(certs.ca), clientId: 'wss-client' });
    const tcp = await client({ protocol: 'mqtt', port: p.tcp, clientId: 'tcp-client' });
    expect(await exchange(tcp, wss)).toEqual(['x/0|0|m0', 'x/1|1|m1', 'x/2|2|m2']);
  });

  it('wss with require_certificate refuses a client without a certificate', async () => {
    const p = await wsBroker({ tls: { certfile: certs.serverCert, keyfile: certs.serverKey, cafile: certs.ca, requireCertificate: true } });
    await expect(client({ protocol: 'wss', port: p.ws, ca: readFileSync(certs.ca) })).rejects.toThrow();
    const ok = await client({ protocol: 'wss', port: p.ws, ca: readFileSync(certs.ca), key: readFileSync(certs.clientKey), cert: readFileSync(certs.clientCert) });
    expect(ok.connected).toBe(true);
  });

  it('wss with use_identity_as_username: the certificate lets a client in where anonymous ones are refused', async () => {
    const b = await startBroker({
      allowAnonymous: false,
      listeners: [listener({ protocol: 'websockets', tls: { certfile: certs.serverCert, keyfile: certs.serverKey, cafile: certs.ca, requireCertificate: true, useIdentityAsUsername: true } })],
    });
    brokers.push(b);
    const ok = await client({ protocol: 'wss', port: b.port, ca: readFileSync(certs.ca), key: readFileSync(certs.clientKey), cert: readFileSync(certs.clientCert) });
    expect(ok.connected).toBe(true);
    const plain = await startBroker({ allowAnonymous: false, listeners: [listener({ protocol: 'websockets' })] });
    brokers.push(plain);
    await expect(client({ protocol: 'ws', port: plain.port })).rejects.toThrow(/Not authorized/i);
  });
});
