// Limits against hostile or careless clients: max_keepalive, max_packet_size, topic depth,
// max_connections, and a client that sends without reading its acknowledgements.
import { Duplex } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/parse.ts';
import { MAX_TOPIC_SLASHES, tooDeep } from '../../src/codec/validate.ts';
import { listener, startBroker, type TestBroker } from '../helpers/broker.ts';
import { RawClient } from '../helpers/raw.ts';
import { Connection } from '../../src/mqtt/connection.ts';

const brokers: TestBroker[] = [];
const raws: RawClient[] = [];
afterEach(async () => {
  for (const r of raws.splice(0)) r.end();
  await Promise.all(brokers.splice(0).map((b) => b.close()));
});

async function broker(o: Parameters<typeof startBroker>[0]): Promise<TestBroker> {
  const b = await startBroker(o);
  brokers.push(b);
  return b;
}

async function session(port: number, clientId: string, opts: Record<string, unknown> = {}) {
  const r = await RawClient.session(port, clientId, opts);
  raws.push(r.c);
  return r;
}

const F = '/etc/midge.conf';
const parseErr = (text: string): string => {
  try {
    parseConfigText(text, F);
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('expected an error');
};

describe('config', () => {
  it('max_packet_size: 0 or 20..268435460; max_keepalive: 0..65535', () => {
    expect(parseConfigText('max_packet_size 1024\nmax_keepalive 60', F)).toMatchObject({ maxPacketSize: 1024, maxKeepalive: 60 });
    expect(parseErr('max_packet_size 19')).toBe(`${F}:1: option 'max_packet_size' must be 0 (no limit) or at least 20, got 19`);
    expect(parseErr('max_packet_size 268435461')).toMatch(/out of range/);
    expect(parseErr('max_keepalive 65536')).toMatch(/out of range: 65536 \(allowed 0\.\.65535\)/);
  });
});

describe('max_keepalive (Mosquitto 2 semantics for MQTT 3.1/3.1.1)', () => {
  it('refuses keep-alive 0 or above the limit with CONNACK 2 (identifier rejected); accepts 1..limit', async () => {
    const b = await broker({ maxKeepalive: 60 });
    expect((await session(b.port, 'k0', { keepalive: 0 })).connack.returnCode).toBe(2);
    expect((await session(b.port, 'k61', { keepalive: 61 })).connack.returnCode).toBe(2);
    expect((await session(b.port, 'k60', { keepalive: 60 })).connack.returnCode).toBe(0);
    expect((await session(b.port, 'k1', { keepalive: 1 })).connack.returnCode).toBe(0);
  });

  it('without max_keepalive any keep-alive is accepted', async () => {
    const b = await broker({});
    expect((await session(b.port, 'k0', { keepalive: 0 })).connack.returnCode).toBe(0);
    expect((await session(b.port, 'kmax', { keepalive: 65535 })).connack.returnCode).toBe(0);
  });
});

describe('max_packet_size', () => {
  it('a packet of exactly the limit passes; one byte more closes the connection', async () => {
    const b = await broker({ maxPacketSize: 200 });
    const { c: sub } = await session(b.port, 'sub');
    sub.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'p', qos: 0 }] });
    await sub.next();
    const { c } = await session(b.port, 'pub');
    // PUBLISH 'p', QoS 0: 1 type byte + 2 length bytes + 2 + 1 topic bytes + payload = 200.
    c.send({ cmd: 'publish', topic: 'p', payload: Buffer.alloc(194, 120), qos: 0 });
    expect((await sub.next()).payload.length).toBe(194);
    c.send({ cmd: 'publish', topic: 'p', payload: Buffer.alloc(195, 120), qos: 0 });
    expect(await c.closesWithin(3000)).toBe(true);
  });
});

// Mosquitto 2.0.11 takes 200 '/' (201 levels) and closes the connection of a client that sends a
// deeper topic or filter (test/interop/wire-cases.ts replays it against Mosquitto).
describe(`topic depth (${MAX_TOPIC_SLASHES + 1} levels, as Mosquitto)`, () => {
  const deep = (n: number): string => Array.from({ length: n }, (_, i) => `l${i % 10}`).join('/');

  it('tooDeep counts slashes', () => {
    expect(tooDeep(deep(MAX_TOPIC_SLASHES + 1))).toBe(false);
    expect(tooDeep(deep(MAX_TOPIC_SLASHES + 2))).toBe(true);
    expect(tooDeep('/'.repeat(MAX_TOPIC_SLASHES))).toBe(false);
    expect(tooDeep('/'.repeat(MAX_TOPIC_SLASHES + 1))).toBe(true);
    expect(tooDeep('x'.repeat(60000))).toBe(false);
  });

  it('a filter of 201 levels is granted and a topic of 201 levels delivered', async () => {
    const b = await broker({});
    const { c } = await session(b.port, 'deep');
    c.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: `${deep(MAX_TOPIC_SLASHES)}/#`, qos: 1 }, { topic: `${deep(MAX_TOPIC_SLASHES)}/+`, qos: 0 }] });
    expect((await c.next()).granted).toEqual([1, 0]);
    const { c: p } = await session(b.port, 'deep-pub');
    p.send({ cmd: 'publish', topic: deep(MAX_TOPIC_SLASHES + 1), payload: 'deep enough', qos: 0 });
    const got = await c.next();
    expect(got.topic).toBe(deep(MAX_TOPIC_SLASHES + 1));
    expect(got.payload.toString()).toBe('deep enough');
  });

  it('SUBSCRIBE to a filter of 202 levels closes the connection', async () => {
    const b = await broker({});
    const { c } = await session(b.port, 'deeper');
    c.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: '#', qos: 1 }, { topic: `${deep(MAX_TOPIC_SLASHES + 1)}/+`, qos: 0 }] });
    expect(await c.closesWithin()).toBe(true);
  });

  it('PUBLISH to a topic of 202 levels closes the connection', async () => {
    const b = await broker({});
    const { c } = await session(b.port, 'deeper-pub');
    c.send({ cmd: 'publish', topic: deep(MAX_TOPIC_SLASHES + 2), payload: 'too deep', qos: 1, messageId: 1 });
    expect(await c.closesWithin()).toBe(true);
  });

  it('a 30 000-level filter closes the connection, so matching never recurses that deep', async () => {
    const b = await broker({});
    const { c } = await session(b.port, 'abyss');
    c.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: '+/'.repeat(30000) + '#', qos: 0 }] });
    expect(await c.closesWithin()).toBe(true);
  });
});

describe('max_connections', () => {
  it('refuses connections beyond the limit per listener, and frees the slot on close', async () => {
    const b = await broker({ listeners: [listener({ maxConnections: 2 })] });
    const a = await session(b.port, 'a');
    await session(b.port, 'b');
    const third = await RawClient.connect(b.port);
    raws.push(third);
    expect(await third.closesWithin(3000)).toBe(true);
    a.c.end();
    await a.c.closed;
    // The broker sees the close asynchronously: retry until the slot is free (bounded).
    let code: number | undefined;
    for (let i = 0; i < 50 && code === undefined; i++) {
      code = await session(b.port, `again${i}`).then((r) => r.connack.returnCode as number, () => undefined);
    }
    expect(code).toBe(0);
  });
});

describe('a client that sends without reading', () => {
  it('is no longer read from while its replies back up, and is read again once it drains', async () => {
    const b = await broker({});
    // A byte stream whose far end reads nothing until we say so: writes stay pending.
    const pending: (() => void)[] = [];
    const d = new Duplex({
      read() {},
      write(_chunk, _enc, cb) {
        pending.push(cb);
      },
      writableHighWaterMark: 64,
    });
    const conn = new Connection(b.running.broker, d, 'test', 1 << 20);
    const stats = b.running.broker.stats;
    d.push(Buffer.from([0x10, 14, 0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 2, 0, 0, 0, 2, 0x66, 0x66]));
    // 100 QoS 1 PUBLISHes, one chunk each: each PUBACK adds 4 bytes the client does not take.
    for (let i = 1; i <= 100; i++) d.push(Buffer.from([0x32, 7, 0, 1, 0x74, 0, i, 0x78, 0x78]));
    await new Promise((r) => setImmediate(r));
    // CONNACK + 15 PUBACKs = 64 bytes fill the 64-byte buffer: the broker stops reading there.
    expect(d.isPaused()).toBe(true);
    expect(stats.messagesReceived).toBe(15);
    expect(d.readableLength).toBe((100 - 15) * 9);
    // The client reads: the broker drains, resumes, and processes the rest.
    while (pending.length) pending.shift()!();
    for (let i = 0; i < 100 && stats.messagesReceived < 100; i++) {
      await new Promise((r) => setImmediate(r));
      while (pending.length) pending.shift()!();
    }
    expect(stats.messagesReceived).toBe(100);
    conn.end('test over', false);
  });
});
