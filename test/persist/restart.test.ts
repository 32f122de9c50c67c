// Persistence in-process: state written by one broker is read back by the next one started on the
// same directory. A "crash" is a copy of the files taken while the first broker still runs (what
// a kill -9 would leave on disk); the real-process kill -9 tests are in crash.test.ts.
import { copyFileSync, existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BrokerConfig } from '../../src/config/types.ts';
import { hashPassword } from '../../src/features/auth/password-file.ts';
import * as sn from '../../src/features/sn/codec.ts';
import { snDefaults } from '../../src/features/sn/config.ts';
import { listener, startBroker, type TestBroker } from '../helpers/broker.ts';
import { RawClient } from '../helpers/raw.ts';
import { SnTestClient } from '../sn/sn-client.ts';

let dir: string;
const open: (TestBroker | RawClient)[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'midge-persist-'));
});

afterEach(async () => {
  for (const x of open.splice(0)) {
    if (x instanceof RawClient) x.end();
    else await x.close().catch(() => {});
  }
  rmSync(dir, { recursive: true, force: true });
});

async function broker(over: Partial<BrokerConfig> = {}, location = dir): Promise<TestBroker> {
  const b = await startBroker({ persistence: true, persistenceLocation: location, ...over });
  open.push(b);
  return b;
}

async function client(b: TestBroker, clientId: string, clean: boolean): Promise<{ c: RawClient; present: boolean }> {
  const { c, connack } = await RawClient.session(b.port, clientId, { clean });
  open.push(c);
  expect(connack.returnCode).toBe(0);
  return { c, present: connack.sessionPresent as boolean };
}

async function stop(b: TestBroker): Promise<void> {
  open.splice(open.indexOf(b), 1);
  await b.close();
}

/** The files as a kill -9 would leave them right now. */
function crashImage(): string {
  const to = mkdtempSync(join(dir, 'crash-'));
  for (const f of ['midge.db', 'midge.db.journal']) if (existsSync(join(dir, f))) copyFileSync(join(dir, f), join(to, f));
  return to;
}

async function subscribeOffline(b: TestBroker, id: string, filter: string, qos: number): Promise<void> {
  const { c } = await client(b, id, false);
  c.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: filter, qos }] });
  expect((await c.next()).cmd).toBe('suback');
  c.send({ cmd: 'disconnect' });
  await c.closed;
}

async function publishAcked(c: RawClient, topic: string, payload: string, qos: 0 | 1 | 2, messageId: number, retain = false): Promise<void> {
  c.send({ cmd: 'publish', topic, payload, qos, messageId, retain });
  if (qos === 0) return;
  const ack = await c.next();
  expect(ack.cmd).toBe(qos === 1 ? 'puback' : 'pubrec');
  expect(ack.messageId).toBe(messageId);
  if (qos === 2) {
    c.send({ cmd: 'pubrel', messageId });
    expect((await c.next()).cmd).toBe('pubcomp');
  }
}

describe('persistence across a clean restart', () => {
  it('keeps retained messages (not $SYS), subscriptions and queued QoS 1/2 messages of an offline persistent session', async () => {
    const b1 = await broker({ sysInterval: 1 });
    await subscribeOffline(b1, 'phone', 'alerts/#', 2);
    const { c: pub } = await client(b1, 'pub', true);
    await publishAcked(pub, 'home/setpoint', '21.5', 1, 1, true);
    await publishAcked(pub, 'alerts/door', 'open', 1, 2);
    await publishAcked(pub, 'alerts/smoke', 'yes', 2, 3);
    await publishAcked(pub, 'alerts/zero', 'qos0 not kept offline', 0, 0);
    await stop(b1);

    const b2 = await broker();
    expect(b2.running.broker.retained.size).toBe(1);
    const { c: phone, present } = await client(b2, 'phone', false);
    expect(present).toBe(true); // [MQTT-3.2.2-2]
    const m1 = await phone.next();
    const m2 = await phone.next();
    expect([m1.topic, m1.payload.toString(), m1.qos]).toEqual(['alerts/door', 'open', 1]);
    expect([m2.topic, m2.payload.toString(), m2.qos]).toEqual(['alerts/smoke', 'yes', 2]);
    phone.send({ cmd: 'puback', messageId: m1.messageId });
    phone.send({ cmd: 'pubrec', messageId: m2.messageId });
    expect((await phone.next()).cmd).toBe('pubrel');
    phone.send({ cmd: 'pubcomp', messageId: m2.messageId });
    // The subscription itself survived: a new message is routed to the session.
    const { c: pub2 } = await client(b2, 'pub2', true);
    await publishAcked(pub2, 'alerts/window', 'shut', 1, 1);
    const m3 = await phone.next();
    expect(m3.topic).toBe('alerts/window');
    phone.send({ cmd: 'puback', messageId: m3.messageId });

    const { c: late } = await client(b2, 'late', true);
    late.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'home/#', qos: 1 }] });
    expect((await late.next()).cmd).toBe('suback');
    const r = await late.next();
    expect([r.topic, r.payload.toString(), r.retain]).toEqual(['home/setpoint', '21.5', true]);
  });

  it('resends an unacknowledged QoS 1 with DUP and a released QoS 2 as PUBREL after restart [MQTT-4.4.0-1]', async () => {
    const b1 = await broker();
    const { c: sub } = await client(b1, 'sub', false);
    sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 't', qos: 2 }] });
    expect((await sub.next()).cmd).toBe('suback');
    const { c: pub } = await client(b1, 'pub', true);
    await publishAcked(pub, 't', 'one', 1, 1);
    await publishAcked(pub, 't', 'two', 2, 2);
    const p1 = await sub.next();
    const p2 = await sub.next();
    expect([p1.qos, p2.qos]).toEqual([1, 2]);
    sub.send({ cmd: 'pubrec', messageId: p2.messageId }); // p1 is never acknowledged
    expect((await sub.next()).cmd).toBe('pubrel');
    await stop(b1);

    const b2 = await broker();
    const { c: again, present } = await client(b2, 'sub', false);
    expect(present).toBe(true);
    const r1 = await again.next();
    const r2 = await again.next();
    expect([r1.cmd, r1.messageId, r1.dup, r1.payload.toString()]).toEqual(['publish', p1.messageId, true, 'one']);
    expect([r2.cmd, r2.messageId]).toEqual(['pubrel', p2.messageId]);
  });

  it('start-up rewrites the snapshot only when the journal holds changes (flash wear)', async () => {
    const b1 = await broker();
    await subscribeOffline(b1, 'x', 'q', 1);
    await stop(b1); // the shutdown snapshot has everything; the journal is empty
    const ino = statSync(join(dir, 'midge.db')).ino;
    const b2 = await broker({ persistenceSync: 'always' }); // the journal is on disk at PUBACK
    expect(statSync(join(dir, 'midge.db')).ino).toBe(ino); // not replaced
    expect(b2.running.broker.sessions.has('x')).toBe(true);
    const { c: pub } = await client(b2, 'pub', true);
    await publishAcked(pub, 'q', 'queued', 1, 1);
    const image = crashImage(); // a journal with records: folded into a new snapshot at start-up
    const ino2 = statSync(join(image, 'midge.db')).ino;
    const b3 = await broker({}, image);
    expect(statSync(join(image, 'midge.db')).ino).not.toBe(ino2);
    expect(b3.running.broker.sessions.get('x')?.queued).toBe(1);
  });

  it('a clean session connecting with the id of a persistent one discards it, on disk too', async () => {
    const b1 = await broker();
    await subscribeOffline(b1, 'x', 'q', 1);
    const { c } = await client(b1, 'x', true);
    c.send({ cmd: 'disconnect' });
    await c.closed;
    await stop(b1);
    const b2 = await broker();
    expect(b2.running.broker.sessions.size).toBe(0);
  });
});

describe('persistence_sync always: what is acknowledged is on disk', () => {
  it('a crash image taken right after the last PUBACK/PUBCOMP holds every message for the offline session', async () => {
    const b1 = await broker({ persistenceSync: 'always' });
    await subscribeOffline(b1, 'phone', 'a', 2);
    const { c: pub } = await client(b1, 'pub', true);
    for (let i = 1; i <= 20; i++) await publishAcked(pub, 'a', `m${i}`, i % 2 === 0 ? 2 : 1, i, i === 20);
    const image = crashImage();

    const b2 = await broker({ persistenceSync: 'always' }, image);
    expect(b2.running.broker.retained.size).toBe(1);
    const { c: phone } = await client(b2, 'phone', false);
    const got = [];
    for (let i = 1; i <= 20; i++) got.push(await phone.next());
    expect(got.map((m) => `${m.payload} ${m.qos}`)).toEqual(Array.from({ length: 20 }, (_, i) => `m${i + 1} ${(i + 1) % 2 === 0 ? 2 : 1}`));
  });

  it('an inbound QoS 2 id awaiting PUBREL survives a crash: the resent PUBLISH is not delivered twice [MQTT-4.3.3-2]', async () => {
    const b1 = await broker({ persistenceSync: 'always' });
    await subscribeOffline(b1, 'sub', 'x', 2);
    const { c: pub } = await client(b1, 'pub', false);
    pub.send({ cmd: 'publish', topic: 'x', payload: 'once', qos: 2, messageId: 7 });
    expect((await pub.next()).cmd).toBe('pubrec');
    const image = crashImage();

    const b2 = await broker({ persistenceSync: 'always' }, image);
    const { c: pub2, present } = await client(b2, 'pub', false);
    expect(present).toBe(true);
    pub2.send({ cmd: 'publish', topic: 'x', payload: 'once', qos: 2, messageId: 7, dup: true });
    expect((await pub2.next()).cmd).toBe('pubrec');
    pub2.send({ cmd: 'pubrel', messageId: 7 });
    expect((await pub2.next()).cmd).toBe('pubcomp');
    const { c: sub } = await client(b2, 'sub', false);
    const m = await sub.next();
    expect(m.payload.toString()).toBe('once');
    sub.send({ cmd: 'pubrec', messageId: m.messageId });
    expect((await sub.next()).cmd).toBe('pubrel');
    expect(await sub.drain(300)).toEqual([]); // one copy only
  });

  it('an MQTT-SN QoS 2 id awaiting PUBREL survives a crash too: the resent PUBLISH is not delivered twice', async () => {
    const withSn = { persistenceSync: 'always' as const, listeners: [listener(), listener({ protocol: 'mqttsn', sn: { ...snDefaults(), advertiseInterval: 0 } })] };
    const b1 = await broker(withSn);
    await subscribeOffline(b1, 'sub', 'x', 2);
    const c1 = await SnTestClient.open(b1.running.addresses[1].port);
    expect(await c1.connect('sensor', { clean: false })).toBe(0);
    c1.publish((await c1.register('x')).topicId as number, 'once', 2, { msgId: 7 });
    expect((await c1.next(sn.PUBREC)).msgId).toBe(7);
    c1.close();
    const image = crashImage();

    const b2 = await broker(withSn, image);
    const c2 = await SnTestClient.open(b2.running.addresses[1].port);
    expect(await c2.connect('sensor', { clean: false })).toBe(0);
    // The sensor never got our PUBREC: it sends the message again, with DUP.
    c2.publish((await c2.register('x')).topicId as number, 'once', 2, { msgId: 7, dup: true });
    expect((await c2.next(sn.PUBREC)).msgId).toBe(7);
    c2.send({ type: sn.PUBREL, msgId: 7 });
    expect((await c2.next(sn.PUBCOMP)).msgId).toBe(7);
    c2.close();
    const { c: sub } = await client(b2, 'sub', false);
    const m = await sub.next();
    expect(m.payload.toString()).toBe('once');
    sub.send({ cmd: 'pubrec', messageId: m.messageId });
    expect((await sub.next()).cmd).toBe('pubrel');
    expect(await sub.drain(300)).toEqual([]); // one copy only
  });

  it('acknowledgements of one client keep their order while they wait for the disk [MQTT-4.6.0-2]', async () => {
    const b = await broker({ persistenceSync: 'always' });
    await subscribeOffline(b, 'sub', 'p/#', 2);
    const { c: pub } = await client(b, 'pub', true);
    // Interleave persisted messages (p/...) with ones no persistent session wants (n/...).
    for (let i = 1; i <= 40; i++) pub.send({ cmd: 'publish', topic: i % 3 ? `p/${i}` : `n/${i}`, payload: 'x', qos: 1, messageId: i });
    const ids: number[] = [];
    for (let i = 1; i <= 40; i++) ids.push((await pub.next()).messageId as number);
    expect(ids).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
  });
});

describe('autosave', () => {
  it('autosave_on_changes writes a snapshot after N changes (persistence_sync never)', async () => {
    const b = await broker({ persistenceSync: 'never', autosaveOnChanges: true, autosaveInterval: 3 });
    const { c: pub } = await client(b, 'pub', true);
    for (let i = 1; i <= 3; i++) await publishAcked(pub, `r/${i}`, 'v', 1, i, true);
    const image = crashImage();
    const b2 = await broker({ persistenceSync: 'never' }, image);
    expect(b2.running.broker.retained.size).toBe(3);
    expect(readdirSync(dir)).not.toContain('midge.db.journal');
  });
});

describe('with AUTH', () => {
  it('a restored session keeps the ACL of the username it last connected with until it reconnects', async () => {
    const pw = join(dir, 'passwd');
    const acl = join(dir, 'acl');
    writeFileSync(pw, `alice:${hashPassword('wonderland')}\nadmin:${hashPassword('root')}\n`);
    writeFileSync(acl, 'user alice\ntopic readwrite alice/#\nuser admin\ntopic readwrite #\n');
    const auth = { allowAnonymous: false, passwordFile: pw, aclFile: acl } as Partial<BrokerConfig>;
    const b1 = await broker(auth);
    const { c, connack } = await RawClient.session(b1.port, 'phone', { clean: false, username: 'alice', password: Buffer.from('wonderland') });
    open.push(c);
    expect(connack.returnCode).toBe(0);
    c.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: '#', qos: 1 }] });
    expect((await c.next()).cmd).toBe('suback');
    c.send({ cmd: 'disconnect' });
    await c.closed;
    await stop(b1);

    const b2 = await broker(auth);
    const { c: admin } = await RawClient.session(b2.port, 'admin', { username: 'admin', password: Buffer.from('root') });
    open.push(admin);
    await publishAcked(admin, 'bob/secret', 'not for alice', 1, 1);
    await publishAcked(admin, 'alice/note', 'for alice', 1, 2);
    expect(b2.running.broker.sessions.get('phone')?.queued).toBe(1);
    const { c: phone } = await RawClient.session(b2.port, 'phone', { clean: false, username: 'alice', password: Buffer.from('wonderland') });
    open.push(phone);
    const m = await phone.next();
    expect([m.topic, m.payload.toString()]).toEqual(['alice/note', 'for alice']);
  });
});
