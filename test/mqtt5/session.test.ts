// MQTT 5 session lifetime (§3.1.2.4, §3.1.2.11.2, §3.1.3.2.2, §3.14): Session Expiry Interval,
// Clean Start, Will Delay Interval, DISCONNECT's expiry and reason codes, assigned client ids and
// session takeover, with MQTT.js v5 (and raw packets where the bytes matter). Time is the broker's
// coarse clock, moved by the test (lifetime-helpers.ts).
//
// Absence is shown by order, not by waiting: the broker publishes synchronously, so once a later
// "mark" message has arrived, a will or message that should not exist would have come first.
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { makeMessage } from '../../src/broker/message.ts';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { RawClient } from '../helpers/raw.ts';
import { Clients, controlClock, disconnect, drop, until } from './lifetime-helpers.ts';

let b: TestBroker;
const clients = new Clients(() => b);
let n = 0;
const id = (what: string): string => `${what}-${++n}`;

beforeAll(async () => {
  b = await startBroker({ persistentClientExpiration: 3600 });
});
afterEach(() => {
  clients.closeAll();
  vi.useRealTimers();
});
afterAll(() => b.close());

const sessions = () => b.running.broker.sessions;
/** A message from "the broker" (no client), delivered before anything published later. */
const mark = (topic: string): void => {
  b.running.broker.publish(makeMessage(topic, Buffer.from('m'), 1, false));
};

describe('Session Expiry Interval', () => {
  it('[MQTT-3.1.2-23] absent = 0: the session ends with the connection, even with Clean Start 0', async () => {
    const cid = id('e0');
    const a = await clients.connect({ clientId: cid, clean: false });
    await a.c.subscribeAsync('e0/t', { qos: 1 });
    await drop(b, a.c, cid);
    expect(sessions().has(cid)).toBe(false);
    const again = await clients.connect({ clientId: cid, clean: false });
    expect(again.connack.sessionPresent).toBe(false);
  });

  it('[MQTT-3.1.2-23] finite: kept for the interval with its messages, then discarded', async () => {
    const clock = controlClock(b);
    const cid = id('e30');
    const a = await clients.connect({ clientId: cid, clean: false, properties: { sessionExpiryInterval: 30 } });
    await a.c.subscribeAsync('e30/t', { qos: 1 });
    await drop(b, a.c, cid);
    const pub = await clients.connect();
    await pub.c.publishAsync('e30/t', 'while away', { qos: 1 });

    clock.advance(29);
    const back = await clients.connect({ clientId: cid, clean: false, properties: { sessionExpiryInterval: 30 } });
    // [MQTT-3.2.2-3] Session Present 1 for a resumed session, and its queued message follows.
    expect(back.connack.sessionPresent).toBe(true);
    expect((await back.inbox.waitFor('e30/t')).payload).toBe('while away');
    await drop(b, back.c, cid);

    clock.advance(30);
    expect(sessions().has(cid)).toBe(true);
    clock.advance(1);
    expect(sessions().has(cid)).toBe(false);
    const late = await clients.connect({ clientId: cid, clean: false });
    expect(late.connack.sessionPresent).toBe(false);
  });

  it('0xFFFFFFFF: never expires, whatever persistent_client_expiration says (it applies to MQTT 3.1.1 only)', async () => {
    const clock = controlClock(b);
    const v5 = id('never');
    const v3 = id('v311');
    const a = await clients.connect({ clientId: v5, clean: false, properties: { sessionExpiryInterval: 0xffffffff } });
    const old = await clients.connect({ clientId: v3, clean: false, protocolVersion: 4 });
    await drop(b, a.c, v5);
    await drop(b, old.c, v3);
    clock.advance(3601); // persistent_client_expiration 1h
    expect(sessions().has(v3)).toBe(false);
    clock.advance(10 * 365 * 86400);
    expect(sessions().has(v5)).toBe(true);
    expect((await clients.connect({ clientId: v5, clean: false })).connack.sessionPresent).toBe(true);
  });

  it('[MQTT-3.1.2-4] Clean Start 1 discards the existing session; [MQTT-3.2.2-2] Session Present 0', async () => {
    const cid = id('cs');
    const props = { sessionExpiryInterval: 60 };
    const a = await clients.connect({ clientId: cid, clean: false, properties: props });
    await a.c.subscribeAsync('cs/old', { qos: 1 });
    await drop(b, a.c, cid);
    const fresh = await clients.connect({ clientId: cid, clean: true, properties: props });
    expect(fresh.connack.sessionPresent).toBe(false);
    expect([...sessions().get(cid)!.subscriptions.keys()]).toEqual([]);
    // Clean Start no longer means a short-lived session: with an expiry it is kept.
    await fresh.c.subscribeAsync('cs/new', { qos: 1 });
    await drop(b, fresh.c, cid);
    const back = await clients.connect({ clientId: cid, clean: false, properties: props });
    expect(back.connack.sessionPresent).toBe(true);
    expect([...sessions().get(cid)!.subscriptions.keys()]).toEqual(['cs/new']);
  });

  it('DISCONNECT may shorten the interval (to 0: the session ends now) or lengthen it', async () => {
    const clock = controlClock(b);
    const gone = id('d0');
    const a = await clients.connect({ clientId: gone, clean: false, properties: { sessionExpiryInterval: 600 } });
    await disconnect(b, a.c, gone, { properties: { sessionExpiryInterval: 0 } });
    expect(sessions().has(gone)).toBe(false);

    const longer = id('d-long');
    const z = await clients.connect({ clientId: longer, clean: false, properties: { sessionExpiryInterval: 10 } });
    await disconnect(b, z.c, longer, { properties: { sessionExpiryInterval: 100 } });
    clock.advance(50);
    expect(sessions().has(longer)).toBe(true);
    clock.advance(51);
    expect(sessions().has(longer)).toBe(false);
  });

  it('[MQTT5-3.14.2.2.2] DISCONNECT setting an expiry after CONNECT set 0 is a protocol error: DISCONNECT 0x82, will published', async () => {
    const w = await clients.connect();
    await w.c.subscribeAsync('pe/will', { qos: 1 });
    const cid = id('pe');
    const { c, connack } = await RawClient.session(b.port, cid, {
      protocolVersion: 5,
      will: { topic: 'pe/will', payload: Buffer.from('gone'), qos: 1, retain: false },
    });
    expect(connack.reasonCode).toBe(0);
    c.send({ cmd: 'disconnect', protocolVersion: 5, reasonCode: 0, properties: { sessionExpiryInterval: 30 } });
    expect(await c.next()).toMatchObject({ cmd: 'disconnect', reasonCode: 0x82 });
    expect(await c.closesWithin()).toBe(true);
    expect((await w.inbox.waitFor('pe/will')).payload).toBe('gone');
    expect(sessions().has(cid)).toBe(false);
  });
});

describe('Will Delay Interval', () => {
  const will = (topic: string, willDelayInterval?: number) => ({
    topic,
    payload: Buffer.from('offline'),
    qos: 1 as const,
    retain: false,
    ...(willDelayInterval !== undefined ? { properties: { willDelayInterval } } : {}),
  });

  async function watcher(filter: string) {
    const w = await clients.connect();
    await w.c.subscribeAsync([filter, 'mark'], { qos: 1 });
    return w;
  }

  it('[MQTT-3.1.2-8] the will waits for the delay, then goes out', async () => {
    const clock = controlClock(b);
    const w = await watcher('wd1/#');
    const cid = id('wd1');
    const a = await clients.connect({ clientId: cid, properties: { sessionExpiryInterval: 60 }, will: will('wd1/will', 10) });
    await drop(b, a.c, cid);
    clock.advance(10);
    mark('mark');
    await w.inbox.waitFor('mark');
    clock.advance(1);
    expect((await w.inbox.waitFor('wd1/will')).payload).toBe('offline');
    expect(w.inbox.topics()).toEqual(['mark', 'wd1/will']);
  });

  it('[MQTT-3.1.3-9] a reconnect within the delay cancels the will', async () => {
    const clock = controlClock(b);
    const w = await watcher('wd2/#');
    const cid = id('wd2');
    const a = await clients.connect({ clientId: cid, clean: false, properties: { sessionExpiryInterval: 60 }, will: will('wd2/will', 10) });
    await drop(b, a.c, cid);
    clock.advance(5);
    const back = await clients.connect({ clientId: cid, clean: false, properties: { sessionExpiryInterval: 60 } });
    expect(back.connack.sessionPresent).toBe(true);
    clock.advance(100);
    mark('mark');
    await w.inbox.waitFor('mark');
    expect(w.inbox.topics()).toEqual(['mark']);
  });

  it('[MQTT-3.1.2-8] the session ending first sends the will: expiry shorter than the delay, or 0', async () => {
    const clock = controlClock(b);
    const w = await watcher('wd3/#');
    const short = id('wd3');
    const a = await clients.connect({ clientId: short, properties: { sessionExpiryInterval: 5 }, will: will('wd3/short', 100) });
    await drop(b, a.c, short);
    clock.advance(6);
    await w.inbox.waitFor('wd3/short');
    expect(sessions().has(short)).toBe(false);

    const zero = id('wd3z');
    const z = await clients.connect({ clientId: zero, will: will('wd3/zero', 100) });
    await drop(b, z.c, zero);
    await w.inbox.waitFor('wd3/zero');
  });

  it('Clean Start 1 within the delay ends the old session, which sends its will (as Mosquitto)', async () => {
    controlClock(b);
    const w = await watcher('wd4/#');
    const cid = id('wd4');
    const a = await clients.connect({ clientId: cid, properties: { sessionExpiryInterval: 60 }, will: will('wd4/will', 30) });
    await drop(b, a.c, cid);
    await clients.connect({ clientId: cid, clean: true });
    await w.inbox.waitFor('wd4/will');
  });

  it('[MQTT-3.14.4-3] DISCONNECT 0x00 drops the will; DISCONNECT 0x04 sends it', async () => {
    const w = await watcher('wd5/#');
    const polite = id('wd5a');
    const a = await clients.connect({ clientId: polite, will: will('wd5/normal') });
    await disconnect(b, a.c, polite, { reasonCode: 0 });
    const asks = id('wd5b');
    const z = await clients.connect({ clientId: asks, will: will('wd5/with-will') });
    await disconnect(b, z.c, asks, { reasonCode: 0x04 });
    await w.inbox.waitFor('wd5/with-will');
    expect(w.inbox.topics()).toEqual(['wd5/with-will']);
  });

  it('the Will Delay Interval is not forwarded with the will; its message properties are', async () => {
    const clock = controlClock(b);
    const w = await watcher('wd6/#');
    const cid = id('wd6');
    const a = await clients.connect({
      clientId: cid,
      properties: { sessionExpiryInterval: 60 },
      will: { ...will('wd6/will'), properties: { willDelayInterval: 2, contentType: 'text/plain', userProperties: { k: 'v' } } },
    });
    await drop(b, a.c, cid);
    clock.advance(3);
    const m = await w.inbox.waitFor('wd6/will');
    expect(m.properties).toEqual({ contentType: 'text/plain', userProperties: { k: 'v' } });
  });
});

describe('CONNECT and takeover', () => {
  it('[MQTT-3.2.2-16] an empty client id gets an Assigned Client Identifier, with Clean Start 0 too', async () => {
    // Bytes: MQTT.js and mqtt-packet refuse an empty id with Clean Start 0. Level 5, flags 0,
    // keep-alive 0, properties: Session Expiry Interval 60; client id ''.
    const props = { sessionExpiryInterval: 60 };
    const c = await RawClient.connect(b.port, 5);
    c.write([0x10, 18, 0, 4, 0x4d, 0x51, 0x54, 0x54, 5, 0, 0, 0, 5, 0x11, 0, 0, 0, 60, 0, 0]);
    const connack = await c.next();
    expect(connack.reasonCode).toBe(0);
    const assigned = connack.properties?.assignedClientIdentifier as string;
    expect(assigned).toMatch(/^auto-/);
    expect(sessions().has(assigned)).toBe(true);
    c.end();
    await until(() => sessions().get(assigned)?.outlet === null);
    const back = await clients.connect({ clientId: assigned, clean: false, properties: props });
    expect(back.connack.sessionPresent).toBe(true);
    expect(back.connack.properties?.assignedClientIdentifier).toBeUndefined();
    const other = await clients.connect({ clientId: '' });
    expect(other.connack.properties?.assignedClientIdentifier).toMatch(/^auto-/);
    expect(other.connack.properties?.assignedClientIdentifier).not.toBe(assigned);
  });

  it('[MQTT-3.1.4-3] the taken-over connection gets DISCONNECT 0x8E (Session taken over)', async () => {
    const cid = id('take');
    const old = await clients.connect({ clientId: cid });
    const got = new Promise<number | undefined>((resolve) => old.c.once('disconnect', (p) => resolve(p.reasonCode)));
    await clients.connect({ clientId: cid });
    expect(await got).toBe(0x8e);
  });

  it('a 3.1.1 connection taken over by a v5 client is closed without a DISCONNECT (3.1.1 has none from servers)', async () => {
    const cid = id('take4');
    const { c } = await RawClient.session(b.port, cid);
    await clients.connect({ clientId: cid });
    await c.closed;
    expect(c.packets).toEqual([]);
  });

  it('MQTT 3.1.1 clients keep clean-session semantics next to v5 sessions of the same id', async () => {
    const cid = id('mixed');
    const a = await clients.connect({ clientId: cid, clean: false, properties: { sessionExpiryInterval: 0 } });
    await drop(b, a.c, cid);
    const old = await clients.connect({ clientId: cid, clean: false, protocolVersion: 4 });
    expect(old.connack.sessionPresent).toBe(false);
    await drop(b, old.c, cid);
    // A 3.1.1 persistent session outlives its connection (until persistent_client_expiration).
    await until(() => sessions().get(cid)?.outlet === null);
    const v5 = await clients.connect({ clientId: cid, clean: false });
    expect(v5.connack.sessionPresent).toBe(true);
  });
});
