// Persistence of MQTT 5 state (format version 2): message properties of retained and queued
// messages survive a restart unaltered (user properties in wire order), message expiry is kept as
// an absolute time, and a store written by the version 1 format still loads.
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type IPublishPacket, type MqttClient } from 'mqtt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Message } from '../../src/broker/message.ts';
import { encodePublish5 } from '../../src/codec/encoder.ts';
import type { Properties, QoS } from '../../src/codec/packets.ts';
import { encodeProps } from '../../src/codec/properties.ts';
import { BodyReader, RecordWriter } from '../../src/features/persist/format.ts';
import { Image, msgRecord, retainRecord, subRecord } from '../../src/features/persist/image.ts';
import type * as ImageModule from '../../src/features/persist/image.ts';
import { loadState } from '../../src/features/persist/load.ts';
import { importWithFlags } from '../helpers/bundled.ts';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { RawClient } from '../helpers/raw.ts';

let dir: string;
const open: (TestBroker | RawClient | MqttClient)[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'midge-persist5-'));
});

afterEach(async () => {
  for (const x of open.splice(0).reverse()) {
    if (x instanceof RawClient) x.end();
    else if ('endAsync' in x) await x.endAsync(true);
    else await x.close().catch(() => {});
  }
  rmSync(dir, { recursive: true, force: true });
});

async function broker(location = dir): Promise<TestBroker> {
  // sync always: a PUBACK means the journal holds the message (for the crash images below).
  const b = await startBroker({ persistence: true, persistenceLocation: location, persistenceSync: 'always' });
  open.push(b);
  return b;
}

async function stop(b: TestBroker): Promise<void> {
  open.splice(open.indexOf(b), 1);
  await b.close();
}

async function v5(b: TestBroker, clientId: string, opts: mqtt.IClientOptions = {}): Promise<MqttClient> {
  const c = await mqtt.connectAsync({ host: '127.0.0.1', port: b.port, protocolVersion: 5, clientId, reconnectPeriod: 0, connectTimeout: 5000, ...opts });
  open.push(c);
  return c;
}

type M5 = Message & { properties?: Properties; expiresAt?: number };

const PROPS = {
  payloadFormatIndicator: true,
  contentType: 'application/json',
  responseTopic: 'reply/thermostat',
  correlationData: Buffer.from('req-7'),
  userProperties: { zone: ['kitchen', 'hall'], unit: 'C' },
};

describe('MQTT 5 state across a restart', () => {
  it('[MQTT-3.3.1-6] [MQTT-3.3.2-17] a retained v5 message keeps its properties; its expiry stays an absolute time', async () => {
    const b1 = await broker();
    const pub = await v5(b1, 'pub');
    await pub.publishAsync('home/setpoint', '{"c":21.5}', { qos: 1, retain: true, properties: { ...PROPS, messageExpiryInterval: 3600 } });
    const before = [...b1.running.broker.retained.matching('home/setpoint')][0] as M5;
    // The moment it expires (set at publish by the message expiry work, S1; set here if not).
    before.expiresAt ??= b1.running.broker.now + 3600;
    await stop(b1); // the last snapshot

    const b2 = await broker();
    const after = [...b2.running.broker.retained.matching('home/setpoint')][0] as M5;
    expect(after.expiresAt).toBeGreaterThan(0);
    expect(after.expiresAt).toBe(before.expiresAt);
    const sub = await v5(b2, 'late');
    const got = new Promise<IPublishPacket>((resolve) => sub.once('message', (_t, _p, p: IPublishPacket) => resolve(p)));
    await sub.subscribeAsync('home/#', { qos: 1 });
    const p = await got;
    expect([p.topic, p.payload.toString(), p.retain]).toEqual(['home/setpoint', '{"c":21.5}', true]);
    expect(p.properties).toMatchObject(PROPS);
    expect(p.properties?.messageExpiryInterval).toBeGreaterThan(3500);
    expect(p.properties?.messageExpiryInterval).toBeLessThanOrEqual(3600);
    expect(Object.keys(p.properties!.userProperties!)).toEqual(['zone', 'unit']);
  });

  it('[MQTT-3.3.2-18] a queued QoS 1 message for an offline v5 session keeps its user properties in wire order (journal)', async () => {
    const b1 = await broker();
    const sub = await v5(b1, 'phone', { clean: false, properties: { sessionExpiryInterval: 3600 } });
    await sub.subscribeAsync('alerts/#', { qos: 1 });
    await sub.endAsync();
    // Interleaved keys (a, b, a): only the order on the wire can tell this apart from (a, a, b).
    const props = encodeProps({ userProperties: [['a', '1'], ['b', '2'], ['a', '3']], contentType: 'text/plain' });
    const pub = await RawClient.connect(b1.port, 5);
    open.push(pub);
    pub.send({ cmd: 'connect', clientId: 'pub', clean: true, keepalive: 0, protocolVersion: 5 });
    expect((await pub.next()).cmd).toBe('connack');
    pub.write(encodePublish5('alerts/door', Buffer.from('open'), 1, false, false, 9, props));
    expect((await pub.next()).cmd).toBe('puback');
    // What a kill -9 would leave now: the snapshot of the start and the journal.
    const crash = mkdtempSync(join(dir, 'crash-'));
    for (const f of ['midge.db', 'midge.db.journal']) copyFileSync(join(dir, f), join(crash, f));
    await stop(b1);

    const b2 = await broker(crash);
    const queued = b2.running.broker.sessions.get('phone')!.pending().at(-1)!.msg as M5;
    expect(queued.properties?.userProperties).toEqual([['a', '1'], ['b', '2'], ['a', '3']]);
    // Byte-exact on the wire too: the three pairs in their order, as the publisher sent them.
    const again = await RawClient.connect(b2.port, 5);
    open.push(again);
    const raw: Buffer[] = [];
    again.socket.on('data', (d: Buffer) => raw.push(d));
    again.send({ cmd: 'connect', clientId: 'phone', clean: false, keepalive: 0, protocolVersion: 5, properties: { sessionExpiryInterval: 3600 } });
    expect(await again.next()).toMatchObject({ cmd: 'connack', sessionPresent: true });
    const m = await again.next();
    expect([m.cmd, m.topic, m.payload.toString(), m.qos]).toEqual(['publish', 'alerts/door', 'open', 1]);
    const pairs = Buffer.from([0x26, 0, 1, 0x61, 0, 1, 0x31, 0x26, 0, 1, 0x62, 0, 1, 0x32, 0x26, 0, 1, 0x61, 0, 1, 0x33]);
    expect(Buffer.concat(raw).indexOf(pairs)).toBeGreaterThan(0);
    expect(m.properties?.contentType).toBe('text/plain');
  });

  it('reads a version 1 store (written before MQTT 5) and rewrites it as version 2', async () => {
    copyFileSync(join(import.meta.dirname, '../persist/fixtures/v1.db'), join(dir, 'midge.db'));
    expect(readFileSync(join(dir, 'midge.db'))[4]).toBe(1);
    const b = await broker();
    expect([...b.running.broker.retained.matching('#')].map((m) => [m.topic, m.payload.toString()])).toEqual([['old/retained', 'kept']]);
    const s = b.running.broker.sessions.get('old-sub')!;
    expect([...s.subscriptions.keys()]).toEqual(['old/#']);
    expect(readFileSync(join(dir, 'midge.db'))[4]).toBe(2); // folded into a version 2 snapshot at start-up
    // The session's two queued messages arrive, to a 3.1.1 client as to any.
    const { c, connack } = await RawClient.session(b.port, 'old-sub', { clean: false });
    open.push(c);
    expect(connack.sessionPresent).toBe(true);
    const got = [await c.next(), await c.next()].map((p) => [p.topic, p.payload.toString(), p.qos]);
    expect(got).toEqual([['old/retained', 'kept', 1], ['old/queued', 'waiting', 1]]);
  });

  it('keeps a session\'s expiry interval and its subscriptions\' options and identifiers (snapshot and journal)', async () => {
    const b1 = await broker();
    const sub = await v5(b1, 'sensor', { clean: false, properties: { sessionExpiryInterval: 600 } });
    await sub.subscribeAsync('cmd/#', { qos: 1 });
    const s = b1.running.broker.sessions.get('sensor')!;
    // As the session expiry (S1) and subscription options (S2) work leave them on the session:
    // Session.expiry, and options numbers (QoS 1 | No Local 4 | Retain As Published 8 + id 7 * 16).
    (s as { expiry?: number }).expiry = 600;
    s.subscriptions.set('cmd/#', (1 + 4 + 8 + 7 * 16) as QoS);
    await stop(b1); // the snapshot writes both
    const image = new Image();
    loadState(join(dir, 'midge.db'), image);
    const img = image.sessions.get('sensor')!;
    expect(img.expiry).toBe(600);
    expect([...img.subs]).toEqual([['cmd/#', 1 + 4 + 8 + 7 * 16]]);

    // The journal: a SUB record with an id, read back by the next start.
    const b2 = await broker();
    const s2 = b2.running.broker.sessions.get('sensor')!;
    expect((s2 as { expiry?: number }).expiry).toBe(600);
    b2.running.broker.store!.subscribed(s2, 'alarm/#', (2 + 4 + 300 * 16) as QoS);
    // With sync always a PUBACK goes out once the journal holds everything recorded before it.
    const pub = await v5(b2, 'pub');
    await pub.publishAsync('x', 'y', { qos: 1 });
    const crash = mkdtempSync(join(dir, 'crash-'));
    for (const f of ['midge.db', 'midge.db.journal']) copyFileSync(join(dir, f), join(crash, f));
    const again = new Image();
    loadState(join(crash, 'midge.db'), again);
    expect(again.sessions.get('sensor')!.subs.get('alarm/#')).toBe(2 + 4 + 300 * 16);
  });

  it('a PERSIST build without MQTT5 reads version 2 records, skipping their MQTT 5 fields, and has none of that code', async () => {
    const out = mkdtempSync(join(dir, 'bundle-'));
    const src = new URL('../../src/features/persist/image.ts', import.meta.url);
    const plain = await importWithFlags<typeof ImageModule>(src, ['PERSIST'], out);
    const w = new RecordWriter();
    const m = { topic: 't', payload: Buffer.from('p'), qos: 1 as QoS, retain: true, properties: { contentType: 'x', userProperties: [['k', 'v']] as [string, string][] }, expiresAt: 2e9 };
    retainRecord(w, m);
    w.begin(3).str('c').end(); // SESSION
    subRecord(w, 'c', 'f/#', 1 + 4 + 9 * 16);
    msgRecord(w, 1, m);
    w.begin(7).str('c').u32(1).u8(1).u8(0).end(); // STORE
    const data = w.take();
    const images = [new plain.Image(), new Image()];
    for (const img of images) {
      for (let pos = 0; pos < data.length; ) {
        const len = data.readUInt32LE(pos);
        img.apply(new BodyReader(data.subarray(pos + 8, pos + 8 + len)));
        pos += 8 + len;
      }
    }
    const [without, withV5] = images.map((img) => ({
      retained: img.retained.get('t') as M5,
      queued: img.sessions.get('c')!.queue[0].msg as M5,
      subs: [...img.sessions.get('c')!.subs],
    }));
    expect(without.retained.payload.toString()).toBe('p');
    expect(without.retained.properties).toBeUndefined();
    expect(without.queued.properties).toBeUndefined();
    expect(withV5.retained).toMatchObject({ properties: m.properties, expiresAt: 2e9 });
    expect(withV5.queued).toMatchObject({ properties: m.properties, expiresAt: 2e9 });
    // The options number comes back whole either way (the QoS is all a 3.1.1 build uses).
    expect(without.subs).toEqual([['f/#', 1 + 4 + 9 * 16]]);
    expect(withV5.subs).toEqual(without.subs);
    // The property codec is not in the plain build.
    const bundle = readFileSync(join(out, 'bundled-PERSIST.mjs'), 'utf8');
    expect(bundle).not.toContain('is truncated');
  });
});
