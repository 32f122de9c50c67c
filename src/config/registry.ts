// The features' option parsers, as the config parser (parse.ts) calls them. The core imports no
// feature: registerFeatureParsers() (src/features/options.ts) puts each built feature's parsers
// here before a config file is read: main.ts calls it first, the tests' setup file too. parse.ts
// reaches an entry only behind the feature's flag, so a build without the feature has none.
import type {
  BridgeConfig, BrokerConfig, GpioPinConfig, ListenerConfig, SerialLinkConfig, SnListenerConfig, TlsSettings,
} from './types.ts';
import type { Where } from './values.ts';

/** Applies a setting to the listener in scope (or the default listener's scope). */
export type InListener = (apply: (t: Partial<ListenerConfig>) => void) => void;

export interface FeatureParsers {
  // BRIDGE: `connection NAME` starts a bridge; its options follow; checked at the end of the file.
  newBridge(w: Where, args: string[], existing: BridgeConfig[]): BridgeConfig;
  bridgeOption(w: Where, option: string, args: string[], bridge: BridgeConfig | undefined): void;
  checkBridge(b: BridgeConfig): void;
  // SERIAL, GPIO (a `gpio` line keeps its quoted values), Home Assistant discovery (ha_*).
  parseSerialLink(w: Where, args: string[], existing: SerialLinkConfig[]): SerialLinkConfig;
  gpioWords(w: Where, line: string): string[];
  parseGpio(w: Where, args: string[], others: readonly GpioPinConfig[]): GpioPinConfig;
  haOption(w: Where, name: string, args: string[], cfg: BrokerConfig): void;
  // SN and TLS listener options, and what they check once the file is read.
  snDefaults(): SnListenerConfig;
  snOption(w: Where, name: string, args: string[], line: string): Partial<SnListenerConfig>;
  checkSn(listeners: ListenerConfig[], where: (l: ListenerConfig) => Where | undefined): void;
  tlsOption(w: Where, name: string, args: string[], line: string): Partial<TlsSettings>;
  pskFileOption(w: Where, line: string, cfg: BrokerConfig, perListener: InListener): void;
  checkTls(l: ListenerConfig, w: Where, cfg: BrokerConfig): void;
  // WS, AUTH (false: not an option it takes), PERSIST.
  wsOption(w: Where, name: string, args: string[], line: string, cfg: BrokerConfig, inListener: InListener): void;
  authOption(w: Where, name: string, args: string[], line: string, cfg: BrokerConfig, perListener: InListener): boolean;
  finishAuth(cfg: BrokerConfig): void;
  persistOption(w: Where, name: string, args: string[], line: string, cfg: BrokerConfig): void;
}

/** Filled by registerFeatureParsers(); an entry is there when its feature is built. */
export const parsers = {} as FeatureParsers;
