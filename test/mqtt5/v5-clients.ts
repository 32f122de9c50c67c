// MQTT 5 clients for the flow-control and subscription tests: RawClient sessions speaking v5
// (mqtt-packet generates and parses every packet), and MQTT.js clients with protocolVersion 5
// whose received messages can be awaited. Every client made here is ended by endAll().
import mqtt, { type IClientOptions, type IPublishPacket, type MqttClient } from 'mqtt';
import { RawClient, type Parsed } from '../helpers/raw.ts';

const open: { end(): void }[] = [];

/** A v5 RawClient after CONNECT/CONNACK; `props` are the CONNECT properties. */
export async function raw5(port: number, clientId: string, props: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) {
  const r = await RawClient.session(port, clientId, { protocolVersion: 5, properties: props, ...extra });
  open.push(r.c);
  return r;
}

/** Sends `p` in its MQTT 5 form. */
export const send5 = (c: RawClient, p: Record<string, unknown>): void => c.send({ ...p, protocolVersion: 5 });

/** The next packet, which must be a `cmd`. */
export async function expectNext(c: RawClient, cmd: string, ms?: number): Promise<Parsed> {
  const p = await c.next(ms);
  if (p.cmd !== cmd) throw new Error(`expected ${cmd}, got ${JSON.stringify(p)}`);
  return p;
}

/** Asserts the broker sends DISCONNECT with `reason` and closes the connection. */
export async function expectDisconnect(c: RawClient, reason: number): Promise<void> {
  const d = await expectNext(c, 'disconnect');
  if (d.reasonCode !== reason) throw new Error(`DISCONNECT reason 0x${d.reasonCode?.toString(16)}, expected 0x${reason.toString(16)}`);
  if (!(await c.closesWithin())) throw new Error('connection left open after DISCONNECT');
}

export interface Got {
  topic: string;
  payload: string;
  retain: boolean;
  qos: number;
  properties: IPublishPacket['properties'];
}

/** An MQTT.js client with protocolVersion 5 and its received messages. */
export class Js5 {
  readonly all: Got[] = [];
  private waiters: { topic: string; resolve: (m: Got) => void }[] = [];

  private constructor(readonly client: MqttClient) {
    client.on('message', (topic, payload, packet) => {
      const m = { topic, payload: payload.toString(), retain: packet.retain, qos: packet.qos, properties: packet.properties };
      this.all.push(m);
      const i = this.waiters.findIndex((w) => w.topic === topic);
      if (i >= 0) this.waiters.splice(i, 1)[0].resolve(m);
    });
  }

  static async connect(port: number, clientId: string, opts: IClientOptions = {}): Promise<Js5> {
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { protocolVersion: 5, clientId, reconnectPeriod: 0, ...opts });
    open.push({ end: () => client.end(true) });
    return new Js5(client);
  }

  /** The next message on `topic` not yet taken by an earlier call (received already, or later). */
  next(topic: string, ms = 5000): Promise<Got> {
    const i = this.all.findIndex((m) => m.topic === topic && !this.taken.has(m));
    if (i >= 0) {
      this.taken.add(this.all[i]);
      return Promise.resolve(this.all[i]);
    }
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no message on ${topic} within ${ms} ms; got ${JSON.stringify(this.all.map((m) => m.topic))}`)), ms);
      this.waiters.push({
        topic,
        resolve: (m) => {
          clearTimeout(t);
          this.taken.add(m);
          resolve(m);
        },
      });
    });
  }

  private readonly taken = new Set<Got>();

  /** Topics received, in order. */
  topics(): string[] {
    return this.all.map((m) => m.topic);
  }
}

/** Subscription identifiers of a received PUBLISH, sorted (order is not significant). */
export const subIds = (props: { subscriptionIdentifier?: number | number[] } | undefined): number[] => {
  const v = props?.subscriptionIdentifier;
  return v === undefined ? [] : (Array.isArray(v) ? [...v] : [v]).sort((a, b) => a - b);
};

export function endAll(): void {
  for (const c of open.splice(0)) c.end();
}
