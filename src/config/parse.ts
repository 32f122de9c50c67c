// mosquitto.conf-compatible configuration parser: a config file (and the files of its
// include_dir lines) into a BrokerConfig (types.ts). Options: docs/configuration.md (every
// option, its default and the feature flag it needs; keep it in step with this file).
//
// Notes on the code:
// - The format is Mosquitto's, on purpose: users bring their Mosquitto files. Any error throws a
//   ConfigError (values.ts) whose message is `file:line: reason`, which stops start-up.
// - Listener scope (as Mosquitto 2.0): listenerSetting() applies a listener option to the current
//   `listener` block or records it in the default listener's scope (DefaultScope); finish() makes
//   that scope the default listener (`port`/`bind_address`), the local-only listeners, or an error.
// - Core options are read here (one-word ones through SCALARS). An option of a feature goes by
//   features.ts: not built into the bundle, featureMissingMessage() names the profiles that have
//   it; built, the feature's parser in src/features/FEATURE/config.ts reads it, reached through
//   registry.ts (the config imports no feature) behind its flag, so that a build without the
//   feature drops the parser. A built feature's option that no parser takes is refused at its line.
// - MQTT5 has no entry in features.ts: max_topic_alias takes effect only in MQTT5 builds.
// - Every core option of Mosquitto 2.0 is read here; an unknown name is an error ('unknown
//   option'), as in Mosquitto.
import { existsSync } from 'node:fs';
import { includeDir, readText } from './files.ts';
import { baseValues, cloneConfig, DEFAULT_PORT, loopbackListeners, newListener, type ListenerScope } from './defaults.ts';
import { contentLines } from './lines.ts';
import {
  countArgs, fail, parseBool, parseInteger, pathValue, restOfLine, setOption, single, specOf, type OptionSpec, type Where,
} from './values.ts';
import { featureBuilt, featureMissingMessage, optionOwner } from './features.ts';
import type { BridgeConfig, BrokerConfig, ListenerConfig } from './types.ts';
import { parsers as P } from './registry.ts';
import { log } from '../util/log.ts';

const LOG_TYPES = ['error', 'warning', 'notice', 'information', 'debug', 'subscribe', 'unsubscribe'];
const MAX_PAYLOAD = 268435455;
const MAX_INT = 2147483647;

/** Where an option was set, for errors found later. */
type OptionAt = Where & { option: string };

/** The default listener's scope, and where its first setting that differs from a new listener's was made. */
interface DefaultScope extends ListenerScope {
  where?: OptionAt;
}

interface State {
  /** Working config; `listeners` holds only the `listener` blocks until finish(). */
  cfg: BrokerConfig;
  /** The current listener block; undefined = the default listener's scope. */
  current?: ListenerConfig;
  defPort?: number;
  defHost?: string;
  def: DefaultScope;
  allowAnonymousSet: boolean;
  /** Where each `sn` and `tls` settings object got its first option, for errors found once the file is read. */
  firstAt: Map<unknown, Where>;
  /** AUTH: the first security option in the default listener's scope (per_listener_settings). */
  authWhere?: OptionAt;
  /** The current `connection` block (BRIDGE). */
  bridge?: BridgeConfig;
}

function initState(base?: BrokerConfig): State {
  const cfg = base ? cloneConfig(base) : baseValues();
  const synthetic = base !== undefined && (base.defaults || base.localOnly === true);
  // Loopback listeners of a base config were made because nothing defined a listener: drop them
  // and decide again once this text is read.
  if (synthetic) cfg.listeners = [];
  cfg.defaults = false;
  cfg.localOnly = false;
  return {
    cfg,
    def: {},
    allowAnonymousSet: base !== undefined && !synthetic,
    firstAt: new Map(),
  };
}

function parsePort(w: Where, name: string, s: string): number {
  if (!/^\d+$/.test(s) || Number(s) > 65535) {
    fail(w, `invalid port '${s}' for option '${name}' (allowed 1..65535, or 0 for an ephemeral port)`);
  }
  return Number(s);
}

/** Core one-word options, read straight into the config. */
const SCALARS: Record<string, OptionSpec> = {
  max_inflight_messages: ['maxInflightMessages', 0, 65535],
  max_queued_bytes: ['maxQueuedBytes', 0, MAX_INT],
  max_inflight_bytes: ['maxInflightBytes', 0, MAX_INT],
  queue_qos0_messages: ['queueQos0Messages'],
  upgrade_outgoing_qos: ['upgradeOutgoingQos'],
  check_retain_source: ['checkRetainSource'],
  memory_limit: ['memoryLimit', 0, 1e15],
  subscriber_stall_timeout: ['subscriberStallTimeout', 0, 65535],
  message_size_limit: ['messageSizeLimit', 0, MAX_PAYLOAD],
  max_keepalive: ['maxKeepalive', 0, 65535],
  retain_available: ['retainAvailable'],
  sys_interval: ['sysInterval', 0, 65535],
  connection_messages: ['connectionMessages'],
  log_timestamp: ['logTimestamp'],
  set_tcp_nodelay: ['setTcpNodelay'],
  log_facility: ['logFacility', 0, 7],
  global_max_clients: ['globalMaxClients', -1, MAX_INT],
  global_max_connections: ['globalMaxConnections', -1, MAX_INT],
  user: ['user', 0],
  clientid_prefixes: ['clientidPrefixes', 0],
};

/** Core listener options, read into the listener (or the default listener's scope). */
const LISTENER_SCALARS: Record<string, OptionSpec> = {
  use_username_as_clientid: ['usernameAsId'],
  socket_domain: ['domain', ['ipv4', 'ipv6']],
  bind_interface: ['iface', 0],
  allow_zero_length_clientid: ['zeroLength'],
  auto_id_prefix: ['idPrefix', 0],
};
/** These are global too: per listener only with per_listener_settings (AUTH; finish() decides). */
const GLOBAL_TOO = 'allow_zero_length_clientid auto_id_prefix';

const DURATION_UNITS: Record<string, number> = { h: 3600, d: 86400, w: 86400 * 7, m: 86400 * 30, y: 86400 * 365 };

function parseDuration(w: Where, name: string, s: string): number {
  const m = /^(\d+)([hdwmy])$/.exec(s);
  const n = m ? Number(m[1]) * DURATION_UNITS[m[2]] : 0;
  if (!m || n <= 0) {
    fail(w, `invalid ${name} '${s}' (expected a positive number followed by h, d, w, m or y, e.g. 2d)`);
  }
  return n;
}

// ---- the parser ----

/** Records a listener-scope setting: on the current listener, or in the default listener's scope. */
function listenerSetting(
  st: State,
  w: Where,
  name: string,
  apply: (target: ListenerConfig | DefaultScope) => void,
  nonDefault: boolean,
): void {
  if (st.current) {
    apply(st.current);
  } else {
    apply(st.def);
    if (nonDefault && !st.def.where) st.def.where = { ...w, option: name };
  }
}

/** A feature's listener option: `one` merged into the listener's `key` settings, made by `make` at the first. */
function inListener(st: State, w: Where, name: string, key: 'sn' | 'tls', one: object, make: () => object): void {
  listenerSetting(st, w, name, (t) => {
    const s = ((t as Partial<Record<typeof key, object>>)[key] ??= make());
    if (!st.firstAt.has(s)) st.firstAt.set(s, w);
    Object.assign(s, one);
  }, true);
}

/** Where a listener's `key` settings were first set (the default scope's, for a listener made from it). */
const whereOf = (st: State, l: ListenerConfig, key: 'sn' | 'tls'): Where | undefined =>
  st.firstAt.get(l[key]) ?? st.firstAt.get(st.def[key]);

/**
 * AUTH: records a security option for its listener too, in case per_listener_settings is true
 * (decided in finish(), since Mosquitto lets that option come anywhere in the file).
 */
function authSetting(st: State, w: Where, name: string, apply: (t: ListenerConfig | DefaultScope) => void): void {
  listenerSetting(st, w, name, apply, false);
  if (!st.current) st.authWhere ??= { ...w, option: name };
}

function parseLine(st: State, line: string, w: Where): void {
  const args = line.split(/\s+/);
  const name = args.shift() as string;
  const cfg = st.cfg;
  // Per listener as in Mosquitto; without MQTT5 (no topic aliases) checked and without effect.
  if (name === 'max_topic_alias') {
    const n = parseInteger(w, name, single(w, name, args), 0, 65535);
    if (MQTT5) listenerSetting(st, w, name, (t) => { t.maxTopicAlias = n; }, n !== 10);
    return;
  }
  const spec = specOf(SCALARS, name);
  if (spec) return setOption(w, name, args, spec, cfg);
  const ls = specOf(LISTENER_SCALARS, name);
  if (ls) {
    const one = {};
    setOption(w, name, args, ls, one);
    const global = GLOBAL_TOO.includes(name);
    if (global) Object.assign(cfg, one);
    return listenerSetting(st, w, name, (t) => Object.assign(t, one), !global);
  }
  switch (name) {
    case 'listener': {
      countArgs(w, name, args, 1, 2, 'a port');
      const port = parsePort(w, name, args[0]);
      const host = args[1];
      if (host !== undefined && host.startsWith('/')) {
        fail(w, `unix socket listeners ('listener ${args[0]} ${host}') are not supported by Midge`);
      }
      const l = newListener(port, host);
      cfg.listeners.push(l);
      st.current = l;
      if (BRIDGE) st.bridge = undefined;
      return;
    }
    case 'port':
      st.defPort = parsePort(w, name, single(w, name, args));
      return;
    case 'bind_address': {
      const host = single(w, name, args);
      if (st.defHost !== undefined) fail(w, `duplicate bind_address (the default listener already binds ${st.defHost})`);
      st.defHost = host;
      return;
    }
    case 'protocol': {
      const v = single(w, name, args);
      // The listener protocols of optional features, and the feature each needs.
      const f = (['WS', 'SN', 'HTTP'] as const)[['websockets', 'mqttsn', 'http'].indexOf(v)];
      if (f ? !featureBuilt(f) : v !== 'mqtt') {
        fail(w, f ? featureMissingMessage(`protocol '${v}'`, f) : `unknown protocol '${v}' (expected mqtt, websockets, mqttsn or http)`);
      }
      listenerSetting(st, w, name, (t) => { t.protocol = v; }, v !== 'mqtt');
      return;
    }
    case 'max_connections': {
      const n = parseInteger(w, name, single(w, name, args), -1, MAX_INT);
      listenerSetting(st, w, name, (t) => { t.maxConnections = n; }, n !== -1);
      return;
    }
    case 'max_qos':
    case 'maximum_qos': {
      // Per listener (Mosquitto 2.0 takes maximum_qos as another name for it).
      const n = parseInteger(w, name, single(w, name, args), 0, 2);
      listenerSetting(st, w, name, (t) => { t.maxQos = n; }, n !== 2);
      return;
    }
    case 'mount_point': {
      const v = single(w, name, args);
      if (!st.current) fail(w, `option 'mount_point' needs a 'listener' line before it`);
      if (/[+#]/.test(v)) fail(w, `invalid mount_point '${v}'`);
      st.current.mountPoint = v;
      return;
    }
    case 'retry_interval':
    case 'allow_duplicate_messages':
      // Gone or deprecated in Mosquitto 2.0, with a warning there too: QoS 1/2 messages are resent
      // on reconnect only, and a client gets one copy of a message its subscriptions overlap on.
      if (name[0] === 'a') parseBool(w, name, single(w, name, args));
      log.warning(`${w.file}:${w.line}: ${name} is deprecated; ignored.`);
      return;
    case 'allow_anonymous': {
      const v = parseBool(w, name, single(w, name, args));
      cfg.allowAnonymous = v;
      st.allowAnonymousSet = true;
      if (AUTH) authSetting(st, w, name, (t) => { t.allowAnonymous = v; });
      return;
    }
    case 'max_queued_messages':
      // Inside a bridge block: that bridge's queue.
      if (BRIDGE && st.bridge) st.bridge.maxQueued = parseInteger(w, name, single(w, name, args), 0, MAX_INT);
      else cfg.maxQueuedMessages = parseInteger(w, name, single(w, name, args), 0, MAX_INT);
      return;
    case 'max_packet_size': {
      const n = parseInteger(w, name, single(w, name, args), 0, MAX_PAYLOAD + 5);
      // Mosquitto forbids tiny limits: they would cut off a CONNECT.
      if (n > 0 && n < 20) fail(w, `option 'max_packet_size' must be 0 (no limit) or at least 20, got ${n}`);
      cfg.maxPacketSize = n;
      return;
    }
    case 'log_type': {
      const v = single(w, name, args);
      // The first log_type replaces the default set.
      const types = cfg.logTypes ?? new Set<string>();
      if (v === 'none') types.clear();
      else if (v === 'all') allLogTypes().forEach((t) => types.add(t));
      else if (LOG_TYPES.includes(v)) types.add(v);
      else if (v === 'websockets') {
        if (!WS) fail(w, featureMissingMessage(`log_type 'websockets'`, 'WS'));
        types.add(v);
      } else {
        fail(w, `unknown log_type '${v}' (expected ${LOG_TYPES.join(', ')}, all or none)`);
      }
      cfg.logTypes = types;
      return;
    }
    case 'log_timestamp_format':
      cfg.logTimestampFormat = pathValue(w, name, line, 'a format');
      return;
    case 'accept_protocol_versions': {
      // Mosquitto 2.1: a comma-separated list of protocol levels, e.g. `3,4,5`.
      const v = pathValue(w, name, line).split(/\s*,\s*/).map(Number);
      if (!v.every((n) => n > 2 && n < 6)) fail(w, `option '${name}' takes 3, 4 or 5, comma-separated`);
      return listenerSetting(st, w, name, (t) => { t.versions = v; }, true);
    }
    case 'pid_file': {
      // The rest of the line: a path may hold spaces. Written at start-up, removed at exit (main.ts).
      const path = restOfLine(line, 1);
      if (!path) fail(w, `option 'pid_file' needs a path`);
      cfg.pidFile = path;
      return;
    }
    case 'log_dest': {
      countArgs(w, name, args, 1, Infinity);
      const kind = args[0];
      if (kind === 'stdout' || kind === 'stderr' || kind === 'syslog') {
        countArgs(w, `${name} ${kind}`, args.slice(1), 0, 0);
        // Node cannot write to /dev/log: syslog lines go through the system `logger` command (log.ts).
        if (kind === 'syslog' && !(process.env.PATH ?? '').split(':').some((d) => d && existsSync(`${d}/logger`))) {
          fail(w, `log_dest syslog needs the 'logger' command, not found on PATH`);
        }
        if (!cfg.logDest.some((d) => d.kind === kind)) cfg.logDest.push({ kind });
      } else if (kind === 'file') {
        const path = restOfLine(line, 2);
        if (!path) fail(w, `option 'log_dest file' needs a path`);
        if (cfg.logDest.some((d) => d.kind === 'file')) fail(w, `duplicate 'log_dest file' (one log file only, as in Mosquitto)`);
        cfg.logDest.push({ kind: 'file', path });
      } else if (kind === 'none') {
        countArgs(w, `${name} ${kind}`, args.slice(1), 0, 0);
        cfg.logDest = [];
        cfg.logDestNone = true; // until a destination follows: decided in finish()
      } else if (kind === 'topic' || kind === 'dlt') {
        fail(w, `log_dest ${kind} is not supported by Midge (use stdout, stderr, syslog, file PATH or none)`);
      } else {
        fail(w, `unknown log_dest '${kind}' (expected stdout, stderr, syslog, file PATH or none)`);
      }
      return;
    }
    case 'persistent_client_expiration':
      cfg.persistentClientExpiration = parseDuration(w, name, single(w, name, args));
      return;
    case 'include_dir':
      return includeDir(w, restOfLine(line, 1), (text, f) => {
        // Each file starts in the default listener's scope (as in Mosquitto); ours resumes afterwards.
        const saved = st.current;
        parseLines(st, text, f, w.level + 1);
        st.current = saved;
      });
    default:
      break;
  }
  // Home Assistant discovery: GPIO's in features.ts, read with GPIO or SERIAL.
  if ((GPIO || SERIAL) && name.startsWith('ha_')) return P.haOption(w, name, args, cfg);
  // Options of features: features.ts says whose, and each feature's parser reads its own.
  const owner = optionOwner(name);
  if (!owner) return fail(w, `unknown option '${name}'`);
  const f = owner.feature;
  if (!featureBuilt(f)) fail(w, featureMissingMessage(`option '${name}'`, f));
  if (PERSIST && f === 'PERSIST') return P.persistOption(w, name, args, line, cfg);
  // Mosquitto's C plugins (plugin, auth_plugin, global_plugin and their *_opt_* options).
  if (AUTH && f === 'AUTH' && (name.includes('plugin') || name.includes('_opt_'))) {
    fail(w, `option '${name}' loads a C plugin, which Midge cannot; use password_file, acl_file or scram_credentials_file (docs/security.md)`);
  }
  if (AUTH && f === 'AUTH' && P.authOption(w, name, args, line, cfg, (apply) => authSetting(st, w, name, apply))) return;
  if (TLS && f === 'TLS') {
    if (owner.listener) return inListener(st, w, name, 'tls', P.tlsOption(w, name, args, line), () => ({}));
    return P.pskFileOption(w, line, cfg, (apply) => authSetting(st, w, name, apply));
  }
  if (WS && f === 'WS') return P.wsOption(w, name, args, line, cfg, (apply) => listenerSetting(st, w, name, apply, true));
  if (SN && f === 'SN') return inListener(st, w, name, 'sn', P.snOption(w, name, args, line), P.snDefaults);
  // Lists are copied on write: a base config passed to parseConfigText keeps its own.
  if (SERIAL && f === 'SERIAL') return void (cfg.serial = [...(cfg.serial ?? []), P.parseSerialLink(w, args, cfg.serial ?? [])]);
  if (GPIO && f === 'GPIO') return void (cfg.gpio = [...(cfg.gpio ?? []), P.parseGpio(w, P.gpioWords(w, line).slice(1), cfg.gpio ?? [])]);
  countArgs(w, name, args, 1, Infinity);
  if (BRIDGE && f === 'BRIDGE') {
    if (name === 'connection') cfg.bridges = [...(cfg.bridges ?? []), (st.bridge = P.newBridge(w, args, cfg.bridges ?? []))];
    else P.bridgeOption(w, name, args, st.bridge);
    return;
  }
  // An option features.ts gives a built feature whose parser does not take it: refused, never ignored.
  fail(w, `option '${name}' (feature ${f}) is not implemented in this version of Midge`);
}

/** Every log type (what `log_type all` and `-v` select). */
export function allLogTypes(): string[] {
  return WS ? [...LOG_TYPES, 'websockets'] : [...LOG_TYPES];
}

function parseLines(st: State, text: string, file: string, level: number): void {
  st.cfg.files.push(file);
  st.current = undefined;
  for (const [n, line] of contentLines(text)) parseLine(st, line, { file, line: n, level });
}

function finish(st: State): BrokerConfig {
  const cfg = st.cfg;
  if (st.defPort !== undefined || st.defHost !== undefined) {
    // Like Mosquitto, the default listener comes after the `listener` blocks.
    cfg.listeners.push(newListener(st.defPort ?? DEFAULT_PORT, st.defHost, st.def));
  } else if (cfg.listeners.length === 0) {
    cfg.listeners = loopbackListeners(DEFAULT_PORT, st.def);
    cfg.localOnly = true;
  } else if (st.def.where) {
    noDefaultListener(st.def.where);
  }
  if (SN) P.checkSn(cfg.listeners, (l) => whereOf(st, l, 'sn'));
  if (TLS) for (const l of cfg.listeners) P.checkTls(l, whereOf(st, l, 'tls') ?? { file: cfg.files[0] ?? 'config', line: 0, level: 0 }, cfg);
  if (BRIDGE) cfg.bridges?.forEach(P.checkBridge);
  if (!st.allowAnonymousSet) cfg.allowAnonymous = cfg.localOnly === true;
  if (AUTH) {
    const hasDefault = st.defPort !== undefined || st.defHost !== undefined || cfg.localOnly === true;
    if (cfg.perListenerSettings && st.authWhere && !hasDefault) noDefaultListener(st.authWhere, 'with per_listener_settings true, ');
    P.finishAuth(cfg);
  }
  // Without per_listener_settings, allow_zero_length_clientid and auto_id_prefix are global.
  if (!(AUTH && cfg.perListenerSettings)) {
    for (const l of cfg.listeners) {
      l.zeroLength = cfg.zeroLength;
      l.idPrefix = cfg.idPrefix;
    }
  }
  cfg.logDestNone = cfg.logDestNone === true && cfg.logDest.length === 0;
  if (cfg.logDestNone) cfg.logTypes = new Set();
  return cfg;
}

/** An option in the default listener's scope while no `port` or `bind_address` defines that listener. */
function noDefaultListener(w: OptionAt, why = ''): never {
  fail(
    w,
    `${why}option '${w.option}' comes before any 'listener' line, so it belongs to the default listener, ` +
      `but no 'port' or 'bind_address' defines one; move it after a 'listener' line (or add 'port ${DEFAULT_PORT}')`,
  );
}

/**
 * Parses the text of a config file. `file` names it in errors and anchors a relative include_dir.
 * `base`, if given, holds settings already in effect that the text adds to or overrides (its
 * loopback-only listeners are dropped, and local-only mode is decided again from the result).
 */
export function parseConfigText(text: string, file: string, base?: BrokerConfig): BrokerConfig {
  const st = initState(base);
  parseLines(st, text, file, 0);
  return finish(st);
}

/** Reads a config file (and the files of its include_dir lines). Throws ConfigError (values.ts). */
export function loadConfigFile(path: string): BrokerConfig {
  return parseConfigText(readText({ file: path, line: 0, level: 0 }, path, 'config file'), path);
}
