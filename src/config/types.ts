// The broker's configuration, as read from a mosquitto.conf-style file (src/config/parse.ts) or
// from the embedded defaults, then adjusted by the command line (src/config/cli.ts).
import type { QoS } from '../codec/packets.ts';
import type { LogDest } from '../util/log.ts';
import type { PinDriver } from '../features/gpio/pin.ts';

export interface ListenerConfig {
  port: number; // 0 = ephemeral (tests)
  host?: string; // bind address; undefined = all interfaces
  protocol: string; // 'mqtt', 'websockets' (WS) or 'mqttsn' (SN)
  maxConnections: number; // -1 = unlimited
  maxTopicAlias?: number; // MQTT5: max_topic_alias, 0..65535; undefined = 10
  /** TLS settings (TLS feature); the listener speaks TLS when `certfile` is set. */
  tls?: TlsSettings;
  /** Raw per-listener options of features not implemented yet (kept for later issues). */
  extra: Map<string, string[]>;
  /** AUTH with per_listener_settings true: this listener's own security settings. */
  passwordFile?: string;
  aclFile?: string;
  scramFile?: string;
  allowAnonymous?: boolean;
  /** MQTT-SN gateway settings; present on `protocol mqttsn` listeners (feature SN). */
  sn?: SnListenerConfig;
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
  /** Seconds a connected subscriber may make no progress before it stops pacing publishers; 0 = never. */
  subscriberStallTimeout: number; // default 5
  messageSizeLimit: number; // bytes of payload, default 0 = no limit (max 268435455)
  maxPacketSize?: number; // whole packet bytes, 20..268435460; undefined/0 = no limit
  maxKeepalive?: number; // seconds, 1..65535; undefined/0 = no limit
  retainAvailable: boolean; // default true
  sysInterval: number; // seconds, default 10, 0 = off
  logTypes?: Set<string>; // undefined = default (error, warning, notice, information)
  logDest: LogDest[]; // default [] (caller falls back to stderr)
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
  /** True when no config file was given: the embedded defaults (loopback only). */
  defaults: boolean;
  /** Files read, for log lines. */
  files: string[];
  /**
   * Raw global options of built-in features whose parsing is not implemented yet, by option name;
   * one entry per occurrence, in file order (options such as `topic` repeat). Listener-scoped
   * options of those features go to ListenerConfig.extra instead.
   */
  extra: Map<string, string[][]>;
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
