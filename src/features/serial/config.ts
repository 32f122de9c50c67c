// Parsing of `serial NAME DEVICE [key=value]...` lines (feature SERIAL) into SerialLinkConfig.
// One option name with key=value words keeps the option table of the minimal build small; the
// words are read here, compiled out without SERIAL.
import { topicFilterError, topicNameError } from '../../codec/validate.ts';
import { fail, keyValues, setOption, type OptionSpec, type Where } from '../../config/values.ts';
import { featureMissingMessage } from '../../config/features.ts';
import type { SerialLinkConfig } from '../../config/types.ts';
import { parseSensor } from '../ha/config.ts';

/** The one-word settings (OptionSpec); prefix and subscribe are checked below. */
const KEYS: Record<string, OptionSpec> = {
  baud: ['baud', 50, 4_000_000],
  framing: ['framing', ['mqttsn-slip', 'mqttsn', 'line']],
  prefix: ['prefix', 0],
  qos: ['qos', 0, 2],
  retain: ['retain'],
  maxline: ['maxLine', 16, 65536],
};

export function parseSerialLink(w: Where, args: string[], existing: SerialLinkConfig[]): SerialLinkConfig {
  if (args.length < 2) fail(w, `option 'serial' needs a name and a device (serial NAME DEVICE [key=value]...)`);
  const [name, device] = args;
  if (!/^[A-Za-z0-9_.-]+$/.test(name)) fail(w, `serial link name '${name}' may hold only letters, digits, '_', '.' and '-'`);
  if (existing.some((s) => s.name === name)) fail(w, `duplicate serial link '${name}'`);
  if (device !== 'auto' && !device.startsWith('/') && !/^auto:[0-9a-fA-F]{4}:[0-9a-fA-F]{4}$/.test(device)) {
    fail(w, `serial device '${device}' is not a path, 'auto' or 'auto:VID:PID' (USB ids, 4 hex digits each)`);
  }
  const link: SerialLinkConfig = {
    name, device: device.startsWith('/') ? device : device.toLowerCase(),
    baud: 115200, framing: 'mqttsn-slip', prefix: '', qos: 0, retain: false, subscribe: [], maxLine: 1024,
  };
  // sensor=: Home Assistant discovery (docs/home-assistant.md), read once the prefix is known.
  const keys = [...Object.keys(KEYS), 'subscribe', 'sensor'];
  const kv = keyValues(args.slice(2), keys, `serial link '${name}'`, (r) => fail(w, r), ['subscribe', 'sensor']);
  const sensors: string[] = [];
  for (const [key, v] of kv) {
    if (key === 'sensor') sensors.push(v);
    else if (key === 'subscribe') {
      const err = topicFilterError(v);
      if (err) fail(w, `serial link '${name}': subscribe '${v}': ${err}`);
      link.subscribe.push(v);
    } else {
      if (key === 'prefix' && /[+#]/.test(v)) fail(w, `serial link '${name}': prefix '${v}' holds a wildcard`);
      setOption(w, `serial ${key}`, [v], KEYS[key], link);
    }
  }
  const seen = new Set(kv.map(([k]) => k));
  if (link.framing !== 'line') {
    if (!SN) fail(w, featureMissingMessage(`serial framing '${link.framing}'`, 'SN'));
    // Every key after baud and framing is line mode's.
    for (const k of keys.slice(2)) {
      if (seen.has(k)) fail(w, `serial link '${name}': '${k}' applies to framing=line only`);
    }
  } else if (link.prefix && topicNameError(`${link.prefix}x`)) {
    fail(w, `serial link '${name}': prefix '${link.prefix}' does not make valid topic names`);
  }
  if (sensors.length) {
    link.sensors = [];
    for (const v of sensors) link.sensors.push(parseSensor(v, link.prefix, link.sensors, (r) => fail(w, `serial link '${name}': ${r}`)));
  }
  return link;
}
