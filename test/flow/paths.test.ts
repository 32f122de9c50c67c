// Flow control on every path that carries QoS 1/2 (docs/flow-control.md): an MQTT-SN publisher is
// paced by its held PUBACK; a bridge paces local publishers when the remote is slow, and is paced
// itself (its ack to the remote held) when a local subscriber is; a shared subscription member
// that stalls hands its share to the others; a serial line link stops reading its device.
import { afterEach, describe, expect, it } from 'vitest';
import { SerialPortMock } from 'serialport';
import { parseConfigText } from '../../src/config/parse.ts';
import { snDefaults } from '../../src/features/sn/config.ts';
import { LineLink } from '../../src/features/serial/line-link.ts';
import * as sn from '../../src/features/sn/codec.ts';
import { midge, type Midge } from '../bridge/helpers.ts';
import { listener, startBroker, type TestBroker } from '../helpers/broker.ts';
import { pacedPublish, subscriber, type Subscriber } from '../helpers/load.ts';
import { UdpForwarder } from '../sn/forwarder.ts';
import { SnTestClient } from '../sn/sn-client.ts';

const open: { close(): Promise<void> }[] = [];
const subs: Subscriber[] = [];
const sns: (SnTestClient | UdpForwarder)[] = [];

afterEach(async () => {
  for (const s of subs.splice(0)) s.close();
  for (const c of sns.splice(0)) c.close();
  for (const x of open.splice(0).reverse()) await x.close();
});

function track<T extends TestBroker | Midge>(x: T): T {
  open.push(x);
  return x;
}

async function sub(port: number, id: string, filter: string, qos: 1 | 2, ackDelay: number): Promise<Subscriber> {
  const s = await subscriber(port, id, filter, qos, { ackDelay });
  subs.push(s);
  return s;
}

describe('MQTT-SN', () => {
  it('an MQTT-SN QoS 1 publisher waits for its PUBACK while a subscriber queue is full; retries meanwhile are not published twice', async () => {
    const b = track(
      await startBroker({
        listeners: [listener(), listener({ protocol: 'mqttsn', sn: { ...snDefaults(), advertiseInterval: 0 } })],
        maxQueuedMessages: 5,
        maxInflightMessages: 5,
        subscriberStallTimeout: 0,
      }),
    );
    const udp = b.running.addresses[1].port;
    const stuck = await sub(b.port, 'stuck', 'sn/#', 1, -1);
    const c = await SnTestClient.open(udp);
    sns.push(c);
    expect(await c.connect('sensor')).toBe(0);
    const topicId = (await c.register('sn/temp')).topicId as number;
    // 5 fill the subscriber's window and 4 its queue; the 10th fills the queue: its PUBACK waits.
    for (let i = 0; i < 9; i++) {
      const id = c.publish(topicId, `sensor:${i}`, 1);
      expect((await c.next(sn.PUBACK)).msgId).toBe(id);
    }
    const held = c.publish(topicId, 'sensor:9', 1);
    // A retry of the paced message (DUP): the gateway still owes the first PUBACK and publishes nothing.
    c.publish(topicId, 'sensor:9', 1, { msgId: held, dup: true });
    await c.sync();
    expect(c.inbox.filter((p) => p.type === sn.PUBACK)).toHaveLength(0);
    expect(b.running.broker.sessions.get('stuck')!.queued).toBe(5);
    // The subscriber moves: the held PUBACK goes out and every message arrives once.
    stuck.unstick();
    expect((await c.next(sn.PUBACK)).msgId).toBe(held);
    await stuck.until(10);
    expect(stuck.got.get('sensor')).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(b.running.broker.stats.messagesDropped).toBe(0);
  });

  it('behind one forwarder (5.5), a paced node holds only its own PUBACK: the next node is acknowledged meanwhile', async () => {
    const b = track(
      await startBroker({
        listeners: [listener(), listener({ protocol: 'mqttsn', sn: { ...snDefaults(), advertiseInterval: 0 } })],
        maxQueuedMessages: 5,
        maxInflightMessages: 5,
        subscriberStallTimeout: 0,
      }),
    );
    const udp = b.running.addresses[1].port;
    const stuck = await sub(b.port, 'stuck', 'sn/a/#', 1, -1);
    const fwd = await UdpForwarder.open(udp);
    sns.push(fwd);
    const [a, other] = [fwd.node('0a'), fwd.node('0b')];
    expect(await a.connect('node-a')).toBe(0);
    expect(await other.connect('node-b')).toBe(0);
    const ta = (await a.register('sn/a/t')).topicId as number;
    const tb = (await other.register('sn/b/t')).topicId as number;
    for (let i = 0; i < 9; i++) {
      const id = a.publish(ta, `node-a:${i}`, 1);
      expect((await a.next(sn.PUBACK)).msgId).toBe(id);
    }
    const held = a.publish(ta, 'node-a:9', 1);
    a.publish(ta, 'node-a:9', 1, { msgId: held, dup: true });
    await a.sync();
    expect(a.inbox.filter((p) => p.type === sn.PUBACK)).toHaveLength(0);
    // The other node, same forwarder address, is not held back.
    const ob = other.publish(tb, 'free', 1);
    expect((await other.next(sn.PUBACK)).msgId).toBe(ob);
    stuck.unstick();
    expect((await a.next(sn.PUBACK)).msgId).toBe(held);
    await stuck.until(10);
    expect(stuck.got.get('node-a')).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(b.running.broker.stats.messagesDropped).toBe(0);
  });
});

describe('bridges', () => {
  const conf = (port: number, topic: string): string =>
    `connection toB\naddress 127.0.0.1:${port}\nremote_clientid a-to-b\nrestart_timeout 1\n${topic}\nmax_queued_messages 50\nnotifications false\n`;

  /**
   * Publishers `ids` send `n` QoS 1 messages each into `port`; all are acknowledged and reach
   * `slow`; neither broker dropped any, and the local one paced someone.
   */
  async function everyMessage(port: number, ids: string[], n: number, slow: Subscriber, local: Midge, remote: Midge): Promise<void> {
    const results = await Promise.all(ids.map((id) => pacedPublish(port, id, `load/${id}`, n, 1, { ms: 60_000 })));
    for (const r of results) expect(r.acked.size).toBe(n);
    await slow.until(ids.length * n, 30_000);
    for (const id of ids) expect(new Set(slow.got.get(id)).size).toBe(n);
    expect(local.running.broker.stats.messagesDropped).toBe(0);
    expect(remote.running.broker.stats.messagesDropped).toBe(0);
    expect(local.running.broker.stats.publishersPaced).toBeGreaterThan(0);
  }

  it('a slow remote paces local publishers through the bridge queue: every acknowledged message reaches the remote subscriber', async () => {
    const remote = track(await midge('', 0, { maxQueuedMessages: 30 }));
    const slow = await sub(remote.port, 'far', 'load/#', 1, 2);
    const local = track(await midge(conf(remote.port, 'topic load/# out 1')));
    await expect.poll(() => local.running.broker.sessions.get('local.a-to-b')?.outlet?.online, { timeout: 10_000 }).toBe(true);
    await everyMessage(local.port, ['p0', 'p1', 'p2', 'p3'], 400, slow, local, remote);
  }, 90_000);

  it("a slow local subscriber paces the remote's messages through the bridge (its ack to the remote waits)", async () => {
    const remote = track(await midge());
    const local = track(await midge(conf(remote.port, 'topic load/# in 1'), 0, { maxQueuedMessages: 20 }));
    const slow = await sub(local.port, 'near', 'load/#', 1, 2);
    await expect.poll(() => remote.running.broker.sessions.get('a-to-b')?.subscriptions.size, { timeout: 10_000 }).toBe(1);
    await everyMessage(remote.port, ['r0', 'r1'], 500, slow, local, remote);
  }, 90_000);
});

describe('shared subscriptions', () => {
  it('a member that stalls hands its queued share to the others; the publisher is let go', async () => {
    const b = track(await startBroker({ maxQueuedMessages: 10, maxInflightMessages: 5, subscriberStallTimeout: 1 }));
    const stuck = await subscriber(b.port, 'm1', '$share/g/work/#', 1, { ackDelay: -1, version: 5 });
    subs.push(stuck);
    const good = await subscriber(b.port, 'm2', '$share/g/work/#', 1, { ackDelay: 0, version: 5 });
    subs.push(good);
    const N = 300;
    const r = await pacedPublish(b.port, 'boss', 'work/x', N, 1, { ms: 20_000 });
    expect(r.acked.size).toBe(N);
    const broker = b.running.broker;
    const m1 = broker.sessions.get('m1')!;
    await expect.poll(() => m1.isStalled, { timeout: 5000 }).toBe(true);
    // The stalled member keeps only what it had in flight; the rest went to the other member.
    expect(m1.queued).toBe(0);
    const inFlight = m1.inflightCount;
    expect(inFlight).toBeLessThanOrEqual(5);
    await good.until(N - inFlight, 10_000);
    const all = new Set([...(good.got.get('boss') ?? []), ...(stuck.got.get('boss') ?? [])]);
    expect(all.size).toBe(N);
    expect(broker.stats.messagesDropped).toBe(0);
  }, 30_000);
});

describe('serial line links', () => {
  it('a line link publishing at QoS 1 stops reading the device while a subscriber queue is full, and loses no line', async () => {
    const MockBinding = SerialPortMock.binding;
    let port: SerialPortMock | undefined;
    class Capturing extends SerialPortMock {
      constructor(o: ConstructorParameters<typeof SerialPortMock>[0]) {
        super(o);
        port = this;
      }
    }
    const b = track(await startBroker({ maxQueuedMessages: 3, maxInflightMessages: 2, subscriberStallTimeout: 0 }));
    const stuck = await sub(b.port, 'stuck', 'dev/#', 1, -1);
    MockBinding.createPort('/dev/ttyFLOW0', { echo: false, record: true });
    const cfg = parseConfigText('serial q /dev/ttyFLOW0 framing=line prefix=dev/ qos=1\n', '/etc/midge.conf').serial![0];
    const link = new LineLink(b.running.broker, cfg, Capturing as never);
    link.start();
    open.push({ close: () => link.stop().then(() => MockBinding.reset()) });
    await expect.poll(() => port?.isOpen, { timeout: 5000 }).toBe(true);
    const lines = Array.from({ length: 40 }, (_, i) => `t link:${i}\n`).join('');
    (port!.port as unknown as { emitData(d: string): void }).emitData(lines);
    const session = b.running.broker.sessions.get('stuck')!;
    // 2 in flight and the queue at its limit: the link is paced and the device not read on.
    await expect.poll(() => session.queued, { timeout: 5000 }).toBe(3);
    expect(session.inflightCount).toBe(2);
    expect(port!.isPaused()).toBe(true);
    stuck.unstick();
    await stuck.until(40);
    expect(stuck.got.get('link')).toEqual(Array.from({ length: 40 }, (_, i) => i));
    expect(b.running.broker.stats.messagesDropped).toBe(0);
  });
});
