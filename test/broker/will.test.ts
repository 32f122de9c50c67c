// Wills, MQTT 3.1.1 §3.1.2.5 and §3.14.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawClient } from '../helpers/raw.ts';
import { startBroker, type TestBroker } from '../helpers/broker.ts';

let b: TestBroker;
beforeAll(async () => {
  b = await startBroker();
});
afterAll(() => b.close());

async function watcher(id: string, topic: string) {
  const { c } = await RawClient.session(b.port, id);
  c.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic, qos: 1 }] });
  await c.next();
  return c;
}

const will = (topic: string) => ({ topic, payload: Buffer.from('offline'), qos: 1, retain: false });

describe('wills', () => {
  it('[MQTT-3.1.2-8] is published when the network connection closes without DISCONNECT', async () => {
    const w = await watcher('w1', 'will/1');
    const { c } = await RawClient.session(b.port, 'dies', { will: will('will/1') });
    c.socket.destroy();
    const m = await w.next();
    expect(m).toMatchObject({ topic: 'will/1', qos: 1 });
    expect(m.payload.toString()).toBe('offline');
    w.end();
  });

  it('[MQTT-3.1.2-8] is published after a protocol violation ([MQTT-3.3.1-4] QoS 3)', async () => {
    const w = await watcher('w2', 'will/2');
    const { c } = await RawClient.session(b.port, 'violates', { will: will('will/2') });
    c.write([0x36, 0x05, 0x00, 0x01, 0x74, 0x00, 0x01]); // PUBLISH with QoS bits 11
    expect(await c.closesWithin()).toBe(true);
    expect((await w.next()).topic).toBe('will/2');
    w.end();
  });

  it('[MQTT-3.14.4-3] is not published after DISCONNECT', async () => {
    const w = await watcher('w3', 'will/#');
    const { c } = await RawClient.session(b.port, 'polite', { will: will('will/3') });
    c.send({ cmd: 'disconnect' });
    await c.closed;
    const { c: p } = await RawClient.session(b.port, 'w3-pub');
    p.send({ cmd: 'publish', topic: 'will/marker', payload: 'm', qos: 0 });
    expect((await w.next()).topic).toBe('will/marker'); // the marker comes first: no will
    w.end();
    p.end();
  });

  it('a retained will is stored', async () => {
    const { c } = await RawClient.session(b.port, 'rw', { will: { ...will('will/retained'), retain: true } });
    c.socket.destroy();
    await c.closed;
    const w = await watcher('w4', 'will/retained');
    expect(await w.next()).toMatchObject({ topic: 'will/retained', retain: true });
    w.end();
  });
});

describe('wills on session takeover [MQTT-3.1.4-2] (as Mosquitto 2.0.11: test/interop/wire-cases.ts)', () => {
  // The old connection's will goes out unless its session goes on: kept (clean session 0) and
  // resumed by the new connection (clean session 0).
  for (const [oldClean, newClean, published] of [
    [true, true, true],
    [true, false, true],
    [false, true, true],
    [false, false, false],
  ] as const) {
    it(`clean session ${+oldClean} taken over by clean session ${+newClean}: ${published ? 'will published' : 'no will'}`, async () => {
      const tag = `to${+oldClean}${+newClean}`;
      const w = await watcher(`${tag}-w`, `${tag}/#`);
      const { c: old } = await RawClient.session(b.port, tag, { clean: oldClean, will: will(`${tag}/will`) });
      const { c: again } = await RawClient.session(b.port, tag, { clean: newClean });
      await old.closed;
      const { c: p } = await RawClient.session(b.port, `${tag}-p`);
      p.send({ cmd: 'publish', topic: `${tag}/marker`, payload: 'm', qos: 0 });
      const topics = [(await w.next()).topic];
      if (published) topics.push((await w.next()).topic);
      expect(topics).toEqual(published ? [`${tag}/will`, `${tag}/marker`] : [`${tag}/marker`]);
      for (const c of [w, again, p]) c.end();
    });
  }
});

describe('malformed input (§4.8)', () => {
  it('[MQTT-4.8.0-1] a malformed packet closes only that client; others carry on', async () => {
    const w = await watcher('w5', 'still/#');
    const bad = await RawClient.session(b.port, 'bad');
    bad.c.write([0xc0, 0x01, 0x00]); // PINGREQ with a remaining length of 1
    expect(await bad.c.closesWithin()).toBe(true);
    const { c: p } = await RawClient.session(b.port, 'good');
    p.send({ cmd: 'publish', topic: 'still/up', payload: 'yes', qos: 1, messageId: 1 });
    expect((await p.next()).cmd).toBe('puback');
    expect((await w.next()).topic).toBe('still/up');
    w.end();
    p.end();
  });

  it('[MQTT-2.2.3] a remaining length of more than four bytes closes the connection', async () => {
    const { c } = await RawClient.session(b.port, 'rl');
    c.write([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]);
    expect(await c.closesWithin()).toBe(true);
  });

  it('[MQTT-3.3.2-2] a PUBLISH topic with a wildcard closes the connection', async () => {
    const { c } = await RawClient.session(b.port, 'wild');
    c.write([0x30, 0x05, 0x00, 0x03, 0x61, 0x2f, 0x23]); // topic 'a/#'
    expect(await c.closesWithin()).toBe(true);
  });

  it('[MQTT-1.5.3-2] a topic containing U+0000 closes the connection', async () => {
    const { c } = await RawClient.session(b.port, 'nul');
    c.write([0x30, 0x05, 0x00, 0x03, 0x61, 0x00, 0x62]);
    expect(await c.closesWithin()).toBe(true);
  });

  it('[MQTT-2.3.1-1] a QoS 1 PUBLISH with packet id 0 closes the connection', async () => {
    const { c } = await RawClient.session(b.port, 'pid0');
    c.write([0x32, 0x05, 0x00, 0x01, 0x74, 0x00, 0x00]);
    expect(await c.closesWithin()).toBe(true);
  });

  it('[MQTT-3.8.1-1] SUBSCRIBE with wrong reserved flags closes the connection', async () => {
    const { c } = await RawClient.session(b.port, 'subflags');
    c.write([0x80, 0x06, 0x00, 0x01, 0x00, 0x01, 0x74, 0x00]);
    expect(await c.closesWithin()).toBe(true);
  });

  it('[MQTT-4.7.1-2] SUBSCRIBE with a misplaced # closes the connection', async () => {
    const { c } = await RawClient.session(b.port, 'badfilter');
    c.write([0x82, 0x08, 0x00, 0x01, 0x00, 0x03, 0x23, 0x2f, 0x61, 0x00]); // '#/a'
    expect(await c.closesWithin()).toBe(true);
  });
});
