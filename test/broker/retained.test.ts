// Retained messages, MQTT 3.1.1 §3.3.1.3.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawClient } from '../helpers/raw.ts';
import { startBroker, type TestBroker } from '../helpers/broker.ts';

let b: TestBroker;
beforeAll(async () => {
  b = await startBroker();
});
afterAll(() => b.close());

async function publish(topic: string, payload: string, qos: 0 | 1 | 2, retain: boolean) {
  const { c } = await RawClient.session(b.port, `pub-${Math.random()}`);
  c.send({ cmd: 'publish', topic, payload, qos, retain, messageId: qos ? 1 : undefined });
  if (qos === 1) await c.next();
  else {
    c.send({ cmd: 'pingreq' }); // the PINGRESP proves the PUBLISH before it was processed
    await c.next();
  }
  c.end();
}

async function subscribe(id: string, topic: string, qos: 0 | 1 | 2 = 1) {
  const { c } = await RawClient.session(b.port, id);
  c.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic, qos }] });
  expect((await c.next()).cmd).toBe('suback');
  return c;
}

describe('retained messages', () => {
  it('[MQTT-3.3.1-5] [MQTT-3.3.1-8] a stored message is sent with RETAIN 1 to a new subscriber', async () => {
    await publish('r/a', 'kept', 1, true);
    const c = await subscribe('r-sub1', 'r/a');
    const m = await c.next();
    expect(m).toMatchObject({ topic: 'r/a', retain: true, qos: 1 });
    expect(m.payload.toString()).toBe('kept');
    c.end();
  });

  it('[MQTT-3.3.1-9] a live forward carries RETAIN 0 even when published retained', async () => {
    const c = await subscribe('r-sub2', 'r/live', 0);
    await publish('r/live', 'now', 0, true);
    const m = await c.next();
    expect(m.retain).toBe(false);
    c.end();
  });

  it('[MQTT-3.3.1-5] a new retained message replaces the old one', async () => {
    await publish('r/b', 'old', 0, true);
    await publish('r/b', 'new', 0, true);
    const c = await subscribe('r-sub3', 'r/b');
    expect((await c.next()).payload.toString()).toBe('new');
    c.send({ cmd: 'pingreq' });
    expect((await c.next()).cmd).toBe('pingresp'); // only one retained message
    c.end();
  });

  it('[MQTT-3.3.1-10] [MQTT-3.3.1-11] an empty retained payload deletes and is not stored', async () => {
    await publish('r/c', 'there', 0, true);
    await publish('r/c', '', 0, true);
    const c = await subscribe('r-sub4', 'r/c');
    c.send({ cmd: 'pingreq' });
    expect((await c.next()).cmd).toBe('pingresp');
    c.end();
  });

  it('[MQTT-3.3.1-7] a QoS 0 retained message is delivered at QoS 0; wildcards match stored topics', async () => {
    await publish('r/w/1', 'one', 0, true);
    await publish('r/w/2', 'two', 1, true);
    const c = await subscribe('r-sub5', 'r/w/+', 2);
    const got = [await c.next(), await c.next()].map((m) => [m.topic, m.qos, m.retain]).sort();
    expect(got).toEqual([['r/w/1', 0, true], ['r/w/2', 1, true]]);
    c.end();
  });

  it('[MQTT-3.8.4-3] subscribing again to the same filter re-sends retained messages', async () => {
    await publish('r/again', 'x', 0, true);
    const c = await subscribe('r-sub6', 'r/again', 0);
    expect((await c.next()).retain).toBe(true);
    c.send({ cmd: 'subscribe', messageId: 2, subscriptions: [{ topic: 'r/again', qos: 1 }] });
    expect((await c.next()).cmd).toBe('suback');
    const m = await c.next();
    expect(m).toMatchObject({ topic: 'r/again', retain: true });
    c.end();
  });

  it('a # subscriber gets every retained message even beyond max_queued_messages', async () => {
    const nb = await startBroker({ maxQueuedMessages: 10 });
    try {
      const { c: p } = await RawClient.session(nb.port, 'many-pub');
      const N = 500;
      for (let i = 0; i < N; i++) p.send({ cmd: 'publish', topic: `many/${i}`, payload: Buffer.alloc(200, 1), qos: 0, retain: true });
      p.send({ cmd: 'pingreq' });
      await p.next();
      const { c } = await RawClient.session(nb.port, 'many-sub');
      c.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: '#', qos: 0 }] });
      expect((await c.next()).cmd).toBe('suback');
      const topics = new Set<string>();
      for (let i = 0; i < N; i++) topics.add((await c.next()).topic);
      expect(topics.size).toBe(N);
      expect(nb.running.broker.stats.messagesDropped).toBe(0);
      c.end();
      p.end();
    } finally {
      await nb.close();
    }
  });

  it('retain_available false forwards without storing', async () => {
    const nb = await startBroker({ retainAvailable: false });
    try {
      const { c: p } = await RawClient.session(nb.port, 'ra-pub');
      p.send({ cmd: 'publish', topic: 'ra', payload: 'x', qos: 1, retain: true, messageId: 1 });
      await p.next();
      expect(nb.running.broker.retained.size).toBe(0);
      p.end();
    } finally {
      await nb.close();
    }
  });
});
