// mosquitto.conf-compatible configuration parser.
//
// FORMAT (keep it; users bring their Mosquitto files)
//   One option per line: `name value...`, words separated by spaces or tabs. Leading and trailing
//   blanks are ignored; blank lines and lines whose first non-blank character is `#` are comments.
//   There are no trailing comments: `port 1883 # x` is an error (too many arguments), as is any
//   unknown option or malformed value. Option names are case-sensitive. Errors stop start-up with
//   a ConfigError whose message is `file:line: reason`.
//
// OPTIONS (core)
//   listener PORT [BIND_ADDRESS]   Starts a listener block; the listener options below that follow
//                                  apply to it. PORT 1..65535, or 0 for an ephemeral port (tests).
//                                  No BIND_ADDRESS = all interfaces. Unix sockets are not supported.
//   port PORT                      Legacy default listener: its port (default 1883 when only
//                                  bind_address is given). Repeating it: the last one wins.
//   bind_address ADDR              Legacy default listener: its bind address (once only).
//   protocol mqtt|websockets|mqttsn            (listener) websockets needs WS, mqttsn needs SN.
//   max_connections N              (listener) -1 = unlimited (default).
//   max_topic_alias N              (listener, MQTT5) Topic aliases an MQTT 5 client may set up,
//                                  0..65535, default 10; 0 = none.
//
// OPTIONS OF AN MQTT-SN LISTENER (feature SN; per listener, only with `protocol mqttsn`)
//   advertise_interval N           Seconds between ADVERTISE datagrams, 0..65535, default 900, 0 = none.
//   gateway_id N                   GwId in ADVERTISE and GWINFO, 1..255, default 1.
//   predefined_topics FILE         Paho gateway format: `CLIENTID, TOPIC, ID` per line, `*` = every
//                                  client, `#` comments; FILE relative to the config file; once.
//   sn_max_clients N               Clients at once, 1..65535, default 1000 (max_connections, if set,
//                                  also applies); more get CONNACK "rejected: congestion".
//   (Fixed, not options: 1000 topic ids per client, Tretry 10 s, Nretry 3; see snDefaults().)
//   allow_anonymous true|false     Default false when a config file is given, except in local-only
//                                  mode (see below), where it defaults to true.
//   max_inflight_messages N        0..65535, default 20, 0 = unlimited.
//   max_queued_messages N          >= 0, default 1000, 0 = unlimited. With max_queued_bytes: what
//                                  a session queues; a full queue of a connected subscriber paces
//                                  QoS 1/2 publishers, an offline one drops (docs/flow-control.md).
//   max_queued_bytes N             Payload bytes a session queues, >= 0, default 0 = unlimited.
//   subscriber_stall_timeout N     Seconds a connected subscriber with a full queue may make no
//                                  progress before it stops pacing publishers (then treated as
//                                  offline until it moves), 0..65535, default 5, 0 = never.
//   message_size_limit N           Payload bytes, 0..268435455, default 0 = no limit.
//   max_packet_size N              Whole packets (header included) larger than N bytes close the
//                                  connection. 0 (default) = no limit, else 20..268435460. MQTT 5
//                                  clients are told N (CONNACK Maximum Packet Size).
//   max_keepalive N                0..65535, default unset. When set, a 3.1/3.1.1 client whose
//                                  keep-alive is 0 or above N is refused with CONNACK 2 (as
//                                  Mosquitto 2 does for clients that cannot be told a server keep-alive);
//                                  an MQTT 5 client gets N as Server Keep Alive instead.
//   retain_available true|false    Default true.
//   sys_interval N                 Seconds between $SYS updates, 0..65535, default 10, 0 = off.
//   log_type TYPE                  Repeatable: error warning notice information debug subscribe
//                                  unsubscribe all none (websockets with WS). The first log_type
//                                  replaces the default set (error warning notice information);
//                                  `none` clears the set, `all` selects every type.
//   log_dest stdout|stderr|none|file PATH      Repeatable; PATH is the rest of the line and may
//                                  contain spaces; one `file` only. `none` drops the destinations
//                                  given so far; if nothing follows, nothing is logged. syslog,
//                                  topic and dlt are not supported by Midge. Default: stderr.
//   persistent_client_expiration DURATION      N followed by h (hours), d (days), w (weeks),
//                                  m (months of 30 days) or y (years of 365 days); N > 0.
//                                  Default: never expire. MQTT 3.1/3.1.1 sessions only: MQTT 5
//                                  clients set their own Session Expiry Interval (as in Mosquitto).
//   persistence true|false         (PERSIST) Keep retained messages and persistent sessions on
//                                  disk. Default false. retained_persistence is a synonym.
//   persistence_location DIR       (PERSIST) Directory of the files; rest of the line. Default ''
//                                  = the current directory. Created if missing.
//   persistence_file NAME          (PERSIST) Snapshot file name, default midge.db; the journal is
//                                  NAME.journal. Rest of the line; relative to persistence_location.
//   autosave_interval N            (PERSIST) Seconds between snapshots (only if something changed),
//                                  or with autosave_on_changes the number of changes; 0 = only
//                                  at exit. 0..2147483647, default 1800.
//   autosave_on_changes true|false (PERSIST) Default false.
//   persistence_sync never|interval|always     (PERSIST, Midge's own) never: snapshots only;
//                                  interval (default): journal written at once, fsynced every
//                                  second; always: journal fsynced before PUBACK/PUBREC/PUBCOMP.
//   include_dir DIR                Reads every `*.conf` file in DIR (Mosquitto's sort: case-
//                                  insensitive, then upper case first), after the lines above it.
//                                  DIR is the rest of the line; relative to the config file's
//                                  directory. Only valid in the main config file.
//   Booleans are `true` or `false` (Mosquitto also accepts `1` and `0`, and so does Midge).
//
// LISTENER SCOPE (as Mosquitto 2.0)
//   Listener options (protocol, max_connections, and the per-listener options of features, e.g.
//   TLS `cafile`) apply to the last `listener` above them in the same file; before the first
//   `listener` of a file, they apply to the default listener. `port` and `bind_address` do not
//   change the scope. Each included file starts in the default listener's scope, and the including
//   file's scope resumes after `include_dir`.
//   The default listener exists when `port` or `bind_address` is given. Without it, options of the
//   default listener scope apply to the local-only listeners if there are no listeners at all; if
//   there are `listener` blocks, a non-default setting in that scope is an error (Mosquitto would
//   silently open port 1883 on all interfaces).
//
// LOCAL-ONLY MODE (as Mosquitto 2)
//   A config that defines no `listener`, `port` or `bind_address` listens on 127.0.0.1 and ::1,
//   port 1883 (`-p` changes the port), with anonymous access unless `allow_anonymous` says otherwise.
//
// OPTIONS OF THE AUTH FEATURE (src/features/auth/)
//   password_file PATH             Mosquitto password file ($7$ PBKDF2-SHA512 or $6$ SHA512 hashes;
//                                  `midge passwd` writes one). PATH is the rest of the line, as
//                                  given (relative to the working directory, as in Mosquitto).
//                                  Default: none (any username is accepted).
//   acl_file PATH                  Mosquitto ACL file (topic/user/pattern lines). Default: none
//                                  (every client may read and write every topic).
//   scram_credentials_file PATH    Users of MQTT 5 enhanced authentication with SCRAM-SHA-256:
//                                  `username:SCRAM-SHA-256$ITERATIONS:SALT$STOREDKEY:SERVERKEY`
//                                  lines (RFC 5803; `midge passwd --scram` writes them). PATH as
//                                  for password_file. Default: none (no enhanced authentication:
//                                  a CONNECT with an Authentication Method gets CONNACK 0x8C).
//   per_listener_settings true|false   Default false. True: password_file, acl_file,
//                                  scram_credentials_file and allow_anonymous apply to the listener
//                                  they follow (before any `listener`: the default listener, which
//                                  must then exist), and a listener without allow_anonymous
//                                  refuses anonymous clients (except in local-only mode).
//   SIGHUP re-reads the password, ACL and SCRAM files; a broken file keeps the rules in force.
//
// OPTIONS OF OPTIONAL FEATURES
//   The options listed in src/config/features.ts (bridges, TLS, authentication, persistence,
//   WebSockets, MQTT-SN, serial, GPIO). When the feature is not built into the bundle, the option
//   is an error naming the build profile that has it. When it is built, its parser takes it (MQTT-SN:
//   snSetting below, into ListenerConfig.sn); a feature whose parser is not written yet has its
//   words stored raw: listener options in ListenerConfig.extra (last one wins),
//   others in BrokerConfig.extra (every occurrence, in order).
//
// SERIAL LINKS (feature SERIAL; src/features/serial/config.ts reads the key=value words)
//   serial NAME DEVICE [baud=115200] [framing=mqttsn-slip|mqttsn|line] [prefix=] [qos=0]
//          [retain=false] [subscribe=FILTER]... [maxline=1024]
//                                  One line per link; names are unique. DEVICE: a path, `auto`
//                                  (first USB serial device) or `auto:VID:PID` (USB ids in hex).
//                                  mqttsn-slip (default) and mqttsn need feature SN. prefix, qos,
//                                  retain, subscribe and maxline are for framing=line.
//
// OPTIONS (TLS feature; per listener, parsed here when TLS is built)
//   certfile PATH, keyfile PATH    The listener's certificate chain and private key (PEM). Setting
//                                  certfile makes the listener TLS; both are required together.
//   cafile PATH, capath DIR        CA certificates (PEM) that client certificates are checked against;
//                                  capath reads every PEM file in DIR.
//   require_certificate true|false Default false. True: a client must present a certificate signed by
//                                  a CA of cafile/capath (needs one of them).
//   use_identity_as_username true|false      Default false. True: the client certificate's CN is the
//                                  username (needs require_certificate true).
//   tls_version tlsv1.1|tlsv1.2|tlsv1.3      Minimum TLS version; default tlsv1.2.
//   ciphers LIST                   OpenSSL cipher list for TLS 1.2 and below; default Node's.
//   Paths are the rest of the line, as written (relative to the working directory, as in
//   Mosquitto). Files are read at start-up and again on SIGHUP.
//
// BRIDGES (feature BRIDGE; Mosquitto's names and defaults; times in seconds)
//   connection NAME                Starts a bridge block; the options below apply to it until the
//                                  next `connection` or `listener` line. Names are unique.
//   address HOST[:PORT] [...]      (also `addresses`) Required; port 1883 by default. Several: the
//                                  next one is tried when a connection fails.
//   round_robin true|false         false (default): the first address is the main one (start again
//                                  there after a lost link; while on another, probe it every
//                                  restart_timeout base seconds and move back); true: go on with
//                                  the next one.
//   topic PATTERN [in|out|both] [QOS] [LOCAL_PREFIX] [REMOTE_PREFIX]
//                                  Required, repeatable. Defaults: out, QoS 0, no prefixes. `""`
//                                  is an empty word. Local topic = LOCAL_PREFIX + PATTERN, remote
//                                  topic = REMOTE_PREFIX + PATTERN; prefixes hold no wildcards.
//   bridge_protocol_version mqttv31|mqttv311|mqttv50   Default mqttv311; mqttv50 needs MQTT5.
//   cleansession true|false        Remote session; default false.
//   local_cleansession true|false  Accepted; the local session lives as long as the broker.
//   remote_clientid ID             (also `clientid`) Default HOSTNAME.NAME.
//   local_clientid ID              Default local.REMOTE_CLIENTID.
//   remote_username U, remote_password P      (also `username`, `password`).
//   local_username, local_password Accepted and unused (the local session is internal).
//   keepalive_interval N           Default 60; 0 = none.
//   restart_timeout BASE [CAP]     Default 5 30: reconnect delays with jitter between BASE and
//                                  CAP, growing after each failure; one value = constant delay.
//   try_private true|false         Default true: protocol level | 0x80, so the remote treats us as
//                                  a bridge (no echo); retried without it if refused.
//   notifications true|false       Default true: retained 1/0 on notification_topic, locally and
//                                  on the remote (with a will that sets 0).
//   notifications_local_only true|false       Default false.
//   notification_topic TOPIC       Default $SYS/broker/connection/REMOTE_CLIENTID/state.
//   start_type automatic|lazy|once Default automatic. lazy: connect when `threshold` messages
//                                  (default 10) wait, disconnect after `idle_timeout` (default
//                                  60) s without traffic. once: never reconnect.
//   bridge_cafile F, bridge_certfile F, bridge_keyfile F      TLS (cafile turns it on).
//   bridge_insecure true|false     Default false: skip the host name check (chain still checked).
//   bridge_tls_version tlsv1.3|tlsv1.2|tlsv1.1, bridge_alpn P, bridge_bind_address ADDR.
//   bridge_attempt_unsubscribe true|false     Default true: unsubscribe `out` topics remotely.
//   bridge_max_packet_size N       Default 0 = no limit; larger outgoing messages are dropped.
//   bridge_outgoing_retain true|false         Default true: keep the RETAIN flag towards the remote.
//   max_queued_messages N          Inside a bridge block: that bridge's queue (default: global).
//   bridge_capath, bridge_identity, bridge_psk, bridge_require_ocsp are not supported.
//
// GPIO (feature GPIO; README "GPIO"; one line per pin, the keys are words of the line)
//   gpio PIN in|out topic=TOPIC [set_topic=T] [edge=both|rising|falling] [debounce=MS]
//        [active_low=true] [retain=true] [qos=0|1|2] [format=01|onoff|bool|json] [initial=publish]
//        [failsafe=0|1] [board=NAME] [base=N]
//                                  PIN: a number (the sysfs GPIO number; with board=NAME the line,
//                                  plus the board's chip base) or a name of the board file
//                                  (GPIO17, PIN11). Defaults: set_topic TOPIC/set (outputs), edge
//                                  both, debounce 0, active_low false, retain false, qos 0, format
//                                  01, no initial publish, no failsafe (outputs start at 0).
//
// Mosquitto options that Midge does not implement (see UNSUPPORTED) are errors saying so.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { contentLines } from './lines.ts';
import { featureBuilt, featureMissingMessage, optionOwner } from './features.ts';
import { parsePredefined } from '../features/sn/predefined.ts';
import type { BridgeConfig, BrokerConfig, ListenerConfig, SnListenerConfig, TlsSettings } from './types.ts';
import { bridgeOption, checkBridge, newBridge } from '../features/bridge/config.ts';
import { parseSerialLink } from '../features/serial/config.ts';
import { parseGpio } from '../features/gpio/config.ts';

/** A configuration error; the message is `file:line: reason` (or `file: reason` without a line). */
export class ConfigError extends Error {
  readonly file: string;
  readonly line: number;
  readonly reason: string;

  constructor(file: string, line: number, reason: string) {
    super(line > 0 ? `${file}:${line}: ${reason}` : `${file}: ${reason}`);
    this.name = 'ConfigError';
    this.file = file;
    this.line = line;
    this.reason = reason;
  }
}

const LOG_TYPES = ['error', 'warning', 'notice', 'information', 'debug', 'subscribe', 'unsubscribe'];
const MAX_PAYLOAD = 268435455;
const MAX_INT = 2147483647;
const DEFAULT_PORT = 1883;

/** Mosquitto options with no Midge implementation (core ones; feature options are in features.ts). */
const UNSUPPORTED = new Set(
  ('accept_protocol_versions allow_duplicate_messages allow_zero_length_clientid auto_id_prefix ' +
    'bind_interface check_retain_source clientid_prefixes connection_messages log_facility ' +
    'log_timestamp log_timestamp_format max_inflight_bytes max_qos maximum_qos ' +
    'max_topic_alias memory_limit mount_point pid_file queue_qos0_messages retry_interval ' +
    'set_tcp_nodelay socket_domain tls_engine tls_engine_kpass_sha1 tls_keyform ' +
    'upgrade_outgoing_qos use_username_as_clientid user').split(' '),
);

export interface Where {
  file: string;
  line: number;
  /** 0 for the main file, 1 for files read through include_dir. */
  level: number;
}

/** Settings made in the default listener's scope (before any `listener` line of a file). */
interface DefaultScope {
  protocol?: string;
  maxConnections?: number;
  maxTopicAlias?: number;
  tls?: TlsSettings;
  extra: Map<string, string[]>;
  sn?: SnListenerConfig;
  passwordFile?: string;
  aclFile?: string;
  scramFile?: string;
  allowAnonymous?: boolean;
  /** The first setting that differs from a new listener's defaults, for the error message. */
  where?: { file: string; line: number; option: string };
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
  logFileSet: boolean;
  sawLogDestNone: boolean;
  /** Where each listener (or the default scope) got its first MQTT-SN option, for errors. */
  snWhere?: Map<object, Where>;
  /** Where each listener's first TLS option was set, for errors found once the file is read. */
  tlsWhere: Map<TlsSettings, Where>;
  /** AUTH: the first security option in the default listener's scope (per_listener_settings). */
  authWhere?: { file: string; line: number; option: string };
  /** The current `connection` block (BRIDGE). */
  bridge?: BridgeConfig;
}

export function fail(w: Where, reason: string): never {
  throw new ConfigError(w.file, w.line, reason);
}

/** Values before any config file is read (the file then overrides them). */
export function baseValues(): BrokerConfig {
  return {
    listeners: [],
    allowAnonymous: false,
    maxInflightMessages: 20,
    maxQueuedMessages: 1000,
    maxQueuedBytes: 0,
    subscriberStallTimeout: 5,
    messageSizeLimit: 0,
    retainAvailable: true,
    sysInterval: 10,
    logTypes: undefined,
    logDest: [],
    persistentClientExpiration: 0,
    defaults: false,
    files: [],
    extra: new Map(),
    localOnly: false,
    logDestNone: false,
  };
}

function newListener(port: number, host: string | undefined, scope?: DefaultScope): ListenerConfig {
  const l: ListenerConfig = {
    port,
    host,
    protocol: scope?.protocol ?? 'mqtt',
    maxConnections: scope?.maxConnections ?? -1,
    ...(scope?.tls && { tls: { ...scope.tls } }),
    extra: new Map(scope?.extra ?? []),
  };
  if (SN && scope?.sn) l.sn = { ...scope.sn };
  if (MQTT5 && scope?.maxTopicAlias !== undefined) l.maxTopicAlias = scope.maxTopicAlias;
  if (AUTH && scope) {
    l.passwordFile = scope.passwordFile;
    l.aclFile = scope.aclFile;
    l.scramFile = scope.scramFile;
    l.allowAnonymous = scope.allowAnonymous;
  }
  return l;
}

/** Mosquitto 2's local-only listeners: loopback IPv4 and IPv6. */
function loopbackListeners(port: number, scope?: DefaultScope): ListenerConfig[] {
  return [newListener(port, '127.0.0.1', scope), newListener(port, '::1', scope)];
}

/**
 * The embedded defaults used when no config file is given: loopback only (127.0.0.1 and ::1, port
 * 1883; ::1 may be unavailable and is then skipped by the caller), anonymous clients allowed.
 */
export function defaultConfig(): BrokerConfig {
  return {
    ...baseValues(),
    listeners: loopbackListeners(DEFAULT_PORT),
    allowAnonymous: true,
    defaults: true,
    localOnly: true,
  };
}

function cloneListener(l: ListenerConfig): ListenerConfig {
  return { ...l, ...(l.tls && { tls: { ...l.tls } }), extra: new Map(Array.from(l.extra, ([k, v]) => [k, [...v]])) };
}

function cloneConfig(c: BrokerConfig): BrokerConfig {
  return {
    ...c,
    listeners: c.listeners.map(cloneListener),
    logTypes: c.logTypes ? new Set(c.logTypes) : undefined,
    logDest: c.logDest.map((d) => ({ ...d })),
    files: [...c.files],
    extra: new Map(Array.from(c.extra, ([k, v]) => [k, v.map((args) => [...args])])),
  };
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
    def: { extra: new Map() },
    allowAnonymousSet: base !== undefined && !synthetic,
    logFileSet: cfg.logDest.some((d) => d.kind === 'file'),
    sawLogDestNone: cfg.logDestNone === true,
    tlsWhere: new Map(),
  };
}

// ---- argument helpers ----

export function countArgs(w: Where, name: string, args: string[], min: number, max: number, what = 'a value'): void {
  if (args.length < min) fail(w, `option '${name}' needs ${what}`);
  if (args.length > max) {
    const extra = args.slice(max).join(' ');
    const hint = extra.startsWith('#') ? '; comments must be on a line of their own' : '';
    fail(w, `too many arguments for option '${name}': '${extra}'${hint}`);
  }
}

export function single(w: Where, name: string, args: string[], what?: string): string {
  countArgs(w, name, args, 1, 1, what);
  return args[0];
}

export function parseInteger(w: Where, name: string, s: string, min: number, max: number): number {
  if (!/^[+-]?\d+$/.test(s)) fail(w, `option '${name}' needs an integer, got '${s}'`);
  const n = Number(s);
  if (n < 0 && min >= 0) fail(w, `option '${name}' must not be negative, got ${s}`);
  if (n < min || n > max) fail(w, `option '${name}' is out of range: ${s} (allowed ${min}..${max})`);
  return n;
}

function parsePort(w: Where, name: string, s: string): number {
  if (!/^\d+$/.test(s) || Number(s) > 65535) {
    fail(w, `invalid port '${s}' for option '${name}' (allowed 1..65535, or 0 for an ephemeral port)`);
  }
  return Number(s);
}

export function parseBool(w: Where, name: string, s: string): boolean {
  // Mosquitto's conf__parse_bool also takes 1 and 0.
  if (s === 'true' || s === '1') return true;
  if (s === 'false' || s === '0') return false;
  return fail(w, `option '${name}' needs true or false, got '${s}'`);
}

/**
 * How a one-word option is read into its field: `[field]` true or false, `[field, min, max]` an
 * integer, `[field, words]` one of the words, `[field, 0]` any word.
 */
export type OptionSpec = readonly [field: string, min?: number | readonly string[], max?: number];

/** The spec of `name` in `table`, if it has one (own keys only: not `constructor`). */
export const specOf = (table: Record<string, OptionSpec>, name: string): OptionSpec | undefined =>
  Object.hasOwn(table, name) ? table[name] : undefined;

/** Reads the option's one value into `target` as its spec says. */
export function setOption(w: Where, name: string, args: string[], [field, a, b]: OptionSpec, target: object): void {
  const v = single(w, name, args);
  (target as Record<string, unknown>)[field] =
    a === undefined ? parseBool(w, name, v)
    : b !== undefined ? parseInteger(w, name, v, a as number, b)
    : !a || (a as readonly string[]).includes(v) ? v
    : fail(w, `option '${name}' needs ${(a as readonly string[]).join(', ').replace(/, (?!.*, )/, ' or ')}, got '${v}'`);
}

/**
 * The `key=value` words of a feature's line (serial, gpio) in order, each key one of `keys` and
 * given once (`repeatable` may repeat); `fail` throws the reason, which starts with `what`.
 */
export function keyValues(
  words: string[],
  keys: readonly string[],
  what: string,
  fail: (reason: string) => never,
  repeatable = '',
): [string, string][] {
  const seen = new Set<string>();
  return words.map((word) => {
    const eq = word.indexOf('=');
    const k = word.slice(0, eq);
    if (eq < 1 || !keys.includes(k)) fail(`${what}: unknown setting '${word}' (expected key=value, key one of ${keys.join(', ')})`);
    if (seen.has(k) && k !== repeatable) fail(`${what}: '${k}' given twice`);
    seen.add(k);
    return [k, word.slice(eq + 1)];
  });
}

/** The rest of a (trimmed) line after its first `words` words, for values that may hold spaces. */
function restOfLine(line: string, words: number): string {
  let rest = line;
  for (let i = 0; i < words; i++) rest = rest.replace(/^\S+\s*/, '');
  return rest.trim();
}

/** One-word options read straight into the config (core, PERSIST, AUTH). */
const SCALARS: Record<string, OptionSpec> = {
  max_inflight_messages: ['maxInflightMessages', 0, 65535],
  max_queued_bytes: ['maxQueuedBytes', 0, MAX_INT],
  subscriber_stall_timeout: ['subscriberStallTimeout', 0, 65535],
  message_size_limit: ['messageSizeLimit', 0, MAX_PAYLOAD],
  max_keepalive: ['maxKeepalive', 0, 65535],
  retain_available: ['retainAvailable'],
  sys_interval: ['sysInterval', 0, 65535],
  ...(PERSIST && {
    persistence: ['persistence'],
    retained_persistence: ['persistence'], // Mosquitto's old synonym
    autosave_interval: ['autosaveInterval', 0, MAX_INT],
    autosave_on_changes: ['autosaveOnChanges'],
    persistence_sync: ['persistenceSync', ['never', 'interval', 'always']],
  }),
  ...(AUTH && { per_listener_settings: ['perListenerSettings'] }),
};

const DURATION_UNITS: Record<string, number> = { h: 3600, d: 86400, w: 86400 * 7, m: 86400 * 30, y: 86400 * 365 };

function parseDuration(w: Where, name: string, s: string): number {
  const m = /^(\d+)([hdwmy])$/.exec(s);
  const n = m ? Number(m[1]) * DURATION_UNITS[m[2]] : 0;
  if (!m || n <= 0) {
    fail(w, `invalid ${name} '${s}' (expected a positive number followed by h, d, w, m or y, e.g. 2d)`);
  }
  return n;
}

/** Mosquitto's include_dir order (scmp_p): case-insensitive first, then upper case before lower. */
function mosquittoOrder(a: string, b: string): number {
  const up = (c: number): number => (c >= 97 && c <= 122 ? c - 32 : c);
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const ca = a.charCodeAt(i);
    const cb = b.charCodeAt(i);
    if (up(ca) !== up(cb)) return up(ca) - up(cb);
    if (ca !== cb) return ca - cb;
  }
  return a.length - b.length;
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
    if (nonDefault && !st.def.where) st.def.where = { file: w.file, line: w.line, option: name };
  }
}

/**
 * AUTH: records a security option for its listener too, in case per_listener_settings is true
 * (decided in finish(), since Mosquitto lets that option come anywhere in the file).
 */
function authSetting(st: State, w: Where, name: string, apply: (t: ListenerConfig | DefaultScope) => void): void {
  listenerSetting(st, w, name, apply, false);
  if (!st.current) st.authWhere ??= { file: w.file, line: w.line, option: name };
}

/** AUTH's file options and their fields. */
const AUTH_FILES = { password_file: 'passwordFile', acl_file: 'aclFile', scram_credentials_file: 'scramFile' } as const;

/** AUTH's own options; false for any other option. */
function authOption(st: State, w: Where, name: string, args: string[], line: string): boolean {
  const cfg = st.cfg;
  if (Object.hasOwn(AUTH_FILES, name)) {
    const field = AUTH_FILES[name as keyof typeof AUTH_FILES];
    const path = restOfLine(line, 1);
    if (!path) fail(w, `option '${name}' needs a file name`);
    cfg[field] = path;
    authSetting(st, w, name, (t) => {
      t[field] = path;
    });
    return true;
  }
  return false;
}

function parseLine(st: State, line: string, w: Where): void {
  const args = line.split(/\s+/);
  const name = args.shift() as string;
  const cfg = st.cfg;
  // MQTT5, per listener as in Mosquitto. Without MQTT5: unsupported (UNSUPPORTED).
  if (MQTT5 && name === 'max_topic_alias') {
    const n = parseInteger(w, name, single(w, name, args), 0, 65535);
    return listenerSetting(st, w, name, (t) => { t.maxTopicAlias = n; }, n !== 10);
  }
  const spec = specOf(SCALARS, name);
  if (spec) return setOption(w, name, args, spec, cfg);
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
      if (v === 'websockets') {
        if (!WS) fail(w, featureMissingMessage(`protocol 'websockets'`, 'WS'));
      } else if (v === 'mqttsn') {
        if (!SN) fail(w, featureMissingMessage(`protocol 'mqttsn'`, 'SN'));
      } else if (v !== 'mqtt') {
        fail(w, `unknown protocol '${v}' (expected mqtt, websockets or mqttsn)`);
      }
      listenerSetting(st, w, name, (t) => { t.protocol = v; }, v !== 'mqtt');
      return;
    }
    case 'max_connections': {
      const n = parseInteger(w, name, single(w, name, args), -1, MAX_INT);
      listenerSetting(st, w, name, (t) => { t.maxConnections = n; }, n !== -1);
      return;
    }
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
    case 'log_dest': {
      countArgs(w, name, args, 1, Infinity);
      const kind = args[0];
      if (kind === 'stdout' || kind === 'stderr') {
        countArgs(w, `${name} ${kind}`, args.slice(1), 0, 0);
        if (!cfg.logDest.some((d) => d.kind === kind)) cfg.logDest.push({ kind });
      } else if (kind === 'file') {
        const path = restOfLine(line, 2);
        if (!path) fail(w, `option 'log_dest file' needs a path`);
        if (st.logFileSet) fail(w, `duplicate 'log_dest file' (one log file only, as in Mosquitto)`);
        cfg.logDest.push({ kind: 'file', path });
        st.logFileSet = true;
      } else if (kind === 'none') {
        countArgs(w, `${name} ${kind}`, args.slice(1), 0, 0);
        cfg.logDest = [];
        st.logFileSet = false;
        st.sawLogDestNone = true;
      } else if (kind === 'syslog' || kind === 'topic' || kind === 'dlt') {
        fail(w, `log_dest ${kind} is not supported by Midge (use stdout, stderr, file PATH or none)`);
      } else {
        fail(w, `unknown log_dest '${kind}' (expected stdout, stderr, file PATH or none)`);
      }
      return;
    }
    case 'persistent_client_expiration':
      cfg.persistentClientExpiration = parseDuration(w, name, single(w, name, args));
      return;
    case 'include_dir':
      includeDir(st, w, restOfLine(line, 1));
      return;
    default:
      break;
  }
  if (PERSIST && (name === 'persistence_location' || name === 'persistence_file')) {
    const v = restOfLine(line, 1);
    if (!v) fail(w, `option '${name}' needs a value`);
    if (name === 'persistence_location') cfg.persistenceLocation = v;
    else cfg.persistenceFile = v; // relative to persistence_location
    return;
  }
  // Without AUTH, the feature table below says the option is compiled out.
  if (AUTH && authOption(st, w, name, args, line)) return;

  if (TLS && (TLS_PATHS.includes(name) || specOf(TLS_SCALARS, name))) {
    tlsOption(st, w, name, args, line);
    return;
  }
  const owner = optionOwner(name);
  if (owner) {
    if (!featureBuilt(owner.feature)) fail(w, featureMissingMessage(`option '${name}'`, owner.feature));
    if (SN && owner.feature === 'SN') return snSetting(st, w, name, args, line);
    // Copied on write, as bridges below.
    if (SERIAL && owner.feature === 'SERIAL') return void (cfg.serial = [...(cfg.serial ?? []), parseSerialLink(w, args, cfg.serial ?? [])]);
    if (GPIO && name === 'gpio') {
      // Copied on write, as bridges: a base config keeps its own list.
      cfg.gpio = [...(cfg.gpio ?? []), parseGpio(w, args, cfg.gpio ?? [])];
      return;
    }
    countArgs(w, name, args, 1, Infinity);
    if (BRIDGE && owner.feature === 'BRIDGE') {
      // Copied on write: a base config passed to parseConfigText keeps its own list.
      if (name === 'connection') cfg.bridges = [...(cfg.bridges ?? []), (st.bridge = newBridge(w, args, cfg.bridges ?? []))];
      else bridgeOption(w, name, args, st.bridge);
      return;
    }
    if (owner.listener) {
      listenerSetting(st, w, name, (t) => { t.extra.set(name, args); }, true);
    } else {
      const all = cfg.extra.get(name);
      if (all) all.push(args);
      else cfg.extra.set(name, [args]);
    }
    return;
  }
  if (UNSUPPORTED.has(name)) fail(w, `option '${name}' is a Mosquitto option that Midge does not support`);
  fail(w, `unknown option '${name}'`);
}

/** Defaults of an MQTT-SN listener (README "MQTT-SN gateway"). */
export function snDefaults(): SnListenerConfig {
  return {
    advertiseInterval: 900,
    gatewayId: 1,
    predefinedTopics: [],
    maxClients: 1000,
    maxTopics: 1000,
    retryInterval: 10,
    retryCount: 3,
  };
}

const SN_SCALARS: Record<string, OptionSpec> = {
  advertise_interval: ['advertiseInterval', 0, 65535],
  gateway_id: ['gatewayId', 1, 255],
  sn_max_clients: ['maxClients', 1, 65535],
};

/** An MQTT-SN listener option (feature SN): parsed into the listener's `sn` settings. */
function snSetting(st: State, w: Where, name: string, args: string[], line: string): void {
  const one: Partial<SnListenerConfig> = {};
  if (name === 'predefined_topics') {
    const path = resolve(dirname(w.file), restOfLine(line, 1));
    if (!restOfLine(line, 1)) fail(w, `option '${name}' needs a file`);
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      return fail(w, `cannot read predefined_topics file: ${(err as Error).message}`);
    }
    one.predefinedTopics = parsePredefined(text, (n, reason) => {
      throw new ConfigError(path, n, reason);
    });
  } else {
    setOption(w, name, args, SN_SCALARS[name], one);
  }
  listenerSetting(st, w, name, (t) => {
    const snWhere = (st.snWhere ??= new Map());
    if (!snWhere.has(t)) snWhere.set(t, w);
    Object.assign((t.sn ??= snDefaults()), one);
  }, true);
}

/** The TLS options Midge implements, paths and one-word ones; the feature's others stay in `extra` and are refused. */
const TLS_PATHS = ['cafile', 'capath', 'certfile', 'keyfile'];
const TLS_SCALARS: Record<string, OptionSpec> = {
  require_certificate: ['requireCertificate'],
  use_identity_as_username: ['useIdentityAsUsername'],
  tls_version: ['tlsVersion', ['tlsv1.1', 'tlsv1.2', 'tlsv1.3']],
  ciphers: ['ciphers', 0],
};

/** A per-listener TLS option into the listener's `tls` settings. */
function tlsOption(st: State, w: Where, name: string, args: string[], line: string): void {
  countArgs(w, name, args, 1, Infinity);
  const one: Record<string, unknown> = {};
  // A path is the rest of the line, as in Mosquitto: it may contain spaces.
  if (TLS_PATHS.includes(name)) one[name] = restOfLine(line, 1);
  else setOption(w, name, args, TLS_SCALARS[name], one);
  listenerSetting(st, w, name, (target) => {
    const t = (target.tls ??= {});
    if (!st.tlsWhere.has(t)) st.tlsWhere.set(t, w);
    Object.assign(t, one);
  }, true);
}

/** TLS settings that only make sense together; checked once the whole file is read. */
function checkTls(st: State, l: ListenerConfig): void {
  const t = l.tls;
  if (!t) return;
  // Listeners made from the default scope hold copies of its settings.
  const w = st.tlsWhere.get(t) ?? (st.def.tls && st.tlsWhere.get(st.def.tls)) ?? { file: st.cfg.files[0] ?? 'config', line: 0, level: 0 };
  const at = `listener ${l.port}`;
  if (!t.certfile || !t.keyfile) fail(w, `TLS on ${at} needs both certfile and keyfile`);
  if (t.requireCertificate && !t.cafile && !t.capath) {
    fail(w, `require_certificate on ${at} needs cafile or capath to check client certificates against`);
  }
  if (t.useIdentityAsUsername && !t.requireCertificate) {
    fail(w, `use_identity_as_username on ${at} needs require_certificate true`);
  }
}

/** Every log type (what `log_type all` and `-v` select). */
export function allLogTypes(): string[] {
  return WS ? [...LOG_TYPES, 'websockets'] : [...LOG_TYPES];
}

function includeDir(st: State, w: Where, dir: string): void {
  if (w.level > 0) fail(w, `include_dir is only valid in the main config file`);
  if (!dir) fail(w, `option 'include_dir' needs a directory`);
  const abs = resolve(dirname(w.file), dir);
  let names: string[];
  try {
    names = readdirSync(abs);
  } catch (err) {
    return fail(w, `cannot read include_dir '${dir}': ${(err as Error).message}`);
  }
  const files = names
    .filter((n) => n.length > 5 && n.endsWith('.conf'))
    .sort(mosquittoOrder)
    .map((n) => join(abs, n));
  for (const f of files) {
    let text: string;
    try {
      if (!statSync(f).isFile()) continue;
      text = readFileSync(f, 'utf8');
    } catch (err) {
      return fail(w, `cannot read included file '${f}': ${(err as Error).message}`);
    }
    // Each file starts in the default listener's scope (as in Mosquitto); ours resumes afterwards.
    const saved = st.current;
    parseLines(st, text, f, w.level + 1);
    st.current = saved;
  }
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
  if (SN) {
    for (const l of cfg.listeners) {
      const at = st.snWhere?.get(l) ?? (l.sn ? st.snWhere?.get(st.def) : undefined);
      if (l.protocol === 'mqttsn') l.sn ??= snDefaults();
      else if (l.sn && at) fail(at, `MQTT-SN options need 'protocol mqttsn' on the listener of port ${l.port}`);
    }
  }
  if (TLS) for (const l of cfg.listeners) checkTls(st, l);
  if (BRIDGE) cfg.bridges?.forEach(checkBridge);
  if (!st.allowAnonymousSet) cfg.allowAnonymous = cfg.localOnly === true;
  if (AUTH) finishAuth(st, cfg);
  cfg.logDestNone = st.sawLogDestNone && cfg.logDest.length === 0;
  if (cfg.logDestNone) cfg.logTypes = new Set();
  return cfg;
}

/** An option in the default listener's scope while no `port` or `bind_address` defines that listener. */
function noDefaultListener({ file, line, option }: { file: string; line: number; option: string }, why = ''): never {
  throw new ConfigError(
    file,
    line,
    `${why}option '${option}' comes before any 'listener' line, so it belongs to the default listener, ` +
      `but no 'port' or 'bind_address' defines one; move it after a 'listener' line (or add 'port ${DEFAULT_PORT}')`,
  );
}

/** AUTH: global security settings, or per listener with per_listener_settings true. */
function finishAuth(st: State, cfg: BrokerConfig): void {
  if (!cfg.perListenerSettings) {
    for (const l of cfg.listeners) {
      l.passwordFile = l.aclFile = l.scramFile = l.allowAnonymous = undefined;
    }
    return;
  }
  const hasDefault = st.defPort !== undefined || st.defHost !== undefined || cfg.localOnly === true;
  if (st.authWhere && !hasDefault) {
    noDefaultListener(st.authWhere, 'with per_listener_settings true, ');
  }
  cfg.passwordFile = cfg.aclFile = cfg.scramFile = undefined;
  // A listener without allow_anonymous: false with a config file, true in local-only mode.
  for (const l of cfg.listeners) l.allowAnonymous ??= cfg.localOnly === true;
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

/** Reads a config file (and the files of its include_dir lines). Throws ConfigError. */
export function loadConfigFile(path: string): BrokerConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(path, 0, `cannot read config file: ${(err as Error).message}`);
  }
  return parseConfigText(text, path);
}

/**
 * Options of features whose flag is on but whose code has not landed yet are kept raw in `extra`;
 * refusing them at start-up beats ignoring them silently. Each feature's issue consumes its own.
 */
export function refuseUnimplemented(cfg: BrokerConfig): void {
  const pending = [...cfg.extra.keys(), ...cfg.listeners.flatMap((l) => [...l.extra.keys()])];
  if (pending.length) {
    const owner = optionOwner(pending[0]);
    throw new ConfigError(
      cfg.files[cfg.files.length - 1] ?? 'config',
      0,
      `option '${pending[0]}'${owner ? ` (feature ${owner.feature})` : ''} is not implemented yet in this version of Midge`,
    );
  }
}
