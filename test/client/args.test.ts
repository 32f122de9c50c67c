// `midge pub` / `midge sub` refuse bad command lines as mosquitto_pub / mosquitto_sub 2.0 do:
// the same message on stderr (the tool's name aside), the same exit code, and for a missing
// topic or message the usage on stdout. Nothing here connects anywhere.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requirePeer } from '../helpers/peers.ts';
import { asMidge, buildClientBundle, runCmd, tools } from './helpers.ts';

const peers = requirePeer('mosquitto_pub', 'mosquitto_sub');

let dir: string;
let bundle: string;
let noTls: string;
let noV5: string;
let minimal: string;
const { midge, mosq } = tools(() => bundle);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'midge-cli-args-'));
  [bundle, noTls, noV5, minimal] = await Promise.all([
    buildClientBundle(dir, 'full'),
    buildClientBundle(dir, 'gateway', ['AUTH', 'MQTT5', 'PERSIST', 'SYS']),
    buildClientBundle(dir, 'auth', ['AUTH', 'TLS']),
    buildClientBundle(dir, 'minimal', []),
  ]);
}, 60_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

// A port nothing listens on is never reached: every line below fails before connecting.
const P = ['-p', '9'];
const PUB_CASES: string[][] = [
  [...P, '-t', 'a', '-m', 'x', '-z'],
  [...P, '-m', 'x'],
  [...P, '-t', 'a'],
  [...P, '-t', 'a/#', '-m', 'x'],
  [...P, '-t', 'a/+', '-m', 'x'],
  [...P, '-t', 'a', '-m', 'x', '-q', '3'],
  [...P, '-t', 'a', '-m', 'x', '-q'],
  [...P, '-t', 'a', '-m', 'x', '-V', 'mqttv6'],
  [...P, '-t', 'a', '-m', 'x', '-V'],
  [...P, '-t', 'a', '-m', 'x', '-p'],
  ['-p', '70000', '-t', 'a', '-m', 'x'],
  [...P, '-t', 'a', '-m', 'x', '-m', 'y'],
  [...P, '-t', 'a', '-m', 'x', '-n'],
  [...P, '-t', 'a', '-n', '-l'],
  [...P, '-t', 'a', '-m'],
  [...P, '-t'],
  [...P, '-t', 'a', '-m', 'x', '-i'],
  [...P, '-t', 'a', '-m', 'x', '-u'],
  [...P, '-t', 'a', '-m', 'x', '-P'],
  [...P, '-t', 'a', '-m', 'x', '-P', 'secret'],
  [...P, '-t', 'a', '-m', 'x', '-h'],
  [...P, '-t', 'a', '-m', 'x', '-k', '3'],
  [...P, '-t', 'a', '-m', 'x', '-k', '70000'],
  [...P, '-t', 'a', '-m', 'x', '-k'],
  [...P, '-t', 'a', '-m', 'x', '-C', '3'],
  [...P, '-t', 'a', '-f', '/nonexistent/file'],
  [...P, '-t', 'a', '-m', 'x', '-D', 'PUBLISH', 'user-property', 'k'],
  [...P, '-t', 'a', '-m', 'x', '-D', 'PUBLISH', 'no-such-property', 'k'],
  [...P, '-t', 'a', '-m', 'x', '-D', 'NOPE', 'user-property', 'k', 'v'],
  ['-L', 'http://127.0.0.1:9/a', '-m', 'x'],
  ['-L', 'mqtt://127.0.0.1:9', '-m', 'x'],
  [...P, '-t', 'a', '-m', 'x', '-L'],
];
const SUB_CASES: string[][] = [
  [...P, '-z'],
  [...P],
  [...P, '-t', 'a/#/b'],
  [...P, '-t', 'a+'],
  [...P, '-t', 'a', '-q', '3'],
  [...P, '-t', 'a', '-W', '0'],
  [...P, '-t', 'a', '-W', 'x'],
  [...P, '-t', 'a', '-W'],
  [...P, '-t', 'a', '-C', '0'],
  [...P, '-t', 'a', '-C', 'x'],
  [...P, '-t', 'a', '-C'],
  [...P, '-t', 'a', '-m', 'x'],
  [...P, '-t', 'a', '-r'],
  [...P, '-t', 'a', '-F', '%t %z'],
  [...P, '-t', 'a', '-F', '%i'],
  [...P, '-t', 'a', '-F'],
  [...P, '-t', 'a', '-k', '4'],
  [...P, '-t', 'a', '-V', 'mqttv4'],
  ['-L', 'ftp://127.0.0.1:9/a'],
];

describe.skipIf(!peers)('midge pub/sub refuse bad arguments as mosquitto_pub/sub 2.0 do', () => {
  it.each(PUB_CASES.map((c) => [c.join(' '), c]))('pub %s', async (_, args) => {
    const [m, q] = await Promise.all([midge('pub', args as string[]), mosq('pub', args as string[])]);
    expect(m.code, m.stderr).toBe(q.code);
    expect(m.code).not.toBe(0);
    expect(m.stderr).toBe(asMidge(q.stderr));
    // Usage on stdout (ours is Midge's own text) exactly when mosquitto_pub prints its usage.
    expect(m.stdout.length > 0).toBe(q.stdout.length > 0);
  });

  it.each(SUB_CASES.map((c) => [c.join(' '), c]))('sub %s', async (_, args) => {
    const [m, q] = await Promise.all([midge('sub', args as string[]), mosq('sub', args as string[])]);
    expect(m.code, m.stderr).toBe(q.code);
    expect(m.code).not.toBe(0);
    expect(m.stderr).toBe(asMidge(q.stderr));
    expect(m.stdout.length > 0).toBe(q.stdout.length > 0);
  });

  it('--help prints the usage on stdout and exits 1, as mosquitto_pub/sub do', async () => {
    for (const tool of ['pub', 'sub'] as const) {
      const [m, q] = await Promise.all([midge(tool, ['--help']), mosq(tool, ['--help'])]);
      expect(m.code).toBe(q.code);
      expect(m.stdout.toString()).toMatch(new RegExp(`^Usage: midge ${tool} `));
      for (const flag of ['-h', '-p', '-t', '-i', '-u', '-P', '-k', '-q', '-V', '-d', '-D', '-L', '--cafile', '--cert', '--key', '--insecure']) {
        expect(m.stdout.toString()).toMatch(new RegExp(`[[ ]${flag}[ \\]]`));
      }
    }
  });
});

describe('midge pub/sub in builds without a feature they need', () => {
  it('TLS flags in a build without TLS (gateway) say so, exit 1', async () => {
    for (const flag of [['--cafile', 'ca.crt'], ['--cert', 'c.crt'], ['--key', 'c.key'], ['--insecure']]) {
      const r = await runCmd(process.execPath, [noTls, 'pub', '-t', 'a', '-m', 'x', ...flag]);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(`Error: ${flag[0]} needs TLS, which this build of midge does not include.\n\nUse 'midge pub --help' to see usage.\n`);
    }
    const r = await runCmd(process.execPath, [noTls, 'sub', '-L', 'mqtts://127.0.0.1/a']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^Error: mqtts:\/\/ needs TLS, which this build of midge does not include\./);
  });

  it('-V mqttv5 and -D in a build without MQTT5 say so, exit 1', async () => {
    const v = await runCmd(process.execPath, [noV5, 'sub', '-t', 'a', '-V', 'mqttv5']);
    expect(v.code).toBe(1);
    expect(v.stderr).toMatch(/^Error: MQTT v5 is not included in this build of midge\./);
    const d = await runCmd(process.execPath, [noV5, 'pub', '-t', 'a', '-m', 'x', '-D', 'PUBLISH', 'user-property', 'k', 'v']);
    expect(d.code).toBe(1);
    expect(d.stderr).toMatch(/^Error: -D needs MQTT v5, which is not included in this build of midge\./);
  });

  it('the minimal build has no client: `midge pub` is an unexpected argument, and none of its code is in the file', async () => {
    const r = await runCmd(process.execPath, [minimal, 'pub', '-t', 'a', '-m', 'x']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^midge: unexpected argument 'pub'/);
    const { readFileSync } = await import('node:fs');
    const src = readFileSync(minimal, 'utf8');
    for (const s of ['Both topic and message', 'Timed out', 'to see usage', 'PUBCOMP (m']) expect(src).not.toContain(s);
  });
});
