// MQTT-SN listener options (feature SN) into a listener's `sn` settings; src/config/parse.ts
// applies them to the listener block they belong to. docs/configuration.md#mqtt-sn-listeners.
import net from 'node:net';
import { FEATURES } from '../../config/features.ts';
import { besideConfig, readText } from '../../config/files.ts';
import type { ListenerConfig, SnListenerConfig, SnMulticast } from '../../config/types.ts';
import {
  byName, ConfigError, countArgs, fail, parseInteger, pathValue, setOption, specOf, type OptionSpec, type Where,
} from '../../config/values.ts';
import { SN_NRETRY, SN_TRETRY } from '../../util/timeouts.ts';
import { parsePredefined } from './predefined.ts';

/** Defaults of an MQTT-SN listener (docs/mqtt-sn.md). */
export function snDefaults(): SnListenerConfig {
  return {
    advertiseInterval: 900,
    gatewayId: 1,
    predefinedTopics: [],
    maxClients: 1000,
    maxTopics: 1000,
    retryInterval: SN_TRETRY,
    retryCount: SN_NRETRY,
  };
}

/** FEATURES.SN.listenerOptions but the last two (sn_multicast_group, predefined_topics), in order. */
const SPECS = byName<OptionSpec>(FEATURES.SN.listenerOptions, [
  ['advertiseInterval', 0, 65535], // advertise_interval
  ['gatewayId', 1, 255], // gateway_id
  ['maxClients', 1, 65535], // sn_max_clients
]);

/** The settings one MQTT-SN option makes. */
export function snOption(w: Where, name: string, args: string[], line: string): Partial<SnListenerConfig> {
  const one: Partial<SnListenerConfig> = {};
  const spec = specOf(SPECS, name);
  if (spec) {
    setOption(w, name, args, spec, one);
    return one;
  }
  if (name === FEATURES.SN.listenerOptions[3]) {
    one.multicast = multicastGroup(w, name, args);
    return one;
  }
  // predefined_topics, the last name: a file in the Paho gateway's format.
  const path = besideConfig(w, pathValue(w, name, line, 'a file'));
  one.predefinedTopics = parsePredefined(readText(w, path, 'predefined_topics file'), (n, reason) => {
    throw new ConfigError(path, n, reason);
  });
  return one;
}

/**
 * `sn_multicast_group ADDR[:PORT] [IFACE]`: an IPv4 group (224.0.0.0/4) or an IPv6 one (ff00::/8,
 * in brackets when a port follows); IFACE is an interface name or, for IPv4, its address.
 */
function multicastGroup(w: Where, name: string, args: string[]): SnMulticast {
  countArgs(w, name, args, 1, 2, 'a multicast group (ADDR[:PORT] [IFACE])');
  const [addr, iface] = args;
  const m = /^\[(.+)\](?::(.*))?$/.exec(addr) ?? /^([^:]*)(?::([^:]*))?$/.exec(addr) ?? [addr, addr];
  const group = m[1];
  const v4 = net.isIPv4(group);
  const first = v4 ? Number(group.split('.')[0]) : 0;
  if (!(v4 ? first >= 224 && first < 240 : net.isIPv6(group) && /^ff/i.test(group))) {
    fail(w, `option '${name}' needs a multicast address (224.0.0.0 to 239.255.255.255, or ff00::/8), got '${addr}'`);
  }
  const g: SnMulticast = { group };
  if (m[2] !== undefined) g.port = parseInteger(w, name, m[2], 1, 65535);
  if (iface) g.iface = iface;
  return g;
}

/**
 * Once the file is read: a `protocol mqttsn` listener gets the defaults it was not given, and MQTT-SN
 * options on another listener are an error at `where(l)`, the first of them.
 */
export function checkSn(listeners: ListenerConfig[], where: (l: ListenerConfig) => Where | undefined): void {
  for (const l of listeners) {
    const at = l.sn && where(l);
    if (l.protocol === 'mqttsn') l.sn ??= snDefaults();
    else if (at) fail(at, `MQTT-SN options need 'protocol mqttsn' on the listener of port ${l.port}`);
    // The group is joined and sent to on the listener's socket: an IPv4 group needs an IPv4 or a
    // dual-stack (all interfaces, ::) socket, an IPv6 group an IPv6 one.
    const g = l.sn?.multicast?.group;
    if (at && g && l.host && l.host !== '::' && net.isIPv6(l.host) !== net.isIPv6(g)) {
      fail(at, `sn_multicast_group ${g} and the address ${l.host} of the listener of port ${l.port} are not of the same IP version`);
    }
  }
}
