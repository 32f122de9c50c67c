// MQTT 5 flow control and topic aliases against an in-process Midge: Receive Maximum both ways
// (the server's from max_inflight_messages, the client's capping the session's in-flight window)
// and topic aliases both ways (max_topic_alias inbound, the client's Topic Alias Maximum
// outbound), with byte-level clients (mqtt-packet) for the exact packets and errors, and MQTT.js.
//
// Absence of a packet is shown by order where possible: messages from one publisher to one
// subscriber keep their order, so once a later "mark" message has arrived an earlier one that
// should not be delivered would already have been.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/parse.ts';
import { listener, startBroker, type TestBroker } from '../helpers/broker.ts';
import type { RawClient } from '../helpers/raw.ts';
import { endAll, expectDisconnect, expectNext, Js5, raw5, send5 } from './v5-clients.ts';

let b: TestBroker;
/** A listener with max_topic_alias 0, beside the default one (max_topic_alias 10). */
let noAliasPort: number;

beforeAll(async () => {
  b = await startBroker({ maxInflightMessages: 3, listeners: [listener(), listener({ maxTopicAlias: 0 })] });
  noAliasPort = b.running.addresses[1].port;
});
afterEach(endAll);
afterAll(() => b.close());

let n = 0;
const id = (what: string): string => `${what}-${++n}`;

/** A raw v5 publisher's QoS 2 PUBLISH, answered by PUBREC. */
async function publish2(c: RawClient, messageId: number, topic = 'flow/q2'): Promise<void> {
  send5(c, { cmd: 'publish', topic, payload: 'x', qos: 2, messageId });
  const rec = await expectNext(c, 'pubrec');
  expect(rec.messageId).toBe(messageId);
}

describe('Receive Maximum', () => {
  it('CONNACK carries max_inflight_messages as Receive Maximum', async () => {
    const { connack } = await raw5(b.port, id('rm'));
    expect(connack.reasonCode).toBe(0);
    expect(connack.properties?.receiveMaximum).toBe(3);
  });

  it('[MQTT-3.3.4-7] a client with more unacknowledged QoS 2 PUBLISHes than Receive Maximum gets DISCONNECT 0x93', async () => {
    const { c } = await raw5(b.port, id('rm'));
    for (let i = 1; i <= 3; i++) await publish2(c, i);
    send5(c, { cmd: 'publish', topic: 'flow/q2', payload: 'x', qos: 2, messageId: 4 });
    await expectDisconnect(c, 0x93);
  });

  it('[MQTT-3.3.4-7] a PUBREL frees its place: Receive Maximum counts unacknowledged messages only', async () => {
    const { c } = await raw5(b.port, id('rm'));
    for (let i = 1; i <= 3; i++) await publish2(c, i);
    send5(c, { cmd: 'pubrel', messageId: 2 });
    expect((await expectNext(c, 'pubcomp')).messageId).toBe(2);
    await publish2(c, 4);
    // A resent (DUP) message is not a new one.
    send5(c, { cmd: 'publish', topic: 'flow/q2', payload: 'x', qos: 2, messageId: 4, dup: true });
    expect((await expectNext(c, 'pubrec')).messageId).toBe(4);
    // QoS 1 messages are acknowledged at once, so they never count.
    for (let i = 10; i < 20; i++) send5(c, { cmd: 'publish', topic: 'flow/q1', payload: 'x', qos: 1, messageId: i });
    for (let i = 10; i < 20; i++) expect((await expectNext(c, 'puback')).messageId).toBe(i);
    send5(c, { cmd: 'pingreq' });
    await expectNext(c, 'pingresp');
  });

  it("[MQTT-3.3.4-9] the broker sends no more unacknowledged QoS 1/2 PUBLISHes than the client's Receive Maximum", async () => {
    const { c } = await raw5(b.port, id('sub'), { receiveMaximum: 2 });
    send5(c, { cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'flow/rm/+', qos: 2 }] });
    await expectNext(c, 'suback');
    const pub = await Js5.connect(b.port, id('pub'));
    for (let i = 0; i < 6; i++) await pub.client.publishAsync(`flow/rm/${i % 2 ? 'a' : 'b'}`, `m${i}`, { qos: i % 2 ? 1 : 2 });
    const first = [await expectNext(c, 'publish'), await expectNext(c, 'publish')];
    expect(first.map((p) => p.payload.toString())).toEqual(['m0', 'm1']);
    // Two in flight: nothing more until one is acknowledged (the broker's own window is 3).
    expect(await c.drain(300)).toEqual([]);
    send5(c, { cmd: 'puback', messageId: first[1].messageId });
    const third = await expectNext(c, 'publish');
    expect(third.payload.toString()).toBe('m2');
    expect(await c.drain(300)).toEqual([]);
    // QoS 2: PUBREC alone does not free the place, PUBCOMP does.
    send5(c, { cmd: 'pubrec', messageId: first[0].messageId });
    expect((await expectNext(c, 'pubrel')).messageId).toBe(first[0].messageId);
    expect(await c.drain(300)).toEqual([]);
    send5(c, { cmd: 'pubcomp', messageId: first[0].messageId });
    expect((await expectNext(c, 'publish')).payload.toString()).toBe('m3');
  });

  it('[MQTT-3.3.4-10] a full window holds back PUBLISHes only', async () => {
    const { c } = await raw5(b.port, id('sub'), { receiveMaximum: 1 });
    send5(c, { cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'flow/full', qos: 1 }] });
    await expectNext(c, 'suback');
    const pub = await Js5.connect(b.port, id('pub'));
    await pub.client.publishAsync('flow/full', 'sent', { qos: 1 });
    await pub.client.publishAsync('flow/full', 'waits', { qos: 1 });
    const sent = await expectNext(c, 'publish');
    expect(sent.payload.toString()).toBe('sent');
    send5(c, { cmd: 'pingreq' });
    await expectNext(c, 'pingresp');
    send5(c, { cmd: 'subscribe', messageId: 2, subscriptions: [{ topic: 'flow/other', qos: 1 }] });
    await expectNext(c, 'suback');
    send5(c, { cmd: 'puback', messageId: sent.messageId });
    expect((await expectNext(c, 'publish')).payload.toString()).toBe('waits');
  });
});

describe('max_topic_alias', () => {
  it('is a listener option, 0..65535, default 10', () => {
    const cfg = parseConfigText('listener 1883\nlistener 1884\nmax_topic_alias 0\nlistener 1885\nmax_topic_alias 65535\n', 'm.conf');
    expect(cfg.listeners.map((l) => l.maxTopicAlias)).toEqual([undefined, 0, 65535]);
    expect(() => parseConfigText('listener 1883\nmax_topic_alias 65536\n', 'm.conf')).toThrow(/^m\.conf:2: .*out of range/);
    expect(() => parseConfigText('listener 1883\nmax_topic_alias\n', 'm.conf')).toThrow(/^m\.conf:2: /);
  });
});

describe('topic aliases from the client', () => {
  it('[MQTT-3.2.2-17] CONNACK carries max_topic_alias as Topic Alias Maximum (10 by default)', async () => {
    expect((await raw5(b.port, id('ta'))).connack.properties?.topicAliasMaximum).toBe(10);
    expect((await raw5(noAliasPort, id('ta'))).connack.properties?.topicAliasMaximum).toBeUndefined();
  });

  it('[MQTT-3.3.2-12] a topic with an alias sets it; an empty topic with the alias uses it; neither reaches subscribers', async () => {
    const sub = await Js5.connect(b.port, id('sub'));
    await sub.client.subscribeAsync('flow/alias/#', { qos: 1 });
    const { c } = await raw5(b.port, id('pub'));
    send5(c, { cmd: 'publish', topic: 'flow/alias/a', payload: 'one', qos: 1, messageId: 1, properties: { topicAlias: 10 } });
    await expectNext(c, 'puback');
    send5(c, { cmd: 'publish', topic: '', payload: 'two', qos: 1, messageId: 2, properties: { topicAlias: 10 } });
    await expectNext(c, 'puback');
    // Remapped: the alias now means another topic.
    send5(c, { cmd: 'publish', topic: 'flow/alias/b', payload: 'three', qos: 0, properties: { topicAlias: 10 } });
    send5(c, { cmd: 'publish', topic: '', payload: 'four', qos: 0, properties: { topicAlias: 10 } });
    const got = [await sub.next('flow/alias/a'), await sub.next('flow/alias/a'), await sub.next('flow/alias/b'), await sub.next('flow/alias/b')];
    expect(got.map((m) => m.payload)).toEqual(['one', 'two', 'three', 'four']);
    for (const m of got) expect(m.properties?.topicAlias).toBeUndefined();
  });

  it('[MQTT-3.3.2-9] an alias above Topic Alias Maximum gets DISCONNECT 0x94', async () => {
    const { c } = await raw5(b.port, id('ta'));
    send5(c, { cmd: 'publish', topic: 'flow/x', payload: 'x', qos: 0, properties: { topicAlias: 11 } });
    await expectDisconnect(c, 0x94);
  });

  it('[MQTT-3.2.2-17] any alias on a listener with max_topic_alias 0 gets DISCONNECT 0x94', async () => {
    const { c } = await raw5(noAliasPort, id('ta'));
    send5(c, { cmd: 'publish', topic: 'flow/x', payload: 'x', qos: 0, properties: { topicAlias: 1 } });
    await expectDisconnect(c, 0x94);
  });

  // 0x94 is for an alias above the maximum; 0 is malformed, as in Mosquitto (test/interop/wire-cases.ts).
  it('[MQTT-3.3.2-8] alias 0 gets DISCONNECT 0x81', async () => {
    const { c } = await raw5(b.port, id('ta'));
    // mqtt-packet refuses to write alias 0: PUBLISH QoS 0, topic "t", properties { 0x23: 0 }.
    c.write([0x30, 8, 0, 1, 0x74, 3, 0x23, 0, 0, 0x78]);
    await expectDisconnect(c, 0x81);
  });

  it('an empty topic with an alias never set gets DISCONNECT 0x82 (protocol error)', async () => {
    const { c } = await raw5(b.port, id('ta'));
    send5(c, { cmd: 'publish', topic: '', payload: 'x', qos: 0, properties: { topicAlias: 3 } });
    await expectDisconnect(c, 0x82);
  });

  it('[MQTT-3.3.2-7] aliases do not outlive their network connection', async () => {
    const cid = id('ta');
    const first = await raw5(b.port, cid, {}, { clean: false });
    send5(first.c, { cmd: 'publish', topic: 'flow/keep', payload: 'x', qos: 1, messageId: 1, properties: { topicAlias: 1 } });
    await expectNext(first.c, 'puback');
    first.c.end();
    await first.c.closed;
    const { c } = await raw5(b.port, cid, {}, { clean: false });
    send5(c, { cmd: 'publish', topic: '', payload: 'x', qos: 1, messageId: 2, properties: { topicAlias: 1 } });
    await expectDisconnect(c, 0x82);
  });
});

describe('topic aliases to the client', () => {
  it('[MQTT-3.1.2-26] the broker aliases the first topics, up to the client\'s Topic Alias Maximum', async () => {
    const { c } = await raw5(b.port, id('sub'), { topicAliasMaximum: 2 });
    send5(c, { cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'flow/out/#', qos: 1 }] });
    await expectNext(c, 'suback');
    const pub = await Js5.connect(b.port, id('pub'));
    const topics = ['flow/out/a', 'flow/out/a', 'flow/out/b', 'flow/out/c', 'flow/out/c', 'flow/out/b', 'flow/out/a'];
    for (const [i, t] of topics.entries()) await pub.client.publishAsync(t, `m${i}`, { qos: i % 2 ? 1 : 0 });
    const got: [string, number | undefined][] = [];
    for (let i = 0; i < topics.length; i++) {
      const p = await expectNext(c, 'publish');
      got.push([p.topic, p.properties?.topicAlias]);
      if (p.qos === 1) send5(c, { cmd: 'puback', messageId: p.messageId });
    }
    expect(got).toEqual([
      ['flow/out/a', 1],
      ['', 1],
      ['flow/out/b', 2],
      ['flow/out/c', undefined],
      ['flow/out/c', undefined],
      ['', 2],
      ['', 1],
    ]);
  });

  it('[MQTT-3.1.2-27] no aliases for a client without Topic Alias Maximum', async () => {
    const { c } = await raw5(b.port, id('sub'));
    send5(c, { cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'flow/none', qos: 0 }] });
    await expectNext(c, 'suback');
    const pub = await Js5.connect(b.port, id('pub'));
    for (let i = 0; i < 3; i++) await pub.client.publishAsync('flow/none', `m${i}`);
    for (let i = 0; i < 3; i++) {
      const p = await expectNext(c, 'publish');
      expect([p.topic, p.properties?.topicAlias]).toEqual(['flow/none', undefined]);
    }
  });

  it('[MQTT-3.3.2-7] a new connection starts without aliases', async () => {
    const cid = id('sub');
    const connect = async (): Promise<RawClient> => {
      const { c } = await raw5(b.port, cid, { topicAliasMaximum: 5, sessionExpiryInterval: 60 }, { clean: false });
      return c;
    };
    let c = await connect();
    send5(c, { cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'flow/again', qos: 0 }] });
    await expectNext(c, 'suback');
    const pub = await Js5.connect(b.port, id('pub'));
    await pub.client.publishAsync('flow/again', 'one');
    expect((await expectNext(c, 'publish')).properties?.topicAlias).toBe(1);
    c.end();
    await c.closed;
    c = await connect();
    await pub.client.publishAsync('flow/again', 'two');
    const p = await expectNext(c, 'publish');
    expect([p.topic, p.properties?.topicAlias]).toEqual(['flow/again', 1]);
  });

  it('MQTT.js with topicAliasMaximum resolves the aliases the broker sends, and sends its own', async () => {
    const sub = await Js5.connect(b.port, id('sub'), { properties: { topicAliasMaximum: 4 } });
    await sub.client.subscribeAsync('flow/js/#', { qos: 1 });
    const pub = await Js5.connect(b.port, id('pub'), { autoAssignTopicAlias: true });
    for (let i = 0; i < 4; i++) await pub.client.publishAsync(`flow/js/${i % 2}`, `m${i}`, { qos: 1 });
    const got = [await sub.next('flow/js/0'), await sub.next('flow/js/1'), await sub.next('flow/js/0'), await sub.next('flow/js/1')];
    expect(got.map((m) => m.payload)).toEqual(['m0', 'm1', 'm2', 'm3']);
    expect(got.map((m) => m.properties?.topicAlias)).toEqual([1, 2, 1, 2]);
  });
});
