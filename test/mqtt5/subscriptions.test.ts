// MQTT 5 subscription options (No Local, Retain As Published, Retain Handling), subscription
// identifiers, and negative acknowledgements (SUBACK reason codes per filter, PUBACK/PUBREC 0x87
// for ACL denials, 0x10 for no subscribers) against an in-process Midge with an acl_file.
//
// Absence of a message is shown by order: messages from one publisher to one subscriber keep
// their order, and retained messages follow their SUBACK at once, so once a later "mark" message
// has arrived, a message that should not be delivered would already have been.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { RawClient } from '../helpers/raw.ts';
import { endAll, expectDisconnect, expectNext, Js5, raw5, send5, subIds } from './v5-clients.ts';

// Anonymous clients (rules above any `user` line): everything under sub/, read-only ro/.
const ACL = `topic readwrite sub/#
topic deny sub/secret/#
topic read ro/#
`;

let dir: string;
let b: TestBroker;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'midge-subs5-'));
  writeFileSync(join(dir, 'acl'), ACL);
  b = await startBroker({ aclFile: join(dir, 'acl') });
});
afterEach(endAll);
afterAll(async () => {
  await b.close();
  rmSync(dir, { recursive: true, force: true });
});

let n = 0;
const id = (what: string): string => `${what}-${++n}`;

/** Publishes `mark` on `topic` from `c` and waits for it to come back: everything sent before has arrived. */
async function mark(c: Js5, topic: string): Promise<void> {
  await c.client.publishAsync(topic, 'mark');
  await c.next(topic);
}

it('CONNACK leaves subscription identifiers and wildcards available by default (not sent, as in Mosquitto)', async () => {
  const { connack } = await raw5(b.port, id('c'));
  expect(connack.properties?.subscriptionIdentifiersAvailable).toBeUndefined();
  expect(connack.properties?.wildcardSubscriptionAvailable).toBeUndefined();
});

describe('No Local', () => {
  it("[MQTT-3.8.3-3] a client's own messages are not delivered on its No Local subscription; others' are", async () => {
    const a = await Js5.connect(b.port, id('nl'));
    await a.client.subscribeAsync('sub/nl/t', { qos: 1, nl: true });
    await a.client.subscribeAsync('sub/nl/mark', { qos: 0 });
    const other = await Js5.connect(b.port, id('other'));
    await other.client.subscribeAsync('sub/nl/t', { qos: 1 });
    await a.client.publishAsync('sub/nl/t', 'own', { qos: 1 });
    expect((await other.next('sub/nl/t')).payload).toBe('own');
    await mark(a, 'sub/nl/mark');
    expect(a.topics()).toEqual(['sub/nl/mark']);
    await other.client.publishAsync('sub/nl/t', 'theirs', { qos: 1 });
    expect((await a.next('sub/nl/t')).payload).toBe('theirs');
  });

  it('[MQTT-3.8.3-3] an overlapping subscription without No Local still delivers, once', async () => {
    const a = await Js5.connect(b.port, id('nl'));
    await a.client.subscribeAsync('sub/nlo/t', { qos: 1, nl: true });
    await a.client.subscribeAsync('sub/nlo/#', { qos: 0 });
    await a.client.publishAsync('sub/nlo/t', 'own', { qos: 1 });
    await mark(a, 'sub/nlo/mark');
    expect(a.all.map((m) => [m.topic, m.qos])).toEqual([
      ['sub/nlo/t', 0],
      ['sub/nlo/mark', 0],
    ]);
  });

  it('[MQTT-3.8.3-4] No Local on a shared subscription is a protocol error: DISCONNECT 0x82', async () => {
    const { c } = await raw5(b.port, id('nl'));
    send5(c, { cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: '$share/g/sub/nl', qos: 0, nl: true }] });
    await expectDisconnect(c, 0x82);
  });
});

describe('Retain As Published', () => {
  it('[MQTT-3.3.1-12] [MQTT-3.3.1-13] RETAIN is kept with Retain As Published, cleared without', async () => {
    const a = await Js5.connect(b.port, id('rap'));
    await a.client.subscribeAsync('sub/rap/keep', { qos: 1, rap: true });
    await a.client.subscribeAsync('sub/rap/clear', { qos: 1, rap: false });
    const pub = await Js5.connect(b.port, id('pub'));
    await pub.client.publishAsync('sub/rap/keep', 'r', { qos: 1, retain: true });
    await pub.client.publishAsync('sub/rap/clear', 'r', { qos: 1, retain: true });
    await pub.client.publishAsync('sub/rap/keep', 'live', { qos: 0 });
    expect((await a.next('sub/rap/keep')).retain).toBe(true);
    expect((await a.next('sub/rap/clear')).retain).toBe(false);
    expect((await a.next('sub/rap/keep')).retain).toBe(false);
    // Retained messages sent for a subscription are always flagged [MQTT-3.3.1-8].
    const late = await Js5.connect(b.port, id('late'));
    await late.client.subscribeAsync('sub/rap/clear', { qos: 1, rap: false });
    expect((await late.next('sub/rap/clear')).retain).toBe(true);
    await pub.client.publishAsync('sub/rap/keep', '', { retain: true });
    await pub.client.publishAsync('sub/rap/clear', '', { retain: true });
  });
});

describe('Retain Handling', () => {
  beforeAll(async () => {
    const pub = await Js5.connect(b.port, id('pub'));
    await pub.client.publishAsync('sub/rh/x', 'kept', { qos: 1, retain: true });
    endAll();
  });

  /** Subscribes twice to sub/rh/x with `rh`; the retained messages each time. */
  async function twice(rh: 0 | 1 | 2): Promise<number[]> {
    const a = await Js5.connect(b.port, id(`rh${rh}`));
    await a.client.subscribeAsync('sub/rh/mark', { qos: 0 });
    const counts: number[] = [];
    for (let i = 0; i < 2; i++) {
      await a.client.subscribeAsync('sub/rh/x', { qos: 1, rh });
      await mark(a, 'sub/rh/mark');
      counts.push(a.all.splice(0).filter((m) => m.topic === 'sub/rh/x' && m.retain && m.payload === 'kept').length);
    }
    return counts;
  }

  it('[MQTT-3.3.1-9] 0: retained messages are sent at every subscribe', async () => {
    expect(await twice(0)).toEqual([1, 1]);
  });

  it('[MQTT-3.3.1-10] 1: retained messages are sent only for a new subscription', async () => {
    expect(await twice(1)).toEqual([1, 0]);
  });

  it('[MQTT-3.3.1-11] 2: retained messages are never sent at subscribe', async () => {
    expect(await twice(2)).toEqual([0, 0]);
  });
});

describe('Subscription Identifiers', () => {
  it('[MQTT-3.3.4-3] [MQTT-3.3.4-4] a message carries the ids of every matching subscription of the client', async () => {
    const a = await Js5.connect(b.port, id('sid'));
    await a.client.subscribeAsync('sub/id/+', { qos: 1, properties: { subscriptionIdentifier: 5 } });
    await a.client.subscribeAsync('sub/id/#', { qos: 0, properties: { subscriptionIdentifier: 268435455 } });
    await a.client.subscribeAsync('sub/id/a/plain', { qos: 0 });
    const pub = await Js5.connect(b.port, id('pub'));
    await pub.client.publishAsync('sub/id/a', 'both', { qos: 1 });
    await pub.client.publishAsync('sub/id/a/b', 'one', { qos: 1 });
    await pub.client.publishAsync('sub/id/a/plain', 'plain', { qos: 1 });
    const both = await a.next('sub/id/a');
    expect([both.qos, subIds(both.properties)]).toEqual([1, [5, 268435455]]);
    expect(subIds((await a.next('sub/id/a/b')).properties)).toEqual([268435455]);
    // A subscription without an id adds none; the # subscription's still counts.
    expect(subIds((await a.next('sub/id/a/plain')).properties)).toEqual([268435455]);
  });

  it('no id property when no matching subscription has one; a new SUBSCRIBE replaces the id', async () => {
    const a = await Js5.connect(b.port, id('sid'));
    await a.client.subscribeAsync('sub/id2', { qos: 1 });
    const pub = await Js5.connect(b.port, id('pub'));
    await pub.client.publishAsync('sub/id2', 'm', { qos: 1 });
    expect((await a.next('sub/id2')).properties?.subscriptionIdentifier).toBeUndefined();
    await a.client.subscribeAsync('sub/id2', { qos: 1, properties: { subscriptionIdentifier: 2 } });
    await pub.client.publishAsync('sub/id2', 'm', { qos: 1 });
    expect(subIds((await a.next('sub/id2')).properties)).toEqual([2]);
    await a.client.subscribeAsync('sub/id2', { qos: 1, properties: { subscriptionIdentifier: 3 } });
    await pub.client.publishAsync('sub/id2', 'm', { qos: 1 });
    expect(subIds((await a.next('sub/id2')).properties)).toEqual([3]);
  });

  it('[MQTT-3.3.4-3] retained messages sent at subscribe carry that subscription\'s id', async () => {
    const pub = await Js5.connect(b.port, id('pub'));
    await pub.client.publishAsync('sub/idr/x', 'r', { qos: 1, retain: true });
    const a = await Js5.connect(b.port, id('sid'));
    await a.client.subscribeAsync('sub/idr/#', { qos: 1, properties: { subscriptionIdentifier: 9 } });
    const m = await a.next('sub/idr/x');
    expect([m.retain, subIds(m.properties)]).toEqual([true, [9]]);
    await pub.client.publishAsync('sub/idr/x', '', { retain: true });
  });

  it('ids stay with messages that wait for the in-flight window', async () => {
    const { c } = await raw5(b.port, id('sid'), { receiveMaximum: 1 });
    send5(c, { cmd: 'subscribe', messageId: 1, properties: { subscriptionIdentifier: 77 }, subscriptions: [{ topic: 'sub/idq/+', qos: 1 }] });
    await expectNext(c, 'suback');
    const pub = await Js5.connect(b.port, id('pub'));
    for (let i = 0; i < 3; i++) await pub.client.publishAsync(`sub/idq/${i}`, `m${i}`, { qos: i === 2 ? 0 : 1 });
    for (let i = 0; i < 3; i++) {
      const p = await expectNext(c, 'publish');
      expect([p.topic, subIds(p.properties)]).toEqual([`sub/idq/${i}`, [77]]);
      if (p.qos) send5(c, { cmd: 'puback', messageId: p.messageId });
    }
  });

  it('a Subscription Identifier of 0 is a protocol error: DISCONNECT 0x82', async () => {
    const { c } = await raw5(b.port, id('sid'));
    // mqtt-packet refuses to write id 0: SUBSCRIBE id 1, properties { 0x0b: 0 }, filter "t" QoS 0.
    c.write([0x82, 9, 0, 1, 2, 0x0b, 0, 0, 1, 0x74, 0]);
    await expectDisconnect(c, 0x82);
  });

  it('[MQTT-3.3.4-6] a PUBLISH from a client with a Subscription Identifier is a protocol error: DISCONNECT 0x82', async () => {
    const { c } = await raw5(b.port, id('sid'));
    send5(c, { cmd: 'publish', topic: 'sub/x', payload: 'x', qos: 0, properties: { subscriptionIdentifier: 4 } });
    await expectDisconnect(c, 0x82);
  });
});

describe('negative acknowledgements', () => {
  // A shared subscription without a share name [MQTT-4.8.2-1]. (A filter deeper than 201 levels closes the
  // connection, as in Mosquitto: test/limits.)
  const bad = '$share//sub/x';
  const filters = [
    { topic: 'sub/ok', qos: 1 },
    { topic: 'sub/secret/#', qos: 1 },
    { topic: 'elsewhere/#', qos: 2 },
    { topic: 'sub/ok2', qos: 2 },
    { topic: bad, qos: 0 },
  ];

  it('[MQTT-3.9.3-1] [MQTT-3.9.3-2] SUBACK has a reason code per filter, in order: granted QoS, 0x87 not authorized, 0x8F invalid', async () => {
    const { c } = await raw5(b.port, id('sa'));
    send5(c, { cmd: 'subscribe', messageId: 7, subscriptions: filters });
    const s = await expectNext(c, 'suback');
    expect([s.messageId, s.granted]).toEqual([7, [1, 0x87, 0x87, 2, 0x8f]]);
  });

  it('an MQTT 3.1.1 client still gets 0x80 for each refused filter', async () => {
    const { c } = await RawClient.session(b.port, id('sa'));
    c.send({ cmd: 'subscribe', messageId: 7, subscriptions: filters });
    expect((await expectNext(c, 'suback')).granted).toEqual([1, 0x80, 0x80, 2, 0x80]);
    c.end();
  });

  it('§4.3.3: a PUBREC of 0x80 or more from the client ends the QoS 2 exchange: no PUBREL, the packet id is free', async () => {
    const { c } = await raw5(b.port, id('rec'));
    send5(c, { cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'sub/rec', qos: 2 }] });
    await expectNext(c, 'suback');
    send5(c, { cmd: 'publish', topic: 'sub/rec', payload: '1', qos: 2, messageId: 9 });
    send5(c, { cmd: 'pubrel', messageId: 9 });
    const got: string[] = [];
    for (let i = 0; i < 3; i++) got.push((await c.next()).cmd);
    expect(got.sort()).toEqual(['pubcomp', 'publish', 'pubrec']);
    send5(c, { cmd: 'pubrec', messageId: 1, reasonCode: 0x80 });
    send5(c, { cmd: 'pubrec', messageId: 77, reasonCode: 0x80 }); // unknown: no PUBREL either
    send5(c, { cmd: 'pingreq' });
    expect((await c.next()).cmd).toBe('pingresp');
    expect(b.running.broker.sessions.get(`rec-${n}`)?.inflightCount).toBe(0);
  });

  it('[MQTT-3.4.2-1] [MQTT-3.5.2-1] a PUBLISH denied by the ACL gets PUBACK / PUBREC 0x87', async () => {
    const sub = await Js5.connect(b.port, id('sub'));
    await sub.client.subscribeAsync(['ro/#', 'sub/na'], { qos: 2 });
    const { c } = await raw5(b.port, id('na'));
    send5(c, { cmd: 'publish', topic: 'ro/x', payload: 'no', qos: 1, messageId: 1 });
    expect((await expectNext(c, 'puback')).reasonCode).toBe(0x87);
    // QoS 2: a PUBREC of 0x80 or more ends the exchange; the packet id is free at once.
    for (let i = 0; i < 2; i++) {
      send5(c, { cmd: 'publish', topic: 'sub/secret/x', payload: 'no', qos: 2, messageId: 2 });
      const rec = await expectNext(c, 'pubrec');
      expect([rec.messageId, rec.reasonCode]).toEqual([2, 0x87]);
    }
    send5(c, { cmd: 'publish', topic: 'sub/na', payload: 'yes', qos: 1, messageId: 3 });
    expect((await expectNext(c, 'puback')).reasonCode ?? 0).toBe(0);
    expect((await sub.next('sub/na')).payload).toBe('yes');
    expect(sub.topics()).toEqual(['sub/na']);
  });

  it('[MQTT-3.4.2-1] a PUBLISH over message_size_limit gets PUBACK 0x97 (Quota exceeded)', async () => {
    const small = await startBroker({ messageSizeLimit: 10 });
    try {
      const a = await Js5.connect(small.port, id('big'));
      await expect(a.client.publishAsync('big/x', 'x'.repeat(11), { qos: 1 })).rejects.toMatchObject({ code: 0x97 });
      await a.client.publishAsync('big/x', 'x'.repeat(10), { qos: 1 });
      a.client.end(true);
    } finally {
      await small.close();
    }
  });

  it('MQTT.js sees the 0x87 as a failed publish', async () => {
    const a = await Js5.connect(b.port, id('na'));
    await expect(a.client.publishAsync('ro/y', 'no', { qos: 1 })).rejects.toMatchObject({ code: 0x87 });
  });

  it('an MQTT 3.1.1 client\'s denied PUBLISH is acknowledged as before', async () => {
    const { c } = await RawClient.session(b.port, id('na'));
    c.send({ cmd: 'publish', topic: 'ro/x', payload: 'no', qos: 1, messageId: 1 });
    const ack = await expectNext(c, 'puback');
    expect([ack.messageId, ack.reasonCode]).toEqual([1, undefined]);
    c.end();
  });

  it('a QoS 1 PUBLISH no subscription matches gets PUBACK 0x10 No matching subscribers, still a success; QoS 2 a plain PUBREC (as Mosquitto)', async () => {
    const { c } = await raw5(b.port, id('na'));
    send5(c, { cmd: 'publish', topic: 'sub/nobody', payload: 'x', qos: 1, messageId: 1 });
    expect((await expectNext(c, 'puback')).reasonCode).toBe(0x10);
    send5(c, { cmd: 'publish', topic: 'sub/nobody', payload: 'x', qos: 2, messageId: 2 });
    expect((await expectNext(c, 'pubrec')).reasonCode ?? 0).toBe(0);
    send5(c, { cmd: 'pubrel', messageId: 2 });
    expect((await expectNext(c, 'pubcomp')).messageId).toBe(2);
  });
});
