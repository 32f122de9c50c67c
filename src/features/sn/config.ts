// MQTT-SN listener options (feature SN) into a listener's `sn` settings; src/config/parse.ts
// applies them to the listener block they belong to. docs/configuration.md#mqtt-sn-listeners.
import { FEATURES } from '../../config/features.ts';
import { besideConfig, readText } from '../../config/files.ts';
import type { ListenerConfig, SnListenerConfig } from '../../config/types.ts';
import { byName, ConfigError, fail, pathValue, setOption, specOf, type OptionSpec, type Where } from '../../config/values.ts';
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

/** FEATURES.SN.listenerOptions but the last (predefined_topics), in order. */
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
  // predefined_topics, the last name: a file in the Paho gateway's format.
  const path = besideConfig(w, pathValue(w, name, line, 'a file'));
  one.predefinedTopics = parsePredefined(readText(w, path, 'predefined_topics file'), (n, reason) => {
    throw new ConfigError(path, n, reason);
  });
  return one;
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
  }
}
