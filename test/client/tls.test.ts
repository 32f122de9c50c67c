// `midge pub` / `midge sub` TLS flags (--cafile, --cert, --key, --insecure, -L mqtts://) against
// TLS listeners of Debian's mosquitto and of Midge with the test CA (test/helpers/certs.ts),
// next to mosquitto_pub / mosquitto_sub with the same flags.
import { chmodSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { sharedDir, startMosquitto } from '../auth/mosquitto.ts';
import { listener, startBroker } from '../helpers/broker.ts';
import { makeCerts, type Certs } from '../helpers/certs.ts';
import { peerPath, requirePeer } from '../helpers/peers.ts';
import { freePort } from '../helpers/ports.ts';
import { run } from '../helpers/proc.ts';
import { buildClientBundle, killStarted, start, tools } from './helpers.ts';

const peers = requirePeer('mosquitto', 'mosquitto_pub', 'mosquitto_sub', 'openssl', 'stdbuf');

let dir: string;
let bundle: string;
let certs: Certs;
let wrongCert: string;
let wrongKey: string;
const { midge, mosq } = tools(() => bundle);
/** Per broker: a listener requiring a client certificate, and one whose certificate names another host. */
const ports: Record<string, { strict: number; wrong: number }> = {};
const stops: (() => Promise<void> | void)[] = [];

beforeAll(async () => {
  if (!peers) return;
  dir = sharedDir('midge-cli-tls-');
  const [b, c] = await Promise.all([buildClientBundle(dir, 'full'), makeCerts(dir)]);
  bundle = b;
  certs = c;
  // A server certificate from the test CA for wrong.example only.
  writeFileSync(join(dir, 'wrong.ext'), 'subjectAltName=DNS:wrong.example\n');
  const ssl = async (...args: string[]): Promise<void> => {
    const r = await run('openssl', args, 20_000, { cwd: dir });
    expect(r.exit.code, r.describe()).toBe(0);
  };
  await ssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'wrong.key', '-out', 'wrong.csr', '-subj', '/CN=wrong.example');
  await ssl('x509', '-req', '-in', 'wrong.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-set_serial', '77', '-days', '2', '-out', 'wrong.crt', '-extfile', 'wrong.ext');
  wrongCert = join(dir, 'wrong.crt');
  wrongKey = join(dir, 'wrong.key');
  // The mosquitto user (when run as root) must read them.
  for (const f of readdirSync(dir)) chmodSync(join(dir, f), 0o644);

  const wrongPort = await freePort();
  const m = await startMosquitto(dir, [
    'allow_anonymous true',
    `cafile ${certs.ca}`,
    `certfile ${certs.serverCert}`,
    `keyfile ${certs.serverKey}`,
    'require_certificate true',
    `listener ${wrongPort} 127.0.0.1`,
    `certfile ${wrongCert}`,
    `keyfile ${wrongKey}`,
  ]);
  stops.push(() => void m.proc.kill('SIGTERM'));
  ports.mosquitto = { strict: m.port, wrong: wrongPort };
  const b2 = await startBroker({
    listeners: [
      listener({ tls: { certfile: certs.serverCert, keyfile: certs.serverKey, cafile: certs.ca, requireCertificate: true } }),
      listener({ tls: { certfile: wrongCert, keyfile: wrongKey } }),
    ],
  });
  stops.push(() => b2.close());
  ports.midge = { strict: b2.running.addresses[0].port, wrong: b2.running.addresses[1].port };
}, 60_000);

afterEach(async () => {
  await killStarted();
});

afterAll(async () => {
  for (const s of stops) await s();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

let n = 0;

describe.skipIf(!peers).each(['mosquitto', 'midge'])('TLS against %s', (name) => {
  const tlsFlags = (): string[] => ['--cafile', certs.ca, '--cert', certs.clientCert, '--key', certs.clientKey];
  const strict = (): string[] => ['-h', 'localhost', '-p', String(ports[name].strict)];

  it('pub and sub with --cafile --cert --key (listener requiring a client certificate)', async () => {
    const t = `tls/${name}/${++n}`;
    const obs = start(process.execPath, [bundle, 'sub', ...strict(), ...tlsFlags(), '-t', t, '-v', '-C', '2', '-W', '10', '-d']);
    const ref = start('stdbuf', ['-oL', peerPath('mosquitto_sub')!, ...strict(), ...tlsFlags(), '-t', t, '-v', '-C', '2', '-W', '10', '-d']);
    await Promise.all([obs.waitOut(/^Subscribed \(mid: 1\)/m), ref.waitOut(/^Subscribed \(mid: 1\)/m)]);
    const q = await mosq('pub', [...strict(), ...tlsFlags(), '-t', t, '-m', 'from-mosquitto', '-q', '1']);
    const m = await midge('pub', [...strict(), ...tlsFlags(), '-t', t, '-m', 'from-midge', '-q', '1']);
    expect([m.code, q.code], m.stderr + q.stderr).toEqual([0, 0]);
    expect(await Promise.all([obs.exited, ref.exited])).toEqual([0, 0]);
    const printed = (b: Buffer): string[] => b.toString().split('\n').filter((l) => l.startsWith(t));
    expect(printed(obs.out())).toEqual([`${t} from-mosquitto`, `${t} from-midge`]);
    expect(printed(ref.out())).toEqual(printed(obs.out()));
  });

  it('-L mqtts://host:port/topic with --cafile, --cert, --key', async () => {
    const t = `tls/${name}/${++n}`;
    const url = ['-L', `mqtts://localhost:${ports[name].strict}/${t}`, ...tlsFlags(), '-m', 'x'];
    const [m, q] = [await midge('pub', url), await mosq('pub', url)];
    expect([m.code, q.code], m.stderr + q.stderr).toEqual([0, 0]);
  });

  // mosquitto_pub's exit code for these varies with timing (1, 7 or 8: where in the handshake
  // libmosquitto notices); midge pub always exits 8 (libmosquitto's TLS error) with the reason.
  it('refused like mosquitto_pub: no client certificate, an unknown CA', async () => {
    for (const flags of [
      ['--cafile', certs.ca],
      ['--cafile', certs.rogueCert, '--cert', certs.clientCert, '--key', certs.clientKey],
    ]) {
      const args = [...strict(), ...flags, '-t', 'a', '-m', 'x', '-q', '1'];
      const [m, q] = [await midge('pub', args), await mosq('pub', args)];
      expect(q.code, q.stderr).not.toBe(0);
      expect(m.code, m.stderr).toBe(8);
      expect(m.stderr).toMatch(/^Error: A TLS error occurred\. \(.+\)\n$/);
    }
  });

  it('--insecure: a certificate for another host name is refused without it and accepted with it', async () => {
    const args = ['-h', '127.0.0.1', '-p', String(ports[name].wrong), '--cafile', certs.ca, '-t', 'a', '-m', 'x'];
    const [m, q] = [await midge('pub', args), await mosq('pub', args)];
    expect(q.code, q.stderr).not.toBe(0);
    expect(m.code, m.stderr).toBe(8);
    expect(m.stderr).toMatch(/^Error: A TLS error occurred\. \(Hostname\/IP does not match/);
    const [mi, qi] = [await midge('pub', [...args, '--insecure']), await mosq('pub', [...args, '--insecure'])];
    expect([mi.code, qi.code], mi.stderr + qi.stderr).toEqual([0, 0]);
  });
});
