// $SYS statistics (Mosquitto's topic names), published retained every sys_interval.
import { describe, expect, it } from 'vitest';
import { RawClient } from '../helpers/raw.ts';
import { startBroker } from '../helpers/broker.ts';

describe('$SYS', () => {
  it('publishes retained statistics that a $SYS/# subscriber receives', async () => {
    const b = await startBroker({ sysInterval: 1 });
    try {
      const { c } = await RawClient.session(b.port, 'sys');
      c.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: '$SYS/#', qos: 0 }] });
      expect((await c.next()).cmd).toBe('suback');
      const seen = new Map<string, string>();
      while (!seen.has('$SYS/broker/clients/connected') || !seen.has('$SYS/broker/version') || !seen.has('$SYS/broker/uptime')) {
        const m = await c.next();
        seen.set(m.topic, m.payload.toString());
        expect(m.retain).toBe(true);
      }
      expect(seen.get('$SYS/broker/version')).toMatch(/^midge version /);
      for (const t of ['messages/received', 'messages/sent', 'bytes/received', 'bytes/sent', 'clients/total', 'retained messages/count', 'subscriptions/count']) {
        // each arrives within the first round
        while (!seen.has(`$SYS/broker/${t}`)) {
          const m = await c.next();
          seen.set(m.topic, m.payload.toString());
        }
        expect(Number(seen.get(`$SYS/broker/${t}`))).toBeGreaterThanOrEqual(0);
      }
      // Updated on the interval: the connected count rises when another client connects.
      const other = await RawClient.session(b.port, 'sys-other');
      for (;;) {
        const m = await c.next(3000);
        if (m.topic === '$SYS/broker/clients/connected' && m.payload.toString() === '2') break;
      }
      other.c.end();
      c.end();
    } finally {
      await b.close();
    }
  });

  it('[MQTT-4.7.2-1] # does not match $SYS topics, and clients cannot publish to $SYS', async () => {
    const b = await startBroker({ sysInterval: 1 });
    try {
      const { c } = await RawClient.session(b.port, 'hash');
      c.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: '#', qos: 0 }, { topic: '$SYS/fake', qos: 0 }] });
      expect((await c.next()).cmd).toBe('suback');
      const { c: p } = await RawClient.session(b.port, 'faker');
      p.send({ cmd: 'publish', topic: '$SYS/fake', payload: 'x', qos: 0 });
      p.send({ cmd: 'publish', topic: 'plain', payload: 'y', qos: 0 });
      const m = await c.next();
      expect(m.topic).toBe('plain');
      p.end();
      c.end();
    } finally {
      await b.close();
    }
  });
});
