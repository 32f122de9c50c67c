// pid_file (Mosquitto's option; Debian's default mosquitto.conf sets it): the built broker writes
// its process id there once listening and removes the file when it stops.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfigFile, parseConfigText } from '../../src/config/parse.ts';
import { killAll, spawnProc } from '../helpers/proc.ts';

let dir: string;
let bundle: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'midge-pid-'));
  bundle = join(dir, 'broker.min.js');
  const { buildBundle } = await import('../../scripts/build.mjs');
  await buildBundle({ outfile: bundle, flags: [] });
}, 60_000);

afterAll(async () => {
  await killAll();
  rmSync(dir, { recursive: true, force: true });
});

describe('pid_file', () => {
  it('takes the rest of the line as the path; no path is an error with file:line', () => {
    expect(parseConfigText('pid_file /run/my broker/midge.pid\n', 'm.conf').pidFile).toBe('/run/my broker/midge.pid');
    expect(() => parseConfigText('listener 1883\npid_file\n', 'm.conf')).toThrow("m.conf:2: option 'pid_file' needs a path");
  });

  // CI installs Debian's mosquitto, whose default config starts with pid_file (issue 15).
  it.runIf(existsSync('/etc/mosquitto/mosquitto.conf'))("Debian's default /etc/mosquitto/mosquitto.conf loads", () => {
    const c = loadConfigFile('/etc/mosquitto/mosquitto.conf');
    expect(c.pidFile).toBe('/run/mosquitto/mosquitto.pid');
    expect(c.persistence).toBe(true);
  });

  it('holds the process id while the broker runs and is removed when it stops', async () => {
    const pid = join(dir, 'midge.pid');
    const conf = join(dir, 'midge.conf');
    writeFileSync(conf, `pid_file ${pid}\nlistener 0 127.0.0.1\nallow_anonymous true\nlog_dest stdout\n`);
    const p = spawnProc(process.execPath, [bundle, '-c', conf]);
    await p.waitFor(/Opening ipv4 listen socket/, 15_000);
    await expect.poll(() => existsSync(pid), { timeout: 5000 }).toBe(true);
    expect(readFileSync(pid, 'utf8')).toBe(`${p.child.pid}\n`);
    p.kill('SIGTERM');
    expect((await p.waitExit(10_000)).code).toBe(0);
    expect(existsSync(pid)).toBe(false);
  });

  it("an unwritable pid file is logged and the broker runs on (Mosquitto writes it only as a daemon)", async () => {
    const conf = join(dir, 'bad.conf');
    writeFileSync(conf, `pid_file ${join(dir, 'no-such-dir', 'midge.pid')}\nlistener 0 127.0.0.1\nlog_dest stdout\n`);
    const p = spawnProc(process.execPath, [bundle, '-c', conf]);
    await p.waitFor(/Unable to write pid file/, 15_000);
    p.kill('SIGTERM');
    expect((await p.waitExit(10_000)).code).toBe(0);
  });
});
