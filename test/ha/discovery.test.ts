// Home Assistant MQTT discovery end to end: a Midge with two pin doubles (an input and an output)
// and a serial `line` link on a socat pty with two sensors; MQTT.js plays Home Assistant. Every
// config message is checked against the schema written from Home Assistant's documentation
// (schema.ts).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import type { SerialPort } from 'serialport';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../src/config/parse.ts';
import type { BrokerConfig } from '../../src/config/types.ts';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { Inbox } from '../helpers/inbox.ts';
import { requirePeer } from '../helpers/peers.ts';
import { FakeDriver } from '../gpio/fake-pin.ts';
import { closePort, LineBoard, openPort, PtyPair } from '../serial/device.ts';
import { discoveryErrors } from './schema.ts';

const have = requirePeer('socat');

interface Got {
  topic: string;
  payload: string;
  retain: boolean;
}

const BUTTON = 'gpio 5 in topic=home/button name="Hall button" format=onoff device_class=occupancy retain=true\n';
const RELAY = 'gpio 6 out topic=home/relay name="Hall light" format=onoff icon=mdi:lightbulb failsafe=0\n';
const T = {
  button: 'homeassistant/binary_sensor/testnode/gpio5/config',
  relay: 'homeassistant/switch/testnode/gpio6/config',
  temp: 'homeassistant/sensor/testnode/ard_temp/config',
  humidity: 'homeassistant/sensor/testnode/ard_humidity/config',
};

describe.skipIf(!have)('Home Assistant discovery: pins and serial sensors', () => {
  const pty = new PtyPair();
  let dir: string;
  const cleanup: (() => Promise<unknown> | void)[] = [];
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'midge-ha-'));
    await pty.start();
  });
  afterAll(async () => {
    await pty.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });
  afterEach(async () => {
    while (cleanup.length) await cleanup.pop()!();
  });

  const conf = (pins: string): string =>
    `ha_discovery true\nha_node_id testnode\n${pins}` +
    `serial ard ${pty.broker} framing=line prefix=home/ard/ sensor=temp:°C:temperature sensor=humidity:%:humidity\n`;

  /** A Midge with the config `text` (written to a file, so that reload reads it again). */
  async function start(text: string, over: Partial<BrokerConfig> = {}, keep = false): Promise<{ b: TestBroker; driver: FakeDriver; file: string }> {
    const file = join(dir, 'midge.conf');
    writeFileSync(file, text);
    const c = loadConfigFile(file);
    const driver = new FakeDriver();
    const b = await startBroker({ gpio: c.gpio, serial: c.serial, haDiscovery: c.haDiscovery, haNodeId: c.haNodeId, files: c.files, gpioDriver: driver, ...over });
    if (!keep) cleanup.push(() => b.close());
    return { b, driver, file };
  }

  /** Home Assistant's stand-in: subscribed to the discovery prefix, the node's status and the states. */
  async function homeAssistant(port: number): Promise<{ c: MqttClient; inbox: Inbox<Got>; next: (topic: string, payload?: string) => Promise<Got> }> {
    const c = await mqtt.connectAsync({ host: '127.0.0.1', port, reconnectPeriod: 0 });
    cleanup.push(() => c.endAsync(true));
    const inbox = new Inbox<Got>();
    c.on('message', (topic, payload, packet) => inbox.add({ topic, payload: payload.toString(), retain: packet.retain }));
    await c.subscribeAsync(['homeassistant/#', 'testnode/status', 'home/#'], { qos: 1 });
    const next = (topic: string, payload?: string): Promise<Got> =>
      inbox.next((g) => g.topic === topic && (payload === undefined || g.payload === payload), `${topic}${payload === undefined ? '' : ` = '${payload}'`}`, 8000);
    return { c, inbox, next };
  }

  it('announces a binary_sensor, a switch and two sensors, retained and valid by the documented schema, with one device and an online status', async () => {
    const { b } = await start(conf(BUTTON + RELAY));
    const ha = await homeAssistant(b.port);
    const configs: Record<string, Record<string, unknown>> = {};
    for (const t of Object.values(T)) {
      const g = await ha.next(t);
      expect(g.retain, t).toBe(true);
      expect(discoveryErrors(t, g.payload)).toEqual([]);
      configs[t] = JSON.parse(g.payload);
    }
    expect((await ha.next('testnode/status')).payload).toBe('online');
    const button = configs[T.button];
    expect(button).toMatchObject({ name: 'Hall button', state_topic: 'home/button', payload_on: 'ON', payload_off: 'OFF', device_class: 'occupancy', availability_topic: 'testnode/status' });
    expect(configs[T.relay]).toMatchObject({ name: 'Hall light', state_topic: 'home/relay', command_topic: 'home/relay/set', payload_on: 'ON', payload_off: 'OFF', icon: 'mdi:lightbulb' });
    expect(configs[T.temp]).toMatchObject({ name: 'temp', state_topic: 'home/ard/temp', unit_of_measurement: '°C', device_class: 'temperature' });
    expect(configs[T.humidity]).toMatchObject({ state_topic: 'home/ard/humidity', unit_of_measurement: '%', device_class: 'humidity' });
    // One device, shared; unique ids differ.
    const devices = Object.values(configs).map((c) => JSON.stringify(c.device));
    expect(new Set(devices).size).toBe(1);
    expect(button.device).toMatchObject({ identifiers: ['midge_testnode'], name: 'testnode', manufacturer: 'Midge' });
    expect(new Set(Object.values(configs).map((c) => c.unique_id)).size).toBe(4);
  });

  it("the states arrive on the announced topics in the announced payloads; a command on the switch's command topic moves the pin and publishes its state", async () => {
    const { b, driver } = await start(conf(BUTTON + RELAY));
    const ha = await homeAssistant(b.port);
    const relay = JSON.parse((await ha.next(T.relay)).payload);
    const button = JSON.parse((await ha.next(T.button)).payload);
    const temp = JSON.parse((await ha.next(T.temp)).payload);

    await ha.c.publishAsync(relay.command_topic, relay.payload_on);
    expect((await ha.next(relay.state_topic, relay.payload_on)).payload).toBe('ON');
    expect(driver.pin(6).level).toBe(1);
    await ha.c.publishAsync(relay.command_topic, relay.payload_off);
    await ha.next(relay.state_topic, relay.payload_off);
    expect(driver.pin(6).level).toBe(0);

    driver.pin(5).edge(1);
    await ha.next(button.state_topic, button.payload_on);

    const port: SerialPort = await openPort(pty.board);
    cleanup.push(() => closePort(port));
    const board = new LineBoard(port);
    board.write('temp 21.5\n');
    expect((await ha.next(temp.state_topic)).payload).toBe('21.5');
  });

  it("Home Assistant's birth message (homeassistant/status = online) makes Midge publish every config, its status and the pin states again", async () => {
    const { b } = await start(conf(BUTTON + RELAY));
    const ha = await homeAssistant(b.port);
    for (const t of Object.values(T)) await ha.next(t);
    await ha.next('testnode/status', 'online');
    await ha.c.publishAsync('homeassistant/status', 'online');
    for (const t of Object.values(T)) {
      const g = await ha.next(t);
      // A live message now (not sent for a new subscription), and still valid.
      expect(g.retain).toBe(false);
      expect(discoveryErrors(t, g.payload)).toEqual([]);
    }
    await ha.next('testnode/status', 'online');
    await ha.next('home/button', 'OFF');
    await ha.next('home/relay', 'OFF');
    // Another payload on the status topic is not a birth.
    await ha.c.publishAsync('homeassistant/status', 'offline');
    await ha.c.publishAsync('home/marker', 'x');
    await ha.next('home/marker');
    expect(ha.inbox.items.filter((g) => g.topic.endsWith('/config'))).toEqual([]);
  });

  it('status goes offline (retained) when Midge shuts down, while Home Assistant is still connected', async () => {
    const { b } = await start(conf(BUTTON), {}, true);
    const ha = await homeAssistant(b.port);
    await ha.next('testnode/status', 'online');
    const closed = b.close();
    expect((await ha.next('testnode/status', 'offline')).payload).toBe('offline');
    await closed;
  });

  it('a pin removed from the config on reload (SIGHUP) loses its entity (empty retained config) and is released', async () => {
    const { b, driver, file } = await start(conf(BUTTON + RELAY));
    const ha = await homeAssistant(b.port);
    for (const t of Object.values(T)) await ha.next(t);
    writeFileSync(file, conf(BUTTON));
    await b.running.reload();
    expect((await ha.next(T.relay)).payload).toBe('');
    expect([...b.running.broker.retained.matching(T.relay)]).toEqual([]);
    expect(driver.pins.get(6)?.closed).toBe(true);
    // The others are announced again, the input still works.
    await ha.next(T.button);
    const newDriverPin = driver.pin(5);
    newDriverPin.edge(1);
    await ha.next('home/button', 'ON');
  });

  it('a broken config file on reload changes nothing', async () => {
    const { b, file } = await start(conf(BUTTON + RELAY));
    const ha = await homeAssistant(b.port);
    for (const t of Object.values(T)) await ha.next(t);
    writeFileSync(file, 'gpio 7 sideways topic=x\n');
    await b.running.reload();
    expect([...b.running.broker.retained.matching('homeassistant/+/testnode/+/config')].map((m) => m.topic).sort()).toEqual(Object.values(T).sort());
  });

  it('with persistence, a pin gone from the config at restart has its retained config cleared; the status is online again', async () => {
    const location = join(dir, 'db');
    const first = await start(conf(BUTTON + RELAY), { persistence: true, persistenceLocation: location }, true);
    await first.b.close();
    const { b } = await start(conf(BUTTON), { persistence: true, persistenceLocation: location });
    const ha = await homeAssistant(b.port);
    for (const t of [T.button, T.temp, T.humidity]) expect((await ha.next(t)).retain).toBe(true);
    expect((await ha.next('testnode/status')).payload).toBe('online');
    expect([...b.running.broker.retained.matching('homeassistant/switch/#')]).toEqual([]);
    expect(ha.inbox.items.some((g) => g.topic === T.relay)).toBe(false);
  });
});
