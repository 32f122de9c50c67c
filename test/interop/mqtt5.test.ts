// MQTT 5 baseline against an in-process Midge: MQTT.js with protocolVersion 5 (CONNACK properties,
// publish and subscribe at QoS 0/1/2 with message properties passed through, user properties in
// order, UNSUBACK reason codes, will via DISCONNECT 0x04), 3.1.1 <-> 5 interop, and raw-socket
// protocol violations answered with DISCONNECT and the decoder's reason code.
import mqtt, { type IClientOptions, type IConnackPacket, type IPublishPacket, type MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { RawClient } from '../helpers/raw.ts';

let broker: TestBroker;
const clients: MqttClient[] = [];
const raws: RawClient[] = [];

beforeAll(async () => {
  broker = await startBroker({ maxInflightMessages: 20 });
});
afterAll(() => broker.close());
afterEach(() => {
  for (const c of clients.splice(0)) c.end(true);
  for (const r of raws.splice(0)) r.end();
});

async function client(id: string, opts: IClientOptions = {}): Promise<{ c: MqttClient; connack: IConnackPacket }> {
  const c = mqtt.connect({ host: '127.0.0.1', port: broker.port, clientId: id, protocolVersion: 5, reconnectPeriod: 0, connectTimeout: 5000, ...opts });
  clients.push(c);
  const connack = await new Promise<IConnackPacket>((resolve, reject) => {
    c.once('connect', resolve);
    c.once('error', reject);
  });
  return { c, connack };
}

function nextMessage(c: MqttClient, topic: string, ms = 5000): Promise<IPublishPacket> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no message on ${topic}`)), ms);
    const on = (tp: string, _p: Buffer, packet: IPublishPacket): void => {
      if (tp !== topic) return;
      clearTimeout(t);
      c.off('message', on);
      resolve(packet);
    };
    c.on('message', on);
  });
}

const subscribe = (c: MqttClient, topic: string, qos: 0 | 1 | 2) => c.subscribeAsync(topic, { qos });

describe('MQTT 5 with MQTT.js', () => {
  it('[MQTT-3.2.2-3] a v5 CONNECT gets a v5 CONNACK with the server limits as properties', async () => {
    const { connack } = await client('v5-connack');
    expect(connack.reasonCode).toBe(0);
    // Only what differs from the spec's defaults: subscription ids, wildcards and shared
    // subscriptions are available without saying so (test/interop/wire-cases.ts has the bytes).
    expect(connack.properties).toEqual({ topicAliasMaximum: 10, receiveMaximum: 20 }); // max_topic_alias, max_inflight_messages
    expect(broker.running.broker.sessions.get('v5-connack')).toBeDefined();
  });

  for (const qos of [0, 1, 2] as const) {
    it(`[MQTT-3.3.2-15..20] QoS ${qos}: message properties and user properties (order, duplicates) pass through`, async () => {
      const { c: sub } = await client(`v5-sub-${qos}`);
      const { c: pub } = await client(`v5-pub-${qos}`);
      const granted = await subscribe(sub, `v5/props/${qos}`, qos);
      expect(granted[0].qos).toBe(qos);
      const got = nextMessage(sub, `v5/props/${qos}`);
      const properties = {
        payloadFormatIndicator: true,
        contentType: 'text/plain',
        responseTopic: 'v5/reply',
        correlationData: Buffer.from([1, 2, 3]),
        messageExpiryInterval: 3600,
        userProperties: { b: ['1', '3'], a: '2' },
      };
      await pub.publishAsync(`v5/props/${qos}`, 'hello', { qos, properties });
      const m = await got;
      expect(m.qos).toBe(qos);
      expect(m.payload.toString()).toBe('hello');
      expect(m.properties).toMatchObject(properties);
    });
  }

  it('[MQTT-3.3.2-18..20] user properties arrive byte-exact in order (raw v5 subscriber)', async () => {
    const { c: sub } = await RawClient.session(broker.port, 'v5-raw-sub', { protocolVersion: 5 });
    raws.push(sub);
    sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'v5/order', qos: 0 }], protocolVersion: 5 });
    expect((await sub.next()).cmd).toBe('suback');
    const { c: pub } = await client('v5-order-pub');
    // z, a, z: mqtt-packet's object form groups names, so check the bytes.
    const chunks: Buffer[] = [];
    sub.socket.on('data', (d) => chunks.push(d));
    await pub.publishAsync('v5/order', 'x', { qos: 1, properties: { userProperties: { z: ['1', '2'], a: '3' } } });
    await sub.next();
    const bytes = Buffer.concat(chunks).toString('latin1');
    expect(bytes.indexOf('\x00\x01z\x00\x011')).toBeLessThan(bytes.indexOf('\x00\x01z\x00\x012'));
    expect(bytes.indexOf('\x00\x01z\x00\x012')).toBeLessThan(bytes.indexOf('\x00\x01a\x00\x013'));
  });

  it('[MQTT-3.11.3-1] UNSUBACK has 0x00 for a subscription that existed and 0x11 for one that did not', async () => {
    const { c } = await RawClient.session(broker.port, 'v5-unsub', { protocolVersion: 5 });
    raws.push(c);
    c.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'v5/u', qos: 1 }], protocolVersion: 5 });
    expect((await c.next()).granted).toEqual([1]);
    c.send({ cmd: 'unsubscribe', messageId: 2, unsubscriptions: ['v5/u', 'v5/never'], protocolVersion: 5 });
    const ack = await c.next();
    expect(ack.cmd).toBe('unsuback');
    expect(ack.granted).toEqual([0x00, 0x11]);
  });

  it('[MQTT-3.14.4-3] DISCONNECT with reason 0x04 publishes the will (with its properties)', async () => {
    const { c: watcher } = await client('v5-will-watch');
    await subscribe(watcher, 'v5/will', 1);
    const got = nextMessage(watcher, 'v5/will');
    const { c } = await client('v5-will', { will: { topic: 'v5/will', payload: Buffer.from('gone'), qos: 1, retain: false, properties: { contentType: 'w' } } });
    c.end(true, { reasonCode: 0x04 });
    const m = await got;
    expect(m.payload.toString()).toBe('gone');
    expect(m.properties?.contentType).toBe('w');
  });

  it('[MQTT-3.14.4-3] DISCONNECT with reason 0 discards the will', async () => {
    const { c: watcher } = await client('v5-nowill-watch');
    await subscribe(watcher, 'v5/nowill', 1);
    await subscribe(watcher, 'v5/mark', 1);
    const { c } = await client('v5-nowill', { will: { topic: 'v5/nowill', payload: Buffer.from('x'), qos: 1, retain: false } });
    const closed = new Promise<void>((r) => c.once('close', () => r()));
    c.end(false, { reasonCode: 0 });
    await closed;
    const mark = nextMessage(watcher, 'v5/mark');
    const seen: string[] = [];
    watcher.on('message', (t) => seen.push(t));
    const { c: p } = await client('v5-nowill-mark');
    await p.publishAsync('v5/mark', 'm', { qos: 1 });
    await mark;
    expect(seen).not.toContain('v5/nowill');
  });
});

describe('MQTT 5 refusals', () => {
  it('[MQTT-3.2.2-6] a refused v5 client gets a v5 CONNACK with reason 0x87 (not authorized), then a close', async () => {
    const closed = await startBroker({ allowAnonymous: false });
    try {
      const { c, connack } = await RawClient.session(closed.port, 'anon5', { protocolVersion: 5 });
      raws.push(c);
      expect(connack.cmd).toBe('connack');
      expect(connack.reasonCode).toBe(0x87);
      expect(await c.closesWithin()).toBe(true);
    } finally {
      await closed.close();
    }
  });
});

describe('MQTT 3.1.1 <-> 5', () => {
  it('a 3.1.1 subscriber gets a 5.0 publisher\'s message without properties', async () => {
    const sub = mqtt.connect({ host: '127.0.0.1', port: broker.port, clientId: 'v4-sub', protocolVersion: 4, reconnectPeriod: 0 });
    clients.push(sub);
    await new Promise((r) => sub.once('connect', r));
    await sub.subscribeAsync('mix/a', { qos: 1 });
    const got = nextMessage(sub, 'mix/a');
    const { c: pub } = await client('v5-pub-mix');
    await pub.publishAsync('mix/a', 'from5', { qos: 1, properties: { contentType: 'c', userProperties: { k: 'v' } } });
    const m = await got;
    expect(m.payload.toString()).toBe('from5');
    expect(m.properties).toBeUndefined();
  });

  it('a 5.0 subscriber gets a 3.1.1 publisher\'s message (no properties)', async () => {
    const { c: sub } = await client('v5-sub-mix');
    await subscribe(sub, 'mix/b', 2);
    const got = nextMessage(sub, 'mix/b');
    const pub = mqtt.connect({ host: '127.0.0.1', port: broker.port, clientId: 'v4-pub', protocolVersion: 4, reconnectPeriod: 0 });
    clients.push(pub);
    await new Promise((r) => pub.once('connect', r));
    await pub.publishAsync('mix/b', 'from4', { qos: 2 });
    const m = await got;
    expect(m.payload.toString()).toBe('from4');
    expect(m.qos).toBe(2);
    expect(m.properties?.userProperties).toBeUndefined();
  });

  it('one message fans out to a 3.1.1 and a 5.0 subscriber at QoS 0, each in its own form', async () => {
    const { c: s5 } = await client('fan-5');
    await subscribe(s5, 'mix/fan', 0);
    const s4 = mqtt.connect({ host: '127.0.0.1', port: broker.port, clientId: 'fan-4', protocolVersion: 4, reconnectPeriod: 0 });
    clients.push(s4);
    await new Promise((r) => s4.once('connect', r));
    await s4.subscribeAsync('mix/fan', { qos: 0 });
    const g5 = nextMessage(s5, 'mix/fan');
    const g4 = nextMessage(s4, 'mix/fan');
    const { c: pub } = await client('fan-pub');
    await pub.publishAsync('mix/fan', 'both', { qos: 0, properties: { contentType: 'ct' } });
    expect((await g5).properties?.contentType).toBe('ct');
    expect((await g4).payload.toString()).toBe('both');
  });
});

describe('MQTT 5 protocol violations (raw socket)', () => {
  async function v5Session(id: string): Promise<RawClient> {
    const { c, connack } = await RawClient.session(broker.port, id, { protocolVersion: 5 });
    raws.push(c);
    expect(connack.reasonCode).toBe(0);
    return c;
  }

  // Each: a PUBLISH to "t" (payload "x") whose properties break a rule, and the reason code.
  const cases: [string, string, number][] = [
    ['[MQTT-4.13.1-1] a repeated property gets DISCONNECT 0x82 (protocol error)', '3009000174' + '0401000100' + '78', 0x82],
    ['[MQTT-1.5.4-1] bad UTF-8 in a user property gets DISCONNECT 0x81 (malformed)', '300c000174' + '07260001ff000161' + '78', 0x81],
    // §2.2.2.2: an identifier not valid for its packet type is a Malformed Packet.
    ['[MQTT-4.13.1-1] a property in the wrong packet (session expiry in PUBLISH) gets DISCONNECT 0x81', '300a000174' + '051100000001' + '78', 0x81],
    ['[MQTT-3.3.2-9] a topic alias above Topic Alias Maximum (max_topic_alias 10) gets DISCONNECT 0x94', '3008000174' + '0323000b' + '78', 0x94],
  ];
  for (const [name, hex, reason] of cases) {
    it(`${name} and a close`, async () => {
      const c = await v5Session(`bad-${reason}-${hex.length}`);
      c.write(Buffer.from(hex, 'hex'));
      const d = await c.next();
      expect(d.cmd).toBe('disconnect');
      expect(d.reasonCode).toBe(reason);
      expect(await c.closesWithin()).toBe(true);
    });
  }

  it('[MQTT-3.1.2-2] a 3.1.1 session gets no DISCONNECT on a violation, just the close', async () => {
    const { c } = await RawClient.session(broker.port, 'v4-bad');
    raws.push(c);
    c.write(Buffer.from([0x36, 0x00])); // PUBLISH QoS 3
    expect(await c.closesWithin()).toBe(true);
    expect(c.packets).toEqual([]);
  });
});
