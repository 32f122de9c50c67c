// Process-level options of issue 15, on a built broker: --test-config (Mosquitto 2.1) and
// log_dest syslog with log_facility, which goes through the system `logger` command.
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import dgram from 'node:dgram';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { killAll, run, spawnProc } from '../helpers/proc.ts';

let dir: string;
let bundle: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'midge-opts-'));
  bundle = join(dir, 'broker.min.js');
  const { buildBundle } = await import('../../scripts/build.mjs');
  // Every feature: Debian's default config uses persistence.
  await buildBundle({ outfile: bundle, flags: ['BRIDGE', 'TLS', 'AUTH', 'SN', 'SERIAL', 'GPIO', 'PERSIST', 'WS', 'SYS', 'MQTT5'] });
}, 60_000);

afterEach(killAll);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function conf(name: string, text: string): string {
  const f = join(dir, name);
  writeFileSync(f, text);
  return f;
}

describe('--test-config (Mosquitto 2.1)', () => {
  it('a valid file: "Configuration file is OK.", exit 0, nothing opened', async () => {
    const f = conf('ok.conf', 'listener 1883 127.0.0.1\nallow_zero_length_clientid false\nuser nobody\n');
    const p = await run(process.execPath, [bundle, '--test-config', '-c', f]);
    expect(p.exit.code).toBe(0);
    expect(p.stderr.join('\n')).toMatch(/^\d+: Configuration file is OK\.$/);
    expect([...p.stdout, ...p.stderr].some((l) => l.includes('Opening'))).toBe(false);
  });

  it.runIf(existsSync('/etc/mosquitto/mosquitto.conf'))("Debian's /etc/mosquitto/mosquitto.conf (with its conf.d) is OK", async () => {
    const p = await run(process.execPath, [bundle, '--test-config', '-c', '/etc/mosquitto/mosquitto.conf']);
    expect(p.exit.code, p.describe()).toBe(0);
    expect(p.stderr.join('\n')).toContain('Configuration file is OK.');
  });

  it('an invalid file: the error with file:line, exit 3 (as Mosquitto)', async () => {
    const f = conf('bad.conf', 'listener 1883\nsocket_domain ipv7\n');
    const p = await run(process.execPath, [bundle, '--test-config', '-c', f]);
    expect(p.exit.code).toBe(3);
    expect(p.stderr).toContain(`Error: ${f}:2: option 'socket_domain' needs ipv4 or ipv6, got 'ipv7'`);
  });

  it('no config file: "Please provide a configuration file to test.", exit 3', async () => {
    const p = await run(process.execPath, [bundle, '--test-config']);
    expect(p.exit.code).toBe(3);
    expect(p.stderr.join('\n')).toMatch(/: Please provide a configuration file to test\.$/);
  });
});

describe('log_dest syslog', () => {
  let sock: dgram.Socket | undefined;
  afterEach(() => {
    sock?.close();
    sock = undefined;
  });

  // The real util-linux logger, its output sent to this test over UDP instead of to /dev/log (which
  // this machine may not have): a `logger` first on PATH that adds `-n 127.0.0.1 -P PORT -d`.
  it('lines go through `logger` with facility localN (log_facility) and the type as severity, tagged midge', async () => {
    const s = (sock = dgram.createSocket('udp4'));
    const got: string[] = [];
    s.on('message', (m) => got.push(m.toString()));
    await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
    const bin = join(dir, 'bin');
    mkdirSync(bin, { recursive: true });
    writeFileSync(join(bin, 'logger'), `#!/bin/sh\nexec /usr/bin/logger -n 127.0.0.1 -P ${s.address().port} -d "$@"\n`);
    chmodSync(join(bin, 'logger'), 0o755);
    const f = conf('syslog.conf', 'log_dest syslog\nlog_facility 5\nlistener 0 127.0.0.1\nallow_anonymous true\n');
    const p = spawnProc(process.execPath, [bundle, '-c', f], { env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } });
    // notice = 5 and info = 6 in facility local5 (21): <173> and <174>.
    await expect.poll(() => got.find((l) => l.includes('Opening ipv4 listen socket')), { timeout: 15_000 }).toMatch(/^<173>.*midge.*Opening ipv4 listen socket on 127\.0\.0\.1/);
    await expect.poll(() => got.find((l) => l.includes('Running as uid')), { timeout: 5000 }).toMatch(/^<174>/);
    // Syslog stamps lines itself: no Unix-seconds prefix in the message.
    expect(got.every((l) => !/midge[^:]*: \d{9,}: /.test(l))).toBe(true);
    p.kill('SIGTERM');
    expect((await p.waitExit(10_000)).code).toBe(0);
  });

  it('without a `logger` on PATH it is refused at start-up', async () => {
    const f = conf('nologger.conf', 'listener 0 127.0.0.1\nlog_dest syslog\n');
    const p = await run(process.execPath, [bundle, '-c', f], 10_000, { env: { ...process.env, PATH: join(dir, 'empty') } });
    expect(p.exit.code).toBe(3);
    expect(p.stderr).toContain(`Error: ${f}:2: log_dest syslog needs the 'logger' command, not found on PATH`);
  });
});
