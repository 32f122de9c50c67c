// Flow control (docs/flow-control.md): a PUBACK/PUBREC means the message is queued for every
// matching QoS 1/2 subscriber that is connected and making progress. Publishers are paced by
// acknowledgements only, as real ones are; the subscribers count what they receive.
import { afterEach, describe, expect, it } from 'vitest';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { pacedPublish, subscriber, type PublishResult, type Subscriber } from '../helpers/load.ts';
import { RawClient } from '../helpers/raw.ts';

let b: TestBroker | undefined;
const subs: Subscriber[] = [];

afterEach(async () => {
  for (const s of subs.splice(0)) s.close();
  await b?.close();
  b = undefined;
});

/** Every acknowledged message arrived, in order per publisher; `once`: none twice. */
function expectDelivered(results: PublishResult[], ids: string[], sub: Subscriber, once: boolean): number {
  let acked = 0;
  results.forEach((r, i) => {
    const got = sub.got.get(ids[i]) ?? [];
    for (const seq of r.acked) expect(got.includes(seq), `${ids[i]}:${seq} acknowledged but not delivered`).toBe(true);
    // [MQTT-4.6.0-2..3] per-publisher order: a QoS 1 resend may repeat, never reorder.
    const distinct = got.filter((v, k) => k === 0 || v !== got[k - 1]);
    for (let k = 1; k < distinct.length; k++) expect(distinct[k], `${ids[i]} out of order`).toBeGreaterThan(distinct[k - 1]);
    if (once) expect(got.length).toBe(new Set(got).size);
    acked += r.acked.size;
  });
  return acked;
}

describe('pacing publishers instead of dropping what was acknowledged', () => {
  for (const qos of [1, 2] as const) {
    it(`4 publishers × QoS ${qos}, 100 in flight each, one slow subscriber: every acknowledged message arrives${qos === 2 ? ' exactly once' : ''}, in order [MQTT-4.6.0-2] [MQTT-4.6.0-3]`, async () => {
      b = await startBroker({ maxQueuedMessages: 50 });
      const N = 1500;
      const sub = await subscriber(b.port, 'slow', 'load/#', qos, { ackDelay: 2 });
      subs.push(sub);
      const ids = ['p0', 'p1', 'p2', 'p3'];
      const results = await Promise.all(ids.map((id) => pacedPublish(b!.port, id, `load/${id}`, N, qos, { ms: 60_000 })));
      for (const r of results) expect(r.acked.size).toBe(N);
      await sub.until(ids.length * N, 30_000);
      expectDelivered(results, ids, sub, qos === 2);
      const stats = b.running.broker.stats;
      expect(stats.messagesDropped).toBe(0);
      // The queue limit was reached: the publishers were held back rather than served past it.
      expect(stats.publishersPaced).toBeGreaterThan(0);
    }, 90_000);
  }

  it('a paced publisher is held at the queue limit: at most one message each past max_queued_messages', async () => {
    b = await startBroker({ maxQueuedMessages: 10, maxInflightMessages: 5, subscriberStallTimeout: 0 });
    const stuck = await subscriber(b.port, 'stuck', 't/#', 1, { ackDelay: -1 });
    subs.push(stuck);
    const pubs = [0, 1, 2].map((i) => pacedPublish(b!.port, `p${i}`, `t/${i}`, 100, 1, { ms: 1500 }));
    const results = await Promise.all(pubs);
    const session = b.running.broker.sessions.get('stuck')!;
    // 5 in flight, 10 queued, then each publisher's one message that found the queue full.
    expect(session.inflightCount).toBe(5);
    expect(session.queued).toBeLessThanOrEqual(10 + 3);
    const acked = results.reduce((n, r) => n + r.acked.size, 0);
    // Acknowledged = queued or in flight: nothing acknowledged went missing.
    expect(acked).toBeLessThanOrEqual(session.inflightCount + session.queued);
    expect(b.running.broker.stats.messagesDropped).toBe(0);
  });

  it('QoS 0 keeps drop-on-overflow and never paces; QoS 1 beside it is not starved', async () => {
    b = await startBroker({ maxQueuedMessages: 20 });
    const sub = await subscriber(b.port, 'mixed', 'm/#', 1, { ackDelay: 1 });
    subs.push(sub);
    const flood = await RawClient.session(b.port, 'flood');
    const big = Buffer.alloc(2000, 0x61);
    // A bounded QoS 0 flood written at once, while a QoS 1 publisher runs beside it.
    for (let i = 0; i < 3000; i++) flood.c.send({ cmd: 'publish', topic: 'm/zero', payload: big, qos: 0 });
    const r = await pacedPublish(b.port, 'q1', 'm/one', 300, 1, { ms: 30_000 });
    expect(r.acked.size).toBe(300);
    await sub.until(300, 30_000, 'q1');
    expect(new Set(sub.got.get('q1')).size).toBe(300);
    flood.c.end();
  }, 60_000);
});

describe('offline sessions and stalled subscribers keep the drop rule', () => {
  it('an offline persistent session queues up to max_queued_messages, then drops and counts; publishers are not paced', async () => {
    b = await startBroker({ maxQueuedMessages: 10 });
    const { c } = await RawClient.session(b.port, 'phone', { clean: false });
    c.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'house/#', qos: 1 }] });
    await c.next();
    c.send({ cmd: 'disconnect' });
    await c.closed;
    const r = await pacedPublish(b.port, 'sensor', 'house/temp', 50, 1, { ms: 10_000 });
    expect(r.acked.size).toBe(50);
    expect(b.running.broker.stats.messagesDropped).toBe(40);
    expect(b.running.broker.stats.publishersPaced).toBe(0);
    // Back online: the 10 kept messages, the oldest ones.
    const back = await RawClient.session(b.port, 'phone', { clean: false });
    expect(back.connack.sessionPresent).toBe(true);
    const seqs: number[] = [];
    for (let i = 0; i < 10; i++) {
      const p = await back.c.next();
      seqs.push(Number(String(p.payload).split(':')[1]));
      back.c.send({ cmd: 'puback', messageId: p.messageId });
    }
    expect(seqs).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    back.c.end();
  });

  it('a connected subscriber that makes no progress stops pacing after subscriber_stall_timeout, and paces again once it moves', async () => {
    b = await startBroker({ maxQueuedMessages: 10, maxInflightMessages: 5, subscriberStallTimeout: 1 });
    const stuck = await subscriber(b.port, 'stuck', 's/#', 1, { ackDelay: -1 });
    subs.push(stuck);
    const t0 = Date.now();
    const r = await pacedPublish(b.port, 'pub', 's/x', 200, 1, { ms: 10_000 });
    // Held at first, then let go once the subscriber counted as stalled.
    expect(r.acked.size).toBe(200);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    const broker = b.running.broker;
    const session = broker.sessions.get('stuck')!;
    expect(session.isStalled).toBe(true);
    expect(broker.stats.publishersPaced).toBe(1);
    // Treated as offline: what did not fit was dropped and counted.
    expect(broker.stats.messagesDropped).toBeGreaterThan(0);
    expect(session.queued).toBeLessThanOrEqual(11);
    // It moves (reads and acknowledges): no longer stalled.
    stuck.unstick();
    await expect.poll(() => session.isStalled, { timeout: 5000 }).toBe(false);
  });
});

describe('MQTT 5 publishers are held to the broker\'s Receive Maximum', () => {
  it('a paced MQTT 5 publisher that sends past Receive Maximum is disconnected with 0x93 [MQTT-3.3.4-7]', async () => {
    b = await startBroker({ maxQueuedMessages: 1, maxInflightMessages: 5, subscriberStallTimeout: 0 });
    const stuck = await subscriber(b.port, 'stuck', 'r/#', 1, { ackDelay: -1 });
    subs.push(stuck);
    const { c, connack } = await RawClient.session(b.port, 'greedy', { protocolVersion: 5 });
    expect(connack.properties?.receiveMaximum).toBe(5);
    // 5 fill the subscriber's window, the 6th its queue: the 7th is paced. Then 5 more unacknowledged
    // (4 held + the paced one) is the limit; one more breaks it.
    for (let i = 1; i <= 12; i++) c.send({ cmd: 'publish', topic: 'r/x', payload: Buffer.from(`greedy:${i}`), qos: 1, messageId: i, protocolVersion: 5 });
    const acks: number[] = [];
    let disconnect: number | undefined;
    for (;;) {
      const p = await c.next(5000).catch(() => undefined);
      if (!p) break;
      if (p.cmd === 'puback') acks.push(p.messageId as number);
      if (p.cmd === 'disconnect') {
        disconnect = p.reasonCode;
        break;
      }
    }
    expect(disconnect).toBe(0x93);
    expect(acks.length).toBeLessThan(12);
  });

  it('a compliant MQTT 5 publisher (at most Receive Maximum unacknowledged) is paced, not disconnected', async () => {
    b = await startBroker({ maxQueuedMessages: 20, maxInflightMessages: 10 });
    const sub = await subscriber(b.port, 'slow5', 'v5/#', 1, { ackDelay: 2, version: 5 });
    subs.push(sub);
    const r = await pacedPublish(b.port, 'pub5', 'v5/x', 1000, 1, { inflight: 10, version: 5, ms: 30_000 });
    expect(r.closed).toBe(false);
    expect(r.acked.size).toBe(1000);
    await sub.until(1000, 20_000);
    expect(b.running.broker.stats.publishersPaced).toBeGreaterThan(0);
    expect(b.running.broker.stats.messagesDropped).toBe(0);
  }, 60_000);
});
