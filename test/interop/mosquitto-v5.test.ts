// MQTT 5 interop with Debian's mosquitto_pub and mosquitto_sub (-V mqttv5, libmosquitto) against an
// in-process Midge, with MQTT.js (protocolVersion 5 or 4) on the other side.
// mosquitto_sub is started by mosquittoCli's sub(), which waits until it is subscribed.
import mqtt, { type IPublishPacket, type MqttClient } from 'mqtt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startBroker, type TestBroker } from '../helpers/broker.ts';
import { mosquittoCli } from '../helpers/mosquitto-cli.ts';
import { requirePeer } from '../helpers/peers.ts';
import { killAll } from '../helpers/proc.ts';

const havePeers = requirePeer('mosquitto_pub', 'mosquitto_sub');

describe.skipIf(!havePeers)('mosquitto_pub / mosquitto_sub -V mqttv5', () => {
  let b: TestBroker;
  const clients: MqttClient[] = [];
  const { pub, sub } = mosquittoCli(() => b.port);

  beforeEach(async () => {
    b = await startBroker();
  });

  afterEach(async () => {
    await killAll();
    await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
    await b.close();
  });

  async function client(protocolVersion: 4 | 5): Promise<MqttClient> {
    const c = await mqtt.connectAsync({ host: '127.0.0.1', port: b.port, protocolVersion, reconnectPeriod: 0, connectTimeout: 5000 });
    clients.push(c);
    return c;
  }

  function nextMessage(c: MqttClient): Promise<IPublishPacket> {
    return new Promise((resolve) => c.once('message', (_t: string, _p: Buffer, packet: IPublishPacket) => resolve(packet)));
  }


  it('[MQTT-3.3.2-17] [MQTT-3.3.2-18] [MQTT-3.3.2-20] mosquitto_pub -D publish user-property reaches an MQTT.js v5 subscriber unaltered, in order', async () => {
    const c = await client(5);
    await c.subscribeAsync('v5/#', { qos: 1 });
    const got = nextMessage(c);
    await pub(
      '-V', 'mqttv5', '-t', 'v5/in', '-m', 'hello', '-q', '1',
      '-D', 'publish', 'user-property', 'zone', 'kitchen',
      '-D', 'publish', 'user-property', 'unit', 'C',
      '-D', 'publish', 'user-property', 'zone', 'hall',
      '-D', 'publish', 'content-type', 'text/plain',
    );
    const p = await got;
    expect(p.topic).toBe('v5/in');
    expect(p.payload.toString()).toBe('hello');
    // MQTT.js groups repeated keys into an array, keeping their order; keys in first-seen order.
    expect(p.properties?.userProperties).toEqual({ zone: ['kitchen', 'hall'], unit: 'C' });
    expect(Object.keys(p.properties?.userProperties ?? {})).toEqual(['zone', 'unit']);
    expect(p.properties?.contentType).toBe('text/plain');
  });

  it('[MQTT-3.3.2-15] [MQTT-3.3.2-16] [MQTT-3.3.2-17] mosquitto_sub -V mqttv5 -F prints the properties an MQTT.js v5 publisher set', async () => {
    const s = await sub('f', '-V', 'mqttv5', '-t', 'ready/f', '-t', 'req/#', '-q', '1', '-F', '%t|%P|%C|%R|%D|%p', '-C', '2');
    const c = await client(5);
    await c.publishAsync('req/light', 'on', {
      qos: 1,
      properties: { userProperties: { source: 'panel', room: 'hall' }, contentType: 'text/plain', responseTopic: 'res/light', correlationData: Buffer.from('c42') },
    });
    const exit = await s.waitExit();
    expect(exit.code, s.describe()).toBe(0);
    // %P prints each user property as key:value, separated by a space, in order.
    expect(s.stdout).toEqual(['ready/f|||||ready', 'req/light|source:panel room:hall|text/plain|res/light|c42|on']);
  });

  it('mosquitto_sub -V mqttv5 -v receives from an MQTT 3.1.1 publisher (MQTT.js and mosquitto_pub -V mqttv311)', async () => {
    const s = await sub('old', '-V', 'mqttv5', '-t', '#', '-v', '-q', '2', '-C', '3');
    const c = await client(4);
    await c.publishAsync('old/js', 'from 3.1.1', { qos: 2 });
    await pub('-V', 'mqttv311', '-t', 'old/cli', '-m', 'also 3.1.1', '-q', '1');
    expect((await s.waitExit()).code, s.describe()).toBe(0);
    expect(s.stdout).toEqual(['ready/old ready', 'old/js from 3.1.1', 'old/cli also 3.1.1']);
  });

  it('an MQTT 3.1.1 subscriber gets a mosquitto_pub -V mqttv5 message without its properties', async () => {
    const c = await client(4);
    await c.subscribeAsync('mixed/#', { qos: 1 });
    const got = nextMessage(c);
    await pub('-V', 'mqttv5', '-t', 'mixed/a', '-m', 'x', '-q', '1', '-D', 'publish', 'user-property', 'k', 'v');
    const p = await got;
    expect(p.payload.toString()).toBe('x');
    expect(p.properties).toBeUndefined();
  });
});
