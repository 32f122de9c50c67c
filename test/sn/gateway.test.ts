// The MQTT-SN gateway against MQTT clients: MQTT-SN test clients (UDP on loopback) on one side,
// MQTT.js on the TCP side, through one in-process Midge. Section numbers are the MQTT-SN 1.2
// spec's. Absence is shown by order: the gateway answers one peer's datagrams in order, so once the
// PINGRESP of a later PINGREQ has arrived (SnTestClient.sync), an earlier reply would have too.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { snDefaults } from '../../src/features/sn/config.ts';
import type { SnListenerConfig } from '../../src/config/types.ts';
import * as sn from '../../src/features/sn/codec.ts';
import { listener, startBroker, type TestBroker } from '../helpers/broker.ts';
import { shortId, SnTestClient } from './sn-client.ts';

const PREDEFINED = [
  { clientId: '*', topic: 'pre/all', id: 1 },
  { clientId: 'pre-1', topic: 'pre/mine', id: 2 },
];

async function startGateway(sn: Partial<SnListenerConfig> = {}, extra: Parameters<typeof startBroker>[0] = {}): Promise<{ b: TestBroker; udp: number }> {
  const b = await startBroker({
    listeners: [listener(), listener({ protocol: 'mqttsn', sn: { ...snDefaults(), advertiseInterval: 0, predefinedTopics: PREDEFINED, ...sn } })],
    ...extra,
  });
  return { b, udp: b.running.addresses[1].port };
}

interface Got {
  topic: string;
  payload: string;
  qos: number;
  retain: boolean;
}

/** An MQTT.js client whose messages can be awaited. */
async function mqttClient(port: number, clientId?: string): Promise<{ c: MqttClient; next: (topic: string) => Promise<Got>; got: Got[] }> {
  const c = await mqtt.connectAsync({ port, host: '127.0.0.1', reconnectPeriod: 0, clientId });
  const got: Got[] = [];
  const waiters: { topic: string; resolve: (g: Got) => void }[] = [];
  c.on('message', (topic, payload, packet) => {
    const g = { topic, payload: payload.toString(), qos: packet.qos, retain: packet.retain };
    const i = waiters.findIndex((w) => w.topic === topic);
    if (i >= 0) waiters.splice(i, 1)[0].resolve(g);
    else got.push(g);
  });
  const next = (topic: string): Promise<Got> => {
    const i = got.findIndex((g) => g.topic === topic);
    if (i >= 0) return Promise.resolve(got.splice(i, 1)[0]);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no MQTT message on ${topic}`)), 8000);
      waiters.push({ topic, resolve: (g) => (clearTimeout(t), resolve(g)) });
    });
  };
  return { c, next, got };
}

const open: SnTestClient[] = [];
const mqtts: MqttClient[] = [];
async function snClient(port: number): Promise<SnTestClient> {
  const c = await SnTestClient.open(port);
  open.push(c);
  return c;
}
async function mq(port: number, clientId?: string): Promise<Awaited<ReturnType<typeof mqttClient>>> {
  const m = await mqttClient(port, clientId);
  mqtts.push(m.c);
  return m;
}
afterEach(async () => {
  for (const c of open.splice(0)) c.close();
  await Promise.all(mqtts.splice(0).map((c) => c.endAsync(true)));
});

describe('MQTT-SN gateway: discovery, connect, publish, subscribe', () => {
  let b: TestBroker;
  let udp: number;
  let tcp: number;
  beforeAll(async () => {
    ({ b, udp } = await startGateway());
    tcp = b.port;
  });
  afterAll(() => b.close());

  it('SEARCHGW is answered with GWINFO carrying the gateway id (6.1)', async () => {
    const c = await snClient(udp);
    const gw = await c.request({ type: sn.SEARCHGW, radius: 1 }, sn.GWINFO);
    expect(gw.gwId).toBe(1);
  });

  it('CONNECT gets CONNACK accepted; PINGREQ gets PINGRESP; DISCONNECT is answered with DISCONNECT (6.2, 6.15)', async () => {
    const c = await snClient(udp);
    expect(await c.connect('basic')).toBe(sn.RC_ACCEPTED);
    await c.sync();
    expect(b.running.broker.sessions.has('basic')).toBe(true);
    await c.disconnect();
    expect(b.running.broker.sessions.has('basic')).toBe(false);
  });

  it('CONNECT with an unsupported protocol id or an empty client id is refused with "not supported"', async () => {
    const c = await snClient(udp);
    const r = c.next(sn.CONNACK);
    c.send({ type: sn.CONNECT, protocolId: 2, duration: 10, clientId: 'x', clean: true });
    expect((await r).rc).toBe(sn.RC_NOT_SUPPORTED);
    expect(await c.connect('')).toBe(sn.RC_NOT_SUPPORTED);
    expect(await c.connect('x'.repeat(24))).toBe(sn.RC_NOT_SUPPORTED);
  });

  it('REGISTER gets a topic id; PUBLISH QoS 0, 1 and 2 reach an MQTT subscriber (6.5, 6.6, 6.7)', async () => {
    const m = await mq(tcp);
    await m.c.subscribeAsync('sn/up/#', { qos: 2 });
    const c = await snClient(udp);
    await c.connect('pub-1');
    const reg = await c.register('sn/up/temp');
    expect(reg.rc).toBe(sn.RC_ACCEPTED);
    expect(reg.topicId).toBeGreaterThan(0);
    // The same name again gets the same id.
    expect((await c.register('sn/up/temp')).topicId).toBe(reg.topicId);
    const id = reg.topicId as number;

    c.publish(id, 'q0', 0);
    expect(await m.next('sn/up/temp')).toMatchObject({ payload: 'q0', qos: 0 });

    const ack = c.next(sn.PUBACK);
    const mid1 = c.publish(id, 'q1', 1);
    expect(await ack).toMatchObject({ msgId: mid1, topicId: id, rc: sn.RC_ACCEPTED });
    expect(await m.next('sn/up/temp')).toMatchObject({ payload: 'q1', qos: 1 });

    const rec = c.next(sn.PUBREC);
    const mid2 = c.publish(id, 'q2', 2);
    expect((await rec).msgId).toBe(mid2);
    // Duplicate detection: a DUP resend before PUBREL is acknowledged again, delivered once.
    const rec2 = c.next(sn.PUBREC);
    c.publish(id, 'q2', 2, { msgId: mid2, dup: true });
    expect((await rec2).msgId).toBe(mid2);
    const comp = await c.request({ type: sn.PUBREL, msgId: mid2 }, sn.PUBCOMP);
    expect(comp.msgId).toBe(mid2);
    expect(await m.next('sn/up/temp')).toMatchObject({ payload: 'q2', qos: 2 });
    c.publish(id, 'mark', 1);
    await m.next('sn/up/temp');
    expect(m.got.filter((g) => g.payload === 'q2')).toHaveLength(0);
  });

  it('PUBLISH to an unknown topic id gets PUBACK "rejected: invalid topic ID" (6.7)', async () => {
    const c = await snClient(udp);
    await c.connect('pub-2');
    for (const qos of [0, 1, 2] as const) {
      const ack = c.next(sn.PUBACK);
      c.publish(999, 'x', qos, { msgId: 50 + qos });
      expect(await ack).toMatchObject({ topicId: 999, rc: sn.RC_INVALID_TOPIC_ID });
    }
    // Predefined id unknown to this client too.
    const ack = c.next(sn.PUBACK);
    c.publish(2, 'x', 1, { topicIdType: sn.TOPIC_PREDEFINED });
    expect((await ack).rc).toBe(sn.RC_INVALID_TOPIC_ID);
  });

  it('PUBLISH with a predefined topic id and a short topic name, retained too', async () => {
    const m = await mq(tcp);
    await m.c.subscribeAsync(['pre/#', 'zz'], { qos: 1 });
    const c = await snClient(udp);
    await c.connect('pre-1');
    c.publish(1, 'all', 1, { topicIdType: sn.TOPIC_PREDEFINED });
    expect(await m.next('pre/all')).toMatchObject({ payload: 'all' });
    c.publish(2, 'mine', 1, { topicIdType: sn.TOPIC_PREDEFINED });
    expect(await m.next('pre/mine')).toMatchObject({ payload: 'mine' });
    c.publish(shortId('zz'), 'short', 1, { topicIdType: sn.TOPIC_SHORT, retain: true });
    expect(await m.next('zz')).toMatchObject({ payload: 'short' });
    const late = await mq(tcp);
    await late.c.subscribeAsync('zz');
    expect(await late.next('zz')).toMatchObject({ payload: 'short', retain: true });
  });

  it('QoS -1: a client that never connected publishes to a predefined id or short name (6.8)', async () => {
    const m = await mq(tcp);
    await m.c.subscribeAsync(['pre/all', 'm1']);
    const c = await snClient(udp);
    c.publish(1, 'minus-one', -1, { topicIdType: sn.TOPIC_PREDEFINED });
    expect(await m.next('pre/all')).toMatchObject({ payload: 'minus-one', qos: 0 });
    c.publish(shortId('m1'), 'short', -1, { topicIdType: sn.TOPIC_SHORT });
    expect(await m.next('m1')).toMatchObject({ payload: 'short', qos: 0 });
    // A client-specific predefined id is not known without a connection: dropped.
    c.publish(2, 'nope', -1, { topicIdType: sn.TOPIC_PREDEFINED });
    c.publish(1, 'after', -1, { topicIdType: sn.TOPIC_PREDEFINED });
    await m.next('pre/all');
    expect(m.got).toEqual([]);
  });

  it('SUBSCRIBE by name gets a topic id in SUBACK; MQTT publishes arrive at QoS 0, 1, 2 with their acks (6.9)', async () => {
    const c = await snClient(udp);
    await c.connect('sub-1');
    const ack = await c.subscribe('sn/down/lamp', 2);
    expect(ack).toMatchObject({ rc: sn.RC_ACCEPTED, qos: 2 });
    const id = ack.topicId as number;
    expect(id).toBeGreaterThan(0);
    const m = await mq(tcp);

    await m.c.publishAsync('sn/down/lamp', 'on0', { qos: 0 });
    expect(await c.next(sn.PUBLISH)).toMatchObject({ topicId: id, topicIdType: 0, qos: 0, payload: Buffer.from('on0') });

    await m.c.publishAsync('sn/down/lamp', 'on1', { qos: 1 });
    const p1 = await c.next(sn.PUBLISH);
    expect(p1).toMatchObject({ topicId: id, qos: 1, dup: false, payload: Buffer.from('on1') });
    c.send({ type: sn.PUBACK, topicId: id, msgId: p1.msgId, rc: 0 });

    await m.c.publishAsync('sn/down/lamp', 'on2', { qos: 2 });
    const p2 = await c.next(sn.PUBLISH);
    expect(p2).toMatchObject({ qos: 2, payload: Buffer.from('on2') });
    const rel = await c.request({ type: sn.PUBREC, msgId: p2.msgId }, sn.PUBREL);
    expect(rel.msgId).toBe(p2.msgId);
    c.send({ type: sn.PUBCOMP, msgId: p2.msgId });
    await c.sync();
    expect(c.inbox).toEqual([]);
  });

  it('a wildcard subscription gets topic id 0; the gateway REGISTERs each topic before its PUBLISH (6.9, 6.10)', async () => {
    const c = await snClient(udp);
    await c.connect('sub-2');
    const ack = await c.subscribe('sn/wild/+', 1);
    expect(ack).toMatchObject({ rc: 0, topicId: 0 });
    const m = await mq(tcp);
    await m.c.publishAsync('sn/wild/a', 'A', { qos: 1 });
    await m.c.publishAsync('sn/wild/b', 'B', { qos: 0 });
    const reg = await c.next(sn.REGISTER);
    expect(reg.topic).toBe('sn/wild/a');
    expect(reg.topicId).toBeGreaterThan(0);
    // Nothing is published before the REGACK.
    expect(c.inbox.some((p) => p.type === sn.PUBLISH)).toBe(false);
    c.send({ type: sn.REGACK, topicId: reg.topicId, msgId: reg.msgId, rc: 0 });
    const pa = await c.next(sn.PUBLISH);
    expect(pa).toMatchObject({ topicId: reg.topicId, payload: Buffer.from('A'), qos: 1 });
    c.send({ type: sn.PUBACK, topicId: pa.topicId, msgId: pa.msgId, rc: 0 });
    const reg2 = await c.next(sn.REGISTER);
    expect(reg2.topic).toBe('sn/wild/b');
    c.send({ type: sn.REGACK, topicId: reg2.topicId, msgId: reg2.msgId, rc: 0 });
    expect(await c.next(sn.PUBLISH)).toMatchObject({ topicId: reg2.topicId, payload: Buffer.from('B') });
    // Known now: the next message on sn/wild/a needs no REGISTER.
    await m.c.publishAsync('sn/wild/a', 'A2');
    expect(await c.next(sn.PUBLISH)).toMatchObject({ topicId: reg.topicId, payload: Buffer.from('A2') });
    await c.sync();
    expect(c.inbox.filter((p) => p.type === sn.REGISTER)).toEqual([]);
  });

  it('SUBSCRIBE by short name and by predefined id; UNSUBSCRIBE stops delivery (6.9, 6.11)', async () => {
    const c = await snClient(udp);
    await c.connect('pre-1');
    expect(await c.subscribe('ab', 0, sn.TOPIC_SHORT)).toMatchObject({ rc: 0, topicId: 0 });
    expect(await c.subscribe(2, 1, sn.TOPIC_PREDEFINED)).toMatchObject({ rc: 0, topicId: 2 });
    expect(await c.subscribe(77, 1, sn.TOPIC_PREDEFINED)).toMatchObject({ rc: sn.RC_INVALID_TOPIC_ID });
    const m = await mq(tcp);
    await m.c.publishAsync('ab', 'short');
    expect(await c.next(sn.PUBLISH)).toMatchObject({ topicIdType: sn.TOPIC_SHORT, topicId: shortId('ab'), payload: Buffer.from('short') });
    await m.c.publishAsync('pre/mine', 'pre', { qos: 1 });
    const p = await c.next(sn.PUBLISH);
    expect(p).toMatchObject({ topicIdType: sn.TOPIC_PREDEFINED, topicId: 2, payload: Buffer.from('pre') });
    c.send({ type: sn.PUBACK, topicId: 2, msgId: p.msgId, rc: 0 });
    const un = await c.request({ type: sn.UNSUBSCRIBE, topicIdType: sn.TOPIC_SHORT, msgId: 99, topic: 'ab' }, sn.UNSUBACK);
    expect(un.msgId).toBe(99);
    await m.c.publishAsync('ab', 'gone');
    await m.c.publishAsync('pre/mine', 'still');
    expect(await c.next(sn.PUBLISH)).toMatchObject({ payload: Buffer.from('still') });
    await c.sync();
    expect(c.inbox).toEqual([]);
  });

  it('retained messages are delivered to a new MQTT-SN subscriber, with the retain flag, after SUBACK', async () => {
    const m = await mq(tcp);
    await m.c.publishAsync('sn/ret/x', 'kept', { qos: 1, retain: true });
    const c = await snClient(udp);
    await c.connect('sub-3');
    const ack = await c.subscribe('sn/ret/x', 1);
    const p = await c.next(sn.PUBLISH);
    expect(p).toMatchObject({ retain: true, topicId: ack.topicId, payload: Buffer.from('kept'), qos: 1 });
    c.send({ type: sn.PUBACK, topicId: p.topicId, msgId: p.msgId, rc: 0 });
    // Through a wildcard: REGISTER first, then the retained PUBLISH.
    const c2 = await snClient(udp);
    await c2.connect('sub-4');
    await c2.subscribe('sn/ret/#', 0);
    const reg = await c2.next(sn.REGISTER);
    c2.send({ type: sn.REGACK, topicId: reg.topicId, msgId: reg.msgId, rc: 0 });
    expect(await c2.next(sn.PUBLISH)).toMatchObject({ retain: true, topicId: reg.topicId, payload: Buffer.from('kept') });
  });

  it('SN to SN: one sensor publishes, another subscribes', async () => {
    const s = await snClient(udp);
    await s.connect('sn-sub');
    const { topicId } = await s.subscribe('sn/peer', 1);
    const p = await snClient(udp);
    await p.connect('sn-pub');
    const { topicId: pid } = await p.register('sn/peer');
    p.publish(pid as number, 'hello', 0);
    expect(await s.next(sn.PUBLISH)).toMatchObject({ topicId, payload: Buffer.from('hello'), qos: 0 });
  });

  it('a client moving ports is a new client: it must CONNECT; the same client id takes the session over', async () => {
    const a = await snClient(udp);
    await a.connect('mover', { clean: false });
    await a.subscribe('sn/move', 1);
    const b2 = await snClient(udp);
    // Unknown peer: PINGREQ is answered with DISCONNECT, a PUBLISH is dropped.
    await b2.request({ type: sn.PINGREQ }, sn.DISCONNECT);
    expect(await b2.connect('mover', { clean: false })).toBe(0);
    const m = await mq(tcp);
    await m.c.publishAsync('sn/move', 'here', { qos: 1 });
    const reg = await b2.next(sn.REGISTER); // ids are per connection: registered again
    b2.send({ type: sn.REGACK, topicId: reg.topicId, msgId: reg.msgId, rc: 0 });
    expect(await b2.next(sn.PUBLISH)).toMatchObject({ payload: Buffer.from('here') });
    // The old port is no longer a client.
    await a.request({ type: sn.PINGREQ }, sn.DISCONNECT);
  });

  it('malformed datagrams are dropped; the client stays connected', async () => {
    const c = await snClient(udp);
    await c.connect('junk');
    // The last three: forwarder encapsulation headers (5.5) without a node id, without a message,
    // and around another encapsulation.
    for (const bytes of ['', '05', '0203', '05160000', '070c03000100', '01ffff16', '03fe000216', '05fe01aabb', '04fe01aa04fe01bb0216']) {
      c.send(Buffer.from(bytes, 'hex'));
    }
    await c.sync();
    expect(c.inbox).toEqual([]);
    expect(c.undecodable).toEqual([]);
    expect(b.running.broker.sessions.has('junk')).toBe(true);
  });
});

describe('MQTT-SN gateway: wills, keep-alive, sleeping clients, retries', () => {
  let b: TestBroker;
  let udp: number;
  let tcp: number;
  beforeAll(async () => {
    ({ b, udp } = await startGateway({ retryInterval: 1, retryCount: 1, advertiseInterval: 1 }, { maxQueuedMessages: 3 }));
    tcp = b.port;
  });
  afterAll(() => b.close());

  it('ADVERTISE reaches known clients on its interval (6.1)', async () => {
    const c = await snClient(udp);
    await c.connect('adv');
    expect(await c.next(sn.ADVERTISE, 4000)).toMatchObject({ gwId: 1, duration: 1 });
  });

  it('the will (WILLTOPICREQ/WILLTOPIC/WILLMSGREQ/WILLMSG) is published when the keep-alive expires (6.3, 6.4)', async () => {
    const m = await mq(tcp);
    await m.c.subscribeAsync('will/#', { qos: 1 });
    const c = await snClient(udp);
    expect(await c.connect('dies', { duration: 1, will: { topic: 'will/dies', payload: 'gone', qos: 1, retain: false } })).toBe(0);
    const w = await m.next('will/dies');
    expect(w).toMatchObject({ payload: 'gone', qos: 1 });
    expect(b.running.broker.sessions.has('dies')).toBe(false);
  });

  it('WILLTOPICUPD and WILLMSGUPD change the will; DISCONNECT publishes none (6.4)', async () => {
    const m = await mq(tcp);
    await m.c.subscribeAsync('will/#');
    const c = await snClient(udp);
    await c.connect('upd', { duration: 1, will: { topic: 'will/old', payload: 'old' } });
    expect((await c.request({ type: sn.WILLTOPICUPD, qos: 0, retain: false, topic: 'will/new' }, sn.WILLTOPICRESP)).rc).toBe(0);
    expect((await c.request({ type: sn.WILLMSGUPD, payload: Buffer.from('new') }, sn.WILLMSGRESP)).rc).toBe(0);
    expect(await m.next('will/new')).toMatchObject({ payload: 'new' });
    // A clean DISCONNECT: no will.
    const c2 = await snClient(udp);
    await c2.connect('polite', { will: { topic: 'will/polite', payload: 'x' } });
    await c2.disconnect();
    await m.c.publishAsync('will/mark', 'm');
    await m.next('will/mark');
    expect(m.got).toEqual([]);
  });

  it('an empty WILLTOPIC means no will', async () => {
    const c = await snClient(udp);
    await c.request({ type: sn.CONNECT, clean: true, will: true, protocolId: 1, duration: 30, clientId: 'nowill' }, sn.WILLTOPICREQ);
    expect((await c.request({ type: sn.WILLTOPIC, topic: '' }, sn.CONNACK)).rc).toBe(0);
  });

  it('a sleeping client: messages are buffered (bounded), PINGREQ with its id delivers them, then PINGRESP (6.14)', async () => {
    const c = await snClient(udp);
    await c.connect('sleeper', { clean: false });
    const { topicId } = await c.subscribe('sleep/t', 1);
    await c.disconnect(30);
    const m = await mq(tcp);
    for (let i = 1; i <= 5; i++) await m.c.publishAsync('sleep/t', `m${i}`, { qos: 1 });
    await m.c.publishAsync('sleep/t', 'q0', { qos: 0 });
    // A QoS 1 round trip on the same TCP connection: the broker has handled what came before.
    await m.c.publishAsync('sync', '', { qos: 1 });
    expect(c.inbox).toEqual([]);
    // Awake: max_queued_messages is 3, so m1..m3 were kept and the rest dropped.
    c.send({ type: sn.PINGREQ, clientId: 'sleeper' });
    const got: string[] = [];
    for (let i = 0; i < 3; i++) {
      const p = await c.next(sn.PUBLISH);
      expect(p.topicId).toBe(topicId);
      got.push(String(p.payload));
      // PINGRESP only once everything is acknowledged.
      expect(c.inbox.some((x) => x.type === sn.PINGRESP)).toBe(false);
      c.send({ type: sn.PUBACK, topicId, msgId: p.msgId, rc: 0 });
    }
    await c.next(sn.PINGRESP);
    expect(got).toEqual(['m1', 'm2', 'm3']);
    // Asleep again: buffered until the next wake-up.
    await m.c.publishAsync('sleep/t', 'later', { qos: 0 });
    await m.c.publishAsync('sync', '', { qos: 1 });
    c.send({ type: sn.PINGREQ, clientId: 'sleeper' });
    expect(await c.next(sn.PUBLISH)).toMatchObject({ payload: Buffer.from('later') });
    await c.next(sn.PINGRESP);
    // CONNECT makes it active again, with the same session.
    expect(await c.connect('sleeper', { clean: false })).toBe(0);
    await m.c.publishAsync('sleep/t', 'awake', { qos: 0 });
    const reg = await c.next(sn.REGISTER);
    c.send({ type: sn.REGACK, topicId: reg.topicId, msgId: reg.msgId, rc: 0 });
    expect(await c.next(sn.PUBLISH)).toMatchObject({ payload: Buffer.from('awake') });
  });

  it('a sleeper that misses its sleep duration is lost: its will is published (6.14)', async () => {
    const m = await mq(tcp);
    await m.c.subscribeAsync('will/sleepy');
    const c = await snClient(udp);
    await c.connect('sleepy', { duration: 60, will: { topic: 'will/sleepy', payload: 'lost' } });
    await c.disconnect(1);
    expect(await m.next('will/sleepy')).toMatchObject({ payload: 'lost' });
  });

  it('unacknowledged QoS 1 PUBLISH is resent with DUP after Tretry; after Nretry the client is lost (6.13)', async () => {
    const m = await mq(tcp);
    await m.c.subscribeAsync('will/deaf');
    const c = await snClient(udp);
    await c.connect('deaf', { duration: 60, will: { topic: 'will/deaf', payload: 'lost' } });
    const { topicId } = await c.subscribe('retry/t', 1);
    await m.c.publishAsync('retry/t', 'r', { qos: 1 });
    const first = await c.next(sn.PUBLISH);
    expect(first).toMatchObject({ dup: false, topicId });
    const again = await c.next(sn.PUBLISH, 4000);
    expect(again).toMatchObject({ dup: true, msgId: first.msgId, payload: Buffer.from('r') });
    expect(await m.next('will/deaf')).toMatchObject({ payload: 'lost' });
  });

  it('an unanswered PUBREL is resent; PUBCOMP then completes the QoS 2 delivery (6.13)', async () => {
    const c = await snClient(udp);
    await c.connect('rel', { duration: 60 });
    const { topicId } = await c.subscribe('rel/t', 2);
    const m = await mq(tcp);
    await m.c.publishAsync('rel/t', 'once', { qos: 2 });
    const p = await c.next(sn.PUBLISH);
    expect(p).toMatchObject({ topicId, qos: 2 });
    const r1 = await c.request({ type: sn.PUBREC, msgId: p.msgId }, sn.PUBREL);
    const r2 = await c.next(sn.PUBREL, 4000);
    expect(r2.msgId).toBe(r1.msgId);
    c.send({ type: sn.PUBCOMP, msgId: p.msgId });
    await m.c.publishAsync('rel/t', 'next', { qos: 0 });
    expect(await c.next(sn.PUBLISH)).toMatchObject({ payload: Buffer.from('next') });
  });

  it('a repeated wake-up PINGREQ (its PINGRESP lost) is answered again, and the client sleeps on', async () => {
    const c = await snClient(udp);
    await c.connect('nap', { clean: false, duration: 60 });
    const { topicId } = await c.subscribe('nap/x', 0);
    await c.disconnect(30);
    c.send({ type: sn.PINGREQ, clientId: 'nap' });
    await c.next(sn.PINGRESP);
    c.send({ type: sn.PINGREQ, clientId: 'nap' });
    await c.next(sn.PINGRESP);
    // Still asleep: a message waits for the next wake-up.
    const m = await mq(tcp);
    await m.c.publishAsync('nap/x', 'later', { qos: 1 });
    await c.sync(); // a PINGREQ without client id does not wake it
    expect(c.inbox).toEqual([]);
    c.send({ type: sn.PINGREQ, clientId: 'nap' });
    expect(await c.next(sn.PUBLISH)).toMatchObject({ topicId, payload: Buffer.from('later') });
    await c.next(sn.PINGRESP);
  });

  it('an unanswered REGISTER is resent, and an acknowledged retry completes the delivery', async () => {
    const c = await snClient(udp);
    await c.connect('slowreg', { duration: 60 });
    await c.subscribe('slow/#', 0);
    const m = await mq(tcp);
    await m.c.publishAsync('slow/x', 'x');
    const r1 = await c.next(sn.REGISTER);
    const r2 = await c.next(sn.REGISTER, 4000);
    expect(r2).toMatchObject({ msgId: r1.msgId, topicId: r1.topicId, topic: 'slow/x' });
    c.send({ type: sn.REGACK, topicId: r2.topicId, msgId: r2.msgId, rc: 0 });
    expect(await c.next(sn.PUBLISH)).toMatchObject({ payload: Buffer.from('x') });
  });

  it('a REGACK refusing the topic drops that message; the next topic is still delivered', async () => {
    const c = await snClient(udp);
    await c.connect('picky', { duration: 60 });
    await c.subscribe('picky/#', 1);
    const m = await mq(tcp);
    await m.c.publishAsync('picky/no', 'no', { qos: 1 });
    await m.c.publishAsync('picky/yes', 'yes', { qos: 1 });
    const r1 = await c.next(sn.REGISTER);
    c.send({ type: sn.REGACK, topicId: r1.topicId, msgId: r1.msgId, rc: sn.RC_NOT_SUPPORTED });
    const r2 = await c.next(sn.REGISTER);
    expect(r2.topic).toBe('picky/yes');
    c.send({ type: sn.REGACK, topicId: r2.topicId, msgId: r2.msgId, rc: 0 });
    expect(await c.next(sn.PUBLISH)).toMatchObject({ payload: Buffer.from('yes') });
  });
});

describe('MQTT-SN gateway: limits', () => {
  let b: TestBroker;
  let udp: number;
  beforeAll(async () => {
    ({ b, udp } = await startGateway({ maxClients: 3, maxTopics: 2 }, { messageSizeLimit: 100 }));
  });
  afterAll(() => b.close());

  it('sn_max_clients: a client over the limit gets CONNACK "rejected: congestion"', async () => {
    const cs = await Promise.all([1, 2, 3, 4].map(() => snClient(udp)));
    expect(await cs[0].connect('lim-1')).toBe(0);
    expect(await cs[1].connect('lim-2')).toBe(0);
    expect(await cs[2].connect('lim-3')).toBe(0);
    expect(await cs[3].connect('lim-4')).toBe(sn.RC_CONGESTION);
    await cs[0].disconnect();
    expect(await cs[3].connect('lim-4')).toBe(0);
    for (const c of [cs[1], cs[2], cs[3]]) await c.disconnect();
  });

  it('topic ids per client are limited (1000; 2 here): a REGISTER over the limit gets "rejected: congestion"; SUBSCRIBE too', async () => {
    const c = await snClient(udp);
    await c.connect('topics');
    expect((await c.register('t/1')).rc).toBe(0);
    expect((await c.register('t/2')).rc).toBe(0);
    expect((await c.register('t/3')).rc).toBe(sn.RC_CONGESTION);
    expect((await c.register('t/1')).rc).toBe(0); // known names still answer
    expect((await c.subscribe('t/4', 0)).rc).toBe(sn.RC_CONGESTION);
    await c.disconnect();
  });

  it('message_size_limit applies to MQTT-SN publishes (acknowledged, dropped); a datagram over 65535 bytes cannot be framed', async () => {
    const m = await mq(b.port);
    await m.c.subscribeAsync('big/#');
    const c = await snClient(udp);
    await c.connect('big');
    const { topicId } = await c.register('big/x');
    const ack = c.next(sn.PUBACK);
    c.publish(topicId as number, Buffer.alloc(101), 1);
    expect((await ack).rc).toBe(0);
    c.publish(topicId as number, 'small', 0);
    expect(await m.next('big/x')).toMatchObject({ payload: 'small' });
    expect(m.got).toEqual([]);
    await c.disconnect();
  });

  it('a flood of datagrams from one address (bounded: 20 000) keeps state bounded and the gateway responsive', async () => {
    const c = await snClient(udp);
    const before = b.running.broker.sessions.size;
    // Junk, CONNECTs under ever new client ids from one port, and REGISTERs: one address keeps one
    // client, and that client at most maxTopics ids.
    for (let i = 0; i < 20_000; i++) {
      if (i % 4 === 0) c.send(Buffer.from([3, 0x1f, i & 255]));
      else if (i % 4 === 1) c.send({ type: sn.CONNECT, clean: true, protocolId: 1, duration: 60, clientId: `f${i % 5000}` });
      else if (i % 4 === 2) c.send({ type: sn.REGISTER, topicId: 0, msgId: i & 0xffff, topic: `flood/${i}` });
      else c.send({ type: sn.PUBLISH, qos: 0, topicIdType: 0, topicId: 1, msgId: 0, payload: Buffer.from('x') });
      if (i % 500 === 0) await new Promise((r) => setImmediate(r)); // let the socket drain
    }
    // The flooder's socket overflowed with replies; a fresh client shows the gateway still answers,
    // after the backlog, and that one address held one session at a time.
    // UDP drops what the kernel's buffer cannot hold, so the client retransmits its CONNECT (as
    // MQTT-SN clients do, every Tretry) until the backlog has passed: at most 40 tries.
    const fresh = await snClient(udp);
    let rc: number | undefined;
    for (let i = 0; i < 40 && rc === undefined; i++) {
      const ack = fresh.next(sn.CONNACK, 250).catch(() => undefined);
      fresh.send({ type: sn.CONNECT, clean: true, protocolId: 1, duration: 60, clientId: 'after-flood' });
      rc = (await ack)?.rc;
    }
    expect(rc).toBe(0);
    await fresh.sync();
    expect(b.running.broker.sessions.size).toBeLessThanOrEqual(before + 2);
    expect(b.running.broker.sessions.has('after-flood')).toBe(true);
  });
});

describe('MQTT-SN gateway: clients are anonymous (allow_anonymous, ACL)', () => {
  it('allow_anonymous false refuses MQTT-SN clients and their QoS -1 publishes', async () => {
    const { b, udp } = await startGateway({}, { allowAnonymous: false });
    try {
      const c = await snClient(udp);
      expect(await c.connect('anon')).toBe(sn.RC_NOT_SUPPORTED);
      expect(b.running.broker.sessions.has('anon')).toBe(false);
    } finally {
      await b.close();
    }
  });

  it("the ACL's rules for anonymous clients apply to publish and subscribe", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'midge-sn-acl-'));
    const aclFile = join(dir, 'acl');
    writeFileSync(aclFile, 'topic read sn/#\ntopic write sn/ok/#\n');
    const { b, udp } = await startGateway({}, { allowAnonymous: true, aclFile });
    try {
      const m = await mq(b.port);
      await m.c.subscribeAsync('sn/#');
      const c = await snClient(udp);
      expect(await c.connect('acl-1')).toBe(0);
      const no = (await c.register('sn/no/x')).topicId as number;
      const ok = (await c.register('sn/ok/x')).topicId as number;
      c.publish(no, 'denied', 0);
      c.publish(ok, 'allowed', 0);
      expect(await m.next('sn/ok/x')).toMatchObject({ payload: 'allowed' });
      expect(m.got).toEqual([]);
      expect((await c.subscribe('other/#', 0)).rc).toBe(sn.RC_NOT_SUPPORTED);
      expect((await c.subscribe('sn/#', 0)).rc).toBe(sn.RC_ACCEPTED);
    } finally {
      await b.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
