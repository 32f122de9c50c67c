// Bridges with Debian's mosquitto as the peer: Midge bridging to mosquitto (plain and TLS, with
// certificates made here by openssl), and mosquitto bridging into Midge, which exercises Midge's
// acceptance of try_private (CONNECT level 0x84).
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Connection } from '../../src/mqtt/connection.ts';
import { log } from '../../src/util/log.ts';
import { requirePeer } from '../helpers/peers.ts';
import { freePort } from '../helpers/ports.ts';
import { killAll } from '../helpers/proc.ts';
import { client, crossed, endClients, exactlyOnce, midge, mosquitto } from './helpers.ts';

const peers = requirePeer('mosquitto', 'openssl');
const open: { close(): Promise<void> }[] = [];
const stops: (() => Promise<void>)[] = [];

afterEach(async () => {
  vi.restoreAllMocks();
  log.configure(new Set(process.env.MIDGE_TEST_LOG ? ['error', 'warning', 'notice', 'information', 'debug'] : ['error']), undefined);
  await endClients();
  for (const x of open.splice(0).reverse()) await x.close();
  for (const s of stops.splice(0)) await s();
  await killAll();
});

async function remote(conf = ''): Promise<number> {
  const m = await mosquitto(conf);
  stops.push(m.stop);
  return m.port;
}

describe.skipIf(!peers)('Midge bridging to mosquitto', () => {
  it('forwards with prefixes both ways and publishes the retained state on mosquitto', async () => {
    const port = await remote();
    const onM = await client(port, ['cloud/#', '$SYS/broker/connection/#']);
    const a = await midge(
      `connection cloud\naddress 127.0.0.1:${port}\nremote_clientid house1\nrestart_timeout 1\n` +
        'topic # out 1 house/ cloud/house1/\ntopic cmd/# in 1 house/ cloud/house1/\n',
    );
    open.push(a);
    await onM.state('$SYS/broker/connection/house1/state', '1');
    const onA = await client(a.port, ['house/#']);
    await onA.client.publishAsync('house/kitchen/temp', '21.5', { qos: 1 });
    await onM.until((m) => m.some((x) => x.topic === 'cloud/house1/kitchen/temp'), 'temp on mosquitto');
    expect(onM.on('cloud/house1/kitchen/temp')).toMatchObject([{ payload: '21.5', qos: 1 }]);
    await onM.client.publishAsync('cloud/house1/cmd/heating', 'off', { qos: 1 });
    await onA.until((m) => m.some((x) => x.topic === 'house/cmd/heating'), 'command on Midge');
    // mosquitto honours try_private: the command is not echoed back to the cloud.
    await onA.client.publishAsync('house/end', 'x', { qos: 1 });
    await onM.until((m) => m.some((x) => x.topic === 'cloud/house1/end'), 'end');
    expect(onM.on('cloud/house1/cmd/heating')).toHaveLength(1);
    await a.close();
    await onM.state('$SYS/broker/connection/house1/state', '0');
  });

  it('loop test: bridged both ways on # with mosquitto, each message arrives exactly once', async () => {
    const port = await remote();
    const onM = await client(port, ['#']);
    const a = await midge(`connection cloud\naddress 127.0.0.1:${port}\nrestart_timeout 1\nnotifications false\ntopic # both 1\n`);
    open.push(a);
    const onA = await client(a.port, ['#']);
    await crossed(onA, onM);
    await exactlyOnce(onA, onM, 30);
  });
});

describe.skipIf(!peers)('mosquitto bridging into Midge', () => {
  it('is accepted as a bridge (try_private): both ways, exactly once, state notification on Midge', async () => {
    const a = await midge();
    open.push(a);
    const onA = await client(a.port, ['#', '$SYS/broker/connection/#']);
    const port = await remote(
      `connection midge\naddress 127.0.0.1:${a.port}\nremote_clientid mosq1\nrestart_timeout 1\ntopic # both 1\n`,
    );
    // mosquitto's notification ($SYS/broker/connection/ID/state) is accepted from a bridge.
    await onA.state('$SYS/broker/connection/mosq1/state', '1');
    const session = a.running.broker.sessions.get('mosq1');
    expect((session?.outlet as Connection | null)?.bridge).toBe(true);
    const onM = await client(port, ['#']);
    await crossed(onM, onA);
    await exactlyOnce(onA, onM, 30);
  });
});

describe.skipIf(!peers)('TLS bridge to mosquitto', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'midge-tls-'));
    const ssl = (...args: string[]): void => {
      execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
    };
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
    ssl('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=midge test CA');
    ssl('req', '-x509', ...ec, '-keyout', 'other.key', '-out', 'other.pem', '-days', '2', '-subj', '/CN=other CA');
    ssl('req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost');
    writeFileSync(join(dir, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
    ssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'ext.cnf');
    // Signed by the right CA, but for another name.
    ssl('req', ...ec, '-keyout', 'misnamed.key', '-out', 'misnamed.csr', '-subj', '/CN=other.example');
    writeFileSync(join(dir, 'ext2.cnf'), 'subjectAltName=DNS:other.example\n');
    ssl('x509', '-req', '-in', 'misnamed.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'misnamed.pem', '-days', '2', '-extfile', 'ext2.cnf');
    // mosquitto started as root drops to user mosquitto before reading certificates.
    chmodSync(dir, 0o755);
    for (const f of readdirSync(dir)) chmodSync(join(dir, f), 0o644);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('connects with bridge_cafile and checks the chain and the name; bridge_insecure skips only the name', async () => {
    const [good, misnamed] = [await freePort(), await freePort()];
    const listener = (port: number, cert: string): string =>
      `listener ${port} 127.0.0.1\ncafile ${dir}/ca.pem\ncertfile ${dir}/${cert}.pem\nkeyfile ${dir}/${cert}.key\n`;
    const m = await mosquitto(listener(good, 'server') + listener(misnamed, 'misnamed'));
    stops.push(m.stop);
    const onM = await client(m.port, ['tls/#']);
    // Debug lines too: a repeated failure is logged at debug, once per attempt.
    const lines: string[] = [];
    log.configure(new Set(['error', 'warning', 'notice', 'information', 'debug']), undefined);
    vi.spyOn(log, 'write').mockImplementation((t, msg) => {
      lines.push(`${t}: ${msg}`);
    });
    const bridge = (name: string, port: number, extra: string): string =>
      `connection ${name}\naddress 127.0.0.1:${port}\nrestart_timeout 1\nnotifications false\n${extra}\ntopic # out 1 "" tls/${name}/\n`;
    const a = await midge(
      bridge('verified', good, `bridge_cafile ${dir}/ca.pem`) +
        bridge('wrongca', good, `bridge_cafile ${dir}/other.pem`) +
        bridge('misnamed', misnamed, `bridge_cafile ${dir}/ca.pem`) +
        bridge('insecure', misnamed, `bridge_cafile ${dir}/ca.pem\nbridge_insecure true`),
    );
    open.push(a);
    const onA = await client(a.port);
    for (let i = 0; !onM.on('tls/verified/x').length || !onM.on('tls/insecure/x').length; i++) {
      if (i > 50) throw new Error(`TLS bridges never came up: ${lines.join('\n')}`);
      await onA.client.publishAsync('x', String(i), { qos: 1 });
      await onM.until((all) => all.some((x) => x.payload === String(i)), 'x', 300).catch(() => undefined);
    }
    // The failing ones retry (debug lines) but warn once each.
    const failures = (name: string, type: string): string[] => lines.filter((l) => l.startsWith(type) && l.includes(`Bridge ${name}: cannot connect`));
    await vi.waitFor(() => expect(failures('wrongca', 'debug').length && failures('misnamed', 'debug').length).toBeGreaterThan(0), { timeout: 10_000 });
    expect(failures('wrongca', 'warning')).toHaveLength(1);
    expect(failures('misnamed', 'warning')).toHaveLength(1);
    expect(failures('misnamed', 'warning')[0]).toMatch(/IP: 127\.0\.0\.1 is not in the cert's list|does not match/);
    expect(onM.all.some((x) => x.topic.startsWith('tls/wrongca/') || x.topic.startsWith('tls/misnamed/'))).toBe(false);
  });
});
