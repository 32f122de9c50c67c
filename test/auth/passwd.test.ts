// Password files in both directions: mosquitto_passwd → Midge, and `midge passwd` → Debian's
// mosquitto. `midge passwd` runs from a real bundle (built with AUTH), as a user would run it;
// the same bundle shows that SIGHUP re-reads the password file.
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startBroker } from '../helpers/broker.ts';
import { requirePeer } from '../helpers/peers.ts';
import { freePort } from '../helpers/ports.ts';
import { killAll, run, spawnProc } from '../helpers/proc.ts';
import { RawClient } from '../helpers/raw.ts';
import { sharedDir, startMosquitto, writeShared } from './mosquitto.ts';

const peers = requirePeer('mosquitto', 'mosquitto_passwd', 'mosquitto_pub');
let dir: string;
let bundle: string;

beforeAll(async () => {
  dir = sharedDir('midge-passwd-');
  bundle = join(dir, 'broker.min.js');
  const { buildBundle } = await import('../../scripts/build.mjs');
  await buildBundle({ outfile: bundle, flags: ['SYS', 'AUTH'] });
}, 30_000);
afterEach(() => killAll());
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** `midge passwd ARGS`, optionally with stdin. */
function midgePasswd(args: string[], input?: string) {
  const r = spawnSync(process.execPath, [bundle, 'passwd', ...args], { input, encoding: 'utf8', timeout: 10_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

async function connackFrom(port: number, user: string, pw: string): Promise<number> {
  const { c, connack } = await RawClient.session(port, `c-${user}-${pw}`, { username: user, password: Buffer.from(pw) });
  c.end();
  return connack.returnCode as number;
}

describe.skipIf(!peers)('password files shared with Mosquitto', () => {
  it('a file written by mosquitto_passwd ($7$ by default, $6$ with -H sha512; -c, -b, -D) works in Midge', async () => {
    const f = join(dir, 'from-mosquitto');
    for (const args of [['-c', '-b', f, 'alice', 'alice-pw'], ['-H', 'sha512', '-b', f, 'bob', 'bob-pw'], ['-b', f, 'carol', 'carol-pw'], ['-D', f, 'carol']]) {
      const p = await run('mosquitto_passwd', args);
      expect(p.exit.code, p.describe()).toBe(0);
    }
    const text = readFileSync(f, 'utf8');
    expect(text).toMatch(/^alice:\$7\$101\$/m);
    expect(text).toMatch(/^bob:\$6\$/m);
    const b = await startBroker({ allowAnonymous: false, passwordFile: f });
    try {
      expect(await connackFrom(b.port, 'alice', 'alice-pw')).toBe(0);
      expect(await connackFrom(b.port, 'bob', 'bob-pw')).toBe(0);
      expect(await connackFrom(b.port, 'alice', 'bob-pw')).toBe(5);
      expect(await connackFrom(b.port, 'carol', 'carol-pw')).toBe(5);
    } finally {
      await b.close();
    }
  });

  it('a file written by midge passwd (create, update, add with $6$, delete, prompt, -U) works in mosquitto', async () => {
    const f = join(dir, 'from-midge');
    const steps: [string[], string?][] = [
      [['-c', '-b', f, 'alice', 'old-pw']],
      [['-b', f, 'alice', 'alice-pw']], // update in place
      [['-H', 'sha512', '-b', f, 'bob', 'bob-pw']],
      [['-b', f, 'carol', 'carol-pw']],
      [['-D', f, 'carol']],
      [[f, 'dave'], 'dave-pw\ndave-pw\n'], // asked twice; piped here
    ];
    for (const [args, input] of steps) {
      const r = midgePasswd(args, input);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
    }
    writeFileSync(f, `# plain text, converted by -U\nerin:erin-pw\n${readFileSync(f, 'utf8')}`);
    expect(midgePasswd(['-U', f]).code).toBe(0);
    const text = readFileSync(f, 'utf8');
    expect(statSync(f).mode & 0o777).toBe(0o600);
    expect(text.split('\n').filter(Boolean).map((l) => l.replace(/^([^:]*:\$\d\$).*$/, '$1…'))).toEqual([
      '# plain text, converted by -U',
      'erin:$7$…',
      'alice:$7$…',
      'bob:$6$…',
      'dave:$7$…',
    ]);
    expect(text).toMatch(/^alice:\$7\$101\$[A-Za-z0-9+/]{16}\$[A-Za-z0-9+/]{86}==$/m);

    writeShared(f, text);
    const m = await startMosquitto(dir, ['allow_anonymous false', `password_file ${f}`]);
    const cases: [string, string, number][] = [
      ['alice', 'alice-pw', 0],
      ['alice', 'old-pw', 5],
      ['bob', 'bob-pw', 0],
      ['carol', 'carol-pw', 5],
      ['dave', 'dave-pw', 0],
      ['erin', 'erin-pw', 0],
      ['erin', 'wrong', 5],
    ];
    const codes = await Promise.all(cases.map(([u, p]) => run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(m.port), '-u', u, '-P', p, '-t', 't', '-m', 'x'])));
    expect(codes.map((p) => p.exit.code)).toEqual(cases.map((c) => c[2]));
    m.proc.kill();
  });

  it('midge passwd refuses bad usage without touching the file', () => {
    const f = join(dir, 'errors');
    expect(midgePasswd(['-c', '-b', f, 'alice', 'pw']).code).toBe(0);
    const before = readFileSync(f, 'utf8');
    const bad: [string[], string?, RegExp?][] = [
      [['-D', f, 'nobody'], undefined, /not found/],
      [['-b', f, 'a:b', 'pw'], undefined, /invalid username/],
      [[f, 'bob'], 'one\ntwo\n', /do not match/],
      [['-c', '-D', f, 'alice'], undefined, /cannot be used together/],
      [['-b', f, 'alice'], undefined, /expected 3 arguments/],
      [['-H', 'md5', '-b', f, 'alice', 'pw'], undefined, /-H needs/],
    ];
    for (const [args, input, why] of bad) {
      const r = midgePasswd(args, input);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr).toMatch(why as RegExp);
    }
    expect(readFileSync(f, 'utf8')).toBe(before);
    expect(midgePasswd([]).stdout).toContain('Usage: midge passwd');
  });
});

describe('SIGHUP', () => {
  it('re-reads the password file; a broken file keeps the previous users and logs why', async () => {
    const f = join(dir, 'hup-passwd');
    expect(midgePasswd(['-c', '-b', f, 'alice', 'first']).code).toBe(0);
    const port = await freePort();
    const conf = join(dir, 'hup.conf');
    writeFileSync(conf, `listener ${port} 127.0.0.1\npassword_file ${f}\n`);
    const broker = spawnProc(process.execPath, [bundle, '-c', conf]);
    await broker.waitFor(`Opening ipv4 listen socket on 127.0.0.1 port ${port}.`, 10_000, 'stderr');
    expect(await connackFrom(port, 'alice', 'first')).toBe(0);

    expect(midgePasswd(['-b', f, 'alice', 'second']).code).toBe(0);
    broker.kill('SIGHUP');
    await broker.waitFor(`Reloaded ${f}.`, 10_000, 'stderr');
    expect(await connackFrom(port, 'alice', 'first')).toBe(5);
    expect(await connackFrom(port, 'alice', 'second')).toBe(0);

    writeFileSync(f, 'alice\n');
    broker.kill('SIGHUP');
    const line = await broker.waitFor('Reload failed', 10_000, 'stderr');
    expect(line).toContain(`${f}:1: line without 'username:'`);
    expect(await connackFrom(port, 'alice', 'second')).toBe(0);
    broker.kill('SIGTERM');
    expect((await broker.waitExit()).code).toBe(0);
  });
});
