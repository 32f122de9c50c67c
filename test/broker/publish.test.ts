// PUBLISH flows, QoS 0/1/2 both ways, sessions and redelivery (MQTT 3.1.1 §3.3–3.7, §4.3, §4.4).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawClient } from '../helpers/raw.ts';
import { startBroker, type TestBroker } from '../helpers/broker.ts';

let b: TestBroker;
beforeAll(async () => {
  b = await startBroker();
});
afterAll(() => b.close());

async function subscriber(id: string, topic: string, qos: 0 | 1 | 2, opts: Record<string, any> = {}) {
  const { c, connack } = await RawClient.session(b.port, id, opts);
  c.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic, qos }] });
  const suback = await c.next();
  expect(suback.cmd).toBe('suback');
  return { c, connack, suback };
}

describe('QoS flows (§4.3)', () => {
  it('[MQTT-4.3.1-1] QoS 0 is forwarded without acknowledgement', async () => {
    const s = await subscriber('q0-sub', 'q0/t', 0);
    const { c: p } = await RawClient.session(b.port, 'q0-pub');
    p.send({ cmd: 'publish', topic: 'q0/t', payload: 'hello', qos: 0 });
    const m = await s.c.next();
    expect(m).toMatchObject({ cmd: 'publish', topic: 'q0/t', qos: 0, retain: false, dup: false });
    expect(m.payload.toString()).toBe('hello');
    s.c.end();
    p.end();
  });

  it('[MQTT-4.3.2-2] QoS 1 inbound gets PUBACK with the same packet id; outbound waits for PUBACK', async () => {
    const s = await subscriber('q1-sub', 'q1/t', 1);
    const { c: p } = await RawClient.session(b.port, 'q1-pub');
    p.send({ cmd: 'publish', topic: 'q1/t', payload: 'one', qos: 1, messageId: 77 });
    expect(await p.next()).toMatchObject({ cmd: 'puback', messageId: 77 });
    const m = await s.c.next();
    expect(m).toMatchObject({ cmd: 'publish', topic: 'q1/t', qos: 1 });
    expect(m.messageId).toBeGreaterThan(0);
    s.c.send({ cmd: 'puback', messageId: m.messageId });
    s.c.end();
    p.end();
  });

  it('[MQTT-4.3.3-2] QoS 2 inbound: PUBREC, PUBREL, PUBCOMP; a DUP resend before PUBREL is not delivered again', async () => {
    const s = await subscriber('q2-sub', 'q2/t', 2);
    const { c: p } = await RawClient.session(b.port, 'q2-pub');
    p.send({ cmd: 'publish', topic: 'q2/t', payload: 'exactly', qos: 2, messageId: 9 });
    expect(await p.next()).toMatchObject({ cmd: 'pubrec', messageId: 9 });
    p.send({ cmd: 'publish', topic: 'q2/t', payload: 'exactly', qos: 2, messageId: 9, dup: true });
    expect(await p.next()).toMatchObject({ cmd: 'pubrec', messageId: 9 });
    p.send({ cmd: 'pubrel', messageId: 9 });
    expect(await p.next()).toMatchObject({ cmd: 'pubcomp', messageId: 9 });
    // Outbound QoS 2 to the subscriber: PUBLISH, PUBREC → PUBREL, PUBCOMP.
    const m = await s.c.next();
    expect(m).toMatchObject({ cmd: 'publish', topic: 'q2/t', qos: 2 });
    s.c.send({ cmd: 'pubrec', messageId: m.messageId });
    expect(await s.c.next()).toMatchObject({ cmd: 'pubrel', messageId: m.messageId });
    s.c.send({ cmd: 'pubcomp', messageId: m.messageId });
    // After PUBREL the same id is a new message.
    p.send({ cmd: 'publish', topic: 'q2/t', payload: 'second', qos: 2, messageId: 9 });
    expect(await p.next()).toMatchObject({ cmd: 'pubrec', messageId: 9 });
    const m2 = await s.c.next();
    expect(m2.payload.toString()).toBe('second');
    // Nothing else (in particular no duplicate of 'exactly') was delivered.
    expect((await s.c.drain()).filter((x) => x.cmd === 'publish')).toEqual([]);
    s.c.end();
    p.end();
  });

  it('[MQTT-3.8.4-6] delivers at the lower of published and granted QoS', async () => {
    const s = await subscriber('down-sub', 'down/t', 1);
    const { c: p } = await RawClient.session(b.port, 'down-pub');
    p.send({ cmd: 'publish', topic: 'down/t', payload: 'x', qos: 2, messageId: 5 });
    const m = await s.c.next();
    expect(m.qos).toBe(1);
    p.send({ cmd: 'publish', topic: 'down/t', payload: 'y', qos: 0 });
    const m0 = await s.c.next();
    expect(m0.qos).toBe(0);
    s.c.end();
    p.end();
  });

  it('[MQTT-3.3.5-1] overlapping subscriptions deliver one copy at the highest QoS', async () => {
    const { c } = await RawClient.session(b.port, 'overlap');
    c.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'ov/#', qos: 0 }, { topic: 'ov/+', qos: 2 }, { topic: 'ov/a', qos: 1 }] });
    expect((await c.next()).granted).toEqual([0, 2, 1]);
    const { c: p } = await RawClient.session(b.port, 'overlap-pub');
    p.send({ cmd: 'publish', topic: 'ov/a', payload: 'once', qos: 2, messageId: 3 });
    const m = await c.next();
    expect(m.qos).toBe(2);
    p.send({ cmd: 'publish', topic: 'ov/marker', payload: 'end', qos: 0 });
    const marker = await c.next();
    expect(marker.topic).toBe('ov/marker'); // the next packet is the marker, not a second copy
    c.end();
    p.end();
  });

  it('[MQTT-3.10.4-1] UNSUBSCRIBE stops delivery and is answered with UNSUBACK', async () => {
    const s = await subscriber('unsub', 'un/t', 0);
    s.c.send({ cmd: 'unsubscribe', messageId: 4, unsubscriptions: ['un/t'] });
    expect(await s.c.next()).toMatchObject({ cmd: 'unsuback', messageId: 4 });
    s.c.send({ cmd: 'subscribe', messageId: 5, subscriptions: [{ topic: 'un/marker', qos: 0 }] });
    await s.c.next();
    const { c: p } = await RawClient.session(b.port, 'unsub-pub');
    p.send({ cmd: 'publish', topic: 'un/t', payload: 'no', qos: 0 });
    p.send({ cmd: 'publish', topic: 'un/marker', payload: 'yes', qos: 0 });
    expect((await s.c.next()).topic).toBe('un/marker');
    s.c.end();
    p.end();
  });
});

describe('sessions (§3.1.2.4, §4.4)', () => {
  it('[MQTT-3.1.2-4] a persistent session keeps subscriptions and queues QoS 1/2 (not QoS 0) while offline', async () => {
    const first = await subscriber('persist', 'ps/#', 2, { clean: false });
    first.c.send({ cmd: 'disconnect' });
    await first.c.closed;
    const { c: p } = await RawClient.session(b.port, 'persist-pub');
    p.send({ cmd: 'publish', topic: 'ps/0', payload: 'q0', qos: 0 });
    p.send({ cmd: 'publish', topic: 'ps/1', payload: 'q1', qos: 1, messageId: 1 });
    p.send({ cmd: 'publish', topic: 'ps/2', payload: 'q2', qos: 2, messageId: 2 });
    await p.next();
    await p.next();
    const back = await RawClient.session(b.port, 'persist', { clean: false });
    expect(back.connack.sessionPresent).toBe(true);
    const m1 = await back.c.next();
    const m2 = await back.c.next();
    expect([m1.topic, m2.topic]).toEqual(['ps/1', 'ps/2']);
    expect([m1.qos, m2.qos]).toEqual([1, 2]);
    back.c.send({ cmd: 'puback', messageId: m1.messageId });
    back.c.send({ cmd: 'pubrec', messageId: m2.messageId });
    expect((await back.c.next()).cmd).toBe('pubrel');
    back.c.send({ cmd: 'pubcomp', messageId: m2.messageId });
    back.c.end();
    p.end();
  });

  it('[MQTT-4.4.0-1] resends unacknowledged messages with DUP on resume, and PUBREL for released QoS 2', async () => {
    const s = await subscriber('redeliver', 'rd/#', 2, { clean: false });
    const { c: p } = await RawClient.session(b.port, 'redeliver-pub');
    p.send({ cmd: 'publish', topic: 'rd/1', payload: 'a', qos: 1, messageId: 1 });
    p.send({ cmd: 'publish', topic: 'rd/2', payload: 'b', qos: 2, messageId: 2 });
    const a = await s.c.next();
    const bb = await s.c.next();
    expect(a.dup).toBe(false);
    s.c.send({ cmd: 'pubrec', messageId: bb.messageId });
    expect((await s.c.next()).cmd).toBe('pubrel');
    s.c.end(); // no PUBACK for a, no PUBCOMP for b
    await s.c.closed;
    const back = await RawClient.session(b.port, 'redeliver', { clean: false });
    const again = await back.c.next();
    expect(again).toMatchObject({ cmd: 'publish', topic: 'rd/1', dup: true, messageId: a.messageId });
    const rel = await back.c.next();
    expect(rel).toMatchObject({ cmd: 'pubrel', messageId: bb.messageId });
    back.c.end();
    p.end();
  });

  it('a clean session discards state on connect', async () => {
    const first = await subscriber('cleaner', 'cl/t', 1, { clean: false });
    first.c.send({ cmd: 'disconnect' });
    await first.c.closed;
    const { c: fresh, connack } = await RawClient.session(b.port, 'cleaner', { clean: true });
    expect(connack.sessionPresent).toBe(false);
    const { c: p } = await RawClient.session(b.port, 'cleaner-pub');
    p.send({ cmd: 'publish', topic: 'cl/t', payload: 'x', qos: 1, messageId: 1 });
    await p.next();
    fresh.send({ cmd: 'pingreq' });
    expect((await fresh.next()).cmd).toBe('pingresp'); // not a publish: the subscription is gone
    fresh.end();
    p.end();
  });
});

describe('flow control and limits', () => {
  it('max_inflight_messages caps unacknowledged QoS 1 messages; PUBACK opens the window', async () => {
    const nb = await startBroker({ maxInflightMessages: 2 });
    try {
      const { c } = await RawClient.session(nb.port, 'win');
      c.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'w', qos: 1 }] });
      await c.next();
      const { c: p } = await RawClient.session(nb.port, 'win-pub');
      for (let i = 1; i <= 5; i++) p.send({ cmd: 'publish', topic: 'w', payload: String(i), qos: 1, messageId: i });
      for (let i = 1; i <= 5; i++) await p.next(); // all PUBACKed by the broker
      const m1 = await c.next();
      const m2 = await c.next();
      expect([m1.payload.toString(), m2.payload.toString()]).toEqual(['1', '2']);
      expect(await c.drain()).toEqual([]); // window full
      c.send({ cmd: 'puback', messageId: m1.messageId });
      expect((await c.next()).payload.toString()).toBe('3');
      c.end();
      p.end();
    } finally {
      await nb.close();
    }
  });

  it('max_queued_messages bounds the queue of an offline session and counts drops', async () => {
    const nb = await startBroker({ maxQueuedMessages: 3 });
    try {
      const s = await RawClient.session(nb.port, 'q-off', { clean: false });
      s.c.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'q', qos: 1 }] });
      await s.c.next();
      s.c.send({ cmd: 'disconnect' });
      await s.c.closed;
      const { c: p } = await RawClient.session(nb.port, 'q-pub');
      for (let i = 1; i <= 10; i++) p.send({ cmd: 'publish', topic: 'q', payload: String(i), qos: 1, messageId: i });
      for (let i = 1; i <= 10; i++) await p.next();
      expect(nb.running.broker.stats.messagesDropped).toBe(7);
      const back = await RawClient.session(nb.port, 'q-off', { clean: false });
      const got = [];
      for (let i = 0; i < 3; i++) got.push((await back.c.next()).payload.toString());
      expect(got).toEqual(['1', '2', '3']);
      back.c.end();
      p.end();
    } finally {
      await nb.close();
    }
  });

  it('message_size_limit drops larger payloads but acknowledges them', async () => {
    const nb = await startBroker({ messageSizeLimit: 10 });
    try {
      const { c } = await RawClient.session(nb.port, 'lim');
      c.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'l', qos: 1 }] });
      await c.next();
      const { c: p } = await RawClient.session(nb.port, 'lim-pub');
      p.send({ cmd: 'publish', topic: 'l', payload: 'x'.repeat(11), qos: 1, messageId: 1 });
      expect(await p.next()).toMatchObject({ cmd: 'puback', messageId: 1 });
      p.send({ cmd: 'publish', topic: 'l', payload: 'small', qos: 0 });
      expect((await c.next()).payload.toString()).toBe('small');
      c.end();
      p.end();
    } finally {
      await nb.close();
    }
  });

  it('a subscriber that stops reading does not grow the broker without bound nor slow others', async () => {
    const nb = await startBroker({ maxQueuedMessages: 100 });
    try {
      const slow = await RawClient.session(nb.port, 'slow');
      slow.c.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'flood', qos: 0 }] });
      await slow.c.next();
      slow.c.socket.pause(); // stop reading: the kernel buffers fill, then the broker's
      const fast = await RawClient.session(nb.port, 'fast');
      fast.c.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'flood', qos: 0 }] });
      await fast.c.next();
      const { c: p } = await RawClient.session(nb.port, 'flooder');
      const payload = Buffer.alloc(16 * 1024, 1);
      const N = 1000; // 16 MB offered to the slow subscriber, in batches paced by the fast one
      const BATCH = 50;
      let fastGot = 0;
      let wake: (() => void) | undefined;
      fast.c.socket.removeAllListeners('data');
      let buffered = 0;
      // Count bytes rather than parse: each message is 16 KiB payload + 11 bytes of header and topic.
      fast.c.socket.on('data', (d: Buffer) => {
        buffered += d.length;
        fastGot = Math.floor(buffered / (payload.length + 11));
        wake?.();
      });
      for (let sent = 0; sent < N; sent += BATCH) {
        for (let i = 0; i < BATCH; i++) p.send({ cmd: 'publish', topic: 'flood', payload, qos: 0 });
        while (fastGot < sent + BATCH) await new Promise<void>((r) => (wake = r));
      }
      expect(fastGot).toBe(N);
      const session = nb.running.broker.sessions.get('slow')!;
      expect(session.queued).toBeLessThanOrEqual(100);
      expect(nb.running.broker.stats.messagesDropped).toBeGreaterThan(0);
      slow.c.end();
      fast.c.end();
      p.end();
    } finally {
      await nb.close();
    }
  });
});
