// Parses one `gpio` line (docs/gpio.md): `gpio PIN in|out topic=TOPIC [key=value ...]`. The keys
// are words of the line, not options, so the minimal build's table of option names stays small.
import { topicNameError } from '../../codec/validate.ts';
import { fail, keyValues, setOption, type OptionSpec, type Where } from '../../config/values.ts';
import type { GpioPinConfig } from '../../config/types.ts';
import piZero from '../../../boards/pi-zero.json' with { type: 'json' };
import piZero2 from '../../../boards/pi-zero-2.json' with { type: 'json' };

export type { GpioFormat, GpioPinConfig } from '../../config/types.ts';

interface BoardGpio {
  sysfsBase: number;
  pins: Record<string, number>;
}
const BOARDS: Record<string, BoardGpio> = { 'pi-zero': piZero.gpio, 'pi-zero-2': piZero2.gpio };
/** The board this bundle was built for (`npm run build -- --board B`), if any. */
declare const MIDGE_BOARD: string | undefined;
/** Its name when its file maps GPIO pins: the default of board=. */
const BUILD_BOARD = typeof MIDGE_BOARD === 'string' && MIDGE_BOARD in BOARDS ? MIDGE_BOARD : undefined;

/** The settings of a gpio line (OptionSpec); topics are checked below. */
const KEYS: Record<string, OptionSpec> = {
  topic: ['topic', 0],
  set_topic: ['setTopic', 0],
  edge: ['edge', ['both', 'rising', 'falling']],
  debounce: ['debounce', 0, 60000],
  active_low: ['activeLow'],
  retain: ['retain'],
  qos: ['qos', 0, 2],
  format: ['format', ['01', 'onoff', 'bool', 'json']],
  initial: ['initial', ['publish']],
  failsafe: ['failsafe', 0, 1],
  board: ['board', 0],
  base: ['base', 0, 65535],
  // Home Assistant discovery (docs/home-assistant.md).
  name: ['title', 0],
  device_class: ['deviceClass', 0],
  icon: ['icon', 0],
};

/** The words of a gpio line; a double-quoted part (name="Hall button") may hold spaces. */
export function gpioWords(w: Where, line: string): string[] {
  if (line.split('"').length % 2 === 0) fail(w, `unbalanced '"' in '${line}'`);
  return (line.match(/(?:[^\s"]+|"[^"]*")+/g) as string[]).map((s) => s.replace(/"/g, ''));
}

/**
 * `args` are the words after `gpio`; `others` are the pins configured so far (a pin or set topic
 * used twice is an error).
 */
export function parseGpio(w: Where, args: string[], others: readonly GpioPinConfig[]): GpioPinConfig {
  if (args.length < 3) fail(w, `option 'gpio' needs PIN in|out topic=TOPIC [key=value ...]`);
  const [pin, direction] = args;
  const bad: (reason: string) => never = (reason) => fail(w, `gpio ${pin}: ${reason}`);
  if (direction !== 'in' && direction !== 'out') bad(`direction must be in or out, got '${direction}'`);
  // Keys of the other direction's pins.
  const [wrongWay, kind] = direction === 'in' ? [['set_topic', 'failsafe'], 'output'] : [['edge', 'debounce'], 'input'];
  const kv: Record<string, unknown> = {};
  for (const [k, v] of keyValues(args.slice(2), Object.keys(KEYS), `gpio ${pin}`, (r) => fail(w, r))) {
    if (wrongWay.includes(k)) bad(`'${k}' applies to ${kind} pins only`);
    setOption(w, `gpio ${k}`, [v], KEYS[k], kv);
    const err = k.endsWith('topic') && topicNameError(v);
    if (err) bad(`${k} '${v}': ${err}`);
    // Home Assistant's switches know two classes; binary sensors many (checked there).
    if (k === 'device_class' && !(direction === 'in' ? /^[a-z0-9_]+$/.test(v) : v === 'switch' || v === 'outlet')) {
      bad(`device_class '${v}' is not a Home Assistant ${direction === 'in' ? 'device class name' : 'switch class (switch or outlet)'}`);
    }
    if (k === 'icon' && !/^[a-z0-9-]+:[a-z0-9-]+$/.test(v)) bad(`icon '${v}' is not an icon name such as mdi:lightbulb`);
  }
  const o = kv as Partial<GpioPinConfig> & { initial?: string; board?: string; base?: number };
  const cfg: GpioPinConfig = {
    name: pin,
    number: pinNumber(pin, o.board ?? BUILD_BOARD, o.base, bad),
    direction,
    topic: o.topic ?? bad('topic=TOPIC is required'),
    edge: o.edge ?? 'both',
    debounce: o.debounce ?? 0,
    activeLow: o.activeLow ?? false,
    retain: o.retain ?? false,
    qos: o.qos ?? 0,
    format: o.format ?? '01',
    publishInitial: o.initial === 'publish',
    title: o.title || undefined,
    deviceClass: o.deviceClass,
    icon: o.icon,
  };
  if (direction === 'out') {
    cfg.setTopic = o.setTopic ?? `${cfg.topic}/set`;
    // The state published on `topic` would set the pin again, forever.
    if (cfg.setTopic === cfg.topic) bad('set_topic must differ from topic');
    if (o.failsafe !== undefined) cfg.failsafe = o.failsafe;
  }
  for (const p of others) {
    if (p.number === cfg.number) bad(`the same line as gpio ${p.name} (number ${p.number})`);
    if (cfg.setTopic && p.setTopic === cfg.setTopic) bad(`set_topic ${cfg.setTopic} is already used by gpio ${p.name}`);
  }
  return cfg;
}

/** PIN → driver number: a board name (GPIO17, PIN11) or line number plus the board's chip base. */
function pinNumber(pin: string, boardName: string | undefined, base: number | undefined, bad: (reason: string) => never): number {
  const board = boardName === undefined ? undefined : BOARDS[boardName];
  const names = Object.keys(BOARDS).join(', ');
  if (boardName !== undefined && !board) bad(`unknown board '${boardName}' (boards with GPIO: ${names})`);
  let line: number | undefined;
  if (/^\d+$/.test(pin)) line = Number(pin);
  else if (board) line = board.pins[pin.toUpperCase()];
  else bad(`a pin name needs board=NAME (${names}); without it, give the sysfs GPIO number`);
  if (line === undefined) bad(`board ${boardName} has no pin '${pin}' (names like GPIO17 or PIN11)`);
  return line + (base ?? board?.sysfsBase ?? 0);
}
