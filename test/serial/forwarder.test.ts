// Forwarder encapsulation (MQTT-SN 1.2 §5.5) on a serial link: a radio coordinator on a USB serial
// port forwards for several nodes. The test plays the coordinator on the far end of a socat pty
// pair, in both MQTT-SN framings; the scenario is the UDP test's (test/sn/two-nodes.ts).
import { SlipDecoder, SlipEncoder, type SerialPort } from 'serialport';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/parse.ts';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { requirePeer } from '../helpers/peers.ts';
import { Forwarder } from '../sn/forwarder.ts';
import { twoNodes, watcher } from '../sn/two-nodes.ts';
import { closePort, openPort, PtyPair } from './device.ts';

const have = requirePeer('socat');

/**
 * The coordinator's end of the link. SLIP: serialport's own encoder and decoder. Bare: packets
 * split by their Length, an encapsulated one being its header's Length plus its message's.
 */
function serialForwarder(port: SerialPort, slip: boolean): Forwarder {
  if (slip) {
    const enc = new SlipEncoder();
    enc.pipe(port);
    const f = new Forwarder((buf) => enc.write(buf));
    port.pipe(new SlipDecoder()).on('data', (frame: Buffer) => f.receive(frame));
    return f;
  }
  const f = new Forwarder((buf) => port.write(buf));
  let buf = Buffer.alloc(0);
  const size = (at: number): number => (buf[at] === 1 ? (buf.length >= at + 3 ? buf.readUInt16BE(at + 1) : Infinity) : buf[at]);
  port.on('data', (chunk: Buffer) => {
    buf = Buffer.concat([buf, chunk]);
    while (buf.length >= 2) {
      let n = size(0);
      if (buf[1] === 0xfe && buf[0] !== 1) n = buf.length > buf[0] ? buf[0] + size(buf[0]) : Infinity;
      if (buf.length < n) break;
      f.receive(buf.subarray(0, n));
      buf = buf.subarray(n);
    }
  });
  return f;
}

describe.skipIf(!have)('MQTT-SN forwarder encapsulation on a serial link (5.5, socat pty)', () => {
  const pty = new PtyPair();
  let broker: TestBroker | undefined;
  let board: SerialPort | undefined;

  beforeAll(() => pty.start());
  afterAll(() => pty.cleanup());
  afterEach(async () => {
    await closePort(board);
    board = undefined;
    await broker?.close();
    broker = undefined;
    // A test that unplugged the device leaves the next one a working pty.
    if (pty.proc?.exit) await pty.start();
  });

  it('unplugged, the coordinator\'s nodes are all lost: each will is published', async () => {
    const cfg = parseConfigText(`serial radio ${pty.broker} framing=mqttsn-slip\n`, 'test.conf');
    broker = await startBroker({ serial: cfg.serial });
    const w = await watcher(broker.port, ['$SYS/broker/serial/radio/state', 'gone/#']);
    try {
      await w.next('$SYS/broker/serial/radio/state', '1');
      board = await openPort(pty.board);
      const fwd = serialForwarder(board, true);
      for (const id of ['01', '02']) {
        expect(await fwd.node(id).connect(`unplug-${id}`, { will: { topic: `gone/${id}`, payload: 'unplugged' } })).toBe(0);
      }
      await pty.stop();
      expect(await w.next('gone/01', 'unplugged')).toBe('unplugged');
      expect(await w.next('gone/02', 'unplugged')).toBe('unplugged');
    } finally {
      await w.c.endAsync(true);
    }
  });

  for (const framing of ['mqttsn-slip', 'mqttsn'] as const) {
    it(`${framing}: two nodes behind one coordinator connect, register, publish QoS -1/0/1/2, subscribe and sleep independently; only the silent one's will fires; $SYS counts them`, async () => {
      const cfg = parseConfigText(`serial radio ${pty.broker} framing=${framing}\n`, 'test.conf');
      broker = await startBroker({ serial: cfg.serial, sysInterval: 1 });
      const sys = await watcher(broker.port, ['$SYS/broker/serial/radio/state', '$SYS/broker/mqtt-sn/serial/radio/#']);
      try {
        await sys.next('$SYS/broker/serial/radio/state', '1');
        board = await openPort(pty.board);
        const fwd = serialForwarder(board, framing === 'mqttsn-slip');
        const scenario = twoNodes(fwd, broker, framing.replace('-', '_'));
        // While both nodes are connected: 2 nodes behind 1 forwarder (A, B and the coordinator's own client).
        await sys.next('$SYS/broker/mqtt-sn/serial/radio/nodes', '2', 10_000);
        await sys.next('$SYS/broker/mqtt-sn/serial/radio/forwarders', '1');
        await scenario;
        expect(Number(await sys.next('$SYS/broker/mqtt-sn/serial/radio/encapsulated/received', (v) => Number(v) > 20))).toBeGreaterThan(20);
      } finally {
        await sys.c.endAsync(true);
      }
    }, 40_000);
  }
});
