// `user` and PUID/PGID: a built broker started as root drops to an unprivileged user once its
// listeners are open, and still serves. Run as root only (CI and this machine run tests as root);
// the suite sets PUID=0 (test/vitest.config.ts), which these tests remove or override.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/parse.ts';
import { startServer } from '../../src/server.ts';
import { killAll, spawnProc, type Proc } from '../helpers/proc.ts';

const ROOT = process.getuid?.() === 0;
let dir: string;
let bundle: string;

beforeAll(async () => {
  if (!ROOT) return;
  dir = mkdtempSync(join(tmpdir(), 'midge-user-'));
  bundle = join(dir, 'broker.min.js');
  const { buildBundle } = await import('../../scripts/build.mjs');
  await buildBundle({ outfile: bundle, flags: [] });
}, 60_000);

afterEach(killAll);
afterAll(() => dir && rmSync(dir, { recursive: true, force: true }));

/** uid and gid of an account in /etc/passwd. */
function account(name: string): { uid: number; gid: number } | undefined {
  const f = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .map((l) => l.split(':'))
    .find((x) => x[0] === name);
  return f && { uid: Number(f[2]), gid: Number(f[3]) };
}

/** Real, effective, saved and filesystem ids, and the supplementary groups, of a process. */
function ids(pid: number): { uid: number[]; gid: number[]; groups: number[] } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const nums = (key: string): number[] =>
    (new RegExp(`^${key}:\\s*(.*)$`, 'm').exec(status)?.[1] ?? '').split(/\s+/).filter(Boolean).map(Number);
  return { uid: nums('Uid'), gid: nums('Gid'), groups: nums('Groups') };
}

/** Starts the bundle with `conf` (plus a loopback listener); PUID/PGID as given, unset otherwise. */
function broker(conf: string, env: Record<string, string> = {}): Proc {
  const file = join(dir, `b${Math.random().toString(36).slice(2)}.conf`);
  writeFileSync(file, `${conf}\nlistener 0 127.0.0.1\nallow_anonymous true\nlog_dest stdout\n`);
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'PUID' && k !== 'PGID'));
  return spawnProc(process.execPath, [bundle, '-c', file], { env: { ...base, ...env } });
}

/** Waits until the broker has dropped (or kept) its privileges; returns its port. */
async function ready(p: Proc): Promise<number> {
  const line = await p.waitFor(/Opening ipv4 listen socket on 127\.0\.0\.1 port \d+/, 15_000);
  await p.waitFor(/Running as uid/, 5000);
  return Number(/port (\d+)/.exec(line)![1]);
}

/** A message published through the broker comes back: it still serves. */
async function serves(port: number): Promise<void> {
  const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0 });
  await c.subscribeAsync('u/t');
  const got = new Promise<string>((resolve) => c.on('message', (_t, m) => resolve(m.toString())));
  await c.publishAsync('u/t', 'still here');
  expect(await got).toBe('still here');
  await c.endAsync();
}

describe.runIf(ROOT)('user (started as root)', () => {
  it('user nobody: uid, gid and groups become nobody\'s once listening, and the broker serves', async () => {
    const nobody = account('nobody')!;
    const p = broker('user nobody');
    const port = await ready(p);
    const id = ids(p.child.pid!);
    expect(id.uid).toEqual([nobody.uid, nobody.uid, nobody.uid, nobody.uid]);
    expect(id.gid).toEqual([nobody.gid, nobody.gid, nobody.gid, nobody.gid]);
    expect(id.groups).not.toContain(0);
    await serves(port);
    p.kill('SIGTERM');
    expect((await p.waitExit(10_000)).code).toBe(0);
  });

  it.runIf(account('mosquitto') !== undefined)('without `user` it becomes mosquitto, as Mosquitto does', async () => {
    const m = account('mosquitto')!;
    const p = broker('');
    const port = await ready(p);
    expect(ids(p.child.pid!).uid[1]).toBe(m.uid);
    expect(ids(p.child.pid!).gid[1]).toBe(m.gid);
    await serves(port);
  });

  it('user root stays root', async () => {
    const p = broker('user root');
    await ready(p);
    expect(ids(p.child.pid!).uid).toEqual([0, 0, 0, 0]);
  });

  it('an unknown user is an error: the broker stops with exit code 1', async () => {
    const p = broker('user no-such-user-i15');
    await p.waitFor("Error: Unable to drop privileges to 'no-such-user-i15': no such user.", 15_000);
    expect((await p.waitExit(10_000)).code).toBe(1);
  });

  it('PUID and PGID (Mosquitto 2.1) take precedence over user', async () => {
    const p = broker('user root', { PUID: '65534', PGID: '65534' });
    const port = await ready(p);
    const id = ids(p.child.pid!);
    expect(id.uid).toEqual([65534, 65534, 65534, 65534]);
    expect(id.gid).toEqual([65534, 65534, 65534, 65534]);
    expect(id.groups).toEqual([65534]);
    await serves(port);
  });

  it('a broker started in-process (library use, tests) never drops: only the midge command does', async () => {
    const r = await startServer(parseConfigText('user nobody\nlistener 0 127.0.0.1\nallow_anonymous true\nsys_interval 0\n', 'lib.conf'));
    try {
      expect(process.getuid!()).toBe(0);
      await serves(r.addresses[0].port);
    } finally {
      await r.close();
    }
  });

  it('a PUID that is not a number is an error', async () => {
    const p = broker('', { PUID: 'nobody' });
    await p.waitFor("Error: PUID is not a valid id: 'nobody'", 15_000);
    expect((await p.waitExit(10_000)).code).toBe(1);
  });
});
