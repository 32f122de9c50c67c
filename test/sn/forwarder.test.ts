// Forwarder encapsulation (MQTT-SN 1.2 §5.5) over UDP: nodes behind one forwarder socket are
// clients of their own, next to plain clients on the same listener. The scenario shared with the
// serial test is in two-nodes.ts.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { snDefaults } from '../../src/features/sn/config.ts';
import type { SnListenerConfig } from '../../src/config/types.ts';
import * as sn from '../../src/features/sn/codec.ts';
import { listener, startBroker, type TestBroker } from '../helpers/broker.ts';
import { UdpForwarder, wrap } from './forwarder.ts';
import { SnTestClient } from './sn-client.ts';
import { twoNodes, watcher } from './two-nodes.ts';

async function startGateway(sn: Partial<SnListenerConfig> = {}, sysInterval = 0): Promise<{ b: TestBroker; udp: number }> {
  const b = await startBroker({
    listeners: [listener(), listener({ protocol: 'mqttsn', sn: { ...snDefaults(), advertiseInterval: 0, ...sn } })],
    sysInterval,
  });
  return { b, udp: b.running.addresses[1].port };
}

const open: { close(): void }[] = [];
afterEach(() => {
  for (const c of open.splice(0)) c.close();
});
async function forwarder(port: number): Promise<UdpForwarder> {
  const f = await UdpForwarder.open(port);
  open.push(f);
  return f;
}

describe('MQTT-SN forwarder encapsulation over UDP (5.5)', () => {
  let b: TestBroker;
  let udp: number;
  beforeAll(async () => {
    ({ b, udp } = await startGateway({}, 1));
  });
  afterAll(() => b.close());

  it('two nodes behind one forwarder socket connect, register, publish QoS -1/0/1/2, subscribe and sleep independently; only the silent one\'s will fires', async () => {
    const fwd = await forwarder(udp);
    await twoNodes(fwd, b, 'udp');
  }, 40_000);

  it('SEARCHGW from a node gets GWINFO through the forwarder, Ctrl carrying the search radius (5.4.3, 5.5)', async () => {
    const fwd = await forwarder(udp);
    const n = fwd.node('77');
    const gw = await n.request({ type: sn.SEARCHGW, radius: 2 }, sn.GWINFO);
    expect(gw.gwId).toBe(1);
    expect(n.ctrls).toEqual([2]);
    // An unknown node's PINGREQ is told to connect (DISCONNECT), wrapped for that node.
    await n.request({ type: sn.PINGREQ }, sn.DISCONNECT);
    expect(n.ctrls).toEqual([2, 0]);
  });

  it('$SYS/broker/mqtt-sn/udp/PORT/...: clients, nodes, forwarders, encapsulated datagrams and malformed headers', async () => {
    // A gateway of its own: the counts are this test's.
    const { b, udp } = await startGateway({}, 1);
    const w = await watcher(b.port, [`$SYS/broker/mqtt-sn/udp/${udp}/#`]);
    try {
      const fwd = await forwarder(udp);
      const plain = await SnTestClient.open(udp);
      open.push(plain);
      expect(await fwd.node('01').connect('sys-n1')).toBe(0);
      expect(await fwd.node('02').connect('sys-n2')).toBe(0);
      expect(await plain.connect('sys-plain')).toBe(0);
      // No node id; no message after the header: dropped and counted.
      fwd.write(Buffer.from('03fe000216', 'hex'));
      fwd.write(Buffer.from('05fe00aabb', 'hex'));
      await fwd.self.request({ type: sn.SEARCHGW, radius: 0 }, sn.GWINFO);
      const t = `$SYS/broker/mqtt-sn/udp/${udp}`;
      // Published every second: wait for the values this test made.
      await w.next(`${t}/nodes`, '2');
      await w.next(`${t}/forwarders`, '1');
      await w.next(`${t}/clients`, '3');
      // 2 malformed of 5 encapsulated (3 CONNECTs), dropped among the datagrams dropped.
      expect(await w.next(`${t}/encapsulated/malformed`, '2')).toBe('2');
      expect(await w.next(`${t}/encapsulated/received`, '4')).toBe('4');
      expect(Number(await w.next(`${t}/dropped`, (v) => Number(v) >= 2))).toBeGreaterThanOrEqual(2);
    } finally {
      await w.c.endAsync(true);
      await b.close();
    }
  }, 20_000);
});

describe('MQTT-SN forwarder encapsulation: limits and malformed headers', () => {
  it('sn_max_clients counts nodes: one forwarder cannot take more than the limit, plain clients count too', async () => {
    const { b, udp } = await startGateway({ maxClients: 3 });
    try {
      const fwd = await forwarder(udp);
      const plain = await SnTestClient.open(udp);
      open.push(plain);
      expect(await plain.connect('lim-plain')).toBe(sn.RC_ACCEPTED);
      expect(await fwd.node('01').connect('lim-1')).toBe(sn.RC_ACCEPTED);
      expect(await fwd.node('02').connect('lim-2')).toBe(sn.RC_ACCEPTED);
      const third = fwd.node('03');
      expect(await third.connect('lim-3')).toBe(sn.RC_CONGESTION);
      expect(third.ctrls).toEqual([0]);
      expect(b.running.broker.sessions.has('lim-3')).toBe(false);
      // A node that leaves frees its place.
      await fwd.node('01').disconnect();
      expect(await third.connect('lim-3')).toBe(sn.RC_ACCEPTED);
    } finally {
      await b.close();
    }
  });

  it('fuzzed encapsulation headers (bounded) are dropped and counted while a well-behaved node is served throughout', async () => {
    const { b, udp } = await startGateway({ maxClients: 50 }, 1);
    const sys = `$SYS/broker/mqtt-sn/udp/${udp}`;
    const w = await watcher(b.port, ['fz/#', `${sys}/#`]);
    try {
      const fwd = await forwarder(udp);
      const good = fwd.node('c0ffee');
      expect(await good.connect('fz-good')).toBe(sn.RC_ACCEPTED);
      const topicId = (await good.register('fz/ok')).topicId as number;
      // Fuzz from the same forwarder address: random header lengths, Ctrl bytes and node ids
      // (never the good node's), cut, nested and random messages, and mutations of valid ones.
      let seed = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
      const seed0 = seed;
      const rnd = (n: number): number => {
        seed = (seed * 1103515245 + 12345) % 2 ** 31;
        return seed % n;
      };
      const bytes = (n: number): Buffer => Buffer.from(Array.from({ length: n }, () => rnd(256)));
      const valid = [
        sn.encode({ type: sn.PINGREQ }),
        sn.encode({ type: sn.CONNECT, clean: true, will: false, protocolId: 1, duration: 5, clientId: 'fz' }),
        sn.encode({ type: sn.PUBLISH, qos: 1, topicIdType: 0, topicId: 1, msgId: 7, payload: Buffer.from('x') }),
        sn.encode({ type: sn.SEARCHGW, radius: 1 }),
        sn.encode({ type: sn.DISCONNECT }),
      ];
      const fuzz = (): Buffer => {
        let id = bytes(1 + rnd(9));
        if (id.equals(good.id)) id = Buffer.from('00', 'hex');
        switch (rnd(6)) {
          case 0: // a random datagram that starts like an encapsulation
            return Buffer.concat([Buffer.from([rnd(256), 0xfe]), bytes(rnd(40))]);
          case 1: // a valid header around random bytes
            return wrap(id, bytes(rnd(30)), rnd(256));
          case 2: { // a header whose Length lies
            const d = wrap(id, valid[rnd(valid.length)], rnd(256));
            d[0] = rnd(256);
            return d;
          }
          case 3: // cut anywhere
            return wrap(id, valid[rnd(valid.length)]).subarray(0, rnd(12));
          case 4: // nested
            return wrap(id, wrap(bytes(2), valid[rnd(valid.length)]));
          default: { // a valid message with one byte changed
            const d = wrap(id, valid[rnd(valid.length)], rnd(4));
            d[id.length + 3 + rnd(d.length - id.length - 3)] = rnd(256);
            return d;
          }
        }
      };
      const deadline = Date.now() + 15_000;
      let sent = 0;
      for (let round = 0; round < 40 && Date.now() < deadline; round++) {
        for (let i = 0; i < 200; i++, sent++) fwd.write(fuzz());
        // The good node between each batch: QoS 1 publish, PUBACK, and the message reaches MQTT.
        const msgId = good.publish(topicId, `ok ${round}`, 1);
        const ack = await good.next(sn.PUBACK, 5000);
        expect(ack.msgId, `seed ${seed0}`).toBe(msgId);
        expect(await w.next('fz/ok', `ok ${round}`)).toBe(`ok ${round}`);
      }
      expect(sent).toBeGreaterThanOrEqual(1000);
      expect(b.running.broker.sessions.has('fz-good'), `seed ${seed0}`).toBe(true);
      await good.sync();
      expect(good.undecodable).toEqual([]);
      // Counted: a $SYS update says so (at least one in 100 is sure to be malformed: the cut ones).
      await w.next(`${sys}/encapsulated/malformed`, (v) => Number(v) >= sent / 100);
      // Most of them start as an encapsulation does (not those cut to one byte, or whose Length is 0x01).
      await w.next(`${sys}/encapsulated/received`, (v) => Number(v) >= sent * 0.8);
      expect(Number(await w.next(`${sys}/clients`, (v) => Number(v) > 0))).toBeLessThanOrEqual(50);
    } finally {
      await w.c.endAsync(true);
      await b.close();
    }
  }, 40_000);
});
