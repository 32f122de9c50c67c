// Helpers of the bridge tests: Midge brokers with bridges from mosquitto.conf text, MQTT.js
// clients with an inbox, Debian's mosquitto as a peer, and a TCP proxy that can refuse
// connections or freeze them (a half-open link).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type IPublishPacket, type MqttClient } from 'mqtt';
import { expect } from 'vitest';
import { parseConfigText } from '../../src/config/parse.ts';
import type { BrokerConfig } from '../../src/config/types.ts';
import { startServer, type Running } from '../../src/server.ts';
import { testConfig, listener } from '../helpers/broker.ts';
import { peerPath } from '../helpers/peers.ts';
import { freePort } from '../helpers/ports.ts';
import { spawnProc, type Proc } from '../helpers/proc.ts';

export interface Midge {
  port: number;
  running: Running;
  close(): Promise<void>;
}

/** A Midge whose bridges come from `bridgeText` (mosquitto.conf lines). */
export async function midge(bridgeText = '', port = 0, overrides: Partial<BrokerConfig> = {}): Promise<Midge> {
  const { bridges } = parseConfigText(bridgeText, 'bridge.conf');
  const running = await startServer(testConfig({ listeners: [listener({ port })], bridges, ...overrides }));
  return { port: running.addresses[0].port, running, close: () => running.close() };
}

export interface Received {
  topic: string;
  payload: string;
  qos: number;
  retain: boolean;
  /** MQTT 5 properties, as MQTT.js gives them. */
  properties?: IPublishPacket['properties'];
}

export class Inbox {
  readonly all: Received[] = [];
  private waiters: { test: () => boolean; resolve: () => void }[] = [];

  constructor(readonly client: MqttClient) {
    client.on('message', (topic: string, payload: Buffer, p: IPublishPacket) => {
      this.all.push({ topic, payload: payload.toString(), qos: p.qos, retain: p.retain, properties: p.properties });
      for (const w of this.waiters.slice()) {
        if (w.test()) {
          this.waiters.splice(this.waiters.indexOf(w), 1);
          w.resolve();
        }
      }
    });
  }

  on(topic: string): Received[] {
    return this.all.filter((m) => m.topic === topic);
  }

  /** Resolves once `test` holds on what arrived; rejects after `ms`. */
  until(test: (all: Received[]) => boolean, what: string, ms = 10_000): Promise<void> {
    if (test(this.all)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timeout waiting for ${what}; got ${JSON.stringify(this.all.slice(-5))}`)), ms);
      this.waiters.push({ test: () => test(this.all), resolve: () => { clearTimeout(timer); resolve(); } });
    });
  }

  /** The latest payload on `topic` is `payload`. */
  state(topic: string, payload: string, ms?: number): Promise<void> {
    return this.until((all) => all.filter((m) => m.topic === topic).at(-1)?.payload === payload, `${topic} = ${payload}`, ms);
  }
}

/** Waits until a message published on A's side on `probe` crosses to B's (as `arrives`): the bridge is up and subscribed. */
export async function crossed(onA: Inbox, onB: Inbox, probe = 'probe', arrives = probe): Promise<void> {
  for (let i = 0; !onB.all.some((m) => m.topic === arrives); i++) {
    if (i > 50) throw new Error(`the bridge never carried ${probe}`);
    await onA.client.publishAsync(probe, String(i), { qos: 1 });
    await onB.until((m) => m.some((x) => x.topic === arrives), arrives, 300).catch(() => undefined);
  }
}

/** Publishes `n` messages from each side and checks each arrives exactly once on both. */
export async function exactlyOnce(onA: Inbox, onB: Inbox, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    await onA.client.publishAsync(`fromA/${i}`, String(i), { qos: 1 });
    await onB.client.publishAsync(`fromB/${i}`, String(i), { qos: 1 });
  }
  for (const round of ['end1', 'end2']) {
    await onA.client.publishAsync(`${round}A`, 'x', { qos: 1 });
    await onB.client.publishAsync(`${round}B`, 'x', { qos: 1 });
    for (const box of [onA, onB]) {
      await box.until((m) => m.some((x) => x.topic === `${round}A`) && m.some((x) => x.topic === `${round}B`), round);
    }
  }
  for (const box of [onA, onB]) {
    const counts = new Map<string, number>();
    for (const m of box.all) if (!m.topic.startsWith('probe') && !m.topic.startsWith('$')) counts.set(m.topic, (counts.get(m.topic) ?? 0) + 1);
    expect(counts.size).toBe(2 * n + 4);
    expect([...counts].filter(([, c]) => c !== 1)).toEqual([]);
  }
}

const clients = new Set<MqttClient>();

export async function client(port: number, subscribe: string[] = [], qos: 0 | 1 | 2 = 1, protocolVersion: 4 | 5 = 4): Promise<Inbox> {
  const c = await mqtt.connectAsync({ host: '127.0.0.1', port, protocolVersion, reconnectPeriod: 0, connectTimeout: 5000 });
  clients.add(c);
  const inbox = new Inbox(c);
  if (subscribe.length) await c.subscribeAsync(subscribe, { qos });
  return inbox;
}

export async function endClients(): Promise<void> {
  await Promise.all([...clients].map((c) => c.endAsync(true)));
  clients.clear();
}

/** A TCP relay to `target`: `down` refuses, `freeze` keeps connections open but silent. */
export class Proxy {
  private server: net.Server | undefined;
  private readonly pairs = new Set<[net.Socket, net.Socket]>();
  private readonly frozen: net.Socket[] = [];
  accepted = 0;

  constructor(readonly port: number, readonly target: number) {}

  static async create(target: number): Promise<Proxy> {
    const p = new Proxy(await freePort(), target);
    await p.up();
    return p;
  }

  up(): Promise<void> {
    this.server = net.createServer((a) => {
      this.accepted++;
      const b = net.connect(this.target, '127.0.0.1');
      const pair: [net.Socket, net.Socket] = [a, b];
      this.pairs.add(pair);
      a.pipe(b);
      b.pipe(a);
      const end = (): void => {
        a.destroy();
        b.destroy();
        this.pairs.delete(pair);
      };
      a.on('error', end).on('close', end);
      b.on('error', end).on('close', end);
    });
    const s = this.server;
    return new Promise((resolve) => s.listen(this.port, '127.0.0.1', () => resolve()));
  }

  /** Closes the listener and every relayed connection. */
  down(): Promise<void> {
    for (const s of this.frozen.splice(0)) s.destroy();
    for (const [a, b] of this.pairs) {
      a.destroy();
      b.destroy();
    }
    this.pairs.clear();
    const s = this.server;
    this.server = undefined;
    return new Promise((resolve) => (s ? s.close(() => resolve()) : resolve()));
  }

  /** Current connections stop relaying without closing: a half-open link for both ends. */
  freeze(): void {
    for (const [a, b] of this.pairs) {
      a.unpipe(b);
      b.unpipe(a);
      a.pause();
      b.pause();
      // Neither end learns of the other closing: each must find out by itself (keep-alive).
      for (const x of [a, b]) x.removeAllListeners('close').removeAllListeners('error').on('error', () => undefined);
      this.frozen.push(a, b);
    }
    this.pairs.clear();
  }
}

export interface Mosquitto {
  port: number;
  proc: Proc;
  stop(): Promise<void>;
}

/** Debian's mosquitto on a free port with `conf` appended to its listener line. */
export async function mosquitto(conf: string, port?: number): Promise<Mosquitto> {
  const p = port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), 'midge-mosq-'));
  const file = join(dir, 'mosquitto.conf');
  writeFileSync(file, `log_dest stderr\nlog_type all\nlistener ${p} 127.0.0.1\nallow_anonymous true\n${conf}\n`);
  const proc = spawnProc(peerPath('mosquitto')!, ['-c', file]);
  // stderr: mosquitto's stdout is block-buffered on a pipe.
  await proc.waitFor(/mosquitto version .* running/, 10_000, 'stderr');
  return {
    port: p,
    proc,
    stop: async () => {
      proc.kill('SIGTERM');
      await proc.exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
