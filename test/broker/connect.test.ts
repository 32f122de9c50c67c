// CONNECT handling, MQTT 3.1.1 §3.1 / §3.2, and MQTT 3.1 (MQIsdp).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawClient } from '../helpers/raw.ts';
import { startBroker, type TestBroker } from '../helpers/broker.ts';

let b: TestBroker;
beforeAll(async () => {
  b = await startBroker();
});
afterAll(() => b.close());

/** CONNECT with protocol name/level given as raw bytes, client id 'x', clean session. */
function rawConnect(name: string, level: number): Buffer {
  const n = Buffer.from(name);
  const body = Buffer.concat([Buffer.from([0, n.length]), n, Buffer.from([level, 0x02, 0, 60, 0, 1, 0x78])]);
  return Buffer.concat([Buffer.from([0x10, body.length]), body]);
}

describe('CONNECT (§3.1)', () => {
  it('[MQTT-3.1.0-1] closes a connection whose first packet is not CONNECT', async () => {
    const c = await RawClient.connect(b.port);
    c.send({ cmd: 'pingreq' });
    expect(await c.closesWithin()).toBe(true);
    expect(c.packets).toEqual([]);
  });

  it('[MQTT-3.1.0-2] closes a connection that sends a second CONNECT', async () => {
    const { c, connack } = await RawClient.session(b.port, 'twice');
    expect(connack.returnCode).toBe(0);
    c.send({ cmd: 'connect', clientId: 'twice', clean: true, keepalive: 0 });
    expect(await c.closesWithin()).toBe(true);
  });

  it('[MQTT-3.1.2-1] closes without CONNACK on an unknown protocol name', async () => {
    const c = await RawClient.connect(b.port);
    c.write(rawConnect('MQTX', 4));
    expect(await c.closesWithin()).toBe(true);
    expect(c.packets).toEqual([]);
  });

  it('[MQTT-3.1.2-2] answers CONNACK 0x01 to an unsupported protocol level, then closes', async () => {
    const c = await RawClient.connect(b.port);
    c.write(rawConnect('MQTT', 6));
    const p = await c.next();
    expect(p.cmd).toBe('connack');
    expect(p.returnCode).toBe(1);
    expect(await c.closesWithin()).toBe(true);
  });

  it('[MQTT-3.1.2-3] closes when the reserved connect flag is set', async () => {
    const c = await RawClient.connect(b.port);
    const bytes = rawConnect('MQTT', 4);
    bytes[9] |= 0x01; // connect flags byte, after the name and level
    c.write(bytes);
    expect(await c.closesWithin()).toBe(true);
  });

  it('accepts MQTT 3.1 (MQIsdp, level 3)', async () => {
    const { c, connack } = await RawClient.session(b.port, 'v31', { protocolId: 'MQIsdp', protocolVersion: 3 });
    expect(connack.returnCode).toBe(0);
    c.end();
  });

  it('MQTT 3.1: rejects a client id longer than 23 characters with 0x02', async () => {
    const { c, connack } = await RawClient.session(b.port, 'x'.repeat(24), { protocolId: 'MQIsdp', protocolVersion: 3 });
    expect(connack.returnCode).toBe(2);
    expect(await c.closesWithin()).toBe(true);
  });

  it('[MQTT-3.1.3-8] rejects an empty client id with clean session 0 (0x02)', async () => {
    // Written by hand: mqtt-packet refuses to generate this CONNECT.
    const c = await RawClient.connect(b.port);
    c.write([0x10, 12, 0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 0x00, 0, 60, 0, 0]);
    const connack = await c.next();
    expect(connack.returnCode).toBe(2);
    expect(await c.closesWithin()).toBe(true);
  });

  it('[MQTT-3.1.3-6] assigns an id to an empty client id with clean session 1', async () => {
    const { c, connack } = await RawClient.session(b.port, '', { clean: true });
    expect(connack.returnCode).toBe(0);
    expect(connack.sessionPresent).toBe(false);
    c.send({ cmd: 'pingreq' });
    expect((await c.next()).cmd).toBe('pingresp');
    c.end();
  });

  it('[MQTT-3.1.4-2] a second connection with the same client id closes the first', async () => {
    const first = await RawClient.session(b.port, 'dup-id');
    const second = await RawClient.session(b.port, 'dup-id');
    expect(second.connack.returnCode).toBe(0);
    expect(await first.c.closesWithin()).toBe(true);
    second.c.send({ cmd: 'pingreq' });
    expect((await second.c.next()).cmd).toBe('pingresp');
    second.c.end();
  });

  it('[MQTT-3.2.2-1] [MQTT-3.2.2-2] session present reflects kept state', async () => {
    const a = await RawClient.session(b.port, 'sp', { clean: false });
    expect(a.connack.sessionPresent).toBe(false);
    a.c.send({ cmd: 'disconnect' });
    await a.c.closed;
    const again = await RawClient.session(b.port, 'sp', { clean: false });
    expect(again.connack.sessionPresent).toBe(true);
    again.c.send({ cmd: 'disconnect' });
    await again.c.closed;
    const clean = await RawClient.session(b.port, 'sp', { clean: true });
    expect(clean.connack.sessionPresent).toBe(false);
    clean.c.end();
  });

  it('[MQTT-3.12.4-1] answers PINGREQ with PINGRESP', async () => {
    const { c } = await RawClient.session(b.port, 'pinger');
    c.send({ cmd: 'pingreq' });
    expect((await c.next()).cmd).toBe('pingresp');
    c.end();
  });

  it('[MQTT-3.1.2-24] disconnects after 1.5 x keep-alive without packets and publishes the will', async () => {
    const watcher = await RawClient.session(b.port, 'ka-watch');
    watcher.c.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'ka/will', qos: 0 }] });
    await watcher.c.next();
    const started = Date.now();
    const { c } = await RawClient.session(b.port, 'ka', { keepalive: 1, will: { topic: 'ka/will', payload: Buffer.from('gone'), qos: 0, retain: false } });
    expect(await c.closesWithin(4000)).toBe(true);
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(1500);
    const will = await watcher.c.next();
    expect(will.topic).toBe('ka/will');
    expect(will.payload.toString()).toBe('gone');
    watcher.c.end();
  });
});

describe('access and limits', () => {
  it('allow_anonymous false refuses a client without a username (0x05)', async () => {
    const nb = await startBroker({ allowAnonymous: false });
    try {
      const { c, connack } = await RawClient.session(nb.port, 'anon');
      expect(connack.returnCode).toBe(5);
      expect(await c.closesWithin()).toBe(true);
      const named = await RawClient.session(nb.port, 'named', { username: 'u' });
      expect(named.connack.returnCode).toBe(0);
      named.c.end();
    } finally {
      await nb.close();
    }
  });

  it('max_connections refuses connections over the listener limit', async () => {
    const { listener } = await import('../helpers/broker.ts');
    const nb = await startBroker({ listeners: [listener({ maxConnections: 1 })] });
    try {
      const one = await RawClient.session(nb.port, 'one');
      expect(one.connack.returnCode).toBe(0);
      const two = await RawClient.connect(nb.port);
      expect(await two.closesWithin()).toBe(true);
      one.c.end();
    } finally {
      await nb.close();
    }
  });
});
