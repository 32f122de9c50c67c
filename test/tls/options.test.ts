// The TLS listener options beyond certificates (issue 15): TLS-PSK with `openssl s_client -psk`
// (psk_hint, psk_file, use_identity_as_username), crlfile with an openssl-made CRL,
// ciphers_tls1.3, dhparamfile, use_subject_as_username, tls_engine/tls_keyform.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { BrokerConfig, TlsSettings } from '../../src/config/types.ts';
import { log } from '../../src/util/log.ts';
import { listener, startBroker, type TestBroker } from '../helpers/broker.ts';
import { addRevocation, makeCerts, openssl, type Certs, type Revocation } from '../helpers/certs.ts';
import { requirePeer } from '../helpers/peers.ts';
import { run } from '../helpers/proc.ts';

const haveOpenssl = requirePeer('openssl');

let certs: Certs;
let revoked: Revocation;
let dir: string;
let pskFile: string;
let dhparam: string;
const brokers: TestBroker[] = [];
const clients: MqttClient[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'midge-tls-options-'));
  pskFile = join(dir, 'psk');
  writeFileSync(pskFile, '# identity:key\nsensor-7:00112233445566778899aabbccddeeff\n\nother:beef\n');
  if (!haveOpenssl) return;
  certs = await makeCerts(dir);
  revoked = await addRevocation(certs);
  // A named group: no slow prime search.
  await openssl(dir, 'genpkey', '-genparam', '-algorithm', 'DH', '-pkeyopt', 'group:ffdhe2048', '-out', 'dh.pem');
  dhparam = join(dir, 'dh.pem');
}, 60_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
  await Promise.all(brokers.splice(0).map((b) => b.close()));
});

async function broker(t: TlsSettings, more: Partial<BrokerConfig> = {}): Promise<number> {
  const b = await startBroker({ listeners: [listener({ tls: t })], ...more });
  brokers.push(b);
  return b.port;
}

const pskListener = (more: Partial<TlsSettings> = {}): TlsSettings => ({ pskHint: 'midge', pskFile, ...more });

/** CONNECT (MQTT 3.1.1, clean, no username) for `clientId`. */
function connectPacket(clientId: string): Buffer {
  const id = Buffer.from(clientId);
  const body = Buffer.concat([Buffer.from([0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 2, 0, 60, 0, id.length]), id]);
  return Buffer.concat([Buffer.from([0x10, body.length]), body]);
}

/**
 * Runs `openssl s_client` with `args` against the broker, writes a CONNECT through it and
 * resolves with the bytes that came back (the CONNACK) — or with none when the handshake failed.
 */
function sClient(port: number, args: string[], clientId = 'psk-client'): Promise<Buffer> {
  return new Promise((resolve) => {
    const p = spawn('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-quiet', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = Buffer.alloc(0);
    const timer = setTimeout(() => p.kill(), 10_000);
    p.stdout.on('data', (d: Buffer) => {
      out = Buffer.concat([out, d]);
      if (out.length >= 4) p.kill();
    });
    p.once('close', () => {
      clearTimeout(timer);
      resolve(out);
    });
    p.stdin.on('error', () => undefined);
    p.stdin.write(connectPacket(clientId));
  });
}

const psk = (key: string, id: string, ...more: string[]): string[] => ['-psk', key, '-psk_identity', id, ...more];
const CONNACK_OK = '20020000';

function handshake(port: number, opts: tls.ConnectionOptions): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, ca: readFileSync(certs.ca), servername: 'localhost', ...opts }, () => resolve(s));
    s.once('error', reject);
  });
}

function mqtts(port: number, opts: mqtt.IClientOptions = {}): Promise<MqttClient> {
  const c = mqtt.connect({ protocol: 'mqtts', host: '127.0.0.1', port, ca: readFileSync(certs.ca), reconnectPeriod: 0, connectTimeout: 5000, ...opts });
  clients.push(c);
  return new Promise((resolve, reject) => {
    c.once('connect', () => resolve(c));
    c.once('error', reject);
    c.once('close', () => reject(new Error('closed before CONNACK')));
  });
}

const usernames = (info: { mock: { calls: unknown[][] } }): string[] =>
  info.mock.calls.map((a) => /u'(.*)'\)\.$/.exec(String(a[0]))?.[1]).filter((u): u is string => u !== undefined);

describe.skipIf(!haveOpenssl)('TLS-PSK listeners (psk_hint, psk_file)', () => {
  it('openssl s_client -psk with a known identity and key gets through (TLS 1.3 and 1.2) and its CONNECT a CONNACK', async () => {
    const port = await broker(pskListener());
    expect((await sClient(port, psk('00112233445566778899aabbccddeeff', 'sensor-7'))).toString('hex')).toBe(CONNACK_OK);
    expect((await sClient(port, psk('00112233445566778899aabbccddeeff', 'sensor-7', '-tls1_2'))).toString('hex')).toBe(CONNACK_OK);
    // Every line of the file counts, not just the first.
    expect((await sClient(port, psk('beef', 'other', '-tls1_2'))).toString('hex')).toBe(CONNACK_OK);
  });

  it('a wrong key or an unknown identity fails the handshake: no MQTT byte comes back', async () => {
    const port = await broker(pskListener());
    expect((await sClient(port, psk('00112233445566778899aabbccddeefe', 'sensor-7', '-tls1_2'))).length).toBe(0);
    expect((await sClient(port, psk('00112233445566778899aabbccddeeff', 'sensor-8', '-tls1_2'))).length).toBe(0);
    expect((await sClient(port, psk('00112233445566778899aabbccddeeff', 'sensor-8'))).length).toBe(0);
  });

  it('use_identity_as_username: the PSK identity is the username (allow_anonymous false lets it in)', async () => {
    const info = vi.spyOn(log, 'notice'); // Mosquitto logs connections at notice
    const port = await broker(pskListener({ useIdentityAsUsername: true }), { allowAnonymous: false });
    expect((await sClient(port, psk('00112233445566778899aabbccddeeff', 'sensor-7'), 'psk-id')).toString('hex')).toBe(CONNACK_OK);
    expect(usernames(info)).toEqual(['sensor-7']);
  });

  it('without use_identity_as_username the client is anonymous: allow_anonymous false refuses it (CONNACK 5)', async () => {
    const port = await broker(pskListener(), { allowAnonymous: false });
    expect((await sClient(port, psk('00112233445566778899aabbccddeeff', 'sensor-7'))).toString('hex')).toBe('20020005');
  });

  it.skipIf(!requirePeer('mosquitto_pub'))('mosquitto_pub --psk publishes through the listener; a wrong key is refused', async () => {
    const port = await broker(pskListener());
    const args = ['-h', '127.0.0.1', '-p', String(port), '--psk-identity', 'sensor-7', '-t', 't', '-m', 'x', '-q', '1'];
    const ok = await run('mosquitto_pub', [...args, '--psk', '00112233445566778899aabbccddeeff']);
    expect(ok.exit.code, ok.describe()).toBe(0);
    const bad = await run('mosquitto_pub', [...args, '--psk', '00112233445566778899aabbccddee00']);
    expect(bad.exit.code).not.toBe(0);
  });

  it('psk_file is re-read on reload: a key added later works without a restart', async () => {
    const file = join(dir, 'psk-reload');
    writeFileSync(file, 'a:01\n');
    const b = await startBroker({ listeners: [listener({ tls: { pskHint: 'h', pskFile: file } })] });
    brokers.push(b);
    expect((await sClient(b.port, psk('02', 'b', '-tls1_2'))).length).toBe(0);
    writeFileSync(file, 'a:01\nb:02\n');
    await b.running.reload();
    expect((await sClient(b.port, psk('02', 'b', '-tls1_2'))).toString('hex')).toBe(CONNACK_OK);
  });

  it('dhparamfile: DHE-PSK ciphers work only with DH parameters loaded', async () => {
    const args = psk('00112233445566778899aabbccddeeff', 'sensor-7', '-tls1_2', '-cipher', 'DHE-PSK-AES128-GCM-SHA256');
    const without = await broker(pskListener({ ciphers: 'DHE-PSK-AES128-GCM-SHA256' }));
    expect((await sClient(without, args)).length).toBe(0);
    const withDh = await broker(pskListener({ ciphers: 'DHE-PSK-AES128-GCM-SHA256', dhparamfile: dhparam }));
    expect((await sClient(withDh, args)).toString('hex')).toBe(CONNACK_OK);
  });
});

describe.skipIf(!haveOpenssl)('certificate options', () => {
  const server = (): TlsSettings => ({ certfile: certs.serverCert, keyfile: certs.serverKey });
  const clientCert = () => ({ key: readFileSync(certs.clientKey), cert: readFileSync(certs.clientCert) });
  const revokedCert = () => ({ key: readFileSync(revoked.revokedKey), cert: readFileSync(revoked.revokedCert) });

  it('crlfile: a client certificate the CA revoked is refused, the others accepted', async () => {
    const port = await broker({ ...server(), cafile: certs.ca, requireCertificate: true, crlfile: revoked.crl });
    expect((await mqtts(port, clientCert())).connected).toBe(true);
    await expect(mqtts(port, revokedCert())).rejects.toThrow();
    // The same certificate without the CRL is fine: the refusal is the revocation.
    const noCrl = await broker({ ...server(), cafile: certs.ca, requireCertificate: true });
    expect((await mqtts(noCrl, revokedCert())).connected).toBe(true);
  });

  it('ciphers_tls1.3 limits the TLS 1.3 suites; TLS 1.2 keeps its own list', async () => {
    const port = await broker({ ...server(), ciphers13: 'TLS_AES_128_GCM_SHA256' });
    const v13 = { minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3' } as const;
    const ok = await handshake(port, { ...v13, ciphers: 'TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384' });
    expect(ok.getCipher().name).toBe('TLS_AES_128_GCM_SHA256');
    ok.destroy();
    await expect(handshake(port, { ...v13, ciphers: 'TLS_AES_256_GCM_SHA384' })).rejects.toThrow();
    const v12 = await handshake(port, { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' });
    expect(v12.getProtocol()).toBe('TLSv1.2');
    v12.destroy();
  });

  it('use_subject_as_username: the whole certificate subject, RFC 2253 order, is the username', async () => {
    const info = vi.spyOn(log, 'notice'); // Mosquitto logs connections at notice
    const port = await broker({ ...server(), cafile: certs.ca, requireCertificate: true, useSubjectAsUsername: true }, { allowAnonymous: false });
    expect((await mqtts(port, { ...clientCert(), clientId: 'subj', username: 'spoof' })).connected).toBe(true);
    expect(usernames(info)).toEqual(['CN=sensor-1,O=Midge Tests,C=GB']);
  });

  it('use_identity_as_username takes priority over use_subject_as_username: the CN', async () => {
    const info = vi.spyOn(log, 'notice'); // Mosquitto logs connections at notice
    const both = { cafile: certs.ca, requireCertificate: true, useSubjectAsUsername: true, useIdentityAsUsername: true };
    const port = await broker({ ...server(), ...both }, { allowAnonymous: false });
    expect((await mqtts(port, clientCert())).connected).toBe(true);
    expect(usernames(info)).toEqual(['sensor-1']);
  });

  it('tls_keyform engine with an engine OpenSSL cannot load stops start-up with the reason', async () => {
    await expect(startBroker({ listeners: [listener({ tls: { ...server(), keyform: 'engine', engine: 'no-such-engine' } })] })).rejects.toThrow();
  });
});
