// Persistence with real processes: the bundle (built with PERSIST) is started from a config file,
// stopped with SIGTERM or killed with SIGKILL, and started again on the same directory.
//
// The kill -9 tests use persistence_sync always: a message the broker acknowledged (PUBACK for
// QoS 1, PUBREC for QoS 2, which hands the message over) must reach the offline persistent
// subscriber after the restart: at least once for QoS 1, exactly once for QoS 2.
//   MIDGE_CRASH_RUNS         random-kill runs (the normal suite 4; npm run test:crash 40)
//   MIDGE_CRASH_STRESS_RUNS  random-kill runs beside CPU hogs (the normal suite 3; test:crash:stress 120)
//   MIDGE_CRASH_HOGS         busy-looping processes beside those runs (default 2, this machine's cores)
//
// Two harness rules these tests learnt the hard way (issue 14):
// - The subscriber's 'message' listener is attached before its CONNACK arrives. A restored session
//   is sent its first in-flight window (20 messages) right after the CONNACK; under load they come
//   in the same read, and MQTT.js emits (and PUBACKs) the QoS 1 ones before `await connectAsync()`
//   resumes: counted as lost, though the broker had delivered them.
// - Each broker binds port 0 itself and the port is read from its log (listeningPort), instead of
//   freePort() then bind: another process on this shared machine could take the port in between.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import net from 'node:net';
import { join } from 'node:path';
import mqtt, { type MqttClient, type Packet } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { requirePeer } from '../helpers/peers.ts';
import { listeningPort } from '../helpers/ports.ts';
import { killAll, run, spawnProc, type Proc } from '../helpers/proc.ts';

const havePeers = requirePeer('mosquitto_pub', 'mosquitto_sub');
const RUNS = Number(process.env.MIDGE_CRASH_RUNS ?? 4);
const STRESS_RUNS = Number(process.env.MIDGE_CRASH_STRESS_RUNS ?? 3);
const HOGS = Number(process.env.MIDGE_CRASH_HOGS ?? 2);
/** Wall-clock budget of a series of random-kill runs: generous per run (a loaded 2-core machine), bounded. */
const budget = (runs: number): number => Math.min(60_000 + runs * 20_000, 1_800_000);

let buildDir: string;
let bundle: string;
let dir: string;
const clients: MqttClient[] = [];
const proxies: net.Server[] = [];

beforeAll(async () => {
  const { buildBundle } = await import('../../scripts/build.mjs');
  buildDir = mkdtempSync(join(tmpdir(), 'midge-persist-build-'));
  bundle = join(buildDir, 'broker.min.js');
  await buildBundle({ outfile: bundle, flags: ['PERSIST', 'SYS'] });
}, 60_000);

afterAll(() => rmSync(buildDir, { recursive: true, force: true }));

afterEach(async () => {
  for (const c of clients.splice(0)) c.end(true);
  for (const s of proxies.splice(0)) s.close();
  await killAll(); // brokers, and the CPU hogs of the stress test
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Rejects with `what` if `p` does not settle within `ms`. */
async function within<T>(p: Promise<T>, ms: number, what: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what()}: not within ${ms} ms`)), ms)));
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Starts the bundle on a port of its own choosing with persistence in `dir`; resolves once it listens. */
async function midge(sync: string, extra: string[] = []): Promise<{ p: Proc; port: number }> {
  const conf = join(dir, 'midge.conf');
  writeFileSync(conf, ['listener 0 127.0.0.1', 'allow_anonymous true', 'persistence true', `persistence_location ${dir}`, `persistence_sync ${sync}`, ...extra].join('\n') + '\n');
  const p = spawnProc(process.execPath, [bundle, '-c', conf], { cwd: dir });
  // Start-up on a loaded machine (Node itself, then reading the files) can take seconds.
  return { p, port: await listeningPort(p, 30_000) };
}

/**
 * An MQTT.js 3.1.1 client, connected. `onMessage` is attached before the CONNACK can arrive: see
 * the header (messages a restored session gets with its CONNACK).
 */
function connect(port: number, clientId: string, clean: boolean, onMessage?: (payload: string) => void): Promise<MqttClient> {
  const c = mqtt.connect({ host: '127.0.0.1', port, clientId, clean, protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 30_000 });
  clients.push(c);
  if (onMessage) c.on('message', (_t, payload) => onMessage(payload.toString()));
  return new Promise((resolve, reject) => {
    const fail = (err?: Error): void => {
      c.off('connect', ok);
      c.off('close', fail);
      c.off('error', fail);
      reject(err ?? new Error(`${clientId}: connection closed before CONNACK`));
    };
    const ok = (): void => {
      c.off('close', fail);
      c.off('error', fail);
      resolve(c);
    };
    c.once('connect', ok);
    c.once('close', fail);
    c.once('error', fail);
  });
}

/** The offline persistent subscriber: subscribes to `q/#` with QoS 2 and disconnects. */
async function subscribeOffline(port: number): Promise<void> {
  const c = await connect(port, 'phone', false);
  await c.subscribeAsync('q/#', { qos: 2 });
  // Resolves once the socket has closed, so the broker has read the DISCONNECT (and detached the
  // session) before the publisher connects.
  await c.endAsync();
}

/**
 * Reconnects the subscriber and collects messages until the marker published after the restart
 * arrives: the session's queue is delivered in order, so anything it held (duplicates too) came
 * before the marker.
 */
async function receiveAll(port: number, via = port): Promise<Map<string, number>> {
  const got = new Map<string, number>();
  let markerSeen!: () => void;
  const marker = new Promise<void>((resolve) => (markerSeen = resolve));
  await connect(via, 'phone', false, (s) => {
    if (s === 'marker') markerSeen();
    else got.set(s, (got.get(s) ?? 0) + 1);
  });
  const pub = await connect(port, 'marker', true);
  await pub.publishAsync('q/marker', 'marker', { qos: 2 });
  await within(marker, 60_000, () => `the marker after ${got.size} messages`);
  return got;
}

/**
 * A loopback proxy to the broker on `port` that holds the broker's first bytes (a 3.1.1 CONNACK is
 * 4) until more follow, then passes them on in one write: the client reads its CONNACK and the
 * first messages of its session together, as a client on a loaded machine that reads late does.
 * Resolves with the proxy's port.
 */
function coalescingProxy(port: number): Promise<number> {
  const server = net.createServer((down) => {
    const up = net.connect(port, '127.0.0.1');
    let held: Buffer[] | undefined = [];
    up.on('data', (d: Buffer) => {
      if (!held) return void down.write(d);
      held.push(d);
      const all = Buffer.concat(held);
      if (all.length > 4) {
        held = undefined;
        down.write(all);
      }
    });
    down.pipe(up);
    for (const [a, b] of [[up, down], [down, up]]) {
      a.on('error', () => b.destroy());
      a.on('close', () => b.destroy());
    }
  });
  proxies.push(server);
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)));
}

/**
 * Publishes `n` QoS 1 and `n` QoS 2 messages (q1-i, q2-i) all at once. `onAck` sees every PUBACK
 * and PUBREC as it arrives, with the acknowledged payload.
 */
function publishMany(c: MqttClient, n: number, onAck: (payload: string) => void): Promise<unknown> {
  const byId = new Map<number, string>();
  c.on('packetsend', (p: Packet) => {
    if (p.cmd === 'publish' && p.messageId !== undefined) byId.set(p.messageId, String(p.payload));
  });
  c.on('packetreceive', (p: Packet) => {
    if ((p.cmd === 'puback' || p.cmd === 'pubrec') && p.messageId !== undefined) {
      const s = byId.get(p.messageId);
      if (s !== undefined) onAck(s);
    }
  });
  const sent: Promise<unknown>[] = [];
  for (let i = 0; i < n; i++) {
    sent.push(c.publishAsync(`q/${i % 7}`, `q1-${i}`, { qos: 1 }), c.publishAsync(`q/${i % 7}`, `q2-${i}`, { qos: 2 }));
  }
  // After a kill the promises never settle; callers that kill do not wait for them.
  return Promise.all(sent);
}

interface Tally {
  runs: number;
  acked: number;
  lost: number;
  dup2: number;
  /** One line per run that lost or duplicated something: which messages, and where the kill was. */
  bad: string[];
}

/**
 * Up to `runs` runs (within budget(runs)) of: start a broker, park the subscriber, publish 150 +
 * 150 messages, kill -9 the broker after a random number of acknowledgements, restart it and
 * count what the subscriber gets.
 */
async function crashRuns(runs: number): Promise<Tally> {
  const N = 150;
  const t: Tally = { runs: 0, acked: 0, lost: 0, dup2: 0, bad: [] };
  const started = Date.now();
  for (let run = 0; run < runs && Date.now() - started < budget(runs); run++) {
    dir = mkdtempSync(join(tmpdir(), 'midge-persist-run-'));
    const { p, port } = await midge('always');
    await subscribeOffline(port);
    const pub = await connect(port, 'sensor', true);
    const killAt = 1 + Math.floor(Math.random() * 2 * N);
    const ackedHere = new Set<string>();
    const kill = (): void => p.kill('SIGKILL');
    // The kill closes the connection under the pending publishes, which then never settle. If all
    // 2N were acknowledged first (killAt is at most 2N, so only if acks were miscounted) kill then.
    publishMany(pub, N, (s) => {
      ackedHere.add(s);
      if (ackedHere.size === killAt) kill();
    }).then(kill, () => {});
    const exit = await within(p.exited, 60_000, () => `kill -9 after ${killAt} acknowledgements (${ackedHere.size} so far)\n${p.describe()}`);
    expect(exit.signal, p.describe()).toBe('SIGKILL');
    pub.end(true);
    const again = await midge('always');
    const got = await receiveAll(again.port);
    const lost = [...ackedHere].filter((s) => !got.has(s));
    const dup2 = [...got].filter(([s, count]) => s.startsWith('q2-') && count > 1).map(([s]) => s);
    if (lost.length || dup2.length) {
      const restored = again.p.stderr.find((l) => l.includes('Persistence: restored')) ?? '(no restore line)';
      t.bad.push(`run ${run}: kill after ${killAt}, ${ackedHere.size} acknowledged; lost ${lost.join(' ') || 'none'}; QoS 2 twice ${dup2.join(' ') || 'none'}; ${restored}`);
    }
    t.runs++;
    t.acked += ackedHere.size;
    t.lost += lost.length;
    t.dup2 += dup2.length;
    for (const c of clients.splice(0)) c.end(true);
    again.p.kill('SIGKILL');
    await again.p.exited;
    rmSync(dir, { recursive: true, force: true });
  }
  return t;
}

/** `n` processes that keep a CPU busy for at most `seconds` (afterEach's killAll ends them sooner). */
function cpuHogs(n: number, seconds: number): Proc[] {
  const loop = `const end = Date.now() + ${seconds * 1000}; while (Date.now() < end);`;
  return Array.from({ length: n }, () => spawnProc(process.execPath, ['-e', loop]));
}

describe('restart with SIGTERM', () => {
  it.skipIf(!havePeers)('keeps retained messages and a persistent session with its queued QoS 1 messages (mosquitto clients)', async () => {
    dir = mkdtempSync(join(tmpdir(), 'midge-persist-run-'));
    const { p, port } = await midge('interval');
    const hp = (port: number): string[] => ['-h', '127.0.0.1', '-p', String(port)];
    const sub = await run('mosquitto_sub', [...hp(port), '-i', 'phone', '-c', '-q', '1', '-t', 'alerts/#', '-E']);
    expect(sub.exit.code, sub.describe()).toBe(0);
    for (const [t, m, r] of [['home/setpoint', '21.5', true], ['alerts/door', 'open', false], ['alerts/smoke', 'yes', false]] as const) {
      const pub = await run('mosquitto_pub', [...hp(port), '-q', '1', '-t', t, '-m', m, ...(r ? ['-r'] : [])]);
      expect(pub.exit.code, pub.describe()).toBe(0);
    }
    p.kill('SIGTERM');
    expect(await p.waitExit(10_000), p.describe()).toEqual({ code: 0, signal: null });

    const again = await midge('interval');
    expect(again.p.stderr.join('\n')).toContain('Persistence: restored 1 retained, 1 sessions, 2 queued from');
    const queued = await run('mosquitto_sub', [...hp(again.port), '-i', 'phone', '-c', '-q', '1', '-t', 'alerts/#', '-v', '-C', '2', '-W', '10']);
    expect(queued.stdout, queued.describe()).toEqual(['alerts/door open', 'alerts/smoke yes']);
    const ret = await run('mosquitto_sub', [...hp(again.port), '-t', 'home/#', '-v', '-C', '1', '-W', '10']);
    expect(ret.stdout, ret.describe()).toEqual(['home/setpoint 21.5']);
  }, 60_000);
});

describe('the test subscriber', () => {
  it('counts the messages of its session that come in the same read as its CONNACK', async () => {
    // Under load (issue 14) the subscriber read its CONNACK and the session's first in-flight
    // window together, and the harness missed the window's QoS 1 messages: 10 "lost" messages.
    dir = mkdtempSync(join(tmpdir(), 'midge-persist-run-'));
    const N = 20;
    const { port } = await midge('always');
    await subscribeOffline(port);
    const pub = await connect(port, 'sensor', true);
    await publishMany(pub, N, () => {});
    const got = await receiveAll(port, await coalescingProxy(port));
    for (let i = 0; i < N; i++) {
      expect(got.get(`q1-${i}`) ?? 0, `q1-${i}`).toBeGreaterThanOrEqual(1);
      expect(got.get(`q2-${i}`), `q2-${i}`).toBe(1);
    }
  }, 60_000);
});

describe('kill -9 with persistence_sync always', () => {
  it('right after the last PUBACK/PUBCOMP: all 2N messages arrive, QoS 2 exactly once, QoS 1 at least once', async () => {
    dir = mkdtempSync(join(tmpdir(), 'midge-persist-run-'));
    const N = 200;
    const { p, port } = await midge('always');
    await subscribeOffline(port);
    const pub = await connect(port, 'sensor', true);
    await publishMany(pub, N, () => {});
    p.kill('SIGKILL');
    expect((await p.waitExit(10_000)).signal).toBe('SIGKILL');

    const again = await midge('always');
    const got = await receiveAll(again.port);
    for (let i = 0; i < N; i++) {
      expect(got.get(`q1-${i}`) ?? 0, `q1-${i}`).toBeGreaterThanOrEqual(1);
      expect(got.get(`q2-${i}`), `q2-${i}`).toBe(1);
    }
  }, 120_000);

  it.skipIf(RUNS === 0)(`at random points over ${RUNS} runs: no acknowledged message is lost, no QoS 2 message is duplicated`, async () => {
    const t = await crashRuns(RUNS);
    console.log(`crash test: ${t.runs} runs, ${t.acked} acknowledged messages, ${t.lost} lost, ${t.dup2} QoS 2 duplicates`);
    expect(t.runs).toBeGreaterThan(0);
    expect(t.acked).toBeGreaterThan(0);
    expect(t.bad).toEqual([]);
  }, budget(RUNS) + 120_000);

  it.skipIf(STRESS_RUNS === 0)(`at random points over ${STRESS_RUNS} runs beside ${HOGS} CPU hogs: no acknowledged message is lost, none duplicated`, async () => {
    // Under load the broker's fsyncs and writes and the clients' reads interleave differently
    // (e.g. a CONNACK and the first in-flight window arrive in one read: issue 14).
    cpuHogs(HOGS, Math.ceil(budget(STRESS_RUNS) / 1000));
    const t = await crashRuns(STRESS_RUNS);
    console.log(`crash test beside ${HOGS} CPU hogs: ${t.runs} runs, ${t.acked} acknowledged messages, ${t.lost} lost, ${t.dup2} QoS 2 duplicates`);
    expect(t.runs).toBeGreaterThan(0);
    expect(t.acked).toBeGreaterThan(0);
    expect(t.bad).toEqual([]);
  }, budget(STRESS_RUNS) + 120_000);
});
