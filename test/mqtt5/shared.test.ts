// Shared subscriptions, $share/GROUP/FILTER (MQTT 5 §4.8.2): one member of each group gets each
// message, round-robin; members that leave hand back what they had not finished. MQTT.js v5
// clients (and 3.1.1 ones: Midge, like Mosquitto, takes $share from them too), RawClient where a
// member must not acknowledge.
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { BrokerConfig } from '../../src/config/types.ts';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { requirePeer } from '../helpers/peers.ts';
import { killAll, run, spawnProc } from '../helpers/proc.ts';
import { RawClient } from '../helpers/raw.ts';

interface Got {
  topic: string;
  text: string;
  qos: number;
  retain: boolean;
  dup: boolean;
}

let b: TestBroker;
let dir: string;
const open: (MqttClient | RawClient)[] = [];
const extra: TestBroker[] = [];
const events = new EventEmitter();
events.setMaxListeners(100);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'midge-share-'));
  b = await startBroker();
});
afterEach(async () => {
  await killAll();
  for (const c of open.splice(0)) {
    if (c instanceof RawClient) c.end();
    else c.end(true);
  }
  for (const x of extra.splice(0)) await x.close();
});
afterAll(async () => {
  await b.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Resolves once `cond` holds, checked after every message any client of this file receives. */
function until(cond: () => boolean, what: string, ms = 8000): Promise<void> {
  if (cond()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const check = (): void => {
      if (!cond()) return;
      clearTimeout(t);
      events.off('msg', check);
      resolve();
    };
    const t = setTimeout(() => {
      events.off('msg', check);
      reject(new Error(`timed out waiting for ${what}`));
    }, ms);
    events.on('msg', check);
  });
}

async function client(id: string, version: 4 | 5 = 5, port = b.port): Promise<{ c: MqttClient; got: Got[] }> {
  const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { clientId: id, protocolVersion: version, reconnectPeriod: 0, keepalive: 0 });
  open.push(c);
  const got: Got[] = [];
  c.on('message', (topic, payload, p) => {
    got.push({ topic, text: payload.toString(), qos: p.qos, retain: p.retain, dup: p.dup });
    events.emit('msg');
  });
  return { c, got };
}

async function member(id: string, filter: string, qos: 0 | 1 | 2, version: 4 | 5 = 5, port = b.port) {
  const m = await client(id, version, port);
  const granted = await m.c.subscribeAsync(filter, { qos });
  expect(granted[0].qos).toBe(qos);
  return m;
}

/** A raw member that acknowledges nothing unless told to. */
async function rawMember(id: string, filter: string, qos: 0 | 1 | 2, opts: Record<string, unknown> = {}, port = b.port) {
  const { c, connack } = await RawClient.session(port, id, { protocolVersion: 5, ...opts });
  open.push(c);
  expect(connack.cmd).toBe('connack');
  c.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: filter, qos }], protocolVersion: opts.protocolVersion ?? 5 });
  expect(await c.next()).toMatchObject({ cmd: 'suback', granted: [qos] });
  return c;
}

const texts = (g: Got[]): string[] => g.map((m) => m.text).sort();
const range = (p: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${p}${i}`).sort();

async function publish(c: MqttClient, topic: string, n: number, qos: 0 | 1 | 2, prefix = 'm'): Promise<void> {
  for (let i = 0; i < n; i++) await c.publishAsync(topic, `${prefix}${i}`, { qos });
}

describe('Shared subscriptions (§4.8.2)', () => {
  it('CONNACK leaves Shared Subscription Available at its default, 1 (not sent, as in Mosquitto)', async () => {
    const { c, connack } = await RawClient.session(b.port, 'ack', { protocolVersion: 5 });
    open.push(c);
    expect(connack.properties?.sharedSubscriptionAvailable).toBeUndefined();
  });

  it('[MQTT-4.8.2-3] round-robin across three members (v5 and 3.1.1), each at its granted QoS', async () => {
    const m0 = await member('rr-0', '$share/rr/rr/t', 0);
    const m1 = await member('rr-1', '$share/rr/rr/t', 1);
    const m2 = await member('rr-2', '$share/rr/rr/t', 2, 4);
    const { c: pub } = await client('rr-pub');
    await publish(pub, 'rr/t', 30, 2);
    await until(() => m0.got.length + m1.got.length + m2.got.length >= 30, '30 messages');
    expect([m0.got.length, m1.got.length, m2.got.length]).toEqual([10, 10, 10]);
    expect(texts([...m0.got, ...m1.got, ...m2.got])).toEqual(range('m', 30));
    // In turn: member k gets messages k, k+3, ...
    expect(m1.got.map((m) => m.text)).toEqual(Array.from({ length: 10 }, (_, i) => `m${i * 3 + 1}`));
    expect(new Set(m0.got.map((m) => m.qos))).toEqual(new Set([0]));
    expect(new Set(m1.got.map((m) => m.qos))).toEqual(new Set([1]));
    expect(new Set(m2.got.map((m) => m.qos))).toEqual(new Set([2]));
  });

  it('two groups on one filter each get every message once; a plain subscriber beside them gets all', async () => {
    const a = [await member('tg-a0', '$share/a/tg/#', 1), await member('tg-a1', '$share/a/tg/#', 1)];
    const g = [await member('tg-b0', '$share/b/tg/#', 1), await member('tg-b1', '$share/b/tg/#', 1), await member('tg-b2', '$share/b/tg/#', 1, 4)];
    const plain = await member('tg-plain', 'tg/#', 1);
    // $SYS subscriptions/count counts each member's subscription, as for plain ones.
    const broker = b.running.broker;
    expect(broker.tree.count).toBe([...broker.sessions.values()].reduce((n, x) => n + x.subscriptions.size, 0));
    const { c: pub } = await client('tg-pub');
    await publish(pub, 'tg/x/y', 12, 1);
    const sum = (ms: { got: Got[] }[]): number => ms.reduce((n, m) => n + m.got.length, 0);
    await until(() => sum(a) >= 12 && sum(g) >= 12 && plain.got.length >= 12, 'every copy');
    expect(a.map((m) => m.got.length)).toEqual([6, 6]);
    expect(g.map((m) => m.got.length)).toEqual([4, 4, 4]);
    expect(texts(a.flatMap((m) => m.got))).toEqual(range('m', 12));
    expect(texts(g.flatMap((m) => m.got))).toEqual(range('m', 12));
    expect(texts(plain.got)).toEqual(range('m', 12));
  });

  it('[MQTT-3.3.1-9] only a non-shared subscription gets retained messages when it is made', async () => {
    const { c: pub } = await client('rt-pub');
    await pub.publishAsync('rt/t', 'kept', { qos: 1, retain: true });
    const plain = await member('rt-plain', 'rt/t', 1);
    await until(() => plain.got.length === 1, 'the retained message on a plain subscription');
    expect(plain.got[0]).toMatchObject({ text: 'kept', retain: true });
    const m = await member('rt-m', '$share/g/rt/t', 1);
    // A later message is the first the member sees: nothing retained came before it.
    await pub.publishAsync('rt/t', 'fresh', { qos: 1 });
    await until(() => m.got.length >= 1, 'the fresh message');
    expect(m.got.map((x) => x.text)).toEqual(['fresh']);
    expect(m.got[0].retain).toBe(false);
    await pub.publishAsync('rt/t', '', { qos: 1, retain: true });
  });

  const INVALID = ['$share//iv/t', '$share/g', '$share/g/', '$share/+/iv/t', '$share/#'];
  it('[MQTT-4.8.2-1] [MQTT-4.8.2-2] invalid share names get SUBACK 0x8F (v5); valid filters beside them are granted', async () => {
    const { c } = await RawClient.session(b.port, 'iv-5', { protocolVersion: 5 });
    open.push(c);
    const subscriptions = [...INVALID, '$share/ok/iv/t'].map((topic) => ({ topic, qos: 1 }));
    c.send({ cmd: 'subscribe', messageId: 7, subscriptions, protocolVersion: 5 });
    expect(await c.next()).toMatchObject({ cmd: 'suback', messageId: 7, granted: [0x8f, 0x8f, 0x8f, 0x8f, 0x8f, 1] });
    expect(b.running.broker.shares.has('$share/ok/iv/t')).toBe(true);
  });

  it('[MQTT-4.8.2-1] [MQTT-4.8.2-2] invalid share names from a 3.1.1 client get SUBACK 0x80', async () => {
    const { c } = await RawClient.session(b.port, 'iv-4');
    open.push(c);
    c.send({ cmd: 'subscribe', messageId: 8, subscriptions: [...INVALID, '$share/ok/iv/t'].map((topic) => ({ topic, qos: 2 })) });
    expect(await c.next()).toMatchObject({ cmd: 'suback', messageId: 8, granted: [0x80, 0x80, 0x80, 0x80, 0x80, 2] });
  });

  it('a member whose window is full is passed over while another can take the message', async () => {
    const small = await startBroker({ maxInflightMessages: 1 });
    extra.push(small);
    const r = await rawMember('wf-raw', '$share/wf/wf/t', 1, {}, small.port);
    const m = await member('wf-m', '$share/wf/wf/t', 1, 5, small.port);
    const { c: pub } = await client('wf-pub', 5, small.port);
    await publish(pub, 'wf/t', 5, 1);
    // m0 fills the raw member's window of 1 (it never acknowledges): the rest go to the other.
    await until(() => m.got.length >= 4, 'four messages');
    expect(m.got.map((x) => x.text)).toEqual(['m1', 'm2', 'm3', 'm4']);
    expect((await r.next()).payload.toString()).toBe('m0');
    expect(small.running.broker.sessions.get('wf-raw')?.queued).toBe(0);
  });

  it('unsubscribing leaves the group: the others get everything, and the last member takes the group away', async () => {
    const a = await member('us-a', '$share/us/us/t', 1);
    const bb = await member('us-b', '$share/us/us/t', 1);
    await a.c.subscribeAsync('us/barrier', { qos: 1 });
    await a.c.unsubscribeAsync('$share/us/us/t');
    const { c: pub } = await client('us-pub');
    await publish(pub, 'us/t', 4, 1);
    await until(() => bb.got.length >= 4, 'the remaining member');
    await pub.publishAsync('us/barrier', 'bar', { qos: 1 });
    await until(() => a.got.length >= 1, 'the barrier');
    expect(a.got.map((m) => m.text)).toEqual(['bar']);
    expect(texts(bb.got)).toEqual(range('m', 4));
    await bb.c.unsubscribeAsync('$share/us/us/t');
    expect(b.running.broker.shares.has('$share/us/us/t')).toBe(false);
    expect(b.running.broker.tree.match('us/t')).toEqual([]);
  });
});

describe('A member leaving hands back what it had not finished', () => {
  it('clean member closes with unacknowledged QoS 1: the other member gets them; its QoS 2 in flight is not resent [MQTT-4.8.2-5]', async () => {
    const r = await rawMember('lv-raw', '$share/lv/lv/t', 2);
    const m = await member('lv-m', '$share/lv/lv/t', 2);
    const { c: pub } = await client('lv-pub');
    // In turn: m0 (QoS 1) and m2 (QoS 2) to the raw member, m1 and m3 to the other.
    await pub.publishAsync('lv/t', 'm0', { qos: 1 });
    await pub.publishAsync('lv/t', 'm1', { qos: 1 });
    await pub.publishAsync('lv/t', 'm2', { qos: 2 });
    await pub.publishAsync('lv/t', 'm3', { qos: 2 });
    expect(await r.next()).toMatchObject({ cmd: 'publish', qos: 1 });
    expect((await r.next()).payload.toString()).toBe('m2');
    await until(() => m.got.length >= 2, 'the two of the other member');
    r.end();
    await r.closed;
    await until(() => m.got.length >= 3, 'the handed-back message');
    expect(m.got[2]).toMatchObject({ text: 'm0', qos: 1, dup: false });
    await pub.publishAsync('lv/t', 'm4', { qos: 1 });
    await until(() => m.got.length >= 4, 'the next message');
    expect(m.got.map((x) => x.text)).toEqual(['m1', 'm3', 'm0', 'm4']);
  });

  it('[MQTT-4.8.2-6] a message a member refused with PUBACK 0x80 is not sent to another member', async () => {
    const r = await rawMember('ng-raw', '$share/ng/ng/t', 1);
    const m = await member('ng-m', '$share/ng/ng/t', 1);
    const { c: pub } = await client('ng-pub');
    await pub.publishAsync('ng/t', 'm0', { qos: 1 });
    const p = await r.next();
    expect(p.payload.toString()).toBe('m0');
    r.send({ cmd: 'puback', messageId: p.messageId, reasonCode: 0x80, protocolVersion: 5 });
    // PINGRESP comes after the broker has taken the PUBACK.
    r.send({ cmd: 'pingreq' });
    expect(await r.next()).toMatchObject({ cmd: 'pingresp' });
    await pub.publishAsync('ng/t', 'm1', { qos: 1 });
    await until(() => m.got.length >= 1, 'm1');
    r.end();
    await r.closed;
    await pub.publishAsync('ng/t', 'm2', { qos: 1 });
    await until(() => m.got.length >= 2, 'm2');
    expect(m.got.map((x) => x.text)).toEqual(['m1', 'm2']);
  });

  it('[MQTT-4.8.2-4] persistent 3.1.1 member disconnects: its QoS 1 in flight go to the other member, its QoS 2 in flight come back to it', async () => {
    const opts = { protocolVersion: 4, clean: false };
    const r = await rawMember('pk-raw', '$share/pk/pk/t', 2, opts);
    r.send({ cmd: 'subscribe', messageId: 2, subscriptions: [{ topic: 'pk/barrier', qos: 0 }] });
    expect(await r.next()).toMatchObject({ cmd: 'suback' });
    const m = await member('pk-m', '$share/pk/pk/t', 2);
    const { c: pub } = await client('pk-pub');
    await pub.publishAsync('pk/t', 'm0', { qos: 1 });
    await pub.publishAsync('pk/t', 'm1', { qos: 1 });
    await pub.publishAsync('pk/t', 'm2', { qos: 2 });
    expect((await r.next()).payload.toString()).toBe('m0');
    expect((await r.next()).payload.toString()).toBe('m2');
    r.end();
    await r.closed;
    await until(() => m.got.length >= 2, 'm0 handed back');
    expect(texts(m.got)).toEqual(['m0', 'm1']);
    const { c: again, connack } = await RawClient.session(b.port, 'pk-raw', opts);
    open.push(again);
    expect(connack.sessionPresent).toBe(true);
    const resent = await again.next();
    expect(resent).toMatchObject({ cmd: 'publish', qos: 2, dup: true });
    expect(resent.payload.toString()).toBe('m2');
    await pub.publishAsync('pk/barrier', 'bar', { qos: 0 });
    // m0 is not resent: the next packet is the barrier.
    expect((await again.next()).payload.toString()).toBe('bar');
  });

  it('[MQTT-3.10.4-3] unsubscribing hands queued (never sent) messages to the others; the one in flight is completed to the member', async () => {
    const small = await startBroker({ maxInflightMessages: 1 });
    extra.push(small);
    const r = await rawMember('uq-raw', '$share/uq/uq/t', 1, {}, small.port);
    const { c: pub } = await client('uq-pub', 5, small.port);
    // Alone in the group with a window of 1: m0 in flight, m1..m3 queued on it.
    await publish(pub, 'uq/t', 4, 1);
    expect((await r.next()).payload.toString()).toBe('m0');
    const m = await member('uq-m', '$share/uq/uq/t', 1, 5, small.port);
    r.send({ cmd: 'unsubscribe', messageId: 3, unsubscriptions: ['$share/uq/uq/t'], protocolVersion: 5 });
    expect(await r.next()).toMatchObject({ cmd: 'unsuback' });
    await until(() => m.got.length >= 3, 'the queued three');
    expect(texts(m.got)).toEqual(['m1', 'm2', 'm3']);
    // The raw client acknowledges m0; nothing else reaches it.
    r.send({ cmd: 'puback', messageId: 1, protocolVersion: 5 });
    expect(await r.drain(200)).toEqual([]);
  });

  it('no member online: QoS 1 waits on a persistent member session, QoS 0 is dropped', async () => {
    const r = await rawMember('off-raw', '$share/off/off/t', 1, { protocolVersion: 4, clean: false });
    r.end();
    await r.closed;
    // The broker sees the close on its own turn; the session then has no connection.
    await vi.waitFor(() => expect(b.running.broker.sessions.get('off-raw')?.outlet).toBeNull(), { timeout: 5000 });
    const { c: pub } = await client('off-pub');
    await pub.publishAsync('off/t', 'q0', { qos: 0 });
    await pub.publishAsync('off/t', 'q1', { qos: 1 });
    const { c: again } = await RawClient.session(b.port, 'off-raw', { clean: false });
    open.push(again);
    const p = await again.next();
    expect(p).toMatchObject({ cmd: 'publish', qos: 1 });
    expect(p.payload.toString()).toBe('q1');
    again.send({ cmd: 'puback', messageId: p.messageId });
    again.send({ cmd: 'unsubscribe', messageId: 4, unsubscriptions: ['$share/off/off/t'] });
    expect(await again.next()).toMatchObject({ cmd: 'unsuback' });
  });
});

describe('ACLs and persistence', () => {
  it('the ACL judges FILTER of $share/GROUP/FILTER; a member that may not read the topic is skipped', async () => {
    const acl = join(dir, 'acl');
    writeFileSync(acl, 'user ra\ntopic read ac/#\n\nuser rb\ntopic read ac/only\n\nuser pub\ntopic write ac/#\n');
    const s = await startBroker({ aclFile: acl });
    extra.push(s);
    const login = async (user: string, id: string) => {
      const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${s.port}`, { clientId: id, username: user, protocolVersion: 5, reconnectPeriod: 0 });
      open.push(c);
      const got: string[] = [];
      c.on('message', (_t, p) => {
        got.push(p.toString());
        events.emit('msg');
      });
      return { c, got };
    };
    const a = await login('ra', 'ac-a');
    const bb = await login('rb', 'ac-b');
    expect((await a.c.subscribeAsync('$share/g/ac/#', { qos: 1 }))[0].qos).toBe(1);
    expect((await bb.c.subscribeAsync('$share/g/ac/#', { qos: 1 }))[0].qos).toBe(1);
    // A filter with nothing readable is refused, share or not.
    await expect(bb.c.subscribeAsync('$share/g/zz/#', { qos: 1 })).rejects.toThrow(/Subscribe error/);
    const { c: pub } = await login('pub', 'ac-pub');
    for (let i = 0; i < 4; i++) await pub.publishAsync('ac/x', `x${i}`, { qos: 1 });
    for (let i = 0; i < 4; i++) await pub.publishAsync('ac/only', `o${i}`, { qos: 1 });
    await until(() => a.got.length + bb.got.length >= 8, 'eight messages');
    expect(a.got.filter((t) => t.startsWith('x'))).toEqual(['x0', 'x1', 'x2', 'x3']);
    expect(bb.got.filter((t) => t.startsWith('x'))).toEqual([]);
    // ac/only alternates between both, starting with the member after the last one picked.
    expect(bb.got).toEqual(['o0', 'o2']);
    expect(a.got.length).toBe(6);
  });

  it('a persistent member keeps its $share subscription across a restart (the group is rebuilt at load)', async () => {
    const pdir = mkdtempSync(join(dir, 'persist-'));
    const cfg: Partial<BrokerConfig> = { persistence: true, persistenceLocation: pdir };
    const first = await startBroker(cfg);
    extra.push(first);
    const r = await rawMember('ps-raw', '$share/ps/ps/t', 1, { protocolVersion: 4, clean: false }, first.port);
    r.end();
    await r.closed;
    extra.splice(extra.indexOf(first), 1);
    await first.close();
    const second = await startBroker(cfg);
    extra.push(second);
    expect(second.running.broker.shares.get('$share/ps/ps/t')?.members.map((s) => s.clientId)).toEqual(['ps-raw']);
    const { c: again, connack } = await RawClient.session(second.port, 'ps-raw', { clean: false });
    open.push(again);
    expect(connack.sessionPresent).toBe(true);
    const { c: pub } = await client('ps-pub', 5, second.port);
    await pub.publishAsync('ps/t', 'after', { qos: 1 });
    const p = await again.next();
    expect(p.payload.toString()).toBe('after');
  });
});

describe.skipIf(!requirePeer('mosquitto_pub', 'mosquitto_sub'))('mosquitto_sub -V mqttv5 as members', () => {
  it('two mosquitto_sub members of one group get five messages each', async () => {
    const host = ['-h', '127.0.0.1', '-p', String(b.port), '-V', 'mqttv5'];
    const subs = [];
    for (const name of ['ms0', 'ms1']) {
      // Subscribed once the retained marker on its plain filter arrives (same SUBSCRIBE packet).
      const marker = await run('mosquitto_pub', [...host, '-t', `ready/${name}`, '-m', 'ready', '-r', '-q', '1']);
      expect(marker.exit.code, marker.describe()).toBe(0);
      const s = spawnProc('mosquitto_sub', [...host, '-W', '15', '-q', '1', '-t', '$share/ms/ms/t', '-t', `ready/${name}`, '-C', '6']);
      await s.waitFor('ready');
      subs.push(s);
    }
    const { c: pub } = await client('ms-pub');
    await publish(pub, 'ms/t', 10, 1);
    for (const s of subs) expect((await s.waitExit(10000)).code, s.describe()).toBe(0);
    expect(subs.map((s) => s.stdout.filter((l) => l.startsWith('m')).length)).toEqual([5, 5]);
    expect(subs.flatMap((s) => s.stdout.filter((l) => l.startsWith('m'))).sort()).toEqual(range('m', 10));
  });
});
