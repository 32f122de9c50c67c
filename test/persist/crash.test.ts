// Persistence with real processes: the bundle (built with PERSIST) is started from a config file,
// stopped with SIGTERM or killed with SIGKILL, and started again on the same directory.
//
// The kill -9 tests use persistence_sync always: a message the broker acknowledged (PUBACK for
// QoS 1, PUBREC for QoS 2, which hands the message over) must reach the offline persistent
// subscriber after the restart: at least once for QoS 1, exactly once for QoS 2. MIDGE_CRASH_RUNS
// sets the number of random-kill runs (npm run test:crash runs 40; the normal suite 4).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient, type Packet } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { requirePeer } from '../helpers/peers.ts';
import { freePort } from '../helpers/ports.ts';
import { killAll, run, spawnProc, type Proc } from '../helpers/proc.ts';

const havePeers = requirePeer('mosquitto_pub', 'mosquitto_sub');
const RUNS = Number(process.env.MIDGE_CRASH_RUNS ?? 4);

let buildDir: string;
let bundle: string;
let dir: string;
const clients: MqttClient[] = [];

beforeAll(async () => {
  const { buildBundle } = await import('../../scripts/build.mjs');
  buildDir = mkdtempSync(join(tmpdir(), 'midge-persist-build-'));
  bundle = join(buildDir, 'broker.min.js');
  await buildBundle({ outfile: bundle, flags: ['PERSIST', 'SYS'] });
}, 60_000);

afterAll(() => rmSync(buildDir, { recursive: true, force: true }));

afterEach(async () => {
  for (const c of clients.splice(0)) c.end(true);
  await killAll();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Starts the bundle on a fresh port with persistence in `dir`; resolves once it listens. */
async function midge(sync: string, extra: string[] = []): Promise<{ p: Proc; port: number }> {
  const port = await freePort();
  const conf = join(dir, 'midge.conf');
  writeFileSync(conf, [`listener ${port} 127.0.0.1`, 'allow_anonymous true', 'persistence true', `persistence_location ${dir}`, `persistence_sync ${sync}`, ...extra].join('\n') + '\n');
  const p = spawnProc(process.execPath, [bundle, '-c', conf], { cwd: dir });
  await p.waitFor(`Opening ipv4 listen socket on 127.0.0.1 port ${port}.`, 10_000, 'stderr');
  return { p, port };
}

async function connect(port: number, clientId: string, clean: boolean): Promise<MqttClient> {
  const c = await mqtt.connectAsync({ host: '127.0.0.1', port, clientId, clean, protocolVersion: 4, reconnectPeriod: 0 });
  clients.push(c);
  return c;
}

/** The offline persistent subscriber: subscribes to `q/#` with QoS 2 and disconnects. */
async function subscribeOffline(port: number): Promise<void> {
  const c = await connect(port, 'phone', false);
  await c.subscribeAsync('q/#', { qos: 2 });
  await c.endAsync();
}

/**
 * Reconnects the subscriber and collects messages until the marker published after the restart
 * arrives: the session's queue is delivered in order, so anything it held (duplicates too) came
 * before the marker.
 */
async function receiveAll(port: number): Promise<Map<string, number>> {
  const got = new Map<string, number>();
  const c = await connect(port, 'phone', false);
  const marker = new Promise<void>((resolve) => {
    c.on('message', (_t, payload) => {
      const s = payload.toString();
      if (s === 'marker') resolve();
      else got.set(s, (got.get(s) ?? 0) + 1);
    });
  });
  const pub = await connect(port, 'marker', true);
  await pub.publishAsync('q/marker', 'marker', { qos: 2 });
  await marker;
  return got;
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
  });
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
  });

  it(`at random points over ${RUNS} runs: no acknowledged message is lost, no QoS 2 message is duplicated`, async () => {
    const N = 150;
    let acked = 0;
    let lost = 0;
    let dup2 = 0;
    const started = Date.now();
    for (let run = 0; run < RUNS && Date.now() - started < 600_000; run++) {
      dir = mkdtempSync(join(tmpdir(), 'midge-persist-run-'));
      const { p, port } = await midge('always');
      await subscribeOffline(port);
      const pub = await connect(port, 'sensor', true);
      const killAt = 1 + Math.floor(Math.random() * 2 * N);
      const ackedHere = new Set<string>();
      const killed = new Promise<void>((resolve) => {
        publishMany(pub, N, (s) => {
          ackedHere.add(s);
          if (ackedHere.size === killAt) {
            p.kill('SIGKILL');
            resolve();
          }
        }).catch(() => {}); // the kill closes the connection under the pending publishes
      });
      await killed;
      await p.waitExit(10_000);
      pub.end(true);
      const again = await midge('always');
      const got = await receiveAll(again.port);
      for (const s of ackedHere) if (!got.has(s)) lost++;
      for (const [s, count] of got) if (s.startsWith('q2-') && count > 1) dup2++;
      acked += ackedHere.size;
      for (const c of clients.splice(0)) c.end(true);
      await killAll();
      rmSync(dir, { recursive: true, force: true });
    }
    console.log(`crash test: ${RUNS} runs, ${acked} acknowledged messages, ${lost} lost, ${dup2} QoS 2 duplicates`);
    expect(acked).toBeGreaterThan(0);
    expect(lost).toBe(0);
    expect(dup2).toBe(0);
  }, 900_000);
});
