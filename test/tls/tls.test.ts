// TLS listeners against real peers: MQTT.js and Debian's mosquitto_pub with test-time certificates
// (test/helpers/certs.ts), client certificates, use_identity_as_username, tls_version, and
// certificate reload without dropping live connections.
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { TlsSettings } from '../../src/config/types.ts';
import { hashPassword } from '../../src/features/auth/password-file.ts';
import { log } from '../../src/util/log.ts';
import { listener, startBroker, type TestBroker } from '../helpers/broker.ts';
import { makeCerts, type Certs } from '../helpers/certs.ts';
import { requirePeer } from '../helpers/peers.ts';
import { killAll, run, spawnProc } from '../helpers/proc.ts';
import { freePort } from '../helpers/ports.ts';

const haveOpenssl = requirePeer('openssl');
const havePub = haveOpenssl && requirePeer('mosquitto_pub');

let certs: Certs;
let dir: string;
const brokers: TestBroker[] = [];
const clients: MqttClient[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'midge-tls-'));
  if (haveOpenssl) certs = await makeCerts(dir);
}, 60_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
  await killAll();
  await Promise.all(brokers.splice(0).map((b) => b.close()));
});

async function tlsBroker(t: Partial<TlsSettings>, allowAnonymous = true): Promise<TestBroker> {
  const b = await startBroker({
    allowAnonymous,
    listeners: [listener({ tls: { certfile: certs.serverCert, keyfile: certs.serverKey, ...t } })],
  });
  brokers.push(b);
  return b;
}

/** Opens a raw TLS connection; resolves with the socket once the handshake is done. */
function handshake(port: number, opts: tls.ConnectionOptions = {}): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, ca: readFileSync(certs.ca), servername: 'localhost', ...opts }, () => resolve(s));
    s.once('error', reject);
  });
}

/** An MQTT.js client over TLS; resolves once connected, rejects on error or close first. */
function mqtts(port: number, opts: mqtt.IClientOptions = {}): Promise<MqttClient> {
  const c = mqtt.connect({ protocol: 'mqtts', host: '127.0.0.1', port, ca: readFileSync(certs.ca), reconnectPeriod: 0, connectTimeout: 5000, ...opts });
  clients.push(c);
  return new Promise((resolve, reject) => {
    c.once('connect', () => resolve(c));
    c.once('error', reject);
    c.once('close', () => reject(new Error('closed before CONNACK')));
  });
}

/** CONNECT/CONNACK over a raw TLS socket, then PINGREQ/PINGRESP: proves the connection is live. */
function ping(s: tls.TLSSocket): Promise<void> {
  return new Promise((resolve, reject) => {
    s.once('data', (d: Buffer) => (d[0] === 0xd0 ? resolve() : reject(new Error(`got ${d.toString('hex')}`))));
    s.write(Buffer.from([0xc0, 0]));
  });
}

function connectRaw(s: tls.TLSSocket, clientId: string): Promise<Buffer> {
  const id = Buffer.from(clientId);
  const body = Buffer.concat([Buffer.from([0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 2, 0, 0, 0, id.length]), id]);
  return new Promise((resolve, reject) => {
    s.once('data', resolve);
    s.once('close', () => reject(new Error('closed')));
    s.write(Buffer.concat([Buffer.from([0x10, body.length]), body]));
  });
}

describe.skipIf(!haveOpenssl)('TLS listeners', () => {
  it('MQTT.js over TLS receives what mosquitto_pub --cafile publishes, QoS 0/1/2', async () => {
    if (!havePub) return;
    const b = await tlsBroker({});
    const sub = await mqtts(b.port);
    await sub.subscribeAsync('t/#', { qos: 2 });
    const got: string[] = [];
    const all = new Promise<void>((resolve) =>
      sub.on('message', (topic, payload, packet) => {
        got.push(`${topic}|${packet.qos}|${payload}`);
        if (got.length === 3) resolve();
      }),
    );
    for (const q of ['0', '1', '2']) {
      const p = await run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(b.port), '--cafile', certs.ca, '-t', `t/${q}`, '-m', `m${q}`, '-q', q]);
      expect(p.exit.code, p.describe()).toBe(0);
    }
    await all;
    expect(got).toEqual(['t/0|0|m0', 't/1|1|m1', 't/2|2|m2']);
  });

  it('mosquitto_pub refuses a broker whose certificate its CA does not vouch for', async () => {
    if (!havePub) return;
    const b = await tlsBroker({});
    const p = await run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(b.port), '--cafile', certs.rogueCert, '-t', 't', '-m', 'x']);
    expect(p.exit.code).not.toBe(0);
  });

  it('require_certificate: no certificate or an untrusted one is refused, a CA-signed one accepted', async () => {
    const b = await tlsBroker({ cafile: certs.ca, requireCertificate: true });
    await expect(mqtts(b.port)).rejects.toThrow();
    await expect(mqtts(b.port, { key: readFileSync(certs.rogueKey), cert: readFileSync(certs.rogueCert) })).rejects.toThrow();
    const c = await mqtts(b.port, { key: readFileSync(certs.clientKey), cert: readFileSync(certs.clientCert) });
    expect(c.connected).toBe(true);
  });

  it('require_certificate with mosquitto_pub: refused without --cert/--key, accepted with them', async () => {
    if (!havePub) return;
    const b = await tlsBroker({ cafile: certs.ca, requireCertificate: true });
    const args = ['-h', '127.0.0.1', '-p', String(b.port), '--cafile', certs.ca, '-t', 't', '-m', 'x'];
    const without = await run('mosquitto_pub', args);
    expect(without.exit.code, without.describe()).not.toBe(0);
    const withCert = await run('mosquitto_pub', [...args, '--cert', certs.clientCert, '--key', certs.clientKey]);
    expect(withCert.exit.code, withCert.describe()).toBe(0);
  });

  it('capath: CA certificates are read from a directory', async () => {
    const caDir = mkdtempSync(join(dir, 'capath-'));
    copyFileSync(certs.ca, join(caDir, 'ca.pem'));
    writeFileSync(join(caDir, 'README'), 'not a certificate\n');
    const b = await tlsBroker({ capath: caDir, requireCertificate: true });
    const c = await mqtts(b.port, { key: readFileSync(certs.clientKey), cert: readFileSync(certs.clientCert) });
    expect(c.connected).toBe(true);
  });

  it("use_identity_as_username: the certificate's CN is the username, replacing the packet's", async () => {
    const info = vi.spyOn(log, 'notice');
    // allow_anonymous false: only a username lets the client in, and it sends none itself.
    const b = await tlsBroker({ cafile: certs.ca, requireCertificate: true, useIdentityAsUsername: true }, false);
    const c = await mqtts(b.port, { clientId: 'id-test', key: readFileSync(certs.clientKey), cert: readFileSync(certs.clientCert) });
    expect(c.connected).toBe(true);
    await mqtts(b.port, { clientId: 'id-spoof', username: 'admin', key: readFileSync(certs.clientKey), cert: readFileSync(certs.clientCert) });
    const lines = info.mock.calls.map((a) => String(a[0]));
    expect(lines.find((l) => l.includes(' as id-test '))).toMatch(/u'sensor-1'/);
    expect(lines.find((l) => l.includes(' as id-spoof '))).toMatch(/u'sensor-1'/);
  });

  it('use_identity_as_username with password_file and acl_file: no password asked, the ACL of the CN applies', async () => {
    const passwd = join(dir, 'passwd');
    writeFileSync(passwd, `sensor-1:${hashPassword('not-sent')}\n`);
    const acl = join(dir, 'acl');
    writeFileSync(acl, 'user sensor-1\ntopic readwrite sensors/#\n');
    const b = await startBroker({
      allowAnonymous: false,
      passwordFile: passwd,
      aclFile: acl,
      listeners: [listener({ tls: { certfile: certs.serverCert, keyfile: certs.serverKey, cafile: certs.ca, requireCertificate: true, useIdentityAsUsername: true } })],
    });
    brokers.push(b);
    const c = await mqtts(b.port, { key: readFileSync(certs.clientKey), cert: readFileSync(certs.clientCert) });
    expect((await c.subscribeAsync('sensors/#', { qos: 1 }))[0].qos).toBe(1);
    // SUBACK 0x80: MQTT.js reports it as an error.
    await expect(c.subscribeAsync('other/#', { qos: 1 })).rejects.toThrow(/Subscribe error/);
  });

  it('without use_identity_as_username an anonymous client with a certificate is still anonymous', async () => {
    const b = await tlsBroker({ cafile: certs.ca, requireCertificate: true }, false);
    await expect(mqtts(b.port, { key: readFileSync(certs.clientKey), cert: readFileSync(certs.clientCert) })).rejects.toThrow(/Not authorized|Bad username/i);
  });

  it('tls_version tlsv1.3 refuses a TLS 1.2 client; ciphers limits TLS 1.2 suites', async () => {
    const b = await tlsBroker({ tlsVersion: 'tlsv1.3' });
    await expect(handshake(b.port, { maxVersion: 'TLSv1.2' })).rejects.toThrow();
    expect((await handshake(b.port)).getProtocol()).toBe('TLSv1.3');
    const b2 = await tlsBroker({ ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256' });
    const s = await handshake(b2.port, { maxVersion: 'TLSv1.2' });
    expect(s.getCipher().standardName).toBe('TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256');
    s.destroy();
    await expect(handshake(b2.port, { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES256-GCM-SHA384' })).rejects.toThrow();
  });

  it('reload re-reads the certificate; live connections stay; a broken file keeps the old one', async () => {
    const live = mkdtempSync(join(dir, 'live-'));
    const cert = join(live, 'server.crt');
    copyFileSync(certs.serverCert, cert);
    const b = await startBroker({ listeners: [listener({ tls: { certfile: cert, keyfile: certs.serverKey } })] });
    brokers.push(b);
    const old = await handshake(b.port);
    expect(old.getPeerCertificate().subject.CN).toBe('midge-server-1');
    expect((await connectRaw(old, 'old'))[3]).toBe(0);

    copyFileSync(certs.server2Cert, cert);
    b.running.reload();
    const fresh = await handshake(b.port);
    expect(fresh.getPeerCertificate().subject.CN).toBe('midge-server-2');
    await ping(old); // the connection made before the reload still works
    fresh.destroy();

    writeFileSync(cert, 'garbage');
    const error = vi.spyOn(log, 'error');
    b.running.reload();
    expect(error.mock.calls.map((a) => String(a[0])).join('\n')).toMatch(/Keeping the previous TLS certificates/);
    const after = await handshake(b.port);
    expect(after.getPeerCertificate().subject.CN).toBe('midge-server-2');
    after.destroy();
    old.destroy();
  });

  it('SIGHUP reloads the certificates of the built broker (main.ts wiring)', async () => {
    const { buildBundle } = await import('../../scripts/build.mjs');
    const outfile = join(dir, 'bundle', 'broker.min.js');
    await buildBundle({ outfile, flags: ['TLS'] });
    const cert = join(dir, 'sighup.crt');
    copyFileSync(certs.serverCert, cert);
    const port = await freePort();
    const conf = join(dir, 'sighup.conf');
    writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\ncertfile ${cert}\nkeyfile ${certs.serverKey}\n`);
    const p = spawnProc(process.execPath, [outfile, '-c', conf]);
    await p.waitFor('Opening ipv4 listen socket', 10_000, 'stderr');
    const before = await handshake(port);
    expect(before.getPeerCertificate().subject.CN).toBe('midge-server-1');
    copyFileSync(certs.server2Cert, cert);
    p.kill('SIGHUP');
    await p.waitFor('Reloaded TLS certificates', 10_000, 'stderr');
    const after = await handshake(port);
    expect(after.getPeerCertificate().subject.CN).toBe('midge-server-2');
    before.destroy();
    after.destroy();
    p.kill('SIGTERM');
    // Generous: the full suite shares two cores with other runs.
    expect((await p.waitExit(15_000)).code).toBe(0);
  }, 30_000);
});
