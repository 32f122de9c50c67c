// Parses one `gpio` line (README "GPIO"): `gpio PIN in|out topic=TOPIC [key=value ...]`. The keys
// are words of the line, not options, so the minimal build's table of option names stays small.
import type { QoS } from '../../codec/packets.ts';
import { topicNameError } from '../../codec/validate.ts';
import { keyValues } from '../../config/parse.ts';
import type { Level } from './pin.ts';
import piZero from '../../../boards/pi-zero.json' with { type: 'json' };
import piZero2 from '../../../boards/pi-zero-2.json' with { type: 'json' };

export type GpioFormat = '01' | 'onoff' | 'bool' | 'json';

/** One configured pin. */
export interface GpioPinConfig {
  /** PIN as written, for log lines. */
  name: string;
  /** The number the driver opens: the sysfs GPIO number (board chip base + line, or as written). */
  number: number;
  direction: 'in' | 'out';
  /** Where the (logical) state is published. */
  topic: string;
  /** Outputs: the topic whose messages set the level; default TOPIC/set. */
  setTopic?: string;
  /** Inputs: which changes of the logical value are published; default both. */
  edge: 'both' | 'rising' | 'falling';
  /** Inputs: ms the level must stay put before it counts; default 0. */
  debounce: number;
  /** Logical 1 is the low level; default false. */
  activeLow: boolean;
  retain: boolean; // default false
  qos: QoS; // default 0
  format: GpioFormat; // default 01
  /** Publish the state once at start (initial=publish); default false. */
  publishInitial: boolean;
  /** Outputs: the logical level at start and on shutdown; default none (start at 0, left as is). */
  failsafe?: Level;
}

interface BoardGpio {
  sysfsBase: number;
  pins: Record<string, number>;
}
const BOARDS: Record<string, BoardGpio> = { 'pi-zero': piZero.gpio, 'pi-zero-2': piZero2.gpio };
/** The board this bundle was built for (`npm run build -- --board B`), if any. */
declare const MIDGE_BOARD: string | undefined;
/** Its name when its file maps GPIO pins: the default of board=. */
const BUILD_BOARD = typeof MIDGE_BOARD === 'string' && MIDGE_BOARD in BOARDS ? MIDGE_BOARD : undefined;

const KEYS = ['topic', 'set_topic', 'edge', 'debounce', 'active_low', 'retain', 'qos', 'format', 'initial', 'failsafe', 'board', 'base'];
const FORMATS = ['01', 'onoff', 'bool', 'json'];

/**
 * `args` are the words after `gpio`; `fail` throws the parser's `file:line: reason` error;
 * `others` are the pins configured so far (a pin or set topic used twice is an error).
 */
export function parseGpio(args: string[], fail: (reason: string) => never, others: readonly GpioPinConfig[]): GpioPinConfig {
  if (args.length < 3) fail(`option 'gpio' needs PIN in|out topic=TOPIC [key=value ...]`);
  const [pin, direction] = args;
  if (direction !== 'in' && direction !== 'out') fail(`gpio ${pin}: direction must be in or out, got '${direction}'`);
  const kv = new Map(keyValues(args.slice(2), KEYS, `gpio ${pin}`, fail));
  const bool = (k: string): boolean => {
    const v = kv.get(k);
    if (v === undefined || v === 'false' || v === '0') return false;
    if (v === 'true' || v === '1') return true;
    return fail(`gpio ${pin}: ${k} must be true or false, got '${v}'`);
  };
  const int = (k: string, max: number): number | undefined => {
    const v = kv.get(k);
    if (v === undefined) return undefined;
    if (!/^\d+$/.test(v) || Number(v) > max) fail(`gpio ${pin}: ${k} must be a whole number 0..${max}, got '${v}'`);
    return Number(v);
  };
  const topic = (k: string): string | undefined => {
    const t = kv.get(k);
    if (t === undefined) return undefined;
    const err = topicNameError(t);
    if (err) fail(`gpio ${pin}: ${k} '${t}': ${err}`);
    return t;
  };
  const onlyFor = (keys: string[], dir: string): void => {
    for (const k of keys) if (kv.has(k)) fail(`gpio ${pin}: '${k}' applies to ${dir} pins only`);
  };
  if (direction === 'in') onlyFor(['set_topic', 'failsafe'], 'output');
  else onlyFor(['edge', 'debounce'], 'input');

  const cfg: GpioPinConfig = {
    name: pin,
    number: pinNumber(pin, kv.get('board') ?? BUILD_BOARD, int('base', 65535), fail),
    direction,
    topic: topic('topic') ?? fail(`gpio ${pin}: topic=TOPIC is required`),
    edge: 'both',
    debounce: int('debounce', 60000) ?? 0,
    activeLow: bool('active_low'),
    retain: bool('retain'),
    qos: (int('qos', 2) ?? 0) as QoS,
    format: '01',
    publishInitial: false,
  };
  const edge = kv.get('edge');
  if (edge !== undefined) {
    if (edge !== 'both' && edge !== 'rising' && edge !== 'falling') fail(`gpio ${pin}: edge must be both, rising or falling, got '${edge}'`);
    cfg.edge = edge;
  }
  const format = kv.get('format');
  if (format !== undefined) {
    if (!FORMATS.includes(format)) fail(`gpio ${pin}: format must be one of ${FORMATS.join(', ')}, got '${format}'`);
    cfg.format = format as GpioFormat;
  }
  const initial = kv.get('initial');
  if (initial !== undefined && initial !== 'publish') fail(`gpio ${pin}: initial must be 'publish', got '${initial}'`);
  cfg.publishInitial = initial === 'publish';
  if (direction === 'out') {
    cfg.setTopic = topic('set_topic') ?? `${cfg.topic}/set`;
    // The state published on `topic` would set the pin again, forever.
    if (cfg.setTopic === cfg.topic) fail(`gpio ${pin}: set_topic must differ from topic`);
    const fs = int('failsafe', 1);
    if (fs !== undefined) cfg.failsafe = fs as Level;
  }
  for (const o of others) {
    if (o.number === cfg.number) fail(`gpio ${pin}: the same line as gpio ${o.name} (number ${o.number})`);
    if (cfg.setTopic && o.setTopic === cfg.setTopic) fail(`gpio ${pin}: set_topic ${cfg.setTopic} is already used by gpio ${o.name}`);
  }
  return cfg;
}

/** PIN → driver number: a board name (GPIO17, PIN11) or line number plus the board's chip base. */
function pinNumber(pin: string, boardName: string | undefined, base: number | undefined, fail: (reason: string) => never): number {
  const board = boardName === undefined ? undefined : BOARDS[boardName];
  if (boardName !== undefined && !board) fail(`gpio ${pin}: unknown board '${boardName}' (boards with GPIO: ${Object.keys(BOARDS).join(', ')})`);
  let line: number | undefined;
  if (/^\d+$/.test(pin)) line = Number(pin);
  else if (board) line = board.pins[pin.toUpperCase()];
  else fail(`gpio ${pin}: a pin name needs board=NAME (${Object.keys(BOARDS).join(', ')}); without it, give the sysfs GPIO number`);
  if (line === undefined) fail(`gpio ${pin}: board ${boardName} has no pin '${pin}' (names like GPIO17 or PIN11)`);
  return line + (base ?? board?.sysfsBase ?? 0);
}
