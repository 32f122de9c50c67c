// Every framing through serialport's own mock binding (@serialport/binding-mock): the links open
// a SerialPortMock instead of a tty, the test plays the device with emitData() and reads what the
// broker wrote from the binding's recording. (links.test.ts does the same over socat ptys.)
import mqtt from 'mqtt';
import { SerialPortMock } from 'serialport';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/parse.ts';
import type { SerialLinkConfig } from '../../src/config/types.ts';
import { LineLink } from '../../src/features/serial/line-link.ts';
import type { SerialPortClass } from '../../src/features/serial/port.ts';
import { snLink } from '../../src/features/serial/sn-link.ts';
import { startBroker, type TestBroker } from '../helpers/broker.ts';

// serialport's own MockBinding instance (importing @serialport/binding-mock here could load a second
// copy of it, which would not know the ports created below).
const MockBinding = SerialPortMock.binding;
/** What the test uses of an open mock port's binding. */
interface MockPortBinding {
  recording: Buffer;
  emitData(data: Buffer | string): void;
}

// The ports the links opened, by path, to reach their bindings.
const opened = new Map<string, SerialPortMock>();
class Capturing extends SerialPortMock {
  constructor(o: ConstructorParameters<typeof SerialPortMock>[0]) {
    super(o);
    opened.set(o.path, this);
  }
}

let b: TestBroker;
const stops: (() => Promise<void>)[] = [];

function links(): SerialLinkConfig[] {
  return parseConfigText(
    'serial ln /dev/ttyMOCK0 framing=line prefix=house/ subscribe=cmd/# maxline=32\n' +
      'serial sl /dev/ttyMOCK1 framing=mqttsn-slip\n' +
      'serial bare /dev/ttyMOCK2 framing=mqttsn\n',
    '/etc/midge.conf',
  ).serial!;
}

/** The binding of an opened port, once the link has opened it. */
async function device(path: string): Promise<MockPortBinding> {
  for (let i = 0; i < 200; i++) {
    const p = opened.get(path);
    if (p?.isOpen) return p.port as unknown as MockPortBinding;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`${path} was not opened`);
}

/** Resolves when what the broker wrote to `port` satisfies `ok`. */
async function written(port: MockPortBinding, ok: (all: Buffer) => boolean): Promise<Buffer> {
  for (let i = 0; i < 300; i++) {
    if (ok(port.recording)) return port.recording;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`not written; have ${port.recording.toString('hex')}`);
}

beforeAll(async () => {
  b = await startBroker();
  for (const p of ['/dev/ttyMOCK0', '/dev/ttyMOCK1', '/dev/ttyMOCK2']) MockBinding.createPort(p, { echo: false, record: true });
  const [ln, sl, bare] = links();
  const line = new LineLink(b.running.broker, ln, Capturing as unknown as SerialPortClass);
  line.start();
  stops.push(() => line.stop());
  for (const cfg of [sl, bare]) {
    const l = snLink(b.running.broker, cfg, Capturing as unknown as SerialPortClass);
    stops.push(() => l.close());
  }
});

afterAll(async () => {
  for (const s of stops) await s();
  MockBinding.reset();
  await b.close();
});

describe('serial framings over @serialport/binding-mock', () => {
  it('line: split lines, an over-long line dropped, then lines publish; subscribed topics written back', async () => {
    const sub = await mqtt.connectAsync(`mqtt://127.0.0.1:${b.port}`);
    try {
      await sub.subscribeAsync('house/#');
      const got: string[] = [];
      sub.on('message', (t, p) => got.push(`${t} ${p.toString()}`));
      const port = await device('/dev/ttyMOCK0');
      port.emitData('te');
      port.emitData('mp 21.5\nx'.concat('y'.repeat(40), '\n'));
      port.emitData('hum=40\n');
      for (let i = 0; i < 300 && got.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
      expect(got).toEqual(['house/temp 21.5', 'house/hum 40']);
      await sub.publishAsync('cmd/relay', 'on');
      const out = await written(port, (all) => all.includes('\n'));
      expect(out.toString()).toBe('cmd/relay on\n');
    } finally {
      await sub.endAsync();
    }
  });

  // MQTT-SN CONNECT (clean session, keep-alive 60 s) of client `id`, and the CONNACK it gets.
  const connect = (id: string): Buffer => Buffer.from([6 + id.length, 0x04, 0x04, 0x01, 0x00, 0x3c, ...Buffer.from(id)]);
  const CONNACK = '030500';

  it('mqttsn-slip: noise and a cut frame before a frame are dropped; the CONNACK comes back in a SLIP frame', async () => {
    const port = await device('/dev/ttyMOCK1');
    // Noise, then a frame cut short by a reset (END closes it: too short to be a packet), then the CONNECT.
    port.emitData(Buffer.from([0x13, 0x37, 0xc0, 0x08, 0x04, 0xc0]));
    port.emitData(Buffer.concat([Buffer.from([0xc0]), connect('slip1'), Buffer.from([0xc0])]));
    const out = await written(port, (all) => all.length >= 5);
    expect(out.toString('hex')).toBe(`c0${CONNACK}c0`);
  });

  it('mqttsn (bare): an impossible length byte is skipped, then the CONNECT is answered', async () => {
    const port = await device('/dev/ttyMOCK2');
    port.emitData(Buffer.from([0x00]));
    const c = connect('bare1');
    port.emitData(c.subarray(0, 4));
    port.emitData(c.subarray(4));
    const out = await written(port, (all) => all.length >= 3);
    expect(out.toString('hex')).toBe(CONNACK);
  });
});
