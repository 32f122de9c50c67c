// The broker's configuration, as read from a mosquitto.conf-style file (src/config/parse.ts) or
// from the embedded defaults, then adjusted by the command line (src/config/cli.ts).
import type { QoS } from '../codec/packets.ts';
import type { LogDest } from '../util/log.ts';
import type { PinDriver } from '../features/gpio/pin.ts';

export interface ListenerConfig {
  port: number; // 0 = ephemeral (tests)
  host?: string; // bind address; undefined = all interfaces
  protocol: string; // 'mqtt', 'websockets' (WS), 'mqttsn' (SN) or 'http' (HTTP)
  maxConnections: number; // -1 = unlimited
  maxTopicAlias?: number; // MQTT5: max_topic_alias, 0..65535; undefined = 10
  maxQos?: number; // max_qos (maximum_qos), 0..2; undefined = 2
  /** mount_point: prefixed to the topics of this listener's clients, stripped on the way out. */
  mountPoint?: string;
  /** TLS settings (TLS feature); the listener speaks TLS when `certfile` is set. */
  tls?: TlsSettings;
  /** AUTH with per_listener_settings true: this listener's own security settings. */
  passwordFile?: string;
  aclFile?: string;
  scramFile?: string;
  allowAnonymous?: boolean;
  /** MQTT-SN gateway settings; present on `protocol mqttsn` listeners (feature SN). */
  sn?: SnListenerConfig;
  /** TLS: psk_file given for this listener (used with per_listener_settings true). */
  pskFile?: string;
  /** WS: http_dir, the directory whose files plain HTTP requests get. */
  httpDir?: string;
  /** WS: websockets_origin values; an upgrade needs an Origin header equal to one. Undefined = any. */
  origins?: string[];
  /** accept_protocol_versions: the CONNECT protocol levels taken (3, 4, 5); undefined = all. */
  versions?: number[];
  /** socket_domain: that IP version only; undefined = both. */
  domain?: 'ipv4' | 'ipv6';
  /** bind_interface: listen on this network interface's addresses (one socket per address family). */
  iface?: string;
  /** use_username_as_clientid: the client id becomes the username; no username = not authorised. */
  usernameAsId?: boolean;
  /** allow_zero_length_clientid (undefined = true) and auto_id_prefix (undefined = 'auto-'): the
   * global values, or the listener's own with per_listener_settings (AUTH). */
  zeroLength?: boolean;
  idPrefix?: string;
}

/** Per-listener TLS options, as in mosquitto.conf (paths as written, read at start and on SIGHUP). */
export interface TlsSettings {
  cafile?: string;
  capath?: string;
  certfile?: string;
  keyfile?: string;
  requireCertificate?: boolean; // default false
  useIdentityAsUsername?: boolean; // default false; needs requireCertificate
  tlsVersion?: string; // minimum: 'tlsv1.1' | 'tlsv1.2' | 'tlsv1.3'; default tlsv1.2
  ciphers?: string; // OpenSSL cipher list (TLS 1.2 and below)
  ciphers13?: string; // ciphers_tls1.3: TLS 1.3 suites, colon separated
  crlfile?: string; // PEM certificate revocation list(s) for client certificates
  dhparamfile?: string; // PEM DH parameters (DHE ciphers)
  useSubjectAsUsername?: boolean; // default false; needs requireCertificate
  /** psk_hint: the listener speaks TLS-PSK (no certificate), with this hint. */
  pskHint?: string;
  /** The PSK identities and keys file that applies to this listener (set once the file is read). */
  pskFile?: string;
  engine?: string; // tls_engine: an OpenSSL engine id
  keyform?: string; // tls_keyform: 'pem' (default) or 'engine' (keyfile is the engine's key id)
}

/** One line of a predefined topics file (`CLIENTID, TOPIC, ID`; `*` = every client). */
export interface PredefinedTopic {
  clientId: string;
  topic: string;
  id: number;
}

/** `sn_multicast_group ADDR[:PORT] [IFACE]` (feature SN). */
export interface SnMulticast {
  group: string; // an IPv4 (224.0.0.0/4) or IPv6 (ff00::/8) multicast address
  port?: number; // default: the listener's port
  iface?: string; // an interface name or (IPv4) address; default: the kernel's choice
}

/** MQTT-SN gateway options of one listener (feature SN). */
export interface SnListenerConfig {
  advertiseInterval: number; // seconds between ADVERTISE, default 900, 0 = none
  gatewayId: number; // 1..255, default 1
  predefinedTopics: PredefinedTopic[]; // default none
  maxClients: number; // default 1000
  /** sn_multicast_group: where ADVERTISE goes and SEARCHGW is heard (UDP listeners); default none. */
  multicast?: SnMulticast;
  // Not options (the minimal build keeps every option name): set by code, e.g. tests and serial.
  maxTopics: number; // registered topic ids per client, 1000
  retryInterval: number; // Tretry, seconds, 10
  retryCount: number; // Nretry, 3
}

/** One `topic` line of a bridge: PATTERN [in|out|both] [QOS] [LOCAL_PREFIX] [REMOTE_PREFIX]. */
export interface BridgeTopic {
  pattern: string;
  direction: 'in' | 'out' | 'both';
  qos: QoS;
  localPrefix: string;
  remotePrefix: string;
}

/** One `connection NAME` block (BRIDGE). Times are in seconds. */
export interface BridgeConfig {
  name: string;
  /** Where the block starts, for messages. */
  file: string;
  line: number;
  addresses: { host: string; port: number }[];
  roundRobin: boolean;
  topics: BridgeTopic[];
  /** 3 (mqttv31), 4 (mqttv311) or 5 (mqttv50, MQTT5 builds). */
  protocolLevel: 3 | 4 | 5;
  cleanSession: boolean;
  localCleanSession?: boolean;
  remoteClientId?: string; // default HOSTNAME.NAME
  localClientId?: string; // default local.REMOTE_CLIENTID
  remoteUsername?: string;
  remotePassword?: string;
  keepalive: number;
  restartBase: number;
  /** Upper bound of the backoff; equal to restartBase for a constant delay. */
  restartCap: number;
  tryPrivate: boolean;
  notifications: boolean;
  notificationsLocalOnly: boolean;
  notificationTopic?: string; // default $SYS/broker/connection/REMOTE_CLIENTID/state
  startType: 'automatic' | 'lazy' | 'once';
  threshold: number;
  idleTimeout: number;
  cafile?: string;
  certfile?: string;
  keyfile?: string;
  insecure: boolean;
  tlsVersion?: string;
  alpn?: string;
  bindAddress?: string;
  /** Largest packet sent to the remote; 0 = no limit. */
  maxPacketSize: number;
  outgoingRetain: boolean;
  attemptUnsubscribe: boolean;
  /** The bridge's own max_queued_messages; undefined = the broker's. */
  maxQueued?: number;
  /** bridge_capath: a directory of PEM CA certificates (TLS, like cafile). */
  capath?: string;
  /** TLS-PSK: bridge_identity and bridge_psk (hex), instead of certificates. */
  pskIdentity?: string;
  psk?: string;
  /** MQTT 5: Receive Maximum sent in CONNECT; undefined = max_inflight_messages. */
  receiveMaximum?: number;
  /** MQTT 5: Session Expiry Interval sent in CONNECT; undefined = never (cleansession false) or 0. */
  sessionExpiry?: number;
}

/** One `serial NAME DEVICE [key=value]...` line (SERIAL; docs/serial.md). */
export interface SerialLinkConfig {
  name: string;
  /** A device path, `auto` or `auto:VID:PID` (USB ids in hex). */
  device: string;
  baud: number; // default 115200
  framing: 'mqttsn-slip' | 'mqttsn' | 'line'; // default mqttsn-slip
  // Line mode only:
  prefix: string; // prepended to topics the device publishes, default ''
  qos: QoS; // of the device's publishes, default 0
  retain: boolean; // default false
  subscribe: string[]; // filters whose messages are written to the device
  maxLine: number; // bytes, default 1024
  /** Home Assistant discovery (GPIO or SERIAL): `sensor=NAME[:UNIT[:DEVICE_CLASS]]` keys. */
  sensors?: HaSensor[];
}

/** A value a `line` device publishes on PREFIX + name, announced to Home Assistant as a sensor. */
export interface HaSensor {
  name: string;
  unit?: string;
  deviceClass?: string;
}

/** GPIO: a `gpio` line's output format (docs/gpio.md). */
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
  failsafe?: 0 | 1;
  // Home Assistant discovery (docs/home-assistant.md): name=, device_class=, icon=.
  title?: string;
  deviceClass?: string;
  icon?: string;
}

/** Something to re-read on SIGHUP. It logs and keeps its previous state if the new one is broken. */
export type Reloader = () => void | Promise<void>;

export interface BrokerConfig {
  listeners: ListenerConfig[];
  /** BRIDGE: the `connection` blocks, in file order; undefined = none. */
  bridges?: BridgeConfig[];
  /** SERIAL: the `serial` lines, in file order; undefined = none. */
  serial?: SerialLinkConfig[];
  allowAnonymous: boolean;
  maxInflightMessages: number; // default 20; 0 = unlimited
  maxQueuedMessages: number; // default 1000; 0 = unlimited
  maxQueuedBytes: number; // payload bytes, default 0 = unlimited
  maxInflightBytes: number; // payload bytes in flight per client, default 0 = unlimited
  queueQos0Messages: boolean; // default false
  upgradeOutgoingQos: boolean; // default false
  checkRetainSource: boolean; // default true (AUTH: re-check the publisher's ACL for retained messages)
  /** Bytes of message data held (docs/configuration.md#memory_limit); default 0 = no limit. */
  memoryLimit: number;
  /** Seconds a connected subscriber may make no progress before it stops pacing publishers; 0 = never. */
  subscriberStallTimeout: number; // default 5
  messageSizeLimit: number; // bytes of payload, default 0 = no limit (max 268435455)
  maxPacketSize?: number; // whole packet bytes, 20..268435460; undefined/0 = no limit
  maxKeepalive?: number; // seconds, 1..65535; undefined/0 = no limit
  retainAvailable: boolean; // default true
  sysInterval: number; // seconds, default 10, 0 = off
  logTypes?: Set<string>; // undefined = default (error, warning, notice, information)
  logDest: LogDest[]; // default [] (caller falls back to stderr)
  /** TLS: psk_file, the PSK identities and keys (global unless per_listener_settings). */
  pskFile?: string;
  /** WS: websockets_headers_size, the largest HTTP header block; undefined/0 = Node's default. */
  wsHeadersSize?: number;
  /** user: whom to become after start-up when started as root (default mosquitto; main.ts). */
  user?: string;
  /** log_timestamp (undefined = true) and log_timestamp_format (strftime; undefined = Unix seconds). */
  logTimestamp?: boolean;
  logTimestampFormat?: string;
  /** log_facility N: syslog facility localN; undefined = daemon. */
  logFacility?: number;
  /** connection_messages: log connects and disconnects (undefined = true). */
  connectionMessages?: boolean;
  /** allow_zero_length_clientid and auto_id_prefix as set globally (see ListenerConfig). */
  zeroLength?: boolean;
  idPrefix?: string;
  /** clientid_prefixes: only client ids starting with it connect. */
  clientidPrefixes?: string;
  /** set_tcp_nodelay; undefined = true (Midge batches its writes itself; Mosquitto's default is false). */
  setTcpNodelay?: boolean;
  /** global_max_clients (sessions, connected or not) and global_max_connections; -1/0/undefined = no limit. */
  globalMaxClients?: number;
  globalMaxConnections?: number;
  /** pid_file: written with the process id at start-up, removed at exit; undefined = none. */
  pidFile?: string;
  persistentClientExpiration: number; // seconds, 0 = never expire
  /** AUTH: password_file, acl_file, scram_credentials_file (unset with per_listener_settings: see the listeners). */
  passwordFile?: string;
  aclFile?: string;
  scramFile?: string;
  /** AUTH: password_file, acl_file and allow_anonymous are per listener (Mosquitto semantics). */
  perListenerSettings?: boolean;
  // Feature PERSIST (docs/persistence.md): set only when the file gives them; the defaults are
  // applied by src/features/persist/index.ts.
  persistence?: boolean; // default false
  persistenceLocation?: string; // directory, default '' = current directory
  persistenceFile?: string; // default 'midge.db'
  autosaveInterval?: number; // seconds (or changes with autosaveOnChanges), default 1800, 0 = at exit only
  autosaveOnChanges?: boolean; // default false
  persistenceSync?: 'never' | 'interval' | 'always'; // default 'interval'
  /** GPIO: the `gpio` lines, in file order; undefined = none. */
  gpio?: GpioPinConfig[];
  /** GPIO, not an option: the pin driver to use instead of onoff (tests inject an in-memory one). */
  gpioDriver?: PinDriver;
  /** GPIO or SERIAL: Home Assistant discovery (ha_discovery, ha_discovery_prefix, ha_node_id). */
  haDiscovery?: boolean;
  haPrefix?: string;
  haNodeId?: string;
  /** True when no config file was given: the embedded defaults (loopback only). */
  defaults: boolean;
  /** Files read, for log lines. */
  files: string[];
  /**
   * True when the listeners are the loopback-only pair (127.0.0.1 and ::1, port 1883) made because
   * nothing defined a listener: no config file (`defaults`), or a file without `listener`, `port`
   * and `bind_address` (Mosquitto 2's "local only mode"). The ::1 listener may fail on hosts
   * without IPv6 and should then be skipped; `-p` changes these listeners' port.
   */
  localOnly?: boolean;
  /**
   * True when `log_dest none` was the last word on log destinations: nothing is logged, and
   * logTypes is then an empty set. `-v` does not re-enable logging (as in Mosquitto).
   */
  logDestNone?: boolean;
}
