// The values a config starts from: Mosquitto's defaults, the local-only listeners, listeners made
// from the default listener's scope, and copies of a base config for parseConfigText.
import type { BrokerConfig, ListenerConfig } from './types.ts';

export const DEFAULT_PORT = 1883;

/** Listener settings made in the default listener's scope (before any `listener` line of a file). */
export type ListenerScope = Partial<ListenerConfig>;

/** Values before any config file is read (the file then overrides them). */
export function baseValues(): BrokerConfig {
  return {
    listeners: [],
    allowAnonymous: false,
    maxInflightMessages: 20,
    maxQueuedMessages: 1000,
    maxQueuedBytes: 0,
    maxInflightBytes: 0,
    queueQos0Messages: false,
    upgradeOutgoingQos: false,
    checkRetainSource: true,
    memoryLimit: 0,
    subscriberStallTimeout: 5,
    messageSizeLimit: 0,
    retainAvailable: true,
    sysInterval: 10,
    logTypes: undefined,
    logDest: [],
    persistentClientExpiration: 0,
    defaults: false,
    files: [],
    localOnly: false,
    logDestNone: false,
  };
}

/** A listener on `port`; one made from the default listener's scope takes its settings (copies). */
export function newListener(port: number, host: string | undefined, scope?: ListenerScope): ListenerConfig {
  return {
    protocol: 'mqtt',
    maxConnections: -1,
    ...scope,
    port,
    host,
    ...(scope?.tls && { tls: { ...scope.tls } }),
    ...(SN && scope?.sn && { sn: { ...scope.sn } }),
  };
}

/** Mosquitto 2's local-only listeners: loopback IPv4 and IPv6. */
export function loopbackListeners(port: number, scope?: ListenerScope): ListenerConfig[] {
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
  return { ...l, ...(l.tls && { tls: { ...l.tls } }) };
}

/** A copy of a base config that parsing may change (lists and maps copied). */
export function cloneConfig(c: BrokerConfig): BrokerConfig {
  return {
    ...c,
    listeners: c.listeners.map(cloneListener),
    logTypes: c.logTypes ? new Set(c.logTypes) : undefined,
    logDest: c.logDest.map((d) => ({ ...d })),
    files: [...c.files],
  };
}
