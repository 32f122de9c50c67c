// Home Assistant discovery's config: the ha_* options, the gpio keys name= (quoted), device_class=
// and icon=, the serial line link's sensor= keys, and the messages announcements() makes of them for
// each gpio payload format (checked against the documented schema, schema.ts).
import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { optionOwner } from '../../src/config/features.ts';
import { parseConfigText } from '../../src/config/parse.ts';
import { announcements } from '../../src/features/ha/discovery.ts';
import { defaultNodeId } from '../../src/features/ha/config.ts';
import { discoveryErrors } from './schema.ts';

const parse = (text: string) => parseConfigText(text, 'ha.conf');

describe('ha_* options', () => {
  it('ha_discovery, ha_discovery_prefix and ha_node_id are read; unset, discovery is off', () => {
    expect(parse('gpio 5 in topic=a\n').haDiscovery).toBeUndefined();
    const c = parse('ha_discovery true\nha_discovery_prefix hass/disc\nha_node_id pi-zero_1\n');
    expect([c.haDiscovery, c.haPrefix, c.haNodeId]).toEqual([true, 'hass/disc', 'pi-zero_1']);
    expect(parse('ha_discovery false\n').haDiscovery).toBe(false);
  });

  it('bad values and unknown ha_ options are errors with the line', () => {
    expect(() => parse('ha_discovery maybe\n')).toThrow(/ha\.conf:1: option 'ha_discovery' needs true or false/);
    expect(() => parse('ha_discovery_prefix home/#\n')).toThrow(/not a topic prefix/);
    expect(() => parse('ha_discovery_prefix home/\n')).toThrow(/not a topic prefix/);
    expect(() => parse('ha_node_id my.pi\n')).toThrow(/letters, digits, '_' and '-'/);
    expect(() => parse('ha_node_id a b\n')).toThrow(/too many arguments/);
    expect(() => parse('ha_discover true\n')).toThrow(/unknown option 'ha_discover'/);
  });

  it('the options belong to GPIO in the feature table, so a build without it names the profiles that have it', () => {
    expect(optionOwner('ha_discovery')).toEqual({ feature: 'GPIO', listener: false });
    expect(optionOwner('ha_node_id')).toEqual({ feature: 'GPIO', listener: false });
  });

  it('the default node id is the host name, lower case, with characters outside [a-zA-Z0-9_-] made _', () => {
    expect(defaultNodeId()).toBe(hostname().toLowerCase().replace(/[^a-z0-9_-]/g, '_'));
    expect(defaultNodeId()).toMatch(/^[a-zA-Z0-9_-]+$/);
  });
});

describe('gpio keys for discovery', () => {
  it('name= takes a double-quoted value with spaces; device_class= and icon= are read', () => {
    const [p] = parse('gpio 5 in topic=a name="Hall  button" device_class=door icon=mdi:door\n').gpio!;
    expect([p.title, p.deviceClass, p.icon]).toEqual(['Hall  button', 'door', 'mdi:door']);
    expect(parse('gpio 5 in topic=a name=Relay\n').gpio![0].title).toBe('Relay');
    expect(parse('gpio 5 in topic=a\n').gpio![0].title).toBeUndefined();
  });

  it('quotes must pair; device_class and icon must look like Home Assistant names', () => {
    expect(() => parse('gpio 5 in topic=a name="Hall button\n')).toThrow(/ha\.conf:1: unbalanced '"'/);
    expect(() => parse('gpio 5 in topic=a device_class=Door\n')).toThrow(/device_class 'Door'/);
    expect(() => parse('gpio 5 out topic=a device_class=door\n')).toThrow(/device_class 'door' is not a Home Assistant switch class \(switch or outlet\)/);
    expect(parse('gpio 5 out topic=a device_class=outlet\n').gpio![0].deviceClass).toBe('outlet');
    expect(() => parse('gpio 5 in topic=a icon=lightbulb\n')).toThrow(/icon 'lightbulb'/);
  });
});

describe('serial sensor= keys', () => {
  it('NAME[:UNIT[:DEVICE_CLASS]], repeatable, on line links', () => {
    const [l] = parse('serial ard /dev/ttyACM0 framing=line sensor=temp:°C:temperature sensor=door sensor=hum:% prefix=home/\n').serial!;
    expect(l.sensors).toEqual([
      { name: 'temp', unit: '°C', deviceClass: 'temperature' },
      { name: 'door', unit: undefined, deviceClass: undefined },
      { name: 'hum', unit: '%', deviceClass: undefined },
    ]);
  });

  it('bad sensors are errors', () => {
    const line = (s: string) => `serial ard /dev/ttyACM0 framing=line ${s}\n`;
    expect(() => parse(line('sensor=a/#'))).toThrow(/sensor 'a\/#'/);
    expect(() => parse(line('sensor=a:b:c:d'))).toThrow(/sensor 'a:b:c:d'/);
    expect(() => parse(line('sensor=:C'))).toThrow(/sensor ':C'/);
    expect(() => parse(line('sensor=t sensor=t'))).toThrow(/sensor 't' given twice/);
    expect(() => parse(line('sensor=t:C:Temp'))).toThrow(/device class 'Temp'/);
    expect(() => parse('serial ard /dev/ttyACM0 framing=mqttsn-slip sensor=t\n')).toThrow(/'sensor' applies to framing=line only/);
  });
});

describe('announcements', () => {
  const cfg = parse(
    'gpio 5 in topic=p/01\ngpio 6 out topic=p/onoff format=onoff\ngpio 7 in topic=p/bool format=bool qos=1\n' +
      'gpio 8 out topic=p/json format=json set_topic=cmd/json\n' +
      'serial a.b /dev/ttyACM0 framing=line prefix=x/ sensor=t:°C:temperature sensor=state qos=1\n',
  );
  const list = announcements(cfg, 'homeassistant', 'node');

  it("every message is valid by the documented schema; the payloads are the pin format's", () => {
    for (const a of list) expect(discoveryErrors(a.topic, JSON.stringify(a.body))).toEqual([]);
    const byTopic = Object.fromEntries(list.map((a) => [a.topic, a.body]));
    expect(byTopic['homeassistant/binary_sensor/node/gpio5/config']).toMatchObject({ payload_on: '1', payload_off: '0', name: 'GPIO 5' });
    expect(byTopic['homeassistant/switch/node/gpio6/config']).toMatchObject({ payload_on: 'ON', payload_off: 'OFF', command_topic: 'p/onoff/set' });
    expect(byTopic['homeassistant/binary_sensor/node/gpio7/config']).toMatchObject({ payload_on: 'true', payload_off: 'false', qos: 1 });
    // json: {"value":0|1,"ts":...} is read through a template; the set topic takes 0 and 1.
    expect(byTopic['homeassistant/switch/node/gpio8/config']).toMatchObject({ payload_on: '1', payload_off: '0', value_template: '{{ value_json.value }}', command_topic: 'cmd/json' });
    expect(byTopic['homeassistant/sensor/node/a_b_t/config']).toMatchObject({ state_topic: 'x/t', unit_of_measurement: '°C', state_class: 'measurement', qos: 1 });
    const plain = byTopic['homeassistant/sensor/node/a_b_state/config'];
    expect(plain.state_topic).toBe('x/state');
    expect('unit_of_measurement' in JSON.parse(JSON.stringify(plain))).toBe(false);
    expect('state_class' in JSON.parse(JSON.stringify(plain))).toBe(false);
  });
});
