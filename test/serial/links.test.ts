// Serial links end to end over socat pseudo-terminals: the test plays the board on the far end of
// the pty pair while MQTT.js subscribes and publishes over TCP.
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/parse.ts';
import { CONNACK, PUBACK, PUBLISH, REGACK, REGISTER, SUBACK, SUBSCRIBE, WILLMSG, WILLMSGREQ, WILLTOPIC, WILLTOPICREQ, CONNECT, PINGREQ, PINGRESP } from '../../src/features/sn/codec.ts';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { requirePeer } from '../helpers/peers.ts';
import { closePort, LineBoard, openPort, PtyPair, SnBoard } from './device.ts';
import type { SerialPort } from 'serialport';

const have = requirePeer('socat');

/** MQTT.js client that collects messages and awaits them by topic. */
async function subscriber(port: number, filters: string[]): Promise<{ c: MqttClient; next(topic: string, payload?: string): Promise<string> }> {
  const c = await mqtt.connectAsync({ host: '127.0.0.1', port, reconnectPeriod: 0 });
  const got: [string, string][] = [];
  const waiters: { t: string; p?: string; r: (s: string) => void }[] = [];
  c.on('message', (t, p) => {
    const s = p.toString();
    const i = waiters.findIndex((w) => w.t === t && (w.p === undefined || w.p === s));
    if (i >= 0) waiters.splice(i, 1)[0].r(s);
    else got.push([t, s]);
  });
  await c.subscribeAsync(filters);
  return {
    c,
    next(t, p) {
      const i = got.findIndex(([gt, gp]) => gt === t && (p === undefined || gp === p));
      if (i >= 0) return Promise.resolve(got.splice(i, 1)[0][1]);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no message on ${t}${p === undefined ? '' : ` = ${p}`}`)), 8000);
        waiters.push({ t, p, r: (s) => (clearTimeout(timer), resolve(s)) });
      });
    },
  };
}

describe.skipIf(!have)('serial links over a pty (socat)', () => {
  const pty = new PtyPair();
  let broker: TestBroker;
  let board: SerialPort | undefined;
  const clients: MqttClient[] = [];

  afterEach(async () => {
    await closePort(board);
    board = undefined;
    for (const c of clients.splice(0)) await c.endAsync(true);
    await broker?.close();
    // A test that failed while its device was unplugged leaves the next one a working pty.
    if (pty.proc?.exit) await pty.start();
  });
  beforeAll(() => pty.start());
  afterAll(() => pty.cleanup());

  async function start(words: string): Promise<void> {
    const cfg = parseConfigText(`serial dev ${pty.broker} ${words}\n`, 'test.conf');
    broker = await startBroker({ serial: cfg.serial });
  }

  it('line mode: `topic payload` and `topic=payload` publish with prefix; subscribed topics are written back', async () => {
    await start('framing=line prefix=home/ qos=1 subscribe=cmd/#');
    const sub = await subscriber(broker.port, ['home/#', '$SYS/broker/serial/dev/state']);
    clients.push(sub.c);
    await sub.next('$SYS/broker/serial/dev/state', '1');
    board = await openPort(pty.board);
    const b = new LineBoard(board);
    b.write('temp 21.5\r\nhum=40\n');
    expect(await sub.next('home/temp')).toBe('21.5');
    expect(await sub.next('home/hum')).toBe('40');

    // Configured subscription, and one the board asks for.
    await sub.c.publishAsync('cmd/led', 'ON');
    await b.next('cmd/led ON');
    b.write('+sub other/x\n');
    // The subscription is in place once a later line has been handled: lines are handled in order.
    b.write('sync 1\n');
    await sub.next('home/sync', '1');
    await sub.c.publishAsync('other/x', 'hi');
    await b.next('other/x hi');

    // Noise: not UTF-8, over-long, no separator. Each is dropped, the next line still works.
    b.write(Buffer.from([0xff, 0xfe, 0x0a]));
    b.write(`${'x'.repeat(2000)}\nnoseparator\ntemp 22\n`);
    expect(await sub.next('home/temp')).toBe('22');
  });

  it('line mode: unplugged, the state goes 0, then 1 when the device is back, with its subscriptions again', async () => {
    await start('framing=line subscribe=cmd/#');
    const sub = await subscriber(broker.port, ['$SYS/broker/serial/dev/state', 'r/#']);
    clients.push(sub.c);
    await sub.next('$SYS/broker/serial/dev/state', '1');
    await pty.stop();
    await sub.next('$SYS/broker/serial/dev/state', '0');
    await pty.start();
    await sub.next('$SYS/broker/serial/dev/state', '1');
    board = await openPort(pty.board);
    const b = new LineBoard(board);
    b.write('r/x 1\n');
    expect(await sub.next('r/x')).toBe('1');
    await sub.c.publishAsync('cmd/y', 'go');
    await b.next('cmd/y go');
  });

  it('line mode backpressure: a device that stops reading makes its session queue (and drop at max_queued_messages); reading again resumes delivery', async () => {
    const cfg = parseConfigText(`serial dev ${pty.broker} framing=line subscribe=cmd/#\n`, 'test.conf');
    broker = await startBroker({ serial: cfg.serial, maxQueuedMessages: 100 });
    const sub = await subscriber(broker.port, ['$SYS/broker/serial/dev/state']);
    clients.push(sub.c);
    await sub.next('$SYS/broker/serial/dev/state', '1');
    board = await openPort(pty.board); // no 'data' listener yet: the board does not read
    const stats = broker.running.broker.stats;
    const payload = 'x'.repeat(200);
    // Bounded: at most 4000 messages (800 kB) to fill the pty, serialport's buffers and the queue.
    // Each batch ends with a QoS 1 publish: its PUBACK means the broker has handled the batch.
    for (let i = 0; i < 20 && stats.messagesDropped === 0; i++) {
      for (let j = 0; j < 200; j++) sub.c.publish('cmd/fill', payload);
      await sub.c.publishAsync('sync', '', { qos: 1 });
    }
    expect(stats.messagesDropped).toBeGreaterThan(0);
    const b = new LineBoard(board); // reads again
    await b.next(`cmd/fill ${payload}`);
    // Messages published while the queue is still full are dropped; once the device has drained
    // the queue (pumped on the port's 'drain'), new ones are written directly again.
    let through = false;
    for (let i = 0; i < 40 && !through; i++) {
      await sub.c.publishAsync('cmd/end', String(i));
      through = await b.next(`cmd/end ${i}`, 250).then(() => true, () => false);
    }
    expect(through).toBe(true);
    // Fresh ptys for the next test: the kernel still holds unread fill lines.
    await closePort(board);
    await pty.stop();
    await pty.start();
  });

  it('MQTT-SN over SLIP: CONNECT with will, REGISTER, PUBLISH, SUBSCRIBE; unplug fires the will and the link reopens', async () => {
    await start('framing=mqttsn-slip');
    const sub = await subscriber(broker.port, ['sensors/#', 'wills/#', '$SYS/broker/serial/dev/state']);
    clients.push(sub.c);
    await sub.next('$SYS/broker/serial/dev/state', '1');
    board = await openPort(pty.board);
    const b = new SnBoard(board, true);
    await b.request({ type: CONNECT, clean: true, will: true, protocolId: 1, duration: 60, clientId: 'nano1' }, WILLTOPICREQ);
    await b.request({ type: WILLTOPIC, topic: 'wills/nano1', qos: 0, retain: false }, WILLMSGREQ);
    expect((await b.request({ type: WILLMSG, payload: Buffer.from('gone') }, CONNACK)).rc).toBe(0);
    const reg = await b.request({ type: REGISTER, topicId: 0, msgId: b.msgId(), topic: 'sensors/t' }, REGACK);
    expect(reg.rc).toBe(0);
    const msgId = b.msgId();
    b.send({ type: PUBLISH, qos: 1, topicIdType: 0, topicId: reg.topicId, msgId, retain: false, dup: false, payload: Buffer.from('19.5') });
    expect((await b.next(PUBACK)).msgId).toBe(msgId);
    expect(await sub.next('sensors/t')).toBe('19.5');

    const suback = await b.request({ type: SUBSCRIBE, qos: 0, topicIdType: 0, msgId: b.msgId(), topic: 'relay/1' }, SUBACK);
    expect(suback.rc).toBe(0);
    await sub.c.publishAsync('relay/1', 'ON');
    const p = await b.next(PUBLISH);
    expect(p.topicId).toBe(suback.topicId);
    expect(p.payload?.toString()).toBe('ON');

    // Unplug: the device vanishes, the client is lost (will published), the state goes to 0.
    await pty.stop();
    expect(await sub.next('wills/nano1')).toBe('gone');
    await sub.next('$SYS/broker/serial/dev/state', '0');
    await closePort(board);
    // Plug back in: the link reopens after its backoff (1 s), the board connects again.
    await pty.start();
    await sub.next('$SYS/broker/serial/dev/state', '1');
    board = await openPort(pty.board);
    const b2 = new SnBoard(board, true);
    expect((await b2.request({ type: CONNECT, clean: true, will: false, protocolId: 1, duration: 60, clientId: 'nano1' }, CONNACK)).rc).toBe(0);
    await b2.request({ type: PINGREQ }, PINGRESP);
  });

  it('MQTT-SN bare (length-prefixed): survives a noise byte, then CONNECT, REGISTER, PUBLISH, SUBSCRIBE', async () => {
    await start('framing=mqttsn baud=9600');
    const sub = await subscriber(broker.port, ['sensors/#', '$SYS/broker/serial/dev/state']);
    clients.push(sub.c);
    await sub.next('$SYS/broker/serial/dev/state', '1');
    board = await openPort(pty.board);
    const b = new SnBoard(board, false);
    b.send(Buffer.from([0x00])); // an impossible length: skipped
    expect((await b.request({ type: CONNECT, clean: true, will: false, protocolId: 1, duration: 60, clientId: 'uno' }, CONNACK)).rc).toBe(0);
    const reg = await b.request({ type: REGISTER, topicId: 0, msgId: b.msgId(), topic: 'sensors/h' }, REGACK);
    b.send({ type: PUBLISH, qos: 0, topicIdType: 0, topicId: reg.topicId, msgId: 0, retain: false, dup: false, payload: Buffer.from('55') });
    expect(await sub.next('sensors/h')).toBe('55');
    const suback = await b.request({ type: SUBSCRIBE, qos: 1, topicIdType: 0, msgId: b.msgId(), topic: 'relay/2' }, SUBACK);
    await sub.c.publishAsync('relay/2', 'OFF', { qos: 1 });
    const p = await b.next(PUBLISH);
    expect(p.topicId).toBe(suback.topicId);
    expect(p.payload?.toString()).toBe('OFF');
    b.send({ type: PUBACK, topicId: p.topicId, msgId: p.msgId, rc: 0 });
  });
});
