// Limits and delivery options of mosquitto.conf (issue 15): max_qos, mount_point,
// queue_qos0_messages, upgrade_outgoing_qos, max_inflight_bytes, memory_limit and
// check_retain_source, each read from config text and observed on the wire with byte-level
// clients. Where Debian's mosquitto (2.0.11) runs, the same exchange is replayed against it and
// what the clients see must be the same; where Midge deliberately differs the test says why.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/parse.ts';
import { hashPassword } from '../../src/features/auth/password-file.ts';
import { startServer, type Running } from '../../src/server.ts';
import '../helpers/broker.ts'; // quiet log
import { requirePeer } from '../helpers/peers.ts';
import { freePort } from '../helpers/ports.ts';
import type { Proc } from '../helpers/proc.ts';
import { RawClient, type Parsed } from '../helpers/raw.ts';
import { sharedDir, startMosquitto, writeShared } from '../auth/mosquitto.ts';
import { importWithFlags } from '../helpers/bundled.ts';
import { SnTestClient } from '../sn/sn-client.ts';
import * as sn from '../../src/features/sn/codec.ts';
import type * as Server from '../../src/server.ts';
import type * as Parse from '../../src/config/parse.ts';

const havePeer = requirePeer('mosquitto');
const open: { close(): Promise<void> | void }[] = [];
const clients: RawClient[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.end();
  for (const x of open.splice(0).reverse()) await x.close();
});

/** Midge from config text (listeners on `listener 0 127.0.0.1`): its listener ports in order. */
async function midge(text: string): Promise<{ ports: number[]; running: Running }> {
  const running = await startServer(parseConfigText(`allow_anonymous true\nsys_interval 0\n${text}`, 'test.conf'));
  open.push(running);
  return { ports: running.addresses.map((a) => a.port), running };
}

let dir: string | undefined;
/** Debian's mosquitto with `lines`; `more` extra listeners (their lines follow each `listener`): ports in order. */
async function mosquitto(lines: string[], more: string[][] = []): Promise<number[]> {
  dir ??= sharedDir('midge-opts-');
  const extra = await Promise.all(more.map(() => freePort()));
  const all = ['allow_anonymous true', ...lines, ...more.flatMap((l, i) => [`listener ${extra[i]} 127.0.0.1`, ...l])];
  for (let i = 0; ; i++) {
    try {
      const m: { port: number; proc: Proc } = await startMosquitto(dir, all);
      open.push({ close: () => void m.proc.kill() });
      return [m.port, ...extra];
    } catch (e) {
      if (i === 2) throw e; // a port taken between freePort() and mosquitto's bind
    }
  }
}
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function session(port: number, id: string, opts: Record<string, unknown> = {}): Promise<RawClient> {
  const { c, connack } = await RawClient.session(port, id, opts);
  clients.push(c);
  expect(connack.cmd).toBe('connack');
  expect(connack.returnCode ?? connack.reasonCode).toBe(0);
  return c;
}

async function subscribe(c: RawClient, topic: string, qos: number, v = 4): Promise<number[]> {
  c.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic, qos }], protocolVersion: v, ...(v === 5 ? { properties: {} } : {}) });
  const ack = await c.next();
  expect(ack.cmd).toBe('suback');
  return ack.granted as number[];
}

/** The next PUBLISH as `topic payload qN`. */
async function nextPublish(c: RawClient): Promise<string> {
  const p = await c.next();
  expect(p.cmd).toBe('publish');
  return `${p.topic} ${p.payload} q${p.qos}`;
}

/** What a client sees after a packet that may end the connection: packets, then whether it closed. */
async function outcome(c: RawClient, ms = 1500): Promise<string[]> {
  const closed = await c.closesWithin(ms);
  return [...c.packets.splice(0).map((p: Parsed) => `${p.cmd}${p.reasonCode !== undefined ? ` ${p.reasonCode}` : ''}`), closed ? 'closed' : 'open'];
}

const u = (s: string): string => `${s}-${Math.random().toString(36).slice(2, 7)}`;

// ---- max_qos ----

/** The max_qos exchanges on a listener with max_qos 1; returns what the clients saw. */
async function maxQosScenario(port: number): Promise<Record<string, unknown>> {
  const r: Record<string, unknown> = {};
  const sub = await session(port, u('mq-sub'));
  r.suback311 = await subscribe(sub, 'mq/#', 2);
  const pub = await session(port, u('mq-pub'));
  pub.send({ cmd: 'publish', topic: 'mq/a', payload: Buffer.from('one'), qos: 1, messageId: 3 });
  r.puback = (await pub.next()).cmd;
  r.delivered = await nextPublish(sub);
  if (r.delivered !== 'mq/a one q1') return r;
  sub.send({ cmd: 'puback', messageId: 1 });
  pub.send({ cmd: 'publish', topic: 'mq/a', payload: Buffer.from('two'), qos: 2, messageId: 4 });
  r.qos2From311 = await outcome(pub);
  const c5 = await RawClient.session(port, u('mq-v5'), { protocolVersion: 5, properties: {}, keepalive: 60 });
  clients.push(c5.c);
  r.connack5 = c5.connack.properties;
  r.suback5 = await subscribe(c5.c, 'mq/#', 2, 5);
  c5.c.send({ cmd: 'publish', topic: 'mq/b', payload: Buffer.from('x'), qos: 2, messageId: 5, protocolVersion: 5, properties: {} });
  r.qos2From5 = await outcome(c5.c);
  const w5 = await RawClient.session(port, u('mq-w5'), { protocolVersion: 5, properties: {}, will: { topic: 'mq/will', payload: Buffer.from('w'), qos: 2, properties: {} } });
  clients.push(w5.c);
  r.will5 = [w5.connack.reasonCode, await w5.c.closesWithin()];
  const w3 = await RawClient.connect(port);
  clients.push(w3);
  w3.send({ cmd: 'connect', clientId: u('mq-w3'), clean: true, keepalive: 0, protocolVersion: 4, will: { topic: 'mq/will', payload: Buffer.from('w'), qos: 2 } });
  r.will311 = await outcome(w3);
  return r;
}

describe('max_qos (maximum_qos), per listener', () => {
  it('caps granted QoS (SUBACK), announces Maximum QoS in the MQTT 5 CONNACK, disconnects a publisher above it (MQTT 5: 0x9B) and refuses a will above it [MQTT-3.2.2-9..12]', async () => {
    const { ports } = await midge('listener 0 127.0.0.1\nmax_qos 1\nlistener 0 127.0.0.1\nmaximum_qos 0');
    const r = await maxQosScenario(ports[0]);
    expect(r).toEqual({
      suback311: [1],
      puback: 'puback',
      delivered: 'mq/a one q1',
      qos2From311: ['closed'],
      connack5: { topicAliasMaximum: 10, receiveMaximum: 20, maximumQoS: 1 },
      suback5: [1],
      qos2From5: ['disconnect 155', 'closed'],
      will5: [0x9b, true],
      will311: ['closed'],
    });
    // maximum_qos is the same option; the other listener is at 0.
    const s = await session(ports[1], u('mq0'));
    expect(await subscribe(s, 'a', 2)).toEqual([0]);
  });

  it.skipIf(!havePeer)('Debian mosquitto answers the same exchanges the same way', async () => {
    const [port] = await mosquitto(['max_qos 1']);
    const { ports } = await midge('listener 0 127.0.0.1\nmax_qos 1');
    expect(await maxQosScenario(ports[0])).toEqual(await maxQosScenario(port));
  });
});

/** The raw bytes of the CONNACK an MQTT 5 client with keep-alive 60 gets. */
async function rawConnack5(port: number): Promise<string> {
  const c = await RawClient.connect(port, 5);
  clients.push(c);
  const bytes: Buffer[] = [];
  c.socket.on('data', (d: Buffer) => bytes.push(d));
  c.send({ cmd: 'connect', clientId: u('raw5'), clean: true, keepalive: 60, protocolVersion: 5, properties: {} });
  await c.next();
  return Buffer.concat(bytes).toString('hex');
}

describe('max_qos in the MQTT 5 CONNACK, byte for byte', () => {
  it.skipIf(!havePeer)('with retain_available false and max_packet_size beside it, the same bytes as Debian mosquitto', async () => {
    const [port] = await mosquitto(['retain_available false', 'max_packet_size 1000', 'max_qos 0']);
    const { ports } = await midge('retain_available false\nmax_packet_size 1000\nlistener 0 127.0.0.1\nmax_qos 0');
    const ours = await rawConnack5(ports[0]);
    expect(ours).toContain('2400'); // Maximum QoS 0
    expect(ours).toBe(await rawConnack5(port));
  });
});

// ---- mount_point ----

/** Plain listener `a`, listener `b` with mount_point mp/: what each subscriber to '#' gets. */
async function mountScenario(a: number, b: number): Promise<{ plain: string[]; mounted: string[] }> {
  const plain = await session(a, u('plain'));
  const mounted = await session(b, u('mounted'));
  await subscribe(plain, '#', 0);
  await subscribe(mounted, '#', 0);
  const got = { plain: [] as string[], mounted: [] as string[] };
  mounted.send({ cmd: 'publish', topic: 'x/y', payload: Buffer.from('from-mounted'), qos: 0 });
  got.plain.push(await nextPublish(plain));
  plain.send({ cmd: 'publish', topic: 'other', payload: Buffer.from('outside'), qos: 0 });
  got.plain.push(await nextPublish(plain));
  plain.send({ cmd: 'publish', topic: 'mp/z', payload: Buffer.from('inside'), qos: 0 });
  got.plain.push(await nextPublish(plain));
  // The mounted client sees its own message and the one inside the mount point, not 'other'.
  got.mounted.push(await nextPublish(mounted), await nextPublish(mounted));
  got.mounted.push(...(await mounted.drain(200)).map((p) => `${p.topic} ${p.payload} q${p.qos}`));
  return got;
}

describe('mount_point, per listener', () => {
  it('prefixes the topics of its clients and takes the prefix off what they receive; other topics stay out of sight', async () => {
    const { ports } = await midge('listener 0 127.0.0.1\nlistener 0 127.0.0.1\nmount_point mp/');
    expect(await mountScenario(ports[0], ports[1])).toEqual({
      plain: ['mp/x/y from-mounted q0', 'other outside q0', 'mp/z inside q0'],
      mounted: ['x/y from-mounted q0', 'z inside q0'],
    });
  });

  it('a will, retained messages, $SYS and unsubscribe stay inside the mount point', async () => {
    const { ports } = await midge('sys_interval 1\nlistener 0 127.0.0.1\nlistener 0 127.0.0.1\nmount_point site1/');
    const plain = await session(ports[0], u('plain'));
    await subscribe(plain, 'site1/#', 0);
    const sys = await session(ports[0], u('sys'));
    await subscribe(sys, '$SYS/broker/uptime', 0);
    plain.send({ cmd: 'publish', topic: 'site1/cfg', payload: Buffer.from('kept'), qos: 0, retain: true });
    expect(await nextPublish(plain)).toBe('site1/cfg kept q0');
    const m = await session(ports[1], u('m'), { will: { topic: 'status', payload: Buffer.from('gone'), qos: 0 } });
    // A retained message inside the mount point comes without the prefix, with RETAIN set.
    m.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'cfg', qos: 0 }, { topic: '$SYS/#', qos: 0 }] });
    expect((await m.next()).granted).toEqual([0, 0]);
    const r = await m.next();
    expect([r.topic, String(r.payload), r.retain]).toEqual(['cfg', 'kept', true]);
    m.send({ cmd: 'unsubscribe', messageId: 2, unsubscriptions: ['cfg'] });
    expect((await m.next()).cmd).toBe('unsuback');
    plain.send({ cmd: 'publish', topic: 'site1/cfg', payload: Buffer.from('again'), qos: 0 });
    expect(await nextPublish(plain)).toBe('site1/cfg again q0');
    // $SYS runs (a plain client gets it) but the mounted client's `$SYS/#` is `site1/$SYS/#`.
    expect((await nextPublish(sys)).startsWith('$SYS/broker/uptime ')).toBe(true);
    expect(await m.drain(1200)).toEqual([]);
    m.end();
    expect(await nextPublish(plain)).toBe('site1/status gone q0');
  });

  it.skipIf(!havePeer)('Debian mosquitto: the same prefixing and isolation (2.0.11 does not take the prefix off: a bug fixed in 2.0.12)', async () => {
    const [a, b] = await mosquitto([], [['mount_point mp/']]);
    const got = await mountScenario(a, b);
    expect(got.plain).toEqual(['mp/x/y from-mounted q0', 'other outside q0', 'mp/z inside q0']);
    // eclipse/mosquitto#2244: 2.0.11 sends the mount point along; 2.0.12 and Midge strip it.
    expect(got.mounted).toEqual(['mp/x/y from-mounted q0', 'mp/z inside q0']);
  });

  it('is refused before any listener line and with a wildcard, as Mosquitto', () => {
    expect(() => parseConfigText('port 1883\nmount_point a/', 'x.conf')).toThrow(/x\.conf:2: option 'mount_point' needs a 'listener' line/);
    expect(() => parseConfigText('listener 1883\nmount_point a/+/', 'x.conf')).toThrow(/invalid mount_point 'a\/\+\/'/);
  });
});

// ---- queue_qos0_messages ----

/** A persistent QoS 0 subscriber goes offline; 3 QoS 0 messages are published; what it gets back. */
async function offlineQos0(port: number): Promise<string[]> {
  const id = u('q0');
  const s = await session(port, id, { clean: false });
  await subscribe(s, 'q0/t', 0);
  s.end();
  await s.closed;
  const p = await session(port, u('q0pub'));
  for (let i = 0; i < 3; i++) p.send({ cmd: 'publish', topic: 'q0/t', payload: Buffer.from(`m${i}`), qos: 0 });
  // A QoS 1 round trip: the QoS 0 messages before it have been handled.
  p.send({ cmd: 'publish', topic: 'q0/other', payload: Buffer.from('sync'), qos: 1, messageId: 9 });
  expect((await p.next()).cmd).toBe('puback');
  const { c, connack } = await RawClient.session(port, id, { clean: false });
  clients.push(c);
  expect(connack.sessionPresent).toBe(true);
  return (await c.drain(300)).map((x) => `${x.topic} ${x.payload} q${x.qos}`);
}

describe('queue_qos0_messages', () => {
  it('off (default): an offline persistent session gets no QoS 0 messages [MQTT-3.1.2-5]', async () => {
    const { ports } = await midge('listener 0 127.0.0.1');
    expect(await offlineQos0(ports[0])).toEqual([]);
  });

  it('on: they are queued for it, counted against max_queued_messages', async () => {
    const { ports } = await midge('listener 0 127.0.0.1\nqueue_qos0_messages true\nmax_queued_messages 2');
    expect(await offlineQos0(ports[0])).toEqual(['q0/t m0 q0', 'q0/t m1 q0']);
  });

  it.skipIf(!havePeer)('Debian mosquitto: none without it, all within the limits with it (2.0.11 counts its limit for offline sessions differently)', async () => {
    const [off] = await mosquitto([]);
    expect(await offlineQos0(off)).toEqual([]);
    const [on] = await mosquitto(['queue_qos0_messages true']);
    const { ports } = await midge('listener 0 127.0.0.1\nqueue_qos0_messages true');
    expect(await offlineQos0(ports[0])).toEqual(await offlineQos0(on));
  });
});

// ---- upgrade_outgoing_qos ----

async function upgradeScenario(port: number): Promise<string[]> {
  const p = await session(port, u('up-pub'));
  p.send({ cmd: 'publish', topic: 'up/r', payload: Buffer.from('retained'), qos: 0, retain: true });
  const s = await session(port, u('up-sub'));
  await subscribe(s, 'up/#', 2);
  const got = [await nextPublish(s)];
  p.send({ cmd: 'publish', topic: 'up/a', payload: Buffer.from('live'), qos: 0 });
  got.push(await nextPublish(s));
  p.send({ cmd: 'publish', topic: 'up/r', payload: Buffer.alloc(0), qos: 0, retain: true });
  return got;
}

describe('upgrade_outgoing_qos', () => {
  it('off (default): a QoS 0 message reaches a QoS 2 subscriber at QoS 0 [MQTT-3.8.4-6]', async () => {
    const { ports } = await midge('listener 0 127.0.0.1');
    expect(await upgradeScenario(ports[0])).toEqual(['up/r retained q0', 'up/a live q0']);
  });

  it('on: live and retained messages go at the subscription QoS', async () => {
    const { ports } = await midge('listener 0 127.0.0.1\nupgrade_outgoing_qos true');
    expect(await upgradeScenario(ports[0])).toEqual(['up/r retained q2', 'up/a live q2']);
  });

  it('on: upgraded QoS 0 messages pace no publisher; past the queue limits they are dropped and counted', async () => {
    const { ports, running } = await midge('listener 0 127.0.0.1\nupgrade_outgoing_qos true\nmax_inflight_messages 2\nmax_queued_messages 3');
    const s = await session(ports[0], u('up-slow'));
    await subscribe(s, 'up/f', 1);
    const p = await session(ports[0], u('up-flood'));
    for (let i = 0; i < 20; i++) p.send({ cmd: 'publish', topic: 'up/f', payload: Buffer.from(`${i}`), qos: 0 });
    // The publisher is not held back: its PINGREQ is answered.
    p.send({ cmd: 'pingreq' });
    expect((await p.next()).cmd).toBe('pingresp');
    // 2 in flight, 3 queued; 15 dropped.
    expect(running.broker.stats.messagesDropped).toBe(15);
    let got = 0;
    for (;;) {
      const m = await s.next(500).catch(() => undefined);
      if (!m) break;
      expect(m.qos).toBe(1);
      s.send({ cmd: 'puback', messageId: m.messageId });
      got++;
    }
    expect(got).toBe(5);
  });

  it.skipIf(!havePeer)('Debian mosquitto upgrades the same way', async () => {
    const [port] = await mosquitto(['upgrade_outgoing_qos true']);
    const { ports } = await midge('listener 0 127.0.0.1\nupgrade_outgoing_qos true');
    expect(await upgradeScenario(ports[0])).toEqual(await upgradeScenario(port));
  });
});

// ---- max_inflight_bytes ----

/** A subscriber that does not acknowledge; 5 QoS 1 messages of 60 bytes: how many it gets before it acks. */
async function inflightBytes(port: number): Promise<number[]> {
  const s = await session(port, u('ib-sub'));
  await subscribe(s, 'ib/t', 1);
  const p = await session(port, u('ib-pub'));
  for (let i = 0; i < 5; i++) {
    p.send({ cmd: 'publish', topic: 'ib/t', payload: Buffer.alloc(60, 48 + i), qos: 1, messageId: 10 + i });
    expect((await p.next()).cmd).toBe('puback');
  }
  const first = (await s.drain(300)).filter((x) => x.cmd === 'publish');
  for (const x of first) s.send({ cmd: 'puback', messageId: x.messageId });
  const rest = (await s.drain(300)).filter((x) => x.cmd === 'publish');
  return [first.length, rest.length];
}

describe('max_inflight_bytes', () => {
  it('holds QoS 1/2 messages back once the payload bytes in flight reach it; one message larger than it still goes, alone', async () => {
    const { ports } = await midge('listener 0 127.0.0.1\nmax_inflight_bytes 100');
    // 0 < 100: one goes; 60 < 100: a second; 120: the rest wait for acknowledgements.
    expect(await inflightBytes(ports[0])).toEqual([2, 2]);
    const { ports: p2 } = await midge('listener 0 127.0.0.1\nmax_inflight_bytes 10');
    expect(await inflightBytes(p2[0])).toEqual([1, 1]);
    const { ports: p3 } = await midge('listener 0 127.0.0.1');
    expect(await inflightBytes(p3[0])).toEqual([5, 0]);
  });
});

// ---- memory_limit ----

describe('memory_limit', () => {
  it('at the limit a publisher is disconnected before its message is acknowledged (MQTT 5: 0x97); the broker goes on and accepts again once below it', async () => {
    // An offline persistent subscriber holds what is published: 10 messages of 1000 bytes fit.
    const { ports, running } = await midge('listener 0 127.0.0.1\nmemory_limit 10500');
    const port = ports[0];
    const subId = u('mem-sub');
    const s = await session(port, subId, { clean: false });
    await subscribe(s, 'mem/t', 1);
    s.end();
    await s.closed;
    const p = await session(port, u('mem-pub'), { protocolVersion: 5, properties: {} });
    let acked = 0;
    for (let i = 0; i < 20; i++) {
      p.send({ cmd: 'publish', topic: 'mem/t', payload: Buffer.alloc(1000, 65), qos: 1, messageId: i + 1, protocolVersion: 5, properties: {} });
      const a = await p.next().catch(() => undefined);
      if (a?.cmd !== 'puback') {
        expect(a?.cmd).toBe('disconnect');
        expect(a?.reasonCode).toBe(0x97);
        break;
      }
      acked++;
    }
    expect(acked).toBe(10);
    expect(await p.closesWithin()).toBe(true);
    // Other clients are still served (a QoS 1 publish is refused too while over).
    const q = await session(port, u('mem-q'));
    q.send({ cmd: 'pingreq' });
    expect((await q.next()).cmd).toBe('pingresp');
    // The subscriber takes its 10 messages: every acknowledged one arrived.
    const { c } = await RawClient.session(port, subId, { clean: false });
    clients.push(c);
    let got = 0;
    while (got < 10) {
      const m = await c.next();
      expect(m.cmd).toBe('publish');
      c.send({ cmd: 'puback', messageId: m.messageId });
      got++;
    }
    // Once a second the broker counts again: then messages are accepted.
    const deadline = Date.now() + 5000;
    let ok = false;
    while (!ok && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
      ok = running.broker.memUsed === 0;
    }
    expect(ok).toBe(true);
    const again = await session(port, u('mem-again'));
    again.send({ cmd: 'publish', topic: 'mem/t', payload: Buffer.alloc(1000, 66), qos: 1, messageId: 1 });
    expect((await again.next()).cmd).toBe('puback');
  });
});

describe('memory_limit with MQTT-SN (SN)', () => {
  it('a QoS 1 PUBLISH past the limit gets PUBACK "rejected: congestion" and is not published; accepted again once below it', async () => {
    const { ports, running } = await midge('listener 0 127.0.0.1\nmemory_limit 2500\nlistener 0 127.0.0.1\nprotocol mqttsn\nadvertise_interval 0');
    const [mqttPort, udp] = ports;
    const subId = u('sn-mem-sub');
    const s = await session(mqttPort, subId, { clean: false });
    await subscribe(s, 'snm/t', 1);
    s.end();
    await s.closed;
    const c = await SnTestClient.open(udp);
    open.push({ close: () => c.close() });
    expect(await c.connect(u('sn-mem'))).toBe(0);
    const topicId = (await c.register('snm/t')).topicId as number;
    const codes: number[] = [];
    for (let i = 0; i < 3; i++) {
      const id = c.publish(topicId, Buffer.alloc(1000, 65 + i), 1);
      const a = await c.next(sn.PUBACK);
      expect(a.msgId).toBe(id);
      codes.push(a.rc as number);
    }
    expect(codes).toEqual([sn.RC_ACCEPTED, sn.RC_ACCEPTED, sn.RC_CONGESTION]);
    // The subscriber gets the two accepted ones; then, below the limit again, a publish goes through.
    const { c: back } = await RawClient.session(mqttPort, subId, { clean: false });
    clients.push(back);
    for (let i = 0; i < 2; i++) {
      const m = await back.next();
      expect(String(m.payload)).toBe(String.fromCharCode(65 + i).repeat(1000));
      back.send({ cmd: 'puback', messageId: m.messageId });
    }
    const deadline = Date.now() + 5000;
    while (running.broker.memUsed > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
    const id = c.publish(topicId, Buffer.alloc(1000, 90), 1);
    const a = await c.next(sn.PUBACK);
    expect([a.msgId, a.rc]).toEqual([id, sn.RC_ACCEPTED]);
    expect(String((await back.next()).payload)).toBe('Z'.repeat(1000));
  });
});

describe('memory_limit with a bridge (BRIDGE)', () => {
  it('past the limit the link is dropped before the ack; nothing the remote published is lost once the local broker is below it again', async () => {
    const { ports: [remote], running: r } = await midge('listener 0 127.0.0.1');
    const bridgeId = u('mem-bridge');
    const { ports: [local], running: l } = await midge(
      `listener 0 127.0.0.1\nmemory_limit 3500\nconnection r\naddress 127.0.0.1:${remote}\nremote_clientid ${bridgeId}\n` +
        'restart_timeout 1\nnotifications false\ntopic mem/# in 1',
    );
    const subId = u('mem-local');
    const s = await session(local, subId, { clean: false });
    await subscribe(s, 'mem/#', 1);
    s.end();
    await s.closed;
    const until = async (ok: () => boolean, what: string): Promise<void> => {
      for (const end = Date.now() + 10_000; !ok(); await new Promise((res) => setTimeout(res, 50))) {
        if (Date.now() > end) throw new Error(`timeout waiting for ${what}`);
      }
    };
    await until(() => (r.broker.sessions.get(bridgeId)?.subscriptions.size ?? 0) > 0, 'the bridge to subscribe on the remote');
    const p = await session(remote, u('mem-remote-pub'));
    for (let i = 0; i < 6; i++) {
      p.send({ cmd: 'publish', topic: 'mem/t', payload: Buffer.alloc(1000, 65 + i), qos: 1, messageId: i + 1 });
      expect((await p.next()).cmd).toBe('puback');
    }
    // Three fit (3 × 1005 bytes); the fourth ends the link, which comes back and is dropped again.
    await until(() => l.broker.memFull && l.broker.sessions.get(subId)?.heldBytes === 3000, 'the limit');
    const { c } = await RawClient.session(local, subId, { clean: false });
    clients.push(c);
    const got = new Set<string>();
    const deadline = Date.now() + 15_000;
    while (got.size < 6 && Date.now() < deadline) {
      const m = await c.next(3000).catch(() => undefined);
      if (!m) continue;
      c.send({ cmd: 'puback', messageId: m.messageId });
      got.add(String(m.payload)[0]);
    }
    expect([...got].sort().join('')).toBe('ABCDEF');
  });
});

// ---- check_retain_source (AUTH) ----

describe('check_retain_source (AUTH)', () => {
  /** A broker with a password file, an ACL file that can change, and a way to reload them. */
  type Secured = (files: string[], check: boolean) => Promise<{ port: number; reload(): Promise<void> }>;

  const onMidge: Secured = async ([pw, acl], check) => {
    const { ports, running } = await midge(
      `listener 0 127.0.0.1\npassword_file ${pw}\nacl_file ${acl}\nallow_anonymous false\n${check ? '' : 'check_retain_source false\n'}`,
    );
    return { port: ports[0], reload: () => running.reload() };
  };

  const onMosquitto: Secured = async ([pw, acl], check) => {
    dir ??= sharedDir('midge-opts-');
    for (let i = 0; ; i++) {
      try {
        const m = await startMosquitto(dir, [`password_file ${pw}`, `acl_file ${acl}`, 'allow_anonymous false', ...(check ? [] : ['check_retain_source false'])]);
        open.push({ close: () => void m.proc.kill() });
        return {
          port: m.port,
          reload: async () => {
            m.proc.kill('SIGHUP');
            await m.proc.waitFor(/Reloading config/, 10_000, 'stderr');
          },
        };
      } catch (e) {
        if (i === 2) throw e;
      }
    }
  };

  /** alice publishes a retained message, loses write access (ACL reloaded): what two later subscribers get. */
  async function scenario(start: Secured, check: boolean): Promise<string[]> {
    dir ??= sharedDir('midge-opts-');
    const pw = join(dir, u('pw'));
    const acl = join(dir, u('acl'));
    writeShared(pw, `alice:${hashPassword('a')}\nreader:${hashPassword('r')}\n`);
    writeShared(acl, 'user alice\ntopic readwrite home/#\nuser reader\ntopic read home/#\n');
    const b = await start([pw, acl], check);
    const alice = await session(b.port, u('alice'), { username: 'alice', password: Buffer.from('a') });
    alice.send({ cmd: 'publish', topic: 'home/door', payload: Buffer.from('open'), qos: 1, messageId: 1, retain: true });
    expect((await alice.next()).cmd).toBe('puback');
    const got: string[] = [];
    const r1 = await session(b.port, u('reader'), { username: 'reader', password: Buffer.from('r') });
    await subscribe(r1, 'home/#', 0);
    got.push(await nextPublish(r1));
    writeShared(acl, 'user alice\ntopic read home/#\nuser reader\ntopic read home/#\n');
    await b.reload();
    const r2 = await session(b.port, u('reader'), { username: 'reader', password: Buffer.from('r') });
    await subscribe(r2, 'home/#', 0);
    got.push(...(await r2.drain(300)).map((x) => `${x.topic} ${x.payload} q${x.qos}`));
    return got;
  }

  it('true (default): a retained message whose publisher lost write access is no longer sent to new subscribers', async () => {
    expect(await scenario(onMidge, true)).toEqual(['home/door open q0']);
  });

  it('false: it is sent regardless', async () => {
    expect(await scenario(onMidge, false)).toEqual(['home/door open q0', 'home/door open q0']);
  });

  // Debian's mosquitto 2.0.11 sends the message in both cases: with check_retain_source true too,
  // although its manual says otherwise (alice's own publishes are denied after the reload). Midge
  // does what the manual says; the difference is listed in docs/configuration.md.
  it.skipIf(!havePeer)('Debian mosquitto: false sends it regardless, the same', async () => {
    expect(await scenario(onMosquitto, false)).toEqual(await scenario(onMidge, false));
  });
});

// ---- options accepted as Mosquitto 2.0 accepts them ----

describe('accepted as in Mosquitto 2.0', () => {
  it('deprecated retry_interval and allow_duplicate_messages, max_topic_alias and the limits parse', () => {
    const cfg = parseConfigText(
      'retry_interval 20\nallow_duplicate_messages true\nmax_inflight_bytes 1000\nqueue_qos0_messages true\n' +
        'upgrade_outgoing_qos true\ncheck_retain_source false\nmemory_limit 5000000\nlistener 1883\nmax_topic_alias 5\nmax_qos 1\nmount_point a/\n',
      'x.conf',
    );
    expect(cfg).toMatchObject({ maxInflightBytes: 1000, queueQos0Messages: true, upgradeOutgoingQos: true, checkRetainSource: false, memoryLimit: 5000000 });
    expect(cfg.listeners[0]).toMatchObject({ maxTopicAlias: 5, maxQos: 1, mountPoint: 'a/' });
    expect(() => parseConfigText('max_qos 3', 'x.conf')).toThrow(/out of range: 3 \(allowed 0\.\.2\)/);
    expect(() => parseConfigText('memory_limit -5', 'x.conf')).toThrow(/must not be negative/);
    expect(() => parseConfigText('allow_duplicate_messages abc', 'x.conf')).toThrow(/needs true or false/);
  });
});

describe('in a build without any feature (the minimal profile)', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'midge-opts-min-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('every option of this group is accepted; max_topic_alias has no effect; max_qos and mount_point work', async () => {
    const parse = await importWithFlags<typeof Parse>(new URL('../helpers/parse-entry.ts', import.meta.url), [], tmp);
    // One file per flag set in a directory: the server goes to a directory of its own.
    const sdir = join(tmp, 'server');
    mkdirSync(sdir);
    const server = await importWithFlags<typeof Server>(new URL('../../src/server.ts', import.meta.url), [], sdir);
    const cfg = parse.parseConfigText(
      'allow_anonymous true\nsys_interval 0\nmax_inflight_bytes 1000\nqueue_qos0_messages true\nupgrade_outgoing_qos false\n' +
        'check_retain_source true\nmemory_limit 50000000\nlistener 0 127.0.0.1\nmax_topic_alias 5\nmaximum_qos 1\nlistener 0 127.0.0.1\nmount_point mp/\n',
      'min.conf',
    );
    expect(cfg.listeners[0].maxTopicAlias).toBeUndefined();
    const running = await server.startServer(cfg);
    open.push(running);
    const [a, b] = running.addresses.map((x) => x.port);
    const s = await session(a, u('min'));
    expect(await subscribe(s, 'x', 2)).toEqual([1]);
    expect(await mountScenario(a, b)).toEqual({
      plain: ['mp/x/y from-mounted q0', 'other outside q0', 'mp/z inside q0'],
      mounted: ['x/y from-mounted q0', 'z inside q0'],
    });
  });
});
