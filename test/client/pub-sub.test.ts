// `midge pub` and `midge sub` (run from a real bundle) against Debian's mosquitto and against
// Midge, each flag cross-checked with mosquitto_pub / mosquitto_sub on the same broker:
// - sub: both subscribe with the same flags (and -d), the same messages are published, and both
//   print the same bytes (client ids aside) and exit with the same code;
// - pub: mosquitto_pub and midge pub publish with the same flags, a mosquitto_sub observer prints
//   topic, QoS, retain, payload and MQTT 5 properties of each, and both halves must be equal,
//   as must the publishers' own -d lines and exit codes;
// - failures (connection refused, CONNACK refusals, -W timeouts) end both with the same message
//   and exit code.
import { chmodSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startMosquitto, sharedDir, writeShared } from '../auth/mosquitto.ts';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { peerPath, requirePeer } from '../helpers/peers.ts';
import { freePort } from '../helpers/ports.ts';
import type { Proc } from '../helpers/proc.ts';
import { run } from '../helpers/proc.ts';
import { buildClientBundle, killStarted, start, tools, type Started } from './helpers.ts';

const peers = requirePeer('mosquitto', 'mosquitto_pub', 'mosquitto_sub', 'mosquitto_passwd', 'stdbuf');

let dir: string;
let bundle: string;
const { midge, mosq } = tools(() => bundle);
const brokers: Record<string, { port: number; close: () => Promise<void> }> = {};
let n = 0;
let ids = 0;

beforeAll(async () => {
  if (!peers) return;
  dir = sharedDir('midge-cli-');
  const [b, m, mid] = await Promise.all([buildClientBundle(dir, 'full'), startMosquitto(dir, ['allow_anonymous true']), startBroker()]);
  bundle = b;
  brokers.mosquitto = { port: m.port, close: async () => void m.proc.kill('SIGTERM') };
  brokers.midge = { port: mid.port, close: () => mid.close() };
}, 60_000);

// (Not killAll(): the brokers are Procs too.)
afterEach(async () => {
  await killStarted();
});

afterAll(async () => {
  for (const b of Object.values(brokers)) await b.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** -d lines name the client; ids differ between the two subscribers (-N: not at line starts). */
const sameIds = (b: Buffer): string => b.toString('latin1').replace(/Client \S+ (?=sending|received)/g, 'Client ID ');

describe.skipIf(!peers).each(['mosquitto', 'midge'])('against %s', (name) => {
  const port = (): number => brokers[name].port;
  const host = (): string[] => ['-h', '127.0.0.1', '-p', String(port())];
  const topic = (): string => `cli/${name}/${++n}`;

  /** Publishes with mosquitto_pub and expects success. */
  async function publish(args: string[], input?: string): Promise<void> {
    const r = await mosq('pub', [...host(), ...args], input);
    expect(r.code, r.stderr).toBe(0);
  }

  /** Starts both subscribers with `args` (plus -d) and resolves once both are subscribed. */
  async function bothSubs(args: string[], withHost = true): Promise<[Started, Started]> {
    const h = withHost ? host() : [];
    const id = ++ids;
    const m = start(process.execPath, [bundle, 'sub', ...h, '-d', '-i', `midge-${id}`, ...args]);
    const q = start('stdbuf', ['-oL', peerPath('mosquitto_sub')!, ...h, '-d', '-i', `mosq-${id}`, ...args]);
    await Promise.all([m.waitOut(/^Subscribed \(mid: 1\)/m), q.waitOut(/^Subscribed \(mid: 1\)/m)]);
    return [m, q];
  }

  /** Both subscribers have exited with the same code and printed the same bytes. */
  async function sameOutput([m, q]: [Started, Started], code = 0): Promise<string> {
    const [mc, qc] = await Promise.all([m.exited, q.exited]);
    expect(sameIds(m.out())).toBe(sameIds(q.out()));
    expect(m.err()).toBe(q.err());
    expect([mc, qc]).toEqual([code, code]);
    return m.out().toString();
  }

  it('sub -v -C 3 -q 2: "topic payload" lines, "(null)" for an empty message, QoS 1 and 2 flows (-d)', async () => {
    const t = topic();
    const subs = await bothSubs(['-t', `${t}/#`, '-v', '-C', '3', '-q', '2']);
    await publish(['-t', `${t}/a`, '-m', 'hello']);
    await publish(['-t', `${t}/b`, '-n', '-q', '1']);
    await publish(['-t', `${t}/c`, '-m', 'wörld ünïcode', '-q', '2']);
    const out = await sameOutput(subs);
    expect(out).toContain(`${t}/a hello\n`);
    expect(out).toContain(`${t}/b (null)\n`);
    expect(out).toMatch(/sending PUBREC \(m\d+, rc0\)\nClient \S+ received PUBREL/);
  });

  it('sub -C 3 without -v: payloads only, nothing for an empty one', async () => {
    const t = topic();
    const subs = await bothSubs(['-t', `${t}/#`, '-C', '3']);
    await publish(['-t', `${t}/a`, '-m', 'one']);
    await publish(['-t', `${t}/b`, '-n']);
    await publish(['-t', `${t}/c`, '-m', 'three']);
    expect(await sameOutput(subs)).toMatch(/\none\n[^]*\nthree\n/);
  });

  it('sub -N: no end of line; -v -N with an empty message prints nothing', async () => {
    const t = topic();
    const subs = await bothSubs(['-t', `${t}/#`, '-N', '-v', '-C', '3']);
    await publish(['-t', `${t}/a`, '-m', 'one']);
    await publish(['-t', `${t}/b`, '-n']);
    await publish(['-t', `${t}/c`, '-m', 'two']);
    expect(await sameOutput(subs)).toContain(`${t}/a one`);
  });

  it('sub -F with %t %p %q %r %l %m %x %X %% and widths, @@ and \\ escapes', async () => {
    const t = topic();
    const subs = await bothSubs(['-t', `${t}/#`, '-q', '1', '-C', '3', '-F', '%t|%p|%q|%r|%l|%m|%x|%X|%%|%12t|%-12t|%.3t|%10.4t|%6l|%-6l|%06l|%3m|@@|\\t|\\\\']);
    await publish(['-t', `${t}/retained`, '-m', 'kept', '-r', '-q', '1']);
    await publish(['-t', `${t}/a`, '-m', 'abc', '-q', '1']);
    await publish(['-t', `${t}/b`, '-m', 'xyz\u00e9']);
    const out = await sameOutput(subs);
    expect(out).toContain(`${t}/a|abc|1|0|3|`);
  });

  it('sub -F %j and %J: the same JSON apart from the time stamp; bad JSON for %J is an error line', async () => {
    const t = topic();
    const subs = await bothSubs(['-t', `${t}/#`, '-C', '2', '-F', '%j %J']);
    await publish(['-t', `${t}/a`, '-m', '{"a": [1, 2.5, "x"], "b": null}', '-q', '1']);
    await publish(['-t', `${t}/b`, '-m', 'not json']);
    const [m, q] = subs;
    expect(await Promise.all([m.exited, q.exited])).toEqual([0, 0]);
    const tst = (s: string): string => s.replace(/"tst":"[^"]*"/g, '"tst":""');
    expect(tst(sameIds(m.out()))).toBe(tst(sameIds(q.out())));
    expect(m.err()).toBe(q.err());
    expect(m.err()).toBe(`Error: Message payload is not valid JSON on topic ${t}/b.\n`);
    expect(m.out().toString()).toMatch(/"tst":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z[+-]\d{4}"/);
  });

  it('sub -R -C 1: retained (stale) messages are skipped and not counted', async () => {
    const t = topic();
    await publish(['-t', `${t}/old`, '-m', 'stale', '-r']);
    const subs = await bothSubs(['-t', `${t}/#`, '-R', '-C', '1', '-v']);
    await publish(['-t', `${t}/new`, '-m', 'fresh']);
    const out = await sameOutput(subs);
    expect(out).toContain(`${t}/new fresh\n`);
    expect(out).not.toContain(`${t}/old stale`);
  });

  it('sub with several -t, -L mqtt://host:port/topic, -i, -k, -u/-P and -V mqttv31', async () => {
    const t = topic();
    const subs = await bothSubs(['-t', `${t}/x`, '-t', `${t}/y`, '-v', '-C', '2', '-k', '30', '-u', 'user', '-P', 'pw', '-V', 'mqttv31']);
    const url = await bothSubs(['-L', `mqtt://127.0.0.1:${port()}/${t}/#`, '-v', '-C', '2'], false);
    await publish(['-t', `${t}/x`, '-m', 'ex']);
    await publish(['-t', `${t}/y`, '-m', 'why']);
    expect(await sameOutput(subs)).toContain('Subscribed (mid: 1): 0, 0\n');
    expect(await sameOutput(url)).toContain(`${t}/y why\n`);
  });

  it('sub -V mqttv5 with -D CONNECT/SUBSCRIBE user-property', async () => {
    const t = topic();
    const subs = await bothSubs(['-t', `${t}/#`, '-V', 'mqttv5', '-v', '-C', '2', '-q', '2', '-D', 'CONNECT', 'user-property', 'a', 'b', '-D', 'SUBSCRIBE', 'user-property', 'k', 'v']);
    await publish(['-t', `${t}/a`, '-m', 'five', '-q', '2', '-V', 'mqttv5']);
    // A QoS 2 message is printed at PUBREL: wait, or a QoS 1 one could overtake it.
    await Promise.all(subs.map((s) => s.waitOut(/ five\n/)));
    await publish(['-t', `${t}/b`, '-m', 'three', '-q', '1']);
    expect(await sameOutput(subs)).toContain(`${t}/a five\n`);
  });

  it('sub -E exits once subscribed; -W 1 exits 27 with "Timed out"', async () => {
    const t = topic();
    const e = await bothSubs(['-t', t, '-E']);
    await sameOutput(e);
    const [m, q] = await Promise.all([midge('sub', [...host(), '-t', t, '-W', '1']), mosq('sub', [...host(), '-t', t, '-W', '1'])]);
    expect([m.code, q.code]).toEqual([27, 27]);
    expect(m.stderr).toBe('Timed out\n');
    expect(m.stderr).toBe(q.stderr);
  });

  it('sub ended by SIGINT or SIGTERM: DISCONNECT, exit code as mosquitto_sub', async () => {
    for (const sig of ['SIGINT', 'SIGTERM'] as const) {
      const t = topic();
      const [m, q] = await bothSubs(['-t', t]);
      m.child.kill(sig);
      q.child.kill(sig);
      const codes = await Promise.all([m.exited, q.exited]);
      expect(codes[0]).toBe(codes[1]);
      expect(m.out().toString()).toMatch(/sending DISCONNECT\n$/);
    }
  });

  it('sub -k 5: PINGREQ/PINGRESP while idle, as mosquitto_sub', async () => {
    const t = topic();
    const subs = await bothSubs(['-t', t, '-k', '5', '-W', '7']);
    const out = await sameOutput(subs, 27);
    expect(out).toMatch(/sending PINGREQ\nClient \S+ received PINGRESP\n/);
  }, 20_000);

  describe('pub: mosquitto_pub and midge pub with the same flags, seen by one mosquitto_sub', () => {
    const bin = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const CASES: [string, (t: string) => string[], number, string?][] = [
      ['-m -d -i', (t) => ['-t', t, '-m', 'hello', '-d', '-i', 'pubber'], 1],
      ['-q 1 -d', (t) => ['-t', t, '-m', 'q1', '-q', '1', '-d', '-i', 'pubber'], 1],
      ['-q 2 -r -d', (t) => ['-t', t, '-m', 'q2', '-q', '2', '-r', '-d', '-i', 'pubber'], 1],
      ['-n -q 1', (t) => ['-t', t, '-n', '-q', '1'], 1],
      ['-f (256 bytes 0..255) -q 2', (t) => ['-t', t, '-f', join(dir, 'bin'), '-q', '2'], 1],
      ['-l -q 1 -d (empty and unterminated lines)', (t) => ['-t', t, '-l', '-q', '1', '-d', '-i', 'pubber'], 4, 'l1\n\nl3\nlast'],
      ['-s (all of stdin, newlines kept)', (t) => ['-t', t, '-s', '-q', '1'], 1, 'all\nof it\n'],
      ['-V mqttv5 -D PUBLISH/CONNECT properties', (t) => ['-t', t, '-m', 'v5', '-q', '1', '-V', 'mqttv5', '-D', 'PUBLISH', 'user-property', 'k', 'v', '-D', 'PUBLISH', 'content-type', 'text/plain', '-D', 'PUBLISH', 'message-expiry-interval', '60', '-D', 'CONNECT', 'user-property', 'c', 'd', '-d', '-i', 'pubber'], 1],
      ['-V mqttv31 -k 30 -u -P', (t) => ['-t', t, '-m', 'v31', '-V', 'mqttv31', '-k', '30', '-u', 'user', '-P', 'pw'], 1],
      ['-V mqttv311 -c -i', (t) => ['-t', t, '-m', 'persistent', '-c', '-i', 'keeper', '-q', '1'], 1],
    ];

    it.each(CASES)('%s', async (_, flags, count, input) => {
      writeFileSync(join(dir, 'bin'), bin);
      const t = topic();
      const obs = start('stdbuf', ['-oL', peerPath('mosquitto_sub')!, ...host(), '-d', '-V', 'mqttv5', '-q', '2', '-t', t, '-C', String(2 * count), '-W', '10', '-F', '%t|%q|%r|%l|%x|%P|%C|%E']);
      await obs.waitOut(/^Subscribed \(mid: 1\)/m);
      const q = await mosq('pub', [...host(), ...flags(t)], input);
      const m = await midge('pub', [...host(), ...flags(t)], input);
      expect(m.code, m.stderr).toBe(0);
      expect(q.code).toBe(0);
      expect(m.stdout.toString()).toBe(q.stdout.toString());
      expect(m.stderr).toBe(q.stderr);
      expect(await obs.exited).toBe(0);
      const lines = obs.out().toString().split('\n').filter((l) => l.startsWith(`${t}|`));
      expect(lines).toHaveLength(2 * count);
      expect(lines.slice(count)).toEqual(lines.slice(0, count));
    });

    it('-L mqtt://127.0.0.1:PORT/topic', async () => {
      const t = topic();
      const obs = start('stdbuf', ['-oL', peerPath('mosquitto_sub')!, ...host(), '-d', '-t', t, '-C', '2', '-W', '10', '-v']);
      await obs.waitOut(/^Subscribed \(mid: 1\)/m);
      const url = ['-L', `mqtt://127.0.0.1:${port()}/${t}`, '-m', 'by-url'];
      expect((await mosq('pub', url)).code).toBe(0);
      expect((await midge('pub', url)).code).toBe(0);
      expect(await obs.exited).toBe(0);
      expect(obs.out().toString().split(`${t} by-url\n`)).toHaveLength(3);
    });
  });
});

describe.skipIf(!peers)('failures: the same message and exit code as mosquitto_pub/sub', () => {
  let locked: { mosquitto: number; midge: number };
  let midgeLocked: TestBroker;
  let mosqLocked: Proc;

  beforeAll(async () => {
    const pw = join(dir, 'passwords');
    writeShared(pw, '');
    const r = await run(peerPath('mosquitto_passwd')!, ['-b', pw, 'user', 'secret']);
    expect(r.exit.code).toBe(0);
    chmodSync(pw, 0o644);
    const m = await startMosquitto(dir, ['allow_anonymous false', `password_file ${pw}`]);
    mosqLocked = m.proc;
    midgeLocked = await startBroker({ allowAnonymous: false, passwordFile: pw });
    locked = { mosquitto: m.port, midge: midgeLocked.port };
  }, 30_000);

  afterAll(async () => {
    mosqLocked?.kill('SIGTERM');
    await midgeLocked?.close();
  });

  it('a broker that stops answering: midge sub -k 5 exits 7 "The connection was lost." after about two intervals', async () => {
    // Accepts the connection, answers CONNECT, then stays silent (no SUBACK, no PINGRESP).
    const srv = net.createServer((s) => {
      s.once('data', () => s.write(Buffer.from([0x20, 2, 0, 0])));
      s.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
    try {
      const t0 = Date.now();
      const r = await midge('sub', ['-p', String((srv.address() as net.AddressInfo).port), '-t', 'a', '-k', '5'], undefined, 20_000);
      expect(r.code).toBe(7);
      expect(r.stderr).toBe('Error: The connection was lost.\n');
      expect(Date.now() - t0).toBeGreaterThan(9000);
    } finally {
      srv.close();
    }
  }, 25_000);

  it('connection refused (nothing listening): "Error: Connection refused", exit 1', async () => {
    const p = String(await freePort());
    for (const [tool, args] of [['pub', ['-p', p, '-t', 'a', '-m', 'x']], ['sub', ['-p', p, '-t', 'a']]] as const) {
      const [m, q] = await Promise.all([midge(tool, [...args]), mosq(tool, [...args])]);
      expect(m.code).toBe(1);
      expect(m.code).toBe(q.code);
      expect(m.stderr).toBe('Error: Connection refused\n');
      expect(m.stderr).toBe(q.stderr);
    }
  });

  it.each(['mosquitto', 'midge'] as const)('CONNACK refusals from %s: 3.1.1 exits with the return code, MQTT 5 with the reason code', async (name) => {
    const h = ['-h', '127.0.0.1', '-p', String(locked[name])];
    const cases: [string[], number][] = [
      [[], 5],
      [['-u', 'user', '-P', 'wrong'], 5],
      [['-V', 'mqttv5'], 135],
      // Mosquitto 2.0 answers a wrong password with 135 (not authorized) in MQTT 5.
      [['-V', 'mqttv5', '-u', 'user', '-P', 'wrong'], 135],
      [['-u', 'user', '-P', 'secret'], 0],
    ];
    for (const [extra, code] of cases) {
      for (const [tool, args] of [['pub', ['-t', 'a', '-m', 'x']], ['sub', ['-t', 'a', '-E']]] as const) {
        const [m, q] = await Promise.all([midge(tool, [...h, ...args, ...extra]), mosq(tool, [...h, ...args, ...extra])]);
        // Brokers may answer a bad password with 4/134 or 5/135; both clients agree with each other.
        expect(m.code, `${tool} ${extra.join(' ')}: ${m.stderr}`).toBe(q.code);
        expect(m.stderr).toBe(q.stderr);
        if (code === 0 || name === 'mosquitto') expect(m.code).toBe(code);
      }
    }
  });
});
