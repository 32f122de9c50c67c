// The option sweep of issue 15: every option that Debian's annotated example
// /usr/share/doc/mosquitto/examples/mosquitto.conf documents, each given a value that Debian's
// Mosquitto 2.0 itself accepts (checked here: the same config file starts `mosquitto`), starts
// the full Midge bundle. Then the Mosquitto 2.1 additions, which 2.0 does not know, start Midge.
// Only C plugins stay refused, with a message that says what Midge offers instead.
//
// "Starts" means: the process accepts a TCP connection on the configured loopback port. Each
// option is tried alone, in the scope the example puts it in (global, listener, TLS listener, PSK
// listener, WebSockets listener, bridge), with the fewest companion lines that scope needs.
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeCerts, type Certs } from '../helpers/certs.ts';
import { peerPath, requirePeer } from '../helpers/peers.ts';
import { freePort } from '../helpers/ports.ts';
import { killAll, run, spawnProc, type Proc } from '../helpers/proc.ts';

const EXAMPLE = '/usr/share/doc/mosquitto/examples/mosquitto.conf';
const havePeers = requirePeer('mosquitto', 'openssl') && existsSync(EXAMPLE);

type Scope = 'global' | 'listener' | 'tls' | 'psk' | 'ws' | 'bridge' | 'tls-bridge';

interface Case {
  scope: Scope;
  /** The rest of the line; FILE(name) is replaced by a path in the test directory. */
  value: string;
  /** Lines the option needs beside it (in the same scope). */
  with?: string[];
  /** Global lines the option needs. */
  global?: string[];
}

// Values: the example's own where it gives one, else a realistic one. Keys: the option names the
// example documents (the test checks this list against the file, so a new option there fails it).
const CASES: Record<string, Case> = {
  per_listener_settings: { scope: 'global', value: 'false' },
  allow_zero_length_clientid: { scope: 'global', value: 'true' },
  auto_id_prefix: { scope: 'global', value: 'auto-' },
  check_retain_source: { scope: 'global', value: 'true' },
  max_inflight_bytes: { scope: 'global', value: '0' },
  max_inflight_messages: { scope: 'global', value: '20' },
  max_keepalive: { scope: 'global', value: '65535' },
  max_packet_size: { scope: 'global', value: '1048576' },
  max_queued_bytes: { scope: 'global', value: '0' },
  max_qos: { scope: 'listener', value: '1' },
  max_queued_messages: { scope: 'global', value: '1000' },
  memory_limit: { scope: 'global', value: '0' },
  message_size_limit: { scope: 'global', value: '0' },
  persistent_client_expiration: { scope: 'global', value: '2d' },
  pid_file: { scope: 'global', value: 'FILE(store)/sweep.pid' },
  queue_qos0_messages: { scope: 'global', value: 'false' },
  retain_available: { scope: 'global', value: 'true' },
  set_tcp_nodelay: { scope: 'global', value: 'false' },
  sys_interval: { scope: 'global', value: '10' },
  upgrade_outgoing_qos: { scope: 'global', value: 'false' },
  user: { scope: 'global', value: 'mosquitto' },
  listener: { scope: 'global', value: 'PORT 127.0.0.1' },
  socket_domain: { scope: 'listener', value: 'ipv4' },
  bind_interface: { scope: 'listener', value: 'lo' },
  http_dir: { scope: 'ws', value: 'FILE(www)' },
  max_connections: { scope: 'listener', value: '-1' },
  mount_point: { scope: 'listener', value: 'sweep/' },
  protocol: { scope: 'listener', value: 'mqtt' },
  use_username_as_clientid: { scope: 'listener', value: 'true' },
  websockets_headers_size: { scope: 'global', value: '4096' },
  certfile: { scope: 'tls', value: 'CERT' },
  keyfile: { scope: 'tls', value: 'KEY' },
  ciphers: { scope: 'tls', value: 'ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384' },
  'ciphers_tls1.3': { scope: 'tls', value: 'TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384' },
  crlfile: { scope: 'tls', value: 'FILE(ca.crl)', with: ['cafile CA', 'require_certificate true'] },
  dhparamfile: { scope: 'tls', value: 'FILE(dh.pem)' },
  require_certificate: { scope: 'tls', value: 'false' },
  cafile: { scope: 'tls', value: 'CA' },
  capath: { scope: 'tls', value: 'FILE(capath)' },
  use_identity_as_username: { scope: 'tls', value: 'false' },
  psk_hint: { scope: 'psk', value: 'sweep-hint', global: ['psk_file FILE(psk.txt)'] },
  autosave_interval: { scope: 'global', value: '1800' },
  autosave_on_changes: { scope: 'global', value: 'false' },
  persistence: { scope: 'global', value: 'false' },
  persistence_file: { scope: 'global', value: 'mosquitto.db' },
  persistence_location: { scope: 'global', value: 'FILE(store)/' },
  log_dest: { scope: 'global', value: 'stderr' },
  log_type: { scope: 'global', value: 'error' },
  connection_messages: { scope: 'global', value: 'true' },
  log_facility: { scope: 'global', value: '5' },
  log_timestamp: { scope: 'global', value: 'true' },
  log_timestamp_format: { scope: 'global', value: '%Y-%m-%dT%H:%M:%S' },
  websockets_log_level: { scope: 'global', value: '0' },
  clientid_prefixes: { scope: 'global', value: 'sensor-' },
  allow_anonymous: { scope: 'global', value: 'false' },
  password_file: { scope: 'global', value: 'FILE(passwd)' },
  psk_file: { scope: 'global', value: 'FILE(psk.txt)' },
  acl_file: { scope: 'global', value: 'FILE(acl)' },
  include_dir: { scope: 'global', value: 'FILE(conf.d)' },
  // Bridges (after `connection sweep` and `address`).
  connection: { scope: 'bridge', value: '' },
  address: { scope: 'bridge', value: '' },
  topic: { scope: 'bridge', value: 'sensors/# both 1' },
  bridge_bind_address: { scope: 'bridge', value: '127.0.0.1' },
  bridge_attempt_unsubscribe: { scope: 'bridge', value: 'true' },
  bridge_protocol_version: { scope: 'bridge', value: 'mqttv311' },
  cleansession: { scope: 'bridge', value: 'false' },
  idle_timeout: { scope: 'bridge', value: '60', with: ['start_type lazy'] },
  keepalive_interval: { scope: 'bridge', value: '60' },
  local_clientid: { scope: 'bridge', value: 'sweep-local' },
  notifications: { scope: 'bridge', value: 'true' },
  notification_topic: { scope: 'bridge', value: 'sweep/state' },
  remote_clientid: { scope: 'bridge', value: 'sweep-remote' },
  remote_password: { scope: 'bridge', value: 'secret', with: ['remote_username sweep'] },
  remote_username: { scope: 'bridge', value: 'sweep' },
  restart_timeout: { scope: 'bridge', value: '5 30' },
  round_robin: { scope: 'bridge', value: 'false' },
  start_type: { scope: 'bridge', value: 'automatic' },
  threshold: { scope: 'bridge', value: '10' },
  try_private: { scope: 'bridge', value: 'true' },
  bridge_outgoing_retain: { scope: 'bridge', value: 'true' },
  bridge_max_packet_size: { scope: 'bridge', value: '0' },
  bridge_cafile: { scope: 'tls-bridge', value: 'CA' },
  bridge_capath: { scope: 'bridge', value: 'FILE(capath)' },
  bridge_alpn: { scope: 'bridge', value: 'mqtt', with: ['bridge_capath FILE(capath)'] },
  bridge_insecure: { scope: 'bridge', value: 'false' },
  bridge_certfile: { scope: 'tls-bridge', value: 'CERT', with: ['bridge_keyfile KEY'] },
  bridge_keyfile: { scope: 'tls-bridge', value: 'KEY', with: ['bridge_certfile CERT'] },
  bridge_identity: { scope: 'bridge', value: 'sweep-id', with: ['bridge_psk 0123456789abcdef'] },
  bridge_psk: { scope: 'bridge', value: '0123456789abcdef', with: ['bridge_identity sweep-id'] },
};

/** Options whose example value Mosquitto only accepts with a C plugin; Midge refuses them. */
const PLUGINS: Record<string, string> = { auth_plugin: '/usr/lib/mosquitto-sweep/auth-plugin.so' };

/** Mosquitto 2.1 additions (2.0 refuses them, so only Midge is asked). */
const ADDITIONS: Record<string, Case> = {
  accept_protocol_versions: { scope: 'listener', value: '4,5' },
  global_max_clients: { scope: 'global', value: '100' },
  global_max_connections: { scope: 'global', value: '100' },
  websockets_origin: { scope: 'ws', value: 'http://localhost' },
  bridge_receive_maximum: { scope: 'bridge', value: '50', with: ['bridge_protocol_version mqttv50'] },
  bridge_session_expiry_interval: { scope: 'bridge', value: '3600', with: ['bridge_protocol_version mqttv50'] },
};

let dir: string;
let bundle: string;
let certs: Certs;

/** The options the example file documents (its `#option value` lines). */
function exampleOptions(): string[] {
  const names = readFileSync(EXAMPLE, 'utf8')
    .split('\n')
    .map((l) => /^#([a-z_0-9.]+)(?:\s|$)/.exec(l)?.[1])
    .filter((n): n is string => n !== undefined);
  return [...new Set(names)].sort();
}

function expand(s: string, port: number): string {
  return s
    .replace(/FILE\(([^)]+)\)/g, (_, f: string) => join(dir, f))
    .replace(/\bPORT\b/g, String(port))
    .replace(/\bCERT\b/g, certs.serverCert)
    .replace(/\bKEY\b/g, certs.serverKey)
    .replace(/\bCA\b/g, certs.ca);
}

/** A config file that sets `name` in its scope, listening on 127.0.0.1:port. */
function configFor(name: string, c: Case, port: number, remote: number): string {
  const opt = `${name} ${c.value}`.trim();
  const g = [...(c.global ?? [])];
  const listener = [`listener ${port} 127.0.0.1`];
  const bridge: string[] = [];
  switch (c.scope) {
    case 'global':
      if (name === 'listener') listener.length = 0;
      g.push(opt, ...(c.with ?? []));
      break;
    case 'listener':
      listener.push(opt, ...(c.with ?? []));
      break;
    case 'tls':
      for (const [o, v] of [['certfile', 'CERT'], ['keyfile', 'KEY']]) if (o !== name && !c.with?.some((w) => w.startsWith(o))) listener.push(`${o} ${v}`);
      listener.push(opt, ...(c.with ?? []));
      break;
    case 'psk':
      listener.push(opt, ...(c.with ?? []));
      break;
    case 'ws':
      listener.push('protocol websockets', opt, ...(c.with ?? []));
      break;
    case 'bridge':
    case 'tls-bridge':
      bridge.push('connection sweep', `address 127.0.0.1:${remote}`);
      if (name !== 'connection' && name !== 'address') bridge.push(opt, ...(c.with ?? []));
      if (c.scope === 'tls-bridge' && name !== 'bridge_cafile') bridge.push('bridge_cafile CA');
      if (!bridge.some((l) => l.startsWith('topic '))) bridge.push('topic sweep/# out 0');
      break;
  }
  // allow_anonymous so that the probe's connection is a realistic one for both brokers.
  const lines = [...g, ...(g.some((l) => l.startsWith('allow_anonymous')) ? [] : ['allow_anonymous true']), ...listener, ...bridge];
  const file = join(dir, `${name}-${port}.conf`);
  writeFileSync(file, expand(lines.join('\n'), port) + '\n');
  chmodSync(file, 0o644);
  return file;
}

/** Resolves true once 127.0.0.1:port accepts a connection, false if the process exits first. */
async function accepts(p: Proc, port: number, ms = 15_000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end && p.exit === undefined) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => { s.destroy(); resolve(true); });
      s.once('error', () => resolve(false));
    });
    if (ok) return true;
    // Poll: no event says "now listening" across both brokers and every log_type.
    await Promise.race([p.exited, new Promise((r) => setTimeout(r, 50))]);
  }
  return false;
}

async function stop(p: Proc): Promise<void> {
  p.kill('SIGTERM');
  await p.waitExit(10_000).catch(() => p.kill('SIGKILL'));
}

async function startsWith(cmd: string, args: string[], port: number): Promise<{ ok: boolean; out: string }> {
  const p = spawnProc(cmd, args, { cwd: dir });
  const ok = await accepts(p, port);
  const out = p.describe();
  await stop(p);
  return { ok, out };
}

async function sweep(name: string, c: Case, alsoMosquitto: boolean): Promise<void> {
  // Debian's mosquitto 2.0.11 cannot open a websockets listener on a given address (its
  // libwebsockets binds "::" and then gives up: "Unable to start any listening sockets"), and
  // binding every interface is not for tests: WebSockets-scope values are checked on Midge only.
  if (alsoMosquitto && c.scope !== 'ws') {
    const port = await freePort();
    const conf = configFor(name, c, port, await freePort());
    const m = await startsWith(peerPath('mosquitto')!, ['-c', conf], port);
    expect(m.ok, `Mosquitto refuses the sweep's value for ${name} (fix the table):\n${readFileSync(conf, 'utf8')}\n${m.out}`).toBe(true);
  }
  const port = await freePort();
  const conf = configFor(name, c, port, await freePort());
  const r = await startsWith(process.execPath, [bundle, '-c', conf], port);
  expect(r.ok, `Midge does not start with ${name}:\n${readFileSync(conf, 'utf8')}\n${r.out}`).toBe(true);
}

describe.skipIf(!havePeers)('option sweep: Debian mosquitto.conf example (issue 15)', () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'midge-sweep-'));
    // Debian's mosquitto, started as root, reads its files as user mosquitto.
    chmodSync(dir, 0o755);
    const f = (n: string): string => join(dir, n);
    certs = await makeCerts(join(dir));
    for (const d of ['www', 'capath', 'store', 'conf.d']) mkdirSync(f(d));
    chmodSync(f('store'), 0o777);
    writeFileSync(f('www/index.html'), '<p>sweep</p>\n');
    writeFileSync(f('capath/ca.pem'), readFileSync(certs.ca));
    writeFileSync(f('conf.d/extra.conf'), 'max_keepalive 600\n');
    writeFileSync(f('psk.txt'), 'sensor-1:0123456789abcdef\n');
    writeFileSync(f('acl'), 'topic readwrite sensors/#\n');
    // A mosquitto_passwd-made file, as a Mosquitto user would bring it.
    writeFileSync(f('passwd'), '');
    await run(peerPath('mosquitto_passwd') ?? 'mosquitto_passwd', ['-b', f('passwd'), 'sweep', 'secret']);
    // DH parameters: a named RFC 7919 group (instant, unlike generating primes).
    await run('openssl', ['genpkey', '-genparam', '-algorithm', 'DH', '-pkeyopt', 'group:ffdhe2048', '-out', f('dh.pem')]);
    // An (empty) CRL signed by the test CA.
    writeFileSync(f('index.txt'), '');
    writeFileSync(f('ca.cnf'), `[ca]\ndefault_ca=d\n[d]\ndatabase=${f('index.txt')}\ncrlnumber=${f('crlnumber')}\ndefault_md=sha256\ndefault_crl_days=2\n`);
    writeFileSync(f('crlnumber'), '01\n');
    const crl = await run('openssl', ['ca', '-gencrl', '-config', f('ca.cnf'), '-keyfile', join(certs.dir, 'ca.key'), '-cert', certs.ca, '-out', f('ca.crl')]);
    if (crl.exit.code !== 0) throw new Error(crl.describe());
    for (const n of ['psk.txt', 'acl', 'passwd', 'dh.pem', 'ca.crl', 'www/index.html', 'capath/ca.pem', 'conf.d/extra.conf']) chmodSync(f(n), 0o644);
    await run('chmod', ['-R', 'a+rX', certs.dir]);
    const { buildBundle } = await import('../../scripts/build.mjs');
    bundle = f('broker.min.js');
    await buildBundle({ outfile: bundle });
  }, 120_000);

  afterAll(async () => {
    await killAll();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('covers every option the example documents', () => {
    expect(exampleOptions()).toEqual(Object.keys({ ...CASES, ...PLUGINS }).sort());
  });

  // Concurrency: a handful at a time; each case is two short-lived processes.
  it.concurrent.each(Object.keys(CASES).map((n) => [n]))('%s: Mosquitto 2.0 and Midge both start with it', async (name) => {
    await sweep(name, CASES[name], true);
  }, 60_000);

  it.concurrent.each(Object.keys(ADDITIONS).map((n) => [n]))('%s (Mosquitto 2.1): Midge starts with it', async (name) => {
    await sweep(name, ADDITIONS[name], false);
  }, 60_000);

  it.each(Object.keys(PLUGINS).map((n) => [n]))('%s (a C plugin) is refused with what Midge offers instead', async (name) => {
    const port = await freePort();
    const conf = configFor(name, { scope: 'global', value: PLUGINS[name] }, port, port);
    const p = await run(process.execPath, [bundle, '-c', conf], 15_000);
    expect(p.exit.code).not.toBe(0);
    expect(p.stderr.join('\n')).toMatch(new RegExp(`${name}.*(password_file|acl_file|scram)`, 's'));
  }, 30_000);
});
