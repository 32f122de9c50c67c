// Interop with MQTT.js v5 over MQTT 3.1.1 (protocolVersion 4) and 3.1 (protocolVersion 3) against
// an in-process Midge. Clients never reconnect on their own (reconnectPeriod 0) and are ended with
// end(true) after each test.
//
// Absence of a message is shown by order, not by waiting: messages from one publisher to one
// subscriber keep their order, so once a later "mark" message has arrived, an earlier message that
// should not be delivered would already have been.
import mqtt, { type IClientOptions, type IConnackPacket, type IPublishPacket, type MqttClient } from 'mqtt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startBroker, type TestBroker } from '../helpers/broker.ts';

interface Received {
  topic: string;
  payload: string;
  qos: number;
  retain: boolean;
  dup: boolean;
}

/** Messages a client received, with a way to wait for one. */
class Inbox {
  readonly all: Received[] = [];
  private waiters: { test: (m: Received) => boolean; resolve: (m: Received) => void }[] = [];

  constructor(client: MqttClient) {
    client.on('message', (topic: string, payload: Buffer, packet: IPublishPacket) => {
      const m = { topic, payload: payload.toString(), qos: packet.qos, retain: packet.retain, dup: packet.dup };
      this.all.push(m);
      for (const w of this.waiters.slice()) {
        if (w.test(m)) {
          this.waiters.splice(this.waiters.indexOf(w), 1);
          w.resolve(m);
        }
      }
    });
  }

  /** The first message (received so far or later) on `topic`. */
  waitFor(topic: string, ms = 5000): Promise<Received> {
    const test = (m: Received): boolean => m.topic === topic;
    const seen = this.all.find(test);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        reject(new Error(`no message on ${topic} within ${ms} ms; received ${JSON.stringify(this.all)}`));
      }, ms);
      const w = {
        test,
        resolve: (m: Received) => {
          clearTimeout(t);
          resolve(m);
        },
      };
      this.waiters.push(w);
    });
  }

  topics(): string[] {
    return this.all.map((m) => m.topic);
  }
}

describe.each([
  { version: 4 as const, name: 'MQTT 3.1.1' },
  { version: 3 as const, name: 'MQTT 3.1' },
])('MQTT.js, $name', ({ version }) => {
  let b: TestBroker;
  const clients: MqttClient[] = [];
  let n = 0;

  beforeEach(async () => {
    b = await startBroker();
  });

  afterEach(async () => {
    for (const c of clients.splice(0)) c.end(true);
    await b.close();
  });

  function options(opts: IClientOptions = {}): IClientOptions {
    return {
      host: '127.0.0.1',
      port: b.port,
      protocol: 'mqtt',
      protocolVersion: version,
      ...(version === 3 ? { protocolId: 'MQIsdp' as const } : {}),
      // MQTT 3.1 client ids are 1 to 23 characters.
      clientId: `mqttjs-v${version}-${++n}`,
      reconnectPeriod: 0,
      connectTimeout: 5000,
      keepalive: 0,
      ...opts,
    };
  }

  /** Connects and resolves with the client, its inbox and the CONNACK. */
  function connect(opts: IClientOptions = {}): Promise<{ c: MqttClient; inbox: Inbox; connack: IConnackPacket }> {
    const c = mqtt.connect(options(opts));
    clients.push(c);
    const inbox = new Inbox(c);
    return new Promise((resolve, reject) => {
      c.once('connect', (connack) => {
        c.off('error', reject);
        resolve({ c, inbox, connack });
      });
      c.once('error', reject);
      c.once('close', () => reject(new Error('connection closed before CONNACK')));
    });
  }

  it('QoS 0, 1 and 2 in both directions between two clients', async () => {
    const a = await connect();
    const z = await connect();
    expect(await a.c.subscribeAsync('to-a/#', { qos: 2 })).toEqual([{ topic: 'to-a/#', qos: 2 }]);
    expect(await z.c.subscribeAsync('to-z/#', { qos: 2 })).toEqual([{ topic: 'to-z/#', qos: 2 }]);

    for (const qos of [0, 1, 2] as const) {
      // publishAsync resolves on PUBACK (QoS 1) and PUBCOMP (QoS 2) from the broker.
      await a.c.publishAsync(`to-z/${qos}`, `from a at ${qos}`, { qos });
      await z.c.publishAsync(`to-a/${qos}`, `from z at ${qos}`, { qos });
    }
    await a.c.publishAsync('to-z/end', 'end', { qos: 1 });
    await z.c.publishAsync('to-a/end', 'end', { qos: 1 });
    await a.inbox.waitFor('to-a/end');
    await z.inbox.waitFor('to-z/end');

    const expected = (from: string, to: string): Received[] => [
      ...[0, 1, 2].map((qos) => ({ topic: `to-${to}/${qos}`, payload: `from ${from} at ${qos}`, qos, retain: false, dup: false })),
      { topic: `to-${to}/end`, payload: 'end', qos: 1, retain: false, dup: false },
    ];
    // Exactly once each: no duplicate of the QoS 2 (or QoS 1) message.
    expect(z.inbox.all).toEqual(expected('a', 'z'));
    expect(a.inbox.all).toEqual(expected('z', 'a'));
  });

  it('downgrades delivery to the subscription QoS [MQTT-3.8.4-6]', async () => {
    const sub = await connect();
    const pub = await connect();
    expect(await sub.c.subscribeAsync('d/0', { qos: 0 })).toEqual([{ topic: 'd/0', qos: 0 }]);
    expect(await sub.c.subscribeAsync('d/1', { qos: 1 })).toEqual([{ topic: 'd/1', qos: 1 }]);
    for (const t of ['d/0', 'd/1']) await pub.c.publishAsync(t, 'x', { qos: 2 });
    await sub.inbox.waitFor('d/1');
    expect(sub.inbox.all.map((m) => [m.topic, m.qos])).toEqual([
      ['d/0', 0],
      ['d/1', 1],
    ]);
  });

  it('retained messages: sent to later subscribers with RETAIN 1, forwarded live with RETAIN 0, cleared by an empty payload', async () => {
    const pub = await connect();
    const live = await connect();
    await live.c.subscribeAsync('r/#', { qos: 1 });
    await pub.c.publishAsync('r/a', 'kept', { qos: 1, retain: true });
    // [MQTT-3.3.1-9] a message forwarded to an existing subscription has RETAIN 0.
    expect(await live.inbox.waitFor('r/a')).toEqual({ topic: 'r/a', payload: 'kept', qos: 1, retain: false, dup: false });

    const later = await connect();
    await later.c.subscribeAsync('r/+', { qos: 2 });
    // [MQTT-3.3.1-8] RETAIN 1 for a message sent because of a new subscription; at the stored QoS.
    expect(await later.inbox.waitFor('r/a')).toEqual({ topic: 'r/a', payload: 'kept', qos: 1, retain: true, dup: false });

    await pub.c.publishAsync('r/a', '', { qos: 1, retain: true });
    await pub.c.publishAsync('r/b', 'b', { qos: 1, retain: true });
    const last = await connect();
    await last.c.subscribeAsync(['r/a', 'r/b'], { qos: 1 });
    await last.inbox.waitFor('r/b');
    expect(last.inbox.topics()).toEqual(['r/b']);
  });

  it('unsubscribe stops delivery', async () => {
    const sub = await connect();
    const pub = await connect();
    await sub.c.subscribeAsync(['u/#', 'mark'], { qos: 1 });
    await pub.c.publishAsync('u/1', 'before', { qos: 1 });
    await sub.inbox.waitFor('u/1');
    await sub.c.unsubscribeAsync('u/#');
    await pub.c.publishAsync('u/2', 'after', { qos: 1 });
    await pub.c.publishAsync('mark', 'm', { qos: 1 });
    await sub.inbox.waitFor('mark');
    expect(sub.inbox.topics()).toEqual(['u/1', 'mark']);
  });

  it('reconnecting with clean: false gets the QoS 1 messages queued while offline', async () => {
    const clientId = `persist-v${version}`;
    const first = await connect({ clientId, clean: false });
    expect(first.connack.sessionPresent).toBe(false);
    await first.c.subscribeAsync('q/#', { qos: 1 });
    await first.c.endAsync(); // DISCONNECT, then close

    const pub = await connect();
    await pub.c.publishAsync('q/1', 'one', { qos: 1 });
    await pub.c.publishAsync('q/0', 'zero', { qos: 0 }); // QoS 0 is not queued offline
    await pub.c.publishAsync('q/2', 'two', { qos: 2 }); // queued at the subscription's QoS 1

    const again = await connect({ clientId, clean: false });
    // MQTT 3.1 has no session present flag: that CONNACK byte is reserved, 0.
    expect(again.connack.sessionPresent).toBe(version !== 3);
    await again.inbox.waitFor('q/2');
    // The stored subscription still works without subscribing again.
    await pub.c.publishAsync('q/mark', 'm', { qos: 1 });
    await again.inbox.waitFor('q/mark');
    expect(again.inbox.all).toEqual([
      { topic: 'q/1', payload: 'one', qos: 1, retain: false, dup: false },
      { topic: 'q/2', payload: 'two', qos: 1, retain: false, dup: false },
      { topic: 'q/mark', payload: 'm', qos: 1, retain: false, dup: false },
    ]);
    await again.c.endAsync();

    // A clean connection discards the session [MQTT-3.1.2-6].
    const clean = await connect({ clientId, clean: true });
    expect(clean.connack.sessionPresent).toBe(false);
    await clean.c.endAsync();
    const after = await connect({ clientId, clean: false });
    expect(after.connack.sessionPresent).toBe(false);
  });

  it('publishes the will when the connection drops without DISCONNECT (stream.destroy())', async () => {
    const watcher = await connect();
    await watcher.c.subscribeAsync('will/#', { qos: 1 });
    const doomed = await connect({ will: { topic: 'will/doomed', payload: Buffer.from('gone'), qos: 1, retain: true } });
    doomed.c.stream.destroy();
    expect(await watcher.inbox.waitFor('will/doomed')).toEqual({ topic: 'will/doomed', payload: 'gone', qos: 1, retain: false, dup: false });
    // A retained will is stored like any retained message.
    const later = await connect();
    await later.c.subscribeAsync('will/#', { qos: 1 });
    expect(await later.inbox.waitFor('will/doomed')).toEqual({ topic: 'will/doomed', payload: 'gone', qos: 1, retain: true, dup: false });
  });

  it('does not publish the will after DISCONNECT [MQTT-3.14.4-3]', async () => {
    const watcher = await connect();
    await watcher.c.subscribeAsync(['will/#', 'mark'], { qos: 1 });
    const polite = await connect({ will: { topic: 'will/polite', payload: Buffer.from('gone'), qos: 1, retain: false } });
    await polite.c.endAsync();
    const pub = await connect();
    await pub.c.publishAsync('mark', 'm', { qos: 1 });
    await watcher.inbox.waitFor('mark');
    expect(watcher.inbox.topics()).toEqual(['mark']);
  });
});
