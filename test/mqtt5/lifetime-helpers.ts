// For the MQTT 5 session and lifetime tests: MQTT.js v5 clients with an inbox, and a broker clock
// the test moves (Date is faked, then Broker.tick() runs at once), so expiry intervals of minutes
// pass in no time and exactly.
import mqtt, { type IClientOptions, type IConnackPacket, type IPublishPacket, type MqttClient } from 'mqtt';
import { vi } from 'vitest';
import type { TestBroker } from '../helpers/broker.ts';

export interface Received {
  topic: string;
  payload: string;
  qos: number;
  retain: boolean;
  properties: IPublishPacket['properties'];
}

/** Messages a client received, with a way to wait for one. */
export class Inbox {
  readonly all: Received[] = [];
  private waiters: { topic: string; resolve: (m: Received) => void }[] = [];

  constructor(client: MqttClient) {
    client.on('message', (topic: string, payload: Buffer, p: IPublishPacket) => {
      const m = { topic, payload: payload.toString(), qos: p.qos, retain: p.retain, properties: p.properties };
      this.all.push(m);
      for (const w of this.waiters.filter((w) => w.topic === topic)) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve(m);
      }
    });
  }

  /** The first message on `topic`, received so far or within `ms`. */
  waitFor(topic: string, ms = 5000): Promise<Received> {
    const seen = this.all.find((m) => m.topic === topic);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no message on ${topic} within ${ms} ms; got ${JSON.stringify(this.all)}`)), ms);
      this.waiters.push({ topic, resolve: (m) => (clearTimeout(t), resolve(m)) });
    });
  }

  topics(): string[] {
    return this.all.map((m) => m.topic);
  }
}

export interface V5 {
  c: MqttClient;
  inbox: Inbox;
  connack: IConnackPacket;
}

/** MQTT.js v5 clients of one broker, ended by closeAll(). */
export class Clients {
  private readonly open: MqttClient[] = [];
  constructor(private readonly b: () => TestBroker) {}

  connect(opts: IClientOptions = {}): Promise<V5> {
    const c = mqtt.connect({
      host: '127.0.0.1',
      port: this.b().port,
      protocolVersion: 5,
      reconnectPeriod: 0,
      connectTimeout: 5000,
      keepalive: 0,
      ...opts,
    });
    this.open.push(c);
    const inbox = new Inbox(c);
    return new Promise((resolve, reject) => {
      c.once('connect', (connack) => resolve({ c, inbox, connack }));
      c.once('error', reject);
      c.once('close', () => reject(new Error('closed before CONNACK')));
    });
  }

  closeAll(): void {
    for (const c of this.open.splice(0)) c.end(true);
  }
}

/** Drops the connection without DISCONNECT and waits until the broker has let go of the session. */
export async function drop(b: TestBroker, c: MqttClient, id: string): Promise<void> {
  c.end(true);
  await until(() => !connected(b, id));
}

/** Sends DISCONNECT (reason code and properties as given) and waits for the broker to detach. */
export async function disconnect(b: TestBroker, c: MqttClient, id: string, opts: Record<string, unknown> = {}): Promise<void> {
  await new Promise<void>((resolve) => c.end(false, opts, () => resolve()));
  await until(() => !connected(b, id));
}

function connected(b: TestBroker, id: string): boolean {
  return (b.running.broker.sessions.get(id)?.outlet ?? null) !== null;
}

/** Waits (bounded) for a condition on the broker's state that no event announces. */
export async function until(cond: () => boolean, ms = 5000): Promise<void> {
  // performance.now(): Date may be faked and standing still.
  const end = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > end) throw new Error(`condition not met within ${ms} ms: ${cond.toString()}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/**
 * The broker's coarse clock under the test's control: Date stands still until advance(), which
 * moves it and runs the broker's once-a-second work at once. Call vi.useRealTimers() after.
 */
export function controlClock(b: TestBroker): { advance(seconds: number): void } {
  vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
  b.running.broker.tick();
  return {
    advance(seconds: number): void {
      vi.setSystemTime(Date.now() + seconds * 1000);
      b.running.broker.tick();
    },
  };
}
