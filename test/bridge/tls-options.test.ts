// Bridge options of issue 15: TLS-PSK bridges (bridge_identity, bridge_psk) to Debian's mosquitto
// and to Midge, bridge_capath, bridge_insecure without a CA (plain, as Mosquitto), and the MQTT 5
// CONNECT properties bridge_receive_maximum and bridge_session_expiry_interval seen by a raw peer.
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqttPacket from 'mqtt-packet';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { startServer } from '../../src/server.ts';
import { log } from '../../src/util/log.ts';
import { listener, testConfig } from '../helpers/broker.ts';
import { makeCerts, type Certs } from '../helpers/certs.ts';
import { requirePeer } from '../helpers/peers.ts';
import { freePort } from '../helpers/ports.ts';
import { killAll } from '../helpers/proc.ts';
import { client, crossed, endClients, midge, mosquitto } from './helpers.ts';

const haveOpenssl = requirePeer('openssl');
const haveMosquitto = requirePeer('mosquitto');
const open: { close(): Promise<void> }[] = [];
const stops: (() => Promise<void>)[] = [];
let dir: string;
let certs: Certs;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'midge-bridge-tls-'));
  writeFileSync(join(dir, 'psk'), 'gw-1:0a1b2c3d4e5f60718293a4b5c6d7e8f9\n');
  if (haveOpenssl) certs = await makeCerts(dir);
  // mosquitto started as root drops to user mosquitto before reading its files.
  chmodSync(dir, 0o755);
  for (const f of readdirSync(dir)) chmodSync(join(dir, f), 0o644);
}, 60_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(async () => {
  vi.restoreAllMocks();
  await endClients();
  for (const x of open.splice(0).reverse()) await x.close();
  for (const s of stops.splice(0)) await s();
  await killAll();
});

const bridge = (port: number, extra: string): string =>
  `connection up\naddress 127.0.0.1:${port}\nrestart_timeout 1\nnotifications false\n${extra}\ntopic # out 1 "" up/\n`;

/** Midge with `conf`'s bridges; messages published on it cross to `remotePort` under up/. */
async function bridgesTo(remotePort: number, extra: string): Promise<void> {
  const a = await midge(bridge(remotePort, extra));
  open.push(a);
  const onA = await client(a.port);
  const onR = await client(remotePort, ['up/#']);
  await crossed(onA, onR, 'probe', 'up/probe');
}

/** Midge with a TLS-PSK listener (psk_file of `dir`) and a plain one. */
async function pskMidge(): Promise<{ psk: number; plain: number }> {
  const running = await startServer(testConfig({ listeners: [listener({ tls: { pskHint: 'hub', pskFile: join(dir, 'psk') } }), listener()] }));
  open.push(running);
  return { psk: running.addresses[0].port, plain: running.addresses[1].port };
}

describe('TLS-PSK bridges (bridge_identity, bridge_psk)', () => {
  it.skipIf(!haveMosquitto)("to Debian's mosquitto with a psk_hint listener and its psk_file", async () => {
    const port = await freePort();
    const m = await mosquitto(`listener ${port} 127.0.0.1\npsk_hint hub\npsk_file ${dir}/psk\n`);
    stops.push(m.stop);
    // Messages cross the PSK listener (port), read on the plain one (m.port).
    const a = await midge(bridge(port, 'bridge_identity gw-1\nbridge_psk 0a1b2c3d4e5f60718293a4b5c6d7e8f9'));
    open.push(a);
    const onA = await client(a.port);
    const onM = await client(m.port, ['up/#']);
    await crossed(onA, onM, 'probe', 'up/probe');
    expect(m.proc.stderr.join('\n')).toMatch(/New client connected from 127\.0\.0\.1:\d+ as /);
  });

  it('Midge to Midge; a wrong key never connects', async () => {
    const r = await pskMidge();
    const good = await midge(bridge(r.psk, 'bridge_identity gw-1\nbridge_psk 0a1b2c3d4e5f60718293a4b5c6d7e8f9'));
    open.push(good);
    const bad = await midge(bridge(r.psk, 'bridge_identity gw-1\nbridge_psk 0a1b2c3d4e5f60718293a4b5c6d7e8f8').replace('up/', 'bad/'));
    open.push(bad);
    const onR = await client(r.plain, ['up/#', 'bad/#']);
    const onGood = await client(good.port);
    await crossed(onGood, onR, 'probe', 'up/probe');
    const onBad = await client(bad.port);
    for (let i = 0; i < 5; i++) await onBad.client.publishAsync('probe', 'x', { qos: 1 });
    await onGood.client.publishAsync('last', 'x', { qos: 1 });
    await onR.until((all) => all.some((x) => x.topic === 'up/last'), 'up/last');
    expect(onR.all.filter((x) => x.topic.startsWith('bad/'))).toEqual([]);
  });
});

describe.skipIf(!haveOpenssl)('certificate options of bridges', () => {
  async function tlsMidge(): Promise<{ tls: number; plain: number }> {
    const running = await startServer(testConfig({ listeners: [listener({ tls: { certfile: certs.serverCert, keyfile: certs.serverKey } }), listener()] }));
    open.push(running);
    return { tls: running.addresses[0].port, plain: running.addresses[1].port };
  }

  it('bridge_capath: the CA certificates of a directory vouch for the remote; a directory without its CA does not', async () => {
    const r = await tlsMidge();
    const good = join(dir, 'capath-good');
    const bad = join(dir, 'capath-bad');
    mkdirSync(good);
    mkdirSync(bad);
    copyFileSync(certs.ca, join(good, 'ca.crt'));
    copyFileSync(certs.rogueCert, join(bad, 'rogue.crt'));
    const a = await midge(bridge(r.tls, `bridge_capath ${good}`) + bridge(r.tls, `bridge_capath ${bad}`).replace('connection up', 'connection bad').replace('up/', 'bad/'));
    open.push(a);
    const onA = await client(a.port);
    const onR = await client(r.plain, ['up/#', 'bad/#']);
    await crossed(onA, onR, 'probe', 'up/probe');
    expect(onR.all.filter((x) => x.topic.startsWith('bad/'))).toEqual([]);
  });

  it('bridge_insecure and bridge_alpn without a CA: accepted, a warning, and the bridge connects without TLS', async () => {
    const warn = vi.spyOn(log, 'warning');
    const r = await tlsMidge();
    await bridgesTo(r.plain, 'bridge_insecure true\nbridge_alpn mqtt');
    expect(warn.mock.calls.map((c) => String(c[0])).join('\n')).toMatch(/have no effect without bridge_cafile, bridge_capath or bridge_psk: connecting without TLS/);
  });
});

/** A raw TCP peer that records the first packet (the bridge's CONNECT), decoded by mqtt-packet. */
async function connectSeen(bridgeText: string): Promise<mqttPacket.IConnectPacket> {
  const got = new Promise<mqttPacket.IConnectPacket>((resolve, reject) => {
    const server = net.createServer((s) => {
      const parser = mqttPacket.parser({ protocolVersion: 5 });
      parser.on('packet', (p) => {
        s.destroy();
        server.close();
        resolve(p as mqttPacket.IConnectPacket);
      });
      parser.on('error', reject);
      s.on('data', (d) => parser.parse(d));
    });
    server.listen(0, '127.0.0.1', async () => {
      const port = (server.address() as net.AddressInfo).port;
      const a = await midge(`connection raw\naddress 127.0.0.1:${port}\nbridge_protocol_version mqttv50\ntopic # out\n${bridgeText}`);
      open.push(a);
    });
  });
  return got;
}

describe('MQTT 5 bridge CONNECT properties (Mosquitto 2.1 options)', () => {
  it('bridge_receive_maximum and bridge_session_expiry_interval are sent as Receive Maximum and Session Expiry Interval', async () => {
    const p = await connectSeen('bridge_receive_maximum 7\nbridge_session_expiry_interval 3600\n');
    expect(p.protocolVersion).toBe(5);
    expect(p.properties).toMatchObject({ receiveMaximum: 7, sessionExpiryInterval: 3600 });
  });

  it('defaults: Receive Maximum = max_inflight_messages (20), a cleansession false session never expires', async () => {
    const p = await connectSeen('');
    expect(p.clean).toBe(false);
    expect(p.properties).toMatchObject({ receiveMaximum: 20, sessionExpiryInterval: 0xffffffff });
  });

  it('cleansession true with bridge_session_expiry_interval 0: the property is left out (the spec default)', async () => {
    const p = await connectSeen('cleansession true\nbridge_session_expiry_interval 0\nbridge_receive_maximum 65535\n');
    expect(p.clean).toBe(true);
    expect(p.properties?.sessionExpiryInterval).toBeUndefined();
    expect(p.properties?.receiveMaximum).toBeUndefined();
  });
});
