// Parsing of Mosquitto's bridge options (`connection NAME` and the options of its block) into a
// typed BridgeConfig. Called by src/config/parse.ts for every option features.ts gives to BRIDGE.
import { topicFilterError, topicNameError } from '../../codec/validate.ts';
import { FEATURES } from '../../config/features.ts';
import { byName, countArgs, fail, parseBool, parseInteger, setOption, single, specOf, type OptionSpec, type Where } from '../../config/values.ts';
import { hexKey } from '../tls/psk.ts';
import type { BridgeConfig, BridgeTopic } from '../../config/types.ts';
import type { QoS } from '../../codec/packets.ts';

const NAMES = FEATURES.BRIDGE.options;
/** remote_clientid remote_username remote_password, then their older names clientid username password. */
const REMOTE: OptionSpec[] = [['remoteClientId', 0], ['remoteUsername', 0], ['remotePassword', 0]];
/** The block's one-word options: the first 31 of FEATURES.BRIDGE.options, in order. */
const SCALARS = byName<OptionSpec>(NAMES, [
  ['roundRobin'], // round_robin
  ['cleanSession'], // cleansession
  ['localCleanSession'], // local_cleansession
  ['localClientId', 0], // local_clientid
  ['keepalive', 0, 65535], // keepalive_interval
  ['tryPrivate'], // try_private
  ['notifications'], // notifications
  ['notificationsLocalOnly'], // notifications_local_only
  ['startType', ['automatic', 'lazy', 'once']], // start_type
  ['threshold', 1, 2147483647], // threshold
  ['idleTimeout', 1, 2147483647], // idle_timeout
  ['cafile', 0], // bridge_cafile
  ['certfile', 0], // bridge_certfile
  ['keyfile', 0], // bridge_keyfile
  ['insecure'], // bridge_insecure
  ['tlsVersion', ['tlsv1.3', 'tlsv1.2', 'tlsv1.1']], // bridge_tls_version
  ['alpn', 0], // bridge_alpn
  ['bindAddress', 0], // bridge_bind_address
  ['attemptUnsubscribe'], // bridge_attempt_unsubscribe
  ['maxPacketSize', 0, 268435460], // bridge_max_packet_size
  ['outgoingRetain'], // bridge_outgoing_retain
  ...REMOTE,
  ...REMOTE,
  ['capath', 0], // bridge_capath
  ['receiveMaximum', 1, 65535], // bridge_receive_maximum
  ['pskIdentity', 0], // bridge_identity
  ['psk', 0], // bridge_psk
]);
/** The last two, read in bridgeOption(). */
const [OCSP, EXPIRY] = NAMES.slice(-2);

export function newBridge(w: Where, args: string[], existing: BridgeConfig[]): BridgeConfig {
  const name = single(w, 'connection', args, 'a name');
  if (existing.some((b) => b.name === name)) fail(w, `duplicate bridge connection '${name}'`);
  return {
    name, file: w.file, line: w.line, addresses: [], roundRobin: false, topics: [], protocolLevel: 4,
    cleanSession: false, keepalive: 60, restartBase: 5, restartCap: 30, tryPrivate: true,
    notifications: true, notificationsLocalOnly: false, startType: 'automatic', threshold: 10,
    idleTimeout: 60, insecure: false, maxPacketSize: 0, outgoingRetain: true, attemptUnsubscribe: true,
  };
}

/** `""` in a topic line stands for an empty string, as in Mosquitto. */
const word = (s: string | undefined): string => (s === undefined || s === '""' ? '' : s);

function parseAddress(w: Where, s: string): { host: string; port: number } {
  // host, host:port, [v6]:port or a bare IPv6 address.
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(s) ?? /^([^:]+)(?::(\d+))?$/.exec(s);
  const host = m ? m[1] : s;
  const port = m && m[2] !== undefined ? Number(m[2]) : 1883;
  if (!host || port < 1 || port > 65535) fail(w, `invalid bridge address '${s}' (expected host[:port])`);
  return { host, port };
}

function parseTopic(w: Where, args: string[]): BridgeTopic {
  countArgs(w, 'topic', args, 1, 5, 'a pattern');
  const direction = args[1] ?? 'out';
  if (direction !== 'in' && direction !== 'out' && direction !== 'both') {
    fail(w, `bridge topic direction must be in, out or both, got '${direction}'`);
  }
  const qos = (args[2] === undefined ? 0 : parseInteger(w, 'topic', args[2], 0, 2)) as QoS;
  const t: BridgeTopic = { pattern: word(args[0]), direction, qos, localPrefix: word(args[3]), remotePrefix: word(args[4]) };
  for (const prefix of [t.localPrefix, t.remotePrefix]) {
    if (prefix && topicNameError(prefix)) fail(w, `bridge topic prefix '${prefix}' must not contain wildcards`);
  }
  for (const filter of [t.localPrefix + t.pattern, t.remotePrefix + t.pattern]) {
    if (topicFilterError(filter)) {
      fail(w, filter ? `invalid bridge topic '${filter}'` : `bridge topic "" needs a local and a remote prefix`);
    }
  }
  return t;
}

/** Applies one option of a bridge block; `bridge` is the current block, if any. */
export function bridgeOption(w: Where, option: string, args: string[], bridge: BridgeConfig | undefined): void {
  if (!bridge) fail(w, `option '${option}' must follow a 'connection' line (it belongs to a bridge)`);
  const b = bridge;
  const spec = specOf(SCALARS, option);
  if (spec) return setOption(w, option, args, spec, b);
  switch (option) {
    case 'address':
    case 'addresses':
      countArgs(w, option, args, 1, Infinity, 'an address');
      b.addresses.push(...args.map((a) => parseAddress(w, a)));
      return;
    case 'topic': b.topics.push(parseTopic(w, args)); return;
    // The bridge's local session is inside the broker and needs no credentials.
    case 'local_username': case 'local_password': single(w, option, args); return;
    case 'bridge_protocol_version': {
      const v = single(w, option, args);
      if (v === 'mqttv31') b.protocolLevel = 3;
      else if (v === 'mqttv311') b.protocolLevel = 4;
      else if (v === 'mqttv50') b.protocolLevel = MQTT5 ? 5 : fail(w, `bridge_protocol_version mqttv50 needs a build with MQTT5 (use mqttv311)`);
      else fail(w, `bridge_protocol_version must be mqttv31, mqttv311 or mqttv50, got '${v}'`);
      return;
    }
    case 'restart_timeout': {
      countArgs(w, option, args, 1, 2);
      b.restartBase = parseInteger(w, option, args[0], 1, 86400);
      b.restartCap = args[1] === undefined ? b.restartBase : parseInteger(w, option, args[1], b.restartBase, 86400);
      return;
    }
    case 'notification_topic': {
      const t = single(w, option, args);
      if (topicNameError(t)) fail(w, `invalid notification_topic '${t}'`);
      b.notificationTopic = t;
      return;
    }
    case OCSP:
      // Node can ask for a stapled OCSP response but cannot check one: refused rather than pretended.
      if (parseBool(w, option, single(w, option, args))) {
        fail(w, `bridge_require_ocsp true is not supported by Midge: Node cannot verify OCSP responses`);
      }
      return;
    case EXPIRY: {
      // Decimal, or 0xFFFFFFFF (never) as Mosquitto's documentation writes it.
      const v = single(w, option, args);
      const n = /^0x[0-9a-f]{1,8}$/i.test(v) ? Number(v) : parseInteger(w, option, v, 0, 4294967295);
      b.sessionExpiry = n;
      return;
    }
    default: fail(w, `unknown bridge option '${option}'`);
  }
}

/** Checks a finished block. */
export function checkBridge(b: BridgeConfig): void {
  const w: Where = { file: b.file, line: b.line, level: 0 };
  if (b.addresses.length === 0) fail(w, `bridge '${b.name}' has no 'address'`);
  if (b.topics.length === 0) fail(w, `bridge '${b.name}' has no 'topic'`);
  if ((b.certfile === undefined) !== (b.keyfile === undefined)) {
    fail(w, `bridge '${b.name}': bridge_certfile and bridge_keyfile go together`);
  }
  if ((b.pskIdentity === undefined) !== (b.psk === undefined)) {
    fail(w, `bridge '${b.name}': bridge_identity and bridge_psk go together`);
  }
  if (b.psk !== undefined) {
    // As Mosquitto: certificates or a pre-shared key, not both.
    if (b.cafile || b.capath || b.certfile) fail(w, `bridge '${b.name}' cannot use both certificate and psk encryption`);
    if (!hexKey(b.psk)) fail(w, `bridge '${b.name}': bridge_psk must be hexadecimal (no 0x), got '${b.psk}'`);
  }
}
