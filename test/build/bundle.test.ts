// The shipped artefact: dist/broker.min.js built by scripts/build.mjs (its default flags), copied
// ALONE into an empty directory (no node_modules, no package.json) and run with `node`, as a user
// on a small board would. A second bundle built without AUTH checks how a compiled-out feature's
// option is reported. Both are built once for the file; every process started here is killed in
// afterEach.
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isBuiltin } from 'node:module';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { requirePeer } from '../helpers/peers.ts';
import { freePort } from '../helpers/ports.ts';
import { killAll, run, spawnProc, type Proc } from '../helpers/proc.ts';

// Only the tests that talk to the running bundle need the mosquitto clients.
const havePeers = requirePeer('mosquitto_pub', 'mosquitto_sub');
const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

describe('bundle (dist/broker.min.js)', () => {
  let buildDir: string;
  let runDir: string;
  let bundle: string;
  let noAuth: string;
  let source: string;

  beforeAll(async () => {
    const { buildBundle, ALL_FLAGS } = await import('../../scripts/build.mjs');
    buildDir = mkdtempSync(join(tmpdir(), 'midge-build-'));
    runDir = mkdtempSync(join(tmpdir(), 'midge-run-'));
    await Promise.all([
      buildBundle({ outfile: join(buildDir, 'default', 'broker.min.js') }),
      buildBundle({ outfile: join(buildDir, 'no-auth', 'broker.min.js'), flags: ALL_FLAGS.filter((f) => f !== 'AUTH') }),
    ]);
    bundle = join(runDir, 'broker.min.js');
    noAuth = join(runDir, 'broker-no-auth.min.js');
    copyFileSync(join(buildDir, 'default', 'broker.min.js'), bundle);
    copyFileSync(join(buildDir, 'no-auth', 'broker.min.js'), noAuth);
    source = readFileSync(bundle, 'utf8');
  });

  afterEach(async () => {
    await killAll();
  });

  afterAll(() => {
    for (const d of [buildDir, runDir]) if (d) rmSync(d, { recursive: true, force: true });
  });

  function midge(...args: string[]): Proc {
    return spawnProc(process.execPath, [bundle, ...args], { cwd: runDir });
  }

  function midgeNoAuth(...args: string[]): Proc {
    return spawnProc(process.execPath, [noAuth, ...args], { cwd: runDir });
  }

  function conf(name: string, lines: string[]): string {
    const path = join(runDir, name);
    writeFileSync(path, lines.join('\n') + '\n');
    return path;
  }

  /** Waits for the "Opening ipv4 listen socket on HOST port PORT." log line. */
  function listening(p: Proc, host: string, port: number): Promise<string> {
    return p.waitFor(`Opening ipv4 listen socket on ${host} port ${port}.`, 10_000, 'stderr');
  }

  async function sigterm(p: Proc): Promise<void> {
    p.kill('SIGTERM');
    const exit = await p.waitExit(5000);
    expect(exit, p.describe()).toEqual({ code: 0, signal: null });
    expect(p.stderr.join('\n')).toMatch(/terminating \(SIGTERM\)/);
  }

  it('is one self-contained file: a shebang, and no require or import outside Node built-ins', () => {
    expect(source.startsWith('#!/usr/bin/env node\n')).toBe(true);
    const loads = [...source.matchAll(/\b(?:require|import)\(\s*(["'`])([^"'`]*)\1\s*\)/g)].map((m) => m[2]);
    expect(loads.length).toBeGreaterThan(0); // the pattern does find node:net and friends
    // The native add-ons that build.mjs marks external are the one exception the architecture
    // allows: loaded at run time only when their feature is configured (the run test below shows
    // that nothing else is needed to start).
    const nativeAddOns = (m: string): boolean => ['serialport', 'onoff', 'epoll'].includes(m) || m.startsWith('@serialport/');
    // Bundled libraries (ws) name built-ins without the node: prefix.
    expect(loads.filter((m) => !isBuiltin(m) && !nativeAddOns(m))).toEqual([]);
  });

  it('-h prints the usage and exits 0', async () => {
    const p = await run(process.execPath, [bundle, '-h'], 10_000, { cwd: runDir });
    expect(p.exit.code, p.describe()).toBe(0);
    const out = p.stdout.join('\n');
    expect(out).toContain(`midge ${VERSION}`);
    expect(out).toMatch(/^Usage: midge \[-c config_file\] \[-p port\] \[-v\] \[--test-config\] \[-h\|--version\]$/m);
  });

  it('--version prints the version of package.json and exits 0', async () => {
    const p = await run(process.execPath, [bundle, '--version'], 10_000, { cwd: runDir });
    expect(p.exit.code, p.describe()).toBe(0);
    expect(p.stdout).toEqual([`midge ${VERSION}`]);
  });

  it.skipIf(!havePeers)('runs copied alone with -c: mosquitto_pub -q 2 -r reaches mosquitto_sub, then SIGTERM exits 0', async () => {
    const port = await freePort();
    const file = conf('midge.conf', [`listener ${port} 127.0.0.1`, 'allow_anonymous true']);
    const broker = midge('-c', file);
    await listening(broker, '127.0.0.1', port);
    expect(broker.stderr.join('\n')).toContain(`Config loaded from ${file}.`);

    const hp = ['-h', '127.0.0.1', '-p', String(port)];
    const pub = await run('mosquitto_pub', [...hp, '-t', 'bundle/test', '-m', 'hello from the bundle', '-q', '2', '-r']);
    expect(pub.exit.code, pub.describe()).toBe(0);
    // '#' does not match $SYS topics [MQTT-4.7.2-1], so the one message is the retained one.
    const sub = await run('mosquitto_sub', [...hp, '-t', '#', '-v', '-C', '1', '-W', '10']);
    expect(sub.exit.code, sub.describe()).toBe(0);
    expect(sub.stdout).toEqual(['bundle/test hello from the bundle']);

    await sigterm(broker);
  });

  it('an unknown option in the config file exits non-zero with file:line:', async () => {
    const port = await freePort();
    const file = conf('unknown.conf', ['# a comment', `listener ${port} 127.0.0.1`, 'no_such_option 1']);
    const p = midge('-c', file);
    const exit = await p.waitExit(10_000);
    expect(exit.code, p.describe()).not.toBe(0);
    expect(p.stderr.join('\n')).toContain(`${file}:3:`);
    expect(p.stderr.join('\n')).toContain('no_such_option');
  });

  it('password_file in a bundle without AUTH fails with file:line: naming feature AUTH', async () => {
    const port = await freePort();
    const file = conf('auth.conf', [`listener ${port} 127.0.0.1`, 'password_file x']);
    const p = midgeNoAuth('-c', file);
    const exit = await p.waitExit(10_000);
    expect(exit.code, p.describe()).not.toBe(0);
    const err = p.stderr.join('\n');
    expect(err).toContain(`${file}:2:`);
    expect(err).toMatch(/password_file.*\bfeature AUTH\b/);
  });

  it('a C plugin option (plugin) is refused, not ignored, naming what Midge offers instead', async () => {
    const port = await freePort();
    const file = conf('auth-default.conf', [`listener ${port} 127.0.0.1`, 'plugin /usr/lib/x.so']);
    const p = midge('-c', file);
    const exit = await p.waitExit(10_000);
    expect(exit.code, p.describe()).not.toBe(0);
    expect(p.stderr.join('\n')).toMatch(/auth-default\.conf:2: option 'plugin' loads a C plugin, which Midge cannot; use password_file, acl_file or scram_credentials_file/);
    expect(p.stderr.join('\n')).not.toContain('Opening ipv4 listen socket');
  });

  it('a password_file that cannot be read stops start-up', async () => {
    const port = await freePort();
    const file = conf('auth-missing.conf', [`listener ${port} 127.0.0.1`, 'password_file no-such-file']);
    const p = midge('-c', file);
    const exit = await p.waitExit(10_000);
    expect(exit.code, p.describe()).not.toBe(0);
    expect(p.stderr.join('\n')).toMatch(/cannot read password_file 'no-such-file'/);
    expect(p.stderr.join('\n')).not.toContain('Opening ipv4 listen socket');
  });

  it.skipIf(!havePeers)('without -c, -p PORT listens on loopback only, says so, and accepts clients on 127.0.0.1', async () => {
    const port = await freePort();
    const broker = midge('-p', String(port));
    await listening(broker, '127.0.0.1', port);
    // The ::1 listener opens after the IPv4 one, or is skipped on a host without IPv6.
    await broker.waitFor(/Opening ipv6 listen socket on ::1 port|IPv6 loopback not available/, 10_000, 'stderr');
    const err = broker.stderr.join('\n');
    expect(err).toMatch(/loopback only/);
    const opened = broker.stderr.flatMap((l) => l.match(/Opening ipv[46] listen socket on (\S+) port (\d+)\./)?.slice(1) ?? []);
    expect(opened.length).toBeGreaterThan(0);
    for (let i = 0; i < opened.length; i += 2) {
      expect(['127.0.0.1', '::1']).toContain(opened[i]);
      expect(opened[i + 1]).toBe(String(port));
    }

    const pub = await run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(port), '-t', 't', '-m', 'x', '-q', '1']);
    expect(pub.exit.code, pub.describe()).toBe(0);
    await sigterm(broker);
  });
});
