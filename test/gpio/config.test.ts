// `gpio` lines of the config file: typed pins, and `file:line: reason` errors.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/parse.ts';
import { importWithFlags } from '../helpers/bundled.ts';

const parse = (text: string) => parseConfigText(text, 'g.conf').gpio;

describe('gpio config lines', () => {
  it('defaults of an input and an output', () => {
    expect(parse('gpio 5 in topic=a/b\ngpio 6 out topic=r\n')).toEqual([
      { name: '5', number: 5, direction: 'in', topic: 'a/b', edge: 'both', debounce: 0, activeLow: false, retain: false, qos: 0, format: '01', publishInitial: false },
      { name: '6', number: 6, direction: 'out', topic: 'r', setTopic: 'r/set', edge: 'both', debounce: 0, activeLow: false, retain: false, qos: 0, format: '01', publishInitial: false },
    ]);
    expect(parse('port 1883\n')).toBeUndefined();
  });

  it('every key', () => {
    const [p] = parse('gpio GPIO27 in topic=t edge=falling debounce=20 active_low=true retain=1 qos=2 format=json initial=publish board=pi-zero\n')!;
    expect(p).toMatchObject({ name: 'GPIO27', number: 539, edge: 'falling', debounce: 20, activeLow: true, retain: true, qos: 2, format: 'json', publishInitial: true });
    const [o] = parse('gpio pin11 out topic=t set_topic=cmd/t failsafe=0 format=onoff board=pi-zero\n')!;
    expect(o).toMatchObject({ number: 529, setTopic: 'cmd/t', failsafe: 0, format: 'onoff' });
  });

  it.each([
    ['gpio 5 in', `option 'gpio' needs PIN in|out topic=TOPIC`],
    ['gpio 5 up topic=a', `gpio 5: direction must be in or out, got 'up'`],
    ['gpio 5 in retain=true', 'gpio 5: topic=TOPIC is required'],
    ['gpio 5 in topic=a colour=red', `gpio 5: unknown setting 'colour=red' (expected key=value, key one of topic, `],
    ['gpio 5 in topic=a topic=b', `gpio 5: 'topic' given twice`],
    ['gpio 5 in topic=a/#', `gpio 5: topic 'a/#'`],
    ['gpio 5 in topic=a qos=3', `option 'gpio qos' is out of range: 3 (allowed 0..2)`],
    ['gpio 5 in topic=a debounce=-1', `option 'gpio debounce' must not be negative, got -1`],
    ['gpio 5 in topic=a active_low=yes', `option 'gpio active_low' needs true or false, got 'yes'`],
    ['gpio 5 in topic=a edge=up', `option 'gpio edge' needs both, rising or falling, got 'up'`],
    ['gpio 5 in topic=a format=hex', `option 'gpio format' needs 01, onoff, bool or json, got 'hex'`],
    ['gpio 5 in topic=a initial=1', `option 'gpio initial' needs publish, got '1'`],
    ['gpio 5 in topic=a set_topic=b', `gpio 5: 'set_topic' applies to output pins only`],
    ['gpio 5 in topic=a failsafe=1', `gpio 5: 'failsafe' applies to output pins only`],
    ['gpio 5 out topic=a debounce=5', `gpio 5: 'debounce' applies to input pins only`],
    ['gpio 5 out topic=a failsafe=2', `option 'gpio failsafe' is out of range: 2 (allowed 0..1)`],
    ['gpio 5 out topic=a set_topic=a', 'gpio 5: set_topic must differ from topic'],
    ['gpio GPIO17 in topic=a', 'gpio GPIO17: a pin name needs board=NAME'],
    ['gpio GPIO17 in topic=a board=arduino', `gpio GPIO17: unknown board 'arduino'`],
    ['gpio GPIO99 in topic=a board=pi-zero', `gpio GPIO99: board pi-zero has no pin 'GPIO99'`],
  ])('%s → error', (line, reason) => {
    expect(() => parse(`# pins\n${line}\n`)).toThrow(`g.conf:2: ${reason}`);
  });

  it("docs/gpio.md's Pi Zero example: a button and a relay", () => {
    const pins = parse(
      'listener 1883\nallow_anonymous true\n' +
        'gpio GPIO17 in topic=home/hall/button board=pi-zero active_low=true debounce=20 format=onoff initial=publish retain=true\n' +
        'gpio PIN16 out topic=home/hall/light board=pi-zero active_low=true failsafe=0 format=onoff retain=true\n',
    )!;
    expect(pins.map((p) => [p.number, p.direction, p.setTopic])).toEqual([
      [529, 'in', undefined],
      [535, 'out', 'home/hall/light/set'],
    ]);
  });

  it('the same line or set topic twice is an error', () => {
    expect(() => parse('gpio 529 in topic=a\ngpio GPIO17 out topic=b board=pi-zero\n')).toThrow('g.conf:2: gpio GPIO17: the same line as gpio 529 (number 529)');
    expect(() => parse('gpio 5 out topic=a set_topic=s\ngpio 6 out topic=b set_topic=s\n')).toThrow('g.conf:2: gpio 6: set_topic s is already used by gpio 5');
  });
});

describe('gpio without GPIO built', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'midge-gpio-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('the option names the feature and a profile that has it', async () => {
    const noGpio = await importWithFlags<typeof import('../../src/config/parse.ts')>(
      new URL('../helpers/parse-entry.ts', import.meta.url),
      ['SYS', 'AUTH', 'TLS', 'WS', 'BRIDGE', 'SN', 'PERSIST'],
      dir,
    );
    expect(() => noGpio.parseConfigText('\n\ngpio 17 out', 'g.conf')).toThrow(
      `g.conf:3: option 'gpio' needs feature GPIO, which is not built into this bundle; ` +
        `build profile 'gateway' or 'full' (npm run build -- --profile gateway)`,
    );
  });
});
