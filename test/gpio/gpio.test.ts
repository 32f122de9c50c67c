// GPIO pins as topics, end to end through an in-process broker: an in-memory Pin driver (no GPIO
// hardware here) injects edges and records levels; MQTT.js subscribes and publishes on TCP.
// Absence is shown by order: messages of one broker reach one subscriber in publish order, so once
// a later message has arrived, an earlier one that should not exist would have arrived first.
import mqtt, { type MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/parse.ts';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { FakeDriver } from './fake-pin.ts';

interface Got {
  topic: string;
  payload: string;
  qos: number;
  retain: boolean;
}

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanup.length) await cleanup.pop()!();
});

/** A broker with the pins of `lines` (config syntax) on a fresh in-memory driver. */
async function gpioBroker(lines: string, driver = new FakeDriver()): Promise<{ b: TestBroker; driver: FakeDriver }> {
  const gpio = parseConfigText(lines, 'gpio.conf').gpio;
  const b = await startBroker({ gpio, gpioDriver: driver });
  cleanup.push(() => b.close());
  return { b, driver };
}

/** An MQTT.js client subscribed to `filter`, whose messages can be awaited in order. */
async function subscriber(port: number, filter: string | string[]): Promise<{ c: MqttClient; next: () => Promise<Got>; got: Got[] }> {
  const c = await mqtt.connectAsync({ port, host: '127.0.0.1', reconnectPeriod: 0 });
  cleanup.push(() => c.endAsync());
  const got: Got[] = [];
  let wake: (() => void) | undefined;
  c.on('message', (topic, payload, packet) => {
    got.push({ topic, payload: payload.toString(), qos: packet.qos, retain: packet.retain });
    wake?.();
  });
  await c.subscribeAsync(filter, { qos: 2 });
  let read = 0;
  const next = async (): Promise<Got> => {
    const deadline = Date.now() + 8000;
    while (read >= got.length) {
      if (Date.now() > deadline) throw new Error('no MQTT message');
      await new Promise<void>((r) => {
        wake = r;
        setTimeout(r, 200);
      });
    }
    return got[read++];
  };
  return { c, next, got };
}

describe('GPIO inputs', () => {
  it('publish their state on edges in each payload format', async () => {
    const { b, driver } = await gpioBroker(
      'gpio 5 in topic=in/01\ngpio 6 in topic=in/onoff format=onoff\ngpio 7 in topic=in/bool format=bool\ngpio 8 in topic=in/json format=json\n',
    );
    const s = await subscriber(b.port, 'in/#');
    for (const n of [5, 6, 7, 8]) {
      driver.pin(n).edge(1);
      driver.pin(n).edge(0);
    }
    const got: string[] = [];
    for (let i = 0; i < 8; i++) {
      const g = await s.next();
      got.push(`${g.topic} ${g.payload}`);
    }
    expect(got.slice(0, 6)).toEqual(['in/01 1', 'in/01 0', 'in/onoff ON', 'in/onoff OFF', 'in/bool true', 'in/bool false']);
    const before = Date.now();
    const j1 = JSON.parse(got[6].slice('in/json '.length));
    expect(j1.value).toBe(1);
    expect(typeof j1.ts).toBe('number');
    expect(Math.abs(before - j1.ts)).toBeLessThan(60_000);
    expect(JSON.parse(got[7].slice('in/json '.length)).value).toBe(0);
  });

  it('debounce: a bouncing contact publishes once, with the level it settled at', async () => {
    const { b, driver } = await gpioBroker('gpio 5 in topic=btn debounce=30\n');
    const s = await subscriber(b.port, ['btn', 'sentinel']);
    const p = driver.pin(5);
    p.edge(1);
    p.edge(0);
    p.edge(1);
    expect((await s.next()).payload).toBe('1');
    // Bounces that settle where they started publish nothing.
    p.edge(0);
    p.edge(1);
    await s.c.publishAsync('sentinel', 'x');
    expect((await s.next()).topic).toBe('sentinel');
    p.edge(0);
    expect((await s.next()).payload).toBe('0');
    expect(s.got.map((g) => g.payload)).toEqual(['1', 'x', '0']);
  });

  it('edge=rising publishes only changes to 1; active_low inverts the level', async () => {
    const { b, driver } = await gpioBroker('gpio 5 in topic=r edge=rising\ngpio 6 in topic=f edge=falling active_low=true\n', new FakeDriver({ 6: 1 }));
    const s = await subscriber(b.port, ['r', 'f']);
    driver.pin(5).edge(1);
    driver.pin(5).edge(0);
    driver.pin(5).edge(1);
    // Pin 6 is active-low and starts high (logical 0): pressing pulls it low (logical 1), releasing
    // it is the falling edge of the logical value.
    driver.pin(6).edge(0);
    driver.pin(6).edge(1);
    for (let i = 0; i < 3; i++) await s.next();
    expect(s.got.map((g) => `${g.topic} ${g.payload}`)).toEqual(['r 1', 'r 1', 'f 0']);
  });

  it('retain and qos apply to state messages; initial=publish sends the state at start', async () => {
    const { b, driver } = await gpioBroker('gpio 5 in topic=door retain=true qos=1 initial=publish active_low=true\ngpio 6 in topic=win qos=2\n', new FakeDriver({ 5: 1 }));
    // Published at start, before anyone subscribed: only retain keeps it (physical 1 = logical 0).
    const s = await subscriber(b.port, ['door', 'win']);
    expect(await s.next()).toEqual({ topic: 'door', payload: '0', qos: 1, retain: true });
    driver.pin(5).edge(0);
    expect(await s.next()).toEqual({ topic: 'door', payload: '1', qos: 1, retain: false });
    driver.pin(6).edge(1);
    expect(await s.next()).toEqual({ topic: 'win', payload: '1', qos: 2, retain: false });
    const late = await subscriber(b.port, 'door');
    expect(await late.next()).toEqual({ topic: 'door', payload: '1', qos: 1, retain: true });
  });
});

describe('GPIO outputs', () => {
  it('follow their set topic and publish their new state', async () => {
    const { b, driver } = await gpioBroker('gpio 17 out topic=relay format=onoff retain=true\ngpio 18 out topic=led set_topic=cmd/led active_low=true\n');
    const s = await subscriber(b.port, ['relay', 'led']);
    const relay = driver.pin(17);
    const led = driver.pin(18);
    expect(relay.level).toBe(0);
    expect(led.level).toBe(1); // logical 0, active-low
    await s.c.publishAsync('relay/set', 'ON', { qos: 1 });
    expect(await s.next()).toMatchObject({ topic: 'relay', payload: 'ON' });
    expect(relay.level).toBe(1);
    await s.c.publishAsync('relay/set', '{"value":false}');
    expect(await s.next()).toMatchObject({ topic: 'relay', payload: 'OFF' });
    await s.c.publishAsync('relay/set', 'toggle', { qos: 2 });
    expect(await s.next()).toMatchObject({ topic: 'relay', payload: 'ON' });
    expect(relay.writes).toEqual([1, 0, 1]);
    // Not understood: ignored, nothing published (the next state message is the led's).
    await s.c.publishAsync('relay/set', 'maybe');
    await s.c.publishAsync('cmd/led', 'true');
    expect(await s.next()).toMatchObject({ topic: 'led', payload: '1' });
    expect(led.level).toBe(0);
    expect(relay.writes).toEqual([1, 0, 1]);
  });

  it('a retained message on the set topic applies at start', async () => {
    const first = await startBroker({});
    cleanup.push(() => first.close());
    // Retained store is per broker: publish through the broker that then gets the pins.
    const gpio = parseConfigText('gpio 17 out topic=heater\n', 'gpio.conf').gpio!;
    first.running.broker.retained.set({ topic: 'heater/set', payload: Buffer.from('1'), qos: 0, retain: true });
    const { startGpio } = await import('../../src/features/gpio/index.ts');
    const driver = new FakeDriver();
    const g = await startGpio(first.running.broker, gpio, driver);
    cleanup.push(() => g.close());
    expect(driver.pin(17).level).toBe(1);
  });

  it('failsafe: outputs start at it and return to it on shutdown', async () => {
    const { b, driver } = await gpioBroker('gpio 17 out topic=pump failsafe=1 active_low=true initial=publish retain=true\ngpio 18 out topic=lamp\n');
    const s = await subscriber(b.port, 'pump');
    const pump = driver.pin(17);
    expect(pump.level).toBe(0); // logical 1, active-low
    expect(await s.next()).toMatchObject({ payload: '1', retain: true }); // initial=publish
    await s.c.publishAsync('pump/set', '0');
    expect(await s.next()).toMatchObject({ payload: '0' });
    expect(pump.level).toBe(1);
    await s.c.publishAsync('lamp/set', '1');
    await b.close();
    expect(pump.writes).toEqual([1, 0]);
    expect(pump.closed).toBe(true);
    // Without failsafe, the level is left as it is.
    expect(driver.pin(18).closed).toBe(true);
  });

  it('a client taking over the outputs\' session id detaches it cleanly; the broker keeps running', async () => {
    const { b, driver } = await gpioBroker('gpio 17 out topic=r\n');
    const intruder = await mqtt.connectAsync({ port: b.port, host: '127.0.0.1', reconnectPeriod: 0, clientId: 'midge-gpio' });
    cleanup.push(() => intruder.endAsync());
    const s = await subscriber(b.port, ['r', 'x']);
    await s.c.publishAsync('r/set', '1');
    await s.c.publishAsync('x', 'after');
    expect(await s.next()).toMatchObject({ topic: 'x', payload: 'after' });
    expect(driver.pin(17).writes).toEqual([]);
    await b.close();
    expect(driver.pin(17).closed).toBe(true);
  });

  it('a pin that cannot be opened is skipped; the others and the broker keep working', async () => {
    const { b, driver } = await gpioBroker('gpio 17 out topic=a\ngpio 18 out topic=b\n', new FakeDriver({}, [17]));
    const s = await subscriber(b.port, 'b');
    await s.c.publishAsync('b/set', '1');
    expect(await s.next()).toMatchObject({ topic: 'b', payload: '1' });
    expect(driver.pins.has(17)).toBe(false);
  });
});

describe('GPIO without the onoff driver', () => {
  it('keeps the broker up when onoff or /sys/class/gpio is missing', async () => {
    // No injected driver: onoff is tried; this machine has no GPIO (or onoff cannot load), so
    // the pins are skipped with an error in the log and MQTT still works.
    const gpio = parseConfigText('gpio 17 out topic=x\n', 'gpio.conf').gpio;
    const b = await startBroker({ gpio });
    cleanup.push(() => b.close());
    const s = await subscriber(b.port, 't');
    await s.c.publishAsync('t', 'up');
    expect(await s.next()).toMatchObject({ topic: 't', payload: 'up' });
  });
});
