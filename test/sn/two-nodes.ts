// The forwarder scenario the UDP and serial tests share: two wireless nodes behind one forwarder
// connect, register, publish at QoS -1/0/1/2, subscribe, sleep and go silent independently of
// each other, while an MQTT.js subscriber watches (MQTT-SN 1.2 §5.5: each node is a client).
import mqtt, { type MqttClient } from 'mqtt';
import { expect } from 'vitest';
import * as sn from '../../src/features/sn/codec.ts';
import type { TestBroker } from '../helpers/broker.ts';
import type { Forwarder, SnNode } from './forwarder.ts';
import { shortId } from './sn-client.ts';

/** An MQTT.js client whose messages are awaited by topic (and payload). */
export interface Watcher {
  c: MqttClient;
  /** Every message so far, as `topic payload`. */
  seen: string[];
  /** The first message on `topic` whose payload is `payload` (or passes it), received or to come. */
  next(topic: string, payload?: string | ((s: string) => boolean), ms?: number): Promise<string>;
}

export async function watcher(port: number, filters: string[]): Promise<Watcher> {
  const c = await mqtt.connectAsync({ host: '127.0.0.1', port, reconnectPeriod: 0 });
  const seen: string[] = [];
  const unclaimed: [string, string][] = [];
  const waiters: { t: string; p?: string | ((s: string) => boolean); r: (s: string) => void }[] = [];
  const fits = (p: string | ((s: string) => boolean) | undefined, s: string): boolean =>
    p === undefined || (typeof p === 'string' ? p === s : p(s));
  c.on('message', (t, p) => {
    const s = p.toString();
    seen.push(`${t} ${s}`);
    const i = waiters.findIndex((w) => w.t === t && fits(w.p, s));
    if (i >= 0) waiters.splice(i, 1)[0].r(s);
    else unclaimed.push([t, s]);
  });
  await c.subscribeAsync(filters, { qos: 2 });
  return {
    c,
    seen,
    next(t, p, ms = 8000) {
      const i = unclaimed.findIndex(([ut, up]) => ut === t && fits(p, up));
      if (i >= 0) return Promise.resolve(unclaimed.splice(i, 1)[0][1]);
      return new Promise((resolve, reject) => {
        const w = { t, p, r: (s: string) => (clearTimeout(timer), resolve(s)) };
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(w), 1);
          reject(new Error(`no MQTT message on ${t}${p === undefined ? '' : ` = ${p}`} within ${ms} ms`));
        }, ms);
        waiters.push(w);
      });
    },
  };
}

/** PUBLISH at QoS 0, 1 and 2 (with their acknowledgements) and -1 (short topic name `short`). */
async function publishAll(n: SnNode, topicId: number, name: string, short: string): Promise<void> {
  n.publish(topicId, `${name}0`, 0);
  const m1 = n.publish(topicId, `${name}1`, 1);
  const ack = await n.next(sn.PUBACK);
  expect(ack).toMatchObject({ msgId: m1, topicId, rc: sn.RC_ACCEPTED });
  const m2 = n.publish(topicId, `${name}2`, 2);
  expect((await n.next(sn.PUBREC)).msgId).toBe(m2);
  expect((await n.request({ type: sn.PUBREL, msgId: m2 }, sn.PUBCOMP)).msgId).toBe(m2);
  n.publish(shortId(short), `${name}-1`, -1, { topicIdType: sn.TOPIC_SHORT });
}

/** A PUBLISH to the node, acknowledged as its QoS asks; returns its payload. */
async function receive(n: SnNode): Promise<string> {
  const p = await n.next(sn.PUBLISH);
  if (p.qos === 1) n.send({ type: sn.PUBACK, topicId: p.topicId, msgId: p.msgId, rc: 0 });
  return (p.payload as Buffer).toString();
}

/**
 * The scenario; `tag` keeps its topics and client ids apart from other runs on the same broker.
 * Node A: 2-byte id, keep-alive 60 s, sleeps. Node B: 8-byte id (an 802.15.4 long address),
 * keep-alive 3 s, goes silent at the end: only B's will is published.
 */
export async function twoNodes(fwd: Forwarder, b: TestBroker, tag: string): Promise<void> {
  const w = await watcher(b.port, [`${tag}/#`, 'qa', 'qb']);
  try {
    const A = fwd.node('1a2b');
    const B = fwd.node('0013a20041b2c3d4', 2); // Ctrl radius 2 on B's messages: the reply Ctrl is still 0
    const idA = `${tag}-A`;
    const idB = `${tag}-B`;
    expect(await A.connect(idA, { duration: 60, will: { topic: `${tag}/will/A`, payload: 'A lost' } })).toBe(sn.RC_ACCEPTED);
    expect(await B.connect(idB, { duration: 3, will: { topic: `${tag}/will/B`, payload: 'B lost' } })).toBe(sn.RC_ACCEPTED);
    // The forwarder's own plain client on the same link, beside its nodes.
    expect(await fwd.self.connect(`${tag}-fwd`)).toBe(sn.RC_ACCEPTED);
    const sessions = b.running.broker.sessions;
    expect([idA, idB, `${tag}-fwd`].every((id) => sessions.has(id))).toBe(true);

    // Topic ids are per client: each node registers its own topic.
    const ta = (await A.register(`${tag}/A/t`)).topicId as number;
    const tb = (await B.register(`${tag}/B/t`)).topicId as number;
    await publishAll(A, ta, 'A', 'qa');
    await publishAll(B, tb, 'B', 'qb');
    for (const [name, short] of [['A', 'qa'], ['B', 'qb']]) {
      for (const q of ['0', '1', '2']) expect(await w.next(`${tag}/${name}/t`, `${name}${q}`)).toBe(`${name}${q}`);
      expect(await w.next(short, `${name}-1`)).toBe(`${name}-1`);
    }

    // Subscriptions: A to its name (topic id in SUBACK), B by wildcard (the gateway REGISTERs).
    const subA = await A.subscribe(`${tag}/cmd/A`, 1);
    expect(subA.rc).toBe(sn.RC_ACCEPTED);
    expect((await B.subscribe(`${tag}/cmd/+/B`, 1)).rc).toBe(sn.RC_ACCEPTED);
    await w.c.publishAsync(`${tag}/cmd/A`, 'to A', { qos: 1 });
    await w.c.publishAsync(`${tag}/cmd/x/B`, 'to B', { qos: 1 });
    expect(await receive(A)).toBe('to A');
    const reg = await B.next(sn.REGISTER);
    expect(reg.topic).toBe(`${tag}/cmd/x/B`);
    B.send({ type: sn.REGACK, topicId: reg.topicId, msgId: reg.msgId, rc: sn.RC_ACCEPTED });
    expect(await receive(B)).toBe('to B');
    await A.sync();
    await B.sync();
    expect(A.inbox.filter((p) => p.type === sn.PUBLISH || p.type === sn.REGISTER)).toEqual([]);
    expect(B.inbox.filter((p) => p.type === sn.PUBLISH)).toEqual([]);

    // A sleeps (6.14): its message waits; B, awake, gets its own at once.
    await A.disconnect(60);
    await w.c.publishAsync(`${tag}/cmd/A`, 'while asleep', { qos: 1 });
    await w.c.publishAsync(`${tag}/cmd/y/B`, 'B awake', { qos: 1 });
    const reg2 = await B.next(sn.REGISTER);
    B.send({ type: sn.REGACK, topicId: reg2.topicId, msgId: reg2.msgId, rc: sn.RC_ACCEPTED });
    expect(await receive(B)).toBe('B awake');
    // The gateway sends in order: A's message, had it been sent, came before B's.
    expect(A.inbox.filter((p) => p.type === sn.PUBLISH)).toEqual([]);
    // A wakes with PINGREQ and its client id: the waiting message, then PINGRESP.
    const pong = A.next(sn.PINGRESP);
    A.send({ type: sn.PINGREQ, clientId: idA });
    expect(await receive(A)).toBe('while asleep');
    await pong;

    // Replies came wrapped in each node's own header with Ctrl 0, none to an unknown node id.
    expect(A.ctrls.length).toBeGreaterThan(5);
    expect(B.ctrls.length).toBeGreaterThan(5);
    expect([...A.ctrls, ...B.ctrls].every((c) => c === 0)).toBe(true);
    expect(fwd.strays).toEqual([]);
    expect([...A.undecodable, ...B.undecodable, ...fwd.self.undecodable]).toEqual([]);

    // B goes silent: after 1.5 × its keep-alive it is lost and its will published; A, asleep for
    // 60 s, and the forwarder's own client stay.
    expect(await w.next(`${tag}/will/B`, 'B lost', 12_000)).toBe('B lost');
    expect(sessions.has(idB)).toBe(false);
    expect(sessions.has(idA)).toBe(true);
    expect(w.seen.filter((s) => s.startsWith(`${tag}/will/A`))).toEqual([]);
    // A is still served: awake and back to sleep.
    A.send({ type: sn.PINGREQ, clientId: idA });
    await A.next(sn.PINGRESP);
    await fwd.self.disconnect();
  } finally {
    await w.c.endAsync(true);
  }
}
