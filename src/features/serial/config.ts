// Parsing of `serial NAME DEVICE [key=value]...` lines (feature SERIAL) into SerialLinkConfig.
// One option name with key=value words keeps the option table of the minimal build small; the
// words are read here, compiled out without SERIAL.
import type { QoS } from '../../codec/packets.ts';
import { topicFilterError, topicNameError } from '../../codec/validate.ts';
import { fail, parseBool, parseInteger, type Where } from '../../config/parse.ts';
import { featureMissingMessage } from '../../config/features.ts';
import type { SerialLinkConfig } from '../../config/types.ts';

const FRAMINGS = ['mqttsn-slip', 'mqttsn', 'line'] as const;

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
  const seen = new Set<string>();
  for (const word of args.slice(2)) {
    const eq = word.indexOf('=');
    if (eq <= 0) fail(w, `serial link '${name}': expected key=value, got '${word}'`);
    const key = word.slice(0, eq);
    const v = word.slice(eq + 1);
    if (key !== 'subscribe' && seen.has(key)) fail(w, `serial link '${name}': '${key}' given twice`);
    seen.add(key);
    switch (key) {
      case 'baud':
        link.baud = parseInteger(w, 'serial baud', v, 50, 4_000_000);
        break;
      case 'framing':
        if (!(FRAMINGS as readonly string[]).includes(v)) fail(w, `serial link '${name}': unknown framing '${v}' (expected ${FRAMINGS.join(', ')})`);
        link.framing = v as SerialLinkConfig['framing'];
        break;
      case 'prefix':
        if (/[+#]/.test(v)) fail(w, `serial link '${name}': prefix '${v}' holds a wildcard`);
        link.prefix = v;
        break;
      case 'qos':
        link.qos = parseInteger(w, 'serial qos', v, 0, 2) as QoS;
        break;
      case 'retain':
        link.retain = parseBool(w, 'serial retain', v);
        break;
      case 'subscribe': {
        const err = topicFilterError(v);
        if (err) fail(w, `serial link '${name}': subscribe '${v}': ${err}`);
        link.subscribe.push(v);
        break;
      }
      case 'maxline':
        link.maxLine = parseInteger(w, 'serial maxline', v, 16, 65536);
        break;
      default:
        fail(w, `serial link '${name}': unknown key '${key}' (expected baud, framing, prefix, qos, retain, subscribe, maxline)`);
    }
  }
  if (link.framing !== 'line') {
    if (!SN) fail(w, featureMissingMessage(`serial framing '${link.framing}'`, 'SN'));
    for (const k of ['prefix', 'qos', 'retain', 'subscribe', 'maxline']) {
      if (seen.has(k)) fail(w, `serial link '${name}': '${k}' applies to framing=line only`);
    }
  } else if (link.prefix && topicNameError(`${link.prefix}x`)) {
    fail(w, `serial link '${name}': prefix '${link.prefix}' does not make valid topic names`);
  }
  return link;
}
