// MQTT 5 message and connection lifetime: Message Expiry Interval (§3.3.2.3.3), Server Keep Alive
// (§3.2.2.3.14), Maximum Packet Size both ways (§3.1.2.11.4, §3.2.2.3.6) and the server's
// DISCONNECT reason codes for keep-alive timeout and shutdown, with MQTT.js v5 and raw packets.
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { RawClient } from '../helpers/raw.ts';
import { Clients, controlClock, drop, until } from './lifetime-helpers.ts';

let b: TestBroker;
const clients = new Clients(() => b);
let n = 0;
const id = (what: string): string => `${what}-${++n}`;

beforeAll(async () => {
  b = await startBroker({ maxKeepalive: 30 });
});
afterEach(() => {
  clients.closeAll();
  vi.useRealTimers();
});
afterAll(() => b.close());

describe('Message Expiry Interval', () => {
  it('[MQTT-3.3.2-5] a queued message whose interval passed is not delivered; [MQTT-3.3.2-6] the others carry the time left', async () => {
    const clock = controlClock(b);
    const cid = id('mx');
    const props = { sessionExpiryInterval: 3600 };
    const sub = await clients.connect({ clientId: cid, clean: false, properties: props });
    await sub.c.subscribeAsync('mx/#', { qos: 1 });
    await drop(b, sub.c, cid);
    const pub = await clients.connect();
    await pub.c.publishAsync('mx/short', 'a', { qos: 1, properties: { messageExpiryInterval: 5 } });
    await pub.c.publishAsync('mx/long', 'b', { qos: 1, properties: { messageExpiryInterval: 60 } });
    await pub.c.publishAsync('mx/none', 'c', { qos: 1 });
    clock.advance(10);
    const back = await clients.connect({ clientId: cid, clean: false, properties: props });
    await back.inbox.waitFor('mx/none');
    expect(back.inbox.all.map((m) => [m.topic, m.properties?.messageExpiryInterval])).toEqual([
      ['mx/long', 50],
      ['mx/none', undefined],
    ]);
  });

  it('[MQTT-4.4.0-1] an unacknowledged message is resent after its expiry (its delivery had begun), with an interval of 0', async () => {
    const clock = controlClock(b);
    const cid = id('inflight');
    const props = { sessionExpiryInterval: 600 };
    const { c } = await RawClient.session(b.port, cid, { protocolVersion: 5, clean: false, properties: props });
    c.send({ cmd: 'subscribe', protocolVersion: 5, messageId: 1, subscriptions: [{ topic: 'fx/t', qos: 1 }] });
    expect((await c.next()).cmd).toBe('suback');
    const pub = await clients.connect();
    await pub.c.publishAsync('fx/t', 'late', { qos: 1, properties: { messageExpiryInterval: 5 } });
    const first = await c.next();
    expect(first).toMatchObject({ cmd: 'publish', topic: 'fx/t', dup: false, properties: { messageExpiryInterval: 5 } });
    c.end(); // no PUBACK
    await c.closed;
    await until(() => b.running.broker.sessions.get(cid)?.outlet === null);
    clock.advance(10);
    const again = await RawClient.session(b.port, cid, { protocolVersion: 5, clean: false, properties: props });
    expect(again.connack.sessionPresent).toBe(true);
    expect(await again.c.next()).toMatchObject({ cmd: 'publish', messageId: first.messageId, dup: true, properties: { messageExpiryInterval: 0 } });
    again.c.end();
  });

  it('[MQTT-3.3.2-6] a live subscriber gets the interval as published', async () => {
    const sub = await clients.connect();
    await sub.c.subscribeAsync('ml/t', { qos: 0 });
    const pub = await clients.connect();
    await pub.c.publishAsync('ml/t', 'x', { qos: 0, properties: { messageExpiryInterval: 120, contentType: 'text/plain' } });
    expect((await sub.inbox.waitFor('ml/t')).properties).toEqual({ messageExpiryInterval: 120, contentType: 'text/plain' });
  });

  it('a retained message expires: later subscribers get the time left, then nothing, and the store lets it go', async () => {
    const clock = controlClock(b);
    const pub = await clients.connect();
    await pub.c.publishAsync('rx/a', 'expiring', { qos: 1, retain: true, properties: { messageExpiryInterval: 20 } });
    await pub.c.publishAsync('rx/b', 'kept', { qos: 1, retain: true });
    const size = b.running.broker.retained.size;
    clock.advance(5);
    const early = await clients.connect();
    await early.c.subscribeAsync('rx/#', { qos: 1 });
    await early.inbox.waitFor('rx/b');
    expect(early.inbox.all.map((m) => [m.topic, m.retain, m.properties?.messageExpiryInterval])).toEqual([
      ['rx/a', true, 15],
      ['rx/b', true, undefined],
    ]);
    clock.advance(16);
    const late = await clients.connect();
    await late.c.subscribeAsync('rx/#', { qos: 1 });
    await late.inbox.waitFor('rx/b');
    expect(late.inbox.topics()).toEqual(['rx/b']);
    expect(b.running.broker.retained.size).toBe(size - 1);
  });
});

describe('Keep Alive', () => {
  it('[MQTT-3.2.2-21] with max_keepalive, a v5 client asking for 0 or more is told Server Keep Alive instead of refused', async () => {
    for (const keepalive of [0, 100]) {
      const { connack } = await clients.connect({ keepalive });
      expect(connack.reasonCode).toBe(0);
      expect(connack.properties?.serverKeepAlive).toBe(30);
    }
  });

  it('[MQTT-3.2.2-22] a keep-alive within max_keepalive is used as asked, without Server Keep Alive', async () => {
    const { connack } = await clients.connect({ keepalive: 20 });
    expect(connack.properties?.serverKeepAlive).toBeUndefined();
  });

  it('[MQTT-3.1.2-22] 1.5 x the keep-alive without a packet: DISCONNECT 0x8D (Keep Alive timeout), then close', async () => {
    const clock = controlClock(b);
    // Asked for 0: the server's 30 s applies.
    const { c, connack } = await RawClient.session(b.port, id('ka'), { protocolVersion: 5, keepalive: 0 });
    expect(connack.properties?.serverKeepAlive).toBe(30);
    clock.advance(46);
    expect(await c.next()).toMatchObject({ cmd: 'disconnect', reasonCode: 0x8d });
    expect(await c.closesWithin()).toBe(true);
  });
});

describe('Maximum Packet Size', () => {
  it('[MQTT-3.1.2-24] [MQTT-3.1.2-25] a PUBLISH larger than the client allows is not sent, and counts as delivered', async () => {
    const cid = id('mps');
    const sub = await clients.connect({ clientId: cid, properties: { maximumPacketSize: 100 } });
    await sub.c.subscribeAsync('mps/#', { qos: 1 });
    const pub = await clients.connect();
    const dropped = b.running.broker.stats.messagesDropped;
    await pub.c.publishAsync('mps/big', Buffer.alloc(200, 0x61), { qos: 1 });
    await pub.c.publishAsync('mps/big0', Buffer.alloc(200, 0x61), { qos: 0 });
    await pub.c.publishAsync('mps/small', 'ok', { qos: 1 });
    await sub.inbox.waitFor('mps/small');
    expect(sub.inbox.topics()).toEqual(['mps/small']);
    expect(b.running.broker.stats.messagesDropped).toBe(dropped + 2);
    // Nothing waits for a PUBACK that will never come (once the small one's PUBACK is in).
    await until(() => b.running.broker.sessions.get(cid)!.inflightCount === 0);
  });

  it('[MQTT-3.3.2-10] a topic alias given to a PUBLISH that was too large is not used by the next one', async () => {
    const cid = id('mpa');
    const sub = await clients.connect({ clientId: cid, properties: { maximumPacketSize: 100, topicAliasMaximum: 5 } });
    await sub.c.subscribeAsync('mpa/t', { qos: 1 });
    const pub = await clients.connect();
    await pub.c.publishAsync('mpa/t', Buffer.alloc(200, 0x61), { qos: 1 });
    await pub.c.publishAsync('mpa/t', 'ok', { qos: 1 });
    await sub.inbox.waitFor('mpa/t');
    expect(sub.inbox.all.map((m) => [m.topic, m.payload.toString()])).toEqual([['mpa/t', 'ok']]);
  });
});

describe('a broker with max_packet_size', () => {
  let m: TestBroker;
  beforeAll(async () => {
    m = await startBroker({ maxPacketSize: 200 });
  });
  afterAll(() => m.close());

  it('advertises it in CONNACK (Maximum Packet Size) and answers a larger packet with DISCONNECT 0x95', async () => {
    const { c, connack } = await RawClient.session(m.port, id('big'), { protocolVersion: 5 });
    expect(connack.properties?.maximumPacketSize).toBe(200);
    c.send({ cmd: 'publish', protocolVersion: 5, topic: 'x', payload: Buffer.alloc(300), qos: 0 });
    expect(await c.next()).toMatchObject({ cmd: 'disconnect', reasonCode: 0x95 });
    expect(await c.closesWithin()).toBe(true);
  });
});

describe('broker shutdown', () => {
  it('sends v5 clients DISCONNECT 0x8B (Server shutting down)', async () => {
    const s = await startBroker();
    const { c } = await RawClient.session(s.port, id('bye'), { protocolVersion: 5 });
    await s.close();
    expect(await c.next()).toMatchObject({ cmd: 'disconnect', reasonCode: 0x8b });
    expect(await c.closesWithin()).toBe(true);
  });
});
